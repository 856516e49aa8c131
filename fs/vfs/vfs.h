/*
 * fs/vfs/vfs.h — the namespace layer: inodes, directories, links, attributes,
 * xattrs and file contents of every tree (volume or snapshot) served under
 * the mount point, plus the read-only virtual directories around them
 * (/pv, /pvc, /pods, /snapshots). It knows nothing of FUSE: ll.c translates.
 *
 * Inode numbers: ino = tree << VFS_TREE_SHIFT | local. Tree 0 holds the
 * virtual directories (local 1 is the mount root, so FUSE_ROOT_ID == 1);
 * every other tree's root directory is local 1. Tree ids and local numbers
 * are never reused, so the generation is always 0.
 *
 * Reference counts follow libfuse's passthrough_ll: every successful entry
 * reply (lookup, create, mkdir, mknod, symlink, link) adds one kernel lookup;
 * vfs_forget() drops them. An inode stays in memory while the kernel knows
 * it, a file handle is open, or an operation is in flight.
 */
#ifndef VOLFS_FS_VFS_H
#define VOLFS_FS_VFS_H

#include <stdint.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "fs/store/store.h"
#include "meta/db.h"

/* A read-only alias of a tree (a pod's readOnly or ReadOnlyMany claim
 * under MOUNT/pods): the same inodes with this bit set in their numbers.
 * Every operation takes the real inode; lookups and listings under an
 * alias give alias numbers, so the kernel never leaves it; every change
 * through one fails with EROFS. Lookup counts are the real inode's (the
 * kernel's forget of an alias number drops them). */
#define VFS_ALIAS_BIT (1ULL << 63)
#define VFS_IS_ALIAS(ino) (((ino) & VFS_ALIAS_BIT) != 0)
#define VFS_REAL_INO(ino) ((ino) & ~VFS_ALIAS_BIT)

#define VFS_TREE_SHIFT 40
#define VFS_LOCAL_MASK ((1ULL << VFS_TREE_SHIFT) - 1)
#define VFS_INO(tree, local) (((uint64_t)(tree) << VFS_TREE_SHIFT) | (local))
#define VFS_TREE_OF(ino) ((ino) >> VFS_TREE_SHIFT)
#define VFS_LOCAL_OF(ino) ((ino) & VFS_LOCAL_MASK)

/* Virtual directories (tree 0). */
enum { VINO_ROOT = 1, VINO_PV = 2, VINO_PVC = 3, VINO_PODS = 4, VINO_SNAPSHOTS = 5,
       VINO_LOCAL_PATH = 6 };
/* /snapshots/<ns>, /pvc/<ns> and /pvc/<ns>/<claim> get numbers from here
 * on, as they are seen. */
#define VINO_NSDIR_BASE 0x1000
#define VINO_NSDIR_MAX 0xfffff

struct vfs;
struct vnode;
struct vtree;

struct vfs_entry {
	uint64_t ino;
	struct stat st;
	double attr_timeout;
	double entry_timeout;
};

struct vfs_ctx {
	uid_t uid;
	gid_t gid;
	pid_t pid;
};

/* Hooks the FUSE glue installs so the namespace layer can tell the kernel
 * to drop cached names when the control plane changes a virtual directory,
 * and a file's cached pages (and attributes) when its data changes by a
 * path the kernel does not see: len 0 means from off to the end. */
struct vfs_notify {
	void (*inval_entry)(void *arg, uint64_t parent, const char *name);
	void (*inval_inode)(void *arg, uint64_t ino, int64_t off, int64_t len);
	/* With the kernel's writeback cache: make it write back every dirty
	 * page (at least those of tree TREE's files) and wait for the WRITEs
	 * (NULL without the cache). Called with no lock held, since the
	 * WRITEs it waits for take the gates and the inodes' locks. */
	void (*writeback)(void *arg, uint64_t tree);
	void *arg;
};

