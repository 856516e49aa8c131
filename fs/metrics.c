/*
 * fs/metrics.c — the counters behind volfs's Prometheus metrics and their
 * text exposition (see metrics.h). Each request kind's counters sit on
 * their own cache line and are bumped with relaxed atomic adds; the
 * exposition reads them without stopping anyone, so a scrape may see a
 * request counted in one family and not yet in another, never a torn value.
 */
#include "fs/metrics.h"
#include "fs/localpath.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "fs/snapshot.h"
#include "fs/volume.h"
#include "meta/db.h"
#include "meta/k8s.h"
#include "meta/version.h"

/* Upper bounds of the latency histogram, in nanoseconds (10 µs .. 10 s). */
static const uint64_t bucket_ns[] = {
	10000,     25000,     50000,      100000,     250000,     500000,    1000000,
	2500000,   5000000,   10000000,   25000000,   50000000,   100000000, 250000000,
	500000000, 1000000000, 2500000000, 10000000000,
};
#define NBUCKETS (sizeof bucket_ns / sizeof bucket_ns[0])

struct op_stats {
	uint64_t buckets[NBUCKETS + 1]; /* the last one: above every bound (+Inf) */
	uint64_t sum_ns;
	uint64_t errors;
} __attribute__((aligned(64)));

static struct op_stats op_stats[METRICS_OP_COUNT];
static uint64_t uring_submitted, uring_completed;

#define METRICS_OP_NAME(name) #name,
static const char *const op_names[] = {METRICS_FUSE_OPS(METRICS_OP_NAME)};
#undef METRICS_OP_NAME

uint64_t metrics_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void metrics_fuse_done(enum metrics_op op, uint64_t ns, int failed)
{
	struct op_stats *s = &op_stats[op];
	size_t b = 0;
	while (b < NBUCKETS && ns > bucket_ns[b])
		b++;
	__atomic_fetch_add(&s->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum_ns, ns, __ATOMIC_RELAXED);
	if (failed)
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
}

void metrics_uring_submitted(void)
{
	__atomic_fetch_add(&uring_submitted, 1, __ATOMIC_RELAXED);
}

