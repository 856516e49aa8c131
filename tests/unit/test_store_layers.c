/*
 * tests/unit/test_store_layers.c — copy-on-write layers of data objects
 * (fs/store/store.h) on a fresh meta.db and state directory: a snapshot's
 * object under a private layer, the copy-up a first write makes and what
 * it copies, the holder repointed in the same change, reads that skip
 * untouched layers, folding a layer that covers its parent (any size), and
 * cold loads that open only the layers a read reaches.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "fs/store/uring.h"
#include "meta/db.h"
#include "tests/unit/store_util.h"

#define B STORE_BLOCK
#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static int setup(void **state) { return unit_store_setup(state, "store"); }

/* A snapshot-style share: A gets a second holder, the writer cows to B. */
static void test_cow_layering(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	assert_int_equal(unit_write_pattern(a, 0, 16 * B, 1), 16);
	assert_false(store_is_shared(a));
	assert_int_equal(store_make_private(e->st, &a, NULL), 0); /* private: nothing to do */

	unit_store_ref(e, aid, 1);
	assert_true(store_is_shared(a));
	int64_t d;
	uint8_t x = 0;
	assert_int_equal(store_write(a, &x, 1, 0, &d), -EROFS);
	struct dobj *snap = store_get(e->st, aid); /* the snapshot inode's pin */
	struct dobj *b = a;
	assert_int_equal(store_make_private(e->st, &b, NULL), 1);
	assert_true(b != snap);
	uint64_t bid = store_id(b);
	assert_true(bid != aid);
	assert_false(store_is_shared(b));
	assert_false(unit_store_host_exists(e, bid));
	assert_int_equal(store_data_blocks(b), 16);
	assert_int_equal(count_rows(e, "SELECT refs FROM dataobjs WHERE id = ?", aid), 2);
	assert_int_equal(count_rows(e, "SELECT parent FROM dataobjs WHERE id = ?", bid), (int64_t)aid);

	/* B sees A until it writes; A never sees B's writes. */
	unit_expect_pattern(b, 0, 16 * B, 1);
	assert_int_equal(unit_write_pattern(b, 2 * B + 100, 50, 2), 0);
	assert_int_equal(unit_write_pattern(b, 20 * B, B, 2), 1);
	unit_expect_pattern(b, 2 * B, 100, 1);
	unit_expect_pattern(b, 2 * B + 100, 50, 2);
	unit_expect_pattern(b, 2 * B + 150, B - 150, 1);
	unit_expect_pattern(snap, 0, 16 * B, 1);
	unit_expect_pattern(snap, 16 * B, 5 * B, 0);

	/* Punch in B hides A (partial edges copied up, whole blocks whited out). */
	assert_int_equal(store_punch(b, 4 * B + 10, 3 * B, &d), 0);
	assert_int_equal(d, -2);
	unit_expect_pattern(b, 4 * B, 10, 1);
	unit_expect_pattern(b, 4 * B + 10, 3 * B, 0);
	unit_expect_pattern(b, 7 * B + 10, B - 10, 1);
	unit_expect_pattern(snap, 4 * B, 4 * B, 1);

	/* Truncate in B hides A from the new size on, even after extension. */
	assert_int_equal(store_truncate(b, 10 * B + 1, &d), 0);
	assert_int_equal(d, -6); /* blocks 11..15 of A and 20 of B */
	unit_expect_pattern(b, 10 * B, 1, 1);
	unit_expect_pattern(b, 10 * B + 1, 12 * B, 0);
	assert_int_equal(unit_write_pattern(b, 13 * B, 10, 3), 1);
	unit_expect_pattern(b, 11 * B, 2 * B, 0);
	unit_expect_pattern(b, 13 * B, 10, 3);
	unit_expect_pattern(b, 14 * B, B, 0);
	unit_expect_pattern(snap, 10 * B, 6 * B, 1);
	assert_int_equal(store_data_blocks(b), 10 - 2 + 1 + 1);
	assert_int_equal(store_data_blocks(snap), 16);

	/* A second generation: snapshot B, cow to C, punch all of C. */
	unit_store_ref(e, bid, 1);
	struct dobj *c = b;
	b = store_get(e->st, bid);
	assert_int_equal(store_make_private(e->st, &c, NULL), 1);
	assert_int_equal(store_punch(c, 0, 100 * B, &d), 0);
	assert_int_equal(d, -10);
	unit_expect_pattern(c, 0, 20 * B, 0);
	assert_int_equal(store_seek(c, 0, SEEK_DATA, 20 * B), -ENXIO);
	unit_expect_pattern(b, 13 * B, 10, 3);
	store_put(e->st, c);
	store_put(e->st, b);
	store_put(e->st, snap);
}

