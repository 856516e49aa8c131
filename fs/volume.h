/*
 * fs/volume.h — persistent volumes as the control plane sees them: the
 * PersistentVolume objects in meta.db tied to the trees the daemon serves.
 * Each change is one transaction over both, so a crash leaves either the
 * whole volume or none of it.
 */
#ifndef VOLFS_FS_VOLUME_H
#define VOLFS_FS_VOLUME_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "fs/vfs.h"

#define KIND_PV "PersistentVolume"

/* Resolve /pv names for the namespace layer. */
void volume_install_names(struct vfs *v);

/* Each returns 0 or a negative errno with a one-line reason in err. */
int volume_pv_create(struct vfs *v, const char *name, uint64_t capacity, json_object **out,
                     char *err, size_t errlen);
int volume_pv_delete(struct vfs *v, const char *name, char *err, size_t errlen);
int volume_pv_resize(struct vfs *v, const char *name, uint64_t capacity, json_object **out,
                     char *err, size_t errlen);
/* The items array for get (name NULL: all). */
int volume_pv_get(struct vfs *v, const char *name, json_object **items, char *err, size_t errlen);
/* Object, events and usage for describe. */
int volume_pv_describe(struct vfs *v, const char *name, json_object **out, char *err,
                       size_t errlen);
json_object *volume_df(struct vfs *v);

#endif
