/*
 * fs/store/io.c — owns the data path of a loaded object (fs/store/store.h): the
 * logical view through its copy-on-write layers, reads through fs/store/uring.h,
 * writes through the host write engine (fs/store/hostwrite.h),
 * punches, allocations and truncation, SEEK_DATA/SEEK_HOLE and the
 * block counts of the view. It works on one object's in-memory map (and its
 * parents') and its host file only: it never touches the db (fs/store/store.c
 * flushes the map) and never changes references, which is why it can be
 * read and changed on its own.
 *
 * Objects with refs > 1 are never modified: store_write, punch, allocate
 * and truncate return -EROFS on them (the caller calls store_make_private
 * first).
 * Every mutator prepares what can fail (map leaves, bounce blocks) before
 * touching the host file, so that an error leaves the map unchanged.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"
#include "fs/store/hostwrite.h"
#include "fs/store/uring.h"
#include "fs/obs/counters.h"

#include <assert.h>
#include <errno.h>
#include <linux/falloc.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/fault.h"

/* Destination sub-iovecs per host read. */
#define SLICE_IOV 32

static const uint8_t zero_block[STORE_BLOCK];

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static void nview_add(struct dobj *o, int64_t d)
{
	int64_t v = __atomic_load_n(&o->nview, __ATOMIC_RELAXED);
	if (v >= 0)
		__atomic_store_n(&o->nview, v + d, __ATOMIC_RELAXED);
}

/* The host file is created on the first write or allocation. o held. */
static int ensure_host(struct dobj *o)
{
	return host_create(o);
}

/* ------------------------------------------------------------------ */
/* The logical view, a leaf (512 blocks) at a time                    */

/* The first of o and its ancestors that may define some of blocks
 * [li * LEAF_BLOCKS, end) of leaf li: a layer with no leaf li defines none
 * of them, so unless it was truncated before `end` they are all its
 * parent's. Stepping over such layers costs one leaf lookup each, where
 * the general walks scan bits at every layer: on a file with 100
 * snapshots most reads and block counts cross ~100 layers that never
 * touched that part of the file. */
static const struct dobj *skip_untouched(const struct dobj *o, uint64_t li, uint64_t end)
{
	while (o->parent && end <= o->trunc_blk && !bmap_leaf(&o->map, li))
		o = o->parent;
	return o;
}

