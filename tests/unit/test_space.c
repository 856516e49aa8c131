/*
 * test_space.c: the metadata space reserve's checks (meta/space.c): how
 * often extending writes and metadata changes make it ask the host for
 * its free space, and that a write the host has no room for is still
 * refused.
 */
#include <errno.h>
#include <stdlib.h>
#include <sys/statvfs.h>

#include "meta/space.h"
#include "tests/unit/unit.h"

#define MiB (1ull << 20)

struct fix {
	char dir[64];
	struct meta_space *s;
	uint64_t host_free;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	assert_non_null(f);
	strcpy(f->dir, "/tmp/test_space.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(meta_space_open(&f->s, f->dir), 0);
	struct statvfs sv;
	assert_int_equal(statvfs(f->dir, &sv), 0);
	f->host_free = (uint64_t)sv.f_bavail * sv.f_frsize;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	meta_space_close(f->s);
	unit_rm_tree(f->dir);
	free(f);
	return 0;
}

/* A bulk load's 8 KiB extending writes: one look at the host grants room
 * for many of them (before, every write made one fstatvfs). */
static void test_extending_writes_look_rarely(void **state)
{
	struct fix *f = *state;
	/* floor and reserve are at most 256 + 64 MiB; a budget of 8 MiB needs 64 more */
	if (f->host_free < 1024 * MiB)
		skip();
	uint64_t before = meta_space_host_looks(f->s);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(meta_space_data_ok(f->s, 8192), 0);
	assert_in_range(meta_space_host_looks(f->s) - before, 1, 2);
}

/* More than the host has is refused at once, and the next write looks at
 * the host again rather than spending a budget granted earlier. */
static void test_no_room_refused_and_looks_again(void **state)
{
	struct fix *f = *state;
	if (f->host_free < 1024 * MiB)
		skip();
	assert_int_equal(meta_space_data_ok(f->s, 8192), 0);
	uint64_t before = meta_space_host_looks(f->s);
	assert_int_equal(meta_space_data_ok(f->s, f->host_free + 1024 * MiB), -ENOSPC);
	assert_int_equal(meta_space_data_ok(f->s, 8192), 0);
	assert_int_equal(meta_space_host_looks(f->s) - before, 2);
}

/* A budget never covers more than an eighth of the room seen: a write of
 * half the host's free space looks (and is allowed), and so does the next
 * one of the same size. */
static void test_budget_bounded_by_room(void **state)
{
	struct fix *f = *state;
	if (f->host_free < 1024 * MiB)
		skip();
	uint64_t half = f->host_free / 2, before = meta_space_host_looks(f->s);
	assert_int_equal(meta_space_data_ok(f->s, half), 0);
	assert_int_equal(meta_space_data_ok(f->s, 64 * MiB + 1), 0);
	assert_int_equal(meta_space_host_looks(f->s) - before, 2);
}

/* A metadata change asks at its start whether the host is tight and at
 * its end whether the open group still fits: one look at the host for
 * both (before, each made its own fstatvfs). */
static void test_metadata_change_looks_once(void **state)
{
	struct fix *f = *state;
	if (f->host_free < 1024 * MiB)
		skip();
	uint64_t before = meta_space_host_looks(f->s);
	for (int i = 1; i <= 100; i++) {
		assert_false(meta_space_tight(f->s));
		assert_true(meta_space_fits(f->s, (uint64_t)i * 4096));
	}
	assert_int_equal(meta_space_host_looks(f->s) - before, 100);
	/* the answer is the look's: a group larger than a quarter of what
	 * the host had does not fit */
	assert_false(meta_space_fits(f->s, f->host_free));
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_extending_writes_look_rarely, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_room_refused_and_looks_again, setup, teardown),
		cmocka_unit_test_setup_teardown(test_budget_bounded_by_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_metadata_change_looks_once, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
