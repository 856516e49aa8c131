/*
 * fs/control/snapshot.c — VolumeSnapshots of persistent volumes, and volumes made
 * from them (restore) or from another volume directly (clone). All three
 * branch a tree (vfs_tree_copy_rows: its rows and data objects shared
 * copy-on-write, in O(1)) in one transaction, with the source frozen so
 * the new tree is one instant of it.
 */
#include "fs/control/snapshot.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/namespaces.h"
#include "fs/control/volume.h"
#include "meta/names.h"
#include "meta/objects.h"
#include "meta/quantity.h"

#define KIND_VS "VolumeSnapshot"

struct copy_src {
	uint64_t tree;
	const char *kind;
};

static int copy_tree(struct vfs *v, void *arg, uint64_t capacity, uint64_t *tree)
{
	const struct copy_src *src = arg;
	return vfs_tree_copy_rows(v, src->tree, src->kind, capacity, tree);
}

static int vs_not_found(const char *ns, const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "volumesnapshots \"%s\" not found in namespace \"%s\"", name, ns);
	return -ENOENT;
}

/* status of a snapshot taken now of a volume of restore_size bytes */
static void snapshot_set_ready(json_object *vs, uint64_t restore_size)
{
	char q[64], ts[32];
	quantity_format(restore_size, q, sizeof q);
	rfc3339(time(NULL), ts, sizeof ts);
	json_object *status = json_object_new_object();
	json_object_object_add(status, "readyToUse", json_object_new_boolean(1));
	json_object_object_add(status, "restoreSize", json_object_new_string(q));
	json_object_object_add(status, "creationTime", json_object_new_string(ts));
	json_object_object_add(vs, "status", status);
}

static json_object *snapshot_body(const char *source_pv, uint64_t restore_size)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "apiVersion", json_object_new_string("snapshot.storage.k8s.io/v1"));
	json_object_object_add(o, "kind", json_object_new_string(KIND_VS));
	json_object_object_add(o, "metadata", json_object_new_object());
	json_object *spec = json_object_new_object(), *source = json_object_new_object();
	json_object_object_add(source, "persistentVolumeName", json_object_new_string(source_pv));
	json_object_object_add(spec, "source", source);
	json_object_object_add(o, "spec", spec);
	snapshot_set_ready(o, restore_size);
	return o;
}

/* The rows of the new snapshot tree and its object, in one transaction:
 * a new object, or the VolumeSnapshot `existing` that was applied and
 * waited for its snapshot. db locked, source frozen. */
static int snapshot_store(struct vfs *v, uint64_t src, uint64_t capacity, const char *source_pv,
                          const char *ns, const char *name, json_object *body, int existing,
                          uint64_t *tree)
{
	struct db *db = vfs_db(v);
	int r = db_begin(db);
	if (r < 0)
		return r;
	r = vfs_tree_copy_rows(v, src, "snapshot", capacity, tree);
	if (r == 0 && existing)
		r = kobj_update(db, KIND_VS, ns, name, body);
	if (r == 0)
		r = existing ? kobj_set_tree(db, KIND_VS, ns, name, *tree)
		             : kobj_insert(db, KIND_VS, ns, name, body, *tree);
	if (r == 0) {
		char msg[320];
		snprintf(msg, sizeof msg, "snapshot of persistentvolume %s taken", source_pv);
		event_add(db, KIND_VS, ns, name, "Normal", "SnapshotCreated", msg);
	}
	r = finish_txn(db, r);
	if (r < 0) /* the source did not move to a new lineage after all */
		vfs_trees_resync(v);
	return r == 0 ? vfs_tree_attach(v, *tree, "snapshot", capacity, 1) : r;
}

int snapshot_create(struct vfs *v, const char *source_pv, const char *ns, const char *name,
                    json_object *existing, json_object **out, char *err, size_t errlen)
{
	if (name_check_subdomain(name, err, errlen) < 0 || name_check_label(ns, err, errlen) < 0)
		return -EINVAL;
	uint64_t src = volume_pv_tree(v, source_pv);
	if (!src)
		return volume_pv_without_tree(v, source_pv, "snapshot", err, errlen);
	struct vtree *t = vfs_tree_get(v, src);
	uint64_t capacity = t ? vfs_tree_capacity(t) : 0;
	/* No writer is in flight while the rows are copied: every file is
	 * at one instant, and every write either is in the snapshot or not. */
	int r = vfs_tree_freeze(v, src);
	if (r < 0) {
		snprintf(err, errlen, "cannot freeze \"%s\": %s", source_pv, strerror(-r));
		return r;
	}
	struct db *db = vfs_db(v);
	json_object *body = existing ? json_object_get(existing) : snapshot_body(source_pv, capacity);
	if (existing)
		snapshot_set_ready(body, capacity);
	uint64_t tree = 0;
	db_lock(db);
	json_object *dup = existing ? NULL : kobj_get(db, KIND_VS, ns, name, NULL);
	r = dup ? -EEXIST : 0;
	json_object_put(dup);
	if (r == -EEXIST)
		snprintf(err, errlen, "volumesnapshots \"%s\" already exists in namespace \"%s\"", name, ns);
	else if (!existing) /* the imperative verb: the API server's check */
		r = namespace_usable(db, ns, err, errlen);
	if (r == 0) {
		r = snapshot_store(v, src, capacity, source_pv, ns, name, body, existing != NULL, &tree);
		if (r < 0)
			snprintf(err, errlen, "cannot snapshot \"%s\": %s", source_pv, strerror(-r));
	}
	db_unlock(db);
	vfs_tree_thaw(v, src);
	if (r < 0) {
		json_object_put(body);
		return r;
	}
	*out = body;
	return 0;
}

