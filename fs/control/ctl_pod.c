/*
 * fs/control/ctl_pod.c — the pod controller (what kubelet does for a pod's
 * volumes): a pod's own volumes (emptyDirs, and
 * configMap/secret/downwardAPI/projected files stored per version in
 * meta.db for fs/vfs/projected.c to serve), the claims it uses (which must
 * be bound and, for ReadWriteOncePod, free), its host paths (hostPath
 * volumes and hostPath-backed claims, set up by fs/control/hostpath.c;
 * their resolved paths go to status.hostPaths, which MOUNT/pods/... links
 * to), all set up or none; and their removal when the pod goes.
 */
#include "fs/control/controller_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fs/control/hostpath.h"
#include "fs/control/volume.h"
#include "meta/hostpath.h"
#include "meta/k8s.h"
#include "meta/objects.h"
#include "meta/pod.h"
#include "meta/projection.h"

#define KIND_POD_VOLUME "PodVolume" /* internal: an emptyDir's tree, "<pod>/<volume>" */

static void pod_volume_name(json_object *pod, json_object *vol, char *buf, size_t len)
{
	snprintf(buf, len, "%s/%s", ctl_name_of(pod), jpath_str(vol, "name"));
}

/* Why a claim volume cannot be set up for the pod now, or NULL. */
static const char *claim_problem(struct ctl *c, json_object *pod, json_object *vol, char *buf,
                                 size_t len)
{
	const char *claim = pod_volume_claim(vol);
	json_object *pvc = ctl_find(c->pvcs, ctl_ns_of(pod), claim);
	const char *phase = pvc ? jpath_str(pvc, "status.phase") : NULL;
	if (!pvc || ctl_deleting(pvc))
		snprintf(buf, len, "persistentvolumeclaim \"%s\" %s", claim, pvc ? "is being deleted" : "not found");
	else if (!phase || strcmp(phase, "Bound"))
		snprintf(buf, len, "persistentvolumeclaim \"%s\" is not bound", claim);
	else {
		json_object *modes = jpath_get(pvc, "spec.accessModes"), *other;
		int rwop = 0;
		for (size_t i = 0; modes && i < json_object_array_length(modes); i++)
			rwop |= !strcmp(json_object_get_string(json_object_array_get_idx(modes, i)),
			                "ReadWriteOncePod");
		other = rwop ? ctl_claim_user(c, pvc, ctl_name_of(pod), 1) : NULL;
		if (!other)
			return NULL;
		snprintf(buf, len, "persistentvolumeclaim \"%s\" is ReadWriteOncePod and pod \"%s\" "
		         "already uses it", claim, ctl_name_of(other));
	}
	return buf;
}

/* What a memory emptyDir may hold at most, without a smaller pod limit
 * or sizeLimit: half the machine's RAM, the default size of a tmpfs (this
 * node has no allocatable figure of its own). */
static uint64_t node_memory_bytes(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	return pages > 0 && page > 0 ? (uint64_t)pages * (uint64_t)page / 2 : 0;
}

static int make_empty_dir(struct ctl *c, json_object *pod, json_object *vol)
{
	char name[600];
	pod_volume_name(pod, vol, name, sizeof name);
	int memory = pod_volume_in_memory(vol);
	const char *kind = memory ? VFS_KIND_MEMORY : "volume";
	uint64_t tree = 0, cap = memory ? pod_memory_dir_size(pod, vol, node_memory_bytes())
	                                : jpath_bytes(vol, "emptyDir.sizeLimit");
	db_lock(c->db);
	json_object *have = kobj_get(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, &tree);
	int unread = !have && errno != ENOENT;
	db_unlock(c->db);
	json_object_put(have);
	if (have || unread) /* unread is not "none yet": no second tree for it */
		return have ? 0 : -EIO;
	if (!cap) /* no limit: the node's disk is the limit, as with kubelet */
		cap = vfs_host_bytes(c->v);
	cap = (cap + STORE_BLOCK - 1) / STORE_BLOCK * STORE_BLOCK;
	json_object *body = json_object_new_object();
	jpath_set_str(body, "kind", KIND_POD_VOLUME);
	jpath_set_str(body, "spec.pod", ctl_name_of(pod));
	jpath_set_str(body, "spec.podUID", jpath_str(pod, "metadata.uid"));
	db_lock(c->db);
	int r = db_begin(c->db);
	if (r == 0) {
		r = vfs_tree_create_rows(c->v, kind, cap, 0, &tree);
		if (r == 0)
			r = kobj_insert(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, body, tree);
		r = finish_txn(c->db, r);
	}
	if (r == 0)
		r = vfs_tree_attach(c->v, tree, kind, cap, 0);
	db_unlock(c->db);
	json_object_put(body);
	return r;
}

/* The objects of a list in one namespace (new array of references). */
static json_object *in_namespace(json_object *list, const char *ns)
{
	json_object *out = json_object_new_array();
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		if (!ctl_is_gone(o) && !strcmp(ctl_ns_of(o), ns))
			json_object_array_add(out, json_object_get(o));
	}
	return out;
}