/* A holder of a shared object (an inode row in the daemon) that records
 * the id store_make_private hands it, in the same change: `fail` makes it
 * refuse, which must roll the new layer back. */
struct holder_row {
	struct unit_store *e;
	uint64_t id;
	int in_change, fail;
};

static int holder_repoint(void *arg, uint64_t id)
{
	struct holder_row *h = arg;
	h->in_change = h->e->db->in_txn;
	if (h->fail)
		return -EIO;
	h->id = id;
	return 0;
}

static void test_make_private_repoints_holder_in_its_change(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	assert_int_equal(unit_write_pattern(a, 0, 4 * B, 1), 4);
	struct holder_row h = {.e = e};
	struct store_holder holder = {holder_repoint, &h};
	assert_int_equal(store_make_private(e->st, &a, &holder), 0);
	assert_int_equal(h.id, 0); /* private: the holder is not told */

	unit_store_ref(e, aid, 1);
	int64_t max_before = count_rows(e, "SELECT max(id) FROM dataobjs WHERE id >= ?", 0);
	h.fail = 1;
	assert_int_equal(store_make_private(e->st, &a, &holder), -EIO);
	assert_true(h.in_change);
	assert_int_equal(store_id(a), aid);
	assert_int_equal(count_rows(e, "SELECT max(id) FROM dataobjs WHERE id >= ?", 0), max_before);
	assert_int_equal(count_rows(e, "SELECT refs FROM dataobjs WHERE id = ?", aid), 2);

	h.fail = h.in_change = 0;
	assert_int_equal(store_make_private(e->st, &a, &holder), 1);
	assert_true(h.in_change);
	assert_int_equal(h.id, store_id(a));
	assert_int_equal(count_rows(e, "SELECT parent FROM dataobjs WHERE id = ?", h.id), (int64_t)aid);
	assert_int_equal(count_rows(e, "SELECT refs FROM dataobjs WHERE id = ?", aid), 2);
	unit_expect_pattern(a, 0, 4 * B, 1);
	store_put(e->st, a);
	unit_store_ref(e, aid, -1);
}

/* Freeze o as a snapshot (returned, to be put) and move o to a fresh child
 * layer, as the daemon does on the first write after a snapshot. */
static struct dobj *snapshot_of(struct unit_store *e, struct dobj **o)
{
	unit_store_ref(e, store_id(*o), 1);
	struct dobj *snap = store_get(e->st, store_id(*o));
	assert_non_null(snap);
	assert_int_equal(store_make_private(e->st, o, NULL), 1);
	return snap;
}

/* Reads step over layers with no map leaf where they read (view_read's
 * fast path), but never over one truncated below the range. */
static void test_reads_skip_untouched_layers(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e), *snaps[12];
	int n = 0;
	int64_t d;
	/* The base holds blocks 1000 (leaf 1) and 2000 (leaf 3). */
	assert_int_equal(unit_write_pattern(o, 1000 * B, B, 1), 1);
	assert_int_equal(unit_write_pattern(o, 2000 * B, B, 1), 1);
	/* Ten layers that only ever write in leaf 0. */
	for (int i = 0; i < 10; i++) {
		snaps[n++] = snapshot_of(e, &o);
		assert_int_equal(unit_write_pattern(o, (uint64_t)i * B, 10, 2 + (unsigned)i), 1);
	}
	unit_expect_pattern(o, 1000 * B, B, 1);
	unit_expect_pattern(o, 2000 * B, B, 1);
	unit_expect_pattern(o, 1001 * B, B, 0);
	unit_expect_pattern(o, 1000 * B + 7, 100, 1);
	unit_expect_pattern(o, 3 * B, 10, 5);
	/* A read across two leaves takes the general walk and agrees. */
	unit_expect_pattern(o, 1023 * B, B, 0);
	uint8_t buf[2 * B];
	assert_int_equal(store_read(o, buf, sizeof buf, 999 * B), (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], i >= B ? unit_pattern(1000 * B + i - B, 1) : 0);
	/* Truncated below block 2000 in a layer with no leaf 3, then
	 * extended: block 2000 must read as zeros through every later layer
	 * too, although none of them has leaf 3 either. */
	assert_int_equal(store_truncate(o, 1500 * B, &d), 0);
	assert_int_equal(d, -1);
	unit_expect_pattern(o, 1000 * B, B, 1);
	for (int i = 0; i < 2; i++) {
		snaps[n++] = snapshot_of(e, &o);
		unit_expect_pattern(o, 2000 * B, B, 0);
		unit_expect_pattern(o, 1000 * B, B, 1);
	}
	unit_expect_pattern(snaps[0], 2000 * B, B, 1);
	store_put(e->st, o);
	for (int i = 0; i < n; i++)
		store_put(e->st, snaps[i]);
}

