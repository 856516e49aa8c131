/*
 * fs/vfs/virtual_dirs.c — the read-only virtual directories of tree 0 around the
 * volumes: the mount root, /pv/<volume> (each a tree's root),
 * /snapshots/<ns>/<snapshot> (read-only trees), and /pvc/<ns>/<claim>, a
 * symlink to ../../pv/<volume> for every bound claim, and
 * /pods/<ns>/<pod>/<volume>: an emptyDir's own tree, or for a claim a
 * symlink to ../../../pv/<volume> (a read-only alias of the volume's root
 * when the pod may only read it: readOnly, or ReadOnlyMany), or for a
 * hostPath an absolute symlink to the resolved host path (as is
 * /pv/<volume> of a hostPath PersistentVolume, which has no tree). Names
 * come from the
 * objects in meta.db through the vfs_names callbacks, so they follow the
 * control plane at once; the kernel is told not to cache them, except the
 * /pv/<volume> names, which are invalidated when they change.
 *
 * Inode numbers: fixed ones for /, /pv, /pvc, /pods, /snapshots; the
 * per-namespace directories and the claim links are numbered as they are
 * first seen, for the life of the mount, from one table of keys ("s:NS",
 * "c:NS", "l:NS/CLAIM", "p:NS", "P:NS/POD", "v:NS/POD/VOLUME", "H:PV").
 */
#include "fs/vfs/vfs_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KIND_PV "PersistentVolume"
#define KIND_VS "VolumeSnapshot"
/* readdir cookies of /pv past the trees' (tree ids stay below 2^24):
 * hostPath volumes, by row. */
#define HOST_PV_COOKIE (1LL << 32)

static const struct {
	const char *name;
	uint64_t ino;
} root_names[] = {
	{"pv", VINO_PV}, {"pvc", VINO_PVC}, {"pods", VINO_PODS}, {"snapshots", VINO_SNAPSHOTS},
	{"local-path", VINO_LOCAL_PATH},
};
#define N_ROOT_NAMES (sizeof root_names / sizeof root_names[0])

static void virt_times(struct vfs *v, struct stat *st)
{
	st->st_mtim.tv_sec = st->st_atim.tv_sec = st->st_ctim.tv_sec = v->mount_time / 1000000000;
}

static void dir_entry(struct vfs *v, uint64_t ino, struct vfs_entry *e)
{
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->st.st_ino = ino;
	e->st.st_mode = S_IFDIR | 0555;
	e->st.st_nlink = 2;
	e->st.st_blksize = PREFERRED_IO_SIZE;
	e->st.st_size = 4096;
	virt_times(v, &e->st);
	if (ino == VINO_LOCAL_PATH) { /* the daemon's owner provisions here */
		e->st.st_mode = S_IFDIR | 0755;
		e->st.st_uid = geteuid();
		e->st.st_gid = getegid();
	}
}

/* --- the table of numbered names --- */

uint64_t virt_numbered_ino(struct vfs *v, char type, const char *key)
{
	char full[VIRT_KEY_MAX + 4];
	snprintf(full, sizeof full, "%c:%s", type, key);
	uint64_t ino = 0;
	pthread_mutex_lock(&v->trees_lock);
	for (size_t i = 0; i < v->n_nsdirs && !ino; i++)
		if (!strcmp(v->nsdirs[i], full))
			ino = VINO_NSDIR_BASE + i;
	if (!ino && VINO_NSDIR_BASE + v->n_nsdirs <= VINO_NSDIR_MAX) {
		char **bigger = realloc(v->nsdirs, (v->n_nsdirs + 1) * sizeof *bigger);
		char *dup = strdup(full);
		if (bigger && dup) {
			v->nsdirs = bigger;
			v->nsdirs[v->n_nsdirs] = dup;
			ino = VINO_NSDIR_BASE + v->n_nsdirs++;
		} else {
			if (bigger)
				v->nsdirs = bigger;
			free(dup);
		}
	}
	pthread_mutex_unlock(&v->trees_lock);
	return ino;
}

