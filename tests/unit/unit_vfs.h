/*
 * unit_vfs.h: what the tests of the namespace layer share.
 *
 * unit_dir: the state directory of the running case, made by
 * unit_vfs_setup and removed by unit_vfs_teardown (cmocka set-up and
 * tear-down functions).
 * unit_vfs_volume: open the state directory DIR and attach one new 1 GiB
 * volume tree to it; returns the tree's id.
 */
#ifndef VOLFS_TESTS_UNIT_VFS_H
#define VOLFS_TESTS_UNIT_VFS_H

#include "tests/unit/fixtures.h"
#include "tests/unit/unit.h"

#include "fs/vfs/vfs.h"
#include "meta/db.h"

static char unit_dir[64];

static inline int unit_vfs_setup(void **state)
{
	(void)state;
	unit_temp_dir(unit_dir, sizeof unit_dir, "vfs");
	return 0;
}

static inline int unit_vfs_teardown(void **state)
{
	(void)state;
	unit_rm_tree(unit_dir);
	return 0;
}

static inline uint64_t unit_vfs_volume(struct vfs **v, const char *dir)
{
	char err[256];
	assert_int_equal(vfs_open_state(v, dir, 0, err, sizeof err), 0);
	struct db *db = vfs_db(*v);
	uint64_t tree;
	db_lock(db);
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(vfs_tree_create_rows(*v, "volume", 1ull << 30, 0, &tree), 0);
	assert_int_equal(db_commit(db), 0);
	assert_int_equal(vfs_tree_attach(*v, tree, "volume", 1ull << 30, 0), 0);
	db_unlock(db);
	return tree;
}

#endif
