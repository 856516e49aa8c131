/*
 * test_hostwrite.c: the host write engine (fs/store/hostwrite.c): parsing
 * --host-writes, the choice per filesystem, both engines writing whole
 * vectors at their offsets, a flush that does not go through the ring, and
 * the early writeback of a file written as a stream.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fs/obs/counters.h"
#include "fs/store/hostwrite.h"
#include "tests/unit/unit.h"

static void test_parse(void **state)
{
	(void)state;
	enum host_write_mode m;
	assert_int_equal(host_write_parse("auto", &m), 0);
	assert_int_equal(m, HOST_WRITE_AUTO);
	assert_int_equal(host_write_parse("uring", &m), 0);
	assert_int_equal(m, HOST_WRITE_URING);
	assert_int_equal(host_write_parse("pwrite", &m), 0);
	assert_int_equal(m, HOST_WRITE_PWRITE);
	assert_int_equal(host_write_parse("URING", &m), -EINVAL);
	assert_int_equal(host_write_parse("", &m), -EINVAL);
}

static void test_choice(void **state)
{
	(void)state;
	/* ext4 only hands a buffered write in the ring to an io-wq thread */
	assert_int_equal(host_write_choose("/tmp", HOST_WRITE_AUTO), 0);
	int ext4 = !strcmp(host_write_fstype(), "ext4");
	assert_string_equal(host_write_engine(), ext4 ? "pwrite" : "uring");
	assert_string_equal(host_write_reason(), "auto");
	assert_int_equal(host_write_choose("/tmp", HOST_WRITE_PWRITE), 0);
	assert_string_equal(host_write_engine(), "pwrite");
	assert_string_equal(host_write_reason(), "forced");
	assert_int_equal(host_write_choose("/nonexistent/dir", HOST_WRITE_AUTO), -ENOENT);
	assert_string_equal(host_write_engine(), "uring");
	assert_string_equal(host_write_fstype(), "unknown");
}

/* Three pieces at an offset, then one overwrite: the file holds exactly them. */
static void write_with(enum host_write_mode mode)
{
	char path[] = "/tmp/test_hostwrite.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(host_write_choose("/tmp", mode), 0);
	char a[100], b[5000], c[7];
	memset(a, 'a', sizeof a);
	memset(b, 'b', sizeof b);
	memset(c, 'c', sizeof c);
	struct iovec iov[3] = {{a, sizeof a}, {b, sizeof b}, {c, sizeof c}};
	assert_int_equal(host_pwritev(fd, iov, 3, 4096), (ssize_t)(sizeof a + sizeof b + sizeof c));
	assert_int_equal(host_pwrite(fd, "XY", 2, 4096 + 99), 2);
	char got[4096 + 5107];
	assert_int_equal(pread(fd, got, sizeof got, 0), (ssize_t)sizeof got);
	for (size_t i = 0; i < sizeof got; i++) {
		char want = i < 4096 ? 0 : i < 4096 + 99 ? 'a' : i == 4096 + 99 ? 'X'
		          : i == 4096 + 100 ? 'Y' : i < 4096 + 5100 ? 'b' : 'c';
		assert_int_equal(got[i], want);
	}
	close(fd);
}

static void test_write_pwrite(void **state)
{
	(void)state;
	write_with(HOST_WRITE_PWRITE);
	assert_string_equal(host_write_engine(), "pwrite");
}

static void test_write_uring(void **state)
{
	(void)state;
	write_with(HOST_WRITE_URING);
	assert_string_equal(host_write_engine(), "uring");
}

/* The ring would hand the flush to an io-wq thread and wake us after. */
static void test_fsync_not_in_ring(void **state)
{
	(void)state;
	char path[] = "/tmp/test_hostwrite.XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(host_write_choose("/tmp", HOST_WRITE_URING), 0);
	assert_int_equal(host_pwrite(fd, "data", 4, 0), 4);
	uint64_t sub0, done0, sub1, done1;
	counters_uring_read(&sub0, &done0);
	assert_int_equal(host_fsync(fd, 1), 0);
	assert_int_equal(host_fsync(fd, 0), 0);
	counters_uring_read(&sub1, &done1);
	assert_int_equal(sub1 - sub0, 0);
	assert_int_equal(host_fsync(-1, 1), -EBADF);
	close(fd);
}

