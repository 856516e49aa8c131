/*
 * tests/unit/test_store.c — the data path (fs/store/store.h) on a fresh meta.db
 * and state directory: byte round trips, holes, sparseness of host files,
 * punch/allocate/truncate with their block deltas, SEEK_DATA/SEEK_HOLE,
 * persistence of maps, deletion and reaping,
 * store_check, and a randomised comparison against an in-memory model.
 * Copy-on-write layers: test_store_layers.c.
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
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "fs/obs/counters.h"
#include "fs/store/store.h"
#include "fs/vfs/vfs.h"
#include "fs/store/uring.h"
#include "meta/db.h"
#include "tests/unit/store_util.h"

#define B STORE_BLOCK
#define KiB 1024ull
#define MiB (1024ull * KiB)
#define GiB (1024ull * MiB)

static int setup(void **state) { return unit_store_setup(state, "store"); }

static void flush_all(struct unit_store *e)
{
	db_lock(e->db);
	int r = store_flush_all(e->st);
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

/* End the group transaction (meta/db.h), as the daemon's flusher does. */
static void commit_group(struct unit_store *e)
{
	db_lock(e->db);
	int r = db_group_commit(e->db);
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

/* ------------------------------------------------------------------ */

/* store_repair_synced under the db lock: how many objects it repaired. */
static size_t repair_synced(struct unit_store *e, struct store_synced **list)
{
	size_t n;
	db_lock(e->db);
	int r = store_repair_synced(e->st, list, &n);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	return n;
}

static void test_unaligned_round_trip(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	/* Blocks 0..2 become data. */
	assert_int_equal(unit_write_pattern(o, 1000, 10000, 1), 3);
	unit_expect_pattern(o, 0, 1000, 0);
	unit_expect_pattern(o, 1000, 10000, 1);
	unit_expect_pattern(o, 11000, 3 * B - 11000, 0);
	assert_int_equal(store_data_blocks(o), 3);
	/* Overwrite inside existing blocks adds nothing. */
	assert_int_equal(unit_write_pattern(o, 5000, 100, 2), 0);
	unit_expect_pattern(o, 1000, 4000, 1);
	unit_expect_pattern(o, 5000, 100, 2);
	unit_expect_pattern(o, 5100, 5900, 1);
	/* A write straddling old and new blocks adds only the new one. */
	assert_int_equal(unit_write_pattern(o, 3 * B - 10, 20, 3), 1);
	unit_expect_pattern(o, 3 * B - 10, 20, 3);
	unit_expect_pattern(o, 3 * B + 10, B - 10, 0);
	/* Single bytes, single partial block in the middle of nowhere. */
	assert_int_equal(unit_write_pattern(o, 100 * B + 4095, 1, 4), 1);
	unit_expect_pattern(o, 100 * B, 4095, 0);
	unit_expect_pattern(o, 100 * B + 4095, 1, 4);
	assert_int_equal(store_data_blocks(o), 5);
	/* Scattered readv. */
	uint8_t a[7], b2[5000], c[1];
	struct iovec iov[3] = { { a, sizeof a }, { b2, sizeof b2 }, { c, sizeof c } };
	assert_int_equal(store_readv(o, iov, 3, 998), 5008);
	assert_int_equal(a[0], 0);
	assert_int_equal(a[1], 0);
	assert_int_equal(a[2], unit_pattern(1000, 1));
	assert_int_equal(b2[4999], unit_pattern(998 + 7 + 4999, 1));
	assert_int_equal(c[0], unit_pattern(998 + 5007, 1));
	store_put(e->st, o);
}

static void test_holes_and_sparse_host(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_false(unit_store_host_exists(e, id)); /* created lazily */
	unit_expect_pattern(o, 0, 3 * B, 0);
	assert_int_equal(unit_write_pattern(o, 1 * GiB, B, 5), 1);
	unit_expect_pattern(o, 1 * GiB - 2 * MiB, 2 * MiB, 0);
	unit_expect_pattern(o, 1 * GiB, B, 5);
	struct stat sb = host_stat(e, id);
	assert_true((uint64_t)sb.st_size >= 1 * GiB + B);
	assert_true((uint64_t)sb.st_blocks * 512 <= 64 * KiB);
	assert_int_equal(store_data_blocks(o), 1);
	store_put(e->st, o);
}

static void test_beyond_4g(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t off = 5 * GiB + 123;
	assert_int_equal(unit_write_pattern(o, off, 3 * B, 6), 4);
	unit_expect_pattern(o, off - 200, 200, 0);
	unit_expect_pattern(o, off, 3 * B, 6);
	assert_int_equal(store_seek(o, 0, SEEK_DATA, 6 * GiB), (int64_t)(5 * GiB));
	assert_int_equal(store_seek(o, 5 * GiB, SEEK_HOLE, 6 * GiB), (int64_t)(5 * GiB + 4 * B));
	/* Past the supported size: refused, nothing changes. */
	int64_t d = 7;
	uint8_t x = 1;
	assert_int_equal(store_write(o, &x, 1, STORE_MAX_SIZE, &d), -EFBIG);
	assert_int_equal(d, 0);
	assert_int_equal(store_data_blocks(o), 4);
	store_put(e->st, o);
}

static void test_punch(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, 8 * B, 7), 8);
	struct stat before = host_stat(e, store_id(o));
	int64_t d = 1;
	/* Whole blocks 2..4, partial edges in blocks 1 and 5. */
	assert_int_equal(store_punch(o, B + 100, 5 * B - 150, &d), 0);
	assert_int_equal(d, -3);
	unit_expect_pattern(o, 0, B + 100, 7);
	unit_expect_pattern(o, B + 100, 5 * B - 150, 0);
	unit_expect_pattern(o, 6 * B - 50, 2 * B + 50, 7);
	assert_int_equal(store_data_blocks(o), 5);
	struct stat after = host_stat(e, store_id(o));
	assert_true(after.st_blocks <= before.st_blocks - 3 * B / 512);
	assert_int_equal(after.st_size, before.st_size);
	/* Inside one block: nothing freed. */
	assert_int_equal(store_punch(o, 7 * B + 10, 10, &d), 0);
	assert_int_equal(d, 0);
	unit_expect_pattern(o, 7 * B, 10, 7);
	unit_expect_pattern(o, 7 * B + 10, 10, 0);
	unit_expect_pattern(o, 7 * B + 20, B - 20, 7);
	/* Punching holes that are already holes frees nothing. */
	assert_int_equal(store_punch(o, 2 * B, 3 * B, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(store_absent_blocks(o, 0, 8 * B), 3);
	/* And the block map really forgot them: SEEK_HOLE finds block 2. */
	assert_int_equal(store_seek(o, 0, SEEK_HOLE, 8 * B), (int64_t)(2 * B));
	store_put(e->st, o);
}

static void test_truncate_then_extend(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, 4 * B, 8), 4);
	int64_t d = 1;
	assert_int_equal(store_truncate(o, B + 5, &d), 0);
	assert_int_equal(d, -2);
	assert_int_equal(store_data_blocks(o), 2);
	/* The file grows again: everything past the old cut reads zeros,
	 * including the tail of the partial block. */
	unit_expect_pattern(o, 0, B + 5, 8);
	unit_expect_pattern(o, B + 5, 4 * B, 0);
	assert_int_equal(unit_write_pattern(o, 3 * B, 10, 9), 1);
	unit_expect_pattern(o, B + 5, 2 * B - 5, 0);
	unit_expect_pattern(o, 3 * B, 10, 9);
	assert_true((uint64_t)host_stat(e, store_id(o)).st_blocks * 512 <= 4 * B + 16 * KiB);
	assert_int_equal(store_truncate(o, 0, &d), 0);
	assert_int_equal(d, -3);
	assert_int_equal(store_data_blocks(o), 0);
	unit_expect_pattern(o, 0, 4 * B, 0);
	store_put(e->st, o);
}

