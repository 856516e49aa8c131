/*
 * fs/control/server.c — serves the control socket: accepts a connection, reads one
 * JSON request line, dispatches on its verb to the volume layer, writes one
 * JSON answer. Requests are handled one at a time: the daemon is the single
 * writer of meta.db, and volume operations are short.
 */
#include "fs/control/server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "fs/control/api.h"
#include "fs/control/metrics.h"
#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "fs/store/hostwrite.h"
#include "meta/k8s.h"
#include "meta/objects.h"
#include "meta/quantity.h"
#include "meta/log.h"
#include "meta/version.h"

#define REQUEST_MAX (4 << 20)

struct control {
	struct vfs *v;
	int fd;
	int stop_pipe[2];
	pthread_t thread;
	char *path;
	char *mount_point;
	void (*on_shutdown)(void *);
	void *arg;
	/* One request at a time, from the socket or from in-process callers
	 * (control_call); recursive, so that control_hold can group calls. */
	pthread_mutex_t lock;
};

static const char *reason_of(int err)
{
	switch (err) {
	case -ENOENT: return "NotFound";
	case -EEXIST: return "AlreadyExists";
	case -EINVAL: return "Invalid";
	case -EPERM: case -EACCES: return "Forbidden";
	case -EBUSY: return "Conflict";
	case -ENOSPC: return "NoSpace";
	case -EDQUOT: return "Forbidden";
	default: return "Internal";
	}
}

static json_object *answer_error(int err, const char *msg)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(0));
	json_object_object_add(a, "error", json_object_new_string(msg));
	json_object_object_add(a, "reason", json_object_new_string(reason_of(err)));
	return a;
}

static json_object *answer_ok(json_object *result)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(1));
	json_object_object_add(a, "result", result ? result : json_object_new_object());
	return a;
}

/* The Prometheus text exposition, as the string member "text". */
static json_object *answer_metrics(struct vfs *v)
{
	size_t len;
	char *text = metrics_render(v, &len);
	if (!text)
		return answer_error(-ENOMEM, "out of memory rendering the metrics");
	json_object *r = json_object_new_object();
	json_object_object_add(r, "text", json_object_new_string_len(text, (int)len));
	free(text);
	return answer_ok(r);
}

static const char *str_field(json_object *req, const char *key)
{
	json_object *f;
	if (!json_object_object_get_ex(req, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

static int u64_field(json_object *req, const char *key, uint64_t *out)
{
	json_object *f;
	if (!json_object_object_get_ex(req, key, &f) || !json_object_is_type(f, json_type_int))
		return -1;
	int64_t x = json_object_get_int64(f);
	if (x < 0)
		return -1;
	*out = (uint64_t)x;
	return 0;
}

static json_object *items_result(json_object *items)
{
	json_object *r = json_object_new_object();
	json_object_object_add(r, "items", items);
	return r;
}

static void add_problem(void *arg, const char *msg)
{
	json_object_array_add(arg, json_object_new_string(msg));
}

int control_check(struct vfs *v, void (*report)(void *arg, const char *msg), void *arg)
{
	struct db *db = vfs_db(v);
	char msg[512];
	int problems = 0;
	vfs_flush_all(v);
	db_lock(db);
	if (db_integrity_check(db, msg, sizeof msg) < 0) {
		char line[600];
		snprintf(line, sizeof line, "meta.db integrity check: %s", msg);
		report(arg, line);
		problems++;
	}
	problems += vfs_check(v, report, arg);
	db_unlock(db);
	return problems;
}

/* Verbs on PersistentVolumes; later kinds get handlers of their own. */
static json_object *handle_pv(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name");
	uint64_t capacity = 0;
	json_object *out = NULL;
	int r;
	if (!strcmp(verb, "get")) {
		r = volume_pv_get(v, name, &out, err, sizeof err);
		return r < 0 ? answer_error(r, err) : answer_ok(items_result(out));
	}
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "create") || !strcmp(verb, "resize")) {
		if (u64_field(req, "capacity", &capacity) < 0)
			return answer_error(-EINVAL, "capacity (bytes) is required");
		r = !strcmp(verb, "create") ? volume_pv_create(v, name, capacity, &out, err, sizeof err)
		                            : volume_pv_resize(v, name, capacity, &out, err, sizeof err);
	} else if (!strcmp(verb, "describe")) {
		r = volume_pv_describe(v, name, &out, err, sizeof err);
	} else {
		snprintf(err, sizeof err, "verb \"%s\" is not supported for persistentvolumes", verb);
		r = -EINVAL;
	}
	return r < 0 ? answer_error(r, err) : answer_ok(out);
}

static const char *ns_field(json_object *req)
{
	const char *ns = str_field(req, "namespace");
	return ns && *ns ? ns : "default";
}

static json_object *result_or_error(int r, const char *err, json_object *out)
{
	return r < 0 ? answer_error(r, err) : answer_ok(out);
}

/* VolumeSnapshots: get, describe, delete; creation is the verb "snapshot". */
static json_object *handle_vs(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name");
	json_object *out = NULL, *all;
	int every = json_object_object_get_ex(req, "allNamespaces", &all) && json_object_get_boolean(all);
	int r;
	if (!strcmp(verb, "get")) {
		r = snapshot_get(v, every ? NULL : ns_field(req), name, &out, err, sizeof err);
		return r < 0 ? answer_error(r, err) : answer_ok(items_result(out));
	}
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "describe"))
		r = snapshot_describe(v, ns_field(req), name, &out, err, sizeof err);
	else {
		snprintf(err, sizeof err, "verb \"%s\" is not supported for volumesnapshots", verb);
		r = -EINVAL;
	}
	return result_or_error(r, err, out);
}

