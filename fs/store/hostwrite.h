/*
 * fs/store/hostwrite.h — how buffered writes reach the host files: the
 * engine, chosen once at start-up for the filesystem the state directory is
 * on (statfs), by what measured fastest there through the whole FUSE path:
 * io_uring, or a plain pwrite(2) from the calling worker (ext4, where the
 * ring would only hand the write to an io-wq thread; see hostwrite.c);
 * --host-writes forces either for benchmarks and tests. And the flush and
 * fallocate of one host file, which the ring never does inline; and the
 * early writeback of a host file written as a stream.
 */
#ifndef VOLFS_FS_HOSTWRITE_H
#define VOLFS_FS_HOSTWRITE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

enum host_write_mode { HOST_WRITE_AUTO, HOST_WRITE_URING, HOST_WRITE_PWRITE };

/* "auto", "uring" or "pwrite"; -EINVAL for anything else. */
int host_write_parse(const char *s, enum host_write_mode *out);
/* Decide the engine for host files under dir (statfs f_type) unless mode
 * forces one. Call once, before any write. -errno if dir cannot be
 * examined (the engine is then io_uring, unless forced). */
int host_write_choose(const char *dir, enum host_write_mode mode);
/* "uring" or "pwrite"; the host filesystem's name ("ext4", "xfs", ...);
 * and why the engine was chosen ("auto" or "forced"). */
const char *host_write_engine(void);
const char *host_write_fstype(void);
const char *host_write_reason(void);

/* Write all of it (or fail): bytes written or -errno. */
ssize_t host_pwrite(int fd, const void *buf, size_t len, off_t off);
ssize_t host_pwritev(int fd, const struct iovec *iov, int cnt, off_t off);
/* fdatasync (datasync) or fsync of one host file from the calling thread:
 * 0 or -errno. */
int host_fsync(int fd, int datasync);
/* A host file's run of consecutive writes whose writeback has not been
 * started yet: bytes [from, to). Zeroed: no run. */
struct host_stream {
	uint64_t from, to;
};
/* The run's length at which its writeback starts. */
#define HOST_STREAM_WINDOW (8ull << 20)
/* Note bytes [off, off+len) just written to fd: they extend s's run or
 * start a new one, and once the run reaches HOST_STREAM_WINDOW its
 * writeback starts (sync_file_range, SYNC_FILE_RANGE_WRITE, which does not
 * wait for it) and a new run begins. Advice only: errors are ignored. The
 * caller serialises the writes to one stream. */
void host_stream_written(struct host_stream *s, int fd, uint64_t off, uint64_t len);
/* Start the writeback of bytes [off, off+len) of fd without waiting for
 * it (sync_file_range, SYNC_FILE_RANGE_WRITE). Advice only: errors are
 * ignored. */
void host_kick_writeback(int fd, uint64_t off, uint64_t len);
/* fallocate(2) from the calling thread: 0 or -errno. */
int host_fallocate(int fd, int mode, off_t off, off_t len);

#endif
