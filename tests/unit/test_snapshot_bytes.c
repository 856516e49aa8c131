/*
 * tests/unit/test_snapshot_bytes.c — what a volume's snapshots keep (df's
 * SNAPSHOTS, volfs_volume_snapshot_bytes: fs/control/snapshot_bytes.c over
 * fs/vfs/views_scan.c): on a random history of snapshots, changes,
 * deletions (reclaimed or still pending), a clone and a restore, the one
 * pass over a family's rows finds the data objects and the bytes that
 * reading each snapshot's view in turn finds; and it reads each row
 * version once, however many snapshots see it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/control/snapshot.h"
#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "meta/db.h"

#define CAPACITY (1ull << 30)

/* Write len bytes of pattern seed at off of parent/name, made if missing. */
static void write_at(struct vfs *v, uint64_t parent, const char *name, uint64_t off, size_t len,
                     unsigned seed)
{
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	struct vfile *f;
	int r = vfs_lookup(v, parent, name, &e);
	r = r == 0 ? vfs_open(v, e.ino, O_WRONLY, &f)
	           : vfs_create(v, parent, name, 0644, O_WRONLY, &ctx, &e, &f);
	assert_int_equal(r, 0);
	static uint8_t buf[4 * STORE_BLOCK];
	assert_true(len <= sizeof buf);
	unit_fill(buf, len, off, seed);
	assert_int_equal(vfs_write(v, f, buf, len, off), (ssize_t)len);
	vfs_release(v, f);
	vfs_forget(v, e.ino, 1);
}

static int64_t count(struct vfs *v, const char *sql, uint64_t arg)
{
	db_lock(vfs_db(v));
	sqlite3_stmt *st = db_prep(vfs_db(v), sql);
	sqlite3_bind_int64(st, 1, (int64_t)arg);
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	db_finish(st);
	db_unlock(vfs_db(v));
	return n;
}

/* The inode row versions of tree's family. */
static int64_t family_rows(struct vfs *v, uint64_t tree)
{
	return count(v, "SELECT count(*) FROM inodes WHERE family=(SELECT l.family FROM trees t JOIN "
	                "lineages l ON l.id=t.lineage WHERE t.id=?1)", tree);
}

/* A set of data object ids. */
#define OBJS_MAX 4096
struct objs {
	uint64_t a[OBJS_MAX];
	size_t n;
};

static int objs_add(struct objs *s, uint64_t id)
{
	if (s->n == OBJS_MAX)
		return -ENOSPC;
	s->a[s->n++] = id;
	return 0;
}

