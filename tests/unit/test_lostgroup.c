/*
 * tests/unit/test_lostgroup.c — a group commit that SQLite rolls back
 * (meta/db.c, fs/vfs/state.c): the next fsync fails once with EIO, the owner of
 * in-memory mirrors is told, and the namespace layer's cached inodes agree
 * with meta.db again (a directory made by the lost group is gone, its
 * parent's link count is the row's, the tree checks clean); the undo
 * generation that caches of rows follow grows; a group lost during the
 * stop itself touches none of the mirrors being freed; what only memory
 * has is written again: an inline file's bytes (a write, appends, a
 * shrink, a truncation to 0, then a snapshot) and the row of a data object
 * the group made (a spill, a first object, a private layer over a
 * snapshot's), so they read back as written, and again after a restart;
 * the copies of inline bytes last until a commit holds them. The commit
 * is made to fail with RLIMIT_FSIZE: appending to the WAL fails as it
 * would on a full disk, and SQLite rolls the group back.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "fs/vfs/vfs_int.h"
#include "meta/db.h"

static int setup(void **state)
{
	signal(SIGXFSZ, SIG_IGN); /* a write past the limit fails with EFBIG instead */
	return unit_vfs_setup(state);
}

/* Writes that would grow the WAL past its present size fail. */
static void freeze_wal(void)
{
	char wal[128];
	struct stat st;
	snprintf(wal, sizeof wal, "%s/meta.db-wal", unit_dir);
	assert_int_equal(stat(wal, &st), 0);
	struct rlimit rl = {(rlim_t)st.st_size, RLIM_INFINITY};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static void thaw_wal(void)
{
	struct rlimit rl = {RLIM_INFINITY, RLIM_INFINITY};
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
}

static int losses;
static void count_loss(void *arg)
{
	(void)arg;
	losses++;
}

static int64_t rows(struct db *db)
{
	sqlite3_stmt *st = db_prep(db, "SELECT count(*) FROM t");
	int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
	db_finish(st);
	return n;
}

static void insert_one(struct db *db)
{
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO t VALUES(randomblob(3000))"), 0);
	assert_int_equal(db_commit(db), 0);
}

static void test_lost_group_fails_next_fsync_once(void **state)
{
	(void)state;
	char path[128], err[256];
	struct db *db;
	snprintf(path, sizeof path, "%s/meta.db", unit_dir);
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	db_on_lost_group(db, count_loss, NULL);
	db_lock(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t(x)"), 0);
	insert_one(db);
	assert_int_equal(db_group_commit(db), 0);
	uint64_t undone = db->undo_gen;
	assert_int_equal(db_begin(db), 0); /* a change rolled back: rows undone */
	db_rollback(db);
	assert_true(db->undo_gen > undone);
	undone = db->undo_gen;
	insert_one(db); /* answered, but its group will not commit */
	freeze_wal();
	assert_true(db_group_commit(db) < 0);
	thaw_wal();
	assert_int_equal(losses, 1);
	/* caches of rows kept by generation are stale (fs/vfs/lineage.c) */
	assert_true(db->undo_gen > undone);
	assert_int_equal(rows(db), 1);
	db_unlock(db);
	assert_int_equal(db_sync(db), -EIO);
	assert_int_equal(db_sync(db), 0);
	db_close(db);
}

static void no_report(void *arg, const char *msg)
{
	(void)arg;
	fail_msg("vfs_check: %s", msg);
}

static void test_lost_group_resyncs_cached_inodes(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	struct db *db = vfs_db(v);
	assert_int_equal(vfs_flush_all(v), 0);

	uint64_t root = VFS_INO(tree, 1);
	struct vfs_ctx ctx = {0};
	struct vfs_entry p, lost, e;
	struct stat st;
	/* the kernel holds directory p (made and committed before) and
	 * p/lost, whose group will not commit */
	assert_int_equal(vfs_mkdir(v, root, "p", 0755, &ctx, &p), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(vfs_mkdir(v, p.ino, "lost", 0755, &ctx, &lost), 0);
	assert_int_equal(vfs_getattr(v, p.ino, &st), 0);
	assert_int_equal(st.st_nlink, 3);
	freeze_wal();
	assert_true(vfs_flush_all(v) < 0);
	thaw_wal();
	/* memory agrees with meta.db: the lost directory is gone, and p
	 * counts no subdirectory */
	assert_int_equal(vfs_lookup(v, p.ino, "lost", &e), -ENOENT);
	assert_int_equal(vfs_getattr(v, lost.ino, &st), 0);
	assert_int_equal(st.st_nlink, 0);
	assert_int_equal(vfs_getattr(v, p.ino, &st), 0);
	assert_int_equal(st.st_nlink, 2);
	/* and what the next groups write is consistent */
	assert_int_equal(vfs_mkdir(v, p.ino, "again", 0755, &ctx, &e), 0);
	vfs_forget(v, e.ino, 1);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(db_sync(db), -EIO); /* once: a group was lost */
	assert_int_equal(db_sync(db), 0);
	vfs_forget(v, lost.ino, 1);
	vfs_forget(v, p.ino, 1);
	assert_int_equal(vfs_flush_all(v), 0);
	struct store_pending pending = {0};
	db_lock(db);
	assert_int_equal(vfs_check(v, no_report, NULL, &pending), 0);
	db_unlock(db);
	vfs_close(v);
}

/* A group lost while the daemon stops (a full disk at shutdown): the
 * commits vfs_close makes after freeing the inode table (the store's and
 * the db's last ones) must not call back into the freed mirrors. */
static void test_lost_group_at_close(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	struct vfile *f;
	/* a file unlinked while the kernel still knows it: its row goes when
	 * the kernel forgets it, which at a stop is the close's own teardown
	 * of the inode table */
	assert_int_equal(vfs_create(v, VFS_INO(tree, 1), "f", 0644, O_RDWR, &ctx, &e, &f), 0);
	assert_int_equal(vfs_release(v, f), 0);
	assert_int_equal(vfs_unlink(v, VFS_INO(tree, 1), "f"), 0);
	assert_int_equal(vfs_flush_all(v), 0);
	freeze_wal();
	vfs_close(v); /* under ASan: no use of the freed inode table or store */
	thaw_wal();
	/* and the next start finds a consistent state */
	char err[256];
	assert_int_equal(vfs_open_state(&v, unit_dir, 0, err, sizeof err), 0);
	struct store_pending pending = {0};
	db_lock(vfs_db(v));
	assert_int_equal(vfs_check(v, no_report, NULL, &pending), 0);
	db_unlock(vfs_db(v));
	vfs_close(v);
}

/* --- inline bytes (fs/vfs/inline.c, fs/vfs/inline_copy.c) --- */

/* The group commit fails and SQLite rolls the group back. */
static void lose_group(struct vfs *v)
{
	freeze_wal();
	assert_true(vfs_flush_all(v) < 0);
	thaw_wal();
}

static void fill_bytes(char *b, size_t len, int seed)
{
	for (size_t i = 0; i < len; i++)
		b[i] = (char)('a' + (i * 7 + (size_t)seed) % 26);
}

static void write_at(struct vfs *v, struct vfile *f, const void *b, size_t len, uint64_t off)
{
	assert_int_equal(vfs_write(v, f, b, len, off), (ssize_t)len);
}

/* The file reads back exactly want (len bytes) and is that long. */
static void expect_file(struct vfs *v, uint64_t ino, struct vfile *f, const char *want, size_t len)
{
	struct stat st;
	assert_true(vfs_getattr(v, ino, &st) >= 0);
	assert_int_equal(st.st_size, (off_t)len);
	static char got[8192];
	assert_true(len < sizeof got);
	memset(got, 0x55, sizeof got);
	assert_int_equal(vfs_read(v, f, got, sizeof got, 0), (ssize_t)len);
	assert_memory_equal(got, want, len);
}

/* After the lost group: the next group commits (the flusher's round, or
 * with fsync_ino the file's fsync) and the fsync after it reports the loss
 * once; a clean stop and start find the file as it reads now, and a
 * consistent state. */
static void expect_kept_after_restart(struct vfs **vp, uint64_t tree, const char *name,
                                      struct vfile *f, const char *want, size_t len,
                                      uint64_t fsync_ino)
{
	struct vfs *v = *vp;
	if (fsync_ino) {
		assert_int_equal(vfs_fsync(v, fsync_ino, 0), -EIO); /* once: a group was lost */
		assert_int_equal(vfs_fsync(v, fsync_ino, 0), 0);
	} else {
		assert_int_equal(vfs_flush_all(v), 0);
		assert_int_equal(db_sync(vfs_db(v)), -EIO);
		assert_int_equal(db_sync(vfs_db(v)), 0);
	}
	assert_int_equal(vfs_release(v, f), 0);
	vfs_close(v);
	char err[256];
	assert_int_equal(vfs_open_state(vp, unit_dir, 0, err, sizeof err), 0);
	v = *vp;
	struct vfs_entry e;
	assert_int_equal(vfs_lookup(v, VFS_INO(tree, 1), name, &e), 0);
	assert_int_equal(vfs_open(v, e.ino, O_RDWR, &f), 0);
	expect_file(v, e.ino, f, want, len);
	assert_int_equal(vfs_release(v, f), 0);
	vfs_forget(v, e.ino, 1);
	struct store_pending pending = {0};
	db_lock(vfs_db(v));
	assert_int_equal(vfs_check(v, no_report, NULL, &pending), 0);
	db_unlock(vfs_db(v));
}

/* The file `name` of tree `tree` reads back exactly want. */
static void expect_named(struct vfs *v, uint64_t tree, const char *name, const char *want,
                         size_t len)
{
	struct vfs_entry e;
	struct vfile *f;
	assert_int_equal(vfs_lookup(v, VFS_INO(tree, 1), name, &e), 0);
	assert_int_equal(vfs_open(v, e.ino, O_RDONLY, &f), 0);
	expect_file(v, e.ino, f, want, len);
	assert_int_equal(vfs_release(v, f), 0);
	vfs_forget(v, e.ino, 1);
}

/* A committed inline file, open for writing. */
static uint64_t committed_file(struct vfs *v, uint64_t tree, const char *name, const char *b,
                               size_t len, struct vfile **f)
{
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	assert_int_equal(vfs_create(v, VFS_INO(tree, 1), name, 0644, O_RDWR, &ctx, &e, f), 0);
	if (len)
		write_at(v, *f, b, len, 0);
	assert_int_equal(vfs_flush_all(v), 0);
	return e.ino;
}

/* An overwrite that grows the file, acknowledged and then lost with its
 * group: it reads back as written (not the older bytes, nor zeros), a
 * write after the loss builds on it, and it reaches meta.db. */
static void test_lost_group_keeps_inline_write(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[900], b[900];
	fill_bytes(a, sizeof a, 1);
	fill_bytes(b, sizeof b, 2);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "f", a, 300, &f);
	write_at(v, f, b, 700, 0);
	lose_group(v);
	expect_file(v, ino, f, b, 700);
	write_at(v, f, "XY", 2, 10); /* before the next group: over the kept bytes */
	memcpy(b + 10, "XY", 2);
	expect_file(v, ino, f, b, 700);
	expect_kept_after_restart(&v, tree, "f", f, b, 700, ino);
	vfs_close(v);
}

/* Appends that stay inline, lost with their group. */
static void test_lost_group_keeps_inline_append(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[944];
	fill_bytes(a, sizeof a, 3);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "log", a, 200, &f);
	for (size_t off = 200; off < sizeof a; off += 124)
		write_at(v, f, a + off, sizeof a - off < 124 ? sizeof a - off : 124, off);
	lose_group(v);
	expect_file(v, ino, f, a, sizeof a);
	expect_kept_after_restart(&v, tree, "log", f, a, sizeof a, 0);
	vfs_close(v);
}

static void truncate_to(struct vfs *v, uint64_t ino, uint64_t size)
{
	struct stat in = {.st_size = (off_t)size}, out;
	struct vfs_ctx ctx = {0};
	assert_int_equal(vfs_setattr(v, ino, &in, 1 << 3 /* SIZE */, &ctx, &out), 0);
}

/* A shrink lost with its group, then a growth by truncation: what the
 * shrink cut reads as zeros, now and after a restart (not the cut bytes
 * the older row still holds). */
static void test_lost_group_keeps_inline_shrink(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[800], want[800] = {0};
	fill_bytes(a, sizeof a, 4);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "s", a, sizeof a, &f);
	truncate_to(v, ino, 100);
	lose_group(v);
	memcpy(want, a, 100);
	expect_file(v, ino, f, want, 100);
	truncate_to(v, ino, 600);
	expect_file(v, ino, f, want, 600);
	expect_kept_after_restart(&v, tree, "s", f, want, 600, 0);
	vfs_close(v);
}

