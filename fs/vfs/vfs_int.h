/*
 * fs/vfs/vfs_int.h — shared internals of the namespace layer, for the
 * fs/vfs/ files only (everything else uses fs/vfs/vfs.h).
 *
 * Lock order (never take an earlier lock while holding a later one):
 *   tree->gate  ->  vnode->lock  ->  db lock (v->db->lock)  ->  vnode->alock, v->itab_lock,
 *                                                                v->reclaim_lock
 * tree->gate is taken shared by every data-changing operation and
 * exclusively by a freeze (snapshot), so a snapshot sees no half-done write.
 * vnode->lock guards a file's contents (shared for reads and for
 * overwrites of blocks the file's private object already holds, which
 * change no map; exclusive for other writes and size changes). Namespace changes (create, unlink, rename, ...)
 * run under the db lock inside one transaction. vnode->alock guards the
 * cached attributes; itab_lock guards the inode hash and the dirty list;
 * reclaim_lock the reclaimer's wake-ups. Every one of these is taken
 * through meta/lockrank.h (ranked_lock, ...), which checks this order in
 * the test builds; a function whose comment says "db locked" starts with
 * db_assert_locked(). trees_lock and lp_lock are plain mutexes outside the
 * order: they guard a list each and nothing is taken inside them.
 */
#ifndef VOLFS_FS_VFS_INT_H
#define VOLFS_FS_VFS_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "fs/vfs/vfs.h"
#include "meta/lockrank.h"

#define ITAB_BUCKETS (1u << 18)
/* Every change to a live tree goes through this daemon, i.e. through the
 * kernel, which updates or drops what it cached; what volfs changes on its
 * own (a volume deleted or recycled gets a new tree under its /pv name) is
 * invalidated explicitly. So the kernel may keep tree attributes, names and
 * negative names as long as it likes, as passthrough_ll's cache=always. */
#define TREE_ATTR_TIMEOUT 86400.0
#define TREE_ENTRY_TIMEOUT 86400.0
#define TREE_NEGATIVE_TIMEOUT 86400.0
/* /pv/<volume>: invalidated whenever the name's tree changes. */
#define VOLUME_ROOT_ENTRY_TIMEOUT 86400.0
/* A read-only alias (VFS_ALIAS_BIT) is a second view of a tree whose
 * changes the kernel only sees through the first: it may cache the
 * alias's names and attributes only briefly, negative names included. */
#define ALIAS_TIMEOUT 1.0
#define PREFERRED_IO_SIZE 131072

#define VFS_TREE_BUCKETS 4096

struct vtree {
	uint64_t id;
	/* The lineage the tree reads its rows at and, if writable, writes
	 * them in (fs/vfs/lineage.c); family: its lineage tree, the leading
	 * key of every row. A snapshot moves a live tree to a new lineage:
	 * changed under the db lock with the gate held exclusively, so either
	 * lock keeps it still. */
	_Atomic uint64_t lineage;
	uint64_t family;
	char kind[16];
	_Atomic uint64_t capacity; /* bytes */
	_Atomic int64_t used_blocks;
	_Atomic int64_t meta_bytes;  /* xattr names and values, symlink targets */
	_Atomic uint64_t inodes;     /* inode rows of the tree */
	_Atomic uint64_t inode_limit; /* 0: derived from the capacity */
	uint64_t next_ino; /* db locked */
	/* db locked: trees.next_ino as this tree last wrote or read it, at
	 * least next_ino (fs/vfs/dir.c, reserve_inos); 0 after a rollback
	 * may have taken the write away. */
	uint64_t ino_saved;
	int readonly;
	int memory; /* kind "memory": file contents in RAM only (store_mem.c) */
	_Atomic int dead;
	/* After a rolled-back change that branched it, its lineage could not
	 * be read back from meta.db: `lineage` may name one the rollback took
	 * away, so it takes no change until the lineage is read back
	 * (vfs_trees_resync, retried by the flusher). */
	_Atomic int lineage_lost;
	/* Whether `lineage` had a kept parent (KEPT_PARENT) at lineage
	 * generation `gen` (lineage_parent_kept). db locked. */
	struct {
		uint64_t gen, lineage;
		int kept;
	} kept_parent;
	pthread_rwlock_t gate;
	/* The freeze in progress, written by its thread with the gate held
	 * exclusively: when the gate closed, that thread's CPU time, commits
	 * and host flushes then, and the dirty inodes it flushed behind the
	 * gate (vfs_tree_freeze). */
	struct {
		uint64_t closed_ns, cpu_ns, commits, flushes;
		size_t inodes;
	} freeze;
	/* itab_lock: the tree's inodes in the table, so that dropping a
	 * deleted tree's data visits its own inodes, not every cached one. */
	struct vnode *vnodes;
	struct vtree *next;
};

