/*
 * fs/control/controller_int.h — what the controllers share: this pass's
 * view of the objects (struct ctl), the helpers that read, change and
 * report on them, and each controller's step, which the run loop
 * (fs/control/controller.c) calls on every live object of its kind.
 * Runs only with the control socket's lock held (one request at a time).
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

/* fs/control/ctl_objects.c: one pass's objects */
const char *ctl_kind_of(json_object *o);
const char *ctl_name_of(json_object *o);
const char *ctl_ns_of(json_object *o);
/* Removed during this pass (and skipped by every step after). */
int ctl_is_gone(json_object *o);
void ctl_mark_gone(json_object *o);
int ctl_deleting(json_object *o);
/* Set metadata.deletionTimestamp if unset; 1 if it changed. */
int ctl_mark_deleting(json_object *o);
void ctl_event(struct ctl *c, json_object *o, const char *type, const char *reason,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Store o if it differs from before (which it releases); 1 if stored. */
int ctl_save_if_changed(struct ctl *c, json_object *before, json_object *o);
/* o's compact JSON text, copied (NULL when memory ran out), and the same
 * as ctl_save_if_changed with that text as before (which it frees). A
 * pass compares every object so: text costs a fraction of a deep copy,
 * and an object the step left alone prints the same. */
char *ctl_text_of(json_object *o);
int ctl_save_if_text_changed(struct ctl *c, char *before, json_object *o);
int ctl_remove_object(struct ctl *c, json_object *o);
/* Set a string member; 1 if it changed. */
int ctl_set_str(json_object *o, const char *path, const char *s);
/* Set an annotation (its key holds dots, so no dotted path reaches it). */
void ctl_annotate(json_object *o, const char *key, const char *value);
json_object *ctl_copy(json_object *o);
/* A claim's spec.resources.requests.storage, as written. */
const char *ctl_claim_request(json_object *pvc);
/* The StorageClass of that name this pass, or NULL (also for "" or NULL). */
json_object *ctl_class_named(struct ctl *c, const char *cls);
int ctl_running(json_object *pod);
/* A live pod of the claim's namespace using it, other than `except`;
 * running_only: one that has its volumes. */
json_object *ctl_claim_user(struct ctl *c, json_object *pvc, const char *except, int running_only);

/* fs/control/ctl_index.c: lookups */
/* The live object named so in a list (NULL ns: cluster-scoped), by a
 * hash index. */
json_object *ctl_find(json_object *list, const char *ns, const char *name);
/* The volumes a claim could bind this pass (a new array): those pre-bound
 * to it and those bound to no claim; not the ones bound to other claims. */
json_object *ctl_claim_candidates(struct ctl *c, json_object *pvc);

/* fs/control/ctl_owned.c: objects of StatefulSets and Deployments */
/* Create obj (taken) through the API server's admission, as owner's,
 * and add it to list; 1 if created. */
int ctl_create_owned(struct ctl *c, json_object *owner, json_object *obj, json_object *list);
/* Mark a pod of owner for deletion; 1 if it changed. */
int ctl_retire_pod(struct ctl *c, json_object *owner, json_object *pod);

/* fs/control/ctl_binding.c: claims to volumes */
int ctl_claim_step(struct ctl *c, json_object *pvc);
/* The volume's claimRef names no uid, or the claim's. */
int ctl_claim_ref_matches(json_object *pv, json_object *pvc);
/* The class binds on first consumer and no pod uses the claim yet. */
int ctl_waits_for_consumer(struct ctl *c, json_object *pvc, const char *cls);
/* fs/control/ctl_provision.c: a claim no volume fits (why: the binder's
 * reason); the volume provisioned for it (in c->pvs, pre-bound to it), or
 * NULL. */
json_object *ctl_provision_claim(struct ctl *c, json_object *pvc, const char *cls, const char *why);
/* fs/control/ctl_expand.c: a bound claim whose request grew past pv. */
void ctl_expand_claim(struct ctl *c, json_object *pvc, json_object *pv);
/* fs/control/ctl_volume.c: PersistentVolumes */
int ctl_volume_step(struct ctl *c, json_object *pv);
/* A new, empty tree of cap bytes for pv: its rows, the inode limit pv
 * asks for, and pv's tree id moved from old (0: none) to it (*tree), or
 * -ESTALE if pv's tree is no longer old. db locked, in a transaction; the
 * caller attaches the tree once it commits. */
int ctl_volume_new_tree_rows(struct ctl *c, json_object *pv, uint64_t cap, uint64_t old,
                             uint64_t *tree, char *err, size_t errlen);
/* fs/control/ctl_reclaim.c: the claim is gone: apply the reclaim policy;
 * delete: the volume and its data go (a hostPath's host data stays). */
int ctl_reclaim_volume(struct ctl *c, json_object *pv);
int ctl_delete_volume(struct ctl *c, json_object *pv);
/* fs/control/ctl_snapshot.c: VolumeSnapshots and their contents */
int ctl_snapshot_step(struct ctl *c, json_object *vs);
int ctl_content_step(struct ctl *c, json_object *vsc);
/* fs/control/ctl_schedules.c: SnapshotSchedules */
int ctl_schedule_step(struct ctl *c, json_object *sched);
/* fs/control/ctl_namespace.c, ctl_quota.c */
int ctl_namespace_step(struct ctl *c, json_object *ns);
int ctl_quota_step(struct ctl *c, json_object *q);
/* fs/control/ctl_pod.c, ctl_statefulset.c, ctl_deployment.c */
int ctl_pod_step(struct ctl *c, json_object *pod);
int ctl_sts_step(struct ctl *c, json_object *sts);
int ctl_deploy_step(struct ctl *c, json_object *d);

#endif
