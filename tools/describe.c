/*
 * tools/describe.c — volctl describe: kubectl-describe text for each kind
 * (see describe.h), ending in the object's events.
 *
 * kubectl writes describe output through one tabwriter (minwidth 0,
 * padding 2): cells end in tabs, and a column is aligned over each run of
 * consecutive lines that have a cell there. A heading alone on its line
 * ("DataSource:") ends the run, which is why kubectl's fields after a
 * nested block align differently; the writer below does the same, so the
 * output matches kubectl's line for line.
 */
#include "tools/describe.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/fields.h"
#include "tools/human.h"

#define DESCRIBE_PADDING 2
#define ANN_LAST_APPLIED "kubectl.kubernetes.io/last-applied-configuration"

/* ------------------------------------------------------------------ */
/* the tabwriter */

struct dline {
	char **cells;
	size_t n;
};

struct dw {
	struct dline *lines;
	size_t n, cap;
};

static void dw_cells(struct dw *d, size_t n, const char *const *cells)
{
	struct dline *l;

	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 32;
		d->lines = realloc(d->lines, d->cap * sizeof *d->lines);
		if (!d->lines)
			abort();
	}
	l = &d->lines[d->n++];
	l->n = n;
	l->cells = calloc(n, sizeof *l->cells);
	if (!l->cells)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!(l->cells[i] = strdup(cells[i] ? cells[i] : "")))
			abort();
}

/* A line of cells, NULL-terminated. */
static void dw_row(struct dw *d, ...)
{
	const char *cells[16];
	size_t n = 0;
	va_list ap;

	va_start(ap, d);
	while (n < 16 && (cells[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	dw_cells(d, n, cells);
}

/* "Label:" and a value; each further line of the value goes on a line of
 * its own under the value column. */
static void dw_field(struct dw *d, const char *label, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void dw_field(struct dw *d, const char *label, const char *fmt, ...)
{
	char *value, *line, *nl, head[128];
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&value, fmt, ap) < 0)
		abort();
	va_end(ap);
	snprintf(head, sizeof head, "%s:", label);
	line = value;
	for (;;) {
		nl = strchr(line, '\n');
		if (nl)
			*nl = '\0';
		dw_row(d, line == value ? head : "", line, (const char *)NULL);
		if (!nl)
			break;
		line = nl + 1;
	}
	free(value);
}

/* "Label:" alone: a heading for the indented lines after it. */
static void dw_heading(struct dw *d, const char *label)
{
	char head[128];

	snprintf(head, sizeof head, "%s:", label);
	dw_row(d, head, (const char *)NULL);
}

/* Width of each cell that ends in a tab: the widest cell of its column
 * over the run of adjacent lines that have one there, plus padding. */
static size_t **dw_widths(const struct dw *d)
{
	size_t **w = calloc(d->n + 1, sizeof *w), maxc = 0;

	if (!w)
		abort();
	for (size_t i = 0; i < d->n; i++) {
		if (!(w[i] = calloc(d->lines[i].n + 1, sizeof **w)))
			abort();
		if (d->lines[i].n > maxc)
			maxc = d->lines[i].n;
	}
	for (size_t c = 0; c + 1 < maxc; c++) {
		for (size_t i = 0; i < d->n;) {
			size_t j = i, width = 0;

			while (j < d->n && d->lines[j].n > c + 1) {
				size_t len = strlen(d->lines[j].cells[c]);

				width = len > width ? len : width;
				j++;
			}
			for (size_t k = i; k < j; k++)
				w[k][c] = width + DESCRIBE_PADDING;
			i = j > i ? j : i + 1;
		}
	}
	return w;
}

static void dw_print(struct dw *d, FILE *f)
{
	size_t **w = dw_widths(d);

	for (size_t i = 0; i < d->n; i++) {
		const struct dline *l = &d->lines[i];
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);

		if (!m)
			abort();
		for (size_t c = 0; c < l->n; c++)
			fprintf(m, "%-*s", c + 1 < l->n ? (int)w[i][c] : 0, l->cells[c]);
		fclose(m);
		while (len > 0 && buf[len - 1] == ' ')
			len--;
		fprintf(f, "%.*s\n", (int)len, buf);
		free(buf);
		free(w[i]);
	}
	free(w);
}

static void dw_free(struct dw *d)
{
	for (size_t i = 0; i < d->n; i++) {
		for (size_t c = 0; c < d->lines[i].n; c++)
			free(d->lines[i].cells[c]);
		free(d->lines[i].cells);
	}
	free(d->lines);
}

/* ------------------------------------------------------------------ */
/* shared fields */

/* A string map as sorted lines "k=v" (labels) or "k: v" (annotations),
 * kubectl's last-applied annotation left out; "<none>" when empty. */
static void map_field(struct dw *d, const char *label, struct json_object *map, const char *sep)
{
	size_t n, shown = 0;
	const char **keys = text_sorted_keys(map, &n);
	char *text = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&text, &len);

	if (!m)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i], ANN_LAST_APPLIED) == 0)
			continue;
		fprintf(m, "%s%s%s%s", shown++ ? "\n" : "", keys[i], sep,
			json_object_get_string(json_object_object_get(map, keys[i])));
	}
	fclose(m);
	dw_field(d, label, "%s", shown ? text : "<none>");
	free(text);
	free(keys);
}

