/*
 * tools/watch.c — get -w and wait (see watch.h), both on one watch of the
 * daemon: the objects as they are, then each change as the daemon pushes
 * it. wait decides after every change whether its condition holds, so it
 * answers as soon as the daemon has made it true.
 */
#include "tools/watch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "tools/client.h"
#include "tools/fields.h"
#include "tools/jsonpath.h"
#include "tools/output.h"

/* Open a watch of t (one kind; its single name, if any). */
static int open_watch(const struct invocation *inv, const struct targets *t, struct json_object **items,
		      struct client_stream **stream)
{
	struct json_object *req = cli_new_request("watch", t->kind, t->n == 1 ? t->names[0] : NULL), *result;
	struct client_error err;
	enum client_status st;

	cli_add_namespace(req, t);
	st = client_watch(inv->socket, req, &result, stream, &err);
	json_object_put(req);
	if (st != CLIENT_OK)
		return cli_fail("%s", err.message);
	*items = cli_result_array(result, "items");
	json_object_put(result);
	return 0;
}

static int one_kind(const struct target_list *l, const char *verb)
{
	if (l->n != 1)
		return cli_fail("you may only specify a single resource type to %s", verb);
	return 0;
}

/* The objects of items that the filters (and the names asked for) keep. */
static struct json_object *selected(struct json_object *items, const struct targets *t, const struct filters *f)
{
	struct json_object *out = json_object_new_array();

	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i);
		const char *name = json_path_str(o, "metadata.name", "");
		int named = t->n == 0;

		for (size_t k = 0; k < t->n; k++)
			named |= strcmp(t->names[k], name) == 0;
		if (named && filters_match(f, o))
			json_object_array_add(out, json_object_get(o));
	}
	return out;
}

/* Watched objects as they come: a table row each (the header once), or
 * each object on its own in JSON, YAML or JSONPath, as kubectl -w. */
static void print_watched(const struct k8s_kind *k, struct json_object *items, const struct get_view *view)
{
	int structured = view->fmt == OUTPUT_JSON || view->fmt == OUTPUT_YAML || view->fmt == OUTPUT_JSONPATH;

	for (size_t i = 0; structured && i < json_object_array_length(items); i++) {
		struct json_object *one = json_object_new_array();

		json_object_array_add(one, json_object_get(json_object_array_get_idx(items, i)));
		output_get(stdout, k, one, 1, view, time(NULL));
		json_object_put(one);
	}
	if (!structured && json_object_array_length(items))
		output_get(stdout, k, items, 0, view, time(NULL));
	fflush(stdout);
}

int run_watch(struct invocation *inv, const struct target_list *l, const struct filters *f,
	      const struct get_view *view)
{
	struct json_object *items, *first, *ev;
	struct client_stream *stream;
	struct get_view rows = *view;
	int r;

	if (one_kind(l, "watch") || open_watch(inv, &l->t[0], &items, &stream))
		return 1;
	first = selected(items, &l->t[0], f);
	json_object_put(items);
	print_watched(l->t[0].kind, first, view);
	rows.no_headers |= json_object_array_length(first) > 0; /* kubectl prints the header once */
	json_object_put(first);
	while ((r = client_stream_next(stream, -1, &ev)) > 0) {
		struct json_object *one = json_object_new_array(), *obj = json_path(ev, "object");

		if (obj)
			json_object_array_add(one, json_object_get(obj));
		items = selected(one, &l->t[0], f);
		print_watched(l->t[0].kind, items, &rows);
		rows.no_headers |= json_object_array_length(items) > 0;
		json_object_put(items);
		json_object_put(one);
		json_object_put(ev);
	}
	client_stream_close(stream);
	return cli_fail("the volfs daemon ended the watch");
}

/* ------------------------------------------------------------------ */
/* wait */

enum wait_kind { WAIT_CONDITION, WAIT_JSONPATH, WAIT_DELETE };

struct wait_for {
	enum wait_kind kind;
	char condition[256];  /* WAIT_CONDITION: the type */
	char value[256];      /* wanted status or value */
	struct jsonpath *path; /* WAIT_JSONPATH */
};

/* "30s", "5m", "1h", "100ms", a bare number of seconds; -1 if bad. */
static long long parse_timeout_ms(const char *s)
{
	char *end;
	double n = strtod(s, &end);

	if (end == s || n < 0)
		return -1;
	if (!*end || !strcmp(end, "s"))
		return (long long)(n * 1000);
	if (!strcmp(end, "ms"))
		return (long long)n;
	if (!strcmp(end, "m"))
		return (long long)(n * 60000);
	if (!strcmp(end, "h"))
		return (long long)(n * 3600000);
	return -1;
}

