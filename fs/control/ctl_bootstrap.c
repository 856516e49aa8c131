/*
 * fs/control/ctl_bootstrap.c — the objects a fresh state directory starts
 * with: the namespace "default", the default StorageClass and
 * VolumeSnapshotClass, inserted once (a counter row says it was done, so
 * that a user who deletes them does not see them come back).
 */
#include "fs/control/controller.h"

#include <assert.h>
#include <errno.h>

#include "meta/k8s.h"
#include "meta/log.h"
#include "meta/objects.h"

static json_object *parse(const char *json)
{
	return json_tokener_parse(json);
}

/* Insert a built-in object unless one of that name exists. db locked. */
static void insert_builtin(struct db *db, const char *kind, const char *name, const char *json)
{
	assert(db_locked_by_me(db));
	json_object *have = kobj_get(db, kind, "", name, NULL);
	if (!have && errno == ENOENT) {
		json_object *o = parse(json);
		kobj_insert(db, kind, "", name, o, 0);
		json_object_put(o);
	}
	json_object_put(have);
}

void controller_bootstrap(struct vfs *v)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "SELECT value FROM counters WHERE name='k8s_bootstrap'");
	/* a failed read is not "never bootstrapped": the built-in objects
	 * an operator deleted since would come back */
	int done = db_step_row(st);
	db_finish(st);
	if (done < 0)
		vlog_error("meta.db", "cannot read whether the built-in objects were created");
	if (done == 0 && db_begin(db) == 0) {
		insert_builtin(db, "Namespace", "default",
		               "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{},"
		               "\"status\":{\"phase\":\"Active\"}}");
		insert_builtin(db, "StorageClass", K8S_DEFAULT_CLASS,
		               "{\"apiVersion\":\"storage.k8s.io/v1\",\"kind\":\"StorageClass\","
		               "\"metadata\":{\"annotations\":{\"" K8S_ANN_DEFAULT_SC "\":\"true\"}},"
		               "\"provisioner\":\"" K8S_PROVISIONER "\",\"reclaimPolicy\":\"Delete\","
		               "\"volumeBindingMode\":\"Immediate\",\"allowVolumeExpansion\":true}");
		insert_builtin(db, "VolumeSnapshotClass", K8S_DEFAULT_VSCLASS,
		               "{\"apiVersion\":\"snapshot.storage.k8s.io/v1\",\"kind\":\"VolumeSnapshotClass\","
		               "\"metadata\":{\"annotations\":{\"" K8S_ANN_DEFAULT_VSC "\":\"true\"}},"
		               "\"driver\":\"" K8S_PROVISIONER "\",\"deletionPolicy\":\"Delete\"}");
		db_exec(db, "INSERT INTO counters(name, value) VALUES('k8s_bootstrap', 1)");
		db_commit(db);
	}
	db_unlock(db);
}
