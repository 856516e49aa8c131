/*
 * tools/jsonpath.c — kubectl's JSONPath subset (see jsonpath.h): a
 * template compiles to a flat list of text, expression, range and end
 * nodes; an expression is a list of steps applied to a set of values.
 * No Debian package offers JSONPath to C programs, hence this module.
 */
#include "tools/jsonpath.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum step_type { S_FIELD, S_INDEX, S_SLICE, S_WILD, S_RECURSE, S_FILTER };
enum cmp_op { OP_EXISTS, OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct path;

struct step {
	enum step_type type;
	char *name;              /* S_FIELD; S_RECURSE (NULL: every member) */
	long from, to;           /* S_INDEX (from), S_SLICE */
	int has_from, has_to;
	struct path *lhs, *rhs;  /* S_FILTER: rhs NULL when rhs_value is a literal */
	struct json_object *rhs_value;
	enum cmp_op op;
};

struct path {
	int from_root;               /* $: the template's root, not the cursor */
	struct json_object *literal; /* a quoted string or a number instead of steps */
	size_t n;
	struct step *steps;
};

enum node_type { N_TEXT, N_EXPR, N_RANGE, N_END };

struct node {
	enum node_type type;
	char *text;        /* N_TEXT */
	struct path *path; /* N_EXPR, N_RANGE */
	size_t end;        /* N_RANGE: index of its N_END */
};

struct jsonpath {
	size_t n, cap;
	struct node *nodes;
};

/* ------------------------------------------------------------------ */
/* errors and allocation */

struct parser {
	const char *s; /* the expression being parsed */
	const char *p;
	char *err;
	size_t errlen;
	int failed;
};

static int perr(struct parser *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int perr(struct parser *ps, const char *fmt, ...)
{
	va_list ap;
	char what[256];

	if (ps->failed)
		return -1;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(ps->err, ps->errlen, "error parsing jsonpath {%s}: %s", ps->s, what);
	ps->failed = 1;
	return -1;
}

static void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n, size);

	if (!p)
		abort();
	return p;
}

static char *xstrndup(const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		abort();
	return d;
}

static void path_free(struct path *p);

static void step_free(struct step *st)
{
	free(st->name);
	path_free(st->lhs);
	path_free(st->rhs);
	json_object_put(st->rhs_value);
}

static void path_free(struct path *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		step_free(&p->steps[i]);
	free(p->steps);
	json_object_put(p->literal);
	free(p);
}

static struct step *add_step(struct path *p, enum step_type type)
{
	struct step *st;

	p->steps = realloc(p->steps, (p->n + 1) * sizeof *p->steps);
	if (!p->steps)
		abort();
	st = &p->steps[p->n++];
	memset(st, 0, sizeof *st);
	st->type = type;
	return st;
}

/* ------------------------------------------------------------------ */
/* parsing expressions */

static void skip_spaces(struct parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

/* A member name: up to an unescaped '.', '[', or what ends a filter
 * operand; "\." keeps a dot ("app\.kubernetes\.io/name"). */
static char *parse_name(struct parser *ps)
{
	char *name = xcalloc(strlen(ps->p) + 1, 1), *d = name;

	while (*ps->p && !strchr(".[]()=!<> \t", *ps->p)) {
		if (ps->p[0] == '\\' && ps->p[1])
			ps->p++;
		*d++ = *ps->p++;
	}
	return name;
}

/* A quoted string ('x' or "x", with \n, \t, \\ and \" escapes). */
static char *parse_quoted(struct parser *ps)
{
	char quote = *ps->p++, *out = xcalloc(strlen(ps->p) + 1, 1), *d = out;

	while (*ps->p && *ps->p != quote) {
		if (*ps->p == '\\' && ps->p[1]) {
			ps->p++;
			*d++ = *ps->p == 'n' ? '\n' : *ps->p == 't' ? '\t' : *ps->p == 'r' ? '\r' : *ps->p;
			ps->p++;
		} else {
			*d++ = *ps->p++;
		}
	}
	if (*ps->p != quote) {
		free(out);
		perr(ps, "unterminated string");
		return NULL;
	}
	ps->p++;
	return out;
}

static int parse_long(struct parser *ps, long *out)
{
	char *end;

	*out = strtol(ps->p, &end, 10);
	if (end == ps->p)
		return 0;
	ps->p = end;
	return 1;
}

static struct path *parse_path(struct parser *ps);

static int parse_cmp_op(struct parser *ps, enum cmp_op *op)
{
	static const struct {
		const char *text;
		enum cmp_op op;
	} ops[] = { { "==", OP_EQ }, { "!=", OP_NE }, { "<=", OP_LE }, { ">=", OP_GE },
		    { "<", OP_LT },  { ">", OP_GT },  { "=", OP_EQ } };

	skip_spaces(ps);
	for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		size_t len = strlen(ops[i].text);

		if (strncmp(ps->p, ops[i].text, len) == 0) {
			ps->p += len;
			*op = ops[i].op;
			return 1;
		}
	}
	*op = OP_EXISTS;
	return 0;
}

