/*
 * fs/control/controller.c — the controllers of volfs, in one loop: what
 * Kubernetes' persistent-volume controller, external provisioner and
 * resizer, snapshot controller, namespace controller and quota controller
 * do, on this machine (pods and StatefulSets: fs/control/pods.c). The API server (fs/control/api.c) only stores what users
 * ask for; this file makes it true: it binds claims to volumes, provisions
 * volumes (empty, or from a snapshot or another claim), expands them,
 * reclaims released ones by their policy, takes snapshots (on schedule:
 * fs/control/schedules.c), finishes
 * deletions, and keeps ResourceQuota usage.
 *
 * Every step is its own transaction and every decision is taken again
 * from the stored objects, so a crash between two steps is finished by the
 * next run (the daemon runs the loop at start-up). The decisions that are
 * pure rules (which volume fits a claim, quota arithmetic) live in meta/.
 * Runs only under the control socket's lock (one request at a time),
 * so it is the single writer of objects.
 */
#include "fs/control/controller.h"
#include "fs/control/controller_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs/control/hostpath.h"
#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/binding.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/log.h"
#include "meta/objects.h"
#include "meta/pod.h"
#include "meta/quantity.h"
#include "meta/quota.h"

#define MAX_PASSES 16
#define GONE "volfs:gone" /* marks an object removed during this pass */


/* Each list a page at a time (obj_list_paged): the controllers are the
 * only writers of objects, and the data path must not wait for a pass. */
static void world_load(struct ctl *c)
{
	struct { json_object **list; const char *kind; } kinds[] = {
		{&c->classes, "StorageClass"}, {&c->pvs, "PersistentVolume"},
		{&c->pvcs, "PersistentVolumeClaim"}, {&c->vsclasses, "VolumeSnapshotClass"},
		{&c->vss, "VolumeSnapshot"}, {&c->vscs, "VolumeSnapshotContent"},
		{&c->quotas, "ResourceQuota"}, {&c->namespaces, "Namespace"}, {&c->pods, "Pod"},
		{&c->stss, "StatefulSet"}, {&c->configmaps, "ConfigMap"}, {&c->secrets, "Secret"},
		{&c->schedules, "SnapshotSchedule"},
		{&c->deploys, "Deployment"},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		*kinds[i].list = obj_list_paged(c->db, kinds[i].kind);
}

static void world_free(struct ctl *c)
{
	json_object *all[] = {c->classes, c->pvs, c->pvcs, c->vsclasses, c->vss, c->vscs, c->quotas,
	                      c->namespaces, c->pods, c->stss, c->configmaps, c->secrets,
	                      c->schedules, c->free_pvs, c->prebound, c->deploys};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		json_object_put(all[i]);
	c->free_pvs = c->prebound = NULL;
}

/* --- small helpers --- */

const char *ctl_kind_of(json_object *o) { return k8s_str(o, "kind"); }
const char *ctl_name_of(json_object *o) { return k8s_str(o, "metadata.name"); }

const char *ctl_ns_of(json_object *o)
{
	const char *ns = k8s_str(o, "metadata.namespace");
	return ns ? ns : "";
}

int ctl_is_gone(json_object *o)
{
	return json_object_object_get_ex(o, GONE, NULL);
}

void ctl_mark_gone(json_object *o)
{
	json_object_object_add(o, GONE, json_object_new_boolean(1));
}

int ctl_deleting(json_object *o)
{
	return k8s_get(o, "metadata.deletionTimestamp") != NULL;
}

void ctl_event(struct ctl *c, json_object *o, const char *type, const char *reason,
                  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	db_lock(c->db);
	event_add(c->db, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o), type, reason, msg);
	db_unlock(c->db);
}

/* Store o if it differs from before (its state when the step began). */
int ctl_save_if_changed(struct ctl *c, json_object *before, json_object *o)
{
	int changed = !ctl_is_gone(o) && !json_object_equal(before, o);
	if (changed) {
		db_lock(c->db);
		int r = db_begin(c->db);
		if (r == 0)
			r = finish_txn(c->db, obj_update(c->db, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o), o));
		db_unlock(c->db);
		if (r < 0) {
			char object[600];
			vlog_object_name(object, sizeof object, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o));
			vlog_error(object, "cannot store the object: %s", strerror(-r));
		}
	}
	json_object_put(before);
	return changed;
}

int ctl_remove_object(struct ctl *c, json_object *o)
{
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, obj_delete(c->db, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o)));
	db_unlock(c->db);
	if (r == 0)
		ctl_mark_gone(o);
	return r == 0;
}

int ctl_set_str(json_object *o, const char *path, const char *s)
{
	const char *cur = k8s_str(o, path);
	if (cur && !strcmp(cur, s))
		return 0;
	k8s_set_str(o, path, s);
	return 1;
}

/* Annotation keys hold dots, so they cannot go through a dotted path. */
static void annotate(json_object *o, const char *key, const char *value)
{
	json_object_object_add(k8s_obj(o, "metadata.annotations"), key, json_object_new_string(value));
}

