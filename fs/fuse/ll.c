/*
 * fs/fuse/ll.c — FUSE low-level glue. Each handler unpacks the request, calls
 * the namespace layer, and packs the reply; no filesystem logic lives here.
 * Errors from the namespace layer are negative errnos.
 */
#include "fs/fuse/ll.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs/fuse/uring_transport.h"
#include "fs/fuse/stop.h"
#include "fs/obs/writeback_cache.h"
#include "fs/vfs/vfs.h"
#include "meta/fault.h"
#include "meta/log.h"

#define VFS(req) ((struct vfs *)fuse_req_userdata(req))
#define MAX_WRITE (1u << 20)
/* Failed requests are counted per operation (fs/fuse/ll_metrics.c). */
#define fuse_reply_err(req, err) ll_reply_err(req, err)

static struct vfs_ctx ctx_of(fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	struct vfs_ctx x = {.uid = c->uid, .gid = c->gid, .pid = c->pid};
	return x;
}

static void reply_entry(fuse_req_t req, int r, const struct vfs_entry *ve)
{
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	struct fuse_entry_param e = {.ino = ve->ino, .attr = ve->st,
	                             .attr_timeout = ve->attr_timeout,
	                             .entry_timeout = ve->entry_timeout};
	/* An interrupted request's reply fails: give the lookup back. */
	if (fuse_reply_entry(req, &e) == -ENOENT)
		vfs_forget(VFS(req), ve->ino, 1);
}

/* Set-ID bits: when the daemon takes over killing privileges (the INIT
 * reply's FUSE_HANDLE_KILLPRIV_V2, see ll_install_io), the kernel no longer
 * asks for security.capability before every cached write, and instead
 * flags each WRITE, truncating SETATTR, chown and truncating OPEN whose
 * caller lacks CAP_FSETID (chown: always), expecting the filesystem to
 * clear set-user-ID and a group-executable file's set-group-ID bit. Direct
 * writes (O_DIRECT, write-only descriptors) carry the flag in any case,
 * and the kernel leaves their file capability to the filesystem too.
 * libfuse 3.14 passes none of these flags on: the worker that read the
 * request notes them before serving it. */
static __thread int request_kills_suidgid;
/* The INIT request, until answered: its unique id, and whether the kernel
 * offered FUSE_HANDLE_KILLPRIV_V2. */
static _Atomic uint64_t init_unique;
static _Atomic int kernel_offers_killpriv;

#define ARG_FIELD(type, field, arg, len)                                         \
	((len) >= offsetof(type, field) + sizeof(((type *)0)->field)                \
	         ? ((const type *)(arg))->field : 0)

void ll_note_request(const struct fuse_buf *b)
{
	request_kills_suidgid = 0;
	const struct fuse_in_header *h = b->mem;
	if ((b->flags & FUSE_BUF_IS_FD) || b->size < sizeof *h)
		return;
	const void *arg = h + 1;
	size_t len = b->size - sizeof *h;
	switch (h->opcode) {
	case FUSE_WRITE:
		request_kills_suidgid = (ARG_FIELD(struct fuse_write_in, write_flags, arg, len) &
		                         FUSE_WRITE_KILL_SUIDGID) != 0;
		break;
	case FUSE_SETATTR:
		request_kills_suidgid =
			(ARG_FIELD(struct fuse_setattr_in, valid, arg, len) & FATTR_KILL_SUIDGID) != 0;
		break;
	case FUSE_OPEN:
		request_kills_suidgid = (ARG_FIELD(struct fuse_open_in, open_flags, arg, len) &
		                         FUSE_OPEN_KILL_SUIDGID) != 0;
		break;
	case FUSE_INIT:
		kernel_offers_killpriv =
			(ARG_FIELD(struct fuse_init_in, flags, arg, len) & FUSE_HANDLE_KILLPRIV_V2) != 0;
		init_unique = h->unique;
		uring_transport_note_init(
			ARG_FIELD(struct fuse_init_in, flags, arg, len) |
			(ARG_FIELD(struct fuse_init_in, flags, arg, len) & FUSE_INIT_EXT
			         ? (uint64_t)ARG_FIELD(struct fuse_init_in, flags2, arg, len) << 32 : 0));
		break;
	}
}

/* The INIT reply, as libfuse writes it: header, then struct fuse_init_out.
 * Adds what volfs takes over from the kernel: killing privileges, and
 * (--fuse-transport) serving requests from io_uring, in which case it
 * returns 1: the rings start once the kernel has the reply. */
