/*
 * fs/vfs/views_scan.c — which data objects the views of a volume's
 * snapshots read, and which the volume's own view reads, found in one pass
 * over the inode row versions of the volume's family (what df's SNAPSHOTS
 * and volfs_volume_snapshot_bytes count, fs/control/snapshot_bytes.c).
 *
 * Reading each snapshot's view would read snapshots × files rows. But the
 * views of all the trees of a family are made of the same row versions: a
 * version of a key in lineage X is what lineage L reads when X is L or an
 * ancestor of L and no other version of the key lies on the path between
 * them (docs/design.md, "Metadata copy-on-write"). With the family's
 * lineage tree numbered in preorder (tin, and tout the last number of the
 * subtree), L's ancestors are the X with tin(X) <= tin(L) <= tout(X), and
 * the versions of one key are nested or disjoint intervals: version X is
 * read by the lineages in its interval outside those of the versions nested
 * in it. So a version is read by one of the snapshots when the count of
 * snapshot lineages in its interval (two binary searches in their sorted
 * numbers) exceeds the counts in the intervals of the versions directly
 * nested in it, and by the volume when it is the innermost version whose
 * interval holds the volume's lineage. Each version is read once, and a key
 * with v versions costs O(v log v + v log snapshots): the pass is
 * O(rows log), whatever the number of snapshots. Versions nobody reads (a
 * released lineage's, replaced on every side, until the reclaimer drops
 * them) are in no view, so they count for no one.
 *
 * Only the lineages the volume and its snapshots read, and their
 * ancestors, are numbered: a version in any other lineage (a clone's, a
 * restore's) is read by none of these views and hides nothing from them.
 *
 * The pass reads a bounded page per call, the db lock released in between
 * by the caller: the volume's snapshots, their lineages and the volume's
 * and the ancestors of those, parent by parent (each once: the chain above
 * a volume is shared by its snapshots), then the family's inode rows in
 * key order, a key's versions carried over when a page ends inside them.
 * A lineage made meanwhile (a new snapshot or clone) is unknown to the
 * numbering: its versions are left out, so a figure taken while the
 * family changes is an estimate, exact when it rests.
 */
#include "fs/vfs/vfs_int.h"

#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum scan_phase { SCAN_START, SCAN_SNAPSHOTS, SCAN_ANCESTORS, SCAN_ROWS, SCAN_DONE };

/* A lineage and its parent (0: none). */
struct lin {
	uint64_t id, parent;
};

/* One version of the key being read. */
struct version {
	uint32_t tin, tout; /* its lineage's interval */
	uint64_t obj;       /* 0: none (a directory, an empty file, a whiteout) */
	int64_t readers;    /* snapshot lineages in its interval, then outside nested ones */
};

/* A growable array of n elements of one size. */
struct vec {
	void *a;
	size_t n, cap;
};

struct vfs_views_scan {
	uint64_t tree, family, live; /* the volume, its family, its lineage */
	enum scan_phase phase;
	uint64_t after;          /* the last snapshot tree read */
	struct vec todo;         /* lineages (uint64_t) whose ancestors are to be read */
	struct vec lins;         /* struct lin: the lineages read, then sorted by id */
	uint64_t *seen;          /* lineage ids ever put in todo (0: free slot), a hash set */
	size_t seen_n, seen_cap;
	uint32_t *tin, *tout;    /* by the index in lins */
	struct vec snap_lineages; /* uint64_t: the snapshots' lineages */
	uint32_t *snap_tins;     /* their tin, sorted, each once */
	size_t nsnap;
	uint32_t live_tin;
	int live_known;
	uint64_t key;            /* the inode whose versions `versions` holds */
	uint64_t after_lineage;  /* the last version read of key */
	struct vec versions;     /* struct version */
	uint64_t rows;
};

static int vec_push(struct vec *v, const void *elem, size_t size)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 64;
		void *a = realloc(v->a, cap * size);
		if (!a)
			return -ENOMEM;
		v->a = a;
		v->cap = cap;
	}
	memcpy((char *)v->a + v->n++ * size, elem, size);
	return 0;
}

struct vfs_views_scan *vfs_views_scan_new(uint64_t tree)
{
	struct vfs_views_scan *s = calloc(1, sizeof *s);
	if (s)
		s->tree = tree;
	return s;
}

