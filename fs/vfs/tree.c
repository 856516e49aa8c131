/*
 * fs/vfs/tree.c — trees (one per volume or snapshot) as the daemon serves them:
 * their rows, capacity accounting in 4 KiB blocks, the write gate that a
 * freeze closes for a consistent snapshot, and statfs per volume.
 */
#include "fs/vfs/vfs_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <inttypes.h>
#include <sys/statvfs.h>

#include "fs/obs/counters.h"
#include "meta/log.h"
#include "meta/space.h"

struct vtree *tree_of(struct vfs *v, uint64_t ino)
{
	return vfs_tree_get(v, VFS_TREE_OF(ino));
}

struct vtree *vfs_tree_get(struct vfs *v, uint64_t id)
{
	if (id == 0)
		return NULL;
	pthread_mutex_lock(&v->trees_lock);
	struct vtree *t = v->trees[id % VFS_TREE_BUCKETS];
	while (t && t->id != id)
		t = t->next;
	pthread_mutex_unlock(&v->trees_lock);
	return t;
}

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }

static uint64_t meta_blocks(struct vtree *t)
{
	int64_t m = atomic_load(&t->meta_bytes);
	return m > 0 ? ((uint64_t)m + STORE_BLOCK - 1) / STORE_BLOCK : 0;
}

/* Blocks data may use: the capacity (rounded up: a volume holds at least
 * its capacity in whole blocks) less what metadata takes. */
static uint64_t capacity_blocks(struct vtree *t)
{
	uint64_t cap = (atomic_load(&t->capacity) + STORE_BLOCK - 1) / STORE_BLOCK;
	uint64_t meta = meta_blocks(t);
	return cap > meta ? cap - meta : 0;
}

/* Lock-free reservation: concurrent writers to different files of one
 * volume must never overshoot the capacity together. */
int tree_reserve(struct vtree *t, uint64_t blocks)
{
	if (blocks == 0)
		return 0;
	int64_t cur = atomic_load(&t->used_blocks);
	for (;;) {
		if ((uint64_t)cur + blocks > capacity_blocks(t))
			return -ENOSPC;
		if (atomic_compare_exchange_weak(&t->used_blocks, &cur, cur + (int64_t)blocks))
			return 0;
	}
}

uint64_t vfs_tree_inode_limit(struct vtree *t)
{
	uint64_t lim = atomic_load(&t->inode_limit);
	if (lim)
		return lim;
	lim = atomic_load(&t->capacity) / VFS_BYTES_PER_INODE;
	return lim ? lim : 1;
}

uint64_t vfs_tree_inodes(struct vtree *t) { return atomic_load(&t->inodes); }

int tree_take_inode(struct vtree *t)
{
	uint64_t cur = atomic_load(&t->inodes);
	do {
		if (cur >= vfs_tree_inode_limit(t))
			return -ENOSPC;
	} while (!atomic_compare_exchange_weak(&t->inodes, &cur, cur + 1));
	return 0;
}

void tree_give_inode(struct vtree *t)
{
	uint64_t cur = atomic_load(&t->inodes);
	while (cur && !atomic_compare_exchange_weak(&t->inodes, &cur, cur - 1))
		;
}

int tree_take_meta(struct vtree *t, int64_t delta)
{
	if (delta <= 0) {
		atomic_fetch_add(&t->meta_bytes, delta);
		return 0;
	}
	uint64_t cap = atomic_load(&t->capacity);
	int64_t cur = atomic_load(&t->meta_bytes);
	for (;;) {
		uint64_t data = (uint64_t)(atomic_load(&t->used_blocks) > 0 ? atomic_load(&t->used_blocks) : 0) *
		                STORE_BLOCK;
		uint64_t meta = cur > 0 ? (uint64_t)cur : 0;
		if (data + meta + (uint64_t)delta > cap)
			return -ENOSPC;
		if (atomic_compare_exchange_weak(&t->meta_bytes, &cur, cur + delta))
			return 0;
	}
}

void tree_unreserve(struct vtree *t, uint64_t blocks)
{
	atomic_fetch_sub(&t->used_blocks, (int64_t)blocks);
}

void tree_account(struct vtree *t, int64_t delta)
{
	atomic_fetch_add(&t->used_blocks, delta);
}

