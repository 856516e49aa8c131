/*
 * tools/output.c — volctl's presentation layer (see output.h): the
 * tabwriter-style table, JSON and YAML printing, sizes and ages, objects
 * as JSON, YAML or kind/name, and the df table. The per-kind get tables
 * are in tools/tables.c, describe in tools/describe.c: both mimic kubectl
 * so that its users can read volctl output without learning anything new.
 */
#include "tools/output.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "meta/quantity.h"
#include "tools/jsonpath.h"
#include "tools/tables.h"
#include "tools/term.h"

/* kubectl get prints through tabwriter.NewWriter(out, 10, 4, 3, ' ', 0). */
#define GET_MINWIDTH 10
#define GET_PADDING 3

/* ------------------------------------------------------------------ */
/* formats */

int output_format_parse(const char *s, enum output_format *fmt)
{
	static const struct {
		const char *name;
		enum output_format fmt;
	} names[] = {
		{ "wide", OUTPUT_WIDE },
		{ "json", OUTPUT_JSON },
		{ "yaml", OUTPUT_YAML },
		{ "name", OUTPUT_NAME },
	};

	if (!s) {
		*fmt = OUTPUT_TABLE;
		return 0;
	}
	if (strncmp(s, "jsonpath=", 9) == 0 && s[9]) {
		*fmt = OUTPUT_JSONPATH;
		return 0;
	}
	if (strncmp(s, "custom-columns=", 15) == 0 && s[15]) {
		*fmt = OUTPUT_CUSTOM_COLUMNS;
		return 0;
	}
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*fmt = names[i].fmt;
			return 0;
		}
	}
	return -1;
}

const char *output_format_arg(const char *s)
{
	const char *eq = s ? strchr(s, '=') : NULL;

	return eq ? eq + 1 : "";
}

/* ------------------------------------------------------------------ */
/* table */

struct table {
	size_t ncols;
	size_t ncells;
	size_t cap;
	char **cells;
};

struct table *table_new(size_t ncols)
{
	struct table *t = calloc(1, sizeof *t);

	if (!t)
		abort();
	t->ncols = ncols ? ncols : 1;
	return t;
}

void table_cell(struct table *t, const char *text)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = realloc(t->cells, t->cap * sizeof *t->cells);
		if (!t->cells)
			abort();
	}
	t->cells[t->ncells] = strdup(text ? text : "");
	if (!t->cells[t->ncells])
		abort();
	t->ncells++;
}

void table_cellf(struct table *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	table_cell(t, buf);
}

size_t table_rows(const struct table *t)
{
	return (t->ncells + t->ncols - 1) / t->ncols;
}

/* A cell, padded to width (0: the last column, unpadded); a STATUS
 * column's values in colour on a terminal. */
static void print_cell(FILE *f, const char *text, size_t width, int status)
{
	term_put(f, status ? term_status_colour(text) : TERM_PLAIN, text);
	for (size_t n = strlen(text); n < width; n++)
		fputc(' ', f);
}

void table_drop_header(struct table *t)
{
	size_t n = t->ncells < t->ncols ? t->ncells : t->ncols;

	for (size_t i = 0; i < n; i++)
		free(t->cells[i]);
	memmove(t->cells, t->cells + n, (t->ncells - n) * sizeof *t->cells);
	t->ncells -= n;
}