/* Host block b of object id holds the pattern `seed` on its first `len`
 * bytes and zeros after them. */
static void expect_host_block(struct unit_store *e, uint64_t id, uint64_t b, size_t len, unsigned seed)
{
	char path[4096];
	store_path(e->st, id, path, sizeof path);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	uint8_t buf[STORE_BLOCK], want[STORE_BLOCK];
	assert_int_equal(pread(fd, buf, B, (off_t)(b * B)), (ssize_t)B);
	close(fd);
	unit_fill(want, len, b * B, seed);
	memset(want + len, 0, B - len);
	assert_memory_equal(buf, want, B);
}

/* The two steps of a truncation: the map step leaves every host byte in
 * place (a crash before the new map commits must find the old file whole)
 * and says whether the host step has anything to destroy. */
static void test_truncate_in_two_steps(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_int_equal(unit_write_pattern(o, 0, 4 * B, 8), 4);
	int64_t d = 1;
	assert_int_equal(store_truncate_map(o, B + 5, &d), 1);
	assert_int_equal(d, -2);
	assert_int_equal(store_data_blocks(o), 2);
	assert_int_equal(host_stat(e, id).st_size, (off_t)(4 * B));
	expect_host_block(e, id, 1, B, 8);
	expect_host_block(e, id, 3, B, 8);
	assert_int_equal(store_truncate_host(o, B + 5), 0);
	assert_int_equal(host_stat(e, id).st_size, (off_t)(2 * B));
	expect_host_block(e, id, 1, 5, 8);
	/* Nothing left past the end: the host step has nothing to do. */
	assert_int_equal(store_truncate_map(o, 2 * B, &d), 0);
	assert_int_equal(d, 0);
	store_put(e->st, o);
}

/* A punch's map step leaves this layer's host bytes alone too. */
static void test_punch_in_two_steps(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_int_equal(unit_write_pattern(o, 0, 4 * B, 3), 4);
	int64_t d = 1;
	assert_int_equal(store_punch_map(o, 10, 2 * B, &d), 1);
	assert_int_equal(d, -1); /* block 1 whole; blocks 0 and 2 partly */
	assert_int_equal((uint64_t)host_stat(e, id).st_blocks * 512, 4 * B);
	expect_host_block(e, id, 0, B, 3);
	expect_host_block(e, id, 1, B, 3);
	assert_int_equal(store_punch_host(o, 10, 2 * B), 0);
	expect_host_block(e, id, 0, 10, 3);
	assert_int_equal((uint64_t)host_stat(e, id).st_blocks * 512, 3 * B);
	unit_expect_pattern(o, 0, 10, 3);
	unit_expect_pattern(o, 10, 2 * B, 0);
	unit_expect_pattern(o, 2 * B + 10, 2 * B - 10, 3);
	/* Nothing of this layer's in the range: no host step needed. */
	assert_int_equal(store_punch_map(o, B, B, &d), 0);
	assert_int_equal(d, 0);
	store_put(e->st, o);
}

