/*
 * fs/obs/writeback_cache.c — whether the kernel's FUSE writeback cache is
 * on (see writeback_cache.h).
 */
#include "fs/obs/writeback_cache.h"

static int on;

void writeback_cache_set(int v)
{
	__atomic_store_n(&on, v != 0, __ATOMIC_RELAXED);
}

int writeback_cache_on(void)
{
	return __atomic_load_n(&on, __ATOMIC_RELAXED);
}

const char *writeback_cache_name(void)
{
	return writeback_cache_on() ? "on" : "off";
}
