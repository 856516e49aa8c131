/*
 * tests/unit/test_trim.c — trimming of unreachable blocks (fs/store/store.c) and
 * store_release_gain(): when a snapshot's reference to a data object goes
 * and a child layer is left as its only holder, the blocks that child
 * shadows are punched from the host file and cleared from the map, and the
 * gain predicted beforehand is exactly what is freed. Snapshots are
 * simulated with inode rows (so store_check can vouch for the refs), one
 * more reference on the object, and store_make_private for the live side's next
 * write; deleting one drops the reference and then the row, as
 * fs/vfs/tree.c does.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "meta/db.h"

#define B STORE_BLOCK

static int setup(void **state) { return unit_store_setup(state, "trim"); }

/* One SQL statement with one integer parameter per `?` (up to two). */
static int exec2(struct unit_store *e, const char *q, uint64_t x, uint64_t y)
{
	sqlite3_stmt *s;
	if (sqlite3_prepare_v2(e->db->h, q, -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_bind_parameter_count(s) >= 1)
		sqlite3_bind_int64(s, 1, (int64_t)x);
	if (sqlite3_bind_parameter_count(s) >= 2)
		sqlite3_bind_int64(s, 2, (int64_t)y);
	int rc = sqlite3_step(s);
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The inode rows store_check counts: tree 1 is the live volume, trees 2
 * and up are snapshots; each holds one file (ino 2). */
static void point(struct unit_store *e, uint64_t tree, uint64_t obj)
{
	db_lock(e->db);
	int r = exec2(e,
	              "INSERT OR REPLACE INTO inodes(family, lineage, ino, mode, uid, gid, nlink, atime,"
	              " mtime, ctime, btime, obj) VALUES(?1, ?1, 2, 33188, 0, 0, 1, 0, 0, 0, 0, ?2)",
	              tree, obj);
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

/* A new object held by the live file. */
static struct dobj *new_obj(struct unit_store *e)
{
	uint64_t id = 0;
	db_lock(e->db);
	int r = store_create(e->st, 0, &id);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	point(e, 1, id);
	struct dobj *o = store_get(e->st, id);
	assert_non_null(o);
	return o;
}

/* Delete tree's file as fs/vfs/tree.c does: drop the reference, then the row,
 * in one change (rolled back instead if `undo`). */
static void release(struct unit_store *e, uint64_t tree, uint64_t obj, int undo)
{
	db_lock(e->db);
	int r = db_begin(e->db);
	if (r == 0)
		r = store_ref(e->st, obj, -1);
	if (r == 0)
		r = exec2(e, "DELETE FROM inodes WHERE lineage = ?", tree, 0);
	if (r < 0 || undo) {
		db_rollback(e->db);
		store_reload_refs(e->st);
	} else {
		r = db_commit(e->db);
	}
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

/* Make everything durable and let store_reap do the host side. */
static void settle(struct unit_store *e)
{
	db_lock(e->db);
	int r = store_flush_all(e->st);
	if (r == 0)
		r = db_group_commit(e->db);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	store_reap(e->st);
}

static uint64_t gain(struct unit_store *e, uint64_t id)
{
	db_lock(e->db);
	uint64_t g = store_release_gain(e->st, id);
	db_unlock(e->db);
	return g;
}

/* Write blocks [b, b+n) with pattern `seed`; all must be new data blocks. */
static void write_blocks(struct dobj *o, uint64_t b, uint64_t n, unsigned seed)
{
	unit_write_pattern(o, b * B, n * B, seed);
}

/* Blocks [b, b+n) read as pattern `seed`, or zeros if seed == 0. */
static void expect_blocks(struct dobj *o, uint64_t b, uint64_t n, unsigned seed)
{
	unit_expect_pattern(o, b * B, n * B, seed);
}

/* Allocated 4 KiB blocks of the host file (0 if it does not exist). */
static int64_t host_blocks(struct unit_store *e, uint64_t id)
{
	char path[256];
	struct stat sb;
	store_path(e->st, id, path, sizeof path);
	if (stat(path, &sb) < 0)
		return errno == ENOENT ? 0 : -1;
	return (int64_t)sb.st_blocks * 512 / B;
}

static void report(void *arg, const char *msg)
{
	(void)arg;
	print_error("store_check: %s\n", msg);
}

static void expect_clean(struct unit_store *e)
{
	db_lock(e->db);
	struct store_pending pending;
	int n = store_check(e->st, &(struct store_users){vfs_each_obj_user, e->db}, report, NULL,
	                    &pending);
	db_unlock(e->db);
	assert_int_equal(n, 0);
	assert_int_equal(pending.deleted + pending.unknown, 0);
}

/* Snapshot tree `snap` copies the live file's row (one more reference on
 * A), then the live file's next write cows to B. Returns B (pinned; it
 * holds the pin on A that `a` was). */
static struct dobj *snapshot_and_cow(struct unit_store *e, struct dobj *a, uint64_t snap)
{
	point(e, snap, store_id(a));
	unit_store_ref(e, store_id(a), 1);
	assert_int_equal(store_make_private(e->st, &a, NULL), 1);
	point(e, 1, store_id(a));
	return a;
}

/* ------------------------------------------------------------------ */

/* (a) The snapshot held A; B overwrote 3 of A's 8 blocks. Deleting the
 * snapshot frees exactly those 3, and B still reads right everywhere. */
static void test_release_trims_shadowed(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	write_blocks(a, 0, 8, 1);
	struct dobj *b = snapshot_and_cow(e, a, 2);
	uint64_t bid = store_id(b);
	write_blocks(b, 1, 2, 2);
	write_blocks(b, 5, 1, 2);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 8);

	assert_int_equal(gain(e, aid), 3); /* the snapshot's own blocks */
	assert_int_equal(gain(e, bid), 3); /* the live file's own blocks */
	assert_int_equal(host_blocks(e, aid), 8); /* gain changes nothing */

	release(e, 2, aid, 0);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 5);
	expect_blocks(b, 0, 1, 1);
	expect_blocks(b, 1, 2, 2);
	expect_blocks(b, 3, 2, 1);
	expect_blocks(b, 5, 1, 2);
	expect_blocks(b, 6, 2, 1);
	expect_blocks(b, 8, 2, 0);
	assert_int_equal(store_data_blocks(b), 8);
	/* Now everything of A is reachable only through B. */
	assert_int_equal(gain(e, bid), 8);
	expect_clean(e);

	/* The trimmed map was persisted. */
	store_put(e->st, b);
	unit_store_reopen(e);
	b = store_get(e->st, bid);
	assert_non_null(b);
	expect_blocks(b, 0, 1, 1);
	expect_blocks(b, 1, 2, 2);
	expect_blocks(b, 3, 2, 1);
	assert_int_equal(gain(e, bid), 8);
	assert_int_equal(host_blocks(e, aid), 5);
	store_put(e->st, b);
	expect_clean(e);
}

/* (b) The last reference: everything goes, the file too. */
static void test_release_last_ref(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	write_blocks(a, 0, 3, 1);
	write_blocks(a, 600, 2, 1); /* a second map leaf */
	settle(e);
	assert_int_equal(gain(e, aid), 5);
	store_put(e->st, a);
	release(e, 1, aid, 0);
	settle(e);
	assert_false(unit_store_host_exists(e, aid));
	expect_clean(e);
}

/* (c) Two snapshots: releasing one frees nothing while the other holds A. */
static void test_two_snapshots(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	write_blocks(a, 0, 4, 1);
	point(e, 3, aid); /* first snapshot */
	unit_store_ref(e, aid, 1);
	struct dobj *b = snapshot_and_cow(e, a, 2);
	write_blocks(b, 0, 2, 2);
	settle(e);
	assert_int_equal(gain(e, aid), 0);
	release(e, 3, aid, 0);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 4);
	expect_blocks(b, 0, 2, 2);
	expect_blocks(b, 2, 2, 1);
	/* The second snapshot is now the last besides B. */
	assert_int_equal(gain(e, aid), 2);
	release(e, 2, aid, 0);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 2);
	expect_blocks(b, 0, 2, 2);
	expect_blocks(b, 2, 2, 1);
	store_put(e->st, b);
	expect_clean(e);
}

