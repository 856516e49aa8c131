/*
 * fs/fuse/mountopts.h — the -o options volfs is given, as FUSE needs them:
 * mount(8) and /etc/fstab pass options meant for mount itself (defaults,
 * _netdev, nofail, noauto, user, x-*, ...) that libfuse would reject.
 */
#ifndef VOLFS_FS_MOUNTOPTS_H
#define VOLFS_FS_MOUNTOPTS_H

#include <stddef.h>

/* Is this one option (no commas) meant for mount(8) only? */
int mountopt_is_mount_only(const char *opt);
/* Append the options of `list` (comma-separated) that FUSE should see to
 * buf (a comma-separated list, possibly empty). Returns -1 if buf is too
 * small. */
int mountopts_append(char *buf, size_t len, const char *list);

#endif