int vfs_open_state(struct vfs **out, const char *state_dir, int readonly, char *err, size_t errlen);
void vfs_close(struct vfs *v);
void vfs_set_notify(struct vfs *v, const struct vfs_notify *n);
/* The kernel caches writes (its writeback cache) and so keeps regular
 * files' mtime and ctime, sending them with its writes: a WRITE then sets
 * neither, or it would overwrite the kernel's times with those of its
 * later arrival. */
void vfs_kernel_keeps_times(struct vfs *v);
/* Tell the kernel a name in a virtual directory went away. */
void vfs_invalidate_name(struct vfs *v, uint64_t parent, const char *name);
/* Tell the kernel a file's data changed by a path it did not see: drop
 * its cached pages from off (len bytes; 0: to the end) and attributes. */
void vfs_invalidate_data(struct vfs *v, uint64_t ino, uint64_t off, uint64_t len);
/* Tell the kernel a file's attributes changed without a request of its. */
void vfs_invalidate_attrs(struct vfs *v, uint64_t ino);
/* ... and MOUNT/snapshots/<ns>/<name>. */
void vfs_invalidate_snapshot(struct vfs *v, const char *ns, const char *name);
struct db *vfs_db(struct vfs *v);
struct store *vfs_store(struct vfs *v);

/* Write every dirty inode and block map to meta.db (group commit point). */
int vfs_flush_all(struct vfs *v);
/* The flusher's periodic round: vfs_flush_all, unless a freeze is holding
 * writers now (its request flushes after the thaw); first, another try at
 * reading back lineages a rolled-back change left unknown. */
int vfs_flush_background(struct vfs *v);

/* Namespace operations. Return 0 or a negative errno. On -ENOENT,
 * vfs_lookup sets e->ino = 0 and e->entry_timeout to how long the kernel
 * may cache the absence. */
int vfs_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *e);
void vfs_forget(struct vfs *v, uint64_t ino, uint64_t nlookup);
/* Fills st and returns 0, or 1 when, besides, the kernel's own copy of the
 * attributes is current and it was made to drop the reply in flight, so
 * it keeps that copy (fs/vfs/kview.c); or a negative errno. */
int vfs_getattr(struct vfs *v, uint64_t ino, struct stat *st);
/* How long the kernel may cache the attributes of ino (seconds). */
double vfs_attr_timeout(uint64_t ino);
/* to_set uses the FUSE_SET_ATTR_* bit values (see vfs.c) */
int vfs_setattr(struct vfs *v, uint64_t ino, const struct stat *in, int to_set,
                const struct vfs_ctx *c, struct stat *out);
int vfs_mknod(struct vfs *v, uint64_t parent, const char *name, mode_t mode, dev_t rdev,
              const struct vfs_ctx *c, struct vfs_entry *e);
int vfs_mkdir(struct vfs *v, uint64_t parent, const char *name, mode_t mode,
              const struct vfs_ctx *c, struct vfs_entry *e);
int vfs_symlink(struct vfs *v, uint64_t parent, const char *name, const char *target,
                const struct vfs_ctx *c, struct vfs_entry *e);
int vfs_link(struct vfs *v, uint64_t ino, uint64_t newparent, const char *newname,
             struct vfs_entry *e);
int vfs_unlink(struct vfs *v, uint64_t parent, const char *name);
int vfs_rmdir(struct vfs *v, uint64_t parent, const char *name);
int vfs_rename(struct vfs *v, uint64_t parent, const char *name, uint64_t newparent,
               const char *newname, unsigned flags);
int vfs_readlink(struct vfs *v, uint64_t ino, char *buf, size_t len);

/* Directories: the callback returns nonzero when its buffer is full. The
 * offset passed to it is the cookie that resumes after that entry. */
typedef int (*vfs_fill_fn)(void *arg, const char *name, const struct stat *st, int64_t next);
int vfs_opendir(struct vfs *v, uint64_t ino);
int vfs_readdir(struct vfs *v, uint64_t ino, int64_t off, vfs_fill_fn fill, void *arg);

