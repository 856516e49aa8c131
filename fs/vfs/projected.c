/*
 * fs/vfs/projected.c — configMap, secret, downwardAPI and projected volumes as
 * a pod sees them under MOUNT/pods/<ns>/<pod>/<volume>/: read-only files
 * served from meta.db (so a secret never reaches a data file), laid out as
 * kubelet's atomic writer lays them out:
 *
 *   ..data -> ..2026_11_22_02_45_00.123456789   the current version
 *   ..2026_11_22_02_45_00.123456789/key         the files of that version
 *   key -> ..data/key                           one link per top-level name
 *
 * An update makes a new version and flips ..data in one transaction, so a
 * reader that resolves ..data once sees every file of one version; the
 * previous version stays readable until the next update.
 *
 * The controller stores each volume's versions in its PodVolume object
 * (spec.version/spec.files, spec.previous); this file only reads them.
 * Inode keys: 'R' root "NS/POD/VOL", 'D' directory "NS/POD/VOL/VERSION[/SUB]",
 * 'F' file "NS/POD/VOL/VERSION/PATH", 'S' root link "NS/POD/VOL/NAME".
 */
#include "fs/vfs/vfs_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

/* A key split into the volume ("NS/POD/VOL") and the rest after it. */
struct pkey {
	char ns[256], pod[256], vol[256];
	const char *rest; /* points into the caller's key; "" when none */
};

static int parse_key(const char *key, struct pkey *k)
{
	const char *a = strchr(key, '/'), *b = a ? strchr(a + 1, '/') : NULL;
	if (!b)
		return -ENOENT;
	const char *c = strchr(b + 1, '/');
	size_t nl = (size_t)(a - key), pl = (size_t)(b - a - 1);
	size_t vl = c ? (size_t)(c - b - 1) : strlen(b + 1);
	if (nl >= sizeof k->ns || pl >= sizeof k->pod || vl >= sizeof k->vol)
		return -ENAMETOOLONG;
	snprintf(k->ns, sizeof k->ns, "%.*s", (int)nl, key);
	snprintf(k->pod, sizeof k->pod, "%.*s", (int)pl, a + 1);
	snprintf(k->vol, sizeof k->vol, "%.*s", (int)vl, b + 1);
	k->rest = c ? c + 1 : "";
	return 0;
}

/* The volume's stored versions (new reference), or NULL. */
static json_object *volume_spec(struct vfs *v, const struct pkey *k)
{
	if (!v->names.pod_projection)
		return NULL;
	char name[600];
	snprintf(name, sizeof name, "%s/%s", k->pod, k->vol);
	db_lock(v->db);
	json_object *o = v->names.pod_projection(v->names.arg, k->ns, name);
	db_unlock(v->db);
	return o;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *m;
	return json_object_object_get_ex(o, key, &m) ? json_object_get_string(m) : NULL;
}

/* The files of a version, current or previous; NULL if it is neither. */
static json_object *files_of(json_object *spec, const char *version, size_t vlen)
{
	json_object *prev, *files;
	const char *cur = str_of(spec, "version");
	if (cur && strlen(cur) == vlen && !strncmp(cur, version, vlen))
		return json_object_object_get_ex(spec, "files", &files) ? files : NULL;
	if (json_object_object_get_ex(spec, "previous", &prev)) {
		const char *old = str_of(prev, "version");
		if (old && strlen(old) == vlen && !strncmp(old, version, vlen))
			return json_object_object_get_ex(prev, "files", &files) ? files : NULL;
	}
	return NULL;
}

/* What a path inside a version is: 1 a file (*file set), 2 a directory. */
static int classify(json_object *files, const char *path, json_object **file)
{
	size_t len = strlen(path);
	int dir = !*path;
	for (size_t i = 0; files && i < json_object_array_length(files); i++) {
		json_object *f = json_object_array_get_idx(files, i);
		const char *p = str_of(f, "path");
		if (!p)
			continue;
		if (!strcmp(p, path)) {
			*file = f;
			return 1;
		}
		if (!strncmp(p, path, len) && (!len || p[len] == '/'))
			dir = 1;
	}
	return dir ? 2 : 0;
}