static void test_allocate(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 3 * B, B, 10), 1);
	int64_t d = -1;
	assert_int_equal(store_allocate(o, 100, 10 * B, &d), 0);
	assert_int_equal(d, 10); /* blocks 0..10 minus the one with data */
	assert_int_equal(store_data_blocks(o), 11);
	unit_expect_pattern(o, 0, 3 * B, 0);
	unit_expect_pattern(o, 3 * B, B, 10);
	unit_expect_pattern(o, 4 * B, 7 * B, 0);
	assert_true((uint64_t)host_stat(e, store_id(o)).st_blocks * 512 >= 11 * B);
	assert_int_equal(store_allocate(o, 0, 11 * B, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(unit_write_pattern(o, 5 * B + 1, 10, 11), 0);
	assert_int_equal(store_absent_blocks(o, 0, 20 * B), 9);
	assert_int_equal(store_seek(o, 0, SEEK_HOLE, 20 * B), (int64_t)(11 * B));
	store_put(e->st, o);
}

static void test_seek(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t size = 20 * B;
	assert_int_equal(store_seek(o, 0, SEEK_DATA, size), -ENXIO);
	assert_int_equal(store_seek(o, 0, SEEK_HOLE, size), 0);
	unit_write_pattern(o, 2 * B, 2 * B, 1);
	unit_write_pattern(o, 10 * B, 100, 1);
	unit_write_pattern(o, 19 * B, B, 1);
	assert_int_equal(store_seek(o, 0, SEEK_DATA, size), (int64_t)(2 * B));
	assert_int_equal(store_seek(o, 2 * B + 7, SEEK_DATA, size), (int64_t)(2 * B + 7));
	assert_int_equal(store_seek(o, 2 * B, SEEK_HOLE, size), (int64_t)(4 * B));
	assert_int_equal(store_seek(o, 4 * B, SEEK_DATA, size), (int64_t)(10 * B));
	assert_int_equal(store_seek(o, 10 * B + 5, SEEK_HOLE, size), (int64_t)(11 * B));
	assert_int_equal(store_seek(o, 11 * B, SEEK_DATA, size), (int64_t)(19 * B));
	assert_int_equal(store_seek(o, 19 * B, SEEK_HOLE, size), (int64_t)size);
	assert_int_equal(store_seek(o, 11 * B, SEEK_DATA, 15 * B), -ENXIO);
	assert_int_equal(store_seek(o, size, SEEK_DATA, size), -ENXIO);
	assert_int_equal(store_seek(o, size, SEEK_HOLE, size), -ENXIO);
	/* Through a copy-on-write layer with a whiteout over parent data. */
	unit_store_ref(e, store_id(o), 1);
	assert_int_equal(store_make_private(e->st, &o, NULL), 1);
	int64_t d;
	assert_int_equal(store_punch(o, 2 * B, B, &d), 0);
	assert_int_equal(d, -1);
	unit_write_pattern(o, 6 * B, B, 2);
	assert_int_equal(store_seek(o, 0, SEEK_DATA, size), (int64_t)(3 * B));
	assert_int_equal(store_seek(o, 3 * B, SEEK_HOLE, size), (int64_t)(4 * B));
	assert_int_equal(store_seek(o, 4 * B, SEEK_DATA, size), (int64_t)(6 * B));
	assert_int_equal(store_seek(o, 7 * B, SEEK_DATA, size), (int64_t)(10 * B));
	store_put(e->st, o);
}

static void test_flush_and_reload(void **state)
{
	struct unit_store *e = *state;
	uint64_t len = 3 * MiB;
	struct dobj *a = new_obj(e);
	unit_write_pattern(a, 0, 2 * MiB, 1);
	unit_write_pattern(a, 2 * MiB + 5000, 3000, 2);
	unit_store_ref(e, store_id(a), 1);
	struct dobj *b = store_get(e->st, store_id(a));
	assert_int_equal(store_make_private(e->st, &b, NULL), 1);
	uint64_t aid = store_id(a), bid = store_id(b);
	int64_t d;
	unit_write_pattern(b, 100 * KiB + 7, 300 * KiB, 3);
	assert_int_equal(store_punch(b, 1 * MiB, 64 * KiB + 5, &d), 0);
	assert_int_equal(store_truncate(b, 2 * MiB + 6000, &d), 0);
	assert_int_equal(store_allocate(b, 2 * MiB + 512 * KiB, 8 * B, &d), 0);
	struct snapshot sa, sb;
	observe(a, len, &sa);
	observe(b, len, &sb);
	flush_all(e);
	/* Dropping the pins and reopening reloads both maps from the db. */
	store_put(e->st, b);
	store_put(e->st, a);
	unit_store_reopen(e);
	b = store_get(e->st, bid);
	a = store_get(e->st, aid);
	assert_non_null(a);
	assert_non_null(b);
	assert_true(store_is_shared(a));
	same_view(a, len, &sa);
	same_view(b, len, &sb);
	/* Unflushed changes are written when the last pin goes. */
	unit_write_pattern(b, 2 * MiB + 900 * KiB, 10, 4);
	struct snapshot sb2;
	observe(b, len, &sb2);
	store_put(e->st, b);
	store_put(e->st, a);
	unit_store_reopen(e);
	b = store_get(e->st, bid);
	same_view(b, len, &sb2);
	store_put(e->st, b);
	free(sa.bytes);
	free(sb.bytes);
	free(sb2.bytes);
}

static void test_lru_eviction_reload(void **state)
{
	struct unit_store *e = *state;
	uint64_t ids[100];
	for (int i = 0; i < 100; i++) {
		struct dobj *o = new_obj(e);
		ids[i] = store_id(o);
		unit_write_pattern(o, (uint64_t)i * B, 10, (unsigned)i + 1);
		store_put(e->st, o); /* flushed, then evicted once the LRU is full */
	}
	for (int i = 0; i < 100; i++) {
		struct dobj *o = store_get(e->st, ids[i]);
		assert_non_null(o);
		unit_expect_pattern(o, (uint64_t)i * B, 10, (unsigned)i + 1);
		assert_int_equal(store_data_blocks(o), 1);
		store_put(e->st, o);
	}
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj >= ?", 0), 100);
}

/* cachestat(2) (Linux 6.5), not in this system's headers yet. */
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif

/* Pages of object id's host file still dirty (neither written nor under
 * writeback), or -1 when the kernel cannot say. */
static long host_dirty_pages(struct unit_store *e, uint64_t id)
{
	char path[4096];
	store_path(e->st, id, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	struct { uint64_t off, len; } r = { 0, 0 };
	struct { uint64_t cache, dirty, writeback, evicted, recently_evicted; } c;
	long n = syscall(SYS_cachestat, fd, &r, &c, 0) < 0 ? -1 : (long)c.dirty;
	close(fd);
	return n;
}

/* The first write after an fdatasync of the file starts its own writeback
 * (it will most likely be synced next): none of its pages is left dirty;
 * a second write before the next sync is left to the kernel, dirty. */
static void test_write_after_sync_starts_writeback(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_int_equal(unit_write_pattern(o, 0, 2 * B, 1), 2);
	if (host_dirty_pages(e, id) < 0)
		skip(); /* no cachestat(2) in this kernel */
	assert_int_equal(host_dirty_pages(e, id), 2); /* the control: dirty until synced */
	assert_int_equal(store_sync(o), 0);
	assert_int_equal(host_dirty_pages(e, id), 0);
	assert_int_equal(unit_write_pattern(o, 2 * B, 4 * B, 2), 4); /* an append */
	assert_int_equal(host_dirty_pages(e, id), 0);
	assert_int_equal(unit_write_pattern(o, 6 * B, B, 3), 1); /* no sync between */
	assert_int_equal(host_dirty_pages(e, id), 1);
	assert_int_equal(store_sync(o), 0);
	char buf[B];
	memset(buf, 4, sizeof buf);
	assert_int_equal(store_overwrite(o, buf, sizeof buf, 0), (ssize_t)B); /* in place */
	assert_int_equal(host_dirty_pages(e, id), 0);
	unit_expect_pattern(o, 2 * B, 4 * B, 2);
	store_put(e->st, o);
}

/* fdatasync with one flush (store_datasync): refused until a durable
 * commit is known, a marker when the map grew or the size changed, the
 * data alone when nothing did, refused again after a punch. The start-up
 * repair rebuilds the row a marker is newer than, and leaves a row as new
 * as the marker alone. */
static void test_datasync_one_flush(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_int_equal(unit_write_pattern(o, 0, 2 * B, 1), 2);
	assert_int_equal(store_datasync(o, 2 * B), -EAGAIN); /* never known durable */
	struct store_sync_point p = store_sync_point(o);
	assert_int_equal(store_sync(o), 0);
	flush_all(e);
	commit_group(e);
	store_made_durable(o, p, 2 * B);
	assert_int_equal(store_datasync(o, 2 * B), 0); /* nothing changed: the data alone */
	assert_int_equal(unit_write_pattern(o, 5 * B, B, 2), 1);
	assert_int_equal(store_datasync(o, 6 * B), 1); /* grown: a marker */
	assert_int_equal(store_datasync(o, 6 * B), 0);
	assert_int_equal(store_datasync(o, 6 * B + 10), 1); /* the size alone */
	/* The row says blocks 0 and 1 (hex 03); a crash now is repaired. */
	assert_int_equal(count_rows(e, "SELECT hex(substr(data, 1, 1)) FROM objmap WHERE obj = ?", id), 3);
	struct store_synced *list;
	assert_int_equal(repair_synced(e, &list), 1);
	assert_int_equal(list[0].id, id);
	assert_int_equal(list[0].size, 6 * B + 10);
	free(list);
	assert_int_equal(count_rows(e, "SELECT hex(substr(data, 1, 1)) FROM objmap WHERE obj = ?", id), 23);
	assert_int_equal(count_rows(e, "SELECT gen FROM dataobjs WHERE id = ?", id), 2);
	/* A punch: the data file cannot show it, so no one-flush sync; once it
	 * commits, the row is as new as the marker and no repair undoes it. */
	int64_t delta;
	assert_int_equal(store_punch(o, 5 * B, B, &delta), 0);
	assert_int_equal(store_datasync(o, 6 * B + 10), -EAGAIN);
	flush_all(e);
	commit_group(e);
	assert_int_equal(repair_synced(e, &list), 0);
	free(list);
	unit_expect_pattern(o, 5 * B, B, 0);
	store_put(e->st, o);
}

/* A memory object: the same data path over a memfd, never a host file;
 * the map survives an LRU eviction (the memfd does), reaping frees it. */
static void test_memory_object(void **state)
{
	struct unit_store *e = *state;
	uint64_t id = 0;
	db_lock(e->db);
	int r = store_create_memory(e->st, &id);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	assert_true(store_is_memory(e->st, id));
	assert_int_equal(store_memory_objects(e->st), 1);
	struct dobj *o = store_get(e->st, id);
	assert_non_null(o);
	assert_int_equal(unit_write_pattern(o, 3 * B + 7, 2 * B, 5), 3);
	int64_t delta = 0;
	assert_int_equal(store_punch(o, 3 * B, B, &delta), 0); /* a hole punched in the memfd */
	assert_int_equal(delta, -1);
	unit_expect_pattern(o, 3 * B + 7, B - 7, 0);
	unit_expect_pattern(o, 4 * B, B + 7, 5);
	assert_int_equal(store_sync(o), 0);
	flush_all(e);
	assert_false(unit_store_host_exists(e, id));
	store_put(e->st, o);
	/* push it out of the cache: it is reloaded from its map and memfd */
	for (int i = 0; i < 80; i++) {
		struct dobj *x = new_obj(e);
		store_put(e->st, x);
	}
	o = store_get(e->st, id);
	unit_expect_pattern(o, 4 * B, B + 7, 5);
	store_put(e->st, o);
	assert_false(unit_store_host_exists(e, id));
	unit_store_ref(e, id, -1);
	commit_group(e);
	store_reap(e->st);
	assert_false(store_is_memory(e->st, id));
	assert_int_equal(store_memory_objects(e->st), 0);
}

/* However many objects are loaded and pinned (files the kernel keeps), at
 * most the budget's host files stay open: each is reopened on demand,
 * through copy-on-write layers too; memory objects beyond their share
 * fail with ENOSPC instead of taking descriptors. */
static void test_open_files_bounded(void **state)
{
	struct unit_store *e = *state;
	store_set_fd_budget(e->st, 16); /* 8 host files, 4 memory objects */
	size_t bound = 0;
	store_open_files(e->st, &bound);
	assert_int_equal(bound, 8);
	enum { NOBJ = 200 };
	struct dobj *o[NOBJ];
	for (int i = 0; i < NOBJ; i++) {
		o[i] = new_obj(e);
		unit_write_pattern(o[i], (uint64_t)i * B, 3, (unsigned)i + 1);
		assert_true(store_open_files(e->st, NULL) <= bound);
	}
	/* Every one a layer under a private child, read through the child. */
	for (int i = 0; i < NOBJ; i++) {
		unit_store_ref(e, store_id(o[i]), 1);
		assert_int_equal(store_make_private(e->st, &o[i], NULL), 1);
		unit_write_pattern(o[i], (uint64_t)i * B + 1, 1, 0xee);
	}
	for (int i = 0; i < NOBJ; i++) {
		unit_expect_pattern(o[i], (uint64_t)i * B, 1, (unsigned)i + 1);
		unit_expect_pattern(o[i], (uint64_t)i * B + 1, 1, 0xee);
		unit_expect_pattern(o[i], (uint64_t)i * B + 2, 1, (unsigned)i + 1);
		assert_int_equal(store_sync(o[i]), 0);
		assert_true(store_open_files(e->st, NULL) <= bound);
	}
	for (int i = 0; i < NOBJ; i++)
		store_put(e->st, o[i]);
	uint64_t id = 0;
	int r = 0;
	for (int i = 0; i < 5 && r == 0; i++) {
		db_lock(e->db);
		r = store_create_memory(e->st, &id);
		db_unlock(e->db);
	}
	assert_int_equal(r, -ENOSPC);
	assert_int_equal(store_memory_objects(e->st), 4);
}

static void test_delete_and_reap(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	unit_write_pattern(a, 0, 600 * B, 1); /* two map leaves */
	unit_store_ref(e, aid, 1);
	struct dobj *b = store_get(e->st, aid);
	assert_int_equal(store_make_private(e->st, &b, NULL), 1);
	uint64_t bid = store_id(b);
	unit_write_pattern(b, 0, B, 2);
	flush_all(e);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", aid), 2);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", bid), 1);

	/* A rolled-back delete keeps the file. */
	db_lock(e->db);
	int r = db_begin(e->db);
	int r2 = store_ref(e->st, bid, -1);
	db_rollback(e->db);
	store_reload_refs(e->st);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	assert_int_equal(r2, 0);
	commit_group(e);
	store_reap(e->st);
	assert_true(unit_store_host_exists(e, bid));
	assert_false(store_is_shared(b));

	/* The live inode goes: B is deleted, A is down to the snapshot. */
	unit_store_ref(e, bid, -1);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM dataobjs WHERE id = ?", bid), 0);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", bid), 0);
	assert_int_equal(count_rows(e, "SELECT refs FROM dataobjs WHERE id = ?", aid), 1);
	assert_true(unit_store_host_exists(e, bid)); /* until reaped */
	store_put(e->st, b);
	store_reap(e->st);
	assert_true(unit_store_host_exists(e, bid)); /* a crash could still undo the delete */
	commit_group(e);
	store_reap(e->st);
	assert_false(unit_store_host_exists(e, bid));
	assert_true(unit_store_host_exists(e, aid));
	unit_expect_pattern(a, 0, B, 1);

	/* The snapshot goes too. */
	unit_store_ref(e, aid, -1);
	store_put(e->st, a); /* B's pin on A went when B was freed */
	commit_group(e);
	store_reap(e->st);
	assert_false(unit_store_host_exists(e, aid));
	assert_int_equal(count_rows(e, "SELECT count(*) FROM dataobjs WHERE id >= ?", 0), 0);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj >= ?", 0), 0);
	errno = 0;
	assert_null(store_get(e->st, aid));
	assert_int_equal(errno, ENOENT);
}