/* A truncation to 0 and a shorter write, lost with their group. */
static void test_lost_group_keeps_inline_rewrite_from_empty(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[800], b[800];
	fill_bytes(a, sizeof a, 5);
	fill_bytes(b, sizeof b, 6);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "c", a, sizeof a, &f);
	truncate_to(v, ino, 0);
	write_at(v, f, b, 50, 0);
	lose_group(v);
	expect_file(v, ino, f, b, 50);
	expect_kept_after_restart(&v, tree, "c", f, b, 50, ino);
	vfs_close(v);
}

/* A snapshot right after the lost group (its freeze commits the group
 * first) holds the bytes as written; the live file goes on from them. */
static void test_lost_group_inline_then_snapshot(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[600], b[600];
	fill_bytes(a, sizeof a, 8);
	fill_bytes(b, sizeof b, 9);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "f", a, 300, &f);
	write_at(v, f, b, sizeof b, 0);
	lose_group(v);
	uint64_t snap = unit_vfs_snapshot(v, tree, 1ull << 30);
	write_at(v, f, "Z", 1, 0);
	expect_named(v, snap, "f", b, sizeof b);
	b[0] = 'Z';
	expect_file(v, ino, f, b, sizeof b);
	assert_int_equal(vfs_flush_all(v), 0);
	struct store_pending pending = {0};
	db_lock(vfs_db(v));
	assert_int_equal(vfs_check(v, no_report, NULL, &pending), 0);
	db_unlock(vfs_db(v));
	assert_int_equal(vfs_release(v, f), 0);
	vfs_close(v);
	char err[256];
	assert_int_equal(vfs_open_state(&v, unit_dir, 0, err, sizeof err), 0);
	expect_named(v, tree, "f", b, sizeof b);
	fill_bytes(b, sizeof b, 9);
	expect_named(v, snap, "f", b, sizeof b);
	vfs_close(v);
}