/* snapshot {source, name, namespace}, restore {snapshot, name, namespace,
 * capacity?}, clone {source, name}: sources and results are pv names. */
static json_object *handle_volume_copies(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name"), *source = str_field(req, "source");
	const char *snap = str_field(req, "snapshot");
	json_object *out = NULL;
	uint64_t capacity = 0;
	int r;
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "snapshot"))
		r = source ? snapshot_create(v, source, ns_field(req), name, NULL, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	else if (!strcmp(verb, "restore")) {
		u64_field(req, "capacity", &capacity);
		r = snap ? volume_restore(v, ns_field(req), snap, name, capacity, NULL, &out, err, sizeof err)
		         : (snprintf(err, sizeof err, "a snapshot is required"), -EINVAL);
	} else
		r = source ? volume_clone(v, source, name, 0, NULL, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	return result_or_error(r, err, out);
}

static json_object *new_object(const char *api_version, const char *kind, const char *ns,
                               const char *name)
{
	json_object *o = json_object_new_object();
	k8s_set_str(o, "apiVersion", api_version);
	k8s_set_str(o, "kind", kind);
	k8s_set_str(o, "metadata.name", name);
	k8s_set_str(o, "metadata.namespace", ns);
	return o;
}

/* The claim a restore or clone made, if the controller bound it. If it
 * could not (the snapshot is too big for the size asked, ...), the claim
 * is withdrawn and its last warning is the answer: an imperative verb
 * either does the whole job or leaves nothing behind. */
static json_object *claim_outcome(struct vfs *v, const char *ns, const char *name)
{
	char err[512] = "";
	json_object *items = NULL, *events = NULL;
	int r = api_get(v, "PersistentVolumeClaim", ns, name, &items, err, sizeof err);
	if (r < 0)
		return answer_error(r, err);
	json_object *pvc = json_object_get(json_object_array_get_idx(items, 0));
	json_object_put(items);
	const char *phase = k8s_str(pvc, "status.phase");
	if (phase && !strcmp(phase, "Bound"))
		return answer_ok(pvc);
	db_lock(vfs_db(v));
	events = event_list(vfs_db(v), "PersistentVolumeClaim", ns, name);
	db_unlock(vfs_db(v));
	size_t n = json_object_array_length(events);
	json_object *last = n ? json_object_array_get_idx(events, n - 1) : NULL;
	const char *type = last ? k8s_str(last, "type") : NULL;
	if (!type || strcmp(type, "Warning")) {
		json_object_put(events);
		return answer_ok(pvc); /* waiting for a consumer, say */
	}
	snprintf(err, sizeof err, "%s", k8s_str(last, "message"));
	json_object_put(events);
	json_object_put(pvc);
	char ignored[256];
	api_delete_one(v, "PersistentVolumeClaim", ns, name, ignored, sizeof ignored);
	return answer_error(-EINVAL, err);
}

/* A claim with a data source, created and reconciled. */
static json_object *create_claim_from(struct vfs *v, json_object *pvc, const char *ns,
                                      const char *name)
{
	char err[512] = "";
	json_object *list = json_object_new_array(), *items = NULL;
	json_object_array_add(list, pvc);
	int r = api_apply(v, list, NULL, ns, 1, &items, err, sizeof err);
	json_object_put(list);
	json_object_put(items);
	return r < 0 ? answer_error(r, err) : claim_outcome(v, ns, name);
}

static json_object *claim_restore(struct vfs *v, json_object *req, const char *ns, const char *name)
{
	const char *snap = str_field(req, "snapshot");
	char err[512] = "", q[64];
	uint64_t capacity = 0;
	json_object *items = NULL;
	if (!snap)
		return answer_error(-EINVAL, "a snapshot is required");
	int r = api_get(v, "VolumeSnapshot", ns, snap, &items, err, sizeof err);
	if (r < 0)
		return answer_error(r, err);
	json_object *vs = json_object_array_get_idx(items, 0);
	if (u64_field(req, "capacity", &capacity) == 0)
		quantity_format(capacity, q, sizeof q);
	else
		snprintf(q, sizeof q, "%s", k8s_str(vs, "status.restoreSize") ? k8s_str(vs, "status.restoreSize") : "1Gi");
	json_object_put(items);
	json_object *pvc = new_object("v1", "PersistentVolumeClaim", ns, name);
	json_object *modes = json_object_new_array();
	json_object_array_add(modes, json_object_new_string("ReadWriteOnce"));
	k8s_set(pvc, "spec.accessModes", modes);
	k8s_set_str(pvc, "spec.resources.requests.storage", q);
	k8s_set_str(pvc, "spec.dataSource.apiGroup", "snapshot.storage.k8s.io");
	k8s_set_str(pvc, "spec.dataSource.kind", "VolumeSnapshot");
	k8s_set_str(pvc, "spec.dataSource.name", snap);
	return create_claim_from(v, pvc, ns, name);
}

static json_object *claim_clone(struct vfs *v, json_object *req, const char *ns, const char *name)
{
	const char *source = str_field(req, "source");
	char err[512] = "";
	json_object *items = NULL;
	if (!source)
		return answer_error(-EINVAL, "a source claim is required");
	int r = api_get(v, "PersistentVolumeClaim", ns, source, &items, err, sizeof err);
	if (r < 0)
		return answer_error(r, err);
	json_object *src = json_object_array_get_idx(items, 0);
	json_object *pvc = new_object("v1", "PersistentVolumeClaim", ns, name);
	k8s_set(pvc, "spec.accessModes", json_object_get(k8s_get(src, "spec.accessModes")));
	k8s_set_str(pvc, "spec.resources.requests.storage", k8s_str(src, "spec.resources.requests.storage"));
	if (k8s_str(src, "spec.storageClassName"))
		k8s_set_str(pvc, "spec.storageClassName", k8s_str(src, "spec.storageClassName"));
	k8s_set_str(pvc, "spec.dataSource.kind", "PersistentVolumeClaim");
	k8s_set_str(pvc, "spec.dataSource.name", source);
	json_object_put(items);
	return create_claim_from(v, pvc, ns, name);
}

static json_object *claim_snapshot(struct vfs *v, json_object *req, const char *ns, const char *name)
{
	const char *source = str_field(req, "source");
	char err[512] = "";
	json_object *items = NULL;
	if (!source)
		return answer_error(-EINVAL, "a source claim is required");
	/* The shortcut snapshots a claim that is there now; a manifest may
	 * name one that comes later. */
	int r = api_get(v, "PersistentVolumeClaim", ns, source, &items, err, sizeof err);
	const char *pv = r == 0 ? k8s_str(json_object_array_get_idx(items, 0), "spec.volumeName") : NULL;
	if (pv && !volume_pv_tree(v, pv) && volume_pv_without_tree(v, pv, "snapshot", err, sizeof err) == -EINVAL)
		r = -EINVAL; /* a hostPath volume: its data is not volfs's to copy */
	json_object_put(items);
	if (r < 0)
		return answer_error(r, err);
	json_object *vs = new_object("snapshot.storage.k8s.io/v1", "VolumeSnapshot", ns, name);
	k8s_set_str(vs, "spec.source.persistentVolumeClaimName", source);
	json_object *list = json_object_new_array();
	json_object_array_add(list, vs);
	r = api_apply(v, list, NULL, ns, 1, &items, err, sizeof err);
	json_object_put(list);
	json_object_put(items);
	if (r == 0)
		r = api_get(v, "VolumeSnapshot", ns, name, &items, err, sizeof err);
	if (r < 0)
		return answer_error(r, err);
	json_object *out = json_object_get(json_object_array_get_idx(items, 0));
	json_object_put(items);
	return answer_ok(out);
}

/* snapshot, restore and clone: of volumes (kind/sourceKind
 * PersistentVolume, the default) or of claims. */
static json_object *handle_copy_verbs(struct vfs *v, const char *verb, json_object *req)
{
	const char *kind = str_field(req, !strcmp(verb, "snapshot") ? "sourceKind" : "kind");
	const char *name = str_field(req, "name");
	if (!kind || !strcmp(kind, KIND_PV))
		return handle_volume_copies(v, verb, req);
	if (strcmp(kind, "PersistentVolumeClaim"))
		return answer_error(-EINVAL, "snapshot, restore and clone work on persistentvolumes and "
		                    "persistentvolumeclaims");
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	if (!strcmp(verb, "snapshot"))
		return claim_snapshot(v, req, ns_field(req), name);
	if (!strcmp(verb, "restore"))
		return claim_restore(v, req, ns_field(req), name);
	return claim_clone(v, req, ns_field(req), name);
}

static int bool_field(json_object *req, const char *key)
{
	json_object *f;
	return json_object_object_get_ex(req, key, &f) && json_object_get_boolean(f);
}

static json_object *items_answer(int r, const char *err, json_object *items)
{
	return r < 0 ? answer_error(r, err) : answer_ok(items_result(items));
}

/* apply / delete of manifests: {objects, source, namespace}. */
static json_object *handle_manifest(struct vfs *v, const char *verb, json_object *req)
{
	char err[1024] = "";
	json_object *objects, *items = NULL;
	json_object_object_get_ex(req, "objects", &objects);
	const char *source = str_field(req, "source"), *ns = str_field(req, "namespace");
	int r = !strcmp(verb, "apply")
	        ? api_apply(v, objects, source, ns, 0, &items, err, sizeof err)
	        : api_delete(v, objects, source, ns, bool_field(req, "ignoreNotFound"), &items, err,
	                     sizeof err);
	return items_answer(r, err, items);
}

/* create {object}: one object that must not exist yet. */
static json_object *handle_create_object(struct vfs *v, json_object *req)
{
	char err[1024] = "";
	json_object *obj, *items = NULL;
	json_object_object_get_ex(req, "object", &obj);
	json_object *list = json_object_new_array();
	json_object_array_add(list, json_object_get(obj));
	int r = api_apply(v, list, NULL, str_field(req, "namespace"), 1, &items, err, sizeof err);
	json_object_put(list);
	if (r < 0)
		return answer_error(r, err);
	json_object *it = json_object_array_get_idx(items, 0), *out = NULL;
	r = api_get(v, k8s_str(it, "kind"), k8s_str(it, "namespace"), k8s_str(it, "name"), &out, err,
	            sizeof err);
	json_object_put(items);
	if (r < 0)
		return answer_error(r, err);
	json_object *o = json_object_get(json_object_array_get_idx(out, 0));
	json_object_put(out);
	return answer_ok(o);
}

/* Verbs on any kind by kind and name: get, describe, delete, patch, and
 * resize of a claim (a patch of its request). */
static json_object *handle_kind(struct vfs *v, const char *verb, const char *kind, json_object *req)
{
	char err[1024] = "";
	const char *name = str_field(req, "name");
	const char *ns = bool_field(req, "allNamespaces") ? NULL : ns_field(req);
	json_object *out = NULL;
	int r;
	if (!strcmp(verb, "get")) {
		r = api_get(v, kind, ns, name, &out, err, sizeof err);
		return items_answer(r, err, out);
	}
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	ns = ns_field(req);
	if (!strcmp(verb, "describe"))
		r = api_describe(v, kind, ns, name, &out, err, sizeof err);
	else if (!strcmp(verb, "delete")) {
		r = api_delete_one(v, kind, ns, name, err, sizeof err);
		if (r == 0) {
			out = json_object_new_object();
			json_object_object_add(out, "deleted", json_object_new_string(name));
		}
	} else if (!strcmp(verb, "patch")) {
		json_object *patch;
		r = json_object_object_get_ex(req, "patch", &patch) && json_object_is_type(patch, json_type_object)
		    ? api_patch(v, kind, ns, name, patch, &out, err, sizeof err)
		    : (snprintf(err, sizeof err, "a JSON object patch is required"), -EINVAL);
	} else if (!strcmp(verb, "resize") && !strcmp(kind, "PersistentVolumeClaim")) {
		uint64_t bytes;
		char q[64];
		if (u64_field(req, "capacity", &bytes) < 0)
			return answer_error(-EINVAL, "capacity (bytes) is required");
		quantity_format(bytes, q, sizeof q);
		json_object *patch = json_object_new_object();
		k8s_set_str(patch, "spec.resources.requests.storage", q);
		r = api_patch(v, kind, ns, name, patch, &out, err, sizeof err);
		json_object_put(patch);
	} else {
		snprintf(err, sizeof err, "verb \"%s\" is not supported for kind %s", verb, kind);
		r = -EINVAL;
	}
	return result_or_error(r, err, out);
}

/* A debug line per request: the verb and whom it names, never the
 * objects it carries (a Secret's data must not reach the log). */
static void log_request(const char *verb, json_object *req)
{
	if (!vlog_enabled(VLOG_DEBUG))
		return;
	const char *kind = str_field(req, "kind"), *ns = str_field(req, "namespace");
	const char *name = str_field(req, "name");
	char object[600] = "control.sock";
	if (kind && name)
		vlog_object_name(object, sizeof object, kind, ns ? ns : "", name);
	vlog_debug(object, "control request: %s", verb);
}

static json_object *dispatch(struct control *c, json_object *req, int *shutdown)
{
	const char *verb = str_field(req, "verb");
	if (!verb)
		return answer_error(-EINVAL, "request has no verb");
	log_request(verb, req);
	if (!strcmp(verb, "version")) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "version", json_object_new_string(VOLFS_VERSION));
		json_object_object_add(r, "schema", json_object_new_int(DB_SCHEMA_VERSION));
		if (c->mount_point)
			json_object_object_add(r, "mountPoint", json_object_new_string(c->mount_point));
		json_object_object_add(r, "hostWriteEngine", json_object_new_string(host_write_engine()));
		json_object_object_add(r, "hostFilesystem", json_object_new_string(host_write_fstype()));
		return answer_ok(r);
	}
	if (!strcmp(verb, "metrics"))
		return answer_metrics(c->v);
	if (!strcmp(verb, "df"))
		return answer_ok(items_result(volume_df(c->v)));
	if (!strcmp(verb, "check")) {
		json_object *problems = json_object_new_array();
		control_check(c->v, add_problem, problems);
		json_object *r = json_object_new_object();
		json_object_object_add(r, "problems", problems);
		return answer_ok(r);
	}
	if (!strcmp(verb, "shutdown")) {
		*shutdown = 1;
		return answer_ok(NULL);
	}
	if (!strcmp(verb, "snapshot") || !strcmp(verb, "restore") || !strcmp(verb, "clone"))
		return handle_copy_verbs(c->v, verb, req);
	if (json_object_object_get_ex(req, "objects", NULL) && (!strcmp(verb, "apply") || !strcmp(verb, "delete")))
		return handle_manifest(c->v, verb, req);
	if (!strcmp(verb, "create") && json_object_object_get_ex(req, "object", NULL))
		return handle_create_object(c->v, req);
	const char *kind = str_field(req, "kind");
	if (!kind)
		return answer_error(-EINVAL, "request has no kind");
	/* Volumes and snapshots answer with their usage. */
	if (!strcmp(kind, KIND_PV) && strcmp(verb, "delete") && strcmp(verb, "patch"))
		return handle_pv(c->v, verb, req);
	if (!strcmp(kind, "VolumeSnapshot") && (!strcmp(verb, "get") || !strcmp(verb, "describe")))
		return handle_vs(c->v, verb, req);
	return handle_kind(c->v, verb, kind, req);
}