/* Data may not take the host's last few percent (1 MiB to 256 MiB): that
 * room is kept for meta.db, so a full disk fails writes with ENOSPC while
 * metadata commits still succeed. */
static uint64_t host_room_blocks(const struct statvfs *sv)
{
	uint64_t total = (uint64_t)sv->f_blocks * sv->f_frsize;
	uint64_t avail = (uint64_t)sv->f_bavail * sv->f_frsize;
	uint64_t reserve = total / 50;
	if (reserve < (1u << 20))
		reserve = 1u << 20;
	if (reserve > (256u << 20))
		reserve = 256u << 20;
	return avail > reserve ? (avail - reserve) / STORE_BLOCK : 0;
}

/* Data may not take the host's last few percent nor the metadata reserve
 * (meta/space.h): a full disk fails writes with ENOSPC while metadata
 * commits still succeed. */
int host_space_ok(struct vfs *v, uint64_t blocks)
{
	if (blocks == 0 || !v->db->space)
		return 0;
	return meta_space_data_ok(v->db->space, blocks * STORE_BLOCK);
}

uint64_t vfs_tree_data_bytes(struct vtree *t)
{
	int64_t b = atomic_load(&t->used_blocks);
	return b > 0 ? (uint64_t)b * STORE_BLOCK : 0;
}

uint64_t vfs_tree_used_bytes(struct vtree *t)
{
	int64_t m = atomic_load(&t->meta_bytes);
	return vfs_tree_data_bytes(t) + (m > 0 ? (uint64_t)m : 0);
}

uint64_t vfs_tree_capacity(struct vtree *t) { return atomic_load(&t->capacity); }

/* Blocks t may still take: what its capacity leaves after its data and
 * metadata, and for a tree on disk no more than the host gives data. */
static uint64_t tree_free_blocks(struct vtree *t, const struct statvfs *host)
{
	uint64_t cap = (atomic_load(&t->capacity) + STORE_BLOCK - 1) / STORE_BLOCK;
	uint64_t used = vfs_tree_data_bytes(t) / STORE_BLOCK + meta_blocks(t);
	uint64_t free_blocks = used < cap ? cap - used : 0;
	if (!t->memory)
		free_blocks = min_u64(free_blocks, host_room_blocks(host));
	return free_blocks;
}

uint64_t vfs_tree_available_bytes(struct vfs *v, struct vtree *t)
{
	struct statvfs host;
	if (!t->memory && statvfs(v->state_dir, &host) < 0)
		return 0;
	return tree_free_blocks(t, &host) * STORE_BLOCK;
}

/* Data blocks, inodes and metadata bytes of tree t, from the rows it
 * sees: a scan of its family's rows; -EIO when they could not be read (a
 * volume counted as empty would take writes past its capacity). */
static int tree_count_rows(struct vfs *v, struct vtree *t)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT coalesce(sum(i.blocks), 0), count(*), "
	                                  "coalesce(sum(length(i.target)), 0) FROM inodes i"
	                                  VISIBLE("i", "?2") "WHERE i.family=?1 AND i.whiteout=0 AND NOT "
	                                  NEWER_VISIBLE("inodes", "i", "j.ino=i.ino", "?2"));
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)atomic_load(&t->lineage));
	int row = db_step_row(st);
	if (row > 0) {
		atomic_store(&t->used_blocks, sqlite3_column_int64(st, 0));
		atomic_store(&t->inodes, (uint64_t)sqlite3_column_int64(st, 1));
		atomic_store(&t->meta_bytes, sqlite3_column_int64(st, 2));
	}
	db_finish(st);
	if (row <= 0) /* an aggregate always has its row */
		return -EIO;
	st = db_prep(v->db, "SELECT coalesce(sum(length(x.name) + length(x.value)), 0) FROM xattrs x"
	                    VISIBLE("x", "?2") "WHERE x.family=?1 AND x.whiteout=0 AND NOT "
	                    NEWER_VISIBLE("xattrs", "x", "j.ino=x.ino AND j.name=x.name", "?2"));
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)atomic_load(&t->lineage));
	row = db_step_row(st);
	if (row > 0)
		atomic_fetch_add(&t->meta_bytes, sqlite3_column_int64(st, 0));
	db_finish(st);
	return row > 0 ? 0 : -EIO;
}

