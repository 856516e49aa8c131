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

#define DB_SCHEMA_VERSION 1

struct db {
	sqlite3 *h;
	pthread_mutex_t lock;
	char *path;
	int in_txn;
};

/* Open (creating if needed) and migrate the database at path. On error
 * returns -1 and writes a one-line reason into err. */
int db_open(struct db **out, const char *path, char *err, size_t errlen);
void db_close(struct db *db);

void db_lock(struct db *db);
void db_unlock(struct db *db);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. Return 0 or -EIO. */
int db_begin(struct db *db);
int db_commit(struct db *db);
void db_rollback(struct db *db);

/* Make committed transactions durable (fsync of the WAL). Lock not needed. */
int db_sync(struct db *db);

/* Execute SQL with no result rows. Returns 0 or -EIO (logs the error). */
int db_exec(struct db *db, const char *sql);

/* Prepare a statement; aborts on programming errors (bad SQL). */
sqlite3_stmt *db_prep(struct db *db, const char *sql);

/* Step a statement expected to finish (no rows): 0 or -EIO; finalizes it. */
int db_step_done(struct db *db, sqlite3_stmt *st);

/* Allocate a fresh id from a named counter in table `counters`. */
int64_t db_next_id(struct db *db, const char *counter);

/* Run PRAGMA integrity_check; returns 0 when "ok". */
int db_integrity_check(struct db *db, char *msg, size_t msglen);

#endif