/* (d) B truncated: A's blocks at and past B's trunc_blk are unreachable,
 * even once B grows again. */
static void test_truncated_child(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	write_blocks(a, 0, 10, 1);
	struct dobj *b = snapshot_and_cow(e, a, 2);
	int64_t d;
	assert_int_equal(store_truncate(b, 5 * B, &d), 0);
	assert_int_equal(d, -5);
	assert_int_equal(store_truncate(b, 10 * B, &d), 0); /* extended: holes */
	write_blocks(b, 1, 1, 2);
	settle(e);
	assert_int_equal(gain(e, aid), 1 + 5);
	release(e, 2, aid, 0);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 4);
	expect_blocks(b, 0, 1, 1);
	expect_blocks(b, 1, 1, 2);
	expect_blocks(b, 2, 3, 1);
	expect_blocks(b, 5, 5, 0);
	store_put(e->st, b);
	expect_clean(e);
}

/* A <- B <- C with snapshot S1 on A and S2 on B; A has blocks 0..7, B
 * overwrote 0..1, C overwrote 1..3. */
struct three {
	uint64_t a, b, c;
	struct dobj *top;
};

static struct three three_layers(struct unit_store *e)
{
	struct three t;
	struct dobj *a = new_obj(e);
	t.a = store_id(a);
	write_blocks(a, 0, 8, 1);
	struct dobj *b = snapshot_and_cow(e, a, 2);
	t.b = store_id(b);
	write_blocks(b, 0, 2, 2);
	t.top = snapshot_and_cow(e, b, 3);
	t.c = store_id(t.top);
	write_blocks(t.top, 1, 3, 3);
	settle(e);
	return t;
}