static struct vtree *tree_new(uint64_t id, const char *kind, uint64_t capacity, uint64_t next_ino)
{
	struct vtree *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	t->id = id;
	snprintf(t->kind, sizeof t->kind, "%s", kind);
	atomic_store(&t->capacity, capacity);
	t->next_ino = t->ino_saved = next_ino;
	t->readonly = strcmp(kind, "snapshot") == 0;
	t->memory = strcmp(kind, VFS_KIND_MEMORY) == 0;
	pthread_rwlock_init(&t->gate, NULL);
	return t;
}

static void tree_link(struct vfs *v, struct vtree *t)
{
	pthread_mutex_lock(&v->trees_lock);
	t->next = v->trees[t->id % VFS_TREE_BUCKETS];
	v->trees[t->id % VFS_TREE_BUCKETS] = t;
	pthread_mutex_unlock(&v->trees_lock);
}

/* db locked. A tree branched from another (a snapshot, clone or restore)
 * starts with the usage its source had, recorded on its row; any other
 * tree (and every writable one after a restart) counts its rows, which
 * are written in the same transactions as the block maps they summarise. */
static int tree_attach(struct vfs *v, uint64_t id, const char *kind, uint64_t capacity,
                       int readonly, int recount)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "SELECT t.next_ino, coalesce(t.inodes, 0), t.lineage, "
	                                  "l.family, t.used_blocks, t.inode_count, t.meta_bytes "
	                                  "FROM trees t JOIN lineages l ON l.id=t.lineage WHERE t.id=?");
	sqlite3_bind_int64(st, 1, (int64_t)id);
	uint64_t next = 0, limit = 0, lineage = 0, family = 0;
	int64_t used = 0, inodes = 0, meta = 0;
	int stored = 0;
	int row = db_step_row(st);
	if (row > 0) {
		next = (uint64_t)sqlite3_column_int64(st, 0);
		limit = (uint64_t)sqlite3_column_int64(st, 1);
		lineage = (uint64_t)sqlite3_column_int64(st, 2);
		family = (uint64_t)sqlite3_column_int64(st, 3);
		stored = sqlite3_column_type(st, 4) != SQLITE_NULL;
		used = sqlite3_column_int64(st, 4);
		inodes = sqlite3_column_int64(st, 5);
		meta = sqlite3_column_int64(st, 6);
	}
	db_finish(st);
	if (!next)
		return row < 0 ? row : -ENOENT;
	struct vtree *t = tree_new(id, kind, capacity, next);
	if (!t)
		return -ENOMEM;
	t->readonly = t->readonly || readonly;
	atomic_store(&t->lineage, lineage);
	t->family = family;
	atomic_store(&t->inode_limit, limit);
	if (stored && !recount) {
		atomic_store(&t->used_blocks, used);
		atomic_store(&t->inodes, (uint64_t)inodes);
		atomic_store(&t->meta_bytes, meta);
	} else {
		int r = tree_count_rows(v, t);
		if (r < 0) {
			pthread_rwlock_destroy(&t->gate);
			free(t);
			return r;
		}
	}
	tree_link(v, t);
	return 0;
}

int vfs_tree_attach(struct vfs *v, uint64_t id, const char *kind, uint64_t capacity,
                    int readonly)
{
	return tree_attach(v, id, kind, capacity, readonly, 0);
}

/* The struct stays allocated (marked dead) until shutdown: inodes the
 * kernel still holds point at it. */
void vfs_tree_detach(struct vfs *v, uint64_t id)
{
	struct vtree *t = vfs_tree_get(v, id);
	if (t)
		vnode_drop_tree(v, t);
}

int tree_load_all(struct vfs *v)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "SELECT id, kind, capacity FROM trees");
	int r = 0, row;
	while (r == 0 && (row = db_step_row(st)) > 0) {
		/* a snapshot's usage never changes; a writable tree's has */
		const char *kind = (const char *)sqlite3_column_text(st, 1);
		r = tree_attach(v, (uint64_t)sqlite3_column_int64(st, 0), kind,
		                (uint64_t)sqlite3_column_int64(st, 2), v->readonly,
		                strcmp(kind, "snapshot") != 0);
	}
	db_finish(st);
	return r < 0 ? r : row; /* a failed step: volumes would be missing */
}