/* Entries of DIR other than . and .. */
static int count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A deleted object's host file, once its deletion commits, becomes the next
 * new object's: the same inode (no allocation), emptied, without the old
 * sync marker (a crash repair would otherwise take the old size), and
 * nothing of the old bytes readable. A restart starts with no spares. */
static void test_spare_host_file_reused(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	uint64_t aid = store_id(a);
	assert_int_equal(unit_write_pattern(a, 0, 2 * B, 1), 2);
	struct store_sync_point p = store_sync_point(a);
	assert_int_equal(store_sync(a), 0);
	flush_all(e);
	commit_group(e);
	store_made_durable(a, p, 2 * B);
	assert_int_equal(unit_write_pattern(a, 5 * B, B, 2), 1);
	assert_int_equal(store_datasync(a, 6 * B), 1); /* grown: a marker */
	char path[256];
	store_path(e->st, aid, path, sizeof path);
	assert_true(getxattr(path, "user.volfs.sync", NULL, 0) > 0);
	ino_t ino = host_stat(e, aid).st_ino;

	unit_store_ref(e, aid, -1);
	store_put(e->st, a);
	commit_group(e);
	store_reap(e->st);
	assert_false(unit_store_host_exists(e, aid));

	struct dobj *b = new_obj(e);
	uint64_t bid = store_id(b);
	assert_int_equal(unit_write_pattern(b, B, B, 3), 1);
	struct stat sb = host_stat(e, bid);
	assert_int_equal(sb.st_ino, ino);
	assert_int_equal(sb.st_size, 2 * B);
	store_path(e->st, bid, path, sizeof path);
	assert_int_equal(getxattr(path, "user.volfs.sync", NULL, 0), -1);
	assert_int_equal(errno, ENODATA);
	unit_expect_pattern(b, 0, B, 0);
	unit_expect_pattern(b, B, B, 3);
	flush_all(e);
	commit_group(e);
	struct store_synced *list;
	assert_int_equal(repair_synced(e, &list), 0);
	free(list);
	store_put(e->st, b);

	/* One spare left over from another delete; a restart removes it. */
	struct dobj *c = new_obj(e);
	uint64_t cid = store_id(c);
	assert_int_equal(unit_write_pattern(c, 0, B, 4), 1);
	unit_store_ref(e, cid, -1);
	store_put(e->st, c);
	commit_group(e);
	store_reap(e->st);
	char spare[600];
	snprintf(spare, sizeof spare, "%s/spare", e->dir);
	assert_int_equal(count_entries(spare), 1);
	unit_store_reopen(e);
	assert_int_equal(count_entries(spare), 0);
}

