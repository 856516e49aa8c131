/*
 * fs/controller.c — the controllers of volfs, in one loop: what
 * Kubernetes' persistent-volume controller, external provisioner and
 * resizer, snapshot controller, namespace controller and quota controller
 * do, on this machine. The API server (fs/api.c) only stores what users
 * ask for; this file makes it true: it binds claims to volumes, provisions
 * volumes (empty, or from a snapshot or another claim), expands them,
 * reclaims released ones by their policy, takes snapshots, finishes
 * deletions, and keeps ResourceQuota usage.
 *
 * Every step is its own transaction and every decision is taken again
 * from the stored objects, so a crash between two steps is finished by the
 * next run (the daemon runs the loop at start-up). The decisions that are
 * pure rules (which volume fits a claim, quota arithmetic) live in meta/.
 * Runs in the control thread only, so it is the single writer of objects.
 */
#include "fs/controller.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs/api.h"
#include "fs/snapshot.h"
#include "fs/volume.h"
#include "meta/binding.h"
#include "meta/k8s.h"
#include "meta/objects.h"
#include "meta/pod.h"
#include "meta/projection.h"
#include "meta/quantity.h"
#include "meta/quota.h"
#include "meta/statefulset.h"

#define MAX_PASSES 16
#define GONE "volfs:gone" /* marks an object removed during this pass */

struct ctl {
	struct vfs *v;
	struct db *db;
	json_object *classes, *pvs, *pvcs, *vsclasses, *vss, *vscs, *quotas, *namespaces, *pods, *stss;
	json_object *configmaps, *secrets;
};

static void world_load(struct ctl *c)
{
	db_lock(c->db);
	c->classes = obj_list(c->db, "StorageClass", NULL);
	c->pvs = obj_list(c->db, "PersistentVolume", NULL);
	c->pvcs = obj_list(c->db, "PersistentVolumeClaim", NULL);
	c->vsclasses = obj_list(c->db, "VolumeSnapshotClass", NULL);
	c->vss = obj_list(c->db, "VolumeSnapshot", NULL);
	c->vscs = obj_list(c->db, "VolumeSnapshotContent", NULL);
	c->quotas = obj_list(c->db, "ResourceQuota", NULL);
	c->namespaces = obj_list(c->db, "Namespace", NULL);
	c->pods = obj_list(c->db, "Pod", NULL);
	c->stss = obj_list(c->db, "StatefulSet", NULL);
	c->configmaps = obj_list(c->db, "ConfigMap", NULL);
	c->secrets = obj_list(c->db, "Secret", NULL);
	db_unlock(c->db);
}

static void world_free(struct ctl *c)
{
	json_object *all[] = {c->classes, c->pvs, c->pvcs, c->vsclasses, c->vss, c->vscs, c->quotas,
	                      c->namespaces, c->pods, c->stss, c->configmaps, c->secrets};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		json_object_put(all[i]);
}

/* --- small helpers --- */

static const char *kind_of(json_object *o) { return k8s_str(o, "kind"); }
static const char *name_of(json_object *o) { return k8s_str(o, "metadata.name"); }

static const char *ns_of(json_object *o)
{
	const char *ns = k8s_str(o, "metadata.namespace");
	return ns ? ns : "";
}

static int is_gone(json_object *o)
{
	return json_object_object_get_ex(o, GONE, NULL);
}

static void mark_gone(json_object *o)
{
	json_object_object_add(o, GONE, json_object_new_boolean(1));
}

static int deleting(json_object *o)
{
	return k8s_get(o, "metadata.deletionTimestamp") != NULL;
}

/* The live object named so in a list (NULL ns: cluster-scoped). */
static json_object *find(json_object *list, const char *ns, const char *name)
{
	for (size_t i = 0; name && i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		if (!is_gone(o) && !strcmp(name_of(o), name) && (!ns || !strcmp(ns_of(o), ns)))
			return o;
	}
	return NULL;
}

static void event(struct ctl *c, json_object *o, const char *type, const char *reason,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void event(struct ctl *c, json_object *o, const char *type, const char *reason,
                  const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	db_lock(c->db);
	event_add(c->db, kind_of(o), ns_of(o), name_of(o), type, reason, msg);
	db_unlock(c->db);
}

/* Store o if it differs from before (its state when the step began). */
static int save_if_changed(struct ctl *c, json_object *before, json_object *o)
{
	int changed = !is_gone(o) && !json_object_equal(before, o);
	if (changed) {
		db_lock(c->db);
		int r = db_begin(c->db);
		if (r == 0)
			r = finish_txn(c->db, obj_update(c->db, kind_of(o), ns_of(o), name_of(o), o));
		db_unlock(c->db);
		if (r < 0)
			fprintf(stderr, "volfs: cannot store %s %s: %s\n", kind_of(o), name_of(o), strerror(-r));
	}
	json_object_put(before);
	return changed;
}

static int remove_object(struct ctl *c, json_object *o)
{
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, obj_delete(c->db, kind_of(o), ns_of(o), name_of(o)));
	db_unlock(c->db);
	if (r == 0)
		mark_gone(o);
	return r == 0;
}

