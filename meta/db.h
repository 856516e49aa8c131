/*
 * meta/db.h — the SQLite store: opening meta.db, the schema and its
 * migrations, the single lock that serialises every statement, and
 * transactions. Nothing here knows about FUSE.
 *
 * Concurrency: the daemon is the only process that writes meta.db. Inside
 * the daemon one connection is shared by every thread, guarded by db_lock().
 * All db_* helpers and every sqlite3 call on db->h expect the caller to
 * hold the lock.
 *
 * Durability: the database runs in WAL mode with synchronous=NORMAL, so a
 * commit is in the WAL (and therefore survives kill -9 of the daemon) but
 * is not fsynced. db_sync() makes every committed transaction durable
 * against power loss; fsync and fsyncdir call it.
 */
#ifndef VOLFS_META_DB_H
#define VOLFS_META_DB_H

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>

#define DB_SCHEMA_VERSION 10
#include "meta/fault.h"

#ifdef VOLFS_FAULT_INJECTION
/* The fault-injection build fails the Nth step as an I/O error would,
 * without running it (meta/fault.h). */
#define sqlite3_step(st) (FAULT_AT(FAULT_SQLITE, sqlite3_sql(st)) ? SQLITE_IOERR : sqlite3_step(st))
#endif



#define DB_STMT_CACHE 256

struct db_cached_stmt {
	const char *sql; /* the caller's string literal: compared by address */
	sqlite3_stmt *st;
	int in_use;
};

struct meta_space;

/* How long the db lock was held, each time (every change, commit and read
 * of meta.db waits for it; volfs_db_lock_hold_seconds on the metrics
 * endpoint): a histogram over these bounds, the sum and the longest. */
#define DB_HOLD_NBUCKETS 13
extern const uint64_t db_hold_bucket_ns[DB_HOLD_NBUCKETS];
struct db_hold_stats {
	uint64_t buckets[DB_HOLD_NBUCKETS + 1]; /* the last one: above every bound */
	uint64_t sum_ns, max_ns;
};

/* What a thread has used: CPU time, time waiting for a CPU, involuntary
 * context switches (times it was preempted) and voluntary ones (times it
 * slept: I/O, a lock). */
struct thread_use {
	uint64_t cpu_ns, wait_ns;
	long preempted, blocked;
};

/* Where the db lock is taken: one static record per call site of db_lock
 * (the macro below makes it), with what that site's holds cost, so a long
 * hold can be traced to its code (volfs_db_lock_site_* on the metrics
 * endpoint). Counters are bumped with relaxed atomics at each unlock. */
#define DB_LONG_HOLD_NS 5000000 /* a "long" hold: over 5 ms */
struct db_lock_site {
	const char *func, *file;
	int line;
	int listed; /* on the list of sites that held the lock */
	uint64_t holds, long_holds;   /* long: over DB_LONG_HOLD_NS of wall time */
	uint64_t wall_ns, max_wall_ns;
	/* With VOLFS_TRACE_SLOW set: the thread's CPU time in the hold. */
	uint64_t cpu_ns, max_cpu_ns, long_cpu_holds; /* long: over DB_LONG_HOLD_NS of CPU */
	/* The most rows a hold changed (sqlite3_total_changes). */
	uint64_t max_rows;
	struct db_lock_site *next;
};

