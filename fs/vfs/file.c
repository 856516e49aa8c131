/*
 * fs/vfs/file.c — file contents and attributes: open/create/release, read,
 * write, truncate and the other setattr changes, fallocate, lseek, fsync.
 * Writes are checked against the volume's capacity before any byte moves,
 * so ENOSPC never leaves a partial write behind. Before the first write
 * after a snapshot or clone, the inode's row becomes the tree's own and
 * the store layers a private object over a shared one (make_private).
 */
#include "fs/vfs/vfs_int.h"
#include "fs/obs/counters.h"
#include "meta/fault.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "meta/log.h"

/* FUSE_SET_ATTR_* values (fuse_lowlevel.h), repeated so this layer does not
 * include FUSE headers. */
#define SET_MODE (1 << 0)
#define SET_UID (1 << 1)
#define SET_GID (1 << 2)
#define SET_SIZE (1 << 3)
#define SET_ATIME (1 << 4)
#define SET_MTIME (1 << 5)
#define SET_ATIME_NOW (1 << 7)
#define SET_MTIME_NOW (1 << 8)
#define SET_CTIME (1 << 10)

int vnode_create_file(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
                      const struct vfs_ctx *c, struct vfs_entry *e, struct vnode **out);

int64_t vfs_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int vfs_getattr(struct vfs *v, uint64_t ino, struct stat *st)
{
	uint64_t real = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(real) == 0) {
		struct vfs_entry e;
		virt_entry(v, real, &e);
		*st = e.st;
		st->st_ino = (ino_t)ino;
		return 0;
	}
	int err;
	struct vnode *n = vnode_get(v, real, &err);
	if (!n)
		return err;
	vnode_stat(n, st);
	/* An alias changes through the other view: the kernel's copy of it
	 * is never known current. */
	int kept = VFS_IS_ALIAS(ino) ? 0 : kview_keep_kernel_attrs(v, n);
	st->st_ino = (ino_t)ino;
	vnode_put(v, n);
	return kept;
}

/* Make the inode's data object private before changing it: its row
 * becomes the tree's own, then the store decides whether the object is
 * shared and, if so, layers a private one over it with the row repointed
 * in the same change (store_make_private). */
static int make_private(struct vfs *v, struct vnode *n)
{
	int r = 0;
	/* A row a snapshot shares is copied up first: the data object gets
	 * the copy's reference too, so it is shared and gets layered below.
	 * The lineage comparison keeps the db lock off the usual write. */
	if (atomic_load(&n->row_lineage) != atomic_load(&n->tree->lineage)) {
		db_lock(v->db);
		r = vnode_own_row(v, n);
		db_unlock(v->db);
	}
	if (r == 0)
		r = vnode_load_obj(v, n, 1);
	if (r < 0)
		return r;
	struct vnode_holder h = {v, n};
	r = store_make_private(v->store, &n->obj, &(struct store_holder){vnode_repoint, &h});
	if (r < 0)
		vnode_set_obj(n, store_id(n->obj));
	return r < 0 ? r : 0;
}

/* A change of size and blocks; of mtime and ctime too when times is set. */
static void touch_size(struct vfs *v, struct vnode *n, uint64_t newsize, int64_t delta, int times)
{
	int64_t now = times ? vfs_now_ns() : 0;
	ranked_lock(&n->alock, LOCK_LEAF);
	n->a.size = newsize;
	n->a.blocks = (uint64_t)((int64_t)n->a.blocks + delta);
	if (times)
		n->a.mtime = n->a.ctime = now;
	ranked_unlock(&n->alock, LOCK_LEAF);
	vnode_mark_dirty(v, n);
}

/* What a write or an fallocate changes: size and blocks, and the times
 * unless the kernel keeps them (vfs_kernel_keeps_times). The kernel's
 * fallocate updates its own times first (file_modified) and sends them
 * with the inode later, or not at all when its clock had not moved; a
 * time set here as well outlived the kernel's in meta.db and came back a
 * few milliseconds off after a restart (a write, then a punched hole). */
static void touch_written(struct vfs *v, struct vnode *n, uint64_t newsize, int64_t delta)
{
	touch_size(v, n, newsize, delta, !atomic_load(&v->kernel_times));
}

/* The kernel drops from an inode's cache what a change through that inode
 * makes stale; an alias of it caches apart (alias_opened). Called with no
 * lock held: a read through the alias may hold a page the invalidation
 * waits for while it waits for our contents lock. */
