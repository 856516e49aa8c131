/*
 * tools/verbs_get.c — the verbs that select objects as kubectl does: get,
 * describe and delete by kind and name, by several kinds at once
 * ("pvc,pv", "all", "pvc/a pv/b"), by label selector (-l) or field
 * selector, or every object of a kind (delete --all). Selection happens
 * here, on the objects the daemon lists: the control protocol stays one
 * "get" per kind.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "meta/quantity.h"
#include "tools/describe.h"
#include "tools/fields.h"
#include "tools/jsonpath.h"
#include "tools/labelsel.h"
#include "tools/output.h"
#include "tools/verbs.h"
#include "tools/watch.h"

/* ------------------------------------------------------------------ */
/* selection */

void filters_free(struct filters *f)
{
	json_object_put(f->labels);
	fieldsel_free(f->fields);
	memset(f, 0, sizeof *f);
}

int parse_filters(const struct invocation *inv, const struct target_list *l, struct filters *f)
{
	char err[512];

	memset(f, 0, sizeof *f);
	if (cli_has_flag(inv, F_SELECTOR) && !(f->labels = labelsel_parse(inv->value[F_SELECTOR], err, sizeof err)))
		return cli_fail("%s", err);
	if (cli_has_flag(inv, F_FIELD_SELECTOR) &&
	    !(f->fields = fieldsel_parse(inv->value[F_FIELD_SELECTOR], err, sizeof err))) {
		filters_free(f);
		return cli_fail("%s", err);
	}
	for (size_t g = 0; g < l->n; g++) {
		if (l->t[g].n && (f->labels || f->fields)) {
			filters_free(f);
			return cli_fail("name cannot be provided when a selector is specified");
		}
	}
	return 0;
}

int filters_match(const struct filters *f, struct json_object *obj)
{
	return (!f->labels || labelsel_matches(f->labels, obj)) && (!f->fields || fieldsel_matches(f->fields, obj));
}

static void print_no_resources(const struct targets *t)
{
	if (t->ns && !t->all_ns)
		fprintf(stderr, "No resources found in %s namespace.\n", t->ns);
	else
		fprintf(stderr, "No resources found\n");
}

/* One get request; the items that pass the filters are appended to out. */
static enum call_result get_one(const struct invocation *inv, const struct targets *t, const char *name,
				const struct filters *f, struct json_object *out)
{
	struct json_object *req = cli_new_request("get", t->kind, name), *result, *items;
	enum call_result rc;

	cli_add_namespace(req, t);
	rc = cli_call(inv, req, &result);
	if (rc != CALL_OK)
		return rc;
	items = cli_result_array(result, "items");
	for (size_t i = 0; i < json_object_array_length(items); i++) {
		struct json_object *o = json_object_array_get_idx(items, i);

		if (filters_match(f, o))
			json_object_array_add(out, json_object_get(o));
	}
	/* A named object answers NotFound when missing; an empty answer is
	 * treated the same rather than printed as an empty List. */
	if (name && json_object_array_length(items) == 0) {
		cli_fail("%s \"%s\" not found", t->kind->plural, name);
		rc = CALL_REFUSED;
	}
	json_object_put(items);
	json_object_put(result);
	return rc;
}

enum call_result fetch_group(const struct invocation *inv, const struct targets *t, const struct filters *f,
			     struct json_object *out, int *failed)
{
	enum call_result rc = CALL_OK;

