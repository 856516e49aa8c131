/*
 * fs/vfs/dir.c — names: lookup, readdir, creating and removing names (mknod,
 * mkdir, symlink, link, unlink, rmdir) and rename, inside trees (the
 * virtual directories around them are fs/vfs/virtual_dirs.c's). Each change is one
 * transaction on the dentries and inodes tables, with the cached inodes
 * updated to match after it commits.
 */
#include "fs/vfs/vfs_int.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

/* EROFS for snapshots and the virtual directories, ESTALE for deleted
 * volumes, 0 where names may change (tree_takes_changes). */
int tree_writable(struct vfs *v, uint64_t ino)
{
	if (VFS_IS_ALIAS(ino) || VFS_TREE_OF(ino) == 0)
		return -EROFS;
	struct vtree *t = tree_of(v, ino);
	return t ? tree_takes_changes(v, t) : -ESTALE;
}

void entry_of(struct vnode *n, struct vfs_entry *e)
{
	e->ino = n->ino;
	vnode_stat(n, &e->st);
	e->attr_timeout = TREE_ATTR_TIMEOUT;
	e->entry_timeout = TREE_ENTRY_TIMEOUT;
}

/* Hand an inode to the kernel: one more lookup reference. */
int reply_entry(struct vfs *v, struct vnode *n, struct vfs_entry *e)
{
	vnode_add_lookup(v, n);
	entry_of(n, e);
	vnode_put(v, n);
	return 0;
}

/* The tree a name's directory is in; NULL for a deleted one. */
static struct vtree *dir_tree(struct vfs *v, uint64_t dir)
{
	struct vtree *t = tree_of(v, dir);
	return t && !t->dead ? t : NULL;
}

/* sql over name `name` in directory `parent` of t: ?1 the family, ?2
 * the directory, ?3 the name, ?4 the tree's lineage. */
static sqlite3_stmt *name_query(struct vfs *v, const char *sql, struct vtree *t, uint64_t parent,
                                const char *name)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)VFS_LOCAL_OF(parent));
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)atomic_load(&t->lineage));
	return st;
}

/* The newest version of name ?3 in directory ?2 that lineage ?4 sees
 * (family ?1): its inode and whether it is a whiteout. */
#define NAME_VERSION                                                                           \
	"SELECT d.ino, d.whiteout FROM dentries d" VISIBLE("d", "?4") "WHERE d.family=?1 AND "     \
	"d.parent=?2 AND d.name=?3 ORDER BY d.lineage DESC LIMIT 1"

/* The newest version of name in directory `parent` that the directory's
 * tree sees: 0 with *local, or -ENOENT (none, or a whiteout). db locked. */
static int dentry_find(struct vfs *v, uint64_t parent, const char *name, uint64_t *local)
{
	struct vtree *t = dir_tree(v, parent);
	if (!t)
		return -ESTALE;
	/* a root lineage sees its own rows only: one seek of the name's index */
	sqlite3_stmt *st = name_query(v, lineage_has_ancestors(t->family, atomic_load(&t->lineage))
		? NAME_VERSION
		: "SELECT ino, whiteout FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 AND "
		  "lineage=?4", t, parent, name);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_int(st, 1))
		rc = SQLITE_DONE;
	if (rc == SQLITE_ROW)
		*local = (uint64_t)sqlite3_column_int64(st, 0);
	db_finish(st);
	return rc == SQLITE_ROW ? 0 : (rc == SQLITE_DONE ? -ENOENT : -EIO);
}

/* Numbers under a read-only alias are alias numbers too. */
void alias_entry(struct vfs_entry *e)
{
	e->ino |= VFS_ALIAS_BIT;
	e->st.st_ino = (ino_t)e->ino;
	e->attr_timeout = e->entry_timeout = ALIAS_TIMEOUT;
}

/* Tree inodes change only through the kernel; the fixed virtual
 * directories (/, /pv, /pvc, /pods, /snapshots, /local-path) never change. With
 * default_permissions the kernel checks every directory on a path, so a
 * timeout of 0 on / alone would cost a GETATTR per path walk. */
double vfs_attr_timeout(uint64_t ino)
{
	if (VFS_IS_ALIAS(ino))
		return ALIAS_TIMEOUT;
	return VFS_TREE_OF(ino) || ino <= VINO_LOCAL_PATH ? TREE_ATTR_TIMEOUT : 0;
}

/* The inode `name` in `parent` of tree t names: -ENOENT if none. One
 * statement reads the name's row and its inode's (which go unread when
 * the inode is in memory): in a root lineage both rows are its own; with
 * ancestors, the newest visible version of each (two statements cost a
 * cold stat of a live volume with 200 snapshots 12% over its twin, one
 * 6%). The unary + keeps the planner on the inodes primary key: it picked
 * inodes_lineage, then the table. db locked. */