void metrics_uring_completed(void)
{
	__atomic_fetch_add(&uring_completed, 1, __ATOMIC_RELAXED);
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A label value with backslash, quote and newline escaped. */
static void label_value(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

/* ---- volumes ---- */

struct vol_row {
	char *name, *claim_ns, *claim;
	uint64_t tree, snapshots, snapshot_bytes;
	struct statvfs sv;
};

struct vol_rows {
	struct vol_row *rows;
	size_t n;
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static void read_claim(struct vol_row *r, const char *body)
{
	json_object *pv = json_tokener_parse(body);
	const char *phase = pv ? k8s_str(pv, "status.phase") : NULL;
	/* A local-path-provisioner volume's claim lives in the cluster: its
	 * claimRef (fs/localpath.c) names it although nothing binds it here. */
	json_object *ann = pv ? k8s_get(pv, "metadata.annotations") : NULL;
	int local_path = ann && json_object_object_get_ex(ann, LOCALPATH_DIR_ANNOTATION, NULL);
	if (((phase && !strcmp(phase, "Bound")) || local_path) && k8s_str(pv, "spec.claimRef.name")) {
		const char *ns = k8s_str(pv, "spec.claimRef.namespace");
		r->claim_ns = strdup(ns ? ns : "default");
		r->claim = dup_or_null(k8s_str(pv, "spec.claimRef.name"));
	}
	json_object_put(pv);
}

static void collect_volumes(struct vfs *v, struct vol_rows *out)
{
	struct db *db = vfs_db(v);
	size_t cap = 0;
	db_lock(db);
	sqlite3_stmt *st = db_prep(db, "SELECT o.name, o.body, o.tree, (SELECT count(*) FROM trees s "
	                               "WHERE s.origin=o.tree AND s.kind='snapshot') FROM objects o "
	                               "WHERE o.kind='" KIND_PV "' AND o.tree IS NOT NULL ORDER BY o.name");
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (out->n == cap) {
			cap = cap ? 2 * cap : 16;
			struct vol_row *grown = realloc(out->rows, cap * sizeof *grown);
			if (!grown)
				break;
			out->rows = grown;
		}
		struct vol_row *r = &out->rows[out->n++];
		memset(r, 0, sizeof *r);
		r->name = strdup((const char *)sqlite3_column_text(st, 0));
		read_claim(r, (const char *)sqlite3_column_text(st, 1));
		r->tree = (uint64_t)sqlite3_column_int64(st, 2);
		r->snapshots = (uint64_t)sqlite3_column_int64(st, 3);
	}
	db_finish(st);
	db_unlock(db);
	/* Outside the db lock: statfs and the snapshot accounting take it. A
	 * volume deleted meanwhile is left out (statfs would describe the host). */
	size_t kept = 0;
	for (size_t i = 0; i < out->n; i++) {
		struct vol_row *r = &out->rows[i];
		if (!vfs_tree_get(v, r->tree) || vfs_statfs(v, VFS_INO(r->tree, 1), &r->sv) < 0) {
			free(r->name);
			free(r->claim_ns);
			free(r->claim);
			continue;
		}
		r->snapshot_bytes = snapshot_bytes_of_volume(v, r->tree);
		out->rows[kept++] = *r;
	}
	out->n = kept;
}

static void free_volumes(struct vol_rows *vr)
{
	for (size_t i = 0; i < vr->n; i++) {
		free(vr->rows[i].name);
		free(vr->rows[i].claim_ns);
		free(vr->rows[i].claim);
	}
	free(vr->rows);
}

/* The six numbers kubelet's volume stats carry, computed from statfs as
 * kubelet does (pkg/volume/util/fs): what `df` shows for the volume. */
enum stat_field { ST_CAPACITY, ST_AVAILABLE, ST_USED, ST_INODES, ST_INODES_FREE, ST_INODES_USED, ST_N };

static const struct {
	const char *suffix, *help;
} stat_fields[ST_N] = {
	{"capacity_bytes", "Capacity in bytes of the volume (statfs f_blocks * f_frsize)."},
	{"available_bytes", "Number of available bytes in the volume (statfs f_bavail * f_frsize)."},
	{"used_bytes", "Number of used bytes in the volume ((f_blocks - f_bfree) * f_frsize, as df)."},
	{"inodes", "Maximum number of inodes in the volume (statfs f_files)."},
	{"inodes_free", "Number of free inodes in the volume (statfs f_ffree)."},
	{"inodes_used", "Number of used inodes in the volume (f_files - f_ffree)."},
};

static uint64_t stat_value(const struct statvfs *sv, enum stat_field f)
{
	uint64_t bs = sv->f_frsize;
	switch (f) {
	case ST_CAPACITY: return (uint64_t)sv->f_blocks * bs;
	case ST_AVAILABLE: return (uint64_t)sv->f_bavail * bs;
	case ST_USED: return ((uint64_t)sv->f_blocks - sv->f_bfree) * bs;
	case ST_INODES: return sv->f_files;
	case ST_INODES_FREE: return sv->f_ffree;
	default: return (uint64_t)sv->f_files - sv->f_ffree;
	}
}

static void render_kubelet_stats(FILE *f, const struct vol_rows *vr)
{
	for (int k = 0; k < ST_N; k++) {
		char name[96];
		snprintf(name, sizeof name, "kubelet_volume_stats_%s", stat_fields[k].suffix);
		family(f, name, "gauge", stat_fields[k].help);
		for (size_t i = 0; i < vr->n; i++) {
			const struct vol_row *r = &vr->rows[i];
			if (!r->claim)
				continue;
			fprintf(f, "%s{namespace=", name);
			label_value(f, r->claim_ns);
			fputs(",persistentvolumeclaim=", f);
			label_value(f, r->claim);
			fprintf(f, "} %llu\n", (unsigned long long)stat_value(&r->sv, (enum stat_field)k));
		}
	}
}

static void volume_sample(FILE *f, const char *name, const struct vol_row *r, uint64_t value)
{
	fprintf(f, "%s{persistentvolume=", name);
	label_value(f, r->name);
	fprintf(f, "} %llu\n", (unsigned long long)value);
}

static void render_volume_stats(FILE *f, const struct vol_rows *vr)
{
	for (int k = 0; k < ST_N; k++) {
		char name[96];
		snprintf(name, sizeof name, "volfs_volume_%s", stat_fields[k].suffix);
		family(f, name, "gauge", stat_fields[k].help);
		for (size_t i = 0; i < vr->n; i++)
			volume_sample(f, name, &vr->rows[i], stat_value(&vr->rows[i].sv, (enum stat_field)k));
	}
	family(f, "volfs_volume_snapshot_bytes", "gauge",
	       "Bytes held only by the volume's snapshots (what deleting them all would free).");
	for (size_t i = 0; i < vr->n; i++)
		volume_sample(f, "volfs_volume_snapshot_bytes", &vr->rows[i], vr->rows[i].snapshot_bytes);
	family(f, "volfs_volume_snapshots", "gauge", "Number of snapshots taken of the volume that exist.");
	for (size_t i = 0; i < vr->n; i++)
		volume_sample(f, "volfs_volume_snapshots", &vr->rows[i], vr->rows[i].snapshots);
}

/* ---- requests ---- */

static void render_fuse(FILE *f)
{
	uint64_t totals[METRICS_OP_COUNT];
	family(f, "volfs_fuse_request_duration_seconds", "histogram",
	       "Time volfs took to serve a FUSE request, by operation.");
	for (int op = 0; op < METRICS_OP_COUNT; op++) {
		const struct op_stats *s = &op_stats[op];
		uint64_t cum = 0;
		for (size_t b = 0; b <= NBUCKETS; b++) {
			cum += load(&s->buckets[b]);
			if (b < NBUCKETS)
				fprintf(f, "volfs_fuse_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n",
				        op_names[op], (double)bucket_ns[b] / 1e9, (unsigned long long)cum);
			else
				fprintf(f, "volfs_fuse_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n",
				        op_names[op], (unsigned long long)cum);
		}
		totals[op] = cum;
		fprintf(f, "volfs_fuse_request_duration_seconds_sum{op=\"%s\"} %.9f\n", op_names[op],
		        (double)load(&s->sum_ns) / 1e9);
		fprintf(f, "volfs_fuse_request_duration_seconds_count{op=\"%s\"} %llu\n", op_names[op],
		        (unsigned long long)cum);
	}
	family(f, "volfs_fuse_requests_total", "counter", "FUSE requests served, by operation.");
	for (int op = 0; op < METRICS_OP_COUNT; op++)
		fprintf(f, "volfs_fuse_requests_total{op=\"%s\"} %llu\n", op_names[op],
		        (unsigned long long)totals[op]);
	family(f, "volfs_fuse_request_errors_total", "counter",
	       "FUSE requests answered with an error, by operation.");
	for (int op = 0; op < METRICS_OP_COUNT; op++)
		fprintf(f, "volfs_fuse_request_errors_total{op=\"%s\"} %llu\n", op_names[op],
		        (unsigned long long)load(&op_stats[op].errors));
}

static void render_uring(FILE *f)
{
	uint64_t done = load(&uring_completed), sub = load(&uring_submitted);
	family(f, "volfs_uring_sqes_submitted_total", "counter", "io_uring submission queue entries submitted.");
	fprintf(f, "volfs_uring_sqes_submitted_total %llu\n", (unsigned long long)sub);
	family(f, "volfs_uring_sqes_completed_total", "counter", "io_uring operations completed.");
	fprintf(f, "volfs_uring_sqes_completed_total %llu\n", (unsigned long long)done);
	family(f, "volfs_uring_sqes_in_flight", "gauge", "io_uring operations submitted and not yet completed.");
	fprintf(f, "volfs_uring_sqes_in_flight %llu\n", (unsigned long long)(sub > done ? sub - done : 0));
}

char *metrics_render(struct vfs *v, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (!f)
		return NULL;
	struct vol_rows vr = {0};
	collect_volumes(v, &vr);
	render_kubelet_stats(f, &vr);
	render_volume_stats(f, &vr);
	free_volumes(&vr);
	render_fuse(f);
	render_uring(f);
	family(f, "volfs_build_info", "gauge", "The volfs version, as a label; always 1.");
	fprintf(f, "volfs_build_info{version=");
	label_value(f, VOLFS_VERSION);
	fprintf(f, "} 1\n");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	*len = n;
	return text;
}
