/*
 * fs/vfs/xattr.c — extended attributes of inodes in trees, stored in the xattrs
 * table. user.*, trusted.* and security.* are kept as given; system.* (POSIX
 * ACLs) is refused, since volfs enforces permissions through the kernel's
 * default_permissions mode bits only.
 */
#include "fs/vfs/vfs_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#define XATTR_VALUE_MAX 65536

static int xattr_name_ok(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > 255)
		return -ERANGE;
	if (strncmp(name, "user.", 5) && strncmp(name, "trusted.", 8) && strncmp(name, "security.", 9))
		return -EOPNOTSUPP;
	return 0;
}

/* The xattrs of n a caller sees (?1 family, ?2 ino, ?4 lineage): the
 * newest visible version of each name, not a whiteout, and not a file's
 * inline bytes (fs/vfs/inline.c). */
#define USER_XATTRS                                                                            \
	"FROM xattrs x" VISIBLE("x", "?4") "WHERE x.family=?1 AND x.ino=?2 AND x.whiteout=0 AND "  \
	"x.name<>'" VFS_INLINE_NAME "' AND NOT "                                                  \
	NEWER_VISIBLE("xattrs", "x", "j.ino=x.ino AND j.name=x.name", "?4")

/* The newest version of xattr `name` of n that its tree sees. */
#define XATTR_VERSION                                                                          \
	"FROM xattrs x" VISIBLE("x", "?4") "WHERE x.family=?1 AND x.ino=?2 AND x.name=?3 "        \
	"ORDER BY x.lineage DESC LIMIT 1"

sqlite3_stmt *xattr_stmt(struct vfs *v, const char *sql, struct vnode *n, const char *name)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)n->tree->family);
	sqlite3_bind_int64(st, 2, (int64_t)VFS_LOCAL_OF(n->ino));
	if (name)
		sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)atomic_load(&n->tree->lineage));
	return st;
}

/* The bytes the xattr counts against the volume's capacity (name and
 * value); -ENODATA if the inode has no such xattr, -EIO if the look-up
 * failed (then nobody may act as if it had none: XATTR_CREATE would
 * replace it). */
static int64_t xattr_bytes(struct vfs *v, struct vnode *n, const char *name)
{
	sqlite3_stmt *st = xattr_stmt(v, "SELECT length(x.value), x.whiteout " XATTR_VERSION, n, name);
	int row = db_step_row(st);
	int64_t len = row < 0 ? row : -ENODATA;
	if (row > 0 && !sqlite3_column_int(st, 1))
		len = sqlite3_column_int64(st, 0) + (int64_t)strlen(name);
	db_finish(st);
	return len;
}

/* Does an ancestor of the tree's lineage hold a version of the xattr? 1,
 * 0, or -EIO (never "none": deleting the version instead of hiding the
 * ancestor's would bring the snapshot's back). */
static int older_xattr(struct vfs *v, struct vnode *n, const char *name)
{
	sqlite3_stmt *st = xattr_stmt(v, "SELECT 1 FROM xattrs x" VISIBLE("x", "?4")
	                                 "WHERE x.family=?1 AND x.ino=?2 AND x.name=?3 AND "
	                                 "x.lineage<?4 LIMIT 1", n, name);
	int older = db_step_row(st);
	db_finish(st);
	return older;
}

/* The version of xattr `name` of n in its tree's kept parent lineage, if
 * any, goes: the tree is about to write it, and nobody else reads the
 * kept version (KEPT_PARENT). db locked, inside the change. */
static int drop_kept_xattr(struct vfs *v, struct vnode *n, const char *name)
{
	if (!lineage_parent_kept(v, n->tree))
		return 0;
	return db_step_done(v->db, xattr_stmt(v, "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND "
	                                         "name=?3 AND lineage=" KEPT_PARENT("?4"), n, name));
}

