/*
 * meta/k8s.c — the Kubernetes rules of each kind (see k8s.h): validation
 * and defaulting of manifests and the immutable-field rules of updates.
 * The storage kinds' rules are here, built of meta/field_check.c's checks;
 * the workloads' and pod volumes' live in pod.c, statefulset.c,
 * deployment.c, configdata.c and snapschedule.c, which this file calls.
 *
 * Validation stops at the first problem and reports it the way the API
 * server words a field error, so a user can find the line of the manifest
 * to fix. Map members are named PATH[key], as the API server does,
 * because their keys often contain dots themselves ("requests.storage").
 */
#include "meta/k8s.h"

#include <stdio.h>
#include <string.h>

#include "meta/configdata.h"
#include "meta/deployment.h"
#include "meta/field_check.h"
#include "meta/field_error.h"
#include "meta/hostpath.h"
#include "meta/names.h"
#include "meta/pod.h"
#include "meta/selector.h"
#include "meta/snapschedule.h"
#include "meta/statefulset.h"

static const char *const ACCESS_MODES[] = { "ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce",
					    "ReadWriteOncePod", NULL };

static int check_access_modes(struct field_check *c, json_object *spec, const char *path)
{
	json_object *modes = json_member(spec, "accessModes");
	char at[FIELD_PATH_MAX], item[FIELD_PATH_MAX];
	size_t n;
	int once_pod = 0;

	field_child(at, path, "accessModes");
	if (!modes || (json_is(modes, json_type_array) && !json_object_array_length(modes)))
		return field_report_required(c, at);
	if (!json_is(modes, json_type_array))
		return field_report_invalid(c, at, modes, "must be a list of access modes");
	n = json_object_array_length(modes);
	for (size_t i = 0; i < n; i++) {
		json_object *m = json_object_array_get_idx(modes, i);

		field_list_item(item, at, i);
		if (!json_is(m, json_type_string))
			return field_report_invalid(c, item, m, "must be a string");
		if (!field_in_list(json_object_get_string(m), ACCESS_MODES))
			return field_report_unsupported(c, item, json_object_get_string(m), ACCESS_MODES);
		once_pod |= !strcmp(json_object_get_string(m), "ReadWriteOncePod");
	}
	if (once_pod && n > 1)
		return field_report(c, "%s: Forbidden: may not use ReadWriteOncePod with other access modes",
				    at);
	return 0;
}

/* Filesystem (the default); Block volumes are raw devices, which a FUSE
 * filesystem cannot hand out. */
static int check_volume_mode(struct field_check *c, json_object *spec, const char *path)
{
	static const char *const modes[] = { "Filesystem", NULL };
	char at[FIELD_PATH_MAX];
	const char *s;
	int r = field_check_string(c, spec, "volumeMode", path, 0, &s);

	field_child(at, path, "volumeMode");
	if (r < 0)
		return r;
	if (s && !strcmp(s, "Block"))
		return field_report(c, "%s: Unsupported value: \"Block\": volfs serves Filesystem volumes only",
				    at);
	return field_check_enum(c, spec, "volumeMode", path, modes, "Filesystem");
}

/* --- validation: metadata --- */

static int check_meta_map(struct field_check *c, json_object *md, const char *key, int labels)
{
	json_object *map;
	char at[FIELD_PATH_MAX], entry[FIELD_PATH_MAX];
	const char *why;
	int r = field_check_object(c, md, key, "metadata", &map);

	if (r < 0 || !map)
		return r;
	field_child(at, "metadata", key);
	json_object_object_foreach(map, k, v) {
		if ((why = selector_key_problem(k)) != NULL)
			return field_report_invalid_str(c, at, k, why);
		if (!json_is(v, json_type_string))
			return field_report_invalid(c, field_map_entry(entry, at, k), v, "must be a string");
		if (labels && (why = selector_value_problem(json_object_get_string(v))) != NULL)
			return field_report_invalid(c, field_map_entry(entry, at, k), v, why);
	}
	return 0;
}

