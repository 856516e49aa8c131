/*
 * fs/control/api.c — the API server of volfs: what `volctl apply`, `create`,
 * `patch` and `delete` do to Kubernetes objects before any controller
 * acts. Each request is validated, defaulted and admitted (namespaces,
 * immutable fields, expansion rules, ResourceQuota) and stored in one
 * transaction, so a file with one bad document changes nothing. Objects
 * that own data (volumes, claims, snapshots) and namespaces are deleted by
 * marking them (metadata.deletionTimestamp); the controllers
 * (fs/control/controller.c) finish the job, as Kubernetes finalizers do.
 */
#include "fs/control/api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/controller.h"
#include "fs/control/hostpath.h"
#include "fs/control/namespaces.h"
#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/apply_merge.h"
#include "meta/binding.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/log.h"
#include "meta/objects.h"
#include "meta/quantity.h"
#include "meta/quota.h"

static json_object *copy(json_object *o)
{
	json_object *c = NULL;
	json_object_deep_copy(o, &c, NULL);
	return c;
}

struct ref {
	const struct k8s_kind *k;
	const char *ns;
	const char *name;
};

/* Kind, namespace and name of a validated object. */
static struct ref ref_of(json_object *obj)
{
	struct ref r = {.k = k8s_kind_lookup(jpath_str(obj, "kind"), K8S_KIND_STORED)};
	r.name = jpath_str(obj, "metadata.name");
	r.ns = r.k && r.k->namespaced ? jpath_str(obj, "metadata.namespace") : "";
	if (!r.ns)
		r.ns = "";
	return r;
}

static int is_finalized_kind(const char *kind)
{
	return !strcmp(kind, "PersistentVolume") || !strcmp(kind, "PersistentVolumeClaim") ||
	       !strcmp(kind, "VolumeSnapshot") || !strcmp(kind, "VolumeSnapshotContent") ||
	       !strcmp(kind, "Namespace") || !strcmp(kind, "Pod") || !strcmp(kind, "StatefulSet") ||
	       !strcmp(kind, "Deployment");
}

static int deleting(json_object *obj)
{
	return jpath_get(obj, "metadata.deletionTimestamp") != NULL;
}

/* Kubernetes' admission plugins DefaultStorageClass and the snapshot
 * controller's default class: an omitted class becomes the default one
 * when the object is created, so a later default does not change it. */
static int default_class(struct db *db, json_object *obj, const char *kind, char *err,
                         size_t errlen)
{
	int claim = !strcmp(kind, "PersistentVolumeClaim");
	const char *field = claim ? "spec.storageClassName" : "spec.volumeSnapshotClassName";
	if (jpath_get(obj, field))
		return 0;
	json_object *classes = kobj_list(db, claim ? "StorageClass" : "VolumeSnapshotClass", NULL);
	if (!classes) { /* unread is not "no default": the object would keep none */
		snprintf(err, errlen, "cannot read the classes to find the default one");
		return -EIO;
	}
	json_object *def = NULL;
	const char *ann = claim ? K8S_ANN_DEFAULT_SC : K8S_ANN_DEFAULT_VSC;
	if (claim)
		def = binding_default_class(classes);
	else
		for (size_t i = 0; i < json_object_array_length(classes); i++)
			if (k8s_annotation_true(json_object_array_get_idx(classes, i), ann))
				def = json_object_array_get_idx(classes, i);
	if (def)
		jpath_set_str(obj, field, jpath_str(def, "metadata.name"));
	json_object_put(classes);
	return 0;
}

static int forbid_claim(const char *name, const char *why, char *err, size_t errlen)
{
	snprintf(err, errlen, "persistentvolumeclaims \"%s\" is forbidden: %s", name, why);
	return -EPERM;
}

/* Expansion rules: requests may only change on a bound claim, only grow,
 * and only when its class allows expansion. */
