/*
 * tests/unit/fixtures.h — fixtures several unit binaries share, linked into
 * every one (fixtures.c):
 *
 * J: JSON written with single quotes, readable in C strings; a parse
 * failure fails the test. unit_json_list: an array of objects.
 * unit_expect_message: a validator's result against the message wanted.
 *
 * struct unit_store: a fresh state directory with meta.db and the data
 * store on it (fs/store/store.h), set up and torn down per case, reopened
 * as after a restart; deterministic byte patterns written to and expected
 * from data objects.
 *
 * unit_shim_default_vfs: a VFS over SQLite's default one that watches
 * the files it opens.
 *
 * unit_dir, unit_vfs_*: the namespace layer (fs/vfs/vfs.h) without a
 * mount: a state directory per case and a volume tree in it.
 */
#ifndef VOLFS_TESTS_UNIT_FIXTURES_H
#define VOLFS_TESTS_UNIT_FIXTURES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "fs/store/store.h"
#include "meta/db.h"

/* Parse JSON written with single quotes; a new reference. */
json_object *J(const char *text);
/* An array of the objects given, ending with NULL; takes them over. */
json_object *unit_json_list(json_object *first, ...);
/* want NULL: r must be 0; otherwise r must be -EINVAL with want in err. */
void unit_expect_message(int r, const char *err, const char *want);

/* A fresh temporary directory /tmp/volfs-NAME-XXXXXX in dir (len >= 64). */
void unit_temp_dir(char *dir, size_t len, const char *name);

/* Make *shim SQLite's default VFS: a copy of the default of now, named
 * name, whose files open with open (which passes them on to the VFS
 * returned, the one copied). */
sqlite3_vfs *unit_shim_default_vfs(sqlite3_vfs *shim, const char *name,
                                   int (*open)(sqlite3_vfs *, const char *, sqlite3_file *, int,
                                               int *));

struct unit_store {
	char dir[64];
	struct db *db;
	struct store *st;
};

/* cmocka set-up and tear-down of a struct unit_store in *state; name
 * tells the temporary directories of different binaries apart. */
int unit_store_setup(void **state, const char *name);
int unit_store_teardown(void **state);
/* Close and open store and db again, as after a daemon restart. */
void unit_store_reopen(struct unit_store *e);
/* One committed change: the references of object id += delta. */
void unit_store_ref(struct unit_store *e, uint64_t id, int delta);
/* Does object id have a host file? */
int unit_store_host_exists(struct unit_store *e, uint64_t id);

/* The state directory of the running case of a namespace-layer test,
 * made by unit_vfs_setup and removed by unit_vfs_teardown (cmocka set-up
 * and tear-down functions). */
extern char unit_dir[64];
int unit_vfs_setup(void **state);
int unit_vfs_teardown(void **state);
/* Open the state directory dir into *v and attach one new volume tree of
 * capacity bytes to it; returns the tree's id. */
struct vfs;
uint64_t unit_vfs_volume(struct vfs **v, const char *dir, uint64_t capacity);
/* One more volume in v. */
uint64_t unit_vfs_add_volume(struct vfs *v, uint64_t capacity);
/* A read-only snapshot of tree at this instant, taken as a VolumeSnapshot
 * is (freeze, copy the rows in one change, attach, thaw); returns its tree
 * id. */
uint64_t unit_vfs_snapshot(struct vfs *v, uint64_t tree, uint64_t capacity);
/* A writable copy of tree (a clone of a volume, or a restore of a
 * snapshot) as fs/control/snapshot.c makes it; returns its tree id. */
uint64_t unit_vfs_clone(struct vfs *v, uint64_t tree, uint64_t capacity);
/* The tree goes (its row, its lineage released); its rows are left to
 * the reclaimer. */
void unit_vfs_release(struct vfs *v, uint64_t tree);
/* Rows of deleted trees the reclaimer has yet to fold away. */
uint64_t unit_vfs_pending_rows(struct vfs *v);

/* The byte at offset off of pattern seed: never zero, so holes stand out. */
uint8_t unit_pattern(uint64_t off, unsigned seed);
void unit_fill(uint8_t *buf, size_t len, uint64_t off, unsigned seed);
/* Write pattern seed to [off, off+len) of o; returns the block delta. */
int64_t unit_write_pattern(struct dobj *o, uint64_t off, size_t len, unsigned seed);
/* [off, off+len) of o reads as pattern seed, or zeros if seed is 0. */
void unit_expect_pattern(struct dobj *o, uint64_t off, size_t len, unsigned seed);

#endif
