/*
 * tools/tables.h — the tables of volctl get: kubectl's columns for each
 * kind (tools/tables.c), NAME and AGE for kinds without a printer.
 */
#ifndef VOLFS_TOOLS_TABLES_H
#define VOLFS_TOOLS_TABLES_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/kinds.h"
#include "tools/output.h"

/* Print items (objects of kind k) as a table: -o wide adds kubectl's wide
 * columns, the view a NAMESPACE column (namespaced kinds only), a LABELS
 * column, no header, or names as kind/name. */
void tables_print(FILE *f, const struct k8s_kind *k, struct json_object *items, const struct get_view *view,
		  time_t now);
/* -o custom-columns=HEADER:JSONPATH,...: one column per pair, several
 * results joined by ",", nothing as <none>. 0, or 1 after the error. */
int tables_print_custom(FILE *f, struct json_object *items, const char *spec, int no_headers);

#endif