static int admit_claim_resize(struct db *db, json_object *old, json_object *new, char *err,
                              size_t errlen)
{
	uint64_t was = jpath_bytes(old, "spec.resources.requests.storage");
	uint64_t now = jpath_bytes(new, "spec.resources.requests.storage");
	const char *name = jpath_str(new, "metadata.name");
	if (was == now)
		return 0;
	if (now < was) {
		snprintf(err, errlen, "spec.resources.requests.storage: Forbidden: field can not be less "
		         "than previous value");
		return -EINVAL;
	}
	const char *phase = jpath_str(old, "status.phase");
	if (!phase || strcmp(phase, "Bound")) {
		snprintf(err, errlen, "spec: Forbidden: spec is immutable after creation except "
		         "resources.requests for bound claims");
		return -EINVAL;
	}
	const char *cls = jpath_str(new, "spec.storageClassName");
	json_object *sc = cls && *cls ? kobj_get(db, "StorageClass", "", cls, NULL) : NULL;
	json_object *allow = sc ? jpath_get(sc, "allowVolumeExpansion") : NULL;
	int ok = allow && json_object_get_boolean(allow);
	json_object_put(sc);
	if (!ok)
		return forbid_claim(name, "only dynamically provisioned pvc can be resized and the "
		                    "storageclass that provisions the pvc must support resize", err, errlen);
	return 0;
}

/* What the claims of one namespace use of the resources its quotas name,
 * kept across the documents of one apply: summing the namespace's claims
 * for every claim made applying thousands of them quadratic. The totals
 * stand while db->claims_gen has moved only by the apply's own stores. */
struct quota_tally {
	char ns[256];
	json_object *quotas; /* NULL: nothing loaded */
	json_object *totals; /* NULL: no quota counts claims */
	uint64_t gen;
};

static void tally_drop(struct quota_tally *t)
{
	json_object_put(t->quotas);
	json_object_put(t->totals);
	t->quotas = t->totals = NULL;
}

/* The namespace's quotas and, when there are any, its claims' totals;
 * -EIO when they could not be read (never "no quota" or "no claims",
 * which would admit what the quota forbids). db locked. */
static int tally_load(struct db *db, struct quota_tally *t, const char *ns)
{
	if (t->quotas && !strcmp(t->ns, ns) && t->gen == db->claims_gen)
		return 0;
	tally_drop(t);
	snprintf(t->ns, sizeof t->ns, "%s", ns);
	t->quotas = kobj_list(db, "ResourceQuota", ns);
	if (!t->quotas)
		return -EIO;
	if (json_object_array_length(t->quotas)) {
		json_object *claims = kobj_list(db, "PersistentVolumeClaim", ns);
		if (!claims) {
			tally_drop(t);
			return -EIO;
		}
		t->totals = quota_totals(t->quotas, claims);
		json_object_put(claims);
	}
	t->gen = db->claims_gen;
	return 0;
}

/* The claim admitted against the tally was stored: count it. db locked. */
static void tally_stored(struct db *db, struct quota_tally *t, json_object *old, json_object *new)
{
	if (!t->quotas)
		return;
	if (t->totals)
		quota_totals_update(t->totals, old, new);
	t->gen = db->claims_gen;
}

static int admit_claim(struct db *db, struct quota_tally *tally, json_object *old,
                       json_object *new, char *err, size_t errlen)
{
	int r = old ? admit_claim_resize(db, old, new, err, errlen) : 0;
	if (r < 0)
		return r;
	if (tally_load(db, tally, jpath_str(new, "metadata.namespace")) < 0) {
		snprintf(err, errlen, "cannot read the namespace's quotas and claims");
		return -EIO;
	}
	return tally->totals ? quota_admit_totals(tally->quotas, tally->totals, old, new, err, errlen)
	                     : 0;
}

/* The host paths a new pod or volume names must lie under a prefix of
 * volfs --hostpath-allow (as PodSecurityPolicy's allowedHostPaths did at
 * admission); the source is immutable, so creation is when to look. */
static int admit_host_paths(struct ref *ref, json_object *new, char *err, size_t errlen)
{
	char why[1536];
	int pv = !strcmp(ref->k->kind, "PersistentVolume");
	json_object *vols = pv ? NULL : jpath_get(new, "spec.volumes");
	const char *one = pv ? hostpath_of_pv(new) : NULL;
	if (one && hostpath_admit(one, why, sizeof why) < 0) {
		snprintf(err, errlen, "%s \"%s\" is forbidden: spec.hostPath.path: %s", ref->k->plural,
		         ref->name, why);
		return -EPERM;
	}
	for (size_t i = 0; vols && json_object_is_type(vols, json_type_array) &&
	                   i < json_object_array_length(vols); i++) {
		const char *path = hostpath_of_volume(json_object_array_get_idx(vols, i));
		if (path && hostpath_admit(path, why, sizeof why) < 0) {
			snprintf(err, errlen, "%s \"%s\" is forbidden: spec.volumes[%zu].hostPath.path: %s",
			         ref->k->plural, ref->name, i, why);
			return -EPERM;
		}
	}
	return 0;
}

