/*
 * meta/projection.c — configMap, secret, downwardAPI and projected pod
 * volumes (see projection.h): what the API server accepts in them, and
 * the files kubelet would write for them, computed from the pod and the
 * ConfigMaps and Secrets of its namespace. The objects' own rules and
 * entries are meta/configdata.c's; downward API values meta/downward.c's.
 *
 * Secret values never appear in messages: a message names the key.
 */
#include "meta/projection.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/configdata.h"
#include "meta/downward.h"
#include "meta/field_error.h"
#include "meta/jsonobj.h"
#include "meta/names.h"

#define AT_MAX FIELD_PATH_MAX
#define FILE_PATH_MAX 4096       /* kubelet's atomic writer limits */
#define FILE_NAME_MAX 255
#define MODE_MAX 0777

/* --- reporting --- */

#define fail(err, errlen, ...) field_fail(EINVAL, err, errlen, __VA_ARGS__)
#define missing(err, errlen, ...) field_fail(ENOENT, err, errlen, __VA_ARGS__)

/* --- reading members --- */

/* --- paths and modes --- */

/* path without empty and "." segments, into out (which has room for
 * strlen(path) + 1). */
static void clean_path(const char *path, char *out)
{
	size_t o = 0;

	while (*path) {
		size_t len = strcspn(path, "/");

		if (len && !(len == 1 && path[0] == '.')) {
			if (o)
				out[o++] = '/';
			memcpy(out + o, path, len);
			o += len;
		}
		path += len + (path[len] == '/');
	}
	out[o] = '\0';
}

/* NULL when an item path is one kubelet writes below the volume (not
 * absolute, no ".." element, not starting with ".." which its ..data
 * layout reserves, within its length limits), else why not. The clean
 * form is checked too: "./..data" is "..data". */
static const char *path_problem(const char *path)
{
	char clean[FILE_PATH_MAX + 1];
	const char *seg = path;

	if (path[0] == '/')
		return "must be a relative path";
	if (strlen(path) > FILE_PATH_MAX)
		return "must be no more than 4096 characters";
	while (*seg) {
		size_t len = strcspn(seg, "/");

		if (len == 2 && !strncmp(seg, "..", 2))
			return "must not contain '..'";
		if (len > FILE_NAME_MAX)
			return "a file name must be no more than 255 characters";
		seg += len + (seg[len] == '/');
	}
	clean_path(path, clean);
	if (!strncmp(path, "..", 2) || !strncmp(clean, "..", 2))
		return "must not start with '..'";
	if (!clean[0])
		return "must name a file";
	return NULL;
}

/* o.key, when present, is a file mode: an integer 0..0777. */
static int check_mode(json_object *o, const char *key, const char *at, char *err, size_t errlen)
{
	json_object *v = json_member(o, key);
	char path[AT_MAX];
	int64_t m;

	if (!v)
		return 0;
	m = json_is(v, json_type_int) ? json_object_get_int64(v) : -1;
	if (m >= 0 && m <= MODE_MAX)
		return 0;
	field_join(path, at, ".%s", key);
	return field_invalid(err, errlen, path, v, "must be a number between 0 and 0777 (octal), "
			    "both inclusive");
}

static int mode_of(json_object *o, const char *key, int fallback)
{
	json_object *v = json_member(o, key);

	return json_is(v, json_type_int) ? (int)json_object_get_int64(v) : fallback;
}

/* --- validation of the volume sources --- */

/* What validation carries along: the error buffer and, in a projected
 * volume, the item paths seen so far (two sources may not name one). */
struct vcheck {
	char *err;
	size_t errlen;
	json_object *paths;
};

static int check_bool(struct vcheck *c, json_object *o, const char *key, const char *at)
{
	json_object *v = json_member(o, key);
	char path[AT_MAX];

	if (!v || json_is(v, json_type_boolean))
		return 0;
	field_join(path, at, ".%s", key);
	return field_invalid(c->err, c->errlen, path, v, "must be a boolean");
}

/* o.key is absent or a list; the list (or NULL) in *out. */
static int check_list(struct vcheck *c, json_object *o, const char *key, const char *at,
		      json_object **out)
{
	json_object *v = json_member(o, key);
	char path[AT_MAX];

	*out = v;
	if (!v || json_is(v, json_type_array))
		return 0;
	field_join(path, at, ".%s", key);
	return field_invalid(c->err, c->errlen, path, v, "must be a list");
}

