/*
 * fs/control/ctl_namespace.c — the namespace controller: a terminating
 * namespace marks everything in it for deletion, removes its quotas, and
 * goes once it is empty.
 */
#include "fs/control/controller_int.h"

#include <string.h>

/* A terminating namespace empties itself, then goes. */
int ctl_namespace_step(struct ctl *c, json_object *ns)
{
	if (!ctl_deleting(ns))
		return 0;
	const char *name = ctl_name_of(ns);
	int left = 0, changed = 0;
	json_object *lists[] = {c->pvcs, c->vss, c->pods, c->stss, c->deploys, c->quotas};
	for (size_t l = 0; l < sizeof lists / sizeof lists[0]; l++)
		for (size_t i = 0; i < json_object_array_length(lists[l]); i++) {
			json_object *o = json_object_array_get_idx(lists[l], i);
			if (ctl_is_gone(o) || strcmp(ctl_ns_of(o), name))
				continue;
			left++;
			if (lists[l] == c->quotas)
				changed |= ctl_remove_object(c, o);
			else {
				json_object *before = ctl_copy(o);
				ctl_mark_deleting(o);
				changed |= ctl_save_if_changed(c, before, o);
			}
		}
	if (!left)
		return ctl_remove_object(c, ns);
	return changed;
}
