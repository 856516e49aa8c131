/*
 * fs/store/store_int.h — shared internals of the data-object store: the object and
 * store structures and the few functions that cross between its files.
 * Only the fs/store/ files include it; everything else uses
 * fs/store/store.h. It does not include fs/store/store.h (both build on
 * the leaf fs/store/block.h), so the interface and the internals form no
 * module cycle.
 *
 *   fs/store/store.c       objects' life: rows, loading, cache, flushing, refs,
 *                          copy-on-write
 *   fs/store/io.c    the data path of a loaded object: view, read, write, ...
 *   fs/store/trim.c  unreachable blocks, reaping, orphan sweep, check
 *   fs/store/memfd.c   objects held in RAM (memfds instead of host files)
 *   fs/store/recover.c  ownerless host files and unmapped blocks at startup
 *   fs/store/datasync.c  fdatasync with one device flush; its start-up repair
 *   fs/store/blockset.c  sets of physical blocks, what a view reads
 *   fs/store/spare.c  emptied host files of deleted objects, reused by new ones
 *
 * Locks, outermost first: load_lock (one loader at a time, so an object is
 * never loaded twice) -> db lock -> st->lock (cache, pins, LRU, in-memory
 * refs, reap queue) -> o->synclock (one fdatasync marker writer, held
 * across its fsync) -> o->maplock (growth/shrink of an object's map and its
 * trunc_blk/map_cut, against a concurrent flusher). The bits themselves are
 * changed by the single writer the caller guarantees, read by flushers with
 * relaxed atomics (see fs/store/bmap.h). The descriptor LRU's lock (st->fds)
 * and mem_lock are innermost, plain mutexes with nothing taken inside
 * them; host files are opened outside both. load_lock, st->lock, synclock
 * and maplock are taken through meta/lockrank.h, which checks this order
 * in the test builds.
 */
#ifndef VOLFS_FS_STORE_INT_H
#define VOLFS_FS_STORE_INT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/store/block.h"
#include "fs/store/bmap.h"
#include "fs/store/fdcache.h"
#include "fs/store/hostwrite.h"
#include "meta/db.h"
#include "meta/lockrank.h"

#define BS ((uint64_t)STORE_BLOCK)
#define MAX_BLOCKS (STORE_MAX_SIZE / STORE_BLOCK)
#define NO_TRUNC UINT64_MAX
#define LEAF_BLOCKS ((uint64_t)BMAP_LEAF_BITS)
/* dobj.host before anybody has looked (see load_chain). */
#define HOST_UNKNOWN (-1)
/* A parent chain longer than this means a cycle in a corrupt db. */
#define MAX_CHAIN 65536

struct dobj {
	struct store *st;
	uint64_t id;
	uint64_t parent_id;
	struct dobj *parent; /* pinned by this object */
	int64_t refs;        /* mirror of dataobjs.refs (atomic) */
	uint64_t trunc_blk;  /* NO_TRUNC if never truncated (NULL in the db) */
	int trunc_dirty;
	uint64_t map_cut;    /* objmap rows with leaf >= map_cut must go; BMAP_NONE */
	struct bmap map;
	pthread_mutex_t maplock;
	int fd;              /* open host file, or -1: valid only while held
	                      * (host_hold) */
	struct fdc_entry hf; /* fd's place in the store's descriptor LRU */
	int host;            /* the host file exists (atomic): 1, 0, or
	                      * HOST_UNKNOWN for an ancestor loaded with its
	                      * child, until its first hold opens it */
	int pins;
	int unsettled;       /* its map rows were written by a change still open
	                      * (atomic): kept in the cache until it ends, so a
	                      * rollback finds it to mark it dirty again */
	int64_t nview;       /* cached store_data_blocks(), -1 = unknown (atomic) */
	uint64_t cover_leaf; /* every leaf of the parent's view below it is
	                      * defined in this layer (layer_covers_parent;
	                      * atomic) */
	/* What one flush per fdatasync needs (fs/store/datasync.c). */
	pthread_mutex_t synclock; /* one marker writer; held across its fsync */
	uint64_t gen;        /* generation of size and map; the row's once flushed
	                      * (maplock; read unlocked by the marker writer) */
	int gen_dirty;       /* gen not yet written to the row (maplock) */
	int row_lost;        /* a lost group took its row, its creation with it,
	                      * until store_revive's change commits (maplock) */
	int unsafe;          /* the map changed in a way its host file cannot show
	                      * (punch, truncate, allocate) since the last durable
	                      * commit, or was never known durable (atomic) */
	int grown;           /* blocks added since the last marker (atomic) */
	int marker_ahead;    /* a marker may be newer than the durable row (synclock) */
	uint64_t marked_size; /* the size the durable row or marker records (synclock) */
	uint64_t changes;    /* bumped by every map change (atomic) */
	struct host_stream stream; /* the writes whose writeback has not started
	                      * (store_write, under its inode's exclusive lock) */
	int synced_last;     /* an fdatasync of the host file came after the last
	                      * write: the next write starts its own writeback
	                      * (host_kick_writeback; atomic) */
	struct dobj *hnext;
	struct dobj *lru_prev, *lru_next;
};