static int answer_init(const struct iovec *iov, int count)
{
	uint64_t u = init_unique;
	if (!u || count < 2 || iov[0].iov_len != sizeof(struct fuse_out_header) ||
	    iov[1].iov_len < offsetof(struct fuse_init_out, flags) + sizeof(uint32_t))
		return 0;
	const struct fuse_out_header *h = iov[0].iov_base;
	if (h->unique != u)
		return 0;
	init_unique = 0;
	if (h->error)
		return 0;
	struct fuse_init_out *out = iov[1].iov_base;
	if (kernel_offers_killpriv)
		out->flags |= FUSE_HANDLE_KILLPRIV_V2;
	return uring_transport_answer_init(out, iov[1].iov_len);
}

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	(void)userdata;
	ssize_t n;
	if (uring_transport_reply(iov, count, &n))
		return n;
	int rings = answer_init(iov, count);
	n = writev(fd, iov, count);
	/* The kernel has taken the INIT reply (it is processed inside the
	 * write), so the rings' registrations find the connection set up. */
	if (rings && n >= 0)
		uring_transport_start();
	return n;
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	return read(fd, buf, len);
}

int ll_install_io(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {.writev = io_writev, .read = io_read};
	return fuse_session_custom_io(se, &io, fuse_session_fd(se));
}

/* After killing privileges outside a request whose reply carries
 * attributes: the kernel's copy of the mode is stale. */
static void kill_privs(fuse_req_t req, fuse_ino_t ino, int drop_caps)
{
	if (vfs_kill_privs(VFS(req), ino, request_kills_suidgid, drop_caps))
		vfs_invalidate_attrs(VFS(req), ino);
}

/* --writeback-cache: asked for at INIT; writeback_cache_on() once granted. */
static int writeback_cache_wanted;
/* Where the kernel's dirty pages are written back from, and what asks
 * for them file by file (ll_install_notify). */
static char mount_point[4096];
static struct fuse_session *notify_se;
static void *notify_vfs;

void ll_want_writeback_cache(int want)
{
	writeback_cache_wanted = want;
}

/* The kernel's writeback cache: write(2) fills the page cache and returns;
 * the kernel sends the WRITEs later (writeback, fsync, close), owns the
 * size and times of regular files while it caches them, and a full volume's
 * ENOSPC reaches fsync(2) or close(2) instead of write(2). Only on
 * request: by default ENOSPC must reach write(2). */
static void want_writeback_cache(struct fuse_conn_info *conn)
{
	if (!writeback_cache_wanted) {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
		return;
	}
	if (!(conn->capable & FUSE_CAP_WRITEBACK_CACHE)) {
		conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
		vlog_warn("fuse", "writeback cache: off (the kernel does not offer it)");
		return;
	}
	conn->want |= FUSE_CAP_WRITEBACK_CACHE;
	writeback_cache_set(1);
	vlog_info("fuse", "writeback cache: on (a full volume fails fsync(2) or close(2), not write(2))");
}

static void ll_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	if (conn->capable & FUSE_CAP_ASYNC_DIO)
		conn->want |= FUSE_CAP_ASYNC_DIO;
	want_writeback_cache(conn);
	if (writeback_cache_on())
		vfs_kernel_keeps_times(userdata);
	/* Without the writeback cache every write changes mtime and size, and
	 * libfuse's default AUTO_INVAL_DATA would drop the whole file's pages
	 * at the next attribute fetch. Every change through the mount updates
	 * the kernel's pages itself; what changes by another path is dropped
	 * explicitly (vfs_invalidate_data). */
	conn->want &= ~FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_EXPLICIT_INVAL_DATA)
		conn->want |= FUSE_CAP_EXPLICIT_INVAL_DATA;
	/* Requests must arrive in memory, where ll_note_request reads the
	 * kernel's kill-set-ID flags. */
	conn->want &= ~FUSE_CAP_SPLICE_READ;
	conn->max_write = MAX_WRITE;
	conn->max_readahead = MAX_WRITE;
	conn->max_background = 64;
	conn->congestion_threshold = 48;
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct vfs_entry e;
	int r = vfs_lookup(VFS(req), parent, name, &e);
	if (r == -ENOENT) {
		/* A negative entry, cached as long as the namespace layer says. */
		struct fuse_entry_param ne = {.ino = 0, .entry_timeout = e.entry_timeout};
		fuse_reply_entry(req, &ne);
		return;
	}
	reply_entry(req, r, &e);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	vfs_forget(VFS(req), ino, nlookup);
	fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *f)
{
	for (size_t i = 0; i < count; i++)
		vfs_forget(VFS(req), f[i].ino, f[i].nlookup);
	fuse_reply_none(req);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	/* May make the kernel drop this reply, keeping its S_NOSEC across the
	 * lseek(SEEK_END) between a database's writes (fs/vfs/kview.c). */
	int r = vfs_getattr(VFS(req), ino, &st);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	fuse_reply_attr(req, &st, vfs_attr_timeout(ino));
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set,
                       struct fuse_file_info *fi)
{
	(void)fi;
	struct stat st;
	struct vfs_ctx c = ctx_of(req);
	/* A truncation or chown the kernel flagged; its reply carries the
	 * new mode, and the kernel drops the capability itself. */
	if (request_kills_suidgid)
		vfs_kill_privs(VFS(req), ino, 1, 0);
	int r = vfs_setattr(VFS(req), ino, attr, to_set, &c, &st);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_attr(req, &st, vfs_attr_timeout(ino));
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char buf[4097];
	int r = vfs_readlink(VFS(req), ino, buf, sizeof buf);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_readlink(req, buf);
}