/* Files. A handle pins the inode; flags are the open(2) flags. */
struct vfile;
int vfs_open(struct vfs *v, uint64_t ino, int flags, struct vfile **fh);
int vfs_create(struct vfs *v, uint64_t parent, const char *name, mode_t mode, int flags,
               const struct vfs_ctx *c, struct vfs_entry *e, struct vfile **fh);
ssize_t vfs_read(struct vfs *v, struct vfile *f, void *buf, size_t len, uint64_t off);
/* vfs_read, except that host bytes not in the page cache are not waited
 * for: then *later is set (else NULL), the result is the read's length
 * and buf holds only part of it until the read is finished (or
 * cancelled). Until then the read stands for the file's contents lock
 * held shared: every change of the file waits for it. */
struct vfs_deferred_read;
ssize_t vfs_read_nowait(struct vfs *v, struct vfile *f, void *buf, size_t len, uint64_t off,
                        struct vfs_deferred_read **later);
/* res: the read's length or -errno; buf: the buffer it was finished into. */
typedef void (*vfs_read_done)(void *arg, void *buf, ssize_t res);
/* Finish the read into buf (holding what vfs_read_nowait put in its own
 * buffer: the same one or a copy) on the reader thread, which calls done
 * with the file's lock free again. */
void vfs_read_finish(struct vfs_deferred_read *later, void *buf, vfs_read_done done, void *arg);
/* Give up a deferred read without finishing it. */
void vfs_read_cancel(struct vfs_deferred_read *later);
/* Wait until every finishing read is done, and stop the reader thread. */
void vfs_drain_reads(void);
ssize_t vfs_write(struct vfs *v, struct vfile *f, const void *buf, size_t len, uint64_t off);
/* vfs_write that first kills privileges as vfs_file_kill_privs does: kill
 * is a set of VFS_KILL_*; *killed (if not NULL) is 1 when that changed the
 * file (the kernel's cached attributes are then stale), else 0. */
enum { VFS_KILL_SUIDGID = 1, VFS_KILL_CAPS = 2 };
ssize_t vfs_write_kill(struct vfs *v, struct vfile *f, const void *buf, size_t len, uint64_t off,
                       unsigned kill, int *killed);
/* Whether a descriptor opened with these open(2) flags writes around the
 * kernel's page cache (fs/vfs/kview.c). */
int vfs_writes_direct(int flags);
/* Kill privileges as a local filesystem's write, truncation or chown does,
 * where the kernel leaves it to the filesystem: with kill_suidgid clear
 * the set-user-ID bit and, on a group-executable file, set-group-ID; with
 * drop_caps remove security.capability. 1 when the file changed (the
 * kernel's cached attributes are then stale), else 0. */
int vfs_kill_privs(struct vfs *v, uint64_t ino, int kill_suidgid, int drop_caps);
/* The same for the file an open descriptor names (a write's). */
int vfs_file_kill_privs(struct vfs *v, struct vfile *f, int kill_suidgid, int drop_caps);
int vfs_fsync(struct vfs *v, uint64_t ino, int datasync);
/* Log every fsync slower than ns (0: none) with where its time went: the
 * data file's flush, waiting for the db lock, the group commit, the WAL's
 * flush; and every one-flush fdatasync slower than ns (all of it the data
 * file's flush). Set once at start (VOLFS_TRACE_SLOW). */
void vfs_trace_fsync(uint64_t ns);
int vfs_release(struct vfs *v, struct vfile *f);
/* Call fn(arg, ino), without any lock held, for each regular file a handle
 * not yet released may write through (O_WRONLY, O_RDWR; a shared mapping
 * keeps its handle): the only files the kernel can hold dirty pages of;
 * those of tree TREE only, or of every tree when TREE is 0. Returns how
 * many calls. */
int vfs_for_each_open_writable(struct vfs *v, uint64_t tree, void (*fn)(void *arg, uint64_t ino),
                               void *arg);
int vfs_fallocate(struct vfs *v, uint64_t ino, int mode, uint64_t off, uint64_t len);
int64_t vfs_lseek(struct vfs *v, uint64_t ino, int64_t off, int whence);
int vfs_statfs(struct vfs *v, uint64_t ino, struct statvfs *sv);
/* The size of the host filesystem holding the state directory. */
uint64_t vfs_host_bytes(struct vfs *v);