/* The same map on one line, "k=v,k2=v2" (kubectl's labels.FormatLabels). */
static void map_line_field(struct dw *d, const char *label, struct json_object *map)
{
	size_t n, off = 0;
	const char **keys = text_sorted_keys(map, &n);
	char buf[2048] = "";

	for (size_t i = 0; i < n && off < sizeof buf; i++)
		if (strcmp(keys[i], ANN_LAST_APPLIED) != 0)
			off += snprintf(buf + off, sizeof buf - off, "%s%s=%s", off ? "," : "", keys[i],
					json_object_get_string(json_object_object_get(map, keys[i])));
	dw_field(d, label, "%s", off ? buf : "<none>");
	free(keys);
}

/* The strings of an array joined by sep, or dflt when there are none. */
static void join_array(struct json_object *arr, const char *sep, const char *dflt, char *buf, size_t len)
{
	size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0, off = 0;

	snprintf(buf, len, "%s", n ? "" : dflt);
	for (size_t i = 0; i < n && off < len; i++)
		off += snprintf(buf + off, len - off, "%s%s", i ? sep : "",
				json_object_get_string(json_object_array_get_idx(arr, i)));
}

static void name_fields(struct dw *d, const struct k8s_kind *k, struct json_object *obj)
{
	dw_field(d, "Name", "%s", json_path_str(obj, "metadata.name", ""));
	if (k->namespaced)
		dw_field(d, "Namespace", "%s", json_path_str(obj, "metadata.namespace", ""));
}

static void meta_fields(struct dw *d, struct json_object *obj)
{
	map_field(d, "Labels", json_path(obj, "metadata.labels"), "=");
	map_field(d, "Annotations", json_path(obj, "metadata.annotations"), ": ");
}

static void finalizers_field(struct dw *d, struct json_object *obj)
{
	char buf[1024];

	join_array(json_path(obj, "metadata.finalizers"), " ", "", buf, sizeof buf);
	dw_field(d, "Finalizers", "[%s]", buf);
}

/* A size member of o as "1.5Gi", or NULL when missing. */
static const char *member_size(struct json_object *o, const char *member, char *buf, size_t len)
{
	uint64_t b;

	if (json_path_bytes(o, member, &b) < 0)
		return NULL;
	human_size(b, buf, len);
	return buf;
}

static void usage_fields(struct dw *d, struct json_object *usage)
{
	char buf[32];

	if (member_size(usage, "used", buf, sizeof buf))
		dw_field(d, "Used", "%s", buf);
	if (member_size(usage, "available", buf, sizeof buf))
		dw_field(d, "Available", "%s", buf);
}