static void expect_three_view(struct dobj *c)
{
	expect_blocks(c, 0, 1, 2);
	expect_blocks(c, 1, 3, 3);
	expect_blocks(c, 4, 4, 1);
	expect_blocks(c, 8, 1, 0);
}

/* (e) Chains: S2 goes first (B loses block 1), then S1 frees A's blocks
 * that B or C shadow. The objects are loaded. */
static void test_chain_upper_first(void **state)
{
	struct unit_store *e = *state;
	struct three t = three_layers(e);
	assert_int_equal(gain(e, t.a), 2); /* B shadows 0..1 */
	assert_int_equal(gain(e, t.b), 1); /* C shadows B's 1 */
	release(e, 3, t.b, 0);
	settle(e);
	assert_int_equal(host_blocks(e, t.b), 1);
	assert_int_equal(host_blocks(e, t.a), 8); /* S1 still sees all of A */
	expect_three_view(t.top);
	/* B and C together shadow A's 0..3. */
	assert_int_equal(gain(e, t.a), 4);
	release(e, 2, t.a, 0);
	settle(e);
	assert_int_equal(host_blocks(e, t.a), 4);
	expect_three_view(t.top);
	assert_int_equal(gain(e, t.c), 3 + 1 + 4);
	store_put(e->st, t.top);
	expect_clean(e);
}

/* (e) Chains the other way round, with nothing loaded: S1 frees A's 0..1;
 * then S2's release trims B and, through B, A's 2..3 that C shadows. */
static void test_chain_lower_first_unloaded(void **state)
{
	struct unit_store *e = *state;
	struct three t = three_layers(e);
	store_put(e->st, t.top);
	unit_store_reopen(e);
	assert_int_equal(gain(e, t.a), 2);
	release(e, 2, t.a, 0);
	settle(e);
	assert_int_equal(host_blocks(e, t.a), 6);
	assert_int_equal(gain(e, t.b), 1 + 2);
	release(e, 3, t.b, 0);
	settle(e);
	assert_int_equal(host_blocks(e, t.b), 1);
	assert_int_equal(host_blocks(e, t.a), 4);
	struct dobj *c = store_get(e->st, t.c);
	assert_non_null(c);
	expect_three_view(c);
	assert_int_equal(gain(e, t.c), 3 + 1 + 4);
	store_put(e->st, c);
	expect_clean(e);
}

/* A rolled-back release must not lose the snapshot's data: the host
 * blocks stay and the loaded A reads them again. */
static void test_rolled_back_release(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	write_blocks(a, 0, 4, 1);
	struct dobj *snap = store_get(e->st, aid);
	struct dobj *b = snapshot_and_cow(e, a, 2);
	write_blocks(b, 0, 2, 2);
	settle(e);

	release(e, 2, aid, 1);
	settle(e);
	assert_int_equal(host_blocks(e, aid), 4);
	expect_blocks(snap, 0, 4, 1);
	assert_int_equal(store_data_blocks(snap), 4);
	expect_blocks(b, 0, 2, 2);
	expect_blocks(b, 2, 2, 1);
	assert_int_equal(gain(e, aid), 2);
	store_put(e->st, snap);
	store_put(e->st, b);
	expect_clean(e);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_release_trims_shadowed, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_release_last_ref, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_two_snapshots, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_truncated_child, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_chain_upper_first, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_chain_lower_first_unloaded, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_release, setup, unit_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
