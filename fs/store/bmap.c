/*
 * fs/store/bmap.c — owns the in-memory sparse two-bit block map (fs/store/bmap.h):
 * allocation of leaves and directories, word-at-a-time range operations,
 * searches, counting and the serialised leaf format.
 */
#include "fs/store/bmap.h"
#include "meta/fault.h"

#include <assert.h>
#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define LEAF_OF(b) ((b) / BMAP_LEAF_BITS)
#define BIT_IN_LEAF(b) ((unsigned)((b) % BMAP_LEAF_BITS))

void bmap_init(struct bmap *m)
{
	memset(m, 0, sizeof *m);
}

void bmap_free(struct bmap *m)
{
	for (uint64_t d = 0; d < m->ndir; d++) {
		if (!m->dir[d])
			continue;
		for (unsigned j = 0; j < BMAP_DIR_LEAVES; j++)
			free(m->dir[d][j]);
		free(m->dir[d]);
	}
	free(m->dir);
	bmap_init(m);
}

struct bmap_leaf *bmap_leaf(const struct bmap *m, uint64_t leaf)
{
	uint64_t d = leaf / BMAP_DIR_LEAVES;
	if (d >= m->ndir || !m->dir[d])
		return NULL;
	return m->dir[d][leaf % BMAP_DIR_LEAVES];
}

static int grow_top(struct bmap *m, uint64_t need)
{
	if (need <= m->ndir)
		return 0;
	uint64_t n = m->ndir ? m->ndir : 4;
	while (n < need)
		n *= 2;
	struct bmap_leaf ***dir = realloc(m->dir, n * sizeof *dir);
	if (!dir)
		return -ENOMEM;
	memset(dir + m->ndir, 0, (n - m->ndir) * sizeof *dir);
	m->dir = dir;
	m->ndir = n;
	return 0;
}

struct bmap_leaf *bmap_leaf_make(struct bmap *m, uint64_t leaf)
{
	struct bmap_leaf *l = bmap_leaf(m, leaf);
	if (l)
		return l;
	uint64_t d = leaf / BMAP_DIR_LEAVES;
	if (grow_top(m, d + 1) < 0)
		return NULL;
	if (!m->dir[d]) {
		m->dir[d] = calloc(BMAP_DIR_LEAVES, sizeof *m->dir[d]);
		if (!m->dir[d])
			return NULL;
	}
	l = FAULT(FAULT_ALLOC) ? NULL : calloc(1, sizeof *l);
	if (!l)
		return NULL;
	m->dir[d][leaf % BMAP_DIR_LEAVES] = l;
	return l;
}

uint64_t bmap_next_leaf(const struct bmap *m, uint64_t leaf)
{
	for (uint64_t d = leaf / BMAP_DIR_LEAVES; d < m->ndir; d++) {
		if (!m->dir[d])
			continue;
		unsigned j = d == leaf / BMAP_DIR_LEAVES ? (unsigned)(leaf % BMAP_DIR_LEAVES) : 0;
		for (; j < BMAP_DIR_LEAVES; j++)
			if (m->dir[d][j])
				return d * BMAP_DIR_LEAVES + j;
	}
	return BMAP_NONE;
}

int bmap_reserve(struct bmap *m, uint64_t start, uint64_t n)
{
	if (!n)
		return 0;
	for (uint64_t li = LEAF_OF(start); li <= LEAF_OF(start + n - 1); li++)
		if (!bmap_leaf_make(m, li))
			return -ENOMEM;
	return 0;
}

void bmap_leaf_touch(struct bmap *m, struct bmap_leaf *l)
{
	__atomic_store_n(&l->dirty, 1, __ATOMIC_RELEASE);
	__atomic_store_n(&m->dirty, 1, __ATOMIC_RELEASE);
}

int bmap_leaf_take_dirty(struct bmap_leaf *l)
{
	return __atomic_exchange_n(&l->dirty, 0, __ATOMIC_ACQ_REL);
}

int bmap_leaf_empty(const struct bmap_leaf *l)
{
	uint64_t any = 0;
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
		any |= bmap_word_get(&l->w[BMAP_HAS][i]) | bmap_word_get(&l->w[BMAP_DATA][i]);
	return any == 0;
}