static void ll_mknod(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode, dev_t rdev)
{
	struct vfs_entry e;
	struct vfs_ctx c = ctx_of(req);
	reply_entry(req, vfs_mknod(VFS(req), parent, name, mode, rdev, &c, &e), &e);
}

#ifdef VOLFS_FAULT_INJECTION
#define HOLD_POLLS 6000 /* of 10 ms: a held request waits at most 60 s */

/* The test build's hooks for the transports' rare paths (meta/fault.h),
 * on mkdir of a chosen name: a handler that returns without replying
 * (fuse_reply_none frees the request and sends nothing), and a request
 * held until the kernel sends an INTERRUPT for it. 1 when the request was
 * answered here. */
static int mkdir_fault(fuse_req_t req, const char *name)
{
	const char *via = uring_transport_serving() ? "io_uring" : "/dev/fuse";
	if (FAULT_AT(FAULT_NOREPLY, name)) {
		fprintf(stderr, "volfs: fault injection: mkdir %s (%s) returns without replying\n", name, via);
		fuse_reply_none(req);
		return 1;
	}
	if (!FAULT_AT(FAULT_HOLD, name))
		return 0;
	fprintf(stderr, "volfs: fault injection: holding mkdir %s (%s) until interrupted\n", name, via);
	for (int i = 0; i < HOLD_POLLS && !fuse_req_interrupted(req); i++)
		usleep(10000);
	if (!fuse_req_interrupted(req)) {
		fprintf(stderr, "volfs: fault injection: mkdir %s was never interrupted\n", name);
		return 0;
	}
	fprintf(stderr, "volfs: fault injection: mkdir %s (%s) interrupted\n", name, via);
	fuse_reply_err(req, EINTR);
	return 1;
}
#else
#define mkdir_fault(req, name) 0
#endif

static void ll_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode)
{
	if (mkdir_fault(req, name))
		return;
	struct vfs_entry e;
	struct vfs_ctx c = ctx_of(req);
	reply_entry(req, vfs_mkdir(VFS(req), parent, name, mode, &c, &e), &e);
}

static void ll_symlink(fuse_req_t req, const char *link, fuse_ino_t parent, const char *name)
{
	struct vfs_entry e;
	struct vfs_ctx c = ctx_of(req);
	reply_entry(req, vfs_symlink(VFS(req), parent, name, link, &c, &e), &e);
}

static void ll_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent, const char *newname)
{
	struct vfs_entry e;
	reply_entry(req, vfs_link(VFS(req), ino, newparent, newname, &e), &e);
}

static void ll_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -vfs_unlink(VFS(req), parent, name));
}

static void ll_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	fuse_reply_err(req, -vfs_rmdir(VFS(req), parent, name));
}

static void ll_rename(fuse_req_t req, fuse_ino_t parent, const char *name, fuse_ino_t newparent,
                      const char *newname, unsigned int flags)
{
	fuse_reply_err(req, -vfs_rename(VFS(req), parent, name, newparent, newname, flags));
}

