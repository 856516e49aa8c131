/*
 * fs/control/controller.c — the controllers' run loop: what Kubernetes'
 * persistent-volume controller, external provisioner and resizer,
 * snapshot controller, namespace controller, quota controller and kubelet
 * do, on this machine. The API server (fs/control/api.c) only stores what
 * users ask for; the controllers make it true. This file loads one pass's
 * view of the objects, runs each controller's step on every live object
 * of its kind in a fixed order, stores what a step changed, and passes
 * again until nothing changes. The controllers themselves are one a file,
 * fs/control/ctl_*.c (fs/control/controller_int.h lists them and what they
 * share).
 *
 * Every step is its own transaction and every decision is taken again
 * from the stored objects, so a crash between two steps is finished by the
 * next run (the daemon runs the loop at start-up). The decisions that are
 * pure rules (which volume fits a claim, quota arithmetic) live in meta/.
 * Runs only under the control socket's lock (one request at a time),
 * so it is the single writer of objects.
 */
#include "fs/control/controller.h"
#include "fs/control/controller_int.h"

#include <errno.h>

#include "meta/log.h"
#include "meta/objects.h"

#define MAX_PASSES 16

/* Each list a page at a time (kobj_list_paged): the controllers are the
 * only writers of objects, and the data path must not wait for a pass. */
static int world_load(struct ctl *c)
{
	struct { json_object **list; const char *kind; } kinds[] = {
		{&c->classes, "StorageClass"}, {&c->pvs, "PersistentVolume"},
		{&c->pvcs, "PersistentVolumeClaim"}, {&c->vsclasses, "VolumeSnapshotClass"},
		{&c->vss, "VolumeSnapshot"}, {&c->vscs, "VolumeSnapshotContent"},
		{&c->quotas, "ResourceQuota"}, {&c->namespaces, "Namespace"}, {&c->pods, "Pod"},
		{&c->stss, "StatefulSet"}, {&c->configmaps, "ConfigMap"}, {&c->secrets, "Secret"},
		{&c->schedules, "SnapshotSchedule"},
		{&c->deploys, "Deployment"},
	};
	int r = 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!(*kinds[i].list = kobj_list_paged(c->db, kinds[i].kind)))
			r = -EIO;
	return r;
}

static void world_free(struct ctl *c)
{
	json_object *all[] = {c->classes, c->pvs, c->pvcs, c->vsclasses, c->vss, c->vscs, c->quotas,
	                      c->namespaces, c->pods, c->stss, c->configmaps, c->secrets,
	                      c->schedules, c->free_pvs, c->prebound, c->deploys};
	for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
		json_object_put(all[i]);
	c->free_pvs = c->prebound = NULL;
}

typedef int (*step_fn)(struct ctl *c, json_object *o);

/* One step per live object of a list; each object is saved if the step
 * changed it. Returns whether anything changed. */
static int sync_list(struct ctl *c, json_object *list, step_fn step)
{
	int changed = 0;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		if (ctl_is_gone(o))
			continue;
		char *before = ctl_text_of(o);
		changed |= step(c, o);
		changed |= ctl_save_if_text_changed(c, before, o);
	}
	return changed;
}

static void run_passes(struct vfs *v, int startup)
{
	struct ctl c = {.v = v, .db = vfs_db(v)};
	for (int pass = 0; pass < MAX_PASSES; pass++) {
		c.startup = startup && pass == 0;
		if (world_load(&c) < 0) { /* acting on part of the world could delete the rest */
			world_free(&c);
			vlog_warn("controller", "cannot read the objects; the pass waits for the next");
			break;
		}
		int changed = sync_list(&c, c.namespaces, ctl_namespace_step);
		changed |= sync_list(&c, c.stss, ctl_sts_step);
		changed |= sync_list(&c, c.deploys, ctl_deploy_step);
		changed |= sync_list(&c, c.pods, ctl_pod_step);
		changed |= sync_list(&c, c.pvcs, ctl_claim_step);
		changed |= sync_list(&c, c.schedules, ctl_schedule_step);
		changed |= sync_list(&c, c.pvs, ctl_volume_step);
		changed |= sync_list(&c, c.vss, ctl_snapshot_step);
		changed |= sync_list(&c, c.vscs, ctl_content_step);
		changed |= sync_list(&c, c.quotas, ctl_quota_step);
		world_free(&c);
		if (!changed)
			break;
	}
}

void controller_run(struct vfs *v)
{
	run_passes(v, 0);
}

void controller_run_startup(struct vfs *v)
{
	run_passes(v, 1);
}
