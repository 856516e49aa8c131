/*
 * fs/control/volume.c — persistent volumes: creating, resizing, deleting and
 * listing PersistentVolume objects together with their trees, and the name
 * resolution behind MOUNT/pv/<name>.
 */
#include "fs/control/volume.h"
#include "fs/control/hostpath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta/log.h"
#include "meta/k8s.h"
#include "meta/names.h"
#include "meta/objects.h"
#include "meta/quantity.h"

/* The object's tree in *tree (0: it has none); -ENOENT when there is no
 * such object, -EIO when the look-up failed (then *tree is 0, and nobody may
 * take the object for treeless: it would get a second, empty tree). */
static int object_tree(void *arg, const char *kind, const char *ns, const char *name,
                       uint64_t *tree)
{
	struct db *db = arg;
	sqlite3_stmt *st = db_prep(db, "SELECT tree FROM objects WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	int r = db_step_row(st);
	*tree = r > 0 ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	db_finish(st);
	return r > 0 ? 0 : r == 0 ? -ENOENT : r;
}

#define BOUND_CLAIM "kind='PersistentVolumeClaim' AND json_extract(body, '$.status.phase')='Bound'"

static int claim_volume(void *arg, const char *ns, const char *claim, char *pv, size_t len)
{
	struct db *db = arg;
	sqlite3_stmt *st = db_prep(db, "SELECT json_extract(body, '$.spec.volumeName') FROM objects "
	                               "WHERE " BOUND_CLAIM " AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, claim, -1, SQLITE_STATIC);
	return db_finish_text_row(st, pv, len, NULL);
}

static int object_exists(void *arg, const char *kind, const char *ns, const char *name)
{
	struct db *db = arg;
	sqlite3_stmt *st = db_prep(db, "SELECT 1 FROM objects WHERE kind=? AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, name, -1, SQLITE_STATIC);
	int r = db_step_row(st);
	db_finish(st);
	return r;
}

static json_object *pod_projection(void *arg, const char *ns, const char *name)
{
	json_object *o = kobj_get(arg, "PodVolume", ns, name, NULL), *spec = NULL;
	if (o && json_object_object_get_ex(o, "spec", &spec))
		json_object_get(spec);
	json_object_put(o);
	return spec;
}

/* Is the claim's only access mode ReadOnlyMany? 1, 0, or -EIO: an unread
 * claim is not a writable one. */
static int claim_read_only_many(struct db *db, const char *ns, const char *claim)
{
	sqlite3_stmt *st = db_prep(db, "SELECT json_extract(body, '$.spec.accessModes') FROM objects "
	                               "WHERE kind='PersistentVolumeClaim' AND namespace=? AND name=?");
	sqlite3_bind_text(st, 1, ns, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, claim, -1, SQLITE_STATIC);
	int row = db_step_row(st), rox = row < 0 ? row : 0;
	if (row > 0 && sqlite3_column_text(st, 0)) {
		json_object *modes = json_tokener_parse((const char *)sqlite3_column_text(st, 0));
		size_t n = json_object_is_type(modes, json_type_array) ? json_object_array_length(modes) : 0;
		rox = n > 0;
		for (size_t i = 0; i < n; i++)
			rox &= !strcmp(json_object_get_string(json_object_array_get_idx(modes, i)), "ReadOnlyMany");
		json_object_put(modes);
	}
	db_finish(st);
	return rox;
}

static int pod_volume(void *arg, const char *ns, const char *pod, size_t index, char *name,
                      size_t len, uint64_t *tree, char *pv, size_t pvlen, int *projected,
                      int *readonly)
{
	struct db *db = arg;
	json_object *o = kobj_get(db, "Pod", ns, pod, NULL), *vols, *vol = NULL;
	if (o && json_object_object_get_ex(json_object_object_get(o, "spec"), "volumes", &vols) &&
	    json_object_is_type(vols, json_type_array) && index < json_object_array_length(vols))
		vol = json_object_array_get_idx(vols, index);
	if (!vol) {
		json_object_put(o);
		return -ENOENT;
	}
	json_object *n = json_object_object_get(vol, "name");
	json_object *claim = json_object_object_get(json_object_object_get(vol, "persistentVolumeClaim"),
	                                            "claimName");
	snprintf(name, len, "%s", n ? json_object_get_string(n) : "");
	*tree = 0;
	*projected = 0;
	*readonly = 0;
	pv[0] = 0;
	json_object *host = json_object_object_get(json_object_object_get(json_object_object_get(o,
	                                           "status"), "hostPaths"), name);
	if (claim) {
		json_object *ro = json_object_object_get(json_object_object_get(vol, "persistentVolumeClaim"),
		                                         "readOnly");
		if (claim_volume(db, ns, json_object_get_string(claim), pv, pvlen) < 0)
			pv[0] = 0;
		int rox = claim_read_only_many(db, ns, json_object_get_string(claim));
		if (rox < 0) {
			json_object_put(o);
			return rox;
		}
		*readonly = (ro && json_object_get_boolean(ro)) || rox;
	} else if (json_object_object_get_ex(vol, "hostPath", NULL)) {
		/* the resolved host path, once the pod's volumes are set up */
		if (json_object_is_type(host, json_type_string))
			snprintf(pv, pvlen, "%s", json_object_get_string(host));
	} else {
		char key[600];
		snprintf(key, sizeof key, "%s/%s", pod, name);
		int r = object_tree(db, "PodVolume", ns, key, tree);
		if (r == -EIO || (r == 0 && !*tree && !json_object_object_get_ex(vol, "emptyDir", NULL) &&
		                  (r = object_exists(db, "PodVolume", ns, key)) < 0)) {
			json_object_put(o);
			return r;
		}
		*projected = r > 0;
	}
	json_object_put(o);
	return 0;
}

static int object_next(void *arg, const char *kind, const char *ns, uint64_t after, char *name,
                       size_t len, uint64_t *tree)
{
	struct db *db = arg;
	int claims = !strcmp(kind, "PersistentVolumeClaim");
	sqlite3_stmt *st = claims
		? db_prep(db, "SELECT name, rowid FROM objects WHERE " BOUND_CLAIM " AND ?1 <> '' AND "
		              "namespace=?2 AND rowid > ?3 ORDER BY rowid LIMIT 1")
		: !strcmp(kind, "Pod")
		? db_prep(db, "SELECT name, rowid FROM objects WHERE kind=?1 AND namespace=?2 AND rowid > ?3 "
		              "ORDER BY rowid LIMIT 1")
		: db_prep(db, "SELECT name, tree FROM objects WHERE kind=? AND namespace=? "
		              "AND tree > ? ORDER BY tree LIMIT 1");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ns, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)after);
	return db_finish_text_row(st, name, len, tree);
}

static int object_next_ns(void *arg, const char *kind, const char *after, char *ns, size_t len)
{
	struct db *db = arg;
	sqlite3_stmt *st = !strcmp(kind, "PersistentVolumeClaim")
		? db_prep(db, "SELECT namespace FROM objects WHERE " BOUND_CLAIM " AND ?1 <> '' AND "
		              "namespace > ?2 ORDER BY namespace LIMIT 1")
		: !strcmp(kind, "Pod")
		? db_prep(db, "SELECT namespace FROM objects WHERE kind=?1 AND namespace > ?2 "
		              "ORDER BY namespace LIMIT 1")
		: db_prep(db, "SELECT namespace FROM objects WHERE kind=? AND namespace > ? "
		              "AND tree IS NOT NULL ORDER BY namespace LIMIT 1");
	sqlite3_bind_text(st, 1, kind, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, after, -1, SQLITE_STATIC);
	return db_finish_text_row(st, ns, len, NULL);
}

#define HOST_PV "kind='PersistentVolume' AND tree IS NULL AND " \
	"json_extract(body, '$.status.hostPath') IS NOT NULL"

static int pv_host_path(void *arg, const char *name, char *path, size_t len)
{
	sqlite3_stmt *st = db_prep(arg, "SELECT json_extract(body, '$.status.hostPath') FROM objects "
	                                "WHERE " HOST_PV " AND namespace='' AND name=?");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return db_finish_text_row(st, path, len, NULL);
}

static int next_host_pv(void *arg, uint64_t after, char *name, size_t len, uint64_t *row)
{
	sqlite3_stmt *st = db_prep(arg, "SELECT name, rowid FROM objects WHERE " HOST_PV
	                                " AND rowid > ? ORDER BY rowid LIMIT 1");
	sqlite3_bind_int64(st, 1, (int64_t)after);
	return db_finish_text_row(st, name, len, row);
}

/* A host path set up for a pod or volume is only linked to (from
 * MOUNT/pods/... and MOUNT/pv/...) while it is the path that was checked:
 * a link swapped in since would lead the entry elsewhere on the host. */
static int host_path_unchanged(const char *path)
{
	if (hostpath_unchanged(path))
		return 1;
	vlog_warn("hostPath", "%s is no longer the path set up (a symbolic link replaced part of it, "
	          "or it is gone); refusing to link to it", path);
	return 0;
}

void volume_install_names(struct vfs *v)
{
	struct vfs_names n = {.tree_of = object_tree, .next = object_next, .next_ns = object_next_ns,
	                      .claim_volume = claim_volume, .exists = object_exists,
	                      .pod_volume = pod_volume, .pod_projection = pod_projection,
	                      .pv_host_path = pv_host_path, .next_host_pv = next_host_pv,
	                      .host_path_ok = host_path_unchanged, .arg = vfs_db(v)};
	vfs_set_names(v, &n);
}

static void set_capacity_in_body(json_object *body, uint64_t capacity)
{
	char q[64];
	quantity_format(capacity, q, sizeof q);
	json_object *spec, *cap;
	if (json_object_object_get_ex(body, "spec", &spec) &&
	    json_object_object_get_ex(spec, "capacity", &cap))
		json_object_object_add(cap, "storage", json_object_new_string(q));
}

json_object *volume_pv_body(uint64_t capacity, const char *class)
{
	char q[64];
	quantity_format(capacity, q, sizeof q);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(o, "kind", json_object_new_string(KIND_PV));
	json_object_object_add(o, "metadata", json_object_new_object());
	json_object *spec = json_object_new_object();
	json_object *cap = json_object_new_object();
	json_object_object_add(cap, "storage", json_object_new_string(q));
	json_object_object_add(spec, "capacity", cap);
	json_object *modes = json_object_new_array();
	json_object_array_add(modes, json_object_new_string("ReadWriteOnce"));
	json_object_object_add(spec, "accessModes", modes);
	json_object_object_add(spec, "persistentVolumeReclaimPolicy", json_object_new_string("Retain"));
	json_object_object_add(spec, "storageClassName", json_object_new_string(class));
	json_object_object_add(spec, "volumeMode", json_object_new_string("Filesystem"));
	json_object_object_add(o, "spec", spec);
	json_object *status = json_object_new_object();
	json_object_object_add(status, "phase", json_object_new_string("Available"));
	json_object_object_add(o, "status", status);
	return o;
}

int finish_txn(struct db *db, int r)
{
	if (r == 0)
		return db_commit_bounded(db, DB_BACKGROUND_GROUP_CHANGES);
	db_rollback(db);
	return r;
}

int volume_make_empty_tree(struct vfs *v, void *arg, uint64_t capacity, uint64_t *tree)
{
	(void)arg;
	return vfs_tree_create_rows(v, "volume", capacity, 0, tree);
}

int volume_pv_create_with(struct vfs *v, const char *name, uint64_t capacity,
                          volume_tree_maker make_tree, void *arg, json_object *body,
                          const char *event, json_object **out, char *err, size_t errlen)
{
	if (name_check_subdomain(name, err, errlen) < 0)
		return -EINVAL;
	if (capacity < STORE_BLOCK) {
		snprintf(err, errlen, "capacity must be at least 4Ki");
		return -EINVAL;
	}
	struct db *db = vfs_db(v);
	/* A caller's body may ask for less than the volume gets (a clone is
	 * at least its source's size): it shows the capacity enforced. */
	if (body) {
		body = json_object_get(body);
		set_capacity_in_body(body, capacity);
	} else {
		body = volume_pv_body(capacity, "");
	}
	uint64_t tree = 0;
	db_lock(db);
	json_object *dup = kobj_get(db, KIND_PV, "", name, NULL);
	int r = dup ? -EEXIST : db_begin(db);
	json_object_put(dup);
	if (r == -EEXIST)
		snprintf(err, errlen, "persistentvolumes \"%s\" already exists", name);
	if (r == 0) {
		r = make_tree(v, arg, capacity, &tree);
		if (r == 0)
			r = volume_apply_inode_limit(v, body, tree, err, errlen);
		if (r == 0)
			r = kobj_insert(db, KIND_PV, "", name, body, tree);
		if (r == 0)
			event_add(db, KIND_PV, "", name, "Normal", "Created", event);
		r = finish_txn(db, r);
		if (r < 0) /* a clone moves its source to a new lineage */
			vfs_trees_resync(v);
		if (r == 0)
			r = vfs_tree_attach(v, tree, "volume", capacity, 0);
		if (r < 0 && r != -EEXIST && !*err)
			snprintf(err, errlen, "cannot create persistentvolume \"%s\": %s", name, strerror(-r));
	}
	db_unlock(db);
	if (r < 0) {
		json_object_put(body);
		return r;
	}
	*out = body;
	return 0;
}

int volume_pv_create(struct vfs *v, const char *name, uint64_t capacity, uint64_t inodes,
                     json_object **out, char *err, size_t errlen)
{
	json_object *body = volume_pv_body(capacity, "");
	if (inodes) {
		char n[32];
		snprintf(n, sizeof n, "%llu", (unsigned long long)inodes);
		json_object_object_add(jpath_obj(body, "metadata.annotations"), VOLUME_INODES_ANNOTATION,
		                       json_object_new_string(n));
	}
	int r = volume_pv_create_with(v, name, capacity, volume_make_empty_tree, NULL, body,
	                              "volume created", out, err, errlen);
	json_object_put(body);
	return r;
}

int volume_inode_limit_of(json_object *pv, uint64_t *limit, char *err, size_t errlen)
{
	json_object *ann = jpath_get(pv, "metadata.annotations"), *val = NULL;
	*limit = 0;
	if (!ann || !json_object_object_get_ex(ann, VOLUME_INODES_ANNOTATION, &val))
		return 0;
	const char *s = json_object_get_string(val);
	char qerr[128];
	if (!s || quantity_parse(s, limit, qerr, sizeof qerr) < 0 || *limit == 0) {
		snprintf(err, errlen, "metadata.annotations[%s]: Invalid value: \"%s\": must be a "
		         "positive number of inodes", VOLUME_INODES_ANNOTATION, s ? s : "");
		*limit = 0;
		return -EINVAL;
	}
	return 0;
}

int volume_apply_inode_limit(struct vfs *v, json_object *pv, uint64_t tree, char *err,
                             size_t errlen)
{
	uint64_t limit;
	int r = volume_inode_limit_of(pv, &limit, err, errlen);
	return r == 0 && limit ? vfs_tree_set_inode_limit(v, tree, limit) : r;
}

int volume_pv_find_tree(struct vfs *v, const char *name, uint64_t *tree)
{
	db_lock(vfs_db(v));
	int r = object_tree(vfs_db(v), KIND_PV, "", name, tree);
	db_unlock(vfs_db(v));
	return r;
}

uint64_t volume_pv_tree(struct vfs *v, const char *name)
{
	uint64_t tree;
	volume_pv_find_tree(v, name, &tree);
	return tree;
}

static int not_found(const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "persistentvolumes \"%s\" not found", name);
	return -ENOENT;
}

