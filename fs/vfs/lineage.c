/*
 * fs/vfs/lineage.c — lineages, the ids row versions are kept under
 * (metadata copy-on-write, docs/design.md): making root and child ids with
 * their ancestors in `ancestor_spans`, releasing the id of a deleted tree,
 * the background reclaimer that folds released ids away in bounded
 * transactions, and the consistency check of lineages and their spans.
 *
 * A lineage's ancestors are spans of ids, not one row an ancestor: a chain
 * of d snapshots would otherwise hold d(d+1)/2 rows, and each snapshot
 * would add rows in proportion to its depth. A child C of P gets P's spans
 * with P's last one (which ends at P) stretched to C, unless a lineage of
 * the family lies between P and C (a sibling branch: then C gets a span of
 * its own). So a volume's chain of snapshots is one span a lineage;
 * clones and restores add a span where branches interleave. A span may
 * cover ids of other families and of reclaimed lineages: they hold no row
 * of the family, and every query names the family.
 *
 * A released (dead) lineage D is reclaimed by the rows it holds:
 *   no child: its rows are seen by nobody and are deleted (data object
 *     references released with them);
 *   one child C: C and its descendants see D's rows where C has no
 *     version of its own, so those rows move into C and the rest (shadowed
 *     in C) are deleted; D then leaves the closure and C takes its place;
 *   two or more children: its rows are shared by both sides; it stays.
 * Every batch is one change that leaves every live view as it was, so a
 * crash at any point resumes where it stopped.
 */
#include "fs/vfs/vfs_int.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/log.h"

/* Rows one reclaim change reads at most per table, and the row changes
 * it makes at most (give or take one row's: a row costs a few, more when
 * its data object goes with it). With the open group committed first when
 * it could not take a whole step, a group commit, which a writer's fsync
 * may pay for, holds about DB_BACKGROUND_GROUP_CHANGES row changes at
 * most, not three tables' batches more. */
#define RECLAIM_BATCH 128
#define RECLAIM_CHANGES 128
static_assert(RECLAIM_CHANGES < DB_BACKGROUND_GROUP_CHANGES, "a step must fit in a group");
/* A dead lineage with at most one child: work for the reclaimer. */
#define RECLAIMABLE                                                                            \
	"l.dead=1 AND (SELECT count(*) FROM lineages c WHERE c.parent=l.id) <= 1"

static int exec_ids(struct vfs *v, const char *sql, uint64_t a, uint64_t b)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)a);
	sqlite3_bind_int64(st, 2, (int64_t)b);
	return db_step_done(v->db, st);
}

int lineage_new_root(struct vfs *v, uint64_t *id)
{
	int r = db_step_done(v->db, db_prep(v->db, "INSERT INTO lineages(parent, family) VALUES(NULL, 0)"));
	if (r < 0)
		return r;
	*id = (uint64_t)sqlite3_last_insert_rowid(v->db->h);
	r = exec_ids(v, "UPDATE lineages SET family=?1 WHERE id=?1", *id, 0);
	return r == 0 ? exec_ids(v, "INSERT INTO ancestor_spans(id, lo, hi) VALUES(?1, ?1, ?1)", *id,
	                         0)
	              : r;
}

int lineage_new_child(struct vfs *v, uint64_t parent, uint64_t *id)
{
	sqlite3_stmt *st = db_prep(v->db, "INSERT INTO lineages(parent, family) SELECT id, family "
	                                  "FROM lineages WHERE id=?");
	sqlite3_bind_int64(st, 1, (int64_t)parent);
	int r = db_step_done(v->db, st);
	if (r < 0)
		return r;
	if (sqlite3_changes(v->db->h) != 1)
		return -ENOENT;
	*id = (uint64_t)sqlite3_last_insert_rowid(v->db->h);
	assert(*id > parent); /* AUTOINCREMENT: ids only grow */
	r = exec_ids(v, "INSERT INTO ancestor_spans(id, lo, hi) SELECT ?1, lo, hi FROM "
	                "ancestor_spans WHERE id=?2", *id, parent);
	if (r == 0) /* stretch the span ending at parent if no branch lies between */
		r = exec_ids(v, "UPDATE ancestor_spans SET hi=?1 WHERE id=?1 AND hi=?2 AND NOT EXISTS "
		                "(SELECT 1 FROM lineages l WHERE l.id>?2 AND l.id<?1 AND l.family="
		                "(SELECT family FROM lineages WHERE id=?1))", *id, parent);
	if (r == 0 && sqlite3_changes(v->db->h) == 0)
		r = exec_ids(v, "INSERT INTO ancestor_spans(id, lo, hi) VALUES(?1, ?1, ?1)", *id, 0);
	return r;
}