static int set_str(json_object *o, const char *path, const char *s)
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

static json_object *copy(json_object *o)
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
	uint64_t cap = k8s_bytes(pv, "spec.capacity.storage"), tree = 0;
	if (cap < STORE_BLOCK)
		cap = STORE_BLOCK;
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0) {
		r = vfs_tree_create_rows(c->v, "volume", cap, 0, &tree);
		if (r == 0)
			r = obj_set_tree(c->db, "PersistentVolume", "", name_of(pv), tree);
		r = finish_txn(c->db, r);
	}
	if (r == 0)
		r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
	db_unlock(c->db);
	if (r < 0)
		event(c, pv, "Warning", "VolumeFailedCreate", "cannot create the volume: %s", strerror(-r));
	else
		vfs_invalidate_name(c->v, VINO_PV, name_of(pv));
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
	if (volume_pv_resize(c->v, name_of(pv), want, &out, err, sizeof err) < 0)
		event(c, pv, "Warning", "VolumeResizeFailed", "%s", err);
	json_object_put(out);
}

static json_object *claim_of_pv(struct ctl *c, json_object *pv)
{
	const char *ns = k8s_str(pv, "spec.claimRef.namespace");
	return find(c->pvcs, ns ? ns : "default", k8s_str(pv, "spec.claimRef.name"));
}

static int claim_ref_uid_matches(json_object *pv, json_object *pvc)
{
	const char *uid = k8s_str(pv, "spec.claimRef.uid");
	return !uid || !*uid || !strcmp(uid, k8s_str(pvc, "metadata.uid"));
}

static int delete_volume(struct ctl *c, json_object *pv)
{
	char err[512];
	int r = volume_pv_delete(c->v, name_of(pv), err, sizeof err);
	if (r < 0 && r != -ENOENT) {
		event(c, pv, "Warning", "VolumeFailedDelete", "%s", err);
		k8s_set_str(pv, "status.phase", "Failed");
		k8s_set_str(pv, "status.message", err);
		return 0;
	}
	mark_gone(pv);
	return 1;
}

/* Recycle: the deprecated policy, done as kubelet's scrubber did: the data
 * goes (the volume gets a new, empty tree) and the volume is Available. */