/* A file that spills into a data object inside the lost group: the
 * object's row, which the rollback took with the spill, comes back under
 * its id (the inline row goes again), and a file that takes a new object
 * before that gets another id, not the lost one's host file. */
static void test_lost_group_inline_spill(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[1500], b[1800];
	fill_bytes(a, sizeof a, 10);
	fill_bytes(b, sizeof b, 11);
	struct vfile *f, *g;
	uint64_t ino = committed_file(v, tree, "sp", a, 500, &f);
	write_at(v, f, a + 500, 1000, 500);
	lose_group(v);
	expect_file(v, ino, f, a, sizeof a);
	uint64_t other = committed_file(v, tree, "other", b, sizeof b, &g);
	expect_file(v, ino, f, a, sizeof a);
	expect_file(v, other, g, b, sizeof b);
	assert_int_equal(vfs_release(v, g), 0);
	expect_kept_after_restart(&v, tree, "sp", f, a, sizeof a, 0);
	expect_named(v, tree, "other", b, sizeof b);
	vfs_close(v);
}

/* A file's first data object (no inline bytes before), made by the lost
 * group: its row comes back at the next flush. */
static void test_lost_group_keeps_first_object(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	static char a[6000];
	fill_bytes(a, sizeof a, 12);
	struct vfile *f;
	committed_file(v, tree, "big", NULL, 0, &f);
	write_at(v, f, a, sizeof a, 0);
	lose_group(v);
	expect_kept_after_restart(&v, tree, "big", f, a, sizeof a, 0);
	vfs_close(v);
}