static void alias_changed(struct vfs *v, struct vnode *n, uint64_t off, uint64_t len)
{
	if (atomic_load(&n->alias_opened))
		vfs_invalidate_data(v, n->ino | VFS_ALIAS_BIT, off, len);
}

/* tree_writable() for an inode already in hand: no walk of the tree list
 * under its lock, which every write would otherwise take. */
static int vnode_writable(struct vfs *v, struct vnode *n)
{
	return tree_takes_changes(v, n->tree);
}

/* The common frame of every content change: the tree's gate shared (a
 * freeze waits for us), the inode's contents lock exclusive, a private
 * data object; except for a change of an inline file that touches no
 * byte past `end` (at most VFS_INLINE_MAX), or a size change to `end`
 * that shrinks it (sizing set), which keeps it inline and without an
 * object (*inl set). Any other change of an inline file spills it into
 * its object first (make_private, inline_spill). */
static int begin_change_to(struct vfs *v, struct vnode *n, uint64_t end, int sizing, int *inl)
{
	int r = vnode_writable(v, n);
	if (r < 0)
		return r;
	ranked_rdlock(&n->tree->gate, LOCK_TREE_GATE);
	vnode_wrlock(n);
	*inl = inline_keeps(n, sizing && end <= n->a.size ? 0 : end);
	r = *inl ? 0 : make_private(v, n);
	if (r < 0) {
		ranked_rwunlock(&n->lock, LOCK_VNODE);
		ranked_rwunlock(&n->tree->gate, LOCK_TREE_GATE);
	}
	return r;
}

static int begin_change(struct vfs *v, struct vnode *n)
{
	int inl;
	return begin_change_to(v, n, UINT64_MAX, 0, &inl);
}

static void end_change(struct vnode *n)
{
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	ranked_rwunlock(&n->tree->gate, LOCK_TREE_GATE);
}

/* Growing a file from an unaligned size makes the rest of its last block
 * part of the file: those bytes must read as zeros, but a truncation's
 * host step may not have zeroed them (it runs after the commit, so a crash
 * can come between), so they are zeroed here, up to `upto`. */
static int zero_past_eof(struct vnode *n, uint64_t upto)
{
	uint64_t size = n->a.size, block_end = (size | (STORE_BLOCK - 1)) + 1;
	if (!n->obj || size % STORE_BLOCK == 0 || upto <= size)
		return 0;
	int64_t delta;
	return store_punch(n->obj, size, (upto < block_end ? upto : block_end) - size, &delta);
}

/* Durable commit of meta.db (the WAL's flush), counted. */
static int sync_meta(struct vfs *v)
{
	counters_host_flush(COUNTERS_FLUSH_WAL);
	return db_sync(v->db);
}

static uint64_t trace_fsync_ns; /* log fsyncs slower than this (0: none) */

