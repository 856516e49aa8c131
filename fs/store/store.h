/*
 * fs/store/store.h — the data path: data objects, their block maps, copy-on-write
 * layering, and their host I/O (fs/store/hostwrite.h, uring.h).
 * Knows nothing of FUSE, inodes, names or volumes; it stores the contents of
 * one regular file per object.
 *
 * On-disk design
 * --------------
 * A data object is a sparse host file STATE/data/XX/ID (XX = ID % 256 in two
 * lowercase hex digits, ID in decimal) plus a block map in meta.db (table
 * objmap). Blocks are STORE_BLOCK (4 KiB). An object may have a parent
 * object: the object is then a copy-on-write layer over it, exactly like a
 * qcow2 overlay. Per block the map holds two bits:
 *   has  = the block is defined in this layer (data or an explicit zero);
 *   data = the block holds data in this layer's host file.
 * has && !data is a whiteout: reads return zeros and the parent is hidden.
 * !has means "look in the parent", unless the block index is >= trunc_blk
 * (the object was truncated below it), in which case it reads as zeros.
 * The logical view of block b is the first layer from the top with has(b),
 * stopping with zeros at a layer where b >= trunc_blk or at the bottom.
 *
 * Sharing is by reference count (dataobjs.refs = inode rows that point at
 * the object + child objects layered on it). An object with refs == 1 is
 * private to its only holder and is written in place. A snapshot or clone
 * copies inode rows and increments refs, which costs no data copying; the
 * next write through an inode whose object has refs > 1 first calls
 * store_make_private(), which puts a fresh empty child layer on top (the inode's
 * reference moves to the child; the parent's refs stay the same because the
 * child now references it). Objects with refs > 1 are never modified.
 *
 * Maps live in memory while an object is loaded (sparse two-level bitmap,
 * 512-block leaves) and are written to objmap (one row per leaf: has and
 * data blobs of 64 bytes each) by store_flush(). A newly defined block is
 * always written whole (zero-filled or copied up from the parent), so stale
 * host bytes left by a crash before a flush can never become visible.
 *
 * Locking: the caller serialises access per object: it holds its inode's
 * lock exclusively around store_write/punch/allocate/truncate/cow and at
 * least shared around store_read/seek/blocks and store_overwrite (which
 * changes no map, so overwrites run concurrently). Objects with refs > 1 are
 * read-only and may be read concurrently through several inodes. The
 * object cache has its own internal mutex. Functions that take `struct db`
 * access follow the comment on each: "db locked" means the caller holds
 * db_lock(); otherwise the function takes it itself if it needs it.
 */
#ifndef VOLFS_FS_STORE_H
#define VOLFS_FS_STORE_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "fs/store/block.h"
#include "meta/db.h"

struct store;
struct dobj;

/* Open the data directory STATE/data (created if missing). */
int store_open(struct store **out, const char *state_dir, struct db *db);
/* Flush every dirty loaded object (takes db lock) and free everything. */
void store_close(struct store *st);

/* Descriptors: the store keeps at most min(nofile / 2, 65536) host files
 * of loaded objects open at once (least recently used closed first,
 * reopened on demand), and holds at most min(nofile / 4, 65536) memory
 * objects (a memfd each, which cannot be reopened: creating one more fails
 * with -ENOSPC). The last quarter of nofile is left to the rest of the
 * daemon. store_open takes nofile from RLIMIT_NOFILE; tests set it here. */
void store_set_fd_budget(struct store *st, uint64_t nofile);
/* Host files open now, and the bound (if not NULL). */
size_t store_open_files(struct store *st, size_t *bound);
/* Host files opened since store_open (each open(2) of one). */
uint64_t store_host_opens(struct store *st);

/* Create a new object row (refs = 1, parent's refs += 1 if parent != 0).
 * The host file is created lazily on first write. db locked. */
int store_create(struct store *st, uint64_t parent, uint64_t *id_out);

/* The same for an object whose contents are held in RAM only (a memfd
 * owned by the store, never a file under STATE/data), for trees that must
 * not reach the disk. Such objects live until reaped or until the daemon
 * exits; their rows in meta.db hold only the block map. db locked. */
int store_create_memory(struct store *st, uint64_t *id_out);
int store_is_memory(struct store *st, uint64_t id);
/* How many objects are held in RAM now (for tests and describe). */
size_t store_memory_objects(struct store *st);

/* Load (or find in the cache) object id with its whole parent chain and pin
 * it. Returns NULL with errno set on failure. Takes db lock if it must load. */
struct dobj *store_get(struct store *st, uint64_t id);
/* Unpin. An unpinned object may be dropped from memory after being flushed;
 * takes db lock itself if it must flush, so the caller must not hold it. */