/* An id handed out again after the change that created it rolled back
 * (AUTOINCREMENT counts back too) may have a host file written meanwhile:
 * the new object starts without it, also once the start-up sweep lets ids
 * above every file skip the look. */
static void test_rolled_back_id_starts_without_file(void **state)
{
	struct unit_store *e = *state;
	char lost[600], path[256];
	snprintf(lost, sizeof lost, "%s/lost+found", e->dir);
	struct store_sweep sw;
	uint64_t id = 0, again = 0;
	db_lock(e->db);
	assert_int_equal(store_sweep_orphans(e->st, lost, &sw), 0);
	assert_int_equal(db_begin(e->db), 0);
	assert_int_equal(store_create(e->st, 0, &id), 0);
	store_path(e->st, id, path, sizeof path);
	char dir[256];
	snprintf(dir, sizeof dir, "%s", path);
	*strrchr(dir, '/') = 0;
	assert_true(mkdir(dir, 0700) == 0 || errno == EEXIST);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "old", 3), 3);
	close(fd);
	db_rollback(e->db);
	int r = db_begin(e->db);
	if (r == 0)
		r = store_create(e->st, 0, &again);
	if (r == 0)
		r = db_commit(e->db);
	db_unlock(e->db);
	assert_int_equal(r, 0);
	assert_int_equal(again, id);
	assert_int_equal(access(path, F_OK), -1);
}

