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
 * The metrics reuse a figure that took SNAPSHOT_BYTES_CACHE_ROWS rows or
 * more for up to SNAPSHOT_BYTES_CACHE_SECONDS, as long as the volume has
 * as many snapshots as then: a scrape every few seconds must not read
 * millions of rows each time. Smaller volumes are counted afresh.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "fs/control/snapshot.h"

/* Inodes read per hold of the db lock: each costs one row and one walk of
 * its object's layers, so a hold stays short whatever the volume's size. */
#define SNAPSHOT_BYTES_PAGE 256

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

static int add_snapshots_views(struct vfs *v, uint64_t tree, struct view_set *s)
{
	uint64_t *ids;
	long n = snapshot_trees(v, tree, &ids);
	int r = n < 0 ? (int)n : 0;
	for (long i = 0; r == 0 && i < n; i++)
		r = add_tree_views(v, ids[i], s);
	free(ids);
	return r;
}

/* Blocks the volume's snapshots keep that the volume itself does not read:
 * what the snapshots' files read, each block in the layer that holds it,
 * minus what the volume's files read. Blocks several snapshots share count
 * once; blocks a child layer shadows are read by nobody and count for no
 * one; a volume without snapshots keeps nothing for them. *rows: the inode
 * rows read. */
static uint64_t count_snapshot_bytes(struct vfs *v, uint64_t tree, uint64_t *rows)
{
	struct view_set snaps = {store_blockset_new(), 0};
	struct view_set live = {store_blockset_new(), 0};
	uint64_t blocks = 0;
	/* the snapshots' views first: without any, the live view need not be
	 * read (the common case, and the costly one) */
	if (snaps.blocks && live.blocks && add_snapshots_views(v, tree, &snaps) == 0 &&
	    store_blockset_count_minus(snaps.blocks, live.blocks) &&
	    add_tree_views(v, tree, &live) == 0)
		blocks = store_blockset_count_minus(snaps.blocks, live.blocks);
	*rows = snaps.rows + live.rows;
	store_blockset_free(snaps.blocks);
	store_blockset_free(live.blocks);
	return blocks * STORE_BLOCK;
}

uint64_t snapshot_bytes_of_volume(struct vfs *v, uint64_t tree)
{
	uint64_t rows;
	return count_snapshot_bytes(v, tree, &rows);
}

/* Figures the metrics may reuse: a volume's, with its snapshot count. */
struct cached_bytes {
	const struct vfs *v; /* NULL: free slot */
	uint64_t tree, snapshots, bytes;
	time_t at; /* CLOCK_MONOTONIC seconds */
};
static struct cached_bytes cache[SNAPSHOT_BYTES_CACHE_SLOTS];
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

uint64_t snapshot_bytes_for_metrics(struct vfs *v, uint64_t tree, uint64_t snapshots,
                                    uint64_t *age)
{
	time_t now = now_s();
	pthread_mutex_lock(&cache_lock);
	struct cached_bytes *c = cache_slot(v, tree);
	if (c->v == v && c->tree == tree && c->snapshots == snapshots &&
	    now - c->at < SNAPSHOT_BYTES_CACHE_SECONDS) {
		uint64_t bytes = c->bytes;
		*age = (uint64_t)(now - c->at);
		pthread_mutex_unlock(&cache_lock);
		return bytes;
	}
	pthread_mutex_unlock(&cache_lock);
	uint64_t rows, bytes = count_snapshot_bytes(v, tree, &rows);
	pthread_mutex_lock(&cache_lock);
	c = cache_slot(v, tree);
	if (rows >= SNAPSHOT_BYTES_CACHE_ROWS)
		*c = (struct cached_bytes){v, tree, snapshots, bytes, now};
	else if (c->v == v && c->tree == tree)
		c->v = NULL;
	pthread_mutex_unlock(&cache_lock);
	*age = 0;
	return bytes;
}
