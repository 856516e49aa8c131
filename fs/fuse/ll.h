/*
 * fs/fuse/ll.h — the FUSE low-level operation table: thin glue from libfuse's
 * requests to the namespace layer (fs/vfs/vfs.h).
 */
#ifndef VOLFS_FS_LL_H
#define VOLFS_FS_LL_H

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

extern const struct fuse_lowlevel_ops volfs_ll_ops;

/* volfs_ll_ops with every request timed and counted (fs/fuse/ll_metrics.c). */
const struct fuse_lowlevel_ops *ll_counted_ops(void);
/* fuse_reply_err() that notes a failed request for the metrics. */
int ll_reply_err(fuse_req_t req, int err);

/* Let the namespace layer invalidate kernel name caches through se. */
void ll_install_notify(struct fuse_session *se, void *vfs);

#endif