/* A write after a snapshot layers a private object over the shared one;
 * made by the lost group, that layer's row comes back over its parent,
 * whose count still matches its holders (the check counts them). */
static void test_lost_group_keeps_private_layer(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	static char a[6000], b[6000];
	fill_bytes(a, sizeof a, 13);
	struct vfile *f;
	committed_file(v, tree, "shared", a, sizeof a, &f);
	uint64_t snap = unit_vfs_snapshot(v, tree, 1ull << 30);
	assert_int_equal(vfs_flush_all(v), 0); /* the snapshot is no part of the lost group */
	memcpy(b, a, sizeof b);
	memcpy(b + 4096, "changed", 7);
	write_at(v, f, "changed", 7, 4096);
	lose_group(v);
	expect_kept_after_restart(&v, tree, "shared", f, b, sizeof b, 0);
	expect_named(v, snap, "shared", a, sizeof a);
	vfs_close(v);
}

static size_t kept_copies(struct vfs *v)
{
	size_t n = 0;
	db_lock(vfs_db(v));
	for (size_t i = 0; i < ITAB_BUCKETS; i++)
		for (struct vnode *x = v->itab[i]; x; x = x->hnext)
			n += x->inline_copy != NULL;
	db_unlock(vfs_db(v));
	return n;
}

