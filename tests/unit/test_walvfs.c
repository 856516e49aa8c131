/*
 * tests/unit/test_walvfs.c — meta.db's WAL is written in whole pages at
 * its end (meta/walvfs.h): once the WAL starts over, no write leaves a
 * page past the live end partly written (the kernel would read the rest
 * from disk first, under the db lock), a write inside the live part is not
 * padded (the frames after it stay), and a WAL written so is recovered
 * whole by plain SQLite after a crash. A recording VFS under walvfs sees
 * every write of the WAL as the host gets it.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/unit.h"
#include "tests/unit/fixtures.h"

#include "meta/db.h"
#include "meta/walvfs.h"

#define PAGE 4096

/* What the host got: per write of a WAL, whether it left the page its end
 * falls in partly written past the furthest byte written since the last
 * write at offset 0 (the live end). */
static long wal_writes, wal_restarts, partial_pages;
static long long live_end = -1;

static sqlite3_vfs *base, recorder;
static const sqlite3_io_methods *real_methods;
static sqlite3_io_methods recording;

static int recorded_write(sqlite3_file *f, const void *buf, int amt, sqlite3_int64 off)
{
	long long end = off + amt;
	wal_writes++;
	if (off == 0) {
		wal_restarts++;
		live_end = 0;
	}
	if (live_end >= 0 && end > live_end) {
		if (end % PAGE && (live_end == 0 || (end - 1) / PAGE != (live_end - 1) / PAGE))
			partial_pages++;
		live_end = end;
	}
	return real_methods->xWrite(f, buf, amt, off);
}

static int recorder_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out)
{
	(void)vfs;
	int rc = base->xOpen(base, name, f, flags, out);
	if (rc == SQLITE_OK && (flags & SQLITE_OPEN_WAL) && f->pMethods) {
		if (!real_methods) {
			real_methods = f->pMethods;
			recording = *f->pMethods;
			recording.xWrite = recorded_write;
		}
		assert_ptr_equal(f->pMethods, real_methods);
		f->pMethods = &recording;
	}
	return rc;
}

/* Under walvfs, which wraps the default VFS of its first use. */
static void register_recorder(void)
{
	if (base)
		return;
	base = unit_shim_default_vfs(&recorder, "volfs-record-wal", recorder_open);
	assert_non_null(walvfs_name());
}

static void add_rows(struct db *db, int n)
{
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(db_exec(db, "INSERT INTO t VALUES(randomblob(700))"), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(db_group_commit(db), 0);
	db_unlock(db);
}

/* Copy every frame back, so the next commit starts the WAL over at its
 * start, over the frames of this round. */
static void copy_back(struct db *db)
{
	int frames = -1, copied = -2;
	db_lock(db);
	assert_int_equal(sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames,
	                                           &copied), SQLITE_OK);
	db_unlock(db);
	assert_true(frames > 0);
	assert_int_equal(frames, copied);
}

static void copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(in >= 0 && out >= 0);
	char buf[65536];
	ssize_t n;
	while ((n = read(in, buf, sizeof buf)) > 0)
		assert_int_equal(write(out, buf, (size_t)n), n);
	assert_int_equal(n, 0);
	close(in);
	close(out);
}