/* An item's path: required, writable below the volume, and in a
 * projected volume not named by an earlier item. */
static int check_item_path(struct vcheck *c, json_object *item, const char *at)
{
	const char *path, *why;
	char field[AT_MAX], *clean;
	int r = field_required_str(c->err, c->errlen, item, "path", at, &path);

	if (r < 0)
		return r;
	field_join(field, at, ".path");
	if ((why = path_problem(path)))
		return field_invalid(c->err, c->errlen, field, json_member(item, "path"), why);
	if (!c->paths)
		return 0;
	clean = malloc(strlen(path) + 1);
	if (!clean)
		return fail(c->err, c->errlen, "%s: out of memory", field);
	clean_path(path, clean);
	r = json_object_object_get_ex(c->paths, clean, NULL);
	if (!r)
		json_object_object_add(c->paths, clean, NULL);
	free(clean);
	if (r)
		return field_invalid(c->err, c->errlen, field, json_member(item, "path"),
				    "conflicting duplicate paths");
	return 0;
}

static int check_key_item(struct vcheck *c, json_object *item, const char *at)
{
	const char *key;
	int r;

	if (!json_is(item, json_type_object))
		return field_invalid(c->err, c->errlen, at, item, "must be an object");
	if ((r = field_required_str(c->err, c->errlen, item, "key", at, &key)) < 0 ||
	    (r = check_item_path(c, item, at)) < 0)
		return r;
	return check_mode(item, "mode", at, c->err, c->errlen);
}

/* configMap or secret, as a volume (name_key "name" / "secretName", a
 * defaultMode) or as a projected source (name_key "name", no
 * defaultMode: the projected volume has it). */
static int check_keyed_source(struct vcheck *c, json_object *src, const char *at,
			      const char *name_key, int in_projected)
{
	json_object *items;
	const char *name;
	char why[256], item_at[AT_MAX];
	int r;

	if (!json_is(src, json_type_object))
		return field_invalid(c->err, c->errlen, at, src, "must be an object");
	if ((r = field_required_str(c->err, c->errlen, src, name_key, at, &name)) < 0)
		return r;
	if (name_check_subdomain(name, why, sizeof why) < 0)
		return fail(c->err, c->errlen, "%s.%s: Invalid value: %s", at, name_key, why);
	if (in_projected && json_member(src, "defaultMode"))
		return fail(c->err, c->errlen, "%s.defaultMode: unknown field (a projected volume "
			    "has one defaultMode, beside its sources)", at);
	if ((r = check_mode(src, "defaultMode", at, c->err, c->errlen)) < 0 ||
	    (r = check_bool(c, src, "optional", at)) < 0 ||
	    (r = check_list(c, src, "items", at, &items)) < 0)
		return r;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		field_join(item_at, at, ".items[%zu]", i);
		if ((r = check_key_item(c, json_object_array_get_idx(items, i), item_at)) < 0)
			return r;
	}
	return 0;
}

static int check_downward_item(struct vcheck *c, json_object *item, const char *at)
{
	int r;

	if (!json_is(item, json_type_object))
		return field_invalid(c->err, c->errlen, at, item, "must be an object");
	if ((r = check_item_path(c, item, at)) < 0 ||
	    (r = check_mode(item, "mode", at, c->err, c->errlen)) < 0)
		return r;
	return downward_check_item(item, at, c->err, c->errlen);
}

static int check_downward_source(struct vcheck *c, json_object *src, const char *at,
				 int in_projected)
{
	json_object *items;
	char item_at[AT_MAX];
	int r;

	if (!json_is(src, json_type_object))
		return field_invalid(c->err, c->errlen, at, src, "must be an object");
	if (in_projected && json_member(src, "defaultMode"))
		return fail(c->err, c->errlen, "%s.defaultMode: unknown field (a projected volume "
			    "has one defaultMode, beside its sources)", at);
	if ((r = check_mode(src, "defaultMode", at, c->err, c->errlen)) < 0 ||
	    (r = check_list(c, src, "items", at, &items)) < 0)
		return r;
	for (size_t i = 0; items && i < json_object_array_length(items); i++) {
		field_join(item_at, at, ".items[%zu]", i);
		if ((r = check_downward_item(c, json_object_array_get_idx(items, i), item_at)) < 0)
			return r;
	}
	return 0;
}

static const char *const UNSERVED_SOURCES[] = {
	"serviceAccountToken", "clusterTrustBundle", "podCertificate", NULL
};

