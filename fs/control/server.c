/*
 * fs/control/server.c — serves the control socket: accepts connections,
 * reads one JSON request line from each, dispatches on its verb to the
 * volume layer, writes one JSON answer. Each connection has a thread of its
 * own (up to CONTROL_MAX_CLIENTS) and a deadline for sending its request
 * and reading its answer, so a stalled client delays nobody else; the
 * requests themselves are served one at a time (the daemon is the single
 * writer of meta.db, and the volume layer expects one control caller).
 */
#include "fs/control/server.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "fs/control/accept.h"
#include "fs/control/api.h"
#include "fs/control/controller.h"
#include "fs/control/metrics.h"
#include "fs/control/request.h"
#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "fs/control/volume_df.h"
#include "fs/control/watch.h"
#include "fs/store/store.h"
#include "fs/store/hostwrite.h"
#include "fs/obs/fuse_transport.h"
#include "fs/obs/writeback_cache.h"
#include "meta/k8s.h"
#include "meta/objects.h"
#include "meta/quantity.h"
#include "meta/log.h"
#include "meta/protocol.h"
#include "meta/version.h"

/* Connections served at once; more wait in the listen backlog. */
#define CONTROL_MAX_CLIENTS 64
/* A client has this long to send its request, and again to read the
 * answer, before the daemon hangs up on it. */
#define CONTROL_CLIENT_TIMEOUT_MS 60000
/* How much of an oversized request is read and dropped so that its client,
 * still sending, gets the answer rather than a reset; past this the
 * connection is closed with the rest unread. */
#define REQUEST_DRAIN_MAX (64ull * PROTOCOL_REQUEST_MAX)

struct control {
	struct acceptor acc; /* accepts on fd, with a spare descriptor */
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
	pthread_mutex_t clients_lock; /* guards clients[], nclients, stopping */
	pthread_cond_t clients_cond;  /* a connection ended */
	int clients[CONTROL_MAX_CLIENTS]; /* open connections' fds, -1 free */
	int nclients;
	int stopping;
	struct watches *watches; /* get -w and wait: connections kept open */
};

struct connection {
	struct control *c;
	int fd;
	int64_t deadline_ms; /* CLOCK_MONOTONIC */
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
	case -E2BIG: return PROTOCOL_TOO_LARGE;
	case -EDQUOT: return "Forbidden";
	default: return "Internal";
	}
}

