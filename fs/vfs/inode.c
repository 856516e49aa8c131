/*
 * fs/vfs/inode.c — the in-memory inode table: loading inode rows from meta.db,
 * the kernel's lookup counts and open handles that keep an inode in memory
 * (modelled on libfuse's passthrough_ll), the dirty list that batches
 * attribute writes into one transaction (group commit), and the deletion of
 * unlinked inodes once nothing refers to them.
 */
#include "fs/vfs/vfs_int.h"
#include "meta/fault.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct vnode **bucket(struct vfs *v, uint64_t ino)
{
	uint64_t h = ino * 0x9E3779B97F4A7C15ULL;
	return &v->itab[(h >> 32) & (ITAB_BUCKETS - 1)];
}

static struct vnode *itab_find(struct vfs *v, uint64_t ino)
{
	for (struct vnode *n = *bucket(v, ino); n; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

/* itab_lock held: n enters the table and its tree's list. */
static void itab_insert(struct vfs *v, struct vnode *n)
{
	n->hnext = *bucket(v, n->ino);
	*bucket(v, n->ino) = n;
	n->tprev = NULL;
	n->tnext = n->tree->vnodes;
	if (n->tnext)
		n->tnext->tprev = n;
	n->tree->vnodes = n;
}

static void itab_remove(struct vfs *v, struct vnode *n)
{
	if (n->tprev)
		n->tprev->tnext = n->tnext;
	else
		n->tree->vnodes = n->tnext;
	if (n->tnext)
		n->tnext->tprev = n->tprev;
	for (struct vnode **p = bucket(v, n->ino); *p; p = &(*p)->hnext)
		if (*p == n) {
			*p = n->hnext;
			return;
		}
}

/* An inode row's columns from column `at` of st's current row
 * (INODE_ROW_COLUMNS). -ENOENT for a whiteout or no row (NULLs of a
 * join). */
static int row_attrs(sqlite3_stmt *st, int at, struct vattr *a, uint64_t *lineage)
{
	if (sqlite3_column_type(st, at) == SQLITE_NULL || sqlite3_column_int(st, at + 13))
		return -ENOENT;
	a->mode = sqlite3_column_int(st, at);
	a->uid = sqlite3_column_int64(st, at + 1);
	a->gid = sqlite3_column_int64(st, at + 2);
	a->nlink = sqlite3_column_int(st, at + 3);
	a->size = sqlite3_column_int64(st, at + 4);
	a->blocks = sqlite3_column_int64(st, at + 5);
	a->rdev = sqlite3_column_int64(st, at + 6);
	a->atime = sqlite3_column_int64(st, at + 7);
	a->mtime = sqlite3_column_int64(st, at + 8);
	a->ctime = sqlite3_column_int64(st, at + 9);
	a->btime = sqlite3_column_int64(st, at + 10);
	a->obj = sqlite3_column_int64(st, at + 11);
	*lineage = (uint64_t)sqlite3_column_int64(st, at + 12);
	return 0;
}

/* The newest version of inode `local` visible from t's lineage: its
 * attributes and the lineage it is in. -ENOENT if there is none or it is
 * a whiteout. db locked. */
static int load_row(struct vfs *v, struct vtree *t, uint64_t local, struct vattr *a,
                    uint64_t *lineage)
{
	uint64_t mine = atomic_load(&t->lineage);
	/* a root lineage sees its own rows only: one seek of the primary key */
	sqlite3_stmt *st = lineage_has_ancestors(t->family, mine)
		? db_prep(v->db, "SELECT " INODE_ROW_COLUMNS " FROM inodes i" VISIBLE("i", "?3")
		                 "WHERE i.family=?1 AND i.ino=?2 ORDER BY i.lineage DESC LIMIT 1")
		: db_prep(v->db, "SELECT " INODE_ROW_COLUMNS " FROM inodes i WHERE i.family=?1 AND "
		                 "i.ino=?2 AND i.lineage=?3");
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)mine);
	int rc = sqlite3_step(st);
	int r = rc == SQLITE_ROW ? row_attrs(st, 0, a, lineage) : (rc == SQLITE_DONE ? -ENOENT : -EIO);
	db_finish(st);
	return r;
}

static struct vnode *vnode_new(uint64_t ino, struct vtree *t, const struct vattr *a)
{
	struct vnode *n = FAULT(FAULT_ALLOC) ? NULL : calloc(1, sizeof *n);
	if (!n)
		return NULL;
	n->ino = ino;
	n->tree = t;
	n->a = *a;
	pthread_rwlock_init(&n->lock, NULL);
	pthread_mutex_init(&n->alock, NULL);
	return n;
}

/* Waiters for a vnode's deferred reads: one pair for all inodes, as
 * waiting is rare (a change of a file that has a cold read in flight). */
static pthread_mutex_t reads_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t reads_drained = PTHREAD_COND_INITIALIZER;

void vnode_wrlock(struct vnode *n)
{
	ranked_wrlock(&n->lock, LOCK_VNODE);
	/* No new deferred read can begin now (they begin under the lock). */
	if (!atomic_load(&n->reads_out))
		return;
	pthread_mutex_lock(&reads_lock);
	while (atomic_load(&n->reads_out))
		pthread_cond_wait(&reads_drained, &reads_lock);
	pthread_mutex_unlock(&reads_lock);
}

void vnode_read_out_done(struct vnode *n)
{
	int was = atomic_fetch_sub(&n->reads_out, 1);
	assert(was > 0);
	if (was != 1)
		return;
	/* Through the mutex, so a waiter between its check and its wait
	 * cannot miss this. */
	pthread_mutex_lock(&reads_lock);
	pthread_cond_broadcast(&reads_drained);
	pthread_mutex_unlock(&reads_lock);
}

