/*
 * meta/field_error.c — one-line field errors and quoting of user input
 * (see field_error.h).
 */
#include "meta/field_error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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

	field_quote_value(v, quoted, sizeof quoted);
	return field_fail(EINVAL, err, errlen, "%s: Invalid value: %s: %s", at, quoted, why);
}

int field_invalid_str(char *err, size_t errlen, const char *at, const char *s, const char *why)
{
	char quoted[160];

	field_quote(s, quoted, sizeof quoted);
	return field_fail(EINVAL, err, errlen, "%s: Invalid value: %s: %s", at, quoted, why);
}

int field_required_str(char *err, size_t errlen, json_object *o, const char *key, const char *at,
		       const char **out)
{
	json_object *v = NULL;
	char path[FIELD_PATH_MAX];

	if (json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	field_join(path, at, ".%s", key);
	*out = NULL;
	int is_str = v && json_object_is_type(v, json_type_string);
	if (!v || (is_str && !json_object_get_string_len(v)))
		return field_fail(EINVAL, err, errlen, "%s: Required value", path);
	if (!is_str || strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v))
		return field_invalid(err, errlen, path, v, "must be a string");
	*out = json_object_get_string(v);
	return 0;
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

void field_quote(const char *s, char *out, size_t len)
{
	size_t o = 0;

	if (len < 3) {
		if (len)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; s && *s && o + 6 < len; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			o += snprintf(out + o, len - o, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			o += snprintf(out + o, len - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	if (s && *s && o + 4 < len)
		o += snprintf(out + o, len - o, "...");
	out[o++] = '"';
	out[o] = '\0';
}

void field_quote_value(json_object *v, char *out, size_t len)
{
	const char *text;
	size_t n;

	if (v && json_object_is_type(v, json_type_string)) {
		field_quote(json_object_get_string(v), out, len);
		return;
	}
	if (!len)
		return;
	text = v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
	n = strlen(text);
	if (n < len) {
		memcpy(out, text, n + 1);
		return;
	}
	snprintf(out, len, "%.*s...", len > 4 ? (int)(len - 4) : 0, text);
}
