/*
 * fs/control/localpath.h — volumes made by rancher's local-path-provisioner through
 * MOUNT/local-path/ (see fs/control/localpath.c and fs/vfs/localpath_dir.c).
 */
#ifndef VOLFS_FS_LOCALPATH_H
#define VOLFS_FS_LOCALPATH_H

#include <stddef.h>

#include "fs/vfs/vfs.h"

#define LOCALPATH_DIR_ANNOTATION "volfs.io/local-path-dir"
#define LOCALPATH_LABEL "volfs.io/provisioner"

/* Serve MOUNT/local-path/ (mkdir makes volumes, rmdir deletes them). */
void localpath_install(struct vfs *v);
/* The local-path directory of volume pv: 0, or -ENOENT if it has none. */
int localpath_dir_of(struct vfs *v, const char *pv, char *dir, size_t len);

#endif