struct reports {
	int n;
	char last[512];
	char all[4096];
	struct store_pending pending;
};

static void collect(void *arg, const char *msg)
{
	struct reports *r = arg;
	r->n++;
	snprintf(r->last, sizeof r->last, "%s", msg);
	size_t used = strlen(r->all);
	snprintf(r->all + used, sizeof r->all - used, "%s\n", msg);
}

static int check(struct unit_store *e, struct reports *r)
{
	memset(r, 0, sizeof *r);
	db_lock(e->db);
	int n = store_check(e->st, &(struct store_users){vfs_each_obj_user, e->db}, collect, r,
	                    &r->pending);
	db_unlock(e->db);
	assert_int_equal(n, r->n);
	return n;
}

static void sql(struct unit_store *e, const char *q)
{
	db_lock(e->db);
	int r = db_exec(e->db, q);
	db_unlock(e->db);
	assert_int_equal(r, 0);
}

/* An empty host file for object id, which may have no row. */
static void make_host_file(struct unit_store *e, uint64_t id, char *path, size_t len)
{
	store_path(e->st, id, path, len);
	char dir[256];
	snprintf(dir, sizeof dir, "%s/data/%02x", e->dir, (unsigned)(id % 256));
	mkdir(dir, 0700);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

/* At start, ownerless host files are removed when a committed change
 * deleted their object, and moved to lost+found otherwise. */
static void test_sweep_orphans(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e), *b = new_obj(e);
	uint64_t aid = store_id(a), bid = store_id(b);
	unit_write_pattern(a, 0, B, 1);
	unit_write_pattern(b, 0, B, 2);
	store_put(e->st, b);
	flush_all(e);
	commit_group(e);
	db_lock(e->db);
	assert_int_equal(db_exec(e->db, "DELETE FROM dataobjs WHERE id = (SELECT max(id) FROM dataobjs)"), 0);
	db_unlock(e->db);
	commit_group(e);
	char path[256], lost[512];
	make_host_file(e, bid + 7, path, sizeof path);
	snprintf(lost, sizeof lost, "%s/lost+found", e->dir);
	struct store_sweep s;
	db_lock(e->db);
	assert_int_equal(store_sweep_orphans(e->st, lost, &s), 0);
	db_unlock(e->db);
	assert_int_equal(s.removed, 1); /* b's */
	assert_int_equal(s.moved, 1);
	assert_false(unit_store_host_exists(e, bid));
	assert_false(unit_store_host_exists(e, bid + 7));
	assert_true(unit_store_host_exists(e, aid));
	char moved[600];
	snprintf(moved, sizeof moved, "%s/%llu", lost, (unsigned long long)(bid + 7));
	assert_int_equal(access(moved, F_OK), 0);
	store_put(e->st, a);
}

static void test_check(void **state)
{
	struct unit_store *e = *state;
	struct reports r;
	/* Tree 1 inode 2 holds A; a snapshot (tree 2) copies the row. */
	struct dobj *a = new_obj(e);
	unit_write_pattern(a, 0, B, 1);
	char q[512];
	snprintf(q, sizeof q,
	         "INSERT INTO inodes(family, lineage, ino, mode, uid, gid, nlink, atime, mtime, ctime,"
	         " btime, obj) VALUES(1, 1, 2, 33188, 0, 0, 1, 0, 0, 0, 0, %llu),"
	         "       (2, 2, 2, 33188, 0, 0, 1, 0, 0, 0, 0, %llu)",
	         (unsigned long long)store_id(a), (unsigned long long)store_id(a));
	sql(e, q);
	unit_store_ref(e, store_id(a), 1);
	uint64_t aid = store_id(a);
	assert_int_equal(store_make_private(e->st, &a, NULL), 1);
	snprintf(q, sizeof q, "UPDATE inodes SET obj = %llu WHERE lineage = 1",
	         (unsigned long long)store_id(a));
	sql(e, q);
	unit_write_pattern(a, B, B, 2);
	flush_all(e);
	if (check(e, &r))
		fail_msg("consistent state reported: %s", r.all);

	/* Wrong refs. */
	snprintf(q, sizeof q, "UPDATE dataobjs SET refs = 5 WHERE id = %llu", (unsigned long long)aid);
	sql(e, q);
	assert_int_equal(check(e, &r), 1);
	assert_non_null(strstr(r.last, "refs 5"));
	snprintf(q, sizeof q, "UPDATE dataobjs SET refs = 2 WHERE id = %llu", (unsigned long long)aid);
	sql(e, q);
	assert_int_equal(check(e, &r), 0);

	/* A host file no committed row knows is cleanup for the next start,
	 * not damage; so is one of a deleted object. */
	char path[256];
	make_host_file(e, 999999, path, sizeof path);
	assert_int_equal(check(e, &r), 0);
	assert_int_equal(r.pending.unknown, 1);
	assert_int_equal(r.pending.deleted, 0);
	unlink(path);
	uint64_t gone = create_obj(e, 0);
	snprintf(q, sizeof q, "DELETE FROM dataobjs WHERE id = %llu", (unsigned long long)gone);
	sql(e, q);
	commit_group(e);
	make_host_file(e, gone, path, sizeof path);
	assert_int_equal(check(e, &r), 0);
	assert_int_equal(r.pending.deleted, 1);
	unlink(path);

	/* A map with data past its host file's end: the data is lost. */
	store_path(e->st, store_id(a), path, sizeof path);
	assert_int_equal(truncate(path, (off_t)B), 0);
	assert_int_equal(check(e, &r), 1);
	assert_non_null(strstr(r.last, "data lost"));
	assert_int_equal(truncate(path, (off_t)(2 * B)), 0);
	assert_int_equal(check(e, &r), 0);

	/* A row nobody references, with refs 0. */
	sql(e, "INSERT INTO dataobjs(parent, refs) VALUES(NULL, 0)");
	assert_int_equal(check(e, &r), 1);
	assert_non_null(strstr(r.last, "refs 0"));
	store_put(e->st, a);
}


/* Bytes in a host file that the map does not own (as a crash between a
 * write and its map flush leaves them) must never become visible. */
