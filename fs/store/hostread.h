/*
 * fs/store/hostread.h — a read of one stretch of a host file, made by the
 * calling worker with pread(2)/preadv(2). A worker that waits for its one
 * read anyway gains nothing from a ring: a submission and a wait cost more
 * than the system call (hostread.c). Reads of several stretches at once
 * (a request over a file's copy-on-write layers) overlap on the device
 * through fs/store/uring.h instead.
 */
#ifndef VOLFS_FS_HOSTREAD_H
#define VOLFS_FS_HOSTREAD_H

#include <sys/types.h>
#include <sys/uio.h>

/* Bytes read, short only at the host file's end, or -errno. Short reads
 * before the end (a signal) are resumed. */
ssize_t host_pread(int fd, void *buf, size_t len, off_t off);
ssize_t host_preadv(int fd, const struct iovec *iov, int cnt, off_t off);

#endif
