/*
 * meta/jsonobj.c — members of json-c objects by key and by dotted field
 * path (see jsonobj.h).
 */
#include "meta/jsonobj.h"

#include <stdio.h>
#include <string.h>

#include "meta/quantity.h"

#define SEGMENT_MAX 256
#define PATH_MAX_LEN 512

int json_is(json_object *v, json_type t)
{
	return v && json_object_is_type(v, t);
}

json_object *json_member(json_object *o, const char *key)
{
	json_object *v = NULL;

	if (json_is(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

const char *json_member_str(json_object *o, const char *key)
{
	json_object *v = json_member(o, key);

	return json_is(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int json_member_true(json_object *o, const char *key)
{
	json_object *v = json_member(o, key);

	return json_is(v, json_type_boolean) && json_object_get_boolean(v);
}

void json_del(json_object *o, const char *key)
{
	if (json_is(o, json_type_object))
		json_object_object_del(o, key);
}

int json_has_nul(json_object *s)
{
	return strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s);
}

/* Copy the segment of *path up to the next '.' into seg and step past it.
 * 0 at the end of the path or for a segment too long to be a key. */
static int next_segment(const char **path, char *seg)
{
	const char *dot = strchr(*path, '.');
	size_t len = dot ? (size_t)(dot - *path) : strlen(*path);

	if (!**path || len >= SEGMENT_MAX)
		return 0;
	memcpy(seg, *path, len);
	seg[len] = '\0';
	*path += len + (dot != NULL);
	return 1;
}

json_object *jpath_get(json_object *obj, const char *path)
{
	char seg[SEGMENT_MAX];

	if (!path || !*path)
		return NULL;
	while (obj && next_segment(&path, seg))
		obj = json_member(obj, seg);
	return *path ? NULL : obj;
}

const char *jpath_str(json_object *obj, const char *path)
{
	json_object *v = jpath_get(obj, path);

	return json_is(v, json_type_string) ? json_object_get_string(v) : NULL;
}

int json_quantity(json_object *v, uint64_t *bytes, char *why, size_t whylen)
{
	if (!json_is(v, json_type_string) && !json_is(v, json_type_int) &&
	    !json_is(v, json_type_double)) {
		snprintf(why, whylen, "must be a quantity (a string such as \"10Gi\" or a number)");
		return -1;
	}
	return quantity_parse(json_object_get_string(v), bytes, why, whylen);
}

uint64_t jpath_bytes(json_object *obj, const char *path)
{
	uint64_t bytes = 0;
	char why[256];

	if (json_quantity(jpath_get(obj, path), &bytes, why, sizeof why) < 0)
		return 0;
	return bytes;
}

/* The object member key of o, replacing whatever else is there. */
static json_object *object_member(json_object *o, const char *key)
{
	json_object *v = json_member(o, key);

	if (!json_is(v, json_type_object)) {
		v = json_object_new_object();
		json_object_object_add(o, key, v);
	}
	return v;
}

json_object *jpath_obj(json_object *obj, const char *path)
{
	char seg[SEGMENT_MAX];

	if (!json_is(obj, json_type_object))
		return NULL;
	while (next_segment(&path, seg))
		obj = object_member(obj, seg);
	return obj;
}

void jpath_set(json_object *obj, const char *path, json_object *val)
{
	const char *last = strrchr(path, '.');
	char parent[PATH_MAX_LEN];
	json_object *at = obj;

	if (last && (size_t)(last - path) < sizeof parent) {
		memcpy(parent, path, (size_t)(last - path));
		parent[last - path] = '\0';
		at = jpath_obj(obj, parent);
	} else if (last) {
		at = NULL;
	}
	if (!json_is(at, json_type_object)) {
		json_object_put(val);
		return;
	}
	json_object_object_add(at, last ? last + 1 : path, val);
}

void jpath_set_str(json_object *obj, const char *path, const char *s)
{
	jpath_set(obj, path, s ? json_object_new_string(s) : NULL);
}

int k8s_annotation_true(json_object *obj, const char *key)
{
	json_object *v = json_member(jpath_get(obj, "metadata.annotations"), key);

	return json_is(v, json_type_string) && !strcmp(json_object_get_string(v), "true");
}