/* Extended attributes: get/list return the size (or -ERANGE when len is
 * nonzero and too small); len 0 asks for the size only. */
int vfs_setxattr(struct vfs *v, uint64_t ino, const char *name, const void *val, size_t len,
                 int flags);
ssize_t vfs_getxattr(struct vfs *v, uint64_t ino, const char *name, void *buf, size_t len);
ssize_t vfs_listxattr(struct vfs *v, uint64_t ino, char *buf, size_t len);
int vfs_removexattr(struct vfs *v, uint64_t ino, const char *name);

/* Trees (used by the volume layer). A tree of kind VFS_KIND_MEMORY keeps
 * its files' contents in RAM only (an emptyDir with medium: Memory): it
 * is not bounded by the host disk, and a restart finds it empty. */
#define VFS_KIND_MEMORY "memory"
int vfs_tree_attach(struct vfs *v, uint64_t tree_id, const char *kind, uint64_t capacity,
                    int readonly);
void vfs_tree_detach(struct vfs *v, uint64_t tree_id);
/* After detaching: let go of the data objects that inodes of the tree the
 * kernel still remembers hold, so that its files' space (a memory tree's
 * RAM, a volume's host files) is freed now, not when the kernel forgets
 * them. Takes the inodes' locks: call without the db lock. */
void vfs_tree_drop_data(struct vfs *v, uint64_t tree_id);
struct vtree *vfs_tree_get(struct vfs *v, uint64_t tree_id);
/* What the volume holds: data blocks plus metadata bytes (xattrs, symlink
 * targets); data alone. */
uint64_t vfs_tree_used_bytes(struct vtree *t);
uint64_t vfs_tree_data_bytes(struct vtree *t);
/* The inode limit (explicit, or one per VFS_BYTES_PER_INODE of capacity)
 * and how many inodes the tree has. */
#define VFS_BYTES_PER_INODE 4096
uint64_t vfs_tree_inode_limit(struct vtree *t);
uint64_t vfs_tree_inodes(struct vtree *t);
/* Give tree_id an explicit inode limit (0: derive it from the capacity).
 * db locked, inside the caller's transaction; the limit applies once the
 * tree is attached (or at once if it already is). */
int vfs_tree_set_inode_limit(struct vfs *v, uint64_t tree_id, uint64_t limit);
uint64_t vfs_tree_capacity(struct vtree *t);
/* Bytes a write to t can still take: min(capacity - used, what the host
 * filesystem leaves to data). */
uint64_t vfs_tree_available_bytes(struct vfs *v, struct vtree *t);
int vfs_tree_set_capacity(struct vfs *v, uint64_t tree_id, uint64_t capacity);
/* Rows of trees (db locked, inside the caller's transaction). create makes
 * the tree row and its root directory (mode 0777, like local-path volumes);
 * delete drops the tree row and releases its lineage: the reclaimer then
 * deletes the rows nobody else sees and unreferences their data objects. */
int vfs_tree_create_rows(struct vfs *v, const char *kind, uint64_t capacity, uint64_t origin,
                         uint64_t *tree_id);
int vfs_tree_delete_rows(struct vfs *v, uint64_t tree_id);
/* A new tree (kind "snapshot" or "volume") with the contents of src, sharing
 * its rows and data objects copy-on-write, in O(1) whatever src holds.
 * Freeze src first unless it is read-only; a writable src moves to a new
 * lineage (call vfs_trees_resync if the caller's change fails). */
int vfs_tree_copy_rows(struct vfs *v, uint64_t src, const char *kind, uint64_t capacity,
                       uint64_t *tree_id);

/* After a change that branched trees failed (or a group was lost): the
 * trees' lineages as meta.db has them. db locked. */
void vfs_trees_resync(struct vfs *v);
/* One page of the data objects of the files tree_id sees: up to max of
 * them, of the inodes numbered above *after_ino, which moves to the last
 * one read; fewer than max at the end. The number read, or -errno. A caller
 * walks a large tree page by page, releasing the db lock in between, so no
 * one hold reads more than max rows. db locked. */
