/*
 * fs/control/ctl_quota.c — the quota controller: a ResourceQuota's status
 * shows its hard limits and what the claims of its namespace use (the
 * arithmetic is meta/quota.c's).
 */
#include "fs/control/controller_int.h"

#include <string.h>

#include "meta/k8s.h"
#include "meta/quota.h"

static json_object *claims_in(struct ctl *c, const char *ns)
{
	json_object *list = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(c->pvcs); i++) {
		json_object *o = json_object_array_get_idx(c->pvcs, i);
		if (!ctl_is_gone(o) && !strcmp(ctl_ns_of(o), ns))
			json_object_array_add(list, json_object_get(o));
	}
	return list;
}

int ctl_quota_step(struct ctl *c, json_object *q)
{
	json_object *claims = claims_in(c, ctl_ns_of(q));
	jpath_set(q, "status.hard", ctl_copy(jpath_get(q, "spec.hard")));
	jpath_set(q, "status.used", quota_usage(q, claims));
	json_object_put(claims);
	return 0;
}
