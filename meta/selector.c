/*
 * meta/selector.c — Kubernetes label selectors (see selector.h): checking
 * a selector and the label keys and values it names, and evaluating it
 * against an object's labels, with the semantics of apimachinery's
 * LabelSelectorAsSelector.
 *
 * A selector that does not validate matches nothing, as in Kubernetes,
 * where converting it fails and the claim finds no volume.
 */
#include "meta/selector.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "meta/field_error.h"
#include "meta/jsonobj.h"
#include "meta/names.h"

#define LABEL_NAME_MAX 63
#define SEL_PATH_MAX 512

static const char NAME_RULE[] =
	"name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
	"and end with an alphanumeric character (e.g. 'MyName', 'my.name' or '123-abc')";
static const char VALUE_RULE[] =
	"a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
	"or '.', and must start and end with an alphanumeric character";
static const char *const OPERATORS[] = { "DoesNotExist", "Exists", "In", "NotIn", NULL };

static int is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* ([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9] over s[0..len) */
static int is_label_name(const char *s, size_t len)
{
	if (len == 0 || !is_alnum(s[0]) || !is_alnum(s[len - 1]))
		return 0;
	for (size_t i = 1; i + 1 < len; i++)
		if (!is_alnum(s[i]) && s[i] != '-' && s[i] != '_' && s[i] != '.')
			return 0;
	return 1;
}

static const char *name_part_problem(const char *name)
{
	size_t len = strlen(name);

	if (len == 0)
		return "name part must be non-empty";
	if (len > LABEL_NAME_MAX)
		return "name part must be no more than 63 characters";
	return is_label_name(name, len) ? NULL : NAME_RULE;
}

static const char *prefix_problem(const char *key, size_t len)
{
	char prefix[256];

	if (len == 0)
		return "prefix part must be non-empty";
	if (len >= sizeof prefix)
		return "prefix part must be no more than 253 characters";
	memcpy(prefix, key, len);
	prefix[len] = '\0';
	if (name_check_subdomain(prefix, NULL, 0) < 0)
		return "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
		       "alphanumeric characters, '-' or '.', and must start and end with an "
		       "alphanumeric character";
	return NULL;
}

const char *selector_key_problem(const char *key)
{
	const char *slash;

	if (!key)
		return "name part must be non-empty";
	slash = strchr(key, '/');
	if (!slash)
		return name_part_problem(key);
	if (strchr(slash + 1, '/'))
		return "a qualified name must consist of alphanumeric characters, '-', '_' or '.', "
		       "with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
	const char *why = prefix_problem(key, (size_t)(slash - key));
	return why ? why : name_part_problem(slash + 1);
}

const char *selector_value_problem(const char *value)
{
	size_t len = value ? strlen(value) : 0;

	if (len == 0)
		return NULL;
	if (len > LABEL_NAME_MAX)
		return "must be no more than 63 characters";
	return is_label_name(value, len) ? NULL : VALUE_RULE;
}

/* --- validation --- */

/* Write a field path into at (SEL_PATH_MAX bytes); an absurd one is cut. */
static const char *sel_path(char *at, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static const char *sel_path(char *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(at, SEL_PATH_MAX, fmt, ap);
	va_end(ap);
	return at;
}

static int is_type(json_object *v, json_type t)
{
	return v && json_object_is_type(v, t);
}

static int check_match_labels(json_object *labels, const char *path, char *err, size_t errlen)
{
	const char *why;

	if (!is_type(labels, json_type_object))
		return field_invalid(err, errlen, path, labels, "must be an object");
	json_object_object_foreach(labels, key, val) {
		if ((why = selector_key_problem(key)) != NULL)
			return field_invalid_str(err, errlen, path, key, why);
		if (!is_type(val, json_type_string))
			return field_invalid(err, errlen, path, val, "must be a string");
		if ((why = selector_value_problem(json_object_get_string(val))) != NULL)
			return field_invalid(err, errlen, path, val, why);
	}
	return 0;
}

static int is_set_operator(const char *op)
{
	return !strcmp(op, "In") || !strcmp(op, "NotIn");
}

static int check_values(json_object *values, const char *op, const char *path, char *err,
			size_t errlen)
{
	size_t n = is_type(values, json_type_array) ? json_object_array_length(values) : 0;
	char at[SEL_PATH_MAX];

	if (values && !is_type(values, json_type_array))
		return field_invalid(err, errlen, path, values, "must be a list of strings");
	if (!is_set_operator(op)) {
		if (n)
			return field_fail(EINVAL, err, errlen, "%s: Forbidden: may not be specified when "
					"`operator` is 'Exists' or 'DoesNotExist'", path);
		return 0;
	}
	if (!n)
		return field_fail(EINVAL, err, errlen, "%s: Required value: must be specified when "
				"`operator` is 'In' or 'NotIn'", path);
	for (size_t i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(values, i);
		const char *why = "must be a string";

		sel_path(at, "%s[%zu]", path, i);
		if (is_type(v, json_type_string))
			why = selector_value_problem(json_object_get_string(v));
		if (why)
			return field_invalid(err, errlen, at, v, why);
	}
	return 0;
}

static int check_operator(json_object *op, const char *path, char *err, size_t errlen)
{
	char quoted[160];

	if (!op)
		return field_fail(EINVAL, err, errlen, "%s: Required value", path);
	if (!is_type(op, json_type_string))
		return field_invalid(err, errlen, path, op, "must be a string");
	for (size_t i = 0; OPERATORS[i]; i++)
		if (!strcmp(json_object_get_string(op), OPERATORS[i]))
			return 0;
	field_quote(json_object_get_string(op), quoted, sizeof quoted);
	return field_fail(EINVAL, err, errlen, "%s: Unsupported value: %s: supported values: "
			"\"DoesNotExist\", \"Exists\", \"In\", \"NotIn\"", path, quoted);
}

static int check_expression(json_object *e, const char *path, char *err, size_t errlen)
{
	json_object *key = json_member(e, "key"), *op = json_member(e, "operator");
	char at[SEL_PATH_MAX];
	const char *why;
	int r;

	if (!is_type(e, json_type_object))
		return field_invalid(err, errlen, path, e, "must be an object");
	sel_path(at, "%s.key", path);
	if (!key)
		return field_fail(EINVAL, err, errlen, "%s: Required value", at);
	if (!is_type(key, json_type_string))
		return field_invalid(err, errlen, at, key, "must be a string");
	if ((why = selector_key_problem(json_object_get_string(key))) != NULL)
		return field_invalid(err, errlen, at, key, why);
	sel_path(at, "%s.operator", path);
	if ((r = check_operator(op, at, err, errlen)) < 0)
		return r;
	sel_path(at, "%s.values", path);
	return check_values(json_member(e, "values"), json_object_get_string(op), at, err, errlen);
}

static int check_expressions(json_object *exprs, const char *path, char *err, size_t errlen)
{
	char at[SEL_PATH_MAX];

	if (!is_type(exprs, json_type_array))
		return field_invalid(err, errlen, path, exprs, "must be a list");
	for (size_t i = 0; i < json_object_array_length(exprs); i++) {
		int r;

		sel_path(at, "%s[%zu]", path, i);
		r = check_expression(json_object_array_get_idx(exprs, i), at, err, errlen);
		if (r < 0)
			return r;
	}
	return 0;
}

int selector_validate(json_object *selector, const char *path, char *err, size_t errlen)
{
	json_object *labels = json_member(selector, "matchLabels");
	json_object *exprs = json_member(selector, "matchExpressions");
	char at[SEL_PATH_MAX];
	int r;

	if (!selector)
		return 0;
	if (!is_type(selector, json_type_object))
		return field_invalid(err, errlen, path, selector, "must be an object");
	sel_path(at, "%s.matchLabels", path);
	if (labels && (r = check_match_labels(labels, at, err, errlen)) < 0)
		return r;
	sel_path(at, "%s.matchExpressions", path);
	if (exprs && (r = check_expressions(exprs, at, err, errlen)) < 0)
		return r;
	return 0;
}

/* --- matching --- */

static const char *label_value(json_object *labels, const char *key)
{
	json_object *v = json_member(labels, key);

	return is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static int in_values(json_object *values, const char *value)
{
	for (size_t i = 0; i < json_object_array_length(values); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(values, i)), value))
			return 1;
	return 0;
}

/* One requirement; the selector has been validated. */
static int expression_matches(json_object *e, json_object *labels)
{
	const char *op = json_object_get_string(json_member(e, "operator"));
	const char *have = label_value(labels, json_object_get_string(json_member(e, "key")));
	json_object *values = json_member(e, "values");

	if (!strcmp(op, "In"))
		return have && in_values(values, have);
	if (!strcmp(op, "NotIn"))
		return !have || !in_values(values, have);
	if (!strcmp(op, "Exists"))
		return have != NULL;
	return have == NULL;
}

int selector_matches(json_object *selector, json_object *labels)
{
	json_object *want = json_member(selector, "matchLabels");
	json_object *exprs = json_member(selector, "matchExpressions");

	if (!selector)
		return 1;
	if (selector_validate(selector, "selector", NULL, 0) < 0)
		return 0;
	if (want) {
		json_object_object_foreach(want, key, val) {
			const char *have = label_value(labels, key);

			if (!have || strcmp(have, json_object_get_string(val)))
				return 0;
		}
	}
	for (size_t i = 0; exprs && i < json_object_array_length(exprs); i++)
		if (!expression_matches(json_object_array_get_idx(exprs, i), labels))
			return 0;
	return 1;
}