/* Checks that need the other objects; the manifest itself is valid. */
static int admit(struct db *db, struct quota_tally *tally, struct ref *ref, json_object *old,
                 json_object *new, char *err, size_t errlen)
{
	if (ref->k->namespaced) {
		int r = namespace_usable(db, ref->ns, err, errlen);
		if (r < 0)
			return r;
	}
	if (!old && (!strcmp(ref->k->kind, "Pod") || !strcmp(ref->k->kind, "PersistentVolume"))) {
		int r = admit_host_paths(ref, new, err, errlen);
		if (r < 0)
			return r;
	}
	if (!strcmp(ref->k->kind, "PersistentVolumeClaim"))
		return admit_claim(db, tally, old, new, err, errlen);
	return 0;
}

static void initial_status(json_object *obj, const char *kind)
{
	if (!strcmp(kind, "Namespace"))
		jpath_set_str(obj, "status.phase", "Active");
	else if (!strcmp(kind, "PersistentVolumeClaim"))
		jpath_set_str(obj, "status.phase", "Pending");
	else if (!strcmp(kind, "PersistentVolume"))
		jpath_set_str(obj, "status.phase", "Pending");
	else if (!strcmp(kind, "VolumeSnapshot"))
		jpath_set(obj, "status.readyToUse", json_object_new_boolean(0));
}

static int same_member(json_object *a, json_object *b, const char *path)
{
	const char *x = jpath_str(a, path), *y = jpath_str(b, path);
	return x == y || (x && y && !strcmp(x, y));
}

/* The identity of a stored object (kind, namespace, name, uid) is what an
 * update names it by; a patch or an apply may not change it, with the API
 * server's words. A uid the update leaves out is no precondition. */
static int check_identity(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	const char *uid = jpath_str(updated, "metadata.uid");
	if (!same_member(stored, updated, "metadata.name")) {
		snprintf(err, errlen, "the name of the object (%s) does not match the name on the URL (%s)",
		         jpath_str(updated, "metadata.name") ? jpath_str(updated, "metadata.name") : "",
		         jpath_str(stored, "metadata.name"));
		return -EINVAL;
	}
	if (!same_member(stored, updated, "metadata.namespace")) {
		snprintf(err, errlen, "the namespace of the provided object does not match the namespace "
		         "sent on the request");
		return -EINVAL;
	}
	if (!same_member(stored, updated, "kind")) {
		snprintf(err, errlen, "kind: Invalid value: \"%s\": field is immutable",
		         jpath_str(updated, "kind") ? jpath_str(updated, "kind") : "");
		return -EINVAL;
	}
	if (uid && !same_member(stored, updated, "metadata.uid")) {
		snprintf(err, errlen, "Precondition failed: UID in precondition: %s, UID in object meta: %s",
		         uid, jpath_str(stored, "metadata.uid") ? jpath_str(stored, "metadata.uid") : "");
		return -EBUSY;
	}
	return 0;
}

/* Store one object (a manifest already validated) the way apply, create
 * (create_only) or patch (merged is the result) do. *action: "created",
 * "configured", "unchanged"; *replaced (when asked for): the stored object
 * it changed, NULL when it created one. A claim is admitted against and
 * counted in tally. db locked, inside a transaction. */
