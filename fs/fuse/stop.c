/*
 * fs/fuse/stop.c — ending the daemon's FUSE mount at shutdown: the kernel's
 * write-back of its dirty pages (the writeback cache's write(2)s, shared
 * mmaps) while the workers still serve, bounded, from a thread that holds
 * nothing; then an abort and detach of the mount, so the workers stop at
 * once even while another process holds a file open in it.
 *
 * Why a thread of its own: a syncfs(2) through the mount opens the root
 * (an OPENDIR) and waits for WRITEs, each of which needs a free worker and
 * whatever locks its handler takes. Called from a thread the shutdown has
 * already stopped serving, or one that holds a lock a WRITE needs, it
 * waits for ever; from a fresh thread, before the workers are told to
 * stop, it cannot, and the bound keeps a wedged write-back from keeping
 * the daemon up.
 */
#include "fs/fuse/stop.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <time.h>
#include <unistd.h>

int stop_syncfs(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	int rc = syncfs(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

struct stop_writeback {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	int done, err;
	int (*fn)(void *arg);
	void *arg;
};

static void *writeback_main(void *arg)
{
	struct stop_writeback *w = arg;
	int err = w->fn(w->arg);
	pthread_mutex_lock(&w->lock);
	w->done = 1;
	w->err = err;
	pthread_cond_signal(&w->done_cond);
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

static struct timespec deadline_after(int ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	ts.tv_sec += ts.tv_nsec / 1000000000L;
	ts.tv_nsec %= 1000000000L;
	return ts;
}

static void writeback_free(struct stop_writeback *w)
{
	pthread_cond_destroy(&w->done_cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

struct stop_writeback *stop_write_back_start(int (*fn)(void *arg), void *arg)
{
	struct stop_writeback *w = calloc(1, sizeof *w);
	if (!w)
		return NULL;
	w->fn = fn;
	w->arg = arg;
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&w->lock, NULL);
	if (pthread_create(&w->thread, NULL, writeback_main, w) != 0) {
		writeback_free(w);
		return NULL;
	}
	return w;
}

int stop_write_back_wait(struct stop_writeback *w, int timeout_ms)
{
	struct timespec until = deadline_after(timeout_ms);
	pthread_mutex_lock(&w->lock);
	while (!w->done && pthread_cond_timedwait(&w->done_cond, &w->lock, &until) != ETIMEDOUT)
		;
	int rc = w->done ? w->err : -ETIMEDOUT;
	pthread_mutex_unlock(&w->lock);
	return rc;
}

void stop_write_back_end(struct stop_writeback *w)
{
	if (!w)
		return;
	pthread_join(w->thread, NULL);
	writeback_free(w);
}

int stop_abort_mount(const char *path)
{
	/* MNT_FORCE has FUSE abort the connection (umount_begin): every
	 * reader of the device and every ring entry fails with ENODEV or
	 * ENOTCONN now, not when the last open file in the mount is closed,
	 * as a lazy unmount alone would have it. MNT_DETACH then takes the
	 * mount out of the tree even though it is busy. */
	assert(path && *path);
	return umount2(path, MNT_FORCE | MNT_DETACH | UMOUNT_NOFOLLOW) < 0 ? -errno : 0;
}