/* The persistent attributes of an inode, as in the inodes table. */
struct vattr {
	uint32_t mode, uid, gid, nlink;
	uint64_t size, blocks, rdev;
	int64_t atime, mtime, ctime, btime; /* ns since the epoch */
	uint64_t obj;                       /* data object id, 0 = none yet */
};

struct vnode {
	uint64_t ino;
	struct vtree *tree;
	/* The lineage of the row version the attributes came from. Equal to
	 * the tree's lineage only once a committed row of the inode's own is
	 * there (vnode_own_row): until then the row, and the data object it
	 * references, may be a snapshot's, and must not change in place. */
	_Atomic uint64_t row_lineage;
	uint64_t nlookup; /* itab_lock */
	int nopen;        /* itab_lock */
	int ref;          /* itab_lock: operations in flight */
	int on_dirty;     /* itab_lock: on v->dirty */
	/* itab_lock: one thread claimed its eviction. Until that thread has
	 * checked again under the db lock, only holders of the db lock may
	 * take a reference; afterwards nobody may, and it is freed. */
	int evicting;
	/* db lock: DOOM_QUEUED, unlinked and forgotten, the dirty list holds
	 * it for the flusher to delete its row with others in one change;
	 * DOOM_DELETED, that change is done and it is only freed. */
	int doomed;
	int64_t doom_meta; /* db lock: the metadata bytes a queued row gives back */
	int dirty;        /* alock: attributes differ from the row */
	/* A change failed and so did the reread of the link count and times
	 * it had already changed in memory (fs/vfs/dir.c): they are reread
	 * before the inode is used again (vnode_get), never written back. */
	_Atomic int stale;
	_Atomic int xattrs; /* XATTRS_*: db lock to change */
	/* An inline file's bytes in meta.db plus one, 0 when not known
	 * (fs/vfs/inline.c): set with the lock held and the db lock, from
	 * what a change wrote or a read found, so that deleting the file
	 * needs no look at its rows. */
	_Atomic int inline_known;
	/* db lock: its inline bytes since their last change, until a group
	 * commit holds it (fs/vfs/inline_copy.c); NULL when none. */
	struct inline_copy *inline_copy;
	/* Opened through a read-only alias: the kernel caches the alias's
	 * pages apart from this inode's and sees no write to them, so every
	 * data change drops the changed range from the alias's cache too. */
	_Atomic int alias_opened;
	/* KVIEW_*: whether the kernel's own copy of size and mode is current
	 * (fs/vfs/kview.c). */
	_Atomic int kview;
	pthread_rwlock_t lock;
	/* Reads finishing on the reader thread (vfs_read_nowait): each began
	 * under lock and stands for it, shared, until done; an exclusive
	 * holder waits for none to be left (vnode_wrlock). */
	_Atomic int reads_out;
	pthread_mutex_t alock;
	struct vattr a;
	struct dobj *obj; /* lock: loaded data object, NULL until needed */
	struct vnode *hnext, *dnext;
	struct vnode *tnext, *tprev; /* itab_lock: tree->vnodes */
};

enum { DOOM_QUEUED = 1, DOOM_DELETED = 2 };

/* Whether an inode has extended attributes: the kernel asks for
 * security.capability before every write, and most files have none. */
enum { XATTRS_UNKNOWN = 0, XATTRS_NONE, XATTRS_SOME };

/* Since the kernel last took this inode's attributes from a reply: it has
 * written through its page cache (and so set the size itself), and the
 * daemon has changed size or mode behind its back (a notification). */
enum { KVIEW_WRITTEN = 1, KVIEW_CHANGED = 2 };
void kview_changed(struct vnode *n);
/* A write through f succeeded; ends_file: it ended at the end of the file. */
void kview_written(struct vfile *f, int ends_file);
/* Answering a GETATTR of n: 1 when the kernel keeps its own attributes
 * (the reply in flight was made stale), else 0. */