static void vnode_free(struct vfs *v, struct vnode *n)
{
	assert(atomic_load(&n->reads_out) == 0);
	if (n->obj)
		store_put(v->store, n->obj);
	pthread_rwlock_destroy(&n->lock);
	pthread_mutex_destroy(&n->alock);
	free(n);
}

/* The link count and times of a stale inode (see struct vnode) from its
 * row again. db locked. */
static int freshen(struct vfs *v, struct vnode *n)
{
	struct vattr a;
	uint64_t lineage;
	int r = load_row(v, n->tree, VFS_LOCAL_OF(n->ino), &a, &lineage);
	if (r < 0)
		return r == -ENOENT ? -EIO : r;
	ranked_lock(&n->alock, LOCK_LEAF);
	n->a.nlink = a.nlink;
	n->a.ctime = a.ctime;
	n->a.mtime = a.mtime;
	atomic_store(&n->stale, 0);
	ranked_unlock(&n->alock, LOCK_LEAF);
	return 0;
}

struct vnode *vnode_get_locked(struct vfs *v, uint64_t ino, int *err)
{
	return vnode_get_row(v, ino, NULL, 0, err);
}

struct vnode *vnode_get_row(struct vfs *v, uint64_t ino, sqlite3_stmt *row, int at, int *err)
{
	db_assert_locked(v->db);
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	struct vnode *n = itab_find(v, ino);
	if (n) {
		n->ref++;
		ranked_unlock(&v->itab_lock, LOCK_LEAF);
		int r = atomic_load(&n->stale) ? freshen(v, n) : 0;
		if (r < 0) {
			/* Not vnode_put: an eviction takes the db lock. The next
			 * put or forget evicts it if nobody else holds it. */
			ranked_lock(&v->itab_lock, LOCK_LEAF);
			n->ref--;
			ranked_unlock(&v->itab_lock, LOCK_LEAF);
			*err = r;
			return NULL;
		}
		return n;
	}
	ranked_unlock(&v->itab_lock, LOCK_LEAF);

	struct vtree *t = tree_of(v, ino);
	if (!t || t->dead) {
		*err = -ESTALE;
		return NULL;
	}
	struct vattr a;
	uint64_t lineage;
	int r = row ? row_attrs(row, at, &a, &lineage) : load_row(v, t, VFS_LOCAL_OF(ino), &a, &lineage);
	if (r < 0) {
		*err = r;
		return NULL;
	}
	n = vnode_new(ino, t, &a);
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	atomic_store(&n->row_lineage, lineage);
	/* Loading happens under the db lock, and eviction flushes and unhashes
	 * under it too, so nobody can have inserted this inode meanwhile. */
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	n->ref = 1;
	itab_insert(v, n);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	return n;
}

/* db locked, right after the caller inserted the row: the cached inode is
 * made from the attributes just written instead of reading them back. */
struct vnode *vnode_get_new(struct vfs *v, struct vtree *t, uint64_t local,
                            const struct vattr *a, int *err)
{
	db_assert_locked(v->db);
	uint64_t ino = VFS_INO(t->id, local);
	struct vnode *n = vnode_new(ino, t, a);
	if (!n) {
		*err = -ENOMEM;
		return NULL;
	}
	n->xattrs = XATTRS_NONE;
	n->inline_known = 1; /* no bytes yet */
	atomic_store(&n->row_lineage, atomic_load(&t->lineage));
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	n->ref = 1;
	itab_insert(v, n);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	return n;
}

struct vnode *vnode_get(struct vfs *v, uint64_t ino, int *err)
{
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	struct vnode *n = itab_find(v, ino);
	if (n && n->evicting)
		n = NULL; /* the db lock waits for its evictor to decide */
	if (n)
		n->ref++;
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	if (n && !atomic_load(&n->stale))
		return n;
	db_lock(v->db);
	int r = 0;
	if (n)
		r = freshen(v, n);
	else
		n = vnode_get_locked(v, ino, err);
	db_unlock(v->db);
	if (r < 0) {
		vnode_put(v, n);
		*err = r;
		return NULL;
	}
	return n;
}

void vnode_add_lookup(struct vfs *v, struct vnode *n)
{
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	n->nlookup++;
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
}

static int evictable(const struct vnode *n)
{
	return n->ref == 0 && n->nlookup == 0 && n->nopen == 0;
}

/* itab_lock held: whether the caller is the one thread to evict n. Two
 * threads may each see the last reference go (a put, a forget) before
 * either has the db lock; only the first evicts, or n is freed twice. */
static int claim_eviction(struct vnode *n)
{
	if (!evictable(n) || n->evicting)
		return 0;
	n->evicting = 1;
	return 1;
}

/* The metadata bytes an unlinked inode gives back, when memory knows them
 * without a query: none for one known to have no xattrs that is no symlink
 * (most deleted files; the kernel asked for security.capability before
 * their first write or chown, which settles it). */
static int64_t known_meta(struct vnode *n)
{
	if (atomic_load(&n->tree->meta_bytes) == 0) /* nor has any inode of its tree */
		return 0;
	if (atomic_load(&n->xattrs) == XATTRS_NONE && !S_ISLNK(n->a.mode))
		return inline_known_meta(n); /* and a small file's bytes, if known */
	return VNODE_META_UNKNOWN;
}

static int64_t inode_meta_bytes(struct vfs *v, uint64_t family, uint64_t L, uint64_t local);

/* db locked, n's eviction claimed and n unlinked: instead of a change of
 * its own, n's row is deleted by the flusher's next round together with
 * every other one forgotten since (vnodes_flush_dirty), one change for a
 * whole `rm -r`. Until then the dirty list holds n in the table, so
 * nobody reads its row as live; the tree has the inode and the blocks back at once, so that a volume full
 * of files, or of inodes, can take new ones right after an unlink.
 * 1 when n was queued, 0 when the caller deletes the row now. */
