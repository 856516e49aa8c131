/*
 * tests/unit/test_wal_restart.c — the WAL starts over without syncing
 * meta.db under the db lock: db_checkpoint commits the open group and has
 * it synced and copied back off the lock, so its step under the lock has
 * nothing to flush when nothing changed meanwhile, and only the WAL's
 * tail to sync when something did (meta.db's sync follows the lock); a
 * background thread's db_lock waits for that sync off the lock. A shim
 * over SQLite's default VFS counts every xSync of meta.db and of its WAL
 * by whether the syncing thread held the db lock, and can hold the
 * restart's sync of meta.db.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tests/unit/fixtures.h"

#include "meta/db.h"

static struct db *watched; /* the database whose lock the syncs are checked against */
static int db_syncs_locked, wal_syncs_locked, syncs_unlocked;
/* Called once at the next sync off the lock with no group open (then
 * cleared): a change made while the checkpoint copies the group it
 * committed. */
static void (*at_unlocked_sync)(void);

/* The WALs among the files opened. */
#define SHIM_WALS 8
static sqlite3_file *wals[SHIM_WALS];

static int is_wal(sqlite3_file *f)
{
	for (int i = 0; i < SHIM_WALS; i++)
		if (wals[i] == f)
			return 1;
	return 0;
}

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

/* While set, the restart's sync of meta.db off the lock (restart_syncing
 * set) waits until it is cleared; held says it is waiting. */
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t hold_changed = PTHREAD_COND_INITIALIZER;
static int hold_restart_sync, held;

static void hold_if_restart_sync(sqlite3_file *f)
{
	if (is_wal(f) || !__atomic_load_n(&watched->restart_syncing, __ATOMIC_ACQUIRE))
		return;
	pthread_mutex_lock(&hold_lock);
	held = hold_restart_sync;
	pthread_cond_broadcast(&hold_changed);
	while (hold_restart_sync)
		pthread_cond_wait(&hold_changed, &hold_lock);
	held = 0;
	pthread_mutex_unlock(&hold_lock);
}

static int counted_sync(sqlite3_file *f, int flags)
{
	if (watched && db_locked_by_me(watched)) {
		if (is_wal(f))
			wal_syncs_locked++;
		else
			db_syncs_locked++;
	} else if (watched) {
		hold_if_restart_sync(f);
		syncs_unlocked++;
		void (*change)(void) = watched->group_open ? NULL : at_unlocked_sync;
		if (change) {
			at_unlocked_sync = NULL;
			change();
		}
	}
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
	for (int i = 0; rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && i < SHIM_WALS; i++)
		if (!wals[i] || wals[i] == f) {
			wals[i] = f;
			break;
		}
	return rc;
}

static void register_shim(void)
{
	if (!base)
		base = unit_shim_default_vfs(&shim_vfs, "volfs-count-syncs", shim_open);
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

/* A database whose WAL is past the restart's length, with a group of
 * changes not yet committed: the restart has the group's pages to commit,
 * sync and copy back. */
static struct db *long_wal(char *dir, size_t len)
{
	register_shim();
	char path[128];
	unit_temp_dir(dir, len, "walrestart");
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
	assert_true(db->wal_frames >= 300);
	db->wal_restart_frames = 100;
	add_pages(db, 50);
	assert_true(db->group_open);
	__atomic_store_n(&db->checkpoint_due, 1, __ATOMIC_RELEASE);
	return db;
}

static void checkpoint_counted(struct db *db)
{
	watched = db;
	db_syncs_locked = wal_syncs_locked = syncs_unlocked = 0;
	db_checkpoint(db);
	watched = NULL;
	at_unlocked_sync = NULL;
}

/* The next group's commit writes at the start of the WAL, and every row
 * is there. */
static void assert_restarted(struct db *db, int64_t want_rows)
{
	assert_int_equal(db->restart_unsynced, 0);
	add_pages(db, 1);
	db_lock(db);
	assert_int_equal(db_group_commit(db), 0);
	assert_int_equal(rows(db), want_rows);
	char msg[256];
	assert_int_equal(db_integrity_check(db, msg, sizeof msg), 0);
	db_unlock(db);
	assert_true(db->wal_frames < 50);
}

static void test_restart_syncs_off_the_lock(void **state)
{
	(void)state;
	char dir[64];
	struct db *db = long_wal(dir, sizeof dir);
	checkpoint_counted(db);
	assert_int_equal(db_syncs_locked, 0);
	assert_int_equal(wal_syncs_locked, 0);
	assert_true(syncs_unlocked >= 2); /* the WAL's, then meta.db's */
	assert_restarted(db, 351);
	db_close(db);
	unit_rm_tree(dir);
}

static struct db *changing;

static void change_meanwhile(void)
{
	add_pages(changing, 10);
}

/* Changes made during the copy off the lock: the step under the lock
 * syncs the WAL's tail, and meta.db only after the lock. */
static void test_restart_after_changes(void **state)
{
	(void)state;
	char dir[64];
	struct db *db = long_wal(dir, sizeof dir);
	changing = db;
	at_unlocked_sync = change_meanwhile;
	checkpoint_counted(db);
	assert_null(at_unlocked_sync); /* the change was made */
	assert_int_equal(db_syncs_locked, 0);
	assert_int_equal(wal_syncs_locked, 1);
	assert_true(syncs_unlocked >= 3); /* the drain's two, then meta.db's */
	assert_restarted(db, 361);
	db_close(db);
	unit_rm_tree(dir);
}

static int checkpoint_done; /* hold_lock */

static void *checkpoint_thread(void *arg)
{
	db_checkpoint(arg);
	pthread_mutex_lock(&hold_lock);
	checkpoint_done = 1;
	pthread_cond_broadcast(&hold_changed);
	pthread_mutex_unlock(&hold_lock);
	return NULL;
}

/* A background thread's change committed with its group: what the
 * reclaimer and the control plane do. */
static _Atomic pid_t taker_tid;
static void *background_taker(void *arg)
{
	struct db *db = arg;
	db_thread_background();
	atomic_store(&taker_tid, (pid_t)syscall(SYS_gettid));
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "INSERT INTO pages VALUES(zeroblob(10))"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_group_commit(db), 0);
	db_unlock(db);
	return NULL;
}