static int check_projected_source(struct vcheck *c, json_object *src, const char *at)
{
	static const char *const served[] = { "configMap", "secret", "downwardAPI", NULL };
	char sub[AT_MAX];
	int types = 0;

	if (!json_is(src, json_type_object))
		return field_invalid(c->err, c->errlen, at, src, "must be an object");
	for (size_t i = 0; UNSERVED_SOURCES[i]; i++)
		if (json_member(src, UNSERVED_SOURCES[i]))
			return fail(c->err, c->errlen, "%s.%s: Unsupported value: %s sources are not "
				    "supported by volfs (configMap, secret and downwardAPI are)", at,
				    UNSERVED_SOURCES[i], UNSERVED_SOURCES[i]);
	for (size_t i = 0; served[i]; i++)
		types += json_member(src, served[i]) != NULL;
	if (types != 1)
		return fail(c->err, c->errlen, "%s: %s", at, types ? "Forbidden: may not specify "
			    "more than 1 volume type" : "Required value: must specify exactly 1 of "
			    "configMap, secret and downwardAPI");
	if (json_member(src, "downwardAPI")) {
		field_join(sub, at, ".downwardAPI");
		return check_downward_source(c, json_member(src, "downwardAPI"), sub, 1);
	}
	field_join(sub, at, ".%s", json_member(src, "secret") ? "secret" : "configMap");
	return check_keyed_source(c, json_member(src, "secret") ? json_member(src, "secret")
							    : json_member(src, "configMap"), sub, "name", 1);
}

static int check_projected(struct vcheck *c, json_object *proj, const char *at)
{
	json_object *sources;
	char src_at[AT_MAX];
	int r;

	if (!json_is(proj, json_type_object))
		return field_invalid(c->err, c->errlen, at, proj, "must be an object");
	if ((r = check_mode(proj, "defaultMode", at, c->err, c->errlen)) < 0 ||
	    (r = check_list(c, proj, "sources", at, &sources)) < 0)
		return r;
	for (size_t i = 0; sources && i < json_object_array_length(sources); i++) {
		field_join(src_at, at, ".sources[%zu]", i);
		r = check_projected_source(c, json_object_array_get_idx(sources, i), src_at);
		if (r < 0)
			return r;
	}
	return 0;
}

static const char *const TYPES[] = { "configMap", "secret", "downwardAPI", "projected", NULL };

int projection_is(json_object *vol)
{
	int n = 0;

	for (size_t i = 0; TYPES[i]; i++)
		n += json_member(vol, TYPES[i]) != NULL;
	return n;
}

int projection_validate(json_object *vol, const char *at, char *err, size_t errlen)
{
	struct vcheck c = { err, errlen, NULL };
	char sub[AT_MAX];
	int r;

	if (projection_is(vol) != 1)
		return fail(err, errlen, "%s: %s", at, projection_is(vol) ? "Forbidden: may not "
			    "specify more than 1 volume type" : "Required value: a configMap, secret, "
			    "downwardAPI or projected source");
	if (json_member(vol, "configMap")) {
		field_join(sub, at, ".configMap");
		return check_keyed_source(&c, json_member(vol, "configMap"), sub, "name", 0);
	}
	if (json_member(vol, "secret")) {
		field_join(sub, at, ".secret");
		return check_keyed_source(&c, json_member(vol, "secret"), sub, "secretName", 0);
	}
	if (json_member(vol, "downwardAPI")) {
		field_join(sub, at, ".downwardAPI");
		return check_downward_source(&c, json_member(vol, "downwardAPI"), sub, 0);
	}
	field_join(sub, at, ".projected");
	c.paths = json_object_new_object();
	r = check_projected(&c, json_member(vol, "projected"), sub);
	json_object_put(c.paths);
	return r;
}

