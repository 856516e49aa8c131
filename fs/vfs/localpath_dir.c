/*
 * fs/vfs/localpath_dir.c — MOUNT/local-path/, the provisioning directory for
 * rancher's local-path-provisioner, whose helper pod can reach nothing but
 * this directory and busybox. The protocol is two namespace operations:
 *
 *   ln -s BYTES local-path/.volfs-size.DIR   a capacity waiting for DIR
 *   mkdir local-path/DIR                     the volume, made with that
 *                                            capacity in one transaction
 *   rmdir local-path/DIR                     deletes it (once emptied, as
 *                                            `rm -rf` leaves it)
 *   mv local-path/DIR local-path/.volfs-trash.ANY   deletes it whole
 *
 * A mkdir with no capacity waiting fails (EINVAL), so no volume can exist
 * without its capacity. Waiting capacities live in memory only: a restart
 * between the two steps just makes the mkdir fail, and the provisioner
 * retries the whole setup. The volumes themselves are PersistentVolume
 * objects (fs/control/localpath.c); here each DIR is its volume's root directory,
 * and MOUNT/pv/<volume> is a symlink to ../local-path/DIR so a directory
 * never has two parents.
 *
 * Numbered names of tree 0: 'z' (a waiting capacity, key DIR) and 'L'
 * (the /pv link of a local-path volume, key the volume's name).
 */
#include "fs/vfs/vfs_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SIZE_PREFIX ".volfs-size."
#define TRASH_PREFIX ".volfs-trash."
#define MIN_CAPACITY 4096
/* readdir cookies: volumes are 2 + tree id, waiting capacities after them */
#define PENDING_COOKIE (1LL << 62)

struct lp_pending {
	char *dir;
	uint64_t bytes;
	struct lp_pending *next;
};

static int has_prefix(const char *s, const char *p)
{
	return strncmp(s, p, strlen(p)) == 0;
}

/* A volume directory name: anything the kernel passes that is not one of
 * our dot-names (the provisioner's are "<pv>_<namespace>_<claim>"). */
static int dir_name_ok(const char *name)
{
	return name[0] && name[0] != '.' && strlen(name) <= 255;
}

/* "1073741824": decimal digits only, no sign, no suffix, no overflow. */
static int parse_bytes(const char *s, uint64_t *out)
{
	uint64_t n = 0;
	if (!*s || strlen(s) > 20)
		return -EINVAL;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		uint64_t d = (uint64_t)(*p - '0');
		if (n > (UINT64_MAX - d) / 10)
			return -EINVAL;
		n = n * 10 + d;
	}
	*out = n;
	return 0;
}

/* --- waiting capacities (lp_lock) --- */

static struct lp_pending **pending_find(struct vfs *v, const char *dir)
{
	struct lp_pending **p = &v->lp_pending;
	while (*p && strcmp((*p)->dir, dir))
		p = &(*p)->next;
	return p;
}

static int pending_bytes(struct vfs *v, const char *dir, uint64_t *bytes)
{
	pthread_mutex_lock(&v->lp_lock);
	struct lp_pending *p = *pending_find(v, dir);
	if (p)
		*bytes = p->bytes;
	pthread_mutex_unlock(&v->lp_lock);
	return p ? 0 : -ENOENT;
}

static int pending_remove(struct vfs *v, const char *dir)
{
	pthread_mutex_lock(&v->lp_lock);
	struct lp_pending **pp = pending_find(v, dir), *p = *pp;
	if (p) {
		*pp = p->next;
		free(p->dir);
		free(p);
	}
	pthread_mutex_unlock(&v->lp_lock);
	return p ? 0 : -ENOENT;
}