/* A layer as seen by a walk down a chain (fs/store/trim.c): the loaded
 * object if there is one (its map, flushed or not, is the truth; its
 * maplock is held so a writer cannot grow the directory under us), else a
 * transient copy read from the db. layer_get: db locked and st->lock held. */
struct layer {
	struct dobj *o;
	int transient;
};
int layer_get(struct store *st, uint64_t id, struct layer *l);
void layer_put(struct layer *l);

/* Blocks [b, b+n) of object id, cleared from its map by a trim. */
struct trim_run {
	uint64_t id, b, n;
};

/* A host read of a request (fs/store/io.c): host bytes [off, off+len) of
 * fd into bytes [pos, pos+len) of the request's buffer, fd being the host
 * file of the layer `held`, held (host_hold) until the read is done. A
 * piece with fd -1 and held NULL is a stretch to zero after the reads. */
struct piece {
	int fd;
	uint64_t off;
	size_t pos, len;
	struct dobj *held;
};

/* A read whose host reads `reads` are still to do, then zeroing `zeros`,
 * `len` bytes in all; it takes over the reads' holds (fs/store/aread.c).
 * NULL when out of memory. */
struct store_aread *aread_new(const struct piece *reads, size_t nreads, const struct piece *zeros,
                              size_t nzeros, size_t len);

/* A worker's claim to read a cold read itself rather than hand it to the
 * reader thread (fs/store/aread.c): 1 if taken, then released with
 * aread_release_here once the read is done; 0 if enough workers already
 * wait for the disk. */
int aread_claim_here(void);
void aread_release_here(void);

/* The sync marker's extended attribute on a host file (fs/store/datasync.c). */
#define STORE_MARKER_NAME "user.volfs.sync"

/* Spare host files (fs/store/spare.c). */
int spare_open(struct store *st, const char *state_dir);
void spare_close(struct store *st);
void spare_put(struct store *st, const char *path);
int spare_take(struct store *st, const char *path);

/* An object held in RAM: its memfd (fs/store/memfd.c). */
struct memobj {
	uint64_t id;
	int fd;
};

struct store {
	char *dir; /* STATE/data */
	struct db *db;
	pthread_mutex_t lock;
	pthread_mutex_t load_lock;
	struct dobj **buckets;
	size_t nbuckets, count;
	struct dobj *lru_head, *lru_tail;
	size_t nlru;
	struct fdcache fds; /* open host files of loaded objects, bounded */
	size_t max_memory;  /* memory objects (one memfd each) allowed */
	uint64_t *reap;
	size_t nreap, capreap;
	struct trim_run *trims; /* host ranges to punch once trims commit */
	size_t ntrims, captrims;
	uint64_t *unsettled; /* ids of objects flushed by the open change; db lock */
	size_t nunsettled, capunsettled;
	int unsettled_lost;  /* one could not be listed: a rollback redirties all */
	pthread_mutex_t mem_lock; /* innermost: guards mem */
	struct memobj *mem;
	size_t nmem, capmem;
	int no_markers; /* the host filesystem keeps no user xattrs (atomic) */
	/* The highest object id whose path may hold a host file: ids above it
	 * were never handed out (AUTOINCREMENT) and no file is there, so a new
	 * object there needs no unlink first (insert_row). UINT64_MAX until the
	 * start-up sweep has made it true; db lock. */
	uint64_t file_id_bound;
	/* The highest id of a loaded object whose row a lost group took: the
	 * rollback took the id's hand-out too, and a new object must not get
	 * it (its host file holds the lost one's bytes). 0: none; db lock. */
	uint64_t lost_id_floor;
	/* db->undo_gen + 1 when the id counter was last lifted past
	 * lost_id_floor (0: never): no rollback since, so it still is. */
	uint64_t ids_lifted_gen;
	char *spare_dir; /* STATE/spare (fs/store/spare.c) */
	pthread_mutex_t spare_lock; /* innermost: guards the spare stack */
	uint64_t *spare; /* numbers of the files in spare_dir */
	size_t nspare, capspare;
	uint64_t spare_seq;
	int spare_off; /* no spare directory: deleted files are unlinked */
};

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static inline uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static inline uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static inline int64_t refs_of(const struct dobj *o)
{
	return __atomic_load_n(&o->refs, __ATOMIC_RELAXED);
}

