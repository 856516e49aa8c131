/*
 * tools/output.h — what volctl prints for a get and for an object it
 * made, in the format -o asks for. Each format lives in its own file:
 * tables (tools/tables.c over tools/table.c), JSON and YAML
 * (tools/output_json_yaml.c), JSONPath and custom columns
 * (tools/output_template.c); -o name is here. Nothing here talks to the
 * daemon.
 */
#ifndef VOLFS_TOOLS_OUTPUT_H
#define VOLFS_TOOLS_OUTPUT_H

#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/kinds.h"
#include "tools/output_format.h"

/* The JSON, YAML or JSONPath root of a get: the single object when one
 * was asked for by name, else a v1 List of them (new reference). */
struct json_object *output_get_root(struct json_object *items, int by_name);
/* Print objects of kind k from a get: a table (or one "kind/name" per
 * line), custom columns, or the root above as JSON, YAML or JSONPath.
 * Returns 0, or 1 after a bad template's error. */
int output_get(FILE *f, const struct k8s_kind *k, struct json_object *items, int by_name,
	       const struct get_view *view, time_t now);
/* Print one object (after create or resize) as JSON, YAML or kind/name. */
void output_object(FILE *f, const struct k8s_kind *k, struct json_object *obj, enum output_format fmt);

#endif