struct db {
	sqlite3 *h;
	pthread_mutex_t lock;
	pthread_t owner; /* the thread holding lock, 0 when none (db_locked_by_me) */
	uint64_t held_since_ns; /* when the owner took the lock */
	struct db_lock_site *held_at; /* where the owner took it */
	struct thread_use held_use; /* what the owner had used then (traced holds) */
	int64_t held_changes;   /* sqlite3_total_changes64() then */
	struct db_hold_stats hold; /* bumped with relaxed atomics at each unlock */
	char *path;
	int in_txn;
	int group_open; /* a group transaction is open (see db_begin) */
	int scrub_wal;  /* empty the WAL after the next group commit */
	int commit_each;   /* this change commits its group itself (a tight host) */
	int64_t group_base; /* sqlite3_total_changes() when the group began */
	uint64_t group_changes_max; /* the most row changes a committed group held */
	/* SQLite's counts run in an int: taken and reset at each read into
	 * these (db locked), so they do not wrap */
	struct db_page_cache_stats {
		uint64_t hits, misses;
	} page_cache;
	uint64_t group_bytes; /* large values written by the group (db_note_bytes) */
	int wal_frames;       /* frames in the WAL after the last commit */
	int checkpoint_due;   /* the WAL is long: db_checkpoint copies it back */
	int wal_restart_frames; /* DB_WAL_RESTART_FRAMES (a test sets fewer) */
	/* db_quiet_begin nesting: while > 0, no work that can wait is done
	 * under the lock (see db_quiet_begin). Atomic: read without it. */
	int quiet;
	/* The lock's fairness (meta/db_lock.c): foreground threads queued in
	 * db_lock, how many got the lock after queueing, and the background
	 * threads parked on turn until those queued before them are served.
	 * All under turn_lock; fg_queued is also read without it (atomic). */
	pthread_mutex_t turn_lock;
	pthread_cond_t turn;
	int fg_queued;
	uint64_t fg_served;
	int bg_parked;
	sqlite3 *side;        /* db_checkpoint's own connection (opened on demand) */
	pthread_mutex_t side_lock;
	/* The WAL restart copied pages into meta.db that are not durable yet:
	 * no commit until they are (atomic; see restart_step in db.c). */
	int restart_unsynced;
	int restart_syncing; /* its sync is under way (set under synced_lock; atomic) */
	pthread_mutex_t synced_lock;
	pthread_cond_t synced; /* restart_syncing went to 0 */
	struct meta_space *space; /* NULL: no metadata reserve (tools, --check) */
	unsigned lost_groups, lost_reported;
	/* Bumped by every write of a claim or a quota (meta/objects.c) and by
	 * a lost group: a reader's sums over them are current while it is
	 * what the reader saw. */
	uint64_t claims_gen;
	/* Bumped whenever SQLite undid rows: a change rolled back
	 * (db_rollback, a failed RELEASE included) or a group lost. A cache of
	 * what rows say, kept with the value it was read at, is current while
	 * this (with its own counter of the writes it knows of) is unchanged. */
	uint64_t undo_gen;
	void (*on_lost)(void *arg); /* after SQLite rolled a group back */
	void *on_lost_arg;
	void (*on_committed)(void *arg); /* after a group committed */
	void *on_committed_arg;
	void (*on_change_end)(void *arg, int committed); /* see db_on_change_end */
	void *on_change_end_arg;
	struct db_cached_stmt cache[DB_STMT_CACHE];
	/* cache slot + 1 of each cached statement, by the statement's address
	 * (open addressing; 0: free), so that db_finish finds its slot
	 * without scanning the cache */
	uint16_t slot_of[2 * DB_STMT_CACHE];
	struct db *next_open;
};

/* Open (creating if needed) and migrate the database at path. On error
 * returns -1 and writes a one-line reason into err. */
int db_open(struct db **out, const char *path, char *err, size_t errlen);
void db_close(struct db *db);

/* The lock is not recursive: taking it twice in one thread is a bug
 * (asserted, instead of a deadlock), as is releasing it unheld. db_lock
 * records its call site (struct db_lock_site). */
#define db_lock(db)                                                                  \
	do {                                                                         \
		static struct db_lock_site db_site_ = { __func__, __FILE__, __LINE__, 0, \
		                                        0, 0, 0, 0, 0, 0, 0, 0, NULL };  \
		db_lock_at((db), &db_site_);                                         \
	} while (0)
void db_lock_at(struct db *db, struct db_lock_site *site);
/* The calling thread does background work (the control plane, the
 * reclaimer). Its db_lock lets the foreground threads (the data path)
 * already queued for the lock go first: see the fairness contract in
 * meta/db_lock.c. And while the WAL restart's sync of meta.db is under
 * way (see db_checkpoint), its db_lock waits for the sync first (and when
 * the sync began while it queued, lets the lock go and waits), so its
 * bounded commits neither pay for the sync under the lock nor grow past
 * their bound waiting for it. */
void db_thread_background(void);
/* Wait for the WAL restart's sync of meta.db, if one is under way. db not
 * locked. */
void db_wait_restart_sync(struct db *db);
/* Whether that sync is under way (any thread; it begins only under the
 * db lock, in db_checkpoint's step, and ends off it). */
int db_restart_syncing(struct db *db);
void db_unlock(struct db *db);
/* Every call site that has held the lock, newest first (a list that only
 * grows; read it with relaxed atomics). */
struct db_lock_site *db_lock_sites(void);
/* Trace holds: with traced set, each hold also measures the thread's CPU
 * time (the site's cpu_ns), and a hold longer than log_ns of wall time is
 * logged with its site, CPU time and involuntary context switches. The
 * daemon sets it from VOLFS_TRACE_SLOW (milliseconds). */
