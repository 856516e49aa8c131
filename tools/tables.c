/*
 * tools/tables.c — kubectl's get columns for each kind volfs serves (see
 * tables.h). Missing values print as blank cells, dates as ages, as
 * kubectl prints them, so that its users read volctl tables without
 * learning anything new.
 */
#include "tools/tables.h"

#include <string.h>

#include "tools/fields.h"
#include "tools/human.h"
#include "tools/table.h"

typedef void row_fn(struct table *t, struct json_object *o, int wide, time_t now);

struct printer {
	const char *kind;
	const char *const *head;
	const char *wide; /* the one extra -o wide column, or NULL */
	row_fn *row;
};

static void cell_path(struct table *t, struct json_object *o, const char *path)
{
	table_cell(t, json_path_str(o, path, ""));
}

static void cell_age(struct table *t, struct json_object *o, time_t now)
{
	char age[32];

	text_age(o, now, age, sizeof age);
	table_cell(t, age);
}

static void cell_quantity(struct table *t, struct json_object *o, const char *path)
{
	char buf[64];

	text_quantity(o, path, buf, sizeof buf);
	table_cell(t, buf);
}

static void cell_modes(struct table *t, struct json_object *o, const char *path)
{
	char buf[64];

	text_access_modes(o, path, buf, sizeof buf);
	table_cell(t, buf);
}

/* "fast (default)" for the class the annotation marks as default. */
static void cell_class_name(struct table *t, struct json_object *o, const char *annotation)
{
	const char *name = json_path_str(o, "metadata.name", "");

	if (text_annotation_true(o, annotation))
		table_cellf(t, "%s (default)", name);
	else
		table_cell(t, name);
}

static void pv_row(struct table *t, struct json_object *pv, int wide, time_t now)
{
	char claim[512];

	text_claim_ref(pv, claim, sizeof claim);
	cell_path(t, pv, "metadata.name");
	cell_quantity(t, pv, "spec.capacity.storage");
	cell_modes(t, pv, "spec.accessModes");
	cell_path(t, pv, "spec.persistentVolumeReclaimPolicy");
	table_cell(t, text_phase(pv));
	table_cell(t, claim);
	cell_path(t, pv, "spec.storageClassName");
	cell_path(t, pv, "status.reason");
	cell_age(t, pv, now);
	if (wide)
		cell_path(t, pv, "spec.volumeMode");
}

/* CAPACITY and ACCESS MODES are the bound volume's (status), blank while
 * Pending; a claim that never named a class shows <unset>, one that asked
 * for "" an empty cell (kubectl 1.28+). */
static void pvc_row(struct table *t, struct json_object *pvc, int wide, time_t now)
{
	cell_path(t, pvc, "metadata.name");
	table_cell(t, text_phase(pvc));
	cell_path(t, pvc, "spec.volumeName");
	cell_quantity(t, pvc, "status.capacity.storage");
	cell_modes(t, pvc, "status.accessModes");
	table_cell(t, json_path_str(pvc, "spec.storageClassName", "<unset>"));
	cell_age(t, pvc, now);
	if (wide)
		cell_path(t, pvc, "spec.volumeMode");
}

/* The API server fills reclaimPolicy and volumeBindingMode in; a class
 * stored without them still shows what they mean. */
static void sc_row(struct table *t, struct json_object *sc, int wide, time_t now)
{
	(void)wide;
	cell_class_name(t, sc, ANN_DEFAULT_SC);
	cell_path(t, sc, "provisioner");
	table_cell(t, json_path_str(sc, "reclaimPolicy", "Delete"));
	table_cell(t, json_path_str(sc, "volumeBindingMode", "Immediate"));
	table_cell(t, json_path_str(sc, "allowVolumeExpansion", "false"));
	cell_age(t, sc, now);
}

static void vsclass_row(struct table *t, struct json_object *c, int wide, time_t now)
{
	(void)wide;
	cell_class_name(t, c, ANN_DEFAULT_VSC);
	cell_path(t, c, "driver");
	cell_path(t, c, "deletionPolicy");
	cell_age(t, c, now);
}