void table_print(const struct table *t, FILE *f, const char *indent, size_t minwidth, size_t padding)
{
	size_t *width = calloc(t->ncols, sizeof *width);
	size_t status_col = t->ncols; /* none */

	if (!width)
		abort();
	for (size_t i = 0; i < t->ncells; i++) {
		size_t w = strlen(t->cells[i]) + padding;

		if (w < minwidth)
			w = minwidth;
		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
	}
	for (size_t i = 0; i < t->ncells; i++) {
		size_t col = i % t->ncols;
		int last = col == t->ncols - 1 || i == t->ncells - 1;

		if (i < t->ncols && !strcmp(t->cells[i], "STATUS"))
			status_col = col;
		if (col == 0)
			fputs(indent ? indent : "", f);
		print_cell(f, t->cells[i], last ? 0 : width[col], i >= t->ncols && col == status_col);
		if (last)
			fputc('\n', f);
	}
	free(width);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

/* ------------------------------------------------------------------ */
/* JSON access */

struct json_object *json_path(struct json_object *obj, const char *path)
{
	char key[128];

	while (obj && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		if (len >= sizeof key || !json_object_is_type(obj, json_type_object))
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		if (!json_object_object_get_ex(obj, key, &obj))
			return NULL;
		path += len + (dot != NULL);
	}
	return obj;
}

const char *json_path_str(struct json_object *obj, const char *path, const char *dflt)
{
	struct json_object *v = json_path(obj, path);

	if (!v || json_object_is_type(v, json_type_null) ||
	    json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return dflt;
	return json_object_get_string(v);
}

/* A byte count member; sizes travel as integers, but tolerate a quantity
 * string too. Returns 0 or -1 when missing or not a size. */
int json_path_bytes(struct json_object *obj, const char *path, uint64_t *bytes)
{
	struct json_object *v = json_path(obj, path);

	if (!v)
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t n = json_object_get_int64(v);

		*bytes = n < 0 ? 0 : (uint64_t)n;
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return quantity_parse(json_object_get_string(v), bytes, NULL, 0);
	return -1;
}

/* ------------------------------------------------------------------ */
/* JSON and YAML printing */

/* json-c pretty-prints an empty array as "[\n  ]"; kubectl users expect
 * "[]" (and "{}"). A raw newline never occurs inside a JSON string, so an
 * opener, a newline, spaces and the matching closer are always an empty
 * container. */
static void print_collapsing_empty(FILE *f, const char *s)
{
	while (*s) {
		if ((*s == '[' || *s == '{') && s[1] == '\n') {
			const char *p = s + 2;
			char closer = *s == '[' ? ']' : '}';

			while (*p == ' ')
				p++;
			if (*p == closer) {
				fputc(*s, f);
				fputc(closer, f);
				s = p + 1;
				continue;
			}
		}
		fputc(*s++, f);
	}
}

void output_json(FILE *f, struct json_object *obj)
{
	print_collapsing_empty(f, json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY |
								     JSON_C_TO_STRING_SPACED |
								     JSON_C_TO_STRING_NOSLASHESCAPE));
	fputc('\n', f);
}

static int word_in(const char *s, const char *const *words)
{
	for (; *words; words++)
		if (strcmp(s, *words) == 0)
			return 1;
	return 0;
}

/* Would a YAML 1.1 reader (go-yaml, PyYAML) take this plain scalar for
 * something other than a string? Then it must be quoted. Errs on the side
 * of quoting: anything starting like a number and made only of characters
 * that numbers, dates and times use ("1e3", "0x1f", "2026-11-21T10:00:00Z",
 * "1:30") is quoted, while "1Gi" or "data" stay plain. */
static int yaml_needs_quotes(const char *s)
{
	static const char *const special[] = {
		"~", "null", "Null", "NULL", "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF",
		".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", "+.inf", "+.Inf", "+.INF",
		".nan", ".NaN", ".NAN", "=", "<<", NULL,
	};

	if (!*s || word_in(s, special))
		return 1;
	if (!isdigit((unsigned char)s[0]) && !strchr("+-.", s[0]))
		return 0;
	return strspn(s, "0123456789abcdefABCDEFoOxX_.:+-eEtTzZ ") == strlen(s);
}

static int yaml_emit_scalar(yaml_emitter_t *em, const char *text, int is_string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = YAML_ANY_SCALAR_STYLE;

	if (is_string && yaml_needs_quotes(text))
		style = YAML_DOUBLE_QUOTED_SCALAR_STYLE;
	else if (is_string && strchr(text, '\n'))
		style = YAML_LITERAL_SCALAR_STYLE; /* "|-" like kubectl; libyaml falls back if it must */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
					  1, 1, style))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_value(yaml_emitter_t *em, struct json_object *v);

static int yaml_emit_mapping(yaml_emitter_t *em, struct json_object *obj)
{
	yaml_event_t ev;

	if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -1;
	json_object_object_foreach(obj, key, val) {
		if (yaml_emit_scalar(em, key, 1) < 0 || yaml_emit_value(em, val) < 0)
			return -1;
	}
	if (!yaml_mapping_end_event_initialize(&ev))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_sequence(yaml_emitter_t *em, struct json_object *arr)
{
	yaml_event_t ev;
	size_t n = json_object_array_length(arr);

	if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE) ||
	    !yaml_emitter_emit(em, &ev))
		return -1;
	for (size_t i = 0; i < n; i++)
		if (yaml_emit_value(em, json_object_array_get_idx(arr, i)) < 0)
			return -1;
	if (!yaml_sequence_end_event_initialize(&ev))
		return -1;
	return yaml_emitter_emit(em, &ev) ? 0 : -1;
}

/* Empty containers as flow "{}" / "[]", as kubectl prints them; block
 * style has no way to write an empty collection. */
static int yaml_emit_empty(yaml_emitter_t *em, int mapping)
{
	yaml_event_t ev;
	int ok = mapping ? yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_MAPPING_STYLE)
			 : yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_FLOW_SEQUENCE_STYLE);

	if (!ok || !yaml_emitter_emit(em, &ev))
		return -1;
	ok = mapping ? yaml_mapping_end_event_initialize(&ev) : yaml_sequence_end_event_initialize(&ev);
	return ok && yaml_emitter_emit(em, &ev) ? 0 : -1;
}

