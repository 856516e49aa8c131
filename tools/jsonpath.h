/*
 * tools/jsonpath.h — kubectl's JSONPath templates (-o jsonpath=,
 * custom-columns, --sort-by, wait --for=jsonpath=): literal text and
 * {expressions}; an expression is a path from the root ($ or a leading
 * dot) through .field, ['field'], [N] (negative from the end), [A:B],
 * [*], ..field (recursive descent) and filters [?(@.x=="y")] (==, !=, <,
 * <=, >, >=, or a bare path for "exists"); {range PATH}...{end} repeats
 * its body for each result, with the cursor on it; {"\n"} is a literal.
 * Missing members give nothing, as kubectl with its default
 * --allow-missing-template-keys. Pure: no I/O but the stream written to.
 */
#ifndef VOLFS_TOOLS_JSONPATH_H
#define VOLFS_TOOLS_JSONPATH_H

#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

struct jsonpath;

/* Compile a template ("{.metadata.name}{\"\\n\"}"); a bare expression
 * without braces (".metadata.name", as custom-columns and --sort-by write
 * it) is taken as one {expression}. NULL with a one-line reason in err. */
struct jsonpath *jsonpath_parse(const char *text, char *err, size_t errlen);
void jsonpath_free(struct jsonpath *jp);

/* Print the template against root: strings raw, numbers and booleans as
 * their JSON text, objects and arrays as compact JSON, several results of
 * one expression separated by spaces. */
void jsonpath_print(const struct jsonpath *jp, struct json_object *root, FILE *out);

/* The results of the template's expressions (new array, borrowed
 * members' references taken), for a column or a sort key. */
struct json_object *jsonpath_results(const struct jsonpath *jp, struct json_object *root);

/* The text one value prints as (jsonpath_print's rules); buf always
 * terminated. */
void jsonpath_value_text(struct json_object *v, char *buf, size_t len);

#endif