int lineage_family(struct vfs *v, uint64_t id, uint64_t *family)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT family FROM lineages WHERE id=?");
	sqlite3_bind_int64(st, 1, (int64_t)id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*family = (uint64_t)sqlite3_column_int64(st, 0);
	db_finish(st);
	return rc == SQLITE_ROW ? 0 : -ENOENT;
}

void vfs_reclaim_kick(struct vfs *v)
{
	ranked_lock(&v->reclaim_lock, LOCK_LEAF);
	v->reclaim_kicked = 1;
	pthread_cond_signal(&v->reclaim_cond);
	ranked_unlock(&v->reclaim_lock, LOCK_LEAF);
}

/* The reclaimer is not kicked here, inside the deletion's change: the
 * deletion first commits, lets go of what the tree's inodes still hold in
 * memory (vfs_tree_drop_data), then kicks it (vfs_reclaim_kick). A crash
 * in between leaves the lineage released: the reclaimer finds it at the
 * next start. */
int lineage_release(struct vfs *v, uint64_t id)
{
	return exec_ids(v, "UPDATE lineages SET dead=1 WHERE id=?1 AND NOT EXISTS "
	                   "(SELECT 1 FROM trees WHERE lineage=?1)", id, 0);
}

/* ------------------------------------------------------------------ */
/* Reclaim                                                            */

/* One dead lineage with at most one child: 0, or -ENOENT if none. The
 * youngest first (a child's id is above its parent's): of a chain of
 * deleted snapshots, the one next to the live volume holds only what
 * changed while it was the newest, and once it is gone the older ones
 * move their rows straight into the live lineage. Oldest first, the
 * volume's whole set of rows would move once per deleted link. */
static int next_reclaimable(struct vfs *v, uint64_t *dead, uint64_t *child, uint64_t *parent)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT l.id, coalesce((SELECT c.id FROM lineages c WHERE "
	                                  "c.parent=l.id), 0), coalesce(l.parent, 0) FROM lineages l "
	                                  "WHERE " RECLAIMABLE " ORDER BY l.id DESC LIMIT 1");
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*dead = (uint64_t)sqlite3_column_int64(st, 0);
		*child = (uint64_t)sqlite3_column_int64(st, 1);
		*parent = (uint64_t)sqlite3_column_int64(st, 2);
	}
	db_finish(st);
	return rc == SQLITE_ROW ? 0 : -ENOENT;
}

/* A table of rows keyed by (family, ino[, name], lineage), for the
 * reclaimer; parameters: ?1 family, ?2 ino, ?3 name, ?4 dead, ?5 child. */
struct keyed_table {
	/* family, ino, name, data object, has child a version? (LIMIT ?6) */
	const char *select;
	const char *drop, *move;
	/* child's whiteout of the key, if no ancestor of dead has the key */
	const char *drop_whiteout;
};

static const struct keyed_table inode_rows = {
	"SELECT i.family, i.ino, '', coalesce(i.obj, 0), EXISTS (SELECT 1 FROM inodes c WHERE "
	"c.family=i.family AND c.ino=i.ino AND c.lineage=?5) FROM inodes i WHERE i.lineage=?4 LIMIT ?6",
	"DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?4",
	"UPDATE inodes SET lineage=?5 WHERE family=?1 AND ino=?2 AND lineage=?4",
	"DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?5 AND whiteout=1 AND NOT EXISTS "
	"(SELECT 1 FROM inodes i" VISIBLE("i", "?4") "WHERE i.family=?1 AND i.ino=?2 AND i.lineage<>?4)",
};

static const struct keyed_table xattr_rows = {
	"SELECT x.family, x.ino, x.name, 0, EXISTS (SELECT 1 FROM xattrs c WHERE c.family=x.family AND "
	"c.ino=x.ino AND c.name=x.name AND c.lineage=?5) FROM xattrs x WHERE x.lineage=?4 LIMIT ?6",
	"DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4",
	"UPDATE xattrs SET lineage=?5 WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4",
	"DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?5 AND whiteout=1 AND "
	"NOT EXISTS (SELECT 1 FROM xattrs x" VISIBLE("x", "?4") "WHERE x.family=?1 AND x.ino=?2 AND "
	"x.name=?3 AND x.lineage<>?4)",
};