json_object *ctl_copy(json_object *o)
{
	json_object *c = NULL;
	json_object_deep_copy(o, &c, NULL);
	return c;
}

/* --- volumes --- */

static uint64_t tree_of_pv(struct ctl *c, const char *name)
{
	return volume_pv_tree(c->v, name);
}

/* A volume stored by apply gets its (empty) tree here. */
static int make_volume_tree(struct ctl *c, json_object *pv)
{
	char err[256] = "";
	uint64_t cap = k8s_bytes(pv, "spec.capacity.storage"), tree = 0;
	if (cap < STORE_BLOCK)
		cap = STORE_BLOCK;
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0) {
		r = vfs_tree_create_rows(c->v, "volume", cap, 0, &tree);
		if (r == 0)
			r = volume_apply_inode_limit(c->v, pv, tree, err, sizeof err);
		if (r == 0)
			r = obj_set_tree(c->db, "PersistentVolume", "", ctl_name_of(pv), tree);
		r = finish_txn(c->db, r);
	}
	if (r == 0)
		r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
	db_unlock(c->db);
	if (r < 0)
		ctl_event(c, pv, "Warning", "VolumeFailedCreate", "cannot create the volume: %s",
		          *err ? err : strerror(-r));
	else
		vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	return r == 0;
}

/* spec.capacity changed by apply (or by an expansion): follow it. */
static void follow_capacity(struct ctl *c, json_object *pv, uint64_t tree)
{
	struct vtree *t = vfs_tree_get(c->v, tree);
	uint64_t want = k8s_bytes(pv, "spec.capacity.storage");
	if (!t || !want || want == vfs_tree_capacity(t))
		return;
	char err[512];
	json_object *out = NULL;
	if (volume_pv_resize(c->v, ctl_name_of(pv), want, &out, err, sizeof err) < 0)
		ctl_event(c, pv, "Warning", "VolumeResizeFailed", "%s", err);
	json_object_put(out);
}

static json_object *claim_of_pv(struct ctl *c, json_object *pv)
{
	const char *ns = k8s_str(pv, "spec.claimRef.namespace");
	return ctl_find(c->pvcs, ns ? ns : "default", k8s_str(pv, "spec.claimRef.name"));
}

static int claim_ref_uid_matches(json_object *pv, json_object *pvc)
{
	const char *uid = k8s_str(pv, "spec.claimRef.uid");
	return !uid || !*uid || !strcmp(uid, k8s_str(pvc, "metadata.uid"));
}

/* A hostPath volume's data is the host's: volfs never deletes it (the
 * hostPath deleter of Kubernetes would only do it under /tmp). The
 * volume's events go with it, so the daemon's log says so. */
static void keep_host_data(json_object *pv)
{
	const char *at = k8s_str(pv, "status.hostPath");
	at = at ? at : hostpath_of_pv(pv);
	char object[300];
	vlog_object_name(object, sizeof object, KIND_PV, "", ctl_name_of(pv));
	vlog_info(object, "persistentvolume %s deleted; its data on the host at %s stays", ctl_name_of(pv), at);
}

static int delete_volume(struct ctl *c, json_object *pv)
{
	char err[512];
	if (hostpath_of_pv(pv))
		keep_host_data(pv);
	int r = volume_pv_delete(c->v, ctl_name_of(pv), err, sizeof err);
	if (r < 0 && r != -ENOENT) {
		ctl_event(c, pv, "Warning", "VolumeFailedDelete", "%s", err);
		k8s_set_str(pv, "status.phase", "Failed");
		k8s_set_str(pv, "status.message", err);
		return 0;
	}
	ctl_mark_gone(pv);
	return 1;
}

/* Recycle: the deprecated policy, done as kubelet's scrubber did: the data
 * goes (the volume gets a new, empty tree) and the volume is Available. */