static struct vnode *lookup_vnode(struct vfs *v, struct vtree *t, uint64_t parent,
                                  const char *name, int *err)
{
	uint64_t local, mine = atomic_load(&t->lineage);
	sqlite3_stmt *st = name_query(v, lineage_has_ancestors(t->family, mine)
		? "SELECT d.ino, d.whiteout, " INODE_ROW_COLUMNS " FROM (" NAME_VERSION ") d "
		  "LEFT JOIN inodes i "
		  "ON i.family=?1 AND i.ino=d.ino AND i.lineage=(SELECT j.lineage FROM inodes j"
		  IN_SPAN("b_", "j", "?4") "WHERE j.family=?1 AND j.ino=d.ino ORDER BY j.lineage "
		  "DESC LIMIT 1)"
		: "SELECT d.ino, d.whiteout, " INODE_ROW_COLUMNS " FROM dentries d "
		  "LEFT JOIN inodes i ON i.family=d.family AND i.ino=d.ino AND +i.lineage=d.lineage "
		  "WHERE d.family=?1 AND d.parent=?2 AND d.name=?3 AND d.lineage=?4",
		t, parent, name);
	int rc = sqlite3_step(st);
	struct vnode *n = NULL;
	if (rc == SQLITE_ROW && !sqlite3_column_int(st, 1)) {
		local = (uint64_t)sqlite3_column_int64(st, 0);
		n = vnode_get_row(v, VFS_INO(t->id, local), st, 2, err);
	} else {
		*err = rc == SQLITE_ROW || rc == SQLITE_DONE ? -ENOENT : -EIO;
	}
	db_finish(st);
	return n;
}

int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *e)
{
	memset(e, 0, sizeof *e);
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	if (VFS_IS_ALIAS(parent)) {
		int r = vfs_lookup(v, VFS_REAL_INO(parent), name, e);
		if (r == 0)
			alias_entry(e);
		else /* a negative name too: it may appear through the volume */
			e->entry_timeout = ALIAS_TIMEOUT;
		return r;
	}
	if (VFS_TREE_OF(parent) == 0)
		return virt_lookup(v, parent, name, e);
	int err;
	db_lock(v->db);
	struct vtree *t = tree_of(v, parent);
	if (!t || t->dead) {
		db_unlock(v->db);
		return -ESTALE;
	}
	struct vnode *n = lookup_vnode(v, t, parent, name, &err);
	db_unlock(v->db);
	if (!n) {
		/* Names in a tree appear only through the kernel (create,
		 * mkdir, link, rename), which drops the negative entry. */
		if (err == -ENOENT)
			e->entry_timeout = TREE_NEGATIVE_TIMEOUT;
		return err;
	}
	return reply_entry(v, n, e);
}

/* The version of `name` in `parent` of the tree's kept parent lineage, if
 * any, goes: the tree is about to write the name, and nobody else reads
 * the kept version (KEPT_PARENT). Asked only when the tree may have one
 * (lineage_parent_kept). */
static int dentry_drop_kept(struct vfs *v, struct vtree *t, uint64_t parent, const char *name)
{
	if (!lineage_parent_kept(v, t))
		return 0;
	return db_step_done(v->db, name_query(v, "DELETE FROM dentries WHERE family=?1 AND parent=?2 "
	                                         "AND name=?3 AND lineage=" KEPT_PARENT("?4"),
	                                      t, parent, name));
}

/* Name `name` in `parent` points at `local` in the tree's own lineage
 * (over a whiteout or an older version of the name, if any). */
static int dentry_insert(struct vfs *v, uint64_t parent, const char *name, uint64_t local)
{
	struct vtree *t = dir_tree(v, parent);
	if (!t)
		return -ESTALE;
	int r = dentry_drop_kept(v, t, parent, name);
	if (r < 0)
		return r;
	sqlite3_stmt *st = name_query(v, "INSERT INTO dentries(family, parent, name, lineage, ino) "
	                                 "VALUES(?1,?2,?3,?4,?5) ON CONFLICT(family, parent, name, "
	                                 "lineage) DO UPDATE SET ino=excluded.ino, whiteout=0",
	                              t, parent, name);
	sqlite3_bind_int64(st, 5, (int64_t)local);
	return db_step_done(v->db, st);
}

/* A new name: -EEXIST if the tree sees one already, whether its version is
 * the tree's own or an ancestor's (dentry_insert would shadow it). db
 * locked, inside a change. */
