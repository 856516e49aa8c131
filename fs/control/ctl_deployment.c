/*
 * fs/control/ctl_deployment.c — the Deployment controller: replicas pods
 * of the current template sharing its claims (the rules are
 * meta/deployment.c's); pods of an older template and pods past replicas
 * go, the claims stay.
 */
#include "fs/control/controller_int.h"

#include "meta/deployment.h"
#include "meta/k8s.h"

/* replicas pods of the current template, sharing its claims; pods of an
 * older template and pods past replicas go (the claims stay). */
int ctl_deploy_step(struct ctl *c, json_object *d)
{
	int n = ctl_deleting(d) ? 0 : deploy_replicas(d), changed = 0, left = 0, current = 0, ready = 0;
	for (size_t i = 0; i < json_object_array_length(c->pods); i++) {
		json_object *pod = json_object_array_get_idx(c->pods, i);
		int up_to_date;
		if (ctl_is_gone(pod) || !deploy_owns(d, pod, &up_to_date))
			continue;
		left++;
		if (ctl_deleting(pod))
			continue;
		if (!up_to_date || current >= n) {
			changed |= ctl_retire_pod(c, d, pod);
			continue;
		}
		current++;
		ready += ctl_running(pod);
	}
	for (unsigned slot = 0; current < n && slot < 100000; slot++) {
		json_object *pod = deploy_pod(d, slot);
		if (ctl_find(c->pods, ctl_ns_of(d), ctl_name_of(pod))) {
			json_object_put(pod);
			continue;
		}
		changed |= ctl_create_owned(c, d, pod, c->pods);
		current++;
	}
	if (ctl_deleting(d) && !left)
		return ctl_remove_object(c, d);
	jpath_set(d, "status.replicas", json_object_new_int(current));
	jpath_set(d, "status.updatedReplicas", json_object_new_int(current));
	jpath_set(d, "status.readyReplicas", json_object_new_int(ready));
	jpath_set(d, "status.availableReplicas", json_object_new_int(ready));
	return changed;
}
