/*
 * fs/control/ctl_volume.c — the PersistentVolume controller: a volume
 * stored by apply gets its (empty) tree, its tree follows spec.capacity,
 * a hostPath volume is set up as kubelet sets one up, and its phase says
 * whether it is Available, Bound or Released; a released or deleted one
 * goes to fs/control/ctl_reclaim.c.
 */
#include "fs/control/controller_int.h"

#include <assert.h>
#include <string.h>

#include "fs/control/hostpath.h"
#include "fs/control/volume.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/objects.h"

int ctl_volume_new_tree_rows(struct ctl *c, json_object *pv, uint64_t cap, uint64_t old, uint64_t *tree,
                             char *err, size_t errlen)
{
	assert(db_locked_by_me(c->db) && c->db->in_txn);
	int r = vfs_tree_create_rows(c->v, "volume", cap, 0, tree);
	if (r == 0)
		r = volume_apply_inode_limit(c->v, pv, *tree, err, errlen);
	if (r == 0)
		r = kobj_replace_tree(c->db, "PersistentVolume", "", ctl_name_of(pv), old, *tree);
	return r;
}

/* A volume stored by apply gets its (empty) tree here. */
static int make_volume_tree(struct ctl *c, json_object *pv)
{
	char err[256] = "";
	uint64_t cap = jpath_bytes(pv, "spec.capacity.storage"), tree = 0;
	if (cap < STORE_BLOCK)
		cap = STORE_BLOCK;
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, ctl_volume_new_tree_rows(c, pv, cap, 0, &tree, err, sizeof err));
	if (r == 0)
		r = vfs_tree_attach(c->v, tree, "volume", cap, 0);
	db_unlock(c->db);
	if (r < 0)
		ctl_event(c, pv, "Warning", "VolumeFailedCreate", "cannot create the volume: %s",
		          *err ? err : strerror(-r));
	else
		vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	return r == 0;
}

/* spec.capacity changed by apply (or by an expansion): follow it. */
static void follow_capacity(struct ctl *c, json_object *pv, uint64_t tree)
{
	struct vtree *t = vfs_tree_get(c->v, tree);
	uint64_t want = jpath_bytes(pv, "spec.capacity.storage");
	if (!t || !want || want == vfs_tree_capacity(t))
		return;
	char err[512];
	json_object *out = NULL;
	if (volume_pv_resize(c->v, ctl_name_of(pv), want, &out, err, sizeof err) < 0)
		ctl_event(c, pv, "Warning", "VolumeResizeFailed", "%s", err);
	json_object_put(out);
}

static json_object *claim_of_pv(struct ctl *c, json_object *pv)
{
	const char *ns = jpath_str(pv, "spec.claimRef.namespace");
	return ctl_find(c->pvcs, ns ? ns : "default", jpath_str(pv, "spec.claimRef.name"));
}

/* A hostPath volume is set up as kubelet sets one up when it mounts it
 * (allow-list, type check, DirectoryOrCreate/FileOrCreate): the first
 * time, and again at start-up. MOUNT/pv/<name> links to status.hostPath.
 * Until it is set up an unbound volume stays Pending (no claim binds to
 * it), with the cause in status.message and a Warning event. */
static int host_volume_ready(struct ctl *c, json_object *pv)
{
	char resolved[PATH_MAX], err[1536];
	struct hostpath_made made;
	const char *phase = jpath_str(pv, "status.phase");
	if (jpath_str(pv, "status.hostPath") && !c->startup)
		return 1;
	int r = hostpath_prepare(hostpath_of_pv(pv), hostpath_type_of_pv(pv), &made, resolved,
	                         sizeof resolved, err, sizeof err);
	json_object *status = jpath_obj(pv, "status");
	vfs_invalidate_name(c->v, VINO_PV, ctl_name_of(pv));
	if (r < 0) {
		json_object_object_del(status, "hostPath");
		if (!phase || !strcmp(phase, "Pending") || !strcmp(phase, "Available"))
			ctl_set_str(pv, "status.phase", "Pending");
		if (ctl_set_str(pv, "status.message", err))
			ctl_event(c, pv, "Warning", "HostPathFailed", "%s", err);
		return 0;
	}
	ctl_set_str(pv, "status.hostPath", resolved);
	if (!phase || strcmp(phase, "Failed"))
		json_object_object_del(status, "message");
	return 1;
}

int ctl_volume_step(struct ctl *c, json_object *pv)
{
	json_object *pvc = claim_of_pv(c, pv);
	int bound = pvc && ctl_claim_ref_matches(pv, pvc) &&
	            !strcmp(jpath_str(pvc, "spec.volumeName") ? jpath_str(pvc, "spec.volumeName") : "",
	                    ctl_name_of(pv));
	if (ctl_deleting(pv))
		return bound ? 0 : ctl_delete_volume(c, pv); /* kubernetes.io/pv-protection */
	if (hostpath_of_pv(pv)) {
		if (!host_volume_ready(c, pv))
			return 0;
	} else {
		uint64_t tree;
		if (volume_pv_find_tree(c->v, ctl_name_of(pv), &tree) < 0)
			return 0; /* unknown, not absent: the next pass looks again */
		if (!tree)
			return make_volume_tree(c, pv);
		follow_capacity(c, pv, tree);
	}
	const char *phase = jpath_str(pv, "status.phase");
	if (phase && !strcmp(phase, "Failed"))
		return 0;
	if (!jpath_get(pv, "spec.claimRef")) {
		ctl_set_str(pv, "status.phase", "Available");
		return 0;
	}
	if (bound) {
		ctl_set_str(pv, "status.phase", "Bound");
		return 0;
	}
	const char *uid = jpath_str(pv, "spec.claimRef.uid");
	if ((pvc && ctl_claim_ref_matches(pv, pvc)) || !uid || !*uid) {
		ctl_set_str(pv, "status.phase", "Available"); /* pre-bound, waiting for its claim */
		return 0;
	}
	return ctl_reclaim_volume(c, pv);
}