static void scribble(struct unit_store *e, uint64_t id, uint64_t off, size_t len)
{
	char path[256];
	store_path(e->st, id, path, sizeof path);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	uint8_t junk[2 * B];
	memset(junk, 0xA5, sizeof junk);
	assert_true(len <= sizeof junk);
	assert_int_equal(pwrite(fd, junk, len, (off_t)off), (ssize_t)len);
	close(fd);
}

static void test_stale_host_bytes_hidden(void **state)
{
	struct unit_store *e = *state;
	struct dobj *a = new_obj(e);
	unit_write_pattern(a, 0, B, 1);
	scribble(e, store_id(a), 3 * B, 2 * B);
	static uint8_t buf[6 * B];
	assert_int_equal(store_read(a, buf, sizeof buf, 0), (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], i < B ? unit_pattern(i, 1) : 0);
	assert_int_equal(store_seek(a, B, SEEK_DATA, 8 * B), -ENXIO);
	/* A partial write defines the whole block: the rest is zeros. */
	assert_int_equal(unit_write_pattern(a, 3 * B + 100, 10, 2), 1);
	unit_expect_pattern(a, 3 * B, 100, 0);
	unit_expect_pattern(a, 3 * B + 100, 10, 2);
	unit_expect_pattern(a, 3 * B + 110, B - 110, 0);
	/* The same through a copy-on-write layer: B's stray bytes never hide A. */
	unit_store_ref(e, store_id(a), 1);
	struct dobj *snap = store_get(e->st, store_id(a));
	assert_int_equal(store_make_private(e->st, &a, NULL), 1);
	unit_write_pattern(a, 7 * B, 10, 3); /* creates B's host file */
	scribble(e, store_id(a), 0, 2 * B);
	unit_expect_pattern(a, 0, B, 1);
	unit_expect_pattern(a, B, B, 0);
	assert_int_equal(unit_write_pattern(a, 10, 10, 4), 0);
	unit_expect_pattern(a, 0, 10, 1);
	unit_expect_pattern(a, 10, 10, 4);
	unit_expect_pattern(a, 20, B - 20, 1);
	store_put(e->st, a);
	store_put(e->st, snap);
}

/* Truncation on a leaf boundary removes whole stored leaves. */
static void test_truncate_drops_stored_leaves(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	uint64_t id = store_id(o);
	assert_int_equal(unit_write_pattern(o, 0, 3 * 512 * B, 1), 3 * 512);
	flush_all(e);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", id), 3);
	int64_t d;
	assert_int_equal(store_truncate(o, 512 * B, &d), 0);
	assert_int_equal(d, -2 * 512);
	flush_all(e);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", id), 1);
	/* Punching a whole leaf empties it; its row goes too. */
	assert_int_equal(store_punch(o, 0, 512 * B, &d), 0);
	assert_int_equal(d, -512);
	flush_all(e);
	assert_int_equal(count_rows(e, "SELECT count(*) FROM objmap WHERE obj = ?", id), 0);
	store_put(e->st, o);
	unit_store_reopen(e);
	o = store_get(e->st, id);
	assert_int_equal(store_data_blocks(o), 0);
	unit_expect_pattern(o, 0, 4 * B, 0);
	store_put(e->st, o);
}

/* ------------------------------------------------------------------ */
/* Random operations against a model: bytes plus the set of data blocks. */

#define MODEL_BLOCKS 80
#define MODEL_SIZE (MODEL_BLOCKS * B)

struct model {
	uint8_t bytes[MODEL_SIZE];
	uint8_t data[MODEL_BLOCKS];
};

static uint64_t model_count(const struct model *m)
{
	uint64_t n = 0;
	for (int i = 0; i < MODEL_BLOCKS; i++)
		n += m->data[i];
	return n;
}

static void model_check(struct dobj *o, const struct model *m)
{
	static uint8_t buf[MODEL_SIZE];
	assert_int_equal(store_read(o, buf, MODEL_SIZE, 0), (ssize_t)MODEL_SIZE);
	for (size_t i = 0; i < MODEL_SIZE; i++)
		if (buf[i] != m->bytes[i])
			fail_msg("byte %zu: %#x, model %#x", i, buf[i], m->bytes[i]);
	assert_int_equal(store_data_blocks(o), model_count(m));
	int64_t hole = store_seek(o, 0, SEEK_HOLE, MODEL_SIZE);
	int64_t want = MODEL_SIZE;
	for (int i = 0; i < MODEL_BLOCKS; i++)
		if (!m->data[i]) {
			want = (int64_t)(i * B);
			break;
		}
	assert_int_equal(hole, want);
}

static void random_op(struct dobj *o, struct model *m, unsigned seed)
{
	uint64_t off = (uint64_t)random() % MODEL_SIZE;
	uint64_t len = 1 + (uint64_t)random() % (random() % 2 ? 100 : 6 * B);
	if (random() % 3 == 0) { /* block-aligned */
		off &= ~(uint64_t)(B - 1);
		len = (len + B - 1) & ~(uint64_t)(B - 1);
	}
	if (off + len > MODEL_SIZE)
		len = MODEL_SIZE - off;
	uint64_t b0 = off / B, b1 = (off + len + B - 1) / B;
	int64_t d = 99, before = (int64_t)model_count(m);
	switch (random() % 4) {
	case 0: {
		uint8_t *buf = malloc(len);
		unit_fill(buf, len, off, seed);
		assert_int_equal(store_write(o, buf, len, off, &d), (ssize_t)len);
		memcpy(m->bytes + off, buf, len);
		memset(m->data + b0, 1, b1 - b0);
		free(buf);
		break;
	}
	case 1: {
		assert_int_equal(store_punch(o, off, len, &d), 0);
		memset(m->bytes + off, 0, len);
		uint64_t w0 = (off + B - 1) / B, w1 = (off + len) / B;
		for (uint64_t b = w0; b < w1; b++)
			m->data[b] = 0;
		break;
	}
	case 2:
		assert_int_equal(store_allocate(o, off, len, &d), 0);
		memset(m->data + b0, 1, b1 - b0);
		break;
	default: {
		uint64_t size = off + (uint64_t)random() % (2 * B);
		if (size > MODEL_SIZE)
			size = MODEL_SIZE;
		assert_int_equal(store_truncate(o, size, &d), 0);
		memset(m->bytes + size, 0, MODEL_SIZE - size);
		for (uint64_t b = (size + B - 1) / B; b < MODEL_BLOCKS; b++)
			m->data[b] = 0;
		break;
	}
	}
	assert_int_equal(d, (int64_t)model_count(m) - before);
}

