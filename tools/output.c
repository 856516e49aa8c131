/*
 * tools/output.c — volctl's presentation layer (see output.h): the
 * tabwriter-style table, JSON and YAML printing, sizes and ages, and the
 * per-kind table columns and describe layouts that mimic kubectl so that
 * its users can read volctl output without learning anything new.
 */
#include "tools/output.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "meta/quantity.h"

/* kubectl get prints through tabwriter.NewWriter(out, 10, 4, 3, ' ', 0);
 * kubectl describe through tabwriter.NewWriter(out, 0, 8, 2, ' ', 0). */
#define GET_MINWIDTH 10
#define GET_PADDING 3
#define DESCRIBE_PADDING 2

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
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		if (strcmp(s, names[i].name) == 0) {
			*fmt = names[i].fmt;
			return 0;
		}
	}
	return -1;
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

void table_print(const struct table *t, FILE *f, const char *indent, size_t minwidth, size_t padding)
{
	size_t *width = calloc(t->ncols, sizeof *width);

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

		if (col == 0)
			fputs(indent ? indent : "", f);
		if (last)
			fprintf(f, "%s\n", t->cells[i]);
		else
			fprintf(f, "%-*s", (int)width[col], t->cells[i]);
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
static int json_path_bytes(struct json_object *obj, const char *path, uint64_t *bytes)
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
/* per-kind pieces */

/* kubectl's access-mode abbreviations. */
static const char *access_mode_short(const char *mode)
{
	static const char *const map[][2] = {
		{ "ReadWriteOnce", "RWO" },
		{ "ReadOnlyMany", "ROX" },
		{ "ReadWriteMany", "RWX" },
		{ "ReadWriteOncePod", "RWOP" },
	};

	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (strcmp(mode, map[i][0]) == 0)
			return map[i][1];
	return mode;
}

static void access_modes(struct json_object *obj, char *buf, size_t len)
{
	struct json_object *modes = json_path(obj, "spec.accessModes");
	size_t n = modes && json_object_is_type(modes, json_type_array) ? json_object_array_length(modes) : 0;
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < len; i++) {
		const char *m = json_object_get_string(json_object_array_get_idx(modes, i));

		used += snprintf(buf + used, len - used, "%s%s", i ? "," : "", access_mode_short(m ? m : ""));
	}
}

/* spec.capacity.storage as a quantity, whether sent as text or bytes. */
static void capacity_text(struct json_object *obj, const char *path, char *buf, size_t len)
{
	struct json_object *v = json_path(obj, path);

	if (v && json_object_is_type(v, json_type_int))
		quantity_format((uint64_t)json_object_get_int64(v), buf, len);
	else
		snprintf(buf, len, "%s", json_path_str(obj, path, ""));
}

static void claim_ref(struct json_object *obj, char *buf, size_t len)
{
	const char *ns = json_path_str(obj, "spec.claimRef.namespace", "");
	const char *name = json_path_str(obj, "spec.claimRef.name", "");

	if (!*name)
		snprintf(buf, len, "%s", "");
	else
		snprintf(buf, len, "%s%s%s", ns, *ns ? "/" : "", name);
}

static void pv_table_row(struct table *t, struct json_object *pv, int wide, time_t now)
{
	char cap[64], modes[64], claim[512], age[32];

	capacity_text(pv, "spec.capacity.storage", cap, sizeof cap);
	access_modes(pv, modes, sizeof modes);
	claim_ref(pv, claim, sizeof claim);
	output_age(json_path_str(pv, "metadata.creationTimestamp", NULL), now, age, sizeof age);
	table_cell(t, json_path_str(pv, "metadata.name", ""));
	table_cell(t, cap);
	table_cell(t, modes);
	table_cell(t, json_path_str(pv, "spec.persistentVolumeReclaimPolicy", ""));
	table_cell(t, json_path_str(pv, "status.phase", ""));
	table_cell(t, claim);
	table_cell(t, json_path_str(pv, "spec.storageClassName", ""));
	table_cell(t, json_path_str(pv, "status.reason", ""));
	table_cell(t, age);
	if (wide)
		table_cell(t, json_path_str(pv, "spec.volumeMode", ""));
}

