/*
 * fs/control/ctl_schedules.c — the SnapshotSchedule controller, as the
 * snapscheduler operator does it: at each firing of a schedule's cron
 * (UTC) it creates a VolumeSnapshot of every claim of its namespace that
 * the claimSelector matches, named <claim>-<schedule>-<YYYYMMDDHHMM> and
 * labelled with the schedule (the snapshot controller then takes it); a
 * firing missed while the daemon was down is taken once, at start; its
 * retention expires the oldest snapshots it made; status says the last and
 * next firing. The rules are meta/snapschedule.c's; the control thread
 * wakes up for the next firing (schedules_next_wakeup). Part of the
 * controller loop of fs/control/controller.c.
 */
#include "fs/control/controller_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fs/control/api.h"
#include "fs/control/controller.h"
#include "meta/k8s.h"
#include "meta/objects.h"
#include "meta/selector.h"
#include "meta/snapschedule.h"

/* The controller's clock. A test build (VOLFS_TEST_HOOKS) adds
 * VOLFS_TEST_CLOCK_OFFSET seconds, so that tests can run schedules "later"
 * without waiting for real minutes to pass. */
static int64_t schedule_now(void)
{
	int64_t now = (int64_t)time(NULL);
#ifdef VOLFS_TEST_HOOKS
	const char *off = getenv("VOLFS_TEST_CLOCK_OFFSET");
	if (off)
		now += strtoll(off, NULL, 10);
#endif
	return now;
}

static int disabled(json_object *sched)
{
	json_object *d = jpath_get(sched, "spec.disabled");
	return d && json_object_get_boolean(d);
}

static int set_time(json_object *o, const char *path, int64_t t)
{
	char ts[32];
	rfc3339(t, ts, sizeof ts);
	return ctl_set_str(o, path, ts);
}

static int claim_selected(json_object *sched, json_object *pvc)
{
	return !ctl_is_gone(pvc) && !ctl_deleting(pvc) && !strcmp(ctl_ns_of(pvc), ctl_ns_of(sched)) &&
	       selector_matches(jpath_get(sched, "spec.claimSelector"), jpath_get(pvc, "metadata.labels"));
}

/* Create the VolumeSnapshot of one claim for firing t. 1 if created. */
static int snapshot_claim(struct ctl *c, json_object *sched, const char *claim, int64_t t)
{
	char name[512], err[1024] = "";
	if (snapschedule_snapshot_name(claim, ctl_name_of(sched), t, name, sizeof name) < 0 ||
	    strlen(name) > 253) {
		ctl_event(c, sched, "Warning", "SnapshotFailed", "the snapshot name of claim %s at %s is "
		          "longer than 253 characters", claim, name + strlen(name) - 12);
		return 0;
	}
	if (ctl_find(c->vss, ctl_ns_of(sched), name))
		return 0; /* taken already (a restart between creating and recording) */
	json_object *vs = snapschedule_snapshot(sched, claim);
	jpath_set_str(vs, "metadata.name", name);
	jpath_set_str(vs, "metadata.namespace", ctl_ns_of(sched));
	json_object *one = json_object_new_array();
	json_object_array_add(one, vs);
	int r = api_store(c->v, one, ctl_ns_of(sched), err, sizeof err);
	json_object_put(one);
	if (r < 0) {
		ctl_event(c, sched, "Warning", "SnapshotFailed", "create volumesnapshot %s failed: %s",
		          name, err);
		return 0;
	}
	db_lock(c->db);
	json_object *stored = kobj_get(c->db, "VolumeSnapshot", ctl_ns_of(sched), name, NULL);
	db_unlock(c->db);
	if (stored)
		json_object_array_add(c->vss, stored);
	ctl_event(c, sched, "Normal", "SnapshotCreated", "created volumesnapshot %s of claim %s", name,
	          claim);
	return 1;
}

static int take_firing(struct ctl *c, json_object *sched, int64_t t)
{
	int changed = 0;
	for (size_t i = 0; i < json_object_array_length(c->pvcs); i++) {
		json_object *pvc = json_object_array_get_idx(c->pvcs, i);
		if (claim_selected(sched, pvc))
			changed |= snapshot_claim(c, sched, ctl_name_of(pvc), t);
	}
	return changed;
}

/* The firing a scheduled snapshot was taken for: its name's last 12
 * digits (YYYYMMDDHHMM, UTC); -1 if it has none. */
static int64_t firing_of(const char *name)
{
	size_t n = strlen(name);
	if (n < 13 || name[n - 13] != '-' || strspn(name + n - 12, "0123456789") != 12)
		return -1;
	struct tm tm = {0};
	if (!strptime(name + n - 12, "%Y%m%d%H%M", &tm))
		return -1;
	return (int64_t)timegm(&tm);
}