static int doom(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	/* Only in a volume without snapshots: with them, what the snapshots
	 * hold alone (df, describe vs, the metrics) is read from the rows,
	 * and a row left for the flusher would count its blocks as live. */
	struct vtree *t = n->tree;
	if (v->closing || n->doomed || lineage_has_ancestors(t->family, atomic_load(&t->lineage)))
		return 0;
	int64_t meta = known_meta(n);
	/* not known in memory (small files' inline bytes count in the
	 * tree's metadata bytes): one read of the rows says */
	if (meta == VNODE_META_UNKNOWN)
		meta = inode_meta_bytes(v, t->family, atomic_load(&t->lineage), VFS_LOCAL_OF(n->ino));
	if (meta < 0)
		return 0;
	n->doomed = DOOM_QUEUED;
	n->doom_meta = meta;
	tree_take_meta(n->tree, -meta);
	tree_give_inode(n->tree);
	tree_account(n->tree, -(int64_t)n->a.blocks);
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	assert(!n->on_dirty && n->ref == 0);
	n->evicting = 0;
	n->on_dirty = 1;
	n->ref++;
	n->dnext = v->dirty;
	v->dirty = n;
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	return 1;
}

/* Delete the row of each queued inode of the batch (see doom), inside
 * the caller's change. db locked. */
static int delete_doomed(struct vfs *v, struct vnode **batch, size_t count)
{
	int r = 0;
	for (size_t i = 0; i < count && r == 0; i++) {
		struct vnode *n = batch[i];
		struct vtree *t = n->tree;
		if (n->doomed != DOOM_QUEUED || t->dead)
			continue;
		/* the inode went back to the tree in doom() */
		r = vnode_row_delete(v, t->family, atomic_load(&t->lineage), VFS_LOCAL_OF(n->ino),
		                     NULL, n->doom_meta, lineage_parent_kept(v, t));
	}
	return r;
}

/* The queued rows of the batch are deleted: their inodes are only freed. */
static void doomed_deleted(struct vnode **batch, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (batch[i]->doomed == DOOM_QUEUED)
			batch[i]->doomed = DOOM_DELETED;
}

/* n's data object was made by a lost group (a spill of inline bytes, a
 * file's first object, a private layer): its row comes back under its
 * id, and n's row names it again, without the inline row the rollback
 * brought back, in one change. n's row the tree's own; db locked,
 * outside a change. */
static int revive_obj(struct vfs *v, struct vnode *n)
{
	int r = db_begin_essential(v->db);
	if (r < 0)
		return r;
	r = store_revive(v->store, n->obj);
	if (r == 1)
		r = xattr_row_remove(v, n, VFS_INLINE_NAME);
	if (r == 0)
		r = vnode_write_row_locked(v, n);
	r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
	if (r == 0)
		store_revived(n->obj);
	else
		vnode_set_dirty(n); /* the rolled-back change held its row */
	return r;
}

/* After a lost group, what memory has and the rows lost: the inline bytes
 * (inline_copy_restore) or the row of a data object the group made
 * (revive_obj), never both (an inline file has no object). n's lock held,
 * db locked, outside a change. */
static int write_back_lost(struct vfs *v, struct vnode *n)
{
	struct vtree *t = n->tree;
	int copy = inline_copy_lost(v, n);
	int obj = !copy && n->obj && !t->memory && store_row_lost(n->obj);
	if (!(copy || obj) || t->dead || t->readonly)
		return 0;
	int r = vnode_own_row(v, n);
	/* no row of its own: the file was made by the lost group too, and
	 * went with it (a copy serves the handles still open) */
	if (r < 0 || atomic_load(&n->row_lineage) != atomic_load(&t->lineage))
		return r;
	return copy ? inline_copy_restore(v, n) : revive_obj(v, n);
}

/* Last reference gone and the eviction claimed: write the attributes back,
 * delete the inode if it was unlinked (or queue it for deletion), then
 * unhash it — all under the db lock so a concurrent vnode_get_locked()
 * either finds it in the table or reads the final row. */
static void vnode_evict(struct vfs *v, struct vnode *n, int may_defer)
{
	int deleted = 0;
	db_lock(v->db);
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	assert(n->evicting);
	if (!evictable(n)) { /* somebody grabbed it meanwhile: their put evicts */
		n->evicting = 0;
		ranked_unlock(&v->itab_lock, LOCK_LEAF);
		db_unlock(v->db);
		return;
	}
	/* Not on the dirty list (that pins); from here on nobody takes a
	 * reference: vnode_get() sees n->evicting and waits for the db lock. */
	ranked_unlock(&v->itab_lock, LOCK_LEAF);

	struct vtree *t = n->tree;
	/* Attributes a failed change left that cannot be reread: the row
	 * stays as committed (a link count of 0 there would delete the file). */
	int unknown = !t->dead && atomic_load(&n->stale) && freshen(v, n) < 0;
	if (!t->dead && !t->readonly && !unknown) {
		if (n->a.nlink == 0 && n->doomed == DOOM_DELETED) {
			/* the flusher's change deleted the row */
		} else if (n->a.nlink == 0 && may_defer && doom(v, n)) {
			db_unlock(v->db);
			return;
		} else if (n->a.nlink == 0) {
			if (db_begin_essential(v->db) == 0) {
				vnode_row_delete(v, t->family, atomic_load(&t->lineage),
				                 VFS_LOCAL_OF(n->ino), t, known_meta(n),
				                 lineage_parent_kept(v, t));
				deleted = db_commit(v->db) == 0;
			}
			if (deleted)
				tree_account(t, -(int64_t)n->a.blocks);
		} else {
			if (n->dirty) {
				vnode_own_row(v, n);
				write_back_lost(v, n);
			}
			if ((n->obj || n->dirty) && db_begin_essential(v->db) == 0) {
				int r = n->obj ? store_flush(v->store, n->obj) : 0;
				if (r == 0 && n->dirty)
					r = vnode_write_row_locked(v, n);
				r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
			}
		}
	}
	inline_copy_drop(v, n);
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	itab_remove(v, n);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	db_unlock(v->db);
	vnode_free(v, n);
	(void)deleted; /* its data file goes at the next vfs_flush_all */
}