int bmap_test(const struct bmap *m, int kind, uint64_t b)
{
	const struct bmap_leaf *l = bmap_leaf(m, LEAF_OF(b));
	if (!l)
		return 0;
	unsigned bit = BIT_IN_LEAF(b);
	return (bmap_word_get(&l->w[kind][bit / 64]) >> (bit % 64)) & 1;
}

/* Apply `set ? w |= mask : w &= ~mask` to bits [lo, hi) of one leaf. */
static void leaf_apply(struct bmap_leaf *l, int kind, unsigned lo, unsigned hi, int set)
{
	assert(lo <= hi && hi <= BMAP_LEAF_BITS);
	for (unsigned wi = lo / 64; wi * 64 < hi; wi++) {
		unsigned a = wi * 64 > lo ? 0 : lo % 64;
		unsigned z = (wi + 1) * 64 <= hi ? 64 : hi % 64;
		uint64_t mask = bmap_mask(a, z);
		uint64_t *w = &l->w[kind][wi];
		uint64_t v = bmap_word_get(w);
		bmap_word_put(w, set ? v | mask : v & ~mask);
	}
}

/* Visit [start, start+n) leaf by leaf; allocate leaves if `set`. */
static void range_apply(struct bmap *m, int kind, uint64_t start, uint64_t n, int set)
{
	uint64_t b = start, end = start + n;
	assert(end >= start);
	while (b < end) {
		uint64_t li = LEAF_OF(b);
		uint64_t leaf_end = (li + 1) * BMAP_LEAF_BITS;
		uint64_t stop = end < leaf_end ? end : leaf_end;
		struct bmap_leaf *l = set ? bmap_leaf_make(m, li) : bmap_leaf(m, li);
		assert(l || !set); /* bmap_set reserved every leaf of the range */
		if (l) {
			leaf_apply(l, kind, BIT_IN_LEAF(b), (unsigned)(stop - li * BMAP_LEAF_BITS), set);
			bmap_leaf_touch(m, l);
		} else if (!set) {
			uint64_t nl = bmap_next_leaf(m, li + 1);
			if (nl == BMAP_NONE)
				return;
			stop = nl * BMAP_LEAF_BITS > stop ? nl * BMAP_LEAF_BITS : stop;
		}
		b = stop;
	}
}

int bmap_set(struct bmap *m, int kind, uint64_t start, uint64_t n)
{
	if (bmap_reserve(m, start, n) < 0)
		return -ENOMEM;
	range_apply(m, kind, start, n, 1);
	return 0;
}

void bmap_clear(struct bmap *m, int kind, uint64_t start, uint64_t n)
{
	range_apply(m, kind, start, n, 0);
}

/* Search for a bit equal to `want` in [from, limit). A missing leaf is all
 * zeros: skipped when looking for ones, an immediate hit for zeros. */
static uint64_t next_bit(const struct bmap *m, int kind, uint64_t from, uint64_t limit, int want)
{
	uint64_t b = from;
	while (b < limit) {
		uint64_t li = LEAF_OF(b);
		const struct bmap_leaf *l = bmap_leaf(m, li);
		if (!l) {
			if (!want)
				return b;
			uint64_t nl = bmap_next_leaf(m, li + 1);
			if (nl == BMAP_NONE)
				return limit;
			b = nl * BMAP_LEAF_BITS;
			continue;
		}
		unsigned bit = BIT_IN_LEAF(b);
		for (unsigned wi = bit / 64; wi < BMAP_LEAF_WORDS; wi++) {
			uint64_t v = bmap_word_get(&l->w[kind][wi]);
			if (!want)
				v = ~v;
			if (wi == bit / 64)
				v &= bmap_mask(bit % 64, 64);
			if (v) {
				uint64_t r = li * BMAP_LEAF_BITS + wi * 64 + (unsigned)__builtin_ctzll(v);
				return r < limit ? r : limit;
			}
		}
		b = (li + 1) * BMAP_LEAF_BITS;
	}
	return limit;
}

