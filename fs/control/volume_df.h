/*
 * fs/control/volume_df.h — the df verb: every tree's space (see
 * fs/control/volume_df.c).
 */
#ifndef VOLFS_FS_VOLUME_DF_H
#define VOLFS_FS_VOLUME_DF_H

#include <json-c/json.h>

#include "fs/vfs/vfs.h"

/* One item per object with a tree: kind, namespace, name, inodes and its
 * usage (capacity, used, available), with snapshotBytes for a volume;
 * NULL when the objects could not be read. */
json_object *volume_df(struct vfs *v);

#endif