int projection_uses(json_object *vol, const char *kind, const char *name)
{
	const char *field = !kind ? NULL : !strcmp(kind, "ConfigMap") ? "configMap"
			  : !strcmp(kind, "Secret") ? "secret" : NULL;
	json_object *sources = jpath_get(vol, "projected.sources");
	const char *n;

	if (!field || !name)
		return 0;
	n = json_member_str(json_member(vol, field), strcmp(field, "secret") ? "name" : "secretName");
	if (n && !strcmp(n, name))
		return 1;
	for (size_t i = 0; json_is(sources, json_type_array) &&
			   i < json_object_array_length(sources); i++) {
		n = json_member_str(json_member(json_object_array_get_idx(sources, i), field), "name");
		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

/* --- the files: collecting them --- */

/* What projecting one volume carries along. files maps each clean path
 * to its file object: a later file of the same path replaces the earlier
 * one, which is kubelet's rule for projected sources and items. */
struct proj {
	json_object *pod, *configmaps, *secrets;
	json_object *files;
	char *err;
	size_t errlen;
};

static int add_file(struct proj *p, const char *path, int mode, const char *data, size_t len)
{
	char *clean, quoted[160];
	json_object *f;
	const char *why = path_problem(path);

	/* Validation refused such paths; an object stored before it was
	 * written must not reach the fs layer either. */
	if (why) {
		field_quote(path, quoted, sizeof quoted);
		return fail(p->err, p->errlen, "path %s: %s", quoted, why);
	}
	clean = malloc(strlen(path) + 1);
	f = json_object_new_object();
	if (!clean || !f) {
		free(clean);
		json_object_put(f);
		return fail(p->err, p->errlen, "out of memory projecting \"%s\"", path);
	}
	clean_path(path, clean);
	json_object_object_add(f, "path", json_object_new_string(clean));
	json_object_object_add(f, "mode", json_object_new_int(mode));
	json_object_object_add(f, "data", json_object_new_string_len(data, (int)len));
	json_object_object_add(p->files, clean, f);
	free(clean);
	return 0;
}

/* --- the files: configMap and secret --- */

static json_object *object_named(json_object *list, const char *name)
{
	for (size_t i = 0; json_is(list, json_type_array) && i < json_object_array_length(list); i++) {
		json_object *o = json_object_array_get_idx(list, i);
		const char *n = jpath_str(o, "metadata.name");

		if (n && !strcmp(n, name))
			return o;
	}
	return NULL;
}

/* One entry of obj (named name, in messages as noun) at path. */
static int project_key(struct proj *p, const char *noun, json_object *obj, const char *name,
		       const char *key, const char *path, int mode, int optional)
{
	char *data = NULL;
	size_t len = 0;
	int r = configdata_value(obj, !strcmp(noun, "secret"), key, &data, &len);

	if (r == 0 && !optional)
		return missing(p->err, p->errlen, "%s \"%s\" has no key \"%s\"", noun, name, key);
	if (r == -ENOMEM)
		return fail(p->err, p->errlen, "out of memory");
	if (r < 0)
		return fail(p->err, p->errlen, "%s \"%s\": the value of key \"%s\" is not a string or "
			    "not base64", noun, name, key);
	if (r == 1)
		r = add_file(p, path, mode, data, len);
	free(data);
	return r < 0 ? r : 0;
}

/* Every entry of obj, each a file named by its key. */
static int project_all_keys(struct proj *p, const char *noun, json_object *obj, const char *name,
			    int mode)
{
	json_object *keys = configdata_keys(obj, !strcmp(noun, "secret"));
	int r = 0;

	for (size_t i = 0; r == 0 && i < json_object_array_length(keys); i++) {
		const char *key = json_object_get_string(json_object_array_get_idx(keys, i));

		if (configdata_key_problem(key))
			r = fail(p->err, p->errlen, "%s \"%s\": invalid key", noun, name);
		else
			r = project_key(p, noun, obj, name, key, key, mode, 0);
	}
	json_object_put(keys);
	return r;
}

/* A configMap or secret source (noun "configmap" / "secret", as kubelet
 * names them in messages): src names the object (name_key), its items
 * and optional; mode is the mode of files without their own. */
static int project_keyed(struct proj *p, const char *noun, json_object *list, json_object *src,
			 const char *name_key, int mode)
{
	const char *name = json_member_str(src, name_key);
	json_object *items = json_member(src, "items"), *obj = object_named(list, name ? name : "");
	int optional = json_member_true(src, "optional"), r = 0;

	if (!obj)
		return optional ? 0 : missing(p->err, p->errlen, "%s \"%s\" not found", noun,
					      name ? name : "");
	if (!json_is(items, json_type_array))
		return project_all_keys(p, noun, obj, name, mode);
	for (size_t i = 0; r == 0 && i < json_object_array_length(items); i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *key = json_member_str(it, "key"), *path = json_member_str(it, "path");

		if (!key || !path)
			return fail(p->err, p->errlen, "%s \"%s\": items[%zu] needs a key and a path",
				    noun, name, i);
		r = project_key(p, noun, obj, name, key, path, mode_of(it, "mode", mode), optional);
	}
	return r;
}

/* --- the files: downwardAPI --- */

static int project_downward(struct proj *p, json_object *src, int mode)
{
	json_object *items = json_member(src, "items");

	for (size_t i = 0; json_is(items, json_type_array) && i < json_object_array_length(items);
	     i++) {
		json_object *it = json_object_array_get_idx(items, i);
		const char *path = json_member_str(it, "path");
		char *data = NULL;
		size_t len = 0;
		int r;

		if (!path)
			return fail(p->err, p->errlen, "downwardAPI items[%zu] needs a path", i);
		r = downward_value(p->pod, it, &data, &len, p->err, p->errlen);
		if (r == 0)
			r = add_file(p, path, mode_of(it, "mode", mode), data, len);
		free(data);
		if (r < 0)
			return r;
	}
	return 0;
}

/* --- the files: volumes --- */

static int project_source(struct proj *p, json_object *src, int mode)
{
	json_object *s;

	if ((s = json_member(src, "configMap")))
		return project_keyed(p, "configmap", p->configmaps, s, "name", mode);
	if ((s = json_member(src, "secret")))
		return project_keyed(p, "secret", p->secrets, s, "name", mode);
	if ((s = json_member(src, "downwardAPI")))
		return project_downward(p, s, mode);
	return fail(p->err, p->errlen, "projected source of a type volfs does not serve");
}

static int project_volume(struct proj *p, json_object *vol)
{
	json_object *s, *sources;
	int mode;

	if ((s = json_member(vol, "configMap")))
		return project_keyed(p, "configmap", p->configmaps, s, "name",
				     mode_of(s, "defaultMode", PROJECTION_DEFAULT_MODE));
	if ((s = json_member(vol, "secret")))
		return project_keyed(p, "secret", p->secrets, s, "secretName",
				     mode_of(s, "defaultMode", PROJECTION_DEFAULT_MODE));
	if ((s = json_member(vol, "downwardAPI")))
		return project_downward(p, s, mode_of(s, "defaultMode", PROJECTION_DEFAULT_MODE));
	if (!(s = json_member(vol, "projected")))
		return fail(p->err, p->errlen, "not a configMap, secret, downwardAPI or projected "
			    "volume");
	mode = mode_of(s, "defaultMode", PROJECTION_DEFAULT_MODE);
	sources = json_member(s, "sources");
	for (size_t i = 0; json_is(sources, json_type_array) &&
			   i < json_object_array_length(sources); i++) {
		int r = project_source(p, json_object_array_get_idx(sources, i), mode);

		if (r < 0)
			return r;
	}
	return 0;
}

/* No file may also be a directory of another ("a" and "a/b"): kubelet
 * fails to write such a volume, and so does this. */
static int check_clashes(struct proj *p)
{
	json_object_object_foreach(p->files, path, f) {
		char *dir = strdup(path);
		int clash = 0;

		(void)f;
		if (!dir)
			return fail(p->err, p->errlen, "out of memory");
		for (char *slash = strchr(dir, '/'); slash && !clash; slash = strchr(slash + 1, '/')) {
			*slash = '\0';
			clash = json_object_object_get_ex(p->files, dir, NULL);
			if (!clash)
				*slash = '/';
		}
		if (clash)
			fail(p->err, p->errlen, "projected file \"%s\" would also be the directory of "
			     "\"%s\"", dir, path);
		free(dir);
		if (clash)
			return -EINVAL;
	}
	return 0;
}

static int cmp_path(const void *a, const void *b)
{
	return strcmp(jpath_str(*(json_object *const *)a, "path"),
		      jpath_str(*(json_object *const *)b, "path"));
}

int projection_files(json_object *pod, json_object *vol, json_object *configmaps,
		     json_object *secrets, json_object **files, char *err, size_t errlen)
{
	struct proj p = { pod, configmaps, secrets, json_object_new_object(), err, errlen };
	int r = p.files ? project_volume(&p, vol) : fail(err, errlen, "out of memory");

	*files = NULL;
	if (r == 0)
		r = check_clashes(&p);
	if (r == 0) {
		*files = json_object_new_array();
		json_object_object_foreach(p.files, path, f) {
			(void)path;
			json_object_array_add(*files, json_object_get(f));
		}
		json_object_array_sort(*files, cmp_path);
	}
	json_object_put(p.files);
	return r;
}