uint64_t bmap_next_set(const struct bmap *m, int kind, uint64_t from, uint64_t limit)
{
	return next_bit(m, kind, from, limit, 1);
}

uint64_t bmap_next_clear(const struct bmap *m, int kind, uint64_t from, uint64_t limit)
{
	return next_bit(m, kind, from, limit, 0);
}

uint64_t bmap_count(const struct bmap *m, int kind, uint64_t start, uint64_t n)
{
	uint64_t b = start, end = start + n, total = 0;
	while (b < end) {
		uint64_t li = LEAF_OF(b);
		const struct bmap_leaf *l = bmap_leaf(m, li);
		if (!l) {
			uint64_t nl = bmap_next_leaf(m, li + 1);
			if (nl == BMAP_NONE || nl * BMAP_LEAF_BITS >= end)
				break;
			b = nl * BMAP_LEAF_BITS;
			continue;
		}
		uint64_t leaf_end = (li + 1) * BMAP_LEAF_BITS;
		unsigned lo = BIT_IN_LEAF(b);
		unsigned hi = end < leaf_end ? (unsigned)(end - li * BMAP_LEAF_BITS) : BMAP_LEAF_BITS;
		for (unsigned wi = lo / 64; wi * 64 < hi; wi++) {
			unsigned a = wi * 64 > lo ? 0 : lo % 64;
			unsigned z = (wi + 1) * 64 <= hi ? 64 : hi % 64;
			total += (uint64_t)__builtin_popcountll(bmap_word_get(&l->w[kind][wi]) &
			                                        bmap_mask(a, z));
		}
		b = leaf_end;
	}
	return total;
}

void bmap_truncate(struct bmap *m, uint64_t b)
{
	uint64_t first_free = (b + BMAP_LEAF_BITS - 1) / BMAP_LEAF_BITS;
	if (BIT_IN_LEAF(b)) {
		struct bmap_leaf *l = bmap_leaf(m, LEAF_OF(b));
		if (l) {
			leaf_apply(l, BMAP_HAS, BIT_IN_LEAF(b), BMAP_LEAF_BITS, 0);
			leaf_apply(l, BMAP_DATA, BIT_IN_LEAF(b), BMAP_LEAF_BITS, 0);
			bmap_leaf_touch(m, l);
		}
	}
	for (uint64_t li = bmap_next_leaf(m, first_free); li != BMAP_NONE;
	     li = bmap_next_leaf(m, li + 1)) {
		struct bmap_leaf **slot = &m->dir[li / BMAP_DIR_LEAVES][li % BMAP_DIR_LEAVES];
		free(*slot);
		*slot = NULL;
	}
	/* Drop directories that became empty so later searches skip them. */
	for (uint64_t d = (first_free + BMAP_DIR_LEAVES - 1) / BMAP_DIR_LEAVES; d < m->ndir; d++) {
		free(m->dir[d]);
		m->dir[d] = NULL;
	}
	assert(bmap_next_leaf(m, first_free) == BMAP_NONE);
}

void bmap_leaf_save(const struct bmap_leaf *l, int kind, uint8_t out[BMAP_LEAF_BYTES])
{
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
		uint64_t v = htole64(bmap_word_get(&l->w[kind][i]));
		memcpy(out + i * 8, &v, 8);
	}
}

static void words_from_blob(uint64_t w[BMAP_LEAF_WORDS], const void *blob, size_t len)
{
	uint8_t buf[BMAP_LEAF_BYTES] = {0};
	if (blob && len)
		memcpy(buf, blob, len < BMAP_LEAF_BYTES ? len : BMAP_LEAF_BYTES);
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
		uint64_t v;
		memcpy(&v, buf + i * 8, 8);
		bmap_word_put(&w[i], le64toh(v));
	}
}

int bmap_leaf_load(struct bmap *m, uint64_t leaf, const void *has, size_t has_len,
                   const void *data, size_t data_len)
{
	struct bmap_leaf *l = bmap_leaf_make(m, leaf);
	if (!l)
		return -ENOMEM;
	words_from_blob(l->w[BMAP_HAS], has, has_len);
	words_from_blob(l->w[BMAP_DATA], data, data_len);
	return 0;
}