static int check_name(struct field_check *c, json_object *md, const struct k8s_kind *k)
{
	json_object *v = json_member(md, "name");
	const char *name = json_is(v, json_type_string) ? json_object_get_string(v) : NULL;
	char why[512];
	int r;

	if (!v || (name && !*name))
		return field_report(c, "metadata.name: Required value: name is required");
	if (!name)
		return field_report_invalid(c, "metadata.name", v, "must be a string");
	if (!strcmp(k->kind, "Namespace"))
		r = name_check_label(name, why, sizeof why);
	else
		r = name_check_subdomain(name, why, sizeof why);
	return r < 0 ? field_report_invalid_str(c, "metadata.name", name, field_reason(why)) : 0;
}

/* A namespaced object lives in metadata.namespace, else in ns; a
 * cluster-scoped one has no namespace. */
static int check_namespace(struct field_check *c, json_object *md, const struct k8s_kind *k,
			   const char *ns)
{
	json_object *v = json_member(md, "namespace");
	char why[512];

	if (!k->namespaced) {
		json_del(md, "namespace");
		return 0;
	}
	if (!v || (json_is(v, json_type_string) && !*json_object_get_string(v))) {
		v = json_object_new_string(ns && *ns ? ns : "default");
		json_object_object_add(md, "namespace", v);
	}
	if (!json_is(v, json_type_string))
		return field_report_invalid(c, "metadata.namespace", v, "must be a string");
	if (name_check_label(json_object_get_string(v), why, sizeof why) < 0)
		return field_report_invalid(c, "metadata.namespace", v, field_reason(why));
	return 0;
}

static int check_metadata(struct field_check *c, json_object *obj, const struct k8s_kind *k,
			  const char *ns)
{
	json_object *md = json_member(obj, "metadata");
	int r;

	if (!md)
		return field_report(c, "metadata.name: Required value: name is required");
	if (!json_is(md, json_type_object))
		return field_report_invalid(c, "metadata", md, "must be an object");
	if ((r = check_name(c, md, k)) < 0 || (r = check_namespace(c, md, k, ns)) < 0)
		return r;
	if ((r = check_meta_map(c, md, "labels", 1)) < 0)
		return r;
	return check_meta_map(c, md, "annotations", 0);
}

/* --- validation: kinds --- */

static const char *const DELETE_RETAIN[] = { "Delete", "Retain", NULL };

static int validate_storage_class(struct field_check *c, json_object *sc)
{
	static const char *const binding[] = { "Immediate", "WaitForFirstConsumer", NULL };
	int r;

	if ((r = field_check_string(c, sc, "provisioner", "", 1, NULL)) < 0 ||
	    (r = field_check_string_map(c, sc, "parameters", "")) < 0 ||
	    (r = field_check_enum(c, sc, "reclaimPolicy", "", DELETE_RETAIN, "Delete")) < 0 ||
	    (r = field_check_enum(c, sc, "volumeBindingMode", "", binding, "Immediate")) < 0 ||
	    (r = field_check_bool(c, sc, "allowVolumeExpansion", "")) < 0)
		return r;
	return field_check_string_list(c, sc, "mountOptions", "");
}

/* The members of a PersistentVolumeSpec that say where its data is. */
static const char *const VOLUME_SOURCES[] = {
	"awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "csi", "fc",
	"flexVolume", "flocker", "gcePersistentDisk", "glusterfs", "hostPath", "iscsi", "local",
	"nfs", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos",
	"vsphereVolume", NULL
};

/* A volume source is kept (volfs serves the data itself, except for
 * hostPath, served from the host) but must be one object, as the API
 * server requires. */
static int check_volume_source(struct field_check *c, json_object *spec)
{
	int sources = 0, r;

	for (size_t i = 0; VOLUME_SOURCES[i]; i++) {
		json_object *src;

		if ((r = field_check_object(c, spec, VOLUME_SOURCES[i], "spec", &src)) < 0)
			return r;
		sources += src != NULL;
	}
	if (sources > 1)
		return field_report(c, "spec: Forbidden: may not specify more than 1 volume type");
	if (json_member(spec, "hostPath"))
		return hostpath_validate(json_member(spec, "hostPath"), "spec.hostPath", c->err, c->errlen);
	return 0;
}

static int check_claim_ref(struct field_check *c, json_object *spec)
{
	json_object *ref;
	int r = field_check_object(c, spec, "claimRef", "spec", &ref);

	if (r < 0 || !ref)
		return r;
	if ((r = field_check_ref_name(c, ref, "name", "spec.claimRef", 1)) < 0)
		return r;
	if (!json_member(ref, "namespace"))
		json_object_object_add(ref, "namespace", json_object_new_string("default"));
	return field_check_string(c, ref, "namespace", "spec.claimRef", 1, NULL);
}

