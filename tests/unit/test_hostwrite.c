/*
 * test_hostwrite.c: the host write engine (fs/store/hostwrite.c): parsing
 * --host-writes, the choice per filesystem, both engines writing whole
 * vectors at their offsets, and a flush that does not go through the ring.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
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

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_choice),
		cmocka_unit_test(test_write_pwrite),
		cmocka_unit_test(test_write_uring),
		cmocka_unit_test(test_fsync_not_in_ring),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