static int pending_add(struct vfs *v, const char *dir, uint64_t bytes)
{
	int r = 0;
	pthread_mutex_lock(&v->lp_lock);
	if (*pending_find(v, dir)) {
		r = -EEXIST;
	} else {
		struct lp_pending *p = calloc(1, sizeof *p);
		if (p && (p->dir = strdup(dir))) {
			p->bytes = bytes;
			p->next = v->lp_pending;
			v->lp_pending = p;
		} else {
			free(p);
			r = -ENOMEM;
		}
	}
	pthread_mutex_unlock(&v->lp_lock);
	return r;
}

/* The index-th waiting capacity's directory (for readdir). */
static int pending_nth(struct vfs *v, int64_t index, char *dir, size_t len)
{
	pthread_mutex_lock(&v->lp_lock);
	struct lp_pending *p = v->lp_pending;
	for (int64_t i = 0; p && i < index; i++)
		p = p->next;
	if (p)
		snprintf(dir, len, "%s", p->dir);
	pthread_mutex_unlock(&v->lp_lock);
	return p ? 0 : -ENOENT;
}

void lp_free(struct vfs *v)
{
	while (v->lp_pending) {
		struct lp_pending *p = v->lp_pending;
		v->lp_pending = p->next;
		free(p->dir);
		free(p);
	}
}

/* --- names --- */

static uint64_t volume_tree(struct vfs *v, const char *dir)
{
	if (!v->lp.tree_of)
		return 0;
	db_lock(v->db);
	uint64_t tree = v->lp.tree_of(v->lp.arg, dir);
	db_unlock(v->db);
	return tree;
}

int lp_readlink(struct vfs *v, char type, const char *key, char *buf, size_t len)
{
	if (type == 'z') {
		uint64_t bytes;
		if (pending_bytes(v, key, &bytes) < 0)
			return -ENOENT;
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return 0;
	}
	char dir[512];
	if (type != 'L' || !v->lp.dir_of_pv)
		return -EINVAL;
	db_lock(v->db);
	int r = v->lp.dir_of_pv(v->lp.arg, key, dir, sizeof dir);
	db_unlock(v->db);
	if (r == 0)
		snprintf(buf, len, "../local-path/%s", dir);
	return r;
}

int lp_link_entry(struct vfs *v, uint64_t ino, char type, const char *key, struct vfs_entry *e)
{
	char target[600];
	int r = lp_readlink(v, type, key, target, sizeof target);
	if (r < 0)
		return r;
	memset(e, 0, sizeof *e); /* timeouts 0: the names follow the control plane */
	e->ino = ino;
	e->st.st_ino = ino;
	e->st.st_mode = S_IFLNK | 0777;
	e->st.st_nlink = 1;
	e->st.st_size = (off_t)strlen(target);
	e->st.st_uid = geteuid();
	e->st.st_gid = getegid();
	e->st.st_mtim.tv_sec = e->st.st_ctim.tv_sec = e->st.st_atim.tv_sec = v->mount_time / 1000000000;
	return 0;
}

static int numbered_link(struct vfs *v, char type, const char *key, struct vfs_entry *e)
{
	uint64_t ino = virt_numbered_ino(v, type, key);
	return ino ? lp_link_entry(v, ino, type, key, e) : -ENOSPC;
}

int lp_pv_is_link(struct vfs *v, const char *pv)
{
	char dir[512];
	return v->lp.dir_of_pv && v->lp.dir_of_pv(v->lp.arg, pv, dir, sizeof dir) == 0;
}

int lp_pv_entry(struct vfs *v, const char *pv, struct vfs_entry *e)
{
	db_lock(v->db);
	int link = lp_pv_is_link(v, pv);
	db_unlock(v->db);
	return link ? numbered_link(v, 'L', pv, e) : -ENOENT;
}

