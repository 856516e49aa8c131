/*
 * fs/control/ctl_snapshot.c — the snapshot controller: takes a
 * VolumeSnapshot of its source claim or volume, deletes it by its class's
 * deletionPolicy (Retain keeps the data as a VolumeSnapshotContent), and
 * deletes a VolumeSnapshotContent being deleted. The snapshots themselves
 * are fs/control/snapshot.c's.
 */
#include "fs/control/controller_int.h"

#include <stdio.h>
#include <string.h>

#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/objects.h"

static json_object *snapshot_class(struct ctl *c, json_object *vs)
{
	return ctl_find(c->vsclasses, NULL, k8s_str(vs, "spec.volumeSnapshotClassName"));
}

static int take_snapshot(struct ctl *c, json_object *vs)
{
	const char *claim = k8s_str(vs, "spec.source.persistentVolumeClaimName");
	const char *bare = k8s_str(vs, "spec.source.persistentVolumeName");
	json_object *pvc = claim ? ctl_find(c->pvcs, ctl_ns_of(vs), claim) : NULL, *cls = snapshot_class(c, vs);
	const char *pv = pvc ? k8s_str(pvc, "spec.volumeName") : NULL;
	const char *phase = pvc ? k8s_str(pvc, "status.phase") : NULL;
	if (bare) { /* a snapshot of a bare volume: the volume itself is the source */
		pv = ctl_find(c->pvs, NULL, bare) ? bare : NULL;
		phase = "Bound";
		claim = bare;
	}
	const char *driver = cls ? k8s_str(cls, "driver") : NULL;
	if (k8s_str(vs, "spec.volumeSnapshotClassName") && (!driver || strcmp(driver, K8S_PROVISIONER))) {
		ctl_event(c, vs, "Warning", "SnapshotPending", "volumesnapshotclass \"%s\" %s",
		      k8s_str(vs, "spec.volumeSnapshotClassName"),
		      cls ? "names a driver volfs does not serve" : "not found");
		return 0;
	}
	if (!pv || !phase || strcmp(phase, "Bound")) {
		ctl_event(c, vs, "Warning", "SnapshotPending", "the source %s \"%s\" is %s", bare ? "volume" : "claim",
		      claim, pvc ? "not bound yet" : "not found");
		return 0;
	}
	if (hostpath_of_pv(ctl_find(c->pvs, NULL, pv))) {
		if (ctl_set_str(vs, "status.error.message", "the source claim's volume is a hostPath volume"))
			ctl_event(c, vs, "Warning", "SnapshotFailed", "cannot snapshot claim \"%s\": its "
			          "volume %s is a hostPath volume (its data is on the host, outside volfs)",
			          claim, pv);
		return 0;
	}
	char err[512];
	json_object *out = NULL;
	int r = snapshot_create(c->v, pv, ctl_ns_of(vs), ctl_name_of(vs), vs, &out, err, sizeof err);
	if (r < 0) {
		ctl_event(c, vs, "Warning", "SnapshotFailed", "%s", err);
		return 0;
	}
	k8s_set(vs, "status", ctl_copy(k8s_get(out, "status")));
	json_object_put(out);
	vfs_invalidate_snapshot(c->v, ctl_ns_of(vs), ctl_name_of(vs));
	return 1;
}

/* deletionPolicy Retain: the data outlives the VolumeSnapshot as a
 * VolumeSnapshotContent, as with a CSI driver. */
static int retain_snapshot_content(struct ctl *c, json_object *vs, json_object *cls)
{
	char name[80];
	snprintf(name, sizeof name, "snapcontent-%s", k8s_str(vs, "metadata.uid"));
	json_object *vsc = json_object_new_object();
	k8s_set_str(vsc, "apiVersion", "snapshot.storage.k8s.io/v1");
	k8s_set_str(vsc, "kind", "VolumeSnapshotContent");
	k8s_set(vsc, "metadata", ctl_copy(k8s_get(vs, "metadata")));
	k8s_set_str(vsc, "metadata.name", name);
	json_object_object_del(k8s_get(vsc, "metadata"), "namespace");
	json_object_object_del(k8s_get(vsc, "metadata"), "deletionTimestamp");
	k8s_set_str(vsc, "spec.deletionPolicy", "Retain");
	k8s_set_str(vsc, "spec.driver", k8s_str(cls, "driver"));
	k8s_set_str(vsc, "spec.volumeSnapshotClassName", ctl_name_of(cls));
	k8s_set_str(vsc, "spec.source.snapshotHandle", k8s_str(vs, "metadata.uid"));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.kind", "VolumeSnapshot");
	k8s_set_str(vsc, "spec.volumeSnapshotRef.namespace", ctl_ns_of(vs));
	k8s_set_str(vsc, "spec.volumeSnapshotRef.name", ctl_name_of(vs));
	k8s_set(vsc, "status", ctl_copy(k8s_get(vs, "status")));
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0)
		r = finish_txn(c->db, kobj_move(c->db, "VolumeSnapshot", ctl_ns_of(vs), ctl_name_of(vs),
		                                "VolumeSnapshotContent", "", name, vsc));
	db_unlock(c->db);
	json_object_put(vsc);
	if (r < 0)
		return 0;
	vfs_invalidate_snapshot(c->v, ctl_ns_of(vs), ctl_name_of(vs));
	ctl_mark_gone(vs);
	return 1;
}

static int delete_snapshot(struct ctl *c, json_object *vs)
{
	json_object *cls = snapshot_class(c, vs);
	const char *policy = cls ? k8s_str(cls, "deletionPolicy") : NULL;
	uint64_t tree = 0;
	db_lock(c->db);
	json_object_put(kobj_get(c->db, "VolumeSnapshot", ctl_ns_of(vs), ctl_name_of(vs), &tree));
	db_unlock(c->db);
	if (!tree)
		return ctl_remove_object(c, vs);
	if (policy && !strcmp(policy, "Retain"))
		return retain_snapshot_content(c, vs, cls);
	char err[512];
	if (snapshot_delete(c->v, ctl_ns_of(vs), ctl_name_of(vs), err, sizeof err) < 0) {
		ctl_event(c, vs, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	ctl_mark_gone(vs);
	return 1;
}

int ctl_snapshot_step(struct ctl *c, json_object *vs)
{
	if (ctl_deleting(vs))
		return delete_snapshot(c, vs);
	json_object *ready = k8s_get(vs, "status.readyToUse");
	if (ready && json_object_get_boolean(ready))
		return 0;
	if (!k8s_str(vs, "spec.source.persistentVolumeClaimName") && !k8s_str(vs, "spec.source.persistentVolumeName"))
		return 0;
	return take_snapshot(c, vs);
}

int ctl_content_step(struct ctl *c, json_object *vsc)
{
	if (!ctl_deleting(vsc))
		return 0;
	char err[512];
	if (volume_delete_object_tree(c->v, "VolumeSnapshotContent", "", ctl_name_of(vsc), err, sizeof err) < 0) {
		ctl_event(c, vsc, "Warning", "SnapshotDeleteError", "%s", err);
		return 0;
	}
	ctl_mark_gone(vsc);
	return 1;
}
