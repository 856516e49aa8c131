/*
 * fs/vfs/inline.c — inline data: the bytes of a small regular file kept in
 * meta.db (a version of xattr VFS_INLINE_NAME, see fs/vfs/vfs_int.h)
 * instead of a data object with a host file. Reads, writes and size
 * changes of such a file, its spill into a data object when it grows past
 * VFS_INLINE_MAX, and the check of its rows.
 *
 * The bytes and the size change in one change of meta.db, so no crash
 * tears them apart; the bytes are never longer than the size (a shrink
 * cuts them in the same change). A read asks meta.db, so a million inodes
 * in memory hold no buffer; only a file changed since the last group
 * commit keeps a copy of its bytes (fs/vfs/inline_copy.c), which a read and
 * a change take instead of the row: after a lost group (a failed group
 * commit) the row holds older bytes until the inode's next flush writes
 * the copy back. A spill drops the copy; if its group is lost, the new
 * object's row comes back at the inode's next flush (store_revive).
 */
#include "fs/vfs/vfs_int.h"
#include "meta/fault.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The metadata bytes an inline row of len bytes counts (xattr_bytes). */
int64_t inline_meta(size_t len)
{
	return len ? (int64_t)(len + strlen(VFS_INLINE_NAME)) : 0;
}

int inline_file(const struct vnode *n)
{
	return S_ISREG(n->a.mode) && !n->tree->memory && !n->obj && !n->a.obj;
}

int64_t inline_known_meta(struct vnode *n)
{
	if (!inline_file(n) || !n->a.size)
		return 0;
	int known = atomic_load(&n->inline_known);
	return known ? inline_meta((size_t)known - 1) : VNODE_META_UNKNOWN;
}

int inline_keeps(const struct vnode *n, uint64_t end)
{
	return inline_file(n) && end <= VFS_INLINE_MAX;
}

ssize_t inline_read(struct vfs *v, struct vnode *n, void *buf, size_t len, uint64_t off)
{
	char *val;
	size_t have;
	db_lock(v->db);
	int r = inline_copy_read(v, n, buf, len, off);
	if (r == 0)
		r = xattr_row_value(v, n, VFS_INLINE_NAME, &val, &have);
	db_unlock(v->db);
	if (r != 0)
		return r < 0 ? r : (ssize_t)len;
	atomic_store(&n->inline_known, (int)have + 1);
	/* past the bytes the file reads as zeros (a truncation up) */
	size_t from = off < have ? have - (size_t)off : 0;
	if (from > len)
		from = len;
	if (from)
		memcpy(buf, val + off, from);
	memset((char *)buf + from, 0, len - from);
	free(val);
	return (ssize_t)len;
}

/* The file's bytes as they will be: the old ones to the new length
 * (zeros where neither they nor buf reach), buf at off. */
static char *bytes_after(const char *old, size_t have, const void *buf, size_t len, uint64_t off,
                         size_t newlen)
{
	char *b = calloc(1, newlen ? newlen : 1);
	if (!b)
		return NULL;
	if (have)
		memcpy(b, old, have < newlen ? have : newlen);
	if (len)
		memcpy(b + off, buf, len);
	return b;
}

/* The row of the bytes (none for an empty file) and the inode's row, in
 * one change: the attributes in memory are what the caller changed. db
 * locked, n's row the tree's own. */
static int commit_bytes(struct vfs *v, struct vnode *n, const char *b, size_t len)
{
	int r = db_begin(v->db);
	if (r < 0)
		return r;
	r = len ? xattr_row_put(v, n, VFS_INLINE_NAME, b, len)
	        : xattr_row_remove(v, n, VFS_INLINE_NAME);
	if (r == 0)
		r = vnode_write_row_locked(v, n);
	return r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
}

/* Change an inline file's bytes to b (len bytes) and its size to size,
 * with mtime and ctime unless the kernel keeps them. n's lock held
 * exclusively; have: the bytes' length now. db locked. */