struct keyed_row {
	uint64_t family, ino, obj;
	char name[256]; /* an xattr's; "" for an inode */
	int shadowed;
};

/* Whether a reclaim step that began at total changes `base` has made its
 * RECLAIM_CHANGES row changes. */
static int step_full(struct vfs *v, int64_t base)
{
	return sqlite3_total_changes64(v->db->h) - base >= RECLAIM_CHANGES;
}

static int keyed_exec(struct vfs *v, const char *sql, const struct keyed_row *k, uint64_t dead,
                      uint64_t child)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)k->family);
	sqlite3_bind_int64(st, 2, (int64_t)k->ino);
	sqlite3_bind_text(st, 3, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)dead);
	sqlite3_bind_int64(st, 5, (int64_t)child);
	return db_step_done(v->db, st);
}

/* Up to RECLAIM_BATCH rows of table t in lineage `dead`, while the step
 * (which began at total changes `base`) has made fewer than
 * RECLAIM_CHANGES row changes: into `child` unless it has a version of its
 * own (or there is no child), else deleted with their data object
 * references (and child's whiteout, if it hides nothing else now).
 * *moved counts the rows handled. */
static int reclaim_keyed(struct vfs *v, const struct keyed_table *t, uint64_t dead, uint64_t child,
                         int64_t base, int *moved)
{
	if (step_full(v, base))
		return 0;
	struct keyed_row *rows = malloc(RECLAIM_BATCH * sizeof *rows);
	if (!rows)
		return -ENOMEM;
	int n = 0;
	sqlite3_stmt *st = db_prep(v->db, t->select);
	sqlite3_bind_int64(st, 4, (int64_t)dead);
	sqlite3_bind_int64(st, 5, (int64_t)child);
	sqlite3_bind_int(st, 6, RECLAIM_BATCH);
	int r = 0;
	while (n < RECLAIM_BATCH && (r = db_step_row(st)) > 0) {
		rows[n].family = (uint64_t)sqlite3_column_int64(st, 0);
		rows[n].ino = (uint64_t)sqlite3_column_int64(st, 1);
		snprintf(rows[n].name, sizeof rows[n].name, "%s", (const char *)sqlite3_column_text(st, 2));
		rows[n].obj = (uint64_t)sqlite3_column_int64(st, 3);
		rows[n].shadowed = !child || sqlite3_column_int(st, 4);
		n++;
	}
	db_finish(st);
	/* a failed step is no proof that `dead` is empty: reclaim_drop
	 * would orphan its rows */
	r = r < 0 ? r : 0;
	int i;
	for (i = 0; r == 0 && i < n && !step_full(v, base); i++) {
		const struct keyed_row *k = &rows[i];
		r = keyed_exec(v, k->shadowed ? t->drop : t->move, k, dead, child);
		if (r == 0 && k->shadowed && k->obj)
			r = store_ref(v->store, k->obj, -1);
		if (r == 0 && k->shadowed && child)
			r = keyed_exec(v, t->drop_whiteout, k, dead, child);
	}
	free(rows);
	*moved += i;
	return r;
}

/* Row `id` of lineage `dead` is about to go, shadowed by child's version
 * of its name: a whiteout there that hides nothing else (no ancestor of
 * `dead` has the name) goes too, so a lineage that outlives its
 * snapshots keeps no whiteouts. */
static int drop_needless_name_whiteout(struct vfs *v, int64_t id, uint64_t dead, uint64_t child)
{
	sqlite3_stmt *st = db_prep(v->db, "DELETE FROM dentries WHERE whiteout=1 AND lineage=?3 AND "
	                                  "(family, parent, name) = (SELECT family, parent, name FROM "
	                                  "dentries WHERE id=?1) AND NOT EXISTS (SELECT 1 FROM dentries o"
	                                  VISIBLE("o", "?2") "WHERE (o.family, o.parent, o.name) = "
	                                  "(SELECT family, parent, name FROM dentries WHERE id=?1) AND "
	                                  "o.lineage<>?2)");
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, (int64_t)dead);
	sqlite3_bind_int64(st, 3, (int64_t)child);
	return db_step_done(v->db, st);
}