/* kubectl's "True"/"False"/"<unset>" for an optional boolean. */
static const char *bool_text(struct json_object *obj, const char *path)
{
	struct json_object *v = json_path(obj, path);

	if (!v || !json_object_is_type(v, json_type_boolean))
		return "<unset>";
	return json_object_get_boolean(v) ? "True" : "False";
}

/* ------------------------------------------------------------------ */
/* per kind */

/* "key in [a, b]" per expression, as kubectl prints node selector terms. */
static void node_affinity(struct dw *d, struct json_object *pv)
{
	struct json_object *terms = json_path(pv, "spec.nodeAffinity.required.nodeSelectorTerms");
	size_t n = terms && json_object_is_type(terms, json_type_array) ? json_object_array_length(terms) : 0;

	if (n == 0) {
		dw_field(d, "Node Affinity", "<none>");
		return;
	}
	dw_heading(d, "Node Affinity");
	dw_heading(d, "  Required Terms");
	for (size_t i = 0; i < n; i++) {
		struct json_object *exprs = json_path(json_object_array_get_idx(terms, i), "matchExpressions");
		size_t m = exprs && json_object_is_type(exprs, json_type_array) ? json_object_array_length(exprs) : 0;
		char term[32], values[1024], op[64], line[1400];

		snprintf(term, sizeof term, "    Term %zu:", i);
		for (size_t j = 0; j < m; j++) {
			struct json_object *e = json_object_array_get_idx(exprs, j);

			snprintf(op, sizeof op, "%s", json_path_str(e, "operator", ""));
			for (char *p = op; *p; p++)
				*p = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
			join_array(json_path(e, "values"), ", ", "", values, sizeof values);
			if (json_path(e, "values"))
				snprintf(line, sizeof line, "%s %s [%s]", json_path_str(e, "key", ""), op, values);
			else
				snprintf(line, sizeof line, "%s %s", json_path_str(e, "key", ""), op);
			dw_row(d, j == 0 ? term : "", line, (const char *)NULL);
		}
		if (m == 0)
			dw_row(d, term, "<empty>", (const char *)NULL);
	}
}

static void pv_source(struct dw *d, struct json_object *pv)
{
	dw_heading(d, "Source");
	if (json_path(pv, "spec.hostPath")) {
		dw_row(d, "    Type:", "HostPath (bare host directory volume)", (const char *)NULL);
		dw_row(d, "    Path:", json_path_str(pv, "spec.hostPath.path", ""), (const char *)NULL);
	} else if (json_path(pv, "spec.local")) {
		dw_row(d, "    Type:", "LocalVolume (a persistent volume backed by local storage on a node)",
		       (const char *)NULL);
		dw_row(d, "    Path:", json_path_str(pv, "spec.local.path", ""), (const char *)NULL);
	} else if (json_path(pv, "spec.csi")) {
		dw_row(d, "    Type:", "CSI (a Container Storage Interface (CSI) volume source)", (const char *)NULL);
		dw_row(d, "    Driver:", json_path_str(pv, "spec.csi.driver", ""), (const char *)NULL);
		dw_row(d, "    VolumeHandle:", json_path_str(pv, "spec.csi.volumeHandle", ""), (const char *)NULL);
	} else {
		dw_row(d, "    Type:", "volfs (copy-on-write sparse-file volume of this machine's volfs daemon)",
		       (const char *)NULL);
	}
}

