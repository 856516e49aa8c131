/*
 * fs/control/docker_volume.c — Docker volumes as volfs persistent volumes (see
 * docker_volume.h). Every change is a control request (the same ones
 * volctl sends), so a Docker volume is an ordinary PersistentVolume:
 * labelled, annotated with its Docker name and reserved for the claim
 * docker/<pv-name>, it shows in `volctl get pv` and takes snapshots,
 * restores and clones like any other.
 */
#include "fs/control/docker_volume.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "fs/control/volume.h"
#include "meta/k8s.h"
#include "meta/names.h"
#include "meta/quantity.h"

#define OPTION_NAMES "size, from-snapshot, clone-of, class, uid, gid, mode"
#define DOCKER_NAME_MAX 200

/* --- names --- */

int docker_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > DOCKER_NAME_MAX || !isalnum((unsigned char)name[0]))
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("_.-", name[i]))
			return 0;
	return 1;
}

static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void docker_pv_name(const char *name, char *out, size_t len)
{
	char err[256], base[64];
	if (name_check_subdomain(name, err, sizeof err) == 0) {
		snprintf(out, len, "%s", name);
		return;
	}
	size_t n = 0;
	for (const char *s = name; *s && n < 40; s++)
		base[n++] = isalnum((unsigned char)*s) ? (char)tolower((unsigned char)*s) : '-';
	while (n > 0 && base[n - 1] == '-')
		n--;
	base[n] = 0;
	snprintf(out, len, "%s%s%08x", base, n ? "-" : "docker-", fnv1a(name));
}

/* --- options --- */

static int parse_id(const char *key, const char *val, int64_t *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long long x = strtoll(val, &end, 10);
	if (!*val || *end || errno || x < 0 || x > 4294967294LL) {
		snprintf(err, errlen, "option %s: \"%s\" is not a number from 0 to 4294967294", key, val);
		return -1;
	}
	*out = x;
	return 0;
}

static int parse_mode(const char *val, int *out, char *err, size_t errlen)
{
	char *end;
	errno = 0;
	long x = strtol(val, &end, 8);
	if (!*val || *end || errno || x < 0 || x > 07777) {
		snprintf(err, errlen, "option mode: \"%s\" is not an octal mode (0755, 2775, ...)", val);
		return -1;
	}
	*out = (int)x;
	return 0;
}

static int parse_one(const char *key, const char *val, struct docker_opts *o, char *err, size_t errlen)
{
	char why[256];
	if (!strcmp(key, "size")) {
		if (quantity_parse(val, &o->size, why, sizeof why) < 0) {
			snprintf(err, errlen, "option size: %s", why);
			return -1;
		}
		if (o->size == 0) {
			snprintf(err, errlen, "option size: must be more than 0");
			return -1;
		}
		return 0;
	}
	if (!strcmp(key, "uid") || !strcmp(key, "gid"))
		return parse_id(key, val, !strcmp(key, "uid") ? &o->uid : &o->gid, err, errlen);
	if (!strcmp(key, "mode"))
		return parse_mode(val, &o->mode, err, errlen);
	const char **slot = !strcmp(key, "from-snapshot") ? &o->from_snapshot
	                    : !strcmp(key, "clone-of")    ? &o->clone_of
	                    : !strcmp(key, "class")       ? &o->class_name
	                                                  : NULL;
	if (!slot) {
		snprintf(err, errlen, "unknown option \"%s\" (volfs takes %s)", key, OPTION_NAMES);
		return -1;
	}
	if (!*val) {
		snprintf(err, errlen, "option %s needs a value", key);
		return -1;
	}
	*slot = val;
	return 0;
}

