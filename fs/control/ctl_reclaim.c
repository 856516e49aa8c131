/*
 * fs/control/ctl_reclaim.c — what happens to a volume whose claim is gone,
 * by its reclaim policy (Delete, Recycle; Retain keeps it Released), and
 * to a volume being deleted: its tree and data go, a hostPath volume's
 * host data stays.
 */
#include "fs/control/controller_int.h"

#include <errno.h>
#include <string.h>

#include "fs/control/localpath.h"
#include "fs/control/volume.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/log.h"

/* A hostPath volume's data is the host's: volfs never deletes it (the
 * hostPath deleter of Kubernetes would only do it under /tmp). The
 * volume's events go with it, so the daemon's log says so. */
static void keep_host_data(json_object *pv)
{
	const char *at = jpath_str(pv, "status.hostPath");
	at = at ? at : hostpath_of_pv(pv);
	char object[300];
	vlog_object_name(object, sizeof object, KIND_PV, "", ctl_name_of(pv));
	vlog_info(object, "persistentvolume %s deleted; its data on the host at %s stays", ctl_name_of(pv), at);
}

int ctl_delete_volume(struct ctl *c, json_object *pv)
{
	char err[512];
	if (hostpath_of_pv(pv))
		keep_host_data(pv);
	/* A local-path volume is also named by its MOUNT/local-path/ directory:
	 * looked up before the volume goes, forgotten once it has. */
	char dir[512];
	int local_path = localpath_dir_of(c->v, ctl_name_of(pv), dir, sizeof dir) == 0;
	int r = volume_pv_delete(c->v, ctl_name_of(pv), err, sizeof err);
	if (r == 0 && local_path)
		vfs_invalidate_name(c->v, VINO_LOCAL_PATH, dir);
	if (r < 0 && r != -ENOENT) {
		ctl_event(c, pv, "Warning", "VolumeFailedDelete", "%s", err);
		jpath_set_str(pv, "status.phase", "Failed");
		jpath_set_str(pv, "status.message", err);
		return 0;
	}
	ctl_mark_gone(pv);
	return 1;
}

/* Recycle: the deprecated policy, done as kubelet's scrubber did: the data
 * goes (the volume gets a new, empty tree) and the volume is Available. */
static int recycle_volume(struct ctl *c, json_object *pv)
{
	if (hostpath_of_pv(pv)) {
		ctl_set_str(pv, "status.phase", "Failed");
		if (ctl_set_str(pv, "status.message", "volfs does not scrub hostPath volumes"))
			ctl_event(c, pv, "Warning", "VolumeFailedRecycle", "volfs does not scrub hostPath "
			          "volumes: the data on the host at %s is left as it is",
			          hostpath_of_pv(pv));
		return 0;
	}
	uint64_t old = 0, tree = 0;
	uint64_t cap = jpath_bytes(pv, "spec.capacity.storage");
	char err[256] = "";
	int r = volume_pv_find_tree(c->v, ctl_name_of(pv), &old);
	if (r == 0)
		r = old ? vfs_tree_freeze(c->v, old) : -ENOENT;
	if (r == 0) {
		db_lock(c->db);
		r = db_begin(c->db);
		if (r == 0) {
			r = vfs_tree_delete_rows(c->v, old);
			if (r == 0)
				r = ctl_volume_new_tree_rows(c, pv, cap, old, &tree, err, sizeof err);
			r = finish_txn(c->db, r);
		}
		if (r == 0) {
			vfs_tree_detach(c->v, old);
			r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
		}
		db_unlock(c->db);
		vfs_tree_thaw(c->v, old);
	}
	if (r < 0) {
		ctl_event(c, pv, "Warning", "VolumeFailedRecycle", "cannot scrub the volume: %s", strerror(-r));
		jpath_set_str(pv, "status.phase", "Failed");
		return 0;
	}
	vfs_tree_drop_data(c->v, old); /* and the kernel's pages of it */
	vfs_reclaim_kick(c->v);
	vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	ctl_event(c, pv, "Warning", "RecyclerPod", "Recycle reclaim policy is deprecated; use dynamic "
	      "provisioning instead. Volume data scrubbed");
	json_object_object_del(jpath_get(pv, "spec"), "claimRef");
	jpath_set_str(pv, "status.phase", "Available");
	return 1;
}

/* The claim it was bound to is gone: apply the reclaim policy. */
int ctl_reclaim_volume(struct ctl *c, json_object *pv)
{
	const char *policy = jpath_str(pv, "spec.persistentVolumeReclaimPolicy");
	ctl_set_str(pv, "status.phase", "Released");
	if (policy && !strcmp(policy, "Delete"))
		return ctl_delete_volume(c, pv);
	if (policy && !strcmp(policy, "Recycle"))
		return recycle_volume(c, pv);
	return 0;
}
