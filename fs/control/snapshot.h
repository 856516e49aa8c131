/*
 * fs/control/snapshot.h — VolumeSnapshots (read-only point-in-time trees under
 * MOUNT/snapshots/<ns>/<name>/) and volumes restored or cloned from them.
 */
#ifndef VOLFS_FS_SNAPSHOT_H
#define VOLFS_FS_SNAPSHOT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/vfs/vfs.h"

/* Each returns 0 or a negative errno with a one-line reason in err. */
/* existing: the stored VolumeSnapshot object that waits for its data
 * (applied from a manifest), or NULL for a new object. */
int snapshot_create(struct vfs *v, const char *source_pv, const char *ns, const char *name,
                    json_object *existing, json_object **out, char *err, size_t errlen);
int snapshot_delete(struct vfs *v, const char *ns, const char *name, char *err, size_t errlen);
/* ns NULL with name NULL lists every namespace. */
int snapshot_get(struct vfs *v, const char *ns, const char *name, json_object **items, char *err,
                 size_t errlen);
int snapshot_describe(struct vfs *v, const char *ns, const char *name, json_object **out,
                      char *err, size_t errlen);
/* A new volume from a snapshot (capacity 0: the snapshot's restore size)
 * or from a live volume (capacity 0 or less than the source's: the
 * source's). body: the PersistentVolume object to store, or NULL for a
 * plain one (see volume_pv_create_with). */
int volume_restore(struct vfs *v, const char *ns, const char *snap, const char *newpv,
                   uint64_t capacity, json_object *body, json_object **out, char *err,
                   size_t errlen);
int volume_clone(struct vfs *v, const char *srcpv, const char *newpv, uint64_t capacity,
                 json_object *body, json_object **out, char *err, size_t errlen);
/* Bytes held only by the snapshots taken of a volume's tree, counted
 * afresh in one pass over its family's rows (fs/control/snapshot_bytes.c);
 * *rows (may be NULL): the inode row versions read. 0 when the count
 * fails. */
uint64_t snapshot_bytes_count(struct vfs *v, uint64_t tree, uint64_t *rows);
uint64_t snapshot_bytes_of_volume(struct vfs *v, uint64_t tree);

#endif