void vfs_trace_fsync(uint64_t ns)
{
	trace_fsync_ns = ns;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Where a two-flush fsync's time went, for the slow-fsync trace. */
struct fsync_steps {
	uint64_t start, data, inode, lock_wait0;
	struct db_sync_times meta;
};

static void log_slow_fsync(uint64_t ino, const struct fsync_steps *s)
{
	uint64_t total = now_ns() - s->start;
	if (!trace_fsync_ns || total <= trace_fsync_ns)
		return;
	vlog_warn("fsync", "inode %llu: fsync took %.3f ms: data file %.3f ms, inode row %.3f ms, "
	          "waiting for the db lock %.3f ms (in all), group commit %.3f ms, WAL fdatasync %.3f ms",
	          (unsigned long long)ino, total / 1e6, s->data / 1e6, s->inode / 1e6,
	          (db_lock_waited_ns() - s->lock_wait0) / 1e6, s->meta.commit_ns / 1e6,
	          s->meta.wal_sync_ns / 1e6);
}

/* The one-flush fdatasync is the data file's own flush (and its marker):
 * when it is slow, the time is the host filesystem's, not the db lock's. */
static void log_slow_datasync(uint64_t ino, int r, uint64_t ns)
{
	if (!trace_fsync_ns || ns <= trace_fsync_ns || r == -EAGAIN)
		return;
	vlog_warn("fsync", "inode %llu: fdatasync took %.3f ms in the data file's %s (one flush: no commit, "
	          "no db lock)", (unsigned long long)ino, ns / 1e6, r == 1 ? "marker and fsync" : "fdatasync");
}

/* A truncation or punch destroys host bytes (freed blocks, zeroed block
 * tails) only once the size and map that stop referring to them have
 * committed: a kill -9 in between must find either the old file whole or
 * the new one (see docs/durability.md). This is that commit, paid only
 * when the store's map step says the host holds such bytes. If it fails
 * (a full disk), the host step still follows: the running file must be
 * what the call returned, and only crash safety is lost. */
static void commit_before_destroying(struct vfs *v, struct vnode *n)
{
	db_lock(v->db);
	int r = vnode_flush_locked(v, n);
	if (r == 0)
		r = db_group_commit(v->db);
	db_unlock(v->db);
	/* A marker newer than the durable row would be trusted over this
	 * commit if a power loss took it back after the host step. */
	if (r == 0 && store_marker_ahead(n->obj))
		r = sync_meta(v);
	if (r < 0)
		vlog_warn("store", "could not commit before freeing host blocks: %s", strerror(-r));
}

static int truncate_locked(struct vfs *v, struct vnode *n, uint64_t size)
{
	int64_t delta = 0;
	int r = 0;
	if (size > n->a.size)
		r = zero_past_eof(n, size);
	else if (size < n->a.size)
		r = store_truncate_map(n->obj, size, &delta);
	if (r < 0)
		return r;
	tree_account(n->tree, delta);
	touch_size(v, n, size, delta, 1);
	if (r == 1) {
		if (!n->tree->memory) /* RAM-only contents: no crash to survive */
			commit_before_destroying(v, n);
		store_truncate_host(n->obj, size);
	}
	return 0;
}

static int setattr_size(struct vfs *v, struct vnode *n, uint64_t size)
{
	if (S_ISDIR(n->a.mode))
		return -EISDIR;
	if (!S_ISREG(n->a.mode))
		return -EINVAL;
	int inl, r = begin_change_to(v, n, size, 1, &inl);
	if (r < 0)
		return r;
	uint64_t from = size < n->a.size ? size : n->a.size;
	r = inl ? inline_truncate(v, n, size) : truncate_locked(v, n, size);
	end_change(n);
	if (r == 0)
		alias_changed(v, n, from, 0);
	return r;
}

static int64_t ts_ns(const struct timespec *ts)
{
	return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* Ownership changes clear set-user-ID (and set-group-ID on group-executable
 * files), as the kernel does for local filesystems. */
static void apply_attrs(struct vattr *a, const struct stat *in, int to_set, int64_t now)
{
	if (to_set & SET_MODE)
		a->mode = (a->mode & S_IFMT) | (in->st_mode & 07777);
	if ((to_set & (SET_UID | SET_GID)) && !S_ISDIR(a->mode)) {
		int uid_changes = (to_set & SET_UID) && in->st_uid != a->uid;
		int gid_changes = (to_set & SET_GID) && in->st_gid != a->gid;
		if ((uid_changes || gid_changes) && !(to_set & SET_MODE)) {
			a->mode &= ~S_ISUID;
			if (a->mode & S_IXGRP)
				a->mode &= ~S_ISGID;
		}
	}
	if (to_set & SET_UID)
		a->uid = in->st_uid;
	if (to_set & SET_GID)
		a->gid = in->st_gid;
	if (to_set & SET_ATIME_NOW)
		a->atime = now;
	else if (to_set & SET_ATIME)
		a->atime = ts_ns(&in->st_atim);
	if (to_set & SET_MTIME_NOW)
		a->mtime = now;
	else if (to_set & SET_MTIME)
		a->mtime = ts_ns(&in->st_mtim);
	a->ctime = (to_set & SET_CTIME) ? ts_ns(&in->st_ctim) : now;
}

/* With the writeback cache the kernel sends an unlinked file's new ctime
 * (fuse_update_ctime after UNLINK) before it forgets the inode: nothing
 * keeps it, and dirtying the inode would hold its space until the next
 * group commit. */
static int unlinked_times_only(struct vnode *n, int to_set)
{
	if (to_set & ~(SET_ATIME | SET_MTIME | SET_ATIME_NOW | SET_MTIME_NOW | SET_CTIME))
		return 0;
	ranked_lock(&n->alock, LOCK_LEAF);
	int unlinked = n->a.nlink == 0 && S_ISREG(n->a.mode);
	ranked_unlock(&n->alock, LOCK_LEAF);
	return unlinked;
}

int vfs_setattr(struct vfs *v, uint64_t ino, const struct stat *in, int to_set,
                const struct vfs_ctx *c, struct stat *out)
{
	(void)c;
	int r = tree_writable(v, ino);
	if (r < 0)
		return r;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	if (to_set & SET_SIZE)
		r = setattr_size(v, n, (uint64_t)in->st_size);
	if (r == 0 && atomic_load(&v->kernel_times) && unlinked_times_only(n, to_set))
		to_set = 0;
	if (r == 0 && (to_set & ~SET_SIZE)) {
		/* Mode, owner and times go to the db as the sizes and times that
		 * writes change do: with the inode's row at the next group commit
		 * (or an fsync, a freeze, an eviction), which namespace changes
		 * wait for too. tar sets all three on every file it makes: with a
		 * row update each, setattr was 8% of the daemon's time in an
		 * untar profile. */
		ranked_lock(&n->alock, LOCK_LEAF);
		apply_attrs(&n->a, in, to_set, vfs_now_ns());
		ranked_unlock(&n->alock, LOCK_LEAF);
		vnode_mark_dirty(v, n);
	}
	if (r == 0)
		vnode_stat(n, out);
	vnode_put(v, n);
	return r;
}

/* Set-ID bits a write by an unprivileged writer clears, as the kernel's
 * should_remove_suid(). */
static mode_t mode_after_write(mode_t m)
{
	if (!S_ISREG(m))
		return m;
	m &= ~(mode_t)S_ISUID;
	if (m & S_IXGRP)
		m &= ~(mode_t)S_ISGID;
	return m;
}

/* Remove security.capability if the file may have it (it has xattrs):
 * 1 if it did. */
static int drop_capability(struct vfs *v, struct vnode *n)
{
	static const char caps[] = "security.capability";
	if (atomic_load(&n->xattrs) == XATTRS_NONE)
		return 0;
	return vfs_getxattr(v, n->ino, caps, NULL, 0) >= 0 && vfs_removexattr(v, n->ino, caps) == 0;
}

/* vfs_kill_privs on an inode in hand. */
static int kill_privs_vnode(struct vfs *v, struct vnode *n, int kill_suidgid, int drop_caps)
{
	int changed = 0;
	ranked_lock(&n->alock, LOCK_LEAF);
	mode_t m = kill_suidgid ? mode_after_write(n->a.mode) : n->a.mode;
	if (m != n->a.mode) {
		n->a.mode = m;
		n->a.ctime = vfs_now_ns();
		changed = 1;
	}
	ranked_unlock(&n->alock, LOCK_LEAF);
	if (changed) {
		vnode_mark_dirty(v, n);
		kview_changed(n);
	}
	int dropped = drop_caps && drop_capability(v, n);
	return changed || dropped;
}

int vfs_kill_privs(struct vfs *v, uint64_t ino, int kill_suidgid, int drop_caps)
{
	/* A snapshot's file stays as it is: the request fails with EROFS. */
	if (tree_writable(v, ino) < 0)
		return 0;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return 0; /* the request itself reports it */
	int changed = kill_privs_vnode(v, n, kill_suidgid, drop_caps);
	vnode_put(v, n);
	return changed;
}

/* The open file's inode is in hand, so it costs no lookup of the inode or
 * its tree. A write kills through vfs_write_kill instead, which checks
 * that the file takes changes once for both. */
int vfs_file_kill_privs(struct vfs *v, struct vfile *f, int kill_suidgid, int drop_caps)
{
	struct vnode *n = f->n;
	if (!n || vnode_writable(v, n) < 0)
		return 0; /* the write itself fails */
	return kill_privs_vnode(v, n, kill_suidgid, drop_caps);
}

static int load_obj_exclusive(struct vfs *v, struct vnode *n)
{
	vnode_wrlock(n);
	int r = vnode_load_obj(v, n, 0);
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	return r;
}

/* Under itab_lock. */
static void open_files_link(struct vfs *v, struct vfile *f)
{
	f->oprev = NULL;
	f->onext = v->open_files;
	if (v->open_files)
		v->open_files->oprev = f;
	v->open_files = f;
}

/* Under itab_lock. */
static void open_files_unlink(struct vfs *v, struct vfile *f)
{
	if (f->oprev)
		f->oprev->onext = f->onext;
	else
		v->open_files = f->onext;
	if (f->onext)
		f->onext->oprev = f->oprev;
	f->onext = f->oprev = NULL;
}

static struct vfile *vfile_new(struct vfs *v, struct vnode *n, int flags)
{
	struct vfile *f = FAULT(FAULT_ALLOC) ? NULL : calloc(1, sizeof *f);
	if (!f)
		return NULL;
	f->n = n;
	f->flags = flags;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	n->nopen++;
	open_files_link(v, f);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	return f;
}

static int open_checks(struct vfs *v, struct vnode *n, int flags)
{
	if (S_ISDIR(n->a.mode) && (flags & O_ACCMODE) != O_RDONLY)
		return -EISDIR;
	if ((flags & O_ACCMODE) != O_RDONLY) {
		int r = tree_writable(v, n->ino);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A projected file (configMap, secret, ...): the bytes of its version. */
static int open_virtual(struct vfs *v, uint64_t ino, int flags, struct vfile **fh)
{
	struct vfile *f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	int r = virt_open(v, ino, flags, &f->data, &f->len);
	if (r < 0) {
		free(f);
		return r;
	}
	f->flags = flags;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	open_files_link(v, f);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	*fh = f;
	return 0;
}

int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfile **fh)
{
	if (VFS_IS_ALIAS(ino) && ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC)))
		return -EROFS;
	int alias = VFS_IS_ALIAS(ino);
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return open_virtual(v, ino, flags, fh);
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	if (alias)
		atomic_store(&n->alias_opened, 1);
	int r = open_checks(v, n, flags);
	if (r == 0 && S_ISREG(n->a.mode))
		r = load_obj_exclusive(v, n);
	if (r == 0 && (flags & O_TRUNC) && S_ISREG(n->a.mode) && n->a.size > 0)
		r = setattr_size(v, n, 0);
	if (r == 0) {
		*fh = vfile_new(v, n, flags);
		r = *fh ? 0 : -ENOMEM;
	}
	vnode_put(v, n);
	return r;
}

int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode, int flags,
               const struct vfs_ctx *c, struct vfs_entry *e, struct vfile **fh)
{
	struct vnode *n;
	int r = vnode_create_file(v, parent, name, mode, c, e, &n);
	if (r < 0)
		return r;
	*fh = vfile_new(v, n, flags);
	vnode_put(v, n);
	return *fh ? 0 : -ENOMEM;
}