static int store_object(struct db *db, struct quota_tally *tally, json_object *manifest,
                        int create_only, int is_patch, const char **action,
                        json_object **replaced, char *err, size_t errlen)
{
	struct ref ref = ref_of(manifest);
	json_object *old = kobj_get(db, ref.k->kind, ref.ns, ref.name, NULL);
	int r = 0;
	if (old && create_only) {
		snprintf(err, errlen, "%s \"%s\" already exists", ref.k->plural, ref.name);
		json_object_put(old);
		return -EEXIST;
	}
	if (old && !is_patch && (r = check_identity(old, manifest, err, errlen)) < 0) {
		json_object_put(old);
		return r;
	}
	json_object *new = is_patch ? json_object_get(manifest) : k8s_merge_apply(old, manifest);
	if (old) {
		r = k8s_check_update(old, new, err, errlen);
		if (r == 0 && json_object_equal(old, new)) {
			*action = "unchanged";
			goto out;
		}
	} else {
		if (r == 0 && (!strcmp(ref.k->kind, "PersistentVolumeClaim") ||
		               !strcmp(ref.k->kind, "VolumeSnapshot")))
			r = default_class(db, new, ref.k->kind, err, errlen);
		initial_status(new, ref.k->kind);
	}
	if (r == 0)
		r = admit(db, tally, &ref, old, new, err, errlen);
	if (r == 0 && old) {
		r = kobj_update(db, ref.k->kind, ref.ns, ref.name, new);
		*action = "configured";
	} else if (r == 0) {
		r = kobj_insert(db, ref.k->kind, ref.ns, ref.name, new, 0);
		*action = "created";
	}
	if (r == 0 && !strcmp(ref.k->kind, "PersistentVolumeClaim"))
		tally_stored(db, tally, old, new);
	if (r < 0 && !*err)
		snprintf(err, errlen, "cannot store %s \"%s\": %s", ref.k->plural, ref.name, strerror(-r));
out:
	if (replaced)
		*replaced = r == 0 ? json_object_get(old) : NULL;
	json_object_put(old);
	json_object_put(new);
	return r;
}

/* "FILE: document 2 (PersistentVolumeClaim data): " in front of a message. */
static void name_document(char *err, size_t errlen, const char *source, size_t i, json_object *obj)
{
	char msg[1024];
	const char *kind = jpath_str(obj, "kind"), *name = jpath_str(obj, "metadata.name");
	snprintf(msg, sizeof msg, "%s", err);
	snprintf(err, errlen, "%s%sdocument %zu (%s %s): %s", source ? source : "", source ? ": " : "",
	         i + 1, kind ? kind : "?", name ? name : "?", msg);
}

static json_object *result_item(struct ref *ref, const char *action)
{
	json_object *it = json_object_new_object();
	json_object_object_add(it, "kind", json_object_new_string(ref->k->kind));
	json_object_object_add(it, "namespace", json_object_new_string(ref->ns));
	json_object_object_add(it, "name", json_object_new_string(ref->name));
	json_object_object_add(it, "action", json_object_new_string(action));
	return it;
}

/* Documents stored (or taken back) per hold of the db lock: a file of
 * thousands of objects must not keep the data path's group commit, and so
 * every fsync, waiting for the whole apply. A claim's admission and store
 * cost about 50 us of CPU: 8 keep a hold well under a millisecond. */
#define APPLY_BATCH 8

/* The validated copies of a manifest's documents, and what storing each
 * replaced (NULL: it created the object), to take the apply back. */
struct apply_docs {
	json_object **obj;
	json_object **replaced;
	size_t n, stored;
	struct quota_tally tally;
};

static void apply_docs_free(struct apply_docs *d)
{
	for (size_t i = 0; i < d->n; i++) {
		json_object_put(d->obj[i]);
		json_object_put(d->replaced[i]);
	}
	tally_drop(&d->tally);
	free(d->obj);
	free(d->replaced);
}

/* Every document valid on its own, before anything is stored (no lock:
 * validation needs no other object). */
static int validate_all(json_object *objects, const char *source, const char *ns,
                        struct apply_docs *d, char *err, size_t errlen)
{
	size_t n = json_object_array_length(objects);
	d->obj = calloc(n ? n : 1, sizeof *d->obj);
	d->replaced = calloc(n ? n : 1, sizeof *d->replaced);
	if (!d->obj || !d->replaced) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int r = 0;
	for (size_t i = 0; r == 0 && i < n; i++, d->n++) {
		json_object *obj = d->obj[i] = copy(json_object_array_get_idx(objects, i));
		r = json_object_is_type(obj, json_type_object) ? k8s_validate(obj, ns, err, errlen)
		    : (snprintf(err, errlen, "not a Kubernetes object"), -EINVAL);
		if (r < 0 && (source || n > 1))
			name_document(err, errlen, source, i, obj);
	}
	return r;
}

