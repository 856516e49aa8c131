/*
 * fs/control/snapshot_bytes.c — what a volume's snapshots keep (df's
 * SNAPSHOTS, volfs_volume_snapshot_bytes): the blocks the snapshots' views
 * read that the volume's own view does not.
 *
 * The objects each view reads come from one pass over the inode row
 * versions of the volume's family (vfs_views_scan, fs/vfs/views_scan.c),
 * each version read once, not each snapshot's view in turn: the cost goes
 * with the family's rows (the files and the versions changed between
 * snapshots), not with snapshots × files. The db lock is the one the data
 * path's fsync needs, so the pass reads a page of SNAPSHOT_BYTES_PAGE rows
 * per hold and releases it in between; a data object whose view is
 * already in a set is not walked again (the block set keeps which views
 * it has). A file changed between two pages is counted as one of the pages
 * saw it: the figure is an estimate while the volume is written, exact
 * when it rests. Nothing is kept between calls: every df and every scrape
 * counts afresh.
 */
#include <errno.h>

#include "fs/control/snapshot.h"

/* Rows read per hold of the db lock: each costs one row and up to two
 * walks of its object's layers, so a hold stays short whatever the
 * volume's size. */
#define SNAPSHOT_BYTES_PAGE 256

/* The block sets of the two sides: the snapshots' views, the volume's. */
struct view_sets {
	struct store *store;
	struct store_blockset *snaps, *live;
};

static int add_seen(void *arg, uint64_t obj, unsigned seen)
{
	struct view_sets *s = arg;
	int r = 0;
	if (seen & VFS_SEEN_BY_SNAPSHOTS)
		r = store_blockset_add_view(s->store, s->snaps, obj);
	if (r == 0 && (seen & VFS_SEEN_BY_VOLUME))
		r = store_blockset_add_view(s->store, s->live, obj);
	return r;
}

/* Blocks of the snapshots' views that the volume's own view does not
 * read, each in the layer that holds it, so blocks several snapshots
 * share count once and blocks a child layer shadows count for no one. */
uint64_t snapshot_bytes_count(struct vfs *v, uint64_t tree, uint64_t *rows)
{
	struct db *db = vfs_db(v);
	struct view_sets sets = {vfs_store(v), store_blockset_new(), store_blockset_new()};
	struct vfs_views_scan *scan = vfs_views_scan_new(tree);
	int r = sets.snaps && sets.live && scan ? 1 : -ENOMEM;
	while (r > 0) {
		db_lock(db);
		r = vfs_views_scan_step(v, scan, SNAPSHOT_BYTES_PAGE, add_seen, &sets);
		db_unlock(db);
	}
	uint64_t blocks = r == 0 ? store_blockset_count_minus(sets.snaps, sets.live) : 0;
	if (rows)
		*rows = scan ? vfs_views_scan_rows(scan) : 0;
	vfs_views_scan_free(scan);
	store_blockset_free(sets.snaps);
	store_blockset_free(sets.live);
	return blocks * STORE_BLOCK;
}

uint64_t snapshot_bytes_of_volume(struct vfs *v, uint64_t tree)
{
	return snapshot_bytes_count(v, tree, NULL);
}