static void fill_stat(struct vfs *v, struct vfs_entry *e, uint64_t ino, mode_t mode, off_t size)
{
	memset(e, 0, sizeof *e);
	e->ino = ino;
	e->st.st_ino = ino;
	e->st.st_mode = mode;
	e->st.st_nlink = S_ISDIR(mode) ? 2 : 1;
	e->st.st_size = size;
	e->st.st_blksize = 4096;
	e->st.st_mtim.tv_sec = e->st.st_atim.tv_sec = e->st.st_ctim.tv_sec = v->mount_time / 1000000000;
}

/* "..data" points at the current version; "NAME" at "..data/NAME". */
static int root_link_target(json_object *spec, const char *name, char *buf, size_t len)
{
	const char *cur = str_of(spec, "version");
	if (!cur)
		return -ENOENT;
	if (!strcmp(name, "..data"))
		snprintf(buf, len, "%s", cur);
	else {
		json_object *f = NULL;
		if (!classify(files_of(spec, cur, strlen(cur)), name, &f))
			return -ENOENT;
		snprintf(buf, len, "..data/%s", name);
	}
	return 0;
}

/* The stat of a numbered projected inode of type 'R', 'D', 'F' or 'S'. */
int proj_entry(struct vfs *v, uint64_t ino, char type, const char *key, struct vfs_entry *e)
{
	struct pkey k;
	if (parse_key(key, &k) < 0)
		return -ENOENT;
	json_object *spec = volume_spec(v, &k);
	int r = spec ? 0 : -ENOENT;
	if (r == 0 && (type == 'R'))
		fill_stat(v, e, ino, S_IFDIR | 0555, 4096);
	else if (r == 0 && type == 'S') {
		char target[VIRT_KEY_MAX];
		r = root_link_target(spec, k.rest, target, sizeof target);
		if (r == 0)
			fill_stat(v, e, ino, S_IFLNK | 0777, (off_t)strlen(target));
	} else if (r == 0) {
		const char *slash = strchr(k.rest, '/');
		size_t vlen = slash ? (size_t)(slash - k.rest) : strlen(k.rest);
		json_object *files = files_of(spec, k.rest, vlen), *f = NULL;
		int what = files ? classify(files, slash ? slash + 1 : "", &f) : 0;
		if (what == 1 && type == 'F') {
			json_object *mode = json_object_object_get(f, "mode");
			json_object *data = json_object_object_get(f, "data");
			fill_stat(v, e, ino, S_IFREG | (mode ? (mode_t)json_object_get_int(mode) & 07777 : 0644),
			          data ? json_object_get_string_len(data) : 0);
		} else if (what == 2 && type == 'D')
			fill_stat(v, e, ino, S_IFDIR | 0555, 4096);
		else
			r = -ENOENT;
	}
	json_object_put(spec);
	return r;
}

static int numbered_entry(struct vfs *v, char type, const char *key, struct vfs_entry *e)
{
	uint64_t ino = virt_numbered_ino(v, type, key);
	if (!ino)
		return -ENOSPC;
	int r = proj_entry(v, ino, type, key, e);
	e->attr_timeout = e->entry_timeout = 0;
	return r;
}

int proj_lookup(struct vfs *v, char type, const char *key, const char *name, struct vfs_entry *e)
{
	char child[VIRT_KEY_MAX];
	if ((size_t)snprintf(child, sizeof child, "%s/%s", key, name) >= sizeof child)
		return -ENAMETOOLONG;
	if (type == 'R') {
		struct pkey k;
		json_object *spec = parse_key(key, &k) == 0 ? volume_spec(v, &k) : NULL;
		const char *cur = spec ? str_of(spec, "version") : NULL;
		int version = name[0] == '.' && name[1] == '.' && strcmp(name, "..data") &&
		              files_of(spec, name, strlen(name));
		json_object_put(spec);
		if (!cur)
			return -ENOENT;
		return numbered_entry(v, version ? 'D' : 'S', child, e);
	}
	/* inside a version: a file or a sub-directory */
	int r = numbered_entry(v, 'F', child, e);
	return r == 0 ? 0 : numbered_entry(v, 'D', child, e);
}

