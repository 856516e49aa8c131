/*
 * fs/control/snapshot_bytes.c — what a volume's snapshots keep (df's
 * SNAPSHOTS, volfs_volume_snapshot_bytes): the blocks the snapshots' views
 * read that the volume's own view does not.
 *
 * A volume with many snapshots of many files has snapshots × files rows to
 * read, and the db lock is the one the data path's fsync needs. So the rows
 * are read a page at a time (SNAPSHOT_BYTES_PAGE inodes per hold of the
 * lock, released in between), and a data object whose view is already in
 * the set is not walked again (the block set keeps which views it has):
 * snapshots of one volume share most of their objects, so the block work
 * is per distinct object, not per row. A file
 * changed between two pages is counted as one of the pages saw it: the
 * figure is an estimate while the volume is written, exact when it rests.
 *
 * The metrics keep, per volume, the block set of its snapshots' views
 * with the snapshot ids it was built from: a snapshot never changes, so
 * the set stays exact while the ids stay, and a scrape reads only the
 * snapshot ids and the volume's own rows (O(snapshots + files), not
 * snapshots × files). The sets kept hold at most SNAPSHOT_BYTES_KEEP_LAYERS
 * layers together (about 4 KiB of map each; a volume not scraped for
 * SNAPSHOT_BYTES_CACHE_SECONDS gives its set up to one that needs room);
 * past that, a figure that took
 * SNAPSHOT_BYTES_CACHE_ROWS rows or more is reused for up to
 * SNAPSHOT_BYTES_CACHE_SECONDS while the ids stay, and a smaller one is
 * counted afresh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/snapshot.h"

/* Inodes read per hold of the db lock: each costs one row and one walk of
 * its object's layers, so a hold stays short whatever the volume's size. */
#define SNAPSHOT_BYTES_PAGE 256

#define SNAPSHOT_BYTES_KEEP_LAYERS 16384
#define SNAPSHOT_BYTES_CACHE_ROWS 1000000
#define SNAPSHOT_BYTES_CACHE_SECONDS 60
#define SNAPSHOT_BYTES_CACHE_SLOTS 64

/* A set of blocks built from views, and the inode rows read to build it. */
struct view_set {
	struct store_blockset *blocks;
	uint64_t rows;
};

/* Add the views of the files tree sees to s, a page per hold of the db
 * lock. A tree deleted meanwhile adds what was read of it. */
static int add_tree_views(struct vfs *v, uint64_t tree, struct view_set *s)
{
	struct db *db = vfs_db(v);
	uint64_t objs[SNAPSHOT_BYTES_PAGE], after = 0;
	long n;
	int r = 0;
	do {
		db_lock(db);
		n = vfs_tree_objs_page(v, tree, &after, objs, SNAPSHOT_BYTES_PAGE);
		s->rows += n > 0 ? (uint64_t)n : 0;
		for (long i = 0; r == 0 && i < n; i++)
			r = store_blockset_add_view(vfs_store(v), s->blocks, objs[i]);
		db_unlock(db);
	} while (r == 0 && n == SNAPSHOT_BYTES_PAGE);
	if (r == 0 && n < 0 && n != -ENOENT)
		r = (int)n;
	return r;
}

/* The ids of the snapshots of tree (*ids malloc'd), or -errno. */
static long snapshot_trees(struct vfs *v, uint64_t tree, uint64_t **ids)
{
	struct db *db = vfs_db(v);
	size_t n = 0, cap = 0;
	*ids = NULL;
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "SELECT id FROM trees WHERE origin=?1 AND kind='snapshot'");
	sqlite3_bind_int64(st, 1, (int64_t)tree);
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			uint64_t *bigger = realloc(*ids, cap * sizeof **ids);
			if (!bigger) {
				rc = SQLITE_NOMEM;
				break;
			}
			*ids = bigger;
		}
		(*ids)[n++] = (uint64_t)sqlite3_column_int64(st, 0);
	}
	db_finish(st);
	db_unlock(db);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
	}
	return (long)n;
}