int vfs_for_each_open_writable(struct vfs *v, uint64_t tree, void (*fn)(void *arg, uint64_t ino),
                               void *arg)
{
	size_t n = 0, cap = 0;
	uint64_t *inos = NULL;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	for (struct vfile *f = v->open_files; f; f = f->onext) {
		if (!f->n || (f->flags & O_ACCMODE) == O_RDONLY || !S_ISREG(f->n->a.mode))
			continue;
		if (tree && VFS_TREE_OF(f->n->ino) != tree)
			continue;
		if (n == cap) {
			size_t c = cap ? 2 * cap : 16;
			uint64_t *p = realloc(inos, c * sizeof *p);
			if (!p)
				break;
			inos = p;
			cap = c;
		}
		inos[n++] = f->n->ino;
	}
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	/* fn waits for the kernel, whose WRITEs need this lock: called
	 * without it (an inode opened twice is called twice; harmless). */
	for (size_t i = 0; i < n; i++)
		fn(arg, inos[i]);
	free(inos);
	return (int)n;
}

void vfs_free_unreleased(struct vfs *v)
{
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	while (v->open_files) {
		struct vfile *f = v->open_files;
		open_files_unlink(v, f);
		free(f->data);
		free(f);
	}
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
}

int vfs_release(struct vfs *v, struct vfile *f)
{
	struct vnode *n = f->n;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	open_files_unlink(v, f);
	if (!n) {
		ranked_unlock(&v->itab_lock, LOCK_LEAF);
		free(f->data);
		free(f);
		return 0;
	}
	assert(n->nopen > 0);
	n->nopen--;
	n->ref++;
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	vnode_put(v, n);
	free(f);
	return 0;
}

