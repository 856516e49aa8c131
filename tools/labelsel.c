/*
 * tools/labelsel.c — selector strings as kubectl writes them (see
 * labelsel.h). A label selector becomes the same LabelSelector a claim's
 * spec.selector is, so matching is meta/selector.c's: "k=v" and "k==v"
 * are In of one value, "k!=v" NotIn (an object without k matches, as in
 * kubectl), "k in (..)" In, "k notin (..)" NotIn, "k" Exists and "!k"
 * DoesNotExist.
 */
#include "tools/labelsel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meta/selector.h"

static char *trimmed(const char *s, size_t len)
{
	char *out;

	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	out = strndup(s, len);
	if (!out)
		abort();
	return out;
}

static int check_word(const char *what, const char *word, const char *req, char *err, size_t errlen)
{
	const char *problem = !strcmp(what, "key") ? selector_key_problem(word) : selector_value_problem(word);

	if (!problem)
		return 0;
	snprintf(err, errlen, "unable to parse requirement: invalid label %s \"%s\": %s (in \"%s\")", what, word,
		 problem, req);
	return -1;
}

static void add_expression(struct json_object *sel, const char *key, const char *op, struct json_object *values)
{
	struct json_object *exprs, *e = json_object_new_object();

	if (!json_object_object_get_ex(sel, "matchExpressions", &exprs)) {
		exprs = json_object_new_array();
		json_object_object_add(sel, "matchExpressions", exprs);
	}
	json_object_object_add(e, "key", json_object_new_string(key));
	json_object_object_add(e, "operator", json_object_new_string(op));
	if (values)
		json_object_object_add(e, "values", values);
	json_object_array_add(exprs, e);
}

/* "(a, b)" into values; 0 or -1. */
static int parse_set(const char *text, const char *req, struct json_object *values, char *err, size_t errlen)
{
	size_t len = strlen(text);

	if (len < 2 || text[0] != '(' || text[len - 1] != ')') {
		snprintf(err, errlen, "unable to parse requirement: expected a set of values in parentheses: \"%s\"",
			 req);
		return -1;
	}
	for (const char *p = text + 1; p < text + len - 1;) {
		size_t n = strcspn(p, ",)");
		char *v = trimmed(p, n);
		int rc = check_word("value", v, req, err, errlen);

		if (rc == 0)
			json_object_array_add(values, json_object_new_string(v));
		free(v);
		if (rc)
			return -1;
		p += n + 1;
	}
	return 0;
}

/* " in " or " notin " as a word of req; returns the operator's offset. */
static const char *find_set_op(const char *req, const char **op, size_t *oplen)
{
	static const char *const words[] = { " notin ", " in " };

	for (size_t i = 0; i < 2; i++) {
		const char *at = strstr(req, words[i]);

		if (at) {
			*op = i == 0 ? "NotIn" : "In";
			*oplen = strlen(words[i]);
			return at;
		}
	}
	return NULL;
}

static int parse_requirement(const char *req, struct json_object *sel, char *err, size_t errlen)
{
	const char *op, *at;
	size_t oplen;
	char *key = NULL, *value = NULL;
	int rc = -1;

	if ((at = find_set_op(req, &op, &oplen))) {
		struct json_object *values = json_object_new_array();

		key = trimmed(req, (size_t)(at - req));
		value = trimmed(at + oplen, strlen(at + oplen));
		if (check_word("key", key, req, err, errlen) == 0 && parse_set(value, req, values, err, errlen) == 0) {
			add_expression(sel, key, op, values);
			values = NULL;
			rc = 0;
		}
		json_object_put(values);
	} else if ((at = strpbrk(req, "!="))) {
		int negated = at[0] == '!' && at[1] == '=';

		if (at[0] == '!' && !negated) { /* "!key" */
			key = trimmed(at + 1, strlen(at + 1));
			if (at == req + strspn(req, " ") && check_word("key", key, req, err, errlen) == 0) {
				add_expression(sel, key, "DoesNotExist", NULL);
				rc = 0;
			} else if (at != req + strspn(req, " ")) {
				snprintf(err, errlen, "unable to parse requirement: \"%s\"", req);
			}
		} else {
			const char *v = at + (negated ? 2 : at[1] == '=' ? 2 : 1);

			key = trimmed(req, (size_t)(at - req));
			value = trimmed(v, strlen(v));
			if (check_word("key", key, req, err, errlen) == 0 &&
			    check_word("value", value, req, err, errlen) == 0) {
				if (negated) {
					struct json_object *values = json_object_new_array();

					json_object_array_add(values, json_object_new_string(value));
					add_expression(sel, key, "NotIn", values);
				} else {
					/* In of one value: "a=x,a=y" then matches nothing,
					 * as in kubectl (matchLabels would keep one). */
					struct json_object *values = json_object_new_array();

					json_object_array_add(values, json_object_new_string(value));
					add_expression(sel, key, "In", values);
				}
				rc = 0;
			}
		}
	} else {
		key = trimmed(req, strlen(req));
		if (check_word("key", key, req, err, errlen) == 0) {
			add_expression(sel, key, "Exists", NULL);
			rc = 0;
		}
	}
	free(key);
	free(value);
	return rc;
}