/* A memory tree's contents were in the memfds of the daemon that ran
 * before: after a restart (or a crash) the tree is there again, empty,
 * as a tmpfs is after a reboot. Its root keeps its owner and mode. A
 * memory tree is never branched: its lineage is a root holding every row.
 * db locked, before the trees are attached. */
static int empty_tree_rows(struct vfs *v, uint64_t lineage)
{
	static const char *const sql[] = {
		"DELETE FROM inodes WHERE lineage=? AND ino<>1", "DELETE FROM dentries WHERE lineage=?",
		"DELETE FROM xattrs WHERE lineage=?",
		"UPDATE inodes SET nlink=2, size=0, blocks=0, obj=NULL WHERE lineage=? AND ino=1",
	};
	sqlite3_stmt *st = db_prep(v->db, "SELECT obj FROM inodes WHERE lineage=? AND obj IS NOT NULL");
	sqlite3_bind_int64(st, 1, (int64_t)lineage);
	int r = 0, row;
	while (r == 0 && (row = db_step_row(st)) > 0)
		r = store_ref(v->store, (uint64_t)sqlite3_column_int64(st, 0), -1);
	db_finish(st);
	if (r == 0 && row < 0) /* the rows would go with objects still referenced */
		r = row;
	for (size_t i = 0; r == 0 && i < sizeof sql / sizeof sql[0]; i++) {
		st = db_prep(v->db, sql[i]);
		sqlite3_bind_int64(st, 1, (int64_t)lineage);
		r = db_step_done(v->db, st);
	}
	return r;
}

int tree_empty_memory_trees(struct vfs *v)
{
	db_assert_locked(v->db);
	uint64_t ids[256];
	size_t n = 0;
	sqlite3_stmt *st = db_prep(v->db, "SELECT t.lineage FROM trees t WHERE t.kind=? AND "
	                                  "(EXISTS (SELECT 1 FROM inodes i WHERE i.lineage=t.lineage "
	                                  "AND i.ino<>1) OR EXISTS (SELECT 1 FROM xattrs x WHERE "
	                                  "x.lineage=t.lineage))");
	sqlite3_bind_text(st, 1, VFS_KIND_MEMORY, -1, SQLITE_STATIC);
	int row = 1;
	while (n < sizeof ids / sizeof ids[0] && (row = db_step_row(st)) > 0)
		ids[n++] = (uint64_t)sqlite3_column_int64(st, 0);
	db_finish(st);
	if (row < 0) /* a tree left out would serve the last daemon's names */
		return row;
	if (!n)
		return 0;
	int r = db_begin(v->db);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = empty_tree_rows(v, ids[i]);
	r = r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
	/* More than a batch: go again (each pass empties what it found). */
	return r == 0 && n == sizeof ids / sizeof ids[0] ? tree_empty_memory_trees(v) : r;
}

void tree_free_all(struct vfs *v)
{
	for (size_t b = 0; b < VFS_TREE_BUCKETS; b++)
		while (v->trees[b]) {
			struct vtree *t = v->trees[b];
			v->trees[b] = t->next;
			pthread_rwlock_destroy(&t->gate);
			free(t);
		}
}

int vfs_tree_set_inode_limit(struct vfs *v, uint64_t id, uint64_t limit)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "UPDATE trees SET inodes=? WHERE id=?");
	if (limit)
		sqlite3_bind_int64(st, 1, (int64_t)limit);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, (int64_t)id);
	int r = db_step_done(v->db, st);
	struct vtree *t = r == 0 ? vfs_tree_get(v, id) : NULL;
	if (t)
		atomic_store(&t->inode_limit, limit);
	return r;
}

int vfs_tree_set_capacity(struct vfs *v, uint64_t id, uint64_t capacity)
{
	struct vtree *t = vfs_tree_get(v, id);
	if (!t)
		return -ENOENT;
	if (vfs_tree_used_bytes(t) > capacity)
		return -EBUSY;
	atomic_store(&t->capacity, capacity);
	return 0;
}