/* The file's bytes [off, off+len) as far as its size, with n->lock held:
 * the read's length or -errno. With later, host bytes the page cache lacks
 * are left to *later (store_read_nowait); without, they are waited for. */
static ssize_t read_locked(struct vfs *v, struct vnode *n, void *buf, size_t len, uint64_t off,
                           struct store_aread **later)
{
	uint64_t size = n->a.size;
	if (off >= size)
		return 0;
	if (len > size - off)
		len = size - off;
	/* vfs_open loaded the object if the file had one; writers load it
	 * before they create it, so no object means inline bytes or zeros. */
	if (inline_file(n))
		return inline_read(v, n, buf, len, off);
	if (!n->obj) {
		memset(buf, 0, len);
		return (ssize_t)len;
	}
	return later ? store_read_nowait(n->obj, buf, len, off, later)
	             : store_read(n->obj, buf, len, off);
}

ssize_t vfs_read(struct vfs *v, struct vfile *f, void *buf, size_t len, uint64_t off)
{
	struct vnode *n = f->n;
	if (!n) {
		if (off >= f->len)
			return 0;
		if (len > f->len - off)
			len = f->len - off;
		memcpy(buf, f->data + off, len);
		return (ssize_t)len;
	}
	if (n->tree->dead)
		return -ESTALE;
	ranked_rdlock(&n->lock, LOCK_VNODE);
	ssize_t r = read_locked(v, n, buf, len, off, NULL);
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	return r;
}