/* Admit and store the next batch in one transaction: all of it or none. */
static int store_batch(struct db *db, struct apply_docs *d, const char *source, int create_only,
                       json_object *items, char *err, size_t errlen)
{
	size_t end = d->stored + APPLY_BATCH < d->n ? d->stored + APPLY_BATCH : d->n, i;
	db_lock(db);
	int r = db_begin(db);
	for (i = d->stored; r == 0 && i < end; i++) {
		const char *action = "";
		r = store_object(db, &d->tally, d->obj[i], create_only, 0, &action, &d->replaced[i],
		                 err, errlen);
		if (r < 0 && (source || d->n > 1))
			name_document(err, errlen, source, i, d->obj[i]);
		else if (r == 0) {
			struct ref ref = ref_of(d->obj[i]);
			json_object_array_add(items, result_item(&ref, action));
		}
	}
	r = finish_txn(db, r);
	db_unlock(db);
	if (r == 0)
		d->stored = end;
	return r;
}

/* Take back the batches already stored, newest first, a batch a hold. */
static void unstore(struct db *db, struct apply_docs *d)
{
	int r = 0;
	while (r == 0 && d->stored) {
		size_t end = d->stored > APPLY_BATCH ? d->stored - APPLY_BATCH : 0;
		db_lock(db);
		r = db_begin(db);
		for (size_t i = d->stored; r == 0 && i-- > end;) {
			struct ref ref = ref_of(d->obj[i]);
			r = d->replaced[i] ? kobj_update(db, ref.k->kind, ref.ns, ref.name, d->replaced[i])
			                   : kobj_delete(db, ref.k->kind, ref.ns, ref.name);
		}
		r = finish_txn(db, r);
		db_unlock(db);
		if (r == 0)
			d->stored = end;
	}
	if (r < 0)
		vlog_error("control.sock", "an apply that failed could not be taken back: %s",
		           strerror(-r));
}

/* Validate every document, then admit and store them batch by batch;
 * when one is refused, the batches before it are taken back: all or
 * nothing (a crash half-way can leave the first batches, as a client
 * applying object by object would). */
static int apply_all(struct vfs *v, json_object *objects, const char *source, const char *ns,
                     int create_only, json_object *items, char *err, size_t errlen)
{
	struct db *db = vfs_db(v);
	struct apply_docs d = {0};
	int r = validate_all(objects, source, ns, &d, err, errlen);
	while (r == 0 && d.stored < d.n)
		r = store_batch(db, &d, source, create_only, items, err, errlen);
	if (r < 0)
		unstore(db, &d);
	apply_docs_free(&d);
	return r;
}

int api_store(struct vfs *v, json_object *objects, const char *ns, char *err, size_t errlen)
{
	json_object *items = json_object_new_array();
	int r = apply_all(v, objects, NULL, ns, 1, items, err, errlen);
	json_object_put(items);
	return r;
}

int api_apply(struct vfs *v, json_object *objects, const char *source, const char *ns,
              int create_only, json_object **items, char *err, size_t errlen)
{
	if (!json_object_is_type(objects, json_type_array) || !json_object_array_length(objects)) {
		snprintf(err, errlen, "no objects to apply");
		return -EINVAL;
	}
	*items = json_object_new_array();
	int r = apply_all(v, objects, source, ns ? ns : "default", create_only, *items, err, errlen);
	if (r < 0) {
		json_object_put(*items);
		*items = NULL;
		return r;
	}
	controller_run(v);
	return 0;
}

/* RFC 7386 JSON merge patch: null removes a member. */
static void merge_patch(json_object *target, json_object *patch)
{
	json_object_object_foreach(patch, key, val) {
		json_object *cur;
		if (!val)
			json_object_object_del(target, key);
		else if (json_object_is_type(val, json_type_object) &&
		         json_object_object_get_ex(target, key, &cur) &&
		         json_object_is_type(cur, json_type_object))
			merge_patch(cur, val);
		else
			json_object_object_add(target, key, copy(val));
	}
}

static int not_found(const struct k8s_kind *k, const char *ns, const char *name, char *err,
                     size_t errlen)
{
	if (k->namespaced)
		snprintf(err, errlen, "%s \"%s\" not found in namespace \"%s\"", k->plural, name, ns);
	else
		snprintf(err, errlen, "%s \"%s\" not found", k->plural, name);
	return -ENOENT;
}

static const struct k8s_kind *known_kind(const char *kind, char *err, size_t errlen)
{
	const struct k8s_kind *k = k8s_kind_lookup(kind, K8S_KIND_STORED);
	if (!k) {
		snprintf(err, errlen, "the server doesn't have a resource type \"%s\"", kind ? kind : "");
		return NULL;
	}
	return k;
}