/* Runs of consecutive writes: a write where the run ends or inside it
 * extends it (FUSE splits a write from an unaligned buffer, and its short
 * tail lands inside the run), a write elsewhere starts a new one, and a
 * run's writeback starts once it reaches the window. */
static void test_stream_runs(void **state)
{
	(void)state;
	const uint64_t mib = 1 << 20;
	struct host_stream s = { 0, 0 };
	for (uint64_t i = 0; i < 7; i++)
		host_stream_written(&s, -1, i * mib, mib);
	assert_int_equal(s.from, 0);
	assert_int_equal(s.to, 7 * mib);
	host_stream_written(&s, -1, 7 * mib - 16, 16); /* inside: the same run */
	assert_int_equal(s.from, 0);
	assert_int_equal(s.to, 7 * mib);
	host_stream_written(&s, -1, 7 * mib, mib); /* the window: started */
	assert_int_equal(s.from, HOST_STREAM_WINDOW);
	assert_int_equal(s.to, HOST_STREAM_WINDOW);
	host_stream_written(&s, -1, 8 * mib, mib);
	assert_int_equal(s.from, 8 * mib);
	assert_int_equal(s.to, 9 * mib);
	host_stream_written(&s, -1, 100 * mib, 4096); /* elsewhere: a new run */
	assert_int_equal(s.from, 100 * mib);
	assert_int_equal(s.to, 100 * mib + 4096);
	host_stream_written(&s, -1, 0, 4096);
	assert_int_equal(s.from, 0);
	assert_int_equal(s.to, 4096);
}

/* cachestat(2) (Linux 6.5), not in this system's headers yet. */
#ifndef SYS_cachestat
#define SYS_cachestat 451
#endif
struct cs_range {
	uint64_t off, len;
};
struct cs {
	uint64_t cache, dirty, writeback, evicted, recently_evicted;
};

/* Pages of fd still dirty (neither written nor under writeback), or -1 when
 * the kernel cannot say. */
static long dirty_pages(int fd)
{
	struct cs_range r = { 0, 0 };
	struct cs c;
	return syscall(SYS_cachestat, fd, &r, &c, 0) < 0 ? -1 : (long)c.dirty;
}

/* 16 MiB written as a stream leaves no dirty pages behind (two windows
 * under writeback or written); the same writes without the stream leave
 * them all dirty, as the kernel starts nothing for 30 s. */
static void test_stream_starts_writeback(void **state)
{
	(void)state;
	char path[] = "/var/tmp/test_hostwrite.XXXXXX";
	int fd = mkstemp(path), plain = -1;
	assert_true(fd >= 0);
	unlink(path);
	if (dirty_pages(fd) < 0) {
		close(fd);
		skip();
	}
	assert_int_equal(host_write_choose("/var/tmp", HOST_WRITE_AUTO), 0);
	const size_t mib = 1 << 20;
	char *buf = malloc(mib);
	assert_non_null(buf);
	memset(buf, 'w', mib);
	struct host_stream s = { 0, 0 };
	for (size_t i = 0; i < 16; i++) {
		assert_int_equal(host_pwrite(fd, buf, mib, (off_t)(i * mib)), (ssize_t)mib);
		host_stream_written(&s, fd, i * mib, mib);
	}
	long left = dirty_pages(fd);
	/* without: the control, that the count sees the dirty pages at all */
	strcpy(path, "/var/tmp/test_hostwrite.XXXXXX");
	assert_true((plain = mkstemp(path)) >= 0);
	unlink(path);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(host_pwrite(plain, buf, mib, (off_t)(i * mib)), (ssize_t)mib);
	long all = dirty_pages(plain);
	free(buf);
	close(fd);
	close(plain);
	if (all < (long)(8 * mib / 4096))
		skip(); /* the kernel's own writeback got there first: no control */
	assert_true(left < all / 8);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_write_pwrite),
		cmocka_unit_test(test_write_uring),
		cmocka_unit_test(test_fsync_not_in_ring),
		cmocka_unit_test(test_stream_runs),
		cmocka_unit_test(test_stream_starts_writeback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