int docker_opts_parse(json_object *opts, struct docker_opts *o, char *err, size_t errlen)
{
	*o = (struct docker_opts){.uid = -1, .gid = -1, .mode = -1};
	if (!opts)
		return 0;
	if (!json_object_is_type(opts, json_type_object)) {
		snprintf(err, errlen, "Opts must be an object of strings");
		return -1;
	}
	json_object_object_foreach(opts, key, val) {
		if (!json_object_is_type(val, json_type_string)) {
			snprintf(err, errlen, "option %s: the value must be a string", key);
			return -1;
		}
		if (parse_one(key, json_object_get_string(val), o, err, errlen) < 0)
			return -1;
	}
	if (o->from_snapshot && o->clone_of) {
		snprintf(err, errlen, "options from-snapshot and clone-of exclude each other");
		return -1;
	}
	return 0;
}

/* --- control requests --- */

static json_object *new_request(const char *verb, const char *kind, const char *name)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "verb", json_object_new_string(verb));
	if (kind)
		json_object_object_add(r, "kind", json_object_new_string(kind));
	if (name)
		json_object_object_add(r, "name", json_object_new_string(name));
	return r;
}

static int is_not_found(json_object *ans)
{
	const char *reason = jpath_str(ans, "reason");
	return reason && !strcmp(reason, "NotFound");
}

/* The result of a request (new reference; req is consumed), or NULL with
 * the control plane's reason in err (and *missing set if it was NotFound,
 * when asked). */
static json_object *call(struct docker_volumes *dv, json_object *req, char *err, size_t errlen, int *missing)
{
	json_object *ans = control_call(dv->ctl, req), *res = NULL;
	json_object_put(req);
	if (jpath_get(ans, "ok") && json_object_get_boolean(jpath_get(ans, "ok"))) {
		res = json_object_get(jpath_get(ans, "result"));
	} else {
		snprintf(err, errlen, "%s", jpath_str(ans, "error") ? jpath_str(ans, "error") : "control request failed");
		if (missing)
			*missing = is_not_found(ans);
	}
	json_object_put(ans);
	return res;
}

/* One cluster-scoped object by kind and name (new reference), or NULL:
 * err says why and *missing is set when it does not exist. */
static json_object *get_one(struct docker_volumes *dv, const char *kind, const char *name, int *missing,
                            char *err, size_t errlen)
{
	*missing = 0;
	json_object *res = call(dv, new_request("get", kind, name), err, errlen, missing);
	json_object *items = jpath_get(res, "items");
	json_object *o = json_object_is_type(items, json_type_array) && json_object_array_length(items)
	                 ? json_object_get(json_object_array_get_idx(items, 0)) : NULL;
	json_object_put(res);
	return o;
}

/* A label's or annotation's value: keys have dots, so not jpath_str's paths. */
static const char *map_str(json_object *map, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(map, key, &v) && json_object_is_type(v, json_type_string)
	       ? json_object_get_string(v) : NULL;
}

static int is_docker_volume(json_object *pv)
{
	const char *l = map_str(jpath_get(pv, "metadata.labels"), DOCKER_LABEL);
	return l && !strcmp(l, DOCKER_LABEL_VALUE) && docker_volume_name(pv);
}

const char *docker_volume_name(json_object *pv)
{
	return map_str(jpath_get(pv, "metadata.annotations"), DOCKER_NAME_ANNOTATION);
}

static int no_such_volume(const char *name, char *err, size_t errlen)
{
	snprintf(err, errlen, "no such volume: %s", name);
	return -1;
}

int docker_volume_find(struct docker_volumes *dv, const char *name, json_object **pv, char *err,
                       size_t errlen)
{
	char pvname[256], why[512];
	int missing;
	if (!docker_name_valid(name))
		return no_such_volume(name, err, errlen);
	docker_pv_name(name, pvname, sizeof pvname);
	json_object *o = get_one(dv, KIND_PV, pvname, &missing, why, sizeof why);
	if (!o && !missing) {
		snprintf(err, errlen, "%s", why);
		return -1;
	}
	if (!o || !is_docker_volume(o) || strcmp(docker_volume_name(o), name)) {
		json_object_put(o);
		return no_such_volume(name, err, errlen);
	}
	*pv = o;
	return 0;
}