/* [?(@.x == "y")]: after "?(" */
static int parse_filter(struct parser *ps, struct step *st)
{
	skip_spaces(ps);
	if (!(st->lhs = parse_path(ps)))
		return -1;
	if (parse_cmp_op(ps, &st->op)) {
		skip_spaces(ps);
		if (!(st->rhs = parse_path(ps)))
			return -1;
		if (st->rhs->literal) { /* keep the literal, drop the wrapper */
			st->rhs_value = json_object_get(st->rhs->literal);
			path_free(st->rhs);
			st->rhs = NULL;
		}
	}
	skip_spaces(ps);
	if (*ps->p != ')')
		return perr(ps, "expected ')' to close the filter at \"%s\"", ps->p);
	ps->p++;
	return 0;
}

/* Inside [...]: *, a quoted name, N, A:B, or ?(filter). */
static int parse_bracket(struct parser *ps, struct path *path)
{
	struct step *st;
	long n;

	skip_spaces(ps);
	if (*ps->p == '*') {
		ps->p++;
		add_step(path, S_WILD);
	} else if (*ps->p == '\'' || *ps->p == '"') {
		char *name = parse_quoted(ps);

		if (!name)
			return -1;
		add_step(path, S_FIELD)->name = name;
	} else if (ps->p[0] == '?' && ps->p[1] == '(') {
		ps->p += 2;
		if (parse_filter(ps, add_step(path, S_FILTER)) < 0)
			return -1;
	} else {
		int has_from = parse_long(ps, &n);

		st = add_step(path, S_INDEX);
		st->from = n;
		st->has_from = has_from;
		if (*ps->p == ':') {
			ps->p++;
			st->type = S_SLICE;
			st->has_to = parse_long(ps, &st->to);
		} else if (!has_from) {
			return perr(ps, "unrecognized character in [] at \"%s\"", ps->p);
		}
	}
	skip_spaces(ps);
	if (*ps->p != ']')
		return perr(ps, "expected ']' at \"%s\"", *ps->p ? ps->p : "end");
	ps->p++;
	return 0;
}

static struct json_object *parse_number(struct parser *ps)
{
	char *end;
	double d = strtod(ps->p, &end);
	long long i;

	if (end == ps->p)
		return NULL;
	if (!memchr(ps->p, '.', (size_t)(end - ps->p)) && !memchr(ps->p, 'e', (size_t)(end - ps->p))) {
		i = strtoll(ps->p, NULL, 10);
		ps->p = end;
		return json_object_new_int64(i);
	}
	ps->p = end;
	return json_object_new_double(d);
}

/* A path ($, @, or a leading dot / name), or a literal: a quoted string,
 * a number, true or false. */
static struct path *parse_path(struct parser *ps)
{
	struct path *path = xcalloc(1, sizeof *path);