static int recycle_volume(struct ctl *c, json_object *pv)
{
	uint64_t old = tree_of_pv(c, name_of(pv)), tree = 0;
	uint64_t cap = k8s_bytes(pv, "spec.capacity.storage");
	int r = old ? vfs_tree_freeze(c->v, old) : -ENOENT;
	if (r == 0) {
		db_lock(c->db);
		r = db_begin(c->db);
		if (r == 0) {
			r = vfs_tree_delete_rows(c->v, old);
			if (r == 0)
				r = vfs_tree_create_rows(c->v, "volume", cap, 0, &tree);
			if (r == 0)
				r = obj_set_tree(c->db, "PersistentVolume", "", name_of(pv), tree);
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
		event(c, pv, "Warning", "VolumeFailedRecycle", "cannot scrub the volume: %s", strerror(-r));
		k8s_set_str(pv, "status.phase", "Failed");
		return 0;
	}
	store_reap(vfs_store(c->v));
	vfs_invalidate_name(c->v, VINO_PV, name_of(pv));
	event(c, pv, "Warning", "RecyclerPod", "Recycle reclaim policy is deprecated; use dynamic "
	      "provisioning instead. Volume data scrubbed");
	json_object_object_del(k8s_get(pv, "spec"), "claimRef");
	k8s_set_str(pv, "status.phase", "Available");
	return 1;
}

/* The claim it was bound to is gone: apply the reclaim policy. */
static int reclaim_volume(struct ctl *c, json_object *pv)
{
	const char *policy = k8s_str(pv, "spec.persistentVolumeReclaimPolicy");
	set_str(pv, "status.phase", "Released");
	if (policy && !strcmp(policy, "Delete"))
		return delete_volume(c, pv);
	if (policy && !strcmp(policy, "Recycle"))
		return recycle_volume(c, pv);
	return 0;
}

static int volume_step(struct ctl *c, json_object *pv)
{
	json_object *pvc = claim_of_pv(c, pv);
	int bound = pvc && claim_ref_uid_matches(pv, pvc) &&
	            !strcmp(k8s_str(pvc, "spec.volumeName") ? k8s_str(pvc, "spec.volumeName") : "",
	                    name_of(pv));
	if (deleting(pv))
		return bound ? 0 : delete_volume(c, pv); /* kubernetes.io/pv-protection */
	uint64_t tree = tree_of_pv(c, name_of(pv));
	if (!tree)
		return make_volume_tree(c, pv);
	follow_capacity(c, pv, tree);
	const char *phase = k8s_str(pv, "status.phase");
	if (phase && !strcmp(phase, "Failed"))
		return 0;
	if (!k8s_get(pv, "spec.claimRef")) {
		set_str(pv, "status.phase", "Available");
		return 0;
	}
	if (bound) {
		set_str(pv, "status.phase", "Bound");
		return 0;
	}
	const char *uid = k8s_str(pv, "spec.claimRef.uid");
	if ((pvc && claim_ref_uid_matches(pv, pvc)) || !uid || !*uid) {
		set_str(pv, "status.phase", "Available"); /* pre-bound, waiting for its claim */
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
	json_object *pv_before = copy(pv);
	json_object *ref = json_object_new_object();
	json_object_object_add(ref, "kind", json_object_new_string("PersistentVolumeClaim"));
	json_object_object_add(ref, "namespace", json_object_new_string(ns_of(pvc)));
	json_object_object_add(ref, "name", json_object_new_string(name_of(pvc)));
	json_object_object_add(ref, "uid", json_object_new_string(k8s_str(pvc, "metadata.uid")));
	json_object_object_add(ref, "apiVersion", json_object_new_string("v1"));
	if (!k8s_get(pv, "spec.claimRef"))
		annotate(pv, "pv.kubernetes.io/bound-by-controller", "yes");
	k8s_set(pv, "spec.claimRef", ref);
	k8s_set_str(pv, "status.phase", "Bound");
	/* The volume first: a crash here leaves it pre-bound to the claim,
	 * and the next run completes the claim's side. */
	save_if_changed(c, pv_before, pv);
	k8s_set_str(pvc, "spec.volumeName", name_of(pv));
	annotate(pvc, "pv.kubernetes.io/bind-completed", "yes");
	annotate(pvc, "pv.kubernetes.io/bound-by-controller", "yes");
	event(c, pvc, "Normal", "Bound", "bound to volume %s", name_of(pv));
}

/* A bound claim shows its volume's phase, modes and full capacity. */
static void show_binding(json_object *pvc, json_object *pv)
{
	set_str(pvc, "status.phase", "Bound");
	k8s_set(pvc, "status.accessModes", copy(k8s_get(pv, "spec.accessModes")));
	set_str(pvc, "status.capacity.storage", k8s_str(pv, "spec.capacity.storage"));
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
	if (volume_pv_resize(c->v, name_of(pv), want, &out, err, sizeof err) < 0) {
		event(c, pvc, "Warning", "VolumeResizeFailed", "%s", err);
		return;
	}
	k8s_set(pv, "spec", copy(k8s_get(out, "spec")));
	json_object_put(out);
	event(c, pvc, "Normal", "VolumeResizeSuccessful", "volume %s expanded to %s", name_of(pv),
	      request_of(pvc));
}

static json_object *class_named(struct ctl *c, const char *cls)
{
	return cls && *cls ? find(c->classes, NULL, cls) : NULL;
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
	k8s_set_str(pv, "spec.capacity.storage", q);
	k8s_set(pv, "spec.accessModes", copy(k8s_get(pvc, "spec.accessModes")));
	const char *policy = k8s_str(sc, "reclaimPolicy");
	k8s_set_str(pv, "spec.persistentVolumeReclaimPolicy", policy ? policy : "Delete");
	k8s_set_str(pv, "spec.storageClassName", name_of(sc));
	k8s_set_str(pv, "spec.volumeMode", "Filesystem");
	if (k8s_get(sc, "mountOptions"))
		k8s_set(pv, "spec.mountOptions", copy(k8s_get(sc, "mountOptions")));
	k8s_set_str(pv, "spec.claimRef.kind", "PersistentVolumeClaim");
	k8s_set_str(pv, "spec.claimRef.namespace", ns_of(pvc));
	k8s_set_str(pv, "spec.claimRef.name", name_of(pvc));
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
		snprintf(event_msg, sizeof event_msg, "provisioned for claim %s/%s", ns_of(pvc), name_of(pvc));
		r = volume_pv_create_with(c->v, pvname, bytes, volume_make_empty_tree, NULL, body,
		                          event_msg, &out, err, errlen);
	} else if (!strcmp(kind, "VolumeSnapshot")) {
		json_object *vs = find(c->vss, ns_of(pvc), src);
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
		r = volume_restore(c->v, ns_of(pvc), src, pvname, bytes, body, &out, err, errlen);
	} else {
		json_object *from = find(c->pvcs, ns_of(pvc), src);
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
		event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": %s", name_of(sc), err);
		json_object_put(body);
		return 0;
	}
	event(c, pvc, "Normal", "ProvisioningSucceeded", "Successfully provisioned volume %s", pvname);
	json_object_array_add(c->pvs, body); /* the next pass binds them */
	return 1;
}

