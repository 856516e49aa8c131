/*
 * tests/unit/test_lineage.c — metadata copy-on-write driven through the
 * namespace layer without FUSE (fs/vfs/lineage.c, tree.c, inode.c, dir.c):
 * a snapshot shares the volume's rows (it adds none), the first change of
 * a file copies its row up and leaves the snapshot's row and data alone,
 * deletions in the volume are whiteouts the snapshot does not see, and
 * deleting the snapshot leaves, once reclaimed, one row version a key and
 * a clean check; a deletion reclaims nothing before it answers, and its
 * reclaim keeps group commits bounded; a chain of deleted snapshots moves
 * none of the volume's rows; a snapshot adds as many rows at depth 40 as at
 * depth 2; a volume and its clone snapshotted in turn each see their own
 * versions; a lookup and stat read as many pages of meta.db in a volume
 * with 100 snapshots as in one without; deleting the oldest of k
 * snapshots changes rows in proportion to the changes between them, not
 * to the files, and so does deleting the last snapshot above a volume,
 * whose later writes then leave no version behind; deleting snapshots in
 * random orders leaves every view as it was; a volume's writes run the
 * statements that settle kept versions only while it has a kept parent.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/control/volume.h"
#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "meta/db.h"

static int64_t count(struct db *db, const char *sql)
{
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, sql);
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	db_finish(st);
	db_unlock(db);
	return n;
}

static int64_t rows(struct db *db)
{
	return count(db, "SELECT (SELECT count(*) FROM inodes) + (SELECT count(*) FROM dentries) + "
	                 "(SELECT count(*) FROM xattrs)");
}

/* Row versions with a newer version of the same key: with no snapshot
 * left, versions nobody sees. */
static int64_t shadowed_versions(struct db *db)
{
	return count(db, "SELECT (SELECT count(*) FROM inodes a JOIN inodes b ON b.family=a.family "
	                 "AND b.ino=a.ino AND b.lineage>a.lineage) + (SELECT count(*) FROM dentries a "
	                 "JOIN dentries b ON b.family=a.family AND b.parent=a.parent AND b.name=a.name "
	                 "AND b.lineage>a.lineage) + (SELECT count(*) FROM xattrs a JOIN xattrs b ON "
	                 "b.family=a.family AND b.ino=a.ino AND b.name=a.name AND b.lineage>a.lineage)");
}

static int64_t whiteouts(struct db *db)
{
	return count(db, "SELECT (SELECT count(*) FROM inodes WHERE whiteout=1) + (SELECT count(*) "
	                 "FROM dentries WHERE whiteout=1) + (SELECT count(*) FROM xattrs WHERE "
	                 "whiteout=1)");
}

static uint64_t snapshot(struct vfs *v, uint64_t tree)
{
	return unit_vfs_snapshot(v, tree, 1ull << 30);
}

/* The tree goes, and the reclaimer's work is done at once. */
static void delete_tree(struct vfs *v, uint64_t tree)
{
	unit_vfs_release(v, tree);
	assert_int_equal(vfs_reclaim(v), 0);
}

/* Rows of every table of meta.db (statements prepared here: db_prep
 * caches by the address of the SQL). */
static int64_t all_rows(struct db *db)
{
	int64_t total = 0;
	db_lock(db);
	sqlite3_stmt *tables;
	assert_int_equal(sqlite3_prepare_v2(db->h, "SELECT name FROM sqlite_master WHERE "
	                                           "type='table' AND name NOT LIKE 'sqlite_%'",
	                                    -1, &tables, NULL), SQLITE_OK);
	while (sqlite3_step(tables) == SQLITE_ROW) {
		char *sql = sqlite3_mprintf("SELECT count(*) FROM \"%w\"", sqlite3_column_text(tables, 0));
		sqlite3_stmt *st;
		assert_int_equal(sqlite3_prepare_v2(db->h, sql, -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		total += sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
		sqlite3_free(sql);
	}
	sqlite3_finalize(tables);
	db_unlock(db);
	return total;
}

static void write_file(struct vfs *v, uint64_t parent, const char *name, const char *text)
{
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	struct vfile *f;
	int r = vfs_lookup(v, parent, name, &e);
	if (r == 0)
		r = vfs_open(v, e.ino, O_WRONLY, &f);
	else
		r = vfs_create(v, parent, name, 0644, O_WRONLY, &ctx, &e, &f);
	assert_int_equal(r, 0);
	assert_int_equal(vfs_write(v, f, text, strlen(text), 0), (ssize_t)strlen(text));
	vfs_release(v, f);
	vfs_forget(v, e.ino, 1);
}

/* Files f0 .. f<n-1> under parent, each holding its own name. */
static void write_numbered_files(struct vfs *v, uint64_t parent, int n)
{
	char name[32];
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "f%d", i);
		write_file(v, parent, name, name);
	}
}