/* SOURCEPVC is the claim; a snapshot of a bare volume shows pv/NAME. */
static void vs_row(struct table *t, struct json_object *vs, int wide, time_t now)
{
	const char *pvc = json_path_str(vs, "spec.source.persistentVolumeClaimName", NULL);
	const char *ctime = json_path_str(vs, "status.creationTime", NULL);
	char source[512], created[32] = "";

	(void)wide;
	if (pvc)
		snprintf(source, sizeof source, "%s", pvc);
	else
		text_snapshot_source(vs, source, sizeof source);
	if (ctime)
		human_age(ctime, now, created, sizeof created);
	cell_path(t, vs, "metadata.name");
	cell_path(t, vs, "status.readyToUse");
	table_cell(t, source);
	cell_path(t, vs, "spec.source.volumeSnapshotContentName");
	cell_quantity(t, vs, "status.restoreSize");
	cell_path(t, vs, "spec.volumeSnapshotClassName");
	cell_path(t, vs, "status.boundVolumeSnapshotContentName");
	table_cell(t, created);
	cell_age(t, vs, now);
}

/* RESTORESIZE in bytes, as the CRD's integer column prints it. */
static void vsc_row(struct table *t, struct json_object *c, int wide, time_t now)
{
	(void)wide;
	cell_path(t, c, "metadata.name");
	cell_path(t, c, "status.readyToUse");
	cell_path(t, c, "status.restoreSize");
	cell_path(t, c, "spec.deletionPolicy");
	cell_path(t, c, "spec.driver");
	cell_path(t, c, "spec.volumeSnapshotClassName");
	cell_path(t, c, "spec.volumeSnapshotRef.name");
	cell_path(t, c, "spec.volumeSnapshotRef.namespace");
	cell_age(t, c, now);
}

static void quota_row(struct table *t, struct json_object *q, int wide, time_t now)
{
	char pairs[2048];

	(void)wide;
	cell_path(t, q, "metadata.name");
	cell_age(t, q, now);
	text_quota_pairs(q, 0, pairs, sizeof pairs);
	table_cell(t, pairs);
	text_quota_pairs(q, 1, pairs, sizeof pairs);
	table_cell(t, pairs);
}

static void ns_row(struct table *t, struct json_object *ns, int wide, time_t now)
{
	const char *phase = text_phase(ns);

	(void)wide;
	cell_path(t, ns, "metadata.name");
	table_cell(t, *phase ? phase : "Active");
	cell_age(t, ns, now);
}

/* Containers are not run here: a pod's STATUS says whether its volumes are set up. */
static void pod_row(struct table *t, struct json_object *pod, int wide, time_t now)
{
	struct json_object *vols = json_path(pod, "spec.volumes");
	const char *phase = text_phase(pod);

	(void)wide;
	cell_path(t, pod, "metadata.name");
	table_cell(t, json_path(pod, "metadata.deletionTimestamp") ? "Terminating" : *phase ? phase : "Pending");
	table_cellf(t, "%zu", vols && json_object_is_type(vols, json_type_array) ? json_object_array_length(vols) : 0);
	cell_age(t, pod, now);
}

static void sts_row(struct table *t, struct json_object *sts, int wide, time_t now)
{
	struct json_object *ready = json_path(sts, "status.readyReplicas");
	struct json_object *want = json_path(sts, "spec.replicas");

	(void)wide;
	cell_path(t, sts, "metadata.name");
	table_cellf(t, "%d/%d", ready ? json_object_get_int(ready) : 0, want ? json_object_get_int(want) : 1);
	cell_age(t, sts, now);
}

/* snapscheduler's printer columns, and the last snapshot time. */
static void snapschedule_row(struct table *t, struct json_object *s, int wide, time_t now)
{
	struct json_object *max = json_path(s, "spec.retention.maxCount");
	struct json_object *disabled = json_path(s, "spec.disabled");

	(void)wide;
	(void)now;
	cell_path(t, s, "metadata.name");
	cell_path(t, s, "spec.schedule");
	cell_path(t, s, "spec.retention.expires");
	if (max)
		table_cellf(t, "%lld", (long long)json_object_get_int64(max));
	else
		table_cell(t, "");
	table_cell(t, disabled && json_object_get_boolean(disabled) ? "true" : "false");
	cell_path(t, s, "status.nextSnapshotTime");
	cell_path(t, s, "status.lastSnapshotTime");
}