static inline void set_refs(struct dobj *o, int64_t r)
{
	__atomic_store_n(&o->refs, r, __ATOMIC_RELAXED);
}

/* Bits of word `wi` of leaf `li` that lie below o's trunc_blk. */
static inline uint64_t below_trunc_mask(const struct dobj *o, uint64_t li, unsigned wi)
{
	uint64_t base = li * LEAF_BLOCKS + wi * 64u;
	if (o->trunc_blk >= base + 64)
		return ~0ull;
	if (o->trunc_blk <= base)
		return 0;
	return (1ull << (o->trunc_blk - base)) - 1;
}

/* ------------------------------------------------------------------ */
/* Defined in fs/store/store.c                                              */

/* Open object id's host file (O_RDWR, or O_RDONLY on a read-only state
 * directory); with create, make it and its XX directory if missing. */
int open_host(struct store *st, uint64_t id, int create);
/* Hold o's host file for I/O: until host_release, o->fd is its open host
 * file, or -1 if it has none yet. Holds nest and may be taken by several
 * threads at once; the descriptor is closed only when nobody holds it and
 * the store has too many open (fs/store/fdcache.h). 0 or a negative errno. */
int host_hold(struct dobj *o);
void host_release(struct dobj *o);
/* Create held o's host file if it has none (o->fd >= 0 after 0). */
int host_create(struct dobj *o);
/* Whether object id has a dataobjs row: 1, 0, or -EIO when the look-up
 * failed (which says nothing either way). db locked. */
int row_exists(struct db *db, uint64_t id);
/* Write o's pending trunc_blk, map cut and dirty leaves. db locked, o's
 * maplock held. */
int flush_locked(struct db *db, struct dobj *o);
/* A fresh unloaded, unlinked object (no parent, empty map, no host file). */
struct dobj *obj_new(struct store *st, uint64_t id);
/* Close and free an object that is in no cache list. */
void obj_free(struct dobj *o);
/* Object id's row is gone: if it is cached but pinned by nobody, free it
 * now, not when the LRU would (it holds its host file or memfd open
 * meanwhile). Without the db lock. */
void store_drop_idle(struct store *st, uint64_t id);
/* o's row (parent, refs, trunc_blk) and map rows. 0 or -ENOENT / -EIO /
 * -ENOMEM. db locked. */
int read_row(struct db *db, struct dobj *o);
/* Put the data and shadow bits of db_copy (the same object's rows) into
 * o's map as well: o's map must not claim less than its rows. maplock
 * held. */
void resync_map(struct dobj *o, const struct dobj *db_copy);
/* The cached object id, or NULL. st->lock held. */
struct dobj *cache_find(struct store *st, uint64_t id);

/* ------------------------------------------------------------------ */
/* Defined in fs/store/io.c                                           */

/* Whether o's own layer defines every block its parent's view holds data
 * in. Amortised O(1) a call over the layer's writes (resumes at
 * o->cover_leaf). o's user holds it against writers. */
int layer_covers_parent(struct dobj *o);

/* ------------------------------------------------------------------ */
/* Defined in fs/store/trim.c                                         */

/* Called by store_ref when id's refs fall to 1: if its only holder is a
 * child layer, trim the blocks that child shadows. db locked. */
void trim_unreachable(struct store *st, uint64_t id);
/* Queue id's host file for unlinking by store_reap. st->lock held. */
void queue_reap(struct store *st, uint64_t id);

/* ------------------------------------------------------------------ */
/* Defined in fs/store/datasync.c                                     */

/* A change to o's map that its host file shows (blocks added, written
 * whole), or one it does not (blocks removed, whiteouts, allocations that
 * read as holes): the next fdatasync writes a marker, or commits. */
void sync_note_grown(struct dobj *o);
void sync_note_unsafe(struct dobj *o);

/* ------------------------------------------------------------------ */
/* Defined in fs/store/recover.c                                      */

/* The highest object id a committed change has handed out: a host file
 * without a row and with an id at or below it belonged to a deleted
 * object. -EIO when it cannot be read. db locked. */
int64_t committed_max_id(struct db *db);

/* ------------------------------------------------------------------ */
/* Defined in fs/store/memfd.c                                          */

/* Give object id a fresh memfd as its host file. */
int mem_register(struct store *st, uint64_t id);
/* Close id's memfd, if it has one (its memory goes with the last dup). */
void mem_forget(struct store *st, uint64_t id);
/* A new descriptor of id's memfd, or -ENOENT if id is not in RAM. */
int mem_open(struct store *st, uint64_t id);
void mem_close_all(struct store *st);

#endif