static int recycle_volume(struct ctl *c, json_object *pv)
{
	if (hostpath_of_pv(pv)) {
		ctl_set_str(pv, "status.phase", "Failed");
		if (ctl_set_str(pv, "status.message", "volfs does not scrub hostPath volumes"))
			ctl_event(c, pv, "Warning", "VolumeFailedRecycle", "volfs does not scrub hostPath "
			          "volumes: the data on the host at %s is left as it is",
			          hostpath_of_pv(pv));
		return 0;
	}
	uint64_t old = tree_of_pv(c, ctl_name_of(pv)), tree = 0;
	uint64_t cap = k8s_bytes(pv, "spec.capacity.storage");
	char err[256] = "";
	int r = old ? vfs_tree_freeze(c->v, old) : -ENOENT;
	if (r == 0) {
		db_lock(c->db);
		r = db_begin(c->db);
		if (r == 0) {
			r = vfs_tree_delete_rows(c->v, old);
			if (r == 0)
				r = vfs_tree_create_rows(c->v, "volume", cap, 0, &tree);
			if (r == 0)
				r = volume_apply_inode_limit(c->v, pv, tree, err, sizeof err);
			if (r == 0)
				r = obj_set_tree(c->db, "PersistentVolume", "", ctl_name_of(pv), tree);
			r = finish_txn(c->db, r);
		}
		if (r == 0) {
			vfs_tree_detach(c->v, old);
			r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
		}
		db_unlock(c->db);
		vfs_tree_thaw(c->v, old);
	}
	if (r < 0) {
		ctl_event(c, pv, "Warning", "VolumeFailedRecycle", "cannot scrub the volume: %s", strerror(-r));
		k8s_set_str(pv, "status.phase", "Failed");
		return 0;
	}
	vfs_tree_drop_data(c->v, old); /* and the kernel's pages of it */
	vfs_reclaim(c->v, VFS_RECLAIM_INLINE);
	vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	ctl_event(c, pv, "Warning", "RecyclerPod", "Recycle reclaim policy is deprecated; use dynamic "
	      "provisioning instead. Volume data scrubbed");
	json_object_object_del(k8s_get(pv, "spec"), "claimRef");
	k8s_set_str(pv, "status.phase", "Available");
	return 1;
}

/* The claim it was bound to is gone: apply the reclaim policy. */
static int reclaim_volume(struct ctl *c, json_object *pv)
{
	const char *policy = k8s_str(pv, "spec.persistentVolumeReclaimPolicy");
	ctl_set_str(pv, "status.phase", "Released");
	if (policy && !strcmp(policy, "Delete"))
		return delete_volume(c, pv);
	if (policy && !strcmp(policy, "Recycle"))
		return recycle_volume(c, pv);
	return 0;
}

/* A hostPath volume is set up as kubelet sets one up when it mounts it
 * (allow-list, type check, DirectoryOrCreate/FileOrCreate): the first
 * time, and again at start-up. MOUNT/pv/<name> links to status.hostPath.
 * Until it is set up an unbound volume stays Pending (no claim binds to
 * it), with the cause in status.message and a Warning event. */
static int host_volume_ready(struct ctl *c, json_object *pv)
{
	char resolved[PATH_MAX], err[1536];
	struct hostpath_made made;
	const char *phase = k8s_str(pv, "status.phase");
	if (k8s_str(pv, "status.hostPath") && !c->startup)
		return 1;
	int r = hostpath_prepare(hostpath_of_pv(pv), hostpath_type_of_pv(pv), &made, resolved,
	                         sizeof resolved, err, sizeof err);
	json_object *status = k8s_obj(pv, "status");
	vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	if (r < 0) {
		json_object_object_del(status, "hostPath");
		if (!phase || !strcmp(phase, "Pending") || !strcmp(phase, "Available"))
			ctl_set_str(pv, "status.phase", "Pending");
		if (ctl_set_str(pv, "status.message", err))
			ctl_event(c, pv, "Warning", "HostPathFailed", "%s", err);
		return 0;
	}
	ctl_set_str(pv, "status.hostPath", resolved);
	if (!phase || strcmp(phase, "Failed"))
		json_object_object_del(status, "message");
	return 1;
}

static int volume_step(struct ctl *c, json_object *pv)
{
	json_object *pvc = claim_of_pv(c, pv);
	int bound = pvc && claim_ref_uid_matches(pv, pvc) &&
	            !strcmp(k8s_str(pvc, "spec.volumeName") ? k8s_str(pvc, "spec.volumeName") : "",
	                    ctl_name_of(pv));
	if (ctl_deleting(pv))
		return bound ? 0 : delete_volume(c, pv); /* kubernetes.io/pv-protection */
	if (hostpath_of_pv(pv)) {
		if (!host_volume_ready(c, pv))
			return 0;
	} else {
		uint64_t tree = tree_of_pv(c, ctl_name_of(pv));
		if (!tree)
			return make_volume_tree(c, pv);
		follow_capacity(c, pv, tree);
	}
	const char *phase = k8s_str(pv, "status.phase");
	if (phase && !strcmp(phase, "Failed"))
		return 0;
	if (!k8s_get(pv, "spec.claimRef")) {
		ctl_set_str(pv, "status.phase", "Available");
		return 0;
	}
	if (bound) {
		ctl_set_str(pv, "status.phase", "Bound");
		return 0;
	}
	const char *uid = k8s_str(pv, "spec.claimRef.uid");
	if ((pvc && claim_ref_uid_matches(pv, pvc)) || !uid || !*uid) {
		ctl_set_str(pv, "status.phase", "Available"); /* pre-bound, waiting for its claim */
		return 0;
	}
	return reclaim_volume(c, pv);
}

/* --- claims --- */

static const char *request_of(json_object *pvc)
{
	return k8s_str(pvc, "spec.resources.requests.storage");
}