int kview_keep_kernel_attrs(struct vfs *v, struct vnode *n);

struct vfile {
	struct vnode *n; /* NULL for a projected file: its bytes are `data` */
	int flags;
	char *data;
	size_t len;
	struct vfile *onext, *oprev; /* itab_lock: v->open_files */
};

struct vfs {
	struct db *db;
	struct store *store;
	char *state_dir;
	int readonly;
	int running_marker; /* this daemon made STATE/data/.running (fs/vfs/state.c) */
	/* db lock: vfs_close has begun, so no flusher round is left to delete
	 * the rows of forgotten unlinked inodes: eviction deletes them. */
	int closing;
	pthread_mutex_t itab_lock;
	struct vnode **itab;
	struct vnode *dirty;
	/* itab_lock: every handle the kernel has not released yet; those left
	 * at vfs_close (a shutdown aborted the connection while a process
	 * held files open: no RELEASE comes) are freed there. */
	struct vfile *open_files;
	pthread_mutex_t trees_lock;
	/* Every tree served, hashed by id (a daemon may serve thousands). */
	struct vtree *trees[VFS_TREE_BUCKETS];
	struct vfs_notify notify;
	/* The kernel's writeback cache is on: it keeps the mtime and ctime
	 * of regular files and sends them in SETATTRs (vfs_kernel_keeps_times). */
	_Atomic int kernel_times;
	struct vfs_names names;
	struct vfs_provisioner lp;
	pthread_mutex_t lp_lock;
	struct lp_pending *lp_pending; /* lp_lock: sizes waiting for their mkdir */
	/* /snapshots/<ns> and /pvc/<ns> directories and /pvc/<ns>/<claim>
	 * links, by number: "s:NS", "c:NS", "l:NS/CLAIM" (trees_lock) */
	char **nsdirs;
	size_t n_nsdirs;
	int64_t mount_time; /* ns: times of the virtual directories */
	/* The reclaimer of released lineages (fs/vfs/lineage.c). */
	pthread_t reclaimer;
	int reclaimer_running;
	int reclaim_stop; /* reclaim_lock */
	int reclaim_kicked; /* reclaim_lock */
	/* Where the reclaimer's pass over a kept lineage's child stopped
	 * (fs/vfs/lineage.c, struct collect_cursor); db locked. */
	struct collect_cursor {
		uint64_t kept, child;
		unsigned lost_groups; /* db->lost_groups when it was set */
		int table;            /* 0 inodes, 1 dentries, 2 xattrs, 3 done */
		uint64_t family, key;
		char name[256];
		int valid;
	} collect;
	/* The reclaimer held off for a freeze (db_quiet): the thaw kicks it. */
	_Atomic int reclaim_held_off;
	pthread_mutex_t reclaim_lock;
	pthread_cond_t reclaim_cond;
	/* Some tree's lineage_lost is set. */
	_Atomic int lineages_lost;
	/* Bumped by every change to the lineages table (lineage_changed);
	 * with db->undo_gen, the lineage generation. db locked. */
	uint64_t lineage_gen;
	/* db lock: every inode's inline_copy (fs/vfs/inline_copy.c). */
	struct inline_copy *inline_copies;
};

int64_t vfs_now_ns(void);

/* inode.c */
struct vnode *vnode_get(struct vfs *v, uint64_t ino, int *err);        /* takes db lock if loading */
struct vnode *vnode_get_locked(struct vfs *v, uint64_t ino, int *err); /* db locked */
/* The columns of an inode row that vnode_get_row reads, in its order, of
 * the inodes table named i. */
#define INODE_ROW_COLUMNS                                                                      \
	"i.mode, i.uid, i.gid, i.nlink, i.size, i.blocks, i.rdev, i.atime, i.mtime, i.ctime, "    \
	"i.btime, i.obj, i.lineage, i.whiteout"
/* The same, reading the attributes of an inode not in memory from the
 * current row of `row` (from column `at`: INODE_ROW_COLUMNS) instead of
 * a query of its own. db locked. */
struct vnode *vnode_get_row(struct vfs *v, uint64_t ino, sqlite3_stmt *row, int at, int *err);
struct vnode *vnode_get_new(struct vfs *v, struct vtree *t, uint64_t local,
                            const struct vattr *a, int *err);          /* db locked */
