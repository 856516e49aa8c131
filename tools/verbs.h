/*
 * tools/verbs.h — volctl's verbs: the table with each verb's help
 * (tools/verbs.c) and the handlers, grouped by what they do:
 * tools/verbs_read.c (get, describe, delete by name, df, metrics, check,
 * shutdown, version), tools/verbs_apply.c (apply and delete -f, create,
 * resize), tools/verbs_snap.c (snapshot, restore, clone) and
 * tools/verbs_exec.c (exec).
 */
#ifndef VOLFS_TOOLS_VERBS_H
#define VOLFS_TOOLS_VERBS_H

#include <stdio.h>

#include "tools/cli.h"

const struct verb *find_verb(const char *name);
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

#endif
