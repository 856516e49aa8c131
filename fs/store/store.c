/*
 * fs/store/store.c — owns the life of data objects (fs/store/store.h): their dataobjs
 * rows and reference counts (store_create, store_ref, store_reload_refs,
 * store_revive after a lost group),
 * loading an object with its parent chain into the in-memory cache (pins,
 * LRU), flushing its map back to objmap, copy-on-write (store_make_private:
 * when a shared object gets a private layer), the naming and opening of host files, and opening and closing
 * the store itself.
 *
 * The store is split by what each part works on. This file is the only one
 * that creates or deletes object rows, cache entries and struct dobj
 * lifetimes. fs/store/io.c is the data path of one loaded object: it reads
 * and changes the in-memory map and the host file and never touches the db.
 * fs/store/trim.c works across objects after their references change:
 * unreachable blocks, reaping host files and ranges, the orphan sweep and
 * the consistency check. Shared structures and the lock order are in
 * fs/store/store_int.h.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#include "meta/fault.h"
#include "meta/log.h"

/* Unpinned objects kept in memory so that reopening a file does not reload
 * its map from the db. */
#define LRU_MAX 64

/* ------------------------------------------------------------------ */
/* Objects and host files                                             */

static int obj_dirty(struct dobj *o)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	int d = __atomic_load_n(&o->map.dirty, __ATOMIC_ACQUIRE) || o->trunc_dirty ||
	        o->map_cut != BMAP_NONE || o->gen_dirty;
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return d;
}

void store_path(struct store *st, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%02x/%" PRIu64, st->dir, (unsigned)(id % 256), id);
}

int open_host(struct store *st, uint64_t id, int create)
{
	int mfd = mem_open(st, id);
	if (mfd != -ENOENT)
		return mfd;
	char path[4096];
	store_path(st, id, path, sizeof path);
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
	int fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT && create) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%02x", st->dir, (unsigned)(id % 256));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(path, flags, 0600);
	}
	if (fd < 0 && (errno == EROFS || errno == EACCES) && !create)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int open_existing(void *arg)
{
	struct dobj *o = arg;
	return open_host(o->st, o->id, 0);
}

static int reopen_host(void *arg)
{
	struct dobj *o = arg;
	int fd = open_existing(o);
	if (fd == -ENOENT) {
		/* It existed when o was loaded or written; something removed it
		 * behind the daemon's back. */
		vlog_error("store", "host file of object %llu is gone", (unsigned long long)o->id);
		return -EIO;
	}
	return fd;
}

/* Held o has its new host file fd. */
static void host_install(struct dobj *o, int fd)
{
	__atomic_store_n(&o->host, 1, __ATOMIC_RELAXED);
	fdc_install(&o->st->fds, &o->hf, fd);
}

/* A new object's host file: a spare one renamed into place when there is
 * one (no inode to allocate), else a new one. No file is at the path: it
 * would have been found when o was loaded or made (insert_row). */
static int create_host(void *arg)
{
	struct dobj *o = arg;
	assert(!__atomic_load_n(&o->host, __ATOMIC_RELAXED));
	int mfd = mem_open(o->st, o->id);
	if (mfd != -ENOENT)
		return mfd;
	char path[4096];
	store_path(o->st, o->id, path, sizeof path);
	if (spare_take(o->st, path) == 0) {
		int fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0)
			return fd;
	}
	return open_host(o->st, o->id, 1);
}

int host_create(struct dobj *o)
{
	if (o->fd >= 0)
		return 0;
	int fd = fdc_open(&o->st->fds, create_host, o);
	if (fd < 0)
		return fd;
	host_install(o, fd);
	return 0;
}

/* The first hold of an object loaded without opening its host file:
 * whether it has one is found out here, by opening it. */
static int hold_first(struct dobj *o)
{
	int r = fdc_hold(&o->st->fds, &o->hf, open_existing, o);
	if (r != -ENOENT) {
		if (r == 0)
			__atomic_store_n(&o->host, 1, __ATOMIC_RELAXED);
		return r;
	}
	__atomic_store_n(&o->host, 0, __ATOMIC_RELAXED);
	return fdc_hold(&o->st->fds, &o->hf, NULL, o);
}

int host_hold(struct dobj *o)
{
	int exists = __atomic_load_n(&o->host, __ATOMIC_RELAXED);
	if (exists == HOST_UNKNOWN)
		return hold_first(o);
	return fdc_hold(&o->st->fds, &o->hf, exists ? reopen_host : NULL, o);
}

void host_release(struct dobj *o)
{
	fdc_release(&o->st->fds, &o->hf);
}

/* ------------------------------------------------------------------ */
/* The db side: rows, flushing, loading                               */

/* Work done outside the caller's change (see db_begin in meta/db.h) is a
 * change of its own, so that it is atomic; inside one it just joins it.
 * Writing back a map is essential: its data was already accepted. */