/* A read left to the reader thread: the inode it stands for, and the
 * caller's completion. */
struct vfs_deferred_read {
	struct vnode *n;
	struct store_aread *later;
	vfs_read_done done;
	void *arg;
};

ssize_t vfs_read_nowait(struct vfs *v, struct vfile *f, void *buf, size_t len, uint64_t off,
                        struct vfs_deferred_read **later)
{
	*later = NULL;
	struct vnode *n = f->n;
	if (!n || n->tree->dead)
		return vfs_read(v, f, buf, len, off);
	ranked_rdlock(&n->lock, LOCK_VNODE);
	struct store_aread *sl = NULL;
	ssize_t r = read_locked(v, n, buf, len, off, &sl);
	struct vfs_deferred_read *d = sl ? malloc(sizeof *d) : NULL;
	if (d) { /* the lock's share goes with it */
		atomic_fetch_add(&n->reads_out, 1);
		*d = (struct vfs_deferred_read){ .n = n, .later = sl };
		*later = d;
	} else if (sl) { /* out of memory: wait here */
		store_aread_cancel(sl);
		r = read_locked(v, n, buf, len, off, NULL);
	}
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	return r;
}

static void deferred_read_done(void *arg, void *buf, ssize_t res)
{
	struct vfs_deferred_read *d = arg;
	/* Before the reply: once answered, the kernel may release the file. */
	vnode_read_out_done(d->n);
	vfs_read_done done = d->done;
	void *darg = d->arg;
	free(d);
	done(darg, buf, res);
}

void vfs_read_finish(struct vfs_deferred_read *later, void *buf, vfs_read_done done, void *arg)
{
	later->done = done;
	later->arg = arg;
	store_aread_start(later->later, buf, deferred_read_done, later);
}

void vfs_read_cancel(struct vfs_deferred_read *later)
{
	store_aread_cancel(later->later);
	vnode_read_out_done(later->n);
	free(later);
}

void vfs_drain_reads(void)
{
	store_reader_stop();
}

/* Only the times change on an overwrite; size and blocks stay (and with
 * the kernel's writeback cache nothing: it sends the times itself). */
static void touch_times(struct vfs *v, struct vnode *n)
{
	if (atomic_load(&v->kernel_times))
		return;
	int64_t now = vfs_now_ns();
	ranked_lock(&n->alock, LOCK_LEAF);
	n->a.mtime = n->a.ctime = now;
	ranked_unlock(&n->alock, LOCK_LEAF);
	vnode_mark_dirty(v, n);
}

/* The fast path of a write: an overwrite inside the file of blocks its own
 * private data object already holds changes neither the size nor the block
 * map nor the volume's usage, so it runs with the contents lock shared,
 * concurrently with other such writes and with reads, as pwrite(2)s to one
 * ext4 file do. -EAGAIN sends the write to the general path. The gate is
 * still taken shared, so a freeze waits for it like for any write. */
static ssize_t write_overwrite(struct vfs *v, struct vnode *n, const void *buf, size_t len,
                               uint64_t off, int *ends_file)
{
	ranked_rdlock(&n->tree->gate, LOCK_TREE_GATE);
	ranked_rdlock(&n->lock, LOCK_VNODE);
	ssize_t w = -EAGAIN;
	/* only in a row of the tree's own: a snapshot's object is read-only */
	if (n->obj && off + len <= n->a.size &&
	    atomic_load(&n->row_lineage) == atomic_load(&n->tree->lineage))
		w = store_overwrite(n->obj, buf, len, off);
	if (w >= 0)
		touch_times(v, n);
	*ends_file = off + len == n->a.size;
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	ranked_rwunlock(&n->tree->gate, LOCK_TREE_GATE);
	return w;
}

