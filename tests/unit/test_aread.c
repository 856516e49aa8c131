/*
 * tests/unit/test_aread.c — reads that do not wait for the disk
 * (store_read_nowait) and the reader thread that finishes them
 * (fs/store/aread.c): a read of host bytes evicted from the page cache is
 * left to the reader, counted, and lands the same bytes as store_read,
 * through copy-on-write layers and holes; a cached read finishes at once;
 * stopping the reader waits for the reads in flight; a deferred read of a
 * file holds off its truncation until it is done, as a synchronous read
 * holding the file's lock does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/obs/counters.h"
#include "fs/store/store.h"
#include "fs/store/store_int.h"
#include "fs/vfs/vfs.h"
#include "tests/unit/store_util.h"

#define B STORE_BLOCK
#define NREADS 8

/* Every cold read goes to the reader thread unless a test says otherwise. */
static int setup(void **state)
{
	store_set_cold_reads_here(0);
	return unit_store_setup(state, "store");
}

/* Drop object id's host file from the page cache (written back first:
 * dirty pages stay). */
static void evict_host(struct unit_store *e, uint64_t id)
{
	char path[256];
	store_path(e->st, id, path, sizeof path);
	int fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fdatasync(fd), 0);
	assert_int_equal(posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
	close(fd);
}

/* What the reader thread reports, waited for by the test. */
struct outcome {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done;
	ssize_t res;
	void *buf;
	pthread_t thread;
};

static void record(void *arg, void *buf, ssize_t res)
{
	struct outcome *out = arg;
	pthread_mutex_lock(&out->lock);
	out->done = 1;
	out->res = res;
	out->buf = buf;
	out->thread = pthread_self();
	pthread_cond_broadcast(&out->cond);
	pthread_mutex_unlock(&out->lock);
}

static void outcome_init(struct outcome *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_init(&out->lock, NULL);
	pthread_cond_init(&out->cond, NULL);
}

static void outcome_wait(struct outcome *out)
{
	pthread_mutex_lock(&out->lock);
	while (!out->done)
		pthread_cond_wait(&out->cond, &out->lock);
	pthread_mutex_unlock(&out->lock);
}

/* A 3-layer object: the base has blocks 0..63 (seed 1), a first layer
 * rewrites every fourth block (seed 2), the top punches block 10 and
 * rewrites blocks 20..21 (seed 3). *snaps get the two lower layers. */
static struct dobj *layered(struct unit_store *e, struct dobj *snaps[2])
{
	struct dobj *o = new_obj(e);
	int64_t d;
	assert_int_equal(unit_write_pattern(o, 0, 64 * B, 1), 64);
	for (int l = 0; l < 2; l++) {
		unit_store_ref(e, store_id(o), 1);
		snaps[l] = store_get(e->st, store_id(o));
		assert_int_equal(store_make_private(e->st, &o, NULL), 1);
		if (l == 0)
			for (uint64_t b = 0; b < 64; b += 4)
				unit_write_pattern(o, b * B, B, 2); /* rewrites: adds none */
	}
	assert_true(store_punch(o, 10 * B, B, &d) >= 0);
	unit_write_pattern(o, 20 * B, 2 * B, 3);
	return o;
}

static uint8_t expected(uint64_t off)
{
	uint64_t b = off / B;
	if (b == 10)
		return 0;
	if (b == 20 || b == 21)
		return unit_pattern(off, 3);
	return b % 4 == 0 ? unit_pattern(off, 2) : unit_pattern(off, 1);
}

/* Every layer of layered()'s object out of the page cache. */
static void evict_layers(struct unit_store *e, struct dobj *o, struct dobj *snaps[2])
{
	evict_host(e, store_id(o));
	evict_host(e, store_id(snaps[0]));
	evict_host(e, store_id(snaps[1]));
}

/* The read these tests make of layered()'s object: across every layer,
 * starting and ending inside blocks. */
#define LAYERED_LEN (40 * B + 100)
#define LAYERED_OFF (3 * B + 50)

/* A buffer for that read, filled with a byte no layer holds. */
static uint8_t *layered_buffer(void)
{
	uint8_t *buf = malloc(LAYERED_LEN);
	assert_non_null(buf);
	memset(buf, 0xee, LAYERED_LEN);
	return buf;
}

static void expect_layered(const uint8_t *buf)
{
	for (size_t i = 0; i < LAYERED_LEN; i++)
		if (buf[i] != expected(LAYERED_OFF + i))
			fail_msg("byte %zu: %u, expected %u", i, buf[i], expected(LAYERED_OFF + i));
}

/* A read of evicted host bytes goes to the reader thread and lands what
 * the layers hold; read again, it is cached and finishes at once. */