static int txn_open(struct db *db, int *mine, int essential)
{
	*mine = !db->in_txn;
	if (!*mine)
		return 0;
	return essential ? db_begin_essential(db) : db_begin(db);
}

static int txn_close(struct db *db, int mine, int r)
{
	if (!mine)
		return r;
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db);
}

int row_exists(struct db *db, uint64_t id)
{
	db_assert_locked(db);
	sqlite3_stmt *s = db_prep(db, "SELECT 1 FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int rc = sqlite3_step(s);
	db_finish(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

static int step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

static int flush_trunc(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "UPDATE dataobjs SET trunc_blk = ? WHERE id = ?");
	if (o->trunc_blk == NO_TRUNC)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_int64(s, 1, (int64_t)o->trunc_blk);
	sqlite3_bind_int64(s, 2, (int64_t)o->id);
	return db_step_done(db, s);
}

static int flush_gen(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "UPDATE dataobjs SET gen = ? WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->gen);
	sqlite3_bind_int64(s, 2, (int64_t)o->id);
	return db_step_done(db, s);
}

static int flush_cut(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "DELETE FROM objmap WHERE obj = ? AND leaf >= ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	sqlite3_bind_int64(s, 2, (int64_t)o->map_cut);
	return db_step_done(db, s);
}

/* Rows for dirty leaves; an emptied leaf loses its row. */
static int flush_leaves(struct db *db, struct dobj *o)
{
	if (!__atomic_exchange_n(&o->map.dirty, 0, __ATOMIC_ACQ_REL))
		return 0;
	sqlite3_stmt *up = db_prep(db, "INSERT OR REPLACE INTO objmap(obj, leaf, has, data) "
	                               "VALUES(?, ?, ?, ?)");
	sqlite3_stmt *del = db_prep(db, "DELETE FROM objmap WHERE obj = ? AND leaf = ?");
	int r = 0;
	for (uint64_t li = bmap_next_leaf(&o->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&o->map, li + 1)) {
		struct bmap_leaf *l = bmap_leaf(&o->map, li);
		if (!bmap_leaf_take_dirty(l))
			continue;
		uint8_t has[BMAP_LEAF_BYTES], data[BMAP_LEAF_BYTES];
		bmap_leaf_save(l, BMAP_HAS, has);
		bmap_leaf_save(l, BMAP_DATA, data);
		static const uint8_t none[BMAP_LEAF_BYTES];
		int empty = !memcmp(has, none, sizeof has) && !memcmp(data, none, sizeof data);
		sqlite3_stmt *s = empty ? del : up;
		sqlite3_bind_int64(s, 1, (int64_t)o->id);
		sqlite3_bind_int64(s, 2, (int64_t)li);
		if (!empty) {
			sqlite3_bind_blob(s, 3, has, sizeof has, SQLITE_TRANSIENT);
			sqlite3_bind_blob(s, 4, data, sizeof data, SQLITE_TRANSIENT);
		}
		if ((r = step_reset(s)) < 0) {
			bmap_leaf_touch(&o->map, l); /* retry next time */
			break;
		}
	}
	db_finish(up);
	db_finish(del);
	if (r < 0)
		__atomic_store_n(&o->map.dirty, 1, __ATOMIC_RELEASE);
	return r;
}

static void forget_changes(struct dobj *o)
{
	__atomic_store_n(&o->map.dirty, 0, __ATOMIC_RELEASE);
	o->trunc_dirty = 0;
	o->gen_dirty = 0;
	o->map_cut = BMAP_NONE;
}

/* o's map rows are about to be written by the open change: if it rolls
 * back, the dirty state flush_locked clears must come back (change_end).
 * db locked. */
static void note_unsettled(struct dobj *o)
{
	struct store *st = o->st;
	if (__atomic_exchange_n(&o->unsettled, 1, __ATOMIC_ACQ_REL))
		return;
	if (st->nunsettled == st->capunsettled) {
		size_t cap = st->capunsettled ? st->capunsettled * 2 : 64;
		uint64_t *bigger = realloc(st->unsettled, cap * sizeof *bigger);
		if (!bigger) {
			st->unsettled_lost = 1;
			return;
		}
		st->unsettled = bigger;
		st->capunsettled = cap;
	}
	st->unsettled[st->nunsettled++] = o->id;
}

/* Every leaf, the truncation point and the map's extent are written again
 * at the next flush: the rows a rolled-back change or lost group held are
 * gone, and the map in memory is what the object holds. o's maplock held. */
static void redirty(struct dobj *o);

/* The change that flushed o ended. Rolled back, its rows are the ones
 * before the change again, and o's map is written whole at the next flush,
 * as the union of the two: the blocks written (in memory only now) and
 * the blocks the change had trimmed or punched (back in the rows, and
 * still on the host, which is punched only after a commit). db_copy: o's
 * rows as they are now, or NULL. o's maplock held. */
static void settle(struct dobj *o, int committed, const struct dobj *db_copy)
{
	if (!committed) {
		if (db_copy)
			resync_map(o, db_copy);
		redirty(o);
	}
	__atomic_store_n(&o->unsettled, 0, __ATOMIC_RELEASE);
}

static void settle_id(struct store *st, uint64_t id, int committed)
{
	struct dobj *copy = committed ? NULL : obj_new(st, id);
	if (copy && read_row(st->db, copy) < 0) { /* its creation was rolled back too */
		obj_free(copy);
		copy = NULL;
	}
	ranked_lock(&st->lock, LOCK_STORE);
	struct dobj *o = cache_find(st, id);
	if (o) {
		ranked_lock(&o->maplock, LOCK_STORE_MAP);
		settle(o, committed, copy);
		ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	}
	ranked_unlock(&st->lock, LOCK_STORE);
	if (copy)
		obj_free(copy);
}

/* The change that flushed the listed objects ended (db_on_change_end).
 * db locked. */
static void change_end(void *arg, int committed)
{
	struct store *st = arg;
	for (size_t i = 0; i < st->nunsettled; i++)
		settle_id(st, st->unsettled[i], committed);
	st->nunsettled = 0;
	if (!st->unsettled_lost)
		return;
	st->unsettled_lost = 0;
	/* one was not listed: every object in memory, as after a lost group */
	if (!committed)
		store_group_lost(st);
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i]; o; o = o->hnext)
			__atomic_store_n(&o->unsettled, 0, __ATOMIC_RELEASE);
	ranked_unlock(&st->lock, LOCK_STORE);
}