static void bind(struct ctl *c, json_object *pv, json_object *pvc)
{
	json_object *pv_before = ctl_copy(pv);
	json_object *ref = json_object_new_object();
	json_object_object_add(ref, "kind", json_object_new_string("PersistentVolumeClaim"));
	json_object_object_add(ref, "namespace", json_object_new_string(ctl_ns_of(pvc)));
	json_object_object_add(ref, "name", json_object_new_string(ctl_name_of(pvc)));
	json_object_object_add(ref, "uid", json_object_new_string(k8s_str(pvc, "metadata.uid")));
	json_object_object_add(ref, "apiVersion", json_object_new_string("v1"));
	if (!k8s_get(pv, "spec.claimRef"))
		annotate(pv, "pv.kubernetes.io/bound-by-controller", "yes");
	k8s_set(pv, "spec.claimRef", ref);
	k8s_set_str(pv, "status.phase", "Bound");
	/* The volume first: a crash here leaves it pre-bound to the claim,
	 * and the next run completes the claim's side. */
	ctl_save_if_changed(c, pv_before, pv);
	k8s_set_str(pvc, "spec.volumeName", ctl_name_of(pv));
	annotate(pvc, "pv.kubernetes.io/bind-completed", "yes");
	annotate(pvc, "pv.kubernetes.io/bound-by-controller", "yes");
	ctl_event(c, pvc, "Normal", "Bound", "bound to volume %s", ctl_name_of(pv));
}

/* A bound claim shows its volume's phase, modes and full capacity. */
static void show_binding(json_object *pvc, json_object *pv)
{
	ctl_set_str(pvc, "status.phase", "Bound");
	k8s_set(pvc, "status.accessModes", ctl_copy(k8s_get(pv, "spec.accessModes")));
	ctl_set_str(pvc, "status.capacity.storage", k8s_str(pv, "spec.capacity.storage"));
}

/* Online expansion: the request grew past the volume. Admission has
 * checked the class allows it. */