/* Which opens the kernel sends straight to us (FOPEN_DIRECT_IO). With the
 * writeback cache, none: the kernel owns a cached file's mtime and ctime
 * and never takes ours, and its direct-I/O path for such opens updates
 * neither, so a write-only descriptor (vfs_writes_direct) would leave the
 * file's mtime stale. O_DIRECT still bypasses the cache, through the
 * kernel's own direct path, which updates them. The kernel then READs
 * through write-only descriptors too (to fill the rest of a page a write
 * covers in part) and writes an O_APPEND file's cached pages back at
 * their offsets: the namespace layer checks the access mode at open only
 * and never appends on its own, so it serves both. */
static int opens_direct(int flags)
{
	return writeback_cache_on() ? 0 : vfs_writes_direct(flags);
}

static void set_open_flags(struct fuse_file_info *fi, struct vfile *f, int flags)
{
	fi->fh = (uint64_t)(uintptr_t)f;
	fi->direct_io = opens_direct(flags);
	/* Everything but O_DIRECT keeps its cache across opens (we are the
	 * only writer of the data). */
	fi->keep_cache = !(flags & O_DIRECT);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct vfile *f;
	int r = vfs_open(VFS(req), ino, fi->flags, &f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	set_open_flags(fi, f, fi->flags);
	if (VFS_IS_ALIAS(ino)) /* written through the other view: reread */
		fi->keep_cache = 0;
	if (request_kills_suidgid) /* O_TRUNC by a caller without CAP_FSETID */
		kill_privs(req, ino, 0);
	if (fuse_reply_open(req, fi) == -ENOENT)
		vfs_release(VFS(req), f);
}

static void ll_create(fuse_req_t req, fuse_ino_t parent, const char *name, mode_t mode,
                      struct fuse_file_info *fi)
{
	struct vfs_entry e;
	struct vfile *f;
	struct vfs_ctx c = ctx_of(req);
	int r = vfs_create(VFS(req), parent, name, mode, fi->flags, &c, &e, &f);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	set_open_flags(fi, f, fi->flags);
	struct fuse_entry_param ep = {.ino = e.ino, .attr = e.st, .attr_timeout = e.attr_timeout,
	                              .entry_timeout = e.entry_timeout};
	if (fuse_reply_create(req, &ep, fi) == -ENOENT) {
		vfs_release(VFS(req), f);
		vfs_forget(VFS(req), e.ino, 1);
	}
}

static struct vfile *fh_of(struct fuse_file_info *fi)
{
	return (struct vfile *)(uintptr_t)fi->fh;
}

/* Small reads (4 KiB random reads, mostly) land in the worker's own
 * buffer: the reply is written before the handler returns, and the malloc
 * and free of a page-sized block were 430 of the daemon's 2,780 user-space
 * instructions per 4 KiB read (callgrind). */
#define SMALL_READ (16u << 10)
static __thread char small_read[SMALL_READ];

/* A read handed to the reader thread, answered there. */
struct deferred_reply {
	fuse_req_t req;
	uint64_t start_ns;
};

static void reply_deferred(void *arg, void *buf, ssize_t res)
{
	struct deferred_reply *dr = arg;
	/* libfuse lets any thread answer a request. */
	int err = res < 0 ? fuse_reply_err(dr->req, (int)-res) : fuse_reply_buf(dr->req, buf, (size_t)res);
	(void)err; /* an interrupted or aborted request's reply fails: nothing to undo */
	ll_deferred_read_done(dr->start_ns, res < 0);
	free(buf);
	free(dr);
}

/* The read waits for the disk on the reader thread, not here: this worker
 * goes back to /dev/fuse. What the worker's own buffer holds moves to one
 * the read keeps. */
static void hand_off_read(fuse_req_t req, struct vfs_deferred_read *later, char *buf, size_t n)
{
	struct deferred_reply *dr = malloc(sizeof *dr);
	char *own = buf == small_read ? malloc(n ? n : 1) : buf;
	if (!dr || !own) {
		vfs_read_cancel(later);
		if (own != buf)
			free(own);
		free(dr);
		fuse_reply_err(req, ENOMEM);
		return;
	}
	if (own != buf)
		memcpy(own, buf, n);
	*dr = (struct deferred_reply){ req, ll_defer_request() };
	vfs_read_finish(later, own, reply_deferred, dr);
}

static void reply_read(fuse_req_t req, const char *buf, ssize_t n)
{
	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
}

/* The io_uring transport answers on the ring that brought the request, so
 * its reads are served to the end here. */
static void read_on_ring(fuse_req_t req, struct vfile *f, char *room, size_t size, off_t off)
{
	char *buf = room ? room : size <= SMALL_READ ? small_read : malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	reply_read(req, buf, vfs_read(VFS(req), f, buf, size, (uint64_t)off));
	if (buf != room && buf != small_read)
		free(buf);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
	(void)ino;
	/* A request from a ring reads straight into its reply's buffer. */
	char *room = uring_transport_reply_room(size);
	if (room || uring_transport_serving()) {
		read_on_ring(req, fh_of(fi), room, size, off);
		return;
	}
	char *buf = size <= SMALL_READ ? small_read : malloc(size);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	struct vfs_deferred_read *later;
	ssize_t n = vfs_read_nowait(VFS(req), fh_of(fi), buf, size, (uint64_t)off, &later);
	if (later) {
		hand_off_read(req, later, buf, (size_t)n);
		return;
	}
	reply_read(req, buf, n);
	if (buf != small_read)
		free(buf);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off,
                     struct fuse_file_info *fi)
{
	/* The kernel drops the capability before a cached write itself; a
	 * direct one (vfs_writes_direct) it leaves to the filesystem. */
	unsigned kill = (request_kills_suidgid ? VFS_KILL_SUIDGID : 0) |
	                (vfs_writes_direct(fi->flags) ? VFS_KILL_CAPS : 0);
	int killed;
	ssize_t n = vfs_write_kill(VFS(req), fh_of(fi), buf, size, (uint64_t)off, kill, &killed);
	if (killed)
		vfs_invalidate_attrs(VFS(req), ino);
	if (n < 0) {
		fuse_reply_err(req, (int)-n);
		return;
	}
	fuse_reply_write(req, (size_t)n);
}

static void ll_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	vfs_release(VFS(req), fh_of(fi));
	fuse_reply_err(req, 0);
}

