/*
 * meta/db.c — owns the SQLite connection to meta.db: opening it in WAL mode,
 * running migrations, the global statement lock, transactions and the
 * explicit WAL sync used by fsync.
 */
#include "meta/db.h"
#include "meta/schema.sql.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "meta/fault.h"
#include "meta/lockrank.h"
#include "meta/log.h"
#include "meta/space.h"
#include "meta/walvfs.h"

static int db_user_version(sqlite3 *h)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Each migration runs in its own transaction together with the version bump,
 * so a crash mid-upgrade leaves the previous version intact. */
static int db_migrate(sqlite3 *h, char *err, size_t errlen)
{
	int v = db_user_version(h);
	if (v < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", sqlite3_errmsg(h));
		return -1;
	}
	if (v > (int)DB_N_MIGRATIONS) {
		snprintf(err, errlen, "meta.db has schema version %d, newer than this volfs (%d)",
		         v, (int)DB_N_MIGRATIONS);
		return -1;
	}
	for (; v < (int)DB_N_MIGRATIONS; v++) {
		char bump[64];
		char *msg = NULL;
		snprintf(bump, sizeof bump, "PRAGMA user_version=%d;", v + 1);
		if (sqlite3_exec(h, "BEGIN IMMEDIATE", NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(h, db_migrations[v], NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(h, bump, NULL, NULL, &msg) != SQLITE_OK ||
		    sqlite3_exec(h, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
			snprintf(err, errlen, "migration to schema %d failed: %s", v + 1,
			         msg ? msg : sqlite3_errmsg(h));
			sqlite3_free(msg);
			sqlite3_exec(h, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/* Open databases, so db_finish() can find a statement's cache from the
 * statement alone (callers hold their db's lock, not this one). */
static pthread_mutex_t open_lock = PTHREAD_MUTEX_INITIALIZER;
static struct db *open_dbs;

static void register_open(struct db *db)
{
	pthread_mutex_lock(&open_lock);
	db->next_open = open_dbs;
	open_dbs = db;
	pthread_mutex_unlock(&open_lock);
}

static void unregister_open(struct db *db)
{
	pthread_mutex_lock(&open_lock);
	for (struct db **p = &open_dbs; *p; p = &(*p)->next_open)
		if (*p == db) {
			*p = db->next_open;
			break;
		}
	pthread_mutex_unlock(&open_lock);
}

static struct db *db_of_handle(sqlite3 *h)
{
	pthread_mutex_lock(&open_lock);
	struct db *db = open_dbs;
	while (db && db->h != h)
		db = db->next_open;
	pthread_mutex_unlock(&open_lock);
	return db;
}

/* meta.db holds every Secret: it is the owner's alone whatever the umask.
 * SQLite gives -wal and -shm the mode of the database file, so creating
 * meta.db 0600 covers those it creates; ones left by an earlier run (and a
 * database made before) are fixed with a warning. */
static int private_file(const char *path, int create, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | (create ? O_CREAT : 0), 0600);
	if (fd < 0 && errno == ENOENT && !create)
		return 0;
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	int r = 0;
	if ((sb.st_mode & 07777) != 0600) {
		vlog_warn("meta.db", "%s had mode %04o; changing it to 0600 (it holds Secrets)", path,
		          (unsigned)(sb.st_mode & 07777));
		if (fchmod(fd, 0600) < 0) {
			snprintf(err, errlen, "cannot make %s private: %s", path, strerror(errno));
			r = -1;
		}
	}
	close(fd);
	return r;
}

static int private_files(const char *path, char *err, size_t errlen)
{
	char side[4096];
	if (private_file(path, 1, err, errlen) < 0)
		return -1;
	snprintf(side, sizeof side, "%s-wal", path);
	if (private_file(side, 0, err, errlen) < 0)
		return -1;
	snprintf(side, sizeof side, "%s-shm", path);
	return private_file(side, 0, err, errlen);
}

/* After each commit: the WAL's length for db_group_commit and
 * db_checkpoint, which replaces SQLite's automatic checkpoint (it would run
 * here, under the db lock). */
static int wal_hook(void *arg, sqlite3 *h, const char *name, int frames)
{
	struct db *db = arg;
	__atomic_store_n(&db->wal_frames, frames, __ATOMIC_RELAXED); /* db_checkpoint reads it unlocked */
	if (frames >= DB_WAL_CHECKPOINT_DUE)
		__atomic_store_n(&db->checkpoint_due, 1, __ATOMIC_RELEASE);
	if (frames >= DB_WAL_INLINE_FRAMES && !db_quiet(db))
		sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	return SQLITE_OK;
}

/* The second connection db_checkpoint copies the WAL with. It reads once
 * first: SQLite opens a connection's WAL at its first read, and a
 * checkpoint on a connection that has none copies nothing (and says -1
 * frames). side_lock held. */
static sqlite3 *side_connection(struct db *db)
{
	if (!db->side && (sqlite3_open_v2(db->path, &db->side, SQLITE_OPEN_READWRITE |
	                                  SQLITE_OPEN_NOMUTEX, walvfs_name()) != SQLITE_OK ||
	                  sqlite3_exec(db->side, "PRAGMA schema_version", NULL, NULL, NULL) != SQLITE_OK)) {
		vlog_warn("meta.db", "cannot open a second connection to checkpoint: %s",
		          sqlite3_errmsg(db->side));
		sqlite3_close_v2(db->side);
		db->side = NULL;
	}
	return db->side;
}

/* The frames of the WAL not yet copied into meta.db, as far as the last
 * commit and the last checkpoint (copied frames) tell. */
static int wal_tail(struct db *db, int copied)
{
	int frames = __atomic_load_n(&db->wal_frames, __ATOMIC_RELAXED);
	return frames > copied ? frames - copied : 0;
}

/* One round of draining the WAL before it starts over: the open group
 * commits in a short hold (under synchronous=NORMAL a commit only writes
 * its pages into the WAL, it syncs nothing), then, off the lock, the copy
 * syncs the WAL, copies it into meta.db and syncs meta.db. Whether the
 * copy caught up with every frame committed so far. side_lock held. */
static int drain_round(struct db *db, sqlite3 *side, int *frames, int *copied)
{
	db_lock(db);
	int r = db_group_commit(db);
	db_unlock(db);
	if (r < 0)
		return 0;
	sqlite3_wal_checkpoint_v2(side, NULL, SQLITE_CHECKPOINT_PASSIVE, frames, copied);
	return wal_tail(db, *copied) == 0;
}

/* Sync meta.db (wal 0) or its WAL (1) through conn's own file, so the
 * sync goes through SQLite's VFS as its own syncs do. */
static int sync_file(sqlite3 *conn, int wal)
{
	sqlite3_file *f = NULL;
	int op = wal ? SQLITE_FCNTL_JOURNAL_POINTER : SQLITE_FCNTL_FILE_POINTER;
	if (sqlite3_file_control(conn, "main", op, &f) != SQLITE_OK || !f || !f->pMethods)
		return -EIO;
	return f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) == SQLITE_OK ? 0 : -EIO;
}

static int restart_pending(struct db *db)
{
	return __atomic_load_n(&db->restart_unsynced, __ATOMIC_ACQUIRE);
}

/* Make the pages the restart's step copied durable in meta.db, so commits
 * may go on (the first of them starts the WAL over), and end the step's
 * sync, whether it worked or not. conn: a connection the caller may use.
 * A failed sync keeps commits held: each retries it (commit_allowed). */
static int restart_synced(struct db *db, sqlite3 *conn)
{
	pthread_mutex_lock(&db->synced_lock);
	int r = restart_pending(db) ? sync_file(conn, 0) : 0;
	if (r == 0)
		__atomic_store_n(&db->restart_unsynced, 0, __ATOMIC_RELEASE);
	__atomic_store_n(&db->restart_syncing, 0, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&db->synced);
	pthread_mutex_unlock(&db->synced_lock);
	if (r < 0)
		vlog_error("meta.db", "cannot sync %s after copying the WAL back: commits wait for it",
		           db->path);
	return r;
}

/* A commit must not start the WAL over before the pages copied back from
 * it are durable in meta.db (see restart_step): when they are not yet,
 * the committer syncs them first. db locked. */
static int commit_allowed(struct db *db)
{
	assert(db_locked_by_me(db));
	return restart_pending(db) ? restart_synced(db, db->h) : 0;
}

int db_restart_syncing(struct db *db)
{
	return __atomic_load_n(&db->restart_syncing, __ATOMIC_ACQUIRE);
}

/* Without the db lock, so the commit that follows does not pay for the
 * sync under it. */
void db_wait_restart_sync(struct db *db)
{
	if (!restart_pending(db))
		return;
	pthread_mutex_lock(&db->synced_lock);
	while (db->restart_syncing)
		pthread_cond_wait(&db->synced, &db->synced_lock);
	pthread_mutex_unlock(&db->synced_lock);
}

/* The WAL restart's step under the lock. SQLite starts the WAL over only
 * at a transaction that begins with every frame copied back, which never
 * happens while changes keep coming (an apply of thousands of objects):
 * the group would be open all along. So the group commits under the lock
 * and whatever is still uncopied is copied before anyone can begin the
 * next group; that next group's first commit starts the WAL over.
 *
 * What this step has to flush is only what was committed since the last
 * drain round: the changes made during that round's copy. When there are
 * none it copies nothing and syncs nothing (every frame is back). Else it
 * syncs the WAL (a torn copy must be redone from durable frames at
 * recovery) and copies with the side connection's syncs off: meta.db's
 * sync, the second and longer one, comes after the lock is released, and
 * until it is done no commit may start the WAL over (the restart would
 * drop frames whose pages meta.db does not hold durably yet): a commit
 * that comes first syncs meta.db itself (commit_allowed), db_sync and
 * background threads wait for it before they take the lock, and bounded
 * commits hold off. The restart writes and syncs the new WAL header only at that
 * commit. A kill -9 anywhere loses nothing committed (the page cache
 * keeps every write); a power loss, at worst the changes not yet synced,
 * as at any other moment. A tail longer than DB_WAL_LOCKED_TAIL waits
 * for the next round rather than flush under the lock. side_lock held. */
static void restart_step(struct db *db, sqlite3 *side, int copied)
{
	db_lock(db);
	int left = db_group_commit(db) == 0 ? wal_tail(db, copied) : -1;
	int copy = left > 0 && left <= DB_WAL_LOCKED_TAIL && sync_file(side, 1) == 0 &&
	           sqlite3_exec(side, "PRAGMA synchronous=OFF", NULL, NULL, NULL) == SQLITE_OK;
	if (copy) {
		sqlite3_wal_checkpoint_v2(side, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		pthread_mutex_lock(&db->synced_lock);
		__atomic_store_n(&db->restart_syncing, 1, __ATOMIC_RELEASE);
		__atomic_store_n(&db->restart_unsynced, 1, __ATOMIC_RELEASE);
		pthread_mutex_unlock(&db->synced_lock);
		sqlite3_exec(side, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	}
	db_unlock(db);
	if (copy)
		restart_synced(db, side);
	if (left != 0 && !copy)
		__atomic_store_n(&db->checkpoint_due, 1, __ATOMIC_RELEASE);
}

void db_checkpoint(struct db *db)
{
	if (!__atomic_exchange_n(&db->checkpoint_due, 0, __ATOMIC_ACQ_REL) || !db->path ||
	    !strcmp(db->path, ":memory:"))
		return;
	pthread_mutex_lock(&db->side_lock);
	sqlite3 *side = side_connection(db);
	int frames = 0, copied = 0;
	if (side)
		sqlite3_wal_checkpoint_v2(side, NULL, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied);
	/* Not during a freeze: the snapshot's writers wait for nothing but it. */
	if (side && frames >= db->wal_restart_frames && db_quiet(db)) {
		__atomic_store_n(&db->checkpoint_due, 1, __ATOMIC_RELEASE); /* after the freeze */
	} else if (side && frames >= db->wal_restart_frames) {
		/* The group's pages go through the WAL's and meta.db's syncs off
		 * the lock first, so the step under it finds little or nothing
		 * left to flush. */
		for (int i = 0; i < DB_WAL_CATCH_UP_COPIES; i++)
			if (drain_round(db, side, &frames, &copied))
				break;
		restart_step(db, side, copied);
	}
	pthread_mutex_unlock(&db->side_lock);
}

/* SQLite's page cache for meta.db in KiB (negative: -1 after an error,
 * said in err): 256 MiB, or VOLFS_DB_CACHE_MIB. Pages are taken as read, so
 * the bound costs memory only as meta.db grows towards it (a volume of
 * 100,000 files with 1,000 snapshots: 125 MiB); past it, lookups
 * read pages from meta.db (volfs_db_page_cache_misses_total), more on a
 * volume whose rows have versions beside them (docs/performance.md). */
static long cache_kib(char *err, size_t errlen)
{
	const char *mib = getenv("VOLFS_DB_CACHE_MIB");
	if (!mib || !*mib)
		return 256 * 1024;
	char *end;
	errno = 0;
	long v = strtol(mib, &end, 10);
	if (errno || *end || v < 1 || v > 1024 * 1024) {
		snprintf(err, errlen, "VOLFS_DB_CACHE_MIB=%s: not a number of MiB from 1 to 1048576", mib);
		return -1;
	}
	return v * 1024;
}

int db_open(struct db **out, const char *path, char *err, size_t errlen)
{
	long cache = cache_kib(err, errlen);
	if (cache < 0)
		return -1;
	if (strcmp(path, ":memory:") && private_files(path, err, errlen) < 0)
		return -1;
	struct db *db = calloc(1, sizeof *db);
	if (!db) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	pthread_mutex_init(&db->lock, NULL);
	pthread_mutex_init(&db->side_lock, NULL);
	pthread_mutex_init(&db->synced_lock, NULL);
	pthread_cond_init(&db->synced, NULL);
	pthread_mutex_init(&db->turn_lock, NULL);
	pthread_cond_init(&db->turn, NULL);
	db->path = strdup(path);
	db->wal_restart_frames = DB_WAL_RESTART_FRAMES;
	/* walvfs: the WAL written in whole pages at its end (meta/walvfs.h) */
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	                    SQLITE_OPEN_NOMUTEX, walvfs_name()) != SQLITE_OK) {
		snprintf(err, errlen, "cannot open %s: %s", path, sqlite3_errmsg(db->h));
		db_close(db);
		return -1;
	}
	sqlite3_busy_timeout(db->h, 5000);
	char *msg = NULL, pragmas[256];
	snprintf(pragmas, sizeof pragmas, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
	         "PRAGMA foreign_keys=OFF; PRAGMA cache_size=-%ld;"
	         "PRAGMA temp_store=MEMORY; PRAGMA secure_delete=ON;", cache);
	if (sqlite3_exec(db->h, pragmas, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "cannot configure %s: %s", path, msg ? msg : "?");
		sqlite3_free(msg);
		db_close(db);
		return -1;
	}
	if (db_migrate(db->h, err, errlen) < 0) {
		db_close(db);
		return -1;
	}
	sqlite3_wal_hook(db->h, wal_hook, db);
	register_open(db);
	*out = db;
	return 0;
}

void db_close(struct db *db)
{
	if (!db)
		return;
	if (db->h) {
		db_lock(db);
		db_group_commit(db);
		db_unlock(db);
	}
	unregister_open(db);
	if (db->side) /* first: closing the last connection checkpoints and drops the WAL */
		sqlite3_close_v2(db->side);
	pthread_mutex_destroy(&db->side_lock);
	pthread_cond_destroy(&db->synced);
	pthread_mutex_destroy(&db->synced_lock);
	pthread_cond_destroy(&db->turn);
	pthread_mutex_destroy(&db->turn_lock);
	for (int i = 0; i < DB_STMT_CACHE; i++)
		if (db->cache[i].st)
			sqlite3_finalize(db->cache[i].st);
	if (db->h)
		sqlite3_close_v2(db->h);
	meta_space_close(db->space);
	pthread_mutex_destroy(&db->lock);
	free(db->path);
	free(db);
}

void db_scrub_after_commit(struct db *db)
{
	db->scrub_wal = 1;
}

int db_exec(struct db *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		vlog_error("meta.db", "sqlite: %s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

/* A statement without result rows, from the statement cache: savepoints
 * run several times per namespace change, and parsing them each time (as
 * sqlite3_exec does) cost more than running them. */
static int db_run(struct db *db, const char *sql)
{
	sqlite3_stmt *st = db_prep(db, sql);
	int rc = sqlite3_step(st);
	db_finish(st);
	if (rc != SQLITE_DONE) {
		fprintf(stderr, "volfs: sqlite: %s: %s\n", sql, sqlite3_errmsg(db->h));
		return rc == SQLITE_FULL ? -ENOSPC : -EIO;
	}
	return 0;
}

/* On a tight host the group so far commits first, while the reserve can
 * still take it, and this change will commit on its own. */
static int begin_change(struct db *db, int essential)
{
	assert(db_locked_by_me(db));
	db->commit_each = 0;
	if (db->space && meta_space_tight(db->space)) {
		int r = db_group_commit(db);
		if (r == 0)
			r = meta_space_admit(db->space, essential);
		if (r < 0)
			return r;
		db->commit_each = 1;
	}
	if (!db->group_open) {
		int r = db_exec(db, "BEGIN IMMEDIATE");
		if (r < 0)
			return r;
		db->group_open = 1;
		db->group_base = sqlite3_total_changes64(db->h);
		db->group_bytes = 0;
	}
	int r = db_run(db, "SAVEPOINT change");
	if (r == 0)
		db->in_txn = 1;
	return r;
}

int db_begin(struct db *db) { return begin_change(db, 0); }
int db_begin_essential(struct db *db) { return begin_change(db, 1); }

void db_note_bytes(struct db *db, uint64_t n) { db->group_bytes += n; }

/* What the open group's commit will write, roughly: a changed row is
 * counted as half a page, generously (rows of one change share pages),
 * plus the large values it wrote. */
static uint64_t group_estimate(struct db *db)
{
	return (uint64_t)(sqlite3_total_changes64(db->h) - db->group_base) * 2048 + db->group_bytes;
}

/* Whether the open group should commit now rather than at the flusher's
 * next round: it is large, or what it will write might not fit. */
static int group_due(struct db *db)
{
	if (db->commit_each)
		return 1;
	if (!db_quiet(db) && !restart_pending(db) &&
	    sqlite3_total_changes64(db->h) - db->group_base >= DB_GROUP_MAX_CHANGES)
		return 1;
	return db->space && !meta_space_fits(db->space, group_estimate(db));
}

static int group_commit(struct db *db, int answered);

static void change_ended(struct db *db, int committed)
{
	if (db->on_change_end)
		db->on_change_end(db->on_change_end_arg, committed);
}

int db_commit(struct db *db)
{
	assert(db_locked_by_me(db) && db->in_txn);
	int r = db_run(db, "RELEASE change");
	if (r < 0)
		db_rollback(db);
	else if (db->in_txn)
		change_ended(db, 1);
	db->in_txn = 0;
	/* A change that commits alone (a tight host) is the whole group: if
	 * the commit fails, its caller hears so, and nothing answered is lost. */
	if (r == 0 && group_due(db))
		r = group_commit(db, !db->commit_each);
	db->commit_each = 0;
	return r;
}

int db_commit_bounded(struct db *db, int64_t max_changes)
{
	int r = db_commit(db);
	if (r == 0 && db->group_open && !db_quiet(db) && !restart_pending(db) &&
	    sqlite3_total_changes64(db->h) - db->group_base >= max_changes)
		r = db_group_commit(db);
	return r;
}

static int64_t group_changes(struct db *db)
{
	return db->group_open ? sqlite3_total_changes64(db->h) - db->group_base : 0;
}

int db_begin_bounded(struct db *db, int64_t changes, int64_t max_changes)
{
	assert(db_locked_by_me(db));
	assert(changes < max_changes); /* else no group could take it */
	int r = 0;
	if (group_changes(db) > max_changes - changes)
		r = db_group_commit(db);
	return r == 0 ? db_begin_essential(db) : r;
}

void db_rollback(struct db *db)
{
	assert(db_locked_by_me(db));
	if (db->in_txn) {
		db_run(db, "ROLLBACK TO change");
		db_run(db, "RELEASE change");
		db->undo_gen++;
		change_ended(db, 0);
	}
	db->in_txn = 0;
}

/* SQLite rolled the whole group back. Let the owner of in-memory mirrors
 * resynchronise them; if changes already answered are gone, say so and
 * make the next fsync fail. */
static void group_lost(struct db *db, int answered)
{
	db->claims_gen++;
	db->undo_gen++;
	if (answered) {
		db->lost_groups++;
		vlog_error("meta.db", "a group commit failed and SQLite rolled it back: the metadata "
		           "changes of the last moments are lost; the next fsync reports EIO");
	}
	char msg[400];
	if (db_quick_check(db, msg, sizeof msg) < 0)
		vlog_error("meta.db", "%s is damaged (quick_check: %s): stop the daemon and "
		           "restore or recover it", db->path, msg);
	if (db->on_lost)
		db->on_lost(db->on_lost_arg);
}

int db_group_commit(struct db *db) { return group_commit(db, 1); }

void db_quiet_begin(struct db *db) { __atomic_fetch_add(&db->quiet, 1, __ATOMIC_SEQ_CST); }

void db_quiet_end(struct db *db)
{
	int was = __atomic_fetch_sub(&db->quiet, 1, __ATOMIC_SEQ_CST);
	assert(was > 0);
	(void)was; /* under NDEBUG */
}

int db_quiet(struct db *db) { return __atomic_load_n(&db->quiet, __ATOMIC_SEQ_CST) > 0; }

static __thread uint64_t thread_commits;

uint64_t db_thread_commits(void) { return thread_commits; }

/* answered: the group holds changes whose callers were already answered. */
static int group_commit(struct db *db, int answered)
{
	assert(db_locked_by_me(db));
	if (!db->group_open)
		return 0;
	if (commit_allowed(db) < 0)
		return -EIO; /* the group stays open for the next commit */
	int lent = db->space && meta_space_lend(db->space, group_estimate(db));
	thread_commits++;
	uint64_t changes = (uint64_t)(sqlite3_total_changes64(db->h) - db->group_base);
	int r = db_run(db, "COMMIT");
	if (r == 0 && changes > __atomic_load_n(&db->group_changes_max, __ATOMIC_RELAXED))
		__atomic_store_n(&db->group_changes_max, changes, __ATOMIC_RELAXED);
	/* On a tight host each change commits alone and appends its pages to
	 * the WAL again, and a checkpoint cannot grow meta.db while the
	 * reserve holds the host's last blocks: one while the reserve is out
	 * lets the WAL start over instead of growing. */
	if (lent && r == 0 && db->wal_frames >= DB_WAL_CHECKPOINT_FRAMES) {
		sqlite3_wal_checkpoint_v2(db->h, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
		db->wal_frames = 0;
	}
	if (r == 0 && db->scrub_wal) {
		/* secure_delete zeroed the old values in the database pages;
		 * the WAL still has earlier images of them until it is emptied. */
		db->scrub_wal = 0;
		db_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
	}
	if (db->space)
		meta_space_refill(db->space);
	/* A commit that failed and left the transaction open keeps it, so the
	 * changes already applied in memory are retried at the next commit. */
	if (r < 0 && sqlite3_get_autocommit(db->h) == 0)
		return r;
	db->group_open = 0;
	if (r < 0)
		group_lost(db, answered);
	else if (db->on_committed)
		db->on_committed(db->on_committed_arg);
	return r;
}

int db_use_space(struct db *db, const char *dir)
{
	return db->space ? 0 : meta_space_open(&db->space, dir);
}

void db_on_lost_group(struct db *db, void (*fn)(void *arg), void *arg)
{
	db->on_lost = fn;
	db->on_lost_arg = arg;
}

void db_on_group_committed(struct db *db, void (*fn)(void *arg), void *arg)
{
	db->on_committed = fn;
	db->on_committed_arg = arg;
}

void db_on_change_end(struct db *db, void (*fn)(void *arg, int committed), void *arg)
{
	db->on_change_end = fn;
	db->on_change_end_arg = arg;
}

static sqlite3_stmt *prepare(struct db *db, const char *sql, unsigned flags)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v3(db->h, sql, -1, flags, &st, NULL) != SQLITE_OK) {
		vlog_error("meta.db", "sqlite prepare failed: %s: %s", sql, sqlite3_errmsg(db->h));
		abort();
	}
	return st;
}

static size_t stmt_hash(const sqlite3_stmt *st)
{
	return (size_t)((((uintptr_t)st >> 3) * 0x9E3779B97F4A7C15ULL) >> 32);
}

static void remember_slot(struct db *db, const sqlite3_stmt *st, int slot)
{
	size_t n = sizeof db->slot_of / sizeof db->slot_of[0];
	size_t i = stmt_hash(st) % n;
	while (db->slot_of[i]) /* at most DB_STMT_CACHE of 2 * DB_STMT_CACHE taken */
		i = (i + 1) % n;
	db->slot_of[i] = (uint16_t)(slot + 1);
}

/* The cache slot holding st, or -1 for a private copy. */
static int slot_of(struct db *db, const sqlite3_stmt *st)
{
	size_t n = sizeof db->slot_of / sizeof db->slot_of[0];
	for (size_t i = stmt_hash(st) % n; db->slot_of[i]; i = (i + 1) % n)
		if (db->cache[db->slot_of[i] - 1].st == st)
			return db->slot_of[i] - 1;
	return -1;
}

/* Preparing costs more than running most of our statements, so each SQL
 * literal is prepared once. A statement already in use (a nested caller
 * running the same SQL) gets a private, uncached copy. */
sqlite3_stmt *db_prep(struct db *db, const char *sql)
{
	uintptr_t h = ((uintptr_t)sql >> 3) * 0x9E3779B97F4A7C15ULL;
	for (unsigned i = 0; i < 8; i++) {
		size_t slot = (h + i) % DB_STMT_CACHE;
		struct db_cached_stmt *c = &db->cache[slot];
		if (c->sql == sql && c->st) {
			if (c->in_use)
				break;
			c->in_use = 1;
			return c->st;
		}
		if (!c->st) {
			c->sql = sql;
			c->st = prepare(db, sql, SQLITE_PREPARE_PERSISTENT);
			c->in_use = 1;
			remember_slot(db, c->st, (int)slot);
			return c->st;
		}
	}
	return prepare(db, sql, 0);
}

void db_finish(sqlite3_stmt *st)
{
	if (!st)
		return;
	struct db *db = db_of_handle(sqlite3_db_handle(st));
	int slot = db ? slot_of(db, st) : -1;
	if (slot < 0) {
		sqlite3_finalize(st);
		return;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	db->cache[slot].in_use = 0;
}

int db_step_done(struct db *db, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	db_finish(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		vlog_error("meta.db", "sqlite: %s", sqlite3_errmsg(db->h));
		return rc == SQLITE_CONSTRAINT ? -EEXIST : (rc == SQLITE_FULL ? -ENOSPC : -EIO);
	}
	return 0;
}

int64_t db_next_id(struct db *db, const char *counter)
{
	sqlite3_stmt *st = db_prep(db, "INSERT INTO counters(name, value) VALUES(?, 1) "
	                               "ON CONFLICT(name) DO UPDATE SET value = value + 1 "
	                               "RETURNING value");
	sqlite3_bind_text(st, 1, counter, -1, SQLITE_STATIC);
	int64_t v = -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	db_finish(st);
	return v;
}

/* synchronous=NORMAL leaves the WAL unsynced after a commit; syncing the
 * WAL file is exactly what synchronous=FULL would have done per commit, but
 * only when somebody asked for durability. */
int db_step_row(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -EIO;
}

int db_finish_text_row(sqlite3_stmt *st, char *buf, size_t len, uint64_t *num)
{
	int r = db_step_row(st);
	if (r > 0 && sqlite3_column_text(st, 0)) {
		snprintf(buf, len, "%s", (const char *)sqlite3_column_text(st, 0));
		if (num)
			*num = (uint64_t)sqlite3_column_int64(st, 1);
		r = 0;
	} else if (r >= 0) {
		r = -ENOENT;
	}
	db_finish(st);
	return r;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int db_sync_timed(struct db *db, struct db_sync_times *t)
{
	/* A restart's step that held the lock while this thread queued for
	 * it may have begun its sync of meta.db: the commit below would wait
	 * for that sync under the lock (commit_allowed). Wait off it. */
	for (;;) {
		db_wait_restart_sync(db);
		db_lock(db);
		if (!db_restart_syncing(db))
			break;
		db_unlock(db);
	}
	uint64_t t0 = now_ns();
	int r = db_group_commit(db);
	t->commit_ns = now_ns() - t0;
	t->wal_sync_ns = 0;
	assert(db->lost_reported <= db->lost_groups); /* each lost group is reported once */
	if (r == 0 && db->lost_reported != db->lost_groups) {
		db->lost_reported = db->lost_groups;
		r = -EIO;
	}
	db_unlock(db);
	if (r < 0)
		return r;
	char wal[4096];
	snprintf(wal, sizeof wal, "%s-wal", db->path);
	int fd = open(wal, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	t0 = now_ns();
	r = FAULT(FAULT_FSYNC) ? -EIO : fdatasync(fd) < 0 ? -errno : 0;
	t->wal_sync_ns = now_ns() - t0;
	close(fd);
	return r;
}

int db_sync(struct db *db)
{
	struct db_sync_times t;
	return db_sync_timed(db, &t);
}

void db_page_cache_stats(struct db *db, struct db_page_cache_stats *out)
{
	int hits = 0, misses = 0, high;
	db_lock(db);
	sqlite3_db_status(db->h, SQLITE_DBSTATUS_CACHE_HIT, &hits, &high, 1);
	sqlite3_db_status(db->h, SQLITE_DBSTATUS_CACHE_MISS, &misses, &high, 1);
	db->page_cache.hits += (uint64_t)hits;
	db->page_cache.misses += (uint64_t)misses;
	*out = db->page_cache;
	db_unlock(db);
}

int db_quick_check(struct db *db, char *msg, size_t msglen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db->h, "PRAGMA quick_check(1)", -1, &st, NULL) != SQLITE_OK) {
		snprintf(msg, msglen, "%s", sqlite3_errmsg(db->h));
		return -1;
	}
	int rc = sqlite3_step(st), ok = -1;
	if (rc == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		snprintf(msg, msglen, "%s", r ? r : "?");
		ok = r && strcmp(r, "ok") == 0 ? 0 : -1;
	} else {
		snprintf(msg, msglen, "%s", sqlite3_errmsg(db->h));
	}
	sqlite3_finalize(st);
	return ok;
}

int db_integrity_check(struct db *db, char *msg, size_t msglen)
{
	sqlite3_stmt *st = db_prep(db, "PRAGMA integrity_check");
	int ok = -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		snprintf(msg, msglen, "%s", r ? r : "?");
		ok = r && strcmp(r, "ok") == 0 ? 0 : -1;
	}
	db_finish(st);
	return ok;
}
