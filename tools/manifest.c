/*
 * tools/manifest.c — Kubernetes manifests from YAML (see manifest.h):
 * libyaml's event parser drives a small recursive builder of json-c
 * values. Typing follows the YAML 1.2 core schema, which is what kubectl
 * users expect (`yes` and `on` are strings, `0755` is 755); anchors are
 * document-scoped and aliases share the anchored value.
 */
#include "tools/manifest.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

/* A document whose aliases would expand past this many nodes is refused:
 * "billion laughs" files must not make volctl (or the daemon, which gets
 * the expanded JSON) eat the machine. */
#define MAX_NODES 1000000
/* Deeper nesting than this is no manifest; refuse before the stack goes. */
#define MAX_DEPTH 512

struct anchor {
	char *name;
	struct json_object *node; /* a reference of our own */
	size_t weight;            /* nodes, aliases expanded */
};

struct reader {
	yaml_parser_t parser;
	const char *name; /* of the file, in messages */
	char *err;
	size_t errlen;
	struct anchor *anchors;
	size_t nanchors, cap;
	size_t weight; /* nodes of the current document so far */
};

static int failf(struct reader *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int failf(struct reader *r, const char *fmt, ...)
{
	size_t used = (size_t)snprintf(r->err, r->errlen, "%s: ", r->name);
	va_list ap;

	if (used < r->errlen) {
		va_start(ap, fmt);
		vsnprintf(r->err + used, r->errlen - used, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* "line 3, column 7: ..." at an event's position (libyaml counts from 0). */
static int fail_at(struct reader *r, const yaml_mark_t *m, const char *what, const char *arg)
{
	return failf(r, "line %zu, column %zu: %s%s%s%s", m->line + 1, m->column + 1, what,
		     arg ? " \"" : "", arg ? arg : "", arg ? "\"" : "");
}

static int syntax_error(struct reader *r)
{
	yaml_parser_t *p = &r->parser;

	if (p->error == YAML_MEMORY_ERROR)
		return failf(r, "out of memory");
	if (p->error == YAML_READER_ERROR)
		return failf(r, "%s (byte %zu)", p->problem ? p->problem : "cannot read", p->problem_offset);
	if (p->context)
		return failf(r, "line %zu, column %zu: %s (%s at line %zu, column %zu)",
			     p->problem_mark.line + 1, p->problem_mark.column + 1,
			     p->problem ? p->problem : "syntax error", p->context,
			     p->context_mark.line + 1, p->context_mark.column + 1);
	return failf(r, "line %zu, column %zu: %s", p->problem_mark.line + 1, p->problem_mark.column + 1,
		     p->problem ? p->problem : "syntax error");
}

static int next_event(struct reader *r, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&r->parser, ev))
		return syntax_error(r);
	return 0;
}

/* ------------------------------------------------------------------ */
/* anchors */

static void anchors_clear(struct reader *r)
{
	for (size_t i = 0; i < r->nanchors; i++) {
		free(r->anchors[i].name);
		json_object_put(r->anchors[i].node);
	}
	r->nanchors = 0;
}

static void anchor_add(struct reader *r, const char *name, struct json_object *node, size_t weight)
{
	if (r->nanchors == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 16;
		r->anchors = realloc(r->anchors, r->cap * sizeof *r->anchors);
		if (!r->anchors)
			abort();
	}
	r->anchors[r->nanchors].name = strdup(name);
	if (!r->anchors[r->nanchors].name)
		abort();
	r->anchors[r->nanchors].node = json_object_get(node);
	r->anchors[r->nanchors].weight = weight;
	r->nanchors++;
}

/* The newest anchor of that name: YAML lets a later one replace it. */
static const struct anchor *anchor_find(const struct reader *r, const char *name)
{
	for (size_t i = r->nanchors; i-- > 0;)
		if (strcmp(r->anchors[i].name, name) == 0)
			return &r->anchors[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* scalars */

static int word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

static int all_of(const char *s, const char *set)
{
	return *s && strspn(s, set) == strlen(s);
}

/* [-+]?[0-9]+, 0o[0-7]+ or 0x[0-9a-fA-F]+ (YAML 1.2 core schema), and
 * YAML 1.1's octal 0[0-7]+, which kubectl reads (go-yaml): manifests write
 * file modes as `defaultMode: 0644` and mean 420. */
static int int_base(const char *s, const char **digits)
{
	const char *p = s + (*s == '-' || *s == '+');

	*digits = p;
	if (p[0] == '0' && p[1] && all_of(p + 1, "01234567"))
		return 8;
	if (all_of(p, "0123456789"))
		return 10;
	if (s[0] == '0' && s[1] == 'o' && all_of(s + 2, "01234567")) {
		*digits = s + 2;
		return 8;
	}
	if (s[0] == '0' && s[1] == 'x' && all_of(s + 2, "0123456789abcdefABCDEF")) {
		*digits = s + 2;
		return 16;
	}
	return 0;
}

/* An integer as int64 when it fits, else uint64, else (like go-yaml) a
 * double. */
static struct json_object *int_value(const char *s, const char *digits, int base)
{
	int negative = s[0] == '-';
	uint64_t u;
	char *end;

	errno = 0;
	u = strtoull(digits, &end, base);
	if (errno == ERANGE)
		return json_object_new_double(strtod(s, NULL));
	if (!negative && u > INT64_MAX)
		return json_object_new_uint64(u);
	if (negative && u > (uint64_t)INT64_MAX + 1)
		return json_object_new_double(strtod(s, NULL));
	if (negative)
		return json_object_new_int64(u == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)u);
	return json_object_new_int64((int64_t)u);
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int is_float(const char *s)
{
	const char *p = s + (*s == '-' || *s == '+');
	size_t ipart = strspn(p, "0123456789"), fpart = 0;

	p += ipart;
	if (*p == '.') {
		fpart = strspn(p + 1, "0123456789");
		p += 1 + fpart;
	}
	if (ipart == 0 && fpart == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '-' || *p == '+';
		if (!all_of(p, "0123456789"))
			return 0;
		p += strlen(p);
	}
	return *p == '\0';
}

/* Is s already a JSON number? Then it travels as written ("1.50" stays
 * "1.50"), else as the double's own text. */
static int is_json_number(const char *s)
{
	const char *p = s + (*s == '-');

	if (*p == '0')
		p++;
	else if (*p >= '1' && *p <= '9')
		p += strspn(p, "0123456789");
	else
		return 0;
	if (*p == '.') {
		if (!strchr("0123456789", p[1]) || !p[1])
			return 0;
		p += 1 + strspn(p + 1, "0123456789");
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		p += *p == '-' || *p == '+';
		if (!all_of(p, "0123456789"))
			return 0;
		p += strlen(p);
	}
	return *p == '\0';
}

static struct json_object *float_value(const char *s)
{
	double d = strtod(s, NULL);

	if (is_json_number(s))
		return json_object_new_double_s(d, s);
	return json_object_new_double(d);
}

/* The value of a plain (unquoted, untagged) scalar. *unrepresentable is
 * set for .inf and .nan, which JSON cannot carry. */
static struct json_object *plain_value(const char *s, int *unrepresentable)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
	static const char *const trues[] = { "true", "True", "TRUE", NULL };
	static const char *const falses[] = { "false", "False", "FALSE", NULL };
	static const char *const specials[] = {
		".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
		".nan", ".NaN", ".NAN", NULL,
	};
	const char *digits;
	int base;

	*unrepresentable = 0;
	if (word_in(s, nulls))
		return NULL;
	if (word_in(s, trues) || word_in(s, falses))
		return json_object_new_boolean(word_in(s, trues));
	if ((base = int_base(s, &digits)) != 0)
		return int_value(s, digits, base);
	if (is_float(s))
		return float_value(s);
	if (word_in(s, specials))
		*unrepresentable = 1;
	return json_object_new_string(s);
}

static int tag_is(const yaml_char_t *tag, const char *name)
{
	return tag && strcmp((const char *)tag, name) == 0;
}

/* Quoted and block scalars are strings, and so is anything tagged !!str
 * or "!"; a plain scalar, or one tagged with a core type, is typed. */
static int build_scalar(struct reader *r, yaml_event_t *ev, struct json_object **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	const yaml_char_t *tag = ev->data.scalar.tag;
	int typed = ev->data.scalar.plain_implicit && !tag, bad = 0;

	if (tag_is(tag, YAML_NULL_TAG) || tag_is(tag, YAML_BOOL_TAG) || tag_is(tag, YAML_INT_TAG) ||
	    tag_is(tag, YAML_FLOAT_TAG))
		typed = 1;
	if (strlen(text) != ev->data.scalar.length)
		return fail_at(r, &ev->start_mark, "a string holds a NUL character", NULL);
	if (!typed) {
		*out = json_object_new_string_len(text, (int)ev->data.scalar.length);
		return 0;
	}
	*out = plain_value(text, &bad);
	if (bad) {
		json_object_put(*out);
		*out = NULL;
		return fail_at(r, &ev->start_mark, "infinity and NaN have no JSON form; quote it for a string:", text);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* nodes */

static int build_node(struct reader *r, yaml_event_t *ev, int depth, struct json_object **out, size_t *weight);

static int add_weight(struct reader *r, const yaml_mark_t *m, size_t w)
{
	r->weight += w;
	if (r->weight > MAX_NODES)
		return fail_at(r, m, "the document is too large once its aliases are expanded", NULL);
	return 0;
}

static int build_alias(struct reader *r, yaml_event_t *ev, struct json_object **out, size_t *weight)
{
	const struct anchor *a = anchor_find(r, (const char *)ev->data.alias.anchor);

	if (!a)
		return fail_at(r, &ev->start_mark, "unknown anchor", (const char *)ev->data.alias.anchor);
	*out = json_object_get(a->node);
	*weight = a->weight;
	return add_weight(r, &ev->start_mark, a->weight);
}

static int build_sequence(struct reader *r, int depth, struct json_object **out, size_t *weight)
{
	struct json_object *arr = json_object_new_array(), *item;
	yaml_event_t ev;
	size_t w;
	int rc;

	*out = arr;
	for (;;) {
		if (next_event(r, &ev) < 0)
			return -1;
		if (ev.type == YAML_SEQUENCE_END_EVENT) {
			yaml_event_delete(&ev);
			return 0;
		}
		rc = build_node(r, &ev, depth + 1, &item, &w);
		json_object_array_add(arr, item); /* partial on failure: freed with arr */
		if (rc < 0)
			return -1;
		*weight += w;
	}
}

/* A mapping key's text. Keys are scalars (typed or not, JSON keys are
 * strings: "1: x" has the key "1"); a collection as a key is refused. */
static int build_key(struct reader *r, yaml_event_t *ev, char **key, int *merge)
{
	const char *anchor = ev->type == YAML_ALIAS_EVENT ? (const char *)ev->data.alias.anchor : NULL;
	const struct anchor *a = anchor ? anchor_find(r, anchor) : NULL;
	int rc = 0;

	*merge = 0;
	*key = NULL;
	if (ev->type == YAML_SCALAR_EVENT) {
		*merge = ev->data.scalar.plain_implicit && strcmp((const char *)ev->data.scalar.value, "<<") == 0;
		*key = strdup((const char *)ev->data.scalar.value);
	} else if (anchor && !a) {
		rc = fail_at(r, &ev->start_mark, "unknown anchor", anchor);
	} else if (a && !json_object_is_type(a->node, json_type_object) &&
		   !json_object_is_type(a->node, json_type_array)) {
		*key = strdup(a->node ? json_object_get_string(a->node) : "null");
	} else {
		rc = fail_at(r, &ev->start_mark, "a mapping key must be a plain value, not a mapping or a sequence",
			     NULL);
	}
	yaml_event_delete(ev);
	if (rc == 0 && !*key)
		abort();
	return rc;
}

/* Merge keys (<<: *base, or a sequence of them) add the members the
 * mapping does not set itself, whatever their order in the text. */
static int merge_into(struct reader *r, struct json_object *map, struct json_object *from, const yaml_mark_t *m)
{
	if (json_object_is_type(from, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(from); i++)
			if (merge_into(r, map, json_object_array_get_idx(from, i), m) < 0)
				return -1;
		return 0;
	}
	if (!json_object_is_type(from, json_type_object))
		return fail_at(r, m, "a merge key (<<) needs a mapping or a sequence of mappings", NULL);
	json_object_object_foreach(from, k, v) {
		if (!json_object_object_get_ex(map, k, NULL))
			json_object_object_add(map, k, json_object_get(v));
	}
	return 0;
}

static int build_mapping(struct reader *r, int depth, struct json_object **out, size_t *weight)
{
	struct json_object *map = json_object_new_object(), *merges = json_object_new_array(), *val;
	yaml_event_t ev;
	yaml_mark_t mark = { 0 };
	int merge, rc = -1;
	char *key;
	size_t w;

	*out = map;
	for (;;) {
		if (next_event(r, &ev) < 0)
			break;
		mark = ev.start_mark;
		if (ev.type == YAML_MAPPING_END_EVENT) {
			yaml_event_delete(&ev);
			rc = 0;
			break;
		}
		if (build_key(r, &ev, &key, &merge) < 0)
			break;
		val = NULL;
		if (next_event(r, &ev) < 0 || build_node(r, &ev, depth + 1, &val, &w) < 0) {
			json_object_put(val);
			free(key);
			break;
		}
		*weight += w;
		if (merge) {
			json_object_array_add(merges, val);
		} else if (json_object_object_get_ex(map, key, NULL)) {
			json_object_put(val);
			fail_at(r, &mark, "duplicate key", key);
			free(key);
			break;
		} else {
			json_object_object_add(map, key, val);
		}
		free(key);
	}
	if (rc == 0)
		rc = merge_into(r, map, merges, &mark);
	json_object_put(merges);
	return rc;
}

/* Build the node that starts with ev (consumed), and the rest of its
 * events. *out is the value (NULL for a YAML null), also on failure when
 * part of it was built: the caller puts it. */
static int build_node(struct reader *r, yaml_event_t *ev, int depth, struct json_object **out, size_t *weight)
{
	const yaml_char_t *anchor = NULL;
	yaml_mark_t mark = ev->start_mark;
	int rc;

	*out = NULL;
	*weight = 1;
	if (depth > MAX_DEPTH) {
		yaml_event_delete(ev);
		return fail_at(r, &mark, "nested too deeply", NULL);
	}
	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		anchor = ev->data.scalar.anchor;
		rc = add_weight(r, &mark, 1) < 0 ? -1 : build_scalar(r, ev, out);
		break;
	case YAML_ALIAS_EVENT:
		rc = build_alias(r, ev, out, weight);
		break;
	case YAML_SEQUENCE_START_EVENT:
		anchor = ev->data.sequence_start.anchor;
		rc = add_weight(r, &mark, 1) < 0 ? -1 : build_sequence(r, depth, out, weight);
		break;
	case YAML_MAPPING_START_EVENT:
		anchor = ev->data.mapping_start.anchor;
		rc = add_weight(r, &mark, 1) < 0 ? -1 : build_mapping(r, depth, out, weight);
		break;
	default:
		rc = fail_at(r, &mark, "unexpected YAML event", NULL);
		break;
	}
	/* Registered once complete, so an alias inside its own anchor is
	 * "unknown": no cycles. */
	if (rc == 0 && anchor)
		anchor_add(r, (const char *)anchor, *out, *weight);
	yaml_event_delete(ev);
	return rc;
}

/* ------------------------------------------------------------------ */
/* documents */

static int is_list_kind(struct json_object *doc)
{
	struct json_object *kind;
	const char *k;
	size_t len;

	if (!json_object_object_get_ex(doc, "kind", &kind) || !json_object_is_type(kind, json_type_string))
		return 0;
	k = json_object_get_string(kind);
	len = strlen(k);
	return len >= 4 && strcmp(k + len - 4, "List") == 0;
}

/* Items of a typed list (PersistentVolumeClaimList) may leave out their
 * kind and apiVersion; kubectl takes them from the list. */
static void fill_item_type(struct json_object *item, struct json_object *list)
{
	const char *kind = json_object_get_string(json_object_object_get(list, "kind"));
	struct json_object *version = json_object_object_get(list, "apiVersion");

	if (strcmp(kind, "List") == 0)
		return;
	if (!json_object_object_get_ex(item, "kind", NULL))
		json_object_object_add(item, "kind", json_object_new_string_len(kind, (int)strlen(kind) - 4));
	if (!json_object_object_get_ex(item, "apiVersion", NULL) && version)
		json_object_object_add(item, "apiVersion", json_object_get(version));
}

/* Append doc (a mapping) to objects, flattening Lists. */
static int append_object(struct reader *r, struct json_object *doc, unsigned docnum, struct json_object *objects)
{
	struct json_object *items;

	if (!is_list_kind(doc)) {
		json_object_array_add(objects, json_object_get(doc));
		return 0;
	}
	if (!json_object_object_get_ex(doc, "items", &items) || !items)
		return 0; /* an empty List */
	if (!json_object_is_type(items, json_type_array))
		return failf(r, "document %u: items of a %s must be a sequence", docnum,
			     json_object_get_string(json_object_object_get(doc, "kind")));
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *item = json_object_array_get_idx(items, i);

		if (!json_object_is_type(item, json_type_object))
			return failf(r, "document %u: items[%zu] is not a mapping", docnum, i);
		fill_item_type(item, doc);
		if (append_object(r, item, docnum, objects) < 0)
			return -1;
	}
	return 0;
}

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_array:
		return "a sequence";
	case json_type_string:
		return "a string";
	case json_type_boolean:
		return "a boolean";
	default:
		return "a number";
	}
}

/* One document, after its DOCUMENT-START event. Returns 1 when it held
 * something (counted in *docnum), 0 when empty, -1 on error. */
static int read_document(struct reader *r, unsigned *docnum, struct json_object *objects)
{
	struct json_object *doc = NULL;
	yaml_event_t ev;
	yaml_mark_t mark;
	size_t w;
	int rc = -1;

	r->weight = 0;
	if (next_event(r, &ev) < 0)
		return -1;
	mark = ev.start_mark;
	if (build_node(r, &ev, 0, &doc, &w) == 0 && next_event(r, &ev) == 0) {
		yaml_event_delete(&ev); /* DOCUMENT-END */
		rc = doc != NULL;
		if (doc && !json_object_is_type(doc, json_type_object))
			rc = failf(r, "document %u is not a mapping (%s at line %zu)", ++*docnum, type_name(doc),
				   mark.line + 1);
		else if (doc && append_object(r, doc, ++*docnum, objects) < 0)
			rc = -1;
	}
	json_object_put(doc);
	anchors_clear(r);
	return rc;
}

int manifest_read_stream(FILE *f, const char *name, struct json_object *objects, char *err, size_t errlen)
{
	struct reader r = { .name = name, .err = err, .errlen = errlen };
	unsigned docnum = 0;
	yaml_event_t ev;
	int rc = 0;

	if (!yaml_parser_initialize(&r.parser))
		return failf(&r, "out of memory");
	yaml_parser_set_input_file(&r.parser, f);
	while (rc == 0 && next_event(&r, &ev) == 0) {
		yaml_event_type_t type = ev.type;

		yaml_event_delete(&ev);
		if (type == YAML_STREAM_END_EVENT)
			break;
		if (type == YAML_DOCUMENT_START_EVENT && read_document(&r, &docnum, objects) < 0)
			rc = -1;
	}
	if (r.parser.error != YAML_NO_ERROR)
		rc = -1;
	if (rc == 0 && ferror(f))
		rc = failf(&r, "cannot read: %s", strerror(errno));
	anchors_clear(&r);
	free(r.anchors);
	yaml_parser_delete(&r.parser);
	return rc;
}

const char *manifest_source_name(const char *path)
{
	return strcmp(path, "-") == 0 ? "STDIN" : path;
}

int manifest_read_file(const char *path, struct json_object *objects, char *err, size_t errlen)
{
	struct stat st;
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0)
		return manifest_read_stream(stdin, manifest_source_name(path), objects, err, errlen);
	f = fopen(path, "r");
	if (!f && errno == ENOENT) {
		snprintf(err, errlen, "the path \"%s\" does not exist", path);
		return -1;
	}
	if (!f || fstat(fileno(f), &st) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: is a directory", path);
		fclose(f);
		return -1;
	}
	rc = manifest_read_stream(f, path, objects, err, errlen);
	fclose(f);
	return rc;
}
