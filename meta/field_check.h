/*
 * meta/field_check.h — the field checks the per-kind rules (meta/k8s.c)
 * are built of. Each check stops at the first problem and reports it the
 * way the API server words a field error ("PATH: Required value", "PATH:
 * Invalid value: VALUE: WHY", "PATH: Unsupported value: VALUE: supported
 * values: ..."), into the check's buffer, returning -EINVAL. Map members
 * are named PATH[key], list items PATH[i]. A leaf tier: it uses only
 * jsonobj.c, field_error.c, names.c and quantities.
 */
#ifndef VOLFS_META_FIELD_CHECK_H
#define VOLFS_META_FIELD_CHECK_H

#include <json-c/json.h>
#include <stddef.h>

#include "meta/field_error.h"

/* Where a failing check writes its one line. */
struct field_check {
	char *err;
	size_t errlen;
};

/* --- reporting: each returns -EINVAL --- */

int field_report(struct field_check *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "PATH: Required value" */
int field_report_required(struct field_check *c, const char *path);
/* "PATH: Invalid value: VALUE: WHY", VALUE as JSON, or quoted s. */
int field_report_invalid(struct field_check *c, const char *path, json_object *v, const char *why);
int field_report_invalid_str(struct field_check *c, const char *path, const char *s, const char *why);
/* "PATH: Unsupported value: "X": supported values: "A", "B"" */
int field_report_unsupported(struct field_check *c, const char *path, const char *value,
			     const char *const *allowed);
/* The reason of a names.c or quantity.c message, without its leading
 * `invalid name "INPUT": ` (the field error quotes the input itself). */
const char *field_reason(const char *msg);

/* --- field paths, written into buf (FIELD_PATH_MAX bytes; a long one is cut) --- */

/* "PATH.key" ("key" at the top) */
const char *field_child(char *buf, const char *path, const char *key);
/* "PATH[key]" */
const char *field_map_entry(char *buf, const char *path, const char *key);
/* "PATH[i]" */
const char *field_list_item(char *buf, const char *path, size_t i);

/* --- field checks ---
 * Each takes the object holding the field, the field's key and the path
 * of the holder; absent and null members are the same. 0 or -EINVAL. */

/* Is s one of the NULL-terminated list? */
int field_in_list(const char *s, const char *const *list);
/* An optional string (*out NULL when absent); required: present and not "". */
int field_check_string(struct field_check *c, json_object *o, const char *key, const char *path,
		       int required, const char **out);
/* A string naming another object (a DNS-1123 subdomain) when not empty. */
int field_check_ref_name(struct field_check *c, json_object *o, const char *key, const char *path,
			 int required);
/* One of allowed; an absent member gets dflt when there is one. */
int field_check_enum(struct field_check *c, json_object *o, const char *key, const char *path,
		     const char *const *allowed, const char *dflt);
int field_check_required_enum(struct field_check *c, json_object *o, const char *key,
			      const char *path, const char *const *allowed);
int field_check_bool(struct field_check *c, json_object *o, const char *key, const char *path);
/* An optional object member (*out NULL when absent). */
int field_check_object(struct field_check *c, json_object *o, const char *key, const char *path,
		       json_object **out);
/* An optional object of strings, or list of strings. */
int field_check_string_map(struct field_check *c, json_object *o, const char *key, const char *path);
int field_check_string_list(struct field_check *c, json_object *o, const char *key, const char *path);
/* A quantity at path at; positive: it must be more than zero (sizes). */
int field_check_quantity_value(struct field_check *c, json_object *v, const char *at, int positive);
/* The quantity member key (positive); required: present. */
int field_check_quantity(struct field_check *c, json_object *o, const char *key, const char *path,
			 int required);

#endif