int flush_locked(struct db *db, struct dobj *o)
{
	db_assert_locked(db);
	int r = 0;
	if (db->in_txn) /* else only a lost group undoes it (store_group_lost) */
		note_unsettled(o);
	if (o->trunc_dirty && (r = flush_trunc(db, o)) == 0)
		o->trunc_dirty = 0;
	if (r == 0 && o->map_cut != BMAP_NONE && (r = flush_cut(db, o)) == 0)
		o->map_cut = BMAP_NONE;
	if (r == 0 && o->gen_dirty && (r = flush_gen(db, o)) == 0)
		o->gen_dirty = 0;
	return r < 0 ? r : flush_leaves(db, o);
}

static int flush_one(struct db *db, struct dobj *o)
{
	if (!obj_dirty(o))
		return 0;
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	/* A failed look-up is no answer: the changes stay dirty. */
	int r = row_exists(db, o->id);
	if (r == 0)
		forget_changes(o); /* deleted: its rows must not come back */
	else if (r > 0)
		r = flush_locked(db, o);
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return r;
}

/* Ancestors are flushed too: a layer written before it became shared may
 * still be dirty, and the object's view depends on it. */
int store_flush(struct store *st, struct dobj *o)
{
	db_assert_locked(st->db);
	struct dobj *a = o;
	while (a && !obj_dirty(a))
		a = a->parent;
	if (!a)
		return 0;
	int mine, r = txn_open(st->db, &mine, 1);
	for (; a && r == 0; a = a->parent)
		r = flush_one(st->db, a);
	return txn_close(st->db, mine, r);
}

int store_flush_all(struct store *st)
{
	db_assert_locked(st->db);
	int mine, r = txn_open(st->db, &mine, 1);
	if (r < 0)
		return r;
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < st->nbuckets && r == 0; i++)
		for (struct dobj *o = st->buckets[i]; o && r == 0; o = o->hnext)
			r = flush_one(st->db, o);
	ranked_unlock(&st->lock, LOCK_STORE);
	return txn_close(st->db, mine, r);
}

struct dobj *obj_new(struct store *st, uint64_t id)
{
	struct dobj *o = FAULT(FAULT_ALLOC) ? NULL : calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->st = st;
	o->id = id;
	o->trunc_blk = NO_TRUNC;
	o->map_cut = BMAP_NONE;
	o->fd = -1;
	fdc_entry_init(&st->fds, &o->hf, &o->fd);
	o->nview = -1;
	o->unsafe = 1; /* durable only once a commit is known to have synced it */
	bmap_init(&o->map);
	pthread_mutex_init(&o->maplock, NULL);
	pthread_mutex_init(&o->synclock, NULL);
	return o;
}

void obj_free(struct dobj *o)
{
	fdc_entry_drop(&o->st->fds, &o->hf);
	bmap_free(&o->map);
	pthread_mutex_destroy(&o->maplock);
	pthread_mutex_destroy(&o->synclock);
	free(o);
}

static int load_map(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "SELECT leaf, has, data FROM objmap WHERE obj = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t leaf = sqlite3_column_int64(s, 0);
		if (leaf < 0) {
			r = -EIO;
			break;
		}
		r = bmap_leaf_load(&o->map, (uint64_t)leaf, sqlite3_column_blob(s, 1),
		                   (size_t)sqlite3_column_bytes(s, 1), sqlite3_column_blob(s, 2),
		                   (size_t)sqlite3_column_bytes(s, 2));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	db_finish(s);
	return r;
}

