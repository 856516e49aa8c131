/*
 * tests/unit/test_lockrank.c — the lock checks themselves (meta/lockrank.h,
 * db_assert_locked in meta/db.c): the documented order passes, a lock
 * taken while one of a higher rank is held aborts with both named, and
 * so does a "db locked" function called without the db lock. Each
 * violation runs in a child process, which must die of SIGABRT.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "meta/db.h"
#include "meta/lockrank.h"

/* Run fn in a child with stderr in a file; its wait status, and what it
 * printed in out. */
static int in_child(void (*fn)(void *), void *arg, char *out, size_t len)
{
	char path[] = "/tmp/volfs-lockrank-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	fflush(stderr);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd, 2);
		fn(arg);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	ssize_t n = pread(fd, out, len - 1, 0);
	out[n > 0 ? n : 0] = 0;
	close(fd);
	return status;
}

static void expect_abort(void (*fn)(void *), void *arg, const char *want)
{
	char out[1024];
	int status = in_child(fn, arg, out, sizeof out);
	if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGABRT)
		fail_msg("the child did not abort (status %#x): %s", status, out);
	if (want && !strstr(out, want))
		fail_msg("\"%s\" lacks \"%s\"", out, want);
}

static void skip_without_checks(void)
{
#ifndef VOLFS_LOCK_CHECKS
	skip(); /* a build without the checks (not make SAN=1) */
#endif
}

static pthread_mutex_t outer = PTHREAD_MUTEX_INITIALIZER, inner = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t gate = PTHREAD_RWLOCK_INITIALIZER, contents[2] = {
	PTHREAD_RWLOCK_INITIALIZER, PTHREAD_RWLOCK_INITIALIZER};

static void documented_order(void *arg)
{
	(void)arg;
	ranked_rdlock(&gate, LOCK_TREE_GATE);
	ranked_rdlock(&contents[0], LOCK_VNODE);
	ranked_rdlock(&contents[1], LOCK_VNODE); /* a group commit holds many */
	ranked_lock(&outer, LOCK_DB);
	ranked_lock(&inner, LOCK_LEAF);
	ranked_unlock(&inner, LOCK_LEAF);
	ranked_unlock(&outer, LOCK_DB);
	/* an fdatasync's marker writer, then the object's map */
	ranked_lock(&outer, LOCK_STORE_SYNC);
	ranked_lock(&inner, LOCK_STORE_MAP);
	ranked_unlock(&inner, LOCK_STORE_MAP);
	ranked_unlock(&outer, LOCK_STORE_SYNC);
	ranked_rwunlock(&contents[1], LOCK_VNODE);
	ranked_rwunlock(&contents[0], LOCK_VNODE);
	ranked_rwunlock(&gate, LOCK_TREE_GATE);
	/* and again after everything was released */
	ranked_lock(&inner, LOCK_LEAF);
	ranked_unlock(&inner, LOCK_LEAF);
}

static void contents_inside_db(void *arg)
{
	(void)arg;
	ranked_lock(&outer, LOCK_DB);
	ranked_wrlock(&contents[0], LOCK_VNODE);
}

static void two_leaves(void *arg)
{
	(void)arg;
	ranked_lock(&outer, LOCK_LEAF);
	ranked_lock(&inner, LOCK_LEAF);
}

static void sync_inside_map(void *arg)
{
	(void)arg;
	ranked_lock(&outer, LOCK_STORE_MAP);
	ranked_lock(&inner, LOCK_STORE_SYNC);
}

static void release_unheld(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&outer);
	ranked_unlock(&outer, LOCK_STORE);
}

static void test_documented_order_passes(void **state)
{
	(void)state;
	skip_without_checks();
	char out[1024];
	int status = in_child(documented_order, NULL, out, sizeof out);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_string_equal(out, "");
}

static void test_violations_abort(void **state)
{
	(void)state;
	skip_without_checks();
	expect_abort(contents_inside_db, NULL,
	             "volfs: lock check: taking vnode->lock while holding the db lock");
	expect_abort(two_leaves, NULL,
	             "taking vnode->alock, itab_lock, reclaim_lock or db turn_lock while "
	             "holding vnode->alock, itab_lock, reclaim_lock or db turn_lock");
	expect_abort(sync_inside_map, NULL, "taking dobj->synclock while holding dobj->maplock");
	expect_abort(release_unheld, NULL, "releasing store->lock");
}

static void db_unlocked(void *arg)
{
	db_assert_locked(arg);
}

static void db_locked(void *arg)
{
	db_lock(arg);
	db_assert_locked(arg);
	db_unlock(arg);
}

/* db_assert_locked is kept in every build. */
static void test_db_assert_locked(void **state)
{
	(void)state;
	char dir[64], path[128], err[256], out[1024];
	struct db *db;
	unit_temp_dir(dir, sizeof dir, "lockrank");
	snprintf(path, sizeof path, "%s/meta.db", dir);
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	int status = in_child(db_locked, db, out, sizeof out);
	expect_abort(db_unlocked, db, "db_assert_locked");
	db_close(db);
	unit_rm_tree(dir);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_documented_order_passes),
		cmocka_unit_test(test_violations_abort),
		cmocka_unit_test(test_db_assert_locked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