static int running(json_object *pod)
{
	const char *phase = k8s_str(pod, "status.phase");
	return phase && !strcmp(phase, "Running");
}

/* A live pod of the claim's namespace that uses it, other than `except`;
 * with running_only, one that has its volumes (Kubernetes counts only
 * scheduled pods as users: a Pending pod does not hold a claim). */
static json_object *claim_user(struct ctl *c, json_object *pvc, const char *except, int running_only)
{
	for (size_t i = 0; i < json_object_array_length(c->pods); i++) {
		json_object *pod = json_object_array_get_idx(c->pods, i);
		if (!is_gone(pod) && !deleting(pod) && !strcmp(ns_of(pod), ns_of(pvc)) &&
		    (!except || strcmp(name_of(pod), except)) && (!running_only || running(pod)) &&
		    pod_uses_claim(pod, name_of(pvc), NULL))
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
	return mode && !strcmp(mode, "WaitForFirstConsumer") && !claim_user(c, pvc, NULL, 0);
}

/* No volume fits: provision one, or say why the claim waits. */
static int claim_unmatched(struct ctl *c, json_object *pvc, const char *cls, const char *why)
{
	json_object *sc = class_named(c, cls);
	if (!cls || !*cls) {
		event(c, pvc, "Normal", "FailedBinding", "%s", why && *why ? why :
		      "no persistent volumes available for this claim and no storage class is set");
		return 0;
	}
	if (!sc) {
		event(c, pvc, "Warning", "ProvisioningFailed", "storageclass.storage.k8s.io \"%s\" not "
		      "found%s%s", cls, *why ? "; " : "", why);
		return 0;
	}
	if (waits_for_consumer(c, pvc, cls)) {
		event(c, pvc, "Normal", "WaitForFirstConsumer",
		      "waiting for first consumer to be created before binding");
		return 0;
	}
	const char *prov = k8s_str(sc, "provisioner");
	if (!prov || strcmp(prov, K8S_PROVISIONER)) {
		event(c, pvc, "Normal", "ExternalProvisioning", "Waiting for a volume to be created either "
		      "by the external provisioner '%s' or manually by the system administrator. volfs "
		      "provisions only for '%s'", prov ? prov : "", K8S_PROVISIONER);
		return 0;
	}
	if (k8s_get(pvc, "spec.selector")) {
		event(c, pvc, "Warning", "ProvisioningFailed", "failed to provision volume with StorageClass "
		      "\"%s\": claim Selector is not supported", cls);
		return 0;
	}
	return provision(c, pvc, sc);
}

static int claim_step(struct ctl *c, json_object *pvc)
{
	if (deleting(pvc)) /* kubernetes.io/pvc-protection: not while a pod uses it */
		return claim_user(c, pvc, NULL, 1) ? 0 : remove_object(c, pvc);
	const char *volname = k8s_str(pvc, "spec.volumeName");
	json_object *pv = volname ? find(c->pvs, NULL, volname) : NULL;
	if (pv && binding_pv_is_for_claim(pv, pvc) && claim_ref_uid_matches(pv, pvc) &&
	    k8s_str(pv, "spec.claimRef.uid")) {
		show_binding(pvc, pv);
		expand(c, pvc, pv);
		show_binding(pvc, pv);
		return 0;
	}
	const char *phase = k8s_str(pvc, "status.phase");
	if (phase && !strcmp(phase, "Bound")) { /* its volume went, or went to another claim */
		set_str(pvc, "status.phase", "Lost");
		event(c, pvc, "Warning", "ClaimLost", "Bound claim has lost its PersistentVolume. Data on "
		      "the volume is lost!");
		return 0;
	}
	if (phase && !strcmp(phase, "Lost"))
		return 0;
	set_str(pvc, "status.phase", "Pending");
	const char *cls = binding_claim_class(pvc, c->classes);
	char why[512] = "";
	json_object *match = waits_for_consumer(c, pvc, cls) && !volname ? NULL
	                     : binding_find_volume(c->pvs, pvc, cls, why, sizeof why);
	if (match && !is_gone(match)) {
		bind(c, match, pvc);
		show_binding(pvc, match);
		return 1;
	}
	if (volname) {
		event(c, pvc, "Warning", "FailedBinding", "%s", why);
		return 0;
	}
	return claim_unmatched(c, pvc, cls, why);
}

/* --- snapshots --- */

static json_object *snapshot_class(struct ctl *c, json_object *vs)
{
	return find(c->vsclasses, NULL, k8s_str(vs, "spec.volumeSnapshotClassName"));
}

static int take_snapshot(struct ctl *c, json_object *vs)
{
	const char *claim = k8s_str(vs, "spec.source.persistentVolumeClaimName");
	json_object *pvc = find(c->pvcs, ns_of(vs), claim), *cls = snapshot_class(c, vs);
	const char *pv = pvc ? k8s_str(pvc, "spec.volumeName") : NULL;
	const char *phase = pvc ? k8s_str(pvc, "status.phase") : NULL;
	const char *driver = cls ? k8s_str(cls, "driver") : NULL;
	if (k8s_str(vs, "spec.volumeSnapshotClassName") && (!driver || strcmp(driver, K8S_PROVISIONER))) {
		event(c, vs, "Warning", "SnapshotPending", "volumesnapshotclass \"%s\" %s",
		      k8s_str(vs, "spec.volumeSnapshotClassName"),
		      cls ? "names a driver volfs does not serve" : "not found");
		return 0;
	}
	if (!pv || !phase || strcmp(phase, "Bound")) {
		event(c, vs, "Warning", "SnapshotPending", "the source claim \"%s\" is %s", claim,
		      pvc ? "not bound yet" : "not found");
		return 0;
	}
	char err[512];
	json_object *out = NULL;
	int r = snapshot_create(c->v, pv, ns_of(vs), name_of(vs), vs, &out, err, sizeof err);
	if (r < 0) {
		event(c, vs, "Warning", "SnapshotFailed", "%s", err);
		return 0;
	}
	k8s_set(vs, "status", copy(k8s_get(out, "status")));
	json_object_put(out);
	vfs_invalidate_snapshot(c->v, ns_of(vs), name_of(vs));
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
	k8s_set(vsc, "metadata", copy(k8s_get(vs, "metadata")));
	k8s_set_str(vsc, "metadata.name", name);
	json_object_object_del(k8s_get(vsc, "metadata"), "namespace");
	json_object_object_del(k8s_get(vsc, "metadata"), "deletionTimestamp");
	k8s_set_str(vsc, "spec.deletionPolicy", "Retain");
	k8s_set_str(vsc, "spec.driver", k8s_str(cls, "driver"));
	k8s_set_str(vsc, "spec.volumeSnapshotClassName", name_of(cls));
	k8s_set_str(vsc, "spec.source.snapshotHandle", k8s_str(vs, "metadata.uid"));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.kind", "VolumeSnapshot");
	k8s_set_str(vsc, "spec.volumeSnapshotRef.namespace", ns_of(vs));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.name", name_of(vs));
	k8s_set(vsc, "status", copy(k8s_get(vs, "status")));
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, obj_move(c->db, "VolumeSnapshot", ns_of(vs), name_of(vs),
		                               "VolumeSnapshotContent", "", name, vsc));
	db_unlock(c->db);
	json_object_put(vsc);
	if (r < 0)
		return 0;
	vfs_invalidate_snapshot(c->v, ns_of(vs), name_of(vs));
	mark_gone(vs);
	return 1;
}

