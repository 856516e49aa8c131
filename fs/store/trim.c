/*
 * fs/store/trim.c — owns giving host space back, and checking that none is
 * lost (fs/store/store.h): trimming the blocks of an object that become
 * unreachable once its only holder is a child layer, counting what a
 * release would free (store_release_gain, store_own_blocks), the reap of
 * deleted objects' host files and of trimmed host ranges once the changes
 * that freed them are durable (store_reap), and the consistency check of
 * rows and refs against host files (store_check).
 *
 * All of it works across objects and their rows rather than on one
 * object's view: trimming runs when fs/store/store.c drops a reference, the rest
 * after commits or at startup. Loaded objects are touched only through
 * their maps under maplock (found in the cache under st->lock); the data
 * path (fs/store/io.c), which never sees the db, is kept apart from it.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"

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
#include "meta/log.h"

/* ------------------------------------------------------------------ */
/* Reaping deleted objects' host files                                */

void queue_reap(struct store *st, uint64_t id)
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

static void reap_files(struct store *st)
{
	ranked_lock(&st->lock, LOCK_STORE);
	uint64_t *ids = st->reap;
	size_t n = st->nreap;
	st->reap = NULL;
	st->nreap = st->capreap = 0;
	ranked_unlock(&st->lock, LOCK_STORE);
	if (!n) {
		free(ids);
		return;
	}
	/* Until the group transaction commits, a crash would bring the rows
	 * back: keep the files until then. A queued object whose change
	 * rolled back still has its row and keeps its file for good. */
	db_lock(st->db);
	int pending = st->db->group_open;
	for (size_t i = 0; i < n && !pending; i++) {
		int exists = row_exists(st->db, ids[i]);
		if (exists < 0)
			pending = 1; /* not known to be gone: try again later */
		else if (exists)
			ids[i] = 0;
	}
	db_unlock(st->db);
	if (pending) {
		ranked_lock(&st->lock, LOCK_STORE);
		for (size_t i = 0; i < n; i++)
			if (ids[i]) /* 0: its row is there, the file stays */
				queue_reap(st, ids[i]);
		ranked_unlock(&st->lock, LOCK_STORE);
		free(ids);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		if (!ids[i])
			continue;
		store_drop_idle(st, ids[i]);
		mem_forget(st, ids[i]);
		char path[4096];
		store_path(st, ids[i], path, sizeof path);
		spare_put(st, path);
	}
	free(ids);
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

/* db locked and st->lock held (so a cached object cannot be freed). */
int layer_get(struct store *st, uint64_t id, struct layer *l)
{
	db_assert_locked(st->db);
	struct dobj *o = cache_find(st, id);
	if (o) {
		ranked_lock(&o->maplock, LOCK_STORE_MAP);
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

void layer_put(struct layer *l)
{
	if (l->transient)
		obj_free(l->o);
	else
		ranked_unlock(&l->o->maplock, LOCK_STORE_MAP);
}

/* The row's reference count: 0 without a row, -EIO when the read failed
 * (never a count a caller would fold or free by). */
static int64_t row_refs(struct db *db, uint64_t id)
{
	sqlite3_stmt *s = db_prep(db, "SELECT refs FROM dataobjs WHERE id = ?");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int row = db_step_row(s);
	int64_t refs = row > 0 ? sqlite3_column_int64(s, 0) : row;
	db_finish(s);
	return refs;
}

/* Whether id, once it loses `drop` references (and the child `gone`, if
 * not 0, is no longer counted), is held by exactly one child layer and
 * nothing else; *child gets it. Refs rather than inode rows decide, since
 * callers drop the reference before deleting the inode row. db locked. */
static int sole_child(struct store *st, uint64_t id, int64_t drop, uint64_t gone, uint64_t *child)
{
	int64_t refs = row_refs(st->db, id);
	if (refs < 0 || refs - drop != 1)
		return 0;
	sqlite3_stmt *s = db_prep(st->db, "SELECT id FROM dataobjs WHERE parent = ? AND id != ? LIMIT 2");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	sqlite3_bind_int64(s, 2, (int64_t)gone);
	int n = 0, row;
	while ((row = db_step_row(s)) > 0) {
		*child = (uint64_t)sqlite3_column_int64(s, 0);
		n++;
	}
	db_finish(s);
	return n == 1 && row == 0; /* a failed step may have hidden a second child */
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

void trim_unreachable(struct store *st, uint64_t id)
{
	db_assert_locked(st->db);
	uint64_t child;
	if (!sole_child(st, id, 0, 0, &child))
		return;
	ranked_lock(&st->lock, LOCK_STORE);
	trim_down(st, id, child, 1);
	ranked_unlock(&st->lock, LOCK_STORE);
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
	db_assert_locked(st->db);
	ranked_lock(&st->lock, LOCK_STORE);
	uint64_t n = own_data(st, id, parent);
	ranked_unlock(&st->lock, LOCK_STORE);
	return n;
}

uint64_t store_release_gain(struct store *st, uint64_t id)
{
	db_assert_locked(st->db);
	uint64_t freed = 0, gone = 0, child;
	ranked_lock(&st->lock, LOCK_STORE);
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
	ranked_unlock(&st->lock, LOCK_STORE);
	return freed;
}

/* After a rollback brought trimmed bits back in the db, put them back in a
 * cached copy too (its map must not claim less than the db). Both maps are
 * the same object's: copy every stored leaf that differs. maplock held. */
void resync_map(struct dobj *o, const struct dobj *db_copy)
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
				vlog_error("store", "cannot trim object %" PRIu64 ": %s", d->id,
				           strerror(errno));
			b = next;
		}
	if (fd >= 0)
		close(fd);
	if (stale) {
		ranked_lock(&st->lock, LOCK_STORE);
		struct dobj *o = cache_find(st, d->id);
		if (o) {
			ranked_lock(&o->maplock, LOCK_STORE_MAP);
			resync_map(o, d);
			ranked_unlock(&o->maplock, LOCK_STORE_MAP);
		}
		ranked_unlock(&st->lock, LOCK_STORE);
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
	ranked_lock(&st->lock, LOCK_STORE);
	struct trim_run *t = st->trims;
	size_t n = st->ntrims;
	st->trims = NULL;
	st->ntrims = st->captrims = 0;
	ranked_unlock(&st->lock, LOCK_STORE);
	db_lock(st->db);
	if (st->db->group_open) {
		ranked_lock(&st->lock, LOCK_STORE);
		for (size_t i = 0; i < n; i++)
			queue_trim(st, t[i].id, t[i].b, t[i].n);
		ranked_unlock(&st->lock, LOCK_STORE);
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
/* Consistency check                                                  */

struct checker {
	void (*report)(void *arg, const char *msg);
	void *arg;
	int problems;
	uint64_t max_id; /* committed_max_id() */
	struct store_pending *pending;
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

struct user_rows {
	struct store *st;
	int r;
};

static void add_user(void *arg, uint64_t obj, uint64_t n, const char *who)
{
	struct user_rows *u = arg;
	if (u->r < 0)
		return;
	sqlite3_stmt *s = db_prep(u->st->db, "INSERT INTO temp.check_users(obj, n, who) VALUES(?, ?, ?)");
	sqlite3_bind_int64(s, 1, (int64_t)obj);
	sqlite3_bind_int64(s, 2, (int64_t)n);
	sqlite3_bind_text(s, 3, who, -1, SQLITE_TRANSIENT);
	u->r = db_step_done(u->st->db, s);
}

/* The users' references into temp.check_users, which the checks read. */
static int load_users(struct store *st, const struct store_users *users)
{
	int r = db_exec(st->db, "CREATE TEMP TABLE IF NOT EXISTS check_users(obj INTEGER PRIMARY KEY, "
	                        "n INTEGER NOT NULL, who TEXT NOT NULL); DELETE FROM temp.check_users;");
	struct user_rows u = {st, r};
	if (r == 0 && users)
		r = users->each(users->arg, add_user, &u);
	return r < 0 ? r : u.r;
}

static void check_refs(struct store *st, struct checker *c)
{
	sqlite3_stmt *s = db_prep(st->db,
		"SELECT d.id, d.refs, coalesce(i.n, 0) + coalesce(k.n, 0) FROM dataobjs d "
		"LEFT JOIN temp.check_users i ON i.obj = d.id "
		"LEFT JOIN (SELECT parent, count(*) AS n FROM dataobjs WHERE parent IS NOT NULL "
		"           GROUP BY parent) k ON k.parent = d.id");
	int row;
	while ((row = db_step_row(s)) > 0) {
		int64_t id = sqlite3_column_int64(s, 0), refs = sqlite3_column_int64(s, 1);
		int64_t seen = sqlite3_column_int64(s, 2);
		if (refs <= 0)
			problem(c, "object %" PRId64 " has refs %" PRId64, id, refs);
		else if (refs != seen)
			problem(c, "object %" PRId64 " has refs %" PRId64 " but %" PRId64 " references",
			        id, refs, seen);
	}
	db_finish(s);
	if (row < 0)
		problem(c, "cannot read the reference counts of the data objects");
}

static void check_dangling(struct store *st, struct checker *c)
{
	static const char *const q[] = {
		"SELECT who || ' points at missing object ' || obj "
		"FROM temp.check_users WHERE obj NOT IN (SELECT id FROM dataobjs)",
		"SELECT 'object ' || id || ' has missing parent ' || parent "
		"FROM dataobjs WHERE parent IS NOT NULL AND parent NOT IN (SELECT id FROM dataobjs)",
		"SELECT 'map rows of missing object ' || obj FROM objmap "
		"WHERE obj NOT IN (SELECT id FROM dataobjs) GROUP BY obj",
	};
	for (size_t i = 0; i < sizeof q / sizeof q[0]; i++) {
		sqlite3_stmt *s = db_prep(st->db, q[i]);
		int row;
		while ((row = db_step_row(s)) > 0)
			problem(c, "%s", (const char *)sqlite3_column_text(s, 0));
		db_finish(s);
		if (row < 0)
			problem(c, "cannot look for rows pointing at missing objects");
	}
}

static int queued_for_reap(struct store *st, uint64_t id)
{
	int found = 0;
	ranked_lock(&st->lock, LOCK_STORE);
	for (size_t i = 0; i < st->nreap && !found; i++)
		found = st->reap[i] == id;
	ranked_unlock(&st->lock, LOCK_STORE);
	return found;
}

/* The highest block o's map holds as data, or BMAP_NONE. */
static uint64_t last_data_block(const struct dobj *o)
{
	uint64_t last = BMAP_NONE;
	for (uint64_t li = bmap_next_leaf(&o->map, 0); li != BMAP_NONE;
	     li = bmap_next_leaf(&o->map, li + 1)) {
		uint64_t lim = (li + 1) * LEAF_BLOCKS;
		for (uint64_t b = bmap_next_set(&o->map, BMAP_DATA, li * LEAF_BLOCKS, lim); b < lim;) {
			uint64_t e = bmap_next_clear(&o->map, BMAP_DATA, b, lim);
			last = e - 1;
			b = bmap_next_set(&o->map, BMAP_DATA, e, lim);
		}
	}
	return last;
}

/* Every block the committed map holds as data must lie inside the host
 * file: one past its end reads as zeros where data was (a host file cut
 * before the map that stopped referring to the blocks had committed). */
static void check_host_size(struct store *st, struct checker *c, uint64_t id, int fd)
{
	struct dobj *o = obj_new(st, id);
	struct stat sb;
	if (o && read_row(st->db, o) == 0 && fstat(fd, &sb) == 0) {
		uint64_t last = last_data_block(o);
		if (last != BMAP_NONE && last * BS >= (uint64_t)sb.st_size)
			problem(c, "object %" PRIu64 " has data up to byte %" PRIu64
			        " but its host file ends at byte %" PRIu64 ": data lost",
			        id, (last + 1) * BS, (uint64_t)sb.st_size);
	}
	if (o)
		obj_free(o);
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
	int exists = row_exists(st->db, id);
	if (exists < 0) {
		problem(c, "cannot look up the object row of host file data/%02x/%s", bucket, name);
		return;
	}
	if (!exists) {
		if (queued_for_reap(st, id))
			;
		else if (id <= c->max_id)
			c->pending->deleted++;
		else
			c->pending->unknown++;
		return;
	}
	int fd = open_host(st, id, 0);
	if (fd < 0) {
		problem(c, "host file of object %llu cannot be opened: %s", id, strerror(-fd));
		return;
	}
	check_host_size(st, c, id, fd);
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

int store_check(struct store *st, const struct store_users *users,
                void (*report)(void *arg, const char *msg), void *arg,
                struct store_pending *pending)
{
	db_assert_locked(st->db);
	*pending = (struct store_pending){ 0 };
	int64_t max_id = committed_max_id(st->db);
	struct checker c = { report, arg, 0, max_id < 0 ? 0 : (uint64_t)max_id, pending };
	if (max_id < 0)
		problem(&c, "cannot read the highest committed object id");
	if (load_users(st, users) < 0)
		problem(&c, "cannot read the references to data objects");
	check_refs(st, &c);
	check_dangling(st, &c);
	check_host_files(st, &c);
	return c.problems;
}