void store_put(struct store *st, struct dobj *o);

uint64_t store_id(const struct dobj *o);
int store_is_shared(const struct dobj *o); /* refs > 1: must cow before writing */

/* Copy-on-write, the one place that decides it: if *o is shared (refs >
 * 1), layer a new empty private child over it, move the caller's pin and
 * its holder's reference to the child, and return 1; 0 if *o was already
 * private (an atomic read, no db lock); negative errno on failure, with *o
 * unchanged. The holder (the namespace's row that references *o; NULL if
 * nothing records it) gets repoint(arg, id) inside the same change that
 * creates the child, so its row and the object rows commit together; a
 * negative return rolls the change back. Takes db lock itself. */
struct store_holder {
	int (*repoint)(void *arg, uint64_t id);
	void *arg;
};
int store_make_private(struct store *st, struct dobj **o, const struct store_holder *holder);

/* A new private object holding buf (len bytes at offset 0), for a file
 * whose bytes were kept elsewhere until now: the bytes are written and
 * made durable (fdatasync) before the change that creates the object's
 * row and repoints the holder commits, so that a crash after that commit
 * finds them on the disk. *out gets the object pinned, *delta its data
 * blocks. Takes db lock itself (the fdatasync runs under it). */
int store_create_filled(struct store *st, const void *buf, size_t len,
                        const struct store_holder *holder, struct dobj **out, int64_t *delta);

/* Fold a private layer that hides all of its parent: if o's own layer
 * defines every block holding data in its parent's view (a file rewritten
 * whole after a snapshot), o drops the parent,
 * its row and the parent's reference in one change with o's map, and
 * from then on reads, loads and opens like an object that was never
 * layered: no ancestor rows to load, no ancestor host files to open, no
 * chain to grow with each snapshot. The check resumes at the first map
 * leaf not yet covered, so it costs one leaf a call whatever the file's
 * size (and all of its leaves once over the layer's life). 1 if folded,
 * 0 if not, negative errno (o unchanged). The caller is o's only user
 * (its writer lock held) and does not hold the db lock. */
int store_fold(struct store *st, struct dobj *o);

/* Reference counting on object rows (db locked, inside the caller's
 * transaction). When refs reaches 0 the row and its map are deleted, the
 * parent is unreferenced in turn, and the host file is queued for unlink by
 * store_reap() once the caller has committed. */
int store_ref(struct store *st, uint64_t id, int delta);
/* Unlink the host files of objects whose rows were deleted by committed
 * transactions. Call after db_commit, without the db lock. While a group
 * transaction is open (meta/db.h) the files stay queued, since a crash would
 * bring their rows back: they go at the first call after db_group_commit. */
void store_reap(struct store *st);
/* After bulk SQL changes to dataobjs.refs (snapshot of a whole tree), reread
 * refs of every loaded object: 0, or -EIO when some could not be read
 * (those keep their count; the caller's change must fail). db locked. */
int store_reload_refs(struct store *st);

/* Number of blocks in [off, off+len) that do not hold data in the logical
 * view, i.e. how many blocks a write of that range would add. */
uint64_t store_absent_blocks(struct dobj *o, uint64_t off, uint64_t len);
/* Number of blocks holding data in the logical view (for st_blocks and
 * volume accounting). */
uint64_t store_data_blocks(struct dobj *o);

/* Read exactly len bytes of the logical view at off (holes read as zeros).
 * Returns len or a negative errno. The caller clamps to the file size. */
ssize_t store_read(struct dobj *o, void *buf, size_t len, uint64_t off);
/* Same into an iovec (for zero-copy replies). */
ssize_t store_readv(struct dobj *o, const struct iovec *iov, int iovcnt, uint64_t off);

/* store_read, without waiting for the disk: host bytes the page cache
 * lacks are left to the reader thread (fs/store/aread.c). Returns len or
 * -errno; *later is NULL when buf holds the whole view, else the reads
 * still to do, and then the caller either cancels them or starts them, with
 * the object and its layers kept from changing until they are done (as
 * store_read's caller does during the call). */
struct store_aread;
ssize_t store_read_nowait(struct dobj *o, void *buf, size_t len, uint64_t off,
                          struct store_aread **later);
/* Run on the reader thread once a started read is done: res is its length
 * or -errno, buf the buffer it was started with. */
typedef void (*store_aread_done)(void *arg, void *buf, ssize_t res);
/* Finish `later` into buf, which holds what store_read_nowait read (the
 * same buffer or a copy of it), on the reader thread; done is called
 * there. If no reader can run, it is finished here before returning. */
void store_aread_start(struct store_aread *later, void *buf, store_aread_done done, void *arg);
/* At most n workers at once read a cold read themselves (1 by default; 0:
 * every cold read goes to the reader thread). */
