/*
 * tests/unit/test_freeze.c — what a freeze (the instant of a snapshot or a
 * clone, fs/vfs/tree.c) does while writers wait for its gate, counted
 * rather than timed: the volume's dirty inodes are flushed before the gate
 * closes (none behind it, yet the snapshot holds them), a group the
 * snapshot's rows push past DB_GROUP_MAX_CHANGES is not committed behind
 * the gate (nor flushed to the device) but after the thaw, and the
 * reclaimer takes no step meanwhile and resumes at the thaw.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/obs/counters.h"
#include "fs/vfs/vfs.h"
#include "meta/db.h"
#include "meta/objects.h"

#define FILES 1500

/* The work of the freezes since `before` (counters_freeze_read). */
static struct counters_freeze_stats freeze_work_since(const struct counters_freeze_stats *before)
{
	struct counters_freeze_stats now;
	counters_freeze_read(&now);
	now.inodes -= before->inodes;
	now.commits -= before->commits;
	now.flushes -= before->flushes;
	return now;
}

/* parent/name holding text, left dirty and in memory (not forgotten). */
static void write_dirty(struct vfs *v, uint64_t parent, const char *name, const char *text)
{
	struct vfs_ctx ctx = {0};
	struct vfs_entry e;
	struct vfile *f;
	assert_int_equal(vfs_create(v, parent, name, 0644, O_WRONLY, &ctx, &e, &f), 0);
	assert_int_equal(vfs_write(v, f, text, strlen(text), 0), (ssize_t)strlen(text));
	vfs_release(v, f);
}

static off_t size_of(struct vfs *v, uint64_t parent, const char *name)
{
	struct vfs_entry e;
	assert_int_equal(vfs_lookup(v, parent, name, &e), 0);
	vfs_forget(v, e.ino, 1);
	return e.st.st_size;
}

/* Files written just before a snapshot: their inodes are dirty when it
 * starts, and flushed before its gate closes, so writers never wait for
 * them; the snapshot still sees every one. */
static void test_dirty_inodes_flushed_before_the_gate(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	char name[32];
	for (int i = 0; i < FILES; i++) {
		snprintf(name, sizeof name, "f%d", i);
		write_dirty(v, root, name, "contents");
	}
	struct counters_freeze_stats before;
	counters_freeze_read(&before);
	uint64_t snap = unit_vfs_snapshot(v, tree, 1ull << 30);
	struct counters_freeze_stats work = freeze_work_since(&before);
	assert_int_equal(work.inodes, 0);
	assert_int_equal(work.commits, 0);
	assert_int_equal(work.flushes, 0);
	for (int i = 0; i < FILES; i += 149) {
		snprintf(name, sizeof name, "f%d", i);
		assert_int_equal(size_of(v, VFS_INO(snap, 1), name), strlen("contents"));
	}
	vfs_close(v);
}

/* Changes of the open group, i.e. what its commit would write. */
static int64_t group_changes(struct db *db)
{
	return db->group_open ? sqlite3_total_changes64(db->h) - db->group_base : 0;
}

/* A group left just below DB_GROUP_MAX_CHANGES (other work of the daemon:
 * a reclaim step, other volumes) that the snapshot's own rows push past
 * it: the commit waits for the thaw. */
static void test_no_commit_behind_the_gate(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30);
	struct db *db = vfs_db(v);
	assert_int_equal(vfs_flush_all(v), 0);
	db_lock(db);
	int r = db_begin(db);
	while (r == 0 && group_changes(db) < DB_GROUP_MAX_CHANGES - 2)
		event_add(db, "PersistentVolume", "", "vol", "Normal", "Test", "filler");
	r = r == 0 ? db_commit(db) : r;
	int64_t filled = group_changes(db);
	db_unlock(db);
	assert_int_equal(r, 0);
	assert_true(filled >= DB_GROUP_MAX_CHANGES - 2);

	uint64_t commits = db_thread_commits();
	struct counters_freeze_stats before;
	counters_freeze_read(&before);
	unit_vfs_snapshot(v, tree, 1ull << 30);
	struct counters_freeze_stats work = freeze_work_since(&before);
	assert_int_equal(work.commits, 0);
	assert_int_equal(work.flushes, 0);
	assert_int_equal(db_thread_commits(), commits);
	assert_true(group_changes(db) >= DB_GROUP_MAX_CHANGES); /* still open, past the bound */
	/* the next change after the thaw commits the group, as without a freeze */
	db_lock(db);
	r = db_begin(db);
	if (r == 0) {
		event_add(db, "PersistentVolume", "", "vol", "Normal", "Test", "after");
		r = db_commit(db);
	}
	db_unlock(db);
	assert_int_equal(r, 0);
	assert_int_equal(db_thread_commits(), commits + 1);
	vfs_close(v);
}

/* A deleted snapshot's rows wait for the reclaimer; it takes no step while
 * another volume is frozen, and does once that one thaws. */
static void test_reclaimer_holds_off_during_a_freeze(void **state)
{
	(void)state;
	struct vfs *v;
	uint64_t tree = unit_vfs_volume(&v, unit_dir, 1ull << 30), root = VFS_INO(tree, 1);
	write_dirty(v, root, "a", "a");
	uint64_t snap = unit_vfs_snapshot(v, tree, 1ull << 30);
	write_dirty(v, root, "a2", "b"); /* the volume's lineage holds a row of its own */
	struct db *db = vfs_db(v);
	db_lock(db);
	int r = db_begin(db);
	if (r == 0)
		r = vfs_tree_delete_rows(v, snap);
	r = r == 0 ? db_commit(db) : (db_rollback(db), r);
	vfs_tree_detach(v, snap);
	db_unlock(db);
	assert_int_equal(r, 0);
	uint64_t pending = unit_vfs_pending_rows(v);
	assert_true(pending > 0);

	assert_int_equal(vfs_tree_freeze(v, tree), 0);
	r = vfs_reclaim(v);
	uint64_t frozen = unit_vfs_pending_rows(v);
	vfs_tree_thaw(v, tree);
	assert_int_equal(r, 0);
	assert_int_equal(frozen, pending);
	assert_int_equal(vfs_reclaim(v), 0);
	assert_int_equal(unit_vfs_pending_rows(v), 0);
	vfs_close(v);
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_dirty_inodes_flushed_before_the_gate, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_no_commit_behind_the_gate, unit_vfs_setup, unit_vfs_teardown),
		cmocka_unit_test_setup_teardown(test_reclaimer_holds_off_during_a_freeze, unit_vfs_setup, unit_vfs_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
