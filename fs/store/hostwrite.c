/*
 * fs/store/hostwrite.c — the host write engine (see hostwrite.h): the
 * choice per host filesystem and the two ways of writing.
 */
#include "fs/store/hostwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statfs.h>
#include <unistd.h>

#include "fs/store/uring.h"
#include "meta/fault.h"

#ifndef XFS_SUPER_MAGIC
#define XFS_SUPER_MAGIC 0x58465342
#endif
#ifndef BTRFS_SUPER_MAGIC
#define BTRFS_SUPER_MAGIC 0x9123683e
#endif
#define EXT4_MAGIC 0xef53 /* ext2, ext3 and ext4 share it */
#define TMPFS_MAGIC_ 0x01021994
#define OVERLAYFS_MAGIC 0x794c7630

/* The engine per host filesystem. XFS and btrfs write buffered data
 * without blocking (FOP_BUFFER_WASYNC): the ring completes the write
 * inline. ext4 does not, so io_uring hands each write to an io-wq thread
 * and wakes the worker when it is done: per 4 KiB O_DIRECT overwrite
 * through FUSE that is 4 context switches and about 42 us of daemon CPU,
 * against 1.15 and 19 us with the worker's own pwrite(2), which is what
 * libfuse's passthrough_ll pays (docs/performance.md, "Where the time
 * goes: the data path"). Filesystems not listed get io_uring. */
static const struct {
	long magic;
	const char *name;
	int uring;
} known[] = {
	{XFS_SUPER_MAGIC, "xfs", 1},   {BTRFS_SUPER_MAGIC, "btrfs", 1},
	{EXT4_MAGIC, "ext4", 0},       {TMPFS_MAGIC_, "tmpfs", 1},
	{OVERLAYFS_MAGIC, "overlay", 1},
};

static int use_uring = 1;
static const char *fstype = "unknown";
static const char *reason = "auto";

int host_write_parse(const char *s, enum host_write_mode *out)
{
	static const char *const names[] = {"auto", "uring", "pwrite"};
	for (int i = 0; i < 3; i++)
		if (!strcmp(s, names[i])) {
			*out = (enum host_write_mode)i;
			return 0;
		}
	return -EINVAL;
}

int host_write_choose(const char *dir, enum host_write_mode mode)
{
	struct statfs sf;
	int r = statfs(dir, &sf) < 0 ? -errno : 0;
	int uring = 1;
	fstype = "unknown";
	for (size_t i = 0; r == 0 && i < sizeof known / sizeof known[0]; i++)
		if ((long)sf.f_type == known[i].magic) {
			fstype = known[i].name;
			uring = known[i].uring;
		}
	use_uring = mode == HOST_WRITE_AUTO ? uring : mode == HOST_WRITE_URING;
	reason = mode == HOST_WRITE_AUTO ? "auto" : "forced";
	return r;
}

const char *host_write_engine(void) { return use_uring ? "uring" : "pwrite"; }
const char *host_write_fstype(void) { return fstype; }
const char *host_write_reason(void) { return reason; }

static ssize_t pwrite_all(int fd, const char *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		ssize_t w = pwrite(fd, buf + done, len - done, off + (off_t)done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

/* An injected write fault fails either engine alike. */
ssize_t host_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	if (FAULT(FAULT_WRITE))
		return -EIO;
	return use_uring ? uring_pwrite(fd, buf, len, off) : pwrite_all(fd, buf, len, off);
}

/* A short pwritev (rare: a signal, a full disk) finishes piece by piece. */
ssize_t host_pwritev(int fd, const struct iovec *iov, int cnt, off_t off)
{
	if (FAULT(FAULT_WRITE))
		return -EIO;
	if (use_uring)
		return uring_pwritev(fd, iov, cnt, off);
	size_t total = 0;
	for (int i = 0; i < cnt; i++)
		total += iov[i].iov_len;
	ssize_t w;
	do
		w = pwritev(fd, iov, cnt, off);
	while (w < 0 && errno == EINTR);
	if (w < 0)
		return -errno;
	size_t done = (size_t)w;
	for (int i = 0; i < cnt && done < total; i++) {
		size_t start = 0;
		for (int j = 0; j < i; j++)
			start += iov[j].iov_len;
		if (done >= start + iov[i].iov_len)
			continue;
		size_t skip = done - start;
		ssize_t r = pwrite_all(fd, (const char *)iov[i].iov_base + skip, iov[i].iov_len - skip,
		                       off + (off_t)done);
		if (r < 0)
			return r;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

/* io_uring never flushes or allocates inline: IORING_OP_FSYNC and
 * IORING_OP_FALLOCATE always go to an io-wq thread, two wake-ups around
 * the same system call. A worker that waits for its one call anyway makes
 * it itself. */
int host_fsync(int fd, int datasync)
{
	if (FAULT(FAULT_FSYNC))
		return -EIO;
	int r;
	do
		r = datasync ? fdatasync(fd) : fsync(fd);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/* A file written front to back (a copy, a download, a log) leaves its
 * bytes dirty in the host page cache, where the kernel starts writing them
 * only past the dirty background threshold (10% of memory) or after 30 s:
 * the closing fsync then writes the whole file while the writer waits.
 * Native ext4 pays the same, but there the writes before it cost one copy
 * each where a FUSE write costs three; started a window at a time, the
 * device writes the file while the rest is still being copied, and the
 * fsync finds little left. A window of megabytes keeps ext4's delayed
 * allocation in large extents and the calls rare; rewrites in place (a
 * database's pages, fdatasynced anyway) and files smaller than a window
 * are left to the kernel. */
void host_stream_written(struct host_stream *s, int fd, uint64_t off, uint64_t len)
{
	if (off < s->from || off > s->to)
		s->from = s->to = off; /* not where the run ends: a new run */
	if (off + len > s->to)
		s->to = off + len;
	if (s->to - s->from < HOST_STREAM_WINDOW)
		return;
	host_kick_writeback(fd, s->from, s->to - s->from);
	s->from = s->to;
}

void host_kick_writeback(int fd, uint64_t off, uint64_t len)
{
	(void)sync_file_range(fd, (off_t)off, (off_t)len, SYNC_FILE_RANGE_WRITE);
}

int host_fallocate(int fd, int mode, off_t off, off_t len)
{
	int r;
	do
		r = fallocate(fd, mode, off, len);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}
