/*
 * fs/control/metrics.h — the daemon's Prometheus metrics: the text
 * exposition (format 0.0.4) of the request and io_uring counters
 * (fs/obs/counters.h) together with every volume's statfs numbers under
 * kubelet's metric names. Served by `volctl metrics` through
 * the control socket and by --metrics-listen (fs/control/metrics_http.c).
 */
#ifndef VOLFS_FS_METRICS_H
#define VOLFS_FS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "fs/vfs/vfs.h"

/* The whole exposition as a malloc'd NUL-terminated string (NULL when out
 * of memory); *len its length. */
char *metrics_render(struct vfs *v, size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