/* The thread is asleep (blocked), as /proc says. */
static int asleep(pid_t tid)
{
	char path[64], line[512];
	snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return 0;
	char *got = fgets(line, sizeof line, f);
	fclose(f);
	char *end = got ? strrchr(line, ')') : NULL;
	return end && end[1] == ' ' && end[2] == 'S';
}

/* While the restart's sync of meta.db runs off the lock, a background
 * thread's db_lock waits for it off the lock: the lock stays free (a
 * foreground change goes through meanwhile) instead of being held by a
 * commit that waits for the sync under it. Once the sync ends, the
 * background change commits, and nothing committed is lost. */
static void test_background_waits_for_restart_sync_off_the_lock(void **state)
{
	(void)state;
	char dir[64], path[128], err[256];
	struct db *db = long_wal(dir, sizeof dir);
	/* a change during the copy: the step under the lock has a tail to
	 * copy, so meta.db's sync follows the lock */
	changing = db;
	at_unlocked_sync = change_meanwhile;
	watched = db;
	hold_restart_sync = 1;
	pthread_t checkpointer, taker;
	assert_int_equal(pthread_create(&checkpointer, NULL, checkpoint_thread, db), 0);
	pthread_mutex_lock(&hold_lock);
	while (!held && !checkpoint_done)
		pthread_cond_wait(&hold_changed, &hold_lock);
	pthread_mutex_unlock(&hold_lock);
	assert_true(held);
	assert_true(db_restart_syncing(db));

	assert_int_equal(pthread_create(&taker, NULL, background_taker, db), 0);
	while (!atomic_load(&taker_tid) || !asleep(atomic_load(&taker_tid)))
		nanosleep(&(struct timespec){0, 1000000}, NULL);
	/* asleep in db_lock, not holding it */
	assert_true(pthread_equal(__atomic_load_n(&db->owner, __ATOMIC_RELAXED), (pthread_t)0));
	add_pages(db, 1); /* a foreground change is not held up */
	assert_true(db_restart_syncing(db));

	pthread_mutex_lock(&hold_lock);
	hold_restart_sync = 0;
	pthread_cond_broadcast(&hold_changed);
	pthread_mutex_unlock(&hold_lock);
	assert_int_equal(pthread_join(checkpointer, NULL), 0);
	assert_int_equal(pthread_join(taker, NULL), 0);
	watched = NULL;
	at_unlocked_sync = NULL;
	assert_int_equal(db_sync(db), 0);
	db_close(db);

	snprintf(path, sizeof path, "%s/meta.db", dir);
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	db_lock(db);
	/* 350, the 10 made during the copy, the foreground's and the background's */
	assert_int_equal(rows(db), 362);
	db_unlock(db);
	db_close(db);
	unit_rm_tree(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_restart_syncs_off_the_lock),
		cmocka_unit_test(test_restart_after_changes),
		cmocka_unit_test(test_background_waits_for_restart_sync_off_the_lock),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
