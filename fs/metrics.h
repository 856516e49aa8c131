/*
 * fs/metrics.h — the daemon's Prometheus metrics: lock-free counters that
 * the request path bumps (filesystem requests by kind, their latency and
 * errors; io_uring submissions and completions), and the text exposition
 * (format 0.0.4) of those counters together with every volume's statfs
 * numbers under kubelet's metric names. Served by `volctl metrics` through
 * the control socket and by --metrics-listen (fs/metrics_http.c).
 */
#ifndef VOLFS_FS_METRICS_H
#define VOLFS_FS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "fs/vfs.h"

/* The kinds of filesystem request, named as the kernel's FUSE opcodes are
 * by libfuse's operation table. */
#define METRICS_FUSE_OPS(X)                                                                    \
	X(lookup) X(forget) X(forget_multi) X(getattr) X(setattr) X(readlink) X(mknod) X(mkdir)  \
	X(symlink) X(link) X(unlink) X(rmdir) X(rename) X(open) X(create) X(read) X(write)      \
	X(flush) X(release) X(fsync) X(opendir) X(readdir) X(releasedir) X(fsyncdir) X(statfs)  \
	X(setxattr) X(getxattr) X(listxattr) X(removexattr) X(fallocate) X(lseek)

#define METRICS_OP_ENUM(name) METRICS_OP_##name,
enum metrics_op { METRICS_FUSE_OPS(METRICS_OP_ENUM) METRICS_OP_COUNT };
#undef METRICS_OP_ENUM

/* Hot path: a few relaxed atomic adds, no lock, no allocation. */
void metrics_fuse_done(enum metrics_op op, uint64_t nanoseconds, int failed);
void metrics_uring_submitted(void);
void metrics_uring_completed(void);
uint64_t metrics_now_ns(void);

/* The whole exposition as a malloc'd NUL-terminated string (NULL when out
 * of memory); *len its length. */
char *metrics_render(struct vfs *v, size_t *len);

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

#endif
