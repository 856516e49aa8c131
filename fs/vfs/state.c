/*
 * fs/vfs/state.c — the namespace layer as a whole: opening a state directory
 * (meta.db, the data store, the trees), the orphan sweep after a crash,
 * group commit of dirty inodes, shutdown, and the consistency check of the
 * namespace tables.
 */
#include "fs/vfs/vfs_int.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "meta/log.h"

/* Files unlinked while open are kept (nlink 0) until closed; after a crash
 * nobody holds them any more. Only rows a writable tree owns go: one in a
 * snapshot's lineage is part of that snapshot (unreachable by name). */
static int sweep_orphans(struct vfs *v)
{
	int r = db_begin_essential(v->db);
	if (r < 0)
		return r;
	sqlite3_stmt *st = db_prep(v->db, "SELECT i.family, i.lineage, i.ino FROM inodes i "
	                                  "JOIN trees t ON t.lineage=i.lineage AND t.kind<>'snapshot' "
	                                  "WHERE i.nlink=0 AND i.whiteout=0");
	struct orphan {
		uint64_t family, lineage, ino;
	} *list = NULL;
	size_t count = 0, cap = 0;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (count == cap) {
			cap = cap ? cap * 2 : 16;
			struct orphan *bigger = realloc(list, cap * sizeof *list);
			if (!bigger)
				break;
			list = bigger;
		}
		list[count].family = (uint64_t)sqlite3_column_int64(st, 0);
		list[count].lineage = (uint64_t)sqlite3_column_int64(st, 1);
		list[count].ino = (uint64_t)sqlite3_column_int64(st, 2);
		count++;
	}
	db_finish(st);
	for (size_t i = 0; r == 0 && i < count; i++)
		r = vnode_row_delete(v, list[i].family, list[i].lineage, list[i].ino, NULL,
		                     VNODE_META_UNKNOWN, 1);
	free(list);
	return r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
}

/* Data files with no object row: say what became of them (never silently). */
static void sweep_data_files(struct vfs *v)
{
	char lost[4200];
	snprintf(lost, sizeof lost, "%s/lost+found", v->state_dir);
	struct store_sweep s;
	int r = store_sweep_orphans(v->store, lost, &s);
	if (r < 0)
		vlog_error("store", "cannot sweep data files without object rows: %s", strerror(-r));
	if (s.removed)
		vlog_info("store", "removed %u data file%s of objects deleted before the last stop",
		          s.removed, s.removed == 1 ? "" : "s");
	if (s.moved)
		vlog_warn("store", "moved %u data file%s that no committed object owns to %s "
		          "(written just before an unclean stop, or lost from meta.db; "
		          "delete them once not needed)", s.moved, s.moved == 1 ? "" : "s", lost);
}

/* STATE/data/.running exists while a daemon serves the state directory;
 * finding it at start means the last one did not stop cleanly, and host
 * blocks written after its last group commit may be allocated with no
 * committed map referring to them: give them back. db locked. */