/* Files f<lo> .. f<hi-1> under parent get xattr user.k, their name. */
static void name_xattrs(struct vfs *v, uint64_t parent, int lo, int hi)
{
	for (int i = lo; i < hi; i++) {
		char name[32];
		struct vfs_entry e;
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(vfs_lookup(v, parent, name, &e), 0);
		assert_int_equal(vfs_setxattr(v, e.ino, "user.k", name, strlen(name), 0), 0);
		vfs_forget(v, e.ino, 1);
	}
}

/* The contents of parent/name, or "" if there is no such name. */
static const char *read_file(struct vfs *v, uint64_t parent, const char *name)
{
	static char buf[256];
	struct vfs_entry e;
	struct vfile *f;
	buf[0] = 0;
	if (vfs_lookup(v, parent, name, &e) < 0)
		return buf;
	assert_int_equal(vfs_open(v, e.ino, O_RDONLY, &f), 0);
	ssize_t n = vfs_read(v, f, buf, sizeof buf - 1, 0);
	assert_true(n >= 0);
	buf[n] = 0;
	vfs_release(v, f);
	vfs_forget(v, e.ino, 1);
	return buf;
}

static void no_report(void *arg, const char *msg)
{
	(void)arg;
	fail_msg("vfs_check: %s", msg);
}

static void check_clean(struct vfs *v)
{
	struct store_pending pending = {0};
	assert_int_equal(vfs_flush_all(v), 0);
	db_lock(vfs_db(v));
	assert_int_equal(vfs_check(v, no_report, NULL, &pending), 0);
	db_unlock(vfs_db(v));
}