int docker_volume_list(struct docker_volumes *dv, json_object **pvs, char *err, size_t errlen)
{
	json_object *res = call(dv, new_request("get", KIND_PV, NULL), err, errlen, NULL);
	if (!res)
		return -1;
	json_object *all = jpath_get(res, "items"), *mine = json_object_new_array();
	size_t count = json_object_is_type(all, json_type_array) ? json_object_array_length(all) : 0;
	for (size_t i = 0; i < count; i++) {
		json_object *pv = json_object_array_get_idx(all, i);
		if (is_docker_volume(pv))
			json_object_array_add(mine, json_object_get(pv));
	}
	json_object_put(res);
	*pvs = mine;
	return 0;
}

void docker_volume_path(struct docker_volumes *dv, json_object *pv, char *out, size_t len)
{
	snprintf(out, len, "%s/pv/%s", dv->mount_point, jpath_str(pv, "metadata.name"));
}

static uint64_t usage_of_volume(struct docker_volumes *dv, const char *pvname)
{
	char err[512];
	json_object *res = call(dv, new_request("describe", KIND_PV, pvname), err, sizeof err, NULL);
	uint64_t used = res && jpath_get(res, "usage.used") ? (uint64_t)json_object_get_int64(jpath_get(res, "usage.used")) : 0;
	json_object_put(res);
	return used;
}

static int64_t snapshots_of_volume(struct docker_volumes *dv, const char *pvname)
{
	char err[512];
	json_object *req = new_request("get", "VolumeSnapshot", NULL);
	json_object_object_add(req, "allNamespaces", json_object_new_boolean(1));
	json_object *res = call(dv, req, err, sizeof err, NULL), *items = jpath_get(res, "items");
	int64_t n = 0;
	size_t count = json_object_is_type(items, json_type_array) ? json_object_array_length(items) : 0;
	for (size_t i = 0; i < count; i++) {
		const char *src = jpath_str(json_object_array_get_idx(items, i), "spec.source.persistentVolumeName");
		n += src && !strcmp(src, pvname);
	}
	json_object_put(res);
	return n;
}

json_object *docker_volume_status(struct docker_volumes *dv, json_object *pv)
{
	const char *pvname = jpath_str(pv, "metadata.name");
	json_object *st = json_object_new_object();
	const char *cap = jpath_str(pv, "spec.capacity.storage");
	json_object_object_add(st, "capacity", json_object_new_string(cap ? cap : ""));
	json_object_object_add(st, "capacityBytes", json_object_new_int64((int64_t)jpath_bytes(pv, "spec.capacity.storage")));
	json_object_object_add(st, "usedBytes", json_object_new_int64((int64_t)usage_of_volume(dv, pvname)));
	json_object_object_add(st, "snapshots", json_object_new_int64(snapshots_of_volume(dv, pvname)));
	json_object_object_add(st, "persistentVolume", json_object_new_string(pvname));
	return st;
}

/* --- create and remove --- */

/* A snapshot given as SNAP (namespace default) or NAMESPACE/SNAP. */
static json_object *restore_request(const char *pvname, const char *snapshot, uint64_t size)
{
	char ns[256] = "default";
	const char *slash = strchr(snapshot, '/'), *snap = snapshot;
	if (slash) {
		snprintf(ns, sizeof ns, "%.*s", (int)(slash - snapshot), snapshot);
		snap = slash + 1;
	}
	json_object *req = new_request("restore", KIND_PV, pvname);
	json_object_object_add(req, "snapshot", json_object_new_string(snap));
	json_object_object_add(req, "namespace", json_object_new_string(ns));
	if (size)
		json_object_object_add(req, "capacity", json_object_new_int64((int64_t)size));
	return req;
}