void vnode_put(struct vfs *v, struct vnode *n);                        /* db NOT locked */
/* vfs_close: free the handles the kernel never released (their inodes'
 * nopen is reset with the inode table). */
void vfs_free_unreleased(struct vfs *v);
/* n's contents lock, exclusive, once no deferred read of n is in flight. */
void vnode_wrlock(struct vnode *n);
/* A deferred read of n is done (its reads_out was taken under the lock). */
void vnode_read_out_done(struct vnode *n);
void vnode_add_lookup(struct vfs *v, struct vnode *n);
void vnode_mark_dirty(struct vfs *v, struct vnode *n);
/* Only the flag, for an inode the caller keeps on the dirty list (or is
 * evicting): its attributes differ from its row. */
void vnode_set_dirty(struct vnode *n);
void vnode_attr(struct vnode *n, struct vattr *out);
void vnode_stat(struct vnode *n, struct stat *st);
void vattr_to_stat(uint64_t ino, const struct vattr *a, struct stat *st);
int vnode_flush(struct vfs *v, struct vnode *n); /* takes lock(shared) and db lock */
/* The same with n's contents lock held (either way) and the db locked. */
int vnode_flush_locked(struct vfs *v, struct vnode *n);
int vnode_write_row_locked(struct vfs *v, struct vnode *n); /* db locked */
/* The same after a change of the link count and times (db locked). */
int vnode_write_nlink_locked(struct vfs *v, struct vnode *n);
int vnode_insert_row(struct vfs *v, struct vtree *t, uint64_t local, const struct vattr *a,
                     const char *target);       /* db locked */
/* Give n a row version of its tree's own lineage before it changes (one
 * committed change copying the visible version up, with one more
 * reference to its data object): db locked, outside a change. A no-op
 * once the row is the tree's own, and for read-only trees. */
int vnode_own_row(struct vfs *v, struct vnode *n);
int vnode_load_obj(struct vfs *v, struct vnode *n, int create); /* lock held exclusively if create */
/* The namespace's side of a data object's life: the inode row that
 * references it. vnode_repoint (a store_holder callback, arg a struct
 * vnode_holder) points n's attributes and row at object id, inside the
 * caller's change (db locked); a caller whose change then fails calls
 * vnode_set_obj to point n back at what it had. */
struct vnode_holder {
	struct vfs *v;
	struct vnode *n;
};
int vnode_repoint(void *holder, uint64_t id);
void vnode_set_obj(struct vnode *n, uint64_t id);
/* Remove inode `local` from the view of lineage `lineage` (a whiteout if
 * an older version is visible), with its own xattr rows and its data
 * object reference; t (may be NULL) gets the inode and its metadata bytes
 * back: `meta` when the caller knows them (an inode in memory without
 * xattrs or symlink target: 0), VNODE_META_UNKNOWN to count them from the
 * rows. db locked, inside a change. */
#define VNODE_META_UNKNOWN (-1)
/* kept: lineage_parent_kept of the tree reading `lineage`, or 1 where no
 * tree is at hand (the statement then finds out itself). */
int vnode_row_delete(struct vfs *v, uint64_t family, uint64_t lineage, uint64_t local,
                     struct vtree *t, int64_t meta, int kept);
void vnode_drop_tree(struct vfs *v, struct vtree *t);
int vnodes_flush_dirty(struct vfs *v, uint64_t only_tree);
/* The same, saying how many inodes it flushed (or tried to). */
int vnodes_flush_dirty_counted(struct vfs *v, uint64_t only_tree, size_t *flushed);
void vnodes_group_lost(struct vfs *v); /* db locked */

/* Inline data (fs/vfs/inline.c). A regular file of a disk-backed tree
 * that has no data object keeps its bytes (up to its size; what is past
 * them reads as zeros) in a version of xattr VFS_INLINE_NAME, a name the
 * kernel never passes (no user., trusted., security. or system. prefix)
 * and the xattr calls hide: snapshots, clones, restore, deletion, reclaim
 * and the capacity's metadata bytes treat it as any xattr. While its size
 * stays at most VFS_INLINE_MAX it needs no host file; a change past that
 * moves the bytes into a new object (inline_spill), for good.
 * 944: the largest round size whose row SQLite keeps whole in a page of
 * the xattrs b-tree. xattrs is a WITHOUT ROWID table, whose pages hold a
 * record of at most (4096 - 12) * 64 / 255 - 23 = 1,002 bytes in place;
 * a longer one keeps 489 bytes there and the rest in overflow pages of
 * 4 KiB each, so a row just past that costs more than the host block the
 * file would take (at btrfs's 2,048, meta.db grows 4.7 KiB a 1 KiB file).
 * The key columns take at most 44 bytes of the 1,002
 * (three 8-byte integers, the 12-byte name, the record header), and
 * rows of at most 944 bytes fit four to a page. */