/* The files a configMap/secret/downwardAPI/projected volume shows now. */
static int projected_files(struct ctl *c, json_object *pod, json_object *vol, json_object **files,
                           char *why, size_t whylen)
{
	json_object *cms = in_namespace(c->configmaps, ctl_ns_of(pod));
	json_object *secrets = in_namespace(c->secrets, ctl_ns_of(pod));
	int r = projection_files(pod, vol, cms, secrets, files, why, whylen);
	json_object_put(cms);
	json_object_put(secrets);
	return r;
}

/* kubelet's name for a version directory: ..2026_11_22_02_45_00.123456789 */
static void version_name(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "..%04d_%02d_%02d_%02d_%02d_%02d.%09ld", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec);
}

/* Store a new version of a projected volume's files (the first, or one
 * that replaces the current, which stays readable as the previous). */
static int store_projection(struct ctl *c, json_object *pod, json_object *vol, json_object *files)
{
	char name[600], version[64];
	pod_volume_name(pod, vol, name, sizeof name);
	version_name(version, sizeof version);
	db_lock(c->db);
	json_object *o = kobj_get(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, NULL);
	int r = db_begin(c->db);
	if (r == 0) {
		if (o) {
			json_object *prev = json_object_new_object();
			jpath_set_str(prev, "version", jpath_str(o, "spec.version"));
			jpath_set(prev, "files", json_object_get(jpath_get(o, "spec.files")));
			jpath_set(o, "spec.previous", prev);
		} else {
			o = json_object_new_object();
			jpath_set_str(o, "kind", KIND_POD_VOLUME);
			jpath_set_str(o, "spec.pod", ctl_name_of(pod));
			jpath_set_str(o, "spec.podUID", jpath_str(pod, "metadata.uid"));
			jpath_set(o, "spec.projected", json_object_new_boolean(1));
		}
		jpath_set_str(o, "spec.version", version);
		jpath_set(o, "spec.files", json_object_get(files));
		r = jpath_get(o, "metadata.uid") ? kobj_update(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, o)
		                               : kobj_insert(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, o, 0);
		r = finish_txn(c->db, r);
	}
	db_unlock(c->db);
	json_object_put(o);
	return r;
}

/* A running pod's configMap/secret/... volumes follow their objects: a
 * changed set of files becomes a new version, all files at once. A
 * source that went away keeps the last files, as kubelet does. */
static int refresh_projections(struct ctl *c, json_object *pod)
{
	json_object *vols = jpath_get(pod, "spec.volumes");
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		char name[600], why[512];
		if (!projection_is(vol) || projected_files(c, pod, vol, &files, why, sizeof why) < 0)
			continue;
		pod_volume_name(pod, vol, name, sizeof name);
		db_lock(c->db);
		json_object *o = kobj_get(c->db, KIND_POD_VOLUME, ctl_ns_of(pod), name, NULL);
		db_unlock(c->db);
		if (!o || !json_object_equal(jpath_get(o, "spec.files"), files))
			store_projection(c, pod, vol, files);
		json_object_put(o);
		json_object_put(files);
	}
	return 0;
}

/* Delete the pod's own volumes: emptyDirs with their data, projections. */
static void remove_pod_volumes(struct ctl *c, json_object *pod)
{
	json_object *vols = jpath_get(pod, "spec.volumes");
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i);
		char name[600], err[512];
		if (pod_volume_claim(vol))
			continue;
		pod_volume_name(pod, vol, name, sizeof name);
		volume_delete_object_tree(c->v, KIND_POD_VOLUME, ctl_ns_of(pod), name, err, sizeof err);
	}
}

/* The host path behind a pod volume and its type: its own hostPath, or
 * the hostPath source of the volume its claim is bound to; else NULL. */
static const char *host_path_of(struct ctl *c, json_object *pod, json_object *vol, const char **type)
{
	const char *claim = pod_volume_claim(vol);
	if (!claim) {
		*type = hostpath_type_of_volume(vol);
		return hostpath_of_volume(vol);
	}
	json_object *pvc = ctl_find(c->pvcs, ctl_ns_of(pod), claim);
	json_object *pv = pvc ? ctl_find(c->pvs, NULL, jpath_str(pvc, "spec.volumeName")) : NULL;
	*type = hostpath_type_of_pv(pv);
	return pv ? hostpath_of_pv(pv) : NULL;
}

struct host_paths {
	json_object *paths;          /* volume name -> resolved host path */
	struct hostpath_made *made;  /* one per volume */
	size_t n;
};

/* Take back what set_up_host_paths created (kubelet would leave it; a pod
 * that does not start here leaves nothing behind). */
static void undo_host_paths(struct host_paths *h)
{
	for (size_t i = h->n; i-- > 0;)
		hostpath_undo(&h->made[i]);
}

static void free_host_paths(struct host_paths *h)
{
	json_object_put(h->paths);
	free(h->made);
}