static void ll_fsync(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, -vfs_fsync(VFS(req), ino, datasync));
}

static void ll_opendir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int r = vfs_opendir(VFS(req), ino);
	if (r < 0) {
		fuse_reply_err(req, -r);
		return;
	}
	/* A volume's directories change only through the kernel, which drops
	 * the listing it cached when they do; the virtual ones change alone,
	 * and a read-only alias changes through the other view. */
	fi->cache_readdir = fi->keep_cache = VFS_TREE_OF(ino) != 0 && !VFS_IS_ALIAS(ino);
	fuse_reply_open(req, fi);
}

struct dirbuf {
	fuse_req_t req;
	char *buf;
	size_t size, used;
};

static int dir_fill(void *arg, const char *name, const struct stat *st, int64_t next)
{
	struct dirbuf *d = arg;
	size_t len = fuse_add_direntry(d->req, d->buf + d->used, d->size - d->used, name, st, next);
	if (len > d->size - d->used)
		return 1;
	d->used += len;
	return 0;
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
                       struct fuse_file_info *fi)
{
	(void)fi;
	struct dirbuf d = {.req = req, .buf = malloc(size), .size = size};
	if (!d.buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	int r = vfs_readdir(VFS(req), ino, off, dir_fill, &d);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_buf(req, d.buf, d.used);
	free(d.buf);
}

static void ll_releasedir(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	(void)ino;
	(void)fi;
	fuse_reply_err(req, 0);
}

static void ll_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync, struct fuse_file_info *fi)
{
	(void)fi;
	fuse_reply_err(req, -vfs_fsync(VFS(req), ino, datasync));
}

static void ll_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;
	int r = vfs_statfs(VFS(req), ino, &sv);
	if (r < 0)
		fuse_reply_err(req, -r);
	else
		fuse_reply_statfs(req, &sv);
}

static void ll_setxattr(fuse_req_t req, fuse_ino_t ino, const char *name, const char *value,
                        size_t size, int flags)
{
	fuse_reply_err(req, -vfs_setxattr(VFS(req), ino, name, value, size, flags));
}

static void reply_xattr(fuse_req_t req, ssize_t r, const char *buf, size_t size)
{
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else if (size == 0)
		fuse_reply_xattr(req, (size_t)r);
	else
		fuse_reply_buf(req, buf, (size_t)r);
}

static void ll_getxattr(fuse_req_t req, fuse_ino_t ino, const char *name, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	reply_xattr(req, vfs_getxattr(VFS(req), ino, name, buf, size), buf, size);
	free(buf);
}