/* The rest of a write that keeps its file inline, inside the change's
 * frame (begin_change_to), which it ends. */
static ssize_t write_inline(struct vfs *v, struct vfile *f, const void *buf, size_t len,
                            uint64_t off)
{
	struct vnode *n = f->n;
	int ends_file = off + len >= n->a.size;
	ssize_t w = inline_write(v, n, buf, len, off, atomic_load(&v->kernel_times));
	end_change(n);
	if (w >= 0) {
		kview_written(f, ends_file);
		alias_changed(v, n, off, len);
	}
	return w;
}

ssize_t vfs_write(struct vfs *v, struct vfile *f, const void *buf, size_t len, uint64_t off)
{
	return vfs_write_kill(v, f, buf, len, off, 0, NULL);
}

ssize_t vfs_write_kill(struct vfs *v, struct vfile *f, const void *buf, size_t len, uint64_t off,
                       unsigned kill, int *killed)
{
	struct vnode *n = f->n;
	if (killed)
		*killed = 0;
	if (!n)
		return -EROFS;
	if (off + len < off || off + len > (uint64_t)INT64_MAX)
		return -EFBIG;
	int r = vnode_writable(v, n);
	if (r < 0)
		return r;
	/* one writability check for both: privileges die only with a write
	 * that may happen, as in the kernel's file_remove_privs() */
	if (kill) {
		int k = kill_privs_vnode(v, n, !!(kill & VFS_KILL_SUIDGID), !!(kill & VFS_KILL_CAPS));
		if (killed)
			*killed = k;
	}
	int ends_file;
	ssize_t fast = write_overwrite(v, n, buf, len, off, &ends_file);
	if (fast >= 0) {
		kview_written(f, ends_file);
		alias_changed(v, n, off, len);
	}
	if (fast != -EAGAIN)
		return fast;
	int inl;
	r = begin_change_to(v, n, off + len, 0, &inl);
	if (r < 0)
		return r;
	if (inl)
		return write_inline(v, f, buf, len, off);
	if ((r = zero_past_eof(n, off)) < 0) {
		end_change(n);
		return r;
	}
	uint64_t need = store_absent_blocks(n->obj, off, len);
	ssize_t w = n->tree->memory ? 0 : host_space_ok(v, need);
	if (w == 0)
		w = tree_reserve(n->tree, need);
	int64_t delta = 0;
	if (w == 0) {
		w = store_write(n->obj, buf, len, off, &delta);
		/* The map decides what was really added; the reservation was
		 * an upper bound computed under the same lock. */
		tree_unreserve(n->tree, need);
		if (w >= 0)
			tree_account(n->tree, delta);
	}
	/* A rewrite that hid all the snapshot's data drops the layer; if the
	 * fold fails, the file just stays layered. */
	if (w >= 0 && n->obj)
		store_fold(v->store, n->obj);
	ends_file = off + len >= n->a.size;
	if (w >= 0)
		touch_written(v, n, ends_file ? off + len : n->a.size, delta);
	end_change(n);
	if (w >= 0) {
		kview_written(f, ends_file);
		alias_changed(v, n, off, len);
	}
	return w;
}

/* fdatasync with one device flush, when the store can make the size and
 * map recoverable from the data file alone (store_datasync): -EAGAIN when
 * this file needs the commit. */
static int datasync_one_flush(struct vfs *v, struct vnode *n)
{
	if (!n->obj || n->tree->memory || !S_ISREG(n->a.mode))
		return -EAGAIN;
	ranked_lock(&n->alock, LOCK_LEAF);
	uint64_t size = n->a.size;
	ranked_unlock(&n->alock, LOCK_LEAF);
	uint64_t start = now_ns();
	int r = store_datasync(n->obj, size);
	if (r == 1) /* a new generation for the object's row */
		vnode_mark_dirty(v, n);
	log_slow_datasync(n->ino, r, now_ns() - start);
	return r < 0 ? r : 0;
}

/* Data first, then the map and size that make it visible, then the WAL.
 * Once that commit is durable, the next fdatasync of the file may take
 * the one-flush path. */