static void pv_fields(struct dw *d, struct json_object *pv, struct json_object *usage)
{
	char modes[64], cap[64], claim[512];

	text_access_modes(pv, "spec.accessModes", modes, sizeof modes);
	text_quantity(pv, "spec.capacity.storage", cap, sizeof cap);
	text_claim_ref(pv, claim, sizeof claim);
	meta_fields(d, pv);
	finalizers_field(d, pv);
	dw_field(d, "StorageClass", "%s", json_path_str(pv, "spec.storageClassName", ""));
	dw_field(d, "Status", "%s", text_phase(pv));
	dw_field(d, "Claim", "%s", claim);
	dw_field(d, "Reclaim Policy", "%s", json_path_str(pv, "spec.persistentVolumeReclaimPolicy", ""));
	dw_field(d, "Access Modes", "%s", modes);
	dw_field(d, "VolumeMode", "%s", json_path_str(pv, "spec.volumeMode", ""));
	dw_field(d, "Capacity", "%s", cap);
	usage_fields(d, usage);
	node_affinity(d, pv);
	dw_field(d, "Message", "%s", json_path_str(pv, "status.message", ""));
	pv_source(d, pv);
}

static void data_source(struct dw *d, struct json_object *pvc)
{
	struct json_object *ds = json_path(pvc, "spec.dataSourceRef");

	if (!ds)
		ds = json_path(pvc, "spec.dataSource");
	if (!ds || !json_object_is_type(ds, json_type_object))
		return;
	dw_heading(d, "DataSource");
	if (json_path(ds, "apiGroup"))
		dw_row(d, "  APIGroup:", json_path_str(ds, "apiGroup", ""), (const char *)NULL);
	dw_row(d, "  Kind:", json_path_str(ds, "kind", ""), (const char *)NULL);
	dw_row(d, "  Name:", json_path_str(ds, "name", ""), (const char *)NULL);
}

static void conditions(struct dw *d, struct json_object *obj, time_t now)
{
	struct json_object *conds = json_path(obj, "status.conditions");
	size_t n = conds && json_object_is_type(conds, json_type_array) ? json_object_array_length(conds) : 0;
	char age[32];

	if (n == 0)
		return;
	dw_heading(d, "Conditions");
	dw_row(d, "  Type", "Status", "LastTransitionTime", "Reason", "Message", (const char *)NULL);
	dw_row(d, "  ----", "------", "------------------", "------", "-------", (const char *)NULL);
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		char type[128];

		snprintf(type, sizeof type, "  %s", json_path_str(c, "type", ""));
		human_age(json_path_str(c, "lastTransitionTime", NULL), now, age, sizeof age);
		dw_row(d, type, json_path_str(c, "status", ""), age, json_path_str(c, "reason", ""),
		       json_path_str(c, "message", ""), (const char *)NULL);
	}
}

static void pvc_fields(struct dw *d, struct json_object *answer, struct json_object *pvc, time_t now)
{
	char modes[64], cap[64], users[1024];

	text_access_modes(pvc, "status.accessModes", modes, sizeof modes);
	text_quantity(pvc, "status.capacity.storage", cap, sizeof cap);
	join_array(json_path(answer, "usedBy"), "\n", "<none>", users, sizeof users);
	dw_field(d, "StorageClass", "%s", json_path_str(pvc, "spec.storageClassName", ""));
	dw_field(d, "Status", "%s", text_phase(pvc));
	dw_field(d, "Volume", "%s", json_path_str(pvc, "spec.volumeName", ""));
	meta_fields(d, pvc);
	finalizers_field(d, pvc);
	dw_field(d, "Capacity", "%s", cap);
	dw_field(d, "Access Modes", "%s", modes);
	dw_field(d, "VolumeMode", "%s", json_path_str(pvc, "spec.volumeMode", "Filesystem"));
	data_source(d, pvc);
	dw_field(d, "Used By", "%s", users);
	conditions(d, pvc, now);
}