int proj_readlink(struct vfs *v, const char *key, char *buf, size_t len)
{
	struct pkey k;
	if (parse_key(key, &k) < 0)
		return -ENOENT;
	json_object *spec = volume_spec(v, &k);
	int r = spec ? root_link_target(spec, k.rest, buf, len) : -ENOENT;
	json_object_put(spec);
	return r;
}

/* The distinct names directly under `dir` in a version's files. */
static size_t children(json_object *files, const char *dir, char names[][256], size_t max)
{
	size_t n = 0, dlen = strlen(dir);
	for (size_t i = 0; files && i < json_object_array_length(files) && n < max; i++) {
		const char *p = str_of(json_object_array_get_idx(files, i), "path");
		if (!p || (dlen && (strncmp(p, dir, dlen) || p[dlen] != '/')))
			continue;
		const char *rest = dlen ? p + dlen + 1 : p, *slash = strchr(rest, '/');
		size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)len, rest);
		size_t j = 0;
		while (j < n && strcmp(names[j], name))
			j++;
		if (j == n)
			snprintf(names[n++], 256, "%s", name);
	}
	return n;
}

#define MAX_ENTRIES 1024

int proj_readdir(struct vfs *v, char type, const char *key, int64_t off, vfs_fill_fn fill, void *arg)
{
	struct pkey k;
	if (parse_key(key, &k) < 0)
		return 0;
	json_object *spec = volume_spec(v, &k);
	const char *cur = spec ? str_of(spec, "version") : NULL;
	if (!cur) {
		json_object_put(spec);
		return 0;
	}
	char (*names)[256] = calloc(MAX_ENTRIES + 2, 256);
	size_t n = 0;
	if (names && type == 'R') {
		snprintf(names[n++], 256, "..data");
		snprintf(names[n++], 256, "%s", cur);
		n += children(files_of(spec, cur, strlen(cur)), "", names + n, MAX_ENTRIES);
	} else if (names) {
		const char *slash = strchr(k.rest, '/');
		size_t vlen = slash ? (size_t)(slash - k.rest) : strlen(k.rest);
		n = children(files_of(spec, k.rest, vlen), slash ? slash + 1 : "", names, MAX_ENTRIES);
	}
	json_object_put(spec);
	for (size_t i = (size_t)(off > 2 ? off - 2 : 0); names && i < n; i++) {
		struct vfs_entry e;
		char child[VIRT_KEY_MAX];
		snprintf(child, sizeof child, "%s/%s", key, names[i]);
		if (proj_lookup(v, type, key, names[i], &e) == 0 &&
		    fill_dir_type(fill, arg, names[i], e.ino, e.st.st_mode & S_IFMT, (int64_t)i + 3))
			break;
	}
	free(names);
	return 0;
}

int proj_open(struct vfs *v, const char *key, int flags, char **data, size_t *len)
{
	if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC))
		return -EROFS;
	struct pkey k;
	if (parse_key(key, &k) < 0)
		return -ENOENT;
	json_object *spec = volume_spec(v, &k), *f = NULL;
	const char *slash = strchr(k.rest, '/');
	int r = -ENOENT;
	if (spec && slash && classify(files_of(spec, k.rest, (size_t)(slash - k.rest)), slash + 1, &f) == 1) {
		json_object *d = json_object_object_get(f, "data");
		*len = d ? (size_t)json_object_get_string_len(d) : 0;
		*data = malloc(*len ? *len : 1);
		r = *data ? 0 : -ENOMEM;
		if (*data && *len)
			memcpy(*data, json_object_get_string(d), *len);
	}
	json_object_put(spec);
	return r;
}