long vfs_tree_objs_page(struct vfs *v, uint64_t tree_id, uint64_t *after_ino, uint64_t *objs,
                        size_t max);
/* What the views of volume `tree`'s snapshots read and what its own view
 * reads, in one pass over its family's inode versions, each read once
 * (fs/vfs/views_scan.c): a step does one page of up to max rows (db
 * locked; the caller releases the lock between steps) and calls fn for
 * each data object of a version that one of the views reads, with
 * VFS_SEEN_* bits saying whose (an object several versions hold comes
 * once each). fn returns 0, or -errno to stop the scan with. A step
 * returns 1 while there is more, 0 once done, or -errno (-ENOENT: no
 * such tree). */
#define VFS_SEEN_BY_SNAPSHOTS 1u
#define VFS_SEEN_BY_VOLUME 2u
struct vfs_views_scan;
struct vfs_views_scan *vfs_views_scan_new(uint64_t tree); /* NULL when out of memory */
int vfs_views_scan_step(struct vfs *v, struct vfs_views_scan *s, size_t max,
                        int (*fn)(void *arg, uint64_t obj, unsigned seen), void *arg);
/* Inode row versions read so far. */
uint64_t vfs_views_scan_rows(const struct vfs_views_scan *s);
void vfs_views_scan_free(struct vfs_views_scan *s);
/* Data objects whose rows tree_id's deletion would drop: those of its
 * lineage that its single successor has replaced. db locked. */
int vfs_tree_each_own_obj(struct vfs *v, uint64_t tree_id, int (*fn)(void *arg, uint64_t obj),
                          void *arg);
/* Is the directory empty in its tree's view? db locked. */
int vfs_dir_is_empty(struct vfs *v, uint64_t dir);
/* Deleted snapshots and volumes leave rows for the reclaimer (a thread,
 * fs/vfs/lineage.c). A deletion answers once its tree row is gone and its
 * lineage released (O(1)), then kicks the reclaimer with vfs_reclaim_kick
 * (not db locked): all of the reclaim is background work. vfs_reclaim does
 * all of it now, in bounded changes, taking the db lock per change (for
 * tests and tools without the thread). Pending: released lineages not yet
 * settled, and the rows their steps read (a lineage's own; its child's
 * for one to be kept). */
void vfs_reclaim_kick(struct vfs *v);
int vfs_reclaim(struct vfs *v);
int vfs_reclaim_pending(struct vfs *v, uint64_t *lineages, uint64_t *rows);
/* Start the reclaimer thread (once the daemon has forked: a thread does
 * not survive fork); vfs_close stops it. */
void vfs_start_reclaimer(struct vfs *v);

/* Flush and write-lock the tree (no writer in flight) for a consistent copy;
 * unlock with vfs_tree_thaw, from the same thread. In between, nothing
 * that can wait (a group commit, a device flush) may be done: writers are
 * held (fs/vfs/tree.c; volfs_snapshot_freeze_* in the metrics). */
int vfs_tree_freeze(struct vfs *v, uint64_t tree_id);
void vfs_tree_thaw(struct vfs *v, uint64_t tree_id);

/* Name -> tree resolution for the virtual directories, installed by the
 * volume layer; called with the db lock held. Objects are Kubernetes
 * objects (kind, namespace, name) that own a tree: /pv lists kind
 * PersistentVolume in namespace "", /snapshots/<ns>/ lists VolumeSnapshot. */