static void header_cells(struct table *t, const char *const *names)
{
	for (; *names; names++)
		table_cell(t, *names);
}

static void print_pv_table(FILE *f, struct json_object *items, int wide, time_t now)
{
	static const char *const head[] = {
		"NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS",
		"CLAIM", "STORAGECLASS", "REASON", "AGE", NULL,
	};
	struct table *t = table_new(9 + (wide != 0));
	size_t n = json_object_array_length(items);

	header_cells(t, head);
	if (wide)
		table_cell(t, "VOLUMEMODE");
	for (size_t i = 0; i < n; i++)
		pv_table_row(t, json_object_array_get_idx(items, i), wide, now);
	table_print(t, f, "", GET_MINWIDTH, GET_PADDING);
	table_free(t);
}

/* Where a snapshot came from, in kubectl's TYPE/NAME form: "pv/data", or
 * "pvc/data" for a claim (spec.source.persistentVolumeClaimName). */
static void snapshot_source(struct json_object *vs, char *buf, size_t len)
{
	const char *pv = json_path_str(vs, "spec.source.persistentVolumeName", NULL);
	const char *pvc = json_path_str(vs, "spec.source.persistentVolumeClaimName", NULL);

	if (pvc)
		snprintf(buf, len, "pvc/%s", pvc);
	else if (pv)
		snprintf(buf, len, "pv/%s", pv);
	else
		buf[0] = '\0';
}

/* kubectl's VolumeSnapshot columns (the CRD's additionalPrinterColumns),
 * with SOURCE in SOURCEPVC's place: volfs snapshots persistent volumes,
 * so the source is "pv/NAME" (or "pvc/NAME" for a claim). Missing values
 * print as blank cells and dates as ages, as kubectl prints them. */
static void print_vs_table(FILE *f, struct json_object *items, int all_namespaces, time_t now)
{
	static const char *const head[] = {
		"NAME", "READYTOUSE", "SOURCE", "SOURCESNAPSHOTCONTENT", "RESTORESIZE",
		"SNAPSHOTCLASS", "SNAPSHOTCONTENT", "CREATIONTIME", "AGE", NULL,
	};
	struct table *t = table_new(9 + (all_namespaces != 0));
	size_t n = json_object_array_length(items);
	char source[512], created[32], age[32];

	if (all_namespaces)
		table_cell(t, "NAMESPACE");
	header_cells(t, head);
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(items, i);
		const char *ctime = json_path_str(o, "status.creationTime", NULL);

		snapshot_source(o, source, sizeof source);
		if (ctime)
			output_age(ctime, now, created, sizeof created);
		else
			created[0] = '\0';
		output_age(json_path_str(o, "metadata.creationTimestamp", NULL), now, age, sizeof age);
		if (all_namespaces)
			table_cell(t, json_path_str(o, "metadata.namespace", ""));
		table_cell(t, json_path_str(o, "metadata.name", ""));
		table_cell(t, json_path_str(o, "status.readyToUse", ""));
		table_cell(t, source);
		table_cell(t, json_path_str(o, "spec.source.volumeSnapshotContentName", ""));
		table_cell(t, json_path_str(o, "status.restoreSize", ""));
		table_cell(t, json_path_str(o, "spec.volumeSnapshotClassName", ""));
		table_cell(t, json_path_str(o, "status.boundVolumeSnapshotContentName", ""));
		table_cell(t, created);
		table_cell(t, age);
	}
	table_print(t, f, "", GET_MINWIDTH, GET_PADDING);
	table_free(t);
}