void store_set_cold_reads_here(int n);
/* Let go of reads not started (their host files). NULL is a no-op. */
void store_aread_cancel(struct store_aread *later);
/* Wait for every started read to be done and end the reader thread; the
 * next store_aread_start starts it again. */
void store_reader_stop(void);

/* Write len bytes at off into a private object. *delta gets the change in
 * data blocks (>= 0). Returns len or a negative errno (nothing in the map
 * changes on error). */
ssize_t store_write(struct dobj *o, const void *buf, size_t len, uint64_t off, int64_t *delta);

/* Overwrite len bytes at off where every block of the range already holds
 * data in this (private) object's own layer: no map change, so callers may
 * run it concurrently with each other and with reads while the map is kept
 * from changing. -EAGAIN if the range does not qualify (use store_write). */
ssize_t store_overwrite(struct dobj *o, const void *buf, size_t len, uint64_t off);

/* Make [off, off+len) read as zeros and free whole blocks (host hole
 * punch); partial blocks at the edges are zeroed in place (copied up first
 * when they live in a parent). *delta <= 0. */
int store_punch(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta);
/* store_punch in two steps, like store_truncate_map/_host below: the map
 * step (blocks leave the map, edges inherited from a parent are copied up
 * zeroed) returns 1 when the host step, run once the map has committed,
 * has bytes of this layer to punch or zero. */
int store_punch_map(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta);
int store_punch_host(struct dobj *o, uint64_t off, uint64_t len);
/* Reserve blocks in [off, off+len) (host fallocate); holes become data
 * blocks that read as zeros. *delta >= 0. */
int store_allocate(struct dobj *o, uint64_t off, uint64_t len, int64_t *delta);
/* Drop everything at or beyond newsize (the file shrank to newsize): whole
 * blocks are freed, the tail of the last partial block is zeroed, and the
 * parent is hidden from newsize on. *delta <= 0. */
int store_truncate(struct dobj *o, uint64_t newsize, int64_t *delta);
/* store_truncate in its two steps, for callers that must make the new map
 * durable before host bytes are destroyed. store_truncate_map changes the
 * map only (blocks past newsize leave the view; the tail of the last
 * partial block keeps its bytes until the second step) and returns 1 when
 * the host file holds bytes that store_truncate_host, called once the new
 * map and size have committed, will zero or free (0 when there are none).
 * A crash between the steps finds every byte the old map refers to. */
int store_truncate_map(struct dobj *o, uint64_t newsize, int64_t *delta);
int store_truncate_host(struct dobj *o, uint64_t newsize);

/* SEEK_DATA / SEEK_HOLE in the logical view, for a file of size `size`.
 * Returns the offset or -ENXIO as lseek(2) does. */
int64_t store_seek(struct dobj *o, uint64_t off, int whence, uint64_t size);

/* fdatasync the host file of this object (io_uring). */
int store_sync(struct dobj *o);

/* fdatasync with one device flush (fs/store/datasync.c), for a private
 * object whose map has only gained blocks since its last durable commit:
 * the host file's data, its allocation and, when the size or map changed,
 * a marker (a new generation and `size`, the file's size) become durable
 * in one fsync, and a crash is repaired from them at the next start
 * (store_repair_synced). 0 when nothing but data needed syncing, 1 when a
 * marker was written (the object's row must get its new generation at the
 * next group commit: the caller marks its inode dirty), -EAGAIN when this
 * object needs the two-flush path: store_sync, then a durable commit of
 * its size and map, then store_made_durable. The caller holds its inode's
 * lock shared, so that no map or size change runs meanwhile. */
int store_datasync(struct dobj *o, uint64_t size);
/* Where o's map stands, taken (inode lock held) before the two-flush
 * path's store_sync; once a commit after it is durable (db_sync),
 * store_made_durable(o, point, size) lets the next fdatasync take the
 * one-flush path, unless the map changed meanwhile. */
struct store_sync_point {
	uint64_t changes, gen;
};
struct store_sync_point store_sync_point(struct dobj *o);
void store_made_durable(struct dobj *o, struct store_sync_point p, uint64_t size);
/* A marker on o's host file may be newer than its durable row: a change
 * that destroys host bytes must commit durably (db_sync) first, since the
 * repair would otherwise trust the host file over a commit that a power
 * loss took back. */
int store_marker_ahead(struct dobj *o);

/* After an unclean stop, before anything is served: every private object
 * whose host file's marker is newer than its row gets its map rebuilt
 * from the host file and the marker's generation, committed. *out (to
 * free) lists them with the size the marker recorded, which the caller
 * gives the inode holding each. A negative errno when an object could not
 * be read or repaired: the caller must not go on to give back unmapped
 * blocks (store_reclaim_unmapped), which would drop its synced ones. db
 * locked. */
