/*
 * fs/control/ctl_objects.c — what every controller does with one pass's
 * objects: read their names, mark them removed or terminating, store or
 * delete them (each its own transaction), set members, report events, and
 * the questions several controllers ask (a claim's class, its users).
 */
#include "fs/control/controller_int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "fs/control/volume.h"
#include "meta/k8s.h"
#include "meta/log.h"
#include "meta/objects.h"
#include "meta/pod.h"

#define GONE "volfs:gone" /* marks an object removed during this pass */

const char *ctl_kind_of(json_object *o) { return jpath_str(o, "kind"); }

const char *ctl_name_of(json_object *o) { return jpath_str(o, "metadata.name"); }

const char *ctl_ns_of(json_object *o)
{
	const char *ns = jpath_str(o, "metadata.namespace");
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
	return jpath_get(o, "metadata.deletionTimestamp") != NULL;
}

int ctl_mark_deleting(json_object *o)
{
	if (ctl_deleting(o))
		return 0;
	char ts[32];
	rfc3339(time(NULL), ts, sizeof ts);
	jpath_set_str(o, "metadata.deletionTimestamp", ts);
	return 1;
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
			r = finish_txn(c->db, kobj_update(c->db, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o), o));
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

char *ctl_text_of(json_object *o)
{
	return strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
}

int ctl_save_if_text_changed(struct ctl *c, char *before, json_object *o)
{
	const char *now = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	int same = before && now && !strcmp(before, now);
	/* Different text may still be the same content, members in another
	 * order: the parsed text tells (none when it could not be copied:
	 * then o is stored). */
	json_object *was = same || !before ? NULL : json_tokener_parse(before);
	free(before);
	return same ? 0 : ctl_save_if_changed(c, was, o);
}

int ctl_remove_object(struct ctl *c, json_object *o)
{
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, kobj_delete(c->db, ctl_kind_of(o), ctl_ns_of(o), ctl_name_of(o)));
	db_unlock(c->db);
	if (r == 0)
		ctl_mark_gone(o);
	return r == 0;
}

int ctl_set_str(json_object *o, const char *path, const char *s)
{
	const char *cur = jpath_str(o, path);
	if (cur && !strcmp(cur, s))
		return 0;
	jpath_set_str(o, path, s);
	return 1;
}

/* Annotation keys hold dots, so they cannot go through a dotted path. */
void ctl_annotate(json_object *o, const char *key, const char *value)
{
	json_object_object_add(jpath_obj(o, "metadata.annotations"), key, json_object_new_string(value));
}

json_object *ctl_copy(json_object *o)
{
	json_object *c = NULL;
	json_object_deep_copy(o, &c, NULL);
	return c;
}

const char *ctl_claim_request(json_object *pvc)
{
	return jpath_str(pvc, "spec.resources.requests.storage");
}

json_object *ctl_class_named(struct ctl *c, const char *cls)
{
	return cls && *cls ? ctl_find(c->classes, NULL, cls) : NULL;
}

int ctl_running(json_object *pod)
{
	const char *phase = jpath_str(pod, "status.phase");
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
