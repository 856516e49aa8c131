/*
 * fs/control/controller.h — the controllers that make stored objects true
 * (the run loop of fs/control/controller.c, a controller a file in
 * fs/control/ctl_*.c): binding claims, provisioning, reclaiming,
 * expanding, taking snapshots, finishing deletions, counting quota use.
 */
#ifndef VOLFS_FS_CONTROLLER_H
#define VOLFS_FS_CONTROLLER_H

#include "fs/vfs/vfs.h"

/* The objects a fresh state directory starts with: the namespace
 * "default", the default StorageClass and VolumeSnapshotClass. Once. */
void controller_bootstrap(struct vfs *v);
/* Reconcile every object until nothing more changes. Called after every
 * change through the API and at start-up (finishing what a crash cut). */
void controller_run(struct vfs *v);
/* The same at daemon start-up: also sets hostPath volumes up again (type
 * checks, *OrCreate), as kubelet does when it mounts them after a reboot. */
void controller_run_startup(struct vfs *v);

/* Milliseconds until the next firing of a SnapshotSchedule (then run the
 * controllers), 0 if one is due now, -1 if none is enabled
 * (fs/control/ctl_schedules.c). */
int schedules_next_wakeup(struct vfs *v);

#endif