static int dentry_insert_new(struct vfs *v, uint64_t parent, const char *name, uint64_t local)
{
	struct vtree *t = dir_tree(v, parent);
	if (!t)
		return -ESTALE;
	uint64_t there, mine = atomic_load(&t->lineage);
	if (!lineage_has_ancestors(t->family, mine)) {
		/* every row of a root lineage is a visible name: the insert
		 * itself finds the one already there */
		sqlite3_stmt *st = name_query(v, "INSERT INTO dentries(family, parent, name, lineage, "
		                                 "ino) VALUES(?1,?2,?3,?4,?5) ON CONFLICT DO NOTHING",
		                              t, parent, name);
		sqlite3_bind_int64(st, 5, (int64_t)local);
		int r = db_step_done(v->db, st);
		return r == 0 && sqlite3_changes(v->db->h) == 0 ? -EEXIST : r;
	}
	int r = dentry_find(v, parent, name, &there);
	if (r == 0)
		return -EEXIST;
	return r == -ENOENT ? dentry_insert(v, parent, name, local) : r;
}

/* Remove a name from the tree's view: its own version goes, and a
 * whiteout hides the versions of ancestors (snapshots still see them). */
static int dentry_delete(struct vfs *v, uint64_t parent, const char *name)
{
	struct vtree *t = dir_tree(v, parent);
	if (!t)
		return -ESTALE;
	uint64_t mine = atomic_load(&t->lineage);
	/* first, so that a kept version is no reason for a whiteout */
	int older = dentry_drop_kept(v, t, parent, name);
	if (older < 0)
		return older;
	sqlite3_stmt *st;
	if (lineage_has_ancestors(t->family, mine)) {
		st = name_query(v, "SELECT 1 FROM dentries d" VISIBLE("d", "?4")
		                   "WHERE d.family=?1 AND d.parent=?2 AND d.name=?3 AND "
		                   "d.lineage<?4 LIMIT 1", t, parent, name);
		/* a failed read is never "no older version": deleting the name
		 * instead of hiding it would bring back the snapshot's */
		older = db_step_row(st);
		db_finish(st);
		if (older < 0)
			return older;
	}
	st = name_query(v, older ? "INSERT INTO dentries(family, parent, name, lineage, ino, whiteout) "
	                           "VALUES(?1,?2,?3,?4,0,1) ON CONFLICT(family, parent, name, lineage) "
	                           "DO UPDATE SET ino=0, whiteout=1"
	                         : "DELETE FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 "
	                           "AND lineage=?4", t, parent, name);
	return db_step_done(v->db, st);
}

static int dentry_set_ino(struct vfs *v, uint64_t parent, const char *name, uint64_t local)
{
	return dentry_insert(v, parent, name, local);
}

static int dentry_move(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
                       const char *newname)
{
	uint64_t local;
	int r = dentry_find(v, parent, name, &local);
	if (r == 0)
		r = dentry_delete(v, parent, name);
	return r == 0 ? dentry_insert(v, newparent, newname, local) : r;
}

/* The names of directory `dir` its tree sees, from cookie `after` on, in
 * cookie order: the newest visible version of each, whiteouts left out. */
#define VISIBLE_NAMES                                                                          \
	"SELECT d.id, d.ino, d.name, (SELECT mode FROM inodes i WHERE i.family=d.family AND "  \
	"i.ino=d.ino AND i.whiteout=0 LIMIT 1) FROM dentries d" VISIBLE("d", "?4")               \
	"WHERE d.family=?1 AND d.parent=?2 AND d.id>?3 AND d.whiteout=0 AND NOT "               \
	NEWER_VISIBLE("dentries", "d", "j.parent=d.parent AND j.name=d.name", "?4")              \
	" ORDER BY d.id"

static sqlite3_stmt *visible_names(struct vfs *v, const char *sql, struct vtree *t, uint64_t dir,
                                   int64_t after)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)VFS_LOCAL_OF(dir));
	sqlite3_bind_int64(st, 3, after);
	sqlite3_bind_int64(st, 4, (int64_t)atomic_load(&t->lineage));
	return st;
}

static int dir_is_empty(struct vfs *v, uint64_t dir)
{
	struct vtree *t = dir_tree(v, dir);
	if (!t)
		return 1;
	sqlite3_stmt *st = visible_names(v, VISIBLE_NAMES " LIMIT 1", t, dir, 0);
	int rc = sqlite3_step(st);
	db_finish(st);
	return rc == SQLITE_DONE;
}

int vfs_dir_is_empty(struct vfs *v, uint64_t dir)
{
	return dir_is_empty(v, dir);
}

/* Apply a change to a cached inode's attributes: `nlink_delta` and `touch`
 * (ctime, plus mtime for directories whose entries changed). A link count
 * must agree with the names in every committed group, so a change of it is
 * written inside the caller's transaction; a change of times alone (the
 * directory a file was created in or removed from, a renamed inode) goes to
 * the group commit with the other dirty attributes, saving a row write per
 * create and unlink. */