	if (*ps->p == '\'' || *ps->p == '"') {
		char *s = parse_quoted(ps);

		if (!s)
			goto bad;
		path->literal = json_object_new_string(s);
		free(s);
		return path;
	}
	if (isdigit((unsigned char)*ps->p) || (*ps->p == '-' && isdigit((unsigned char)ps->p[1]))) {
		path->literal = parse_number(ps);
		return path;
	}
	if (strncmp(ps->p, "true", 4) == 0 || strncmp(ps->p, "false", 5) == 0) {
		path->literal = json_object_new_boolean(*ps->p == 't');
		ps->p += *ps->p == 't' ? 4 : 5;
		return path;
	}
	if (*ps->p == '$' || *ps->p == '@') {
		path->from_root = *ps->p == '$';
		ps->p++;
	} else if (*ps->p && *ps->p != '.' && *ps->p != '[') {
		add_step(path, S_FIELD)->name = parse_name(ps); /* "metadata.name" without the dot */
	}
	while (*ps->p && !ps->failed) {
		if (ps->p[0] == '.' && ps->p[1] == '.') {
			ps->p += 2;
			struct step *st = add_step(path, S_RECURSE);
			if (*ps->p == '*')
				ps->p++;
			else
				st->name = parse_name(ps);
		} else if (*ps->p == '.') {
			ps->p++;
			if (*ps->p == '*') {
				ps->p++;
				add_step(path, S_WILD);
			} else if (*ps->p && !strchr(".[", *ps->p)) {
				char *name = parse_name(ps);

				if (*name)
					add_step(path, S_FIELD)->name = name;
				else
					free(name);
			}
		} else if (*ps->p == '[') {
			ps->p++;
			if (parse_bracket(ps, path) < 0)
				goto bad;
		} else {
			break;
		}
	}
	if (!ps->failed)
		return path;
bad:
	path_free(path);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* parsing templates */

static struct node *add_node(struct jsonpath *jp, enum node_type type)
{
	if (jp->n == jp->cap) {
		jp->cap = jp->cap ? jp->cap * 2 : 8;
		jp->nodes = realloc(jp->nodes, jp->cap * sizeof *jp->nodes);
		if (!jp->nodes)
			abort();
	}
	memset(&jp->nodes[jp->n], 0, sizeof jp->nodes[0]);
	jp->nodes[jp->n].type = type;
	return &jp->nodes[jp->n++];
}

/* One {expression}, its text without the braces. */
static int parse_expression(struct jsonpath *jp, const char *text, size_t len, size_t *open_ranges,
			    size_t *nopen, char *err, size_t errlen)
{
	char *expr = xstrndup(text, len);
	struct parser ps = { .s = expr, .p = expr, .err = err, .errlen = errlen };
	int rc = 0;

	skip_spaces(&ps);
	if (strncmp(ps.p, "range", 5) == 0 && (ps.p[5] == ' ' || ps.p[5] == '\t')) {
		ps.p += 5;
		skip_spaces(&ps);
		struct path *p = parse_path(&ps);
		if (p) {
			struct node *n = add_node(jp, N_RANGE);
			n->path = p;
			open_ranges[(*nopen)++] = jp->n - 1;
		}
	} else if (strncmp(ps.p, "end", 3) == 0 && !ps.p[3 + strspn(ps.p + 3, " \t")]) {
		ps.p += 3;
		if (*nopen == 0)
			rc = perr(&ps, "not in range, nothing to end");
		else {
			add_node(jp, N_END);
			jp->nodes[open_ranges[--*nopen]].end = jp->n - 1;
		}
	} else {
		struct path *p = parse_path(&ps);
		if (p)
			add_node(jp, N_EXPR)->path = p;
	}
	skip_spaces(&ps);
	if (!ps.failed && *ps.p)
		rc = perr(&ps, "unrecognized character at \"%s\"", ps.p);
	free(expr);
	return ps.failed || rc ? -1 : 0;
}

struct jsonpath *jsonpath_parse(const char *text, char *err, size_t errlen)
{
	struct jsonpath *jp = xcalloc(1, sizeof *jp);
	size_t open_ranges[64], nopen = 0;
	const char *p = text;

