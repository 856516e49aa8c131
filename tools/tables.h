/*
 * tools/tables.h — volctl's tables: kubectl's get columns for each kind
 * (NAME and AGE for kinds without a printer), and the df table.
 */
#ifndef VOLFS_TOOLS_TABLES_H
#define VOLFS_TOOLS_TABLES_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/kinds.h"
#include "tools/output_format.h"

/* Print items (objects of kind k) as a table: -o wide adds kubectl's wide
 * columns, the view a NAMESPACE column (namespaced kinds only), a LABELS
 * column, no header, or names as kind/name. */
void tables_print(FILE *f, const struct k8s_kind *k, struct json_object *items, const struct get_view *view,
		  time_t now);
/* The df table of {"items":[...]} entries. */
void tables_print_df(FILE *f, struct json_object *items);

#endif