static int set_bytes(struct vfs *v, struct vnode *n, const char *b, size_t len, size_t have,
                     uint64_t size, int times)
{
	int64_t grow = inline_meta(len) - inline_meta(have);
	struct inline_copy *copy = inline_copy_new(b, len);
	if (!copy)
		return -ENOMEM;
	int r = tree_take_meta(n->tree, grow);
	if (r < 0) {
		free(copy);
		return r;
	}
	ranked_lock(&n->alock, LOCK_LEAF);
	struct vattr was = n->a;
	n->a.size = size;
	if (times)
		n->a.mtime = n->a.ctime = vfs_now_ns();
	ranked_unlock(&n->alock, LOCK_LEAF);
	r = commit_bytes(v, n, b, len);
	atomic_store(&n->inline_known, r == 0 ? (int)len + 1 : 0);
	if (r == 0)
		inline_copy_keep(v, n, copy);
	else
		free(copy);
	if (r < 0) {
		tree_take_meta(n->tree, -grow);
		ranked_lock(&n->alock, LOCK_LEAF);
		n->a.size = was.size;
		n->a.mtime = was.mtime;
		n->a.ctime = was.ctime;
		ranked_unlock(&n->alock, LOCK_LEAF);
		vnode_mark_dirty(v, n); /* the rest of the row is still to write */
	}
	return r;
}

/* Before a change of an inline file's bytes: the db locked, n's row the
 * tree's own, and its bytes now (*old malloc'd, NULL when none): its
 * copy's if it keeps one (after a lost group the row's are older). On
 * failure the db is unlocked again. */
static int lock_own_bytes(struct vfs *v, struct vnode *n, char **old, size_t *have)
{
	db_lock(v->db);
	int r = vnode_own_row(v, n);
	if (r == 0)
		r = inline_copy_bytes(v, n, old, have);
	if (r == 0)
		r = xattr_row_value(v, n, VFS_INLINE_NAME, old, have);
	if (r < 0)
		db_unlock(v->db);
	return r < 0 ? r : 0;
}

ssize_t inline_write(struct vfs *v, struct vnode *n, const void *buf, size_t len, uint64_t off,
                     int kernel_times)
{
	assert(inline_keeps(n, off + len));
	char *old;
	size_t have;
	int r = lock_own_bytes(v, n, &old, &have);
	if (r < 0)
		return r;
	size_t newlen = off + len > have ? (size_t)(off + len) : have;
	char *b = bytes_after(old, have, buf, len, off, newlen);
	free(old);
	uint64_t size = off + len > n->a.size ? off + len : n->a.size;
	r = b ? set_bytes(v, n, b, newlen, have, size, !kernel_times) : -ENOMEM;
	db_unlock(v->db);
	free(b);
	return r < 0 ? r : (ssize_t)len;
}

int inline_truncate(struct vfs *v, struct vnode *n, uint64_t size)
{
	assert(inline_file(n) && (size <= VFS_INLINE_MAX || size <= n->a.size));
	char *old;
	size_t have;
	int r = lock_own_bytes(v, n, &old, &have);
	if (r < 0)
		return r;
	size_t newlen = size < have ? (size_t)size : have;
	r = set_bytes(v, n, old, newlen, have, size, 1);
	db_unlock(v->db);
	free(old);
	return r;
}

/* The spill's change: the inode row names the new object and the inline
 * row goes (a whiteout where a snapshot keeps an older one). */
struct spill {
	struct vfs *v;
	struct vnode *n;
};

static int spill_repoint(void *arg, uint64_t id)
{
	struct spill *s = arg;
	vnode_set_obj(s->n, id);
	int r = vnode_write_row_locked(s->v, s->n);
	return r < 0 ? r : xattr_row_remove(s->v, s->n, VFS_INLINE_NAME);
}

