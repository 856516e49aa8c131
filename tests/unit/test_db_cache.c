/*
 * tests/unit/test_db_cache.c — meta.db's SQLite page cache: its bound is
 * 256 MiB, or VOLFS_DB_CACHE_MIB, and a value that is not a number of MiB
 * is refused with a message before anything opens; the hit and miss
 * counters (volfs_db_page_cache_*_total) count the pages a query reads,
 * misses only for pages the cache does not hold.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"

#include "meta/db.h"

static int64_t cache_size(struct db *db)
{
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "PRAGMA cache_size");
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	db_finish(st);
	db_unlock(db);
	return v;
}

static void test_cache_bound_from_environment(void **state)
{
	(void)state;
	struct db *db = NULL;
	char err[256] = "";
	unsetenv("VOLFS_DB_CACHE_MIB");
	assert_int_equal(db_open(&db, ":memory:", err, sizeof err), 0);
	assert_int_equal(cache_size(db), -256 * 1024);
	db_close(db);
	setenv("VOLFS_DB_CACHE_MIB", "64", 1);
	assert_int_equal(db_open(&db, ":memory:", err, sizeof err), 0);
	assert_int_equal(cache_size(db), -64 * 1024);
	db_close(db);
	static const char *const bad[] = {"0", "-4", "64M", "x", "99999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		setenv("VOLFS_DB_CACHE_MIB", bad[i], 1);
		err[0] = 0;
		db = NULL;
		assert_int_equal(db_open(&db, ":memory:", err, sizeof err), -1);
		assert_null(db);
		assert_non_null(strstr(err, "VOLFS_DB_CACHE_MIB"));
		assert_null(strchr(err, '\n'));
	}
	unsetenv("VOLFS_DB_CACHE_MIB");
}

/* A table of 2,000 rows of 1 KiB, read twice on a fresh connection: the
 * first read misses its pages, the second finds them all in the cache. */
static void test_counters_count_pages_read(void **state)
{
	(void)state;
	struct db *db = NULL;
	char err[256], path[] = "/tmp/test_db_cache.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	unlink(path);
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	db_lock(db);
	assert_int_equal(db_exec(db, "CREATE TABLE t(v BLOB); WITH RECURSIVE n(i) AS (SELECT 1 UNION "
	                             "ALL SELECT i + 1 FROM n WHERE i < 2000) INSERT INTO t "
	                             "SELECT zeroblob(1024) FROM n"), 0);
	db_unlock(db);
	db_close(db);
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	struct db_page_cache_stats s[3];
	db_page_cache_stats(db, &s[0]);
	for (int pass = 1; pass <= 2; pass++) {
		db_lock(db);
		sqlite3_stmt *st = db_prep(db, "SELECT sum(length(v)) FROM t");
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int64(st, 0), 2000 * 1024);
		db_finish(st);
		db_unlock(db);
		db_page_cache_stats(db, &s[pass]);
	}
	/* every page holds at most 3 rows of 1 KiB */
	assert_true(s[1].misses - s[0].misses >= 2000 / 3);
	assert_true(s[2].hits - s[1].hits >= 2000 / 3);
	assert_int_equal(s[2].misses, s[1].misses);
	db_close(db);
	char side[sizeof path + 8];
	unlink(path);
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_bound_from_environment),
		cmocka_unit_test(test_counters_count_pages_read),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