static int fsync_two_flushes(struct vfs *v, struct vnode *n)
{
	int r = 0;
	struct store_sync_point point = { 0, 0 };
	uint64_t size = 0, obj = 0;
	struct fsync_steps steps = { now_ns(), 0, 0, db_lock_waited_ns(), { 0, 0 } };
	ranked_rdlock(&n->lock, LOCK_VNODE);
	if (n->obj) {
		point = store_sync_point(n->obj);
		obj = store_id(n->obj);
		size = n->a.size;
		r = store_sync(n->obj);
	}
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	steps.data = now_ns() - steps.start;
	if (r == 0)
		r = vnode_flush(v, n);
	steps.inode = now_ns() - steps.start - steps.data;
	if (r == 0) {
		counters_host_flush(COUNTERS_FLUSH_WAL);
		r = db_sync_timed(v->db, &steps.meta);
	}
	log_slow_fsync(n->ino, &steps);
	/* Unless a write moved the file to a new object meanwhile (after a
	 * snapshot), whose map this commit may not hold. */
	ranked_rdlock(&n->lock, LOCK_VNODE);
	if (r == 0 && n->obj && store_id(n->obj) == obj && !n->tree->memory)
		store_made_durable(n->obj, point, size);
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	return r;
}

int vfs_fsync(struct vfs *v, uint64_t ino, int datasync)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return 0;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	int r = -EAGAIN;
	if (datasync) {
		ranked_rdlock(&n->lock, LOCK_VNODE);
		r = datasync_one_flush(v, n);
		ranked_rwunlock(&n->lock, LOCK_VNODE);
	}
	if (r == -EAGAIN)
		r = fsync_two_flushes(v, n);
	vnode_put(v, n);
	return r;
}

/* Punch [off, off+len): map first, host bytes after the commit. */
static int punch_locked(struct vfs *v, struct vnode *n, uint64_t off, uint64_t len)
{
	int64_t delta = 0;
	int r = store_punch_map(n->obj, off, len, &delta);
	if (r < 0)
		return r;
	tree_account(n->tree, delta);
	touch_written(v, n, n->a.size, delta);
	if (r == 0)
		return 0;
	if (!n->tree->memory) /* RAM-only contents: no crash to survive */
		commit_before_destroying(v, n);
	return store_punch_host(n->obj, off, len);
}

static int fallocate_locked(struct vfs *v, struct vnode *n, int mode, uint64_t off, uint64_t len)
{
	int64_t delta = 0;
	int r;
	uint64_t end = off + len;
	if (mode & FALLOC_FL_PUNCH_HOLE)
		return punch_locked(v, n, off, len);
	if ((mode & FALLOC_FL_ZERO_RANGE) && (r = punch_locked(v, n, off, len)) < 0)
		return r;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && (r = zero_past_eof(n, end)) < 0)
		return r;
	uint64_t need = store_absent_blocks(n->obj, off, len);
	r = n->tree->memory ? 0 : host_space_ok(v, need);
	if (r == 0)
		r = tree_reserve(n->tree, need);
	if (r < 0)
		return r;
	r = store_allocate(n->obj, off, len, &delta);
	tree_unreserve(n->tree, need);
	if (r < 0)
		return r;
	tree_account(n->tree, delta);
	uint64_t size = n->a.size;
	if (!(mode & FALLOC_FL_KEEP_SIZE) && end > size)
		size = end;
	touch_written(v, n, size, delta);
	return 0;
}

int vfs_fallocate(struct vfs *v, uint64_t ino, int mode, uint64_t off, uint64_t len)
{
	if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
		return -EOPNOTSUPP;
	if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		return -EOPNOTSUPP;
	if (len == 0 || off + len < off)
		return -EINVAL;
	if (VFS_IS_ALIAS(ino))
		return -EROFS;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	int r = S_ISREG(n->a.mode) ? begin_change(v, n) : -ENODEV;
	if (r == 0) {
		r = fallocate_locked(v, n, mode, off, len);
		end_change(n);
		if (r == 0)
			alias_changed(v, n, off, len);
	}
	vnode_put(v, n);
	return r;
}

int64_t vfs_lseek(struct vfs *v, uint64_t ino, int64_t off, int whence)
{
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	ino = VFS_REAL_INO(ino);
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	int64_t r = load_obj_exclusive(v, n);
	ranked_rdlock(&n->lock, LOCK_VNODE);
	uint64_t size = n->a.size;
	if (r < 0)
		;
	else if (off < 0 || (uint64_t)off >= size)
		r = -ENXIO;
	else if (inline_file(n)) /* all data */
		r = whence == SEEK_DATA ? off : (int64_t)size;
	else if (!n->obj)
		r = whence == SEEK_DATA ? -ENXIO : (int64_t)size;
	else
		r = store_seek(n->obj, (uint64_t)off, whence, size);
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	vnode_put(v, n);
	return r;
}