/* condition=Ready[=False], jsonpath='{.status.phase}'=Bound, delete. */
static int parse_for(const char *text, struct wait_for *w)
{
	char err[512];

	memset(w, 0, sizeof *w);
	if (!strcmp(text, "delete")) {
		w->kind = WAIT_DELETE;
		return 0;
	}
	if (!strncmp(text, "condition=", 10) && text[10]) {
		const char *eq = strchr(text + 10, '=');

		w->kind = WAIT_CONDITION;
		snprintf(w->condition, sizeof w->condition, "%.*s", (int)(eq ? eq - text - 10 : (long)strlen(text + 10)),
			 text + 10);
		snprintf(w->value, sizeof w->value, "%s", eq ? eq + 1 : "True");
		return 0;
	}
	if (!strncmp(text, "jsonpath=", 9)) {
		const char *expr = text + 9, *eq;
		char path[512];

		/* The path ends at its closing brace, or at the last '='. */
		eq = *expr == '{' ? strchr(expr, '}') : strrchr(expr, '=');
		if (eq && *eq == '}')
			eq = eq[1] == '=' ? eq + 1 : NULL;
		if (!eq || eq == expr || !eq[1])
			return cli_fail("--for=jsonpath needs a path and a value: jsonpath='{.status.phase}'=Bound");
		snprintf(path, sizeof path, "%.*s", (int)(eq - expr), expr);
		snprintf(w->value, sizeof w->value, "%s", eq + 1);
		if (!(w->path = jsonpath_parse(path, err, sizeof err)))
			return cli_fail("%s", err);
		w->kind = WAIT_JSONPATH;
		return 0;
	}
	return cli_fail("unrecognized condition: \"%s\" (use condition=NAME[=VALUE], jsonpath='{PATH}'=VALUE or "
		    "delete)", text);
}

static int condition_met(const struct wait_for *w, struct json_object *o)
{
	struct json_object *conds = json_path(o, "status.conditions"), *vals;
	char text[512];
	int met = 0;

	if (w->kind == WAIT_JSONPATH) {
		vals = jsonpath_results(w->path, o);
		if (json_object_array_length(vals)) {
			jsonpath_value_text(json_object_array_get_idx(vals, 0), text, sizeof text);
			met = strcmp(text, w->value) == 0;
		}
		json_object_put(vals);
		return met;
	}
	/* volfs records no conditions for pods: one whose volumes are set up
	 * (Running) is what Ready means here, as no container runs. */
	if (!conds && !strcmp(json_path_str(o, "kind", ""), "Pod") && !strcasecmp(w->condition, "Ready"))
		return !strcasecmp(!strcmp(json_path_str(o, "status.phase", ""), "Running") ? "True" : "False",
				   w->value);
	for (size_t i = 0; conds && json_object_is_type(conds, json_type_array) && i < json_object_array_length(conds);
	     i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);

		if (!strcasecmp(json_path_str(c, "type", ""), w->condition))
			met |= !strcasecmp(json_path_str(c, "status", ""), w->value);
	}
	return met;
}

/* The state of every object waited for; 1 when all are done. */
static int all_done(const struct wait_for *w, struct json_object *objects, const struct targets *t, int *done)
{
	int all = 1;

	for (size_t k = 0; k < t->n; k++) {
		struct json_object *o = NULL;

		for (size_t i = 0; i < json_object_array_length(objects); i++)
			if (!strcmp(json_path_str(json_object_array_get_idx(objects, i), "metadata.name", ""),
				    t->names[k]))
				o = json_object_array_get_idx(objects, i);
		done[k] = w->kind == WAIT_DELETE ? o == NULL : o && condition_met(w, o);
		all &= done[k];
	}
	return all;
}