static long long count_rows(const char *path)
{
	sqlite3 *h = NULL;
	assert_int_equal(sqlite3_open_v2(path, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	sqlite3_stmt *st = NULL;
	assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM t", -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	long long n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(h);
	return n;
}

/* Rounds of commits over a WAL started over each time: every write past
 * the live end ends on a page boundary or in a page already reached; a
 * copy of meta.db and its WAL taken without a checkpoint (as a kill -9
 * leaves them) opens with every committed row. */
static void test_wal_end_written_in_whole_pages(void **state)
{
	(void)state;
	register_recorder();
	char dir[64], path[128], copy[160];
	unit_temp_dir(dir, sizeof dir, "walvfs");
	snprintf(path, sizeof path, "%s/meta.db", dir);
	struct db *db = NULL;
	char err[256];
	assert_int_equal(db_open(&db, path, err, sizeof err), 0);
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_exec(db, "CREATE TABLE t(b BLOB)"), 0);
	assert_int_equal(db_commit(db), 0);
	db_unlock(db);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 20; i++)
			add_rows(db, 7);
		copy_back(db);
	}
	long restarts = wal_restarts, writes = wal_writes;
	partial_pages = 0;
	for (int i = 0; i < 20; i++)
		add_rows(db, 7);
	assert_int_equal(wal_restarts, restarts + 1);
	assert_true(wal_writes - writes > 100);
	assert_int_equal(partial_pages, 0);

	snprintf(copy, sizeof copy, "%s/crash.db", dir);
	copy_file(path, copy);
	snprintf(path, sizeof path, "%s/meta.db-wal", dir);
	snprintf(copy, sizeof copy, "%s/crash.db-wal", dir);
	copy_file(path, copy);
	snprintf(copy, sizeof copy, "%s/crash.db", dir);
	assert_int_equal(count_rows(copy), 80 * 7);
	db_close(db);
	unit_rm_tree(dir);
}

static void write_at(sqlite3_file *f, char c, int amt, sqlite3_int64 off)
{
	char buf[PAGE];
	memset(buf, c, sizeof buf);
	assert_int_equal(f->pMethods->xWrite(f, buf, amt, off), SQLITE_OK);
}

static char byte_at(sqlite3_file *f, sqlite3_int64 off)
{
	char c = '?';
	assert_int_equal(f->pMethods->xRead(f, &c, 1, off), SQLITE_OK);
	return c;
}

/* Frames written through the VFS as SQLite writes them (a header, a
 * frame's 24-byte header and its page, ...): an append is padded with
 * zeros to its page's end; rewriting the page of an earlier frame of the
 * live part leaves the frame after it as it was. */
static void test_rewrite_inside_live_part_not_padded(void **state)
{
	(void)state;
	register_recorder();
	char dir[64], path[128];
	unit_temp_dir(dir, sizeof dir, "walvfs");
	snprintf(path, sizeof path, "%s/x.db", dir);
	close(open(path, O_WRONLY | O_CREAT, 0600)); /* SQLite gives a WAL its database's mode */
	snprintf(path, sizeof path, "%s/x.db-wal", dir);
	sqlite3_vfs *vfs = sqlite3_vfs_find(walvfs_name());
	assert_non_null(vfs);
	sqlite3_file *f = calloc(1, (size_t)vfs->szOsFile);
	int out = 0;
	assert_int_equal(vfs->xOpen(vfs, path, f, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                            SQLITE_OPEN_WAL, &out), SQLITE_OK);
	write_at(f, 'H', 32, 0);
	write_at(f, 'a', 24, 32);
	write_at(f, 'A', PAGE, 56);
	write_at(f, 'b', 24, 56 + PAGE);
	write_at(f, 'B', PAGE, 80 + PAGE);
	sqlite3_int64 size = 0;
	assert_int_equal(f->pMethods->xFileSize(f, &size), SQLITE_OK);
	assert_int_equal(size, 3 * PAGE); /* the last frame's page padded */
	assert_int_equal(byte_at(f, 80 + 2 * PAGE), 0);
	write_at(f, 'C', PAGE, 56); /* frame 1's page again */
	assert_int_equal(byte_at(f, 56 + PAGE - 1), 'C');
	assert_int_equal(byte_at(f, 56 + PAGE), 'b'); /* frame 2's header stays */
	assert_int_equal(byte_at(f, 80 + PAGE), 'B');
	assert_int_equal(partial_pages, 0);
	assert_int_equal(f->pMethods->xClose(f), SQLITE_OK);
	free(f);
	unit_rm_tree(dir);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wal_end_written_in_whole_pages),
		cmocka_unit_test(test_rewrite_inside_live_part_not_padded),
	};
	unit_filter(argc, argv);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
