/*
 * fs/store.c — owns data objects (fs/store.h): the object cache and the
 * parent chains shared in memory, the host files under STATE/data, the
 * logical view through copy-on-write layers, reads and writes through
 * fs/uring.h, and the objmap/dataobjs rows of each object.
 *
 * Locks, outermost first: load_lock (one loader at a time, so an object is
 * never loaded twice) -> db lock -> st->lock (cache, pins, LRU, in-memory
 * refs, reap queue) -> o->maplock (growth/shrink of an object's map and its
 * trunc_blk/map_cut, against a concurrent flusher). The bits themselves are
 * changed by the single writer the caller guarantees, read by flushers with
 * relaxed atomics (see fs/bmap.h).
 *
 * Objects with refs > 1 are never modified: store_write, punch, allocate
 * and truncate return -EROFS on them (the caller must store_cow first).
 * Every mutator prepares what can fail (map leaves, bounce blocks) before
 * touching the host file, so that an error leaves the map unchanged.
 */
#include "fs/store.h"
#include "fs/bmap.h"
#include "fs/uring.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BS ((uint64_t)STORE_BLOCK)
#define MAX_BLOCKS (STORE_MAX_SIZE / STORE_BLOCK)
#define NO_TRUNC UINT64_MAX
#define LEAF_BLOCKS ((uint64_t)BMAP_LEAF_BITS)
/* Unpinned objects kept in memory so that reopening a file does not reload
 * its map from the db. */
#define LRU_MAX 64
/* A parent chain longer than this means a cycle in a corrupt db. */
#define MAX_CHAIN 65536
/* Destination sub-iovecs per host read. */
#define SLICE_IOV 32

struct dobj {
	struct store *st;
	uint64_t id;
	uint64_t parent_id;
	struct dobj *parent; /* pinned by this object */
	int64_t refs;        /* mirror of dataobjs.refs (atomic) */
	uint64_t trunc_blk;  /* NO_TRUNC if never truncated (NULL in the db) */
	int trunc_dirty;
	uint64_t map_cut;    /* objmap rows with leaf >= map_cut must go; BMAP_NONE */
	struct bmap map;
	pthread_mutex_t maplock;
	int fd;              /* -1 until the host file exists */
	int pins;
	int64_t nview;       /* cached store_data_blocks(), -1 = unknown (atomic) */
	struct dobj *hnext;
	struct dobj *lru_prev, *lru_next;
};

/* Blocks [b, b+n) of object id, cleared from its map by a trim. */
struct trim_run {
	uint64_t id, b, n;
};

struct store {
	char *dir; /* STATE/data */
	struct db *db;
	pthread_mutex_t lock;
	pthread_mutex_t load_lock;
	struct dobj **buckets;
	size_t nbuckets, count;
	struct dobj *lru_head, *lru_tail;
	size_t nlru;
	uint64_t *reap;
	size_t nreap, capreap;
	struct trim_run *trims; /* host ranges to punch once trims commit */
	size_t ntrims, captrims;
};

static const uint8_t zero_block[STORE_BLOCK];

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static uint64_t min_u64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static uint64_t max_u64(uint64_t a, uint64_t b) { return a > b ? a : b; }
static uint64_t div_up(uint64_t a, uint64_t b) { return a / b + (a % b != 0); }

static int64_t refs_of(const struct dobj *o) { return __atomic_load_n(&o->refs, __ATOMIC_RELAXED); }
static void set_refs(struct dobj *o, int64_t r) { __atomic_store_n(&o->refs, r, __ATOMIC_RELAXED); }

static void nview_add(struct dobj *o, int64_t d)
{
	int64_t v = __atomic_load_n(&o->nview, __ATOMIC_RELAXED);
	if (v >= 0)
		__atomic_store_n(&o->nview, v + d, __ATOMIC_RELAXED);
}

static int obj_dirty(struct dobj *o)
{
	pthread_mutex_lock(&o->maplock);
	int d = __atomic_load_n(&o->map.dirty, __ATOMIC_ACQUIRE) || o->trunc_dirty ||
	        o->map_cut != BMAP_NONE;
	pthread_mutex_unlock(&o->maplock);
	return d;
}

void store_path(struct store *st, uint64_t id, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%02x/%" PRIu64, st->dir, (unsigned)(id % 256), id);
}

static int open_host(struct store *st, uint64_t id, int create)
{
	char path[4096];
	store_path(st, id, path, sizeof path);
	int flags = O_RDWR | O_CLOEXEC | (create ? O_CREAT : 0);
	int fd = open(path, flags, 0600);
	if (fd < 0 && errno == ENOENT && create) {
		char dir[4096];
		snprintf(dir, sizeof dir, "%s/%02x", st->dir, (unsigned)(id % 256));
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return -errno;
		fd = open(path, flags, 0600);
	}
	if (fd < 0 && (errno == EROFS || errno == EACCES) && !create)
		fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* The host file is created on the first write or allocation. */
static int ensure_host(struct dobj *o)
{
	if (o->fd >= 0)
		return 0;
	int fd = open_host(o->st, o->id, 1);
	if (fd < 0)
		return fd;
	o->fd = fd;
	return 0;
}

/* ------------------------------------------------------------------ */
/* The logical view, a leaf (512 blocks) at a time                    */

/* Bits of word `wi` of leaf `li` that lie below o's trunc_blk. */
static uint64_t below_trunc_mask(const struct dobj *o, uint64_t li, unsigned wi)
{
	uint64_t base = li * LEAF_BLOCKS + wi * 64u;
	if (o->trunc_blk >= base + 64)
		return ~0ull;
	if (o->trunc_blk <= base)
		return 0;
	return (1ull << (o->trunc_blk - base)) - 1;
}

/* Which blocks of leaf li hold data in o's logical view. */
static void view_leaf(const struct dobj *o, uint64_t li, uint64_t out[BMAP_LEAF_WORDS])
{
	const struct bmap_leaf *l = bmap_leaf(&o->map, li);
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
		out[i] = l ? bmap_word_get(&l->w[BMAP_DATA][i]) : 0;
	if (!o->parent)
		return;
	uint64_t inherit[BMAP_LEAF_WORDS], any = 0;
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
		uint64_t has = l ? bmap_word_get(&l->w[BMAP_HAS][i]) : 0;
		inherit[i] = ~has & below_trunc_mask(o, li, i);
		any |= inherit[i];
	}
	if (!any)
		return;
	uint64_t p[BMAP_LEAF_WORDS];
	view_leaf(o->parent, li, p);
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
		out[i] |= p[i] & inherit[i];
}

/* Smallest leaf >= li that may hold data in o's view (BMAP_NONE if none):
 * a leaf of o itself, or one of the parent's below o's trunc_blk. */
static uint64_t next_view_leaf(const struct dobj *o, uint64_t li)
{
	uint64_t best = bmap_next_leaf(&o->map, li);
	if (!o->parent)
		return best;
	uint64_t limit = o->trunc_blk == NO_TRUNC ? BMAP_NONE : div_up(o->trunc_blk, LEAF_BLOCKS);
	if (li < limit && li < best) {
		uint64_t p = next_view_leaf(o->parent, li);
		if (p < limit && p < best)
			best = p;
	}
	return best;
}

/* Bits of leaf li that fall inside blocks [b0, b1), as words. */
static void range_mask(uint64_t li, uint64_t b0, uint64_t b1, uint64_t m[BMAP_LEAF_WORDS])
{
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
		uint64_t base = li * LEAF_BLOCKS + i * 64u;
		uint64_t lo = b0 > base ? b0 - base : 0;
		uint64_t hi = b1 > base ? b1 - base : 0;
		lo = min_u64(lo, 64);
		hi = min_u64(hi, 64);
		m[i] = lo < hi ? bmap_mask((unsigned)lo, (unsigned)hi) : 0;
	}
}

/* Blocks in [b0, b1) holding data in the view. */
static uint64_t count_view(const struct dobj *o, uint64_t b0, uint64_t b1)
{
	if (b0 >= b1)
		return 0;
	if (!o->parent)
		return bmap_count(&o->map, BMAP_DATA, b0, b1 - b0);
	uint64_t total = 0;
	for (uint64_t li = next_view_leaf(o, b0 / LEAF_BLOCKS);
	     li != BMAP_NONE && li * LEAF_BLOCKS < b1; li = next_view_leaf(o, li + 1)) {
		uint64_t v[BMAP_LEAF_WORDS], m[BMAP_LEAF_WORDS];
		view_leaf(o, li, v);
		range_mask(li, b0, b1, m);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
			total += (uint64_t)__builtin_popcountll(v[i] & m[i]);
	}
	return total;
}

