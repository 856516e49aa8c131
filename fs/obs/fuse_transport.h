/*
 * fs/obs/fuse_transport.h — which transport carries the kernel's FUSE
 * requests (/dev/fuse or FUSE-over-io_uring, fs/fuse/uring_transport.c)
 * and how many requests each has delivered, for `volctl version` and the
 * metrics. A leaf, like counters.h: the FUSE glue sets and counts, the
 * control layer reads.
 */
#ifndef VOLFS_FS_OBS_FUSE_TRANSPORT_H
#define VOLFS_FS_OBS_FUSE_TRANSPORT_H

#include <stdint.h>

enum fuse_transport { FUSE_TRANSPORT_DEV, FUSE_TRANSPORT_URING, FUSE_TRANSPORTS };

/* "dev" or "uring". */
const char *fuse_transport_name(enum fuse_transport t);
/* The transport ordinary requests take: dev until a ring serves them. */
void fuse_transport_set(enum fuse_transport t);
enum fuse_transport fuse_transport_current(void);
/* Hot path: one relaxed atomic add per request delivered through t. */
void fuse_transport_delivered(enum fuse_transport t);
uint64_t fuse_transport_requests(enum fuse_transport t);

#endif