/* store_fold: a layer that defines every block of its parent's view
 * drops the parent (row and reference) and keeps its view; one that does
 * not stays. */
static void test_fold_covering_layer(void **state)
{
	struct unit_store *e = *state;
	const char *parent_of = "SELECT count(*) FROM dataobjs WHERE id = ? AND parent IS NOT NULL";
	const char *refs_of = "SELECT refs FROM dataobjs WHERE id = ?";
	struct dobj *o = new_obj(e);
	assert_int_equal(store_fold(e->st, o), 0); /* no parent */
	assert_int_equal(unit_write_pattern(o, 0, 2 * B, 1), 2);
	struct dobj *snap = snapshot_of(e, &o);
	assert_int_equal(count_rows(e, refs_of, store_id(snap)), 2);
	assert_int_equal(unit_write_pattern(o, 10, 10, 2), 0);
	assert_int_equal(store_fold(e->st, o), 0); /* block 1 is still the snapshot's */
	assert_int_equal(count_rows(e, parent_of, store_id(o)), 1);
	assert_int_equal(unit_write_pattern(o, B + 10, 10, 3), 0);
	assert_int_equal(store_fold(e->st, o), 1);
	assert_int_equal(count_rows(e, parent_of, store_id(o)), 0);
	assert_int_equal(count_rows(e, refs_of, store_id(snap)), 1);
	unit_expect_pattern(o, 10, 10, 2);
	unit_expect_pattern(o, B + 10, 10, 3);
	unit_expect_pattern(o, 20, B - 10, 1);
	assert_int_equal(store_data_blocks(o), 2);
	unit_expect_pattern(snap, 0, 2 * B, 1);

	/* Truncated to nothing, a layer shows none of its parent. */
	store_put(e->st, snap);
	snap = snapshot_of(e, &o);
	int64_t d;
	assert_int_equal(store_truncate(o, 0, &d), 0);
	assert_int_equal(store_fold(e->st, o), 1);
	assert_int_equal(store_data_blocks(o), 0);
	unit_expect_pattern(snap, 10, 10, 2);
	store_put(e->st, snap);

	store_put(e->st, o);
}

/* Rewrite every block of [0, nblocks) but `missing` in o, in 100-block
 * writes from the end down (so the first leaves are the last covered),
 * trying a fold after each as the daemon does: none may happen. */
static void rewrite_all_but(struct unit_store *e, struct dobj *o, uint64_t nblocks, uint64_t missing,
                            unsigned seed)
{
	for (uint64_t end = nblocks; end > 0;) {
		uint64_t start = end > 100 ? end - 100 : 0;
		if (missing >= start && missing < end) {
			if (missing + 1 < end)
				assert_int_equal(unit_write_pattern(o, (missing + 1) * B, (end - missing - 1) * B, seed), 0);
			end = missing;
		}
		if (start < end)
			assert_int_equal(unit_write_pattern(o, start * B, (end - start) * B, seed), 0);
		end = start;
		assert_int_equal(store_fold(e->st, o), 0);
	}
}

/* A layer over a parent of thousands of blocks folds once the last of
 * them is rewritten, wherever that block is, and not before; a punch
 * leaves whiteouts that still hide the parent. */