static int delete_snapshot(struct ctl *c, json_object *vs)
{
	json_object *cls = snapshot_class(c, vs);
	const char *policy = cls ? k8s_str(cls, "deletionPolicy") : NULL;
	uint64_t tree = 0;
	db_lock(c->db);
	json_object_put(obj_get(c->db, "VolumeSnapshot", ns_of(vs), name_of(vs), &tree));
	db_unlock(c->db);
	if (!tree)
		return remove_object(c, vs);
	if (policy && !strcmp(policy, "Retain"))
		return retain_snapshot_content(c, vs, cls);
	char err[512];
	if (snapshot_delete(c->v, ns_of(vs), name_of(vs), err, sizeof err) < 0) {
		event(c, vs, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	mark_gone(vs);
	return 1;
}

static int snapshot_step(struct ctl *c, json_object *vs)
{
	if (deleting(vs))
		return delete_snapshot(c, vs);
	json_object *ready = k8s_get(vs, "status.readyToUse");
	if (ready && json_object_get_boolean(ready))
		return 0;
	if (!k8s_str(vs, "spec.source.persistentVolumeClaimName"))
		return 0;
	return take_snapshot(c, vs);
}

static int content_step(struct ctl *c, json_object *vsc)
{
	if (!deleting(vsc))
		return 0;
	char err[512];
	if (volume_delete_object_tree(c->v, "VolumeSnapshotContent", "", name_of(vsc), err, sizeof err) < 0) {
		event(c, vsc, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	mark_gone(vsc);
	return 1;
}

/* --- pods --- */

#define KIND_POD_VOLUME "PodVolume" /* internal: an emptyDir's tree, "<pod>/<volume>" */

static void pod_volume_name(json_object *pod, json_object *vol, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", name_of(pod), k8s_str(vol, "name"));
}

/* Why a claim volume cannot be set up for the pod now, or NULL. */
static const char *claim_problem(struct ctl *c, json_object *pod, json_object *vol, char *buf,
                                 size_t len)
{
	const char *claim = pod_volume_claim(vol);
	json_object *pvc = find(c->pvcs, ns_of(pod), claim);
	const char *phase = pvc ? k8s_str(pvc, "status.phase") : NULL;
	if (!pvc || deleting(pvc))
		snprintf(buf, len, "persistentvolumeclaim \"%s\" %s", claim, pvc ? "is being deleted" : "not found");
	else if (!phase || strcmp(phase, "Bound"))
		snprintf(buf, len, "persistentvolumeclaim \"%s\" is not bound", claim);
	else {
		json_object *modes = k8s_get(pvc, "spec.accessModes"), *other;
		int rwop = 0;
		for (size_t i = 0; modes && i < json_object_array_length(modes); i++)
			rwop |= !strcmp(json_object_get_string(json_object_array_get_idx(modes, i)),
			                "ReadWriteOncePod");
		other = rwop ? claim_user(c, pvc, name_of(pod), 1) : NULL;
		if (!other)
			return NULL;
		snprintf(buf, len, "persistentvolumeclaim \"%s\" is ReadWriteOncePod and pod \"%s\" "
		         "already uses it", claim, name_of(other));
	}
	return buf;
}

static int make_empty_dir(struct ctl *c, json_object *pod, json_object *vol)
{
	char name[600];
	pod_volume_name(pod, vol, name, sizeof name);
	uint64_t tree = 0, cap = k8s_bytes(vol, "emptyDir.sizeLimit");
	db_lock(c->db);
	json_object *have = obj_get(c->db, KIND_POD_VOLUME, ns_of(pod), name, &tree);
	db_unlock(c->db);
	json_object_put(have);
	if (have)
		return 0;
	if (!cap) /* no limit: the node's disk is the limit, as with kubelet */
		cap = vfs_host_bytes(c->v);
	cap = (cap + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	json_object *body = json_object_new_object();
	k8s_set_str(body, "kind", KIND_POD_VOLUME);
	k8s_set_str(body, "spec.pod", name_of(pod));
	k8s_set_str(body, "spec.podUID", k8s_str(pod, "metadata.uid"));
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0) {
		r = vfs_tree_create_rows(c->v, "volume", cap, 0, &tree);
		if (r == 0)
			r = obj_insert(c->db, KIND_POD_VOLUME, ns_of(pod), name, body, tree);
		r = finish_txn(c->db, r);
	}
	if (r == 0)
		r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
	db_unlock(c->db);
	json_object_put(body);
	return r;
}

/* The objects of a list in one namespace (new array of references). */
static json_object *in_namespace(json_object *list, const char *ns)
{
	json_object *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		if (!is_gone(o) && !strcmp(ns_of(o), ns))
			json_object_array_add(out, json_object_get(o));
	}
	return out;
}

/* The files a configMap/secret/downwardAPI/projected volume shows now. */
static int projected_files(struct ctl *c, json_object *pod, json_object *vol, json_object **files,
                           char *why, size_t whylen)
{
	json_object *cms = in_namespace(c->configmaps, ns_of(pod));
	json_object *secrets = in_namespace(c->secrets, ns_of(pod));
	int r = projection_files(pod, vol, cms, secrets, files, why, whylen);
	json_object_put(cms);
	json_object_put(secrets);
	return r;
}

/* kubelet's name for a version directory: ..2026_11_22_02_45_00.123456789 */
static void version_name(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* Store a new version of a projected volume's files (the first, or one
 * that replaces the current, which stays readable as the previous). */
static int store_projection(struct ctl *c, json_object *pod, json_object *vol, json_object *files)
{
	char name[600], version[64];
	pod_volume_name(pod, vol, name, sizeof name);
	version_name(version, sizeof version);
	db_lock(c->db);
	json_object *o = obj_get(c->db, KIND_POD_VOLUME, ns_of(pod), name, NULL);
	int r = db_begin(c->db);
	if (r == 0) {
		if (o) {
			json_object *prev = json_object_new_object();
			k8s_set_str(prev, "version", k8s_str(o, "spec.version"));
			k8s_set(prev, "files", json_object_get(k8s_get(o, "spec.files")));
			k8s_set(o, "spec.previous", prev);
		} else {
			o = json_object_new_object();
			k8s_set_str(o, "kind", KIND_POD_VOLUME);
			k8s_set_str(o, "spec.pod", name_of(pod));
			k8s_set_str(o, "spec.podUID", k8s_str(pod, "metadata.uid"));
			k8s_set(o, "spec.projected", json_object_new_boolean(1));
		}
		k8s_set_str(o, "spec.version", version);
		k8s_set(o, "spec.files", json_object_get(files));
		r = k8s_get(o, "metadata.uid") ? obj_update(c->db, KIND_POD_VOLUME, ns_of(pod), name, o)
		                               : obj_insert(c->db, KIND_POD_VOLUME, ns_of(pod), name, o, 0);
		r = finish_txn(c->db, r);
	}
	db_unlock(c->db);
	json_object_put(o);
	return r;
}

/* A running pod's configMap/secret/... volumes follow their objects: a
 * changed set of files becomes a new version, all files at once. A
 * source that went away keeps the last files, as kubelet does. */
static int refresh_projections(struct ctl *c, json_object *pod)
{
	json_object *vols = k8s_get(pod, "spec.volumes");
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		char name[600], why[512];
		if (!projection_is(vol) || projected_files(c, pod, vol, &files, why, sizeof why) < 0)
			continue;
		pod_volume_name(pod, vol, name, sizeof name);
		db_lock(c->db);
		json_object *o = obj_get(c->db, KIND_POD_VOLUME, ns_of(pod), name, NULL);
		db_unlock(c->db);
		if (!o || !json_object_equal(k8s_get(o, "spec.files"), files))
			store_projection(c, pod, vol, files);
		json_object_put(o);
		json_object_put(files);
	}
	return 0;
}

/* Delete the pod's own volumes: emptyDirs with their data, projections. */
static void remove_pod_volumes(struct ctl *c, json_object *pod)
{
	json_object *vols = k8s_get(pod, "spec.volumes");
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i);
		char name[600], err[512];
		if (pod_volume_claim(vol))
			continue;
		pod_volume_name(pod, vol, name, sizeof name);
		volume_delete_object_tree(c->v, KIND_POD_VOLUME, ns_of(pod), name, err, sizeof err);
	}
}