static int inode_change(struct vfs *v, struct vnode *n, int nlink_delta, int touch_mtime,
                        int64_t now)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	assert((int64_t)n->a.nlink + nlink_delta >= 0);
	n->a.nlink = (uint32_t)((int)n->a.nlink + nlink_delta);
	n->a.ctime = now;
	if (touch_mtime)
		n->a.mtime = now;
	ranked_unlock(&n->alock, LOCK_LEAF);
	if (nlink_delta == 0) {
		vnode_mark_dirty(v, n);
		return 0;
	}
	return vnode_write_nlink_locked(v, n);
}

static int commit_or_rollback(struct vfs *v, int r)
{
	if (r == 0)
		return db_commit(v->db);
	db_rollback(v->db);
	return r;
}

/* Undo in-memory attribute changes after a failed transaction by
 * rereading the rows: simpler and surer than reversing each change. A
 * node whose reread fails too is marked stale: vnode_get rereads it
 * before anyone uses its attributes or writes them back. */
static void reload_attrs(struct vfs *v, struct vnode **ns, int count)
{
	for (int i = 0; i < count; i++) {
		struct vnode *n = ns[i];
		if (!n)
			continue;
		sqlite3_stmt *st = db_prep(v->db, "SELECT i.nlink, i.ctime, i.mtime FROM inodes i"
		                                  VISIBLE("i", "?3") "WHERE i.family=?1 AND i.ino=?2 "
		                                  "ORDER BY i.lineage DESC LIMIT 1");
		sqlite3_bind_int64(st, 1, (int64_t)n->tree->family);
		sqlite3_bind_int64(st, 2, (int64_t)VFS_LOCAL_OF(n->ino));
		sqlite3_bind_int64(st, 3, (int64_t)atomic_load(&n->tree->lineage));
		ranked_lock(&n->alock, LOCK_LEAF);
		if (sqlite3_step(st) == SQLITE_ROW) {
			n->a.nlink = sqlite3_column_int(st, 0);
			n->a.ctime = sqlite3_column_int64(st, 1);
			n->a.mtime = sqlite3_column_int64(st, 2);
		} else {
			atomic_store(&n->stale, 1);
		}
		ranked_unlock(&n->alock, LOCK_LEAF);
		db_finish(st);
	}
}

/* Commit the change, or roll it back and reread the cached attributes of
 * the nodes it touched, which the failed change had already updated. */
static int commit_or_reload(struct vfs *v, int r, struct vnode **ns, int count)
{
	r = commit_or_rollback(v, r);
	if (r < 0)
		reload_attrs(v, ns, count);
	return r;
}

/* Inode numbers are handed out from a reserve written ahead into the
 * tree's row, not with a row write per create: a crash or restart skips
 * what is left of it, and no inode number needs to follow the last. The
 * row always names a number above every one handed out. */
#define INO_RESERVE 256

static int reserve_inos(struct vfs *v, struct vtree *t)
{
	if (t->next_ino <= t->ino_saved)
		return 0;
	t->ino_saved = t->next_ino + INO_RESERVE;
	sqlite3_stmt *st = db_prep(v->db, "UPDATE trees SET next_ino=? WHERE id=?");
	sqlite3_bind_int64(st, 1, (int64_t)t->ino_saved);
	sqlite3_bind_int64(st, 2, (int64_t)t->id);
	return db_step_done(v->db, st);
}

/* A new inode counts against the tree's inode limit, and a symlink's
 * target against its capacity. */
static int take_node_space(struct vtree *t, const char *target)
{
	int r = tree_take_inode(t);
	if (r == 0 && target && (r = tree_take_meta(t, (int64_t)strlen(target))) < 0)
		tree_give_inode(t);
	return r;
}

static void give_node_space(struct vtree *t, const char *target)
{
	tree_give_inode(t);
	if (target)
		tree_take_meta(t, -(int64_t)strlen(target));
}

/* Create a new inode named `name` in `parent`. Set-group-ID directories
 * pass their group (and, to subdirectories, the bit) on, as on ext4. */
static int make_node(struct vfs *v, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
                     const char *target, const struct vfs_ctx *c, struct vfs_entry *e,
                     struct vnode **out)
{
	if (strlen(name) > 255)
		return -ENAMETOOLONG;
	int r = tree_writable(v, parent);
	if (r < 0)
		return r;
	int err;
	struct vnode *dir = vnode_get(v, parent, &err);
	if (!dir)
		return err;
	int64_t now = vfs_now_ns();
	struct vattr pa;
	vnode_attr(dir, &pa);
	struct vattr a = {.mode = mode, .uid = c->uid, .gid = c->gid, .nlink = S_ISDIR(mode) ? 2 : 1,
	                  .rdev = rdev, .atime = now, .mtime = now, .ctime = now, .btime = now};
	if (pa.mode & S_ISGID) {
		a.gid = pa.gid;
		if (S_ISDIR(mode))
			a.mode |= S_ISGID;
	}
	if (target)
		a.size = strlen(target);