int lp_lookup(struct vfs *v, const char *name, struct vfs_entry *e)
{
	if (has_prefix(name, SIZE_PREFIX))
		return numbered_link(v, 'z', name + strlen(SIZE_PREFIX), e);
	if (!dir_name_ok(name) || !v->lp.tree_of)
		return -ENOENT;
	int err = -ENOENT;
	db_lock(v->db);
	uint64_t tree = v->lp.tree_of(v->lp.arg, name);
	struct vnode *n = tree ? vnode_get_locked(v, VFS_INO(tree, 1), &err) : NULL;
	db_unlock(v->db);
	if (!n)
		return err;
	reply_entry(v, n, e);
	e->entry_timeout = 0;
	return 0;
}

int lp_readdir(struct vfs *v, int64_t off, vfs_fill_fn fill, void *arg)
{
	char dir[512];
	if (off < PENDING_COOKIE && v->lp.next) {
		uint64_t after = off > 2 ? (uint64_t)(off - 2) : 0, tree;
		for (;;) {
			db_lock(v->db);
			int r = v->lp.next(v->lp.arg, after, dir, sizeof dir, &tree);
			db_unlock(v->db);
			if (r < 0)
				break;
			if (fill_dir_type(fill, arg, dir, VFS_INO(tree, 1), S_IFDIR, (int64_t)tree + 2))
				return 0;
			after = tree;
		}
	}
	char name[600];
	for (int64_t i = off >= PENDING_COOKIE ? off - PENDING_COOKIE : 0;
	     pending_nth(v, i, dir, sizeof dir) == 0; i++) {
		snprintf(name, sizeof name, SIZE_PREFIX "%s", dir);
		uint64_t ino = virt_numbered_ino(v, 'z', dir);
		if (ino && fill_dir_type(fill, arg, name, ino, S_IFLNK, PENDING_COOKIE + i + 1))
			return 0;
	}
	return 0;
}

/* --- changes --- */

int lp_symlink(struct vfs *v, const char *name, const char *target, struct vfs_entry *e)
{
	const char *dir = name + strlen(SIZE_PREFIX);
	uint64_t bytes;
	if (!has_prefix(name, SIZE_PREFIX) || !dir_name_ok(dir))
		return -EPERM;
	if (parse_bytes(target, &bytes) < 0 || bytes < MIN_CAPACITY)
		return -EINVAL;
	if (volume_tree(v, dir))
		return -EEXIST;
	int r = pending_add(v, dir, bytes);
	return r < 0 ? r : numbered_link(v, 'z', dir, e);
}

int lp_mkdir(struct vfs *v, const char *name, struct vfs_entry *e)
{
	uint64_t bytes;
	if (!dir_name_ok(name))
		return -EPERM;
	if (volume_tree(v, name))
		return -EEXIST;
	if (pending_bytes(v, name, &bytes) < 0 || !v->lp.create)
		return -EINVAL; /* no capacity: no volume */
	int r = v->lp.create(v->lp.arg, name, bytes);
	if (r < 0)
		return r;
	pending_remove(v, name);
	return lp_lookup(v, name, e);
}

int lp_unlink(struct vfs *v, const char *name)
{
	if (has_prefix(name, SIZE_PREFIX))
		return pending_remove(v, name + strlen(SIZE_PREFIX));
	return dir_name_ok(name) && volume_tree(v, name) ? -EISDIR : -ENOENT;
}

int lp_rmdir(struct vfs *v, const char *name)
{
	if (has_prefix(name, SIZE_PREFIX))
		return -ENOTDIR;
	if (!dir_name_ok(name) || !v->lp.remove)
		return -ENOENT;
	return v->lp.remove(v->lp.arg, name, 1);
}

/* Only "mv DIR .volfs-trash.ANY" (delete the volume whole); never EXDEV,
 * which would make mv copy the volume instead. */
int lp_rename(struct vfs *v, const char *name, uint64_t newparent, const char *newname,
              unsigned flags)
{
	if (newparent != VINO_LOCAL_PATH || !has_prefix(newname, TRASH_PREFIX) ||
	    (flags & ~1u) || !dir_name_ok(name) || !v->lp.remove)
		return -EPERM;
	return v->lp.remove(v->lp.arg, name, 0);
}