/* The space the spill's block takes, reserved before it is written. */
static int reserve_block(struct vfs *v, struct vnode *n)
{
	int r = host_space_ok(v, 1);
	return r < 0 ? r : tree_reserve(n->tree, 1);
}

int inline_spill(struct vfs *v, struct vnode *n)
{
	assert(inline_file(n));
	char *b;
	size_t have;
	int r = lock_own_bytes(v, n, &b, &have);
	if (r < 0)
		return r;
	db_unlock(v->db);
	if (!have)
		return 1;
	assert(have <= VFS_INLINE_MAX);
	if ((r = reserve_block(v, n)) < 0) {
		free(b);
		return r;
	}
	/* The row written in the spill's change carries the block already. */
	ranked_lock(&n->alock, LOCK_LEAF);
	uint64_t blocks = n->a.blocks;
	n->a.blocks = blocks + 1;
	ranked_unlock(&n->alock, LOCK_LEAF);
	struct spill s = {v, n};
	struct dobj *o = NULL;
	int64_t delta;
	r = store_create_filled(v->store, b, have, &(struct store_holder){spill_repoint, &s}, &o,
	                        &delta);
	free(b);
	tree_unreserve(n->tree, 1);
	if (r < 0) {
		ranked_lock(&n->alock, LOCK_LEAF);
		n->a.blocks = blocks;
		n->a.obj = 0;
		ranked_unlock(&n->alock, LOCK_LEAF);
		vnode_mark_dirty(v, n); /* the rolled-back change held its row */
		return r;
	}
	assert(delta == 1);
	tree_account(n->tree, delta);
	tree_take_meta(n->tree, -inline_meta(have));
	n->obj = o;
	atomic_store(&n->inline_known, 0);
	db_lock(v->db);
	inline_copy_drop(v, n); /* the bytes are the object's now */
	db_unlock(v->db);
	FAULT_CRASH_POINT("inline spill");
	return 0;
}

/* Inline rows tree `tree` sees whose visible inode is no inline file of
 * at least their length. */
#define INLINE_BAD                                                                             \
	"SELECT x.ino, length(x.value), i.size, i.obj IS NOT NULL FROM xattrs x"                \
	IN_SPAN("a_", "x", "?2") "JOIN inodes i ON i.family=x.family AND i.ino=x.ino AND "       \
	"i.lineage=(SELECT max(k.lineage) FROM inodes k" IN_SPAN("c_", "k", "?2")                \
	"WHERE k.family=x.family AND k.ino=x.ino) WHERE x.family=?1 AND x.name='"                  \
	VFS_INLINE_NAME "' AND x.whiteout=0 AND i.whiteout=0 AND NOT "                             \
	NEWER_VISIBLE("xattrs", "x", "j.ino=x.ino AND j.name=x.name", "?2")                        \
	" AND (length(x.value)>i.size OR i.obj IS NOT NULL OR (i.mode & 61440) != 32768)"

int inline_check(struct vfs *v, uint64_t tree, uint64_t family, uint64_t lineage,
                 void (*report)(void *arg, const char *msg), void *arg)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, INLINE_BAD);
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)lineage);
	int problems = 0, row;
	char msg[256];
	while ((row = db_step_row(st)) > 0) {
		snprintf(msg, sizeof msg, "tree %llu: inode %lld has %lld inline bytes %s (size %lld)",
		         (unsigned long long)tree, sqlite3_column_int64(st, 0),
		         sqlite3_column_int64(st, 1),
		         sqlite3_column_int(st, 3) ? "and a data object" : "but is no file that long",
		         sqlite3_column_int64(st, 2));
		report(arg, msg);
		problems++;
	}
	db_finish(st);
	if (row < 0) {
		snprintf(msg, sizeof msg, "tree %llu: cannot read its inline rows to check them",
		         (unsigned long long)tree);
		report(arg, msg);
		problems++;
	}
	return problems;
}