static int cmp_id(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void objs_settle(struct objs *s)
{
	qsort(s->a, s->n, sizeof s->a[0], cmp_id);
	size_t kept = 0;
	for (size_t i = 0; i < s->n; i++)
		if (kept == 0 || s->a[kept - 1] != s->a[i])
			s->a[kept++] = s->a[i];
	s->n = kept;
}

/* What a build found: the objects the snapshots' views read, those the
 * volume's reads, the bytes only the snapshots hold, the rows it read. */
struct build {
	struct objs snaps, live;
	uint64_t bytes, rows;
};

/* Tree's view, page by page (vfs_tree_objs_page), into set and blocks. */
static void add_view(struct vfs *v, uint64_t tree, struct objs *set, struct store_blockset *blocks,
                     uint64_t *rows)
{
	uint64_t objs[64], after = 0;
	long n;
	do {
		db_lock(vfs_db(v));
		n = vfs_tree_objs_page(v, tree, &after, objs, 64);
		int r = 0;
		for (long i = 0; r == 0 && i < n; i++)
			r = store_blockset_add_view(vfs_store(v), blocks, objs[i]);
		db_unlock(vfs_db(v));
		assert_true(n >= 0);
		assert_int_equal(r, 0);
		*rows += (uint64_t)n;
		for (long i = 0; i < n; i++)
			assert_int_equal(objs_add(set, objs[i]), 0);
	} while (n == 64);
}

/* The per-snapshot build: each snapshot's view read in turn, then the
 * volume's. */
static void per_snapshot_build(struct vfs *v, uint64_t tree, struct build *b)
{
	uint64_t snaps[256];
	size_t n = 0;
	db_lock(vfs_db(v));
	sqlite3_stmt *st = db_prep(vfs_db(v), "SELECT id FROM trees WHERE origin=? AND kind='snapshot'");
	sqlite3_bind_int64(st, 1, (int64_t)tree);
	while (n < 256 && sqlite3_step(st) == SQLITE_ROW)
		snaps[n++] = (uint64_t)sqlite3_column_int64(st, 0);
	db_finish(st);
	db_unlock(vfs_db(v));
	struct store_blockset *s = store_blockset_new(), *l = store_blockset_new();
	assert_non_null(s);
	assert_non_null(l);
	for (size_t i = 0; i < n; i++)
		add_view(v, snaps[i], &b->snaps, s, &b->rows);
	add_view(v, tree, &b->live, l, &b->rows);
	b->bytes = n ? store_blockset_count_minus(s, l) * STORE_BLOCK : 0;
	store_blockset_free(s);
	store_blockset_free(l);
	objs_settle(&b->snaps);
	objs_settle(&b->live);
}

static int collect(void *arg, uint64_t obj, unsigned seen)
{
	struct build *b = arg;
	int r = 0;
	if (seen & VFS_SEEN_BY_SNAPSHOTS)
		r = objs_add(&b->snaps, obj);
	if (r == 0 && (seen & VFS_SEEN_BY_VOLUME))
		r = objs_add(&b->live, obj);
	return r;
}

/* The one pass: its objects, with pages of `page` rows (a key's versions
 * then often straddle two), and the bytes snapshot_bytes_count makes of
 * them. */
static void one_pass(struct vfs *v, uint64_t tree, size_t page, struct build *b)
{
	struct vfs_views_scan *scan = vfs_views_scan_new(tree);
	assert_non_null(scan);
	int r;
	do {
		db_lock(vfs_db(v));
		r = vfs_views_scan_step(v, scan, page, collect, b);
		db_unlock(vfs_db(v));
	} while (r > 0);
	assert_int_equal(r, 0);
	vfs_views_scan_free(scan);
	objs_settle(&b->snaps);
	objs_settle(&b->live);
	b->bytes = snapshot_bytes_count(v, tree, &b->rows);
}

static void expect_same_objs(const struct objs *got, const struct objs *want, const char *what,
                             int step)
{
	if (got->n != want->n || memcmp(got->a, want->a, got->n * sizeof got->a[0]))
		fail_msg("step %d: the one pass finds %zu objects in the %s views, reading each view "
		         "finds %zu", step, got->n, what, want->n);
}

/* The one pass agrees with the per-snapshot build on tree. */
static void expect_builds_agree(struct vfs *v, uint64_t tree, int step, unsigned *seed)
{
	static struct build want, got;
	memset(&want, 0, sizeof want);
	memset(&got, 0, sizeof got);
	per_snapshot_build(v, tree, &want);
	one_pass(v, tree, 1 + (size_t)(rand_r(seed) % 9), &got);
	expect_same_objs(&got.snaps, &want.snaps, "snapshots'", step);
	if (want.snaps.n) /* without snapshots the pass stops before the rows */
		expect_same_objs(&got.live, &want.live, "volume's", step);
	if (got.bytes != want.bytes)
		fail_msg("step %d: tree %llu: the one pass counts %llu snapshot bytes, reading each view "
		         "%llu", step, (unsigned long long)tree, (unsigned long long)got.bytes,
		         (unsigned long long)want.bytes);
	/* each version of the family read once (none without a snapshot) */
	int64_t snapshots = count(v, "SELECT count(*) FROM trees WHERE origin=?1 AND kind='snapshot'", tree);
	assert_int_equal(got.rows, snapshots ? family_rows(v, tree) : 0);
}

/* Up to 3 random changes to tree: a file written somewhere in its first
 * 4 blocks (made if missing), or unlinked. */
static void change_files(struct vfs *v, uint64_t tree, unsigned *seed)
{
	char name[32];
	for (int c = 0; c < 3; c++) {
		snprintf(name, sizeof name, "f%d", rand_r(seed) % 48);
		if (rand_r(seed) % 5 == 0) {
			vfs_unlink(v, VFS_INO(tree, 1), name);
			continue;
		}
		uint64_t off = (uint64_t)(rand_r(seed) % 4) * STORE_BLOCK + (uint64_t)(rand_r(seed) % 100);
		size_t len = 1 + (size_t)(rand_r(seed) % (2 * STORE_BLOCK));
		write_at(v, VFS_INO(tree, 1), name, off, len, 1 + (unsigned)rand_r(seed) % 250);
	}
}

enum { VOLUME, CLONE, RESTORE, TREES };

static void test_one_pass_matches_each_view(void **state)
{
	(void)state;
	enum { STEPS = 80, SNAPS = 48 };
	struct vfs *v;
	uint64_t trees[TREES] = {unit_vfs_volume(&v, unit_dir, CAPACITY), 0, 0};
	char name[32];
	for (int i = 0; i < 40; i++) {
		snprintf(name, sizeof name, "f%d", i);
		write_at(v, VFS_INO(trees[VOLUME], 1), name, 0, (size_t)(1 + i % 3) * STORE_BLOCK, 1 + (unsigned)i);
	}
	uint64_t snaps[SNAPS];
	int origin[SNAPS], nsnaps = 0;
	unsigned seed = 29;
	for (int step = 0; step < STEPS; step++) {
		int t;
		do
			t = rand_r(&seed) % TREES;
		while (!trees[t]);
		int op = rand_r(&seed) % 10;
		if (op < 3 && nsnaps < SNAPS) {
			snaps[nsnaps] = unit_vfs_snapshot(v, trees[t], CAPACITY);
			origin[nsnaps++] = t;
		} else if (op < 8) {
			change_files(v, trees[t], &seed);
		} else if (nsnaps > 0) {
			int k = rand_r(&seed) % nsnaps;
			unit_vfs_release(v, snaps[k]);
			snaps[k] = snaps[nsnaps - 1];
			origin[k] = origin[--nsnaps];
			if (rand_r(&seed) % 2) /* else its rows stay pending, some shadowed */
				assert_int_equal(vfs_reclaim(v), 0);
		}
		if (step == 20)
			trees[CLONE] = unit_vfs_clone(v, trees[VOLUME], CAPACITY);
		for (int k = 0; step >= 40 && !trees[RESTORE] && k < nsnaps; k++)
			if (origin[k] == VOLUME)
				trees[RESTORE] = unit_vfs_clone(v, snaps[k], CAPACITY);
		if (step == 65) { /* its snapshots stay */
			unit_vfs_release(v, trees[CLONE]);
			trees[CLONE] = 0;
		}
		assert_int_equal(vfs_flush_all(v), 0);
		for (int i = 0; i < TREES; i++)
			if (trees[i])
				expect_builds_agree(v, trees[i], step, &seed);
	}
	assert_non_null(trees[RESTORE]);
	vfs_close(v);
}

/* With k snapshots of a volume of n files, the per-snapshot build reads
 * k × n rows; the one pass reads the family's row versions once each: the
 * files, and the versions changed between the snapshots. */
static void test_one_pass_reads_each_row_once(void **state)
{
	(void)state;
	enum { FILES = 50, SNAPS = 30, CHANGED = 2 };
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, CAPACITY), root = VFS_INO(tree, 1);
	char name[32];
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof name, "f%d", i);
		write_at(v, root, name, 0, STORE_BLOCK, 1 + (unsigned)i);
	}
	for (int k = 0; k < SNAPS; k++) {
		unit_vfs_snapshot(v, tree, CAPACITY);
		for (int c = 0; c < CHANGED; c++) {
			snprintf(name, sizeof name, "f%d", (k * CHANGED + c) % FILES);
			write_at(v, root, name, 0, STORE_BLOCK, 100 + (unsigned)k);
		}
	}
	assert_int_equal(vfs_flush_all(v), 0);
	uint64_t rows = 0, bytes = snapshot_bytes_count(v, tree, &rows);
	/* each rewrite left the block it replaced to the snapshots */
	assert_int_equal(bytes, (uint64_t)SNAPS * CHANGED * STORE_BLOCK);
	int64_t versions = family_rows(v, tree);
	assert_true(versions > FILES + SNAPS * CHANGED && versions < 2 * (FILES + SNAPS * CHANGED));
	if (rows != (uint64_t)versions)
		fail_msg("the count read %llu inode rows; the family holds %lld versions (%d snapshots "
		         "of %d files)", (unsigned long long)rows, (long long)versions, SNAPS, FILES + 1);
	vfs_close(v);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_one_pass_matches_each_view, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_one_pass_reads_each_row_once, unit_vfs_setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