	db_lock(v->db);
	struct vtree *t = dir->tree;
	uint64_t local = t->next_ino, saved = t->ino_saved;
	r = pa.nlink == 0 ? -ENOENT : !S_ISDIR(pa.mode) ? -ENOTDIR : vnode_own_row(v, dir);
	if (r == 0)
		r = take_node_space(t, target);
	if (r == 0 && (r = db_begin(v->db)) < 0)
		give_node_space(t, target);
	if (r == 0) {
		t->next_ino++;
		r = reserve_inos(v, t);
		if (r == 0)
			r = vnode_insert_row(v, t, local, &a, target);
		if (target)
			db_note_bytes(v->db, a.size);
		if (r == 0)
			r = dentry_insert_new(v, parent, name, local);
		if (r == 0)
			r = inode_change(v, dir, S_ISDIR(mode) ? 1 : 0, 1, now);
		r = commit_or_rollback(v, r);
		if (r < 0) {
			t->next_ino = local;
			/* not above a rolled-back group's 0 (vfs_trees_resync) */
			if (saved < t->ino_saved)
				t->ino_saved = saved;
			reload_attrs(v, &dir, 1);
			give_node_space(t, target);
		}
	}
	struct vnode *n = r == 0 ? vnode_get_new(v, t, local, &a, &r) : NULL;
	db_unlock(v->db);
	vnode_put(v, dir);
	if (!n)
		return r;
	if (out) {
		vnode_add_lookup(v, n);
		entry_of(n, e);
		*out = n; /* caller keeps the in-flight reference */
		return 0;
	}
	return reply_entry(v, n, e);
}

int vfs_mknod(struct vfs *v, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
              const struct vfs_ctx *c, struct vfs_entry *e)
{
	if (!S_ISREG(mode) && !S_ISFIFO(mode) && !S_ISSOCK(mode) && !S_ISCHR(mode) && !S_ISBLK(mode))
		return -EINVAL;
	return make_node(v, parent, name, mode, rdev, NULL, c, e, NULL);
}

int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
              const struct vfs_ctx *c, struct vfs_entry *e)
{
	if (parent == VINO_LOCAL_PATH && !v->readonly)
		return lp_mkdir(v, name, e);
	return make_node(v, parent, name, S_IFDIR | (mode & 07777), 0, NULL, c, e, NULL);
}

int vfs_symlink(struct vfs *v, uint64_t parent, const char *name, const char *target,
                const struct vfs_ctx *c, struct vfs_entry *e)
{
	if (strlen(target) >= 4096)
		return -ENAMETOOLONG;
	if (parent == VINO_LOCAL_PATH && !v->readonly)
		return lp_symlink(v, name, target, e);
	return make_node(v, parent, name, S_IFLNK | 0777, 0, target, c, e, NULL);
}

int vnode_create_file(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
                      const struct vfs_ctx *c, struct vfs_entry *e, struct vnode **out);
int vnode_create_file(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
                      const struct vfs_ctx *c, struct vfs_entry *e, struct vnode **out)
{
	return make_node(v, parent, name, S_IFREG | (mode & 07777), 0, NULL, c, e, out);
}

int vfs_link(struct vfs *v, uint64_t ino, uint64_t newparent, const char *newname,
             struct vfs_entry *e)
{
	if (strlen(newname) > 255)
		return -ENAMETOOLONG;
	int r = tree_writable(v, newparent);
	if (r < 0)
		return r;
	if (VFS_TREE_OF(ino) != VFS_TREE_OF(newparent))
		return -EXDEV;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	struct vnode *dir = vnode_get(v, newparent, &err);
	if (!dir) {
		vnode_put(v, n);
		return err;
	}
	if (S_ISDIR(n->a.mode) || !S_ISDIR(dir->a.mode)) {
		r = S_ISDIR(n->a.mode) ? -EPERM : -ENOTDIR;
		vnode_put(v, dir);
		vnode_put(v, n);
		return r;
	}
	int64_t now = vfs_now_ns();
	db_lock(v->db);
	r = n->a.nlink == 0 ? -ENOENT : vnode_own_row(v, n);
	if (r == 0)
		r = vnode_own_row(v, dir);
	if (r == 0)
		r = db_begin(v->db);
	if (r == 0) {
		r = dentry_insert_new(v, newparent, newname, VFS_LOCAL_OF(ino));
		if (r == 0)
			r = inode_change(v, n, 1, 0, now);
		if (r == 0)
			r = inode_change(v, dir, 0, 1, now);
		struct vnode *both[] = {n, dir};
		r = commit_or_reload(v, r, both, 2);
	}
	db_unlock(v->db);
	vnode_put(v, dir);
	if (r < 0) {
		vnode_put(v, n);
		return r;
	}
	return reply_entry(v, n, e);
}