struct store_synced {
	uint64_t id, size;
};
int store_repair_synced(struct store *st, struct store_synced **out, size_t *count);
/* store_data_blocks of object id, loaded for the purpose (takes the db
 * lock itself). */
uint64_t store_view_blocks(struct store *st, uint64_t id);
/* Write this object's dirty map leaves and trunc_blk to the db. db locked. */
int store_flush(struct store *st, struct dobj *o);
/* Flush every dirty loaded object. db locked. */
int store_flush_all(struct store *st);

/* After SQLite rolled back a group whose commit failed: reread the refs of
 * loaded objects and write every loaded map again at the next flush.
 * db locked. */
void store_group_lost(struct store *st);
/* A loaded object whose row a lost group took (its creation was in that
 * group) gets its row back under its own id, with one reference (its
 * holder's, whose row the caller points at it in the same change), and
 * its whole map is written at the next flush: 1; 0 when its row was not
 * lost. The lost group's ids are not handed out to new objects meanwhile.
 * db locked, inside a change; store_revived once that change committed. */
int store_revive(struct store *st, struct dobj *o);
void store_revived(struct dobj *o);
/* Whether o's row was lost and not given back yet (a cheap look). */
int store_row_lost(struct dobj *o);

/* Data blocks that dropping one inode reference to object id would free:
 * all of its own data if that is its last reference (and, in turn, its
 * parent's gain); if its only other holder is one child layer, the blocks
 * that child shadows (they become unreachable and are trimmed). db locked. */
uint64_t store_release_gain(struct store *st, uint64_t id);

/* A set of physical blocks, (layer, block) pairs (fs/store/blockset.c).
 * store_blockset_add_view adds the data blocks object id's logical view
 * reads, each in the layer that holds it (shadowed blocks are not in
 * the view; a view added before adds nothing); 0 or -errno. db locked.
 * count_minus: |a \ b|. */
struct store_blockset;
struct store_blockset *store_blockset_new(void);
void store_blockset_free(struct store_blockset *s);
int store_blockset_add_view(struct store *st, struct store_blockset *s, uint64_t id);
uint64_t store_blockset_count_minus(const struct store_blockset *a, const struct store_blockset *b);
/* Layers the set holds blocks of (its memory goes with them). */
size_t store_blockset_layers(const struct store_blockset *s);

/* Data blocks held in object id's own layer (its host file), and its parent
 * id (0 if none). db locked. */
uint64_t store_own_blocks(struct store *st, uint64_t id, uint64_t *parent);

/* Host files that have no object row, at startup (fs/store/recover.c): a
 * file of an object a committed change deleted (or an empty one) is
 * removed; any other (its row never committed, or meta.db lost it) is
 * moved into the directory `lost` (created if needed). Returns 0, or
 * -EIO with nothing swept when the highest committed id cannot be read;
 * the counts go to *out. Afterwards an object created with an id above every
 * file left skips looking for a stale one. db locked. */
struct store_sweep {
	unsigned removed, moved;
};
int store_sweep_orphans(struct store *st, const char *lost, struct store_sweep *out);

/* After an unclean stop: punch the host blocks of every object that its
 * committed map does not hold as data (written before a group commit that
 * never came). Returns the bytes given back; *files gets how many host
 * files gave some. Reads every object's map: run it only after a crash.
 * db locked. */
uint64_t store_reclaim_unmapped(struct store *st, uint64_t *files);

/* Host-file path of an object (for --check and tests). */
void store_path(struct store *st, uint64_t id, char *buf, size_t len);

/* Consistency check: every dataobjs row's refs equals its users'
 * references + children; rows with unreadable host files, and maps holding data past
 * their host file's end (lost data), are reported through report(). Host
 * files without rows are not damage but cleanup the next start does
 * (store_sweep_orphans): they are only counted, in *pending. Returns the
 * number of problems. db locked. */
struct store_pending {
	unsigned deleted; /* files of deleted objects: removed at the next start */
	unsigned unknown; /* files no committed row knows: to lost+found */
};
/* Who outside the store references objects (the namespace's rows, which
 * the store does not read itself): each(arg, add, c) calls add(c, obj, n,
 * who) once for every object referenced, n times, `who` naming one of the
 * references for messages. 0 or -errno. db locked. */
typedef void (*store_user_fn)(void *c, uint64_t obj, uint64_t n, const char *who);
struct store_users {
	int (*each)(void *arg, store_user_fn add, void *c);
	void *arg;
};
int store_check(struct store *st, const struct store_users *users,
                void (*report)(void *arg, const char *msg), void *arg,
                struct store_pending *pending);

#endif