static void reclaim_after_unclean_stop(struct vfs *v)
{
	char marker[4200];
	snprintf(marker, sizeof marker, "%s/data/.running", v->state_dir);
	if (access(marker, F_OK) == 0) {
		uint64_t files, bytes = store_reclaim_unmapped(v->store, &files);
		if (bytes)
			vlog_info("store", "after an unclean stop: gave back %" PRIu64 " bytes of host "
			          "blocks in %" PRIu64 " data file%s that no committed block map refers to",
			          bytes, files, files == 1 ? "" : "s");
	}
	int fd = open(marker, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		vlog_warn("store", "cannot create %s: %s", marker, strerror(errno));
	else
		close(fd);
	v->running_marker = fd >= 0;
}

/* The size and blocks of the inode holding each repaired object (a
 * private object has exactly one). db locked. */
static int set_repaired_sizes(struct vfs *v, const struct store_synced *list,
                              const uint64_t *blocks, size_t count)
{
	int r = db_begin_essential(v->db);
	for (size_t i = 0; r == 0 && i < count; i++) {
		sqlite3_stmt *st = db_prep(v->db, "UPDATE inodes SET size = ?, blocks = ? WHERE obj = ?");
		sqlite3_bind_int64(st, 1, (int64_t)list[i].size);
		sqlite3_bind_int64(st, 2, (int64_t)blocks[i]);
		sqlite3_bind_int64(st, 3, (int64_t)list[i].id);
		r = db_step_done(v->db, st);
	}
	return r == 0 ? db_commit(v->db) : (db_rollback(v->db), r);
}

/* After an unclean stop, before anything else: files whose last fdatasync
 * made data durable that meta.db does not describe yet (one flush per
 * fdatasync, fs/store/datasync.c) get their map, size and block count
 * back from their data files. Takes the db lock itself: counting a
 * repaired file's blocks loads its object, parents and all. */
static int repair_synced_files(struct vfs *v)
{
	char running[4200];
	snprintf(running, sizeof running, "%s/data/.running", v->state_dir);
	if (access(running, F_OK) != 0)
		return 0;
	struct store_synced *list;
	size_t count;
	db_lock(v->db);
	int r = store_repair_synced(v->store, &list, &count);
	db_unlock(v->db);
	if (r < 0 || count == 0)
		return r;
	uint64_t *blocks = calloc(count, sizeof *blocks);
	if (!blocks) {
		free(list);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++)
		blocks[i] = store_view_blocks(v->store, list[i].id);
	db_lock(v->db);
	r = set_repaired_sizes(v, list, blocks, count);
	db_unlock(v->db);
	if (r == 0)
		vlog_info("store", "after an unclean stop: rebuilt the size and block map of %zu "
		          "file%s from %s data file%s, fdatasynced after their last commit", count,
		          count == 1 ? "" : "s", count == 1 ? "its" : "their", count == 1 ? "" : "s");
	free(blocks);
	free(list);
	return r;
}

/* A damaged meta.db would serve stale or wrong metadata and fail commits
 * later: refuse to start on one. */
static int quick_check(struct vfs *v, const char *path, char *err, size_t errlen)
{
	char msg[400];
	if (db_quick_check(v->db, msg, sizeof msg) == 0)
		return 0;
	snprintf(err, errlen, "%s is damaged (quick_check: %s); not starting: restore it from a "
	         "backup or recover it with sqlite3's .recover", path, msg);
	return -1;
}

/* SQLite rolled back a group: bring what memory mirrors back in line. */
static void group_lost(void *arg)
{
	struct vfs *v = arg;
	store_group_lost(v->store);
	vfs_trees_resync(v);
	vnodes_group_lost(v);
	inline_copies_lost(v);
}

/* A group committed: the inline bytes kept in case it was lost go. */
static void group_committed(void *arg)
{
	inline_copies_committed(arg);
}

int vfs_open_state(struct vfs **out, const char *state_dir, int readonly, char *err, size_t errlen)
{
	struct vfs *v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	v->state_dir = strdup(state_dir);
	v->readonly = readonly;
	v->mount_time = vfs_now_ns();
	pthread_mutex_init(&v->itab_lock, NULL);
	pthread_mutex_init(&v->trees_lock, NULL);
	pthread_mutex_init(&v->lp_lock, NULL);
	pthread_mutex_init(&v->reclaim_lock, NULL);
	pthread_cond_init(&v->reclaim_cond, NULL);
	v->itab = calloc(ITAB_BUCKETS, sizeof *v->itab);
	char path[4096];
	snprintf(path, sizeof path, "%s/meta.db", state_dir);
	if (!v->itab || db_open(&v->db, path, err, errlen) < 0 ||
	    (!readonly && quick_check(v, path, err, errlen) < 0)) {
		vfs_close(v);
		return -1;
	}
	if (store_open(&v->store, state_dir, v->db) < 0) {
		snprintf(err, errlen, "cannot open the data store in %s/data: %s", state_dir,
		         strerror(errno));
		vfs_close(v);
		return -1;
	}
	int sr = readonly ? 0 : db_use_space(v->db, state_dir);
	if (sr < 0) {
		snprintf(err, errlen, "cannot keep the metadata reserve %s/meta.reserve: %s", state_dir,
		         strerror(-sr));
		vfs_close(v);
		return -1;
	}
	db_on_lost_group(v->db, group_lost, v);
	db_on_group_committed(v->db, group_committed, v);
	int r = readonly ? 0 : repair_synced_files(v);
	db_lock(v->db);
	if (r == 0 && !readonly)
		r = sweep_orphans(v);
	if (r == 0 && !readonly)
		sweep_data_files(v);
	if (r == 0 && !readonly)
		r = tree_empty_memory_trees(v);
	if (r == 0 && !readonly)
		reclaim_after_unclean_stop(v);
	if (r == 0)
		r = tree_load_all(v);
	db_unlock(v->db);
	if (r == 0)
		store_reap(v->store); /* the swept orphans' files */
	if (r < 0) {
		snprintf(err, errlen, "cannot load volumes from %s: %s", path, strerror(-r));
		vfs_close(v);
		return -1;
	}
	*out = v;
	return 0;
}

/* The group commit point: dirty inodes and maps, then the group
 * transaction, then the data files of objects that commit deleted. */
int vfs_flush_all(struct vfs *v)
{
	int r = vnodes_flush_dirty(v, 0);
	db_lock(v->db);
	int c = db_group_commit(v->db);
	db_unlock(v->db);
	db_checkpoint(v->db);
	store_reap(v->store);
	return r < 0 ? r : c;
}

int vfs_flush_background(struct vfs *v)
{
	if (db_quiet(v->db))
		return 0;
	if (atomic_load(&v->lineages_lost)) {
		db_lock(v->db);
		vfs_trees_resync(v);
		db_unlock(v->db);
	}
	return vfs_flush_all(v);
}

void vfs_close(struct vfs *v)
{
	if (!v)
		return;
	vfs_drain_reads(); /* reads in flight hold inodes and host files */
	reclaim_stop(v);
	if (v->db) {
		db_lock(v->db);
		v->closing = 1;
		db_unlock(v->db);
	}
	if (v->db && v->store && vfs_flush_all(v) == 0 && v->running_marker) {
		char marker[4200];
		snprintf(marker, sizeof marker, "%s/data/.running", v->state_dir);
		unlink(marker); /* a clean stop: nothing to reclaim at the next start */
	}
	if (v->db) {
		/* The mirrors a lost group resynchronises (the inode table, the
		 * trees, the store's objects) are freed from here on, while the
		 * teardown below still makes changes and the store and the db
		 * commit them: a group lost now is recovered by the next start
		 * from meta.db, as after a crash, not in memory. */
		db_lock(v->db);
		db_on_lost_group(v->db, NULL, NULL);
		db_on_group_committed(v->db, NULL, NULL);
		db_unlock(v->db);
	}
	if (v->itab) {
		/* The kernel is gone; drop what it still referenced: the handles
		 * it never released, then the inodes (their nopen is reset). */
		vfs_free_unreleased(v);
		for (size_t i = 0; i < ITAB_BUCKETS; i++)
			while (v->itab[i]) {
				struct vnode *n = v->itab[i];
				ranked_lock(&v->itab_lock, LOCK_LEAF);
				n->nlookup = 0;
				n->nopen = 0;
				n->ref = 1; /* ours alone: nothing else runs now */
				ranked_unlock(&v->itab_lock, LOCK_LEAF);
				vnode_put(v, n);
			}
		free(v->itab);
	}
	if (v->store)
		store_close(v->store);
	if (v->db)
		db_close(v->db);
	tree_free_all(v);
	for (size_t i = 0; i < v->n_nsdirs; i++)
		free(v->nsdirs[i]);
	free(v->nsdirs);
	lp_free(v);
	pthread_mutex_destroy(&v->lp_lock);
	pthread_mutex_destroy(&v->reclaim_lock);
	pthread_cond_destroy(&v->reclaim_cond);
	pthread_mutex_destroy(&v->itab_lock);
	pthread_mutex_destroy(&v->trees_lock);
	free(v->state_dir);
	free(v);
}

void vfs_start_reclaimer(struct vfs *v)
{
	if (!v->readonly && !v->reclaimer_running)
		reclaim_start(v);
}

void vfs_set_notify(struct vfs *v, const struct vfs_notify *n) { v->notify = *n; }

void vfs_kernel_keeps_times(struct vfs *v) { atomic_store(&v->kernel_times, 1); }
void vfs_set_names(struct vfs *v, const struct vfs_names *n) { v->names = *n; }
void vfs_set_provisioner(struct vfs *v, const struct vfs_provisioner *p) { v->lp = *p; }
struct db *vfs_db(struct vfs *v) { return v->db; }
struct store *vfs_store(struct vfs *v) { return v->store; }

static int report_rows(struct vfs *v, const char *sql, uint64_t tree, const char *fmt,
                       void (*report)(void *, const char *), void *arg)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	int problems = 0, row;
	while ((row = db_step_row(st)) > 0) {
		char msg[512];
		snprintf(msg, sizeof msg, fmt, (long long)tree, sqlite3_column_int64(st, 0),
		         sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
		report(arg, msg);
		problems++;
	}
	db_finish(st);
	if (row < 0) { /* the rows not read are unchecked, not clean */
		char msg[512];
		snprintf(msg, sizeof msg, "tree %lld: cannot read its rows to check them", (long long)tree);
		report(arg, msg);
		problems++;
	}
	return problems;
}

/* The rows one tree sees, into temp tables the checks below read. */
static int load_view(struct vfs *v, uint64_t family, uint64_t lineage)
{
	static const char *const sql[] = {
		"DELETE FROM temp.check_inodes", "DELETE FROM temp.check_names",
		"INSERT INTO temp.check_inodes SELECT i.ino, i.nlink, i.mode FROM inodes i"
		VISIBLE("i", "?2") "WHERE i.family=?1 AND i.whiteout=0 AND NOT "
		NEWER_VISIBLE("inodes", "i", "j.ino=i.ino", "?2"),
		"INSERT INTO temp.check_names SELECT d.parent, d.ino FROM dentries d" VISIBLE("d", "?2")
		"WHERE d.family=?1 AND d.whiteout=0 AND NOT "
		NEWER_VISIBLE("dentries", "d", "j.parent=d.parent AND j.name=d.name", "?2"),
	};
	int r = 0;
	for (size_t i = 0; r == 0 && i < sizeof sql / sizeof sql[0]; i++) {
		sqlite3_stmt *st = db_prep(v->db, sql[i]);
		if (i >= 2) {
			sqlite3_bind_int64(st, 1, (int64_t)family);
			sqlite3_bind_int64(st, 2, (int64_t)lineage);
		}
		r = db_step_done(v->db, st);
	}
	return r;
}

/* Every name of the tree's view points at an inode of it; every link
 * count matches its names (directories: 2 + subdirectories); the root is
 * there. */
static int check_view(struct vfs *v, uint64_t tree, void (*report)(void *, const char *),
                      void *arg)
{
	int p = 0;
	p += report_rows(v, "SELECT n.ino, n.parent, 0 FROM temp.check_names n WHERE NOT EXISTS "
	                    "(SELECT 1 FROM temp.check_inodes i WHERE i.ino=n.ino)", tree,
	                 "tree %lld: a name points at missing inode %lld (in directory %lld)%.0lld",
	                 report, arg);
	p += report_rows(v, "SELECT i.ino, i.nlink, (SELECT count(*) FROM temp.check_names n "
	                    "WHERE n.ino=i.ino) c FROM temp.check_inodes i "
	                    "WHERE (i.mode & 61440) != 16384 AND i.nlink != c", tree,
	                 "tree %lld: inode %lld has link count %lld but %lld names", report, arg);
	p += report_rows(v, "SELECT i.ino, i.nlink, 2 + (SELECT count(*) FROM temp.check_names n "
	                    "JOIN temp.check_inodes c ON c.ino=n.ino WHERE n.parent=i.ino AND "
	                    "(c.mode & 61440) = 16384) c FROM temp.check_inodes i "
	                    "WHERE (i.mode & 61440) = 16384 AND i.nlink != c", tree,
	                 "tree %lld: directory %lld has link count %lld, expected %lld", report, arg);
	p += report_rows(v, "SELECT 0, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM temp.check_inodes "
	                    "WHERE ino=1)", tree, "tree %lld has no root directory%.0lld%.0lld%.0lld",
	                 report, arg);
	return p;
}

/* db locked. Lineages and their closure are consistent, each tree's view
 * of its rows is a consistent namespace, and the data store agrees. */
int vfs_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg,
              struct store_pending *pending)
{
	db_assert_locked(v->db);
	int p = lineage_check(v, report, arg);
	int r = db_exec(v->db, "CREATE TEMP TABLE IF NOT EXISTS check_inodes(ino INTEGER PRIMARY KEY, "
	                       "nlink INTEGER, mode INTEGER);"
	                       "CREATE TEMP TABLE IF NOT EXISTS check_names(parent INTEGER, ino INTEGER);"
	                       "CREATE INDEX IF NOT EXISTS temp.check_names_ino ON check_names(ino);"
	                       "CREATE INDEX IF NOT EXISTS temp.check_names_parent ON check_names(parent);");
	sqlite3_stmt *st = db_prep(v->db, "SELECT t.id, l.family, t.lineage FROM trees t "
	                                  "JOIN lineages l ON l.id=t.lineage ORDER BY t.id");
	struct view {
		uint64_t tree, family, lineage;
	} *views = NULL;
	size_t n = 0, cap = 0;
	int row = 0;
	while (r == 0 && (row = db_step_row(st)) > 0) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct view *bigger = realloc(views, cap * sizeof *views);
			if (!bigger) {
				r = -ENOMEM;
				break;
			}
			views = bigger;
		}
		views[n].tree = (uint64_t)sqlite3_column_int64(st, 0);
		views[n].family = (uint64_t)sqlite3_column_int64(st, 1);
		views[n].lineage = (uint64_t)sqlite3_column_int64(st, 2);
		n++;
	}
	db_finish(st);
	if (r == 0 && row < 0) /* a tree left out would be unchecked, not clean */
		r = row;
	for (size_t i = 0; r == 0 && i < n; i++)
		if ((r = load_view(v, views[i].family, views[i].lineage)) == 0)
			p += check_view(v, views[i].tree, report, arg) +
			     inline_check(v, views[i].tree, views[i].family, views[i].lineage, report, arg);
	free(views);
	if (r < 0) {
		report(arg, "cannot read the trees' rows to check them");
		p++;
	}
	struct store_users users = {vfs_each_obj_user, v->db};
	p += store_check(v->store, &users, report, arg, pending);
	return p;
}

int vfs_each_obj_user(void *db_arg, store_user_fn add, void *c)
{
	struct db *db = db_arg;
	sqlite3_stmt *st = db_prep(db, "SELECT obj, count(*), 'inode ' || min(family || '/' || ino || "
	                               "'@' || lineage) FROM inodes WHERE obj IS NOT NULL GROUP BY obj");
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		add(c, (uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
		    (const char *)sqlite3_column_text(st, 2));
	db_finish(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

void vfs_invalidate_name(struct vfs *v, uint64_t parent, const char *name)
{
	if (v->notify.inval_entry)
		v->notify.inval_entry(v->notify.arg, parent, name);
}

void vfs_invalidate_data(struct vfs *v, uint64_t ino, uint64_t off, uint64_t len)
{
	assert(off <= INT64_MAX && len <= INT64_MAX);
	if (v->notify.inval_inode)
		v->notify.inval_inode(v->notify.arg, ino, (int64_t)off, (int64_t)len);
}

void vfs_invalidate_attrs(struct vfs *v, uint64_t ino)
{
	if (v->notify.inval_inode)
		v->notify.inval_inode(v->notify.arg, ino, -1, 0); /* attributes only */
}