static void sc_fields(struct dw *d, struct json_object *sc)
{
	char opts[1024];

	join_array(json_path(sc, "mountOptions"), ", ", "<none>", opts, sizeof opts);
	dw_field(d, "IsDefaultClass", "%s", text_annotation_true(sc, ANN_DEFAULT_SC) ? "Yes" : "No");
	map_line_field(d, "Annotations", json_path(sc, "metadata.annotations"));
	dw_field(d, "Provisioner", "%s", json_path_str(sc, "provisioner", ""));
	map_line_field(d, "Parameters", json_path(sc, "parameters"));
	dw_field(d, "AllowVolumeExpansion", "%s", bool_text(sc, "allowVolumeExpansion"));
	dw_field(d, "MountOptions", "%s", opts);
	dw_field(d, "ReclaimPolicy", "%s", json_path_str(sc, "reclaimPolicy", "Delete"));
	dw_field(d, "VolumeBindingMode", "%s", json_path_str(sc, "volumeBindingMode", "Immediate"));
}

static void vsclass_fields(struct dw *d, struct json_object *c)
{
	dw_field(d, "IsDefaultClass", "%s", text_annotation_true(c, ANN_DEFAULT_VSC) ? "Yes" : "No");
	meta_fields(d, c);
	dw_field(d, "Driver", "%s", json_path_str(c, "driver", ""));
	dw_field(d, "Deletion Policy", "%s", json_path_str(c, "deletionPolicy", ""));
	map_line_field(d, "Parameters", json_path(c, "parameters"));
}

static void vs_fields(struct dw *d, struct json_object *vs, struct json_object *usage, time_t now)
{
	const char *ctime = json_path_str(vs, "status.creationTime",
					  json_path_str(vs, "metadata.creationTimestamp", NULL));
	const char *class = json_path_str(vs, "spec.volumeSnapshotClassName", NULL);
	const char *content = json_path_str(vs, "status.boundVolumeSnapshotContentName", NULL);
	char source[512], age[32], buf[32];

	text_snapshot_source(vs, source, sizeof source);
	human_age(ctime, now, age, sizeof age);
	meta_fields(d, vs);
	dw_field(d, "Source", "%s", source);
	if (class)
		dw_field(d, "Snapshot Class", "%s", class);
	if (content)
		dw_field(d, "Snapshot Content", "%s", content);
	dw_field(d, "Creation Time", "%s (%s ago)", ctime ? ctime : "<unknown>", age);
	dw_field(d, "Ready To Use", "%s", json_path_str(vs, "status.readyToUse", "false"));
	text_quantity(vs, "status.restoreSize", buf, sizeof buf);
	dw_field(d, "Restore Size", "%s", *buf ? buf : "<unknown>");
	if (member_size(usage, "used", buf, sizeof buf))
		dw_field(d, "Data", "%s", buf);
	if (member_size(usage, "exclusiveBytes", buf, sizeof buf))
		dw_field(d, "Held Only Here", "%s (freed when this snapshot is deleted)", buf);
	uint64_t pending = 0;
	if (json_path_bytes(usage, "reclaimPending.rows", &pending) == 0 && pending > 0)
		dw_field(d, "Reclaim Pending", "%llu rows of deleted snapshots and volumes",
		         (unsigned long long)pending);
	if (json_path(vs, "status.error.message"))
		dw_field(d, "Error", "%s", json_path_str(vs, "status.error.message", ""));
}

static void vsc_fields(struct dw *d, struct json_object *c, struct json_object *usage, time_t now)
{
	const char *ctime = json_path_str(c, "status.creationTime", NULL);
	char age[32], buf[32];

	meta_fields(d, c);
	dw_field(d, "Driver", "%s", json_path_str(c, "spec.driver", ""));
	dw_field(d, "Deletion Policy", "%s", json_path_str(c, "spec.deletionPolicy", ""));
	dw_field(d, "Volume Snapshot Class", "%s", json_path_str(c, "spec.volumeSnapshotClassName", ""));
	dw_field(d, "Volume Snapshot", "%s/%s", json_path_str(c, "spec.volumeSnapshotRef.namespace", ""),
		 json_path_str(c, "spec.volumeSnapshotRef.name", ""));
	if (json_path(c, "spec.source.volumeHandle"))
		dw_field(d, "Source Volume", "%s", json_path_str(c, "spec.source.volumeHandle", ""));
	if (json_path(c, "spec.source.snapshotHandle"))
		dw_field(d, "Source Snapshot", "%s", json_path_str(c, "spec.source.snapshotHandle", ""));
	dw_field(d, "Snapshot Handle", "%s", json_path_str(c, "status.snapshotHandle", ""));
	if (ctime) {
		human_age(ctime, now, age, sizeof age);
		dw_field(d, "Creation Time", "%s (%s ago)", ctime, age);
	}
	dw_field(d, "Ready To Use", "%s", json_path_str(c, "status.readyToUse", "false"));
	dw_field(d, "Restore Size", "%s", json_path_str(c, "status.restoreSize", "<unknown>"));
	if (member_size(usage, "used", buf, sizeof buf))
		dw_field(d, "Data", "%s", buf);
}