static int yaml_emit_value(yaml_emitter_t *em, struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_object:
		if (json_object_object_length(v) == 0)
			return yaml_emit_empty(em, 1);
		return yaml_emit_mapping(em, v);
	case json_type_array:
		if (json_object_array_length(v) == 0)
			return yaml_emit_empty(em, 0);
		return yaml_emit_sequence(em, v);
	case json_type_string:
		return yaml_emit_scalar(em, json_object_get_string(v), 1);
	case json_type_null:
		return yaml_emit_scalar(em, "null", 0);
	default: /* numbers and booleans: their JSON text is valid YAML */
		return yaml_emit_scalar(em, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), 0);
	}
}

static int yaml_emit_document(yaml_emitter_t *em, struct json_object *obj)
{
	yaml_event_t ev;

	if (!yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (!yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 1) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (yaml_emit_value(em, obj) < 0)
		return -1;
	if (!yaml_document_end_event_initialize(&ev, 1) || !yaml_emitter_emit(em, &ev))
		return -1;
	if (!yaml_stream_end_event_initialize(&ev) || !yaml_emitter_emit(em, &ev))
		return -1;
	return yaml_emitter_flush(em) ? 0 : -1;
}

int output_yaml(FILE *f, struct json_object *obj)
{
	yaml_emitter_t em;
	int rc;

	if (!yaml_emitter_initialize(&em))
		return -1;
	yaml_emitter_set_output_file(&em, f);
	yaml_emitter_set_unicode(&em, 1);
	yaml_emitter_set_indent(&em, 2);
	yaml_emitter_set_width(&em, -1); /* never fold long strings */
	rc = yaml_emit_document(&em, obj);
	if (rc < 0)
		fprintf(stderr, "volctl: error: cannot write YAML: %s\n",
			em.problem ? em.problem : "emitter failure");
	yaml_emitter_delete(&em);
	return rc;
}

/* ------------------------------------------------------------------ */
/* sizes and ages */

void output_human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	unsigned u = 0;
	unsigned __int128 tenths;

	while (u < 6 && bytes >> (10 * (u + 1)))
		u++;
	if (u == 0) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	/* Round to one decimal; 1023.96Mi becomes 1Gi rather than 1024.0Mi. */
	for (;;) {
		unsigned __int128 scale = (unsigned __int128)1 << (10 * u);

		tenths = ((unsigned __int128)bytes * 10 + scale / 2) / scale;
		if (tenths < 10240 || u == 6)
			break;
		u++;
	}
	if (tenths % 10 == 0)
		snprintf(buf, len, "%llu%s", (unsigned long long)(tenths / 10), unit[u]);
	else
		snprintf(buf, len, "%llu.%u%s", (unsigned long long)(tenths / 10),
			 (unsigned)(tenths % 10), unit[u]);
}

int output_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se, n = 0, oh = 0, om = 0;
	long offset = 0;
	const char *p;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n == 0)
		return -1;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int k = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5)
			return -1;
		offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 1 + k;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm) - offset;
	return 0;
}

/* Go's duration.HumanDuration, which kubectl uses for AGE columns. */
static void human_duration(long long secs, char *buf, size_t len)
{
	long long mins = secs / 60, hours = secs / 3600, days = hours / 24;

	if (secs < -1)
		snprintf(buf, len, "<invalid>");
	else if (secs < 0)
		snprintf(buf, len, "0s");
	else if (secs < 120)
		snprintf(buf, len, "%llds", secs);
	else if (mins < 10 && secs % 60)
		snprintf(buf, len, "%lldm%llds", mins, secs % 60);
	else if (mins < 180)
		snprintf(buf, len, "%lldm", mins);
	else if (hours < 8 && mins % 60)
		snprintf(buf, len, "%lldh%lldm", hours, mins % 60);
	else if (hours < 48)
		snprintf(buf, len, "%lldh", hours);
	else if (hours < 24 * 8 && hours % 24)
		snprintf(buf, len, "%lldd%lldh", days, hours % 24);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lldd", days);
	else if (hours < 24 * 365 * 8 && days % 365)
		snprintf(buf, len, "%lldy%lldd", days / 365, days % 365);
	else
		snprintf(buf, len, "%lldy", days / 365);
}

void output_age(const char *rfc3339, time_t now, char *buf, size_t len)
{
	time_t t;

	if (output_parse_time(rfc3339, &t) < 0)
		snprintf(buf, len, "<unknown>");
	else
		human_duration((long long)now - (long long)t, buf, len);
}