#define VFS_INLINE_MAX 944
#define VFS_INLINE_NAME "volfs.inline"
/* Whether n keeps its bytes inline: a regular file of a disk-backed tree
 * with no data object. n's lock held (either way), or alock. */
int inline_file(const struct vnode *n);
/* The metadata bytes inline bytes count (their row, as an xattr's). */
int64_t inline_meta(size_t len);
/* The metadata bytes n's inline bytes count, VNODE_META_UNKNOWN when not
 * known without a look at the rows (0 for no inline file). db locked. */
int64_t inline_known_meta(struct vnode *n);
/* Read [off, off+len) of an inline file, len already clamped to its size:
 * len. n's lock held; takes the db lock. */
ssize_t inline_read(struct vfs *v, struct vnode *n, void *buf, size_t len, uint64_t off);
/* Whether a change leaving an inline file `end` bytes long (or touching
 * bytes up to end) keeps it inline. */
int inline_keeps(const struct vnode *n, uint64_t end);
/* A write of an inline file ending at most at VFS_INLINE_MAX: the bytes,
 * the size and the times in one change. n's lock held exclusively, the
 * db not. */
ssize_t inline_write(struct vfs *v, struct vnode *n, const void *buf, size_t len, uint64_t off,
                     int kernel_times);
/* A size change of an inline file to at most VFS_INLINE_MAX (any shrink):
 * bytes past the new size go in the same change as the size. n's lock
 * held exclusively, the db not. */
int inline_truncate(struct vfs *v, struct vnode *n, uint64_t size);
/* Give an inline file a data object holding its bytes, under its lock
 * held exclusively (db not locked): 1 when it had no bytes to move (the
 * caller creates an empty object), 0 when n->obj is the new object. */
int inline_spill(struct vfs *v, struct vnode *n);
/* The inline rows tree `tree` sees (at family, lineage) are consistent
 * with their inodes: no longer than the size, no data object beside them.
 * The problems found. db locked. */
int inline_check(struct vfs *v, uint64_t tree, uint64_t family, uint64_t lineage,
                 void (*report)(void *arg, const char *msg), void *arg);

/* The copy of an inline file's bytes kept from their change until a group
 * commit holds it, the bytes themselves after a lost group until written
 * back (fs/vfs/inline_copy.c). All db locked. */
struct inline_copy;
/* A copy of len bytes (at most VFS_INLINE_MAX), not kept yet: NULL when
 * out of memory. */
struct inline_copy *inline_copy_new(const char *b, size_t len);
/* c becomes n's copy (after the change that wrote its bytes committed
 * into the group); the one n had is freed. */
void inline_copy_keep(struct vfs *v, struct vnode *n, struct inline_copy *c);
/* n's copy goes: its bytes left the inline row (a spill), or n is freed. */
void inline_copy_drop(struct vfs *v, struct vnode *n);
/* n's bytes from its copy (*val malloc'd, NULL for none): 1, 0 when n
 * keeps none (its row has the bytes), -ENOMEM. */
int inline_copy_bytes(struct vfs *v, struct vnode *n, char **val, size_t *len);
/* inline_read's bytes from n's copy: 1, or 0 when n keeps none. */
int inline_copy_read(struct vfs *v, struct vnode *n, void *buf, size_t len, uint64_t off);
/* A group committed: the copies it holds are freed. */
void inline_copies_committed(struct vfs *v);
/* A group was lost: every copy is the bytes of its file now. */
void inline_copies_lost(struct vfs *v);
/* Whether n keeps a copy a lost group left unwritten (a copy of a file
 * that took a data object since is dropped: 0). */
int inline_copy_lost(struct vfs *v, struct vnode *n);
/* Write n's lost copy back as its inline row, with n's row, in a change of
 * its own: n keeps one (inline_copy_lost), its row the tree's own; outside
 * a change, n's lock held either way. */
