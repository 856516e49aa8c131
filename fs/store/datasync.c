/*
 * fs/store/datasync.c — owns fdatasync with one device flush (fs/store/store.h):
 * the sync marker on a host file, the bookkeeping that says when the marker
 * is needed and when it is not enough, and the start-up repair that
 * rebuilds an object's size and map from its host file after a crash.
 *
 * An fdatasync must make durable the file's bytes and what is needed to
 * read them back: its size and the block map. The map and size live in
 * meta.db, whose commit is a second flush (of the WAL). Instead, for a
 * private object the host file itself can say what the commit would have:
 *   - blocks: a private object's layer holds data exactly where its host
 *     file has blocks allocated (SEEK_DATA/SEEK_HOLE), as long as the map
 *     has only *gained* blocks since its last durable commit: a newly
 *     defined block is always written whole, while removals (punch,
 *     truncate, whiteouts) and allocations (which ext4 reports as holes)
 *     leave the host file unable to tell (o->unsafe);
 *   - size: the marker, the extended attribute user.volfs.sync = (gen,
 *     size), written before the host file's fsync, so that the one flush
 *     makes data, allocation and marker durable together.
 * gen orders the marker against the row: every marker takes a new gen,
 * which the row gets at the next group commit (dataobjs.gen). At start,
 * after an unclean stop, an object whose marker is newer than its row is
 * repaired: size from the marker, data bits from the host file's
 * allocation (blocks past that size keep only what the row held), and the
 * row takes the marker's gen. A row at least as new as the marker wins,
 * so a truncation or punch that committed after the marker is never undone.
 *
 * When the size and map have not changed since the marker or durable
 * commit that describes them (overwrites in place), no marker is written:
 * a plain fdatasync of the host file is the whole sync.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"
#include "fs/obs/counters.h"
#include "fs/store/hostwrite.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "meta/fault.h"
#include "meta/log.h"

/* The marker's bytes: gen and size, little-endian. */
struct marker {
	uint64_t gen, size;
};

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static int marker_write(int fd, const struct marker *m)
{
	uint8_t buf[16];
	put_le64(buf, m->gen);
	put_le64(buf + 8, m->size);
	return fsetxattr(fd, STORE_MARKER_NAME, buf, sizeof buf, 0) < 0 ? -errno : 0;
}

/* 1 with *m, 0 when the file has no marker, or a negative errno. */
static int marker_read(int fd, struct marker *m)
{
	uint8_t buf[16];
	ssize_t n = fgetxattr(fd, STORE_MARKER_NAME, buf, sizeof buf);
	if (n < 0)
		return errno == ENODATA || errno == ENOTSUP ? 0 : -errno;
	if (n != sizeof buf)
		return 0;
	m->gen = get_le64(buf);
	m->size = get_le64(buf + 8);
	return 1;
}

void sync_note_grown(struct dobj *o)
{
	__atomic_fetch_add(&o->changes, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&o->grown, 1, __ATOMIC_RELAXED);
}