static void test_fold_large_layer(void **state)
{
	struct unit_store *e = *state;
	const char *parent_of = "SELECT count(*) FROM dataobjs WHERE id = ? AND parent IS NOT NULL";
	const char *refs_of = "SELECT refs FROM dataobjs WHERE id = ?";
	const uint64_t n = 3000, missing[] = {0, 1500, n - 1};
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, n * B, 4), (int64_t)n);
	for (unsigned i = 0; i < sizeof missing / sizeof *missing; i++) {
		unsigned seed = 5 + i;
		struct dobj *snap = snapshot_of(e, &o);
		assert_int_equal(count_rows(e, refs_of, store_id(snap)), 2);
		rewrite_all_but(e, o, n, missing[i], seed);
		assert_int_equal(count_rows(e, parent_of, store_id(o)), 1);
		unit_expect_pattern(o, missing[i] * B, B, seed - 1);
		int64_t d;
		assert_int_equal(store_punch(o, 10 * B, B, &d), 0);
		assert_int_equal(store_fold(e->st, o), 0);
		assert_int_equal(unit_write_pattern(o, missing[i] * B, B, seed), 0);
		assert_int_equal(store_fold(e->st, o), 1);
		assert_int_equal(count_rows(e, parent_of, store_id(o)), 0);
		assert_int_equal(count_rows(e, refs_of, store_id(snap)), 1);
		unit_expect_pattern(o, 10 * B, B, 0);
		unit_expect_pattern(o, 11 * B, (n - 11) * B, seed);
		assert_int_equal(store_data_blocks(o), n - 1);
		unit_expect_pattern(snap, 0, n * B, seed - 1);
		store_put(e->st, snap);
		assert_int_equal(unit_write_pattern(o, 10 * B, B, seed), 1);
	}
	store_put(e->st, o);
}

/* Loading a layered object from the db opens its own host file once, and
 * an ancestor's only when a read reaches that layer: a read the top layer
 * covers opens one file however deep the chain. */
static void test_cold_load_opens_only_layers_read(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, 2 * B, 1), 2);
	struct dobj *s1 = snapshot_of(e, &o);
	assert_int_equal(unit_write_pattern(o, 0, B, 2), 0);
	struct dobj *s2 = snapshot_of(e, &o);
	assert_int_equal(unit_write_pattern(o, 0, B, 3), 0);
	uint64_t id = store_id(o);
	store_put(e->st, s1);
	store_put(e->st, s2);
	store_put(e->st, o);
	/* Push the chain out of the cache: each layer joins the LRU when the
	 * one above it is dropped. */
	for (int i = 0; i < 4 * 64; i++)
		store_put(e->st, new_obj(e));
	size_t before = store_open_files(e->st, NULL);
	uint64_t opens = store_host_opens(e->st);
	o = store_get(e->st, id);
	assert_non_null(o);
	unit_expect_pattern(o, 0, B, 3);
	assert_int_equal(store_open_files(e->st, NULL), before + 1);
	/* one open(2) of the top layer's host file, not one more for the
	 * hold that installs its descriptor */
	assert_int_equal(store_host_opens(e->st), opens + 1);
	/* Block 1 is the base's: the middle layer has no say in it. */
	unit_expect_pattern(o, B, B, 1);
	assert_int_equal(store_open_files(e->st, NULL), before + 2);
	assert_int_equal(store_host_opens(e->st), opens + 2);
	store_put(e->st, o);
}

static void test_cow_small_copy(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	int64_t d;
	assert_int_equal(store_allocate(a, 0, 1 * GiB, &d), 0);
	assert_int_equal(d, (int64_t)(GiB / B));
	assert_int_equal(unit_write_pattern(a, 512 * MiB, 64 * KiB, 1), 0);
	unit_store_ref(e, store_id(a), 1);
	struct dobj *b = store_get(e->st, store_id(a));
	assert_int_equal(store_make_private(e->st, &b, NULL), 1);
	assert_int_equal(unit_write_pattern(b, 512 * MiB + 4 * B, B, 2), 0);
	struct stat sb = host_stat(e, store_id(b));
	assert_int_equal(sb.st_blocks * 512, B);
	/* A partial write copies up exactly one more block. */
	assert_int_equal(unit_write_pattern(b, 700 * MiB + 10, 10, 3), 0);
	sb = host_stat(e, store_id(b));
	assert_int_equal(sb.st_blocks * 512, 2 * B);
	unit_expect_pattern(b, 700 * MiB, 10, 0);
	unit_expect_pattern(b, 700 * MiB + 10, 10, 3);
	unit_expect_pattern(b, 512 * MiB, 4 * B, 1);
	unit_expect_pattern(b, 512 * MiB + 4 * B, B, 2);
	unit_expect_pattern(a, 512 * MiB + 4 * B, B, 1);
	assert_int_equal(store_data_blocks(b), GiB / B);
	store_put(e->st, b);
	store_put(e->st, a);
}


int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cow_layering, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_make_private_repoints_holder_in_its_change, setup,
		                                unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_fold_covering_layer, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_fold_large_layer, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_cold_load_opens_only_layers_read, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_cow_small_copy, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_reads_skip_untouched_layers, setup, unit_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