/* A trees row reading lineage `lineage`; *id gets its id. */
static int insert_tree_row(struct vfs *v, const char *kind, uint64_t capacity, uint64_t next_ino,
                           uint64_t origin, uint64_t lineage, uint64_t *id)
{
	sqlite3_stmt *st = db_prep(v->db, "INSERT INTO trees(kind, capacity, next_ino, origin, created, "
	                                  "lineage) VALUES(?, ?, ?, ?, ?, ?)");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)capacity);
	sqlite3_bind_int64(st, 3, (int64_t)next_ino);
	if (origin)
		sqlite3_bind_int64(st, 4, (int64_t)origin);
	else
		sqlite3_bind_null(st, 4);
	sqlite3_bind_int64(st, 5, vfs_now_ns() / 1000000000);
	sqlite3_bind_int64(st, 6, (int64_t)lineage);
	int r = db_step_done(v->db, st);
	if (r == 0)
		*id = (uint64_t)sqlite3_last_insert_rowid(v->db->h);
	return r;
}

int vfs_tree_create_rows(struct vfs *v, const char *kind, uint64_t capacity, uint64_t origin,
                         uint64_t *tree_id)
{
	db_assert_locked(v->db);
	int64_t now = vfs_now_ns();
	uint64_t lineage, family;
	int r = lineage_new_root(v, &lineage);
	if (r == 0)
		r = lineage_family(v, lineage, &family);
	if (r == 0)
		r = insert_tree_row(v, kind, capacity, 2, origin, lineage, tree_id);
	if (r < 0)
		return r;
	struct vattr root = {.mode = S_IFDIR | 0777, .nlink = 2, .atime = now, .mtime = now,
	                     .ctime = now, .btime = now};
	struct vtree tmp = {.id = *tree_id, .family = family};
	atomic_store(&tmp.lineage, lineage);
	return vnode_insert_row(v, &tmp, 1, &root, NULL);
}

/* O(1): the tree's row goes and its lineage is released; the reclaimer
 * (fs/vfs/lineage.c) deletes the rows no other tree sees and releases
 * their data objects, in the background. */
