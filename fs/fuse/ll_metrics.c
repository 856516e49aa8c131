/*
 * fs/fuse/ll_metrics.c — FUSE request accounting: an operation table that
 * wraps volfs_ll_ops, timing each handler (every handler replies before it
 * returns, except a read handed to the reader thread, timed until its
 * reply) and noting whether it replied with an error, in fs/obs/counters.c.
 * fs/fuse/ll.c routes its fuse_reply_err() calls through ll_reply_err().
 */
#include "fs/fuse/ll.h"

#include "fs/obs/counters.h"

static const struct fuse_lowlevel_ops *inner = &volfs_ll_ops;
static __thread int request_failed;
static __thread int request_deferred;
static __thread uint64_t request_start;

int ll_reply_err(fuse_req_t req, int err)
{
	if (err)
		request_failed = 1;
	return fuse_reply_err(req, err);
}

uint64_t ll_defer_request(void)
{
	request_deferred = 1;
	return request_start;
}

void ll_deferred_read_done(uint64_t start_ns, int failed)
{
	counters_fuse_done(COUNTERS_OP_read, counters_now_ns() - start_ns, failed);
}

#define TIMED(op, call)                                                        \
	do {                                                                   \
		uint64_t t0 = request_start = counters_now_ns();                \
		request_failed = request_deferred = 0;                         \
		call;                                                          \
		if (!request_deferred)                                         \
			counters_fuse_done(COUNTERS_OP_##op, counters_now_ns() - t0, request_failed); \
	} while (0)

typedef fuse_req_t R;
typedef fuse_ino_t I;
typedef struct fuse_file_info FI;

static void m_lookup(R r, I p, const char *n) { TIMED(lookup, inner->lookup(r, p, n)); }
static void m_forget(R r, I i, uint64_t n) { TIMED(forget, inner->forget(r, i, n)); }
static void m_forget_multi(R r, size_t c, struct fuse_forget_data *f)
{
	TIMED(forget_multi, inner->forget_multi(r, c, f));
}
static void m_getattr(R r, I i, FI *fi) { TIMED(getattr, inner->getattr(r, i, fi)); }
static void m_setattr(R r, I i, struct stat *a, int s, FI *fi)
{
	TIMED(setattr, inner->setattr(r, i, a, s, fi));
}
static void m_readlink(R r, I i) { TIMED(readlink, inner->readlink(r, i)); }
static void m_mknod(R r, I p, const char *n, mode_t m, dev_t d)
{
	TIMED(mknod, inner->mknod(r, p, n, m, d));
}
static void m_mkdir(R r, I p, const char *n, mode_t m) { TIMED(mkdir, inner->mkdir(r, p, n, m)); }
static void m_symlink(R r, const char *l, I p, const char *n) { TIMED(symlink, inner->symlink(r, l, p, n)); }
static void m_link(R r, I i, I p, const char *n) { TIMED(link, inner->link(r, i, p, n)); }
static void m_unlink(R r, I p, const char *n) { TIMED(unlink, inner->unlink(r, p, n)); }
static void m_rmdir(R r, I p, const char *n) { TIMED(rmdir, inner->rmdir(r, p, n)); }
static void m_rename(R r, I p, const char *n, I np, const char *nn, unsigned f)
{
	TIMED(rename, inner->rename(r, p, n, np, nn, f));
}
static void m_open(R r, I i, FI *fi) { TIMED(open, inner->open(r, i, fi)); }
static void m_create(R r, I p, const char *n, mode_t m, FI *fi)
{
	TIMED(create, inner->create(r, p, n, m, fi));
}
static void m_read(R r, I i, size_t s, off_t o, FI *fi) { TIMED(read, inner->read(r, i, s, o, fi)); }
static void m_write(R r, I i, const char *b, size_t s, off_t o, FI *fi)
{
	TIMED(write, inner->write(r, i, b, s, o, fi));
}
static void m_flush(R r, I i, FI *fi) { TIMED(flush, inner->flush(r, i, fi)); }
static void m_release(R r, I i, FI *fi) { TIMED(release, inner->release(r, i, fi)); }
static void m_fsync(R r, I i, int d, FI *fi) { TIMED(fsync, inner->fsync(r, i, d, fi)); }
static void m_opendir(R r, I i, FI *fi) { TIMED(opendir, inner->opendir(r, i, fi)); }
static void m_readdir(R r, I i, size_t s, off_t o, FI *fi) { TIMED(readdir, inner->readdir(r, i, s, o, fi)); }
static void m_releasedir(R r, I i, FI *fi) { TIMED(releasedir, inner->releasedir(r, i, fi)); }
static void m_fsyncdir(R r, I i, int d, FI *fi) { TIMED(fsyncdir, inner->fsyncdir(r, i, d, fi)); }
static void m_statfs(R r, I i) { TIMED(statfs, inner->statfs(r, i)); }
static void m_setxattr(R r, I i, const char *n, const char *v, size_t s, int f)
{
	TIMED(setxattr, inner->setxattr(r, i, n, v, s, f));
}
static void m_getxattr(R r, I i, const char *n, size_t s) { TIMED(getxattr, inner->getxattr(r, i, n, s)); }
static void m_listxattr(R r, I i, size_t s) { TIMED(listxattr, inner->listxattr(r, i, s)); }
static void m_removexattr(R r, I i, const char *n) { TIMED(removexattr, inner->removexattr(r, i, n)); }
static void m_fallocate(R r, I i, int m, off_t o, off_t l, FI *fi)
{
	TIMED(fallocate, inner->fallocate(r, i, m, o, l, fi));
}
static void m_lseek(R r, I i, off_t o, int w, FI *fi) { TIMED(lseek, inner->lseek(r, i, o, w, fi)); }

/* Only the operations volfs_ll_ops implements are wrapped: one it leaves
 * NULL keeps libfuse's default answer, and one added there later without a
 * wrapper here is served, uncounted. */
#define WRAP(op)                 \
	if (ops.op)              \
		ops.op = m_##op;

const struct fuse_lowlevel_ops *ll_counted_ops(void)
{
	static struct fuse_lowlevel_ops ops;
	ops = volfs_ll_ops;
	WRAP(lookup) WRAP(forget) WRAP(forget_multi) WRAP(getattr) WRAP(setattr) WRAP(readlink)
	WRAP(mknod) WRAP(mkdir) WRAP(symlink) WRAP(link) WRAP(unlink) WRAP(rmdir) WRAP(rename)
	WRAP(open) WRAP(create) WRAP(read) WRAP(write) WRAP(flush) WRAP(release) WRAP(fsync)
	WRAP(opendir) WRAP(readdir) WRAP(releasedir) WRAP(fsyncdir) WRAP(statfs) WRAP(setxattr)
	WRAP(getxattr) WRAP(listxattr) WRAP(removexattr) WRAP(fallocate) WRAP(lseek)
	return &ops;
}
