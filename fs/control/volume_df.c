/*
 * fs/control/volume_df.c — the df verb: the space of every object's tree,
 * with what a volume's snapshots hold; above volume.c and snapshot.c,
 * whose accounting it joins.
 */
#include "fs/control/volume_df.h"

#include <string.h>

#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/objects.h"

json_object *volume_df(struct vfs *v)
{
	struct db *db = vfs_db(v);
	json_object *items = json_object_new_array();
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "SELECT o.kind, o.namespace, o.name, o.tree "
	                               "FROM objects o WHERE o.tree IS NOT NULL ORDER BY o.namespace, o.name");
	int row;
	while ((row = db_step_row(st)) > 0) {
		struct vtree *t = vfs_tree_get(v, (uint64_t)sqlite3_column_int64(st, 3));
		json_object *u = usage_of(v, (uint64_t)sqlite3_column_int64(st, 3));
		json_object_object_add(u, "tree", json_object_new_int64(sqlite3_column_int64(st, 3)));
		json_object_object_add(u, "kind", json_object_new_string((const char *)sqlite3_column_text(st, 0)));
		json_object_object_add(u, "namespace", json_object_new_string((const char *)sqlite3_column_text(st, 1)));
		json_object_object_add(u, "name", json_object_new_string((const char *)sqlite3_column_text(st, 2)));
		json_object_object_add(u, "inodes", json_object_new_int64(t ? (int64_t)vfs_tree_inodes(t) : 0));
		json_object_array_add(items, u);
	}
	db_finish(st);
	db_unlock(db);
	if (row < 0) { /* a partial table is not every volume's space */
		json_object_put(items);
		return NULL;
	}
	/* Outside the db lock: the snapshot accounting takes it per tree. */
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		json_object *u = json_object_array_get_idx(items, i), *tree, *kind;
		json_object_object_get_ex(u, "tree", &tree);
		json_object_object_get_ex(u, "kind", &kind);
		uint64_t bytes = strcmp(json_object_get_string(kind), KIND_PV) ? 0
		                 : snapshot_bytes_of_volume(v, (uint64_t)json_object_get_int64(tree));
		json_object_object_add(u, "snapshotBytes", json_object_new_int64((int64_t)bytes));
		json_object_object_del(u, "tree");
	}
	return items;
}
