/*
 * meta/field_error.h — one-line errors that name a field by its path, as
 * the Kubernetes API server words them ("spec.volumes[0].name: Invalid
 * value: \"x\": why"): the failure itself, field paths built up as a
 * checker descends, and user input quoted so that a message stays one
 * printable line. A leaf: includes nothing of the project.
 */
#ifndef VOLFS_META_FIELD_ERROR_H
#define VOLFS_META_FIELD_ERROR_H

#include <json-c/json.h>
#include <stddef.h>

#define FIELD_PATH_MAX 512

/* Format err and return -code (errno value code). */
int field_fail(int code, char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* "AT: Invalid value: VALUE: WHY", VALUE quoted (never a secret value). */
int field_invalid(char *err, size_t errlen, const char *at, json_object *v, const char *why);
/* The same with a string VALUE, quoted. */
int field_invalid_str(char *err, size_t errlen, const char *at, const char *s, const char *why);
/* *out = the string member key of object o, which must be present,
 * non-empty and hold no NUL byte; else "AT.KEY: Required value" or
 * "...: must be a string" in err, *out NULL, and -EINVAL. */
int field_required_str(char *err, size_t errlen, json_object *o, const char *key, const char *at,
		       const char **out);
/* buf (FIELD_PATH_MAX bytes) = at followed by the formatted suffix
 * ("spec.volumes[0]" + ".items[2]"); a long path is cut. */
char *field_join(char *buf, const char *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Write s double-quoted into out with quotes, backslashes, control and
 * non-ASCII bytes escaped and long input elided, so that a message naming
 * user input stays one printable line. */
void field_quote(const char *s, char *out, size_t len);
/* The same for any JSON value: strings quoted, anything else as JSON text
 * (shortened when long). */
void field_quote_value(json_object *v, char *out, size_t len);

#endif