/* may_defer: an unlinked inode's row may wait for the flusher (doom);
 * the flusher's own puts delete it at once, or a round would leave it. */
static void put_ref(struct vfs *v, struct vnode *n, int may_defer)
{
	if (!n)
		return;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	assert(n->ref > 0);
	n->ref--;
	int ev = claim_eviction(n);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	if (ev)
		vnode_evict(v, n, may_defer);
}

void vnode_put(struct vfs *v, struct vnode *n)
{
	put_ref(v, n, 1);
}

void vfs_forget(struct vfs *v, uint64_t ino, uint64_t nlookup)
{
	ino = VFS_REAL_INO(ino);
	if (VFS_TREE_OF(ino) == 0)
		return;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	struct vnode *n = itab_find(v, ino);
	if (!n) {
		ranked_unlock(&v->itab_lock, LOCK_LEAF);
		return;
	}
	assert(n->nlookup >= nlookup); /* the kernel forgets only what it was given */
	n->nlookup -= nlookup;
	int ev = claim_eviction(n);
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	if (ev)
		vnode_evict(v, n, 1);
}

void vnode_set_dirty(struct vnode *n)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	n->dirty = 1;
	ranked_unlock(&n->alock, LOCK_LEAF);
}

void vnode_mark_dirty(struct vfs *v, struct vnode *n)
{
	vnode_set_dirty(n);
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	if (!n->on_dirty) {
		n->on_dirty = 1;
		n->ref++; /* the dirty list pins the inode until it is written */
		n->dnext = v->dirty;
		v->dirty = n;
	}
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
}

void vnode_attr(struct vnode *n, struct vattr *out)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	*out = n->a;
	ranked_unlock(&n->alock, LOCK_LEAF);
}

void vattr_to_stat(uint64_t ino, const struct vattr *a, struct stat *st)
{
	memset(st, 0, sizeof *st);
	st->st_ino = ino;
	st->st_mode = a->mode;
	st->st_nlink = a->nlink;
	st->st_uid = a->uid;
	st->st_gid = a->gid;
	st->st_rdev = a->rdev;
	st->st_size = S_ISDIR(a->mode) ? 4096 : (off_t)a->size;
	st->st_blocks = S_ISDIR(a->mode) ? 8 : (blkcnt_t)(a->blocks * (STORE_BLOCK / 512));
	/* Inline bytes (no object) count as the 512-byte units they fill:
	 * no blocks at all would tell tar --sparse and cp that the file is
	 * one hole. */
	if (S_ISREG(a->mode) && !a->obj && a->size <= VFS_INLINE_MAX)
		st->st_blocks = (blkcnt_t)((a->size + 511) / 512);
	st->st_blksize = PREFERRED_IO_SIZE;
	st->st_atim.tv_sec = a->atime / 1000000000;
	st->st_atim.tv_nsec = a->atime % 1000000000;
	st->st_mtim.tv_sec = a->mtime / 1000000000;
	st->st_mtim.tv_nsec = a->mtime % 1000000000;
	st->st_ctim.tv_sec = a->ctime / 1000000000;
	st->st_ctim.tv_nsec = a->ctime % 1000000000;
}

void vnode_stat(struct vnode *n, struct stat *st)
{
	struct vattr a;
	vnode_attr(n, &a);
	vattr_to_stat(n->ino, &a, st);
}

/* The newest version of inode `local` visible from t's lineage: its
 * lineage and data object (0: none). -ENOENT if there is none. db locked. */
static int row_version(struct vfs *v, struct vtree *t, uint64_t local, uint64_t *lineage,
                       uint64_t *obj)
{
	struct vattr a;
	int r = load_row(v, t, local, &a, lineage);
	*obj = r == 0 ? a.obj : 0;
	return r;
}

/* sql over inode `local` of `family`: ?3 the lineage of its visible
 * version, ?4 the tree's own. */
static int copy_up_exec(struct vfs *v, const char *sql, uint64_t family, uint64_t local,
                        uint64_t at, uint64_t mine)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)at);
	sqlite3_bind_int64(st, 4, (int64_t)mine);
	return db_step_done(v->db, st);
}

/* Copy the visible version of inode `local` into t's own lineage, unless
 * it is there already: the copy references the same data object, which
 * gets one more reference (so it is shared, and the next write layers a
 * private object over it). A version of t's kept parent lineage, which
 * only t reads (KEPT_PARENT), moves into t's lineage instead: nothing is
 * left behind, and its reference moves with it. 1 if there is no row at
 * all. db locked, inside a change. */