/* Remove a name; the inode itself goes when its last link and last
 * reference are gone (vnode_evict). */
static int remove_name(struct vfs *v, uint64_t parent, const char *name, int want_dir)
{
	int r = tree_writable(v, parent);
	if (r < 0)
		return r;
	int err;
	struct vnode *dir = vnode_get(v, parent, &err);
	if (!dir)
		return err;
	uint64_t local;
	struct vnode *n = NULL;
	int64_t now = vfs_now_ns();
	db_lock(v->db);
	r = dentry_find(v, parent, name, &local);
	if (r == 0)
		n = vnode_get_locked(v, VFS_INO(dir->tree->id, local), &r);
	if (n) {
		int isdir = S_ISDIR(n->a.mode);
		if (want_dir && !isdir)
			r = -ENOTDIR;
		else if (!want_dir && isdir)
			r = -EISDIR;
		else if (isdir && !dir_is_empty(v, n->ino))
			r = -ENOTEMPTY;
		else if ((r = vnode_own_row(v, n)) == 0 && (r = vnode_own_row(v, dir)) == 0)
			r = db_begin_essential(v->db);
		if (r == 0) {
			r = dentry_delete(v, parent, name);
			if (r == 0)
				r = inode_change(v, n, isdir ? -(int)n->a.nlink : -1, 0, now);
			if (r == 0)
				r = inode_change(v, dir, isdir ? -1 : 0, 1, now);
			struct vnode *both[] = {n, dir};
			r = commit_or_reload(v, r, both, 2);
		}
	}
	db_unlock(v->db);
	vnode_put(v, n);
	vnode_put(v, dir);
	return r;
}

int vfs_unlink(struct vfs *v, uint64_t parent, const char *name)
{
	if (parent == VINO_LOCAL_PATH && !v->readonly)
		return lp_unlink(v, name);
	return remove_name(v, parent, name, 0);
}

int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name)
{
	if (parent == VINO_LOCAL_PATH && !v->readonly)
		return lp_rmdir(v, name);
	return remove_name(v, parent, name, 1);
}

struct rename_op {
	struct vnode *sdir, *ddir, *src, *dst;
	int64_t now;
};

static int rename_exchange(struct vfs *v, struct rename_op *o, uint64_t parent, const char *name,
                           uint64_t newparent, const char *newname)
{
	int sdir_is = S_ISDIR(o->src->a.mode), ddir_is = S_ISDIR(o->dst->a.mode);
	int r = dentry_set_ino(v, parent, name, VFS_LOCAL_OF(o->dst->ino));
	if (r == 0)
		r = dentry_set_ino(v, newparent, newname, VFS_LOCAL_OF(o->src->ino));
	int moved = o->sdir != o->ddir ? sdir_is - ddir_is : 0;
	if (r == 0)
		r = inode_change(v, o->src, 0, 0, o->now);
	if (r == 0)
		r = inode_change(v, o->dst, 0, 0, o->now);
	if (r == 0)
		r = inode_change(v, o->sdir, -moved, 1, o->now);
	if (r == 0 && o->ddir != o->sdir)
		r = inode_change(v, o->ddir, moved, 1, o->now);
	return r;
}

static int rename_replace(struct vfs *v, struct rename_op *o, uint64_t parent, const char *name,
                          uint64_t newparent, const char *newname)
{
	int sisdir = S_ISDIR(o->src->a.mode);
	int r = 0;
	if (o->dst) {
		int disdir = S_ISDIR(o->dst->a.mode);
		if (sisdir && !disdir)
			return -ENOTDIR;
		if (!sisdir && disdir)
			return -EISDIR;
		if (disdir && !dir_is_empty(v, o->dst->ino))
			return -ENOTEMPTY;
		r = dentry_delete(v, newparent, newname);
		if (r == 0)
			r = inode_change(v, o->dst, disdir ? -(int)o->dst->a.nlink : -1, 0, o->now);
		if (r == 0 && disdir)
			r = inode_change(v, o->ddir, -1, 0, o->now);
	}
	if (r == 0)
		r = dentry_move(v, parent, name, newparent, newname);
	if (r == 0)
		r = inode_change(v, o->src, 0, 0, o->now);
	int moved = (sisdir && o->sdir != o->ddir) ? 1 : 0;
	if (r == 0)
		r = inode_change(v, o->sdir, -moved, 1, o->now);
	if (r == 0 && o->ddir != o->sdir)
		r = inode_change(v, o->ddir, moved, 1, o->now);
	return r;
}

/* Is directory dir the directory anc or below it? Walks up the names
 * (a directory has exactly one) to the tree's root: 1, 0, or -EIO (a
 * failed read is not "reached the root"). db locked. */