/* NAME AGE, kubectl's columns for a kind it has no printer for. */
static void print_generic_table(FILE *f, struct json_object *items, int all_namespaces, time_t now)
{
	struct table *t = table_new(2 + (all_namespaces != 0));
	size_t n = json_object_array_length(items);
	char age[32];

	if (all_namespaces)
		table_cell(t, "NAMESPACE");
	table_cell(t, "NAME");
	table_cell(t, "AGE");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(items, i);

		if (all_namespaces)
			table_cell(t, json_path_str(o, "metadata.namespace", ""));
		table_cell(t, json_path_str(o, "metadata.name", ""));
		output_age(json_path_str(o, "metadata.creationTimestamp", NULL), now, age, sizeof age);
		table_cell(t, age);
	}
	table_print(t, f, "", GET_MINWIDTH, GET_PADDING);
	table_free(t);
}

/* kubectl -o name: "persistentvolume/data", group-qualified outside the
 * core group ("storageclass.storage.k8s.io/fast"). */
static void print_name(FILE *f, const struct kind_info *k, struct json_object *obj)
{
	const char *slash = strchr(k->api_version, '/');

	fprintf(f, "%s", k->singular);
	if (slash)
		fprintf(f, ".%.*s", (int)(slash - k->api_version), k->api_version);
	fprintf(f, "/%s\n", json_path_str(obj, "metadata.name", ""));
}

static void print_structured(FILE *f, struct json_object *v, enum output_format fmt)
{
	if (fmt == OUTPUT_YAML)
		output_yaml(f, v);
	else
		output_json(f, v);
}

void output_object(FILE *f, const struct kind_info *k, struct json_object *obj, enum output_format fmt)
{
	if (fmt == OUTPUT_NAME)
		print_name(f, k, obj);
	else
		print_structured(f, obj, fmt);
}

void output_get(FILE *f, const struct kind_info *k, struct json_object *items, int by_name,
		enum output_format fmt, int all_namespaces, time_t now)
{
	size_t n = json_object_array_length(items);

