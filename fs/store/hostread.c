/*
 * fs/store/hostread.c — one host read from the calling worker (hostread.h).
 *
 * Why not the worker's ring: a 4 KiB read of a cached host file is a
 * copy out of the page cache either way, and a ring adds the submission,
 * the completion and its bookkeeping around it: one thread reading random
 * cached 4 KiB blocks, 200,000 reads, used 1.35 us of CPU per read through
 * io_uring (one read per submit-and-wait, as the store made them) against
 * 0.92 us with pread(2); a read that misses the cache blocks the worker in
 * either (one context switch per read both ways). See docs/performance.md,
 * "One request at a time".
 */
#include "fs/store/hostread.h"

#include <errno.h>
#include <unistd.h>

ssize_t host_pread(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done, off + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return done ? (ssize_t)done : -errno;
		if (r == 0)
			break; /* the host file's end */
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* A short preadv (a signal, the file's end) goes on piece by piece. */
ssize_t host_preadv(int fd, const struct iovec *iov, int cnt, off_t off)
{
	ssize_t r;
	do
		r = preadv(fd, iov, cnt, off);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	size_t done = (size_t)r, start = 0;
	for (int i = 0; i < cnt; start += iov[i].iov_len, i++) {
		if (done >= start + iov[i].iov_len)
			continue;
		size_t skip = done - start, want = iov[i].iov_len - skip;
		ssize_t got = host_pread(fd, (char *)iov[i].iov_base + skip, want, off + (off_t)done);
		if (got < 0)
			return done ? (ssize_t)done : got;
		done += (size_t)got;
		if ((size_t)got < want)
			break; /* the host file's end */
	}
	return (ssize_t)done;
}
