/*
 * tools/tables.h — the tables of volctl get: kubectl's columns for each
 * kind (tools/tables.c), NAME and AGE for kinds without a printer.
 */
#ifndef VOLFS_TOOLS_TABLES_H
#define VOLFS_TOOLS_TABLES_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "tools/kinds.h"

/* Print items (objects of kind k) as a table; wide adds kubectl's -o wide
 * columns, all_namespaces the NAMESPACE column (namespaced kinds only). */
void tables_print(FILE *f, const struct kind_info *k, struct json_object *items, int wide, int all_namespaces,
		  time_t now);

#endif