/* kubectl's "Resource Used Hard" table, in the same tabwriter run as
 * Name and Namespace (so their values line up with the Used column). */
static void quota_table(struct dw *d, struct json_object *q, const char *indent)
{
	struct json_object *hard = json_path(q, "status.hard"), *used = json_path(q, "status.used");
	char head[3][32];
	const char **keys;
	size_t n;

	if (!hard)
		hard = json_path(q, "spec.hard");
	keys = text_sorted_keys(hard, &n);
	snprintf(head[0], sizeof head[0], "%sResource", indent);
	snprintf(head[1], sizeof head[1], "%s--------", indent);
	dw_row(d, head[0], "Used", "Hard", (const char *)NULL);
	dw_row(d, head[1], "----", "----", (const char *)NULL);
	for (size_t i = 0; i < n; i++) {
		struct json_object *u = NULL;
		char name[256];

		if (used && json_object_is_type(used, json_type_object))
			json_object_object_get_ex(used, keys[i], &u);
		snprintf(name, sizeof name, "%s%s", indent, keys[i]);
		dw_row(d, name, u ? json_object_get_string(u) : "0",
		       json_object_get_string(json_object_object_get(hard, keys[i])), (const char *)NULL);
	}
	free(keys);
}

/* A namespace's quotas when the answer carries them ("quotas"). */
static void ns_fields(struct dw *d, struct json_object *answer, struct json_object *ns)
{
	struct json_object *quotas = json_path(answer, "quotas");
	size_t n = quotas && json_object_is_type(quotas, json_type_array) ? json_object_array_length(quotas) : 0;
	const char *phase = text_phase(ns);

	meta_fields(d, ns);
	dw_field(d, "Status", "%s", *phase ? phase : "Active");
	if (!quotas)
		return;
	if (n == 0) {
		dw_row(d, "", (const char *)NULL);
		dw_row(d, "No resource quota.", (const char *)NULL);
		return;
	}
	dw_row(d, "", (const char *)NULL);
	dw_heading(d, "Resource Quotas");
	for (size_t i = 0; i < n; i++) {
		struct json_object *q = json_object_array_get_idx(quotas, i);

		dw_row(d, "  Name:", json_path_str(q, "metadata.name", ""), (const char *)NULL);
		quota_table(d, q, "  ");
	}
}

static void generic_fields(struct dw *d, struct json_object *obj, struct json_object *usage, time_t now)
{
	char age[32];

	meta_fields(d, obj);
	text_age(obj, now, age, sizeof age);
	dw_field(d, "Created", "%s ago (%s)", age, json_path_str(obj, "metadata.creationTimestamp", "?"));
	if (json_path(obj, "status.phase"))
		dw_field(d, "Status", "%s", text_phase(obj));
	usage_fields(d, usage);
}

/* ------------------------------------------------------------------ */
/* pods: kubectl's Containers (their Mounts) and Volumes sections */

