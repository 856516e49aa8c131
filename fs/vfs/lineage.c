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
 * A released (dead) lineage D is reclaimed by the rows it holds, in work
 * proportional to the rows that really are garbage (the changes between
 * the snapshots), not to the volume's files:
 *   no child: its rows are seen by nobody and are deleted (data object
 *     references released with them);
 *   one child C, D's parent P released with D its only child: D's rows
 *     join P (P's versions of their keys, which only D's descendants saw
 *     and they see D's, are deleted; a whiteout hiding nothing older from
 *     P goes); D leaves the tree, C becomes P's child, and P is looked
 *     at again against C. O(|D|);
 *   one child C otherwise: D stays, *kept* (dead=2): its rows C does not
 *     shadow are seen through C as before. Only the versions of D whose
 *     key C holds too are garbage: for each row of C, D's version of the
 *     key (one index probe) is deleted, and C's version too if it is a
 *     whiteout that hides nothing older. O(|C|), with a cursor over C's
 *     rows kept in memory between steps (after a crash, an error or a
 *     lost group the pass starts again: the rows already handled find
 *     nothing). A frozen C (a snapshot's) never changes, so D holds no
 *     garbage afterwards. A writable C (a volume, clone or restore: a
 *     leaf, since a snapshot moves the tree to a new child) keeps
 *     writing, and each write of a key whose version D holds settles it
 *     in the same change (KEPT_PARENT, fs/vfs/vfs_int.h): a copy-up moves
 *     D's inode row into C (no copy, no reference taken), a name or xattr
 *     upsert deletes D's version, a removal deletes D's version (with its
 *     data object reference, and an inode's xattrs there) before it asks
 *     whether an older version needs a whiteout. Writes during the pass
 *     settle their keys themselves (the rule holds from the release on,
 *     dead=1 or 2), so D never holds a version nobody sees;
 *   two or more children: its rows are shared by both sides; it stays.
 * So deleting any snapshot, the oldest of a chain (a schedule's
 * retention) or the last one above a volume, costs the changes it held
 * and its child holds, whatever the volume's size; a run of deleted
 * snapshots is one kept lineage, which reads cost nothing (it is in the
 * child's one span). The price: while a tree's lineage has a kept parent,
 * its every name or xattr write and every removal of an inode runs one
 * more statement (a DELETE naming KEPT_PARENT: three index probes of
 * `lineages` and one of the table), and a copy-up tries an UPDATE before
 * the INSERT. Whether it has one is cached in the tree for the lineage
 * generation (lineage_parent_kept), so the writes of a tree whose parent
 * is a live snapshot, or a frozen point it shares, run none of it; nor
 * does a root lineage (never snapshotted).
 * Rows move only into a live lineage, from a kept one above it that only
 * it reads, and a vnode's cached row_lineage that names a lineage merged
 * away or a row moved out only makes the next write look its row up
 * again (row_copy_up), so caches never name a row that is gone. A later
 * snapshot of C freezes C: D is kept above a frozen child again, and the
 * writes of C's new child leave D alone (its parent, C, is live).
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
/* (A kept one with one child only once it can join its released parent;
 * the macros it names follow.) */
#define RECLAIMABLE                                                                            \
	"l.dead<>0 AND (" CHILDREN("l") "=0 OR " CHILDREN("l") "=1 AND (l.dead=1 OR "               \
	PARENT_RELEASED("l") "))"
/* A released lineage's `dead`: 1 until the reclaimer has settled it, 2
 * once it is kept (see the head comment). */
#define KEPT "2"
/* Rows of a kept lineage's child one reclaim step reads at most. */
#define COLLECT_SCAN 1024
/* The children of lineage l (an alias in the query). */
#define CHILDREN(l) "(SELECT count(*) FROM lineages c_ WHERE c_.parent=" l ".id)"
/* l's parent is released and l is its only child: l's rows can join it. */
#define PARENT_RELEASED(l)                                                                     \
	"EXISTS (SELECT 1 FROM lineages p_ WHERE p_.id=" l ".parent AND p_.dead<>0 AND "          \
	"(SELECT count(*) FROM lineages s_ WHERE s_.parent=p_.id)=1)"

/* The lineages table is about to change: every tree's cached
 * lineage_parent_kept is recomputed before it is used again. */
static void lineage_changed(struct vfs *v)
{
	db_assert_locked(v->db);
	v->lineage_gen++;
}

/* The lineage generation: it changes whenever the lineages table may have,
 * by a statement here or by SQLite undoing one (a rolled-back change or a
 * lost group: db->undo_gen). Both counters only grow. db locked. */
static uint64_t lineage_generation(struct vfs *v)
{
	return v->lineage_gen + v->db->undo_gen;
}

/* Whether KEPT_PARENT(L) names a lineage: L's parent is released and L
 * its only child. 1 on a failed read (see lineage_parent_kept). */
static int kept_parent_now(struct vfs *v, uint64_t L, int *read)
{
	sqlite3_stmt *st = db_prep(v->db, "SELECT " KEPT_PARENT("?1") " IS NOT NULL");
	sqlite3_bind_int64(st, 1, (int64_t)L);
	int row = db_step_row(st);
	int kept = row > 0 ? sqlite3_column_int(st, 0) : 1;
	db_finish(st);
	*read = row > 0;
	return kept;
}

/* A writable tree's name, xattr and inode writes each run a statement
 * naming KEPT_PARENT (the head comment), which finds nothing unless the
 * tree's lineage has a kept parent: after the last snapshot above it was
 * deleted, until a new snapshot or the reclaimer's join ends that. The
 * answer is cached in the tree for the lineage generation it was read at,
 * so nearly every write asks nothing. It may be stale only one way: a
 * stale 1 runs a statement that finds nothing (KEPT_PARENT is in the
 * statement itself, which never acts on the flag alone); a stale 0 would
 * leave a kept version nobody sees, garbage that vfs_check reports. So the
 * cached 0 must be current: every change to `lineages` bumps the
 * generation first (lineage_changed), and so does every rollback and lost
 * group (db->undo_gen), which may undo one; a read that failed is a 1 not
 * cached. lineage_check verifies the cached 0s. */
int lineage_parent_kept(struct vfs *v, struct vtree *t)
{
	db_assert_locked(v->db);
	uint64_t mine = atomic_load(&t->lineage), gen = lineage_generation(v);
	if (!lineage_has_ancestors(t->family, mine))
		return 0;
	if (t->kept_parent.gen == gen && t->kept_parent.lineage == mine)
		return t->kept_parent.kept;
	int read, kept = kept_parent_now(v, mine, &read);
	assert(kept == 0 || kept == 1);
	if (read)
		t->kept_parent.gen = gen, t->kept_parent.lineage = mine, t->kept_parent.kept = kept;
	return kept;
}

static int exec_ids(struct vfs *v, const char *sql, uint64_t a, uint64_t b)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)a);
	sqlite3_bind_int64(st, 2, (int64_t)b);
	return db_step_done(v->db, st);
}

