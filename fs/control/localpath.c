/*
 * fs/control/localpath.c — the volumes rancher's local-path-provisioner makes
 * through MOUNT/local-path/ (the namespace side is fs/vfs/localpath_dir.c): which
 * PersistentVolume a directory name stands for, and creating and deleting
 * it. A directory "<pv>_<namespace>_<claim>" (the provisioner's default
 * pattern) becomes volume <pv>, pre-bound by claimRef to the cluster's
 * claim so `volctl get pv` and the metrics name it; any other name becomes
 * "local-path-<hash of the name>". The directory name is kept in the
 * annotation volfs.io/local-path-dir, so the mapping survives restarts.
 */
#include "fs/control/localpath.h"
#include "fs/control/volume.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "meta/names.h"
#include "meta/objects.h"
#include "meta/quantity.h"

/* json_extract would compare the key as json-c wrote it ("volfs.io\/..."):
 * json_each decodes it. */
#define DIR_OF_BODY                                                                              \
	"(SELECT value FROM json_each(body, '$.metadata.annotations') WHERE key='"                \
	LOCALPATH_DIR_ANNOTATION "')"

/* "<pv>_<namespace>_<claim>" split into valid Kubernetes names, or -1. */
static int split_dir(const char *dir, char *pv, size_t pvlen, char *ns, size_t nslen, char *claim,
                     size_t claimlen)
{
	const char *a = strchr(dir, '_'), *b = a ? strchr(a + 1, '_') : NULL;
	char err[256];
	if (!a || !b || (size_t)(a - dir) >= pvlen || (size_t)(b - a - 1) >= nslen)
		return -1;
	snprintf(pv, pvlen, "%.*s", (int)(a - dir), dir);
	snprintf(ns, nslen, "%.*s", (int)(b - a - 1), a + 1);
	snprintf(claim, claimlen, "%s", b + 1);
	return name_check_subdomain(pv, err, sizeof err) < 0 || name_check_label(ns, err, sizeof err) < 0 ||
	       name_check_subdomain(claim, err, sizeof err) < 0 ? -1 : 0;
}

/* FNV-1a: a stable, valid volume name for any directory name. */
static void hashed_name(const char *dir, char *pv, size_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (const unsigned char *p = (const unsigned char *)dir; *p; p++)
		h = (h ^ *p) * 1099511628211ULL;
	snprintf(pv, len, "local-path-%016llx", (unsigned long long)h);
}

static json_object *str(const char *s) { return json_object_new_string(s); }

static json_object *claim_ref(const char *ns, const char *claim)
{
	json_object *ref = json_object_new_object();
	json_object_object_add(ref, "kind", str("PersistentVolumeClaim"));
	json_object_object_add(ref, "apiVersion", str("v1"));
	json_object_object_add(ref, "namespace", str(ns));
	json_object_object_add(ref, "name", str(claim));
	return ref;
}

/* Retain and no claim uid: volfs's own controller never reclaims it (the
 * claim lives in the cluster); only the teardown script deletes it. */
static json_object *volume_body(const char *dir, uint64_t capacity, const char *ns, const char *claim)
{
	json_object *o = volume_pv_body(capacity, "local-path");
	json_object *meta = json_object_object_get(o, "metadata");
	json_object *labels = json_object_new_object(), *ann = json_object_new_object();
	json_object_object_add(labels, LOCALPATH_LABEL, str("local-path"));
	json_object_object_add(ann, LOCALPATH_DIR_ANNOTATION, str(dir));
	json_object_object_add(ann, "pv.kubernetes.io/provisioned-by", str("rancher.io/local-path"));
	json_object_object_add(meta, "labels", labels);
	json_object_object_add(meta, "annotations", ann);
	if (ns)
		json_object_object_add(json_object_object_get(o, "spec"), "claimRef", claim_ref(ns, claim));
	return o;
}

