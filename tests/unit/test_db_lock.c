/*
 * tests/unit/test_db_lock.c — the db lock knows its holder: db_locked_by_me
 * is true only in the thread between db_lock and db_unlock, and a function
 * that needs the lock (a transaction, the object store) or a recursive
 * take stops the process with an assertion instead of racing or
 * deadlocking. The failing cases run in a child process. And the lock is
 * fair to the data path: a background thread (the control plane) that
 * releases it and takes it again goes after a foreground thread that was
 * queued meanwhile.
 */
#include <pthread.h>
#include <sched.h>
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

/* One round of the fairness test: the order in which the two threads
 * got the lock after the background thread's first hold. */
struct handoff {
	struct db *db;
	pthread_mutex_t m;
	pthread_cond_t cv;
	int bg_holds;  /* the background thread holds the lock (m) */
	char order[3]; /* 'F' foreground, 'B' background's second hold (db locked) */
	int n;
};

static void note(struct handoff *h, char who)
{
	db_assert_locked(h->db);
	h->order[h->n++] = who;
}

static void *foreground(void *arg)
{
	struct handoff *h = arg;
	pthread_mutex_lock(&h->m);
	while (!h->bg_holds)
		pthread_cond_wait(&h->cv, &h->m);
	pthread_mutex_unlock(&h->m);
	db_lock(h->db); /* queues: the background thread holds it */
	note(h, 'F');
	db_unlock(h->db);
	return NULL;
}

static void *background_retakes(void *arg)
{
	struct handoff *h = arg;
	db_thread_background();
	db_lock(h->db);
	pthread_mutex_lock(&h->m);
	h->bg_holds = 1;
	pthread_cond_signal(&h->cv);
	pthread_mutex_unlock(&h->m);
	/* a condition, not a time: the foreground thread has queued */
	while (!db_contended(h->db))
		sched_yield();
	db_unlock(h->db);
	db_lock(h->db); /* a mutex alone lets this thread in first */
	note(h, 'B');
	db_unlock(h->db);
	return NULL;
}

/* Many rounds: without the handoff the releaser wins the race most
 * times, and one round it wins fails the test. */
static void test_foreground_before_background_retake(void **state)
{
	(void)state;
	struct db *db = open_memory_db();
	for (int round = 0; round < 200; round++) {
		struct handoff h = {.db = db};
		pthread_mutex_init(&h.m, NULL);
		pthread_cond_init(&h.cv, NULL);
		pthread_t f, b;
		assert_int_equal(pthread_create(&f, NULL, foreground, &h), 0);
		assert_int_equal(pthread_create(&b, NULL, background_retakes, &h), 0);
		assert_int_equal(pthread_join(b, NULL), 0);
		assert_int_equal(pthread_join(f, NULL), 0);
		assert_string_equal(h.order, "FB");
		assert_false(db_contended(db));
		pthread_cond_destroy(&h.cv);
		pthread_mutex_destroy(&h.m);
	}
	db_close(db);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_holder_only),
		cmocka_unit_test(test_misuse_stops),
		cmocka_unit_test(test_foreground_before_background_retake),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
