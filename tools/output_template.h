/*
 * tools/output_template.h — the templated formats of volctl get: -o
 * jsonpath=TEMPLATE (kubectl's JSONPath, tools/jsonpath.c) and -o
 * custom-columns=HEADER:JSONPATH,... (a table of one column per pair).
 */
#ifndef VOLFS_TOOLS_OUTPUT_TEMPLATE_H
#define VOLFS_TOOLS_OUTPUT_TEMPLATE_H

#include <stdio.h>

#include <json-c/json.h>

/* root through the template. 0, or 1 after a bad template's error. */
int output_jsonpath(FILE *f, struct json_object *root, const char *tmpl);
/* One column per HEADER:JSONPATH pair, one row per item; several results
 * joined by ",", nothing as <none>. 0, or 1 after the error. */
int output_custom_columns(FILE *f, struct json_object *items, const char *spec, int no_headers);

#endif
