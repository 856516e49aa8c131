/*
 * fs/control/request.c — type checking of control-protocol requests (request.h):
 * one table of every member a request may carry.
 */
#include "fs/control/request.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

enum field_type { F_STRING, F_BOOLEAN, F_SIZE, F_OBJECT, F_ARRAY };

static const struct field {
	const char *name;
	enum field_type type;
} fields[] = {
	{"verb", F_STRING},
	{"kind", F_STRING},
	{"name", F_STRING},
	{"namespace", F_STRING},
	{"allNamespaces", F_BOOLEAN},
	{"source", F_STRING},
	{"sourceKind", F_STRING},
	{"snapshot", F_STRING},
	{"capacity", F_SIZE},
	{"inodes", F_SIZE},
	{"objects", F_ARRAY},
	{"object", F_OBJECT},
	{"patch", F_OBJECT},
	{"ignoreNotFound", F_BOOLEAN},
};

static const char *type_name(enum field_type t)
{
	switch (t) {
	case F_STRING: return "a string";
	case F_BOOLEAN: return "a boolean";
	case F_SIZE: return "an integer number of bytes";
	case F_OBJECT: return "an object";
	case F_ARRAY: return "an array";
	}
	return "?";
}

static const char *json_type_phrase(json_object *o)
{
	switch (json_object_get_type(o)) {
	case json_type_null: return "null";
	case json_type_boolean: return "a boolean";
	case json_type_double: return "a fractional number";
	case json_type_int: return "an integer";
	case json_type_object: return "an object";
	case json_type_array: return "an array";
	case json_type_string: return "a string";
	}
	return "?";
}

static const struct field *field_named(const char *name)
{
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
		if (!strcmp(fields[i].name, name))
			return &fields[i];
	return NULL;
}

static int has_type(json_object *o, enum field_type t)
{
	switch (t) {
	case F_STRING: return json_object_is_type(o, json_type_string);
	case F_BOOLEAN: return json_object_is_type(o, json_type_boolean);
	case F_SIZE: return json_object_is_type(o, json_type_int);
	case F_OBJECT: return json_object_is_type(o, json_type_object);
	case F_ARRAY: return json_object_is_type(o, json_type_array);
	}
	return 0;
}

/* json-c keeps an integer past INT64_MAX as a uint64 (clamped at
 * UINT64_MAX), and json_object_get_int64 would clamp it to INT64_MAX:
 * the range is checked on both readings. */
static int size_in_range(json_object *o)
{
	return json_object_get_int64(o) >= 0 && json_object_get_uint64(o) <= (uint64_t)INT64_MAX;
}

int request_check(json_object *req, char *err, size_t errlen)
{
	if (!json_object_is_type(req, json_type_object)) {
		snprintf(err, errlen, "request is not a JSON object");
		return -1;
	}
	json_object_object_foreach(req, key, val) {
		const struct field *f = field_named(key);
		if (!f) {
			snprintf(err, errlen, "unknown field \"%.100s\"", key);
			return -1;
		}
		if (!has_type(val, f->type)) {
			snprintf(err, errlen, "field \"%s\": expected %s, got %s", key, type_name(f->type),
			         json_type_phrase(val));
			return -1;
		}
		if (f->type == F_SIZE && !size_in_range(val)) {
			snprintf(err, errlen, "field \"%s\": %s is out of range (0 to %" PRId64 ")", key,
			         json_object_to_json_string(val), INT64_MAX);
			return -1;
		}
	}
	return 0;
}