static void expand(struct ctl *c, json_object *pvc, json_object *pv)
{
	uint64_t want = k8s_bytes(pvc, "spec.resources.requests.storage");
	uint64_t have = k8s_bytes(pv, "spec.capacity.storage");
	if (want <= have)
		return;
	want = (want + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	char err[512];
	json_object *out = NULL;
	if (volume_pv_resize(c->v, ctl_name_of(pv), want, &out, err, sizeof err) < 0) {
		ctl_event(c, pvc, "Warning", "VolumeResizeFailed", "%s", err);
		return;
	}
	k8s_set(pv, "spec", ctl_copy(k8s_get(out, "spec")));
	json_object_put(out);
	ctl_event(c, pvc, "Normal", "VolumeResizeSuccessful", "volume %s expanded to %s", ctl_name_of(pv),
	      request_of(pvc));
}

static json_object *class_named(struct ctl *c, const char *cls)
{
	return cls && *cls ? ctl_find(c->classes, NULL, cls) : NULL;
}

/* A string member whose key may hold dots (an annotation's), or NULL. */
static const char *key_str(json_object *map, const char *key)
{
	json_object *v = NULL;
	if (!map || !json_object_object_get_ex(map, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

/* The PersistentVolume a provisioner makes for a claim. */
static json_object *provisioned_body(json_object *pvc, json_object *sc, uint64_t bytes)
{
	json_object *pv = json_object_new_object();
	char q[64];
	quantity_format(bytes, q, sizeof q);
	k8s_set_str(pv, "apiVersion", "v1");
	k8s_set_str(pv, "kind", "PersistentVolume");
	annotate(pv, "pv.kubernetes.io/provisioned-by", K8S_PROVISIONER);
	/* The claim's own inode limit, else its class's. */
	const char *inodes = key_str(k8s_get(pvc, "metadata.annotations"), VOLUME_INODES_ANNOTATION);
	if (!inodes)
		inodes = key_str(k8s_get(sc, "parameters"), "inodes");
	if (inodes)
		annotate(pv, VOLUME_INODES_ANNOTATION, inodes);
	k8s_set_str(pv, "spec.capacity.storage", q);
	k8s_set(pv, "spec.accessModes", ctl_copy(k8s_get(pvc, "spec.accessModes")));
	const char *policy = k8s_str(sc, "reclaimPolicy");
	k8s_set_str(pv, "spec.persistentVolumeReclaimPolicy", policy ? policy : "Delete");
	k8s_set_str(pv, "spec.storageClassName", ctl_name_of(sc));
	k8s_set_str(pv, "spec.volumeMode", "Filesystem");
	if (k8s_get(sc, "mountOptions"))
		k8s_set(pv, "spec.mountOptions", ctl_copy(k8s_get(sc, "mountOptions")));
	k8s_set_str(pv, "spec.claimRef.kind", "PersistentVolumeClaim");
	k8s_set_str(pv, "spec.claimRef.namespace", ctl_ns_of(pvc));
	k8s_set_str(pv, "spec.claimRef.name", ctl_name_of(pvc));
	k8s_set_str(pv, "spec.claimRef.uid", k8s_str(pvc, "metadata.uid"));
	k8s_set_str(pv, "spec.claimRef.apiVersion", "v1");
	k8s_set_str(pv, "status.phase", "Available");
	return pv;
}

static json_object *data_source(json_object *pvc)
{
	json_object *ds = k8s_get(pvc, "spec.dataSourceRef");
	return ds ? ds : k8s_get(pvc, "spec.dataSource");
}

/* Make the volume's tree from the claim's data source (or empty). 0, or
 * a negative errno with the reason in err; -EAGAIN: the source is not
 * ready yet. */
static int provision_tree(struct ctl *c, json_object *pvc, const char *pvname, uint64_t bytes,
                          json_object *body, char *err, size_t errlen)
{
	json_object *ds = data_source(pvc), *out = NULL;
	const char *kind = ds ? k8s_str(ds, "kind") : NULL, *src = ds ? k8s_str(ds, "name") : NULL;
	char event_msg[320];
	int r;
	if (!ds) {
		snprintf(event_msg, sizeof event_msg, "provisioned for claim %s/%s", ctl_ns_of(pvc), ctl_name_of(pvc));
		r = volume_pv_create_with(c->v, pvname, bytes, volume_make_empty_tree, NULL, body,
		                          event_msg, &out, err, errlen);
	} else if (!strcmp(kind, "VolumeSnapshot")) {
		json_object *vs = ctl_find(c->vss, ctl_ns_of(pvc), src);
		json_object *ready = vs ? k8s_get(vs, "status.readyToUse") : NULL;
		if (!ready || !json_object_get_boolean(ready)) {
			snprintf(err, errlen, "volumesnapshot \"%s\" is %s", src, vs ? "not ready to use" : "not found");
			return -EAGAIN;
		}
		if (k8s_bytes(vs, "status.restoreSize") > bytes) {
			snprintf(err, errlen, "requested volume size %s is less than the size %s of the source "
			         "snapshot %s", request_of(pvc), k8s_str(vs, "status.restoreSize"), src);
			return -EINVAL;
		}
		r = volume_restore(c->v, ctl_ns_of(pvc), src, pvname, bytes, body, &out, err, errlen);
	} else {
		json_object *from = ctl_find(c->pvcs, ctl_ns_of(pvc), src);
		const char *srcpv = from ? k8s_str(from, "spec.volumeName") : NULL;
		const char *phase = from ? k8s_str(from, "status.phase") : NULL;
		if (!srcpv || !phase || strcmp(phase, "Bound")) {
			snprintf(err, errlen, "source claim \"%s\" is %s", src, from ? "not bound" : "not found");
			return -EAGAIN;
		}
		if (k8s_bytes(from, "status.capacity.storage") > bytes) {
			snprintf(err, errlen, "requested volume size %s is less than the size %s of the source "
			         "claim %s", request_of(pvc), k8s_str(from, "status.capacity.storage"), src);
			return -EINVAL;
		}
		r = volume_clone(c->v, srcpv, pvname, bytes, body, &out, err, errlen);
	}
	json_object_put(out);
	return r;
}

static int provision(struct ctl *c, json_object *pvc, json_object *sc)
{
	char pvname[64];
	snprintf(pvname, sizeof pvname, "pvc-%s", k8s_str(pvc, "metadata.uid"));
	uint64_t bytes = k8s_bytes(pvc, "spec.resources.requests.storage");
	bytes = (bytes + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	json_object *body = provisioned_body(pvc, sc, bytes);
	char err[512] = "";
	int r = provision_tree(c, pvc, pvname, bytes, body, err, sizeof err);
	if (r < 0) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": %s", ctl_name_of(sc), err);
		json_object_put(body);
		return 0;
	}
	ctl_event(c, pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s", pvname);
	json_object_array_add(c->pvs, body); /* the next pass binds them */
	return 1;
}

int ctl_running(json_object *pod)
{
	const char *phase = k8s_str(pod, "status.phase");
	return phase && !strcmp(phase, "Running");
}

/* A live pod of the claim's namespace that uses it, other than `except`;
 * with running_only, one that has its volumes (Kubernetes counts only
 * scheduled pods as users: a Pending pod does not hold a claim). */
json_object *ctl_claim_user(struct ctl *c, json_object *pvc, const char *except, int running_only)
{
	for (size_t i = 0; i < json_object_array_length(c->pods); i++) {
		json_object *pod = json_object_array_get_idx(c->pods, i);
		if (!ctl_is_gone(pod) && !ctl_deleting(pod) && !strcmp(ctl_ns_of(pod), ctl_ns_of(pvc)) &&
		    (!except || strcmp(ctl_name_of(pod), except)) && (!running_only || ctl_running(pod)) &&
		    pod_uses_claim(pod, ctl_name_of(pvc), NULL))
			return pod;
	}
	return NULL;
}

/* volumeBindingMode WaitForFirstConsumer: neither binding nor provisioning
 * until a pod uses the claim. */
static int waits_for_consumer(struct ctl *c, json_object *pvc, const char *cls)
{
	json_object *sc = class_named(c, cls);
	const char *mode = sc ? k8s_str(sc, "volumeBindingMode") : NULL;
	return mode && !strcmp(mode, "WaitForFirstConsumer") && !ctl_claim_user(c, pvc, NULL, 0);
}

/* No volume fits: provision one, or say why the claim waits. */
static int claim_unmatched(struct ctl *c, json_object *pvc, const char *cls, const char *why)
{
	json_object *sc = class_named(c, cls);
	if (!cls || !*cls) {
		ctl_event(c, pvc, "Normal", "FailedBinding", "%s", why && *why ? why :
		      "no persistent volumes available for this claim and no storage class is set");
		return 0;
	}
	if (!sc) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"%s\" not "
		      "found%s%s", cls, *why ? "; " : "", why);
		return 0;
	}
	if (waits_for_consumer(c, pvc, cls)) {
		ctl_event(c, pvc, "Normal", "WaitForFirstConsumer",
		      "waiting for first consumer to be created before binding");
		return 0;
	}
	const char *prov = k8s_str(sc, "provisioner");
	if (!prov || strcmp(prov, K8S_PROVISIONER)) {
		ctl_event(c, pvc, "Normal", "ExternalProvisioning", "Waiting for a volume to be created either "
		      "by the external provisioner '%s' or manually by the system administrator. volfs "
		      "provisions only for '%s'", prov ? prov : "", K8S_PROVISIONER);
		return 0;
	}
	if (k8s_get(pvc, "spec.selector")) {
		ctl_event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": claim Selector is not supported", cls);
		return 0;
	}
	return provision(c, pvc, sc);
}

/* The volumes to look through for a claim (a new reference). For a claim
 * that names none, of a class volfs provisions for, only those it could
 * bind: the rest are bound to other claims, which only a FailedBinding
 * message (never sent for such a class) lists, and looking at each of
 * them for every new claim made an apply quadratic in claims. */
static json_object *claim_volumes(struct ctl *c, json_object *pvc, const char *cls,
                                  const char *volname)
{
	json_object *sc = class_named(c, cls);
	const char *prov = sc ? k8s_str(sc, "provisioner") : NULL;
	if (volname || !prov || strcmp(prov, K8S_PROVISIONER))
		return json_object_get(c->pvs);
	return ctl_claim_candidates(c, pvc);
}

static int claim_step(struct ctl *c, json_object *pvc)
{
	if (ctl_deleting(pvc)) /* kubernetes.io/pvc-protection: not while a pod uses it */
		return ctl_claim_user(c, pvc, NULL, 1) ? 0 : ctl_remove_object(c, pvc);
	const char *volname = k8s_str(pvc, "spec.volumeName");
	json_object *pv = volname ? ctl_find(c->pvs, NULL, volname) : NULL;
	if (pv && binding_pv_is_for_claim(pv, pvc) && claim_ref_uid_matches(pv, pvc) &&
	    k8s_str(pv, "spec.claimRef.uid")) {
		show_binding(pvc, pv);
		expand(c, pvc, pv);
		show_binding(pvc, pv);
		return 0;
	}
	const char *phase = k8s_str(pvc, "status.phase");
	if (phase && !strcmp(phase, "Bound")) { /* its volume went, or went to another claim */
		ctl_set_str(pvc, "status.phase", "Lost");
		ctl_event(c, pvc, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on "
		      "the volume is lost!");
		return 0;
	}
	if (phase && !strcmp(phase, "Lost"))
		return 0;
	ctl_set_str(pvc, "status.phase", "Pending");
	const char *cls = binding_claim_class(pvc, c->classes);
	char why[512] = "";
	json_object *pvs = claim_volumes(c, pvc, cls, volname);
	json_object *match = waits_for_consumer(c, pvc, cls) && !volname ? NULL
	                     : binding_find_volume(pvs, pvc, cls, why, sizeof why);
	json_object_put(pvs);
	if (match && !ctl_is_gone(match)) {
		bind(c, match, pvc);
		show_binding(pvc, match);
		return 1;
	}
	if (volname) {
		ctl_event(c, pvc, "Warning", "FailedBinding", "%s", why);
		return 0;
	}
	return claim_unmatched(c, pvc, cls, why);
}

/* --- snapshots --- */

static json_object *snapshot_class(struct ctl *c, json_object *vs)
{
	return ctl_find(c->vsclasses, NULL, k8s_str(vs, "spec.volumeSnapshotClassName"));
}

static int take_snapshot(struct ctl *c, json_object *vs)
{
	const char *claim = k8s_str(vs, "spec.source.persistentVolumeClaimName");
	const char *bare = k8s_str(vs, "spec.source.persistentVolumeName");
	json_object *pvc = claim ? ctl_find(c->pvcs, ctl_ns_of(vs), claim) : NULL, *cls = snapshot_class(c, vs);
	const char *pv = pvc ? k8s_str(pvc, "spec.volumeName") : NULL;
	const char *phase = pvc ? k8s_str(pvc, "status.phase") : NULL;
	if (bare) { /* a snapshot of a bare volume: the volume itself is the source */
		pv = ctl_find(c->pvs, NULL, bare) ? bare : NULL;
		phase = "Bound";
		claim = bare;
	}
	const char *driver = cls ? k8s_str(cls, "driver") : NULL;
	if (k8s_str(vs, "spec.volumeSnapshotClassName") && (!driver || strcmp(driver, K8S_PROVISIONER))) {
		ctl_event(c, vs, "Warning", "SnapshotPending", "volumesnapshotclass \"%s\" %s",
		      k8s_str(vs, "spec.volumeSnapshotClassName"),
		      cls ? "names a driver volfs does not serve" : "not found");
		return 0;
	}
	if (!pv || !phase || strcmp(phase, "Bound")) {
		ctl_event(c, vs, "Warning", "SnapshotPending", "the source %s \"%s\" is %s", bare ? "volume" : "claim",
		      claim, pvc ? "not bound yet" : "not found");
		return 0;
	}
	if (hostpath_of_pv(ctl_find(c->pvs, NULL, pv))) {
		if (ctl_set_str(vs, "status.error.message", "the source claim's volume is a hostPath volume"))
			ctl_event(c, vs, "Warning", "SnapshotFailed", "cannot snapshot claim \"%s\": its "
			          "volume %s is a hostPath volume (its data is on the host, outside volfs)",
			          claim, pv);
		return 0;
	}
	char err[512];
	json_object *out = NULL;
	int r = snapshot_create(c->v, pv, ctl_ns_of(vs), ctl_name_of(vs), vs, &out, err, sizeof err);
	if (r < 0) {
		ctl_event(c, vs, "Warning", "SnapshotFailed", "%s", err);
		return 0;
	}
	k8s_set(vs, "status", ctl_copy(k8s_get(out, "status")));
	json_object_put(out);
	vfs_invalidate_snapshot(c->v, ctl_ns_of(vs), ctl_name_of(vs));
	return 1;
}

/* deletionPolicy Retain: the data outlives the VolumeSnapshot as a
 * VolumeSnapshotContent, as with a CSI driver. */
static int retain_snapshot_content(struct ctl *c, json_object *vs, json_object *cls)
{
	char name[80];
	snprintf(name, sizeof name, "snapcontent-%s", k8s_str(vs, "metadata.uid"));
	json_object *vsc = json_object_new_object();
	k8s_set_str(vsc, "apiVersion", "snapshot.storage.k8s.io/v1");
	k8s_set_str(vsc, "kind", "VolumeSnapshotContent");
	k8s_set(vsc, "metadata", ctl_copy(k8s_get(vs, "metadata")));
	k8s_set_str(vsc, "metadata.name", name);
	json_object_object_del(k8s_get(vsc, "metadata"), "namespace");
	json_object_object_del(k8s_get(vsc, "metadata"), "deletionTimestamp");
	k8s_set_str(vsc, "spec.deletionPolicy", "Retain");
	k8s_set_str(vsc, "spec.driver", k8s_str(cls, "driver"));
	k8s_set_str(vsc, "spec.volumeSnapshotClassName", ctl_name_of(cls));
	k8s_set_str(vsc, "spec.source.snapshotHandle", k8s_str(vs, "metadata.uid"));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.kind", "VolumeSnapshot");
	k8s_set_str(vsc, "spec.volumeSnapshotRef.namespace", ctl_ns_of(vs));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.name", ctl_name_of(vs));
	k8s_set(vsc, "status", ctl_copy(k8s_get(vs, "status")));
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, obj_move(c->db, "VolumeSnapshot", ctl_ns_of(vs), ctl_name_of(vs),
		                               "VolumeSnapshotContent", "", name, vsc));
	db_unlock(c->db);
	json_object_put(vsc);
	if (r < 0)
		return 0;
	vfs_invalidate_snapshot(c->v, ctl_ns_of(vs), ctl_name_of(vs));
	ctl_mark_gone(vs);
	return 1;
}

