/*
 * fs/store/recover.c — owns putting the data directory back in line with
 * the committed metadata when the daemon starts (fs/store/store.h): host files
 * that no object row owns (removed when a committed change deleted their
 * object, moved to STATE/lost+found when no committed change ever knew
 * them), and host blocks that no committed block map refers to (reclaimed
 * after an unclean stop). It also tells the consistency check which
 * ownerless files are such pending cleanup rather than damage.
 *
 * Which ownerless files are safe to remove: object ids come from an
 * AUTOINCREMENT counter that commits with the rows, so an id at or below
 * the committed counter belonged to an object whose row a committed change
 * deleted (its file was still waiting for store_reap). An id above it was
 * created by a change that never committed, or by one that meta.db lost
 * (a deleted or damaged meta.db-wal): the file may hold the only copy of
 * data, so it is kept, out of the way, for the operator to look at.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/falloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "meta/log.h"

int64_t committed_max_id(struct db *db)
{
	db_assert_locked(db);
	sqlite3_stmt *s = db_prep(db, "SELECT seq FROM sqlite_sequence WHERE name = 'dataobjs'");
	int row = db_step_row(s);
	int64_t seq = row > 0 ? sqlite3_column_int64(s, 0) : row;
	db_finish(s);
	return seq;
}

/* ------------------------------------------------------------------ */
/* Host files without rows                                            */

/* Move data/XX/NAME to LOST/NAME (NAME.1, NAME.2, ... if taken: an id can
 * come back after meta.db lost the counter's last value). */
static int move_to_lost(const char *path, const char *lost, const char *name)
{
	if (mkdir(lost, 0700) < 0 && errno != EEXIST)
		return -errno;
	char dst[4600];
	for (unsigned n = 0; n < 1000; n++) {
		if (n)
			snprintf(dst, sizeof dst, "%s/%s.%u", lost, name, n);
		else
			snprintf(dst, sizeof dst, "%s/%s", lost, name);
		if (renameat2(AT_FDCWD, path, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
			return 0;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

/* One ownerless host file: a deleted object's is removed, so is an empty
 * one (nothing to lose); any other goes to lost+found. Whether it went. */
static int sweep_file(const char *path, const char *name, uint64_t id, uint64_t max_id,
                      const char *lost, struct store_sweep *out)
{
	struct stat sb;
	if (id <= max_id || (stat(path, &sb) == 0 && sb.st_blocks == 0 && sb.st_size == 0)) {
		if (unlink(path) < 0)
			return errno == ENOENT;
		out->removed++;
		return 1;
	}
	int r = move_to_lost(path, lost, name);
	if (r == 0)
		out->moved++;
	else
		vlog_error("store", "cannot move %s to %s: %s", path, lost, strerror(-r));
	return r == 0;
}

int store_sweep_orphans(struct store *st, const char *lost, struct store_sweep *out)
{
	*out = (struct store_sweep){ 0 };
	int64_t committed = committed_max_id(st->db);
	if (committed < 0) /* a deleted object's file is then told from a lost one by nothing */
		return (int)committed;
	uint64_t max_id = (uint64_t)committed, bound = max_id;
	for (int x = 0; x < 256; x++) {
		char dir[4200];
		snprintf(dir, sizeof dir, "%s/%02x", st->dir, x);
		DIR *d = opendir(dir);
		if (!d)
			continue;
		struct dirent *e;
		while ((e = readdir(d))) {
			char *end;
			errno = 0;
			uint64_t id = strtoull(e->d_name, &end, 10);
			if (e->d_name[0] == '.' || errno || *end || !id)
				continue;
			/* only a file whose row is known to be gone (not -EIO) */
			char path[4500];
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			if (row_exists(st->db, id) != 0 ||
			    !sweep_file(path, e->d_name, id, max_id, lost, out))
				bound = id > bound ? id : bound; /* its file stays */
		}
		closedir(d);
	}
	/* Every file left has an id at or below the bound: ids above it can
	 * be created without looking for one. */
	st->file_id_bound = bound;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Host blocks without map bits                                       */

/* Punch the blocks of host extent [a, e) that o's committed map does not
 * hold as data. */
static void punch_unmapped(int fd, const struct dobj *o, uint64_t a, uint64_t e)
{
	for (uint64_t b = a / BS, lim = div_up(e, BS); b < lim;) {
		uint64_t hole = bmap_next_clear(&o->map, BMAP_DATA, b, lim);
		if (hole >= lim)
			return;
		uint64_t next = bmap_next_set(&o->map, BMAP_DATA, hole, lim);
		if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)(hole * BS),
		              (off_t)((next - hole) * BS)) < 0)
			return; /* no punching here: the space stays, nothing is wrong */
		b = next;
	}
}

/* Reclaim object id's unmapped host blocks; the bytes given back. */
static uint64_t reclaim_object(struct store *st, uint64_t id)
{
	char path[4096];
	store_path(st, id, path, sizeof path);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return 0;
	struct dobj *o = obj_new(st, id);
	struct stat before, after;
	uint64_t freed = 0;
	if (o && read_row(st->db, o) == 0 && fstat(fd, &before) == 0) {
		for (off_t a = lseek(fd, 0, SEEK_DATA); a >= 0; a = lseek(fd, a, SEEK_DATA)) {
			off_t e = lseek(fd, a, SEEK_HOLE);
			if (e <= a)
				break;
			punch_unmapped(fd, o, (uint64_t)a, (uint64_t)e);
			a = e;
		}
		if (fstat(fd, &after) == 0 && after.st_blocks < before.st_blocks)
			freed = (uint64_t)(before.st_blocks - after.st_blocks) * 512;
	}
	if (o)
		obj_free(o);
	close(fd);
	return freed;
}

uint64_t store_reclaim_unmapped(struct store *st, uint64_t *files)
{
	db_assert_locked(st->db);
	uint64_t freed = 0;
	*files = 0;
	sqlite3_stmt *s = db_prep(st->db, "SELECT id FROM dataobjs");
	while (sqlite3_step(s) == SQLITE_ROW) {
		uint64_t f = reclaim_object(st, (uint64_t)sqlite3_column_int64(s, 0));
		freed += f;
		*files += f > 0;
	}
	db_finish(s);
	return freed;
}