/* The same for the rows of dentries (by id). */
static int reclaim_names(struct vfs *v, uint64_t dead, uint64_t child, int64_t base, int *moved)
{
	if (step_full(v, base))
		return 0;
	int64_t ids[RECLAIM_BATCH];
	int shadowed[RECLAIM_BATCH], n = 0;
	sqlite3_stmt *st = db_prep(v->db, "SELECT d.id, EXISTS (SELECT 1 FROM dentries c WHERE "
	                                  "c.family=d.family AND c.parent=d.parent AND c.name=d.name "
	                                  "AND c.lineage=?2) FROM dentries d WHERE d.lineage=?1 LIMIT ?3");
	sqlite3_bind_int64(st, 1, (int64_t)dead);
	sqlite3_bind_int64(st, 2, (int64_t)child);
	sqlite3_bind_int(st, 3, RECLAIM_BATCH);
	int r = 0;
	while (n < RECLAIM_BATCH && (r = db_step_row(st)) > 0) {
		ids[n] = sqlite3_column_int64(st, 0);
		shadowed[n] = !child || sqlite3_column_int(st, 1);
		n++;
	}
	db_finish(st);
	r = r < 0 ? r : 0; /* as in reclaim_keyed */
	int i;
	for (i = 0; r == 0 && i < n && !step_full(v, base); i++) {
		if (shadowed[i] && child)
			r = drop_needless_name_whiteout(v, ids[i], dead, child);
		if (r == 0)
			r = exec_ids(v, shadowed[i] ? "DELETE FROM dentries WHERE id=?1"
			                            : "UPDATE dentries SET lineage=?2 WHERE id=?1",
			             (uint64_t)ids[i], child);
	}
	*moved += i;
	return r;
}

/* Lineage `dead` of `family` is gone: two spans of a lineage of the family
 * that it kept apart (it was no ancestor of that lineage, a sibling
 * branch) join when no other lineage of the family lies between them, so
 * a volume whose clone is deleted is one span a lineage again. */
static int join_spans_around(struct vfs *v, uint64_t dead, uint64_t family)
{
#define FAMILY_SPAN(s) s ".id IN (SELECT id FROM lineages WHERE family=?2)"
#define NEXT_LO(s) "(SELECT min(n.lo) FROM ancestor_spans n WHERE n.id=" s ".id AND n.lo>" s ".hi)"
	int r = exec_ids(v, "UPDATE ancestor_spans AS s SET hi=(SELECT n.hi FROM ancestor_spans n WHERE "
	                    "n.id=s.id AND n.lo=" NEXT_LO("s") ") WHERE " FAMILY_SPAN("s") " AND "
	                    "s.hi<?1 AND " NEXT_LO("s") ">?1 AND NOT EXISTS (SELECT 1 FROM lineages l "
	                    "WHERE l.family=?2 AND l.id>s.hi AND l.id<" NEXT_LO("s") ")", dead, family);
	return r == 0 ? exec_ids(v, "DELETE FROM ancestor_spans AS n WHERE " FAMILY_SPAN("n") " AND "
	                            "n.lo>?1 AND EXISTS (SELECT 1 FROM ancestor_spans s WHERE "
	                            "s.id=n.id AND s.lo<n.lo AND s.hi>=n.lo)", dead, family)
	              : r;
#undef FAMILY_SPAN
#undef NEXT_LO
}

/* Lineage `dead` holds no rows any more: it leaves the lineage tree, its
 * child (if any) taking its place under its parent. Its id may stay inside
 * its descendants' spans: no lineage has it any more. */
static int reclaim_drop(struct vfs *v, uint64_t dead, uint64_t parent)
{
	uint64_t family;
	int r = lineage_family(v, dead, &family);
	if (r == 0)
		r = exec_ids(v, "DELETE FROM ancestor_spans WHERE id=?1", dead, 0);
	sqlite3_stmt *st = r < 0 ? NULL : db_prep(v->db, "UPDATE lineages SET parent=? WHERE parent=?");
	if (st) {
		if (parent)
			sqlite3_bind_int64(st, 1, (int64_t)parent);
		else
			sqlite3_bind_null(st, 1);
		sqlite3_bind_int64(st, 2, (int64_t)dead);
		r = db_step_done(v->db, st);
	}
	if (r == 0)
		r = exec_ids(v, "DELETE FROM lineages WHERE id=?1", dead, 0);
	return r == 0 ? join_spans_around(v, dead, family) : r;
}

/* One bounded change of reclaim work: 1 if it did some, 0 if there was
 * none, or a negative errno. db locked, outside a change. */