int volume_pv_without_tree(struct vfs *v, const char *name, const char *what, char *err,
                           size_t errlen)
{
	db_lock(vfs_db(v));
	json_object *o = kobj_get(vfs_db(v), KIND_PV, "", name, NULL);
	db_unlock(vfs_db(v));
	json_object *host = json_object_object_get(json_object_object_get(o, "spec"), "hostPath");
	int r = not_found(name, err, errlen);
	if (host) {
		snprintf(err, errlen, "cannot %s persistentvolume \"%s\": it is a hostPath volume (its data "
		         "is on the host at %s, outside volfs)", what, name,
		         json_object_get_string(json_object_object_get(host, "path")));
		r = -EINVAL;
	}
	json_object_put(o);
	return r;
}

int volume_delete_object_tree(struct vfs *v, const char *kind, const char *ns, const char *name,
                              char *err, size_t errlen)
{
	return volume_delete_object_tree_if(v, kind, ns, name, NULL, err, errlen);
}

int volume_delete_object_tree_if(struct vfs *v, const char *kind, const char *ns, const char *name,
                                 int (*veto)(struct vfs *v, uint64_t tree), char *err,
                                 size_t errlen)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	uint64_t tree = 0;
	json_object *o = kobj_get(db, kind, ns, name, &tree);
	int r = o ? 0 : -ENOENT;
	json_object_put(o);
	if (o && !tree) /* its tree was never made */
		r = kobj_delete(db, kind, ns, name);
	db_unlock(db);
	if (r == -ENOENT)
		snprintf(err, errlen, "%s \"%s\" not found", kind, name);
	if (r < 0 || !tree)
		return r;
	/* Wait for writers in flight, then drop rows and data in one go. */
	r = vfs_tree_freeze(v, tree);
	if (r < 0) {
		snprintf(err, errlen, "cannot delete \"%s\": %s", name, strerror(-r));
		return r;
	}
	db_lock(db);
	r = veto ? veto(v, tree) : 0; /* under the lock every name change takes */
	if (r == 0)
		r = db_begin_essential(db);
	if (r == 0) {
		r = vfs_tree_delete_rows(v, tree);
		if (r == 0)
			r = kobj_delete(db, kind, ns, name);
		r = finish_txn(db, r);
	}
	if (r == 0)
		vfs_tree_detach(v, tree);
	db_unlock(db);
	vfs_tree_thaw(v, tree);
	if (r < 0) {
		snprintf(err, errlen, "cannot delete \"%s\": %s", name, strerror(-r));
		return r;
	}
	vfs_tree_drop_data(v, tree);
	vfs_reclaim_kick(v);
	return 0;
}