int api_patch(struct vfs *v, const char *kind, const char *ns, const char *name,
              json_object *patch, json_object **out, char *err, size_t errlen)
{
	const struct k8s_kind *k = known_kind(kind, err, errlen);
	if (!k)
		return -EINVAL;
	if (!k->namespaced)
		ns = "";
	struct db *db = vfs_db(v);
	db_lock(db);
	json_object *obj = kobj_get(db, k->kind, ns, name, NULL), *stored = obj ? copy(obj) : NULL;
	int r = obj ? 0 : not_found(k, ns, name, err, errlen);
	const char *action = "";
	if (r == 0) {
		merge_patch(obj, patch);
		r = check_identity(stored, obj, err, errlen);
	}
	json_object_put(stored);
	if (r == 0)
		r = k8s_validate(obj, ns, err, errlen);
	if (r == 0)
		r = db_begin(db);
	struct quota_tally tally = {0};
	if (r == 0)
		r = finish_txn(db, store_object(db, &tally, obj, 0, 1, &action, NULL, err, errlen));
	tally_drop(&tally);
	db_unlock(db);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	controller_run(v);
	db_lock(db);
	json_object_put(obj);
	*out = kobj_get(db, k->kind, ns, name, NULL);
	db_unlock(db);
	return 0;
}

static int default_namespace(const struct k8s_kind *k, const char *name, char *err, size_t errlen)
{
	if (strcmp(k->kind, "Namespace") || strcmp(name, "default"))
		return 0;
	snprintf(err, errlen, "namespaces \"default\" is forbidden: this namespace may not be deleted");
	return 1;
}

/* Mark (or for kinds that own nothing, remove) one object. db locked,
 * in a transaction. */
static int delete_one(struct db *db, const struct k8s_kind *k, const char *ns, const char *name,
                      char *err, size_t errlen)
{
	if (default_namespace(k, name, err, errlen))
		return -EPERM;
	json_object *obj = kobj_get(db, k->kind, ns, name, NULL);
	if (!obj)
		return not_found(k, ns, name, err, errlen);
	int r = 0;
	if (!is_finalized_kind(k->kind))
		r = kobj_delete(db, k->kind, ns, name);
	else if (!deleting(obj)) {
		char ts[32];
		rfc3339(time(NULL), ts, sizeof ts);
		jpath_set_str(obj, "metadata.deletionTimestamp", ts);
		if (!strcmp(k->kind, "Namespace"))
			jpath_set_str(obj, "status.phase", "Terminating");
		r = kobj_update(db, k->kind, ns, name, obj);
	}
	json_object_put(obj);
	return r;
}

/* A document of a delete: its kind, namespace and name, or the reason it
 * names none (no lock needed). */
static int delete_ref(json_object *obj, const char *dflt_ns, struct ref *ref, char *err,
                      size_t errlen)
{
	ref->k = known_kind(jpath_str(obj, "kind"), err, errlen);
	ref->name = jpath_str(obj, "metadata.name");
	ref->ns = jpath_str(obj, "metadata.namespace");
	if (ref->k && !ref->name)
		snprintf(err, errlen, "metadata.name: Required value");
	if (!ref->k || !ref->name)
		return -EINVAL;
	ref->ns = !ref->k->namespaced ? "" : ref->ns ? ref->ns : dflt_ns;
	return 0;
}

/* Documents [from, to) of a delete: with check, only whether each can be
 * deleted (it exists, unless ignore_not_found); else deleted, in one
 * transaction. One hold of the db lock. */
static int delete_batch(struct db *db, json_object *objects, size_t from, size_t to, int check,
                        const char *source, const char *dflt_ns, int ignore_not_found,
                        json_object *items, char *err, size_t errlen)
{
	db_lock(db);
	int r = check ? 0 : db_begin_essential(db);
	for (size_t i = from; r == 0 && i < to; i++) {
		json_object *obj = json_object_array_get_idx(objects, i);
		struct ref ref;
		r = delete_ref(obj, dflt_ns, &ref, err, errlen);
		if (r == 0 && check && default_namespace(ref.k, ref.name, err, errlen)) {
			r = -EPERM;
		} else if (r == 0 && check) {
			json_object *found = kobj_get(db, ref.k->kind, ref.ns, ref.name, NULL);
			r = found || ignore_not_found ? 0 : not_found(ref.k, ref.ns, ref.name, err, errlen);
			json_object_put(found);
		} else if (r == 0) {
			r = delete_one(db, ref.k, ref.ns, ref.name, err, errlen);
			if (r == -ENOENT && ignore_not_found)
				r = 0;
			else if (r == 0)
				json_object_array_add(items, result_item(&ref, "deleted"));
		}
		if (r < 0 && source)
			name_document(err, errlen, source, i, obj);
	}
	if (!check)
		r = finish_txn(db, r);
	db_unlock(db);
	return r;
}