/* First block in [b, lim) whose view bit equals `want`, or lim. */
static uint64_t next_view_bit(const struct dobj *o, uint64_t b, uint64_t lim, int want)
{
	if (!o->parent)
		return want ? bmap_next_set(&o->map, BMAP_DATA, b, lim)
		            : bmap_next_clear(&o->map, BMAP_DATA, b, lim);
	uint64_t li = b / LEAF_BLOCKS;
	while (b < lim) {
		uint64_t nl = next_view_leaf(o, li);
		if (nl != li) {
			/* Leaf li holds nothing in any visible layer. */
			if (!want)
				return b;
			if (nl == BMAP_NONE)
				return lim;
			li = nl;
			b = max_u64(b, li * LEAF_BLOCKS);
			continue;
		}
		uint64_t v[BMAP_LEAF_WORDS], m[BMAP_LEAF_WORDS];
		view_leaf(o, li, v);
		range_mask(li, b, lim, m);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
			uint64_t w = (want ? v[i] : ~v[i]) & m[i];
			if (w)
				return li * LEAF_BLOCKS + i * 64u + (unsigned)__builtin_ctzll(w);
		}
		li++;
		b = max_u64(b, li * LEAF_BLOCKS);
	}
	return lim;
}

/* Whether block b holds data in the view: walk down to the defining layer. */
static int view_has_data(const struct dobj *o, uint64_t b)
{
	for (; o; o = o->parent) {
		if (bmap_test(&o->map, BMAP_HAS, b))
			return bmap_test(&o->map, BMAP_DATA, b);
		if (b >= o->trunc_blk)
			return 0;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading: destinations are request-relative positions in an iovec   */

struct dest {
	const struct iovec *iov;
	int cnt;
};

/* Describe bytes [pos, pos+len) of the destination as at most `max`
 * iovecs; returns their count and sets *got to the bytes covered. */
static int dest_slice(const struct dest *d, size_t pos, size_t len, struct iovec *out, int max,
                      size_t *got)
{
	int n = 0, i = 0;
	*got = 0;
	while (i < d->cnt && pos >= d->iov[i].iov_len)
		pos -= d->iov[i++].iov_len;
	for (; i < d->cnt && len && n < max; i++, pos = 0) {
		size_t take = min_u64(d->iov[i].iov_len - pos, len);
		if (!take)
			continue;
		out[n].iov_base = (char *)d->iov[i].iov_base + pos;
		out[n++].iov_len = take;
		len -= take;
		*got += take;
	}
	return n;
}

static void dest_zero(const struct dest *d, size_t pos, size_t len)
{
	while (len) {
		struct iovec part[SLICE_IOV];
		size_t got;
		int n = dest_slice(d, pos, len, part, SLICE_IOV, &got);
		if (!n)
			return;
		for (int i = 0; i < n; i++)
			memset(part[i].iov_base, 0, part[i].iov_len);
		pos += got;
		len -= got;
	}
}

/* Host bytes [fileoff, fileoff+len) of layer o into the destination;
 * whatever lies past the host file's end reads as zeros. */
static int host_read(const struct dobj *o, const struct dest *d, size_t pos, size_t len,
                     uint64_t fileoff)
{
	if (o->fd < 0) {
		dest_zero(d, pos, len);
		return 0;
	}
	while (len) {
		struct iovec part[SLICE_IOV];
		size_t got;
		int n = dest_slice(d, pos, len, part, SLICE_IOV, &got);
		if (!n)
			return -EINVAL;
		ssize_t r = n == 1 ? uring_pread(o->fd, part[0].iov_base, part[0].iov_len, (off_t)fileoff)
		                   : uring_preadv(o->fd, part, n, (off_t)fileoff);
		if (r < 0)
			return (int)r;
		if ((size_t)r < got) {
			dest_zero(d, pos + (size_t)r, len - (size_t)r);
			return 0;
		}
		pos += got;
		len -= got;
		fileoff += got;
	}
	return 0;
}

/* Bytes [a, e) of the view, rooted at request offset `base`, for a layer
 * with no parent: one host read for the whole range, then the blocks the
 * map says hold no data are zeroed (so host bytes the map does not own,
 * e.g. left by a crash before a flush, are never shown). */
static int flat_read(const struct dobj *o, const struct dest *d, uint64_t base, uint64_t a,
                     uint64_t e)
{
	uint64_t b = a / BS, lim = div_up(e, BS);
	if (bmap_next_set(&o->map, BMAP_DATA, b, lim) == lim) {
		dest_zero(d, a - base, e - a);
		return 0;
	}
	int r = host_read(o, d, a - base, e - a, a);
	if (r < 0)
		return r;
	while (b < lim) {
		uint64_t hole = bmap_next_clear(&o->map, BMAP_DATA, b, lim);
		if (hole == lim)
			break;
		uint64_t next = bmap_next_set(&o->map, BMAP_DATA, hole, lim);
		uint64_t za = max_u64(a, hole * BS), ze = min_u64(e, next * BS);
		dest_zero(d, za - base, ze - za);
		b = next;
	}
	return 0;
}

/* Bytes [a, e) of o's view. Runs are maximal within this layer, so each
 * contiguous stretch this layer owns is one host read and each stretch it
 * inherits is one request to the parent. */
static int view_read(const struct dobj *o, const struct dest *d, uint64_t base, uint64_t a,
                     uint64_t e)
{
	if (!o->parent)
		return flat_read(o, d, base, a, e);
	uint64_t lim = div_up(e, BS);
	while (a < e) {
		uint64_t b = a / BS, run;
		int r = 0;
		enum { FROM_SELF, ZEROS, FROM_PARENT } src;
		if (bmap_test(&o->map, BMAP_HAS, b)) {
			if (bmap_test(&o->map, BMAP_DATA, b)) {
				src = FROM_SELF;
				run = bmap_next_clear(&o->map, BMAP_DATA, b, lim);
			} else {
				src = ZEROS;
				run = min_u64(bmap_next_clear(&o->map, BMAP_HAS, b, lim),
				              bmap_next_set(&o->map, BMAP_DATA, b, lim));
			}
		} else {
			run = bmap_next_set(&o->map, BMAP_HAS, b, lim);
			if (b >= o->trunc_blk) {
				src = ZEROS;
			} else {
				src = FROM_PARENT;
				run = min_u64(run, o->trunc_blk);
			}
		}
		uint64_t stop = min_u64(e, run * BS);
		if (src == FROM_SELF)
			r = host_read(o, d, a - base, stop - a, a);
		else if (src == ZEROS)
			dest_zero(d, a - base, stop - a);
		else
			r = view_read(o->parent, d, base, a, stop);
		if (r < 0)
			return r;
		a = stop;
	}
	return 0;
}

ssize_t store_readv(struct dobj *o, const struct iovec *iov, int iovcnt, uint64_t off)
{
	struct dest d = { iov, iovcnt };
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (!len)
		return 0;
	if (off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	int r = view_read(o, &d, off, off, off + len);
	return r < 0 ? r : (ssize_t)len;
}

ssize_t store_read(struct dobj *o, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	return store_readv(o, &iov, 1, off);
}

/* The current view of block b, whole. */
static int read_block(const struct dobj *o, uint64_t b, uint8_t *buf)
{
	struct iovec iov = { buf, BS };
	struct dest d = { &iov, 1 };
	return view_read(o, &d, b * BS, b * BS, (b + 1) * BS);
}

/* ------------------------------------------------------------------ */
/* Map changes                                                        */

static int reserve_leaves(struct dobj *o, uint64_t b0, uint64_t n)
{
	pthread_mutex_lock(&o->maplock);
	int r = bmap_reserve(&o->map, b0, n);
	pthread_mutex_unlock(&o->maplock);
	return r;
}

/* Leaves must be reserved: cannot fail. */
static void mark_data(struct dobj *o, uint64_t b0, uint64_t n)
{
	bmap_set(&o->map, BMAP_HAS, b0, n);
	bmap_set(&o->map, BMAP_DATA, b0, n);
}

static int writable(const struct dobj *o)
{
	return refs_of(o) > 1 ? -EROFS : 0;
}

/* Zero bytes [lo, hi) of block b in the view. A block this layer owns is
 * zeroed in place; one inherited with data is copied up (the whole block,
 * as a newly defined block must be); one reading as zeros is left alone. */
static int zero_partial(struct dobj *o, uint64_t b, unsigned lo, unsigned hi)
{
	if (bmap_test(&o->map, BMAP_DATA, b)) {
		if (o->fd < 0)
			return 0; /* host file never written: reads zeros already */
		ssize_t w = uring_pwrite(o->fd, zero_block, hi - lo, (off_t)(b * BS + lo));
		return w < 0 ? (int)w : (w == (ssize_t)(hi - lo) ? 0 : -EIO);
	}
	if (!view_has_data(o, b))
		return 0;
	uint8_t buf[STORE_BLOCK];
	int r = read_block(o, b, buf);
	if (r < 0)
		return r;
	memset(buf + lo, 0, hi - lo);
	if ((r = reserve_leaves(o, b, 1)) < 0 || (r = ensure_host(o)) < 0)
		return r;
	ssize_t w = uring_pwrite(o->fd, buf, BS, (off_t)(b * BS));
	if (w != (ssize_t)BS)
		return w < 0 ? (int)w : -EIO;
	mark_data(o, b, 1);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writing                                                            */

struct edge {
	uint64_t blk;   /* BMAP_NONE if the edge is block-aligned */
	int fill;       /* newly defined: the rest of the block comes from the view */
	uint8_t buf[STORE_BLOCK];
};

static int prepare_edge(struct dobj *o, struct edge *e, uint64_t blk)
{
	e->blk = blk;
	e->fill = blk != BMAP_NONE && !bmap_test(&o->map, BMAP_DATA, blk);
	return e->fill ? read_block(o, blk, e->buf) : 0;
}

ssize_t store_write(struct dobj *o, const void *buf, size_t len, uint64_t off, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	if (r < 0)
		return r;
	if (!len)
		return 0;
	if (off > STORE_MAX_SIZE || len > STORE_MAX_SIZE - off)
		return -EFBIG;
	uint64_t end = off + len, b0 = off / BS, b1 = div_up(end, BS), n = b1 - b0;
	uint64_t added = n - count_view(o, b0, b1);
	if ((r = reserve_leaves(o, b0, n)) < 0 || (r = ensure_host(o)) < 0)
		return r;

	struct edge head, tail;
	if ((r = prepare_edge(o, &head, off % BS ? b0 : BMAP_NONE)) < 0)
		return r;
	uint64_t tail_blk = end % BS ? b1 - 1 : BMAP_NONE;
	if (tail_blk == head.blk)
		tail_blk = BMAP_NONE; /* one block holds both edges: head handles it */
	if ((r = prepare_edge(o, &tail, tail_blk)) < 0)
		return r;

	ssize_t w;
	size_t want;
	if (head.fill && head.blk == b1 - 1 && end % BS) {
		/* Both edges in one newly defined block: merge into it. */
		memcpy(head.buf + off % BS, buf, len);
		want = BS;
		w = uring_pwrite(o->fd, head.buf, BS, (off_t)(b0 * BS));
	} else {
		struct iovec iov[3];
		int k = 0;
		uint64_t start = off;
		if (head.fill) {
			iov[k++] = (struct iovec){ head.buf, off % BS };
			start = b0 * BS;
		}
		iov[k++] = (struct iovec){ (void *)buf, len };
		if (tail.fill)
			iov[k++] = (struct iovec){ tail.buf + end % BS, BS - end % BS };
		want = 0;
		for (int i = 0; i < k; i++)
			want += iov[i].iov_len;
		w = k == 1 ? uring_pwrite(o->fd, buf, len, (off_t)start)
		           : uring_pwritev(o->fd, iov, k, (off_t)start);
	}
	if (w < 0)
		return w;
	/* uring resubmits short writes until one fails: a short total is the
	 * host filesystem running out of space. */
	if ((size_t)w != want)
		return -ENOSPC;
	mark_data(o, b0, n);
	nview_add(o, (int64_t)added);
	*delta = (int64_t)added;
	return (ssize_t)len;
}

/* ------------------------------------------------------------------ */
/* Punching                                                           */

/* Whole blocks [b0, b1) of a layered object become whiteouts where the
 * parent would show data, and undefined elsewhere (which reads the same
 * zeros without growing the map). With apply == 0 only the leaves needed
 * for the whiteouts are allocated (the step that can fail). */
static int whiteout_pass(struct dobj *o, uint64_t b0, uint64_t b1, int apply)
{
	uint64_t lim = min_u64(b1, o->trunc_blk);
	for (uint64_t li = next_view_leaf(o->parent, b0 / LEAF_BLOCKS);
	     li != BMAP_NONE && li * LEAF_BLOCKS < lim; li = next_view_leaf(o->parent, li + 1)) {
		uint64_t pv[BMAP_LEAF_WORDS], m[BMAP_LEAF_WORDS], any = 0;
		view_leaf(o->parent, li, pv);
		range_mask(li, b0, lim, m);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
			any |= pv[i] &= m[i];
		if (!any)
			continue;
		if (!apply) {
			pthread_mutex_lock(&o->maplock);
			struct bmap_leaf *l = bmap_leaf_make(&o->map, li);
			pthread_mutex_unlock(&o->maplock);
			if (!l)
				return -ENOMEM;
			continue;
		}
		struct bmap_leaf *l = bmap_leaf(&o->map, li);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
			bmap_word_put(&l->w[BMAP_HAS][i], bmap_word_get(&l->w[BMAP_HAS][i]) | pv[i]);
		bmap_leaf_touch(&o->map, l);
	}
	return 0;
}

/* Whiteout leaves must be reserved (whiteout_pass(..., 0)). */
static int punch_whole(struct dobj *o, uint64_t b0, uint64_t b1)
{
	if (o->fd >= 0) {
		int r = uring_fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(b0 * BS),
		                    (off_t)((b1 - b0) * BS));
		if (r < 0)
			return r;
	}
	bmap_clear(&o->map, BMAP_HAS, b0, b1 - b0);
	bmap_clear(&o->map, BMAP_DATA, b0, b1 - b0);
	if (o->parent)
		whiteout_pass(o, b0, b1, 1);
	return 0;
}

int store_punch(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	if (r < 0)
		return r;
	/* Nothing is ever stored at or past STORE_MAX_SIZE. */
	if (!len || off >= STORE_MAX_SIZE)
		return 0;
	uint64_t end = len > STORE_MAX_SIZE - off ? STORE_MAX_SIZE : off + len;
	uint64_t w0 = div_up(off, BS), w1 = end / BS;
	if (w0 > w1) /* inside one block */
		return zero_partial(o, off / BS, (unsigned)(off % BS), (unsigned)(end % BS));
	uint64_t removed = count_view(o, w0, w1);
	if (w1 > w0 && o->parent && (r = whiteout_pass(o, w0, w1, 0)) < 0)
		return r;
	if (off % BS && (r = zero_partial(o, off / BS, (unsigned)(off % BS), BS)) < 0)
		return r;
	if (end % BS && (r = zero_partial(o, end / BS, 0, (unsigned)(end % BS))) < 0)
		return r;
	if (w1 > w0 && (r = punch_whole(o, w0, w1)) < 0)
		return r;
	nview_add(o, -(int64_t)removed);
	*delta = -(int64_t)removed;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Allocating                                                         */

struct run {
	uint64_t b, n;
};

/* Host blocks that read as zeros and are allocated. ZERO_RANGE does both in
 * one call and also clears any bytes a crash left in the range; filesystems
 * without it get a punch followed by a plain allocation. */
static int host_zero_alloc(int fd, uint64_t b, uint64_t n)
{
	off_t o = (off_t)(b * BS), l = (off_t)(n * BS);
	int r = uring_fallocate(fd, FALLOC_FL_ZERO_RANGE, o, l);
	if (r != -EOPNOTSUPP && r != -EINVAL)
		return r;
	r = uring_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, o, l);
	return r < 0 ? r : uring_fallocate(fd, 0, o, l);
}

/* The stretches of [b0, b1) that hold no data in the view. */
static int absent_runs(const struct dobj *o, uint64_t b0, uint64_t b1, struct run **out, size_t *nout)
{
	struct run *runs = NULL;
	size_t n = 0, cap = 0;
	for (uint64_t b = b0; b < b1;) {
		uint64_t s = next_view_bit(o, b, b1, 0);
		if (s >= b1)
			break;
		uint64_t e = next_view_bit(o, s, b1, 1);
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct run *nr = realloc(runs, cap * sizeof *nr);
			if (!nr) {
				free(runs);
				return -ENOMEM;
			}
			runs = nr;
		}
		runs[n++] = (struct run){ s, e - s };
		b = e;
	}
	*out = runs;
	*nout = n;
	return 0;
}

int store_allocate(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	if (r < 0)
		return r;
	if (!len)
		return 0;
	if (off > STORE_MAX_SIZE || len > STORE_MAX_SIZE - off)
		return -EFBIG;
	struct run *runs;
	size_t nruns;
	if ((r = absent_runs(o, off / BS, div_up(off + len, BS), &runs, &nruns)) < 0)
		return r;
	uint64_t added = 0;
	for (size_t i = 0; i < nruns && r == 0; i++)
		r = reserve_leaves(o, runs[i].b, runs[i].n);
	if (r == 0 && nruns)
		r = ensure_host(o);
	for (size_t i = 0; i < nruns && r == 0; i++)
		r = host_zero_alloc(o->fd, runs[i].b, runs[i].n);
	for (size_t i = 0; i < nruns && r == 0; i++) {
		mark_data(o, runs[i].b, runs[i].n);
		added += runs[i].n;
	}
	free(runs);
	if (r < 0)
		return r;
	nview_add(o, (int64_t)added);
	*delta = (int64_t)added;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Truncating                                                         */

int store_truncate(struct dobj *o, uint64_t newsize, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	if (r < 0)
		return r;
	if (newsize >= STORE_MAX_SIZE) {
		/* Nothing stored that far; only the parent needs hiding. */
		newsize = STORE_MAX_SIZE;
	}
	uint64_t nb = div_up(newsize, BS);
	uint64_t removed = count_view(o, nb, MAX_BLOCKS);
	if (newsize % BS && (r = zero_partial(o, newsize / BS, (unsigned)(newsize % BS), BS)) < 0)
		return r;
	if (o->fd >= 0) {
		struct stat sb;
		if (fstat(o->fd, &sb) == 0 && (uint64_t)sb.st_size > nb * BS &&
		    ftruncate(o->fd, (off_t)(nb * BS)) < 0)
			return -errno;
	}
	pthread_mutex_lock(&o->maplock);
	bmap_truncate(&o->map, nb);
	o->map_cut = min_u64(o->map_cut, div_up(nb, LEAF_BLOCKS));
	if (o->parent && nb < o->trunc_blk) {
		o->trunc_blk = nb;
		o->trunc_dirty = 1;
	}
	pthread_mutex_unlock(&o->maplock);
	nview_add(o, -(int64_t)removed);
	*delta = -(int64_t)removed;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Queries                                                            */

uint64_t store_id(const struct dobj *o) { return o->id; }

int store_is_shared(const struct dobj *o) { return refs_of(o) > 1; }

uint64_t store_absent_blocks(struct dobj *o, uint64_t off, uint64_t len)
{
	if (!len)
		return 0;
	uint64_t b0 = off / BS, b1 = div_up(off + len, BS);
	return b1 - b0 - count_view(o, b0, b1);
}

uint64_t store_data_blocks(struct dobj *o)
{
	int64_t v = __atomic_load_n(&o->nview, __ATOMIC_RELAXED);
	if (v < 0) {
		v = (int64_t)count_view(o, 0, MAX_BLOCKS);
		__atomic_store_n(&o->nview, v, __ATOMIC_RELAXED);
	}
	return (uint64_t)v;
}

int64_t store_seek(struct dobj *o, uint64_t off, int whence, uint64_t size)
{
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -EINVAL;
	if (off >= size)
		return -ENXIO;
	uint64_t lim = div_up(size, BS), b = off / BS;
	if (whence == SEEK_DATA) {
		uint64_t d = next_view_bit(o, b, lim, 1);
		if (d >= lim)
			return -ENXIO;
		uint64_t at = max_u64(off, d * BS);
		return at < size ? (int64_t)at : -ENXIO;
	}
	uint64_t h = next_view_bit(o, b, lim, 0);
	return h >= lim ? (int64_t)size : (int64_t)min_u64(size, max_u64(off, h * BS));
}

int store_sync(struct dobj *o)
{
	return o->fd >= 0 ? uring_fsync(o->fd, 1) : 0;
}

/* ------------------------------------------------------------------ */
/* The db side: rows, flushing, loading                               */

/* Work done outside the caller's change (see db_begin in meta/db.h) is a
 * change of its own, so that it is atomic; inside one it just joins it. */
static int txn_open(struct db *db, int *mine)
{
	*mine = !db->in_txn;
	return *mine ? db_begin(db) : 0;
}

static int txn_close(struct db *db, int mine, int r)
{
	if (!mine)
		return r;
	if (r < 0) {
		db_rollback(db);
		return r;
	}
	return db_commit(db);
}

static int row_exists(struct db *db, uint64_t id)
{
	sqlite3_stmt *s = db_prep(db, "SELECT 1 FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int r = sqlite3_step(s) == SQLITE_ROW;
	db_finish(s);
	return r;
}

static int step_reset(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -EIO;
}

static int flush_trunc(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "UPDATE dataobjs SET trunc_blk = ? WHERE id = ?");
	if (o->trunc_blk == NO_TRUNC)
		sqlite3_bind_null(s, 1);
	else
		sqlite3_bind_int64(s, 1, (int64_t)o->trunc_blk);
	sqlite3_bind_int64(s, 2, (int64_t)o->id);
	return db_step_done(db, s);
}

static int flush_cut(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "DELETE FROM objmap WHERE obj = ? AND leaf >= ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	sqlite3_bind_int64(s, 2, (int64_t)o->map_cut);
	return db_step_done(db, s);
}

/* Rows for dirty leaves; an emptied leaf loses its row. */
static int flush_leaves(struct db *db, struct dobj *o)
{
	if (!__atomic_exchange_n(&o->map.dirty, 0, __ATOMIC_ACQ_REL))
		return 0;
	sqlite3_stmt *up = db_prep(db, "INSERT OR REPLACE INTO objmap(obj, leaf, has, data) "
	                               "VALUES(?, ?, ?, ?)");
	sqlite3_stmt *del = db_prep(db, "DELETE FROM objmap WHERE obj = ? AND leaf = ?");
	int r = 0;
	for (uint64_t li = bmap_next_leaf(&o->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&o->map, li + 1)) {
		struct bmap_leaf *l = bmap_leaf(&o->map, li);
		if (!bmap_leaf_take_dirty(l))
			continue;
		uint8_t has[BMAP_LEAF_BYTES], data[BMAP_LEAF_BYTES];
		bmap_leaf_save(l, BMAP_HAS, has);
		bmap_leaf_save(l, BMAP_DATA, data);
		static const uint8_t none[BMAP_LEAF_BYTES];
		int empty = !memcmp(has, none, sizeof has) && !memcmp(data, none, sizeof data);
		sqlite3_stmt *s = empty ? del : up;
		sqlite3_bind_int64(s, 1, (int64_t)o->id);
		sqlite3_bind_int64(s, 2, (int64_t)li);
		if (!empty) {
			sqlite3_bind_blob(s, 3, has, sizeof has, SQLITE_TRANSIENT);
			sqlite3_bind_blob(s, 4, data, sizeof data, SQLITE_TRANSIENT);
		}
		if ((r = step_reset(s)) < 0) {
			bmap_leaf_touch(&o->map, l); /* retry next time */
			break;
		}
	}
	db_finish(up);
	db_finish(del);
	if (r < 0)
		__atomic_store_n(&o->map.dirty, 1, __ATOMIC_RELEASE);
	return r;
}

static void forget_changes(struct dobj *o)
{
	__atomic_store_n(&o->map.dirty, 0, __ATOMIC_RELEASE);
	o->trunc_dirty = 0;
	o->map_cut = BMAP_NONE;
}

static int flush_locked(struct db *db, struct dobj *o)
{
	int r = 0;
	if (o->trunc_dirty && (r = flush_trunc(db, o)) == 0)
		o->trunc_dirty = 0;
	if (r == 0 && o->map_cut != BMAP_NONE && (r = flush_cut(db, o)) == 0)
		o->map_cut = BMAP_NONE;
	return r < 0 ? r : flush_leaves(db, o);
}

static int flush_one(struct db *db, struct dobj *o)
{
	if (!obj_dirty(o))
		return 0;
	int r = 0;
	pthread_mutex_lock(&o->maplock);
	if (!row_exists(db, o->id))
		forget_changes(o); /* deleted: its rows must not come back */
	else
		r = flush_locked(db, o);
	pthread_mutex_unlock(&o->maplock);
	return r;
}

/* Ancestors are flushed too: a layer written before it became shared may
 * still be dirty, and the object's view depends on it. */
int store_flush(struct store *st, struct dobj *o)
{
	struct dobj *a = o;
	while (a && !obj_dirty(a))
		a = a->parent;
	if (!a)
		return 0;
	int mine, r = txn_open(st->db, &mine);
	for (; a && r == 0; a = a->parent)
		r = flush_one(st->db, a);
	return txn_close(st->db, mine, r);
}

int store_flush_all(struct store *st)
{
	int mine, r = txn_open(st->db, &mine);
	if (r < 0)
		return r;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nbuckets && r == 0; i++)
		for (struct dobj *o = st->buckets[i]; o && r == 0; o = o->hnext)
			r = flush_one(st->db, o);
	pthread_mutex_unlock(&st->lock);
	return txn_close(st->db, mine, r);
}

static struct dobj *obj_new(struct store *st, uint64_t id)
{
	struct dobj *o = calloc(1, sizeof *o);
	if (!o)
		return NULL;
	o->st = st;
	o->id = id;
	o->trunc_blk = NO_TRUNC;
	o->map_cut = BMAP_NONE;
	o->fd = -1;
	o->nview = -1;
	bmap_init(&o->map);
	pthread_mutex_init(&o->maplock, NULL);
	return o;
}

static void obj_free(struct dobj *o)
{
	if (o->fd >= 0)
		close(o->fd);
	bmap_free(&o->map);
	pthread_mutex_destroy(&o->maplock);
	free(o);
}

static int load_map(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "SELECT leaf, has, data FROM objmap WHERE obj = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	int rc, r = 0;
	while (r == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t leaf = sqlite3_column_int64(s, 0);
		if (leaf < 0) {
			r = -EIO;
			break;
		}
		r = bmap_leaf_load(&o->map, (uint64_t)leaf, sqlite3_column_blob(s, 1),
		                   (size_t)sqlite3_column_bytes(s, 1), sqlite3_column_blob(s, 2),
		                   (size_t)sqlite3_column_bytes(s, 2));
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = -EIO;
	db_finish(s);
	return r;
}

/* o's row (parent, refs, trunc_blk) and map rows. 0 or -ENOENT / -EIO /
 * -ENOMEM. db locked. */
static int read_row(struct db *db, struct dobj *o)
{
	sqlite3_stmt *s = db_prep(db, "SELECT parent, refs, trunc_blk FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)o->id);
	int r = -ENOENT;
	if (sqlite3_step(s) == SQLITE_ROW) {
		o->parent_id = (uint64_t)sqlite3_column_int64(s, 0);
		o->refs = sqlite3_column_int64(s, 1);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			o->trunc_blk = (uint64_t)sqlite3_column_int64(s, 2);
		r = 0;
	}
	db_finish(s);
	return r == 0 ? load_map(db, o) : r;
}

/* One object from its row and map rows, without its parent. */
static struct dobj *load_one(struct store *st, uint64_t id, int *err)
{
	struct dobj *o = obj_new(st, id);
	if (!o) {
		*err = ENOMEM;
		return NULL;
	}
	db_lock(st->db);
	int r = read_row(st->db, o);
	db_unlock(st->db);
	if (r == 0) {
		int fd = open_host(st, id, 0);
		if (fd >= 0)
			o->fd = fd;
		else if (fd != -ENOENT)
			r = fd;
	}
	if (r < 0) {
		obj_free(o);
		*err = -r;
		return NULL;
	}
	return o;
}

/* ------------------------------------------------------------------ */
/* The cache                                                          */

static size_t bucket_of(const struct store *st, uint64_t id)
{
	return (size_t)((id * 0x9E3779B97F4A7C15ull) >> 32) & (st->nbuckets - 1);
}

static struct dobj *cache_find(struct store *st, uint64_t id)
{
	for (struct dobj *o = st->buckets[bucket_of(st, id)]; o; o = o->hnext)
		if (o->id == id)
			return o;
	return NULL;
}

static void cache_grow(struct store *st)
{
	size_t n = st->nbuckets * 2;
	struct dobj **nb = calloc(n, sizeof *nb);
	if (!nb)
		return; /* longer chains, still correct */
	struct dobj **old = st->buckets;
	size_t oldn = st->nbuckets;
	st->buckets = nb;
	st->nbuckets = n;
	for (size_t i = 0; i < oldn; i++)
		for (struct dobj *o = old[i], *next; o; o = next) {
			next = o->hnext;
			size_t b = bucket_of(st, o->id);
			o->hnext = nb[b];
			nb[b] = o;
		}
	free(old);
}

static void cache_insert(struct store *st, struct dobj *o)
{
	if (st->count >= st->nbuckets * 2)
		cache_grow(st);
	size_t b = bucket_of(st, o->id);
	o->hnext = st->buckets[b];
	st->buckets[b] = o;
	st->count++;
}

static void cache_remove(struct store *st, struct dobj *o)
{
	for (struct dobj **p = &st->buckets[bucket_of(st, o->id)]; *p; p = &(*p)->hnext)
		if (*p == o) {
			*p = o->hnext;
			st->count--;
			return;
		}
}

static void lru_unlink(struct store *st, struct dobj *o)
{
	if (o->lru_prev)
		o->lru_prev->lru_next = o->lru_next;
	else
		st->lru_head = o->lru_next;
	if (o->lru_next)
		o->lru_next->lru_prev = o->lru_prev;
	else
		st->lru_tail = o->lru_prev;
	o->lru_prev = o->lru_next = NULL;
	st->nlru--;
}

static void lru_push(struct store *st, struct dobj *o)
{
	o->lru_next = NULL;
	o->lru_prev = st->lru_tail;
	if (st->lru_tail)
		st->lru_tail->lru_next = o;
	else
		st->lru_head = o;
	st->lru_tail = o;
	st->nlru++;
}

/* Take a pin; an unpinned object leaves the LRU. st->lock held. */
static void pin(struct store *st, struct dobj *o)
{
	if (o->pins++ == 0)
		lru_unlink(st, o);
}

static struct dobj *find_pinned(struct store *st, uint64_t id)
{
	pthread_mutex_lock(&st->lock);
	struct dobj *o = cache_find(st, id);
	if (o)
		pin(st, o);
	pthread_mutex_unlock(&st->lock);
	return o;
}

/* Load id and whichever ancestors are not in memory yet (load_lock held).
 * chain[0] is id; each loaded object pins the next one up. */
static struct dobj *load_chain(struct store *st, uint64_t id)
{
	struct dobj **chain = NULL, *hit = NULL;
	size_t n = 0, cap = 0;
	int err = 0;
	for (uint64_t cur = id; cur;) {
		if ((hit = find_pinned(st, cur)))
			break;
		if (n == MAX_CHAIN) {
			err = ELOOP;
			break;
		}
		struct dobj *o = NULL;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			struct dobj **nc = realloc(chain, cap * sizeof *nc);
			if (nc)
				chain = nc;
			else
				err = ENOMEM;
		}
		if (!err)
			o = load_one(st, cur, &err);
		if (!o)
			break;
		chain[n++] = o;
		cur = o->parent_id;
	}
	if (err) {
		for (size_t i = 0; i < n; i++)
			obj_free(chain[i]);
		free(chain);
		if (hit)
			store_put(st, hit);
		errno = err;
		return NULL;
	}
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < n; i++) {
		chain[i]->parent = i + 1 < n ? chain[i + 1] : hit;
		chain[i]->pins = 1;
		cache_insert(st, chain[i]);
	}
	pthread_mutex_unlock(&st->lock);
	struct dobj *top = n ? chain[0] : hit;
	free(chain);
	return top;
}

struct dobj *store_get(struct store *st, uint64_t id)
{
	if (!id) {
		errno = EINVAL;
		return NULL;
	}
	struct dobj *o = find_pinned(st, id);
	if (o)
		return o;
	pthread_mutex_lock(&st->load_lock);
	o = load_chain(st, id);
	pthread_mutex_unlock(&st->load_lock);
	return o;
}

/* Drop the last pin of o (st->lock held): keep it on the LRU, or return the
 * objects to free now (o itself if deleted, else LRU overflow). The caller
 * frees the returned list (linked through lru_next) after unlocking. */
static struct dobj *release_locked(struct store *st, struct dobj *o)
{
	struct dobj *dead = NULL;
	if (refs_of(o) <= 0) {
		cache_remove(st, o);
		o->lru_next = NULL;
		return o;
	}
	lru_push(st, o);
	for (struct dobj *v = st->lru_head; st->nlru > LRU_MAX && v;) {
		struct dobj *next = v->lru_next;
		if (!obj_dirty(v)) { /* a failed flush keeps it until it succeeds */
			lru_unlink(st, v);
			cache_remove(st, v);
			v->lru_next = dead;
			dead = v;
		}
		v = next;
	}
	return dead;
}

void store_put(struct store *st, struct dobj *o)
{
	while (o) {
		pthread_mutex_lock(&st->lock);
		if (o->pins == 1 && obj_dirty(o) && refs_of(o) > 0) {
			/* Flush while still pinned, so nobody can drop it meanwhile. */
			pthread_mutex_unlock(&st->lock);
			db_lock(st->db);
			store_flush(st, o);
			db_unlock(st->db);
			pthread_mutex_lock(&st->lock);
		}
		if (--o->pins > 0) {
			pthread_mutex_unlock(&st->lock);
			return;
		}
		struct dobj *dead = release_locked(st, o);
		pthread_mutex_unlock(&st->lock);
		o = NULL;
		/* Freeing an object releases its pin on its parent. */
		while (dead) {
			struct dobj *next = dead->lru_next;
			struct dobj *parent = dead->parent;
			obj_free(dead);
			if (parent && !o)
				o = parent;
			else if (parent)
				store_put(st, parent);
			dead = next;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Rows and references                                                */

static int insert_row(struct store *st, uint64_t parent, uint64_t *id_out)
{
	sqlite3_stmt *s = db_prep(st->db, "INSERT INTO dataobjs(parent, refs, trunc_blk) "
	                                  "VALUES(?, 1, NULL)");
	if (parent)
		sqlite3_bind_int64(s, 1, (int64_t)parent);
	else
		sqlite3_bind_null(s, 1);
	int r = db_step_done(st->db, s);
	if (r < 0)
		return r;
	*id_out = (uint64_t)sqlite3_last_insert_rowid(st->db->h);
	/* An id can be handed out again after a rolled-back transaction that
	 * already created its host file: start from nothing. */
	char path[4096];
	store_path(st, *id_out, path, sizeof path);
	unlink(path);
	return 0;
}

int store_create(struct store *st, uint64_t parent, uint64_t *id_out)
{
	int r = insert_row(st, parent, id_out);
	if (r == 0 && parent)
		r = store_ref(st, parent, 1);
	return r;
}

int store_cow(struct store *st, struct dobj **op)
{
	struct dobj *o = *op;
	if (!store_is_shared(o))
		return 0;
	struct dobj *c = obj_new(st, 0);
	if (!c)
		return -ENOMEM;
	/* The inode's reference moves from o to the child, and the child
	 * references o: o's refs stay as they are. */
	db_lock(st->db);
	int mine, r = txn_open(st->db, &mine);
	if (r == 0)
		r = txn_close(st->db, mine, insert_row(st, o->id, &c->id));
	db_unlock(st->db);
	if (r < 0) {
		obj_free(c);
		return r;
	}
	c->parent_id = o->id;
	c->parent = o; /* the caller's pin on o becomes the child's */
	c->refs = 1;
	c->nview = __atomic_load_n(&o->nview, __ATOMIC_RELAXED);
	c->pins = 1;
	pthread_mutex_lock(&st->lock);
	cache_insert(st, c);
	pthread_mutex_unlock(&st->lock);
	*op = c;
	return 1;
}

/* Called when refs fall to 1: see "Trimming unreachable blocks" below. */
static void trim_unreachable(struct store *st, uint64_t id);

static void queue_reap(struct store *st, uint64_t id)
{
	if (st->nreap == st->capreap) {
		size_t cap = st->capreap ? st->capreap * 2 : 16;
		uint64_t *n = realloc(st->reap, cap * sizeof *n);
		if (!n)
			return; /* the file stays; store_check reports it */
		st->reap = n;
		st->capreap = cap;
	}
	st->reap[st->nreap++] = id;
}

static int delete_rows(struct store *st, uint64_t id)
{
	sqlite3_stmt *s = db_prep(st->db, "DELETE FROM objmap WHERE obj = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int r = db_step_done(st->db, s);
	if (r < 0)
		return r;
	s = db_prep(st->db, "DELETE FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	return db_step_done(st->db, s);
}

/* refs += delta for one row; *refs and *parent get the new values. */
static int add_refs(struct store *st, uint64_t id, int delta, int64_t *refs, uint64_t *parent)
{
	sqlite3_stmt *s = db_prep(st->db, "UPDATE dataobjs SET refs = refs + ? WHERE id = ? "
	                                  "RETURNING refs, parent");
	sqlite3_bind_int(s, 1, delta);
	sqlite3_bind_int64(s, 2, (int64_t)id);
	int rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*refs = sqlite3_column_int64(s, 0);
		*parent = (uint64_t)sqlite3_column_int64(s, 1);
	}
	db_finish(s);
	if (rc != SQLITE_ROW)
		return rc == SQLITE_DONE ? -ENOENT : -EIO;
	pthread_mutex_lock(&st->lock);
	struct dobj *o = cache_find(st, id);
	if (o)
		set_refs(o, *refs);
	pthread_mutex_unlock(&st->lock);
	return 0;
}

int store_ref(struct store *st, uint64_t id, int delta)
{
	while (id && delta) {
		int64_t refs;
		uint64_t parent;
		int r = add_refs(st, id, delta, &refs, &parent);
		if (r < 0)
			return r;
		if (refs < 0) {
			fprintf(stderr, "volfs: object %" PRIu64 " refs went negative\n", id);
			return -EIO;
		}
		if (refs == 1)
			trim_unreachable(st, id);
		if (refs > 0)
			return 0;
		if ((r = delete_rows(st, id)) < 0)
			return r;
		pthread_mutex_lock(&st->lock);
		queue_reap(st, id);
		pthread_mutex_unlock(&st->lock);
		id = parent;
		delta = -1;
	}
	return 0;
}

static void reap_files(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	uint64_t *ids = st->reap;
	size_t n = st->nreap;
	st->reap = NULL;
	st->nreap = st->capreap = 0;
	pthread_mutex_unlock(&st->lock);
	if (!n) {
		free(ids);
		return;
	}
	/* Until the group transaction commits, a crash would bring the rows
	 * back: keep the files until then. A queued object whose change
	 * rolled back still has its row and keeps its file for good. */
	db_lock(st->db);
	int pending = st->db->group_open;
	for (size_t i = 0; i < n && !pending; i++)
		if (row_exists(st->db, ids[i]))
			ids[i] = 0;
	db_unlock(st->db);
	if (pending) {
		pthread_mutex_lock(&st->lock);
		for (size_t i = 0; i < n; i++)
			queue_reap(st, ids[i]);
		pthread_mutex_unlock(&st->lock);
		free(ids);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		char path[4096];
		store_path(st, ids[i], path, sizeof path);
		if (unlink(path) < 0 && errno != ENOENT)
			fprintf(stderr, "volfs: cannot remove %s: %s\n", path, strerror(errno));
	}
	free(ids);
}

void store_reload_refs(struct store *st)
{
	sqlite3_stmt *s = db_prep(st->db, "SELECT refs FROM dataobjs WHERE id = ?");
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i]; o; o = o->hnext) {
			sqlite3_bind_int64(s, 1, (int64_t)o->id);
			set_refs(o, sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0);
			sqlite3_reset(s);
		}
	pthread_mutex_unlock(&st->lock);
	db_finish(s);
}

/* ------------------------------------------------------------------ */
/* Trimming unreachable blocks, and what a release would free         */

/* When an object's only holder is a child layer, the blocks that child
 * shadows (has bits, or at and past its trunc_blk) can never be read again:
 * nobody reads the object except through the child. The same holds through
 * a chain of such sole holders, so the shadow of a layer is the union of
 * the shadows of every layer above it up to the first one that an inode (or
 * more than one holder) keeps. Trimming clears the shadowed bits from the
 * map inside the caller's change and queues the host ranges; store_reap()
 * punches them once the change is durable, re-checking the committed map,
 * so a rolled-back change never loses data. The same walk, without
 * changes, counts what a release would free (store_release_gain). */

/* A layer as seen by the walk: the loaded object if there is one (its map,
 * flushed or not, is the truth; its maplock is held so a writer cannot grow
 * the directory under us), else a transient copy read from the db. */
struct layer {
	struct dobj *o;
	int transient;
};

/* db locked and st->lock held (so a cached object cannot be freed). */
static int layer_get(struct store *st, uint64_t id, struct layer *l)
{
	struct dobj *o = cache_find(st, id);
	if (o) {
		pthread_mutex_lock(&o->maplock);
		*l = (struct layer){ o, 0 };
		return 0;
	}
	if (!(o = obj_new(st, id)))
		return -ENOMEM;
	int r = read_row(st->db, o);
	if (r < 0) {
		obj_free(o);
		return r;
	}
	*l = (struct layer){ o, 1 };
	return 0;
}

static void layer_put(struct layer *l)
{
	if (l->transient)
		obj_free(l->o);
	else
		pthread_mutex_unlock(&l->o->maplock);
}

static int64_t row_refs(struct db *db, uint64_t id)
{
	sqlite3_stmt *s = db_prep(db, "SELECT refs FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int64_t refs = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	db_finish(s);
	return refs;
}

/* Whether id, once it loses `drop` references (and the child `gone`, if
 * not 0, is no longer counted), is held by exactly one child layer and
 * nothing else; *child gets it. Refs rather than inode rows decide, since
 * callers drop the reference before deleting the inode row. db locked. */
static int sole_child(struct store *st, uint64_t id, int64_t drop, uint64_t gone, uint64_t *child)
{
	if (row_refs(st->db, id) - drop != 1)
		return 0;
	sqlite3_stmt *s = db_prep(st->db, "SELECT id FROM dataobjs WHERE parent = ? AND id != ? LIMIT 2");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int64(s, 2, (int64_t)gone);
	int n = 0;
	while (sqlite3_step(s) == SQLITE_ROW) {
		*child = (uint64_t)sqlite3_column_int64(s, 0);
		n++;
	}
	db_finish(s);
	return n == 1;
}

struct chain {
	struct layer *l;
	size_t n, cap;
};

static int chain_push(struct store *st, struct chain *c, uint64_t id)
{
	if (c->n == MAX_CHAIN)
		return -ELOOP;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 8;
		struct layer *nl = realloc(c->l, cap * sizeof *nl);
		if (!nl)
			return -ENOMEM;
		c->l = nl;
		c->cap = cap;
	}
	int r = layer_get(st, id, &c->l[c->n]);
	if (r == 0)
		c->n++;
	return r;
}

static void chain_free(struct chain *c)
{
	for (size_t i = c->n; i-- > 0;)
		layer_put(&c->l[i]);
	free(c->l);
}

/* The layers whose shadows hide blocks of holder's parent: holder, and
 * upward while each is held by one child only. */
static int chain_up(struct store *st, struct chain *c, uint64_t holder)
{
	for (uint64_t cur = holder, next;; cur = next) {
		int r = chain_push(st, c, cur);
		if (r < 0 || !sole_child(st, cur, 0, 0, &next))
			return r;
	}
}

/* Blocks of leaf li hidden by some layer of the chain. */
static void shadow_leaf(const struct chain *c, uint64_t li, uint64_t out[BMAP_LEAF_WORDS])
{
	memset(out, 0, BMAP_LEAF_WORDS * sizeof *out);
	for (size_t k = 0; k < c->n; k++) {
		const struct dobj *o = c->l[k].o;
		const struct bmap_leaf *l = bmap_leaf(&o->map, li);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
			out[i] |= ~below_trunc_mask(o, li, i) |
			          (l ? bmap_word_get(&l->w[BMAP_HAS][i]) : 0);
	}
}

/* Queue [b, b+n) of id for punching, merged with the previous run when
 * contiguous. st->lock held. */
static void queue_trim(struct store *st, uint64_t id, uint64_t b, uint64_t n)
{
	struct trim_run *last = st->ntrims ? &st->trims[st->ntrims - 1] : NULL;
	if (last && last->id == id && last->b + last->n == b) {
		last->n += n;
		return;
	}
	if (st->ntrims == st->captrims) {
		size_t cap = st->captrims ? st->captrims * 2 : 16;
		struct trim_run *t = realloc(st->trims, cap * sizeof *t);
		if (!t)
			return; /* the blocks stay allocated: space, not correctness */
		st->trims = t;
		st->captrims = cap;
	}
	st->trims[st->ntrims++] = (struct trim_run){ id, b, n };
}

/* Queue the set bits of one word (blocks base..base+63) as runs. */
static void queue_word(struct store *st, uint64_t id, uint64_t base, uint64_t w)
{
	while (w) {
		unsigned lo = (unsigned)__builtin_ctzll(w);
		uint64_t rest = ~(w >> lo);
		unsigned len = rest ? (unsigned)__builtin_ctzll(rest) : 64 - lo;
		queue_trim(st, id, base + lo, len);
		w &= ~bmap_mask(lo, lo + len);
	}
}

/* Data blocks of x that the chain shadows; with apply, also clear their
 * has and data bits (whiteouts there are as useless as data), queue the
 * host ranges and write the changed leaves to the db. */
static uint64_t trim_layer(struct store *st, struct dobj *x, const struct chain *c, int apply)
{
	uint64_t freed = 0;
	int changed = 0;
	for (uint64_t li = bmap_next_leaf(&x->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&x->map, li + 1)) {
		struct bmap_leaf *l = bmap_leaf(&x->map, li);
		uint64_t sh[BMAP_LEAF_WORDS], any = 0;
		shadow_leaf(c, li, sh);
		for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
			uint64_t has = bmap_word_get(&l->w[BMAP_HAS][i]);
			uint64_t data = bmap_word_get(&l->w[BMAP_DATA][i]);
			freed += (uint64_t)__builtin_popcountll(data & sh[i]);
			any |= (has | data) & sh[i];
			if (!apply || !((has | data) & sh[i]))
				continue;
			queue_word(st, x->id, li * LEAF_BLOCKS + i * 64u, data & sh[i]);
			bmap_word_put(&l->w[BMAP_HAS][i], has & ~sh[i]);
			bmap_word_put(&l->w[BMAP_DATA][i], data & ~sh[i]);
		}
		if (apply && any) {
			bmap_leaf_touch(&x->map, l);
			changed = 1;
		}
	}
	if (changed) {
		__atomic_store_n(&x->nview, -1, __ATOMIC_RELAXED);
		/* On failure the leaves stay dirty (a cached object retries at its
		 * next flush) and store_reap, seeing the data bits still
		 * committed, leaves the host blocks alone. */
		flush_locked(st->db, x);
	}
	return freed;
}

/* Trim (apply) or count the blocks of id made unreachable by its sole
 * holder `holder`, then of each ancestor held only by the layer below it
 * (their shadows add up). db locked, st->lock held. */
static uint64_t trim_down(struct store *st, uint64_t id, uint64_t holder, int apply)
{
	struct chain c = { 0 };
	uint64_t freed = 0, next;
	if (chain_up(st, &c, holder) < 0)
		goto out;
	for (uint64_t cur = id;; cur = next) {
		if (chain_push(st, &c, cur) < 0)
			break;
		/* x joins the chain for its ancestors, not for itself. */
		struct dobj *x = c.l[c.n - 1].o;
		struct chain above = { c.l, c.n - 1, c.cap };
		freed += trim_layer(st, x, &above, apply);
		uint64_t only;
		next = x->parent_id;
		if (!next || !sole_child(st, next, 0, 0, &only) || only != cur)
			break;
	}
out:
	chain_free(&c);
	return freed;
}

static void trim_unreachable(struct store *st, uint64_t id)
{
	uint64_t child;
	if (!sole_child(st, id, 0, 0, &child))
		return;
	pthread_mutex_lock(&st->lock);
	trim_down(st, id, child, 1);
	pthread_mutex_unlock(&st->lock);
}

/* Data blocks in id's own layer. */
static uint64_t own_data(struct store *st, uint64_t id, uint64_t *parent)
{
	struct layer l;
	*parent = 0;
	if (layer_get(st, id, &l) < 0)
		return 0;
	uint64_t n = bmap_count(&l.o->map, BMAP_DATA, 0, MAX_BLOCKS);
	*parent = l.o->parent_id;
	layer_put(&l);
	return n;
}

uint64_t store_own_blocks(struct store *st, uint64_t id, uint64_t *parent)
{
	pthread_mutex_lock(&st->lock);
	uint64_t n = own_data(st, id, parent);
	pthread_mutex_unlock(&st->lock);
	return n;
}

uint64_t store_release_gain(struct store *st, uint64_t id)
{
	uint64_t freed = 0, gone = 0, child;
	pthread_mutex_lock(&st->lock);
	for (size_t depth = 0; id && depth < MAX_CHAIN; depth++) {
		int64_t refs = row_refs(st->db, id);
		if (refs == 1) { /* deleted: its data, then its parent loses a child */
			uint64_t parent;
			freed += own_data(st, id, &parent);
			gone = id;
			id = parent;
			continue;
		}
		if (refs > 1 && sole_child(st, id, 1, gone, &child))
			freed += trim_down(st, id, child, 0);
		break;
	}
	pthread_mutex_unlock(&st->lock);
	return freed;
}

/* After a rollback brought trimmed bits back in the db, put them back in a
 * cached copy too (its map must not claim less than the db). Both maps are
 * the same object's: copy every stored leaf that differs. maplock held. */
static void resync_map(struct dobj *o, const struct dobj *db_copy)
{
	for (uint64_t li = bmap_next_leaf(&db_copy->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&db_copy->map, li + 1)) {
		const struct bmap_leaf *src = bmap_leaf(&db_copy->map, li);
		struct bmap_leaf *dst = bmap_leaf_make(&o->map, li);
		if (!dst)
			return;
		for (int k = 0; k < 2; k++)
			for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++)
				bmap_word_put(&dst->w[k][i], bmap_word_get(&dst->w[k][i]) |
				                                     bmap_word_get(&src->w[k][i]));
	}
	__atomic_store_n(&o->nview, -1, __ATOMIC_RELAXED);
}

/* Punch the queued runs of one object [t, end) where the committed map
 * holds no data. db locked. */
static void punch_runs(struct store *st, const struct trim_run *t, const struct trim_run *end)
{
	struct dobj *d = obj_new(st, t->id);
	if (!d || read_row(st->db, d) < 0) /* deleted: reaped with its file */
		goto out;
	int fd = open_host(st, t->id, 0), stale = 0;
	for (; t < end; t++)
		for (uint64_t b = t->b, lim = t->b + t->n; b < lim;) {
			uint64_t hole = bmap_next_clear(&d->map, BMAP_DATA, b, lim);
			uint64_t next = bmap_next_set(&d->map, BMAP_DATA, hole, lim);
			stale |= hole > b;
			if (fd >= 0 && next > hole &&
			    fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(hole * BS),
			              (off_t)((next - hole) * BS)) < 0)
				fprintf(stderr, "volfs: cannot trim object %" PRIu64 ": %s\n", d->id,
				        strerror(errno));
			b = next;
		}
	if (fd >= 0)
		close(fd);
	if (stale) {
		pthread_mutex_lock(&st->lock);
		struct dobj *o = cache_find(st, d->id);
		if (o) {
			pthread_mutex_lock(&o->maplock);
			resync_map(o, d);
			pthread_mutex_unlock(&o->maplock);
		}
		pthread_mutex_unlock(&st->lock);
	}
out:
	if (d)
		obj_free(d);
}

/* Host side of committed trims; like reap_files, held back while the group
 * transaction is open. The punches run under the db lock so that an id
 * cannot be deleted and handed out again meanwhile. */
static void reap_trims(struct store *st)
{
	pthread_mutex_lock(&st->lock);
	struct trim_run *t = st->trims;
	size_t n = st->ntrims;
	st->trims = NULL;
	st->ntrims = st->captrims = 0;
	pthread_mutex_unlock(&st->lock);
	db_lock(st->db);
	if (st->db->group_open) {
		pthread_mutex_lock(&st->lock);
		for (size_t i = 0; i < n; i++)
			queue_trim(st, t[i].id, t[i].b, t[i].n);
		pthread_mutex_unlock(&st->lock);
	} else {
		for (size_t i = 0, j; i < n; i = j) {
			for (j = i + 1; j < n && t[j].id == t[i].id;)
				j++;
			punch_runs(st, t + i, t + j);
		}
	}
	db_unlock(st->db);
	free(t);
}

void store_reap(struct store *st)
{
	reap_files(st);
	reap_trims(st);
}

/* ------------------------------------------------------------------ */
/* Opening, closing                                                   */

int store_open(struct store **out, const char *state_dir, struct db *db)
{
	struct store *st = calloc(1, sizeof *st);
	if (!st)
		return -ENOMEM;
	size_t len = strlen(state_dir) + sizeof "/data";
	st->dir = malloc(len);
	st->nbuckets = 256;
	st->buckets = calloc(st->nbuckets, sizeof *st->buckets);
	if (!st->dir || !st->buckets) {
		free(st->dir);
		free(st->buckets);
		free(st);
		return -ENOMEM;
	}
	snprintf(st->dir, len, "%s/data", state_dir);
	if (mkdir(st->dir, 0700) < 0 && errno != EEXIST) {
		int e = -errno;
		free(st->dir);
		free(st->buckets);
		free(st);
		return e;
	}
	st->db = db;
	pthread_mutex_init(&st->lock, NULL);
	pthread_mutex_init(&st->load_lock, NULL);
	*out = st;
	return 0;
}

void store_close(struct store *st)
{
	if (!st)
		return;
	db_lock(st->db);
	store_flush_all(st);
	/* Nobody will commit the group after us. */
	if (!st->db->in_txn)
		db_group_commit(st->db);
	db_unlock(st->db);
	store_reap(st);
	for (size_t i = 0; i < st->nbuckets; i++)
		for (struct dobj *o = st->buckets[i], *next; o; o = next) {
			next = o->hnext;
			obj_free(o);
		}
	free(st->buckets);
	free(st->reap);
	free(st->trims);
	free(st->dir);
	pthread_mutex_destroy(&st->lock);
	pthread_mutex_destroy(&st->load_lock);
	free(st);
}

/* ------------------------------------------------------------------ */
/* Consistency check                                                  */

struct checker {
	void (*report)(void *arg, const char *msg);
	void *arg;
	int problems;
};

static void problem(struct checker *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(struct checker *c, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->report(c->arg, msg);
	c->problems++;
}

static void check_refs(struct store *st, struct checker *c)
{
	sqlite3_stmt *s = db_prep(st->db,
		"SELECT d.id, d.refs, coalesce(i.n, 0) + coalesce(k.n, 0) FROM dataobjs d "
		"LEFT JOIN (SELECT obj, count(*) AS n FROM inodes WHERE obj IS NOT NULL "
		"           GROUP BY obj) i ON i.obj = d.id "
		"LEFT JOIN (SELECT parent, count(*) AS n FROM dataobjs WHERE parent IS NOT NULL "
		"           GROUP BY parent) k ON k.parent = d.id");
	while (sqlite3_step(s) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(s, 0), refs = sqlite3_column_int64(s, 1);
		int64_t seen = sqlite3_column_int64(s, 2);
		if (refs <= 0)
			problem(c, "object %" PRId64 " has refs %" PRId64, id, refs);
		else if (refs != seen)
			problem(c, "object %" PRId64 " has refs %" PRId64 " but %" PRId64 " references",
			        id, refs, seen);
	}
	db_finish(s);
}

static void check_dangling(struct store *st, struct checker *c)
{
	static const char *const q[] = {
		"SELECT 'inode ' || tree || '/' || ino || ' points at missing object ' || obj "
		"FROM inodes WHERE obj IS NOT NULL AND obj NOT IN (SELECT id FROM dataobjs)",
		"SELECT 'object ' || id || ' has missing parent ' || parent "
		"FROM dataobjs WHERE parent IS NOT NULL AND parent NOT IN (SELECT id FROM dataobjs)",
		"SELECT 'map rows of missing object ' || obj FROM objmap "
		"WHERE obj NOT IN (SELECT id FROM dataobjs) GROUP BY obj",
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *s = db_prep(st->db, q[i]);
		while (sqlite3_step(s) == SQLITE_ROW)
			problem(c, "%s", (const char *)sqlite3_column_text(s, 0));
		db_finish(s);
	}
}

static int queued_for_reap(struct store *st, uint64_t id)
{
	int found = 0;
	pthread_mutex_lock(&st->lock);
	for (size_t i = 0; i < st->nreap && !found; i++)
		found = st->reap[i] == id;
	pthread_mutex_unlock(&st->lock);
	return found;
}

static void check_host_file(struct store *st, struct checker *c, unsigned bucket, const char *name)
{
	char *end;
	errno = 0;
	unsigned long long id = strtoull(name, &end, 10);
	if (errno || *end || !id) {
		problem(c, "unexpected file data/%02x/%s", bucket, name);
		return;
	}
	if (id % 256 != bucket) {
		problem(c, "host file data/%02x/%s is in the wrong directory", bucket, name);
		return;
	}
	if (!row_exists(st->db, id)) {
		if (!queued_for_reap(st, id))
			problem(c, "host file data/%02x/%s has no object row", bucket, name);
		return;
	}
	int fd = open_host(st, id, 0);
	if (fd < 0)
		problem(c, "host file of object %llu cannot be opened: %s", id, strerror(-fd));
	else
		close(fd);
}

static void check_host_files(struct store *st, struct checker *c)
{
	DIR *top = opendir(st->dir);
	if (!top) {
		problem(c, "cannot read %s: %s", st->dir, strerror(errno));
		return;
	}
	struct dirent *de;
	while ((de = readdir(top))) {
		if (de->d_name[0] == '.')
			continue;
		char *end;
		unsigned long b = strtoul(de->d_name, &end, 16);
		char sub[4096];
		snprintf(sub, sizeof sub, "%s/%s", st->dir, de->d_name);
		DIR *d = strlen(de->d_name) == 2 && !*end && b < 256 ? opendir(sub) : NULL;
		if (!d) {
			problem(c, "unexpected entry data/%s", de->d_name);
			continue;
		}
		struct dirent *fe;
		while ((fe = readdir(d)))
			if (fe->d_name[0] != '.')
				check_host_file(st, c, (unsigned)b, fe->d_name);
		closedir(d);
	}
	closedir(top);
}

int store_check(struct store *st, void (*report)(void *arg, const char *msg), void *arg)
{
	struct checker c = { report, arg, 0 };
	check_refs(st, &c);
	check_dangling(st, &c);
	check_host_files(st, &c);
	return c.problems;
}

/* Host files whose rows never committed (the daemon was killed before its
 * group commit) hold only unacknowledged data: remove them at startup so
 * the state directory and the database agree again. db locked. */
int store_sweep_orphans(struct store *st)
{
	int removed = 0;
	for (int x = 0; x < 256; x++) {
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/%02x", st->dir, x);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			char *end;
			uint64_t id = strtoull(e->d_name, &end, 10);
			if (e->d_name[0] == '.' || *end || row_exists(st->db, id))
				continue;
			char path[4500];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (unlink(path) == 0)
				removed++;
		}
		closedir(d);
	}
	return removed;
}
