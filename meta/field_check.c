/*
 * meta/field_check.c — the field checks the per-kind rules are built of
 * (see field_check.h).
 */
#include "meta/field_check.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meta/jsonobj.h"
#include "meta/names.h"

/* --- reporting --- */

int field_report(struct field_check *c, const char *fmt, ...)
{
	va_list ap;

	if (c->err && c->errlen) {
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int field_report_required(struct field_check *c, const char *path)
{
	return field_report(c, "%s: Required value", path);
}

int field_report_invalid(struct field_check *c, const char *path, json_object *v, const char *why)
{
	char quoted[160];

	field_quote_value(v, quoted, sizeof quoted);
	return field_report(c, "%s: Invalid value: %s: %s", path, quoted, why);
}

int field_report_invalid_str(struct field_check *c, const char *path, const char *s, const char *why)
{
	char quoted[160];

	field_quote(s, quoted, sizeof quoted);
	return field_report(c, "%s: Invalid value: %s: %s", path, quoted, why);
}

/* "PATH: Unsupported value: "X": supported values: "A", "B"" */
int field_report_unsupported(struct field_check *c, const char *path, const char *value,
			     const char *const *allowed)
{
	char quoted[160], list[256] = "";
	size_t o = 0;

	for (size_t i = 0; allowed[i] && o < sizeof list; i++)
		o += snprintf(list + o, sizeof list - o, "%s\"%s\"", i ? ", " : "", allowed[i]);
	field_quote(value, quoted, sizeof quoted);
	return field_report(c, "%s: Unsupported value: %s: supported values: %s", path, quoted, list);
}

/* The reason of a names.c or quantity.c message, without its leading
 * `invalid name "INPUT": ` (the field error quotes the input itself). */
const char *field_reason(const char *msg)
{
	const char *p = strchr(msg, '"');

	if (!p)
		return msg;
	for (p++; *p && *p != '"'; p++)
		if (*p == '\\' && p[1])
			p++;
	return *p && p[1] == ':' && p[2] == ' ' ? p + 3 : msg;
}

/* Write a field path into buf (FIELD_PATH_MAX bytes); an absurdly long one
 * is cut, which only shortens a message. */
static const char *path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *path_fmt(char *buf, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, FIELD_PATH_MAX, fmt, ap);
	va_end(ap);
	return buf;
}

const char *field_child(char *buf, const char *path, const char *key)
{
	return path_fmt(buf, "%s%s%s", path, *path ? "." : "", key);
}

const char *field_map_entry(char *buf, const char *path, const char *key)
{
	return path_fmt(buf, "%s[%s]", path, key);
}

const char *field_list_item(char *buf, const char *path, size_t i)
{
	return path_fmt(buf, "%s[%zu]", path, i);
}

/* --- field checks --- */

int field_in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (!strcmp(s, list[i]))
			return 1;
	return 0;
}

/* An optional string (*out NULL when absent); required: present and not "". */
int field_check_string(struct field_check *c, json_object *o, const char *key, const char *path,
		       int required, const char **out)
{
	json_object *v = json_member(o, key);
	char at[FIELD_PATH_MAX];

	field_child(at, path, key);
	if (out)
		*out = NULL;
	if (!v || (required && json_is(v, json_type_string) && !*json_object_get_string(v)))
		return required ? field_report_required(c, at) : 0;
	if (!json_is(v, json_type_string))
		return field_report_invalid(c, at, v, "must be a string");
	if (out)
		*out = json_object_get_string(v);
	return 0;
}

/* A string naming another object (a DNS-1123 subdomain) when not empty. */
int field_check_ref_name(struct field_check *c, json_object *o, const char *key, const char *path,
			 int required)
{
	char at[FIELD_PATH_MAX], why[512];
	const char *name;
	int r = field_check_string(c, o, key, path, required, &name);

	if (r < 0 || !name || !*name)
		return r;
	if (name_check_subdomain(name, why, sizeof why) < 0)
		return field_report_invalid_str(c, field_child(at, path, key), name, field_reason(why));
	return 0;
}

/* One of allowed; an absent member gets dflt when there is one. */
int field_check_enum(struct field_check *c, json_object *o, const char *key, const char *path,
		     const char *const *allowed, const char *dflt)
{
	char at[FIELD_PATH_MAX];
	const char *s;
	int r = field_check_string(c, o, key, path, 0, &s);

	if (r < 0)
		return r;
	if (!s) {
		if (dflt)
			json_object_object_add(o, key, json_object_new_string(dflt));
		return 0;
	}
	if (!field_in_list(s, allowed))
		return field_report_unsupported(c, field_child(at, path, key), s, allowed);
	return 0;
}

int field_check_required_enum(struct field_check *c, json_object *o, const char *key,
			      const char *path, const char *const *allowed)
{
	char at[FIELD_PATH_MAX];

	if (!json_member(o, key))
		return field_report_required(c, field_child(at, path, key));
	return field_check_enum(c, o, key, path, allowed, NULL);
}

int field_check_bool(struct field_check *c, json_object *o, const char *key, const char *path)
{
	json_object *v = json_member(o, key);
	char at[FIELD_PATH_MAX];

	if (v && !json_is(v, json_type_boolean))
		return field_report_invalid(c, field_child(at, path, key), v, "must be a boolean");
	return 0;
}

/* An optional object member (*out NULL when absent). */
int field_check_object(struct field_check *c, json_object *o, const char *key, const char *path,
		       json_object **out)
{
	json_object *v = json_member(o, key);
	char at[FIELD_PATH_MAX];

	if (out)
		*out = NULL;
	if (v && !json_is(v, json_type_object))
		return field_report_invalid(c, field_child(at, path, key), v, "must be an object");
	if (out)
		*out = v;
	return 0;
}

int field_check_string_map(struct field_check *c, json_object *o, const char *key, const char *path)
{
	json_object *map;
	char at[FIELD_PATH_MAX], entry[FIELD_PATH_MAX];
	int r = field_check_object(c, o, key, path, &map);

	if (r < 0 || !map)
		return r;
	field_child(at, path, key);
	json_object_object_foreach(map, k, v) {
		if (!json_is(v, json_type_string))
			return field_report_invalid(c, field_map_entry(entry, at, k), v, "must be a string");
	}
	return 0;
}

int field_check_string_list(struct field_check *c, json_object *o, const char *key, const char *path)
{
	json_object *list = json_member(o, key);
	char at[FIELD_PATH_MAX], item[FIELD_PATH_MAX];

	field_child(at, path, key);
	if (!list)
		return 0;
	if (!json_is(list, json_type_array))
		return field_report_invalid(c, at, list, "must be a list of strings");
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *v = json_object_array_get_idx(list, i);

		if (!json_is(v, json_type_string))
			return field_report_invalid(c, field_list_item(item, at, i), v, "must be a string");
	}
	return 0;
}

/* A quantity; positive: it must be more than zero (sizes). */
int field_check_quantity_value(struct field_check *c, json_object *v, const char *at, int positive)
{
	uint64_t bytes;
	char why[512];

	if (json_quantity(v, &bytes, why, sizeof why) < 0)
		return field_report_invalid(c, at, v, field_reason(why));
	if (positive && bytes == 0)
		return field_report_invalid(c, at, v, "must be greater than zero");
	return 0;
}

int field_check_quantity(struct field_check *c, json_object *o, const char *key, const char *path,
			 int required)
{
	json_object *v = json_member(o, key);
	char at[FIELD_PATH_MAX];

	field_child(at, path, key);
	if (!v)
		return required ? field_report_required(c, at) : 0;
	return field_check_quantity_value(c, v, at, 1);
}
