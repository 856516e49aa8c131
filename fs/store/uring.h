/*
 * fs/store/uring.h — synchronous-looking I/O through io_uring. Each calling thread
 * owns one ring (created lazily, thread-local), so the many FUSE worker
 * threads keep many operations in flight on the device without sharing a
 * submission queue or taking a lock.
 */
#ifndef VOLFS_FS_URING_H
#define VOLFS_FS_URING_H

#include <sys/types.h>
#include <sys/uio.h>

/* Each returns bytes transferred (short only at EOF for reads) or -errno.
 * Short transfers from the kernel are resubmitted until done. */
ssize_t uring_pread(int fd, void *buf, size_t len, off_t off);
ssize_t uring_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t uring_preadv(int fd, const struct iovec *iov, int iovcnt, off_t off);
ssize_t uring_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off);
/* Many reads at once: all are submitted together and waited for together,
 * so reads of one request from several host files (a file's copy-on-write
 * layers) overlap on the device instead of queueing behind each other.
 * Each op's res gets the bytes read (short only at EOF) or -errno. */
struct uring_read {
	int fd;
	const struct iovec *iov;
	int cnt;
	off_t off;
	ssize_t res;
};
void uring_read_batch(struct uring_read *ops, int n);
/* The same, but no read waits for the disk (RWF_NOWAIT): each res is the
 * bytes the page cache had at once (possibly short, or 0 at EOF), -EAGAIN
 * when even the first byte would wait, -EOPNOTSUPP when the file cannot
 * say (memfds), or another -errno. Nothing is resubmitted. */
void uring_read_batch_nowait(struct uring_read *ops, int n);
/* Free this thread's ring (called at thread exit via a destructor). */
void uring_thread_exit(void);
/* A ring for the calling thread alone (SINGLE_ISSUER | DEFER_TASKRUN where
 * the kernel has them, fewer flags where not): io_uring_queue_init_params'
 * result. */
struct io_uring;
int uring_ring_setup(struct io_uring *ring, unsigned entries);

#endif