static size_t map_size(struct json_object *o, const char *path)
{
	struct json_object *m = json_path(o, path);

	return m && json_object_is_type(m, json_type_object) ? (size_t)json_object_object_length(m) : 0;
}

/* DATA counts the entries, text and binary. */
static void cm_row(struct table *t, struct json_object *cm, int wide, time_t now)
{
	(void)wide;
	cell_path(t, cm, "metadata.name");
	table_cellf(t, "%zu", map_size(cm, "data") + map_size(cm, "binaryData"));
	cell_age(t, cm, now);
}

static void secret_row(struct table *t, struct json_object *s, int wide, time_t now)
{
	(void)wide;
	cell_path(t, s, "metadata.name");
	table_cell(t, json_path_str(s, "type", "Opaque"));
	table_cellf(t, "%zu", map_size(s, "data"));
	cell_age(t, s, now);
}

static void deploy_row(struct table *t, struct json_object *d, int wide, time_t now)
{
	struct json_object *ready = json_path(d, "status.readyReplicas"), *want = json_path(d, "spec.replicas");

	(void)wide;
	cell_path(t, d, "metadata.name");
	table_cellf(t, "%d/%d", ready ? json_object_get_int(ready) : 0, want ? json_object_get_int(want) : 1);
	table_cell(t, json_path_str(d, "status.updatedReplicas", "0"));
	table_cell(t, json_path_str(d, "status.availableReplicas", "0"));
	cell_age(t, d, now);
}

/* LAST SEEN, TYPE, REASON, OBJECT, MESSAGE, as kubectl get events. */
static void event_row(struct table *t, struct json_object *ev, int wide, time_t now)
{
	const struct k8s_kind *k =
		k8s_kind_lookup(json_path_str(ev, "involvedObject.kind", ""), K8S_KIND_TYPED);
	char seen[32];

	(void)wide;
	human_age(json_path_str(ev, "lastTimestamp", ""), now, seen, sizeof seen);
	table_cell(t, seen);
	cell_path(t, ev, "type");
	cell_path(t, ev, "reason");
	table_cellf(t, "%s/%s", k ? k->singular : json_path_str(ev, "involvedObject.kind", ""),
		    json_path_str(ev, "involvedObject.name", ""));
	cell_path(t, ev, "message");
}

static void generic_row(struct table *t, struct json_object *o, int wide, time_t now)
{
	(void)wide;
	cell_path(t, o, "metadata.name");
	cell_age(t, o, now);
}

#define COLS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static const struct printer printers[] = {
	{ "PersistentVolume",
	  COLS("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM", "STORAGECLASS", "REASON",
	       "AGE"),
	  "VOLUMEMODE", pv_row },
	{ "PersistentVolumeClaim",
	  COLS("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS", "AGE"), "VOLUMEMODE",
	  pvc_row },
	{ "StorageClass",
	  COLS("NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE", "ALLOWVOLUMEEXPANSION", "AGE"), NULL,
	  sc_row },
	{ "VolumeSnapshotClass", COLS("NAME", "DRIVER", "DELETIONPOLICY", "AGE"), NULL, vsclass_row },
	{ "VolumeSnapshot",
	  COLS("NAME", "READYTOUSE", "SOURCEPVC", "SOURCESNAPSHOTCONTENT", "RESTORESIZE", "SNAPSHOTCLASS",
	       "SNAPSHOTCONTENT", "CREATIONTIME", "AGE"),
	  NULL, vs_row },
	{ "VolumeSnapshotContent",
	  COLS("NAME", "READYTOUSE", "RESTORESIZE", "DELETIONPOLICY", "DRIVER", "VOLUMESNAPSHOTCLASS",
	       "VOLUMESNAPSHOT", "VOLUMESNAPSHOTNAMESPACE", "AGE"),
	  NULL, vsc_row },
	{ "ResourceQuota", COLS("NAME", "AGE", "REQUEST", "LIMIT"), NULL, quota_row },
	{ "Namespace", COLS("NAME", "STATUS", "AGE"), NULL, ns_row },
	{ "Pod", COLS("NAME", "STATUS", "VOLUMES", "AGE"), NULL, pod_row },
	{ "StatefulSet", COLS("NAME", "READY", "AGE"), NULL, sts_row },
	{ "SnapshotSchedule",
	  COLS("NAME", "SCHEDULE", "MAX AGE", "MAX NUM", "DISABLED", "NEXT SNAPSHOT", "LAST SNAPSHOT"), NULL,
	  snapschedule_row },
	{ "ConfigMap", COLS("NAME", "DATA", "AGE"), NULL, cm_row },
	{ "Secret", COLS("NAME", "TYPE", "DATA", "AGE"), NULL, secret_row },
	{ "Deployment", COLS("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"), NULL, deploy_row },
	{ "Event", COLS("LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"), NULL, event_row },
};