static int dir_within(struct vfs *v, const struct vnode *dir, const struct vnode *anc)
{
	struct vtree *t = dir->tree;
	uint64_t local = VFS_LOCAL_OF(dir->ino), target = VFS_LOCAL_OF(anc->ino);
	while (local != target && local != 1) {
		/* the directory's one visible name, not shadowed by a newer
		 * version of the same name (a rename or a whiteout) */
		sqlite3_stmt *st = db_prep(v->db, "SELECT d.parent FROM dentries d" VISIBLE("d", "?3")
		                                  "WHERE d.family=?1 AND d.ino=?2 AND d.whiteout=0 AND NOT "
		                                  NEWER_VISIBLE("dentries", "d",
		                                                "j.parent=d.parent AND j.name=d.name", "?3")
		                                  " LIMIT 1");
		sqlite3_bind_int64(st, 1, (int64_t)t->family);
		sqlite3_bind_int64(st, 2, (int64_t)local);
		sqlite3_bind_int64(st, 3, (int64_t)atomic_load(&t->lineage));
		int found = db_step_row(st);
		local = found > 0 ? (uint64_t)sqlite3_column_int64(st, 0) : 1;
		db_finish(st);
		if (found < 0)
			return found;
	}
	return local == target;
}

/* A directory moved below itself (or, in an exchange, the other one
 * below it) would leave a loop cut off from the root: EINVAL, as
 * rename(2) says. The kernel refuses it before it asks FUSE; this layer
 * refuses it too, for callers without a kernel. 1, 0, or -EIO. db
 * locked. */
static int moves_into_itself(struct vfs *v, const struct rename_op *o, unsigned flags)
{
	if (o->sdir == o->ddir)
		return 0;
	int r = S_ISDIR(o->src->a.mode) ? dir_within(v, o->ddir, o->src) : 0;
	if (r == 0 && (flags & RENAME_EXCHANGE) && S_ISDIR(o->dst->a.mode))
		r = dir_within(v, o->sdir, o->dst);
	return r;
}

static int rename_locked(struct vfs *v, struct rename_op *o, uint64_t parent, const char *name,
                         uint64_t newparent, const char *newname, unsigned flags)
{
	uint64_t sl, dl;
	if (!S_ISDIR(o->sdir->a.mode) || !S_ISDIR(o->ddir->a.mode))
		return -ENOTDIR;
	int r = dentry_find(v, parent, name, &sl);
	if (r < 0)
		return r;
	o->src = vnode_get_locked(v, VFS_INO(o->sdir->tree->id, sl), &r);
	if (!o->src)
		return r;
	r = dentry_find(v, newparent, newname, &dl);
	if (r == 0) {
		o->dst = vnode_get_locked(v, VFS_INO(o->sdir->tree->id, dl), &r);
		if (!o->dst)
			return r;
	} else if (r != -ENOENT) {
		return r;
	}
	if ((flags & RENAME_NOREPLACE) && o->dst)
		return -EEXIST;
	if ((flags & RENAME_EXCHANGE) && !o->dst)
		return -ENOENT;
	if (o->dst == o->src)
		return 0; /* two names of one inode: POSIX says do nothing */
	if ((r = moves_into_itself(v, o, flags)) != 0)
		return r < 0 ? r : -EINVAL;
	struct vnode *own[] = {o->src, o->dst, o->sdir, o->ddir};
	for (int i = 0; i < 4; i++)
		if (own[i] && (r = vnode_own_row(v, own[i])) < 0)
			return r;
	r = db_begin(v->db);
	if (r < 0)
		return r;
	r = (flags & RENAME_EXCHANGE) ? rename_exchange(v, o, parent, name, newparent, newname)
	                              : rename_replace(v, o, parent, name, newparent, newname);
	struct vnode *all[] = {o->src, o->dst, o->sdir, o->ddir};
	return commit_or_reload(v, r, all, 4);
}

int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
               const char *newname, unsigned flags)
{
	if (flags & ~(RENAME_NOREPLACE | RENAME_EXCHANGE))
		return -EINVAL;
	if ((flags & RENAME_NOREPLACE) && (flags & RENAME_EXCHANGE))
		return -EINVAL;
	if (strlen(newname) > 255)
		return -ENAMETOOLONG;
	if (parent == VINO_LOCAL_PATH && !v->readonly)
		return lp_rename(v, name, newparent, newname, flags);
	int r = tree_writable(v, parent);
	if (r == 0)
		r = tree_writable(v, newparent);
	if (r < 0)
		return r;
	if (VFS_TREE_OF(parent) != VFS_TREE_OF(newparent))
		return -EXDEV;
	struct rename_op o = {.now = vfs_now_ns()};
	int err;
	o.sdir = vnode_get(v, parent, &err);
	if (!o.sdir)
		return err;
	o.ddir = vnode_get(v, newparent, &err);
	if (!o.ddir) {
		vnode_put(v, o.sdir);
		return err;
	}
	db_lock(v->db);
	r = rename_locked(v, &o, parent, name, newparent, newname, flags);
	db_unlock(v->db);
	vnode_put(v, o.dst);
	vnode_put(v, o.src);
	vnode_put(v, o.ddir);
	vnode_put(v, o.sdir);
	return r;
}

