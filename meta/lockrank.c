/*
 * meta/lockrank.c — the per-thread lock counts behind meta/lockrank.h.
 */
#include "meta/lockrank.h"

#ifdef VOLFS_LOCK_CHECKS

#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned held[LOCK_RANKS];

static const char *const rank_names[LOCK_RANKS] = {
	[LOCK_TREE_GATE] = "tree->gate",     [LOCK_VNODE] = "vnode->lock",
	[LOCK_STORE_LOAD] = "store->load_lock", [LOCK_DB] = "the db lock",
	[LOCK_STORE] = "store->lock",        [LOCK_STORE_SYNC] = "dobj->synclock",
	[LOCK_STORE_MAP] = "dobj->maplock",  [LOCK_LEAF] = "vnode->alock, itab_lock, reclaim_lock or db turn_lock",
};

static int nests(enum lock_rank r)
{
	return r == LOCK_VNODE || r == LOCK_STORE_MAP;
}

static void violation(const char *what, enum lock_rank r, int other)
{
	fprintf(stderr, "volfs: lock check: %s %s%s%s\n", what, rank_names[r],
	        other >= 0 ? " while holding " : "", other >= 0 ? rank_names[other] : "");
	abort();
}

void lock_rank_take(enum lock_rank r)
{
	for (int h = LOCK_RANKS - 1; h >= (int)r; h--)
		if (held[h] && (h > (int)r || !nests(r)))
			violation("taking", r, h);
	held[r]++;
}

void lock_rank_drop(enum lock_rank r)
{
	if (held[r] == 0)
		violation("releasing", r, -1);
	held[r]--;
}

void lock_rank_assert_held(enum lock_rank r)
{
	if (held[r] == 0)
		violation("not holding", r, -1);
}

#else

/* ISO C wants something in a translation unit. */
typedef int lockrank_unused;

#endif