/* The volume clone-of names: a Docker volume, else a PersistentVolume. */
static json_object *clone_source(struct docker_volumes *dv, const char *source, char *err, size_t errlen)
{
	json_object *pv = NULL;
	int missing;
	if (docker_volume_find(dv, source, &pv, err, errlen) == 0)
		return pv;
	pv = get_one(dv, KIND_PV, source, &missing, err, errlen);
	if (!pv && missing)
		snprintf(err, errlen, "option clone-of: no such volume: %s", source);
	return pv;
}

static int make_clone(struct docker_volumes *dv, const char *pvname, const struct docker_opts *o,
                      char *err, size_t errlen)
{
	json_object *src = clone_source(dv, o->clone_of, err, errlen);
	if (!src)
		return -1;
	uint64_t cap = jpath_bytes(src, "spec.capacity.storage");
	json_object *req = new_request("clone", KIND_PV, pvname);
	json_object_object_add(req, "source", json_object_new_string(jpath_str(src, "metadata.name")));
	json_object_put(src);
	if (o->size && o->size < cap) {
		char q[64];
		quantity_format(cap, q, sizeof q);
		snprintf(err, errlen, "option size: smaller than the capacity of the volume cloned (%s)", q);
		json_object_put(req);
		return -1;
	}
	json_object *res = call(dv, req, err, errlen, NULL);
	if (res && o->size > cap) {
		json_object_put(res);
		req = new_request("resize", KIND_PV, pvname);
		json_object_object_add(req, "capacity", json_object_new_int64((int64_t)o->size));
		res = call(dv, req, err, errlen, NULL);
	}
	json_object_put(res);
	return res ? 0 : -1;
}

/* The new volume's data: empty, restored from a snapshot, or cloned. */
static int make_volume(struct docker_volumes *dv, const char *pvname, const struct docker_opts *o,
                       char *err, size_t errlen)
{
	if (o->clone_of)
		return make_clone(dv, pvname, o, err, errlen);
	json_object *req;
	if (o->from_snapshot) {
		req = restore_request(pvname, o->from_snapshot, o->size);
	} else {
		req = new_request("create", KIND_PV, pvname);
		json_object_object_add(req, "capacity", json_object_new_int64((int64_t)(o->size ? o->size : dv->default_size)));
	}
	json_object *res = call(dv, req, err, errlen, NULL);
	if (!res && o->from_snapshot) {
		char why[512];
		snprintf(why, sizeof why, "%s", err);
		snprintf(err, errlen, "option from-snapshot: %s", why);
	}
	json_object_put(res);
	return res ? 0 : -1;
}

/* Label, annotate and reserve the new volume as Docker's; its class. */
static int mark_as_docker(struct docker_volumes *dv, const char *pvname, const char *name,
                          const char *class_name, char *err, size_t errlen)
{
	json_object *patch = json_object_new_object();
	json_object *labels = json_object_new_object(), *annotations = json_object_new_object();
	json_object_object_add(labels, DOCKER_LABEL, json_object_new_string(DOCKER_LABEL_VALUE));
	json_object_object_add(annotations, DOCKER_NAME_ANNOTATION, json_object_new_string(name));
	jpath_set(patch, "metadata.labels", labels);
	jpath_set(patch, "metadata.annotations", annotations);
	jpath_set_str(patch, "spec.claimRef.kind", "PersistentVolumeClaim");
	jpath_set_str(patch, "spec.claimRef.namespace", DOCKER_CLAIM_NAMESPACE);
	jpath_set_str(patch, "spec.claimRef.name", pvname);
	if (class_name)
		jpath_set_str(patch, "spec.storageClassName", class_name);
	json_object *req = new_request("patch", KIND_PV, pvname);
	json_object_object_add(req, "patch", patch);
	json_object *res = call(dv, req, err, errlen, NULL);
	json_object_put(res);
	return res ? 0 : -1;
}