int snapshot_delete(struct vfs *v, const char *ns, const char *name, char *err, size_t errlen)
{
	/* Volumes restored from it hold their own references to the data
	 * objects, so they never break. */
	int r = volume_delete_object_tree(v, KIND_VS, ns, name, err, errlen);
	if (r == -ENOENT)
		return vs_not_found(ns, name, err, errlen);
	if (r == 0)
		vfs_invalidate_snapshot(v, ns, name);
	return r;
}

static int add_gain(void *arg, uint64_t obj)
{
	struct vfs *v = ((void **)arg)[0];
	uint64_t *blocks = ((void **)arg)[1];
	*blocks += store_release_gain(vfs_store(v), obj);
	return 0;
}

/* Bytes that deleting the snapshot would free: data held by no volume and
 * no other snapshot, i.e. of the row versions only the snapshot reads. */
static uint64_t exclusive_bytes(struct vfs *v, uint64_t tree)
{
	struct db *db = vfs_db(v);
	uint64_t blocks = 0;
	void *arg[] = {v, &blocks};
	db_lock(db);
	vfs_tree_each_own_obj(v, tree, add_gain, arg);
	db_unlock(db);
	return blocks * STORE_BLOCK;
}

static void add_usage(struct vfs *v, json_object *o, uint64_t tree)
{
	json_object *status;
	if (!json_object_object_get_ex(o, "status", &status))
		return;
	json_object *u = usage_of(v, tree);
	json_object_object_add(u, "exclusiveBytes", json_object_new_int64((int64_t)exclusive_bytes(v, tree)));
	json_object_object_add(u, "reclaimPending", volume_reclaim_pending(v));
	json_object_object_add(status, "volfs", u);
}

int snapshot_get(struct vfs *v, const char *ns, const char *name, json_object **items, char *err,
                 size_t errlen)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	json_object *list;
	if (name) {
		uint64_t tree;
		json_object *o = kobj_get(db, KIND_VS, ns ? ns : "default", name, &tree);
		db_unlock(db);
		if (!o)
			return vs_not_found(ns ? ns : "default", name, err, errlen);
		add_usage(v, o, tree);
		list = json_object_new_array();
		json_object_array_add(list, o);
	} else {
		list = kobj_list(db, KIND_VS, ns);
		db_unlock(db);
		if (!list)
			snprintf(err, errlen, "cannot read the volumesnapshots");
	}
	*items = list;
	return list ? 0 : -EIO;
}

int snapshot_describe(struct vfs *v, const char *ns, const char *name, json_object **out,
                      char *err, size_t errlen)
{
	struct db *db = vfs_db(v);
	uint64_t tree = 0;
	db_lock(db);
	json_object *o = kobj_get(db, KIND_VS, ns, name, &tree);
	json_object *events = o ? event_list(db, KIND_VS, ns, name) : NULL;
	db_unlock(db);
	if (!o)
		return vs_not_found(ns, name, err, errlen);
	add_usage(v, o, tree);
	json_object *usage = usage_of(v, tree);
	json_object_object_add(usage, "exclusiveBytes", json_object_new_int64((int64_t)exclusive_bytes(v, tree)));
	json_object_object_add(usage, "reclaimPending", volume_reclaim_pending(v));
	*out = json_object_new_object();
	json_object_object_add(*out, "object", o);
	json_object_object_add(*out, "events", events);
	json_object_object_add(*out, "usage", usage);
	return 0;
}

int volume_restore(struct vfs *v, const char *ns, const char *snap, const char *newpv,
                   uint64_t capacity, json_object *body, json_object **out, char *err,
                   size_t errlen)
{
	struct db *db = vfs_db(v);
	uint64_t tree = 0;
	db_lock(db);
	json_object *o = kobj_get(db, KIND_VS, ns, snap, &tree);
	db_unlock(db);
	if (!o)
		return vs_not_found(ns, snap, err, errlen);
	json_object_put(o);
	struct vtree *t = vfs_tree_get(v, tree);
	uint64_t used = t ? vfs_tree_used_bytes(t) : 0;
	if (!capacity)
		capacity = t ? vfs_tree_capacity(t) : 0;
	if (capacity < used) {
		char q[64];
		quantity_format(used, q, sizeof q);
		snprintf(err, errlen, "capacity is smaller than the snapshot's data (%s)", q);
		return -EINVAL;
	}
	char event[320];
	snprintf(event, sizeof event, "restored from volumesnapshot %s/%s", ns, snap);
	struct copy_src src = {.tree = tree, .kind = "volume"};
	return volume_pv_create_with(v, newpv, capacity, copy_tree, &src, body, event, out, err,
	                             errlen);
}

int volume_clone(struct vfs *v, const char *srcpv, const char *newpv, uint64_t capacity,
                 json_object *body, json_object **out, char *err, size_t errlen)
{
	uint64_t tree = volume_pv_tree(v, srcpv);
	if (!tree)
		return volume_pv_without_tree(v, srcpv, "clone", err, errlen);
	struct vtree *t = vfs_tree_get(v, tree);
	if (!capacity || (t && capacity < vfs_tree_capacity(t)))
		capacity = t ? vfs_tree_capacity(t) : 0;
	int r = vfs_tree_freeze(v, tree);
	if (r < 0) {
		snprintf(err, errlen, "cannot freeze \"%s\": %s", srcpv, strerror(-r));
		return r;
	}
	char event[320];
	snprintf(event, sizeof event, "cloned from persistentvolume %s", srcpv);
	struct copy_src src = {.tree = tree, .kind = "volume"};
	r = volume_pv_create_with(v, newpv, capacity, copy_tree, &src, body, event, out, err, errlen);
	vfs_tree_thaw(v, tree);
	return r;
}
