/*
 * fs/obs/writeback_cache.h — whether the kernel's FUSE writeback cache is
 * on (volfs --writeback-cache, granted by the kernel at INIT), for the log,
 * `volctl version` and the metrics. A leaf, like fuse_transport.h: the FUSE
 * glue sets it, the control layer reads it.
 */
#ifndef VOLFS_FS_OBS_WRITEBACK_CACHE_H
#define VOLFS_FS_OBS_WRITEBACK_CACHE_H

void writeback_cache_set(int on);
int writeback_cache_on(void);
/* "on" or "off". */
const char *writeback_cache_name(void);

#endif