static void test_cold_read_finishes_on_reader(void **state)
{
	struct unit_store *e = *state;
	struct dobj *snaps[2];
	struct dobj *o = layered(e, snaps);
	evict_layers(e, o, snaps);

	size_t len = LAYERED_LEN;
	uint64_t off = LAYERED_OFF;
	uint8_t *buf = layered_buffer();
	uint64_t before = counters_reads_deferred();
	struct store_aread *later;
	assert_int_equal(store_read_nowait(o, buf, len, off, &later), (ssize_t)len);
	assert_non_null(later);
	struct outcome out;
	outcome_init(&out);
	store_aread_start(later, buf, record, &out);
	outcome_wait(&out);
	assert_int_equal(out.res, (ssize_t)len);
	assert_ptr_equal(out.buf, buf);
	assert_false(pthread_equal(out.thread, pthread_self()));
	assert_int_equal(counters_reads_deferred(), before + 1);
	expect_layered(buf);

	/* Now in the page cache: nothing is left for the reader. */
	memset(buf, 0xee, len);
	assert_int_equal(store_read_nowait(o, buf, len, off, &later), (ssize_t)len);
	assert_null(later);
	expect_layered(buf);
	assert_int_equal(counters_reads_deferred(), before + 1);
	free(buf);
	store_reader_stop();
	store_put(e->st, o);
	store_put(e->st, snaps[0]);
	store_put(e->st, snaps[1]);
}

/* With one worker allowed at the disk, a cold read finds the claim free
 * and is read whole by the calling thread; while that claim is held, the
 * next cold read goes to the reader thread. */
static void test_cold_read_alone_read_here(void **state)
{
	struct unit_store *e = *state;
	struct dobj *snaps[2];
	struct dobj *o = layered(e, snaps);
	store_set_cold_reads_here(1);
	evict_layers(e, o, snaps);

	size_t len = LAYERED_LEN;
	uint64_t off = LAYERED_OFF;
	uint8_t *buf = layered_buffer();
	uint64_t deferred = counters_reads_deferred(), here = counters_reads_cold_here();
	struct store_aread *later;
	assert_int_equal(store_read_nowait(o, buf, len, off, &later), (ssize_t)len);
	assert_null(later);
	assert_int_equal(counters_reads_cold_here(), here + 1);
	assert_int_equal(counters_reads_deferred(), deferred);
	expect_layered(buf);

	/* Another worker already at the disk: this one hands its read off. */
	evict_layers(e, o, snaps);
	assert_int_equal(aread_claim_here(), 1);
	assert_int_equal(aread_claim_here(), 0);
	memset(buf, 0xee, len);
	assert_int_equal(store_read_nowait(o, buf, len, off, &later), (ssize_t)len);
	assert_non_null(later);
	aread_release_here();
	struct outcome out;
	outcome_init(&out);
	store_aread_start(later, buf, record, &out);
	outcome_wait(&out);
	assert_int_equal(out.res, (ssize_t)len);
	assert_int_equal(counters_reads_deferred(), deferred + 1);
	assert_int_equal(counters_reads_cold_here(), here + 1);
	expect_layered(buf);
	free(buf);
	store_reader_stop();
	store_put(e->st, o);
	store_put(e->st, snaps[0]);
	store_put(e->st, snaps[1]);
}

/* A read past the host file's end (a data block whose host bytes were cut
 * short, as after a crash) reads zeros there, deferred or not. */
static void test_cold_read_past_host_end_zeros(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, 8 * B, 4), 8);
	char path[256];
	store_path(e->st, store_id(o), path, sizeof path);
	assert_int_equal(truncate(path, 6 * B), 0);
	evict_host(e, store_id(o));
	uint8_t buf[8 * B];
	memset(buf, 0xee, sizeof buf);
	struct store_aread *later;
	assert_int_equal(store_read_nowait(o, buf, sizeof buf, 0, &later), (ssize_t)sizeof buf);
	assert_non_null(later);
	struct outcome out;
	outcome_init(&out);
	store_aread_start(later, buf, record, &out);
	outcome_wait(&out);
	assert_int_equal(out.res, (ssize_t)sizeof buf);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], i < 6 * B ? unit_pattern(i, 4) : 0);
	store_reader_stop();
	store_put(e->st, o);
}

/* store_reader_stop returns only once every started read is done, and a
 * read cancelled instead of started lets go of its host files. */
static void test_stop_waits_for_reads_in_flight(void **state)
{
	struct unit_store *e = *state;
	struct dobj *o = new_obj(e);
	assert_int_equal(unit_write_pattern(o, 0, NREADS * 16 * B, 5), NREADS * 16);
	evict_host(e, store_id(o));
	struct outcome out[NREADS];
	uint8_t *bufs[NREADS];
	for (int i = 0; i < NREADS; i++) {
		struct store_aread *later;
		bufs[i] = malloc(16 * B);
		outcome_init(&out[i]);
		assert_int_equal(store_read_nowait(o, bufs[i], 16 * B, (uint64_t)i * 16 * B, &later),
		                 16 * B);
		/* The first read's readahead may have brought the next ones in. */
		assert_true(later || i > 0);
		if (later)
			store_aread_start(later, bufs[i], record, &out[i]);
		else
			record(&out[i], bufs[i], 16 * B);
	}
	store_reader_stop();
	for (int i = 0; i < NREADS; i++) {
		assert_true(out[i].done);
		assert_int_equal(out[i].res, 16 * B);
		for (size_t k = 0; k < 16 * B; k += 997)
			assert_int_equal(bufs[i][k], unit_pattern((uint64_t)i * 16 * B + k, 5));
		free(bufs[i]);
	}
	evict_host(e, store_id(o));
	uint8_t buf[B];
	/* nothing was started yet: the cancelled read must not be counted */
	struct store_aread *later;
	assert_int_equal(store_read_nowait(o, buf, B, 0, &later), B);
	assert_non_null(later);
	store_aread_cancel(later);
	store_put(e->st, o);
}