/* ------------------------------------------------------------------ */
/* objects */

static void header_cells(struct table *t, const char *const *names)
{
	for (; *names; names++)
		table_cell(t, *names);
}

/* kubectl -o name: "persistentvolume/data", group-qualified outside the
 * core group ("storageclass.storage.k8s.io/fast"). */
static void print_name(FILE *f, const struct k8s_kind *k, struct json_object *obj)
{
	char type[128];

	k8s_kind_qualified(k, type, sizeof type);
	fprintf(f, "%s/%s\n", type, json_path_str(obj, "metadata.name", ""));
}

static void print_structured(FILE *f, struct json_object *v, enum output_format fmt)
{
	if (fmt == OUTPUT_YAML)
		output_yaml(f, v);
	else
		output_json(f, v);
}

void output_object(FILE *f, const struct k8s_kind *k, struct json_object *obj, enum output_format fmt)
{
	if (fmt == OUTPUT_NAME)
		print_name(f, k, obj);
	else
		print_structured(f, obj, fmt);
}

struct json_object *output_get_root(struct json_object *items, int by_name)
{
	struct json_object *list;

	if (by_name && json_object_array_length(items) == 1)
		return json_object_get(json_object_array_get_idx(items, 0));
	list = json_object_new_object();
	json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
	json_object_object_add(list, "kind", json_object_new_string("List"));
	json_object_object_add(list, "items", json_object_get(items));
	return list;
}

static int print_jsonpath(FILE *f, struct json_object *root, const char *tmpl)
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

int output_get(FILE *f, const struct k8s_kind *k, struct json_object *items, int by_name,
	       const struct get_view *view, time_t now)
{
	size_t n = json_object_array_length(items);
	struct json_object *root;
	int rc = 0;

	switch (view->fmt) {
	case OUTPUT_JSON:
	case OUTPUT_YAML:
	case OUTPUT_JSONPATH:
		root = output_get_root(items, by_name);
		if (view->fmt == OUTPUT_JSONPATH)
			rc = print_jsonpath(f, root, view->arg);
		else
			print_structured(f, root, view->fmt);
		json_object_put(root);
		break;
	case OUTPUT_NAME:
		for (size_t i = 0; i < n; i++)
			print_name(f, k, json_object_array_get_idx(items, i));
		break;
	case OUTPUT_CUSTOM_COLUMNS:
		rc = tables_print_custom(f, items, view->arg, view->no_headers);
		break;
	default:
		tables_print(f, k, items, view, now);
		break;
	}
	return rc;
}

/* ------------------------------------------------------------------ */
/* df */

static void size_cell(struct table *t, struct json_object *o, const char *member)
{
	char buf[32];
	uint64_t b;

	if (json_path_bytes(o, member, &b) < 0) {
		table_cell(t, "-");
		return;
	}
	output_human_size(b, buf, sizeof buf);
	table_cell(t, buf);
}

/* Rounded up, as df(1) does, so a nearly full volume never shows less. */
static void use_percent_cell(struct table *t, struct json_object *o)
{
	uint64_t used, cap;

	if (json_path_bytes(o, "used", &used) < 0 || json_path_bytes(o, "capacity", &cap) < 0 || cap == 0) {
		table_cell(t, "-");
		return;
	}
	table_cellf(t, "%llu%%",
		    (unsigned long long)(((unsigned __int128)used * 100 + cap - 1) / cap));
}

void output_df(FILE *f, struct json_object *items)
{
	static const char *const head[] = {
		"NAMESPACE", "NAME", "KIND", "CAPACITY", "USED", "AVAILABLE", "USE%", "SNAPSHOTS", NULL,
	};
	struct table *t = table_new(8);
	size_t n = json_object_array_length(items);

	header_cells(t, head);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(items, i);
		const char *ns = json_path_str(o, "namespace", "");

		table_cell(t, *ns ? ns : "-");
		table_cell(t, json_path_str(o, "name", ""));
		table_cell(t, json_path_str(o, "kind", ""));
		int is_snapshot = strcmp(json_path_str(o, "kind", ""), "VolumeSnapshot") == 0;

		/* A snapshot is read-only: nothing is available in it, and it
		 * has no snapshots of its own. Its used is the data it shows. */
		size_cell(t, o, "capacity");
		size_cell(t, o, "used");
		if (is_snapshot)
			table_cell(t, "-");
		else
			size_cell(t, o, "available");
		use_percent_cell(t, o);
		if (is_snapshot)
			table_cell(t, "-");
		else
			size_cell(t, o, "snapshotBytes");
	}
	table_print(t, f, "", GET_MINWIDTH, GET_PADDING);
	table_free(t);
}
