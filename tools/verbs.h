/*
 * tools/verbs.h — volctl's verbs: the table with each verb's help
 * (tools/verbs.c) and the handlers, grouped by what they do:
 * tools/verbs_get.c (get, describe, delete by name or selector),
 * tools/verbs_read.c (df, metrics, check, shutdown, version), tools/verbs_apply.c (apply and delete -f, create,
 * resize), tools/verbs_snap.c (snapshot, restore, clone) and
 * tools/verbs_exec.c (exec).
 */
#ifndef VOLFS_TOOLS_VERBS_H
#define VOLFS_TOOLS_VERBS_H

#include <stdio.h>

#include "tools/cli_args.h"
#include "tools/cli_request.h"

const struct verb *find_verb(const char *name);

/* -l and --field-selector, parsed (tools/verbs_get.c). */
struct filters {
	struct json_object *labels; /* a LabelSelector, or NULL */
	struct fieldsel *fields;    /* or NULL */
};
int parse_filters(const struct invocation *inv, const struct target_list *l, struct filters *f);
int filters_match(const struct filters *f, struct json_object *obj);
void filters_free(struct filters *f);
/* The objects of one group (its names, or all that pass f) appended to
 * out; *failed set when a name was not found or the daemon refused. */
enum call_result fetch_group(const struct invocation *inv, const struct targets *t, const struct filters *f,
			     struct json_object *out, int *failed);
/* -o, --show-labels, --no-headers, -A as a get_view. */
int parse_get_view(const struct invocation *inv, struct get_view *view);
void print_main_help(FILE *f);
void print_verb_help(FILE *f, const struct verb *v);

int run_apply(struct invocation *inv);
int run_create(struct invocation *inv);
int run_get(struct invocation *inv);
int run_describe(struct invocation *inv);
int run_delete(struct invocation *inv);
int run_delete_files(struct invocation *inv);
int run_resize(struct invocation *inv);
int run_patch(struct invocation *inv);
int run_snapshot(struct invocation *inv);
int run_restore(struct invocation *inv);
int run_clone(struct invocation *inv);
int run_df(struct invocation *inv);
int run_check(struct invocation *inv);
int run_metrics(struct invocation *inv);
int run_shutdown(struct invocation *inv);
int run_version(struct invocation *inv);
int run_help(struct invocation *inv);
int run_exec(struct invocation *inv);
int run_label(struct invocation *inv);
int run_annotate(struct invocation *inv);
int run_wait(struct invocation *inv);
int run_scale(struct invocation *inv);
int run_api_resources(struct invocation *inv);
int run_explain(struct invocation *inv);

#endif