/* Memory keeps inline bytes only until a group commit holds them: each
 * written file has its copy until then, none after; a lost group keeps
 * them until they are written back and committed. */
static void test_inline_copies_last_until_commit(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	struct vfile *f, *g;
	committed_file(v, tree, "a", "one", 3, &f);
	committed_file(v, tree, "b", "two", 3, &g);
	assert_int_equal(kept_copies(v), 0);
	write_at(v, f, "1", 1, 0);
	write_at(v, g, "2", 1, 0);
	assert_int_equal(kept_copies(v), 2);
	lose_group(v);
	assert_int_equal(kept_copies(v), 2);
	assert_int_equal(vfs_flush_all(v), 0);
	assert_int_equal(kept_copies(v), 0);
	assert_int_equal(vfs_release(v, f), 0);
	assert_int_equal(vfs_release(v, g), 0);
	vfs_close(v);
}

/* Emptied by a truncation to 0 whose group is lost: the file stays
 * empty and the older row goes at the next group. */
static void test_lost_group_keeps_inline_empty(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	char a[500], none[1] = {0};
	fill_bytes(a, sizeof a, 7);
	struct vfile *f;
	uint64_t ino = committed_file(v, tree, "e", a, sizeof a, &f);
	truncate_to(v, ino, 0);
	lose_group(v);
	expect_file(v, ino, f, none, 0);
	truncate_to(v, ino, 20); /* zeros, not the older bytes */
	expect_file(v, ino, f, (char[20]){0}, 20);
	expect_kept_after_restart(&v, tree, "e", f, (char[20]){0}, 20, 0);
	vfs_close(v);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lost_group_fails_next_fsync_once, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_resyncs_cached_inodes, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_at_close, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_inline_write, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_inline_append, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_inline_shrink, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_inline_rewrite_from_empty, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_inline_empty, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_inline_then_snapshot, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_inline_spill, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_inline_copies_last_until_commit, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_first_object, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_keeps_private_layer, setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
