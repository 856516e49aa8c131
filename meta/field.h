/*
 * meta/field.h — the small tools the manifest checkers of pod volumes
 * share (projection.c, downward.c, configdata.c): one-line errors that name
 * a field path, field paths built up as the checker descends, and reading
 * object members whose keys may hold dots (data keys, label keys), which
 * k8s_get's dotted paths would split.
 */
#ifndef VOLFS_META_FIELD_H
#define VOLFS_META_FIELD_H

#include <json-c/json.h>
#include <stddef.h>

#define FIELD_PATH_MAX 512

/* Format err and return -code (errno value code). */
int field_fail(int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "AT: Invalid value: VALUE: WHY", VALUE quoted (never a secret value). */
int field_invalid(char *err, size_t errlen, const char *at, json_object *v, const char *why);
/* buf (FIELD_PATH_MAX bytes) = at followed by the formatted suffix
 * ("spec.volumes[0]" + ".items[2]"); a long path is cut. */
char *field_join(char *buf, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

int json_is(json_object *v, json_type t);
json_object *json_member(json_object *o, const char *key);
const char *json_member_str(json_object *o, const char *key);
int json_member_true(json_object *o, const char *key);
/* Does a JSON string hold a NUL byte? */
int json_has_nul(json_object *s);

#endif
