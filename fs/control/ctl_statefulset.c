/*
 * fs/control/ctl_statefulset.c — the StatefulSet controller: replicas
 * 0..n-1, each pod with a claim per volumeClaimTemplate and ordinal
 * (the naming rules are meta/statefulset.c's); pods past n go, claims stay.
 */
#include "fs/control/controller_int.h"

#include <stdio.h>

#include "meta/k8s.h"
#include "meta/statefulset.h"

/* Replicas 0..n-1 with their claims; pods past n go, claims stay. */
int ctl_sts_step(struct ctl *c, json_object *sts)
{
	int n = ctl_deleting(sts) ? 0 : sts_replicas(sts), changed = 0, left = 0, ready = 0;
	for (int i = 0; i < n; i++) {
		for (size_t t = 0; t < sts_templates(sts); t++) {
			char claim[512];
			sts_claim_name(sts, t, i, claim, sizeof claim);
			if (!ctl_find(c->pvcs, ctl_ns_of(sts), claim))
				changed |= ctl_create_owned(c, sts, sts_claim(sts, t, i), c->pvcs);
		}
		char pod[512];
		snprintf(pod, sizeof pod, "%s-%d", ctl_name_of(sts), i);
		if (!ctl_find(c->pods, ctl_ns_of(sts), pod))
			changed |= ctl_create_owned(c, sts, sts_pod(sts, i), c->pods);
	}
	for (size_t i = 0; i < json_object_array_length(c->pods); i++) {
		json_object *pod = json_object_array_get_idx(c->pods, i);
		int ordinal;
		if (ctl_is_gone(pod) || !sts_owns(sts, pod, &ordinal))
			continue;
		left++;
		ready += ordinal < n && ctl_running(pod);
		if (ordinal >= n && !ctl_deleting(pod))
			changed |= ctl_retire_pod(c, sts, pod);
	}
	if (ctl_deleting(sts) && !left)
		return ctl_remove_object(c, sts);
	jpath_set(sts, "status.replicas", json_object_new_int(n));
	jpath_set(sts, "status.readyReplicas", json_object_new_int(ready));
	return changed;
}