int volume_pv_delete(struct vfs *v, const char *name, char *err, size_t errlen)
{
	int r = volume_delete_object_tree(v, KIND_PV, "", name, err, errlen);
	if (r == -ENOENT)
		return not_found(name, err, errlen);
	if (r == 0)
		vfs_invalidate_name(v, VINO_PV, name);
	return r;
}


int volume_pv_resize(struct vfs *v, const char *name, uint64_t capacity, json_object **out,
                     char *err, size_t errlen)
{
	struct db *db = vfs_db(v);
	uint64_t tree = 0;
	db_lock(db);
	json_object *body = kobj_get(db, KIND_PV, "", name, &tree);
	int r = body ? 0 : not_found(name, err, errlen);
	struct vtree *t = r == 0 ? vfs_tree_get(v, tree) : NULL;
	uint64_t old = t ? vfs_tree_capacity(t) : 0;
	if (r == 0 && t && capacity < vfs_tree_used_bytes(t)) {
		char u[64];
		quantity_format(vfs_tree_used_bytes(t), u, sizeof u);
		snprintf(err, errlen, "cannot shrink \"%s\" below its used space (%s, %llu bytes)", name,
		         u, (unsigned long long)vfs_tree_used_bytes(t));
		r = -EBUSY;
	}
	if (r == 0)
		r = db_begin(db);
	if (r == 0) {
		set_capacity_in_body(body, capacity);
		if (tree) { /* a hostPath volume has none: its capacity is not enforced */
			sqlite3_stmt *st = db_prep(db, "UPDATE trees SET capacity=? WHERE id=?");
			sqlite3_bind_int64(st, 1, (int64_t)capacity);
			sqlite3_bind_int64(st, 2, (int64_t)tree);
			r = db_step_done(db, st);
		}
		if (r == 0)
			r = kobj_update(db, KIND_PV, "", name, body);
		if (r == 0) {
			char msg[128], a[32], b[32];
			quantity_format(old, a, sizeof a);
			quantity_format(capacity, b, sizeof b);
			snprintf(msg, sizeof msg, "capacity changed from %s to %s", a, b);
			event_add(db, KIND_PV, "", name, "Normal", "Resized", msg);
		}
		r = finish_txn(db, r);
		if (r == 0 && tree)
			r = vfs_tree_set_capacity(v, tree, capacity);
		if (r < 0)
			snprintf(err, errlen, "cannot resize \"%s\": %s", name, strerror(-r));
	}
	db_unlock(db);
	if (r < 0) {
		json_object_put(body);
		return r;
	}
	*out = body;
	return 0;
}