static int row_copy_up(struct vfs *v, struct vtree *t, uint64_t local)
{
	uint64_t at, obj, mine = atomic_load(&t->lineage);
	int r = row_version(v, t, local, &at, &obj);
	if (r == -ENOENT) /* a row a lost group made: nothing to write */
		return 1;
	if (r < 0 || at == mine)
		return r;
	if (lineage_parent_kept(v, t)) {
		r = copy_up_exec(v, "UPDATE inodes SET lineage=?4 WHERE family=?1 AND ino=?2 AND "
		                    "lineage=?3 AND ?3=" KEPT_PARENT("?4"), t->family, local, at, mine);
		if (r < 0 || sqlite3_changes(v->db->h) == 1)
			return r;
	}
	r = copy_up_exec(v, "INSERT INTO inodes(family, ino, lineage, mode, uid, gid, nlink, size, "
	                    "blocks, rdev, atime, mtime, ctime, btime, obj, target) SELECT family, ino, "
	                    "?4, mode, uid, gid, nlink, size, blocks, rdev, atime, mtime, ctime, btime, "
	                    "obj, target FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?3",
	                 t->family, local, at, mine);
	return r == 0 && obj ? store_ref(v->store, obj, 1) : r;
}

int vnode_own_row(struct vfs *v, struct vnode *n)
{
	struct vtree *t = n->tree;
	uint64_t mine = atomic_load(&t->lineage);
	if (t->readonly || t->dead || atomic_load(&n->row_lineage) == mine)
		return 0;
	assert(!v->db->in_txn);
	int r = db_begin_essential(v->db);
	if (r < 0)
		return r;
	r = row_copy_up(v, t, VFS_LOCAL_OF(n->ino));
	int none = r == 1;
	r = r >= 0 ? db_commit(v->db) : (db_rollback(v->db), r);
	if (r == 0 && !none)
		atomic_store(&n->row_lineage, mine);
	return r;
}

/* Write n's attributes into its row of the tree's own lineage, copying
 * the visible version up first if vnode_own_row did not (the row is
 * right either way; the copy counts as n's own only once committed). A
 * read-only tree's rows never change. */
int vnode_write_row_locked(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	struct vattr a;
	ranked_lock(&n->alock, LOCK_LEAF);
	a = n->a;
	n->dirty = 0;
	ranked_unlock(&n->alock, LOCK_LEAF);
	struct vtree *t = n->tree;
	if (t->readonly)
		return 0;
	uint64_t mine = atomic_load(&t->lineage);
	int r = atomic_load(&n->row_lineage) == mine ? 0 : row_copy_up(v, t, VFS_LOCAL_OF(n->ino));
	if (r == 1) /* no row to write */
		return 0;
	sqlite3_stmt *st = r < 0 ? NULL : db_prep(v->db, "UPDATE inodes SET mode=?, uid=?, gid=?, "
	                                  "nlink=?, size=?, blocks=?, rdev=?, atime=?, mtime=?, ctime=?, "
	                                  "obj=? WHERE family=? AND ino=? AND lineage=?");
	if (st) {
		sqlite3_bind_int(st, 1, a.mode);
		sqlite3_bind_int64(st, 2, a.uid);
		sqlite3_bind_int64(st, 3, a.gid);
		sqlite3_bind_int(st, 4, a.nlink);
		sqlite3_bind_int64(st, 5, (int64_t)a.size);
		sqlite3_bind_int64(st, 6, (int64_t)a.blocks);
		sqlite3_bind_int64(st, 7, (int64_t)a.rdev);
		sqlite3_bind_int64(st, 8, a.atime);
		sqlite3_bind_int64(st, 9, a.mtime);
		sqlite3_bind_int64(st, 10, a.ctime);
		if (a.obj)
			sqlite3_bind_int64(st, 11, (int64_t)a.obj);
		else
			sqlite3_bind_null(st, 11);
		sqlite3_bind_int64(st, 12, (int64_t)t->family);
		sqlite3_bind_int64(st, 13, (int64_t)VFS_LOCAL_OF(n->ino));
		sqlite3_bind_int64(st, 14, (int64_t)mine);
		r = db_step_done(v->db, st);
	}
	if (r < 0) {
		ranked_lock(&n->alock, LOCK_LEAF);
		n->dirty = 1;
		ranked_unlock(&n->alock, LOCK_LEAF);
	}
	return r;
}

/* A change of the link count (unlink, link, mkdir, rmdir) writes the
 * link count and times alone when the rest of the row is current (not
 * dirty, the tree's own version): the full write names obj, and SQLite
 * rewrites the inodes_obj entry of a row whose update names it, changed
 * or not. */
int vnode_write_nlink_locked(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	struct vtree *t = n->tree;
	uint64_t mine = atomic_load(&t->lineage);
	ranked_lock(&n->alock, LOCK_LEAF);
	int narrow = !n->dirty && !t->readonly && atomic_load(&n->row_lineage) == mine;
	struct vattr a = n->a;
	ranked_unlock(&n->alock, LOCK_LEAF);
	if (!narrow)
		return vnode_write_row_locked(v, n);
	sqlite3_stmt *st = db_prep(v->db, "UPDATE inodes SET nlink=?, mtime=?, ctime=? WHERE "
	                                  "family=? AND ino=? AND lineage=?");
	sqlite3_bind_int(st, 1, a.nlink);
	sqlite3_bind_int64(st, 2, a.mtime);
	sqlite3_bind_int64(st, 3, a.ctime);
	sqlite3_bind_int64(st, 4, (int64_t)t->family);
	sqlite3_bind_int64(st, 5, (int64_t)VFS_LOCAL_OF(n->ino));
	sqlite3_bind_int64(st, 6, (int64_t)mine);
	int r = db_step_done(v->db, st);
	if (r < 0) { /* as vnode_write_row_locked leaves it */
		ranked_lock(&n->alock, LOCK_LEAF);
		n->dirty = 1;
		ranked_unlock(&n->alock, LOCK_LEAF);
	}
	return r;
}

