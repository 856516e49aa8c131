/*
 * meta/hostpath.c — hostPath rules without the host (see hostpath.h):
 * manifest validation as the API server does it (validateHostPathVolumeSource,
 * validatePathNoBacksteps), prefix containment, and kubelet's type check
 * (pkg/volume/hostpath checkType) on a stat result.
 */
#include "meta/hostpath.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "meta/field_error.h"
#include "meta/jsonobj.h"

static const char *const TYPES[] = {
	"", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
	"Socket", NULL,
};

static int has_backstep(const char *path)
{
	for (const char *p = path; *p;) {
		size_t n = strcspn(p, "/");
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return 1;
		p += n;
		p += *p == '/';
	}
	return 0;
}

int hostpath_validate(json_object *src, const char *at, char *err, size_t errlen)
{
	if (!json_object_is_type(src, json_type_object))
		return field_fail(EINVAL, err, errlen, "%s: Invalid value: must be an object", at);
	json_object *p = json_object_object_get(src, "path"), *t = json_object_object_get(src, "type");
	const char *path = json_object_is_type(p, json_type_string) ? json_object_get_string(p) : NULL;
	if (!p || (path && !*path))
		return field_fail(EINVAL, err, errlen, "%s.path: Required value", at);
	if (!path)
		return field_fail(EINVAL, err, errlen, "%s.path: Invalid value: must be a string", at);
	if (path[0] != '/')
		return field_fail(EINVAL, err, errlen, "%s.path: Invalid value: \"%s\": must be an absolute path", at, path);
	if (has_backstep(path))
		return field_fail(EINVAL, err, errlen, "%s.path: Invalid value: \"%s\": must not contain '..'", at, path);
	if (!t || json_object_is_type(t, json_type_null))
		return 0;
	const char *type = json_object_is_type(t, json_type_string) ? json_object_get_string(t) : NULL;
	for (size_t i = 0; type && TYPES[i]; i++)
		if (!strcmp(type, TYPES[i]))
			return 0;
	return field_fail(EINVAL, err, errlen, "%s.type: Unsupported value: \"%s\": supported values: \"\", "
	            "\"BlockDevice\", \"CharDevice\", \"Directory\", \"DirectoryOrCreate\", \"File\", "
	            "\"FileOrCreate\", \"Socket\"", at, type ? type : json_object_to_json_string(t));
}

const char *hostpath_of_volume(json_object *vol)
{
	return jpath_str(vol, "hostPath.path");
}

const char *hostpath_of_pv(json_object *pv)
{
	return jpath_str(pv, "spec.hostPath.path");
}

const char *hostpath_type_of_volume(json_object *vol)
{
	const char *t = jpath_str(vol, "hostPath.type");
	return t ? t : "";
}

const char *hostpath_type_of_pv(json_object *pv)
{
	const char *t = jpath_str(pv, "spec.hostPath.type");
	return t ? t : "";
}

int hostpath_under(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	if (n == 1 && prefix[0] == '/')
		return path[0] == '/';
	return !strncmp(path, prefix, n) && (path[n] == 0 || path[n] == '/');
}

const char *hostpath_file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFDIR: return "Directory";
	case S_IFREG: return "File";
	case S_IFSOCK: return "Socket";
	case S_IFCHR: return "CharDevice";
	case S_IFBLK: return "BlockDevice";
	default: return NULL;
	}
}

int hostpath_creates_dir(const char *type)
{
	return !type || !*type || !strcmp(type, "DirectoryOrCreate");
}

int hostpath_creates_file(const char *type)
{
	return type && !strcmp(type, "FileOrCreate");
}

/* The type a check wants and kubelet's word for it. */
static const char *wanted(const char *type, const char **what)
{
	static const struct {
		const char *type, *want, *what;
	} table[] = {
		{"DirectoryOrCreate", "Directory", "directory"}, {"Directory", "Directory", "directory"},
		{"FileOrCreate", "File", "file"},                {"File", "File", "file"},
		{"Socket", "Socket", "socket file"},             {"CharDevice", "CharDevice", "character device"},
		{"BlockDevice", "BlockDevice", "block device"},
	};
	for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
		if (!strcmp(type, table[i].type)) {
			*what = table[i].what;
			return table[i].want;
		}
	return NULL;
}

int hostpath_check_type(const char *type, const char *path, int exists, mode_t mode, char *err,
                        size_t errlen)
{
	const char *what = NULL, *want;
	if (!type || !*type)
		return 0;
	want = wanted(type, &what);
	if (!want)
		return field_fail(EINVAL, err, errlen, "%s is an invalid volume type", type);
	if (!exists) {
		snprintf(err, errlen, "hostPath %s doesn't exist", path);
		return -ENOENT;
	}
	const char *have = hostpath_file_type(mode);
	if (!have)
		return field_fail(EINVAL, err, errlen, "hostPath type check failed, %s is not a %s, unable to determine "
		            "its type: only recognise file, directory, socket, block device and character "
		            "device", path, what);
	if (strcmp(have, want))
		return field_fail(EINVAL, err, errlen, "hostPath type check failed: %s is not a %s, it's a %s", path,
		            what, have);
	return 0;
}