/* Set up every volume, or none: a pod that cannot have all of them stays
 * Pending with the cause, and nothing of it is half-made. */
static int setup_pod_volumes(struct ctl *c, json_object *pod)
{
	json_object *vols = k8s_get(pod, "spec.volumes");
	char why[512];
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		int bad = pod_volume_claim(vol) ? claim_problem(c, pod, vol, why, sizeof why) != NULL
		          : projection_is(vol) ? projected_files(c, pod, vol, &files, why, sizeof why) < 0 : 0;
		json_object_put(files);
		if (bad) {
			set_str(pod, "status.phase", "Pending");
			event(c, pod, "Warning", "FailedMount", "volume \"%s\": %s", k8s_str(vol, "name"), why);
			return 0;
		}
	}
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		int r = k8s_get(vol, "emptyDir") ? make_empty_dir(c, pod, vol) : 0;
		if (r == 0 && projection_is(vol)) {
			r = projected_files(c, pod, vol, &files, why, sizeof why) < 0 ? -EAGAIN
			    : store_projection(c, pod, vol, files);
			json_object_put(files);
		}
		if (r < 0) {
			remove_pod_volumes(c, pod);
			set_str(pod, "status.phase", "Pending");
			event(c, pod, "Warning", "FailedMount", "volume \"%s\": cannot set it up: %s",
			      k8s_str(vol, "name"), strerror(-r));
			return 0;
		}
	}
	if (set_str(pod, "status.phase", "Running"))
		event(c, pod, "Normal", "VolumesReady", "all volumes are set up under pods/%s/%s",
		      ns_of(pod), name_of(pod));
	return 0;
}