static json_object *answer_error(int err, const char *msg)
{
	json_object *a = json_object_new_object();
	json_object_object_add(a, "ok", json_object_new_boolean(0));
	/* An error from below the API (a full host, an I/O error) may come
	 * without words of its own. */
	json_object_object_add(a, "error", json_object_new_string(msg && *msg ? msg : strerror(-err)));
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

/* The check verb's answer: "problems" (damage) and "pending" (cleanup). */
struct check_answer {
	json_object *problems, *pending;
};

static void add_problem(void *arg, const char *msg)
{
	json_object_array_add(((struct check_answer *)arg)->problems, json_object_new_string(msg));
}

static void add_pending(void *arg, const char *msg)
{
	json_object_array_add(((struct check_answer *)arg)->pending, json_object_new_string(msg));
}

static void note_pending(const struct store_pending *p, void (*note)(void *arg, const char *msg),
                         void *arg)
{
	char line[300];
	if (p->deleted) {
		snprintf(line, sizeof line, "pending cleanup: %u data file%s of deleted objects, "
		         "removed at the next start", p->deleted, p->deleted == 1 ? "" : "s");
		note(arg, line);
	}
	if (p->unknown) {
		snprintf(line, sizeof line, "pending cleanup: %u data file%s that no committed object "
		         "owns, moved to STATE/lost+found at the next start", p->unknown,
		         p->unknown == 1 ? "" : "s");
		note(arg, line);
	}
}

int control_check(struct vfs *v, void (*report)(void *arg, const char *msg),
                  void (*note)(void *arg, const char *msg), void *arg)
{
	struct store_pending pending;
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
	problems += vfs_check(v, report, arg, &pending);
	db_unlock(db);
	note_pending(&pending, note, arg);
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
		uint64_t inodes = 0;
		if (json_object_object_get_ex(req, "inodes", NULL) && u64_field(req, "inodes", &inodes) < 0)
			return answer_error(-EINVAL, "inodes must be a number");
		r = !strcmp(verb, "create") ? volume_pv_create(v, name, capacity, inodes, &out, err, sizeof err)
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

/* The new volume's body from the optional "object" of a restore or clone:
 * a PersistentVolume manifest giving its labels, annotations and spec (the
 * name is the verb's, the capacity is set when the volume is made). *body
 * stays NULL without one; a manifest that does not validate, or that asks
 * for a hostPath (whose data would not be the copy), is refused. */
static int template_body(json_object *req, const char *name, json_object **body, char *err,
                         size_t errlen)
{
	json_object *tmpl;
	*body = NULL;
	if (!json_object_object_get_ex(req, "object", &tmpl) || !tmpl)
		return 0;
	json_object *o = NULL;
	if (json_object_deep_copy(tmpl, &o, NULL) < 0 || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		snprintf(err, errlen, "object: a PersistentVolume manifest is required");
		return -EINVAL;
	}
	jpath_set_str(o, "metadata.name", name);
	const char *kind = jpath_str(o, "kind");
	int r = kind && !strcmp(kind, KIND_PV) ? k8s_validate(o, NULL, err, errlen)
	        : (snprintf(err, errlen, "object: kind must be PersistentVolume"), -EINVAL);
	if (r == 0 && jpath_get(o, "spec.hostPath")) {
		snprintf(err, errlen, "object: spec.hostPath: a restored or cloned volume holds volfs data");
		r = -EINVAL;
	}
	if (r < 0) {
		json_object_put(o);
		return r;
	}
	json_object_object_del(o, "status");
	jpath_set_str(o, "status.phase", "Available");
	*body = o;
	return 0;
}

/* snapshot {source, name, namespace}, restore {snapshot, name, namespace,
 * capacity?, object?}, clone {source, name, capacity?, object?}: sources
 * and results are pv names. */
static json_object *handle_volume_copies(struct vfs *v, const char *verb, json_object *req)
{
	char err[512] = "";
	const char *name = str_field(req, "name"), *source = str_field(req, "source");
	const char *snap = str_field(req, "snapshot");
	json_object *out = NULL, *body = NULL;
	uint64_t capacity = 0;
	int r;
	if (!name)
		return answer_error(-EINVAL, "a name is required");
	u64_field(req, "capacity", &capacity);
	if (!strcmp(verb, "snapshot"))
		r = source ? snapshot_create(v, source, ns_field(req), name, NULL, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	else if ((r = template_body(req, name, &body, err, sizeof err)) < 0)
		;
	else if (!strcmp(verb, "restore"))
		r = snap ? volume_restore(v, ns_field(req), snap, name, capacity, body, &out, err, sizeof err)
		         : (snprintf(err, sizeof err, "a snapshot is required"), -EINVAL);
	else
		r = source ? volume_clone(v, source, name, capacity, body, &out, err, sizeof err)
		           : (snprintf(err, sizeof err, "a source volume is required"), -EINVAL);
	json_object_put(body);
	return result_or_error(r, err, out);
}

static json_object *new_object(const char *api_version, const char *kind, const char *ns,
                               const char *name)
{
	json_object *o = json_object_new_object();
	jpath_set_str(o, "apiVersion", api_version);
	jpath_set_str(o, "kind", kind);
	jpath_set_str(o, "metadata.name", name);
	jpath_set_str(o, "metadata.namespace", ns);
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
	const char *phase = jpath_str(pvc, "status.phase");
	if (phase && !strcmp(phase, "Bound"))
		return answer_ok(pvc);
	db_lock(vfs_db(v));
	events = event_list(vfs_db(v), "PersistentVolumeClaim", ns, name);
	db_unlock(vfs_db(v));
	size_t n = json_object_array_length(events);
	json_object *last = n ? json_object_array_get_idx(events, n - 1) : NULL;
	const char *type = last ? jpath_str(last, "type") : NULL;
	if (!type || strcmp(type, "Warning")) {
		json_object_put(events);
		return answer_ok(pvc); /* waiting for a consumer, say */
	}
	snprintf(err, sizeof err, "%s", jpath_str(last, "message"));
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

/* The class of what a snapshot was taken of: its claim's, or its bare
 * volume's; 0 when neither is there any more (the default class then). */
static int source_class(struct vfs *v, json_object *vs, const char *ns, char *buf, size_t len)
{
	const char *claim = jpath_str(vs, "spec.source.persistentVolumeClaimName");
	const char *bare = jpath_str(vs, "spec.source.persistentVolumeName");
	json_object *items = NULL;
	char err[512];
	int found = 0;
	if ((claim || bare) && api_get(v, claim ? "PersistentVolumeClaim" : KIND_PV, ns, claim ? claim : bare,
	                               &items, err, sizeof err) == 0) {
		const char *class = jpath_str(json_object_array_get_idx(items, 0), "spec.storageClassName");
		if (class && *class) { /* "" binds only class-less volumes: nothing to restore into */
			snprintf(buf, len, "%s", class);
			found = 1;
		}
		json_object_put(items);
	}
	return found;
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
		snprintf(q, sizeof q, "%s", jpath_str(vs, "status.restoreSize") ? jpath_str(vs, "status.restoreSize") : "1Gi");
	char class[256] = "";
	int has_class = source_class(v, vs, ns, class, sizeof class);
	json_object_put(items);
	json_object *pvc = new_object("v1", "PersistentVolumeClaim", ns, name);
	json_object *modes = json_object_new_array();
	json_object_array_add(modes, json_object_new_string("ReadWriteOnce"));
	jpath_set(pvc, "spec.accessModes", modes);
	if (has_class)
		jpath_set_str(pvc, "spec.storageClassName", class);
	jpath_set_str(pvc, "spec.resources.requests.storage", q);
	jpath_set_str(pvc, "spec.dataSource.apiGroup", "snapshot.storage.k8s.io");
	jpath_set_str(pvc, "spec.dataSource.kind", "VolumeSnapshot");
	jpath_set_str(pvc, "spec.dataSource.name", snap);
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
	jpath_set(pvc, "spec.accessModes", json_object_get(jpath_get(src, "spec.accessModes")));
	jpath_set_str(pvc, "spec.resources.requests.storage", jpath_str(src, "spec.resources.requests.storage"));
	if (jpath_str(src, "spec.storageClassName"))
		jpath_set_str(pvc, "spec.storageClassName", jpath_str(src, "spec.storageClassName"));
	jpath_set_str(pvc, "spec.dataSource.kind", "PersistentVolumeClaim");
	jpath_set_str(pvc, "spec.dataSource.name", source);
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
	const char *pv = r == 0 ? jpath_str(json_object_array_get_idx(items, 0), "spec.volumeName") : NULL;
	if (pv && !volume_pv_tree(v, pv) && volume_pv_without_tree(v, pv, "snapshot", err, sizeof err) == -EINVAL)
		r = -EINVAL; /* a hostPath volume: its data is not volfs's to copy */
	json_object_put(items);
	if (r < 0)
		return answer_error(r, err);
	json_object *vs = new_object("snapshot.storage.k8s.io/v1", "VolumeSnapshot", ns, name);
	jpath_set_str(vs, "spec.source.persistentVolumeClaimName", source);
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
	r = api_get(v, jpath_str(it, "kind"), jpath_str(it, "namespace"), jpath_str(it, "name"), &out, err,
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
		jpath_set_str(patch, "spec.resources.requests.storage", q);
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

static json_object *dispatch(struct vfs *v, const char *mount_point, json_object *req, int *shutdown)
{
	const char *verb = str_field(req, "verb");
	if (!verb)
		return answer_error(-EINVAL, "request has no verb");
	log_request(verb, req);
	if (!strcmp(verb, "version")) {
		json_object *r = json_object_new_object();
		json_object_object_add(r, "version", json_object_new_string(VOLFS_VERSION));
		json_object_object_add(r, "schema", json_object_new_int(DB_SCHEMA_VERSION));
		if (mount_point)
			json_object_object_add(r, "mountPoint", json_object_new_string(mount_point));
		json_object_object_add(r, "hostWriteEngine", json_object_new_string(host_write_engine()));
		json_object_object_add(r, "hostFilesystem", json_object_new_string(host_write_fstype()));
		json_object_object_add(r, "fuseTransport",
		                       json_object_new_string(fuse_transport_name(fuse_transport_current())));
		json_object_object_add(r, "writebackCache", json_object_new_string(writeback_cache_name()));
		return answer_ok(r);
	}
	if (!strcmp(verb, "metrics"))
		return answer_metrics(v);
	if (!strcmp(verb, "df")) {
		json_object *items = volume_df(v);
		if (!items)
			return answer_error(-EIO, "cannot read the objects' trees");
		json_object *r = items_result(items);
		json_object_object_add(r, "reclaimPending", volume_reclaim_pending(v));
		return answer_ok(r);
	}
	if (!strcmp(verb, "check")) {
		struct check_answer a = { json_object_new_array(), json_object_new_array() };
		control_check(v, add_problem, add_pending, &a);
		json_object *r = json_object_new_object();
		json_object_object_add(r, "problems", a.problems);
		json_object_object_add(r, "pending", a.pending);
		return answer_ok(r);
	}
	if (!strcmp(verb, "shutdown")) {
		*shutdown = 1;
		return answer_ok(NULL);
	}
	if (!strcmp(verb, "snapshot") || !strcmp(verb, "restore") || !strcmp(verb, "clone"))
		return handle_copy_verbs(v, verb, req);
	if (json_object_object_get_ex(req, "objects", NULL) && (!strcmp(verb, "apply") || !strcmp(verb, "delete")))
		return handle_manifest(v, verb, req);
	if (!strcmp(verb, "create") && json_object_object_get_ex(req, "object", NULL))
		return handle_create_object(v, req);
	const char *kind = str_field(req, "kind");
	if (!kind)
		return answer_error(-EINVAL, "request has no kind");
	if (!strcmp(kind, "Event") && !strcmp(verb, "get")) {
		char err[512] = "";
		json_object *out = NULL;
		int r = watch_list(v, kind, bool_field(req, "allNamespaces") ? NULL : ns_field(req),
		                   str_field(req, "name"), &out, err, sizeof err);
		return items_answer(r, err, out);
	}
	/* Volumes and snapshots answer with their usage. */
	if (!strcmp(kind, KIND_PV) && strcmp(verb, "delete") && strcmp(verb, "patch"))
		return handle_pv(v, verb, req);
	if (!strcmp(kind, "VolumeSnapshot") && (!strcmp(verb, "get") || !strcmp(verb, "describe")))
		return handle_vs(v, verb, req);
	return handle_kind(v, verb, kind, req);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the connection's deadline has
 * passed: 1 ready, 0 timed out or hung up on. */
static int wait_ready(struct connection *k, short events)
{
	for (;;) {
		int64_t left = k->deadline_ms - now_ms();
		if (left <= 0)
			return 0;
		struct pollfd p = {.fd = k->fd, .events = events};
		int n = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
		if (n < 0 && errno == EINTR)
			continue;
		return n > 0 && (p.revents & (events | POLLHUP | POLLERR));
	}
}

/* Read and drop the rest of an oversized request line, within the
 * connection's deadline. */
static void drain_line(struct connection *k)
{
	char chunk[65536];
	unsigned long long dropped = 0;
	while (dropped < REQUEST_DRAIN_MAX && wait_ready(k, POLLIN)) {
		ssize_t n = read(k->fd, chunk, sizeof chunk);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0 || memchr(chunk, '\n', (size_t)n))
			return;
		dropped += (size_t)n;
	}
}

/* Read one request line (up to its newline, the end of the stream or the
 * deadline) into *out, NUL-terminated without the newline. Returns 0,
 * -ENOMEM, or -E2BIG when the line, newline included, is longer than
 * PROTOCOL_REQUEST_MAX: then the rest is drained. */
static int read_request(struct connection *k, char **out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (len == cap) {
			if (cap >= PROTOCOL_REQUEST_MAX) {
				free(buf);
				drain_line(k);
				return -E2BIG;
			}
			size_t grown = cap * 2 < PROTOCOL_REQUEST_MAX ? cap * 2 : PROTOCOL_REQUEST_MAX;
			char *bigger = realloc(buf, grown + 1);
			if (!bigger)
				break;
			buf = bigger;
			cap = grown;
		}
		if (!wait_ready(k, POLLIN))
			break;
		ssize_t n = read(k->fd, buf + len, cap - len);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		char *newline = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (newline) {
			len = (size_t)(newline - buf);
			break;
		}
	}
	if (!buf) {
		drain_line(k);
		return -ENOMEM;
	}
	buf[len] = 0;
	*out = buf;
	return 0;
}

static json_object *answer_read_error(int r)
{
	char msg[160];
	if (r == -E2BIG)
		snprintf(msg, sizeof msg, "request exceeds the control protocol's limit of %s (%u bytes)",
		         PROTOCOL_REQUEST_MAX_TEXT, PROTOCOL_REQUEST_MAX);
	else
		snprintf(msg, sizeof msg, "cannot read the request: %s", strerror(-r));
	return answer_error(r, msg);
}

/* One JSON value and nothing after it but blanks, or NULL. */
static json_object *parse_request(const char *request)
{
	json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	int len = (int)strnlen(request, PROTOCOL_REQUEST_MAX);
	json_object *req = json_tokener_parse_ex(tok, request, len);
	if (req && json_tokener_get_error(tok) == json_tokener_success) {
		size_t end = json_tokener_get_parse_end(tok);
		if (request[end + strspn(request + end, " \t\r")]) {
			json_object_put(req);
			req = NULL;
		}
	} else {
		json_object_put(req);
		req = NULL;
	}
	json_tokener_free(tok);
	return req;
}

/* A parsed request (NULL: none), its members' types checked first. */
static json_object *answer_request(struct vfs *v, const char *mount_point, json_object *req,
                                   int *shutdown)
{
	char err[512];
	if (!req)
		return answer_error(-EINVAL, "request is not a JSON object");
	if (request_check(req, err, sizeof err) < 0)
		return answer_error(-EINVAL, err);
	return dispatch(v, mount_point, req, shutdown);
}

json_object *control_answer(struct vfs *v, const char *mount_point, const char *request, int *shutdown)
{
	json_object *req = parse_request(request);
	json_object *ans = req ? answer_request(v, mount_point, req, shutdown)
	                       : answer_error(-EINVAL, "request is not one JSON object");
	json_object_put(req);
	return ans;
}

static void write_all(struct connection *k, const char *s, size_t len)
{
	while (len > 0 && wait_ready(k, POLLOUT)) {
		ssize_t n = send(k->fd, s, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
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
	json_object *ans = answer_request(c->v, c->mount_point, req, shutdown);
	vfs_flush_all(c->v);
	watches_notify(c->watches, c->v); /* the changes, to every watch, in order */
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

static int serve_one(struct connection *k)
{
	int shutdown = 0;
	k->deadline_ms = now_ms() + CONTROL_CLIENT_TIMEOUT_MS;
	char *line = NULL;
	int r = read_request(k, &line);
	json_object *req = r < 0 ? NULL : parse_request(line);
	char err[512];
	if (req && watch_request(req) && request_check(req, err, sizeof err) == 0) {
		/* Under the lock: no change slips between the list and the watch.
		 * The watch keeps its own descriptor; this connection ends. (A
		 * malformed watch is answered with its error below.) */
		int fd = dup(k->fd);
		pthread_mutex_lock(&k->c->lock);
		if (fd >= 0)
			watches_add(k->c->watches, k->c->v, fd, req);
		pthread_mutex_unlock(&k->c->lock);
		json_object_put(req);
		free(line);
		return 0;
	}
	json_object *ans = r < 0 ? answer_read_error(r)
	                  : req ? serve_request(k->c, req, &shutdown)
	                        : answer_error(-EINVAL, "request is not one JSON object");
	const char *s = json_object_to_json_string_ext(ans, JSON_C_TO_STRING_PLAIN);
	k->deadline_ms = now_ms() + CONTROL_CLIENT_TIMEOUT_MS;
	write_all(k, s, strlen(s));
	write_all(k, "\n", 1);
	json_object_put(ans);
	json_object_put(req);
	free(line);
	return shutdown;
}

static void forget_client(struct control *c, int fd)
{
	pthread_mutex_lock(&c->clients_lock);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] == fd)
			c->clients[i] = -1;
	c->nclients--;
	assert(c->nclients >= 0);
	pthread_cond_broadcast(&c->clients_cond);
	pthread_mutex_unlock(&c->clients_lock);
}

static void *connection_main(void *arg)
{
	struct connection *k = arg;
	struct control *c = k->c;
	db_thread_background();
	int shutdown = serve_one(k);
	/* Before this connection is forgotten: control_stop, which the
	 * shutdown leads to, frees c once no connection is left. */
	if (shutdown && c->on_shutdown)
		c->on_shutdown(c->arg);
	forget_client(c, k->fd);
	close(k->fd);
	free(k);
	return NULL;
}

/* A client accepted on the spare descriptor is served by the accepting
 * thread itself: with every descriptor in use, starting a thread (and
 * what the sanitizers do in one) may need one more. */
static void serve_here(struct control *c, int fd)
{
	struct connection k = {.c = c, .fd = fd};
	int shutdown = serve_one(&k);
	close(fd);
	if (shutdown && c->on_shutdown)
		c->on_shutdown(c->arg);
}

/* Wait for a free client slot and take it: 0, or -1 when stopping. */
static int take_client_slot(struct control *c, int fd)
{
	pthread_mutex_lock(&c->clients_lock);
	while (c->nclients == CONTROL_MAX_CLIENTS && !c->stopping)
		pthread_cond_wait(&c->clients_cond, &c->clients_lock);
	int r = c->stopping ? -1 : 0;
	for (int i = 0; r == 0 && i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] < 0) {
			c->clients[i] = fd;
			c->nclients++;
			break;
		}
	pthread_mutex_unlock(&c->clients_lock);
	return r;
}

static void start_connection(struct control *c, int fd)
{
	struct connection *k = malloc(sizeof *k);
	pthread_t t;
	pthread_attr_t attr;
	if (!k || take_client_slot(c, fd) < 0) {
		free(k);
		close(fd);
		return;
	}
	*k = (struct connection){.c = c, .fd = fd};
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, connection_main, k) != 0) {
		vlog_error("control.sock", "cannot start a thread for a client: %s", strerror(errno));
		forget_client(c, fd);
		close(fd);
		free(k);
	}
	pthread_attr_destroy(&attr);
}

static void *control_main(void *arg)
{
	struct control *c = arg;
	db_thread_background();
	struct pollfd p[2] = {{.fd = c->fd, .events = POLLIN}, {.fd = c->stop_pipe[0], .events = POLLIN}};
	for (;;) {
		/* Requests may keep poll from ever timing out: a due snapshot
		 * schedule is checked before every wait. */
		int wait = schedules_next_wakeup(c->v);
		if (wait == 0) {
			controller_run(c->v);
			wait = schedules_next_wakeup(c->v);
			if (wait == 0) /* the controller could not move it on */
				wait = 1000;
		}
		int n = poll(p, 2, wait);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (n == 0)
			continue;
		if (p[1].revents)
			break;
		int fd = acceptor_next(&c->acc);
		if (fd >= 0) {
			fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
			if (c->acc.spare < 0)
				serve_here(c, fd); /* out of descriptors: no thread */
			else
				start_connection(c, fd);
			acceptor_done(&c->acc);
		} else if (errno == ENOMEM || errno == ENOBUFS) {
			poll(NULL, 0, 100); /* out of memory: let clients finish, do not spin */
		}
	}
	return NULL;
}

/* Does a process accept connections on the socket at addr? A full
 * backlog (EAGAIN) is a live listener too. */
static int socket_is_served(const struct sockaddr_un *addr)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return 0;
	int live = connect(fd, (const struct sockaddr *)addr, sizeof *addr) == 0 || errno == EAGAIN;
	close(fd);
	return live;
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
	/* Holding the state directory's lock, a socket there is stale, unless
	 * a daemon that lost track of the lock still serves it. */
	if (socket_is_served(&addr)) {
		snprintf(err, errlen, "%s is served by another process; not replacing it (is another "
		         "volfs using this state directory?)", path);
		close(fd);
		return -1;
	}
	unlink(path);
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || chmod(path, 0600) < 0 || listen(fd, SOMAXCONN) < 0) {
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
	pthread_mutex_init(&c->clients_lock, NULL);
	pthread_cond_init(&c->clients_cond, NULL);
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		c->clients[i] = -1;
	c->v = v;
	c->on_shutdown = on_shutdown;
	c->arg = arg;
	c->path = strdup(sock_path);
	c->watches = watches_new();
	c->fd = bind_socket(sock_path, err, errlen);
	acceptor_init(&c->acc, c->fd, "control.sock");
	if (c->fd < 0 || !c->watches || pipe2(c->stop_pipe, O_CLOEXEC) < 0 ||
	    pthread_create(&c->thread, NULL, control_main, c) != 0) {
		acceptor_destroy(&c->acc);
		if (c->fd >= 0)
			close(c->fd);
		pthread_mutex_destroy(&c->lock);
		pthread_mutex_destroy(&c->clients_lock);
		pthread_cond_destroy(&c->clients_cond);
		watches_free(c->watches);
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
	/* Hang up on clients still sending or reading (one being served
	 * finishes its request first), and wake an accept waiting for a slot. */
	pthread_mutex_lock(&c->clients_lock);
	c->stopping = 1;
	for (int i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (c->clients[i] >= 0)
			shutdown(c->clients[i], SHUT_RDWR);
	pthread_cond_broadcast(&c->clients_cond);
	pthread_mutex_unlock(&c->clients_lock);
	if (write(c->stop_pipe[1], "x", 1) < 0)
		vlog_error("control.sock", "control stop: %s", strerror(errno));
	pthread_join(c->thread, NULL);
	pthread_mutex_lock(&c->clients_lock);
	while (c->nclients > 0)
		pthread_cond_wait(&c->clients_cond, &c->clients_lock);
	pthread_mutex_unlock(&c->clients_lock);
	pthread_mutex_destroy(&c->clients_lock);
	pthread_cond_destroy(&c->clients_cond);
	acceptor_destroy(&c->acc);
	close(c->fd);
	close(c->stop_pipe[0]);
	close(c->stop_pipe[1]);
	unlink(c->path);
	pthread_mutex_destroy(&c->lock);
	watches_free(c->watches);
	free(c->path);
	free(c->mount_point);
	free(c);
}