int inline_copy_restore(struct vfs *v, struct vnode *n);

/* xattr.c, for inline data: the statement over xattr `name` of n
 * (?1 family, ?2 ino, ?3 name, ?4 the tree's lineage); the visible value
 * (*val NULL, *len 0 when none; malloc'd); a version in n's tree's
 * lineage set or removed (a whiteout where an older one is visible),
 * inside the caller's change with n's row the tree's own. db locked. */
sqlite3_stmt *xattr_stmt(struct vfs *v, const char *sql, struct vnode *n, const char *name);
int xattr_row_value(struct vfs *v, struct vnode *n, const char *name, char **val, size_t *len);
int xattr_row_put(struct vfs *v, struct vnode *n, const char *name, const void *val, size_t len);
int xattr_row_remove(struct vfs *v, struct vnode *n, const char *name);

/* Row versions (fs/vfs/lineage.c). A version of a key in lineage X is
 * visible from lineage L when X is L or an ancestor of L; the newest
 * visible version is the one with the largest X, since a lineage's id is
 * larger than its ancestors'. L's ancestors are kept as disjoint spans of
 * ids (`ancestor_spans`): the lineages of L's family inside them are
 * exactly L and its ancestors, and every query names the family. Queries
 * scan the versions of one key through the (family, key..., lineage)
 * index and probe for each the one span of L that could hold X, the one
 * starting last at or before X (two index seeks whatever the number of
 * spans); CROSS JOIN keeps SQLite from iterating the spans first.
 * NEWER_VISIBLE(t, x, key, L) is true when row x of table t has a newer
 * visible version (key: the columns after family that name the row, ANDed
 * as "j.c = x.c"). */
#define IN_SPAN(s, x, L)                                                                       \
	" CROSS JOIN ancestor_spans " s " ON " s ".id=" L " AND " s ".lo=(SELECT f_.lo FROM "     \
	"ancestor_spans f_ WHERE f_.id=" L " AND f_.lo<=" x ".lineage ORDER BY f_.lo DESC "       \
	"LIMIT 1) AND " s ".hi>=" x ".lineage "
#define VISIBLE(x, L) IN_SPAN("a_", x, L)
#define NEWER_VISIBLE(t, x, key, L)                                                            \
	"EXISTS (SELECT 1 FROM " t " j" IN_SPAN("b_", "j", L) "WHERE j.family=" x ".family AND "  \
	key " AND j.lineage>" x ".lineage)"

/* The released lineage whose only child is lineage L, or NULL: a kept
 * lineage above a writable one (fs/vfs/lineage.c), or one the reclaimer
 * has not settled yet. Only L reads its versions, so once L writes a key
 * (L a writable tree's lineage: always a leaf), the kept version of that
 * key is seen by nobody, and the same change drops it or moves it into L. */
#define KEPT_PARENT(L)                                                                         \
	"(SELECT kp_.id FROM lineages kl_ JOIN lineages kp_ ON kp_.id=kl_.parent WHERE kl_.id="   \
	L " AND kp_.dead<>0 AND NOT EXISTS (SELECT 1 FROM lineages ks_ WHERE ks_.parent=kp_.id "  \
	"AND ks_.id<>kl_.id))"

/* A family's root lineage has the family's id, and no lineage ever
 * becomes the parent of an older one (ids only grow; the reclaimer moves a
 * dead root's child up, under its own id): so the root has no ancestors,
 * and no version of any key older than its own, nor a whiteout (one is
 * only written over an older version). Any other lineage may have them. */
static inline int lineage_has_ancestors(uint64_t family, uint64_t lineage)
{
	return lineage != family;
}
/* Whether tree t's lineage may have a kept parent: 0 only when
 * KEPT_PARENT of it is certainly NULL, so that its writes can skip the
 * statements that settle kept versions (fs/vfs/lineage.c). db locked. */
int lineage_parent_kept(struct vfs *v, struct vtree *t);
int lineage_new_root(struct vfs *v, uint64_t *id);                  /* db locked */
int lineage_new_child(struct vfs *v, uint64_t parent, uint64_t *id); /* db locked */
/* No tree reads lineage id any more: the reclaimer takes it. db locked. */
int lineage_release(struct vfs *v, uint64_t id);
int lineage_family(struct vfs *v, uint64_t id, uint64_t *family);  /* db locked */
int lineage_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg);
void reclaim_start(struct vfs *v);
void reclaim_stop(struct vfs *v);

