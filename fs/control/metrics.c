/*
 * fs/control/metrics.c — volfs's Prometheus text exposition (see
 * metrics.h): every volume's statfs numbers under kubelet's and volfs's
 * metric names, and the request and io_uring counters of fs/obs/counters.c.
 */
#include "fs/control/metrics.h"
#include "fs/control/localpath.h"

#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "fs/control/snapshot.h"
#include "fs/obs/counters.h"
#include "fs/obs/fuse_transport.h"
#include "fs/obs/writeback_cache.h"
#include "fs/control/volume.h"
#include "fs/store/store.h"
#include "fs/store/hostwrite.h"
#include "meta/db.h"
#include "meta/k8s.h"
#include "meta/version.h"

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
	json_object *pv = body ? json_tokener_parse(body) : NULL;
	const char *phase = pv ? jpath_str(pv, "status.phase") : NULL;
	/* A local-path-provisioner volume's claim lives in the cluster: its
	 * claimRef (fs/control/localpath.c) names it although nothing binds it here. */
	json_object *ann = pv ? jpath_get(pv, "metadata.annotations") : NULL;
	int local_path = ann && json_object_object_get_ex(ann, LOCALPATH_DIR_ANNOTATION, NULL);
	if (((phase && !strcmp(phase, "Bound")) || local_path) && jpath_str(pv, "spec.claimRef.name")) {
		const char *ns = jpath_str(pv, "spec.claimRef.namespace");
		r->claim_ns = strdup(ns ? ns : "default");
		r->claim = dup_or_null(jpath_str(pv, "spec.claimRef.name"));
	}
	json_object_put(pv);
}

/* Volumes listed per hold of the db lock: the metrics of thousands of
 * volumes must not make an fsync wait for all of them. */
#define VOLUME_PAGE 64

/* The next page of volumes after the name `after` (updated to the last
 * one read) into out, their bodies to be read outside the lock: the rows
 * read, or -1 when out of memory. The namespace ('': volumes are not
 * namespaced) lets the (kind, namespace, name) index give the order, so a
 * page reads only its own rows. db locked. */
static long volume_page(struct db *db, char *after, size_t len, struct vol_rows *out,
                        size_t *cap, char **bodies)
{
	if (out->n + VOLUME_PAGE > *cap) {
		size_t bigger = *cap ? 2 * *cap : 4 * VOLUME_PAGE;
		struct vol_row *grown = realloc(out->rows, bigger * sizeof *grown);
		if (!grown)
			return -1;
		out->rows = grown;
		*cap = bigger;
	}
	sqlite3_stmt *st = db_prep(db, "SELECT o.name, o.body, o.tree, (SELECT count(*) FROM trees s "
	                               "WHERE s.origin=o.tree AND s.kind='snapshot') FROM objects o "
	                               "WHERE o.kind='" KIND_PV "' AND o.namespace='' AND o.tree IS NOT NULL "
	                               "AND o.name > ? ORDER BY o.name LIMIT ?");
	sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, VOLUME_PAGE);
	long n = 0;
	for (; sqlite3_step(st) == SQLITE_ROW; n++) {
		assert(n < VOLUME_PAGE && out->n < *cap);
		struct vol_row *r = &out->rows[out->n];
		const char *body = (const char *)sqlite3_column_text(st, 1);
		memset(r, 0, sizeof *r);
		r->name = strdup((const char *)sqlite3_column_text(st, 0));
		bodies[n] = body ? strdup(body) : NULL;
		r->tree = (uint64_t)sqlite3_column_int64(st, 2);
		r->snapshots = (uint64_t)sqlite3_column_int64(st, 3);
		snprintf(after, len, "%s", r->name ? r->name : "");
		out->n++;
	}
	db_finish(st);
	return n;
}

