/*
 * tools/output.h — how volctl shows things: kubectl-style tables, object
 * descriptions, pretty JSON, YAML (emitted with libyaml), human sizes and
 * ages. Nothing here talks to the daemon. Implemented in tools/output.c,
 * with the per-kind get tables in tools/tables.c and describe in
 * tools/describe.c.
 */
#ifndef VOLFS_TOOLS_OUTPUT_H
#define VOLFS_TOOLS_OUTPUT_H

#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <json-c/json.h>

#include "meta/kinds.h"

enum output_format {
	OUTPUT_TABLE,
	OUTPUT_WIDE,
	OUTPUT_JSON,
	OUTPUT_YAML,
	OUTPUT_NAME,
	OUTPUT_JSONPATH,       /* jsonpath=TEMPLATE */
	OUTPUT_CUSTOM_COLUMNS, /* custom-columns=HEADER:PATH,... */
};

/* "wide", "json", "yaml", "name", "jsonpath=T", "custom-columns=C"; NULL
 * means the default table. Returns 0 or -1 for a format volctl cannot
 * print. */
int output_format_parse(const char *s, enum output_format *fmt);
/* The text after "=" of jsonpath= and custom-columns=. */
const char *output_format_arg(const char *s);

/* --- building blocks --- */

/* A column-aligned table in the style of Go's tabwriter as kubectl uses
 * it: each column as wide as its widest cell plus padding (at least
 * minwidth), the last column unpadded. Cells are added left to right. */
struct table;
struct table *table_new(size_t ncols);
void table_cell(struct table *t, const char *text);
void table_cellf(struct table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void table_print(const struct table *t, FILE *f, const char *indent, size_t minwidth, size_t padding);
size_t table_rows(const struct table *t);
/* Forget the first row (--no-headers). */
void table_drop_header(struct table *t);
void table_free(struct table *t);

/* The member at a dotted path ("spec.capacity.storage"), or NULL. */
struct json_object *json_path(struct json_object *obj, const char *path);
/* That member as text (numbers and booleans converted), or dflt. */
const char *json_path_str(struct json_object *obj, const char *path, const char *dflt);
/* A byte count member (an integer, or a quantity string). 0 or -1 when
 * missing or not a size. */
int json_path_bytes(struct json_object *obj, const char *path, uint64_t *bytes);

/* Pretty-printed JSON, newline-terminated. */
void output_json(FILE *f, struct json_object *obj);
/* The same value as a YAML document. Returns 0 or -1 (message on stderr). */
int output_yaml(FILE *f, struct json_object *obj);

/* Sizes for people: "0", "512", "1.5Gi", "20Mi" (binary units, one
 * decimal, ".0" dropped). */
void output_human_size(uint64_t bytes, char *buf, size_t len);
/* kubectl's age of an RFC 3339 timestamp at now: "5s", "3m20s", "2h",
 * "4d", "2y3d"; "<unknown>" when missing or unparsable. */
void output_age(const char *rfc3339, time_t now, char *buf, size_t len);
/* Parse RFC 3339 ("2026-11-21T10:00:00Z", fractions, offsets). 0 or -1. */
int output_parse_time(const char *s, time_t *out);

/* --- whole answers --- */

/* How a get prints its objects. */
struct get_view {
	enum output_format fmt;
	const char *arg;   /* the template of jsonpath= and custom-columns= */
	int all_namespaces; /* NAMESPACE column */
	int show_labels;    /* LABELS column */
	int no_headers;
	int kind_prefix;    /* names as kind/name: several kinds in one listing */
};

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
/* kubectl-describe text of a describe answer {object, events, usage,
 * usedBy?, quotas?} (tools/describe.c). */
void output_describe(FILE *f, const struct k8s_kind *k, struct json_object *answer, time_t now);
/* The df table of {"items":[...]} entries. */
void output_df(FILE *f, struct json_object *items);

#endif
