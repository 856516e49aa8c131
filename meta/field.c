/*
 * meta/field.c — field-path errors and member reading for the manifest
 * checkers of pod volumes (see field.h).
 */
#include "meta/field.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meta/k8s.h"

int field_fail(int code, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -code;
}

int field_invalid(char *err, size_t errlen, const char *at, json_object *v, const char *why)
{
	char quoted[160];

	k8s_quote_value(v, quoted, sizeof quoted);
	return field_fail(EINVAL, err, errlen, "%s: Invalid value: %s: %s", at, quoted, why);
}

char *field_join(char *buf, const char *at, const char *fmt, ...)
{
	size_t n = strnlen(at, FIELD_PATH_MAX - 1);
	va_list ap;

	memcpy(buf, at, n);
	va_start(ap, fmt);
	vsnprintf(buf + n, FIELD_PATH_MAX - n, fmt, ap);
	va_end(ap);
	return buf;
}

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

int json_has_nul(json_object *s)
{
	return strlen(json_object_get_string(s)) != (size_t)json_object_get_string_len(s);
}