	if (!strchr(text, '{')) /* custom-columns and --sort-by: a bare path */
		return parse_expression(jp, text, strlen(text), open_ranges, &nopen, err, errlen) < 0
			       ? (jsonpath_free(jp), NULL)
			       : jp;
	while (*p) {
		const char *open = strchr(p, '{'), *close;

		if (!open) {
			add_node(jp, N_TEXT)->text = xstrndup(p, strlen(p));
			break;
		}
		if (open > p)
			add_node(jp, N_TEXT)->text = xstrndup(p, (size_t)(open - p));
		/* A '}' inside a quoted literal ({"}"}) does not close. */
		close = open + 1;
		for (char quote = 0; *close && (quote || *close != '}'); close++) {
			if (quote && *close == '\\' && close[1])
				close++;
			else if (*close == '"' || *close == '\'')
				quote = quote == *close ? 0 : quote ? quote : *close;
		}
		if (!*close) {
			snprintf(err, errlen, "error parsing jsonpath %s: unclosed action", text);
			goto bad;
		}
		if (nopen == sizeof open_ranges / sizeof open_ranges[0]) {
			snprintf(err, errlen, "error parsing jsonpath %s: ranges nested too deeply", text);
			goto bad;
		}
		if (parse_expression(jp, open + 1, (size_t)(close - open - 1), open_ranges, &nopen, err,
				     errlen) < 0)
			goto bad;
		p = close + 1;
	}
	if (nopen) {
		snprintf(err, errlen, "error parsing jsonpath %s: range without end", text);
		goto bad;
	}
	return jp;
bad:
	jsonpath_free(jp);
	return NULL;
}

void jsonpath_free(struct jsonpath *jp)
{
	if (!jp)
		return;
	for (size_t i = 0; i < jp->n; i++) {
		free(jp->nodes[i].text);
		path_free(jp->nodes[i].path);
	}
	free(jp->nodes);
	free(jp);
}

/* ------------------------------------------------------------------ */
/* evaluation */

static void eval_steps(const struct path *p, size_t i, struct json_object *cur, struct json_object *root,
		       struct json_object *out);

static void eval_path(const struct path *p, struct json_object *cursor, struct json_object *root,
		      struct json_object *out)
{
	if (p->literal) {
		json_object_array_add(out, json_object_get(p->literal));
		return;
	}
	eval_steps(p, 0, p->from_root ? root : cursor, root, out);
}

static int is_number(struct json_object *v)
{
	return json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double);
}

static int compare(struct json_object *a, struct json_object *b, enum cmp_op op)
{
	int c;

	if (is_number(a) && is_number(b)) {
		double x = json_object_get_double(a), y = json_object_get_double(b);
		c = x < y ? -1 : x > y;
	} else if (json_object_is_type(a, json_type_string) && json_object_is_type(b, json_type_string)) {
		c = strcmp(json_object_get_string(a), json_object_get_string(b));
	} else if (json_object_is_type(a, json_type_boolean) && json_object_is_type(b, json_type_boolean)) {
		c = json_object_get_boolean(a) != json_object_get_boolean(b);
	} else {
		return op == OP_NE; /* values of different types are only unequal */
	}
	switch (op) {
	case OP_EQ: return c == 0;
	case OP_NE: return c != 0;
	case OP_LT: return c < 0;
	case OP_LE: return c <= 0;
	case OP_GT: return c > 0;
	case OP_GE: return c >= 0;
	default: return 0;
	}
}

static int filter_true(const struct step *st, struct json_object *elem, struct json_object *root)
{
	struct json_object *lhs = json_object_new_array(), *rhs = NULL;
	int ok = 0;

	eval_path(st->lhs, elem, root, lhs);
	if (st->op == OP_EXISTS) {
		ok = json_object_array_length(lhs) > 0;
	} else if (json_object_array_length(lhs) > 0) {
		struct json_object *r = st->rhs_value;

		if (st->rhs) {
			rhs = json_object_new_array();
			eval_path(st->rhs, elem, root, rhs);
			r = json_object_array_get_idx(rhs, 0);
		}
		ok = r && compare(json_object_array_get_idx(lhs, 0), r, st->op);
	}
	json_object_put(lhs);
	json_object_put(rhs);
	return ok;
}

/* Every value inside v (not v itself), depth first, in document order. */
static void recurse_into(const struct path *p, size_t i, struct json_object *v, struct json_object *root,
			 struct json_object *out)
{
	const struct step *st = &p->steps[i];
	struct json_object *member;

	if (json_object_is_type(v, json_type_object)) {
		if (st->name && json_object_object_get_ex(v, st->name, &member))
			eval_steps(p, i + 1, member, root, out);
		json_object_object_foreach(v, key, val) {
			(void)key;
			if (!st->name)
				eval_steps(p, i + 1, val, root, out);
			recurse_into(p, i, val, root, out);
		}
	} else if (json_object_is_type(v, json_type_array)) {
		for (size_t k = 0; k < json_object_array_length(v); k++) {
			struct json_object *e = json_object_array_get_idx(v, k);

			if (!st->name)
				eval_steps(p, i + 1, e, root, out);
			recurse_into(p, i, e, root, out);
		}
	}
}

