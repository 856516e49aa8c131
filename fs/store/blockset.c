/*
 * fs/store/blockset.c — sets of physical blocks (object layer, block) and
 * the blocks an object's logical view reads, each counted in the layer that
 * holds it. Blocks that a child layer shadows are in nobody's view, so a set
 * built from views counts what a tree really keeps, and a block that several
 * trees read through a shared layer is one element however often it is added.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>

#include "fs/store/bmap.h"
#include "fs/store/store.h"
#include "fs/store/store_int.h"

struct blockset_slot {
	uint64_t id; /* 0: empty */
	int whole_view; /* id's whole view was added, not only the part a child reads */
	struct bmap blocks;
};

struct store_blockset {
	struct blockset_slot *slot;
	size_t n, cap; /* cap is 0 or a power of two */
};

struct store_blockset *store_blockset_new(void)
{
	return calloc(1, sizeof(struct store_blockset));
}

void store_blockset_free(struct store_blockset *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->cap; i++)
		if (s->slot[i].id)
			bmap_free(&s->slot[i].blocks);
	free(s->slot);
	free(s);
}

static size_t slot_of(const struct store_blockset *s, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & (s->cap - 1);
	while (s->slot[i].id && s->slot[i].id != id)
		i = (i + 1) & (s->cap - 1);
	return i;
}

static const struct bmap *blocks_find(const struct store_blockset *s, uint64_t id)
{
	if (!s->cap)
		return NULL;
	const struct blockset_slot *sl = &s->slot[slot_of(s, id)];
	return sl->id ? &sl->blocks : NULL;
}

static int grow(struct store_blockset *s)
{
	size_t cap = s->cap ? 2 * s->cap : 64;
	struct blockset_slot *old = s->slot;
	size_t oldcap = s->cap;
	if (!(s->slot = calloc(cap, sizeof *s->slot))) {
		s->slot = old;
		return -ENOMEM;
	}
	s->cap = cap;
	for (size_t i = 0; i < oldcap; i++)
		if (old[i].id)
			s->slot[slot_of(s, old[i].id)] = old[i];
	free(old);
	return 0;
}

/* The block bitmap of layer id in s, made if needed; NULL on ENOMEM. */
static struct bmap *blocks_make(struct store_blockset *s, uint64_t id)
{
	assert(id != 0);
	if (2 * (s->n + 1) > s->cap && grow(s) < 0)
		return NULL;
	struct blockset_slot *sl = &s->slot[slot_of(s, id)];
	if (!sl->id) {
		sl->id = id;
		bmap_init(&sl->blocks);
		s->n++;
	}
	return &sl->blocks;
}

/* Add to `out` the data blocks of layer l in [b, e) that no layer above
 * decided (`decided` has them). */
static int add_undecided(const struct bmap *decided, const struct bmap *l, uint64_t b,
                         uint64_t e, struct bmap *out)
{
	while (b < e) {
		uint64_t s = bmap_next_clear(decided, BMAP_HAS, b, e);
		uint64_t t = bmap_next_set(decided, BMAP_HAS, s, e);
		for (uint64_t d = bmap_next_set(l, BMAP_DATA, s, t); d < t;) {
			uint64_t end = bmap_next_clear(l, BMAP_DATA, d, t);
			if (bmap_set(out, BMAP_DATA, d, end - d) < 0)
				return -ENOMEM;
			d = bmap_next_set(l, BMAP_DATA, end, t);
		}
		b = t;
	}
	return 0;
}

/* One layer of the walk down: its blocks below `limit` that no layer above
 * has decided are read from it (or are a whiteout); they are decided now. */
static int add_layer(struct store_blockset *s, const struct dobj *o, struct bmap *decided,
                     uint64_t limit)
{
	struct bmap *out = NULL;
	for (uint64_t b = bmap_next_set(&o->map, BMAP_HAS, 0, limit); b < limit;) {
		uint64_t e = bmap_next_clear(&o->map, BMAP_HAS, b, limit);
		if (!out && !(out = blocks_make(s, o->id)))
			return -ENOMEM;
		if (add_undecided(decided, &o->map, b, e, out) < 0)
			return -ENOMEM;
		b = e < limit ? bmap_next_set(&o->map, BMAP_HAS, e, limit) : limit;
	}
	for (uint64_t b = bmap_next_set(&o->map, BMAP_HAS, 0, limit); b < limit;) {
		uint64_t e = bmap_next_clear(&o->map, BMAP_HAS, b, limit);
		if (bmap_set(decided, BMAP_HAS, b, e - b) < 0)
			return -ENOMEM;
		b = e < limit ? bmap_next_set(&o->map, BMAP_HAS, e, limit) : limit;
	}
	return 0;
}

/* A view added before adds nothing: many files of many snapshots share
 * one object, and its walk is the costly part. */
int store_blockset_add_view(struct store *st, struct store_blockset *s, uint64_t id)
{
	struct bmap *top = blocks_make(s, id);
	if (!top)
		return -ENOMEM;
	if (s->slot[slot_of(s, id)].whole_view)
		return 0;
	struct bmap decided;
	bmap_init(&decided);
	uint64_t top_id = id;
	uint64_t limit = MAX_BLOCKS;
	int r = 0;
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t depth = 0; id && r == 0 && depth < MAX_CHAIN; depth++) {
		struct layer l;
		if ((r = layer_get(st, id, &l)) < 0)
			break;
		r = add_layer(s, l.o, &decided, limit);
		/* past a truncation point, lower layers are never read */
		if (l.o->trunc_blk < limit)
			limit = l.o->trunc_blk;
		id = l.o->parent_id;
		layer_put(&l);
	}
	ranked_unlock(&st->lock, LOCK_STORE);
	bmap_free(&decided);
	if (r == 0)
		s->slot[slot_of(s, top_id)].whole_view = 1;
	return r;
}

uint64_t store_blockset_count_minus(const struct store_blockset *a, const struct store_blockset *b)
{
	uint64_t n = 0;
	for (size_t i = 0; i < a->cap; i++) {
		const struct blockset_slot *sl = &a->slot[i];
		if (!sl->id)
			continue;
		const struct bmap *other = blocks_find(b, sl->id);
		for (uint64_t x = bmap_next_set(&sl->blocks, BMAP_DATA, 0, MAX_BLOCKS); x < MAX_BLOCKS;) {
			uint64_t e = bmap_next_clear(&sl->blocks, BMAP_DATA, x, MAX_BLOCKS);
			n += e - x;
			if (other)
				n -= bmap_count(other, BMAP_DATA, x, e - x);
			x = e < MAX_BLOCKS ? bmap_next_set(&sl->blocks, BMAP_DATA, e, MAX_BLOCKS) : MAX_BLOCKS;
		}
	}
	return n;
}

size_t store_blockset_layers(const struct store_blockset *s)
{
	return s->n;
}
