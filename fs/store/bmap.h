/*
 * fs/store/bmap.h — the sparse block map of one data object: for every 4 KiB block
 * two bits, `has` (defined in this layer) and `data` (holds data in this
 * layer's host file). See fs/store/store.h for what the bits mean.
 *
 * Shape: leaves of BMAP_LEAF_BITS blocks (one objmap row each: a 64-byte has
 * bitmap and a 64-byte data bitmap) allocated on demand, reached through a
 * growable top-level array of directories of BMAP_DIR_LEAVES leaf pointers.
 * The extra directory level keeps the top array tiny even for a block far
 * into a terabyte-sized sparse file.
 *
 * Concurrency: one writer at a time (the caller's inode lock). Bit words are
 * stored and loaded with relaxed atomics and the dirty flags with
 * acquire/release, so a flusher may serialise leaves while the writer keeps
 * going: a leaf dirtied after the flusher cleared its flag stays dirty.
 * Growing or shrinking the directory must be excluded from a concurrent
 * flusher by the caller (store.c holds the object's map lock for that).
 */
#ifndef VOLFS_FS_BMAP_H
#define VOLFS_FS_BMAP_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#define BMAP_LEAF_BITS 512u
#define BMAP_LEAF_WORDS 8u
#define BMAP_LEAF_BYTES 64u
#define BMAP_DIR_LEAVES 512u
#define BMAP_NONE UINT64_MAX

enum bmap_kind { BMAP_HAS = 0, BMAP_DATA = 1 };

struct bmap_leaf {
	uint64_t w[2][BMAP_LEAF_WORDS]; /* [BMAP_HAS | BMAP_DATA][word] */
	int dirty;
};

struct bmap {
	struct bmap_leaf ***dir; /* dir[i][j] = leaf i * BMAP_DIR_LEAVES + j */
	uint64_t ndir;
	int dirty; /* some leaf is dirty */
};

static inline uint64_t bmap_word_get(const uint64_t *w)
{
	return __atomic_load_n(w, __ATOMIC_RELAXED);
}

static inline void bmap_word_put(uint64_t *w, uint64_t v)
{
	__atomic_store_n(w, v, __ATOMIC_RELAXED);
}

/* Bits [lo, hi) of a 64-bit word, 0 <= lo <= hi <= 64. */
static inline uint64_t bmap_mask(unsigned lo, unsigned hi)
{
	assert(lo <= hi && hi <= 64);
	uint64_t upto_hi = hi >= 64 ? ~0ull : (1ull << hi) - 1;
	uint64_t below_lo = lo >= 64 ? ~0ull : (1ull << lo) - 1;
	return upto_hi & ~below_lo;
}

void bmap_init(struct bmap *m);
void bmap_free(struct bmap *m);

/* The leaf with this index, or NULL if it was never allocated. */
struct bmap_leaf *bmap_leaf(const struct bmap *m, uint64_t leaf);
/* The leaf with this index, allocated (all zero) if needed; NULL on ENOMEM. */
struct bmap_leaf *bmap_leaf_make(struct bmap *m, uint64_t leaf);
/* Smallest allocated leaf index >= leaf, or BMAP_NONE. */
uint64_t bmap_next_leaf(const struct bmap *m, uint64_t leaf);
/* Allocate every leaf covering blocks [start, start+n): afterwards
 * bmap_set() on that range cannot fail. 0 or -ENOMEM. */
int bmap_reserve(struct bmap *m, uint64_t start, uint64_t n);

int bmap_test(const struct bmap *m, int kind, uint64_t b);
/* Set bits [start, start+n); allocates leaves, so 0 or -ENOMEM (nothing
 * changed on failure). */
int bmap_set(struct bmap *m, int kind, uint64_t start, uint64_t n);
void bmap_clear(struct bmap *m, int kind, uint64_t start, uint64_t n);
/* First set / clear bit in [from, limit), or limit if there is none. */
uint64_t bmap_next_set(const struct bmap *m, int kind, uint64_t from, uint64_t limit);
uint64_t bmap_next_clear(const struct bmap *m, int kind, uint64_t from, uint64_t limit);
/* Number of set bits in [start, start+n). */
uint64_t bmap_count(const struct bmap *m, int kind, uint64_t start, uint64_t n);
/* Clear every bit at or beyond block b and free the leaves wholly beyond
 * it (the caller records that their stored rows must go). */
void bmap_truncate(struct bmap *m, uint64_t b);

/* Mark a leaf (and the map) dirty after changing its words directly. */
void bmap_leaf_touch(struct bmap *m, struct bmap_leaf *l);
/* If the leaf is dirty, clear the flag and return 1 (the caller then
 * serialises it); 0 otherwise. */
int bmap_leaf_take_dirty(struct bmap_leaf *l);
int bmap_leaf_empty(const struct bmap_leaf *l);

/* Serialised form: byte i bit j is block i*8+j of the leaf (64 bytes). */
void bmap_leaf_save(const struct bmap_leaf *l, int kind, uint8_t out[BMAP_LEAF_BYTES]);
/* Install a stored leaf (clean). Short blobs are zero-padded, longer ones
 * truncated. 0 or -ENOMEM. */
int bmap_leaf_load(struct bmap *m, uint64_t leaf, const void *has, size_t has_len,
                   const void *data, size_t data_len);

#endif