struct json_object *labelsel_parse(const char *text, char *err, size_t errlen)
{
	struct json_object *sel = json_object_new_object();
	const char *p = text;

	while (*p) {
		/* A comma inside "( )" belongs to a set. */
		size_t n = 0;
		int depth = 0;
		char *req;

		for (; p[n] && (depth || p[n] != ','); n++)
			depth += p[n] == '(' ? 1 : p[n] == ')' ? -1 : 0;
		req = trimmed(p, n);
		if (!*req || parse_requirement(req, sel, err, errlen) < 0) {
			if (!*req)
				snprintf(err, errlen, "unable to parse requirement: empty requirement in \"%s\"", text);
			free(req);
			json_object_put(sel);
			return NULL;
		}
		free(req);
		p += n + (p[n] == ',');
	}
	return sel;
}

int labelsel_matches(struct json_object *selector, struct json_object *obj)
{
	struct json_object *meta = NULL, *labels = NULL;

	if (json_object_object_get_ex(obj, "metadata", &meta))
		json_object_object_get_ex(meta, "labels", &labels);
	return selector_matches(selector, labels);
}

/* ------------------------------------------------------------------ */
/* field selectors */

struct field_req {
	char *path, *value;
	int negated;
};

struct fieldsel {
	size_t n;
	struct field_req *reqs;
};

void fieldsel_free(struct fieldsel *fs)
{
	if (!fs)
		return;
	for (size_t i = 0; i < fs->n; i++) {
		free(fs->reqs[i].path);
		free(fs->reqs[i].value);
	}
	free(fs->reqs);
	free(fs);
}

struct fieldsel *fieldsel_parse(const char *text, char *err, size_t errlen)
{
	struct fieldsel *fs = calloc(1, sizeof *fs);
	const char *p = text;

	if (!fs)
		abort();
	while (*p) {
		size_t n = strcspn(p, ",");
		char *req = trimmed(p, n), *eq = strchr(req, '=');
		struct field_req *r;

		if (!eq || eq == req) {
			snprintf(err, errlen, "invalid field selector \"%s\": expected path=value or path!=value", req);
			free(req);
			fieldsel_free(fs);
			return NULL;
		}
		fs->reqs = realloc(fs->reqs, (fs->n + 1) * sizeof *fs->reqs);
		if (!fs->reqs)
			abort();
		r = &fs->reqs[fs->n++];
		r->negated = eq[-1] == '!';
		r->path = trimmed(req, (size_t)(eq - req) - (size_t)r->negated);
		r->value = trimmed(eq + 1 + (eq[1] == '='), strlen(eq + 1 + (eq[1] == '=')));
		free(req);
		p += n + (p[n] == ',');
	}
	return fs;
}

/* The member at a dotted path as text; "" when missing (kubectl's field
 * selectors compare a missing field as empty). */
static const char *field_text(struct json_object *obj, const char *path)
{
	char key[256];

	while (obj && *path) {
		size_t len = strcspn(path, ".");

		if (len >= sizeof key || !json_object_is_type(obj, json_type_object))
			return "";
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(obj, key, &obj))
			return "";
		path += len + (path[len] == '.');
	}
	if (!obj || json_object_is_type(obj, json_type_object) || json_object_is_type(obj, json_type_array))
		return "";
	return json_object_get_string(obj);
}

int fieldsel_matches(const struct fieldsel *fs, struct json_object *obj)
{
	for (size_t i = 0; fs && i < fs->n; i++) {
		int equal = strcmp(field_text(obj, fs->reqs[i].path), fs->reqs[i].value) == 0;

		if (equal == fs->reqs[i].negated)
			return 0;
	}
	return 1;
}