/* Apply one change to the current set (by name). */
static void apply_event(struct json_object *objects, struct json_object *ev)
{
	struct json_object *obj = json_path(ev, "object");
	const char *type = json_path_str(ev, "type", ""), *name = json_path_str(obj, "metadata.name", "");
	size_t n = json_object_array_length(objects), i;

	for (i = 0; i < n; i++)
		if (!strcmp(json_path_str(json_object_array_get_idx(objects, i), "metadata.name", ""), name))
			break;
	if (!strcmp(type, "DELETED")) {
		if (i < n)
			json_object_array_del_idx(objects, i, 1);
	} else if (obj) {
		if (i < n)
			json_object_array_put_idx(objects, i, json_object_get(obj));
		else
			json_object_array_add(objects, json_object_get(obj));
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void print_waited(const struct targets *t, const int *done)
{
	char type[128];

	k8s_kind_qualified(t->kind, type, sizeof type);
	for (size_t k = 0; k < t->n; k++)
		if (done[k])
			printf("%s/%s condition met\n", type, t->names[k]);
}

static int has_object(struct json_object *objects, const char *name)
{
	for (size_t i = 0; i < json_object_array_length(objects); i++)
		if (!strcmp(json_path_str(json_object_array_get_idx(objects, i), "metadata.name", ""), name))
			return 1;
	return 0;
}

/* The names a wait is for: those given (each must exist unless waiting
 * for its deletion), or those the selector or --all picks. Copied into
 * buf: the objects they come from change while waiting. */
static int wait_names(const struct invocation *inv, struct targets *t, const struct filters *f,
		      const struct wait_for *w, struct json_object *objects, char (*buf)[256])
{
	if (t->n) {
		for (size_t k = 0; k < t->n; k++)
			if (w->kind != WAIT_DELETE && !has_object(objects, t->names[k]))
				return cli_fail("%s \"%s\" not found", t->kind->plural, t->names[k]);
		return 0;
	}
	if (!cli_has_flag(inv, F_ALL) && !f->labels && !f->fields)
		return cli_fail("resource name may not be empty; give names, -l SELECTOR or --all");
	for (size_t i = 0; i < json_object_array_length(objects) && t->n < MAX_ARGS; i++) {
		struct json_object *o = json_object_array_get_idx(objects, i);

		if (filters_match(f, o)) {
			snprintf(buf[t->n], sizeof buf[0], "%s", json_path_str(o, "metadata.name", ""));
			t->names[t->n] = buf[t->n];
			t->n++;
		}
	}
	if (t->n == 0)
		return cli_fail("no matching resources found");
	return 0;
}

static int wait_loop(struct invocation *inv, struct targets *t, const struct filters *f, const struct wait_for *w,
		     long long timeout_ms)
{
	static char names[MAX_ARGS][256];
	struct json_object *objects, *ev;
	struct client_stream *stream;
	long long deadline = now_ms() + timeout_ms;
	int done[MAX_ARGS] = { 0 }, r = 1;
	size_t n = t->n;

	t->n = 0; /* one watch of the whole kind: a wait may name several objects */
	if (open_watch(inv, t, &objects, &stream))
		return 1;
	t->n = n;
	if (wait_names(inv, t, f, w, objects, names) == 0) {
		for (;;) {
			long long left = deadline - now_ms();
			int got;

			if (all_done(w, objects, t, done)) {
				print_waited(t, done);
				r = 0;
				break;
			}
			got = left > 0 ? client_stream_next(stream, left > 1000000000 ? 1000000000 : (int)left, &ev) : 0;
			if (got < 0) {
				cli_fail("the volfs daemon ended the watch");
				break;
			}
			if (got == 0) {
				print_waited(t, done);
				for (size_t k = 0; k < t->n; k++)
					if (!done[k])
						cli_fail("timed out waiting for the condition on %s/%s", t->kind->plural,
						     t->names[k]);
				break;
			}
			apply_event(objects, ev);
			json_object_put(ev);
		}
	}
	json_object_put(objects);
	client_stream_close(stream);
	return r;
}

int run_wait(struct invocation *inv)
{
	struct target_list l;
	struct wait_for w;
	struct filters f;
	long long timeout_ms = 30000;
	int rc;

	if (cli_parse_target_list(inv, &l) || one_kind(&l, "wait") || parse_filters(inv, &l, &f))
		return 1;
	if (!cli_has_flag(inv, F_FOR)) {
		filters_free(&f);
		return cli_fail("--for is required: --for=condition=NAME, --for=jsonpath='{PATH}'=VALUE or --for=delete");
	}
	if (cli_has_flag(inv, F_TIMEOUT) && (timeout_ms = parse_timeout_ms(inv->value[F_TIMEOUT])) < 0) {
		filters_free(&f);
		return cli_fail("invalid --timeout \"%s\": use 30s, 5m, 1h", inv->value[F_TIMEOUT]);
	}
	if (parse_for(inv->value[F_FOR], &w)) {
		filters_free(&f);
		return 1;
	}
	rc = wait_loop(inv, &l.t[0], &f, &w, timeout_ms);
	jsonpath_free(w.path);
	filters_free(&f);
	return rc;
}
