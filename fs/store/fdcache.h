/*
 * fs/store/fdcache.h — a bounded cache of open descriptors in least-recently-used
 * order, so that a daemon serving any number of host files keeps a fixed
 * number of them open.
 *
 * Each owner of a descriptor (a data object) registers its descriptor field
 * with an entry. Whoever does I/O on it holds the entry for the duration
 * (fdc_hold ... fdc_release): a held descriptor is never closed, so no I/O
 * in flight, io_uring included, sees it closed or its number reused. An
 * entry nobody holds and whose descriptor is open waits in the LRU; while
 * more than `bound` descriptors are open, the least recently used idle
 * ones are closed, and the next hold opens them again through the
 * owner's open function.
 *
 * The bound is soft in one way only: entries that are all held at once
 * stay open even past it (the number of holders is bounded by the threads
 * doing I/O). An open that fails with EMFILE or ENFILE closes every idle
 * descriptor and is tried once more, so that running out of descriptors
 * elsewhere in the process degrades the cache rather than failing I/O.
 */
#ifndef VOLFS_FS_FDCACHE_H
#define VOLFS_FS_FDCACHE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct fdc_entry {
	int *fd;                       /* the owner's field: -1 while closed */
	unsigned users;                /* holds; the fd stays open while > 0 */
	int idle;                      /* in the LRU: users == 0 and *fd >= 0 */
	struct fdc_entry *prev, *next; /* LRU links, head = least recently used */
};

struct fdcache {
	pthread_mutex_t lock;
	size_t bound;  /* idle descriptors are closed while more are open */
	size_t nopen;  /* descriptors registered entries hold open */
	struct fdc_entry *head, *tail;
	/* descriptors opened by fdc_open (one discarded by fdc_install
	 * included: every open(2) counts) or handed over by fdc_entry_init;
	 * closed. For metrics and tests. */
	uint64_t opens, closes;
};

/* Opens the owner's file: a descriptor, or a negative errno. */
typedef int (*fdc_open_fn)(void *arg);

void fdc_init(struct fdcache *c, size_t bound);
/* Every entry must have been dropped. */
void fdc_destroy(struct fdcache *c);
void fdc_set_bound(struct fdcache *c, size_t bound);

/* Register the owner's descriptor field (-1, or a descriptor the cache
 * then owns and counts, idle). */
void fdc_entry_init(struct fdcache *c, struct fdc_entry *e, int *fd);
/* Close e's descriptor and forget e. Nobody may hold it. */
void fdc_entry_drop(struct fdcache *c, struct fdc_entry *e);

/* Hold e; if its descriptor is closed and open_fn is not NULL, open it.
 * 0 with *e->fd stable until fdc_release (still -1 if open_fn is NULL and
 * it was closed), or open_fn's negative errno with e not held. */
int fdc_hold(struct fdcache *c, struct fdc_entry *e, fdc_open_fn open_fn, void *arg);
/* open_fn(arg), and once more after closing every idle descriptor if it
 * fails with EMFILE or ENFILE (for a file the caller creates). */
int fdc_open(struct fdcache *c, fdc_open_fn open_fn, void *arg);
/* Give a held entry whose descriptor is closed the descriptor fd (a file
 * its holder just created). */
void fdc_install(struct fdcache *c, struct fdc_entry *e, int fd);
void fdc_release(struct fdcache *c, struct fdc_entry *e);

/* Descriptors open now. */
size_t fdc_open_count(struct fdcache *c);
/* Descriptors opened since fdc_init (c->opens). */
uint64_t fdc_opens(struct fdcache *c);

#endif