static int reclaim_step(struct vfs *v)
{
	uint64_t dead, child, parent;
	/* A freeze holds writers meanwhile: no step now, the thaw kicks the
	 * reclaimer (the order of the two loads and the thaw's stores makes
	 * sure one of them sees the other). */
	if (db_quiet(v->db)) {
		atomic_store(&v->reclaim_held_off, 1);
		if (db_quiet(v->db))
			return 0;
	}
	if (next_reclaimable(v, &dead, &child, &parent) < 0)
		return 0;
	int moved = 0;
	int r = db_begin_bounded(v->db, RECLAIM_CHANGES, DB_BACKGROUND_GROUP_CHANGES);
	int64_t base = sqlite3_total_changes64(v->db->h);
	if (r == 0)
		r = reclaim_keyed(v, &inode_rows, dead, child, base, &moved);
	if (r == 0)
		r = reclaim_names(v, dead, child, base, &moved);
	if (r == 0)
		r = reclaim_keyed(v, &xattr_rows, dead, child, base, &moved);
	assert(r != 0 || moved > 0 || !step_full(v, base)); /* changes come from rows handled */
	if (r == 0 && moved == 0)
		r = reclaim_drop(v, dead, parent);
	r = r == 0 ? db_commit_bounded(v->db, DB_BACKGROUND_GROUP_CHANGES) : (db_rollback(v->db), r);
	return r < 0 ? r : 1;
}

int vfs_reclaim(struct vfs *v)
{
	int r = 1;
	while (r > 0) {
		db_lock(v->db);
		r = reclaim_step(v);
		db_unlock(v->db);
	}
	store_reap(v->store);
	return r;
}

int vfs_reclaim_pending(struct vfs *v, uint64_t *lineages, uint64_t *rows)
{
	db_lock(v->db);
	sqlite3_stmt *st = db_prep(v->db, "SELECT count(*), coalesce(sum((SELECT count(*) FROM inodes i "
	                                  "WHERE i.lineage=l.id) + (SELECT count(*) FROM dentries d WHERE "
	                                  "d.lineage=l.id) + (SELECT count(*) FROM xattrs x WHERE "
	                                  "x.lineage=l.id)), 0) FROM lineages l WHERE " RECLAIMABLE);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*lineages = (uint64_t)sqlite3_column_int64(st, 0);
		*rows = (uint64_t)sqlite3_column_int64(st, 1);
	}
	db_finish(st);
	db_unlock(v->db);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

static void *reclaimer_main(void *arg)
{
	struct vfs *v = arg;
	db_thread_background();
	ranked_lock(&v->reclaim_lock, LOCK_LEAF);
	while (!v->reclaim_stop) {
		if (!v->reclaim_kicked) {
			/* a kick comes with every release; the timeout picks up
			 * work left by a crash or an error */
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += 30;
			pthread_cond_timedwait(&v->reclaim_cond, &v->reclaim_lock, &ts);
		}
		v->reclaim_kicked = 0;
		ranked_unlock(&v->reclaim_lock, LOCK_LEAF);
		int r = 1;
		while (r > 0) {
			/* a background thread: a writer queued for the lock
			 * goes before the next step (meta/db_lock.c) */
			db_lock(v->db);
			r = reclaim_step(v);
			db_unlock(v->db);
			store_reap(v->store);
			ranked_lock(&v->reclaim_lock, LOCK_LEAF);
			int stop = v->reclaim_stop;
			ranked_unlock(&v->reclaim_lock, LOCK_LEAF);
			if (stop)
				break;
		}
		if (r < 0)
			vlog_warn("meta.db", "reclaiming deleted snapshots' rows: %s (retried later)",
			          strerror(-r));
		ranked_lock(&v->reclaim_lock, LOCK_LEAF);
	}
	ranked_unlock(&v->reclaim_lock, LOCK_LEAF);
	return NULL;
}

void reclaim_start(struct vfs *v)
{
	v->reclaim_kicked = 1; /* work a crash left */
	v->reclaimer_running = pthread_create(&v->reclaimer, NULL, reclaimer_main, v) == 0;
}

void reclaim_stop(struct vfs *v)
{
	if (!v->reclaimer_running)
		return;
	ranked_lock(&v->reclaim_lock, LOCK_LEAF);
	v->reclaim_stop = 1;
	pthread_cond_signal(&v->reclaim_cond);
	ranked_unlock(&v->reclaim_lock, LOCK_LEAF);
	pthread_join(v->reclaimer, NULL);
	v->reclaimer_running = 0;
}

/* ------------------------------------------------------------------ */
/* Check                                                              */