struct vfs_names {
	/* The tree of an object in *tree (0: none): 0, -ENOENT (no object) or
	 * -EIO (the look-up failed). */
	int (*tree_of)(void *arg, const char *kind, const char *ns, const char *name, uint64_t *tree);
	/* The object with the smallest tree id above after: 0, or -ENOENT. */
	int (*next)(void *arg, const char *kind, const char *ns, uint64_t after, char *name,
	            size_t len, uint64_t *tree);
	/* The first namespace after `after` (in name order) holding objects of
	 * kind: 0, or -ENOENT. */
	int (*next_ns)(void *arg, const char *kind, const char *after, char *ns, size_t len);
	/* The volume a bound claim is bound to: 0, or -ENOENT. For kind
	 * PersistentVolumeClaim, next and next_ns list bound claims, and
	 * next's id is a stable row number rather than a tree. */
	int (*claim_volume)(void *arg, const char *ns, const char *claim, char *pv, size_t len);
	/* Does the object exist (for kinds without trees: pods)? */
	int (*exists)(void *arg, const char *kind, const char *ns, const char *name);
	/* The index-th volume of a pod (for kind Pod, next and next_ns list
	 * pods by row): its name, and either the tree of an emptyDir or the
	 * volume a claim is bound to, or for a hostPath volume its resolved
	 * absolute host path (starting with '/', unlike a volume name) in pv
	 * (pv[0] = 0 and *tree = 0 while it is not ready), or *projected for
	 * files served from meta.db (configMap, secret, downwardAPI,
	 * projected). *readonly: a claim the pod may only read (readOnly:
	 * true, or a claim whose only access mode is ReadOnlyMany), shown as a
	 * read-only alias of the volume. 0, or -ENOENT past the last. */
	int (*pod_volume)(void *arg, const char *ns, const char *pod, size_t index, char *name,
	                  size_t len, uint64_t *tree, char *pv, size_t pvlen, int *projected,
	                  int *readonly);
	/* The spec of a projected pod volume "POD/VOLUME" (new reference: its
	 * versions and files), or NULL. */
	json_object *(*pod_projection)(void *arg, const char *ns, const char *name);
	/* A hostPath PersistentVolume (no tree; /pv/<name> is a symlink): its
	 * resolved host path, 0 or -ENOENT; and the next one after row
	 * `after` (0, or -ENOENT). */
	int (*pv_host_path)(void *arg, const char *name, char *path, size_t len);
	int (*next_host_pv)(void *arg, uint64_t after, char *name, size_t len, uint64_t *row);
	/* Is a host path that pod_volume or pv_host_path gave still the path
	 * that was checked (no link swapped in since)? Called without the db
	 * lock: it looks at the host. NULL: always. */
	int (*host_path_ok)(const char *path);
	void *arg;
};
void vfs_set_names(struct vfs *v, const struct vfs_names *n);

/* MOUNT/local-path/: the provisioning directory for rancher's
 * local-path-provisioner (fs/vfs/localpath_dir.c serves the names, fs/control/localpath.c
 * owns the volumes). `dir` is a directory name there. */
struct vfs_provisioner {
	/* Make the volume of `dir` with this capacity: 0 or a negative errno. */
	int (*create)(void *arg, const char *dir, uint64_t capacity);
	/* Delete the volume of `dir`; with only_if_empty, refuse (-ENOTEMPTY)
	 * unless its root directory is empty. */
	int (*remove)(void *arg, const char *dir, int only_if_empty);
	/* The tree of `dir`, or 0 (db locked). */
	uint64_t (*tree_of)(void *arg, const char *dir);
	/* The provisioned directory with the smallest tree id above `after`:
	 * 0, or -ENOENT (db locked). */
	int (*next)(void *arg, uint64_t after, char *dir, size_t len, uint64_t *tree);
	/* The directory of volume `pv` if local-path made it: 0, or -ENOENT
	 * (db locked). */
	int (*dir_of_pv)(void *arg, const char *pv, char *dir, size_t len);
	void *arg;
};
void vfs_set_provisioner(struct vfs *v, const struct vfs_provisioner *p);

/* Consistency check of the namespace tables (nlink, dangling names) and
 * the data store; host files awaiting the next start's cleanup are counted
 * in *pending (fs/store/store.h), not reported. */
struct store_pending;
int vfs_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg,
              struct store_pending *pending);
/* The inode row versions referencing each data object, for store_check
 * (struct store_users, with the struct db as arg). db locked. */
int vfs_each_obj_user(void *db, store_user_fn add, void *c);

#endif