/* tree.c */
struct vtree *tree_of(struct vfs *v, uint64_t ino);
int tree_reserve(struct vtree *t, uint64_t blocks);
/* One more inode, or -ENOSPC at the tree's inode limit; and one less. */
int tree_take_inode(struct vtree *t);
void tree_give_inode(struct vtree *t);
/* Metadata bytes counted against the capacity: a growth that does not fit
 * beside the data fails with -ENOSPC; a shrink always succeeds. */
int tree_take_meta(struct vtree *t, int64_t delta);
int host_space_ok(struct vfs *v, uint64_t blocks);
void tree_unreserve(struct vtree *t, uint64_t blocks);
void tree_account(struct vtree *t, int64_t delta);
int tree_load_all(struct vfs *v);
int tree_empty_memory_trees(struct vfs *v);
void tree_free_all(struct vfs *v);

/* dir.c */
/* virt.c: the virtual directories of tree 0. Numbered names: a key of
 * type (one letter) and text gets an inode number for the mount's life. */
#define VIRT_KEY_MAX 4096
uint64_t virt_numbered_ino(struct vfs *v, char type, const char *key);
char virt_numbered_key(struct vfs *v, uint64_t ino, char *key, size_t len);
void virt_entry(struct vfs *v, uint64_t ino, struct vfs_entry *e);
int virt_is_dir(struct vfs *v, uint64_t ino);
int virt_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *e);
int virt_readdir(struct vfs *v, uint64_t ino, int64_t off, vfs_fill_fn fill, void *arg);
int virt_readlink(struct vfs *v, uint64_t ino, char *buf, size_t len);
int virt_open(struct vfs *v, uint64_t ino, int flags, char **data, size_t *len);

/* virt_lp.c: MOUNT/local-path/ (names of tree 0 typed 'z' and 'L'). */
int lp_lookup(struct vfs *v, const char *name, struct vfs_entry *e);
int lp_readdir(struct vfs *v, int64_t off, vfs_fill_fn fill, void *arg);
int lp_link_entry(struct vfs *v, uint64_t ino, char type, const char *key, struct vfs_entry *e);
int lp_readlink(struct vfs *v, char type, const char *key, char *buf, size_t len);
int lp_pv_entry(struct vfs *v, const char *pv, struct vfs_entry *e); /* -ENOENT: not local-path's */
int lp_pv_is_link(struct vfs *v, const char *pv);                   /* db locked */
int lp_mkdir(struct vfs *v, const char *name, struct vfs_entry *e);
int lp_symlink(struct vfs *v, const char *name, const char *target, struct vfs_entry *e);
int lp_unlink(struct vfs *v, const char *name);
int lp_rmdir(struct vfs *v, const char *name);
int lp_rename(struct vfs *v, const char *name, uint64_t newparent, const char *newname,
              unsigned flags);
void lp_free(struct vfs *v);

/* projected.c: configMap, secret, downwardAPI and projected volumes. */
int proj_entry(struct vfs *v, uint64_t ino, char type, const char *key, struct vfs_entry *e);
int proj_lookup(struct vfs *v, char type, const char *key, const char *name, struct vfs_entry *e);
int proj_readdir(struct vfs *v, char type, const char *key, int64_t off, vfs_fill_fn fill, void *arg);
int proj_readlink(struct vfs *v, const char *key, char *buf, size_t len);
int proj_open(struct vfs *v, const char *key, int flags, char **data, size_t *len);

/* dir.c, shared with virt.c */
void entry_of(struct vnode *n, struct vfs_entry *e);
void alias_entry(struct vfs_entry *e); /* make e's numbers alias numbers */
int reply_entry(struct vfs *v, struct vnode *n, struct vfs_entry *e);
int fill_dir_type(vfs_fill_fn fill, void *arg, const char *name, uint64_t ino, mode_t mode,
                  int64_t next);
int tree_writable(struct vfs *v, uint64_t ino);
/* Whether tree t takes changes: 0, -EROFS (read-only tree or daemon),
 * -ESTALE (deleted) or -EIO (its lineage is lost). */
int tree_takes_changes(struct vfs *v, struct vtree *t);

#endif