void vfs_views_scan_free(struct vfs_views_scan *s)
{
	if (!s)
		return;
	free(s->todo.a);
	free(s->lins.a);
	free(s->seen);
	free(s->tin);
	free(s->tout);
	free(s->snap_lineages.a);
	free(s->snap_tins);
	free(s->versions.a);
	free(s);
}

uint64_t vfs_views_scan_rows(const struct vfs_views_scan *s)
{
	return s->rows;
}

/* ---- the lineages the views read: the volume's and its snapshots', and
 * their ancestors (versions in any other lineage, a clone's or a
 * restore's, are read by none of these views and shadow nothing for them) */

static size_t seen_slot(const struct vfs_views_scan *s, uint64_t id)
{
	size_t i = (size_t)(id * 0x9E3779B97F4A7C15ull) & (s->seen_cap - 1);
	while (s->seen[i] && s->seen[i] != id)
		i = (i + 1) & (s->seen_cap - 1);
	return i;
}

/* Lineage id is to be read unless it was already: 0, or -ENOMEM. */
static int want_lineage(struct vfs_views_scan *s, uint64_t id)
{
	if (2 * (s->seen_n + 1) > s->seen_cap) {
		size_t cap = s->seen_cap ? 2 * s->seen_cap : 64, old_cap = s->seen_cap;
		uint64_t *old = s->seen;
		if (!(s->seen = calloc(cap, sizeof *s->seen))) {
			s->seen = old;
			return -ENOMEM;
		}
		s->seen_cap = cap;
		for (size_t i = 0; i < old_cap; i++)
			if (old[i])
				s->seen[seen_slot(s, old[i])] = old[i];
		free(old);
	}
	size_t i = seen_slot(s, id);
	if (s->seen[i])
		return 0;
	s->seen[i] = id;
	s->seen_n++;
	return vec_push(&s->todo, &id, sizeof id);
}

/* The snapshots of the volume, a page of up to max: their lineages are
 * to be read. 1 if the page was full, 0 if it was the last. */
static int read_snapshots(struct vfs *v, struct vfs_views_scan *s, size_t max)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT id, lineage FROM trees WHERE origin=?1 AND "
	                                  "kind='snapshot' AND id>?2 ORDER BY id LIMIT ?3");
	sqlite3_bind_int64(st, 1, (int64_t)s->tree);
	sqlite3_bind_int64(st, 2, (int64_t)s->after);
	sqlite3_bind_int64(st, 3, (int64_t)max);
	size_t n = 0;
	int row = 0, r = 0;
	while (r == 0 && (row = db_step_row(st)) > 0) {
		s->after = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t lineage = (uint64_t)sqlite3_column_int64(st, 1);
		n++;
		r = vec_push(&s->snap_lineages, &lineage, sizeof lineage);
	}
	db_finish(st);
	if (r < 0)
		return r;
	return row < 0 ? row : n == max;
}

/* Up to max lineages to be read: each with its parent, which is to be
 * read in turn. One gone meanwhile is left out. 1 while more are to be
 * read, 0 when none. */
static int read_ancestors(struct vfs *v, struct vfs_views_scan *s, size_t max)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT coalesce(parent, 0) FROM lineages WHERE id=?");
	int r = 0;
	for (size_t i = 0; r == 0 && i < max && s->todo.n > 0; i++) {
		struct lin l = {((uint64_t *)s->todo.a)[--s->todo.n], 0};
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, (int64_t)l.id);
		int row = db_step_row(st);
		if (row < 0)
			r = row;
		else if (row > 0) {
			l.parent = (uint64_t)sqlite3_column_int64(st, 0);
			r = vec_push(&s->lins, &l, sizeof l);
			if (r == 0 && l.parent)
				r = want_lineage(s, l.parent);
		}
	}
	db_finish(st);
	return r < 0 ? r : s->todo.n > 0;
}

static int cmp_lin(const void *a, const void *b)
{
	uint64_t x = ((const struct lin *)a)->id, y = ((const struct lin *)b)->id;
	return x < y ? -1 : x > y;
}