int volume_pv_get(struct vfs *v, const char *name, json_object **items, char *err, size_t errlen)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	if (!name) {
		*items = kobj_list(db, KIND_PV, NULL);
		db_unlock(db);
		if (!*items)
			snprintf(err, errlen, "cannot read the persistentvolumes");
		return *items ? 0 : -EIO;
	}
	json_object *o = kobj_get(db, KIND_PV, "", name, NULL);
	db_unlock(db);
	if (!o)
		return not_found(name, err, errlen);
	*items = json_object_new_array();
	json_object_array_add(*items, o);
	return 0;
}

json_object *usage_of(struct vfs *v, uint64_t tree)
{
	struct vtree *t = vfs_tree_get(v, tree);
	uint64_t cap = t ? vfs_tree_capacity(t) : 0, used = t ? vfs_tree_used_bytes(t) : 0;
	json_object *u = json_object_new_object();
	json_object_object_add(u, "capacity", json_object_new_int64((int64_t)cap));
	json_object_object_add(u, "used", json_object_new_int64((int64_t)used));
	json_object_object_add(u, "available", json_object_new_int64(t ? (int64_t)vfs_tree_available_bytes(v, t) : 0));
	json_object_object_add(u, "snapshotBytes", json_object_new_int64(0));
	return u;
}

int volume_pv_describe(struct vfs *v, const char *name, json_object **out, char *err,
                       size_t errlen)
{
	struct db *db = vfs_db(v);
	uint64_t tree = 0;
	db_lock(db);
	json_object *o = kobj_get(db, KIND_PV, "", name, &tree);
	json_object *events = o ? event_list(db, KIND_PV, "", name) : NULL;
	db_unlock(db);
	if (!o)
		return not_found(name, err, errlen);
	*out = json_object_new_object();
	json_object_object_add(*out, "object", o);
	json_object_object_add(*out, "events", events);
	if (tree) /* a hostPath volume's space is the host's */
		json_object_object_add(*out, "usage", usage_of(v, tree));
	return 0;
}

json_object *volume_reclaim_pending(struct vfs *v)
{
	uint64_t lineages = 0, rows = 0;
	vfs_reclaim_pending(v, &lineages, &rows);
	json_object *o = json_object_new_object();
	json_object_object_add(o, "lineages", json_object_new_int64((int64_t)lineages));
	json_object_object_add(o, "rows", json_object_new_int64((int64_t)rows));
	return o;
}