static void collect_volumes(struct vfs *v, struct vol_rows *out)
{
	struct db *db = vfs_db(v);
	size_t cap = 0;
	char after[256] = "", *bodies[VOLUME_PAGE];
	long n;
	do {
		db_lock(db);
		n = volume_page(db, after, sizeof after, out, &cap, bodies);
		db_unlock(db);
		for (long i = 0; i < n; i++) {
			read_claim(&out->rows[out->n - (size_t)n + (size_t)i], bodies[i]);
			free(bodies[i]);
		}
	} while (n == VOLUME_PAGE);
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

/* The transport in use, and what each has delivered: requests keep coming
 * through /dev/fuse with the rings (FORGET, INTERRUPT, and all until
 * every CPU's queue is served). */
static void render_fuse_transport(FILE *f)
{
	family(f, "volfs_fuse_transport", "gauge",
	       "How FUSE requests reach volfs (dev: /dev/fuse, uring: io_uring queues); always 1.");
	fprintf(f, "volfs_fuse_transport{transport=\"%s\"} 1\n",
	        fuse_transport_name(fuse_transport_current()));
	family(f, "volfs_fuse_transport_requests_total", "counter",
	       "FUSE requests received, by the transport that delivered them.");
	for (int t = 0; t < FUSE_TRANSPORTS; t++)
		fprintf(f, "volfs_fuse_transport_requests_total{transport=\"%s\"} %llu\n",
		        fuse_transport_name(t), (unsigned long long)fuse_transport_requests(t));
	family(f, "volfs_fuse_writeback_cache", "gauge",
	       "1 when the kernel caches writes (volfs --writeback-cache), 0 otherwise.");
	fprintf(f, "volfs_fuse_writeback_cache %d\n", writeback_cache_on());
}

static void render_fuse(FILE *f)
{
	struct counters_op_stats st[COUNTERS_OP_COUNT];
	uint64_t totals[COUNTERS_OP_COUNT];
	for (int op = 0; op < COUNTERS_OP_COUNT; op++)
		counters_fuse_read(op, &st[op]);
	family(f, "volfs_fuse_request_duration_seconds", "histogram",
	       "Time volfs took to serve a FUSE request, by operation.");
	for (int op = 0; op < COUNTERS_OP_COUNT; op++) {
		const char *name = counters_op_name(op);
		uint64_t cum = 0;
		for (size_t b = 0; b <= COUNTERS_NBUCKETS; b++) {
			cum += st[op].buckets[b];
			if (b < COUNTERS_NBUCKETS)
				fprintf(f, "volfs_fuse_request_duration_seconds_bucket{op=\"%s\",le=\"%g\"} %llu\n",
				        name, (double)counters_bucket_ns[b] / 1e9, (unsigned long long)cum);
			else
				fprintf(f, "volfs_fuse_request_duration_seconds_bucket{op=\"%s\",le=\"+Inf\"} %llu\n",
				        name, (unsigned long long)cum);
		}
		totals[op] = cum;
		fprintf(f, "volfs_fuse_request_duration_seconds_sum{op=\"%s\"} %.9f\n", name,
		        (double)st[op].sum_ns / 1e9);
		fprintf(f, "volfs_fuse_request_duration_seconds_count{op=\"%s\"} %llu\n", name,
		        (unsigned long long)cum);
	}
	family(f, "volfs_fuse_requests_total", "counter", "FUSE requests served, by operation.");
	for (int op = 0; op < COUNTERS_OP_COUNT; op++)
		fprintf(f, "volfs_fuse_requests_total{op=\"%s\"} %llu\n", counters_op_name(op),
		        (unsigned long long)totals[op]);
	family(f, "volfs_fuse_request_errors_total", "counter",
	       "FUSE requests answered with an error, by operation.");
	for (int op = 0; op < COUNTERS_OP_COUNT; op++)
		fprintf(f, "volfs_fuse_request_errors_total{op=\"%s\"} %llu\n", counters_op_name(op),
		        (unsigned long long)st[op].errors);
}

static void render_uring(FILE *f)
{
	uint64_t sub, done;
	counters_uring_read(&sub, &done);
	family(f, "volfs_uring_sqes_submitted_total", "counter", "io_uring submission queue entries submitted.");
	fprintf(f, "volfs_uring_sqes_submitted_total %llu\n", (unsigned long long)sub);
	family(f, "volfs_uring_sqes_completed_total", "counter", "io_uring operations completed.");
	fprintf(f, "volfs_uring_sqes_completed_total %llu\n", (unsigned long long)done);
	family(f, "volfs_uring_sqes_in_flight", "gauge", "io_uring operations submitted and not yet completed.");
	fprintf(f, "volfs_uring_sqes_in_flight %llu\n", (unsigned long long)(sub > done ? sub - done : 0));
	family(f, "volfs_reads_deferred_total", "counter",
	       "Reads whose host bytes were not in the page cache, finished by the reader thread.");
	fprintf(f, "volfs_reads_deferred_total %llu\n", (unsigned long long)counters_reads_deferred());
	family(f, "volfs_reads_cold_inline_total", "counter",
	       "Reads whose host bytes were not in the page cache, read by the FUSE worker that took them "
	       "(--cold-read-workers).");
	fprintf(f, "volfs_reads_cold_inline_total %llu\n", (unsigned long long)counters_reads_cold_here());
}

static void render_host_flushes(FILE *f)
{
	family(f, "volfs_host_flushes_total", "counter",
	       "Host device flushes asked for, by file: data (a data file's fsync or fdatasync) "
	       "or wal (meta.db's write-ahead log).");
	fprintf(f, "volfs_host_flushes_total{file=\"data\"} %llu\n",
	        (unsigned long long)counters_host_flushes(COUNTERS_FLUSH_DATA));
	fprintf(f, "volfs_host_flushes_total{file=\"wal\"} %llu\n",
	        (unsigned long long)counters_host_flushes(COUNTERS_FLUSH_WAL));
}

/* A histogram of durations: counts[nbounds + 1] per bucket (the last
 * above every bound), bounds in nanoseconds, rendered cumulative in
 * seconds as Prometheus wants. */
static void render_histogram(FILE *f, const char *name, const uint64_t *counts,
                             const uint64_t *bounds_ns, size_t nbounds, uint64_t sum_ns)
{
	uint64_t cum = 0;
	for (size_t b = 0; b <= nbounds; b++) {
		cum += counts[b];
		if (b < nbounds)
			fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, (double)bounds_ns[b] / 1e9,
			        (unsigned long long)cum);
		else
			fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
	}
	fprintf(f, "%s_sum %.9f\n", name, (double)sum_ns / 1e9);
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)cum);
}

