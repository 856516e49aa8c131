/*
 * tests/unit/test_db_lock.c — the db lock knows its holder: db_locked_by_me
 * is true only in the thread between db_lock and db_unlock, and a function
 * that needs the lock (a transaction, the object store) or a recursive
 * take stops the process with an assertion instead of racing or
 * deadlocking. The failing cases run in a child process.
 */
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/unit.h"

#include "meta/db.h"
#include "meta/objects.h"

static struct db *open_memory_db(void)
{
	struct db *db = NULL;
	char err[256];
	assert_int_equal(db_open(&db, ":memory:", err, sizeof err), 0);
	return db;
}

static void *locked_elsewhere(void *arg)
{
	return (void *)(intptr_t)db_locked_by_me(arg);
}

static void test_holder_only(void **state)
{
	(void)state;
	struct db *db = open_memory_db();
	assert_false(db_locked_by_me(db));
	db_lock(db);
	assert_true(db_locked_by_me(db));
	pthread_t t;
	void *seen = (void *)1;
	assert_int_equal(pthread_create(&t, NULL, locked_elsewhere, db), 0);
	assert_int_equal(pthread_join(t, &seen), 0);
	assert_null(seen); /* another thread does not hold it */
	db_unlock(db);
	assert_false(db_locked_by_me(db));
	db_close(db);
}

/* Run fn(db) in a child; the signal that ended it (0 if it exited). A
 * child that blocks (a deadlock) is ended by SIGALRM. */
static int child_signal(void (*fn)(struct db *db))
{
	fflush(NULL);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		alarm(20);
		struct db *db = NULL;
		char err[256];
		if (db_open(&db, ":memory:", err, sizeof err) < 0)
			_exit(2);
		fn(db);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void lock_twice(struct db *db)
{
	db_lock(db);
	db_lock(db);
}

static void unlock_unheld(struct db *db)
{
	db_unlock(db);
}

static void begin_unlocked(struct db *db)
{
	db_begin(db);
}

static void get_object_unlocked(struct db *db)
{
	json_object_put(kobj_get(db, "Namespace", "", "default", NULL));
}

static void test_misuse_stops(void **state)
{
	(void)state;
	assert_int_equal(child_signal(lock_twice), SIGABRT);
	assert_int_equal(child_signal(unlock_unheld), SIGABRT);
	assert_int_equal(child_signal(begin_unlocked), SIGABRT);
	assert_int_equal(child_signal(get_object_unlocked), SIGABRT);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holder_only),
		cmocka_unit_test(test_misuse_stops),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