/* Which blocks of leaf li hold data in o's logical view. */
static void view_leaf(const struct dobj *o, uint64_t li, uint64_t out[BMAP_LEAF_WORDS])
{
	o = skip_untouched(o, li, (li + 1) * LEAF_BLOCKS);
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

/* Whether o's own layer defines every block of leaf li that holds data in
 * its parent p's view (below o's trunc_blk). */
static int layer_covers_leaf(const struct dobj *o, const struct dobj *p, uint64_t li)
{
	uint64_t v[BMAP_LEAF_WORDS];
	view_leaf(p, li, v);
	const struct bmap_leaf *l = bmap_leaf(&o->map, li);
	for (unsigned i = 0; i < BMAP_LEAF_WORDS; i++) {
		uint64_t has = l ? bmap_word_get(&l->w[BMAP_HAS][i]) : 0;
		if (v[i] & ~has & below_trunc_mask(o, li, i))
			return 0;
	}
	return 1;
}

/* Whether o's own layer defines every block that holds data in its
 * parent's view (below o's trunc_blk, past which o shows nothing of the
 * parent): then o's view is its own layer alone. The walk resumes at
 * o->cover_leaf, below which every leaf was found covered, and stops at
 * the first leaf that is not: a call costs one leaf unless leaves became
 * covered since, so checking after every write costs O(leaves) over the
 * layer's life whatever the file's size. A covered leaf stays covered:
 * the parent's view only loses blocks (it is shared, so nobody writes
 * it; a trim punches what o hides), a punch in o leaves whiteouts over
 * the parent's data, and a truncation that clears o's bits lowers
 * trunc_blk below them. */
int layer_covers_parent(struct dobj *o)
{
	struct dobj *p = o->parent;
	if (!p)
		return 0;
	uint64_t li = __atomic_load_n(&o->cover_leaf, __ATOMIC_RELAXED);
	for (li = next_view_leaf(p, li); li != BMAP_NONE && li * LEAF_BLOCKS < o->trunc_blk;
	     li = next_view_leaf(p, li + 1)) {
		if (!layer_covers_leaf(o, p, li)) {
			/* Concurrent overwrites (under the file's shared lock)
			 * may store in either order: every leaf below any
			 * value stored was found covered, and stays so. */
			__atomic_store_n(&o->cover_leaf, li, __ATOMIC_RELAXED);
			return 0;
		}
	}
	return 1;
}

/* ------------------------------------------------------------------ */
/* Reading: destinations are request-relative positions in an iovec   */

/* The host reads one request needs are gathered while its layers are
 * walked and issued together (uring_read_batch), so the pieces it takes
 * from several layers' host files are in flight at once instead of one
 * after the other. Zeroing that must follow the reads (flat_read's holes
 * inside a range read whole) is gathered too and done after them. Each
 * gathered read holds its layer's host file until then (host_hold). */
#define BATCH_INLINE 8

struct plist {
	struct piece *v;
	size_t n, cap;
	struct piece inl[BATCH_INLINE];
};

struct dest {
	const struct iovec *iov;
	int cnt;
	struct plist reads, zeros;
};

static void dest_init(struct dest *d, const struct iovec *iov, int cnt)
{
	d->iov = iov;
	d->cnt = cnt;
	d->reads.n = d->zeros.n = 0;
	d->reads.cap = d->zeros.cap = BATCH_INLINE;
	d->reads.v = d->reads.inl;
	d->zeros.v = d->zeros.inl;
}

static void dest_free(struct dest *d)
{
	if (d->reads.v != d->reads.inl)
		free(d->reads.v);
	if (d->zeros.v != d->zeros.inl)
		free(d->zeros.v);
}

static int plist_push(struct plist *l, struct piece p)
{
	if (l->n == l->cap) {
		size_t cap = l->cap * 2;
		struct piece *v = l->v == l->inl ? malloc(cap * sizeof *v) : realloc(l->v, cap * sizeof *v);
		if (!v)
			return -ENOMEM;
		if (l->v == l->inl)
			memcpy(v, l->inl, sizeof l->inl);
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = p;
	return 0;
}

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

/* Host bytes [fileoff, fileoff+len) of fd into the destination, now;
 * whatever lies past the host file's end reads as zeros. */
static int read_now(const struct dest *d, int fd, size_t pos, size_t len, uint64_t fileoff)
{
	while (len) {
		struct iovec part[SLICE_IOV];
		size_t got;
		int n = dest_slice(d, pos, len, part, SLICE_IOV, &got);
		if (!n)
			return -EINVAL;
		ssize_t r = n == 1 ? uring_pread(fd, part[0].iov_base, part[0].iov_len, (off_t)fileoff)
		                   : uring_preadv(fd, part, n, (off_t)fileoff);
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

/* The gathered zeroing, now. */
static void zero_gathered(struct dest *d)
{
	for (size_t i = 0; i < d->zeros.n; i++)
		dest_zero(d, d->zeros.v[i].pos, d->zeros.v[i].len);
	d->zeros.n = 0;
}

/* Issue the gathered reads at once, then the gathered zeroing. A piece
 * whose destination spans more than SLICE_IOV iovecs (never for FUSE's
 * one-buffer reads) is read on its own. */
static int dest_flush(struct dest *d)
{
	size_t n = d->reads.n;
	int r = 0, k = 0;
	if (n == 1) { /* the common case: nothing to overlap */
		const struct piece *p = &d->reads.v[0];
		r = read_now(d, p->fd, p->pos, p->len, p->off);
		n = 0;
	}
	struct uring_read *ops = n ? malloc(n * sizeof *ops) : NULL;
	struct iovec *iovs = n ? malloc(n * SLICE_IOV * sizeof *iovs) : NULL;
	if (n && (!ops || !iovs)) {
		for (size_t i = 0; i < n && r == 0; i++)
			r = read_now(d, d->reads.v[i].fd, d->reads.v[i].pos, d->reads.v[i].len,
			             d->reads.v[i].off);
		n = 0;
	}
	size_t *which = n ? (size_t *)malloc(n * sizeof *which) : NULL;
	for (size_t i = 0; i < n && r == 0; i++) {
		const struct piece *p = &d->reads.v[i];
		size_t got;
		int cnt = dest_slice(d, p->pos, p->len, iovs + (size_t)k * SLICE_IOV, SLICE_IOV, &got);
		if (got < p->len || !which) {
			r = read_now(d, p->fd, p->pos, p->len, p->off);
			continue;
		}
		ops[k] = (struct uring_read){ p->fd, iovs + (size_t)k * SLICE_IOV, cnt, (off_t)p->off, 0 };
		which[k++] = i;
	}
	if (r == 0 && k)
		uring_read_batch(ops, k);
	for (int j = 0; j < k && r == 0; j++) {
		const struct piece *p = &d->reads.v[which[j]];
		if (ops[j].res < 0)
			r = (int)ops[j].res;
		else if ((size_t)ops[j].res < p->len)
			dest_zero(d, p->pos + (size_t)ops[j].res, p->len - (size_t)ops[j].res);
	}
	free(which);
	free(ops);
	free(iovs);
	if (r == 0)
		zero_gathered(d);
	for (size_t i = 0; i < d->reads.n; i++)
		host_release(d->reads.v[i].held);
	d->reads.n = d->zeros.n = 0;
	return r;
}

/* Host bytes [fileoff, fileoff+len) of layer o into the destination, at
 * the next dest_flush; a layer without a host file reads as zeros. */
static int host_read(const struct dobj *layer, struct dest *d, size_t pos, size_t len,
                     uint64_t fileoff)
{
	/* Holding changes only which descriptors the store keeps open. */
	struct dobj *o = (struct dobj *)layer;
	int r = host_hold(o);
	if (r < 0)
		return r;
	if (o->fd < 0) {
		host_release(o);
		dest_zero(d, pos, len);
		return 0;
	}
	if (plist_push(&d->reads, (struct piece){ o->fd, fileoff, pos, len, o }) == 0)
		return 0;
	r = dest_flush(d); /* out of memory: everything so far, then this */
	if (r == 0)
		r = read_now(d, o->fd, pos, len, fileoff);
	host_release(o);
	return r;
}

/* Zero bytes [pos, pos+len) of the destination after the gathered reads. */
static int zero_after(struct dest *d, size_t pos, size_t len)
{
	if (plist_push(&d->zeros, (struct piece){ -1, 0, pos, len, NULL }) == 0)
		return 0;
	int r = dest_flush(d);
	if (r == 0)
		dest_zero(d, pos, len);
	return r;
}

/* Bytes [a, e) of the view, rooted at request offset `base`, for a layer
 * with no parent: one host read for the whole range, then the blocks the
 * map says hold no data are zeroed (so host bytes the map does not own,
 * e.g. left by a crash before a flush, are never shown). */
static int flat_read(const struct dobj *o, struct dest *d, uint64_t base, uint64_t a,
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
		if ((r = zero_after(d, za - base, ze - za)) < 0)
			return r;
		b = next;
	}
	return 0;
}

/* Bytes [a, e) of o's view. Runs are maximal within this layer, so each
 * contiguous stretch this layer owns is one host read and each stretch it
 * inherits is one request to the parent. */
static int view_read(const struct dobj *o, struct dest *d, uint64_t base, uint64_t a,
                     uint64_t e)
{
	uint64_t li = a / BS / LEAF_BLOCKS;
	if (a < e && (div_up(e, BS) - 1) / LEAF_BLOCKS == li)
		o = skip_untouched(o, li, div_up(e, BS));
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

static int dest_flush_nowait(struct dest *d, size_t len, struct store_aread **later);

/* Bytes [a, e) of o's view into iov, rooted at offset a; with later, what
 * would wait for the disk is left to *later (dest_flush_nowait) instead of
 * waited for. */
static int read_view(const struct dobj *o, const struct iovec *iov, int cnt, uint64_t a,
                     uint64_t e, struct store_aread **later)
{
	struct dest d;
	dest_init(&d, iov, cnt);
	int r = view_read(o, &d, a, a, e);
	int f = r < 0 || !later ? dest_flush(&d) : dest_flush_nowait(&d, (size_t)(e - a), later);
	dest_free(&d);
	return r < 0 ? r : f;
}

static ssize_t read_range(struct dobj *o, const struct iovec *iov, int iovcnt, uint64_t off,
                          struct store_aread **later)
{
	uint64_t len = 0;
	for (int i = 0; i < iovcnt; i++)
		len += iov[i].iov_len;
	if (!len)
		return 0;
	if (off > (uint64_t)INT64_MAX - len)
		return -EINVAL;
	int r = read_view(o, iov, iovcnt, off, off + len, later);
	return r < 0 ? r : (ssize_t)len;
}

ssize_t store_readv(struct dobj *o, const struct iovec *iov, int iovcnt, uint64_t off)
{
	return read_range(o, iov, iovcnt, off, NULL);
}

ssize_t store_read(struct dobj *o, void *buf, size_t len, uint64_t off)
{
	struct iovec iov = { buf, len };
	return store_readv(o, &iov, 1, off);
}

/* What a read that would not wait left of piece p: none (0: read whole,
 * or up to the host file's end, the rest zeroed), the rest (1: into *rest),
 * or -errno. */
static int piece_left(const struct dest *d, const struct piece *p, ssize_t res, struct piece *rest)
{
	/* A file that cannot say whether it would wait (a memory volume's
	 * memfd) never waits for a disk: read it here. */
	if (res == -EOPNOTSUPP)
		return read_now(d, p->fd, p->pos, p->len, p->off);
	if (res == -EAGAIN)
		res = 0;
	else if (res < 0)
		return (int)res;
	else if (res == 0) { /* the host file ends before: zeros */
		dest_zero(d, p->pos, p->len);
		return 0;
	}
	if ((size_t)res == p->len)
		return 0;
	*rest = (struct piece){ p->fd, p->off + (uint64_t)res, p->pos + (size_t)res,
	                        p->len - (size_t)res, p->held };
	return 1;
}

/* dest_flush without waiting for the disk, for a destination of one
 * buffer: the reads the page cache cannot serve at once, and the zeroing
 * that must follow them, go to *later with their holds. */
static int dest_flush_nowait(struct dest *d, size_t len, struct store_aread **later)
{
	size_t n = d->reads.n;
	if (d->cnt != 1 || n == 0)
		return dest_flush(d);
	struct uring_read one;
	struct uring_read *ops = n == 1 ? &one : malloc(n * sizeof *ops);
	struct iovec *iovs = n == 1 ? NULL : malloc(n * sizeof *iovs);
	if (n > 1 && (!ops || !iovs)) {
		free(ops);
		free(iovs);
		return dest_flush(d);
	}
	struct iovec iov1;
	for (size_t i = 0; i < n; i++) {
		const struct piece *p = &d->reads.v[i];
		struct iovec *iov = n == 1 ? &iov1 : &iovs[i];
		*iov = (struct iovec){ (char *)d->iov[0].iov_base + p->pos, p->len };
		ops[i] = (struct uring_read){ p->fd, iov, 1, (off_t)p->off, 0 };
	}
	uring_read_batch_nowait(ops, (int)n);
	/* The pieces left are compacted to the front of the list, keeping
	 * their holds; the others' holds go. */
	size_t left = 0;
	int r = 0;
	for (size_t i = 0; i < n; i++) {
		struct piece p = d->reads.v[i], rest;
		int k = r < 0 ? 0 : piece_left(d, &p, ops[i].res, &rest);
		if (k < 0)
			r = k;
		if (k == 1)
			d->reads.v[left++] = rest;
		else
			host_release(p.held);
	}
	if (ops != &one)
		free(ops);
	free(iovs);
	d->reads.n = left;
	if (r == 0 && left) {
		if (aread_claim_here()) {
			counters_read_cold_here();
			r = dest_flush(d);
			aread_release_here();
		} else {
			*later = aread_new(d->reads.v, left, d->zeros.v, d->zeros.n, len);
			if (*later) {
				d->reads.n = d->zeros.n = 0;
				return 0;
			}
			r = dest_flush(d); /* out of memory: wait here */
		}
	}
	for (size_t i = 0; i < d->reads.n; i++)
		host_release(d->reads.v[i].held);
	d->reads.n = 0;
	if (r == 0)
		zero_gathered(d);
	d->zeros.n = 0;
	return r;
}

ssize_t store_read_nowait(struct dobj *o, void *buf, size_t len, uint64_t off,
                          struct store_aread **later)
{
	*later = NULL;
	struct iovec iov = { buf, len };
	ssize_t r = read_range(o, &iov, 1, off, later);
	assert(r >= 0 || !*later); /* dest_flush_nowait hands off only on success */
	return r;
}

/* The current view of block b, whole. */
static int read_block(const struct dobj *o, uint64_t b, uint8_t *buf)
{
	struct iovec iov = { buf, BS };
	return read_view(o, &iov, 1, b * BS, (b + 1) * BS, NULL);
}

/* ------------------------------------------------------------------ */
/* Map changes                                                        */

static int reserve_leaves(struct dobj *o, uint64_t b0, uint64_t n)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	int r = bmap_reserve(&o->map, b0, n);
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return r;
}

/* Leaves must be reserved: cannot fail. */
static void mark_data(struct dobj *o, uint64_t b0, uint64_t n)
{
	bmap_set(&o->map, BMAP_HAS, b0, n);
	bmap_set(&o->map, BMAP_DATA, b0, n);
	sync_note_grown(o);
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
		ssize_t w = host_pwrite(o->fd, zero_block, hi - lo, (off_t)(b * BS + lo));
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
	ssize_t w = host_pwrite(o->fd, buf, BS, (off_t)(b * BS));
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

/* A write that follows an fdatasync of its file is most likely followed
 * by another (a database's log, an append-and-sync loop): its bytes go to
 * the device now, while the reply and the next FSYNC make their round
 * trip and the sync marker is written, instead of after them. The kernel
 * may write dirty pages back at any moment anyway, so this orders
 * nothing: what an fdatasync guarantees is still its own fsync's. Only
 * the first write after a sync starts one, so a file written at length
 * between syncs keeps its writeback to the kernel (and the stream).
 * Started before the write is answered: started after the reply, it raced
 * the next FSYNC's fsync on another worker and overlapped nothing
 * (docs/performance.md, "The fsync row"). */
static void kick_if_synced_last(struct dobj *o, uint64_t off, uint64_t len)
{
	if (__atomic_load_n(&o->synced_last, __ATOMIC_RELAXED) &&
	    __atomic_exchange_n(&o->synced_last, 0, __ATOMIC_RELAXED)) {
		host_kick_writeback(o->fd, off, len);
		FAULT_CRASH_POINT("writeback-kick");
	}
}

/* Bytes [off, off+len) went to the host file: their writeback starts
 * now if a sync came last, or once their stream fills a window. */
static void written_after_sync(struct dobj *o, uint64_t off, uint64_t len)
{
	kick_if_synced_last(o, off, len);
	host_stream_written(&o->stream, o->fd, off, len);
}

static ssize_t write_held(struct dobj *o, const void *buf, size_t len, uint64_t off, int64_t *delta)
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
		w = host_pwrite(o->fd, head.buf, BS, (off_t)(b0 * BS));
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
		w = k == 1 ? host_pwrite(o->fd, buf, len, (off_t)start)
		           : host_pwritev(o->fd, iov, k, (off_t)start);
	}
	if (w < 0)
		return w;
	/* The engine resubmits short writes until one fails: a short total is the
	 * host filesystem running out of space. */
	if ((size_t)w != want)
		return -ENOSPC;
	written_after_sync(o, head.fill ? b0 * BS : off, want);
	mark_data(o, b0, n);
	nview_add(o, (int64_t)added);
	*delta = (int64_t)added;
	return (ssize_t)len;
}

/* Overwrite bytes of blocks this layer already holds data for. Nothing in
 * the map changes and no edge needs filling, so unlike store_write this may
 * run concurrently with other overwrites and with reads: the caller only
 * has to keep the map from changing meanwhile (its inode's lock, shared).
 * -EAGAIN if the object is shared or some block of the range is not held
 * here (a hole, or a block still read from the parent): the caller then
 * takes store_write's path. Host bytes are only ever written where the map
 * already says "data", so a crash cannot expose them anywhere new. */
static ssize_t overwrite_held(struct dobj *o, const void *buf, size_t len, uint64_t off)
{
	if (writable(o) < 0 || o->fd < 0)
		return -EAGAIN;
	if (!len)
		return 0;
	if (off > STORE_MAX_SIZE || len > STORE_MAX_SIZE - off)
		return -EFBIG;
	uint64_t b0 = off / BS, b1 = div_up(off + len, BS);
	if (bmap_next_clear(&o->map, BMAP_DATA, b0, b1) != b1)
		return -EAGAIN;
	ssize_t w = host_pwrite(o->fd, buf, len, (off_t)off);
	if (w < 0)
		return w;
	if ((size_t)w != len)
		return -ENOSPC;
	kick_if_synced_last(o, off, len);
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
			ranked_lock(&o->maplock, LOCK_STORE_MAP);
			struct bmap_leaf *l = bmap_leaf_make(&o->map, li);
			ranked_unlock(&o->maplock, LOCK_STORE_MAP);
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

/* The whole blocks [w0, w1) and the partial edges of a punch of
 * [off, end): w0 > w1 means the range lies inside block w1. */
struct punch_range {
	uint64_t off, end, w0, w1;
};

static int punch_range(uint64_t off, uint64_t len, struct punch_range *p)
{
	/* Nothing is ever stored at or past STORE_MAX_SIZE. */
	if (!len || off >= STORE_MAX_SIZE)
		return 0;
	p->off = off;
	p->end = len > STORE_MAX_SIZE - off ? STORE_MAX_SIZE : off + len;
	p->w0 = div_up(off, BS);
	p->w1 = p->end / BS;
	return 1;
}

/* An edge block of a punch, zeroed over [lo, hi): in the map step, one
 * this layer does not hold is zeroed at once (copied up: no host byte of
 * the old view goes); one it holds is left to the host step, and makes
 * the map step report host work. */
static int edge_map_step(struct dobj *o, uint64_t b, unsigned lo, unsigned hi)
{
	if (bmap_test(&o->map, BMAP_DATA, b))
		return o->fd >= 0;
	return zero_partial(o, b, lo, hi);
}

static int punch_map_held(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	struct punch_range p;
	if (r < 0 || !punch_range(off, len, &p))
		return r;
	if (p.w0 > p.w1) /* inside one block */
		return edge_map_step(o, p.off / BS, (unsigned)(p.off % BS), (unsigned)(p.end % BS));
	uint64_t removed = count_view(o, p.w0, p.w1);
	int host = 0;
	if (p.w1 > p.w0 && o->parent && (r = whiteout_pass(o, p.w0, p.w1, 0)) < 0)
		return r;
	if (p.off % BS && (r = edge_map_step(o, p.off / BS, (unsigned)(p.off % BS), BS)) < 0)
		return r;
	host |= r;
	if (p.end % BS && (r = edge_map_step(o, p.end / BS, 0, (unsigned)(p.end % BS))) < 0)
		return r;
	host |= r;
	if (p.w1 > p.w0) {
		sync_note_unsafe(o);
		host |= o->fd >= 0 && bmap_next_set(&o->map, BMAP_DATA, p.w0, p.w1) < p.w1;
		bmap_clear(&o->map, BMAP_HAS, p.w0, p.w1 - p.w0);
		bmap_clear(&o->map, BMAP_DATA, p.w0, p.w1 - p.w0);
		if (o->parent)
			whiteout_pass(o, p.w0, p.w1, 1);
	}
	nview_add(o, -(int64_t)removed);
	*delta = -(int64_t)removed;
	return host;
}

static int punch_host_held(struct dobj *o, uint64_t off, uint64_t len)
{
	int r = writable(o);
	struct punch_range p;
	if (r < 0 || !punch_range(off, len, &p) || o->fd < 0)
		return r;
	if (p.w0 > p.w1)
		return zero_partial(o, p.off / BS, (unsigned)(p.off % BS), (unsigned)(p.end % BS));
	if (p.off % BS && (r = zero_partial(o, p.off / BS, (unsigned)(p.off % BS), BS)) < 0)
		return r;
	if (p.end % BS && (r = zero_partial(o, p.end / BS, 0, (unsigned)(p.end % BS))) < 0)
		return r;
	if (p.w1 > p.w0)
		r = host_fallocate(o->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		                   (off_t)(p.w0 * BS), (off_t)((p.w1 - p.w0) * BS));
	return r;
}

static int punch_held(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	int r = punch_map_held(o, off, len, delta);
	return r < 0 ? r : punch_host_held(o, off, len);
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
	int r = host_fallocate(fd, FALLOC_FL_ZERO_RANGE, o, l);
	if (r != -EOPNOTSUPP && r != -EINVAL)
		return r;
	r = host_fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, o, l);
	return r < 0 ? r : host_fallocate(fd, 0, o, l);
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

static int allocate_held(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
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
	/* Allocated blocks read as holes to SEEK_DATA on some filesystems
	 * (ext4's unwritten extents), so no marker can stand for them. */
	if (r == 0 && nruns)
		sync_note_unsafe(o);
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

/* Whether the host step of a truncation to newsize would destroy bytes:
 * the tail of a partial last block this layer holds, or host blocks past
 * the new end. */
static int host_holds_past(const struct dobj *o, uint64_t newsize)
{
	if (o->fd < 0)
		return 0;
	uint64_t nb = div_up(newsize, BS);
	if (newsize % BS && bmap_test(&o->map, BMAP_DATA, newsize / BS))
		return 1;
	struct stat sb;
	return fstat(o->fd, &sb) == 0 && (uint64_t)sb.st_size > nb * BS;
}

static int truncate_map_held(struct dobj *o, uint64_t newsize, int64_t *delta)
{
	*delta = 0;
	int r = writable(o);
	if (r < 0)
		return r;
	/* Nothing is stored that far; only the parent needs hiding. */
	newsize = min_u64(newsize, STORE_MAX_SIZE);
	uint64_t nb = div_up(newsize, BS);
	uint64_t removed = count_view(o, nb, MAX_BLOCKS);
	sync_note_unsafe(o);
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	bmap_truncate(&o->map, nb);
	o->map_cut = min_u64(o->map_cut, div_up(nb, LEAF_BLOCKS));
	if (o->parent && nb < o->trunc_blk) {
		o->trunc_blk = nb;
		o->trunc_dirty = 1;
	}
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	nview_add(o, -(int64_t)removed);
	*delta = -(int64_t)removed;
	return host_holds_past(o, newsize);
}

static int truncate_host_held(struct dobj *o, uint64_t newsize)
{
	int r = writable(o);
	if (r < 0)
		return r;
	newsize = min_u64(newsize, STORE_MAX_SIZE);
	uint64_t nb = div_up(newsize, BS);
	if (newsize % BS && (r = zero_partial(o, newsize / BS, (unsigned)(newsize % BS), BS)) < 0)
		return r;
	struct stat sb;
	if (o->fd >= 0 && fstat(o->fd, &sb) == 0 && (uint64_t)sb.st_size > nb * BS &&
	    ftruncate(o->fd, (off_t)(nb * BS)) < 0)
		return -errno;
	return 0;
}

static int truncate_held(struct dobj *o, uint64_t newsize, int64_t *delta)
{
	int r = truncate_map_held(o, newsize, delta);
	return r < 0 ? r : truncate_host_held(o, newsize);
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

/* ------------------------------------------------------------------ */
/* The mutators hold the object's host file throughout                */

/* call, with o's host file held around it; host_hold's error instead if
 * it cannot be opened. */
#define HELD(o, call)                                                     \
	({                                                                \
		int held_r_ = host_hold(o);                               \
		__typeof__(call) held_v_ = held_r_;                       \
		if (held_r_ == 0) {                                       \
			held_v_ = (call);                                 \
			host_release(o);                                  \
		}                                                         \
		held_v_;                                                  \
	})

ssize_t store_write(struct dobj *o, const void *buf, size_t len, uint64_t off, int64_t *delta)
{
	*delta = 0;
	return HELD(o, write_held(o, buf, len, off, delta));
}

ssize_t store_overwrite(struct dobj *o, const void *buf, size_t len, uint64_t off)
{
	return HELD(o, overwrite_held(o, buf, len, off));
}

int store_punch_map(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	return HELD(o, punch_map_held(o, off, len, delta));
}

int store_punch_host(struct dobj *o, uint64_t off, uint64_t len)
{
	return HELD(o, punch_host_held(o, off, len));
}

int store_punch(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	return HELD(o, punch_held(o, off, len, delta));
}

int store_allocate(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta)
{
	*delta = 0;
	return HELD(o, allocate_held(o, off, len, delta));
}

int store_truncate_map(struct dobj *o, uint64_t newsize, int64_t *delta)
{
	*delta = 0;
	return HELD(o, truncate_map_held(o, newsize, delta));
}

int store_truncate_host(struct dobj *o, uint64_t newsize)
{
	return HELD(o, truncate_host_held(o, newsize));
}

int store_truncate(struct dobj *o, uint64_t newsize, int64_t *delta)
{
	*delta = 0;
	return HELD(o, truncate_held(o, newsize, delta));
}