/* kubelet's SetUp of every host path of the pod. On failure why names
 * the volume and the cause, and nothing created remains. */
static int set_up_host_paths(struct ctl *c, json_object *pod, struct host_paths *h, char *why,
                             size_t whylen)
{
	json_object *vols = jpath_get(pod, "spec.volumes");
	size_t n = vols ? json_object_array_length(vols) : 0;
	h->paths = json_object_new_object();
	h->made = calloc(n ? n : 1, sizeof *h->made);
	h->n = 0;
	if (!h->made)
		return snprintf(why, whylen, "out of memory"), -ENOMEM;
	for (size_t i = 0; i < n; i++, h->n++) {
		json_object *vol = json_object_array_get_idx(vols, i);
		const char *type = "", *path = host_path_of(c, pod, vol, &type);
		char resolved[PATH_MAX], err[1536];
		if (!path)
			continue;
		if (hostpath_prepare(path, type, &h->made[i], resolved, sizeof resolved, err, sizeof err) < 0) {
			undo_host_paths(h);
			snprintf(why, whylen, "volume \"%s\": %s", jpath_str(vol, "name"), err);
			return -EINVAL;
		}
		json_object_object_add(h->paths, jpath_str(vol, "name"), json_object_new_string(resolved));
	}
	return 0;
}

/* status.hostPaths: where each host-path volume of the pod resolves. */
static void show_host_paths(json_object *pod, json_object *paths)
{
	if (paths && json_object_object_length(paths))
		jpath_set(pod, "status.hostPaths", json_object_get(paths));
	else
		json_object_object_del(jpath_obj(pod, "status"), "hostPaths");
}

/* At start-up a running pod's host paths are set up again, as kubelet
 * mounts them again after a reboot; one that fails sends the pod back to
 * Pending with the cause. */
static void recheck_host_paths(struct ctl *c, json_object *pod)
{
	struct host_paths h;
	char why[2048];
	int r = set_up_host_paths(c, pod, &h, why, sizeof why);
	if (r < 0) {
		show_host_paths(pod, NULL);
		ctl_set_str(pod, "status.phase", "Pending");
		ctl_event(c, pod, "Warning", "FailedMount", "%s", why);
	} else
		show_host_paths(pod, h.paths);
	free_host_paths(&h);
}

/* Set up every volume, or none: a pod that cannot have all of them stays
 * Pending with the cause, and nothing of it is half-made. */
static int setup_pod_volumes(struct ctl *c, json_object *pod)
{
	json_object *vols = jpath_get(pod, "spec.volumes");
	char why[2048];
	struct host_paths h;
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		int bad = pod_volume_claim(vol) ? claim_problem(c, pod, vol, why, sizeof why) != NULL
		          : projection_is(vol) ? projected_files(c, pod, vol, &files, why, sizeof why) < 0 : 0;
		json_object_put(files);
		if (bad) {
			ctl_set_str(pod, "status.phase", "Pending");
			ctl_event(c, pod, "Warning", "FailedMount", "volume \"%s\": %s", jpath_str(vol, "name"), why);
			return 0;
		}
	}
	if (set_up_host_paths(c, pod, &h, why, sizeof why) < 0) {
		free_host_paths(&h);
		ctl_set_str(pod, "status.phase", "Pending");
		ctl_event(c, pod, "Warning", "FailedMount", "%s", why);
		return 0;
	}
	for (size_t i = 0; vols && i < json_object_array_length(vols); i++) {
		json_object *vol = json_object_array_get_idx(vols, i), *files = NULL;
		int r = jpath_get(vol, "emptyDir") ? make_empty_dir(c, pod, vol) : 0;
		if (r == 0 && projection_is(vol)) {
			r = projected_files(c, pod, vol, &files, why, sizeof why) < 0 ? -EAGAIN
			    : store_projection(c, pod, vol, files);
			json_object_put(files);
		}
		if (r < 0) {
			remove_pod_volumes(c, pod);
			undo_host_paths(&h);
			free_host_paths(&h);
			ctl_set_str(pod, "status.phase", "Pending");
			ctl_event(c, pod, "Warning", "FailedMount", "volume \"%s\": cannot set it up: %s",
			      jpath_str(vol, "name"), strerror(-r));
			return 0;
		}
	}
	show_host_paths(pod, h.paths);
	free_host_paths(&h);
	if (ctl_set_str(pod, "status.phase", "Running"))
		ctl_event(c, pod, "Normal", "VolumesReady", "all volumes are set up under pods/%s/%s",
		      ctl_ns_of(pod), ctl_name_of(pod));
	return 0;
}

int ctl_pod_step(struct ctl *c, json_object *pod)
{
	if (ctl_deleting(pod)) {
		remove_pod_volumes(c, pod);
		return ctl_remove_object(c, pod);
	}
	if (ctl_running(pod) && c->startup) {
		recheck_host_paths(c, pod);
		if (!ctl_running(pod))
			return 0;
	}
	return ctl_running(pod) ? refresh_projections(c, pod) : setup_pod_volumes(c, pod);
}