int lineage_new_root(struct vfs *v, uint64_t *id)
{
	lineage_changed(v);
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
	lineage_changed(v); /* parent has another child */
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
	lineage_changed(v); /* id's only child, if any, has a kept parent now */
	return exec_ids(v, "UPDATE lineages SET dead=1 WHERE id=?1 AND NOT EXISTS "
	                   "(SELECT 1 FROM trees WHERE lineage=?1)", id, 0);
}

/* ------------------------------------------------------------------ */
/* Reclaim                                                            */

/* What the reclaimer does with a released lineage (see the head comment). */
enum reclaim_kind {
	RECLAIM_DROP,    /* no child: its rows go */
	RECLAIM_MERGE,   /* its parent is released too: its rows join the parent's */
	RECLAIM_COLLECT, /* else: the versions its child shadows go, then it is kept */
};

struct reclaim_work {
	uint64_t dead, child, parent;
	enum reclaim_kind kind;
};

/* One lineage with reclaim work: 1, 0 if none, or a negative errno.
 * Joins first, the oldest first: of a run of released lineages, each
 * joins the topmost one directly (the next one's parent is that one by
 * then), so a row moves once however many were released together, and
 * the topmost is looked at against its child once the run has joined. */
static int next_reclaimable(struct vfs *v, struct reclaim_work *w)
{
	static_assert(RECLAIM_MERGE == 1 && RECLAIM_COLLECT == 2, "the query's kinds");
	sqlite3_stmt *st = db_prep(v->db, "SELECT l.id, coalesce((SELECT c.id FROM lineages c WHERE "
	                                  "c.parent=l.id), 0), coalesce(l.parent, 0), CASE WHEN "
	                                  CHILDREN("l") "=0 THEN 0 WHEN " PARENT_RELEASED("l") " THEN 1 "
	                                  "ELSE 2 END AS kind FROM lineages l WHERE " RECLAIMABLE
	                                  " ORDER BY kind<>1, l.id LIMIT 1");
	int row = db_step_row(st);
	if (row > 0) {
		w->dead = (uint64_t)sqlite3_column_int64(st, 0);
		w->child = (uint64_t)sqlite3_column_int64(st, 1);
		w->parent = (uint64_t)sqlite3_column_int64(st, 2);
		w->kind = (enum reclaim_kind)sqlite3_column_int(st, 3);
	}
	db_finish(st);
	return row;
}

