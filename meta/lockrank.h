/*
 * meta/lockrank.h — a check of the daemon's lock order. Every lock of the
 * namespace layer and the data store has a rank, outermost first (the
 * order fs/vfs/vfs_int.h and fs/store/store_int.h document); a thread may
 * take a lock only while it holds none of a higher rank, nor one of the
 * same rank unless that rank nests (several inodes' contents locks in a
 * group commit, several layers' map locks in a chain walk). A violation
 * prints both locks and aborts, before the lock is taken, so a wrong order
 * shows up in the tests as a crash instead of a rare deadlock.
 *
 * Each thread counts the locks it holds per rank (thread-local, no shared
 * state). The counting is compiled in the test builds (VOLFS_LOCK_CHECKS:
 * make SAN=1, the fault and fuzz builds); in a release build the ranked_*
 * calls are the plain pthread calls.
 */
#ifndef VOLFS_META_LOCKRANK_H
#define VOLFS_META_LOCKRANK_H

#include <pthread.h>

enum lock_rank {
	LOCK_TREE_GATE,  /* vtree->gate: a freeze excludes writers */
	LOCK_VNODE,      /* vnode->lock: a file's contents (nests) */
	LOCK_STORE_LOAD, /* store->load_lock: one object loader */
	LOCK_DB,         /* the db lock (meta/db.c) */
	LOCK_STORE,      /* store->lock: object cache, pins, refs */
	LOCK_STORE_SYNC, /* dobj->synclock: one fdatasync marker writer */
	LOCK_STORE_MAP,  /* dobj->maplock: an object's map shape (nests) */
	LOCK_LEAF,       /* vnode->alock, vfs->itab_lock, vfs->reclaim_lock,
	                  * db->turn_lock: nothing inside */
	LOCK_RANKS
};

#ifdef VOLFS_LOCK_CHECKS
void lock_rank_take(enum lock_rank r);
void lock_rank_drop(enum lock_rank r);
/* Aborts unless this thread holds a lock of rank r. */
void lock_rank_assert_held(enum lock_rank r);
#else
static inline void lock_rank_take(enum lock_rank r) { (void)r; }
static inline void lock_rank_drop(enum lock_rank r) { (void)r; }
static inline void lock_rank_assert_held(enum lock_rank r) { (void)r; }
#endif

static inline void ranked_lock(pthread_mutex_t *m, enum lock_rank r)
{
	lock_rank_take(r);
	pthread_mutex_lock(m);
}

static inline void ranked_unlock(pthread_mutex_t *m, enum lock_rank r)
{
	pthread_mutex_unlock(m);
	lock_rank_drop(r);
}

static inline void ranked_rdlock(pthread_rwlock_t *l, enum lock_rank r)
{
	lock_rank_take(r);
	pthread_rwlock_rdlock(l);
}

static inline void ranked_wrlock(pthread_rwlock_t *l, enum lock_rank r)
{
	lock_rank_take(r);
	pthread_rwlock_wrlock(l);
}

static inline void ranked_rwunlock(pthread_rwlock_t *l, enum lock_rank r)
{
	pthread_rwlock_unlock(l);
	lock_rank_drop(r);
}

#endif
