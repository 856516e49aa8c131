/*
 * tools/verbs_read.c — the verbs that read objects or the daemon's state
 * (get, describe, df, metrics, check, version), delete by kind and name, and
 * shutdown. Each builds its control-protocol request
 * (docs/control-protocol.md) and hands the answer to tools/output.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/verbs.h"
#include "tools/term.h"
#include "meta/version.h"

static void print_no_resources(const struct targets *t)
{
	if (t->ns && !t->all_ns)
		fprintf(stderr, "No resources found in %s namespace.\n", t->ns);
	else
		fprintf(stderr, "No resources found\n");
}

/* One get request; its items are appended to all. */
static enum call_result get_one(const struct invocation *inv, const struct targets *t, const char *name,
				struct json_object *all)
{
	struct json_object *req = new_request("get", t->kind, name), *result, *items;
	enum call_result rc;

	add_namespace(req, t);
	rc = call(inv, req, &result);
	if (rc != CALL_OK)
		return rc;
	items = result_array(result, "items");
	for (size_t i = 0; i < json_object_array_length(items); i++)
		json_object_array_add(all, json_object_get(json_object_array_get_idx(items, i)));
	/* A named object answers NotFound when missing; an empty answer is
	 * treated the same rather than printed as an empty List. */
	if (name && json_object_array_length(items) == 0) {
		fail("%s \"%s\" not found", t->kind->plural, name);
		rc = CALL_REFUSED;
	}
	json_object_put(items);
	json_object_put(result);
	return rc;
}

int run_get(struct invocation *inv)
{
	struct json_object *all;
	enum output_format fmt;
	enum call_result rc = CALL_OK;
	int failed = 0, answered = 0;
	struct targets t;

	if (parse_targets(inv, &t) || check_output(inv, &fmt))
		return 1;
	all = json_object_new_array();
	if (t.n == 0)
		rc = get_one(inv, &t, NULL, all);
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		rc = get_one(inv, &t, t.names[i], all);
		failed |= rc != CALL_OK;
		answered |= rc == CALL_OK;
	}
	failed |= rc != CALL_OK;
	answered |= t.n == 0 && rc == CALL_OK;
	/* Like kubectl: what was found is printed even when some names were
	 * not; an empty listing is news for people, not for -o json. */
	if (answered && json_object_array_length(all) == 0 && t.n == 0 &&
	    (fmt == OUTPUT_TABLE || fmt == OUTPUT_WIDE || fmt == OUTPUT_NAME))
		print_no_resources(&t);
	else if (answered)
		output_get(stdout, t.kind, all, t.n == 1, fmt, t.all_ns, time(NULL));
	json_object_put(all);
	return failed;
}

int run_describe(struct invocation *inv)
{
	struct json_object *req, *result;
	enum call_result rc = CALL_OK;
	int failed = 0;
	struct targets t;

	if (parse_targets(inv, &t) || need_names(inv, &t))
		return 1;
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		req = new_request("describe", t.kind, t.names[i]);
		add_namespace(req, &t);
		rc = call(inv, req, &result);
		if (rc != CALL_OK) {
			failed = 1;
			continue;
		}
		if (i > 0)
			fputs("\n\n", stdout);
		output_describe(stdout, t.kind, result, time(NULL));
		json_object_put(result);
	}
	return failed;
}

int run_delete(struct invocation *inv)
{
	int quiet = has_flag(inv, F_IGNORE_NOT_FOUND);
	struct json_object *req, *result;
	enum call_result rc = CALL_OK;
	int failed = 0;
	struct targets t;

	if (inv->nfiles)
		return run_delete_files(inv);
	if (parse_targets(inv, &t) || need_names(inv, &t))
		return 1;
	for (size_t i = 0; i < t.n && rc != CALL_FATAL; i++) {
		req = new_request("delete", t.kind, t.names[i]);
		add_namespace(req, &t);
		rc = call_ex(inv, req, &result, quiet);
		if (rc == CALL_NOT_FOUND)
			continue;
		if (rc != CALL_OK) {
			failed = 1;
			continue;
		}
		printf("%s \"%s\" deleted\n", t.kind->singular, t.names[i]);
		json_object_put(result);
	}
	return failed;
}

int run_df(struct invocation *inv)
{
	struct json_object *result, *items;
	enum output_format fmt;

	if (check_no_args(inv) || check_output(inv, &fmt))
		return 1;
	if (call(inv, new_request("df", NULL, NULL), &result) != CALL_OK)
		return 1;
	items = result_array(result, "items");
	if (fmt == OUTPUT_JSON)
		output_json(stdout, result);
	else if (fmt == OUTPUT_YAML)
		output_yaml(stdout, result);
	else if (json_object_array_length(items) == 0)
		fprintf(stderr, "No resources found\n");
	else
		output_df(stdout, items);
	json_object_put(items);
	json_object_put(result);
	return 0;
}

int run_metrics(struct invocation *inv)
{
	struct json_object *result;

	if (check_no_args(inv))
		return 1;
	if (call(inv, new_request("metrics", NULL, NULL), &result) != CALL_OK)
		return 1;
	fputs(json_path_str(result, "text", ""), stdout);
	json_object_put(result);
	return 0;
}

int run_check(struct invocation *inv)
{
	struct json_object *result, *problems;
	size_t n;

	if (check_no_args(inv))
		return 1;
	struct term_progress *progress = term_progress_start("checking metadata against data");
	enum call_result rc = call(inv, new_request("check", NULL, NULL), &result);
	term_progress_end(progress);
	if (rc != CALL_OK)
		return 1;
	problems = result_array(result, "problems");
	n = json_object_array_length(problems);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", json_object_get_string(json_object_array_get_idx(problems, i)));
	if (n == 0)
		printf("no problems found\n");
	json_object_put(problems);
	json_object_put(result);
	if (n > 0)
		return fail("check found %zu problem%s", n, n == 1 ? "" : "s");
	return 0;
}

int run_shutdown(struct invocation *inv)
{
	struct json_object *result;

	if (check_no_args(inv))
		return 1;
	if (call(inv, new_request("shutdown", NULL, NULL), &result) != CALL_OK)
		return 1;
	json_object_put(result);
	printf("volfs is shutting down: flushing, unmounting and exiting\n");
	return 0;
}

int run_version(struct invocation *inv)
{
	struct json_object *result;

	if (check_no_args(inv))
		return 1;
	printf("Client Version: %s\n", VOLFS_VERSION);
	if (has_flag(inv, F_CLIENT))
		return 0;
	if (call(inv, new_request("version", NULL, NULL), &result) != CALL_OK)
		return 1;
	printf("Server Version: %s\n", json_path_str(result, "version", "unknown"));
	printf("Schema Version: %s\n", json_path_str(result, "schema", "unknown"));
	printf("Host Writes: %s on %s\n", json_path_str(result, "hostWriteEngine", "unknown"),
	       json_path_str(result, "hostFilesystem", "unknown"));
	json_object_put(result);
	return 0;
}