static int add_trees_views(struct vfs *v, const uint64_t *ids, long n, struct view_set *s)
{
	int r = 0;
	for (long i = 0; r == 0 && i < n; i++)
		r = add_tree_views(v, ids[i], s);
	return r;
}

/* Blocks of snaps (the views of the volume's snapshots) that the volume's
 * own view does not read: each block in the layer that holds it, so
 * blocks several snapshots share count once and blocks a child layer
 * shadows count for no one. *rows += the inode rows read. */
static uint64_t count_minus_live(struct vfs *v, uint64_t tree, struct store_blockset *snaps,
                                 uint64_t *rows)
{
	struct view_set live = {store_blockset_new(), 0};
	uint64_t blocks = 0;
	/* without any block in the snapshots, the live view need not be read
	 * (the common case, and the costly one) */
	if (live.blocks && store_blockset_count_minus(snaps, live.blocks) &&
	    add_tree_views(v, tree, &live) == 0)
		blocks = store_blockset_count_minus(snaps, live.blocks);
	*rows += live.rows;
	store_blockset_free(live.blocks);
	return blocks * STORE_BLOCK;
}

uint64_t snapshot_bytes_of_volume(struct vfs *v, uint64_t tree)
{
	uint64_t *ids;
	long n = snapshot_trees(v, tree, &ids);
	struct view_set snaps = {n > 0 ? store_blockset_new() : NULL, 0};
	uint64_t bytes = 0;
	if (snaps.blocks && add_trees_views(v, ids, n, &snaps) == 0)
		bytes = count_minus_live(v, tree, snaps.blocks, &snaps.rows);
	store_blockset_free(snaps.blocks);
	free(ids);
	return bytes;
}

/* What the metrics keep of a volume: the ids of its snapshots, and the
 * block set of their views, or only the figure with its time when the set
 * is too large to keep. */
struct cached_bytes {
	const struct vfs *v; /* NULL: free slot */
	uint64_t tree;
	uint64_t *ids;
	long nids;
	struct store_blockset *snaps; /* NULL: in use by a scrape, or not kept */
	uint64_t bytes;
	time_t at; /* CLOCK_MONOTONIC seconds of the figure */
};
static struct cached_bytes cache[SNAPSHOT_BYTES_CACHE_SLOTS];
static size_t kept_layers; /* in the slots' sets */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

static time_t now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* The slot of (v, tree), or else the one to take for it: a free one or
 * the oldest. cache_lock held. */
static struct cached_bytes *cache_slot(const struct vfs *v, uint64_t tree)
{
	struct cached_bytes *take = &cache[0];
	for (size_t i = 0; i < SNAPSHOT_BYTES_CACHE_SLOTS; i++) {
		struct cached_bytes *c = &cache[i];
		if (c->v == v && c->tree == tree)
			return c;
		if (take->v && (!c->v || c->at < take->at))
			take = c;
	}
	return take;
}

static void slot_clear(struct cached_bytes *c)
{
	kept_layers -= c->snaps ? store_blockset_layers(c->snaps) : 0;
	free(c->ids);
	store_blockset_free(c->snaps);
	*c = (struct cached_bytes){0};
}

static int same_ids(const struct cached_bytes *c, const uint64_t *ids, long n)
{
	return c->nids == n && (n == 0 || memcmp(c->ids, ids, (size_t)n * sizeof *ids) == 0);
}

/* What the slot of (v, tree) offers for snapshots ids: its block set,
 * handed over to the caller (*snaps), or a figure recent enough (1, with
 * *bytes and *age), or nothing (0). */
static int cache_take(struct vfs *v, uint64_t tree, const uint64_t *ids, long n,
                      struct store_blockset **snaps, uint64_t *bytes, uint64_t *age)
{
	time_t now = now_s();
	int hit = 0;
	*snaps = NULL;
	pthread_mutex_lock(&cache_lock);
	struct cached_bytes *c = cache_slot(v, tree);
	if (c->v == v && c->tree == tree && same_ids(c, ids, n)) {
		*snaps = c->snaps;
		kept_layers -= c->snaps ? store_blockset_layers(c->snaps) : 0;
		c->snaps = NULL;
		if (!*snaps && now - c->at < SNAPSHOT_BYTES_CACHE_SECONDS) {
			*bytes = c->bytes;
			*age = (uint64_t)(now - c->at);
			hit = 1;
		}
	}
	pthread_mutex_unlock(&cache_lock);
	return hit;
}