/* db locked, inside the change, with n's row the tree's own already. */
static void touch_ctime(struct vfs *v, struct vnode *n)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	n->a.ctime = vfs_now_ns();
	ranked_unlock(&n->alock, LOCK_LEAF);
	vnode_write_row_locked(v, n);
}

int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name, const void *val, size_t len,
                 int flags)
{
	int r = tree_writable(v, ino);
	if (r == 0)
		r = xattr_name_ok(name);
	if (r < 0)
		return r;
	if (len > XATTR_VALUE_MAX)
		return -E2BIG;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	db_lock(v->db);
	int64_t old = xattr_bytes(v, n, name);
	int64_t grow = (int64_t)(len + strlen(name)) - (old < 0 ? 0 : old);
	if (old == -EIO)
		r = -EIO;
	else if ((flags & XATTR_CREATE) && old >= 0)
		r = -EEXIST;
	else if ((flags & XATTR_REPLACE) && old < 0)
		r = -ENODATA;
	else if ((r = vnode_own_row(v, n)) < 0)
		;
	else if ((r = tree_take_meta(n->tree, grow)) == 0 && (r = db_begin(v->db)) < 0)
		tree_take_meta(n->tree, -grow);
	if (r == 0) {
		r = xattr_row_put(v, n, name, val, len);
		if (r == 0)
			touch_ctime(v, n);
		r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
		if (r == 0)
			atomic_store(&n->xattrs, XATTRS_SOME);
		else
			tree_take_meta(n->tree, -grow);
	}
	db_unlock(v->db);
	vnode_put(v, n);
	return r;
}

/* db locked: does the inode have any xattr? Remembered on the inode. */
static int has_xattrs(struct vfs *v, struct vnode *n)
{
	if (atomic_load(&n->xattrs) == XATTRS_UNKNOWN) {
		sqlite3_stmt *st = xattr_stmt(v, "SELECT 1 " USER_XATTRS " LIMIT 1", n, NULL);
		int rc = sqlite3_step(st);
		db_finish(st);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			atomic_store(&n->xattrs, rc == SQLITE_ROW ? XATTRS_SOME : XATTRS_NONE);
		else
			return 1; /* an error: ask the table */
	}
	return atomic_load(&n->xattrs) != XATTRS_NONE;
}

/* The inode to answer for, db locked; or NULL with *r set when it has no
 * xattrs, which once known takes no db lock at all. */
static struct vnode *xattr_reader(struct vfs *v, uint64_t ino, ssize_t none, ssize_t *r)
{
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n) {
		*r = err;
		return NULL;
	}
	if (atomic_load(&n->xattrs) == XATTRS_NONE) {
		vnode_put(v, n);
		*r = none;
		return NULL;
	}
	db_lock(v->db);
	if (!has_xattrs(v, n)) {
		db_unlock(v->db);
		vnode_put(v, n);
		*r = none;
		return NULL;
	}
	return n;
}

ssize_t vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, void *buf, size_t len)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return -ENODATA;
	if (!strcmp(name, VFS_INLINE_NAME)) /* a file's inline bytes (fs/vfs/inline.c) */
		return -ENODATA;
	ssize_t none;
	struct vnode *n = xattr_reader(v, ino, -ENODATA, &none);
	if (!n)
		return none;
	sqlite3_stmt *st = xattr_stmt(v, "SELECT x.value, x.whiteout " XATTR_VERSION, n, name);
	int row = db_step_row(st);
	ssize_t r = row < 0 ? row : -ENODATA;
	if (row > 0 && !sqlite3_column_int(st, 1)) {
		r = sqlite3_column_bytes(st, 0);
		if (len && (size_t)r > len)
			r = -ERANGE;
		else if (len && r > 0)
			memcpy(buf, sqlite3_column_blob(st, 0), (size_t)r);
	}
	db_finish(st);
	db_unlock(v->db);
	vnode_put(v, n);
	return r;
}