static void test_random_against_model(void **state)
{
	struct unit_store *e = *state;
	static struct model m, frozen[4];
	memset(&m, 0, sizeof m);
	struct dobj *o = new_obj(e), *snaps[4];
	int nsnap = 0;
	srandom(4242);
	for (int step = 1; step <= 400; step++) {
		random_op(o, &m, (unsigned)step);
		if (step % 10 == 0)
			model_check(o, &m);
		if (step % 80 == 0 && nsnap < 4) {
			/* Freeze the current view as a snapshot and keep writing. */
			unit_store_ref(e, store_id(o), 1);
			snaps[nsnap] = store_get(e->st, store_id(o));
			frozen[nsnap++] = m;
			assert_int_equal(store_make_private(e->st, &o, NULL), 1);
		}
		if (step % 100 == 0) {
			flush_all(e);
			uint64_t id = store_id(o);
			store_put(e->st, o);
			for (int i = 0; i < nsnap; i++)
				store_put(e->st, snaps[i]);
			uint64_t sid[4];
			for (int i = 0; i < nsnap; i++)
				sid[i] = store_id(snaps[i]);
			unit_store_reopen(e);
			o = store_get(e->st, id);
			for (int i = 0; i < nsnap; i++)
				snaps[i] = store_get(e->st, sid[i]);
		}
	}
	model_check(o, &m);
	for (int i = 0; i < nsnap; i++)
		model_check(snaps[i], &frozen[i]);
	for (int i = 0; i < nsnap; i++)
		store_put(e->st, snaps[i]);
	store_put(e->st, o);
}

/* A read of one stretch of one host file goes through the worker's ring,
 * the read engine. Into one buffer or several; where the host file ends
 * before the map's data (a crash before its bytes landed), zeros. */
static void test_single_read_through_ring(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, 8 * B, 1), 8);
	uint64_t sub0, done0, sub1, done1;
	counters_uring_read(&sub0, &done0);
	unit_expect_pattern(o, B + 10, 3 * B, 1);
	static uint8_t a[100], b[B], c[2 * B];
	struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
	assert_int_equal(store_readv(o, iov, 3, 5), (ssize_t)(sizeof a + sizeof b + sizeof c));
	for (size_t i = 0; i < sizeof a; i++)
		assert_int_equal(a[i], unit_pattern(5 + i, 1));
	assert_int_equal(b[B - 1], unit_pattern(5 + sizeof a + B - 1, 1));
	assert_int_equal(c[2 * B - 1], unit_pattern(5 + sizeof a + 3 * B - 1, 1));
	char path[256];
	store_path(e->st, store_id(o), path, sizeof path);
	assert_int_equal(truncate(path, 6 * B + 7), 0);
	assert_int_equal(store_readv(o, iov, 3, 6 * B - sizeof a - B + 3), (ssize_t)(sizeof a + sizeof b + sizeof c));
	assert_int_equal(b[0], unit_pattern(5 * B + 3, 1));
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(c[i], unit_pattern(6 * B + 3 + i, 1));
	for (size_t i = 4; i < sizeof c; i++)
		assert_int_equal(c[i], 0);
	static uint8_t d[2 * B];
	assert_int_equal(store_read(o, d, sizeof d, 6 * B), (ssize_t)sizeof d);
	for (size_t i = 0; i < sizeof d; i++)
		assert_int_equal(d[i], i < 7 ? unit_pattern(6 * B + i, 1) : 0);
	counters_uring_read(&sub1, &done1);
	assert_true(sub1 - sub0 >= 3);
	assert_int_equal(done1 - done0, sub1 - sub0);
	store_put(e->st, o);
}

/* ------------------------------------------------------------------ */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct reader {
	struct dobj *o;
	int ok;
};

/* Overwrites (through this thread's ring: the unit binaries' host write
 * engine is io_uring) and reads back blocks the object holds. */
static void *read_many(void *arg)
{
	struct reader *r = arg;
	uint8_t buf[B];
	r->ok = 1;
	for (int i = 0; i < 200 && r->ok; i++) {
		uint64_t blk = (uint64_t)(i * 7 % 64);
		if (i % 10 == 0) {
			for (size_t k = 0; k < B; k++)
				buf[k] = unit_pattern(blk * B + k, 1);
			r->ok = store_overwrite(r->o, buf, B, blk * B) == (ssize_t)B;
		}
		r->ok = r->ok && store_read(r->o, buf, B, blk * B) == (ssize_t)B &&
		        buf[0] == unit_pattern(blk * B, 1);
	}
	return NULL;
}

static void test_threads_share_and_release_rings(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	unit_write_pattern(o, 0, 64 * B, 1);
	(void)read_many(&(struct reader){ o, 0 }); /* this thread's ring exists now */
	int fds = count_fds();
	pthread_t t[6];
	struct reader r[6];
	for (int i = 0; i < 6; i++) {
		r[i].o = o;
		assert_int_equal(pthread_create(&t[i], NULL, read_many, &r[i]), 0);
	}
	for (int i = 0; i < 6; i++) {
		pthread_join(t[i], NULL);
		assert_true(r[i].ok);
	}
	/* Each thread's ring was closed by the thread-exit destructor. */
	assert_int_equal(count_fds(), fds);
	assert_int_equal(store_sync(o), 0);
	store_put(e->st, o);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_unaligned_round_trip, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_holes_and_sparse_host, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_beyond_4g, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_punch, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_truncate_then_extend, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_truncate_in_two_steps, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_punch_in_two_steps, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_sweep_orphans, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_allocate, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_seek, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_flush_and_reload, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_lru_eviction_reload, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_delete_and_reap, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_spare_host_file_reused, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_rolled_back_id_starts_without_file, setup,
		                                unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_memory_object, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_open_files_bounded, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_check, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_datasync_one_flush, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_write_after_sync_starts_writeback, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_stale_host_bytes_hidden, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_single_read_through_ring, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_truncate_drops_stored_leaves, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_random_against_model, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_threads_share_and_release_rings, setup, unit_store_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