void sync_note_unsafe(struct dobj *o)
{
	__atomic_fetch_add(&o->changes, 1, __ATOMIC_RELAXED);
	__atomic_store_n(&o->unsafe, 1, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------ */
/* fdatasync                                                          */

/* The data flush of o's host file, counted; once it succeeds the next
 * write starts its writeback early (kick_if_synced_last, fs/store/io.c). */
static int flush_host(struct dobj *o, int datasync)
{
	counters_host_flush(COUNTERS_FLUSH_DATA);
	int r = host_fsync(o->fd, datasync);
	if (r == 0)
		__atomic_store_n(&o->synced_last, 1, __ATOMIC_RELAXED);
	return r;
}

/* A new marker for (a new gen, size), then one fsync for it, the data and
 * the allocation. The row learns the gen at the next flush. synclock held. */
static int sync_with_marker(struct dobj *o, uint64_t size)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	struct marker m = { ++o->gen, size };
	o->gen_dirty = 1;
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	int r = marker_write(o->fd, &m);
	if ((r == -ENOTSUP || r == -EOPNOTSUPP) &&
	    !__atomic_exchange_n(&o->st->no_markers, 1, __ATOMIC_RELAXED))
		vlog_warn("store", "the data directory %s keeps no extended attributes: "
		          "fdatasync commits meta.db after the data file (two flushes)", o->st->dir);
	if (r < 0)
		return -EAGAIN; /* no marker (no room for one, a read-only file): commit instead */
	/* fsync, not fdatasync: the marker is the inode's metadata. */
	if ((r = flush_host(o, 0)) < 0)
		return r;
	__atomic_store_n(&o->grown, 0, __ATOMIC_RELAXED);
	o->marked_size = size;
	o->marker_ahead = 1;
	return 1;
}

/* o held, its inode's lock shared: no map or size change runs meanwhile. */
static int datasync_held(struct dobj *o, uint64_t size)
{
	if (o->fd < 0)
		return -EAGAIN; /* no host file to carry a marker */
	ranked_lock(&o->synclock, LOCK_STORE_SYNC);
	int r;
	if (__atomic_load_n(&o->unsafe, __ATOMIC_RELAXED))
		r = -EAGAIN;
	else if (__atomic_load_n(&o->grown, __ATOMIC_RELAXED) || size != o->marked_size)
		r = sync_with_marker(o, size);
	else
		r = flush_host(o, 1); /* what is durable describes the file already */
	ranked_unlock(&o->synclock, LOCK_STORE_SYNC);
	if (r >= 0)
		FAULT_CRASH_POINT("fdatasync");
	return r;
}

int store_datasync(struct dobj *o, uint64_t size)
{
	if (refs_of(o) > 1 || __atomic_load_n(&o->st->no_markers, __ATOMIC_RELAXED) ||
	    __atomic_load_n(&o->unsafe, __ATOMIC_RELAXED))
		return -EAGAIN;
	int r = host_hold(o);
	if (r < 0)
		return r;
	r = datasync_held(o, size);
	host_release(o);
	return r;
}

int store_sync(struct dobj *o)
{
	int r = host_hold(o);
	if (r < 0)
		return r;
	r = o->fd >= 0 ? flush_host(o, 1) : 0;
	host_release(o);
	return r;
}

struct store_sync_point store_sync_point(struct dobj *o)
{
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	struct store_sync_point p = { __atomic_load_n(&o->changes, __ATOMIC_RELAXED), o->gen };
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	return p;
}

void store_made_durable(struct dobj *o, struct store_sync_point p, uint64_t size)
{
	ranked_lock(&o->synclock, LOCK_STORE_SYNC);
	if (__atomic_load_n(&o->changes, __ATOMIC_RELAXED) == p.changes) {
		__atomic_store_n(&o->unsafe, 0, __ATOMIC_RELAXED);
		__atomic_store_n(&o->grown, 0, __ATOMIC_RELAXED);
		o->marked_size = size;
	}
	ranked_lock(&o->maplock, LOCK_STORE_MAP);
	if (o->gen == p.gen)
		o->marker_ahead = 0;
	ranked_unlock(&o->maplock, LOCK_STORE_MAP);
	ranked_unlock(&o->synclock, LOCK_STORE_SYNC);
}

int store_marker_ahead(struct dobj *o)
{
	ranked_lock(&o->synclock, LOCK_STORE_SYNC);
	int ahead = o->marker_ahead;
	ranked_unlock(&o->synclock, LOCK_STORE_SYNC);
	return ahead;
}

/* ------------------------------------------------------------------ */
/* The start-up repair                                                */

struct extent {
	uint64_t b, e; /* blocks [b, e) */
};

/* The host file's allocated ranges, in whole blocks (a partly allocated
 * block counts). 0 or -ENOMEM. */
static int host_extents(int fd, struct extent **out, size_t *count)
{
	struct extent *x = NULL;
	size_t n = 0, cap = 0;
	for (off_t a = lseek(fd, 0, SEEK_DATA); a >= 0; a = lseek(fd, a, SEEK_DATA)) {
		off_t e = lseek(fd, a, SEEK_HOLE);
		if (e <= a)
			break;
		if (n == cap) {
			cap = cap ? 2 * cap : 16;
			struct extent *bigger = realloc(x, cap * sizeof *x);
			if (!bigger) {
				free(x);
				return -ENOMEM;
			}
			x = bigger;
		}
		x[n++] = (struct extent){ (uint64_t)a / BS, div_up((uint64_t)e, BS) };
		a = e;
	}
	*out = x;
	*count = n;
	return 0;
}

/* o's data bits become what the host file holds: cleared where it has no
 * blocks (has stays: those blocks read as zeros, as the host file does),
 * set below the marker's size where it has. Past that size only the row's
 * blocks stay, so an unacknowledged write beyond it never appears. */
static int rebuild_map(struct dobj *o, const struct extent *x, size_t n, uint64_t size)
{
	uint64_t nb = div_up(size, BS), from = 0;
	for (size_t i = 0; i <= n; i++) {
		uint64_t to = i < n ? x[i].b : MAX_BLOCKS;
		if (to > from)
			bmap_clear(&o->map, BMAP_DATA, from, to - from);
		if (i < n)
			from = x[i].e;
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t e = min_u64(x[i].e, nb);
		if (x[i].b < e && (bmap_set(&o->map, BMAP_HAS, x[i].b, e - x[i].b) < 0 ||
		                   bmap_set(&o->map, BMAP_DATA, x[i].b, e - x[i].b) < 0))
			return -ENOMEM;
	}
	return 0;
}

/* Bring o's row in line with its host file's marker m: map from the
 * host file's blocks, the marker's gen. db locked. */
static int repair_row(struct store *st, struct dobj *o, int fd, const struct marker *m)
{
	struct extent *x = NULL;
	size_t n = 0;
	int r = host_extents(fd, &x, &n);
	if (r == 0)
		r = rebuild_map(o, x, n, m->size);
	free(x);
	o->gen = m->gen;
	o->gen_dirty = 1;
	if (r == 0 && (r = db_begin_essential(st->db)) == 0) {
		r = flush_locked(st->db, o);
		r = r == 0 ? db_commit(st->db) : (db_rollback(st->db), r);
	}
	return r;
}

/* Whether object id is a parent layer of another: 1, 0, or -EIO. db
 * locked. */
static int has_child(struct db *db, uint64_t id)
{
	sqlite3_stmt *s = db_prep(db, "SELECT 1 FROM dataobjs WHERE parent = ? LIMIT 1");
	sqlite3_bind_int64(s, 1, (int64_t)id);
	int r = db_step_row(s);
	db_finish(s);
	return r;
}

/* Repair object id if its host file's marker is newer than its row: 1 with
 * *size, 0 if it needs none, or a negative errno. Only an inode's own
 * private object is repaired: a shared object or a parent layer is never
 * written again, and a marker written as it became shared (a snapshot
 * racing an fdatasync) describes the size and map its row has, while
 * its host file may still hold blocks a trim took out of its map. db
 * locked. */
static int repair_object(struct store *st, uint64_t id, uint64_t *size)
{
	char path[4096];
	store_path(st, id, path, sizeof path);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct marker m = { 0, 0 };
	int r = marker_read(fd, &m);
	struct dobj *o = r > 0 ? obj_new(st, id) : NULL;
	if (r > 0)
		r = o ? read_row(st->db, o) : -ENOMEM;
	int child = r == 0 && o && m.gen > o->gen && o->refs == 1 ? has_child(st->db, id) : 1;
	if (child < 0)
		r = child;
	if (child == 0) {
		r = repair_row(st, o, fd, &m);
		*size = m.size;
		r = r == 0 ? 1 : r;
	}
	if (o)
		obj_free(o);
	close(fd);
	return r;
}

int store_repair_synced(struct store *st, struct store_synced **out, size_t *count)
{
	*out = NULL;
	*count = 0;
	size_t cap = 0, nids = 0;
	uint64_t *ids = NULL;
	int r = 0;
	sqlite3_stmt *s = db_prep(st->db, "SELECT id FROM dataobjs WHERE refs = 1");
	int row;
	while (r == 0 && (row = db_step_row(s)) > 0) {
		if (nids == cap) {
			cap = cap ? 2 * cap : 64;
			uint64_t *bigger = realloc(ids, cap * sizeof *ids);
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			ids = bigger;
		}
		ids[nids++] = (uint64_t)sqlite3_column_int64(s, 0);
	}
	db_finish(s);
	if (r == 0 && row < 0) /* an object left out would lose its synced blocks to the reclaim */
		r = row;
	struct store_synced *done = NULL;
	size_t ndone = 0;
	for (size_t i = 0; i < nids && r == 0; i++) {
		uint64_t size;
		int rr = repair_object(st, ids[i], &size);
		if (rr < 0) {
			/* not skipped: the reclaim after an unclean stop would then
			 * give back the blocks its fdatasync made durable */
			vlog_error("store", "cannot rebuild the map of object %" PRIu64 " from its host "
			           "file: %s", ids[i], strerror(-rr));
			r = rr;
			break;
		}
		if (rr == 0)
			continue;
		struct store_synced *bigger = realloc(done, (ndone + 1) * sizeof *done);
		if (!bigger) {
			r = -ENOMEM;
			break;
		}
		done = bigger;
		done[ndone++] = (struct store_synced){ ids[i], size };
	}
	free(ids);
	if (r < 0) {
		free(done);
		return r;
	}
	*out = done;
	*count = ndone;
	return 0;
}

uint64_t store_view_blocks(struct store *st, uint64_t id)
{
	struct dobj *o = store_get(st, id);
	if (!o)
		return 0;
	uint64_t n = store_data_blocks(o);
	store_put(st, o);
	return n;
}