void db_trace_holds(int traced, uint64_t log_ns);
/* How long the calling thread has waited for db locks, in all: the
 * difference over a stretch of code is its wait. */
uint64_t db_lock_waited_ns(void);
/* Assert that this thread holds db's lock: the first line of a function
 * whose comment says "db locked". One pointer compare, kept in release
 * builds. */
void db_assert_locked(struct db *db);
/* What the lock holds have been so far (any thread, lock not needed). */
void db_hold_stats_read(struct db *db, struct db_hold_stats *out);
/* Whether the calling thread holds the lock: for assert()s where a
 * function's comment says "db locked". One load and a compare. */
int db_locked_by_me(struct db *db);

/* Group commit. db_begin/db_commit/db_rollback delimit one atomic change,
 * as a SAVEPOINT inside a group transaction that stays open across many
 * changes; db_group_commit() commits the group (the flusher does, once a
 * second, and db_commit does once the group holds DB_GROUP_MAX_CHANGES
 * row changes, which bounds what one commit writes). So a change is atomic
 * at once, and durable against kill -9 once its group commits. Return 0,
 * -ENOSPC or -EIO. db locked.
 *
 * With a metadata reserve (db_use_space, meta/space.h), a host short of
 * space makes each change commit its own group inside db_commit, so a
 * commit that fails undoes that change alone and db_commit reports it;
 * db_begin refuses a change with -ENOSPC once the reserve would be
 * crossed. db_begin_essential starts a change that must not be refused
 * for space: one that removes things or writes back attributes and maps
 * of data already accepted. */
#define DB_GROUP_MAX_CHANGES 1024
#define DB_WAL_CHECKPOINT_FRAMES 256
int db_begin(struct db *db);
int db_begin_essential(struct db *db);
/* The change being made writes a value of n bytes (an xattr, a symlink):
 * with the rows it changes, this estimates what its group's commit will
 * write, and a group that might not fit beside the reserve commits early. */
void db_note_bytes(struct db *db, uint64_t n);
int db_commit(struct db *db);
/* db_commit, and then a commit of the group if it holds max_changes row
 * changes or more. Background work commits this way with
 * DB_BACKGROUND_GROUP_CHANGES (the control plane, the reclaimer of deleted
 * trees' rows): a group's commit writes every page its changes dirtied,
 * under the lock, and is paid by whoever commits it, most often an fsync
 * of the data path; an apply of thousands of objects filled groups of
 * DB_GROUP_MAX_CHANGES, whose commit took up to 10 ms of CPU. Not during
 * a freeze (db_quiet_begin). */
#define DB_BACKGROUND_GROUP_CHANGES 256
int db_commit_bounded(struct db *db, int64_t max_changes);
/* db_begin_essential for background work that makes at most `changes`
 * row changes: the open group commits first when the change would take it
 * past max_changes, so the group's commit stays as bounded as
 * db_commit_bounded makes it. */
int db_begin_bounded(struct db *db, int64_t changes, int64_t max_changes);
void db_rollback(struct db *db);
int db_group_commit(struct db *db);

/* A secret was overwritten or deleted: the next group commit checkpoints
 * and truncates the WAL, so no earlier page image of it stays readable
 * (meta.db runs with secure_delete, which zeroes freed content). */
void db_scrub_after_commit(struct db *db);
/* Keep a metadata reserve in dir (meta/space.h) for this database. */
int db_use_space(struct db *db, const char *dir);
/* Called, db locked, when SQLite rolled back a group whose commit failed:
 * the owner of in-memory state that mirrors rows rereads or rewrites it. */
void db_on_lost_group(struct db *db, void (*fn)(void *arg), void *arg);
/* Called, db locked, when a group has committed: the owner of in-memory
 * copies kept in case the group is lost frees them. */
void db_on_group_committed(struct db *db, void (*fn)(void *arg), void *arg);

/* Called, db locked, when a change ends: committed into its group
 * (committed 1), or rolled back (0), which undoes every row it wrote. An
 * owner of in-memory state that it marked as written by the change (dirty
 * flags cleared when the rows were written) marks it dirty again on 0. */
void db_on_change_end(struct db *db, void (*fn)(void *arg, int committed), void *arg);

/* Commit the group and fsync the WAL: everything so far survives power
 * loss. -EIO, once, when a group was lost since the last call: the
 * changes a caller of fsync relied on may be gone. Takes the db lock
 * itself. */
int db_sync(struct db *db);
/* The same, saying how long its steps took (a slow fsync's trace): the
 * group's commit under the lock, and the WAL's fdatasync. */