	switch (fmt) {
	case OUTPUT_JSON:
	case OUTPUT_YAML:
		if (by_name && n == 1) {
			print_structured(f, json_object_array_get_idx(items, 0), fmt);
		} else {
			struct json_object *list = json_object_new_object();

			json_object_object_add(list, "apiVersion", json_object_new_string("v1"));
			json_object_object_add(list, "kind", json_object_new_string("List"));
			json_object_object_add(list, "items", json_object_get(items));
			print_structured(f, list, fmt);
			json_object_put(list);
		}
		break;
	case OUTPUT_NAME:
		for (size_t i = 0; i < n; i++)
			print_name(f, k, json_object_array_get_idx(items, i));
		break;
	default:
		if (strcmp(k->kind, "PersistentVolume") == 0)
			print_pv_table(f, items, fmt == OUTPUT_WIDE, now);
		else if (strcmp(k->kind, "VolumeSnapshot") == 0)
			print_vs_table(f, items, all_namespaces, now);
		else
			print_generic_table(f, items, all_namespaces && k->namespaced, now);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* describe */

/* "Label:" / value lines of a description, aligned on one value column;
 * a value may span lines (labels, annotations), continued under itself. */
struct fields {
	size_t n;
	const char *label[32];
	char *value[32];
};

static void field(struct fields *fl, const char *label, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void field(struct fields *fl, const char *label, const char *fmt, ...)
{
	va_list ap;

	if (fl->n == sizeof fl->label / sizeof fl->label[0])
		return;
	va_start(ap, fmt);
	if (vasprintf(&fl->value[fl->n], fmt, ap) < 0)
		abort();
	va_end(ap);
	fl->label[fl->n++] = label;
}

static void fields_print(struct fields *fl, FILE *f)
{
	size_t width = 0;

	for (size_t i = 0; i < fl->n; i++)
		if (strlen(fl->label[i]) + 1 + DESCRIBE_PADDING > width)
			width = strlen(fl->label[i]) + 1 + DESCRIBE_PADDING;
	for (size_t i = 0; i < fl->n; i++) {
		char label[64];
		const char *v = fl->value[i];

		snprintf(label, sizeof label, "%s:", fl->label[i]);
		if (!*v) {
			fprintf(f, "%s\n", label);
			continue;
		}
		fprintf(f, "%-*s", (int)width, label);
		for (const char *nl; (nl = strchr(v, '\n')); v = nl + 1)
			fprintf(f, "%.*s\n%*s", (int)(nl - v), v, (int)width, "");
		fprintf(f, "%s\n", v);
	}
}

static void fields_free(struct fields *fl)
{
	for (size_t i = 0; i < fl->n; i++)
		free(fl->value[i]);
	fl->n = 0;
}

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Labels or annotations as sorted "key=value" lines, or "<none>". */
static void string_map_field(struct fields *fl, const char *label, struct json_object *map)
{
	size_t n = map && json_object_is_type(map, json_type_object) ? (size_t)json_object_object_length(map) : 0;
	char **lines, *joined = NULL;
	size_t i = 0, total = 1;

	if (n == 0) {
		field(fl, label, "<none>");
		return;
	}
	lines = calloc(n, sizeof *lines);
	if (!lines)
		abort();
	json_object_object_foreach(map, key, val) {
		if (asprintf(&lines[i], "%s=%s", key, json_object_get_string(val)) < 0)
			abort();
		total += strlen(lines[i++]) + 1;
	}
	qsort(lines, n, sizeof *lines, compare_strings);
	joined = calloc(1, total);
	if (!joined)
		abort();
	for (i = 0; i < n; i++) {
		if (i)
			strcat(joined, "\n");
		strcat(joined, lines[i]);
		free(lines[i]);
	}
	field(fl, label, "%s", joined);
	free(joined);
	free(lines);
}

/* "[a b]" as kubectl prints finalizers. */
static void list_field(struct fields *fl, const char *label, struct json_object *arr)
{
	size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
	char buf[1024];
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n && used < sizeof buf; i++)
		used += snprintf(buf + used, sizeof buf - used, "%s%s", i ? " " : "",
				 json_object_get_string(json_object_array_get_idx(arr, i)));
	field(fl, label, "[%s]", buf);
}

static void usage_fields(struct fields *fl, struct json_object *usage)
{
	char buf[32];
	uint64_t b;

	if (json_path_bytes(usage, "used", &b) == 0) {
		output_human_size(b, buf, sizeof buf);
		field(fl, "Used", "%s", buf);
	}
	if (json_path_bytes(usage, "available", &b) == 0) {
		output_human_size(b, buf, sizeof buf);
		field(fl, "Available", "%s", buf);
	}
}

static void metadata_fields(struct fields *fl, const struct kind_info *k, struct json_object *obj)
{
	field(fl, "Name", "%s", json_path_str(obj, "metadata.name", ""));
	if (k->namespaced)
		field(fl, "Namespace", "%s", json_path_str(obj, "metadata.namespace", ""));
	string_map_field(fl, "Labels", json_path(obj, "metadata.labels"));
	string_map_field(fl, "Annotations", json_path(obj, "metadata.annotations"));
}

static void pv_fields(struct fields *fl, struct json_object *pv, struct json_object *usage)
{
	char modes[64], cap[64], claim[512];

	access_modes(pv, modes, sizeof modes);
	capacity_text(pv, "spec.capacity.storage", cap, sizeof cap);
	claim_ref(pv, claim, sizeof claim);
	list_field(fl, "Finalizers", json_path(pv, "metadata.finalizers"));
	field(fl, "StorageClass", "%s", json_path_str(pv, "spec.storageClassName", ""));
	field(fl, "Status", "%s", json_path_str(pv, "status.phase", ""));
	field(fl, "Claim", "%s", claim);
	field(fl, "Reclaim Policy", "%s", json_path_str(pv, "spec.persistentVolumeReclaimPolicy", ""));
	field(fl, "Access Modes", "%s", modes);
	field(fl, "VolumeMode", "%s", json_path_str(pv, "spec.volumeMode", ""));
	field(fl, "Capacity", "%s", cap);
	usage_fields(fl, usage);
	field(fl, "Message", "%s", json_path_str(pv, "status.message", ""));
}

/* A size member of o as "1.5Gi", or NULL when missing. */
static const char *size_text(struct json_object *o, const char *member, char *buf, size_t len)
{
	uint64_t b;

	if (json_path_bytes(o, member, &b) < 0)
		return NULL;
	output_human_size(b, buf, len);
	return buf;
}

static void vs_fields(struct fields *fl, struct json_object *vs, struct json_object *usage, time_t now)
{
	const char *ctime = json_path_str(vs, "status.creationTime",
					  json_path_str(vs, "metadata.creationTimestamp", NULL));
	const char *class = json_path_str(vs, "spec.volumeSnapshotClassName", NULL);
	char source[512], age[32], buf[32];

	snapshot_source(vs, source, sizeof source);
	output_age(ctime, now, age, sizeof age);
	field(fl, "Source", "%s", source);
	if (class)
		field(fl, "Snapshot Class", "%s", class);
	field(fl, "Creation Time", "%s (%s ago)", ctime ? ctime : "<unknown>", age);
	field(fl, "Ready To Use", "%s", json_path_str(vs, "status.readyToUse", "false"));
	field(fl, "Restore Size", "%s", json_path_str(vs, "status.restoreSize", "<unknown>"));
	if (size_text(usage, "used", buf, sizeof buf))
		field(fl, "Data", "%s", buf);
	if (size_text(usage, "exclusiveBytes", buf, sizeof buf))
		field(fl, "Held Only Here", "%s (freed when this snapshot is deleted)", buf);
	if (json_path(vs, "status.error.message"))
		field(fl, "Error", "%s", json_path_str(vs, "status.error.message", ""));
}

static void generic_fields(struct fields *fl, struct json_object *obj, struct json_object *usage, time_t now)
{
	char age[32];

	output_age(json_path_str(obj, "metadata.creationTimestamp", NULL), now, age, sizeof age);
	field(fl, "Created", "%s ago (%s)", age, json_path_str(obj, "metadata.creationTimestamp", "?"));
	if (json_path(obj, "status.phase"))
		field(fl, "Status", "%s", json_path_str(obj, "status.phase", ""));
	usage_fields(fl, usage);
}

static void print_events(FILE *f, struct json_object *events, time_t now)
{
	struct table *t = table_new(4);
	size_t n = json_object_array_length(events);
	char age[32];

	fprintf(f, "Events:\n");
	header_cells(t, (const char *const[]){ "Type", "Reason", "Age", "Message", NULL });
	header_cells(t, (const char *const[]){ "----", "------", "----", "-------", NULL });
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(events, i);

		output_age(json_path_str(ev, "time", NULL), now, age, sizeof age);
		table_cell(t, json_path_str(ev, "type", ""));
		table_cell(t, json_path_str(ev, "reason", ""));
		table_cell(t, age);
		table_cell(t, json_path_str(ev, "message", ""));
	}
	table_print(t, f, "  ", 0, DESCRIBE_PADDING);
	table_free(t);
}

void output_describe(FILE *f, const struct kind_info *k, struct json_object *answer, time_t now)
{
	struct json_object *obj = json_path(answer, "object");
	struct json_object *usage = json_path(answer, "usage");
	struct json_object *events = json_path(answer, "events");
	int have_events = events && json_object_is_type(events, json_type_array) &&
			  json_object_array_length(events) > 0;
	struct fields fl = { 0 };

	metadata_fields(&fl, k, obj);
	if (strcmp(k->kind, "PersistentVolume") == 0)
		pv_fields(&fl, obj, usage);
	else if (strcmp(k->kind, "VolumeSnapshot") == 0)
		vs_fields(&fl, obj, usage, now);
	else
		generic_fields(&fl, obj, usage, now);
	if (!have_events)
		field(&fl, "Events", "<none>");
	fields_print(&fl, f);
	fields_free(&fl);
	if (have_events)
		print_events(f, events, now);
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
