/*
 * tools/verbs_read.c — the verbs that read the daemon's state (df,
 * metrics, check, version) and shutdown. Each builds its control-protocol request
 * (docs/control-protocol.md) and prints the answer (tools/tables.c,
 * tools/output_json_yaml.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "tools/fields.h"
#include "tools/output_json_yaml.h"
#include "tools/tables.h"
#include "tools/verbs.h"
#include "tools/term.h"
#include "meta/version.h"

int run_df(struct invocation *inv)
{
	struct json_object *result, *items;
	enum output_format fmt;

	if (cli_check_no_args(inv) || cli_check_output(inv, &fmt))
		return 1;
	if (cli_call(inv, cli_new_request("df", NULL, NULL), &result) != CALL_OK)
		return 1;
	items = cli_result_array(result, "items");
	if (fmt == OUTPUT_JSON)
		output_json(stdout, result);
	else if (fmt == OUTPUT_YAML)
		output_yaml(stdout, result);
	else if (json_object_array_length(items) == 0)
		fprintf(stderr, "No resources found\n");
	else
		tables_print_df(stdout, items);
	uint64_t pending = 0;
	if (fmt == OUTPUT_TABLE && json_path_bytes(result, "reclaimPending.rows", &pending) == 0 &&
	    pending > 0)
		printf("\nReclaiming deleted snapshots and volumes in the background: %llu rows pending\n",
		       (unsigned long long)pending);
	json_object_put(items);
	json_object_put(result);
	return 0;
}

int run_metrics(struct invocation *inv)
{
	struct json_object *result;

	if (cli_check_no_args(inv))
		return 1;
	if (cli_call(inv, cli_new_request("metrics", NULL, NULL), &result) != CALL_OK)
		return 1;
	fputs(json_path_str(result, "text", ""), stdout);
	json_object_put(result);
	return 0;
}

int run_check(struct invocation *inv)
{
	struct json_object *result, *problems;
	size_t n;

	if (cli_check_no_args(inv))
		return 1;
	struct term_progress *progress = term_progress_start("checking metadata against data");
	enum call_result rc = cli_call(inv, cli_new_request("check", NULL, NULL), &result);
	term_progress_end(progress);
	if (rc != CALL_OK)
		return 1;
	problems = cli_result_array(result, "problems");
	n = json_object_array_length(problems);
	for (size_t i = 0; i < n; i++)
		printf("%s\n", json_object_get_string(json_object_array_get_idx(problems, i)));
	json_object *pending = cli_result_array(result, "pending");
	for (size_t i = 0; i < json_object_array_length(pending); i++)
		printf("%s\n", json_object_get_string(json_object_array_get_idx(pending, i)));
	json_object_put(pending);
	if (n == 0)
		printf("no problems found\n");
	json_object_put(problems);
	json_object_put(result);
	if (n > 0)
		return cli_fail("check found %zu problem%s", n, n == 1 ? "" : "s");
	return 0;
}

int run_shutdown(struct invocation *inv)
{
	struct json_object *result;

	if (cli_check_no_args(inv))
		return 1;
	if (cli_call(inv, cli_new_request("shutdown", NULL, NULL), &result) != CALL_OK)
		return 1;
	json_object_put(result);
	printf("volfs is shutting down: flushing, unmounting and exiting\n");
	return 0;
}

int run_version(struct invocation *inv)
{
	struct json_object *result;

	if (cli_check_no_args(inv))
		return 1;
	printf("Client Version: %s\n", VOLFS_VERSION);
	if (cli_has_flag(inv, F_CLIENT))
		return 0;
	if (cli_call(inv, cli_new_request("version", NULL, NULL), &result) != CALL_OK)
		return 1;
	printf("Server Version: %s\n", json_path_str(result, "version", "unknown"));
	printf("Schema Version: %s\n", json_path_str(result, "schema", "unknown"));
	printf("Host Writes: %s on %s\n", json_path_str(result, "hostWriteEngine", "unknown"),
	       json_path_str(result, "hostFilesystem", "unknown"));
	printf("FUSE Transport: %s\n", json_path_str(result, "fuseTransport", "unknown"));
	printf("Writeback Cache: %s\n", json_path_str(result, "writebackCache", "unknown"));
	json_object_put(result);
	return 0;
}
