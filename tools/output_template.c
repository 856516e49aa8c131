/*
 * tools/output_template.c — -o jsonpath=TEMPLATE and -o
 * custom-columns=HEADER:JSONPATH,... (see output_template.h).
 */
#include "tools/output_template.h"

#include <stdlib.h>
#include <string.h>

#include "tools/jsonpath.h"
#include "tools/table.h"

int output_jsonpath(FILE *f, struct json_object *root, const char *tmpl)
{
	char err[512];
	struct jsonpath *jp = jsonpath_parse(tmpl, err, sizeof err);

	if (!jp) {
		fprintf(stderr, "volctl: error: %s\n", err);
		return 1;
	}
	jsonpath_print(jp, root, f);
	jsonpath_free(jp);
	return 0;
}

struct column {
	char *header;
	struct jsonpath *path;
};

static void columns_free(struct column *cols, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(cols[i].header);
		jsonpath_free(cols[i].path);
	}
	free(cols);
}

/* "NAME:.metadata.name,CAP:{.spec.capacity.storage}" */
static struct column *parse_columns(const char *spec, size_t *ncols)
{
	struct column *cols = NULL;
	char err[512];

	*ncols = 0;
	for (const char *p = spec; *p;) {
		size_t len = strcspn(p, ",");
		const char *colon = memchr(p, ':', len);
		char *path;

		if (!colon || colon == p || colon + 1 == p + len) {
			fprintf(stderr, "volctl: error: custom-columns format expects HEADER:JSONPATH pairs: \"%.*s\"\n",
				(int)len, p);
			columns_free(cols, *ncols);
			return NULL;
		}
		cols = realloc(cols, (*ncols + 1) * sizeof *cols);
		if (!cols)
			abort();
		cols[*ncols].header = strndup(p, (size_t)(colon - p));
		path = strndup(colon + 1, (size_t)(p + len - colon - 1));
		if (!cols[*ncols].header || !path)
			abort();
		cols[*ncols].path = jsonpath_parse(path, err, sizeof err);
		free(path);
		if (!cols[(*ncols)++].path) {
			fprintf(stderr, "volctl: error: %s\n", err);
			columns_free(cols, *ncols);
			return NULL;
		}
		p += len + (p[len] == ',');
	}
	return cols;
}

static void cell_results(struct table *t, struct jsonpath *path, struct json_object *o)
{
	struct json_object *vals = jsonpath_results(path, o);
	size_t n = json_object_array_length(vals);
	char buf[1024] = "", one[512];
	size_t len = 0;

	for (size_t i = 0; i < n && len < sizeof buf; i++) {
		jsonpath_value_text(json_object_array_get_idx(vals, i), one, sizeof one);
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", i ? "," : "", one);
	}
	table_cell(t, n ? buf : "<none>");
	json_object_put(vals);
}

int output_custom_columns(FILE *f, struct json_object *items, const char *spec, int no_headers)
{
	size_t ncols;
	struct column *cols = parse_columns(spec, &ncols);
	struct table *t;

	if (!cols)
		return 1;
	t = table_new(ncols);
	for (size_t c = 0; c < ncols; c++)
		table_cell(t, cols[c].header);
	for (size_t i = 0; i < json_object_array_length(items); i++)
		for (size_t c = 0; c < ncols; c++)
			cell_results(t, cols[c].path, json_object_array_get_idx(items, i));
	if (no_headers)
		table_drop_header(t);
	table_print(t, f, "", TABLE_GET_MINWIDTH, TABLE_GET_PADDING);
	table_free(t);
	columns_free(cols, ncols);
	return 0;
}
