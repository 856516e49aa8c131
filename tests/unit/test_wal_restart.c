/*
 * tests/unit/test_wal_restart.c — the WAL starts over without a sync
 * under the db lock: db_checkpoint commits the open group and has it
 * synced and copied back off the lock, so its step under the lock has
 * nothing to flush when nothing changed meanwhile. A shim over SQLite's
 * default VFS counts every xSync of meta.db and its WAL by whether the
 * syncing thread held the db lock.
 */
#include <stdlib.h>

#include "tests/unit/unit.h"
#include "tests/unit/fixtures.h"

#include "meta/db.h"

static struct db *watched; /* the database whose lock the syncs are checked against */
static int syncs_locked, syncs_unlocked;

/* The default VFS's methods with xSync counted: one copy per methods
 * table its files use. */
#define SHIM_TABLES 4
static struct {
	const sqlite3_io_methods *real;
	sqlite3_io_methods shim;
} tables[SHIM_TABLES];
static sqlite3_vfs *base, shim_vfs;

static const sqlite3_io_methods *real_methods(sqlite3_file *f)
{
	for (int i = 0; i < SHIM_TABLES; i++)
		if (&tables[i].shim == f->pMethods)
			return tables[i].real;
	return f->pMethods;
}

static int counted_sync(sqlite3_file *f, int flags)
{
	if (watched && db_locked_by_me(watched))
		syncs_locked++;
	else
		syncs_unlocked++;
	return real_methods(f)->xSync(f, flags);
}

static const sqlite3_io_methods *shim_of(const sqlite3_io_methods *real)
{
	for (int i = 0; i < SHIM_TABLES; i++) {
		if (!tables[i].real) {
			tables[i].real = real;
			tables[i].shim = *real;
			tables[i].shim.xSync = counted_sync;
		}
		if (tables[i].real == real)
			return &tables[i].shim;
	}
	fail_msg("more than %d kinds of SQLite file", SHIM_TABLES);
	return real;
}

static int shim_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	int rc = base->xOpen(base, name, f, flags, out);
	if (rc == SQLITE_OK && f->pMethods)
		f->pMethods = shim_of(f->pMethods);
	return rc;
}

static void register_shim(void)
{
	if (base)
		return;
	base = sqlite3_vfs_find(NULL);
	assert_non_null(base);
	shim_vfs = *base;
	shim_vfs.zName = "volfs-count-syncs";
	shim_vfs.xOpen = shim_open;
	assert_int_equal(sqlite3_vfs_register(&shim_vfs, 1), SQLITE_OK);
}

static int64_t rows(struct db *db)
{
	sqlite3_stmt *st = db_prep(db, "SELECT count(*) FROM pages");
	assert_int_equal(db_step_row(st), 1);
	int64_t n = sqlite3_column_int64(st, 0);
	db_finish(st);
	return n;
}

/* A change of n rows of about a page each, left in the open group. */
static void add_pages(struct db *db, int n)
{
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(db_exec(db, "INSERT INTO pages VALUES(zeroblob(3500))"), 0);
	assert_int_equal(db_commit(db), 0);
	db_unlock(db);
}

static void test_restart_syncs_off_the_lock(void **state)
{
	(void)state;
	register_shim();
	char dir[64], path[128];
	unit_temp_dir(dir, sizeof dir, "walrestart");
	snprintf(path, sizeof path, "%s/meta.db", dir);
	struct db *db = NULL;
	char err[256];
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "CREATE TABLE pages(b BLOB)"), 0);
	assert_int_equal(db_commit(db), 0);
	db_unlock(db);
	add_pages(db, 300);
	db_lock(db);
	assert_int_equal(db_group_commit(db), 0);
	db_unlock(db);
	int long_wal = db->wal_frames;
	assert_true(long_wal >= 300);

	/* A long WAL and a group of changes not yet committed: the restart
	 * has the group's pages to commit, sync and copy back. */
	db->wal_restart_frames = 100;
	add_pages(db, 50);
	assert_true(db->group_open);
	__atomic_store_n(&db->checkpoint_due, 1, __ATOMIC_RELEASE);
	watched = db;
	syncs_locked = syncs_unlocked = 0;
	db_checkpoint(db);
	watched = NULL;
	assert_int_equal(syncs_locked, 0);
	assert_true(syncs_unlocked >= 2); /* the WAL's, then meta.db's */

	/* The next group's commit writes at the start of the WAL. */
	add_pages(db, 1);
	db_lock(db);
	assert_int_equal(db_group_commit(db), 0);
	assert_int_equal(rows(db), 351);
	db_unlock(db);
	assert_true(db->wal_frames < 50);
	db_close(db);
	unit_rm_tree(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_syncs_off_the_lock),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
