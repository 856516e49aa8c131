/*
 * fs/control/ctl_snapshot.c — the snapshot controller: takes a
 * VolumeSnapshot of its source claim or volume, deletes it by its class's
 * deletionPolicy (Retain keeps the data as a VolumeSnapshotContent), and
 * deletes a VolumeSnapshotContent being deleted. The snapshots themselves
 * are fs/control/snapshot.c's.
 */
#include "fs/control/controller_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "fs/control/snapshot.h"
#include "fs/control/volume.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/objects.h"

static json_object *snapshot_class(struct ctl *c, json_object *vs)
{
	return ctl_find(c->vsclasses, NULL, jpath_str(vs, "spec.volumeSnapshotClassName"));
}

static int take_snapshot(struct ctl *c, json_object *vs)
{
	const char *claim = jpath_str(vs, "spec.source.persistentVolumeClaimName");
	const char *bare = jpath_str(vs, "spec.source.persistentVolumeName");
	json_object *pvc = claim ? ctl_find(c->pvcs, ctl_ns_of(vs), claim) : NULL, *cls = snapshot_class(c, vs);
	const char *pv = pvc ? jpath_str(pvc, "spec.volumeName") : NULL;
	const char *phase = pvc ? jpath_str(pvc, "status.phase") : NULL;
	if (bare) { /* a snapshot of a bare volume: the volume itself is the source */
		pv = ctl_find(c->pvs, NULL, bare) ? bare : NULL;
		phase = "Bound";
		claim = bare;
	}
	const char *driver = cls ? jpath_str(cls, "driver") : NULL;
	if (jpath_str(vs, "spec.volumeSnapshotClassName") && (!driver || strcmp(driver, K8S_PROVISIONER))) {
		ctl_event(c, vs, "Warning", "SnapshotPending", "volumesnapshotclass \"%s\" %s",
		      jpath_str(vs, "spec.volumeSnapshotClassName"),
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
	jpath_set(vs, "status", ctl_copy(jpath_get(out, "status")));
	json_object_put(out);
	vfs_invalidate_snapshot(c->v, ctl_ns_of(vs), ctl_name_of(vs));
	return 1;
}

/* deletionPolicy Retain: the data outlives the VolumeSnapshot as a
 * VolumeSnapshotContent, as with a CSI driver. */
static int retain_snapshot_content(struct ctl *c, json_object *vs, json_object *cls)
{
	char name[80];
	snprintf(name, sizeof name, "snapcontent-%s", jpath_str(vs, "metadata.uid"));
	json_object *vsc = json_object_new_object();
	jpath_set_str(vsc, "apiVersion", "snapshot.storage.k8s.io/v1");
	jpath_set_str(vsc, "kind", "VolumeSnapshotContent");
	jpath_set(vsc, "metadata", ctl_copy(jpath_get(vs, "metadata")));
	jpath_set_str(vsc, "metadata.name", name);
	json_object_object_del(jpath_get(vsc, "metadata"), "namespace");
	json_object_object_del(jpath_get(vsc, "metadata"), "deletionTimestamp");
	jpath_set_str(vsc, "spec.deletionPolicy", "Retain");
	jpath_set_str(vsc, "spec.driver", jpath_str(cls, "driver"));
	jpath_set_str(vsc, "spec.volumeSnapshotClassName", ctl_name_of(cls));
	jpath_set_str(vsc, "spec.source.snapshotHandle", jpath_str(vs, "metadata.uid"));
	jpath_set_str(vsc, "spec.volumeSnapshotRef.kind", "VolumeSnapshot");
	jpath_set_str(vsc, "spec.volumeSnapshotRef.namespace", ctl_ns_of(vs));
	jpath_set_str(vsc, "spec.volumeSnapshotRef.name", ctl_name_of(vs));
	jpath_set(vsc, "status", ctl_copy(jpath_get(vs, "status")));
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
	const char *policy = cls ? jpath_str(cls, "deletionPolicy") : NULL;
	uint64_t tree = 0;
	db_lock(c->db);
	json_object *o = kobj_get(c->db, "VolumeSnapshot", ctl_ns_of(vs), ctl_name_of(vs), &tree);
	int unread = !o && errno != ENOENT;
	db_unlock(c->db);
	json_object_put(o);
	if (unread) /* not "no tree": the object would go and leave its tree behind */
		return 0;
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
	json_object *ready = jpath_get(vs, "status.readyToUse");
	if (ready && json_object_get_boolean(ready))
		return 0;
	if (!jpath_str(vs, "spec.source.persistentVolumeClaimName") && !jpath_str(vs, "spec.source.persistentVolumeName"))
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