/* The index of lineage id in lins (sorted), or -1. */
static long lineage_index(const struct vfs_views_scan *s, uint64_t id)
{
	const struct lin *lins = s->lins.a;
	size_t lo = 0, hi = s->lins.n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (lins[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < s->lins.n && lins[lo].id == id ? (long)lo : -1;
}

/* Number the lineages in preorder: tin, and tout the last tin of the
 * subtree. A lineage's parent has a smaller id (ids only grow, and the
 * reclaimer gives a child its grandparent): one whose parent is not among
 * them (a root, or a parent gone meanwhile) starts a tree of its own. */
static int number_lineages(struct vfs_views_scan *s)
{
	size_t n = s->lins.n;
	const struct lin *lins = s->lins.a;
	long *up = malloc((n + 1) * sizeof *up), *child = malloc((n + 1) * sizeof *child),
	     *sibling = malloc((n + 1) * sizeof *sibling);
	s->tin = malloc((n + 1) * sizeof *s->tin);
	s->tout = malloc((n + 1) * sizeof *s->tout);
	int r = up && child && sibling && s->tin && s->tout ? 0 : -ENOMEM;
	for (size_t i = 0; r == 0 && i < n; i++)
		child[i] = sibling[i] = -1;
	for (size_t i = n; r == 0 && i-- > 0;) { /* children in id order */
		long p = lineage_index(s, lins[i].parent);
		up[i] = p >= 0 && (size_t)p < i ? p : -1;
		if (up[i] >= 0) {
			sibling[i] = child[up[i]];
			child[up[i]] = (long)i;
		}
	}
	uint32_t t = 0;
	for (size_t root = 0; r == 0 && root < n; root++) {
		if (up[root] >= 0)
			continue;
		long x = (long)root;
		for (;;) {
			s->tin[x] = t++;
			if (child[x] >= 0) {
				x = child[x];
				continue;
			}
			for (;;) { /* up to the next sibling: subtrees closed */
				s->tout[x] = t - 1;
				if (x == (long)root || sibling[x] >= 0)
					break;
				x = up[x];
			}
			if (x == (long)root)
				break;
			x = sibling[x];
		}
	}
	free(up);
	free(child);
	free(sibling);
	return r;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The lineages numbered; the snapshots' lineages' numbers sorted, each
 * once (a read-only tree's snapshot shares its lineage), and the
 * volume's. */
static int number_points(struct vfs_views_scan *s)
{
	qsort(s->lins.a, s->lins.n, sizeof(struct lin), cmp_lin);
	int r = number_lineages(s);
	if (r < 0)
		return r;
	const uint64_t *lineages = s->snap_lineages.a;
	size_t n = s->snap_lineages.n;
	uint32_t *tins = s->snap_tins = malloc((n + 1) * sizeof *tins);
	if (!tins)
		return -ENOMEM;
	size_t kept = 0;
	for (size_t i = 0; i < n; i++) {
		long x = lineage_index(s, lineages[i]);
		if (x >= 0) /* else gone meanwhile */
			tins[kept++] = s->tin[x];
	}
	qsort(tins, kept, sizeof *tins, cmp_u32);
	n = kept;
	kept = 0;
	for (size_t i = 0; i < n; i++)
		if (kept == 0 || tins[kept - 1] != tins[i])
			tins[kept++] = tins[i];
	s->nsnap = kept;
	long live = lineage_index(s, s->live);
	s->live_known = live >= 0;
	s->live_tin = live >= 0 ? s->tin[live] : 0;
	return 0;
}

/* ---- the versions */

/* Snapshot lineages numbered below t. */
static size_t points_below(const struct vfs_views_scan *s, uint64_t t)
{
	const uint32_t *tins = s->snap_tins;
	size_t lo = 0, hi = s->nsnap;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (tins[mid] < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int cmp_version(const void *a, const void *b)
{
	return cmp_u32(&((const struct version *)a)->tin, &((const struct version *)b)->tin);
}

/* The versions of one key are read: which of them the snapshots and the
 * volume read (see the head comment). */
static int settle_key(struct vfs_views_scan *s, int (*fn)(void *arg, uint64_t obj, unsigned seen),
                      void *arg)
{
	struct version *ver = s->versions.a;
	size_t n = s->versions.n;
	s->versions.n = 0;
	if (n == 0)
		return 0;
	qsort(ver, n, sizeof *ver, cmp_version);
	/* the enclosing versions, innermost last: at most n */
	size_t stack_small[16], *stack = n <= 16 ? stack_small : malloc(n * sizeof *stack), sp = 0;
	if (!stack)
		return -ENOMEM;
	long live = -1;
	for (size_t i = 0; i < n; i++) {
		ver[i].readers = (int64_t)(points_below(s, (uint64_t)ver[i].tout + 1) -
		                           points_below(s, ver[i].tin));
		while (sp > 0 && ver[stack[sp - 1]].tout < ver[i].tin)
			sp--;
		/* intervals of one tree's lineages nest or are apart */
		assert(sp == 0 || ver[stack[sp - 1]].tout >= ver[i].tout);
		if (sp > 0)
			ver[stack[sp - 1]].readers -= ver[i].readers;
		stack[sp++] = i;
		if (s->live_known && ver[i].tin <= s->live_tin && s->live_tin <= ver[i].tout)
			live = (long)i; /* sorted by tin: the innermost comes last */
	}
	if (stack != stack_small)
		free(stack);
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++) {
		assert(ver[i].readers >= 0);
		unsigned seen = (ver[i].readers > 0 ? VFS_SEEN_BY_SNAPSHOTS : 0) |
		                ((long)i == live ? VFS_SEEN_BY_VOLUME : 0);
		if (ver[i].obj && seen)
			r = fn(arg, ver[i].obj, seen);
	}
	return r;
}

/* Up to max inode versions of the family, in key order after the last
 * one read. 1 if there are more, 0 at the end. */
static int read_versions(struct vfs *v, struct vfs_views_scan *s, size_t max,
                         int (*fn)(void *arg, uint64_t obj, unsigned seen), void *arg)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT ino, lineage, coalesce(obj, 0), whiteout FROM inodes "
	                                  "WHERE family=?1 AND (ino, lineage) > (?2, ?3) "
	                                  "ORDER BY ino, lineage LIMIT ?4");
	sqlite3_bind_int64(st, 1, (int64_t)s->family);
	sqlite3_bind_int64(st, 2, (int64_t)s->key);
	sqlite3_bind_int64(st, 3, (int64_t)s->after_lineage);
	sqlite3_bind_int64(st, 4, (int64_t)max);
	size_t n = 0;
	int row = 0, r = 0;
	while (r == 0 && (row = db_step_row(st)) > 0) {
		uint64_t ino = (uint64_t)sqlite3_column_int64(st, 0);
		uint64_t lineage = (uint64_t)sqlite3_column_int64(st, 1);
		n++;
		s->rows++;
		if (ino != s->key)
			r = settle_key(s, fn, arg);
		s->key = ino;
		s->after_lineage = lineage;
		long x = lineage_index(s, lineage);
		/* else none of the views reads it, or it was made meanwhile */
		if (r == 0 && x >= 0) {
			struct version ver = {s->tin[x], s->tout[x],
			                      sqlite3_column_int(st, 3) ? 0 : (uint64_t)sqlite3_column_int64(st, 2), 0};
			r = vec_push(&s->versions, &ver, sizeof ver);
		}
	}
	db_finish(st);
	if (r == 0 && row < 0) /* unread rows are no proof the family is done */
		r = row;
	if (r == 0 && n < max)
		r = settle_key(s, fn, arg);
	return r < 0 ? r : n == max;
}

int vfs_views_scan_step(struct vfs *v, struct vfs_views_scan *s, size_t max,
                        int (*fn)(void *arg, uint64_t obj, unsigned seen), void *arg)
{
	db_assert_locked(v->db);
	assert(max > 0);
	int r = 0;
	switch (s->phase) {
	case SCAN_START: {
		struct vtree *t = vfs_tree_get(v, s->tree);
		if (!t)
			return -ENOENT;
		s->family = t->family;
		s->live = atomic_load(&t->lineage);
		s->phase = SCAN_SNAPSHOTS;
		return 1;
	}
	case SCAN_SNAPSHOTS:
		/* the snapshots first: without one there is nothing to find */
		r = read_snapshots(v, s, max);
		if (r == 0) {
			const uint64_t *lineages = s->snap_lineages.a;
			for (size_t i = 0; r == 0 && i < s->snap_lineages.n; i++)
				r = want_lineage(s, lineages[i]);
			if (r == 0 && s->snap_lineages.n)
				r = want_lineage(s, s->live);
			s->phase = s->snap_lineages.n ? SCAN_ANCESTORS : SCAN_DONE;
		}
		return r < 0 ? r : s->phase != SCAN_DONE;
	case SCAN_ANCESTORS:
		r = read_ancestors(v, s, max);
		if (r == 0) {
			r = number_points(s);
			s->phase = SCAN_ROWS;
		}
		return r < 0 ? r : 1;
	case SCAN_ROWS:
		r = read_versions(v, s, max, fn, arg);
		if (r == 0)
			s->phase = SCAN_DONE;
		return r;
	case SCAN_DONE:
		break;
	}
	return 0;
}