static char *read_request(int fd)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			if (cap >= REQUEST_MAX)
				break;
			char *bigger = realloc(buf, cap * 2);
			if (!bigger)
				break;
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(buf + len - (size_t)n, '\n', (size_t)n))
			break;
	}
	if (buf)
		buf[len] = 0;
	return buf;
}

static void write_all(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* One request, serialized with every other; flushed before the answer:
 * what the control plane acknowledges survives kill -9. */
static json_object *serve_request(struct control *c, json_object *req, int *shutdown)
{
	pthread_mutex_lock(&c->lock);
	json_object *ans = req && json_object_is_type(req, json_type_object)
	                           ? dispatch(c, req, shutdown)
	                           : answer_error(-EINVAL, "request is not a JSON object");
	vfs_flush_all(c->v);
	pthread_mutex_unlock(&c->lock);
	return ans;
}

json_object *control_call(struct control *c, json_object *req)
{
	int shutdown = 0;
	json_object *ans = serve_request(c, req, &shutdown);
	if (shutdown && c->on_shutdown)
		c->on_shutdown(c->arg);
	return ans;
}

void control_hold(struct control *c)
{
	pthread_mutex_lock(&c->lock);
}

void control_release(struct control *c)
{
	pthread_mutex_unlock(&c->lock);
}

static int serve_one(struct control *c, int fd)
{
	int shutdown = 0;
	char *line = read_request(fd);
	json_object *req = line ? json_tokener_parse(line) : NULL;
	json_object *ans = serve_request(c, req, &shutdown);
	const char *s = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
	write_all(fd, s, strlen(s));
	write_all(fd, "\n", 1);
	json_object_put(ans);
	json_object_put(req);
	free(line);
	return shutdown;
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->stop_pipe[0], .events = POLLIN}};
	for (;;) {
		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[1].revents)
			break;
		int fd = accept4(c->fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		int shutdown = serve_one(c, fd);
		close(fd);
		if (shutdown && c->on_shutdown)
			c->on_shutdown(c->arg);
	}
	return NULL;
}

