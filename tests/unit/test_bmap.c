/*
 * tests/unit/test_bmap.c — the sparse two-bit block map (fs/store/bmap.h): range
 * set/clear across word and leaf edges, searches over missing leaves, counts,
 * truncation, the stored leaf format, and a randomised comparison against a
 * plain bit array.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "fs/store/bmap.h"

static void test_set_test_clear_edges(void **state)
{
	(void)state;
	struct bmap m;
	bmap_init(&m);
	/* 60..70 crosses a word, 500..530 crosses a leaf. */
	assert_int_equal(bmap_set(&m, BMAP_HAS, 60, 11), 0);
	assert_int_equal(bmap_set(&m, BMAP_DATA, 500, 31), 0);
	for (uint64_t b = 0; b < 1100; b++) {
		assert_int_equal(bmap_test(&m, BMAP_HAS, b), b >= 60 && b <= 70);
		assert_int_equal(bmap_test(&m, BMAP_DATA, b), b >= 500 && b <= 530);
	}
	bmap_clear(&m, BMAP_DATA, 510, 5);
	assert_int_equal(bmap_count(&m, BMAP_DATA, 0, 2000), 26);
	assert_false(bmap_test(&m, BMAP_DATA, 512));
	assert_true(bmap_test(&m, BMAP_DATA, 515));
	assert_int_equal(bmap_count(&m, BMAP_HAS, 64, 3), 3);
	assert_int_equal(bmap_count(&m, BMAP_HAS, 0, 64), 4);
	/* Clearing where no leaf exists is harmless and allocates nothing. */
	bmap_clear(&m, BMAP_HAS, 5000, 100000);
	assert_int_equal(bmap_next_leaf(&m, 2), BMAP_NONE);
	bmap_free(&m);
}

static void test_searches(void **state)
{
	(void)state;
	struct bmap m;
	bmap_init(&m);
	uint64_t far = 1ull << 30; /* leaf 2^21, thousands of directories away */
	assert_int_equal(bmap_set(&m, BMAP_DATA, 100, 50), 0);
	assert_int_equal(bmap_set(&m, BMAP_DATA, far + 7, 3), 0);
	assert_int_equal(bmap_next_set(&m, BMAP_DATA, 0, far * 2), 100);
	assert_int_equal(bmap_next_set(&m, BMAP_DATA, 120, far * 2), 120);
	assert_int_equal(bmap_next_set(&m, BMAP_DATA, 150, far * 2), far + 7);
	assert_int_equal(bmap_next_set(&m, BMAP_DATA, 150, far), far); /* limit */
	assert_int_equal(bmap_next_clear(&m, BMAP_DATA, 100, far * 2), 150);
	assert_int_equal(bmap_next_clear(&m, BMAP_DATA, 0, far * 2), 0);
	assert_int_equal(bmap_next_clear(&m, BMAP_DATA, far + 7, far * 2), far + 10);
	assert_int_equal(bmap_next_clear(&m, BMAP_DATA, 100, 140), 140);
	assert_int_equal(bmap_next_set(&m, BMAP_HAS, 0, far * 2), far * 2);
	assert_int_equal(bmap_count(&m, BMAP_DATA, 0, far * 2), 53);
	assert_int_equal(bmap_count(&m, BMAP_DATA, far + 8, 100), 2);
	assert_int_equal(bmap_next_leaf(&m, 1), far / BMAP_LEAF_BITS);
	/* The top level grew by directories, not one pointer per leaf. */
	assert_true(m.ndir <= 2 * (far / BMAP_LEAF_BITS / BMAP_DIR_LEAVES + 1));
	bmap_free(&m);
}

static void test_truncate(void **state)
{
	(void)state;
	struct bmap m;
	bmap_init(&m);
	assert_int_equal(bmap_set(&m, BMAP_HAS, 0, 3000), 0);
	assert_int_equal(bmap_set(&m, BMAP_DATA, 0, 3000), 0);
	assert_int_equal(bmap_set(&m, BMAP_DATA, 1ull << 24, 1), 0);
	bmap_truncate(&m, 700);
	assert_int_equal(bmap_count(&m, BMAP_HAS, 0, 1ull << 25), 700);
	assert_int_equal(bmap_count(&m, BMAP_DATA, 0, 1ull << 25), 700);
	assert_true(bmap_test(&m, BMAP_DATA, 699));
	assert_false(bmap_test(&m, BMAP_DATA, 700));
	assert_int_equal(bmap_next_leaf(&m, 2), BMAP_NONE);
	/* Truncating on a leaf boundary frees that leaf too. */
	bmap_truncate(&m, 512);
	assert_int_equal(bmap_next_leaf(&m, 1), BMAP_NONE);
	assert_int_equal(bmap_count(&m, BMAP_HAS, 0, 1024), 512);
	/* The map stays usable after shrinking. */
	assert_int_equal(bmap_set(&m, BMAP_HAS, 1ull << 24, 2), 0);
	assert_int_equal(bmap_count(&m, BMAP_HAS, 0, 1ull << 25), 514);
	bmap_free(&m);
}