int vnode_insert_row(struct vfs *v, struct vtree *t, uint64_t local, const struct vattr *a,
                     const char *target)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "INSERT INTO inodes(family, lineage, ino, mode, uid, gid, "
	                                  "nlink, size, blocks, rdev, atime, mtime, ctime, btime, obj, "
	                                  "target) VALUES(?15,?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,"
	                                  "NULL,?14)");
	sqlite3_bind_int64(st, 15, (int64_t)t->family);
	sqlite3_bind_int64(st, 1, (int64_t)atomic_load(&t->lineage));
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int(st, 3, a->mode);
	sqlite3_bind_int64(st, 4, a->uid);
	sqlite3_bind_int64(st, 5, a->gid);
	sqlite3_bind_int(st, 6, a->nlink);
	sqlite3_bind_int64(st, 7, (int64_t)a->size);
	sqlite3_bind_int64(st, 8, 0);
	sqlite3_bind_int64(st, 9, (int64_t)a->rdev);
	sqlite3_bind_int64(st, 10, a->atime);
	sqlite3_bind_int64(st, 11, a->mtime);
	sqlite3_bind_int64(st, 12, a->ctime);
	sqlite3_bind_int64(st, 13, a->btime);
	if (target)
		sqlite3_bind_blob(st, 14, target, (int)strlen(target), SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 14);
	return db_step_done(v->db, st);
}

/* Metadata bytes of one inode as lineage L sees it: its symlink target
 * and its xattrs; -EIO when they cannot be read. db locked. */
static int64_t inode_meta_bytes(struct vfs *v, uint64_t family, uint64_t L, uint64_t local)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT coalesce(length(i.target), 0) + (SELECT "
	                                  "coalesce(sum(length(x.name) + length(x.value)), 0) FROM xattrs x"
	                                  VISIBLE("x", "?3") "WHERE x.family=?1 AND x.ino=?2 AND "
	                                  "x.whiteout=0 AND NOT " NEWER_VISIBLE("xattrs", "x",
	                                  "j.ino=x.ino AND j.name=x.name", "?3") ") FROM inodes i"
	                                  VISIBLE("i", "?3") "WHERE i.family=?1 AND i.ino=?2 "
	                                  "ORDER BY i.lineage DESC LIMIT 1");
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)L);
	int row = db_step_row(st);
	int64_t n = row > 0 ? sqlite3_column_int64(st, 0) : row;
	db_finish(st);
	return n;
}

/* Does an ancestor of lineage L hold a version of inode `local`? 1, 0, or
 * -EIO: a failed read is never "none", which would delete the version
 * instead of hiding the ancestor's. */
static int older_inode_version(struct vfs *v, uint64_t family, uint64_t L, uint64_t local)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "SELECT 1 FROM inodes i" VISIBLE("i", "?3")
	                                  "WHERE i.family=?1 AND i.ino=?2 AND i.lineage<?3 LIMIT 1");
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)L);
	int older = db_step_row(st);
	db_finish(st);
	return older;
}

/* The data object of L's own version of inode `local` into *obj (0:
 * none), read (OWN_OBJ) or as the row is deleted (OWN_ROW_DELETE): 0, or
 * -EIO (its reference would never be dropped). */
#define OWN_OBJ "SELECT obj FROM inodes WHERE family=? AND ino=? AND lineage=?"
#define OWN_ROW_DELETE "DELETE FROM inodes WHERE family=? AND ino=? AND lineage=? RETURNING obj"
/* the same for the version of L's kept parent lineage (KEPT_PARENT) */
#define KEPT_ROW_DELETE                                                                        \
	"DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=" KEPT_PARENT("?3") " RETURNING obj"
static int own_obj(struct vfs *v, const char *sql, uint64_t family, uint64_t L, uint64_t local,
                   uint64_t *obj)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)L);
	int row = db_step_row(st);
	*obj = row > 0 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	/* one row (the primary key); a deletion is complete by its first */
	if (row > 0 && sqlite3_step(st) != SQLITE_DONE)
		row = -EIO;
	db_finish(st);
	return row < 0 ? row : 0;
}

/* Inode `local` leaves the view of lineage L (a writable tree's): the
 * version of L's kept parent lineage goes with its xattrs there and its
 * data object reference. 0 or a negative errno. */
static int drop_kept_inode(struct vfs *v, uint64_t family, uint64_t L, uint64_t local)
{
	uint64_t obj;
	int r = own_obj(v, KEPT_ROW_DELETE, family, L, local, &obj);
	if (r == 0 && obj)
		r = store_ref(v->store, obj, -1);
	if (r < 0)
		return r;
	sqlite3_stmt *st = db_prep(v->db, "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND "
	                                  "lineage=" KEPT_PARENT("?3"));
	sqlite3_bind_int64(st, 1, (int64_t)family);
	sqlite3_bind_int64(st, 2, (int64_t)local);
	sqlite3_bind_int64(st, 3, (int64_t)L);
	return db_step_done(v->db, st);
}