static void test_snapshot_shares_rows_until_changed(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	struct db *db = vfs_db(v);
	write_numbered_files(v, root, 100);
	assert_int_equal(vfs_setxattr(v, VFS_INO(tree, 2), "user.k", "old", 3, 0), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	int64_t before = rows(db);
	uint64_t snap = unit_vfs_snapshot(v, tree, 1ull << 30), sroot = VFS_INO(snap, 1);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(rows(db), before); /* nothing copied */

	/* the volume changes; the snapshot does not */
	write_file(v, root, "f1", "new");
	assert_int_equal(vfs_unlink(v, root, "f2"), 0);
	assert_int_equal(vfs_rename(v, root, "f3", root, "g3", 0), 0);
	assert_int_equal(vfs_setxattr(v, VFS_INO(tree, 2), "user.k", "new", 3, 0), 0);
	assert_string_equal(read_file(v, root, "f1"), "new");
	assert_string_equal(read_file(v, sroot, "f1"), "f1");
	assert_string_equal(read_file(v, root, "f2"), "");
	assert_string_equal(read_file(v, sroot, "f2"), "f2");
	assert_string_equal(read_file(v, root, "g3"), "f3");
	assert_string_equal(read_file(v, sroot, "g3"), "");
	char val[8] = "";
	assert_int_equal(vfs_getxattr(v, VFS_INO(snap, 2), "user.k", val, sizeof val), 3);
	assert_memory_equal(val, "old", 3);
	assert_int_equal(vfs_getxattr(v, VFS_INO(tree, 2), "user.k", val, sizeof val), 3);
	assert_memory_equal(val, "new", 3);
	assert_int_equal(vfs_flush_all(v), 0);
	/* a few rows per change, not per file */
	assert_true(rows(db) - before <= 10);
	check_clean(v);

	/* the snapshot goes: once reclaimed, one version a key and no whiteout */
	delete_tree(v, snap);
	uint64_t lineages = 1, pending = 1;
	assert_int_equal(vfs_reclaim_pending(v, &lineages, &pending), 0);
	assert_int_equal(pending, 0);
	assert_int_equal(count(db, "SELECT count(*) FROM lineages WHERE dead=0"), 1);
	assert_int_equal(count(db, "SELECT count(*) FROM inodes"), 100); /* root + 99 files */
	assert_int_equal(count(db, "SELECT count(*) FROM inodes WHERE whiteout=1") +
	                 count(db, "SELECT count(*) FROM dentries WHERE whiteout=1"), 0);
	assert_string_equal(read_file(v, root, "f1"), "new");
	check_clean(v);
	vfs_close(v);
}

/* Deleting a volume answers after its O(1) change alone, however few files
 * it holds: every row is left to the reclaimer (no thread runs here), and
 * vfs_reclaim then folds them all away. */
static void test_deletion_leaves_every_row_to_the_reclaimer(void **state)
{
	(void)state;
	char err[256];
	struct vfs *v;
	assert_int_equal(vfs_open_state(&v, unit_dir, 0, err, sizeof err), 0);
	struct db *db = vfs_db(v);
	json_object *pv = NULL;
	assert_int_equal(volume_pv_create(v, "vol", 1ull << 30, 0, &pv, err, sizeof err), 0);
	json_object_put(pv);
	uint64_t root = VFS_INO(volume_pv_tree(v, "vol"), 1);
	write_file(v, root, "a", "a");
	write_file(v, root, "b", "b");
	assert_int_equal(vfs_flush_all(v), 0);
	int64_t held = rows(db); /* root, a, b, their names and their inline bytes */
	assert_int_equal(held, 7);
	assert_int_equal(volume_pv_delete(v, "vol", err, sizeof err), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(unit_vfs_pending_rows(v), held);
	assert_int_equal(rows(db), held);
	assert_int_equal(vfs_reclaim(v), 0);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	assert_int_equal(rows(db), 0);
	assert_int_equal(count(db, "SELECT count(*) FROM lineages"), 0);
	check_clean(v);
	vfs_close(v);
}

/* The reclaimer's steps are bounded in row changes, and it commits the
 * open group before a step that would not fit: no group commit (which a
 * writer's fsync may pay for) holds much more than the background bound,
 * however many rows a deleted volume left. */
static void test_reclaim_keeps_group_commits_bounded(void **state)
{
	(void)state;
	char err[256];
	struct vfs *v;
	assert_int_equal(vfs_open_state(&v, unit_dir, 0, err, sizeof err), 0);
	struct db *db = vfs_db(v);
	json_object *pv = NULL;
	assert_int_equal(volume_pv_create(v, "vol", 1ull << 30, 0, &pv, err, sizeof err), 0);
	json_object_put(pv);
	uint64_t root = VFS_INO(volume_pv_tree(v, "vol"), 1);
	write_numbered_files(v, root, 400);
	assert_int_equal(volume_pv_delete(v, "vol", err, sizeof err), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	db_lock(db);
	assert_int_equal(db_group_commit(db), 0);
	db->group_changes_max = 0;
	db_unlock(db);
	assert_true(unit_vfs_pending_rows(v) > 800);
	assert_int_equal(vfs_reclaim(v), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	assert_true(db->group_changes_max > 0);
	assert_true(db->group_changes_max <= DB_BACKGROUND_GROUP_CHANGES + 16);
	check_clean(v);
	vfs_close(v);
}

/* Snapshots of an unchanged volume, deleted oldest first before the
 * reclaimer runs: the volume's rows stay where they are, in the kept
 * lineage above the volume, and the reclaim changes a few lineage and
 * span rows a snapshot (its writes are what a writer's fsync competes
 * with on the host). */
static void test_deleted_chain_moves_no_rows(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	struct db *db = vfs_db(v);
	write_numbered_files(v, root, 40);
	assert_int_equal(vfs_flush_all(v), 0);
	int64_t held = rows(db); /* root, the files and their names */
	uint64_t snaps[4];
	for (int k = 0; k < 4; k++)
		snaps[k] = snapshot(v, tree);
	for (int k = 0; k < 4; k++)
		unit_vfs_release(v, snaps[k]);
	assert_int_equal(vfs_flush_all(v), 0);
	db_lock(db);
	int64_t before = sqlite3_total_changes64(db->h);
	db_unlock(db);
	assert_int_equal(vfs_reclaim(v), 0);
	db_lock(db);
	int64_t changes = sqlite3_total_changes64(db->h) - before;
	db_unlock(db);
	assert_true(changes < 4 * 16);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	assert_int_equal(rows(db), held);
	assert_string_equal(read_file(v, root, "f39"), "f39");
	check_clean(v);
	vfs_close(v);
}

/* Snapshot k of a volume adds as many rows to meta.db as snapshot 2 did:
 * its lineage's ancestors do not cost a row each. */
static void test_snapshot_rows_do_not_grow_with_depth(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	struct db *db = vfs_db(v);
	write_file(v, root, "f", "0");
	int64_t added[41] = {0};
	for (int k = 1; k <= 40; k++) {
		assert_int_equal(vfs_flush_all(v), 0);
		int64_t before = all_rows(db);
		snapshot(v, tree);
		assert_int_equal(vfs_flush_all(v), 0);
		added[k] = all_rows(db) - before;
	}
	assert_true(added[2] > 0);
	assert_int_equal(added[40], added[2]);
	check_clean(v);
	vfs_close(v);
}

/* A volume and its clone snapshotted in turn: their lineages interleave in
 * the family, so each one's ancestors are cut around the other's; every
 * tree still sees its own versions, deleting the oldest snapshots leaves
 * the others as they were, and once the clone's branch is gone the
 * volume's ancestors are one span a lineage again. */
static void test_interleaved_branches_see_their_own(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t a = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	write_file(v, VFS_INO(a, 1), "f", "a0");
	uint64_t b = unit_vfs_clone(v, a, 1ull << 30);
	uint64_t sa[4], sb[4];
	char text[16];
	for (int k = 1; k <= 3; k++) {
		sa[k] = snapshot(v, a);
		snprintf(text, sizeof text, "a%d", k);
		write_file(v, VFS_INO(a, 1), "f", text);
		sb[k] = snapshot(v, b);
		snprintf(text, sizeof text, "b%d", k);
		write_file(v, VFS_INO(b, 1), "f", text);
	}
	check_clean(v);
	for (int round = 0; round < 2; round++) {
		assert_string_equal(read_file(v, VFS_INO(a, 1), "f"), "a3");
		assert_string_equal(read_file(v, VFS_INO(b, 1), "f"), "b3");
		for (int k = 1 + round; k <= 3; k++) {
			snprintf(text, sizeof text, "a%d", k - 1);
			assert_string_equal(read_file(v, VFS_INO(sa[k], 1), "f"), text);
			snprintf(text, sizeof text, k == 1 ? "a0" : "b%d", k - 1);
			assert_string_equal(read_file(v, VFS_INO(sb[k], 1), "f"), text);
		}
		if (round == 0) {
			delete_tree(v, sa[1]);
			delete_tree(v, sb[1]);
			check_clean(v);
		}
	}
	/* the clone's branch goes: the volume's ancestors are one span again */
	struct db *db = vfs_db(v);
	assert_true(count(db, "SELECT count(*) FROM ancestor_spans") >
	            count(db, "SELECT count(*) FROM lineages"));
	delete_tree(v, sb[2]);
	delete_tree(v, sb[3]);
	delete_tree(v, b);
	check_clean(v);
	assert_int_equal(count(db, "SELECT count(*) FROM ancestor_spans"),
	                 count(db, "SELECT count(*) FROM lineages"));
	assert_string_equal(read_file(v, VFS_INO(a, 1), "f"), "a3");
	assert_string_equal(read_file(v, VFS_INO(sa[2], 1), "f"), "a1");
	assert_string_equal(read_file(v, VFS_INO(sa[3], 1), "f"), "a2");
	vfs_close(v);
}

/* Pages of meta.db (SQLite page cache hits and misses) that a lookup of
 * name in root and a stat of what it names read, the inode not in memory
 * before. */
static uint64_t lookup_pages(struct vfs *v, uint64_t root, const char *name)
{
	struct db_page_cache_stats before, after;
	struct vfs_entry e;
	struct stat st;
	db_page_cache_stats(vfs_db(v), &before);
	assert_int_equal(vfs_lookup(v, root, name, &e), 0);
	assert_int_equal(vfs_getattr(v, e.ino, &st), 0);
	db_page_cache_stats(vfs_db(v), &after);
	vfs_forget(v, e.ino, 1);
	return after.hits + after.misses - before.hits - before.misses;
}

static int count_statement(unsigned type, void *arg, void *stmt, void *sql)
{
	(void)type, (void)stmt, (void)sql;
	++*(int *)arg;
	return 0;
}

/* Statements begun by a lookup of `name` under root whose inode is not in
 * memory (its row is read with the name's). */
static int lookup_statements(struct vfs *v, uint64_t root, const char *name)
{
	int begun = 0;
	struct vfs_entry e;
	db_lock(vfs_db(v));
	sqlite3_trace_v2(vfs_db(v)->h, SQLITE_TRACE_STMT, count_statement, &begun);
	db_unlock(vfs_db(v));
	assert_int_equal(vfs_lookup(v, root, name, &e), 0);
	db_lock(vfs_db(v));
	sqlite3_trace_v2(vfs_db(v)->h, 0, NULL, NULL);
	db_unlock(vfs_db(v));
	vfs_forget(v, e.ino, 1);
	return begun;
}

/* A volume with 100 snapshots (a clone of it snapshotted in turn, so its
 * lineage's ancestors are many spans) and one with one snapshot (a volume
 * never snapshotted reads its own rows only, with fewer pages), the same
 * files changed in both: a lookup and stat read as many pages in either, for a
 * file changed never, once, or at every snapshot. The versions of a name
 * or an inode are scanned newest first and the lineage's ancestors probed
 * by two index seeks, whatever the number of snapshots. (Versions a
 * sibling branch wrote, newer than the volume's, are scanned and skipped
 * at two page reads each: the clone writes none of the files looked up.)
 * Either way a lookup is one statement. */
static void test_lookup_pages_do_not_grow_with_snapshots(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t live = unit_vfs_volume(&v, unit_dir, 1ull << 30), plain = unit_vfs_add_volume(v, 1ull << 30);
	uint64_t roots[2] = {VFS_INO(live, 1), VFS_INO(plain, 1)};
	char name[32], text[32];
	for (int i = 0; i < 300; i++)
		for (int j = 0; j < 2; j++) {
			snprintf(name, sizeof name, "f%03d", i);
			write_file(v, roots[j], name, name);
		}
	uint64_t fresh[5];
	static const char *const names[] = {"f000", "f050", "f150", "f200", "f299"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		fresh[i] = lookup_pages(v, roots[1], names[i]);
	snapshot(v, plain);
	uint64_t clone = unit_vfs_clone(v, live, 1ull << 30);
	for (int k = 1; k <= 100; k++) {
		snapshot(v, live);
		if (k % 10 == 0) {
			snapshot(v, clone);
			write_file(v, VFS_INO(clone, 1), "c", "clone");
		}
		snprintf(name, sizeof name, "f%03d", 100 + k);
		snprintf(text, sizeof text, "%d", k);
		for (int j = 0; j < 2; j++) {
			write_file(v, roots[j], name, text); /* changed once */
			write_file(v, roots[j], "f299", text); /* changed at every snapshot */
		}
	}
	assert_int_equal(vfs_flush_all(v), 0);
	struct db *db = vfs_db(v);
	assert_true(count(db, "SELECT count(*) FROM ancestor_spans") >
	            count(db, "SELECT count(*) FROM lineages"));
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		uint64_t p = lookup_pages(v, roots[1], names[i]);
		assert_true(p > 0);
		assert_true(fresh[i] > 0 && fresh[i] <= p);
		assert_int_equal(lookup_pages(v, roots[0], names[i]), p);
		/* one statement reads the name's and the inode's versions */
		assert_int_equal(lookup_statements(v, roots[0], names[i]), 1);
		assert_int_equal(lookup_statements(v, roots[1], names[i]), 1);
	}
	check_clean(v);
	vfs_close(v);
}

/* Row changes meta.db made while fn ran. */
static int64_t changes_during(struct vfs *v, void (*fn)(struct vfs *, uint64_t), uint64_t tree)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	int64_t before = sqlite3_total_changes64(db->h);
	db_unlock(db);
	fn(v, tree);
	db_lock(db);
	int64_t after = sqlite3_total_changes64(db->h);
	db_unlock(db);
	return after - before;
}

/* m files of the volume rewritten, one removed and one made: the changes
 * between two snapshots (round r makes them differ). */
static void change_files(struct vfs *v, uint64_t root, int m, int round)
{
	char name[32], text[32];
	for (int i = 0; i < m; i++) {
		snprintf(name, sizeof name, "f%d", round * m + i);
		snprintf(text, sizeof text, "r%d", round);
		write_file(v, root, name, text);
	}
	snprintf(name, sizeof name, "f%d", 500 + round);
	assert_int_equal(vfs_unlink(v, root, name), 0);
	snprintf(name, sizeof name, "new%d", round);
	write_file(v, root, name, name);
}

/* Deleting the oldest of k snapshots of an N-file volume (what a
 * schedule's retention does) costs row changes in proportion to the m
 * changes between snapshots, not to N: the rows the snapshots share stay
 * where they are, in a kept lineage, and only the versions nobody sees
 * any more go. */
static void test_oldest_snapshot_reclaim_costs_its_changes(void **state)
{
	(void)state;
	enum { N = 1000, K = 4, M = 10 };
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	write_numbered_files(v, root, N);
	uint64_t snaps[K];
	for (int k = 0; k < K; k++) {
		snaps[k] = snapshot(v, tree);
		change_files(v, root, M, k);
	}
	assert_int_equal(vfs_flush_all(v), 0);
	for (int k = 0; k < K - 1; k++) {
		int64_t changes = changes_during(v, delete_tree, snaps[k]);
		/* a few row changes a changed file (its inode, name, the kept
		 * version going), and a few lineage and span rows */
		assert_true(changes <= 8 * (M + 2) + 32);
		assert_int_equal(unit_vfs_pending_rows(v), 0);
		check_clean(v);
	}
	/* every snapshot still sees what it saw, and so does the volume */
	assert_string_equal(read_file(v, VFS_INO(snaps[K - 1], 1), "f0"), "r0");
	assert_string_equal(read_file(v, VFS_INO(snaps[K - 1], 1), "f35"), "f35");
	assert_string_equal(read_file(v, VFS_INO(snaps[K - 1], 1), "new2"), "new2");
	assert_string_equal(read_file(v, VFS_INO(snaps[K - 1], 1), "new3"), "");
	assert_string_equal(read_file(v, root, "f35"), "r35"); /* "r3" over "f35" */
	assert_string_equal(read_file(v, root, "f999"), "f999");
	assert_string_equal(read_file(v, root, "f501"), "");
	/* the last snapshot goes too: the volume holds one version a key */
	delete_tree(v, snaps[K - 1]);
	assert_int_equal(count(vfs_db(v), "SELECT count(*) FROM lineages WHERE dead=0"), 1);
	assert_int_equal(count(vfs_db(v), "SELECT count(*) FROM inodes"), 1 + N - K + K);
	assert_string_equal(read_file(v, root, "f35"), "r35"); /* "r3" over "f35" */
	check_clean(v);
	vfs_close(v);
}

struct view {
	char text[16384];
	size_t len;
};

static int add_name(void *arg, const char *name, const struct stat *st, int64_t next)
{
	(void)st;
	(void)next;
	struct view *w = arg;
	if (strcmp(name, ".") && strcmp(name, ".."))
		w->len += (size_t)snprintf(w->text + w->len, sizeof w->text - w->len, "%s\n", name);
	assert_true(w->len < sizeof w->text);
	return 0;
}

static int line_order(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* What a tree's root shows: each name with its contents and its user.k
 * xattr, sorted. */
static void view_of(struct vfs *v, uint64_t tree, struct view *out)
{
	struct view names = {.len = 0};
	uint64_t root = VFS_INO(tree, 1);
	assert_int_equal(vfs_readdir(v, root, 0, add_name, &names), 0);
	char *lines[512];
	size_t n = 0;
	for (char *save, *l = strtok_r(names.text, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		assert_true(n < 512);
		lines[n++] = l;
	}
	qsort(lines, n, sizeof lines[0], line_order);
	out->len = 0;
	for (size_t i = 0; i < n; i++) {
		struct vfs_entry e;
		char x[16] = "";
		assert_int_equal(vfs_lookup(v, root, lines[i], &e), 0);
		ssize_t xl = vfs_getxattr(v, e.ino, "user.k", x, sizeof x - 1);
		x[xl > 0 ? xl : 0] = 0;
		vfs_forget(v, e.ino, 1);
		out->len += (size_t)snprintf(out->text + out->len, sizeof out->text - out->len,
		                             "%s=%s [%s]\n", lines[i], read_file(v, root, lines[i]), x);
		assert_true(out->len < sizeof out->text);
	}
}

/* Deleting a volume's snapshots in random orders, reclaiming after some
 * deletions and not others, leaves the volume and every snapshot still
 * there showing what they showed, and a clean check; once all are gone,
 * the volume sees one version a key and nothing else is left. */
static void test_deleting_snapshots_in_any_order_keeps_views(void **state)
{
	(void)state;
	enum { K = 6, ROUNDS = 4 };
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	write_numbered_files(v, root, 60);
	unsigned seed = 17;
	static struct view want[K + 1], got;
	for (int round = 0; round < ROUNDS; round++) {
		uint64_t snaps[K];
		for (int k = 0; k < K; k++) {
			snaps[k] = snapshot(v, tree);
			char name[32];
			for (int c = 0; c < 6; c++) {
				int f = rand_r(&seed) % 70, op = rand_r(&seed) % 4;
				snprintf(name, sizeof name, "f%d", f);
				struct vfs_entry e;
				if (op == 0) {
					vfs_unlink(v, root, name);
				} else if (op == 1 && vfs_lookup(v, root, name, &e) == 0) {
					char val[16];
					snprintf(val, sizeof val, "x%d", k);
					assert_int_equal(vfs_setxattr(v, e.ino, "user.k", val, strlen(val), 0), 0);
					vfs_forget(v, e.ino, 1);
				} else {
					char text[48];
					snprintf(text, sizeof text, "%d.%d.%d", round, k, c);
					write_file(v, root, name, text);
				}
			}
		}
		assert_int_equal(vfs_flush_all(v), 0);
		for (int k = 0; k < K; k++)
			view_of(v, snaps[k], &want[k]);
		view_of(v, tree, &want[K]);
		int order[K];
		for (int k = 0; k < K; k++)
			order[k] = k;
		for (int k = K - 1; k > 0; k--) {
			int j = rand_r(&seed) % (k + 1), t = order[k];
			order[k] = order[j];
			order[j] = t;
		}
		for (int i = 0; i < K; i++) {
			unit_vfs_release(v, snaps[order[i]]);
			snaps[order[i]] = 0;
			if (rand_r(&seed) % 3 == 0 && i < K - 1)
				continue; /* several released before a reclaim */
			assert_int_equal(vfs_reclaim(v), 0);
			for (int k = 0; k <= K; k++) {
				if (k < K && !snaps[k])
					continue;
				view_of(v, k < K ? snaps[k] : tree, &got);
				assert_string_equal(got.text, want[k].text);
			}
			check_clean(v);
		}
		assert_int_equal(unit_vfs_pending_rows(v), 0);
		assert_int_equal(count(vfs_db(v), "SELECT count(*) FROM lineages WHERE dead=0"), 1);
		assert_int_equal(shadowed_versions(vfs_db(v)), 0);
		/* and no whiteout, with nothing left to hide */
		assert_int_equal(whiteouts(vfs_db(v)), 0);
	}
	vfs_close(v);
}

/* Changes made to the volume the same way on each pass (pass p differs):
 * files rewritten, one removed, one renamed, one made, an xattr set and
 * one removed. */
static void change_volume(struct vfs *v, uint64_t tree, int pass)
{
	uint64_t root = VFS_INO(tree, 1);
	char name[32], to[32], text[32];
	for (int i = 0; i < 5; i++) {
		snprintf(name, sizeof name, "f%d", 10 * pass + i);
		snprintf(text, sizeof text, "pass%d", pass); /* as long as any name */
		write_file(v, root, name, text);
	}
	snprintf(name, sizeof name, "f%d", 100 + pass);
	assert_int_equal(vfs_unlink(v, root, name), 0);
	snprintf(name, sizeof name, "f%d", 200 + pass);
	snprintf(to, sizeof to, "g%d", pass);
	assert_int_equal(vfs_rename(v, root, name, root, to, 0), 0);
	snprintf(name, sizeof name, "new%d", pass);
	write_file(v, root, name, name);
	struct vfs_entry e;
	snprintf(name, sizeof name, "f%d", 300 + pass);
	assert_int_equal(vfs_lookup(v, root, name, &e), 0);
	assert_int_equal(vfs_setxattr(v, e.ino, "user.k", text, strlen(text), 0), 0);
	vfs_forget(v, e.ino, 1);
	snprintf(name, sizeof name, "f%d", 10 * (300 / 10 + pass) + 3); /* f303, f313, ... */
	assert_int_equal(vfs_lookup(v, root, name, &e), 0);
	vfs_removexattr(v, e.ino, "user.k");
	vfs_forget(v, e.ino, 1);
}

/* Deleting the only snapshot of an N-file volume (a schedule keeping one,
 * or one taken before a migration) changes rows in proportion to the
 * changes made since, not to N, and the volume shows what it showed;
 * its later writes leave no version behind, and a new snapshot, its
 * deletion and a clone all see what they should. */
static void test_last_snapshot_reclaim_costs_its_changes(void **state)
{
	(void)state;
	enum { N = 400 };
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	struct db *db = vfs_db(v);
	write_numbered_files(v, root, N);
	name_xattrs(v, root, 300, 340); /* xattrs on f300 .. f339 */
	uint64_t snap = snapshot(v, tree);
	change_volume(v, tree, 0);
	assert_int_equal(vfs_flush_all(v), 0);
	static struct view want, got, want_snap;
	view_of(v, tree, &want);

	int64_t changes = changes_during(v, delete_tree, snap);
	/* about 10 keys changed: their kept versions and the whiteouts over
	 * them go, and a few lineage and span rows; not N rows moved */
	assert_true(changes <= 64);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	view_of(v, tree, &got);
	assert_string_equal(got.text, want.text);
	assert_int_equal(shadowed_versions(db), 0);
	assert_int_equal(whiteouts(db), 0);
	check_clean(v);

	/* writes of the volume settle the kept versions of what they touch */
	change_volume(v, tree, 1);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(shadowed_versions(db), 0);
	assert_int_equal(whiteouts(db), 0);
	assert_string_equal(read_file(v, root, "f10"), "pass1");
	assert_string_equal(read_file(v, root, "f101"), "");
	assert_string_equal(read_file(v, root, "g1"), "f201");
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	check_clean(v);

	/* a new snapshot sees the kept rows; the volume's writes leave them */
	snap = snapshot(v, tree);
	view_of(v, snap, &want_snap);
	change_volume(v, tree, 2);
	assert_int_equal(vfs_flush_all(v), 0);
	view_of(v, snap, &got);
	assert_string_equal(got.text, want_snap.text);
	assert_string_equal(read_file(v, VFS_INO(snap, 1), "f20"), "f20");
	assert_string_equal(read_file(v, root, "f20"), "pass2");
	view_of(v, tree, &want);
	uint64_t copy = unit_vfs_clone(v, tree, 1ull << 30);
	view_of(v, copy, &got);
	assert_string_equal(got.text, want.text);
	delete_tree(v, snap);
	view_of(v, tree, &got);
	assert_string_equal(got.text, want.text);
	view_of(v, copy, &got);
	assert_string_equal(got.text, want.text);
	check_clean(v);

	/* the clone writes on its own, and goes */
	change_volume(v, copy, 3);
	assert_string_equal(read_file(v, VFS_INO(copy, 1), "f30"), "pass3");
	assert_string_equal(read_file(v, root, "f30"), "f30");
	delete_tree(v, copy);
	view_of(v, tree, &got);
	assert_string_equal(got.text, want.text);
	change_volume(v, tree, 4);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	assert_int_equal(shadowed_versions(db), 0);
	assert_int_equal(whiteouts(db), 0);
	check_clean(v);
	vfs_close(v);
}

/* Statements begun on the state's connection while counting is on: those
 * that settle a kept version (a DELETE or UPDATE naming KEPT_PARENT,
 * fs/vfs/vfs_int.h) and the reads of whether a tree's lineage has a kept
 * parent (lineage_parent_kept). */
static struct kept_statements {
	int settles, probes;
} counted;

static int count_kept_statement(unsigned type, void *arg, void *stmt, void *sql)
{
	(void)type, (void)arg, (void)sql;
	const char *text = sqlite3_sql(stmt);
	if (!strstr(text, "kp_.dead"))
		return 0;
	if (!strncmp(text, "DELETE", 6) || !strncmp(text, "UPDATE", 6))
		counted.settles++;
	else if (!strncmp(text, "SELECT (SELECT kp_.", 19))
		counted.probes++;
	return 0;
}

static void count_kept_statements(struct vfs *v, int on)
{
	if (on)
		counted = (struct kept_statements){0};
	db_lock(vfs_db(v));
	sqlite3_trace_v2(vfs_db(v)->h, on ? SQLITE_TRACE_STMT : 0, count_kept_statement, NULL);
	db_unlock(vfs_db(v));
}

/* One of each write that settles a kept version, on fK..fK+3 of root: a
 * name made, a name and its inode removed (the row by the flusher), an
 * xattr set (the inode copied up) and a file rewritten (copied up). */
static void write_each_kind(struct vfs *v, uint64_t root, int k)
{
	char name[32];
	snprintf(name, sizeof name, "new%d", k);
	write_file(v, root, name, name);
	snprintf(name, sizeof name, "f%d", k);
	assert_int_equal(vfs_unlink(v, root, name), 0);
	struct vfs_entry e;
	snprintf(name, sizeof name, "f%d", k + 1);
	assert_int_equal(vfs_lookup(v, root, name, &e), 0);
	assert_int_equal(vfs_setxattr(v, e.ino, "user.k", "new", 3, 0), 0);
	vfs_forget(v, e.ino, 1);
	snprintf(name, sizeof name, "f%d", k + 2);
	write_file(v, root, name, "rewritten");
	assert_int_equal(vfs_flush_all(v), 0);
}

/* A volume whose parent lineage is a live snapshot's has no kept parent:
 * its writes run no statement naming KEPT_PARENT, and ask whether it has
 * one once at most. Once that snapshot is deleted (the tree's answer was
 * read before), its writes settle the kept versions again, before and after
 * the reclaimer has been; a rolled-back change makes the next write ask
 * again. The kept lineage is left holding no version nobody sees. */
static void test_kept_parent_statements_only_when_kept(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	struct db *db = vfs_db(v);
	write_numbered_files(v, root, 20);
	name_xattrs(v, root, 0, 20); /* xattrs the snapshot keeps */
	uint64_t snap = snapshot(v, tree);
	assert_int_equal(vfs_flush_all(v), 0);

	count_kept_statements(v, 1);
	write_each_kind(v, root, 0);
	write_each_kind(v, root, 4);
	count_kept_statements(v, 0);
	assert_int_equal(counted.settles, 0);
	assert_true(counted.probes <= 1); /* the snapshot's flush may have asked */
	check_clean(v);

	/* the snapshot goes: its lineage is the volume's kept parent */
	unit_vfs_release(v, snap);
	count_kept_statements(v, 1);
	write_each_kind(v, root, 8);
	count_kept_statements(v, 0);
	assert_true(counted.settles >= 4);
	assert_int_equal(counted.probes, 1);
	assert_int_equal(vfs_reclaim(v), 0);
	count_kept_statements(v, 1);
	write_each_kind(v, root, 12);
	count_kept_statements(v, 0);
	assert_true(counted.settles >= 4);
	assert_int_equal(counted.probes, 1);
	assert_int_equal(shadowed_versions(db), 0);
	assert_int_equal(whiteouts(db), 0);
	assert_string_equal(read_file(v, root, "f10"), "rewritten");
	assert_string_equal(read_file(v, root, "f8"), "");
	check_clean(v);

	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	db_rollback(db);
	db_unlock(db);
	count_kept_statements(v, 1);
	write_each_kind(v, root, 16);
	count_kept_statements(v, 0);
	assert_int_equal(counted.probes, 1);
	assert_int_equal(shadowed_versions(db), 0);
	check_clean(v);
	vfs_close(v);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_snapshot_shares_rows_until_changed, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_deletion_leaves_every_row_to_the_reclaimer, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_reclaim_keeps_group_commits_bounded, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_snapshot_rows_do_not_grow_with_depth, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_chain_moves_no_rows, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_interleaved_branches_see_their_own, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lookup_pages_do_not_grow_with_snapshots, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_oldest_snapshot_reclaim_costs_its_changes, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_deleting_snapshots_in_any_order_keeps_views, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_last_snapshot_reclaim_costs_its_changes, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_kept_parent_statements_only_when_kept, unit_vfs_setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