/* Every document checked first, so a missing one deletes nothing; then
 * deleted APPLY_BATCH a hold, like an apply. */
static int delete_all(struct vfs *v, json_object *objects, const char *source, const char *dflt_ns,
                      int ignore_not_found, json_object *items, char *err, size_t errlen)
{
	struct db *db = vfs_db(v);
	size_t n = json_object_array_length(objects);
	int r = 0;
	for (int check = 1; check >= 0; check--)
		for (size_t i = 0; r == 0 && i < n; i += APPLY_BATCH)
			r = delete_batch(db, objects, i, i + APPLY_BATCH < n ? i + APPLY_BATCH : n, check,
			                 source, dflt_ns, ignore_not_found, items, err, errlen);
	return r;
}

int api_delete(struct vfs *v, json_object *objects, const char *source, const char *ns,
               int ignore_not_found, json_object **items, char *err, size_t errlen)
{
	*items = json_object_new_array();
	int r = delete_all(v, objects, source, ns ? ns : "default", ignore_not_found, *items, err, errlen);
	if (r < 0) {
		json_object_put(*items);
		*items = NULL;
		return r;
	}
	controller_run(v);
	return 0;
}

int api_delete_one(struct vfs *v, const char *kind, const char *ns, const char *name, char *err,
                   size_t errlen)
{
	json_object *ref = json_object_new_object(), *list = json_object_new_array(), *items = NULL;
	jpath_set_str(ref, "kind", kind);
	jpath_set_str(ref, "metadata.name", name);
	if (ns)
		jpath_set_str(ref, "metadata.namespace", ns);
	json_object_array_add(list, ref);
	int r = api_delete(v, list, NULL, ns, 0, &items, err, errlen);
	json_object_put(items);
	json_object_put(list);
	return r;
}

int api_get(struct vfs *v, const char *kind, const char *ns, const char *name, json_object **items,
            char *err, size_t errlen)
{
	const struct k8s_kind *k = known_kind(kind, err, errlen);
	if (!k)
		return -EINVAL;
	const char *where = !k->namespaced ? "" : ns ? ns : "default";
	struct db *db = vfs_db(v);
	db_lock(db);
	if (!name) {
		*items = kobj_list(db, k->kind, k->namespaced ? ns : NULL);
		db_unlock(db);
		if (!*items)
			snprintf(err, errlen, "cannot read the %s objects", k->kind);
		return *items ? 0 : -EIO;
	}
	json_object *o = kobj_get(db, k->kind, where, name, NULL);
	db_unlock(db);
	if (!o)
		return not_found(k, where, name, err, errlen);
	*items = json_object_new_array();
	json_object_array_add(*items, o);
	return 0;
}

int api_describe(struct vfs *v, const char *kind, const char *ns, const char *name,
                 json_object **out, char *err, size_t errlen)
{
	const struct k8s_kind *k = known_kind(kind, err, errlen);
	if (!k)
		return -EINVAL;
	const char *where = !k->namespaced ? "" : ns ? ns : "default";
	struct db *db = vfs_db(v);
	uint64_t tree = 0;
	db_lock(db);
	json_object *o = kobj_get(db, k->kind, where, name, &tree);
	json_object *events = o ? event_list(db, k->kind, where, name) : NULL;
	const char *pv = o ? jpath_str(o, "spec.volumeName") : NULL;
	json_object *vol = pv && !strcmp(k->kind, "PersistentVolumeClaim")
	                   ? kobj_get(db, "PersistentVolume", "", pv, &tree) : NULL;
	json_object_put(vol);
	db_unlock(db);
	if (!o)
		return not_found(k, where, name, err, errlen);
	*out = json_object_new_object();
	json_object_object_add(*out, "object", o);
	json_object_object_add(*out, "events", events);
	if (tree)
		json_object_object_add(*out, "usage", usage_of(v, tree));
	return 0;
}
