/*
 * fs/store/fdcache.c — the bounded LRU of open descriptors (see fs/store/fdcache.h):
 * holding, opening on demand outside the lock, and closing the least
 * recently used idle descriptors past the bound.
 */
#include "fs/store/fdcache.h"

#include <assert.h>
#include <errno.h>
#include <unistd.h>

void fdc_init(struct fdcache *c, size_t bound)
{
	*c = (struct fdcache){.bound = bound};
	pthread_mutex_init(&c->lock, NULL);
}

void fdc_destroy(struct fdcache *c)
{
	assert(c->nopen == 0 && !c->head);
	pthread_mutex_destroy(&c->lock);
}

/* c->lock held for all the helpers below. */

static void lru_remove(struct fdcache *c, struct fdc_entry *e)
{
	assert(e->idle);
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
	e->idle = 0;
}

static void lru_append(struct fdcache *c, struct fdc_entry *e)
{
	assert(!e->idle && e->users == 0 && *e->fd >= 0);
	e->next = NULL;
	e->prev = c->tail;
	if (c->tail)
		c->tail->next = e;
	else
		c->head = e;
	c->tail = e;
	e->idle = 1;
}

static void close_entry(struct fdcache *c, struct fdc_entry *e)
{
	close(*e->fd);
	*e->fd = -1;
	c->nopen--;
	c->closes++;
}

/* Close idle descriptors, least recently used first, until no more than
 * `keep` are open or none is idle. */
static void shed(struct fdcache *c, size_t keep)
{
	while (c->nopen > keep && c->head) {
		struct fdc_entry *e = c->head;
		lru_remove(c, e);
		close_entry(c, e);
	}
}

void fdc_set_bound(struct fdcache *c, size_t bound)
{
	pthread_mutex_lock(&c->lock);
	c->bound = bound;
	shed(c, bound);
	pthread_mutex_unlock(&c->lock);
}

void fdc_entry_init(struct fdcache *c, struct fdc_entry *e, int *fd)
{
	*e = (struct fdc_entry){.fd = fd};
	if (*fd < 0)
		return;
	__atomic_fetch_add(&c->opens, 1, __ATOMIC_RELAXED);
	pthread_mutex_lock(&c->lock);
	c->nopen++;
	lru_append(c, e);
	shed(c, c->bound);
	pthread_mutex_unlock(&c->lock);
}

void fdc_entry_drop(struct fdcache *c, struct fdc_entry *e)
{
	pthread_mutex_lock(&c->lock);
	assert(e->users == 0);
	if (e->idle)
		lru_remove(c, e);
	if (*e->fd >= 0)
		close_entry(c, e);
	pthread_mutex_unlock(&c->lock);
}

int fdc_open(struct fdcache *c, fdc_open_fn open_fn, void *arg)
{
	int fd = open_fn(arg);
	if (fd == -EMFILE || fd == -ENFILE) {
		pthread_mutex_lock(&c->lock);
		shed(c, 0);
		pthread_mutex_unlock(&c->lock);
		fd = open_fn(arg);
	}
	if (fd >= 0)
		__atomic_fetch_add(&c->opens, 1, __ATOMIC_RELAXED);
	return fd;
}

int fdc_hold(struct fdcache *c, struct fdc_entry *e, fdc_open_fn open_fn, void *arg)
{
	pthread_mutex_lock(&c->lock);
	if (e->idle)
		lru_remove(c, e);
	e->users++;
	int need = *e->fd < 0 && open_fn;
	pthread_mutex_unlock(&c->lock);
	if (!need)
		return 0;
	/* Opened outside the lock: a slow open must not stall every other
	 * hold. Another holder may open the same entry meanwhile. */
	int fd = fdc_open(c, open_fn, arg);
	if (fd < 0) {
		fdc_release(c, e);
		return fd;
	}
	fdc_install(c, e, fd);
	return 0;
}

void fdc_install(struct fdcache *c, struct fdc_entry *e, int fd)
{
	assert(fd >= 0);
	pthread_mutex_lock(&c->lock);
	assert(e->users > 0);
	if (*e->fd >= 0) { /* a concurrent holder opened it first */
		pthread_mutex_unlock(&c->lock);
		close(fd);
		return;
	}
	*e->fd = fd;
	c->nopen++;
	shed(c, c->bound);
	pthread_mutex_unlock(&c->lock);
}

void fdc_release(struct fdcache *c, struct fdc_entry *e)
{
	pthread_mutex_lock(&c->lock);
	assert(e->users > 0);
	if (--e->users == 0 && *e->fd >= 0) {
		lru_append(c, e);
		shed(c, c->bound);
	}
	pthread_mutex_unlock(&c->lock);
}

uint64_t fdc_opens(struct fdcache *c)
{
	return __atomic_load_n(&c->opens, __ATOMIC_RELAXED);
}

size_t fdc_open_count(struct fdcache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->nopen;
	pthread_mutex_unlock(&c->lock);
	return n;
}