static void pod_mounts(struct dw *d, struct json_object *pod)
{
	struct json_object *cs = json_path(pod, "spec.containers");
	size_t n = cs && json_object_is_type(cs, json_type_array) ? json_object_array_length(cs) : 0;
	char head[300], line[PATH_MAX + 600];

	if (!n)
		return;
	dw_heading(d, "Containers");
	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(cs, i), *ms = json_path(c, "volumeMounts");
		size_t nm = ms && json_object_is_type(ms, json_type_array) ? json_object_array_length(ms) : 0;

		snprintf(head, sizeof head, "  %s:", json_path_str(c, "name", ""));
		dw_row(d, head, (const char *)NULL);
		if (!nm) {
			dw_row(d, "    Mounts:", "<none>", (const char *)NULL);
			continue;
		}
		dw_row(d, "    Mounts:", (const char *)NULL);
		for (size_t j = 0; j < nm; j++) {
			struct json_object *m = json_object_array_get_idx(ms, j), *ro = json_path(m, "readOnly");
			const char *sub = json_path_str(m, "subPath", NULL);
			char flags[600];

			snprintf(flags, sizeof flags, "%s%s%s%s", ro && json_object_get_boolean(ro) ? "ro" : "rw",
				 sub ? ",path=\"" : "", sub ? sub : "", sub ? "\"" : "");
			snprintf(line, sizeof line, "      %s from %s (%s)", json_path_str(m, "mountPath", ""),
				 json_path_str(m, "name", ""), flags);
			dw_row(d, line, (const char *)NULL);
		}
	}
}

/* kubectl's volume fields say false for an unset boolean. */
static const char *flag_text(struct json_object *o, const char *path)
{
	struct json_object *b = json_path(o, path);

	return b && json_object_get_boolean(b) ? "true" : "false";
}

/* One volume's Type and the fields kubectl prints for it. */
static void pod_volume(struct dw *d, struct json_object *v)
{
	struct json_object *src;

	if ((src = json_path(v, "emptyDir"))) {
		dw_row(d, "    Type:", "EmptyDir (a temporary directory that shares a pod's lifetime)", (const char *)NULL);
		dw_row(d, "    Medium:", json_path_str(src, "medium", ""), (const char *)NULL);
		dw_row(d, "    SizeLimit:", json_path_str(src, "sizeLimit", "<unset>"), (const char *)NULL);
	} else if ((src = json_path(v, "persistentVolumeClaim"))) {
		dw_row(d, "    Type:", "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
		       (const char *)NULL);
		dw_row(d, "    ClaimName:", json_path_str(src, "claimName", ""), (const char *)NULL);
		dw_row(d, "    ReadOnly:", flag_text(src, "readOnly"), (const char *)NULL);
	} else if ((src = json_path(v, "configMap"))) {
		dw_row(d, "    Type:", "ConfigMap (a volume populated by a ConfigMap)", (const char *)NULL);
		dw_row(d, "    Name:", json_path_str(src, "name", ""), (const char *)NULL);
		dw_row(d, "    Optional:", flag_text(src, "optional"), (const char *)NULL);
	} else if ((src = json_path(v, "secret"))) {
		dw_row(d, "    Type:", "Secret (a volume populated by a Secret)", (const char *)NULL);
		dw_row(d, "    SecretName:", json_path_str(src, "secretName", ""), (const char *)NULL);
		dw_row(d, "    Optional:", flag_text(src, "optional"), (const char *)NULL);
	} else if ((src = json_path(v, "hostPath"))) {
		dw_row(d, "    Type:", "HostPath (bare host directory volume)", (const char *)NULL);
		dw_row(d, "    Path:", json_path_str(src, "path", ""), (const char *)NULL);
		dw_row(d, "    HostPathType:", json_path_str(src, "type", ""), (const char *)NULL);
	} else if (json_path(v, "downwardAPI")) {
		dw_row(d, "    Type:", "DownwardAPI (a volume populated by information about the pod)", (const char *)NULL);
	} else if (json_path(v, "projected")) {
		dw_row(d, "    Type:", "Projected (a volume that contains injected data from multiple sources)",
		       (const char *)NULL);
	}
}

