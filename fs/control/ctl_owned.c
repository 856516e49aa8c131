/*
 * fs/control/ctl_owned.c — what a workload controller (StatefulSet,
 * Deployment) does with the objects it owns: create one through the API
 * server's admission, as its own controller in Kubernetes does, and
 * retire a pod it no longer wants.
 */
#include "fs/control/controller_int.h"

#include <string.h>

#include "fs/control/api.h"
#include "meta/objects.h"

/* Create one object through the API server's admission (quota included),
 * and add it to this pass's view. */
int ctl_create_owned(struct ctl *c, json_object *owner, json_object *obj, json_object *list)
{
	char err[1024] = "";
	json_object *one = json_object_new_array();
	json_object_array_add(one, json_object_get(obj));
	int r = api_store(c->v, one, ctl_ns_of(owner), err, sizeof err);
	json_object_put(one);
	if (r < 0) {
		ctl_event(c, owner, "Warning", "FailedCreate", "create %s %s failed: %s", ctl_kind_of(obj),
		      ctl_name_of(obj), err);
		json_object_put(obj);
		return 0;
	}
	db_lock(c->db);
	json_object *stored = kobj_get(c->db, ctl_kind_of(obj), ctl_ns_of(obj), ctl_name_of(obj), NULL);
	db_unlock(c->db);
	if (stored)
		json_object_array_add(list, stored);
	ctl_event(c, owner, "Normal", "SuccessfulCreate", "create %s %s in %s %s successful",
	      !strcmp(ctl_kind_of(obj), "Pod") ? "Pod" : "Claim", ctl_name_of(obj), ctl_kind_of(owner),
	      ctl_name_of(owner));
	json_object_put(obj);
	return 1;
}

/* Mark a pod of the owner for deletion; 1 if it changed. */
int ctl_retire_pod(struct ctl *c, json_object *owner, json_object *pod)
{
	json_object *before = ctl_copy(pod);
	ctl_mark_deleting(pod);
	int changed = ctl_save_if_changed(c, before, pod);
	ctl_event(c, owner, "Normal", "SuccessfulDelete", "delete Pod %s in %s %s successful",
	          ctl_name_of(pod), ctl_kind_of(owner), ctl_name_of(owner));
	return changed;
}