struct taken {
	json_object *vs;
	int64_t t;
};

static int newest_first(const void *a, const void *b)
{
	int64_t x = ((const struct taken *)a)->t, y = ((const struct taken *)b)->t;
	return x > y ? -1 : x < y;
}

/* The live snapshots this schedule made of claim, newest first; *n gets
 * how many. Caller frees. */
static struct taken *taken_of(struct ctl *c, json_object *sched, const char *claim, size_t *n)
{
	size_t cap = json_object_array_length(c->vss);
	struct taken *v = calloc(cap ? cap : 1, sizeof *v);
	*n = 0;
	for (size_t i = 0; v && i < cap; i++) {
		json_object *vs = json_object_array_get_idx(c->vss, i);
		json_object *labels = jpath_get(vs, "metadata.labels"), *by = NULL;
		if (ctl_is_gone(vs) || ctl_deleting(vs) || strcmp(ctl_ns_of(vs), ctl_ns_of(sched)) ||
		    !labels || !json_object_object_get_ex(labels, SNAPSCHEDULE_LABEL, &by) ||
		    strcmp(json_object_get_string(by), ctl_name_of(sched)))
			continue;
		const char *src = jpath_str(vs, "spec.source.persistentVolumeClaimName");
		int64_t t = firing_of(ctl_name_of(vs));
		if (src && !strcmp(src, claim) && t >= 0)
			v[(*n)++] = (struct taken){vs, t};
	}
	if (v && *n)
		qsort(v, *n, sizeof *v, newest_first);
	return v;
}

/* Retention: delete the snapshots of each claim past maxCount or expires. */
static int expire(struct ctl *c, json_object *sched, int64_t now)
{
	if (!jpath_get(sched, "spec.retention"))
		return 0;
	int changed = 0;
	for (size_t i = 0; i < json_object_array_length(c->pvcs); i++) {
		json_object *pvc = json_object_array_get_idx(c->pvcs, i);
		if (ctl_is_gone(pvc) || strcmp(ctl_ns_of(pvc), ctl_ns_of(sched)))
			continue;
		size_t n;
		struct taken *v = taken_of(c, sched, ctl_name_of(pvc), &n);
		for (size_t k = 0; v && k < n; k++) {
			if (!snapschedule_expired(sched, v[k].t, k, now))
				continue;
			json_object *before = ctl_copy(v[k].vs);
			ctl_mark_deleting(v[k].vs);
			changed |= ctl_save_if_changed(c, before, v[k].vs);
			ctl_event(c, sched, "Normal", "SnapshotExpired", "deleted volumesnapshot %s "
			          "(retention)", ctl_name_of(v[k].vs));
		}
		free(v);
	}
	return changed;
}

int ctl_schedule_step(struct ctl *c, json_object *sched)
{
	int64_t now = schedule_now();
	const char *last = jpath_str(sched, "status.lastSnapshotTime");
	int64_t since = snapschedule_parse_time(last ? last : jpath_str(sched, "metadata.creationTimestamp"));
	int changed = 0;
	if (!disabled(sched) && since >= 0) {
		int64_t due = snapschedule_due(sched, since, now);
		if (due >= 0) {
			changed |= take_firing(c, sched, due);
			changed |= set_time(sched, "status.lastSnapshotTime", due);
		}
	}
	changed |= expire(c, sched, now);
	int64_t next = snapschedule_next(sched, now);
	if (next >= 0)
		changed |= set_time(sched, "status.nextSnapshotTime", next);
	return changed;
}

/* When the schedules could not be read: try again this soon. */
#define SCHEDULES_RETRY_MS 1000

int schedules_next_wakeup(struct vfs *v)
{
	struct db *db = vfs_db(v);
	db_lock(db);
	json_object *list = kobj_list(db, "SnapshotSchedule", NULL);
	db_unlock(db);
	if (!list)
		return SCHEDULES_RETRY_MS; /* unread is not "none enabled" */
	int64_t now = schedule_now(), soonest = -1;
	for (size_t i = 0; i < json_object_array_length(list); i++) {
		json_object *s = json_object_array_get_idx(list, i);
		/* the controller's own record of the next firing, so that one
		 * it has not acted on yet is due (0) until it has */
		int64_t next = snapschedule_parse_time(jpath_str(s, "status.nextSnapshotTime"));
		if (!disabled(s) && next >= 0 && (soonest < 0 || next < soonest))
			soonest = next;
	}
	json_object_put(list);
	if (soonest < 0)
		return -1;
	if (soonest <= now)
		return 0;
	int64_t ms = (soonest - now) * 1000;
	return ms > 3600 * 1000 ? 3600 * 1000 : (int)ms;
}