/* A duration histogram PREFIX_seconds with help, and its gauge
 * PREFIX_max_seconds: the longest since the daemon started. */
static void render_durations(FILE *f, const char *prefix, const char *help, const uint64_t *counts,
                             const uint64_t *bounds_ns, size_t nbounds, uint64_t sum_ns,
                             uint64_t max_ns)
{
	char name[96], max_name[96];
	snprintf(name, sizeof name, "%s_seconds", prefix);
	snprintf(max_name, sizeof max_name, "%s_max_seconds", prefix);
	family(f, name, "histogram", help);
	render_histogram(f, name, counts, bounds_ns, nbounds, sum_ns);
	family(f, max_name, "gauge", "The longest of those since the daemon started.");
	fprintf(f, "%s %.9f\n", max_name, (double)max_ns / 1e9);
}

/* Every change, commit and read of meta.db holds one lock, the one the
 * data path's group commit and fsync need too: its hold times say how
 * long an fsync can wait behind the control plane. */
static void render_db_lock(FILE *f, struct db *db)
{
	struct db_hold_stats h;
	db_hold_stats_read(db, &h);
	render_durations(f, "volfs_db_lock_hold",
	                 "How long the metadata database's lock was held, each time it was taken.",
	                 h.buckets, db_hold_bucket_ns, DB_HOLD_NBUCKETS, h.sum_ns, h.max_ns);
	family(f, "volfs_db_group_commit_max_changes", "gauge",
	       "The most row changes one group commit of the metadata database wrote, since the "
	       "daemon started (its cost falls on whoever commits the group, often an fsync).");
	fprintf(f, "volfs_db_group_commit_max_changes %llu\n",
	        (unsigned long long)__atomic_load_n(&db->group_changes_max, __ATOMIC_RELAXED));
	struct db_page_cache_stats pc;
	db_page_cache_stats(db, &pc);
	family(f, "volfs_db_page_cache_hits_total", "counter",
	       "Metadata database pages found in SQLite's page cache.");
	fprintf(f, "volfs_db_page_cache_hits_total %llu\n", (unsigned long long)pc.hits);
	family(f, "volfs_db_page_cache_misses_total", "counter",
	       "Metadata database pages SQLite read from meta.db or its WAL (not in its page "
	       "cache; the kernel's may still hold them).");
	fprintf(f, "volfs_db_page_cache_misses_total %llu\n", (unsigned long long)pc.misses);
}

/* Which code holds the lock long: each call site of db_lock, one family
 * a member of struct db_lock_site (seconds when scale is 1e9). The CPU
 * families count only when the daemon runs with VOLFS_TRACE_SLOW. */
static const struct site_family {
	const char *name, *type, *help;
	size_t off;
	double scale;
} site_families[] = {
	{ "volfs_db_lock_site_holds_total", "counter",
	  "Holds of the metadata database's lock, by where it was taken.",
	  offsetof(struct db_lock_site, holds), 1 },
	{ "volfs_db_lock_site_long_holds_total", "counter",
	  "Holds over 5 ms of wall-clock time, by where the lock was taken.",
	  offsetof(struct db_lock_site, long_holds), 1 },
	{ "volfs_db_lock_site_max_seconds", "gauge", "The longest hold, by where the lock was taken.",
	  offsetof(struct db_lock_site, max_wall_ns), 1e9 },
	{ "volfs_db_lock_site_max_rows", "gauge",
	  "The most rows of meta.db one hold changed, by where the lock was taken.",
	  offsetof(struct db_lock_site, max_rows), 1 },
	{ "volfs_db_lock_site_cpu_seconds_total", "counter",
	  "CPU time of the holding thread in its holds, by where the lock was taken "
	  "(with VOLFS_TRACE_SLOW only).",
	  offsetof(struct db_lock_site, cpu_ns), 1e9 },
	{ "volfs_db_lock_site_max_cpu_seconds", "gauge",
	  "The most CPU time of one hold, by where the lock was taken (with VOLFS_TRACE_SLOW only).",
	  offsetof(struct db_lock_site, max_cpu_ns), 1e9 },
	{ "volfs_db_lock_site_long_cpu_holds_total", "counter",
	  "Holds over 5 ms of CPU time, by where the lock was taken (with VOLFS_TRACE_SLOW only).",
	  offsetof(struct db_lock_site, long_cpu_holds), 1 },
};