static void delete_pv(struct docker_volumes *dv, const char *pvname)
{
	char ignored[512];
	json_object_put(call(dv, new_request("delete", KIND_PV, pvname), ignored, sizeof ignored, NULL));
}

static int check_class(struct docker_volumes *dv, const char *class_name, char *err, size_t errlen)
{
	int missing;
	char why[512];
	if (!class_name)
		return 0;
	json_object *sc = get_one(dv, "StorageClass", class_name, &missing, why, sizeof why);
	if (!sc)
		snprintf(err, errlen, "option class: %s", why);
	json_object_put(sc);
	return sc ? 0 : -1;
}

/* Owner and mode of the volume's root, through the mount as any client. */
static int set_root(struct docker_volumes *dv, const char *pvname, const struct docker_opts *o,
                    char *err, size_t errlen)
{
	char path[4400];
	snprintf(path, sizeof path, "%s/pv/%s", dv->mount_point, pvname);
	if ((o->uid >= 0 || o->gid >= 0) && chown(path, (uid_t)o->uid, (gid_t)o->gid) < 0) {
		snprintf(err, errlen, "options uid/gid: chown %s: %s", path, strerror(errno));
		return -1;
	}
	if (o->mode >= 0 && chmod(path, (mode_t)o->mode) < 0) {
		snprintf(err, errlen, "option mode: chmod %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Create while every other control request waits: the volume is marked
 * as Docker's before any controller could bind it to a claim. */
static int create_held(struct docker_volumes *dv, const char *name, const char *pvname,
                       const struct docker_opts *o, char *err, size_t errlen)
{
	int missing;
	char why[512];
	json_object *existing = get_one(dv, KIND_PV, pvname, &missing, why, sizeof why);
	if (existing || !missing) {
		/* An existing Docker volume of that name: created already, as
		 * Docker's own driver answers. */
		int r = existing && is_docker_volume(existing) && !strcmp(docker_volume_name(existing), name) ? 0 : -1;
		if (r < 0 && existing)
			snprintf(err, errlen, "persistentvolume \"%s\" exists and is not Docker volume \"%s\"",
			         pvname, name);
		else if (r < 0)
			snprintf(err, errlen, "%s", why);
		json_object_put(existing);
		return r;
	}
	if (check_class(dv, o->class_name, err, errlen) < 0 || make_volume(dv, pvname, o, err, errlen) < 0)
		return -1;
	if (mark_as_docker(dv, pvname, name, o->class_name, err, errlen) < 0) {
		delete_pv(dv, pvname);
		return -1;
	}
	return 1;
}

int docker_volume_create(struct docker_volumes *dv, const char *name, json_object *opts, char *err,
                         size_t errlen)
{
	struct docker_opts o;
	char pvname[256];
	if (!docker_name_valid(name)) {
		snprintf(err, errlen, "invalid volume name \"%s\": use letters, digits, '_', '.' and '-', "
		         "starting with a letter or digit", name);
		return -1;
	}
	if (docker_opts_parse(opts, &o, err, errlen) < 0)
		return -1;
	docker_pv_name(name, pvname, sizeof pvname);
	control_hold(dv->ctl);
	int r = create_held(dv, name, pvname, &o, err, errlen);
	control_release(dv->ctl);
	if (r == 1 && set_root(dv, pvname, &o, err, errlen) < 0) {
		delete_pv(dv, pvname);
		return -1;
	}
	return r < 0 ? -1 : 0;
}

int docker_volume_remove(struct docker_volumes *dv, const char *name, char *err, size_t errlen)
{
	json_object *pv;
	if (docker_volume_find(dv, name, &pv, err, errlen) < 0)
		return -1;
	json_object *res = call(dv, new_request("delete", KIND_PV, jpath_str(pv, "metadata.name")), err, errlen, NULL);
	json_object_put(pv);
	json_object_put(res);
	return res ? 0 : -1;
}