static int delete_snapshot(struct ctl *c, json_object *vs)
{
	json_object *cls = snapshot_class(c, vs);
	const char *policy = cls ? k8s_str(cls, "deletionPolicy") : NULL;
	uint64_t tree = 0;
	db_lock(c->db);
	json_object_put(obj_get(c->db, "VolumeSnapshot", ctl_ns_of(vs), ctl_name_of(vs), &tree));
	db_unlock(c->db);
	if (!tree)
		return ctl_remove_object(c, vs);
	if (policy && !strcmp(policy, "Retain"))
		return retain_snapshot_content(c, vs, cls);
	char err[512];
	if (snapshot_delete(c->v, ctl_ns_of(vs), ctl_name_of(vs), err, sizeof err) < 0) {
		ctl_event(c, vs, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	ctl_mark_gone(vs);
	return 1;
}

static int snapshot_step(struct ctl *c, json_object *vs)
{
	if (ctl_deleting(vs))
		return delete_snapshot(c, vs);
	json_object *ready = k8s_get(vs, "status.readyToUse");
	if (ready && json_object_get_boolean(ready))
		return 0;
	if (!k8s_str(vs, "spec.source.persistentVolumeClaimName") && !k8s_str(vs, "spec.source.persistentVolumeName"))
		return 0;
	return take_snapshot(c, vs);
}

static int content_step(struct ctl *c, json_object *vsc)
{
	if (!ctl_deleting(vsc))
		return 0;
	char err[512];
	if (volume_delete_object_tree(c->v, "VolumeSnapshotContent", "", ctl_name_of(vsc), err, sizeof err) < 0) {
		ctl_event(c, vsc, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	ctl_mark_gone(vsc);
	return 1;
}

/* --- namespaces and quotas --- */

int ctl_mark_deleting(json_object *o)
{
	if (ctl_deleting(o))
		return 0;
	char ts[32];
	rfc3339(time(NULL), ts, sizeof ts);
	k8s_set_str(o, "metadata.deletionTimestamp", ts);
	return 1;
}

/* A terminating namespace empties itself, then goes. */
static int namespace_step(struct ctl *c, json_object *ns)
{
	if (!ctl_deleting(ns))
		return 0;
	const char *name = ctl_name_of(ns);
	int left = 0, changed = 0;
	json_object *lists[] = {c->pvcs, c->vss, c->pods, c->stss, c->deploys, c->quotas};
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (size_t i = 0; i < json_object_array_length(lists[l]); i++) {
			json_object *o = json_object_array_get_idx(lists[l], i);
			if (ctl_is_gone(o) || strcmp(ctl_ns_of(o), name))
				continue;
			left++;
			if (lists[l] == c->quotas)
				changed |= ctl_remove_object(c, o);
			else {
				json_object *before = ctl_copy(o);
				ctl_mark_deleting(o);
				changed |= ctl_save_if_changed(c, before, o);
			}
		}
	if (!left)
		return ctl_remove_object(c, ns);
	return changed;
}

static json_object *claims_in(struct ctl *c, const char *ns)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(c->pvcs); i++) {
		json_object *o = json_object_array_get_idx(c->pvcs, i);
		if (!ctl_is_gone(o) && !strcmp(ctl_ns_of(o), ns))
			json_object_array_add(list, json_object_get(o));
	}
	return list;
}

static int quota_step(struct ctl *c, json_object *q)
{
	json_object *claims = claims_in(c, ctl_ns_of(q));
	k8s_set(q, "status.hard", ctl_copy(k8s_get(q, "spec.hard")));
	k8s_set(q, "status.used", quota_usage(q, claims));
	json_object_put(claims);
	return 0;
}

/* --- the loop --- */

typedef int (*step_fn)(struct ctl *c, json_object *o);

/* One step per live object of a list; each object is saved if the step
 * changed it. Returns whether anything changed. */
static int sync_list(struct ctl *c, json_object *list, step_fn step)
{
	int changed = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		if (ctl_is_gone(o))
			continue;
		json_object *before = ctl_copy(o);
		changed |= step(c, o);
		changed |= ctl_save_if_changed(c, before, o);
	}
	return changed;
}

static void run_passes(struct vfs *v, int startup)
{
	struct ctl c = {.v = v, .db = vfs_db(v)};
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		c.startup = startup && pass == 0;
		world_load(&c);
		int changed = sync_list(&c, c.namespaces, namespace_step);
		changed |= sync_list(&c, c.stss, ctl_sts_step);
		changed |= sync_list(&c, c.deploys, ctl_deploy_step);
		changed |= sync_list(&c, c.pods, ctl_pod_step);
		changed |= sync_list(&c, c.pvcs, claim_step);
		changed |= sync_list(&c, c.schedules, ctl_schedule_step);
		changed |= sync_list(&c, c.pvs, volume_step);
		changed |= sync_list(&c, c.vss, snapshot_step);
		changed |= sync_list(&c, c.vscs, content_step);
		changed |= sync_list(&c, c.quotas, quota_step);
		world_free(&c);
		if (!changed)
			break;
	}
}

void controller_run(struct vfs *v)
{
	run_passes(v, 0);
}

void controller_run_startup(struct vfs *v)
{
	run_passes(v, 1);
}

static json_object *parse(const char *json)
{
	return json_tokener_parse(json);
}

/* Insert a built-in object unless one of that name exists. db locked. */
static void insert_builtin(struct db *db, const char *kind, const char *name, const char *json)
{
	json_object *have = obj_get(db, kind, "", name, NULL);
	if (!have) {
		json_object *o = parse(json);
		obj_insert(db, kind, "", name, o, 0);
		json_object_put(o);
	}
	json_object_put(have);
}

void controller_bootstrap(struct vfs *v)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "SELECT value FROM counters WHERE name='k8s_bootstrap'");
	int done = sqlite3_step(st) == SQLITE_ROW;
	db_finish(st);
	if (!done && db_begin(db) == 0) {
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