static int validate_persistent_volume(struct field_check *c, json_object *pv)
{
	static const char *const reclaim[] = { "Delete", "Recycle", "Retain", NULL };
	json_object *empty = json_object_new_object(), *spec, *cap;
	int r = field_check_object(c, pv, "spec", "", &spec);

	spec = spec ? spec : empty;
	if (r == 0)
		r = field_check_object(c, spec, "capacity", "spec", &cap);
	if (r == 0)
		r = field_check_quantity(c, cap ? cap : empty, "storage", "spec.capacity", 1);
	if (r == 0)
		r = check_access_modes(c, spec, "spec");
	if (r == 0)
		r = field_check_enum(c, spec, "persistentVolumeReclaimPolicy", "spec", reclaim, "Retain");
	if (r == 0)
		r = field_check_ref_name(c, spec, "storageClassName", "spec", 0);
	if (r == 0)
		r = check_volume_mode(c, spec, "spec");
	if (r == 0)
		r = check_claim_ref(c, spec);
	if (r == 0)
		r = field_check_object(c, spec, "nodeAffinity", "spec", NULL);
	if (r == 0)
		r = field_check_string_list(c, spec, "mountOptions", "spec");
	if (r == 0)
		r = check_volume_source(c, spec);
	json_object_put(empty);
	return r;
}

static int check_claim_resources(struct field_check *c, json_object *spec, json_object *empty)
{
	json_object *res, *requests, *limits;
	int r = field_check_object(c, spec, "resources", "spec", &res);

	res = res ? res : empty;
	if (r == 0)
		r = field_check_object(c, res, "requests", "spec.resources", &requests);
	if (r == 0)
		r = field_check_object(c, res, "limits", "spec.resources", &limits);
	if (r == 0)
		r = field_check_quantity(c, requests ? requests : empty, "storage",
					 "spec.resources.requests", 1);
	if (r == 0 && limits)
		r = field_check_quantity(c, limits, "storage", "spec.resources.limits", 0);
	return r;
}

/* One of dataSource / dataSourceRef: a VolumeSnapshot or a claim of the
 * same namespace. */
static int check_data_source(struct field_check *c, json_object *spec, const char *key)
{
	static const char *const kinds_allowed[] = { "PersistentVolumeClaim", "VolumeSnapshot",
						     NULL };
	json_object *ds;
	char path[FIELD_PATH_MAX], at[FIELD_PATH_MAX];
	const char *kind, *group;
	int r = field_check_object(c, spec, key, "spec", &ds);

	if (r < 0 || !ds)
		return r;
	field_child(path, "spec", key);
	if ((r = field_check_string(c, ds, "kind", path, 1, &kind)) < 0 ||
	    (r = field_check_ref_name(c, ds, "name", path, 1)) < 0 ||
	    (r = field_check_string(c, ds, "apiGroup", path, 0, &group)) < 0)
		return r;
	if (!field_in_list(kind, kinds_allowed))
		return field_report_unsupported(c, field_child(at, path, "kind"), kind, kinds_allowed);
	if (!strcmp(kind, "VolumeSnapshot") && (!group || strcmp(group, "snapshot.storage.k8s.io")))
		return field_report_unsupported(c, field_child(at, path, "apiGroup"), group ? group : "",
						(const char *const[]){ "snapshot.storage.k8s.io", NULL });
	if (!strcmp(kind, "PersistentVolumeClaim") && group && *group)
		return field_report_invalid_str(c, field_child(at, path, "apiGroup"), group,
						"must be empty for a PersistentVolumeClaim (the core API group)");
	if (json_member(ds, "namespace"))
		return field_report(c, "%s: Forbidden: cross-namespace data sources are not supported",
				    field_child(at, path, "namespace"));
	return 0;
}