static int bind_socket(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(err, errlen, "control socket path too long: %s", path);
		return -1;
	}
	strcpy(addr.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return -1;
	}
	unlink(path); /* stale: we hold the state directory's lock */
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, 64) < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int control_start(struct control **out, struct vfs *v, const char *sock_path,
                  void (*on_shutdown)(void *arg), void *arg, char *err, size_t errlen)
{
	struct control *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	pthread_mutexattr_t attr;
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&c->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	c->v = v;
	c->on_shutdown = on_shutdown;
	c->arg = arg;
	c->path = strdup(sock_path);
	c->fd = bind_socket(sock_path, err, errlen);
	if (c->fd < 0 || pipe2(c->stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&c->thread, NULL, control_main, c) != 0) {
		if (c->fd >= 0)
			close(c->fd);
		pthread_mutex_destroy(&c->lock);
		free(c->path);
		free(c);
		return -1;
	}
	*out = c;
	return 0;
}

void control_set_mount_point(struct control *c, const char *path)
{
	char *copy = strdup(path);
	free(c->mount_point);
	c->mount_point = copy;
}

void control_stop(struct control *c)
{
	if (!c)
		return;
	if (write(c->stop_pipe[1], "x", 1) < 0)
		vlog_error("control.sock", "control stop: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	close(c->fd);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	unlink(c->path);
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c->mount_point);
	free(c);
}