static void test_leaf_format_and_dirty(void **state)
{
	(void)state;
	struct bmap m, n;
	bmap_init(&m);
	bmap_init(&n);
	assert_int_equal(bmap_set(&m, BMAP_HAS, 512 + 9, 1), 0);
	assert_int_equal(bmap_set(&m, BMAP_DATA, 512 + 511, 1), 0);
	struct bmap_leaf *l = bmap_leaf(&m, 1);
	assert_non_null(l);
	assert_null(bmap_leaf(&m, 0));
	assert_true(m.dirty);
	assert_int_equal(bmap_leaf_take_dirty(l), 1);
	assert_int_equal(bmap_leaf_take_dirty(l), 0);
	uint8_t has[BMAP_LEAF_BYTES], data[BMAP_LEAF_BYTES];
	bmap_leaf_save(l, BMAP_HAS, has);
	bmap_leaf_save(l, BMAP_DATA, data);
	/* Byte i bit j is block i*8+j, independent of host byte order. */
	assert_int_equal(has[1], 1 << 1);
	assert_int_equal(data[63], 0x80);
	for (unsigned i = 0; i < BMAP_LEAF_BYTES; i++) {
		if (i != 1)
			assert_int_equal(has[i], 0);
		if (i != 63)
			assert_int_equal(data[i], 0);
	}
	assert_int_equal(bmap_leaf_load(&n, 1, has, sizeof has, data, sizeof data), 0);
	assert_true(bmap_test(&n, BMAP_HAS, 521));
	assert_true(bmap_test(&n, BMAP_DATA, 1023));
	assert_int_equal(bmap_count(&n, BMAP_HAS, 0, 4096) + bmap_count(&n, BMAP_DATA, 0, 4096), 2);
	assert_false(n.dirty); /* a loaded leaf is clean */
	/* A short blob is zero-padded. */
	uint8_t one = 0x81;
	assert_int_equal(bmap_leaf_load(&n, 7, &one, 1, NULL, 0), 0);
	assert_int_equal(bmap_count(&n, BMAP_HAS, 7 * 512, 512), 2);
	assert_true(bmap_test(&n, BMAP_HAS, 7 * 512 + 7));
	bmap_clear(&m, BMAP_HAS, 0, 2048);
	bmap_clear(&m, BMAP_DATA, 0, 2048);
	assert_true(bmap_leaf_empty(l));
	assert_int_equal(bmap_leaf_take_dirty(l), 1);
	bmap_free(&m);
	bmap_free(&n);
}

/* Random ranges against a plain bit array, over three leaves and a few
 * blocks in a far-away leaf. */
#define NEAR 1600u
#define FAR_BASE (1ull << 28)
#define SPACE (NEAR + 600u)

static uint64_t pos_of(unsigned i)
{
	return i < NEAR ? i : FAR_BASE + (i - NEAR);
}

static void test_random_against_model(void **state)
{
	(void)state;
	static uint8_t model[2][SPACE];
	memset(model, 0, sizeof model);
	struct bmap m;
	bmap_init(&m);
	srandom(12345);
	for (int step = 0; step < 4000; step++) {
		int kind = (int)(random() % 2);
		unsigned a = (unsigned)(random() % SPACE);
		unsigned len = (unsigned)(random() % 300);
		if (a < NEAR && a + len > NEAR)
			len = NEAR - a;
		if (a + len > SPACE)
			len = SPACE - a;
		int op = (int)(random() % 3);
		if (op < 2) {
			int set = op == 0;
			if (set)
				assert_int_equal(bmap_set(&m, kind, pos_of(a), len), 0);
			else
				bmap_clear(&m, kind, pos_of(a), len);
			memset(&model[kind][a], set, len);
		}
		/* Check a random query of each sort against the model. */
		unsigned q = (unsigned)(random() % SPACE);
		unsigned qe = q < NEAR ? NEAR : SPACE;
		unsigned want_set = q, want_clear = q, cnt = 0;
		while (want_set < qe && !model[kind][want_set])
			want_set++;
		while (want_clear < qe && model[kind][want_clear])
			want_clear++;
		for (unsigned i = q; i < qe; i++)
			cnt += model[kind][i];
		uint64_t lim = pos_of(qe - 1) + 1;
		uint64_t got_set = bmap_next_set(&m, kind, pos_of(q), lim);
		uint64_t got_clear = bmap_next_clear(&m, kind, pos_of(q), lim);
		assert_int_equal(got_set, want_set < qe ? pos_of(want_set) : lim);
		assert_int_equal(got_clear, want_clear < qe ? pos_of(want_clear) : lim);
		assert_int_equal(bmap_count(&m, kind, pos_of(q), lim - pos_of(q)), cnt);
		assert_int_equal(bmap_test(&m, kind, pos_of(q)), model[kind][q]);
	}
	bmap_free(&m);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_set_test_clear_edges),
		cmocka_unit_test(test_searches),
		cmocka_unit_test(test_truncate),
		cmocka_unit_test(test_leaf_format_and_dirty),
		cmocka_unit_test(test_random_against_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