static int pod_step(struct ctl *c, json_object *pod)
{
	if (deleting(pod)) {
		remove_pod_volumes(c, pod);
		return remove_object(c, pod);
	}
	return running(pod) ? refresh_projections(c, pod) : setup_pod_volumes(c, pod);
}

/* --- namespaces and quotas --- */

static int mark_deleting(json_object *o)
{
	if (deleting(o))
		return 0;
	char ts[32];
	rfc3339(time(NULL), ts, sizeof ts);
	k8s_set_str(o, "metadata.deletionTimestamp", ts);
	return 1;
}

/* A terminating namespace empties itself, then goes. */
static int namespace_step(struct ctl *c, json_object *ns)
{
	if (!deleting(ns))
		return 0;
	const char *name = name_of(ns);
	int left = 0, changed = 0;
	json_object *lists[] = {c->pvcs, c->vss, c->pods, c->stss, c->quotas};
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (size_t i = 0; i < json_object_array_length(lists[l]); i++) {
			json_object *o = json_object_array_get_idx(lists[l], i);
			if (is_gone(o) || strcmp(ns_of(o), name))
				continue;
			left++;
			if (lists[l] == c->quotas)
				changed |= remove_object(c, o);
			else {
				json_object *before = copy(o);
				mark_deleting(o);
				changed |= save_if_changed(c, before, o);
			}
		}
	if (!left)
		return remove_object(c, ns);
	return changed;
}