static int same_string(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static int check_data_sources_agree(struct field_check *c, json_object *spec)
{
	json_object *ds = json_member(spec, "dataSource"), *ref = json_member(spec, "dataSourceRef");

	if (!ds || !ref)
		return 0;
	if (!same_string(jpath_str(ds, "kind"), jpath_str(ref, "kind")) ||
	    !same_string(jpath_str(ds, "name"), jpath_str(ref, "name")) ||
	    !same_string(jpath_str(ds, "apiGroup"), jpath_str(ref, "apiGroup")))
		return field_report(c, "spec.dataSource: Invalid value: \"object\": must match dataSourceRef");
	return 0;
}

static int validate_claim(struct field_check *c, json_object *pvc)
{
	json_object *empty = json_object_new_object(), *spec;
	int r = field_check_object(c, pvc, "spec", "", &spec);

	spec = spec ? spec : empty;
	if (r == 0)
		r = check_access_modes(c, spec, "spec");
	if (r == 0)
		r = check_claim_resources(c, spec, empty);
	if (r == 0)
		r = field_check_ref_name(c, spec, "storageClassName", "spec", 0);
	if (r == 0)
		r = selector_validate(json_member(spec, "selector"), "spec.selector", c->err, c->errlen);
	if (r == 0)
		r = field_check_ref_name(c, spec, "volumeName", "spec", 0);
	if (r == 0)
		r = check_volume_mode(c, spec, "spec");
	if (r == 0)
		r = check_data_source(c, spec, "dataSource");
	if (r == 0)
		r = check_data_source(c, spec, "dataSourceRef");
	if (r == 0)
		r = check_data_sources_agree(c, spec);
	json_object_put(empty);
	return r;
}

static int validate_snapshot_class(struct field_check *c, json_object *vsc)
{
	int r;

	if ((r = field_check_string(c, vsc, "driver", "", 1, NULL)) < 0 ||
	    (r = field_check_required_enum(c, vsc, "deletionPolicy", "", DELETE_RETAIN)) < 0)
		return r;
	return field_check_string_map(c, vsc, "parameters", "");
}

static int validate_snapshot(struct field_check *c, json_object *vs)
{
	json_object *spec = NULL, *src = NULL;
	int r = field_check_object(c, vs, "spec", "", &spec);

	if (r == 0 && !spec)
		return field_report_required(c, "spec.source");
	if (r == 0)
		r = field_check_object(c, spec, "source", "spec", &src);
	if (r == 0 && !src)
		return field_report_required(c, "spec.source");
	if (r < 0)
		return r;
	/* persistentVolumeName is volfs's own: a snapshot of a bare volume
	 * (volctl snapshot pv/NAME) says so, and its YAML must apply back. */
	if (!!json_member(src, "persistentVolumeClaimName") + !!json_member(src, "volumeSnapshotContentName") +
	    !!json_member(src, "persistentVolumeName") != 1)
		return field_report(c, "spec.source: Invalid value: \"object\": exactly one of "
			    "persistentVolumeClaimName and volumeSnapshotContentName should be set");
	if ((r = field_check_ref_name(c, src, "persistentVolumeName", "spec.source", 0)) < 0)
		return r;
	if (json_member(src, "volumeSnapshotContentName"))
		return field_report(c, "spec.source.volumeSnapshotContentName: Forbidden: pre-provisioned "
			    "snapshot contents are not supported by volfs");
	if ((r = field_check_ref_name(c, src, "persistentVolumeClaimName", "spec.source",
				      !json_member(src, "persistentVolumeName"))) < 0)
		return r;
	return field_check_ref_name(c, spec, "volumeSnapshotClassName", "spec", 0);
}

/* Contents are made by volfs itself when a snapshot's class retains it;
 * one applied by hand must still have the shape the snapshot CRD asks. */
static int validate_snapshot_content(struct field_check *c, json_object *vsc)
{
	json_object *empty = json_object_new_object(), *spec, *src, *ref;
	int r = field_check_object(c, vsc, "spec", "", &spec);

	spec = spec ? spec : empty;
	if (r == 0)
		r = field_check_string(c, spec, "driver", "spec", 1, NULL);
	if (r == 0)
		r = field_check_required_enum(c, spec, "deletionPolicy", "spec", DELETE_RETAIN);
	if (r == 0)
		r = field_check_object(c, spec, "source", "spec", &src);
	if (r == 0 && (!src || !json_member(src, "volumeHandle") == !json_member(src, "snapshotHandle")))
		r = field_report(c, "spec.source: Invalid value: \"object\": exactly one of volumeHandle "
			 "and snapshotHandle should be set");
	if (r == 0)
		r = field_check_object(c, spec, "volumeSnapshotRef", "spec", &ref);
	if (r == 0)
		r = field_check_string(c, ref ? ref : empty, "name", "spec.volumeSnapshotRef", 1, NULL);
	if (r == 0)
		r = field_check_string(c, ref, "namespace", "spec.volumeSnapshotRef", 1, NULL);
	json_object_put(empty);
	return r;
}

/* Every hard limit is kept; volfs enforces only the storage ones. */
static int validate_quota(struct field_check *c, json_object *q)
{
	json_object *spec, *hard = NULL;
	char entry[FIELD_PATH_MAX];
	int r = field_check_object(c, q, "spec", "", &spec);

	if (r == 0 && spec)
		r = field_check_object(c, spec, "hard", "spec", &hard);
	if (r < 0 || !hard)
		return r;
	json_object_object_foreach(hard, resource, v) {
		field_map_entry(entry, "spec.hard", resource);
		if (!*resource)
			return field_report_invalid_str(c, "spec.hard", resource, "must be a resource name");
		if (!v)
			return field_report_required(c, entry);
		if ((r = field_check_quantity_value(c, v, entry, 0)) < 0)
			return r;
	}
	return 0;
}

static int validate_namespace(struct field_check *c, json_object *ns)
{
	(void)c;
	(void)ns;
	return 0;
}

/* --- updates --- */

static int same_json(json_object *a, json_object *b)
{
	return json_object_equal(a, b);
}

/* Maps compare absent and {} as equal: both mean "no parameters". */
static int same_map(json_object *a, json_object *b)
{
	if (!a || !b) {
		json_object *v = a ? a : b;

		return !v || (json_is(v, json_type_object) && json_object_object_length(v) == 0);
	}
	return same_json(a, b);
}

static const char *or_default(const char *s, const char *dflt)
{
	return s ? s : dflt;
}

static int fail_immutable(struct field_check *c, const char *path, json_object *now)
{
	return field_report_invalid(c, path, now, "field is immutable");
}

static int fail_forbidden_update(struct field_check *c, const char *field)
{
	return field_report(c, "%s: Forbidden: updates to %s are forbidden.", field, field);
}

static int update_storage_class(struct field_check *c, json_object *was, json_object *now)
{
	const char *mode = or_default(jpath_str(now, "volumeBindingMode"), "Immediate");

	if (!same_string(jpath_str(was, "provisioner"), jpath_str(now, "provisioner")))
		return fail_forbidden_update(c, "provisioner");
	if (!same_map(json_member(was, "parameters"), json_member(now, "parameters")))
		return fail_forbidden_update(c, "parameters");
	if (strcmp(or_default(jpath_str(was, "reclaimPolicy"), "Delete"),
		   or_default(jpath_str(now, "reclaimPolicy"), "Delete")))
		return fail_forbidden_update(c, "reclaimPolicy");
	if (strcmp(or_default(jpath_str(was, "volumeBindingMode"), "Immediate"), mode))
		return field_report_invalid_str(c, "volumeBindingMode", mode, "field is immutable");
	return 0;
}

static int update_persistent_volume(struct field_check *c, json_object *was, json_object *now)
{
	const char *mode = or_default(jpath_str(now, "spec.volumeMode"), "Filesystem");

	if (strcmp(or_default(jpath_str(was, "spec.volumeMode"), "Filesystem"), mode))
		return field_report_invalid_str(c, "spec.volumeMode", mode, "field is immutable");
	for (size_t i = 0; VOLUME_SOURCES[i]; i++)
		if (!same_json(json_member(json_member(was, "spec"), VOLUME_SOURCES[i]),
			       json_member(json_member(now, "spec"), VOLUME_SOURCES[i])))
			return field_report(c, "spec.persistentvolumesource: Forbidden: "
				    "spec.persistentvolumesource is immutable after creation");
	return 0;
}

static json_object *spec_copy(json_object *o)
{
	json_object *spec = json_member(o, "spec"), *copy = NULL;

	if (!json_is(spec, json_type_object) || json_object_deep_copy(spec, &copy, NULL) < 0)
		return json_object_new_object();
	return copy;
}

/* Take out of both specs what may change: the storage request, and the
 * fields that may be set once when empty (the controller binds by
 * setting volumeName; a class is given to a claim created without one). */
static void drop_mutable_claim_fields(json_object *was, json_object *now)
{
	json_del(json_member(json_member(was, "resources"), "requests"), "storage");
	json_del(json_member(json_member(now, "resources"), "requests"), "storage");
	if (!jpath_str(was, "volumeName") || !*jpath_str(was, "volumeName")) {
		json_del(was, "volumeName");
		json_del(now, "volumeName");
	}
	if (!json_member(was, "storageClassName")) {
		json_del(was, "storageClassName");
		json_del(now, "storageClassName");
	}
	if (!json_member(was, "volumeMode"))
		json_object_object_add(was, "volumeMode", json_object_new_string("Filesystem"));
	if (!json_member(now, "volumeMode"))
		json_object_object_add(now, "volumeMode", json_object_new_string("Filesystem"));
}

/* The first member of spec whose value differs between the two. */
static const char *first_difference(json_object *a, json_object *b)
{
	json_object_object_foreach(a, ka, va) {
		if (!same_json(va, json_member(b, ka)))
			return ka;
	}
	json_object_object_foreach(b, kb, vb) {
		if (!same_json(vb, json_member(a, kb)))
			return kb;
	}
	return NULL;
}

static int update_claim(struct field_check *c, json_object *stored, json_object *updated)
{
	json_object *was = spec_copy(stored), *now = spec_copy(updated);
	const char *diff;
	int r = 0;

	drop_mutable_claim_fields(was, now);
	diff = first_difference(was, now);
	if (diff)
		r = field_report(c, "spec: Forbidden: spec is immutable after creation except "
			 "resources.requests for bound claims (spec.%s changed)", diff);
	json_object_put(was);
	json_object_put(now);
	return r;
}

static int update_snapshot_class(struct field_check *c, json_object *was, json_object *now)
{
	if (!same_string(jpath_str(was, "driver"), jpath_str(now, "driver")))
		return fail_forbidden_update(c, "driver");
	if (!same_map(json_member(was, "parameters"), json_member(now, "parameters")))
		return fail_forbidden_update(c, "parameters");
	return 0;
}

static int update_snapshot(struct field_check *c, json_object *was, json_object *now)
{
	json_object *cls = jpath_get(was, "spec.volumeSnapshotClassName");

	if (!same_json(jpath_get(was, "spec.source"), jpath_get(now, "spec.source")))
		return field_report(c, "spec.source: Forbidden: spec.source is immutable after creation");
	/* Set once: a snapshot created without a class is given the default. */
	if (cls && !same_json(cls, jpath_get(now, "spec.volumeSnapshotClassName")))
		return field_report(c, "spec.volumeSnapshotClassName: Forbidden: "
			    "spec.volumeSnapshotClassName is immutable after creation");
	return 0;
}

/* Pods' rules live in meta/pod.c. */
static int validate_pod(struct field_check *c, json_object *pod)
{
	return pod_validate(pod, c->err, c->errlen);
}

static int update_pod(struct field_check *c, json_object *was, json_object *now)
{
	return pod_check_update(was, now, c->err, c->errlen);
}

static int validate_statefulset(struct field_check *c, json_object *sts)
{
	return sts_validate(sts, k8s_validate, c->err, c->errlen);
}

static int update_statefulset(struct field_check *c, json_object *was, json_object *now)
{
	return sts_check_update(was, now, c->err, c->errlen);
}

static int validate_deployment(struct field_check *c, json_object *d)
{
	return deploy_validate(d, c->err, c->errlen);
}

static int update_deployment(struct field_check *c, json_object *was, json_object *now)
{
	return deploy_check_update(was, now, c->err, c->errlen);
}

/* ConfigMaps' and Secrets' rules live in meta/configdata.c. */
static int validate_configmap(struct field_check *c, json_object *cm)
{
	return configmap_validate(cm, c->err, c->errlen);
}

static int update_configmap(struct field_check *c, json_object *was, json_object *now)
{
	return configmap_check_update(was, now, c->err, c->errlen);
}

static int validate_secret(struct field_check *c, json_object *secret)
{
	return secret_validate(secret, c->err, c->errlen);
}

static int update_secret(struct field_check *c, json_object *was, json_object *now)
{
	return secret_check_update(was, now, c->err, c->errlen);
}

/* SnapshotSchedules' rules live in meta/snapschedule.c. */
static int validate_snapschedule(struct field_check *c, json_object *sched)
{
	return snapschedule_validate(sched, c->err, c->errlen);
}

/* --- per-kind rules --- */

struct kind_rules {
	const char *kind;
	int (*validate)(struct field_check *c, json_object *obj);
	int (*update)(struct field_check *c, json_object *was, json_object *now);
};

static const struct kind_rules rules[] = {
	{ "StorageClass", validate_storage_class, update_storage_class },
	{ "PersistentVolume", validate_persistent_volume, update_persistent_volume },
	{ "PersistentVolumeClaim", validate_claim, update_claim },
	{ "VolumeSnapshotClass", validate_snapshot_class, update_snapshot_class },
	{ "VolumeSnapshot", validate_snapshot, update_snapshot },
	{ "VolumeSnapshotContent", validate_snapshot_content, NULL },
	{ "ResourceQuota", validate_quota, NULL },
	{ "Namespace", validate_namespace, NULL },
	{ "Pod", validate_pod, update_pod },
	{ "StatefulSet", validate_statefulset, update_statefulset },
	{ "Deployment", validate_deployment, update_deployment },
	{ "ConfigMap", validate_configmap, update_configmap },
	{ "Secret", validate_secret, update_secret },
	{ "SnapshotSchedule", validate_snapschedule, NULL },
};

static const struct kind_rules *rules_of(const char *kind)
{
	for (size_t i = 0; kind && i < sizeof rules / sizeof rules[0]; i++)
		if (!strcmp(rules[i].kind, kind))
			return &rules[i];
	return NULL;
}

/* The kind of a manifest, checked against its apiVersion. */
static int check_kind(struct field_check *c, json_object *obj, const struct k8s_kind **out)
{
	json_object *kv = json_member(obj, "kind"), *av = json_member(obj, "apiVersion");
	const char *kind = json_is(kv, json_type_string) ? json_object_get_string(kv) : NULL;
	const char *api = json_is(av, json_type_string) ? json_object_get_string(av) : NULL;
	const struct k8s_kind *k = k8s_kind_lookup(kind, K8S_KIND_STORED);
	char qk[160], qa[160];

	if (!kv || (kind && !*kind))
		return field_report_required(c, "kind");
	if (!kind)
		return field_report_invalid(c, "kind", kv, "must be a string");
	if (!av || (api && !*api))
		return field_report_required(c, "apiVersion");
	if (!api)
		return field_report_invalid(c, "apiVersion", av, "must be a string");
	field_quote(kind, qk, sizeof qk);
	field_quote(api, qa, sizeof qa);
	if (!k)
		return field_report(c, "no matches for kind %s in version %s", qk, qa);
	if (strcmp(api, k->api_version))
		return field_report(c, "apiVersion: Invalid value: %s: no matches for kind %s in version %s "
			    "(%s is %s)", qa, qk, qa, k->kind, k->api_version);
	*out = k;
	return 0;
}

int k8s_validate(json_object *obj, const char *ns, char *err, size_t errlen)
{
	struct field_check c = { err, errlen };
	const struct k8s_kind *k;
	int r;

	if (err && errlen)
		err[0] = '\0';
	if (!json_is(obj, json_type_object))
		return field_report(&c, "not a Kubernetes object: expected a mapping with apiVersion, kind "
			    "and metadata");
	if ((r = check_kind(&c, obj, &k)) < 0 || (r = check_metadata(&c, obj, k, ns)) < 0)
		return r;
	return rules_of(k->kind)->validate(&c, obj);
}

int k8s_check_update(json_object *stored, json_object *updated, char *err, size_t errlen)
{
	struct field_check c = { err, errlen };
	const char *kind = jpath_str(updated, "kind");
	const struct kind_rules *kr = rules_of(kind);

	if (!same_string(jpath_str(stored, "kind"), kind))
		return fail_immutable(&c, "kind", json_member(updated, "kind"));
	if (!same_string(jpath_str(stored, "metadata.name"), jpath_str(updated, "metadata.name")))
		return fail_immutable(&c, "metadata.name", jpath_get(updated, "metadata.name"));
	if (!same_string(jpath_str(stored, "metadata.namespace"),
			 jpath_str(updated, "metadata.namespace")))
		return fail_immutable(&c, "metadata.namespace",
				      jpath_get(updated, "metadata.namespace"));
	return kr && kr->update ? kr->update(&c, stored, updated) : 0;
}