/* The type ('s', 'c', 'l') and key of a numbered inode, or 0. */
char virt_numbered_key(struct vfs *v, uint64_t ino, char *key, size_t len)
{
	char type = 0;
	if (VFS_TREE_OF(ino) != 0 || ino < VINO_NSDIR_BASE || ino > VINO_NSDIR_MAX)
		return 0;
	pthread_mutex_lock(&v->trees_lock);
	if (ino - VINO_NSDIR_BASE < v->n_nsdirs) {
		const char *full = v->nsdirs[ino - VINO_NSDIR_BASE];
		type = full[0];
		snprintf(key, len, "%s", full + 2);
	}
	pthread_mutex_unlock(&v->trees_lock);
	return type;
}

int virt_is_dir(struct vfs *v, uint64_t ino)
{
	char key[600];
	char type = virt_numbered_key(v, ino, key, sizeof key);
	return (ino >= VINO_ROOT && ino <= VINO_LOCAL_PATH) || type == 's' || type == 'c' ||
	       type == 'p' || type == 'P' || type == 'R' || type == 'D';
}

/* --- pods --- */

/* Split "NS/POD[/VOLUME]" into its parts (in buf). */
static int split_key(char *buf, const char **ns, const char **pod, const char **vol)
{
	char *a = strchr(buf, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	if (!a)
		return -ENOENT;
	*a = 0;
	*ns = buf;
	*pod = a + 1;
	if (vol) {
		if (!b)
			return -ENOENT;
		*b = 0;
		*vol = b + 1;
	}
	return 0;
}

/* Find a pod's volume by name: its index, tree (emptyDir) or bound volume. */
static int pod_volume_named(struct vfs *v, const char *ns, const char *pod, const char *want,
                            uint64_t *tree, char *pv, size_t pvlen, int *projected, int *readonly)
{
	char name[256];
	if (!v->names.pod_volume)
		return -ENOENT;
	for (size_t i = 0;; i++) {
		db_lock(v->db);
		int r = v->names.pod_volume(v->names.arg, ns, pod, i, name, sizeof name, tree, pv, pvlen,
		                            projected, readonly);
		db_unlock(v->db);
		if (r < 0)
			return r;
		if (!strcmp(name, want))
			return *tree || pv[0] || *projected ? 0 : -ENOENT;
	}
}

/* The tree shown read-only for a claim the pod may only read: its
 * volume's, or 0 when the claim is writable or its volume has no tree of
 * its own (then the entry stays a link). */
static uint64_t read_only_tree(struct vfs *v, const char *pv, int readonly)
{
	if (!readonly || !pv[0] || pv[0] == '/' || !v->names.tree_of)
		return 0;
	uint64_t tree;
	db_lock(v->db);
	v->names.tree_of(v->names.arg, KIND_PV, "", pv, &tree);
	db_unlock(v->db);
	return tree;
}

/* "../../../pv/<volume>" for a pod's claim volume "NS/POD/VOLUME", or
 * the host path of a hostPath volume. */
static int pod_link_target(struct vfs *v, const char *key, char *buf, size_t len)
{
	char k[VIRT_KEY_MAX], pv[PATH_MAX];
	const char *ns, *pod, *vol;
	uint64_t tree;
	int projected, readonly;
	snprintf(k, sizeof k, "%s", key);
	if (split_key(k, &ns, &pod, &vol) < 0 ||
	    pod_volume_named(v, ns, pod, vol, &tree, pv, sizeof pv, &projected, &readonly) < 0 ||
	    !pv[0] || read_only_tree(v, pv, readonly))
		return -ENOENT;
	if (pv[0] == '/' && v->names.host_path_ok && !v->names.host_path_ok(pv))
		return -EACCES;
	snprintf(buf, len, "%s%s", pv[0] == '/' ? "" : "../../../pv/", pv);
	return 0;
}

/* The host path a hostPath PersistentVolume's /pv/<name> links to. */
static int host_pv_target(struct vfs *v, const char *name, char *buf, size_t len)
{
	if (!v->names.pv_host_path)
		return -ENOENT;
	db_lock(v->db);
	int r = v->names.pv_host_path(v->names.arg, name, buf, len);
	db_unlock(v->db);
	return r == 0 && v->names.host_path_ok && !v->names.host_path_ok(buf) ? -EACCES : r;
}

/* --- claims --- */

/* "../../pv/<volume>" for a bound claim "NS/CLAIM". */
static int claim_target(struct vfs *v, const char *key, char *buf, size_t len)
{
	char ns[256], pv[256];
	const char *slash = strchr(key, '/');
	if (!slash || !v->names.claim_volume || (size_t)(slash - key) >= sizeof ns)
		return -ENOENT;
	snprintf(ns, sizeof ns, "%.*s", (int)(slash - key), key);
	db_lock(v->db);
	int r = v->names.claim_volume(v->names.arg, ns, slash + 1, pv, sizeof pv);
	db_unlock(v->db);
	if (r == 0)
		snprintf(buf, len, "../../pv/%s", pv);
	return r;
}

static int link_target(struct vfs *v, char type, const char *key, char *buf, size_t len)
{
	return type == 'v' ? pod_link_target(v, key, buf, len)
	       : type == 'H' ? host_pv_target(v, key, buf, len) : claim_target(v, key, buf, len);
}

static int is_link_type(char type)
{
	return type == 'l' || type == 'v' || type == 'H';
}

static int link_entry(struct vfs *v, uint64_t ino, char type, const char *key, struct vfs_entry *e)
{
	char target[PATH_MAX];
	int r = link_target(v, type, key, target, sizeof target);
	if (r < 0)
		return r;
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->st.st_ino = ino;
	e->st.st_mode = S_IFLNK | 0777;
	e->st.st_nlink = 1;
	e->st.st_size = (off_t)strlen(target);
	virt_times(v, &e->st);
	return 0;
}

int virt_readlink(struct vfs *v, uint64_t ino, char *buf, size_t len)
{
	char key[VIRT_KEY_MAX];
	char type = virt_numbered_key(v, ino, key, sizeof key);
	if (type == 'S')
		return proj_readlink(v, key, buf, len);
	if (type == 'z' || type == 'L')
		return lp_readlink(v, type, key, buf, len);
	if (!is_link_type(type))
		return -EINVAL;
	return link_target(v, type, key, buf, len);
}

void virt_entry(struct vfs *v, uint64_t ino, struct vfs_entry *e)
{
	char key[VIRT_KEY_MAX];
	char type = virt_numbered_key(v, ino, key, sizeof key);
	if (is_link_type(type) && link_entry(v, ino, type, key, e) == 0)
		return;
	if ((type == 'z' || type == 'L') && lp_link_entry(v, ino, type, key, e) == 0)
		return;
	if (strchr("RDFS", type ? type : 'x') && proj_entry(v, ino, type, key, e) == 0)
		return;
	dir_entry(v, ino, e);
}

/* A projected file: its bytes, copied at open, so a reader sees one version. */
int virt_open(struct vfs *v, uint64_t ino, int flags, char **data, size_t *len)
{
	char key[VIRT_KEY_MAX];
	char type = virt_numbered_key(v, ino, key, sizeof key);
	if (type == 'F')
		return proj_open(v, key, flags, data, len);
	return is_link_type(type) || (type && strchr("SzL", type)) ? -ELOOP : -EISDIR;
}

/* --- lookup --- */

/* The root directory of the tree an object owns. Objects come and go
 * through the control socket: the kernel must not cache the name, except
 * /pv/<volume>, which is invalidated whenever its tree changes (created,
 * recycled, deleted) and sits on every path into a volume. */
static int lookup_object_root(struct vfs *v, const char *kind, const char *ns, const char *name,
                              struct vfs_entry *e)
{
	if (!v->names.tree_of)
		return -ENOENT;
	uint64_t tree;
	db_lock(v->db);
	int err = v->names.tree_of(v->names.arg, kind, ns, name, &tree);
	if (err == 0)
		err = -ENOENT; /* unless its tree has a root */
	struct vnode *n = tree ? vnode_get_locked(v, VFS_INO(tree, 1), &err) : NULL;
	db_unlock(v->db);
	if (!n)
		return err;
	reply_entry(v, n, e);
	e->entry_timeout = strcmp(kind, KIND_PV) == 0 ? VOLUME_ROOT_ENTRY_TIMEOUT : 0;
	return 0;
}

/* /pv/<name>: a volume's root, or a hostPath volume's link. */
static int lookup_pv(struct vfs *v, const char *name, struct vfs_entry *e)
{
	char target[PATH_MAX];
	int r = lookup_object_root(v, KIND_PV, "", name, e);
	if (r != -ENOENT || host_pv_target(v, name, target, sizeof target) < 0)
		return r;
	uint64_t ino = virt_numbered_ino(v, 'H', name);
	return ino ? link_entry(v, ino, 'H', name, e) : -ENOSPC;
}

static int ns_has_objects(struct vfs *v, const char *kind, const char *ns)
{
	char name[256];
	uint64_t tree;
	if (!v->names.next)
		return 0;
	db_lock(v->db);
	int r = v->names.next(v->names.arg, kind, ns, 0, name, sizeof name, &tree);
	db_unlock(v->db);
	return r == 0;
}

static int lookup_nsdir(struct vfs *v, char type, const char *kind, const char *ns,
                        struct vfs_entry *e)
{
	if (!ns_has_objects(v, kind, ns))
		return -ENOENT;
	uint64_t ino = virt_numbered_ino(v, type, ns);
	if (!ino)
		return -ENOSPC;
	dir_entry(v, ino, e);
	return 0;
}

static int lookup_claim(struct vfs *v, const char *ns, const char *name, struct vfs_entry *e)
{
	char key[VIRT_KEY_MAX + 512];
	snprintf(key, sizeof key, "%s/%s", ns, name);
	char target[300];
	if (claim_target(v, key, target, sizeof target) < 0)
		return -ENOENT;
	uint64_t ino = virt_numbered_ino(v, 'l', key);
	return ino ? link_entry(v, ino, 'l', key, e) : -ENOSPC;
}

static int lookup_pod(struct vfs *v, const char *ns, const char *name, struct vfs_entry *e)
{
	char key[VIRT_KEY_MAX + 512];
	db_lock(v->db);
	int there = v->names.exists ? v->names.exists(v->names.arg, "Pod", ns, name) : 0;
	db_unlock(v->db);
	if (there <= 0)
		return there < 0 ? there : -ENOENT;
	snprintf(key, sizeof key, "%s/%s", ns, name);
	uint64_t ino = virt_numbered_ino(v, 'P', key);
	if (!ino)
		return -ENOSPC;
	dir_entry(v, ino, e);
	return 0;
}

/* A pod's volume: an emptyDir's root, a claim's or hostPath's link, or for
 * a claim the pod may only read, a read-only alias of its volume's root. */
static int lookup_pod_volume(struct vfs *v, const char *podkey, const char *name,
                             struct vfs_entry *e)
{
	char k[VIRT_KEY_MAX], pv[PATH_MAX], key[VIRT_KEY_MAX + 512];
	const char *ns, *pod;
	uint64_t tree;
	int projected, readonly;
	snprintf(k, sizeof k, "%s", podkey);
	if (split_key(k, &ns, &pod, NULL) < 0 ||
	    pod_volume_named(v, ns, pod, name, &tree, pv, sizeof pv, &projected, &readonly) < 0)
		return -ENOENT;
	if (read_only_tree(v, pv, readonly)) {
		int r = lookup_object_root(v, KIND_PV, "", pv, e);
		if (r == 0)
			alias_entry(e);
		return r;
	}
	snprintf(key, sizeof key, "%s/%s", podkey, name);
	if (projected) {
		uint64_t ino = virt_numbered_ino(v, 'R', key);
		if (!ino)
			return -ENOSPC;
		int r = proj_entry(v, ino, 'R', key, e);
		e->attr_timeout = e->entry_timeout = 0;
		return r;
	}
	if (tree) {
		char objname[600];
		snprintf(objname, sizeof objname, "%s/%s", pod, name);
		return lookup_object_root(v, "PodVolume", ns, objname, e);
	}
	uint64_t ino = virt_numbered_ino(v, 'v', key);
	return ino ? link_entry(v, ino, 'v', key, e) : -ENOSPC;
}

int virt_lookup(struct vfs *v, uint64_t parent, const char *name, struct vfs_entry *e)
{
	if (parent == VINO_ROOT) {
		for (size_t i = 0; i < N_ROOT_NAMES; i++)
			if (strcmp(name, root_names[i].name) == 0) {
				dir_entry(v, root_names[i].ino, e);
				e->attr_timeout = e->entry_timeout = 3600;
				return 0;
			}
		return -ENOENT;
	}
	if (parent == VINO_PV) {
		int r = lp_pv_entry(v, name, e);
		return r == -ENOENT ? lookup_pv(v, name, e) : r;
	}
	if (parent == VINO_LOCAL_PATH)
		return lp_lookup(v, name, e);
	if (parent == VINO_SNAPSHOTS)
		return lookup_nsdir(v, 's', KIND_VS, name, e);
	if (parent == VINO_PVC)
		return lookup_nsdir(v, 'c', "PersistentVolumeClaim", name, e);
	if (parent == VINO_PODS)
		return lookup_nsdir(v, 'p', "Pod", name, e);
	char ns[VIRT_KEY_MAX];
	char type = virt_numbered_key(v, parent, ns, sizeof ns);
	switch (type) {
	case 'R':
	case 'D': return proj_lookup(v, type, ns, name, e);
	case 's': return lookup_object_root(v, KIND_VS, ns, name, e);
	case 'c': return lookup_claim(v, ns, name, e);
	case 'p': return lookup_pod(v, ns, name, e);
	case 'P': return lookup_pod_volume(v, ns, name, e);
	default: return -ENOENT;
	}
}

/* --- readdir --- */

/* Cookies: 1 after ".", 2 after "..", then 2 + the object's tree id (or
 * its row for claims), so a listing resumes correctly even while entries
 * are added or removed. 1 when the buffer is full. */
static int list_objects(struct vfs *v, const char *kind, const char *ns, int64_t off,
                        vfs_fill_fn fill, void *arg)
{
	uint64_t after = off > 2 ? (uint64_t)(off - 2) : 0, id;
	char name[256], key[VIRT_KEY_MAX + 512];
	int claims = !strcmp(kind, "PersistentVolumeClaim"), pods = !strcmp(kind, "Pod");
	int pvs = !strcmp(kind, KIND_PV);
	if (!v->names.next)
		return 0;
	for (;;) {
		db_lock(v->db);
		int r = v->names.next(v->names.arg, kind, ns, after, name, sizeof name, &id);
		int lp = r == 0 && pvs && lp_pv_is_link(v, name);
		db_unlock(v->db);
		if (r < 0)
			return 0;
		snprintf(key, sizeof key, "%s/%s", ns, name);
		int links = claims || lp;
		uint64_t ino = claims ? virt_numbered_ino(v, 'l', key) : pods ? virt_numbered_ino(v, 'P', key)
		               : lp ? virt_numbered_ino(v, 'L', name) : VFS_INO(id, 1);
		if (ino && fill_dir_type(fill, arg, name, ino, links ? S_IFLNK : S_IFDIR, (int64_t)id + 2))
			return 1;
		after = id;
	}
}

static int readdir_objects(struct vfs *v, const char *kind, const char *ns, int64_t off,
                           vfs_fill_fn fill, void *arg)
{
	list_objects(v, kind, ns, off, fill, arg);
	return 0;
}

/* /pv: the volumes with trees, then the hostPath volumes (links). */
static int readdir_pvs(struct vfs *v, int64_t off, vfs_fill_fn fill, void *arg)
{
	char name[256];
	uint64_t row = off > HOST_PV_COOKIE ? (uint64_t)(off - HOST_PV_COOKIE) : 0;
	if (off < HOST_PV_COOKIE && list_objects(v, KIND_PV, "", off, fill, arg))
		return 0;
	for (;;) {
		db_lock(v->db);
		int r = v->names.next_host_pv ? v->names.next_host_pv(v->names.arg, row, name, sizeof name, &row)
		                              : -ENOENT;
		db_unlock(v->db);
		if (r < 0)
			return 0;
		uint64_t ino = virt_numbered_ino(v, 'H', name);
		if (ino && fill_dir_type(fill, arg, name, ino, S_IFLNK, HOST_PV_COOKIE + (int64_t)row))
			return 0;
	}
}

/* Namespaces are listed in name order; the cookie is the position. */
static int readdir_namespaces(struct vfs *v, char type, const char *kind, int64_t off,
                              vfs_fill_fn fill, void *arg)
{
	char prev[256] = "", ns[256];
	if (!v->names.next_ns)
		return 0;
	for (int64_t pos = 3;; pos++) {
		db_lock(v->db);
		int r = v->names.next_ns(v->names.arg, kind, prev, ns, sizeof ns);
		db_unlock(v->db);
		if (r < 0)
			return 0;
		snprintf(prev, sizeof prev, "%s", ns);
		if (pos <= off)
			continue;
		uint64_t ino = virt_numbered_ino(v, type, ns);
		if (ino && fill_dir_type(fill, arg, ns, ino, S_IFDIR, pos))
			return 0;
	}
}

/* A pod's volumes that are ready, in spec order; the cookie is 3 + index. */
static int readdir_pod(struct vfs *v, const char *podkey, int64_t off, vfs_fill_fn fill, void *arg)
{
	char k[VIRT_KEY_MAX], name[256], pv[PATH_MAX], key[VIRT_KEY_MAX + 512];
	const char *ns, *pod;
	snprintf(k, sizeof k, "%s", podkey);
	if (split_key(k, &ns, &pod, NULL) < 0 || !v->names.pod_volume)
		return 0;
	for (size_t i = (size_t)(off > 2 ? off - 2 : 0);; i++) {
		uint64_t tree, pvtree = 0;
		int projected, readonly;
		db_lock(v->db);
		int r = v->names.pod_volume(v->names.arg, ns, pod, i, name, sizeof name, &tree, pv, sizeof pv,
		                            &projected, &readonly);
		db_unlock(v->db);
		if (r < 0)
			return 0;
		pvtree = read_only_tree(v, pv, readonly);
		snprintf(key, sizeof key, "%s/%s", podkey, name);
		uint64_t ino = tree ? VFS_INO(tree, 1) : projected ? virt_numbered_ino(v, 'R', key)
		               : pvtree ? VFS_INO(pvtree, 1) | VFS_ALIAS_BIT
		               : pv[0] ? virt_numbered_ino(v, 'v', key) : 0;
		int dir = tree || projected || pvtree;
		if (ino && fill_dir_type(fill, arg, name, ino, dir ? S_IFDIR : S_IFLNK, (int64_t)i + 3))
			return 0;
	}
}

int virt_readdir(struct vfs *v, uint64_t ino, int64_t off, vfs_fill_fn fill, void *arg)
{
	if (ino == VINO_ROOT) {
		for (size_t i = (size_t)(off > 2 ? off - 2 : 0); i < N_ROOT_NAMES; i++)
			if (fill_dir_type(fill, arg, root_names[i].name, root_names[i].ino, S_IFDIR,
			                  (int64_t)i + 3))
				return 0;
		return 0;
	}
	if (ino == VINO_PV)
		return readdir_pvs(v, off, fill, arg);
	if (ino == VINO_SNAPSHOTS)
		return readdir_namespaces(v, 's', KIND_VS, off, fill, arg);
	if (ino == VINO_PVC)
		return readdir_namespaces(v, 'c', "PersistentVolumeClaim", off, fill, arg);
	if (ino == VINO_PODS)
		return readdir_namespaces(v, 'p', "Pod", off, fill, arg);
	if (ino == VINO_LOCAL_PATH)
		return lp_readdir(v, off, fill, arg);
	char ns[VIRT_KEY_MAX];
	char type = virt_numbered_key(v, ino, ns, sizeof ns);
	switch (type) {
	case 'R':
	case 'D': return proj_readdir(v, type, ns, off, fill, arg);
	case 's': return readdir_objects(v, KIND_VS, ns, off, fill, arg);
	case 'c': return readdir_objects(v, "PersistentVolumeClaim", ns, off, fill, arg);
	case 'p': return readdir_objects(v, "Pod", ns, off, fill, arg);
	case 'P': return readdir_pod(v, ns, off, fill, arg);
	default: return 0;
	}
}

void vfs_invalidate_snapshot(struct vfs *v, const char *ns, const char *name)
{
	uint64_t dir = virt_numbered_ino(v, 's', ns);
	if (dir)
		vfs_invalidate_name(v, dir, name);
}