int vfs_readlink(struct vfs *v, uint64_t ino, char *buf, size_t len)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return virt_readlink(v, ino, buf, len);
	db_lock(v->db);
	struct vtree *t = dir_tree(v, ino);
	if (!t) {
		db_unlock(v->db);
		return -ESTALE;
	}
	sqlite3_stmt *st = db_prep(v->db, "SELECT i.target FROM inodes i" VISIBLE("i", "?3")
	                                  "WHERE i.family=?1 AND i.ino=?2 AND i.whiteout=0 "
	                                  "ORDER BY i.lineage DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)VFS_LOCAL_OF(ino));
	sqlite3_bind_int64(st, 3, (int64_t)atomic_load(&t->lineage));
	int r = db_step_row(st);
	if (r == 0)
		r = -ENOENT;
	if (r > 0) {
		int n = sqlite3_column_bytes(st, 0);
		const void *p = sqlite3_column_blob(st, 0);
		if (!p) {
			r = -EINVAL;
		} else {
			size_t c = (size_t)n < len - 1 ? (size_t)n : len - 1;
			memcpy(buf, p, c);
			buf[c] = 0;
			r = 0;
		}
	}
	db_finish(st);
	db_unlock(v->db);
	return r;
}

int vfs_opendir(struct vfs *v, uint64_t ino)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return virt_is_dir(v, ino) ? 0 : -ENOTDIR;
	int err;
	struct vnode *n = vnode_get(v, ino, &err);
	if (!n)
		return err;
	int r = S_ISDIR(n->a.mode) ? 0 : -ENOTDIR;
	vnode_put(v, n);
	return r;
}

int fill_dir_type(vfs_fill_fn fill, void *arg, const char *name, uint64_t ino, mode_t mode,
                         int64_t next)
{
	struct stat st = {.st_ino = ino, .st_mode = mode};
	return fill(arg, name, &st, next);
}

struct alias_fill {
	vfs_fill_fn fill;
	void *arg;
};

static int fill_alias(void *arg, const char *name, const struct stat *st, int64_t next)
{
	struct alias_fill *a = arg;
	struct stat s = *st;
	s.st_ino |= VFS_ALIAS_BIT;
	return a->fill(a->arg, name, &s, next);
}

int vfs_readdir(struct vfs *v, uint64_t ino, int64_t off, vfs_fill_fn fill, void *arg)
{
	if (VFS_IS_ALIAS(ino)) {
		struct alias_fill a = {fill, arg};
		return vfs_readdir(v, VFS_REAL_INO(ino), off, fill_alias, &a);
	}
	if (off < 1 && fill_dir_type(fill, arg, ".", ino, S_IFDIR, 1))
		return 0;
	if (off < 2 && fill_dir_type(fill, arg, "..", ino, S_IFDIR, 2))
		return 0;
	if (VFS_TREE_OF(ino) == 0)
		return virt_readdir(v, ino, off, fill, arg);
	int64_t after = off > 2 ? off - 2 : 0;
	for (;;) {
		/* A batch per db lock hold, so a huge directory does not stall
		 * every other metadata operation while the kernel copies. */
		struct {
			int64_t id;
			uint64_t ino;
			int mode;
			char name[256];
		} batch[64];
		int count = 0;
		db_lock(v->db);
		struct vtree *t = dir_tree(v, ino);
		if (!t) {
			db_unlock(v->db);
			return -ESTALE;
		}
		sqlite3_stmt *st = visible_names(v, VISIBLE_NAMES " LIMIT 64", t, ino, after);
		int row = 0;
		while (count < 64 && (row = db_step_row(st)) > 0) {
			batch[count].id = sqlite3_column_int64(st, 0);
			batch[count].ino = VFS_INO(VFS_TREE_OF(ino), (uint64_t)sqlite3_column_int64(st, 1));
			snprintf(batch[count].name, sizeof batch[count].name, "%s",
			         (const char *)sqlite3_column_text(st, 2));
			batch[count].mode = sqlite3_column_int(st, 3);
			count++;
		}
		db_finish(st);
		db_unlock(v->db);
		/* a failed read is no end of the directory: what was read is
		 * returned, and the next call reads on from there */
		if (row < 0 && count == 0)
			return row;
		for (int i = 0; i < count; i++)
			if (fill_dir_type(fill, arg, batch[i].name, batch[i].ino, batch[i].mode & S_IFMT,
			                  batch[i].id + 2))
				return 0;
		if (count < 64)
			return 0;
		after = batch[count - 1].id;
	}
}
