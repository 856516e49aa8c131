/*
 * fs/store/spare.c — spare host files: the emptied host files of deleted
 * objects, kept in STATE/spare to become the host files of new ones.
 *
 * Why: creating a host file allocates an inode, deleting one frees it. On
 * ext4 without a journal, the inode allocator skips every inode of a group
 * freed in the last 30 s (or 5 minutes while its table block is dirty),
 * checking each by reading its inode table: after a large delete, every
 * create scans the whole group (recently_deleted(), profiled at half the
 * daemon's CPU time during an untar after an rm -rf). A rename moves a name
 * and allocates nothing, on any filesystem.
 *
 * A file is made spare only once its object's deletion has committed
 * (store_reap): truncated to nothing, its sync marker removed, then renamed
 * to spare/N. Taking one renames it over the new object's path. A crash at
 * any point leaves a file either in spare/ (emptied at the next start, so a
 * file named twice after a crash is never handed out again) or at an
 * object's path, where it is what a fresh open(O_CREAT) would have left
 * there: empty, no marker. The metadata operations of one file are ordered
 * by the host filesystem's journal, so the marker's removal is durable
 * before the rename that hands the file out.
 */
#include "fs/store/store_int.h"

#include <assert.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "meta/log.h"

/* Enough for a large untar or delete to reuse every file; an empty file is
 * an inode and a directory entry, no blocks. */
#define SPARE_MAX 16384

static void spare_path(struct store *st, uint64_t n, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%" PRIu64, st->spare_dir, n);
}

/* Unlink whatever a previous run left in DIR. */
static void spare_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.' && unlinkat(dirfd(d), e->d_name, 0) < 0 && errno != ENOENT)
			vlog_warn("store", "cannot remove %s/%s: %s", dir, e->d_name, strerror(errno));
	closedir(d);
}

/* The pool starts empty: what a previous run left is removed. Without a
 * spare directory (a read-only state, say) no file is kept. */
int spare_open(struct store *st, const char *state_dir)
{
	pthread_mutex_init(&st->spare_lock, NULL);
	size_t len = strlen(state_dir) + sizeof "/spare";
	st->spare_dir = malloc(len);
	if (!st->spare_dir)
		return -ENOMEM;
	snprintf(st->spare_dir, len, "%s/spare", state_dir);
	if (mkdir(st->spare_dir, 0700) < 0 && errno != EEXIST)
		st->spare_off = 1;
	else
		spare_empty_dir(st->spare_dir);
	return 0;
}

void spare_close(struct store *st)
{
	free(st->spare);
	free(st->spare_dir);
	pthread_mutex_destroy(&st->spare_lock);
}

/* A slot for one more spare, or 0 when the pool is full. */
static uint64_t spare_slot(struct store *st)
{
	uint64_t n = 0;
	pthread_mutex_lock(&st->spare_lock);
	if (!st->spare_off && st->nspare < SPARE_MAX && st->nspare == st->capspare) {
		size_t cap = st->capspare ? st->capspare * 2 : 256;
		uint64_t *a = realloc(st->spare, cap * sizeof *a);
		if (a) {
			st->spare = a;
			st->capspare = cap;
		}
	}
	if (st->nspare < st->capspare)
		n = ++st->spare_seq;
	pthread_mutex_unlock(&st->spare_lock);
	return n;
}

/* Keep spare N; 0, or -1 when the stack filled up meanwhile (two reapers at
 * once): the caller removes the file. */
static int spare_push(struct store *st, uint64_t n)
{
	pthread_mutex_lock(&st->spare_lock);
	int room = st->nspare < st->capspare;
	if (room)
		st->spare[st->nspare++] = n;
	pthread_mutex_unlock(&st->spare_lock);
	return room ? 0 : -1;
}

/* Empty a deleted object's host file at PATH and keep it, or unlink it. */
void spare_put(struct store *st, const char *path)
{
	uint64_t n = spare_slot(st);
	char dst[4096];
	if (n) {
		spare_path(st, n, dst, sizeof dst);
		if (truncate(path, 0) == 0 &&
		    (removexattr(path, STORE_MARKER_NAME) == 0 || errno == ENODATA ||
		     errno == ENOTSUP) &&
		    rename(path, dst) == 0) {
			if (spare_push(st, n) < 0)
				unlink(dst);
			return;
		}
	}
	if (unlink(path) < 0 && errno != ENOENT)
		vlog_error("store", "cannot remove %s: %s", path, strerror(errno));
}

/* Make the directory PATH is in (a data/XX directory's first file). */
static int make_parent(const char *path)
{
	char dir[4096];
	snprintf(dir, sizeof dir, "%s", path);
	char *slash = strrchr(dir, '/');
	assert(slash);
	*slash = 0;
	return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* Move a spare file to PATH: 0, or -errno (-ENOENT: none left). */
int spare_take(struct store *st, const char *path)
{
	for (;;) {
		pthread_mutex_lock(&st->spare_lock);
		uint64_t n = st->nspare ? st->spare[--st->nspare] : 0;
		pthread_mutex_unlock(&st->spare_lock);
		if (!n)
			return -ENOENT;
		char src[4096];
		spare_path(st, n, src, sizeof src);
		if (rename(src, path) == 0)
			return 0;
		int e = errno;
		if (e == ENOENT && access(src, F_OK) < 0)
			continue; /* gone from spare/ behind our back: the next one */
		if (e == ENOENT && make_parent(path) == 0 && rename(src, path) == 0)
			return 0;
		e = errno;
		if (spare_push(st, n) < 0) /* it stays for the next object */
			unlink(src);
		return -e;
	}
}
