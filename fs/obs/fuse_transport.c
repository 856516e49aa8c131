/*
 * fs/obs/fuse_transport.c — the FUSE transport in use and its request
 * counts (see fuse_transport.h).
 */
#include "fs/obs/fuse_transport.h"

#include <assert.h>

/* Each count on its own cache line: the rings' threads and the /dev/fuse
 * workers bump different ones. */
static struct {
	uint64_t n;
} __attribute__((aligned(64))) delivered[FUSE_TRANSPORTS];
static int current = FUSE_TRANSPORT_DEV;

const char *fuse_transport_name(enum fuse_transport t)
{
	assert(t < FUSE_TRANSPORTS);
	return t == FUSE_TRANSPORT_URING ? "uring" : "dev";
}

void fuse_transport_set(enum fuse_transport t)
{
	assert(t < FUSE_TRANSPORTS);
	__atomic_store_n(&current, (int)t, __ATOMIC_RELAXED);
}

enum fuse_transport fuse_transport_current(void)
{
	return (enum fuse_transport)__atomic_load_n(&current, __ATOMIC_RELAXED);
}

void fuse_transport_delivered(enum fuse_transport t)
{
	assert(t < FUSE_TRANSPORTS);
	__atomic_fetch_add(&delivered[t].n, 1, __ATOMIC_RELAXED);
}

uint64_t fuse_transport_requests(enum fuse_transport t)
{
	assert(t < FUSE_TRANSPORTS);
	return __atomic_load_n(&delivered[t].n, __ATOMIC_RELAXED);
}