static void eval_slice(const struct path *p, size_t i, struct json_object *arr, struct json_object *root,
		       struct json_object *out)
{
	const struct step *st = &p->steps[i];
	long len = (long)json_object_array_length(arr);
	long from = st->has_from ? st->from : 0, to = st->has_to ? st->to : len;

	if (from < 0)
		from += len;
	if (to < 0)
		to += len;
	if (from < 0)
		from = 0;
	if (to > len)
		to = len;
	for (long k = from; k < to; k++)
		eval_steps(p, i + 1, json_object_array_get_idx(arr, (size_t)k), root, out);
}

static void eval_steps(const struct path *p, size_t i, struct json_object *cur, struct json_object *root,
		       struct json_object *out)
{
	const struct step *st;
	struct json_object *member;

	if (!cur)
		return;
	if (i == p->n) {
		json_object_array_add(out, json_object_get(cur));
		return;
	}
	st = &p->steps[i];
	int is_array = json_object_is_type(cur, json_type_array);
	switch (st->type) {
	case S_FIELD:
		if (json_object_is_type(cur, json_type_object) && json_object_object_get_ex(cur, st->name, &member))
			eval_steps(p, i + 1, member, root, out);
		break;
	case S_INDEX:
		if (is_array) {
			long len = (long)json_object_array_length(cur), k = st->from < 0 ? st->from + len : st->from;

			if (k >= 0 && k < len)
				eval_steps(p, i + 1, json_object_array_get_idx(cur, (size_t)k), root, out);
		}
		break;
	case S_SLICE:
		if (is_array)
			eval_slice(p, i, cur, root, out);
		break;
	case S_WILD:
		if (is_array) {
			for (size_t k = 0; k < json_object_array_length(cur); k++)
				eval_steps(p, i + 1, json_object_array_get_idx(cur, k), root, out);
		} else if (json_object_is_type(cur, json_type_object)) {
			json_object_object_foreach(cur, key, val) {
				(void)key;
				eval_steps(p, i + 1, val, root, out);
			}
		}
		break;
	case S_RECURSE:
		if (!st->name)
			eval_steps(p, i + 1, cur, root, out);
		recurse_into(p, i, cur, root, out);
		break;
	case S_FILTER:
		if (is_array) {
			for (size_t k = 0; k < json_object_array_length(cur); k++) {
				struct json_object *e = json_object_array_get_idx(cur, k);

				if (filter_true(st, e, root))
					eval_steps(p, i + 1, e, root, out);
			}
		}
		break;
	}
}

void jsonpath_value_text(struct json_object *v, char *buf, size_t len)
{
	if (json_object_is_type(v, json_type_string))
		snprintf(buf, len, "%s", json_object_get_string(v));
	else
		snprintf(buf, len, "%s", json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void print_value(struct json_object *v, FILE *out)
{
	if (json_object_is_type(v, json_type_string))
		fputs(json_object_get_string(v), out);
	else
		fputs(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
		      out);
}

static void run_nodes(const struct jsonpath *jp, size_t from, size_t to, struct json_object *cursor,
		      struct json_object *root, FILE *out, struct json_object *collect)
{
	for (size_t i = from; i < to; i++) {
		const struct node *n = &jp->nodes[i];
		struct json_object *vals;

		if (n->type == N_TEXT) {
			if (out)
				fputs(n->text, out);
			continue;
		}
		vals = json_object_new_array();
		eval_path(n->path, cursor, root, vals);
		if (n->type == N_RANGE) {
			for (size_t k = 0; k < json_object_array_length(vals); k++)
				run_nodes(jp, i + 1, n->end, json_object_array_get_idx(vals, k), root, out, collect);
			i = n->end;
		} else if (n->type == N_EXPR) {
			for (size_t k = 0; k < json_object_array_length(vals); k++) {
				struct json_object *v = json_object_array_get_idx(vals, k);

				if (collect)
					json_object_array_add(collect, json_object_get(v));
				if (out) {
					if (k)
						fputc(' ', out);
					print_value(v, out);
				}
			}
		}
		json_object_put(vals);
	}
}

void jsonpath_print(const struct jsonpath *jp, struct json_object *root, FILE *out)
{
	run_nodes(jp, 0, jp->n, root, root, out, NULL);
}

struct json_object *jsonpath_results(const struct jsonpath *jp, struct json_object *root)
{
	struct json_object *all = json_object_new_array();

	run_nodes(jp, 0, jp->n, root, root, NULL, all);
	return all;
}
