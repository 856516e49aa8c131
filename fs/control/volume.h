/*
 * fs/control/volume.h — persistent volumes as the control plane sees them: the
 * PersistentVolume objects in meta.db tied to the trees the daemon serves.
 * Each change is one transaction over both, so a crash leaves either the
 * whole volume or none of it.
 */
#ifndef VOLFS_FS_VOLUME_H
#define VOLFS_FS_VOLUME_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/vfs/vfs.h"

#define KIND_PV "PersistentVolume"

/* Builds the tree of a new volume inside the creating transaction. */
typedef int (*volume_tree_maker)(struct vfs *v, void *arg, uint64_t capacity, uint64_t *tree);

/* A new PersistentVolume whose tree make_tree builds (empty, or a copy of a
 * snapshot or volume); `event` is the message of its Created event. body
 * is the object to store (the caller keeps its reference), or NULL for a
 * plain class-less Retain volume of that capacity. */
int volume_pv_create_with(struct vfs *v, const char *name, uint64_t capacity,
                          volume_tree_maker make_tree, void *arg, json_object *body,
                          const char *event, json_object **out, char *err, size_t errlen);
int volume_make_empty_tree(struct vfs *v, void *arg, uint64_t capacity, uint64_t *tree);
uint64_t volume_pv_tree(struct vfs *v, const char *name); /* 0 if none */
/* The volume's tree in *tree (0: none): 0, -ENOENT (no volume), -EIO. */
int volume_pv_find_tree(struct vfs *v, const char *name, uint64_t *tree);
/* Commit on 0 (and the group once it holds DB_BACKGROUND_GROUP_CHANGES), roll
 * back otherwise. */
int finish_txn(struct db *db, int r);
json_object *usage_of(struct vfs *v, uint64_t tree); /* capacity/used/available */
/* A new Available PersistentVolume object of capacity bytes (RWO, Retain,
 * Filesystem, storageClassName class) with empty metadata (new reference). */
json_object *volume_pv_body(uint64_t capacity, const char *class);

/* A volume's inode limit, when it is not one per VFS_BYTES_PER_INODE of
 * capacity: the PersistentVolume annotation, set from the claim's
 * annotation or the class's "inodes" parameter when provisioned. */
#define VOLUME_INODES_ANNOTATION "volfs.io/inodes"
/* The inode limit pv asks for (0: derived) into *limit; -EINVAL with the
 * reason in err when the annotation is not a positive count. */
int volume_inode_limit_of(json_object *pv, uint64_t *limit, char *err, size_t errlen);
/* Give tree the inode limit pv asks for. db locked, in a transaction. */
int volume_apply_inode_limit(struct vfs *v, json_object *pv, uint64_t tree, char *err,
                             size_t errlen);

/* Resolve /pv names for the namespace layer. */
void volume_install_names(struct vfs *v);

/* Each returns 0 or a negative errno with a one-line reason in err. */
/* inodes: an explicit inode limit, 0 for the derived one. */
int volume_pv_create(struct vfs *v, const char *name, uint64_t capacity, uint64_t inodes,
                     json_object **out, char *err, size_t errlen);
/* Delete an object and the tree it owns (data freed), after waiting for
 * writers in flight. */
int volume_delete_object_tree(struct vfs *v, const char *kind, const char *ns, const char *name,
                              char *err, size_t errlen);
/* ... unless veto, called with the tree frozen and the db locked just
 * before the deleting transaction, returns a negative errno. */
int volume_delete_object_tree_if(struct vfs *v, const char *kind, const char *ns, const char *name,
                                 int (*veto)(struct vfs *v, uint64_t tree), char *err,
                                 size_t errlen);
/* Why a volume has no tree to copy: not found, or (-EINVAL) a hostPath
 * volume, whose data is the host's; `what` is the verb ("snapshot"). */
int volume_pv_without_tree(struct vfs *v, const char *name, const char *what, char *err,
                           size_t errlen);
int volume_pv_delete(struct vfs *v, const char *name, char *err, size_t errlen);
int volume_pv_resize(struct vfs *v, const char *name, uint64_t capacity, json_object **out,
                     char *err, size_t errlen);
/* The items array for get (name NULL: all). */
int volume_pv_get(struct vfs *v, const char *name, json_object **items, char *err, size_t errlen);
/* Object, events and usage for describe. */
int volume_pv_describe(struct vfs *v, const char *name, json_object **out, char *err,
                       size_t errlen);
/* What the reclaimer has still to do: {"lineages": N, "rows": N}. */
json_object *volume_reclaim_pending(struct vfs *v);

#endif