/* A table of rows keyed by (family, ino[, name], lineage), for the
 * reclaimer; parameters: ?1 family, ?2 ino, ?3 name, ?4 dead. */
struct keyed_table {
	const char *select; /* family, ino, name, data object (LIMIT ?6) */
	const char *drop;
};

static const struct keyed_table inode_rows = {
	"SELECT i.family, i.ino, '', coalesce(i.obj, 0) FROM inodes i WHERE i.lineage=?4 LIMIT ?6",
	"DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?4",
};

static const struct keyed_table xattr_rows = {
	"SELECT family, ino, name, 0 FROM xattrs WHERE lineage=?4 LIMIT ?6",
	"DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4",
};

struct keyed_row {
	uint64_t family, ino, obj;
	char name[256]; /* an xattr's; "" for an inode */
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

/* Up to RECLAIM_BATCH rows of table t in lineage `dead`, which has no
 * child, while the step (which began at total changes `base`) has made
 * fewer than RECLAIM_CHANGES row changes: deleted with their data object
 * references. *moved counts the rows handled. */
static int reclaim_keyed(struct vfs *v, const struct keyed_table *t, uint64_t dead, int64_t base,
                         int *moved)
{
	if (step_full(v, base))
		return 0;
	struct keyed_row *rows = malloc(RECLAIM_BATCH * sizeof *rows);
	if (!rows)
		return -ENOMEM;
	int n = 0;
	sqlite3_stmt *st = db_prep(v->db, t->select);
	sqlite3_bind_int64(st, 4, (int64_t)dead);
	sqlite3_bind_int(st, 6, RECLAIM_BATCH);
	int r = 0;
	while (n < RECLAIM_BATCH && (r = db_step_row(st)) > 0) {
		rows[n].family = (uint64_t)sqlite3_column_int64(st, 0);
		rows[n].ino = (uint64_t)sqlite3_column_int64(st, 1);
		snprintf(rows[n].name, sizeof rows[n].name, "%s", (const char *)sqlite3_column_text(st, 2));
		rows[n].obj = (uint64_t)sqlite3_column_int64(st, 3);
		n++;
	}
	db_finish(st);
	/* a failed step is no proof that `dead` is empty: reclaim_drop
	 * would orphan its rows */
	r = r < 0 ? r : 0;
	int i;
	for (i = 0; r == 0 && i < n && !step_full(v, base); i++) {
		r = keyed_exec(v, t->drop, &rows[i], dead, 0);
		if (r == 0 && rows[i].obj)
			r = store_ref(v->store, rows[i].obj, -1);
	}
	free(rows);
	*moved += i;
	return r;
}

/* The same for the rows of dentries (by id). */
static int reclaim_names(struct vfs *v, uint64_t dead, int64_t base, int *moved)
{
	if (step_full(v, base))
		return 0;
	int64_t ids[RECLAIM_BATCH];
	int n = 0;
	sqlite3_stmt *st = db_prep(v->db, "SELECT id FROM dentries WHERE lineage=?1 LIMIT ?2");
	sqlite3_bind_int64(st, 1, (int64_t)dead);
	sqlite3_bind_int(st, 2, RECLAIM_BATCH);
	int r = 0;
	while (n < RECLAIM_BATCH && (r = db_step_row(st)) > 0)
		ids[n++] = sqlite3_column_int64(st, 0);
	db_finish(st);
	r = r < 0 ? r : 0; /* as in reclaim_keyed */
	int i;
	for (i = 0; r == 0 && i < n && !step_full(v, base); i++)
		r = exec_ids(v, "DELETE FROM dentries WHERE id=?1", (uint64_t)ids[i], 0);
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
	lineage_changed(v); /* dead's child gets a new parent */
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

/* A table's rows as a released lineage's rows join its released parent;
 * parameters as in struct keyed_table (?5: the parent). */
struct merge_table {
	/* family, key, name, whiteout, has the parent a version?, its data
	 * object, of up to ?6 rows of ?4 */
	const char *select;
	const char *drop_parent;
	/* a version older than the parent's visible from it (a whiteout
	 * joining the parent hides it; one hiding nothing goes) */
	const char *older;
	const char *drop, *move;
};

static const struct merge_table merge_tables[] = {
	{"SELECT x.family, x.ino, '', x.whiteout, p.lineage IS NOT NULL, coalesce(p.obj, 0) FROM "
	 "inodes x LEFT JOIN inodes p ON p.family=x.family AND p.ino=x.ino AND p.lineage=?5 WHERE "
	 "x.lineage=?4 LIMIT ?6",
	 "DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?5",
	 "SELECT 1 FROM inodes o" VISIBLE("o", "?5") "WHERE o.family=?1 AND o.ino=?2 AND "
	 "o.lineage<?5 LIMIT 1",
	 "DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?4",
	 "UPDATE inodes SET lineage=?5 WHERE family=?1 AND ino=?2 AND lineage=?4"},
	{"SELECT x.family, x.parent, x.name, x.whiteout, p.lineage IS NOT NULL, 0 FROM dentries x "
	 "LEFT JOIN dentries p ON p.family=x.family AND p.parent=x.parent AND p.name=x.name AND "
	 "p.lineage=?5 WHERE x.lineage=?4 LIMIT ?6",
	 "DELETE FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 AND lineage=?5",
	 "SELECT 1 FROM dentries o" VISIBLE("o", "?5") "WHERE o.family=?1 AND o.parent=?2 AND "
	 "o.name=?3 AND o.lineage<?5 LIMIT 1",
	 "DELETE FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 AND lineage=?4",
	 "UPDATE dentries SET lineage=?5 WHERE family=?1 AND parent=?2 AND name=?3 AND lineage=?4"},
	{"SELECT x.family, x.ino, x.name, x.whiteout, p.lineage IS NOT NULL, 0 FROM xattrs x "
	 "LEFT JOIN xattrs p ON p.family=x.family AND p.ino=x.ino AND p.name=x.name AND "
	 "p.lineage=?5 WHERE x.lineage=?4 LIMIT ?6",
	 "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?5",
	 "SELECT 1 FROM xattrs o" VISIBLE("o", "?5") "WHERE o.family=?1 AND o.ino=?2 AND "
	 "o.name=?3 AND o.lineage<?5 LIMIT 1",
	 "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4",
	 "UPDATE xattrs SET lineage=?5 WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4"},
};

struct merge_row {
	struct keyed_row k;
	int whiteout, parent_has;
	uint64_t parent_obj;
};

/* Whether a version of k older than lineage `from` is visible from it: 1,
 * 0, or a negative errno. */
static int older_visible(struct vfs *v, const char *sql, const struct keyed_row *k, uint64_t from)
{
	sqlite3_stmt *st = db_prep(v->db, sql);
	sqlite3_bind_int64(st, 1, (int64_t)k->family);
	sqlite3_bind_int64(st, 2, (int64_t)k->ino);
	sqlite3_bind_text(st, 3, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, (int64_t)from);
	int row = db_step_row(st);
	db_finish(st);
	return row;
}

/* One row of `dead` joins `parent`: the parent's version of its key, which
 * only dead's descendants saw and they see dead's, goes (with its data
 * object reference); a whiteout that hides nothing older goes too. */
static int merge_row(struct vfs *v, const struct merge_table *t, const struct merge_row *m,
                     uint64_t dead, uint64_t parent)
{
	int r = 0;
	if (m->parent_has) {
		r = keyed_exec(v, t->drop_parent, &m->k, dead, parent);
		if (r == 0 && m->parent_obj)
			r = store_ref(v->store, m->parent_obj, -1);
	}
	int needed = 1;
	if (r == 0 && m->whiteout)
		r = needed = older_visible(v, t->older, &m->k, parent);
	if (r < 0)
		return r;
	return keyed_exec(v, needed ? t->move : t->drop, &m->k, dead, parent);
}

/* Up to RECLAIM_BATCH rows of each table of `dead` join `parent`, while
 * the step has made fewer than RECLAIM_CHANGES row changes; *moved counts
 * them. */
static int reclaim_merge(struct vfs *v, uint64_t dead, uint64_t parent, int64_t base, int *moved)
{
	struct merge_row *rows = malloc(RECLAIM_BATCH * sizeof *rows);
	if (!rows)
		return -ENOMEM;
	int r = 0;
	for (size_t t = 0; r == 0 && t < sizeof merge_tables / sizeof merge_tables[0]; t++) {
		if (step_full(v, base))
			break;
		sqlite3_stmt *st = db_prep(v->db, merge_tables[t].select);
		sqlite3_bind_int64(st, 4, (int64_t)dead);
		sqlite3_bind_int64(st, 5, (int64_t)parent);
		sqlite3_bind_int(st, 6, RECLAIM_BATCH);
		int n = 0;
		while (n < RECLAIM_BATCH && (r = db_step_row(st)) > 0) {
			struct merge_row *m = &rows[n++];
			m->k.family = (uint64_t)sqlite3_column_int64(st, 0);
			m->k.ino = (uint64_t)sqlite3_column_int64(st, 1);
			snprintf(m->k.name, sizeof m->k.name, "%s", (const char *)sqlite3_column_text(st, 2));
			m->whiteout = sqlite3_column_int(st, 3);
			m->parent_has = sqlite3_column_int(st, 4);
			m->parent_obj = (uint64_t)sqlite3_column_int64(st, 5);
		}
		db_finish(st);
		r = r < 0 ? r : 0; /* as in reclaim_keyed */
		int i;
		for (i = 0; r == 0 && i < n && !step_full(v, base); i++)
			r = merge_row(v, &merge_tables[t], &rows[i], dead, parent);
		*moved += i;
	}
	free(rows);
	return r;
}

/* A table's rows of a kept lineage's child, read in key order after a
 * cursor (?1 family, ?2 key, ?3 name), for the versions of the kept
 * lineage (?4) they shadow; ?5 the child, ?6 how many. */
struct collect_table {
	/* family, key, name, has ?4 a version?, its data object, the cursor's key */
	const char *select;
	const char *drop; /* ?4's version */
	/* then the child's version if a whiteout that hides nothing (no
	 * ancestor of ?4 has the key): a lineage that outlives its snapshots
	 * keeps no whiteouts */
	const char *drop_whiteout;
};

static const struct collect_table collect_tables[] = {
	{"SELECT c.family, c.ino, '', k.lineage IS NOT NULL, coalesce(k.obj, 0), c.ino FROM inodes c "
	 "LEFT JOIN inodes k ON k.family=c.family AND k.ino=c.ino AND k.lineage=?4 WHERE c.lineage=?5 "
	 "AND (c.family, c.ino) > (?1, ?2) ORDER BY c.family, c.ino LIMIT ?6",
	 "DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?4",
	 "DELETE FROM inodes WHERE family=?1 AND ino=?2 AND lineage=?5 AND whiteout=1 AND NOT EXISTS "
	 "(SELECT 1 FROM inodes o" VISIBLE("o", "?4") "WHERE o.family=?1 AND o.ino=?2 AND "
	 "o.lineage<>?4)"},
	/* names by id: dentries_lineage orders them so */
	{"SELECT c.family, c.parent, c.name, k.lineage IS NOT NULL, 0, c.id FROM dentries c LEFT JOIN "
	 "dentries k ON k.family=c.family AND k.parent=c.parent AND k.name=c.name AND k.lineage=?4 "
	 "WHERE c.lineage=?5 AND c.id>?2 ORDER BY c.id LIMIT ?6",
	 "DELETE FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 AND lineage=?4",
	 "DELETE FROM dentries WHERE family=?1 AND parent=?2 AND name=?3 AND lineage=?5 AND "
	 "whiteout=1 AND NOT EXISTS (SELECT 1 FROM dentries o" VISIBLE("o", "?4") "WHERE "
	 "o.family=?1 AND o.parent=?2 AND o.name=?3 AND o.lineage<>?4)"},
	{"SELECT c.family, c.ino, c.name, k.lineage IS NOT NULL, 0, c.ino FROM xattrs c LEFT JOIN "
	 "xattrs k ON k.family=c.family AND k.ino=c.ino AND k.name=c.name AND k.lineage=?4 WHERE "
	 "c.lineage=?5 AND (c.family, c.ino, c.name) > (?1, ?2, ?3) ORDER BY c.family, c.ino, c.name "
	 "LIMIT ?6",
	 "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?4",
	 "DELETE FROM xattrs WHERE family=?1 AND ino=?2 AND name=?3 AND lineage=?5 AND whiteout=1 "
	 "AND NOT EXISTS (SELECT 1 FROM xattrs o" VISIBLE("o", "?4") "WHERE o.family=?1 AND "
	 "o.ino=?2 AND o.name=?3 AND o.lineage<>?4)"},
};
#define COLLECT_TABLES ((int)(sizeof collect_tables / sizeof collect_tables[0]))

/* Up to COLLECT_SCAN rows of `child` after cursor c: the versions of
 * `kept` they shadow go, with their data object references, while the
 * step has made fewer than RECLAIM_CHANGES row changes. c moves past the
 * rows handled; c->table reaches COLLECT_TABLES when all were. */
static int reclaim_collect(struct vfs *v, struct collect_cursor *c, int64_t base)
{
	int budget = COLLECT_SCAN, r = 0;
	while (r == 0 && c->table < COLLECT_TABLES && budget > 0 && !step_full(v, base)) {
		const struct collect_table *t = &collect_tables[c->table];
		sqlite3_stmt *st = db_prep(v->db, t->select);
		sqlite3_bind_int64(st, 1, (int64_t)c->family);
		sqlite3_bind_int64(st, 2, (int64_t)c->key);
		sqlite3_bind_text(st, 3, c->name, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 4, (int64_t)c->kept);
		sqlite3_bind_int64(st, 5, (int64_t)c->child);
		sqlite3_bind_int(st, 6, budget);
		int n = 0, row = 1;
		while (!step_full(v, base) && (row = db_step_row(st)) > 0) {
			n++;
			struct keyed_row k = {(uint64_t)sqlite3_column_int64(st, 0),
			                      (uint64_t)sqlite3_column_int64(st, 1),
			                      (uint64_t)sqlite3_column_int64(st, 4), ""};
			snprintf(k.name, sizeof k.name, "%s", (const char *)sqlite3_column_text(st, 2));
			if (sqlite3_column_int(st, 3)) {
				r = keyed_exec(v, t->drop, &k, c->kept, c->child);
				if (r == 0 && k.obj)
					r = store_ref(v->store, k.obj, -1);
				if (r == 0)
					r = keyed_exec(v, t->drop_whiteout, &k, c->kept, c->child);
				if (r < 0)
					break;
			}
			c->family = k.family;
			c->key = (uint64_t)sqlite3_column_int64(st, 5);
			snprintf(c->name, sizeof c->name, "%s", k.name);
		}
		db_finish(st);
		if (r == 0 && row < 0) /* unread rows are no proof the table is done */
			r = row;
		if (r == 0 && row == 0 && n < budget) { /* the table is done */
			c->table++;
			c->family = c->key = 0;
			c->name[0] = 0;
		}
		budget -= n;
	}
	return r;
}

/* The pass over `child` for kept lineage `dead` where the last step left
 * it, or from the start (after a crash, an error or a lost group, the
 * rows already handled are read again and hold nothing of `dead`). */
static struct collect_cursor collect_from(struct vfs *v, uint64_t dead, uint64_t child)
{
	struct collect_cursor c = v->collect;
	if (!c.valid || c.kept != dead || c.child != child || c.lost_groups != v->db->lost_groups)
		c = (struct collect_cursor){.kept = dead, .child = child, .valid = 1,
		                            .lost_groups = v->db->lost_groups};
	return c;
}

/* One bounded change of reclaim work: 1 if it did some, 0 if there was
 * none, or a negative errno. db locked, outside a change. */
static int reclaim_step(struct vfs *v)
{
	struct reclaim_work w;
	/* A freeze holds writers meanwhile: no step now, the thaw kicks the
	 * reclaimer (the order of the two loads and the thaw's stores makes
	 * sure one of them sees the other). */
	if (db_quiet(v->db)) {
		atomic_store(&v->reclaim_held_off, 1);
		if (db_quiet(v->db))
			return 0;
	}
	int r = next_reclaimable(v, &w);
	if (r <= 0)
		return r;
	int moved = 0;
	struct collect_cursor c = collect_from(v, w.dead, w.child);
	r = db_begin_bounded(v->db, RECLAIM_CHANGES, DB_BACKGROUND_GROUP_CHANGES);
	int64_t base = sqlite3_total_changes64(v->db->h);
	switch (w.kind) {
	case RECLAIM_DROP:
		if (r == 0)
			r = reclaim_keyed(v, &inode_rows, w.dead, base, &moved);
		if (r == 0)
			r = reclaim_names(v, w.dead, base, &moved);
		if (r == 0)
			r = reclaim_keyed(v, &xattr_rows, w.dead, base, &moved);
		assert(r != 0 || moved > 0 || !step_full(v, base)); /* changes come from rows handled */
		if (r == 0 && moved == 0)
			r = reclaim_drop(v, w.dead, w.parent);
		break;
	case RECLAIM_MERGE:
		if (r == 0)
			r = reclaim_merge(v, w.dead, w.parent, base, &moved);
		assert(r != 0 || moved > 0 || !step_full(v, base));
		if (r == 0 && moved == 0)
			r = reclaim_drop(v, w.dead, w.parent);
		/* the parent now has another child, which it has not been
		 * looked at against */
		if (r == 0 && moved == 0) {
			lineage_changed(v);
			r = exec_ids(v, "UPDATE lineages SET dead=1 WHERE id=?1", w.parent, 0);
		}
		break;
	case RECLAIM_COLLECT:
		if (r == 0)
			r = reclaim_collect(v, &c, base);
		if (r == 0 && c.table == COLLECT_TABLES) {
			lineage_changed(v);
			r = exec_ids(v, "UPDATE lineages SET dead=" KEPT " WHERE id=?1", w.dead, 0);
		}
		break;
	}
	r = r == 0 ? db_commit_bounded(v->db, DB_BACKGROUND_GROUP_CHANGES) : (db_rollback(v->db), r);
	if (w.kind == RECLAIM_COLLECT)
		v->collect = r == 0 ? c : (struct collect_cursor){0};
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
	/* the rows a step reads: the lineage's own, or, for the pass of a
	 * lineage to be kept, its child's */
#define ROWS_OF(x)                                                                             \
	"(SELECT count(*) FROM inodes i WHERE i.lineage=" x ") + (SELECT count(*) FROM dentries d " \
	"WHERE d.lineage=" x ") + (SELECT count(*) FROM xattrs x WHERE x.lineage=" x ")"
	sqlite3_stmt *st = db_prep(v->db, "SELECT count(*), coalesce(sum(CASE WHEN " CHILDREN("l") "=0 "
	                                  "OR " PARENT_RELEASED("l") " THEN " ROWS_OF("l.id") " ELSE "
	                                  ROWS_OF("(SELECT c.id FROM lineages c WHERE c.parent=l.id)")
	                                  " END), 0) FROM lineages l WHERE " RECLAIMABLE);
#undef ROWS_OF
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

/* Each served tree whose cached lineage_parent_kept is current and 0 has
 * no kept parent indeed: else its writes would leave kept versions behind.
 * The problems found. */
static int check_kept_flags(struct vfs *v, void (*report)(void *, const char *), void *arg)
{
	int problems = 0;
	uint64_t gen = lineage_generation(v);
	pthread_mutex_lock(&v->trees_lock);
	for (size_t b = 0; b < VFS_TREE_BUCKETS; b++)
		for (struct vtree *t = v->trees[b]; t; t = t->next) {
			uint64_t mine = atomic_load(&t->lineage);
			if (t->kept_parent.gen != gen || t->kept_parent.lineage != mine ||
			    t->kept_parent.kept)
				continue;
			int read, kept = kept_parent_now(v, mine, &read);
			if (!read || kept) {
				char msg[200];
				snprintf(msg, sizeof msg, "tree %" PRIu64 " takes lineage %" PRIu64 " to have "
				         "no kept parent, %s", t->id, mine,
				         read ? "but it has one" : "and it cannot be read");
				report(arg, msg);
				problems++;
			}
		}
	pthread_mutex_unlock(&v->trees_lock);
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
		/* a kept lineage holds versions its only child sees: with a
		 * second child it would have been kept against one of them only */
		"SELECT 'lineage ' || l.id || ' is kept but has ' || " CHILDREN("l") " || ' children' "
		"FROM lineages l WHERE l.dead=" KEPT " AND " CHILDREN("l") ">1",
		"SELECT 'lineage ' || l.id || ' has an unknown state ' || l.dead FROM lineages l "
		"WHERE l.dead NOT IN (0, 1, " KEPT ")",
	};
	int problems = 0;
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		problems += report_each(v, sql[i], report, arg);
	return problems + check_kept_flags(v, report, arg);
}