int vnode_row_delete(struct vfs *v, uint64_t family, uint64_t L, uint64_t local, struct vtree *t,
                     int64_t meta, int kept)
{
	/* Without a tree to give them back to, the bytes are not needed. */
	if (t && meta == VNODE_META_UNKNOWN && (meta = inode_meta_bytes(v, family, L, local)) < 0)
		return (int)meta;
	uint64_t obj = 0;
	/* The kept parent's version and xattrs go first (nobody else reads
	 * them), so that they are no reason for a whiteout. */
	int older = 0;
	if (lineage_has_ancestors(family, L)) {
		older = kept ? drop_kept_inode(v, family, L, local) : 0;
		if (older == 0)
			older = older_inode_version(v, family, L, local);
	}
	if (older < 0)
		return older;
	/* Without an older version the row goes and names its object as it
	 * goes; a version in an ancestor belongs to a snapshot too: hide it. */
	int r = own_obj(v, older ? OWN_OBJ : OWN_ROW_DELETE, family, L, local, &obj);
	if (r < 0)
		return r;
	const char *const sqls[] = {
		"INSERT INTO inodes(family, ino, lineage, mode, uid, gid, nlink, atime, mtime, ctime, "
		"btime, whiteout) VALUES(?1, ?2, ?3, 0, 0, 0, 0, 0, 0, 0, 0, 1) "
		"ON CONFLICT(family, ino, lineage) DO UPDATE SET whiteout=1, obj=NULL, target=NULL, "
		"nlink=0, size=0, blocks=0",
		"DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND lineage=?3"};
	/* An inode known to hold no metadata bytes has no xattr rows in a
	 * lineage without ancestors, where no whiteout hides one of theirs. */
	size_t end = meta == 0 && !lineage_has_ancestors(family, L) ? 1 : 2;
	for (size_t i = older ? 0 : 1; i < end; i++) {
		sqlite3_stmt *st = db_prep(v->db, sqls[i]);
		sqlite3_bind_int64(st, 1, (int64_t)family);
		sqlite3_bind_int64(st, 2, (int64_t)local);
		sqlite3_bind_int64(st, 3, (int64_t)L);
		r = db_step_done(v->db, st);
		if (r < 0)
			return r;
	}
	if (t) {
		tree_give_inode(t);
		tree_take_meta(t, -meta);
	}
	return obj ? store_ref(v->store, obj, -1) : 0;
}

void vnode_set_obj(struct vnode *n, uint64_t id)
{
	ranked_lock(&n->alock, LOCK_LEAF);
	n->a.obj = id;
	ranked_unlock(&n->alock, LOCK_LEAF);
}

int vnode_repoint(void *holder, uint64_t id)
{
	struct vnode_holder *h = holder;
	db_assert_locked(h->v->db);
	vnode_set_obj(h->n, id);
	return vnode_write_row_locked(h->v, h->n);
}

/* Data objects are created lazily: an empty file has none, nor a small
 * one (inline data), so a million such files cost no object rows and no
 * host files. Creating the object of a file with inline bytes moves them
 * into it (inline_spill). */
int vnode_load_obj(struct vfs *v, struct vnode *n, int create)
{
	if (n->obj)
		return 0;
	uint64_t id = n->a.obj;
	if (!id) {
		if (!create)
			return 0;
		int r = inline_file(n) ? inline_spill(v, n) : 1;
		if (r <= 0)
			return r;
		struct vnode_holder h = {v, n};
		db_lock(v->db);
		r = vnode_own_row(v, n);
		if (r == 0)
			r = db_begin(v->db);
		if (r == 0)
			r = n->tree->memory ? store_create_memory(v->store, &id)
			                    : store_create(v->store, 0, &id);
		if (r == 0)
			r = vnode_repoint(&h, id);
		if (r == 0)
			r = db_commit(v->db);
		else
			db_rollback(v->db);
		db_unlock(v->db);
		if (r < 0) {
			vnode_set_obj(n, 0);
			return r;
		}
	}
	n->obj = store_get(v->store, id);
	return n->obj ? 0 : -(errno ? errno : EIO);
}

int vnode_flush_locked(struct vfs *v, struct vnode *n)
{
	db_assert_locked(v->db);
	if (n->tree->dead)
		return 0;
	int r = n->dirty ? vnode_own_row(v, n) : 0;
	if (r == 0 && n->dirty)
		r = write_back_lost(v, n);
	if (r == 0)
		r = db_begin_essential(v->db);
	if (r == 0 && n->obj)
		r = store_flush(v->store, n->obj);
	if (r == 0 && n->dirty)
		r = vnode_write_row_locked(v, n);
	if (r == 0)
		r = db_commit(v->db);
	else
		db_rollback(v->db);
	return r;
}

int vnode_flush(struct vfs *v, struct vnode *n)
{
	ranked_rdlock(&n->lock, LOCK_VNODE);
	db_lock(v->db);
	int r = vnode_flush_locked(v, n);
	db_unlock(v->db);
	ranked_rwunlock(&n->lock, LOCK_VNODE);
	return r;
}

/* Take the dirty inodes (optionally only of one tree) off the dirty list
 * into an array. Each keeps the pin the list held. The batch cannot be
 * chained through dnext: a writer may put an inode back on the list (and
 * rewrite dnext) while the batch is being written. */
static struct vnode **take_dirty(struct vfs *v, uint64_t only_tree, size_t *count)
{
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	size_t n = 0, cap = 64;
	struct vnode **batch = malloc(cap * sizeof *batch);
	struct vnode **link = &v->dirty;
	while (batch && *link) {
		struct vnode *x = *link;
		if (only_tree && x->tree->id != only_tree) {
			link = &x->dnext;
			continue;
		}
		if (n == cap) {
			struct vnode **bigger = realloc(batch, 2 * cap * sizeof *batch);
			if (!bigger)
				break;
			batch = bigger;
			cap *= 2;
		}
		*link = x->dnext;
		x->on_dirty = 0;
		batch[n++] = x;
	}
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	*count = n;
	return batch;
}

/* Group commit: every dirty inode (optionally only of one tree) in one
 * transaction. Each inode's contents lock is held while its map is written,
 * so no writer changes a map under store_flush. */
int vnodes_flush_dirty(struct vfs *v, uint64_t only_tree)
{
	size_t flushed;
	return vnodes_flush_dirty_counted(v, only_tree, &flushed);
}