/* A test build (VOLFS_TEST_HOOKS) takes the budget from
 * VOLFS_TEST_SNAPSHOT_BYTES_KEEP_LAYERS, so that tests reach the figure
 * reuse past it without a volume of that many files. */
static size_t keep_budget(void)
{
#ifdef VOLFS_TEST_HOOKS
	const char *b = getenv("VOLFS_TEST_SNAPSHOT_BYTES_KEEP_LAYERS");
	if (b)
		return (size_t)strtoull(b, NULL, 10);
#endif
	return SNAPSHOT_BYTES_KEEP_LAYERS;
}

/* Free the sets of volumes not scraped for SNAPSHOT_BYTES_CACHE_SECONDS
 * (deleted ones among them), oldest first, until `layers` more fit in the
 * budget. cache_lock held. */
static void evict_idle_sets(size_t layers, time_t now)
{
	while (kept_layers + layers > keep_budget()) {
		struct cached_bytes *old = NULL;
		for (size_t i = 0; i < SNAPSHOT_BYTES_CACHE_SLOTS; i++) {
			struct cached_bytes *c = &cache[i];
			if (c->snaps && now - c->at >= SNAPSHOT_BYTES_CACHE_SECONDS && (!old || c->at < old->at))
				old = c;
		}
		if (!old)
			return;
		slot_clear(old);
	}
}

/* Keep snaps (built from ids, which the slot takes over) and the figure
 * counted from it, reading `rows` inode rows. A set past the budget is
 * freed; then only a costly figure is kept, with its time. */
static void cache_keep(struct vfs *v, uint64_t tree, uint64_t *ids, long n,
                       struct store_blockset *snaps, uint64_t bytes, uint64_t rows)
{
	time_t now = now_s();
	pthread_mutex_lock(&cache_lock);
	struct cached_bytes *c = cache_slot(v, tree);
	slot_clear(c);
	size_t layers = store_blockset_layers(snaps);
	evict_idle_sets(layers, now);
	if (kept_layers + layers <= keep_budget())
		kept_layers += layers;
	else {
		store_blockset_free(snaps);
		snaps = NULL;
	}
	if (snaps || rows >= SNAPSHOT_BYTES_CACHE_ROWS)
		*c = (struct cached_bytes){v, tree, ids, n, snaps, bytes, now};
	else
		free(ids);
	pthread_mutex_unlock(&cache_lock);
}

/* A volume with no snapshot left keeps no set. */
static void cache_drop(struct vfs *v, uint64_t tree)
{
	pthread_mutex_lock(&cache_lock);
	struct cached_bytes *c = cache_slot(v, tree);
	if (c->v == v && c->tree == tree)
		slot_clear(c);
	pthread_mutex_unlock(&cache_lock);
}

uint64_t snapshot_bytes_for_metrics(struct vfs *v, uint64_t tree, uint64_t *age)
{
	uint64_t *ids, bytes = 0, rows = 0;
	long n = snapshot_trees(v, tree, &ids);
	*age = 0;
	if (n <= 0) { /* none (or unreadable): they keep nothing */
		if (n == 0)
			cache_drop(v, tree);
		free(ids);
		return 0;
	}
	struct store_blockset *snaps;
	if (cache_take(v, tree, ids, n, &snaps, &bytes, age)) {
		free(ids);
		return bytes;
	}
	if (!snaps) {
		struct view_set s = {store_blockset_new(), 0};
		if (!s.blocks || add_trees_views(v, ids, n, &s) < 0) {
			store_blockset_free(s.blocks);
			free(ids);
			return 0;
		}
		snaps = s.blocks;
		rows = s.rows;
	}
	bytes = count_minus_live(v, tree, snaps, &rows);
	cache_keep(v, tree, ids, n, snaps, bytes, rows);
	return bytes;
}