/* One family: the member at fam->off of every site that held the lock. */
static void render_site_family(FILE *f, const struct site_family *fam)
{
	family(f, fam->name, fam->type, fam->help);
	for (struct db_lock_site *s = db_lock_sites(); s; s = s->next) {
		uint64_t v = __atomic_load_n((uint64_t *)((char *)s + fam->off), __ATOMIC_RELAXED);
		fprintf(f, "%s{function=\"%s\",site=\"%s:%d\"} ", fam->name, s->func, s->file, s->line);
		if (fam->scale == 1)
			fprintf(f, "%llu\n", (unsigned long long)v);
		else
			fprintf(f, "%.9f\n", (double)v / fam->scale);
	}
}

static void render_db_lock_sites(FILE *f)
{
	for (size_t i = 0; i < sizeof site_families / sizeof site_families[0]; i++)
		render_site_family(f, &site_families[i]);
}

/* A snapshot or clone closes its volume's write gate for one instant:
 * writers wait that long, so it must stay short whatever the volume
 * holds, with no commit or device flush behind it. */
static void render_freezes(FILE *f)
{
	struct counters_freeze_stats s;
	counters_freeze_read(&s);
	render_durations(f, "volfs_snapshot_freeze",
	                 "How long each freeze of a volume (a snapshot's or a clone's instant) held its "
	                 "writers.",
	                 s.buckets, counters_bucket_ns, COUNTERS_NBUCKETS, s.sum_ns, s.max_ns);
	family(f, "volfs_snapshot_freeze_cpu_seconds_total", "counter",
	       "CPU time the freezing thread used while writers were held.");
	fprintf(f, "volfs_snapshot_freeze_cpu_seconds_total %.9f\n", (double)s.cpu_ns / 1e9);
	family(f, "volfs_snapshot_freeze_work_total", "counter",
	       "Work done while writers were held: dirty inodes flushed, meta.db group commits "
	       "and host device flushes (the last two stay 0).");
	fprintf(f, "volfs_snapshot_freeze_work_total{work=\"inodes\"} %llu\n",
	        (unsigned long long)s.inodes);
	fprintf(f, "volfs_snapshot_freeze_work_total{work=\"commits\"} %llu\n",
	        (unsigned long long)s.commits);
	fprintf(f, "volfs_snapshot_freeze_work_total{work=\"flushes\"} %llu\n",
	        (unsigned long long)s.flushes);
}

static void render_host_files(FILE *f, struct vfs *v)
{
	size_t bound = 0, open_now = store_open_files(vfs_store(v), &bound);
	family(f, "volfs_host_files_open", "gauge", "Host files of data objects open now.");
	fprintf(f, "volfs_host_files_open %zu\n", open_now);
	family(f, "volfs_host_files_open_limit", "gauge",
	       "Host files kept open at most (least recently used closed first).");
	fprintf(f, "volfs_host_files_open_limit %zu\n", bound);
	family(f, "volfs_host_file_opens_total", "counter",
	       "Host files of data objects opened: a cold open of a file is one; a file "
	       "closed by the limit and used again is one more.");
	fprintf(f, "volfs_host_file_opens_total %llu\n",
	        (unsigned long long)store_host_opens(vfs_store(v)));
}

char *metrics_render(struct vfs *v, size_t *len)
{
	char *text = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&text, &n);
	if (!f)
		return NULL;
	/* The lock's counts first: what the requests before this one cost,
	 * not the holds of listing every volume below. */
	render_db_lock(f, vfs_db(v));
	render_db_lock_sites(f);
	struct vol_rows vr = {0};
	collect_volumes(v, &vr);
	render_kubelet_stats(f, &vr);
	render_volume_stats(f, &vr);
	free_volumes(&vr);
	render_fuse(f);
	render_uring(f);
	render_host_flushes(f);
	render_host_files(f, v);
	render_freezes(f);
	family(f, "volfs_host_write_engine", "gauge",
	       "How writes reach the data files (uring or pwrite) on their filesystem; always 1.");
	fprintf(f, "volfs_host_write_engine{engine=\"%s\",fstype=", host_write_engine());
	label_value(f, host_write_fstype());
	fprintf(f, "} 1\n");
	render_fuse_transport(f);
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