static void ll_listxattr(fuse_req_t req, fuse_ino_t ino, size_t size)
{
	char *buf = size ? malloc(size) : NULL;
	if (size && !buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	reply_xattr(req, vfs_listxattr(VFS(req), ino, buf, size), buf, size);
	free(buf);
}

static void ll_removexattr(fuse_req_t req, fuse_ino_t ino, const char *name)
{
	fuse_reply_err(req, -vfs_removexattr(VFS(req), ino, name));
}

static void ll_fallocate(fuse_req_t req, fuse_ino_t ino, int mode, off_t off, off_t len,
                         struct fuse_file_info *fi)
{
	(void)fi;
	if (off < 0 || len <= 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	fuse_reply_err(req, -vfs_fallocate(VFS(req), ino, mode, (uint64_t)off, (uint64_t)len));
}

static void ll_lseek(fuse_req_t req, fuse_ino_t ino, off_t off, int whence,
                     struct fuse_file_info *fi)
{
	(void)fi;
	int64_t r = vfs_lseek(VFS(req), ino, off, whence);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_lseek(req, r);
}

const struct fuse_lowlevel_ops volfs_ll_ops = {
	.init = ll_init,
	.lookup = ll_lookup,
	.forget = ll_forget,
	.forget_multi = ll_forget_multi,
	.getattr = ll_getattr,
	.setattr = ll_setattr,
	.readlink = ll_readlink,
	.mknod = ll_mknod,
	.mkdir = ll_mkdir,
	.symlink = ll_symlink,
	.link = ll_link,
	.unlink = ll_unlink,
	.rmdir = ll_rmdir,
	.rename = ll_rename,
	.open = ll_open,
	.create = ll_create,
	.read = ll_read,
	.write = ll_write,
	/* No .flush: every close(2) would wait for a round trip that does
	 * nothing (writes are not cached, locks are the kernel's); the
	 * kernel stops sending FLUSH after the first ENOSYS. */
	.release = ll_release,
	.fsync = ll_fsync,
	.opendir = ll_opendir,
	.readdir = ll_readdir,
	.releasedir = ll_releasedir,
	.fsyncdir = ll_fsyncdir,
	.statfs = ll_statfs,
	.setxattr = ll_setxattr,
	.getxattr = ll_getxattr,
	.listxattr = ll_listxattr,
	.removexattr = ll_removexattr,
	.fallocate = ll_fallocate,
	.lseek = ll_lseek,
};

static void inval_entry(void *arg, uint64_t parent, const char *name)
{
	fuse_lowlevel_notify_inval_entry(arg, parent, name, strlen(name));
}

static void inval_inode(void *arg, uint64_t ino, int64_t off, int64_t len)
{
	fuse_lowlevel_notify_inval_inode(arg, ino, off, len);
}

/* Wait until the kernel has no dirty page of INO and no WRITE of it in
 * flight: invalidating its pages writes back each dirty one and waits for
 * each under writeback, so this returns once the workers have answered
 * every WRITE of the file. */
static void wait_written_back(void *arg, uint64_t ino)
{
	fuse_lowlevel_notify_inval_inode(arg, ino, 0, 0);
}

/* syncfs(2) starts the kernel's write-back of the whole mount in large
 * WRITEs (and sends the times it keeps), but on a FUSE mount it does not
 * wait for the WRITEs to be answered (Linux 6.18: a shutdown right after
 * it lost the last megabytes of a file held open); the files that can
 * have dirty pages, those open for writing, are then waited for one by
 * one. The caller holds no lock, and the workers serve. */
static int write_back(uint64_t tree)
{
	int rc = stop_syncfs(mount_point);
	vfs_for_each_open_writable(notify_vfs, tree, wait_written_back, notify_se);
	return rc;
}

static void kernel_writeback(void *arg, uint64_t tree)
{
	(void)arg;
	if (!writeback_cache_on())
		return;
	int rc = write_back(tree);
	if (rc < 0)
		vlog_warn("fuse", "writing back the kernel's dirty pages through %s: %s", mount_point,
		          strerror(-rc));
}

int ll_write_back_all(void *unused)
{
	(void)unused;
	return write_back(0);
}

void ll_install_notify(struct fuse_session *se, void *vfs, const char *mountpoint)
{
	struct vfs_notify n = {.inval_entry = inval_entry, .inval_inode = inval_inode, .arg = se};
	snprintf(mount_point, sizeof mount_point, "%s", mountpoint);
	notify_se = se;
	notify_vfs = vfs;
	if (writeback_cache_wanted)
		n.writeback = kernel_writeback;
	vfs_set_notify(vfs, &n);
}
