/*
 * tests/unit/test_lostgroup.c — a group commit that SQLite rolls back
 * (meta/db.c, fs/vfs/state.c): the next fsync fails once with EIO, the owner of
 * in-memory mirrors is told, and the namespace layer's cached inodes agree
 * with meta.db again (a directory made by the lost group is gone, its
 * parent's link count is the row's, the tree checks clean); the undo
 * generation that caches of rows follow grows; a group lost during the
 * stop itself touches none of the mirrors being freed. The commit is
 * made to fail with RLIMIT_FSIZE: appending to the WAL fails as it would
 * on a full disk, and SQLite rolls the group back.
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

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_lost_group_fails_next_fsync_once, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_resyncs_cached_inodes, setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_lost_group_at_close, setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