/* o's row (parent, refs, trunc_blk, gen) and map rows. 0 or -ENOENT /
 * -EIO / -ENOMEM. db locked. */
int read_row(struct db *db, struct dobj *o)
{
	db_assert_locked(db);
	sqlite3_stmt *s = db_prep(db, "SELECT parent, refs, trunc_blk, gen FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	int r = db_step_row(s);
	if (r > 0) {
		o->parent_id = (uint64_t)sqlite3_column_int64(s, 0);
		o->refs = sqlite3_column_int64(s, 1);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			o->trunc_blk = (uint64_t)sqlite3_column_int64(s, 2);
		o->gen = (uint64_t)sqlite3_column_int64(s, 3);
	}
	db_finish(s);
	return r > 0 ? load_map(db, o) : r == 0 ? -ENOENT : r;
}

/* One object from its row and map rows, without its parent; its host
 * file opened now (the object asked for, which the caller is about to
 * read) or at its first hold (an ancestor, which a read may never reach:
 * a top layer covering the range, or skip_untouched stepping over it). */
static struct dobj *load_one(struct store *st, uint64_t id, int open_now, int *err)
{
	struct dobj *o = obj_new(st, id);
	if (!o) {
		*err = ENOMEM;
		return NULL;
	}
	db_lock(st->db);
	int r = read_row(st->db, o);
	db_unlock(st->db);
	if (r == 0 && !open_now) {
		o->host = HOST_UNKNOWN;
	} else if (r == 0) {
		/* Whether the host file exists is known from here on; the open
		 * descriptor joins the LRU, for the read that usually follows.
		 * The hold around the install must not open the file itself:
		 * that would be a second open(2), the first one then closed. */
		int fd = fdc_open(&st->fds, open_existing, o);
		if (fd >= 0) {
			fdc_hold(&st->fds, &o->hf, NULL, o);
			host_install(o, fd);
			host_release(o);
		} else if (fd != -ENOENT) {
			r = fd;
		}
	}
	if (r < 0) {
		obj_free(o);
		*err = -r;
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* The cache                                                          */

static size_t bucket_of(const struct store *st, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (st->nbuckets - 1);
}

struct dobj *cache_find(struct store *st, uint64_t id)
{
	for (struct dobj *o = st->buckets[bucket_of(st, id)]; o; o = o->hnext)
		if (o->id == id)
			return o;
	return NULL;
}

static void cache_grow(struct store *st)
{
	size_t n = st->nbuckets * 2;
	struct dobj **nb = calloc(n, sizeof *nb);
	if (!nb)
		return; /* longer chains, still correct */
	struct dobj **old = st->buckets;
	size_t oldn = st->nbuckets;
	st->buckets = nb;
	st->nbuckets = n;
	for (size_t i = 0; i < oldn; i++)
		for (struct dobj *o = old[i], *next; o; o = next) {
			next = o->hnext;
			size_t b = bucket_of(st, o->id);
			o->hnext = nb[b];
			nb[b] = o;
		}
	free(old);
}

static void cache_insert(struct store *st, struct dobj *o)
{
	if (st->count >= st->nbuckets * 2)
		cache_grow(st);
	size_t b = bucket_of(st, o->id);
	o->hnext = st->buckets[b];
	st->buckets[b] = o;
	st->count++;
}

static void cache_remove(struct store *st, struct dobj *o)
{
	for (struct dobj **p = &st->buckets[bucket_of(st, o->id)]; *p; p = &(*p)->hnext)
		if (*p == o) {
			*p = o->hnext;
			st->count--;
			return;
		}
}

static void lru_unlink(struct store *st, struct dobj *o)
{
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else
		st->lru_head = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else
		st->lru_tail = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
	st->nlru--;
}

static void lru_push(struct store *st, struct dobj *o)
{
	o->lru_next = NULL;
	o->lru_prev = st->lru_tail;
	if (st->lru_tail)
		st->lru_tail->lru_next = o;
	else
		st->lru_head = o;
	st->lru_tail = o;
	st->nlru++;
}

/* Take a pin; an unpinned object leaves the LRU. st->lock held. */
static void pin(struct store *st, struct dobj *o)
{
	if (o->pins++ == 0)
		lru_unlink(st, o);
}

static struct dobj *find_pinned(struct store *st, uint64_t id)
{
	ranked_lock(&st->lock, LOCK_STORE);
	struct dobj *o = cache_find(st, id);
	if (o)
		pin(st, o);
	ranked_unlock(&st->lock, LOCK_STORE);
	return o;
}

/* Load id and whichever ancestors are not in memory yet (load_lock held).
 * chain[0] is id; each loaded object pins the next one up. */
static struct dobj *load_chain(struct store *st, uint64_t id)
{
	struct dobj **chain = NULL, *hit = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	for (uint64_t cur = id; cur;) {
		if ((hit = find_pinned(st, cur)))
			break;
		if (n == MAX_CHAIN) {
			err = ELOOP;
			break;
		}
		struct dobj *o = NULL;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct dobj **nc = realloc(chain, cap * sizeof *nc);
			if (nc)
				chain = nc;
			else
				err = ENOMEM;
		}
		if (!err)
			o = load_one(st, cur, n == 0, &err);
		if (!o)
			break;
		chain[n++] = o;
		cur = o->parent_id;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			obj_free(chain[i]);
		free(chain);
		if (hit)
			store_put(st, hit);
		errno = err;
		return NULL;
	}
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < n; i++) {
		chain[i]->parent = i + 1 < n ? chain[i + 1] : hit;
		chain[i]->pins = 1;
		cache_insert(st, chain[i]);
	}
	ranked_unlock(&st->lock, LOCK_STORE);
	struct dobj *top = n ? chain[0] : hit;
	free(chain);
	return top;
}

struct dobj *store_get(struct store *st, uint64_t id)
{
	if (!id) {
		errno = EINVAL;
		return NULL;
	}
	struct dobj *o = find_pinned(st, id);
	if (o)
		return o;
	ranked_lock(&st->load_lock, LOCK_STORE_LOAD);
	o = load_chain(st, id);
	ranked_unlock(&st->load_lock, LOCK_STORE_LOAD);
	return o;
}

/* Drop the last pin of o (st->lock held): keep it on the LRU, or return the
 * objects to free now (o itself if deleted, else LRU overflow). The caller
 * frees the returned list (linked through lru_next) after unlocking. */
static struct dobj *release_locked(struct store *st, struct dobj *o)
{
	struct dobj *dead = NULL;
	if (refs_of(o) <= 0) {
		cache_remove(st, o);
		o->lru_next = NULL;
		return o;
	}
	lru_push(st, o);
	for (struct dobj *v = st->lru_head; st->nlru > LRU_MAX && v;) {
		struct dobj *next = v->lru_next;
		/* a failed flush keeps it until it succeeds; an unsettled one
		 * until its change ends */
		if (!obj_dirty(v) && !__atomic_load_n(&v->unsettled, __ATOMIC_ACQUIRE)) {
			lru_unlink(st, v);
			cache_remove(st, v);
			v->lru_next = dead;
			dead = v;
		}
		v = next;
	}
	return dead;
}

void store_drop_idle(struct store *st, uint64_t id)
{
	ranked_lock(&st->lock, LOCK_STORE);
	struct dobj *o = cache_find(st, id);
	if (!o || o->pins > 0) {
		ranked_unlock(&st->lock, LOCK_STORE);
		return;
	}
	lru_unlink(st, o);
	cache_remove(st, o);
	ranked_unlock(&st->lock, LOCK_STORE);
	struct dobj *parent = o->parent;
	obj_free(o);
	if (parent)
		store_put(st, parent);
}

void store_put(struct store *st, struct dobj *o)
{
	while (o) {
		ranked_lock(&st->lock, LOCK_STORE);
		if (o->pins == 1 && obj_dirty(o) && refs_of(o) > 0) {
			/* Flush while still pinned, so nobody can drop it meanwhile. */
			ranked_unlock(&st->lock, LOCK_STORE);
			db_lock(st->db);
			store_flush(st, o);
			db_unlock(st->db);
			ranked_lock(&st->lock, LOCK_STORE);
		}
		if (--o->pins > 0) {
			ranked_unlock(&st->lock, LOCK_STORE);
			return;
		}
		struct dobj *dead = release_locked(st, o);
		ranked_unlock(&st->lock, LOCK_STORE);
		o = NULL;
		/* Freeing an object releases its pin on its parent. */
		while (dead) {
			struct dobj *next = dead->lru_next;
			struct dobj *parent = dead->parent;
			obj_free(dead);
			if (parent && !o)
				o = parent;
			else if (parent)
				store_put(st, parent);
			dead = next;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Rows and references                                                */

/* After a lost group, ids are handed out above every loaded object whose
 * row it took (st->lost_id_floor): AUTOINCREMENT's counter went back with
 * the rollback. Once lifted, the counter stays so until a rollback
 * (db->undo_gen), so the lift runs again only after one. db locked,
 * inside a change. */
static int lift_ids_past_lost(struct store *st)
{
	if (!st->lost_id_floor || st->ids_lifted_gen == st->db->undo_gen + 1)
		return 0;
	const char *const sql[] = {
		"UPDATE sqlite_sequence SET seq = max(seq, ?1) WHERE name = 'dataobjs'",
		"INSERT INTO sqlite_sequence(name, seq) SELECT 'dataobjs', ?1 WHERE NOT EXISTS "
		"(SELECT 1 FROM sqlite_sequence WHERE name = 'dataobjs')"};
	int r = 0;
	for (size_t i = 0; i < 2 && r == 0; i++) {
		sqlite3_stmt *s = db_prep(st->db, sql[i]);
		sqlite3_bind_int64(s, 1, (int64_t)st->lost_id_floor);
		r = db_step_done(st->db, s);
	}
	if (r == 0)
		st->ids_lifted_gen = st->db->undo_gen + 1;
	return r;
}

static int insert_row(struct store *st, uint64_t parent, uint64_t *id_out)
{
	sqlite3_stmt *s = db_prep(st->db, "INSERT INTO dataobjs(parent, refs, trunc_blk) "
	                                  "VALUES(?, 1, NULL)");
	if (parent)
		sqlite3_bind_int64(s, 1, (int64_t)parent);
	else
		sqlite3_bind_null(s, 1);
	int r = lift_ids_past_lost(st);
	r = r < 0 ? r : db_step_done(st->db, s);
	if (r < 0)
		return r;
	*id_out = (uint64_t)sqlite3_last_insert_rowid(st->db->h);
	/* An id can be handed out again after a rolled-back transaction that
	 * already created its host file: start from nothing. An id above every
	 * one handed out before has no file (a path lookup saved per object). */
	if (*id_out <= st->file_id_bound) {
		char path[4096];
		store_path(st, *id_out, path, sizeof path);
		unlink(path);
	} else {
		st->file_id_bound = *id_out;
	}
	mem_forget(st, *id_out);
	return 0;
}

int store_create(struct store *st, uint64_t parent, uint64_t *id_out)
{
	db_assert_locked(st->db);
	int r = insert_row(st, parent, id_out);
	if (r == 0 && parent)
		r = store_ref(st, parent, 1);
	return r;
}

int store_create_memory(struct store *st, uint64_t *id_out)
{
	db_assert_locked(st->db);
	int r = insert_row(st, 0, id_out);
	return r < 0 ? r : mem_register(st, *id_out);
}

/* A new object's row (a layer over parent, or 0), filled by fill (NULL:
 * nothing to write) and named by the holder's row, in one change: a crash
 * leaves either the old state or the new. c->id set; db not locked. */
static int new_row_for_holder(struct store *st, struct dobj *c, uint64_t parent,
                              int (*fill)(struct store *, struct dobj *, void *), void *arg,
                              const struct store_holder *holder)
{
	db_lock(st->db);
	int mine, r = txn_open(st->db, &mine, 0);
	if (r == 0)
		r = insert_row(st, parent, &c->id);
	if (r == 0 && fill)
		r = fill(st, c, arg);
	if (r == 0 && holder)
		r = holder->repoint(holder->arg, c->id);
	r = txn_close(st->db, mine, r);
	db_unlock(st->db);
	return r;
}

static void cache_insert_locked(struct store *st, struct dobj *c)
{
	ranked_lock(&st->lock, LOCK_STORE);
	cache_insert(st, c);
	ranked_unlock(&st->lock, LOCK_STORE);
}

int store_make_private(struct store *st, struct dobj **op, const struct store_holder *holder)
{
	struct dobj *o = *op;
	if (!store_is_shared(o))
		return 0;
	struct dobj *c = obj_new(st, 0);
	if (!c)
		return -ENOMEM;
	/* The holder's reference moves from o to the child, and the child
	 * references o: o's refs stay as they are. The holder's row follows
	 * in the same change, so a crash leaves either the old or the new
	 * state. */
	int r = new_row_for_holder(st, c, o->id, NULL, NULL, holder);
	if (r < 0) {
		obj_free(c);
		return r;
	}
	c->parent_id = o->id;
	c->parent = o; /* the caller's pin on o becomes the child's */
	c->refs = 1;
	c->nview = __atomic_load_n(&o->nview, __ATOMIC_RELAXED);
	c->pins = 1;
	cache_insert_locked(st, c);
	*op = c;
	return 1;
}


/* The new object is written, its host file fdatasynced and its map put in
 * the change before the holder's row names it: when that change commits,
 * the bytes it makes the file's are already on the disk. */
struct fill {
	const void *buf;
	size_t len;
	int64_t *delta;
};

static int fill_new(struct store *st, struct dobj *c, void *arg)
{
	const struct fill *f = arg;
	ssize_t w = store_write(c, f->buf, f->len, 0, f->delta);
	if (w < 0)
		return (int)w;
	int r = store_sync(c);
	return r < 0 ? r : store_flush(st, c);
}

int store_create_filled(struct store *st, const void *buf, size_t len,
                        const struct store_holder *holder, struct dobj **out, int64_t *delta)
{
	*delta = 0;
	struct dobj *c = obj_new(st, 0);
	if (!c)
		return -ENOMEM;
	c->refs = 1;
	c->nview = 0;
	c->pins = 1;
	int r = new_row_for_holder(st, c, 0, fill_new, &(struct fill){buf, len, delta}, holder);
	if (r < 0) {
		/* a host file left behind goes when its id is handed out again
		 * (insert_row) */
		obj_free(c);
		*delta = 0;
		return r;
	}
	cache_insert_locked(st, c);
	*out = c;
	return 0;
}

/* o stops being a layer: its row loses its parent and the parent loses
 * o's reference, in one change with o's map, which from then on is o's
 * whole view. db locked. */
static int detach_rows(struct store *st, struct dobj *o)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	int r = flush_locked(st->db, o);
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	if (r < 0)
		return r;
	sqlite3_stmt *s = db_prep(st->db, "UPDATE dataobjs SET parent = NULL WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	if ((r = db_step_done(st->db, s)) < 0)
		return r;
	return store_ref(st, o->parent_id, -1);
}

int store_fold(struct store *st, struct dobj *o)
{
	struct dobj *p = __atomic_load_n(&o->parent, __ATOMIC_RELAXED);
	if (!p || store_is_shared(o) || !layer_covers_parent(o))
		return 0;
	db_lock(st->db);
	/* Overwrites run under the file's shared lock: two that both
	 * completed the cover may both get here, and only one may drop the
	 * parent's pin. The parent changes only under the db lock. */
	if (o->parent != p) {
		db_unlock(st->db);
		return 0;
	}
	int mine, r = txn_open(st->db, &mine, 0);
	if (r == 0)
		r = detach_rows(st, o);
	r = txn_close(st->db, mine, r);
	if (r == 0) {
		/* Walkers of the chain hold the db lock (store_flush) or
		 * o's user's lock (reads); trim's layer walks read parent_id
		 * under maplock. */
		ranked_lock(&o->maplock, LOCK_STORE_MAP);
		__atomic_store_n(&o->parent, NULL, __ATOMIC_RELAXED);
		o->parent_id = 0;
		ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	}
	db_unlock(st->db);
	if (r < 0)
		return r;
	store_put(st, p); /* o's pin on its former parent */
	return 1;
}

static int delete_rows(struct store *st, uint64_t id)
{
	sqlite3_stmt *s = db_prep(st->db, "DELETE FROM objmap WHERE obj = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int r = db_step_done(st->db, s);
	if (r < 0)
		return r;
	s = db_prep(st->db, "DELETE FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	return db_step_done(st->db, s);
}

/* refs += delta for one row; *refs and *parent get the new values. */
static int add_refs(struct store *st, uint64_t id, int delta, int64_t *refs, uint64_t *parent)
{
	sqlite3_stmt *s = db_prep(st->db, "UPDATE dataobjs SET refs = refs + ? WHERE id = ? "
	                                  "RETURNING refs, parent");
	sqlite3_bind_int(s, 1, delta);
	sqlite3_bind_int64(s, 2, (int64_t)id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*refs = sqlite3_column_int64(s, 0);
		*parent = (uint64_t)sqlite3_column_int64(s, 1);
	}
	db_finish(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	ranked_lock(&st->lock, LOCK_STORE);
	struct dobj *o = cache_find(st, id);
	if (o)
		set_refs(o, *refs);
	ranked_unlock(&st->lock, LOCK_STORE);
	return 0;
}

int store_ref(struct store *st, uint64_t id, int delta)
{
	db_assert_locked(st->db);
	while (id && delta) {
		int64_t refs;
		uint64_t parent;
		int r = add_refs(st, id, delta, &refs, &parent);
		if (r < 0)
			return r;
		if (refs < 0) {
			vlog_error("store", "object %" PRIu64 " refs went negative", id);
			return -EIO;
		}
		if (refs == 1)
			trim_unreachable(st, id);
		if (refs > 0)
			return 0;
		if ((r = delete_rows(st, id)) < 0)
			return r;
		ranked_lock(&st->lock, LOCK_STORE);
		queue_reap(st, id);
		ranked_unlock(&st->lock, LOCK_STORE);
		id = parent;
		delta = -1;
	}
	return 0;
}

int store_reload_refs(struct store *st)
{
	db_assert_locked(st->db);
	sqlite3_stmt *s = db_prep(st->db, "SELECT refs FROM dataobjs WHERE id = ?");
	int failed = 0;
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i]; o; o = o->hnext) {
			sqlite3_bind_int64(s, 1, (int64_t)o->id);
			/* no row: the object's creation was lost; a failed read
			 * keeps the count (0 would let the object be released) */
			int r = db_step_row(s);
			if (r >= 0)
				set_refs(o, r ? sqlite3_column_int64(s, 0) : 0);
			failed |= r < 0;
			sqlite3_reset(s);
		}
	ranked_unlock(&st->lock, LOCK_STORE);
	db_finish(s);
	return failed ? -EIO : 0;
}

static void redirty(struct dobj *o)
{
	uint64_t last = BMAP_NONE;
	for (uint64_t li = bmap_next_leaf(&o->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&o->map, li + 1)) {
		bmap_leaf_touch(&o->map, bmap_leaf(&o->map, li));
		last = li;
	}
	o->trunc_dirty = 1;
	o->gen_dirty = 1;
	o->map_cut = last == BMAP_NONE ? 0 : last + 1;
	/* What the lost group committed is gone: nothing is known durable. */
	sync_note_unsafe(o);
}

void store_group_lost(struct store *st)
{
	db_assert_locked(st->db);
	store_reload_refs(st);
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i]; o; o = o->hnext) {
			/* a failed look-up is no answer: the row may be there */
			int lost = row_exists(st->db, o->id) == 0;
			if (lost && o->id > st->lost_id_floor)
				st->lost_id_floor = o->id;
			ranked_lock(&o->maplock, LOCK_STORE_MAP);
			redirty(o);
			o->row_lost |= lost;
			ranked_unlock(&o->maplock, LOCK_STORE_MAP);
		}
	ranked_unlock(&st->lock, LOCK_STORE);
}

int store_row_lost(struct dobj *o)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	int lost = o->row_lost;
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return lost;
}

int store_revive(struct store *st, struct dobj *o)
{
	db_assert_locked(st->db);
	if (!store_row_lost(o) || row_exists(st->db, o->id) != 0)
		return 0;
	/* its holder's reference, as when it was made: a layer's parent
	 * kept its count then (the holder's moved to the layer) */
	sqlite3_stmt *s = db_prep(st->db, "INSERT INTO dataobjs(id, parent, refs, trunc_blk) "
	                                  "VALUES(?, ?, 1, NULL)");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	if (o->parent_id)
		sqlite3_bind_int64(s, 2, (int64_t)o->parent_id);
	else
		sqlite3_bind_null(s, 2);
	int r = db_step_done(st->db, s);
	if (r < 0)
		return r;
	set_refs(o, 1);
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	redirty(o); /* a flush since the loss found no row and wrote nothing */
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return 1;
}

void store_revived(struct dobj *o)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	o->row_lost = 0;
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
}

/* ------------------------------------------------------------------ */
/* Opening, closing                                                   */

/* Open files pin kernel memory (inode, dentry, file) for as long as they
 * stay open, so even a huge descriptor limit is not all used. */
#define HOST_FILES_CAP 65536

void store_set_fd_budget(struct store *st, uint64_t nofile)
{
	size_t host = (size_t)min_u64(nofile / 2, HOST_FILES_CAP);
	st->max_memory = (size_t)min_u64(nofile / 4, HOST_FILES_CAP);
	fdc_set_bound(&st->fds, host ? host : 1);
}

uint64_t store_host_opens(struct store *st)
{
	return fdc_opens(&st->fds);
}

size_t store_open_files(struct store *st, size_t *bound)
{
	pthread_mutex_lock(&st->fds.lock);
	size_t n = st->fds.nopen;
	if (bound)
		*bound = st->fds.bound;
	pthread_mutex_unlock(&st->fds.lock);
	return n;
}

static void fd_budget_from_limit(struct store *st)
{
	struct rlimit rl;
	uint64_t nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY
	                          ? (uint64_t)rl.rlim_cur
	                          : 1024;
	store_set_fd_budget(st, nofile);
	vlog_debug("store", "at most %zu host files and %zu memory-medium files open (RLIMIT_NOFILE %llu)",
	           st->fds.bound, st->max_memory, (unsigned long long)nofile);
}

int store_open(struct store **out, const char *state_dir, struct db *db)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	size_t len = strlen(state_dir) + sizeof "/data";
	st->dir = malloc(len);
	st->nbuckets = 256;
	st->buckets = calloc(st->nbuckets, sizeof *st->buckets);
	if (!st->dir || !st->buckets) {
		free(st->dir);
		free(st->buckets);
		free(st);
		return -ENOMEM;
	}
	snprintf(st->dir, len, "%s/data", state_dir);
	st->file_id_bound = UINT64_MAX;
	int e = mkdir(st->dir, 0700) < 0 && errno != EEXIST ? -errno : 0;
	if (e == 0)
		e = spare_open(st, state_dir);
	if (e < 0) {
		spare_close(st);
		free(st->dir);
		free(st->buckets);
		free(st);
		return e;
	}
	st->db = db;
	db_on_change_end(db, change_end, st);
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->load_lock, NULL);
	pthread_mutex_init(&st->mem_lock, NULL);
	fdc_init(&st->fds, 1);
	fd_budget_from_limit(st);
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	db_lock(st->db);
	store_flush_all(st);
	/* Nobody will commit the group after us. */
	if (!st->db->in_txn)
		db_group_commit(st->db);
	db_on_change_end(st->db, NULL, NULL);
	db_unlock(st->db);
	free(st->unsettled);
	store_reap(st);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i], *next; o; o = next) {
			next = o->hnext;
			obj_free(o);
		}
	free(st->buckets);
	free(st->reap);
	free(st->trims);
	mem_close_all(st);
	fdc_destroy(&st->fds);
	spare_close(st);
	free(st->dir);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->load_lock);
	free(st);
}