static int lp_create(void *arg, const char *dir, uint64_t capacity)
{
	struct vfs *v = arg;
	char pv[256], ns[64], claim[256], err[512], event[600];
	int claimed = split_dir(dir, pv, sizeof pv, ns, sizeof ns, claim, sizeof claim) == 0;
	if (!claimed)
		hashed_name(dir, pv, sizeof pv);
	json_object *body = volume_body(dir, capacity, claimed ? ns : NULL, claim), *out = NULL;
	snprintf(event, sizeof event, "provisioned by local-path-provisioner as local-path/%.500s", dir);
	int r = volume_pv_create_with(v, pv, capacity, volume_make_empty_tree, NULL, body, event, &out,
	                              err, sizeof err);
	json_object_put(body);
	json_object_put(out);
	return r;
}

/* The volume name and tree of a directory (db locked): 0 or -ENOENT. */
static int volume_of_dir(struct db *db, const char *dir, char *pv, size_t len, uint64_t *tree)
{
	assert(db_locked_by_me(db));
	sqlite3_stmt *st = db_prep(db, "SELECT name, tree FROM objects WHERE kind='" KIND_PV "' AND "
	                               "tree IS NOT NULL AND " DIR_OF_BODY "=?");
	sqlite3_bind_text(st, 1, dir, -1, SQLITE_STATIC);
	return db_finish_text_row(st, pv, len, tree);
}

/* rmdir's rule: only an empty root goes (db locked, tree frozen). */
static int veto_unless_empty(struct vfs *v, uint64_t tree)
{
	assert(db_locked_by_me(vfs_db(v)));
	return vfs_dir_is_empty(v, VFS_INO(tree, 1)) ? 0 : -ENOTEMPTY;
}

/* Called from a FUSE request on MOUNT/local-path, which the kernel holds
 * locked: only the /pv name may be invalidated here. */
static int lp_remove(void *arg, const char *dir, int only_if_empty)
{
	struct vfs *v = arg;
	struct db *db = vfs_db(v);
	char pv[256], err[512];
	uint64_t tree = 0;
	db_lock(db);
	int r = volume_of_dir(db, dir, pv, sizeof pv, &tree);
	db_unlock(db);
	if (r == 0)
		r = volume_delete_object_tree_if(v, KIND_PV, "", pv, only_if_empty ? veto_unless_empty : NULL,
		                                 err, sizeof err);
	if (r == 0)
		vfs_invalidate_name(v, VINO_PV, pv);
	return r;
}

static uint64_t lp_tree_of(void *arg, const char *dir)
{
	char pv[256];
	uint64_t tree = 0;
	return volume_of_dir(vfs_db(arg), dir, pv, sizeof pv, &tree) == 0 ? tree : 0;
}

static int lp_next(void *arg, uint64_t after, char *dir, size_t len, uint64_t *tree)
{
	sqlite3_stmt *st = db_prep(vfs_db(arg), "SELECT " DIR_OF_BODY ", tree FROM objects "
	                                        "WHERE kind='" KIND_PV "' AND tree > ? AND "
	                                        "" DIR_OF_BODY " IS NOT NULL "
	                                        "ORDER BY tree LIMIT 1");
	sqlite3_bind_int64(st, 1, (int64_t)after);
	return db_finish_text_row(st, dir, len, tree);
}

static int dir_of_pv(struct db *db, const char *pv, char *dir, size_t len)
{
	sqlite3_stmt *st = db_prep(db, "SELECT " DIR_OF_BODY " FROM objects "
	                               "WHERE kind='" KIND_PV "' AND namespace='' AND name=?");
	sqlite3_bind_text(st, 1, pv, -1, SQLITE_STATIC);
	return db_finish_text_row(st, dir, len, NULL);
}

static int lp_dir_of_pv(void *arg, const char *pv, char *dir, size_t len)
{
	return dir_of_pv(vfs_db(arg), pv, dir, len);
}

int localpath_dir_of(struct vfs *v, const char *pv, char *dir, size_t len)
{
	db_lock(vfs_db(v));
	int r = dir_of_pv(vfs_db(v), pv, dir, len);
	db_unlock(vfs_db(v));
	return r;
}

void localpath_install(struct vfs *v)
{
	struct vfs_provisioner p = {.create = lp_create, .remove = lp_remove, .tree_of = lp_tree_of,
	                            .next = lp_next, .dir_of_pv = lp_dir_of_pv, .arg = v};
	vfs_set_provisioner(v, &p);
}