ssize_t vfs_listxattr(struct vfs *v, uint64_t ino, char *buf, size_t len)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return 0;
	ssize_t none;
	struct vnode *x = xattr_reader(v, ino, 0, &none);
	if (!x)
		return none;
	sqlite3_stmt *st = xattr_stmt(v, "SELECT x.name " USER_XATTRS " ORDER BY x.name", x, NULL);
	size_t total = 0;
	ssize_t r = 0;
	int row;
	while ((row = db_step_row(st)) > 0) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0) + 1;
		if (len && total + n > len) {
			r = -ERANGE;
			break;
		}
		if (len)
			memcpy(buf + total, sqlite3_column_text(st, 0), n);
		total += n;
	}
	if (row < 0 && r == 0) /* part of the list is not the list */
		r = row;
	db_finish(st);
	db_unlock(v->db);
	vnode_put(v, x);
	return r < 0 ? r : (ssize_t)total;
}

int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name)
{
	if (!strcmp(name, VFS_INLINE_NAME))
		return -ENODATA;
	int r = tree_writable(v, ino);
	if (r < 0)
		return r;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	db_lock(v->db);
	int64_t old = xattr_bytes(v, n, name);
	r = old >= 0 ? vnode_own_row(v, n) : (int)old;
	if (r == 0)
		r = db_begin_essential(v->db);
	if (r == 0) {
		r = xattr_row_remove(v, n, name);
		if (r == 0)
			touch_ctime(v, n);
		r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
		if (r == 0)
			tree_take_meta(n->tree, -old);
	}
	db_unlock(v->db);
	vnode_put(v, n);
	return r;
}

int xattr_row_value(struct vfs *v, struct vnode *n, const char *name, char **val, size_t *len)
{
	db_assert_locked(v->db);
	*val = NULL;
	*len = 0;
	sqlite3_stmt *st = xattr_stmt(v, "SELECT x.value, x.whiteout " XATTR_VERSION, n, name);
	int row = db_step_row(st);
	int r = row < 0 ? row : 0;
	if (row > 0 && !sqlite3_column_int(st, 1) && sqlite3_column_bytes(st, 0) > 0) {
		size_t bytes = (size_t)sqlite3_column_bytes(st, 0);
		*val = malloc(bytes);
		if (*val) {
			memcpy(*val, sqlite3_column_blob(st, 0), bytes);
			*len = bytes;
		} else {
			r = -ENOMEM;
		}
	}
	db_finish(st);
	return r;
}

int xattr_row_put(struct vfs *v, struct vnode *n, const char *name, const void *val, size_t len)
{
	int r = drop_kept_xattr(v, n, name);
	if (r < 0)
		return r;
	sqlite3_stmt *st = xattr_stmt(v, "INSERT INTO xattrs(family, ino, name, lineage, value) "
	                                 "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(family, ino, name, lineage) "
	                                 "DO UPDATE SET value=excluded.value, whiteout=0", n, name);
	sqlite3_bind_blob(st, 5, len ? val : "", (int)len, SQLITE_STATIC);
	db_note_bytes(v->db, len + strlen(name));
	return db_step_done(v->db, st);
}

int xattr_row_remove(struct vfs *v, struct vnode *n, const char *name)
{
	/* the kept version first, so that it is no reason for a whiteout; a
	 * snapshot that keeps an ancestor's version has it hidden */
	int older = drop_kept_xattr(v, n, name);
	if (older == 0)
		older = older_xattr(v, n, name);
	if (older < 0)
		return older;
	return db_step_done(v->db, xattr_stmt(v, older
		? "INSERT INTO xattrs(family, ino, name, lineage, value, whiteout) "
		  "VALUES(?1,?2,?3,?4,NULL,1) ON CONFLICT(family, ino, name, lineage) "
		  "DO UPDATE SET value=NULL, whiteout=1"
		: "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4", n, name));
}