static const struct printer generic = { NULL, COLS("NAME", "AGE"), NULL, generic_row };

static const struct printer *printer_for(const char *kind)
{
	for (size_t i = 0; i < sizeof printers / sizeof printers[0]; i++)
		if (strcmp(printers[i].kind, kind) == 0)
			return &printers[i];
	return &generic;
}

/* "k=v,k2=v2" or <none>, as kubectl's --show-labels. */
static void cell_labels(struct table *t, struct json_object *o)
{
	struct json_object *labels = json_path(o, "metadata.labels");
	char buf[2048] = "";
	size_t len = 0;

	if (labels && json_object_is_type(labels, json_type_object)) {
		json_object_object_foreach(labels, key, val) {
			len += (size_t)snprintf(buf + len, len < sizeof buf ? sizeof buf - len : 0, "%s%s=%s",
						len ? "," : "", key, json_object_get_string(val));
			if (len >= sizeof buf)
				break;
		}
	}
	table_cell(t, *buf ? buf : "<none>");
}

/* The object as a row shows it: KIND/NAME when several kinds are listed. */
static struct json_object *row_object(const struct k8s_kind *k, struct json_object *o, int kind_prefix)
{
	struct json_object *copy = NULL, *meta;
	char type[128], name[512];

	if (!kind_prefix || json_object_deep_copy(o, &copy, NULL) != 0)
		return json_object_get(o);
	k8s_kind_qualified(k, type, sizeof type);
	snprintf(name, sizeof name, "%s/%s", type, json_path_str(o, "metadata.name", ""));
	if (json_object_object_get_ex(copy, "metadata", &meta))
		json_object_object_add(meta, "name", json_object_new_string(name));
	return copy;
}

void tables_print(FILE *f, const struct k8s_kind *k, struct json_object *items, const struct get_view *view,
		  time_t now)
{
	const struct printer *p = printer_for(k->kind);
	size_t ncols = 0, n = json_object_array_length(items);
	int ns_col = view->all_namespaces && k->namespaced;
	int wide = view->fmt == OUTPUT_WIDE && p->wide;
	struct table *t;

	while (p->head[ncols])
		ncols++;
	t = table_new(ncols + (size_t)wide + (size_t)ns_col + (size_t)!!view->show_labels);
	if (ns_col)
		table_cell(t, "NAMESPACE");
	for (size_t i = 0; i < ncols; i++)
		table_cell(t, p->head[i]);
	if (wide)
		table_cell(t, p->wide);
	if (view->show_labels)
		table_cell(t, "LABELS");
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = row_object(k, json_object_array_get_idx(items, i), view->kind_prefix);

		if (ns_col)
			cell_path(t, o, "metadata.namespace");
		p->row(t, o, wide, now);
		if (view->show_labels)
			cell_labels(t, o);
		json_object_put(o);
	}
	if (view->no_headers)
		table_drop_header(t);
	table_print(t, f, "", TABLE_GET_MINWIDTH, TABLE_GET_PADDING);
	table_free(t);
}

/* ------------------------------------------------------------------ */
/* df */

static void header_cells(struct table *t, const char *const *names)
{
	for (; *names; names++)
		table_cell(t, *names);
}

static void size_cell(struct table *t, struct json_object *o, const char *member)
{
	char buf[32];
	uint64_t b;

	if (json_path_bytes(o, member, &b) < 0) {
		table_cell(t, "-");
		return;
	}
	human_size(b, buf, sizeof buf);
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

void tables_print_df(FILE *f, struct json_object *items)
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
	table_print(t, f, "", TABLE_GET_MINWIDTH, TABLE_GET_PADDING);
	table_free(t);
}