static json_object *claims_in(struct ctl *c, const char *ns)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(c->pvcs); i++) {
		json_object *o = json_object_array_get_idx(c->pvcs, i);
		if (!is_gone(o) && !strcmp(ns_of(o), ns))
			json_object_array_add(list, json_object_get(o));
	}
	return list;
}

static int quota_step(struct ctl *c, json_object *q)
{
	json_object *claims = claims_in(c, ns_of(q));
	k8s_set(q, "status.hard", copy(k8s_get(q, "spec.hard")));
	k8s_set(q, "status.used", quota_usage(q, claims));
	json_object_put(claims);
	return 0;
}

/* --- StatefulSets --- */

/* Create one object through the API server's admission (quota included),
 * and add it to this pass's view. */
static int create_owned(struct ctl *c, json_object *owner, json_object *obj, json_object *list)
{
	char err[1024] = "";
	json_object *one = json_object_new_array();
	json_object_array_add(one, json_object_get(obj));
	int r = api_store(c->v, one, ns_of(owner), err, sizeof err);
	json_object_put(one);
	if (r < 0) {
		event(c, owner, "Warning", "FailedCreate", "create %s %s failed: %s", kind_of(obj),
		      name_of(obj), err);
		json_object_put(obj);
		return 0;
	}
	db_lock(c->db);
	json_object *stored = obj_get(c->db, kind_of(obj), ns_of(obj), name_of(obj), NULL);
	db_unlock(c->db);
	if (stored)
		json_object_array_add(list, stored);
	event(c, owner, "Normal", "SuccessfulCreate", "create %s %s in StatefulSet %s successful",
	      !strcmp(kind_of(obj), "Pod") ? "Pod" : "Claim", name_of(obj), name_of(owner));
	json_object_put(obj);
	return 1;
}

/* Replicas 0..n-1 with their claims; pods past n go, claims stay. */
static int sts_step(struct ctl *c, json_object *sts)
{
	int n = deleting(sts) ? 0 : sts_replicas(sts), changed = 0, left = 0, ready = 0;
	for (int i = 0; i < n; i++) {
		for (size_t t = 0; t < sts_templates(sts); t++) {
			char claim[512];
			sts_claim_name(sts, t, i, claim, sizeof claim);
			if (!find(c->pvcs, ns_of(sts), claim))
				changed |= create_owned(c, sts, sts_claim(sts, t, i), c->pvcs);
		}
		char pod[512];
		snprintf(pod, sizeof pod, "%s-%d", name_of(sts), i);
		if (!find(c->pods, ns_of(sts), pod))
			changed |= create_owned(c, sts, sts_pod(sts, i), c->pods);
	}
	for (size_t i = 0; i < json_object_array_length(c->pods); i++) {
		json_object *pod = json_object_array_get_idx(c->pods, i);
		int ordinal;
		if (is_gone(pod) || !sts_owns(sts, pod, &ordinal))
			continue;
		left++;
		ready += ordinal < n && running(pod);
		if (ordinal >= n && !deleting(pod)) {
			json_object *before = copy(pod);
			mark_deleting(pod);
			changed |= save_if_changed(c, before, pod);
			event(c, sts, "Normal", "SuccessfulDelete", "delete Pod %s in StatefulSet %s successful",
			      name_of(pod), name_of(sts));
		}
	}
	if (deleting(sts) && !left)
		return remove_object(c, sts);
	k8s_set(sts, "status.replicas", json_object_new_int(n));
	k8s_set(sts, "status.readyReplicas", json_object_new_int(ready));
	return changed;
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
		if (is_gone(o))
			continue;
		json_object *before = copy(o);
		changed |= step(c, o);
		changed |= save_if_changed(c, before, o);
	}
	return changed;
}

void controller_run(struct vfs *v)
{
	struct ctl c = {.v = v, .db = vfs_db(v)};
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		world_load(&c);
		int changed = sync_list(&c, c.namespaces, namespace_step);
		changed |= sync_list(&c, c.stss, sts_step);
		changed |= sync_list(&c, c.pods, pod_step);
		changed |= sync_list(&c, c.pvcs, claim_step);
		changed |= sync_list(&c, c.pvs, volume_step);
		changed |= sync_list(&c, c.vss, snapshot_step);
		changed |= sync_list(&c, c.vscs, content_step);
		changed |= sync_list(&c, c.quotas, quota_step);
		world_free(&c);
		if (!changed)
			break;
	}
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
