/*
 * fs/control/controller_int.h — what the controllers share (fs/control/controller.c for
 * volumes, claims, snapshots, namespaces and quotas; fs/control/pods.c for pods
 * and StatefulSets): this pass's view of the objects, and the helpers that
 * read, change and report on them. Runs only with the control socket's
 * lock held (one request at a time).
 */
#ifndef VOLFS_FS_CONTROLLER_INT_H
#define VOLFS_FS_CONTROLLER_INT_H

#include <json-c/json.h>

#include "fs/vfs/vfs.h"
#include "meta/db.h"

/* One pass: every object of the kinds the controllers act on, as loaded
 * at its start and changed by its steps. */
struct ctl {
	struct vfs *v;
	struct db *db;
	json_object *classes, *pvs, *pvcs, *vsclasses, *vss, *vscs, *quotas, *namespaces, *pods, *stss;
	json_object *configmaps, *secrets, *deploys;
	/* Built when first needed (fs/control/ctl_index.c): the volumes without a
	 * claimRef, and the others by the claim ("NS/NAME") they name. */
	json_object *free_pvs, *prebound;
	json_object *schedules;
	int startup; /* the first pass after the daemon started */
};

const char *ctl_kind_of(json_object *o);
const char *ctl_name_of(json_object *o);
const char *ctl_ns_of(json_object *o);
/* Removed during this pass (and skipped by every step after). */
int ctl_is_gone(json_object *o);
void ctl_mark_gone(json_object *o);
int ctl_deleting(json_object *o);
/* Set metadata.deletionTimestamp if unset; 1 if it changed. */
int ctl_mark_deleting(json_object *o);
/* The live object named so in a list (NULL ns: cluster-scoped), by a
 * hash index (fs/control/ctl_index.c). */
json_object *ctl_find(json_object *list, const char *ns, const char *name);
/* The volumes a claim could bind this pass (a new array): those pre-bound
 * to it and those bound to no claim; not the ones bound to other claims. */
json_object *ctl_claim_candidates(struct ctl *c, json_object *pvc);
void ctl_event(struct ctl *c, json_object *o, const char *type, const char *reason,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Store o if it differs from before (which it releases); 1 if stored. */
int ctl_save_if_changed(struct ctl *c, json_object *before, json_object *o);
int ctl_remove_object(struct ctl *c, json_object *o);
/* Set a string member; 1 if it changed. */
int ctl_set_str(json_object *o, const char *path, const char *s);
json_object *ctl_copy(json_object *o);
int ctl_running(json_object *pod);
/* A live pod of the claim's namespace using it, other than `except`;
 * running_only: one that has its volumes. */
json_object *ctl_claim_user(struct ctl *c, json_object *pvc, const char *except, int running_only);

/* podctl.c */
int ctl_pod_step(struct ctl *c, json_object *pod);
int ctl_sts_step(struct ctl *c, json_object *sts);
/* fs/control/schedules.c */
int ctl_schedule_step(struct ctl *c, json_object *sched);
int ctl_deploy_step(struct ctl *c, json_object *d);

#endif
