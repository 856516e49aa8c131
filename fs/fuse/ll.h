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
/* The request being served replies later, from another thread: it is not
 * counted when its handler returns; the start time returned goes to
 * ll_deferred_read_done, called once it is answered. */
uint64_t ll_defer_request(void);
void ll_deferred_read_done(uint64_t start_ns, int failed);

/* Before serving a request read into b: note what libfuse does not pass on
 * (whether the kernel asks to kill set-ID bits). */
void ll_note_request(const struct fuse_buf *b);
/* Once mounted: serve se's /dev/fuse through hooks that take over killing
 * privileges from the kernel (FUSE_HANDLE_KILLPRIV_V2). 0 or -errno. */
int ll_install_io(struct fuse_session *se);

/* Before mounting: ask the kernel for its writeback cache at INIT. */
void ll_want_writeback_cache(int want);
/* Let the namespace layer invalidate kernel name caches through se, and
 * (with the writeback cache) have the kernel write back its dirty pages
 * through the mount at mountpoint. */
void ll_install_notify(struct fuse_session *se, void *vfs, const char *mountpoint);
/* At shutdown, while the workers serve (after ll_install_notify): the
 * kernel writes back every dirty page of the mount, and this returns once
 * the workers have answered the WRITEs of every file open for writing. 0,
 * or a negative errno of the syncfs(2). The argument is unused (the shape
 * of stop_write_back's). */
int ll_write_back_all(void *unused);

#endif