int vnodes_flush_dirty_counted(struct vfs *v, uint64_t only_tree, size_t *flushed)
{
	size_t count;
	struct vnode **batch = take_dirty(v, only_tree, &count);
	*flushed = 0;
	if (!batch)
		return -ENOMEM;
	*flushed = count;
	int r = 0;
	for (size_t i = 0; i < count; i++)
		ranked_rdlock(&batch[i]->lock, LOCK_VNODE);
	db_lock(v->db);
	for (size_t i = 0; i < count && r == 0; i++)
		if (batch[i]->dirty && !batch[i]->tree->dead && !batch[i]->doomed) {
			r = vnode_own_row(v, batch[i]);
			if (r == 0)
				r = write_back_lost(v, batch[i]);
		}
	if (r == 0 && count && (r = db_begin_essential(v->db)) == 0) {
		r = delete_doomed(v, batch, count);
		for (size_t i = 0; i < count && r == 0; i++) {
			struct vnode *n = batch[i];
			if (n->tree->dead || n->doomed)
				continue;
			if (n->obj)
				r = store_flush(v->store, n->obj);
			if (r == 0 && n->dirty)
				r = vnode_write_row_locked(v, n);
		}
		r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
		if (r == 0)
			doomed_deleted(batch, count);
	}
	db_unlock(v->db);
	for (size_t i = 0; i < count; i++) {
		struct vnode *n = batch[i];
		ranked_rwunlock(&n->lock, LOCK_VNODE);
		if (r < 0 && !n->tree->dead)
			vnode_mark_dirty(v, n);
		put_ref(v, n, 0);
	}
	free(batch);
	return r;
}

void vfs_tree_drop_data(struct vfs *v, uint64_t tree_id)
{
	struct vnode **held = NULL;
	size_t count = 0, cap = 0;
	struct vtree *t = vfs_tree_get(v, tree_id);
	if (!t || !t->dead)
		return;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	for (struct vnode *x = t->vnodes; x; x = x->tnext) {
		/* an inode being evicted drops its data when freed */
		if (x->evicting)
			continue;
		if (count == cap) {
			size_t bigger = cap ? cap * 2 : 16;
			struct vnode **h = realloc(held, bigger * sizeof *h);
			if (!h)
				goto out;
			held = h;
			cap = bigger;
		}
		x->ref++;
		held[count++] = x;
	}
out:
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	for (size_t i = 0; i < count; i++) {
		struct vnode *x = held[i];
		vnode_wrlock(x);
		struct dobj *o = x->obj;
		x->obj = NULL;
		ranked_rwunlock(&x->lock, LOCK_VNODE);
		if (o)
			store_put(v->store, o);
		kview_changed(x);
		/* Its pages must not outlive it in the kernel either: an open
		 * descriptor or mapping rereads, and gets ESTALE. */
		vfs_invalidate_data(v, x->ino, 0, 0);
		if (atomic_load(&x->alias_opened))
			vfs_invalidate_data(v, x->ino | VFS_ALIAS_BIT, 0, 0);
		vnode_put(v, x);
	}
	free(held);
}

/* A deleted tree's inodes may still be known to the kernel; they stay in
 * memory (operations on them fail with ESTALE) until forgotten. */
void vnode_drop_tree(struct vfs *v, struct vtree *t)
{
	(void)v;
	atomic_store(&t->dead, 1);
}

/* Link count of inode n as its row says into *nlink, and the lineage of
 * that row; nlink 0 when the row is gone (it was created by a change that
 * is lost). -EIO when the read failed: a link count of 0 written back
 * would delete the file at the next start. db locked. */
static int row_nlink(struct vfs *v, struct vnode *n, uint32_t *nlink, uint64_t *lineage)
{
	struct vattr a;
	*lineage = 0;
	*nlink = 0;
	int r = load_row(v, n->tree, VFS_LOCAL_OF(n->ino), &a, lineage);
	if (r == 0)
		*nlink = a.nlink;
	return r == -ENOENT ? 0 : r;
}

/* After SQLite rolled back a group: link counts follow the names, which
 * are the rows' again; every other attribute is written again from memory,
 * where the data it describes is (with the inline bytes and the rows of
 * objects the group made: write_back_lost). db locked, so no inode is evicted
 * meanwhile; the dirty list pins each one anyway. */
void vnodes_group_lost(struct vfs *v)
{
	db_assert_locked(v->db);
	size_t count = 0, cap = 0;
	struct vnode **all = NULL;
	ranked_lock(&v->itab_lock, LOCK_LEAF);
	for (size_t i = 0; i < ITAB_BUCKETS; i++)
		for (struct vnode *n = v->itab[i]; n; n = n->hnext) {
			if (count == cap) {
				cap = cap ? cap * 2 : 256;
				struct vnode **bigger = realloc(all, cap * sizeof *all);
				if (!bigger)
					goto out;
				all = bigger;
			}
			if (!n->on_dirty) {
				n->on_dirty = 1;
				n->ref++;
				n->dnext = v->dirty;
				v->dirty = n;
			}
			all[count++] = n;
		}
out:
	ranked_unlock(&v->itab_lock, LOCK_LEAF);
	for (size_t i = 0; i < count; i++) {
		struct vnode *n = all[i];
		if (n->tree->dead)
			continue;
		uint64_t lineage;
		uint32_t nlink;
		int known = row_nlink(v, n, &nlink, &lineage) == 0;
		/* a copy-up the group made is gone with it; unknown: copy up
		 * again at the next write (a no-op if the row is n's own) */
		atomic_store(&n->row_lineage, known ? lineage : 0);
		/* the trees were recounted from the rows, a queued or deleted
		 * one's among them: its eviction decides again, from its row */
		n->doomed = 0;
		atomic_store(&n->inline_known, 0); /* the group may have written them */
		ranked_lock(&n->alock, LOCK_LEAF);
		if (known)
			n->a.nlink = nlink;
		n->dirty = 1;
		ranked_unlock(&n->alock, LOCK_LEAF);
	}
	free(all);
}