/* A memory object's memfd cannot say whether a read would wait (it never
 * waits for a disk): its reads finish at once, none deferred. */
static void test_memory_object_reads_at_once(void **state)
{
	struct unit_store *e = *state;
	uint64_t id = 0;
	db_lock(e->db);
	assert_int_equal(store_create_memory(e->st, &id), 0);
	db_unlock(e->db);
	struct dobj *o = store_get(e->st, id);
	assert_non_null(o);
	assert_int_equal(unit_write_pattern(o, 0, 8 * B, 6), 8);
	uint8_t buf[8 * B];
	uint64_t before = counters_reads_deferred();
	struct store_aread *later;
	assert_int_equal(store_read_nowait(o, buf, sizeof buf, 0, &later), (ssize_t)sizeof buf);
	assert_null(later);
	for (size_t i = 0; i < sizeof buf; i++)
		assert_int_equal(buf[i], unit_pattern(i, 6));
	assert_int_equal(counters_reads_deferred(), before);
	store_put(e->st, o);
}

/* Every host file under dir out of the page cache. */
static void evict_dir(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	for (struct dirent *de; (de = readdir(d));) {
		if (de->d_name[0] == '.')
			continue;
		char path[512];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR) {
			evict_dir(path);
			continue;
		}
		int fd = open(path, O_RDONLY);
		assert_true(fd >= 0);
		fdatasync(fd);
		posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
		close(fd);
	}
	closedir(d);
}

struct truncation {
	struct vfs *v;
	uint64_t ino;
	atomic_int done;
};

static void *truncate_file(void *arg)
{
	struct truncation *t = arg;
	static const struct vfs_ctx root = {.uid = 0, .gid = 0, .pid = 1};
	struct stat in = {.st_size = 0}, out;
	assert_int_equal(vfs_setattr(t->v, t->ino, &in, 1 << 3 /* FUSE_SET_ATTR_SIZE */, &root, &out), 0);
	atomic_store(&t->done, 1);
	return NULL;
}

static void test_deferred_read_holds_off_truncation(void **state)
{
	(void)state;
	store_set_cold_reads_here(0);
	char dir[64];
	unit_temp_dir(dir, sizeof dir, "aread");
	struct vfs *v;
	uint64_t root = VFS_INO(unit_vfs_volume(&v, dir, 64 << 20), 1);
	static const struct vfs_ctx ctx = {.uid = 0, .gid = 0, .pid = 1};
	struct vfs_entry ent;
	struct vfile *w, *r;
	assert_int_equal(vfs_create(v, root, "f", 0644, O_RDWR, &ctx, &ent, &w), 0);
	size_t len = 64 * B;
	char *data = malloc(len), *buf = malloc(len);
	memset(data, 'a', len);
	assert_int_equal(vfs_write(v, w, data, len, 0), (ssize_t)len);
	assert_int_equal(vfs_flush_all(v), 0);
	char data_dir[128];
	snprintf(data_dir, sizeof data_dir, "%s/data", dir);
	evict_dir(data_dir);

	assert_int_equal(vfs_open(v, ent.ino, O_RDONLY, &r), 0);
	struct vfs_deferred_read *later;
	assert_int_equal(vfs_read_nowait(v, r, buf, len, 0, &later), (ssize_t)len);
	assert_non_null(later);
	struct truncation t = {.v = v, .ino = ent.ino};
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, truncate_file, &t), 0);
	usleep(200 * 1000);
	assert_false(atomic_load(&t.done)); /* waits for the read */
	struct outcome out;
	outcome_init(&out);
	vfs_read_finish(later, buf, record, &out);
	outcome_wait(&out);
	assert_int_equal(out.res, (ssize_t)len);
	assert_int_equal(memcmp(buf, data, len), 0);
	pthread_join(th, NULL);
	assert_true(atomic_load(&t.done));
	assert_int_equal(vfs_read(v, r, buf, len, 0), 0); /* truncated */
	vfs_release(v, r);
	vfs_release(v, w);
	vfs_forget(v, ent.ino, 1);
	vfs_close(v);
	unit_rm_tree(dir);
	free(data);
	free(buf);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_cold_read_finishes_on_reader, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_cold_read_alone_read_here, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_cold_read_past_host_end_zeros, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_stop_waits_for_reads_in_flight, setup, unit_store_teardown),
		cmocka_unit_test_setup_teardown(test_memory_object_reads_at_once, setup, unit_store_teardown),
		cmocka_unit_test(test_deferred_read_holds_off_truncation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