struct db_sync_times {
	uint64_t commit_ns, wal_sync_ns;
};
int db_sync_timed(struct db *db, struct db_sync_times *t);

/* A quiet section, while some lock outside the db lock (a tree's write
 * gate) is held against writers who may then wait for the db lock: until
 * db_quiet_end, nothing that can wait is done under the lock. db_commit
 * leaves the group open however many row changes it holds (a group commit
 * writes them all, and a commit past DB_WAL_INLINE_FRAMES checkpoints with
 * two device flushes), db_checkpoint neither copies under the lock nor
 * restarts the WAL, and background work asks db_quiet first and holds
 * off. A host short of space still commits each change (db_begin). Quiet
 * sections nest and may overlap between threads. db not locked for these
 * three; every change begun after db_quiet_begin returns sees it. */
void db_quiet_begin(struct db *db);
void db_quiet_end(struct db *db);
int db_quiet(struct db *db);
/* Whether a foreground thread is queued for the db lock now (background
 * threads' db_lock lets it go first). Any thread, lock not needed. */
int db_contended(struct db *db);
/* Group commits this thread made so far (every COMMIT, failed or not):
 * what a caller did inside a stretch of its own, whatever other threads
 * commit meanwhile. */
uint64_t db_thread_commits(void);

/* Copy a long WAL back into meta.db (a passive checkpoint), on a
 * connection of its own and WITHOUT the db lock: the copy and the fsync of
 * meta.db it ends with take long on a busy disk, and every change and every
 * fsync would wait for them under the lock. The flusher calls it. Past
 * DB_WAL_RESTART_FRAMES it then takes the lock to copy what was committed
 * during the copy, so the WAL starts over; a WAL past DB_WAL_INLINE_FRAMES
 * is checkpointed at commit regardless, in case nobody calls this (a tool).
 * db not locked. */
#define DB_WAL_CHECKPOINT_DUE 1000
#define DB_WAL_RESTART_FRAMES 16000
/* The restart: at most DB_WAL_CATCH_UP_COPIES rounds that commit the
 * group in a short hold and copy it back off the lock, then a copy under
 * the lock of what was committed since, only when that is at most
 * DB_WAL_LOCKED_TAIL frames (none when nothing changed meanwhile). */
#define DB_WAL_CATCH_UP_COPIES 3
#define DB_WAL_LOCKED_TAIL 256
#define DB_WAL_INLINE_FRAMES 65536
void db_checkpoint(struct db *db);

/* Execute SQL with no result rows. Returns 0 or -EIO (logs the error). */
int db_exec(struct db *db, const char *sql);

/* Prepare a statement; aborts on programming errors (bad SQL). Statements
 * are cached by the address of `sql`, so pass string literals only. Every
 * statement from db_prep must be handed back with db_finish. */
sqlite3_stmt *db_prep(struct db *db, const char *sql);
/* Reset a cached statement for reuse (or finalize an uncached one). */
void db_finish(sqlite3_stmt *st);

/* Step a statement expected to finish (no rows): 0 or -EIO; db_finish()es it. */
int db_step_done(struct db *db, sqlite3_stmt *st);
/* Step a statement that may yield a row: 1 for a row, 0 when there is
 * none, -EIO when the step failed. A failed step says nothing about the
 * rows: a caller that would act on "none" (create, replace, free, count as
 * zero) must tell the two apart, so a failure is never taken for absence. */
int db_step_row(sqlite3_stmt *st);
/* Step a statement once: its first column's text into buf and, when num is
 * given, its second column into *num; db_finish()es it. 0, -ENOENT when
 * there is no row or the text is NULL, or -EIO when the step failed. */
int db_finish_text_row(sqlite3_stmt *st, char *buf, size_t len, uint64_t *num);

/* Allocate a fresh id from a named counter in table `counters`. */
int64_t db_next_id(struct db *db, const char *counter);

/* SQLite's page cache of the connection since it opened: pages found in
 * it and pages read from meta.db or its WAL (a miss is a read() that the
 * kernel's page cache may or may not serve). Takes the db lock. */
void db_page_cache_stats(struct db *db, struct db_page_cache_stats *out);

/* Run PRAGMA integrity_check; returns 0 when "ok". */
int db_integrity_check(struct db *db, char *msg, size_t msglen);
/* PRAGMA quick_check (the same minus index contents, fast enough for every
 * start): 0 when "ok", else -1 with its first complaint, or SQLite's error
 * when the damage stops the check itself, in msg. db locked. */
int db_quick_check(struct db *db, char *msg, size_t msglen);

#endif
