/*
 * tests/unit/test_fdcache.c — the bounded LRU of open descriptors
 * (fs/store/fdcache.c): at most `bound` idle descriptors stay open, the least
 * recently used go first, held ones are never closed (also under threads),
 * closed ones reopen on the next hold, and an open that fails for want of
 * descriptors is retried after shedding the idle ones.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs/store/fdcache.h"

#define N 10

struct owner {
	int fd;
	struct fdc_entry e;
	int opens;
	int fail_with; /* open_dev_null fails once with this errno if set */
};

static int open_dev_null(void *arg)
{
	struct owner *o = arg;
	if (o->fail_with) {
		int e = o->fail_with;
		o->fail_with = 0;
		return -e;
	}
	__atomic_fetch_add(&o->opens, 1, __ATOMIC_RELAXED);
	int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

static int is_open(int fd)
{
	return fd >= 0 && fcntl(fd, F_GETFD) != -1;
}

static void use(struct fdcache *c, struct owner *o)
{
	assert_int_equal(fdc_hold(c, &o->e, open_dev_null, o), 0);
	assert_true(is_open(o->fd));
	fdc_release(c, &o->e);
}

static void setup_owners(struct fdcache *c, struct owner *o, size_t bound)
{
	fdc_init(c, bound);
	for (int i = 0; i < N; i++) {
		o[i] = (struct owner){.fd = -1};
		fdc_entry_init(c, &o[i].e, &o[i].fd);
	}
}

static void drop_owners(struct fdcache *c, struct owner *o)
{
	for (int i = 0; i < N; i++)
		fdc_entry_drop(c, &o[i].e);
	assert_int_equal(fdc_open_count(c), 0);
	fdc_destroy(c);
}

static void test_bound_keeps_most_recent(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 3);
	for (int i = 0; i < N; i++)
		use(&c, &o[i]);
	assert_int_equal(fdc_open_count(&c), 3);
	for (int i = 0; i < N; i++)
		assert_int_equal(o[i].fd >= 0, i >= N - 3);
	drop_owners(&c, o);
}

static void test_hold_touches(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 3);
	use(&c, &o[0]);
	use(&c, &o[1]);
	use(&c, &o[2]);
	use(&c, &o[0]); /* now o[1] is the least recently used */
	use(&c, &o[3]);
	assert_true(o[0].fd >= 0);
	assert_int_equal(o[1].fd, -1);
	assert_true(o[2].fd >= 0 && o[3].fd >= 0);
	assert_int_equal(o[0].opens, 1);
	drop_owners(&c, o);
}

static void test_closed_entry_reopens(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 1);
	use(&c, &o[0]);
	use(&c, &o[1]);
	assert_int_equal(o[0].fd, -1);
	use(&c, &o[0]);
	assert_int_equal(o[0].opens, 2);
	assert_int_equal(fdc_open_count(&c), 1);
	drop_owners(&c, o);
}

static void test_held_never_closed(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 2);
	for (int i = 0; i < 5; i++)
		assert_int_equal(fdc_hold(&c, &o[i].e, open_dev_null, &o[i]), 0);
	/* Past the bound, but every one of them is in use. */
	assert_int_equal(fdc_open_count(&c), 5);
	for (int i = 0; i < 5; i++)
		assert_true(is_open(o[i].fd));
	for (int i = 0; i < 5; i++)
		fdc_release(&c, &o[i].e);
	assert_int_equal(fdc_open_count(&c), 2);
	assert_true(o[3].fd >= 0 && o[4].fd >= 0);
	/* Nested holds: the descriptor stays until the last release. */
	assert_int_equal(fdc_hold(&c, &o[0].e, open_dev_null, &o[0]), 0);
	assert_int_equal(fdc_hold(&c, &o[0].e, open_dev_null, &o[0]), 0);
	fdc_release(&c, &o[0].e);
	use(&c, &o[5]);
	use(&c, &o[6]);
	assert_true(is_open(o[0].fd));
	fdc_release(&c, &o[0].e);
	drop_owners(&c, o);
}

static void test_open_failure_not_held(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 3);
	o[0].fail_with = ENOENT;
	assert_int_equal(fdc_hold(&c, &o[0].e, open_dev_null, &o[0]), -ENOENT);
	assert_int_equal(o[0].e.users, 0);
	assert_int_equal(o[0].fd, -1);
	drop_owners(&c, o);
}

static void test_out_of_descriptors_sheds_idle(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 5);
	for (int i = 0; i < 4; i++)
		use(&c, &o[i]);
	o[4].fail_with = EMFILE;
	assert_int_equal(fdc_hold(&c, &o[4].e, open_dev_null, &o[4]), 0);
	assert_true(is_open(o[4].fd));
	for (int i = 0; i < 4; i++)
		assert_int_equal(o[i].fd, -1);
	assert_int_equal(fdc_open_count(&c), 1);
	fdc_release(&c, &o[4].e);
	drop_owners(&c, o);
}

static void test_install_and_adopt(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 2);
	/* A hold without an open function leaves a closed entry closed. */
	assert_int_equal(fdc_hold(&c, &o[0].e, NULL, NULL), 0);
	assert_int_equal(o[0].fd, -1);
	fdc_install(&c, &o[0].e, open("/dev/null", O_RDONLY | O_CLOEXEC));
	assert_true(is_open(o[0].fd));
	fdc_release(&c, &o[0].e);
	/* An owner registered with an open descriptor counts at once. */
	struct owner extra = {.fd = open("/dev/null", O_RDONLY | O_CLOEXEC)};
	fdc_entry_init(&c, &extra.e, &extra.fd);
	assert_int_equal(fdc_open_count(&c), 2);
	use(&c, &o[1]); /* o[0] is the least recently used */
	assert_int_equal(o[0].fd, -1);
	fdc_entry_drop(&c, &extra.e);
	assert_int_equal(extra.fd, -1);
	drop_owners(&c, o);
}

struct race {
	struct fdcache *c;
	struct owner *o;
	unsigned seed;
	int bad;
};

static void *hammer(void *arg)
{
	struct race *r = arg;
	for (int k = 0; k < 20000; k++) {
		struct owner *o = &r->o[rand_r(&r->seed) % N];
		if (fdc_hold(r->c, &o->e, open_dev_null, o) < 0) {
			r->bad++;
			continue;
		}
		int fd = o->fd;
		if (!is_open(fd))
			r->bad++;
		if (o->fd != fd)
			r->bad++;
		fdc_release(r->c, &o->e);
	}
	return NULL;
}

static void test_threads_never_see_closed(void **state)
{
	(void)state;
	struct fdcache c;
	struct owner o[N];
	setup_owners(&c, o, 2);
	/* opens are counted racily by the owners; the cache counts its own */
	struct race r[4];
	pthread_t t[4];
	for (int i = 0; i < 4; i++) {
		r[i] = (struct race){&c, o, (unsigned)i + 1, 0};
		assert_int_equal(pthread_create(&t[i], NULL, hammer, &r[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		assert_int_equal(r[i].bad, 0);
	}
	assert_int_equal(fdc_open_count(&c), 2);
	assert_true(c.closes > 0);
	drop_owners(&c, o);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bound_keeps_most_recent),
		cmocka_unit_test(test_hold_touches),
		cmocka_unit_test(test_closed_entry_reopens),
		cmocka_unit_test(test_held_never_closed),
		cmocka_unit_test(test_open_failure_not_held),
		cmocka_unit_test(test_out_of_descriptors_sheds_idle),
		cmocka_unit_test(test_install_and_adopt),
		cmocka_unit_test(test_threads_never_see_closed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