static int report_each(struct vfs *v, const char *sql, void (*report)(void *, const char *),
                       void *arg)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	int problems = 0, row;
	while ((row = db_step_row(st)) > 0) {
		report(arg, (const char *)sqlite3_column_text(st, 0));
		problems++;
	}
	db_finish(st);
	if (row < 0) { /* the rows not read are unchecked, not clean */
		report(arg, "cannot read the lineages' rows to check them");
		problems++;
	}
	return problems;
}

/* Whether lineage a's spans cover lineage id b. */
#define COVERS(a, b)                                                                           \
	"EXISTS (SELECT 1 FROM ancestor_spans s WHERE s.id=" a " AND s.lo<=" b " AND s.hi>=" b ")"

/* Every row is in a lineage that exists, of its family; every tree reads
 * a live lineage; a lineage no tree reads is released; each lineage's
 * spans cover, of its family, itself and what its parent's cover. db
 * locked. */
int lineage_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg)
{
	static const char *const sql[] = {
		"SELECT 'inode ' || family || '/' || ino || ' is in lineage ' || lineage || "
		"' of another family or none' FROM inodes i WHERE NOT EXISTS (SELECT 1 FROM lineages l "
		"WHERE l.id=i.lineage AND l.family=i.family)",
		"SELECT 'name ' || family || '/' || parent || '/' || name || ' is in lineage ' || lineage || "
		"' of another family or none' FROM dentries d WHERE NOT EXISTS (SELECT 1 FROM lineages l "
		"WHERE l.id=d.lineage AND l.family=d.family)",
		"SELECT 'xattr ' || family || '/' || ino || '/' || name || ' is in lineage ' || lineage || "
		"' of another family or none' FROM xattrs x WHERE NOT EXISTS (SELECT 1 FROM lineages l "
		"WHERE l.id=x.lineage AND l.family=x.family)",
		"SELECT 'tree ' || t.id || ' reads lineage ' || coalesce(t.lineage, 'NULL') || "
		"', which is missing or released' FROM trees t WHERE NOT EXISTS (SELECT 1 FROM lineages l "
		"WHERE l.id=t.lineage AND l.dead=0)",
		"SELECT 'lineage ' || l.id || ' is read by no tree but not released' FROM lineages l "
		"WHERE l.dead=0 AND NOT EXISTS (SELECT 1 FROM trees t WHERE t.lineage=l.id)",
		"SELECT 'lineage ' || l.id || ' has missing parent ' || l.parent FROM lineages l "
		"WHERE l.parent IS NOT NULL AND NOT EXISTS (SELECT 1 FROM lineages p WHERE p.id=l.parent)",
		"SELECT 'lineage ' || l.id || ' is not its own ancestor' FROM lineages l WHERE NOT "
		"EXISTS (SELECT 1 FROM ancestor_spans a WHERE a.id=l.id AND a.lo<=l.id AND a.hi>=l.id)",
		"SELECT 'lineage ' || a.id || ' has span ' || a.lo || '-' || a.hi || ', reaching past it' "
		"FROM ancestor_spans a WHERE a.lo>a.hi OR a.hi>a.id",
		"SELECT 'lineage ' || a.id || ' has overlapping spans ' || a.lo || '-' || a.hi || ' and ' "
		"|| b.lo || '-' || b.hi FROM ancestor_spans a JOIN ancestor_spans b ON b.id=a.id AND "
		"b.lo>a.lo AND b.lo<=a.hi",
		/* with the two above (no span reaches past its lineage, so none
		 * covers a later one), by induction from the roots: the lineages
		 * of a family a lineage's spans cover are itself and its
		 * ancestors */
		"SELECT 'lineage ' || l.id || CASE WHEN " COVERS("l.id", "x.id") " THEN ' covers ' ELSE "
		"' does not cover ' END || 'lineage ' || x.id || ', unlike its parent ' || "
		"coalesce(l.parent, 'none') FROM lineages l JOIN lineages x ON "
		"x.family=l.family AND x.id<l.id WHERE " COVERS("l.id", "x.id") " <> " COVERS("l.parent",
		"x.id"),
		"SELECT 'span ' || a.lo || '-' || a.hi || ' of missing lineage ' || a.id FROM "
		"ancestor_spans a WHERE NOT EXISTS (SELECT 1 FROM lineages l WHERE l.id=a.id)",
	};
	int problems = 0;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		problems += report_each(v, sql[i], report, arg);
	return problems;
}