static void pod_fields(struct dw *d, struct json_object *pod, time_t now)
{
	struct json_object *vs = json_path(pod, "spec.volumes");
	size_t n = vs && json_object_is_type(vs, json_type_array) ? json_object_array_length(vs) : 0;
	char head[300];

	generic_fields(d, pod, NULL, now);
	pod_mounts(d, pod);
	if (!n) {
		dw_field(d, "Volumes", "<none>");
		return;
	}
	dw_heading(d, "Volumes");
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(vs, i);

		snprintf(head, sizeof head, "  %s:", json_path_str(v, "name", ""));
		dw_row(d, head, (const char *)NULL);
		pod_volume(d, v);
	}
}

/* ------------------------------------------------------------------ */
/* events */

/* kubectl's Age of an event: "5m", or "2m (x3 over 10m)" when repeated. */
static void event_age(struct json_object *ev, time_t now, char *buf, size_t len)
{
	struct json_object *count = json_path(ev, "count");
	int64_t n = count ? json_object_get_int64(count) : 1;
	char last[32], first[32];

	human_age(json_path_str(ev, "time", NULL), now, last, sizeof last);
	if (n <= 1) {
		snprintf(buf, len, "%s", last);
		return;
	}
	human_age(json_path_str(ev, "firstTime", json_path_str(ev, "time", NULL)), now, first, sizeof first);
	snprintf(buf, len, "%s (x%lld over %s)", last, (long long)n, first);
}

static void events(struct dw *d, struct json_object *evs, time_t now)
{
	size_t n = evs && json_object_is_type(evs, json_type_array) ? json_object_array_length(evs) : 0;
	char age[96], type[64];

	if (n == 0) {
		dw_field(d, "Events", "<none>");
		return;
	}
	dw_heading(d, "Events");
	dw_row(d, "  Type", "Reason", "Age", "From", "Message", (const char *)NULL);
	dw_row(d, "  ----", "------", "----", "----", "-------", (const char *)NULL);
	for (size_t i = 0; i < n; i++) {
		struct json_object *ev = json_object_array_get_idx(evs, i);

		event_age(ev, now, age, sizeof age);
		snprintf(type, sizeof type, "  %s", json_path_str(ev, "type", ""));
		dw_row(d, type, json_path_str(ev, "reason", ""), age,
		       json_path_str(ev, "from", json_path_str(ev, "source", "volfs")),
		       json_path_str(ev, "message", ""), (const char *)NULL);
	}
}

void describe_print(FILE *f, const struct k8s_kind *k, struct json_object *answer, time_t now)
{
	struct json_object *obj = json_path(answer, "object");
	struct json_object *usage = json_path(answer, "usage");
	const char *kind = k->kind;
	struct dw d = { 0 };

	name_fields(&d, k, obj);
	if (strcmp(kind, "PersistentVolume") == 0)
		pv_fields(&d, obj, usage);
	else if (strcmp(kind, "PersistentVolumeClaim") == 0)
		pvc_fields(&d, answer, obj, now);
	else if (strcmp(kind, "StorageClass") == 0)
		sc_fields(&d, obj);
	else if (strcmp(kind, "VolumeSnapshotClass") == 0)
		vsclass_fields(&d, obj);
	else if (strcmp(kind, "VolumeSnapshot") == 0)
		vs_fields(&d, obj, usage, now);
	else if (strcmp(kind, "VolumeSnapshotContent") == 0)
		vsc_fields(&d, obj, usage, now);
	else if (strcmp(kind, "ResourceQuota") == 0)
		quota_table(&d, obj, "");
	else if (strcmp(kind, "Namespace") == 0)
		ns_fields(&d, answer, obj);
	else if (strcmp(kind, "Pod") == 0)
		pod_fields(&d, obj, now);
	else
		generic_fields(&d, obj, usage, now);
	events(&d, json_path(answer, "events"), now);
	dw_print(&d, f);
	dw_free(&d);
}