	if (t->n == 0) {
		rc = get_one(inv, t, NULL, f, out);
		*failed |= rc != CALL_OK;
		return rc;
	}
	for (size_t i = 0; i < t->n && rc != CALL_FATAL; i++) {
		rc = get_one(inv, t, t->names[i], f, out);
		*failed |= rc != CALL_OK;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* --sort-by */

struct sort_entry {
	struct json_object *obj, *key;
};

/* Numbers and quantities by value, everything else as text; objects
 * without the field first. */
static int compare_keys(const void *a, const void *b)
{
	struct json_object *x = ((const struct sort_entry *)a)->key, *y = ((const struct sort_entry *)b)->key;
	char tx[512], ty[512];
	uint64_t qx, qy;

	if (!x || !y)
		return !!x - !!y;
	if ((json_object_is_type(x, json_type_int) || json_object_is_type(x, json_type_double)) &&
	    (json_object_is_type(y, json_type_int) || json_object_is_type(y, json_type_double))) {
		double dx = json_object_get_double(x), dy = json_object_get_double(y);

		return dx < dy ? -1 : dx > dy;
	}
	jsonpath_value_text(x, tx, sizeof tx);
	jsonpath_value_text(y, ty, sizeof ty);
	if (quantity_parse(tx, &qx, NULL, 0) == 0 && quantity_parse(ty, &qy, NULL, 0) == 0 && qx != qy)
		return qx < qy ? -1 : 1;
	return strcmp(tx, ty);
}

static int sort_items(struct json_object *items, const char *expr)
{
	size_t n = json_object_array_length(items);
	struct sort_entry *e;
	struct jsonpath *jp;
	char err[512];

	if (!(jp = jsonpath_parse(expr, err, sizeof err)))
		return cli_fail("--sort-by: %s", err);
	e = calloc(n ? n : 1, sizeof *e);
	if (!e)
		abort();
	for (size_t i = 0; i < n; i++) {
		struct json_object *vals;

		e[i].obj = json_object_get(json_object_array_get_idx(items, i));
		vals = jsonpath_results(jp, e[i].obj);
		e[i].key = json_object_get(json_object_array_get_idx(vals, 0));
		json_object_put(vals);
	}
	qsort(e, n, sizeof *e, compare_keys);
	for (size_t i = 0; i < n; i++) {
		json_object_array_put_idx(items, i, e[i].obj);
		json_object_put(e[i].key);
	}
	free(e);
	jsonpath_free(jp);
	return 0;
}

/* ------------------------------------------------------------------ */
/* get */

int parse_get_view(const struct invocation *inv, struct get_view *view)
{
	memset(view, 0, sizeof *view);
	if (cli_check_output(inv, &view->fmt))
		return 1;
	view->arg = output_format_arg(inv->value[F_OUTPUT]);
	view->show_labels = cli_has_flag(inv, F_SHOW_LABELS);
	view->no_headers = cli_has_flag(inv, F_NO_HEADERS);
	view->all_namespaces = cli_has_flag(inv, F_ALL_NAMESPACES);
	return 0;
}

static int is_listing(enum output_format fmt)
{
	return fmt == OUTPUT_TABLE || fmt == OUTPUT_WIDE || fmt == OUTPUT_NAME || fmt == OUTPUT_CUSTOM_COLUMNS;
}

/* Every group's objects in one List (JSON, YAML, JSONPath). */
static int print_structured_all(const struct target_list *l, struct json_object **groups,
				const struct get_view *view)
{
	struct json_object *all = json_object_new_array();
	int rc;

	for (size_t g = 0; g < l->n; g++)
		for (size_t i = 0; i < json_object_array_length(groups[g]); i++)
			json_object_array_add(all, json_object_get(json_object_array_get_idx(groups[g], i)));
	rc = output_get(stdout, l->t[0].kind, all, l->n == 1 && l->t[0].n == 1, view, time(NULL));
	json_object_put(all);
	return rc;
}

/* Tables one kind after the other, a blank line between them. */
static int print_groups(const struct target_list *l, struct json_object **groups, struct get_view *view)
{
	int printed = 0, rc = 0;

	view->kind_prefix = l->multi;
	for (size_t g = 0; g < l->n && rc == 0; g++) {
		if (json_object_array_length(groups[g]) == 0)
			continue;
		if (printed++ && view->fmt != OUTPUT_NAME)
			fputc('\n', stdout);
		rc = output_get(stdout, l->t[g].kind, groups[g], l->t[g].n == 1, view, time(NULL));
	}
	return rc;
}

int run_get(struct invocation *inv)
{
	struct json_object *groups[MAX_KINDS] = { NULL };
	enum call_result rc = CALL_OK;
	struct target_list l;
	struct get_view view;
	struct filters f;
	size_t total = 0;
	int failed = 0, named = 0;

	if (cli_parse_target_list(inv, &l) || parse_get_view(inv, &view) || parse_filters(inv, &l, &f))
		return 1;
	if (cli_has_flag(inv, F_WATCH))
		return run_watch(inv, &l, &f, &view);
	for (size_t g = 0; g < l.n && rc != CALL_FATAL; g++) {
		groups[g] = json_object_new_array();
		rc = fetch_group(inv, &l.t[g], &f, groups[g], &failed);
		if (rc != CALL_FATAL && cli_has_flag(inv, F_SORT_BY) && sort_items(groups[g], inv->value[F_SORT_BY]))
			rc = CALL_FATAL, failed = 1;
		total += json_object_array_length(groups[g]);
		named |= l.t[g].n > 0;
	}
	/* Like kubectl: what was found is printed even when some names were
	 * not; an empty listing is news for people, not for -o json. */
	if (rc != CALL_FATAL && total == 0 && !named && is_listing(view.fmt))
		print_no_resources(&l.t[0]);
	else if (rc != CALL_FATAL && (total > 0 || !named))
		failed |= is_listing(view.fmt) ? print_groups(&l, groups, &view)
					       : print_structured_all(&l, groups, &view);
	for (size_t g = 0; g < l.n; g++)
		json_object_put(groups[g]);
	filters_free(&f);
	return failed;
}

/* ------------------------------------------------------------------ */
/* describe and delete */

/* The names a group stands for: those given, or every object that passes
 * the filters (added to holder, which keeps the strings alive). */
static enum call_result group_names(const struct invocation *inv, struct targets *t, const struct filters *f,
				    struct json_object *holder, int *failed)
{
	enum call_result rc;

	if (t->n)
		return CALL_OK;
	rc = fetch_group(inv, t, f, holder, failed);
	for (size_t i = 0; rc == CALL_OK && i < json_object_array_length(holder) && t->n < MAX_ARGS; i++)
		t->names[t->n++] = json_path_str(json_object_array_get_idx(holder, i), "metadata.name", "");
	return rc;
}

/* What describe and delete do to each object they select. */
typedef enum call_result per_object_fn(const struct invocation *inv, const struct targets *t, const char *name,
				       int *done);

/* fn on each object every group names or its filters select; returns
 * whether anything failed. *done counts what fn did. */
static int each_selected(const struct invocation *inv, struct target_list *l, const struct filters *f,
			 per_object_fn *fn, int *done)
{
	enum call_result rc = CALL_OK;
	int failed = 0;

	for (size_t g = 0; g < l->n && rc != CALL_FATAL; g++) {
		struct json_object *holder = json_object_new_array();

		rc = group_names(inv, &l->t[g], f, holder, &failed);
		for (size_t i = 0; rc != CALL_FATAL && i < l->t[g].n; i++) {
			rc = fn(inv, &l->t[g], l->t[g].names[i], done);
			failed |= rc != CALL_OK;
		}
		json_object_put(holder);
	}
	if (!failed && !*done)
		print_no_resources(&l->t[0]);
	return failed;
}

static enum call_result describe_one(const struct invocation *inv, const struct targets *t, const char *name,
				     int *printed)
{
	struct json_object *req = cli_new_request("describe", t->kind, name), *result;
	enum call_result rc;

	cli_add_namespace(req, t);
	rc = cli_call(inv, req, &result);
	if (rc != CALL_OK)
		return rc;
	if ((*printed)++)
		fputs("\n\n", stdout);
	describe_print(stdout, t->kind, result, time(NULL));
	json_object_put(result);
	return CALL_OK;
}

int run_describe(struct invocation *inv)
{
	struct target_list l;
	struct filters f;
	int failed, printed = 0;

	if (cli_parse_target_list(inv, &l) || parse_filters(inv, &l, &f))
		return 1;
	failed = each_selected(inv, &l, &f, describe_one, &printed);
	filters_free(&f);
	return failed;
}

static enum call_result delete_one(const struct invocation *inv, const struct targets *t, const char *name,
				   int *deleted)
{
	struct json_object *req = cli_new_request("delete", t->kind, name), *result;
	enum call_result rc;

	cli_add_namespace(req, t);
	rc = cli_call_ex(inv, req, &result, cli_has_flag(inv, F_IGNORE_NOT_FOUND));
	(*deleted)++; /* even what was already gone: no "No resources found" then */
	if (rc == CALL_NOT_FOUND)
		return CALL_OK;
	if (rc == CALL_OK) {
		printf("%s \"%s\" deleted\n", t->kind->singular, name);
		json_object_put(result);
	}
	return rc;
}

int run_delete(struct invocation *inv)
{
	struct target_list l;
	struct filters f;
	int failed, deleted = 0;

	if (inv->nfiles)
		return run_delete_files(inv);
	if (cli_parse_target_list(inv, &l) || parse_filters(inv, &l, &f))
		return 1;
	for (size_t g = 0; g < l.n; g++) {
		if (l.t[g].n && cli_has_flag(inv, F_ALL)) {
			filters_free(&f);
			return cli_fail("--all cannot be used with names");
		}
		if (!l.t[g].n && !cli_has_flag(inv, F_ALL) && !f.labels && !f.fields) {
			filters_free(&f);
			return cli_fail("resource(s) were provided, but no name was specified; give names, "
				    "-l SELECTOR or --all");
		}
	}
	failed = each_selected(inv, &l, &f, delete_one, &deleted);
	filters_free(&f);
	return failed;
}
