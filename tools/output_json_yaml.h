/*
 * tools/output_json_yaml.h — -o json and -o yaml: any JSON value
 * pretty-printed as JSON, or emitted as a YAML document (libyaml), as
 * kubectl prints them. A leaf of tools/.
 */
#ifndef VOLFS_TOOLS_OUTPUT_JSON_YAML_H
#define VOLFS_TOOLS_OUTPUT_JSON_YAML_H

#include <stdio.h>

#include <json-c/json.h>

/* Pretty-printed JSON, newline-terminated. */
void output_json(FILE *f, struct json_object *obj);
/* The same value as a YAML document. Returns 0 or -1 (message on stderr). */
int output_yaml(FILE *f, struct json_object *obj);

#endif