int vfs_tree_delete_rows(struct vfs *v, uint64_t id)
{
	db_assert_locked(v->db);
	sqlite3_stmt *st = db_prep(v->db, "DELETE FROM trees WHERE id=? RETURNING lineage");
	sqlite3_bind_int64(st, 1, (int64_t)id);
	int rc = sqlite3_step(st);
	uint64_t lineage = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	while (rc == SQLITE_ROW)
		rc = sqlite3_step(st);
	db_finish(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	return lineage ? lineage_release(v, lineage) : 0;
}

/* Writers wait for a closed gate, so only O(1) work is done behind it.
 * Before it closes: the kernel's dirty pages are written back (writeback
 * cache), the tree's dirty inodes are flushed (their group may commit then),
 * the quiet section starts (meta/db.h: no group commit however large the
 * group, no checkpoint, no reclaim step under the db lock until the thaw),
 * and whoever holds the db lock now (a reclaim step, a checkpoint's copy)
 * is waited out. Behind it: the inodes dirtied
 * since, at most what the writers in flight then changed, and the
 * caller's rows of the new tree, committed to the open group; the commit
 * that makes them durable comes after the thaw, at the control request's
 * flush or an fsync. A kill -9 before it loses the whole snapshot and the
 * writes after it that nobody acknowledged, never part of it. */
int vfs_tree_freeze(struct vfs *v, uint64_t id)
{
	struct vtree *t = vfs_tree_get(v, id);
	if (!t)
		return -ENOENT;
	/* With the kernel's writeback cache a write(2) that returned may still
	 * be a dirty page: the snapshot must hold it, so the kernel writes it
	 * back first, while the gate is open for its WRITEs. */
	if (v->notify.writeback)
		v->notify.writeback(v->notify.arg, id);
	int r = vnodes_flush_dirty(v, id);
	db_quiet_begin(v->db);
	db_lock(v->db);
	db_unlock(v->db);
	if (r == 0) {
		ranked_wrlock(&t->gate, LOCK_TREE_GATE);
		t->freeze.closed_ns = counters_now_ns();
		t->freeze.cpu_ns = counters_thread_cpu_ns();
		t->freeze.commits = db_thread_commits();
		t->freeze.flushes = counters_thread_host_flushes();
		r = vnodes_flush_dirty_counted(v, id, &t->freeze.inodes);
		if (r < 0)
			ranked_rwunlock(&t->gate, LOCK_TREE_GATE);
	}
	if (r < 0)
		db_quiet_end(v->db);
	return r;
}

void vfs_tree_thaw(struct vfs *v, uint64_t id)
{
	struct vtree *t = vfs_tree_get(v, id);
	if (t) {
		counters_freeze_done(counters_now_ns() - t->freeze.closed_ns,
		                     counters_thread_cpu_ns() - t->freeze.cpu_ns, t->freeze.inodes,
		                     db_thread_commits() - t->freeze.commits,
		                     counters_thread_host_flushes() - t->freeze.flushes);
		ranked_rwunlock(&t->gate, LOCK_TREE_GATE);
	}
	db_quiet_end(v->db);
	/* after the end of quiet: a reclaimer that saw it still set has
	 * said so by now (reclaim_step) */
	if (atomic_exchange(&v->reclaim_held_off, 0))
		vfs_reclaim_kick(v);
}

/* A volume reports its own size and what it holds; free space is also
 * bounded by the host disk, so df never promises room the state directory
 * does not have. The shortfall is shown as reserved (f_bfree > f_bavail,
 * as ext4 shows its root reserve), never as used: df's Size is the
 * capacity, Used what the volume holds, Avail what a write can still
 * take, and Use% = Used / (Used + Avail). */
int vfs_statfs(struct vfs *v, uint64_t ino, struct statvfs *sv)
{
	int alias = VFS_IS_ALIAS(ino);
	ino = VFS_REAL_INO(ino);
	struct statvfs host;
	if (statvfs(v->state_dir, &host) < 0)
		return -errno;
	uint64_t host_free = (uint64_t)host.f_bavail * host.f_frsize / STORE_BLOCK;
	memset(sv, 0, sizeof *sv);
	sv->f_bsize = STORE_BLOCK;
	sv->f_frsize = STORE_BLOCK;
	sv->f_namemax = 255;
	struct vtree *t = tree_of(v, ino);
	if (!t) {
		sv->f_blocks = (uint64_t)host.f_blocks * host.f_frsize / STORE_BLOCK;
		sv->f_bfree = sv->f_bavail = host_free;
		sv->f_files = host.f_files;
		sv->f_ffree = sv->f_favail = host.f_ffree;
		return 0;
	}
	uint64_t cap = (atomic_load(&t->capacity) + STORE_BLOCK - 1) / STORE_BLOCK;
	uint64_t used = min_u64(vfs_tree_data_bytes(t) / STORE_BLOCK + meta_blocks(t), cap);
	sv->f_blocks = cap;
	sv->f_bfree = cap - used;
	sv->f_bavail = tree_free_blocks(t, &host);
	uint64_t limit = vfs_tree_inode_limit(t), inodes = vfs_tree_inodes(t);
	sv->f_files = limit;
	sv->f_ffree = sv->f_favail = inodes < limit ? limit - inodes : 0;
	if (t->readonly || alias)
		sv->f_flag |= ST_RDONLY;
	return 0;
}

/* Move a live tree to a fresh child of the lineage it has written so
 * far, which is frozen from now on (the lineage a snapshot or a clone
 * reads). The struct changes with the row: db locked, inside the
 * caller's change; vfs_trees_resync puts it back if that rolls back. */
static int tree_move_on(struct vfs *v, struct vtree *t, uint64_t *frozen)
{
	uint64_t old = atomic_load(&t->lineage), next;
	int r = lineage_new_child(v, old, &next);
	if (r < 0)
		return r;
	sqlite3_stmt *st = db_prep(v->db, "UPDATE trees SET lineage=? WHERE id=?");
	sqlite3_bind_int64(st, 1, (int64_t)next);
	sqlite3_bind_int64(st, 2, (int64_t)t->id);
	r = db_step_done(v->db, st);
	if (r == 0) {
		atomic_store(&t->lineage, next);
		*frozen = old;
	}
	return r;
}

/* db locked, inside the caller's transaction, with the source frozen (or
 * read-only). A snapshot, clone or restore: a new tree that reads the
 * rows of src as they are now, sharing them and their data objects until
 * either side changes one. A snapshot reads src's present lineage, which
 * src stops writing (it moves to a new child); a writable copy gets a
 * child lineage of its own. O(depth of the lineage) whatever the files. */
int vfs_tree_copy_rows(struct vfs *v, uint64_t src, const char *kind, uint64_t capacity,
                       uint64_t *tree_id)
{
	db_assert_locked(v->db);
	struct vtree *s = vfs_tree_get(v, src);
	if (!s || s->dead)
		return -ENOENT;
	uint64_t base = atomic_load(&s->lineage), lineage;
	int r = s->readonly ? 0 : tree_move_on(v, s, &base);
	int snapshot = strcmp(kind, "snapshot") == 0;
	if (r == 0 && !s->readonly && !snapshot)
		r = lineage_release(v, base); /* two writable children share it */
	if (r == 0)
		r = snapshot ? (lineage = base, 0) : lineage_new_child(v, base, &lineage);
	if (r == 0)
		r = insert_tree_row(v, kind, capacity, s->next_ino, src, lineage, tree_id);
	if (r < 0)
		return r;
	/* the source's usage is the copy's: nothing to count */
	sqlite3_stmt *st = db_prep(v->db, "UPDATE trees SET used_blocks=?, inode_count=?, meta_bytes=? "
	                                  "WHERE id=?");
	sqlite3_bind_int64(st, 1, atomic_load(&s->used_blocks));
	sqlite3_bind_int64(st, 2, (int64_t)atomic_load(&s->inodes));
	sqlite3_bind_int64(st, 3, atomic_load(&s->meta_bytes));
	sqlite3_bind_int64(st, 4, (int64_t)*tree_id);
	return db_step_done(v->db, st);
}

static int each_obj(sqlite3_stmt *st, int (*fn)(void *arg, uint64_t obj), void *arg)
{
	int rc, stop = 0;
	while (!stop && (rc = sqlite3_step(st)) == SQLITE_ROW)
		stop = fn(arg, (uint64_t)sqlite3_column_int64(st, 0));
	db_finish(st);
	return stop || rc == SQLITE_DONE ? 0 : -EIO;
}

long vfs_tree_objs_page(struct vfs *v, uint64_t tree_id, uint64_t *after_ino, uint64_t *objs,
                        size_t max)
{
	db_assert_locked(v->db);
	assert(max > 0);
	struct vtree *t = vfs_tree_get(v, tree_id);
	if (!t)
		return -ENOENT;
	/* ino order is the primary key's: each page resumes with one seek */
	sqlite3_stmt *st = db_prep(v->db, "SELECT i.ino, i.obj FROM inodes i" VISIBLE("i", "?2")
	                                  "WHERE i.family=?1 AND i.ino>?3 AND i.obj IS NOT NULL AND NOT "
	                                  NEWER_VISIBLE("inodes", "i", "j.ino=i.ino", "?2")
	                                  " ORDER BY i.ino LIMIT ?4");
	sqlite3_bind_int64(st, 1, (int64_t)t->family);
	sqlite3_bind_int64(st, 2, (int64_t)atomic_load(&t->lineage));
	sqlite3_bind_int64(st, 3, (int64_t)*after_ino);
	sqlite3_bind_int64(st, 4, (int64_t)max);
	long n = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		assert((size_t)n < max);
		*after_ino = (uint64_t)sqlite3_column_int64(st, 0);
		objs[n++] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	db_finish(st);
	return rc == SQLITE_DONE ? n : -EIO;
}

/* The versions of lineage's kept parent (released, lineage its only
 * child: fs/vfs/lineage.c) that lineage sees and its one child (if any)
 * replaced: only lineage reads them. By the child's rows, not the kept
 * lineage's, which may hold the whole volume. db locked. */
static int each_kept_obj(struct vfs *v, uint64_t lineage, uint64_t child,
                         int (*fn)(void *arg, uint64_t obj), void *arg)
{
#define UNSHADOWED "NOT EXISTS (SELECT 1 FROM inodes s WHERE s.family=k.family AND s.ino=k.ino " \
	"AND s.lineage=?1)"
	sqlite3_stmt *st = db_prep(v->db, child
		? "SELECT k.obj FROM inodes c JOIN inodes k ON k.family=c.family AND k.ino=c.ino AND "
		  "k.lineage=" KEPT_PARENT("?1") " WHERE c.lineage=?2 AND k.obj IS NOT NULL AND " UNSHADOWED
		: "SELECT k.obj FROM inodes k WHERE k.lineage=" KEPT_PARENT("?1") " AND k.obj IS NOT NULL "
		  "AND ?2=0 AND " UNSHADOWED);
#undef UNSHADOWED
	sqlite3_bind_int64(st, 1, (int64_t)lineage);
	sqlite3_bind_int64(st, 2, (int64_t)child);
	return each_obj(st, fn, arg);
}

int vfs_tree_each_own_obj(struct vfs *v, uint64_t tree_id, int (*fn)(void *arg, uint64_t obj),
                          void *arg)
{
	struct vtree *t = vfs_tree_get(v, tree_id);
	if (!t)
		return -ENOENT;
	uint64_t lineage = atomic_load(&t->lineage);
	/* Its rows are dropped only where no other tree reads them: a
	 * lineage with no child, or the versions its one child replaced. */
	sqlite3_stmt *st = db_prep(v->db, "SELECT count(*), coalesce(max(id), 0), (SELECT count(*) FROM "
	                                  "trees WHERE lineage=?1) FROM lineages WHERE parent=?1");
	sqlite3_bind_int64(st, 1, (int64_t)lineage);
	int64_t children = 0, readers = 0;
	uint64_t child = 0;
	int row = db_step_row(st);
	if (row > 0) {
		children = sqlite3_column_int64(st, 0);
		child = (uint64_t)sqlite3_column_int64(st, 1);
		readers = sqlite3_column_int64(st, 2);
	}
	db_finish(st);
	if (row < 0) /* not "no other readers": their objects would count as its own */
		return row;
	if (children > 1 || readers > 1)
		return 0;
	st = db_prep(v->db, "SELECT i.obj FROM inodes i WHERE i.lineage=?1 AND i.obj IS NOT NULL AND "
	                    "(?2=0 OR EXISTS (SELECT 1 FROM inodes c WHERE c.family=i.family AND "
	                    "c.ino=i.ino AND c.lineage=?2))");
	sqlite3_bind_int64(st, 1, (int64_t)lineage);
	sqlite3_bind_int64(st, 2, (int64_t)child);
	int r = each_obj(st, fn, arg);
	return r < 0 ? r : each_kept_obj(v, lineage, child, fn, arg);
}

/* Tries at reading a tree's lineage back before giving up on it. */
#define RESYNC_TRIES 3

int tree_takes_changes(struct vfs *v, struct vtree *t)
{
	if (v->readonly || t->readonly)
		return -EROFS;
	if (atomic_load(&t->dead))
		return -ESTALE;
	return atomic_load(&t->lineage_lost) ? -EIO : 0;
}

/* t's lineage as meta.db has it, read again after a failed step: a tree
 * left at a lineage the rollback took away would write rows no lineage
 * holds, so until it is read back the tree takes no change. 0, or -EIO
 * when it could not be read. db locked. */
static int resync_tree(sqlite3_stmt *st, struct vtree *t)
{
	int row = -EIO;
	for (int i = 0; i < RESYNC_TRIES && row < 0; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)t->id);
		row = db_step_row(st);
	}
	if (row > 0)
		atomic_store(&t->lineage, (uint64_t)sqlite3_column_int64(st, 0));
	sqlite3_reset(st);
	t->ino_saved = 0; /* the row's next_ino may be older: write it again */
	int was_lost = atomic_exchange(&t->lineage_lost, row < 0);
	if (row < 0 && !was_lost)
		vlog_error("meta.db", "cannot read back the lineage of tree %" PRIu64 " after a "
		           "rolled-back change: it refuses changes (EIO) until it can", t->id);
	else if (row >= 0 && was_lost)
		vlog_info("meta.db", "read back the lineage of tree %" PRIu64 ": it takes changes again",
		          t->id);
	return row < 0 ? -EIO : 0;
}

void vfs_trees_resync(struct vfs *v)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT lineage FROM trees WHERE id=?");
	int lost = 0;
	pthread_mutex_lock(&v->trees_lock);
	for (size_t b = 0; b < VFS_TREE_BUCKETS; b++)
		for (struct vtree *t = v->trees[b]; t; t = t->next)
			lost |= resync_tree(st, t) < 0;
	pthread_mutex_unlock(&v->trees_lock);
	db_finish(st);
	atomic_store(&v->lineages_lost, lost);
}

uint64_t vfs_host_bytes(struct vfs *v)
{
	struct statvfs host;
	return statvfs(v->state_dir, &host) == 0 ? (uint64_t)host.f_blocks * host.f_frsize : 0;
}
