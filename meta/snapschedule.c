/*
 * meta/snapschedule.c — SnapshotSchedule rules (see snapschedule.h): the
 * spec's fields checked at apply, with cron and Go durations from
 * meta/cron.c and label selectors from meta/selector.c; due and next
 * firings; names, labels and expiry of the snapshots a schedule takes.
 */
#include "meta/snapschedule.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "meta/cron.h"
#include "meta/field_error.h"
#include "meta/jsonobj.h"
#include "meta/names.h"
#include "meta/selector.h"

static int invalid(char *err, size_t errlen, const char *path, json_object *v, const char *why)
{
	char q[160];
	field_quote_value(v, q, sizeof q);
	snprintf(err, errlen, "%s: Invalid value: %s: %s", path, q, why);
	return -EINVAL;
}

static int is_type(json_object *v, json_type t)
{
	return v && json_object_is_type(v, t);
}

static int check_schedule(json_object *spec, char *err, size_t errlen)
{
	json_object *v = jpath_get(spec, "schedule");
	struct cron c;
	char why[256];
	if (!v) {
		snprintf(err, errlen, "spec.schedule: Required value");
		return -EINVAL;
	}
	if (!is_type(v, json_type_string))
		return invalid(err, errlen, "spec.schedule", v, "must be a string");
	if (cron_parse(json_object_get_string(v), &c, why, sizeof why) < 0)
		return invalid(err, errlen, "spec.schedule", v, why);
	if (cron_next(&c, 0) < 0)
		return invalid(err, errlen, "spec.schedule", v, "never fires");
	return 0;
}

static int check_retention(json_object *spec, char *err, size_t errlen)
{
	json_object *ret = jpath_get(spec, "retention"), *v;
	if (!ret)
		return 0;
	if (!is_type(ret, json_type_object))
		return invalid(err, errlen, "spec.retention", ret, "must be an object");
	if ((v = jpath_get(ret, "maxCount")) &&
	    (!is_type(v, json_type_int) || json_object_get_int64(v) < 1))
		return invalid(err, errlen, "spec.retention.maxCount", v, "must be an integer >= 1");
	if ((v = jpath_get(ret, "expires"))) {
		int64_t s;
		char why[256];
		if (!is_type(v, json_type_string))
			return invalid(err, errlen, "spec.retention.expires", v, "must be a string");
		if (go_duration_parse(json_object_get_string(v), &s, why, sizeof why) < 0)
			return invalid(err, errlen, "spec.retention.expires", v, why);
		if (s < 60)
			return invalid(err, errlen, "spec.retention.expires", v, "must be at least 1m");
	}
	return 0;
}

static int check_template(json_object *spec, char *err, size_t errlen)
{
	json_object *tpl = jpath_get(spec, "snapshotTemplate"), *v;
	if (!tpl)
		return 0;
	if (!is_type(tpl, json_type_object))
		return invalid(err, errlen, "spec.snapshotTemplate", tpl, "must be an object");
	if ((v = jpath_get(tpl, "snapshotClassName")) && !is_type(v, json_type_string))
		return invalid(err, errlen, "spec.snapshotTemplate.snapshotClassName", v, "must be a string");
	if (!(v = jpath_get(tpl, "labels")))
		return 0;
	if (!is_type(v, json_type_object))
		return invalid(err, errlen, "spec.snapshotTemplate.labels", v, "must be a map of strings");
	json_object_object_foreach(v, key, val) {
		const char *why = selector_key_problem(key);
		char path[400];
		snprintf(path, sizeof path, "spec.snapshotTemplate.labels[%s]", key);
		if (why) {
			snprintf(err, errlen, "spec.snapshotTemplate.labels: Invalid value: \"%s\": %s", key, why);
			return -EINVAL;
		}
		if (!is_type(val, json_type_string))
			return invalid(err, errlen, path, val, "must be a string");
		if ((why = selector_value_problem(json_object_get_string(val))))
			return invalid(err, errlen, path, val, why);
	}
	return 0;
}

int snapschedule_validate(json_object *sched, char *err, size_t errlen)
{
	json_object *spec = jpath_get(sched, "spec"), *v;
	int r;
	if (!spec) {
		snprintf(err, errlen, "spec: Required value");
		return -EINVAL;
	}
	if (!is_type(spec, json_type_object))
		return invalid(err, errlen, "spec", spec, "must be an object");
	if ((r = check_schedule(spec, err, errlen)) < 0 || (r = check_retention(spec, err, errlen)) < 0 ||
	    (r = check_template(spec, err, errlen)) < 0)
		return r;
	if ((v = jpath_get(spec, "disabled")) && !is_type(v, json_type_boolean))
		return invalid(err, errlen, "spec.disabled", v, "must be true or false");
	if ((v = jpath_get(spec, "claimSelector")) &&
	    selector_validate(v, "spec.claimSelector", err, errlen) < 0)
		return -EINVAL;
	return 0;
}

static int cron_of(json_object *sched, struct cron *c)
{
	char why[256];
	return cron_parse(jpath_str(sched, "spec.schedule"), c, why, sizeof why);
}

int64_t snapschedule_due(json_object *sched, int64_t since, int64_t now)
{
	struct cron c;
	return cron_of(sched, &c) < 0 ? -1 : cron_prev(&c, since + 1, now);
}

int64_t snapschedule_next(json_object *sched, int64_t now)
{
	struct cron c;
	return cron_of(sched, &c) < 0 ? -1 : cron_next(&c, now);
}

int snapschedule_snapshot_name(const char *claim, const char *schedule, int64_t t, char *buf,
                               size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	char stamp[32];
	gmtime_r(&tt, &tm);
	strftime(stamp, sizeof stamp, "%Y%m%d%H%M", &tm);
	int n = snprintf(buf, len, "%s-%s-%s", claim, schedule, stamp);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

json_object *snapschedule_snapshot(json_object *sched, const char *claim)
{
	json_object *vs = json_object_new_object();
	jpath_set_str(vs, "apiVersion", "snapshot.storage.k8s.io/v1");
	jpath_set_str(vs, "kind", "VolumeSnapshot");
	json_object *labels = json_object_new_object();
	json_object *tpl = jpath_get(sched, "spec.snapshotTemplate.labels");
	if (tpl) {
		json_object_object_foreach(tpl, key, val)
			json_object_object_add(labels, key, json_object_get(val));
	}
	json_object_object_add(labels, SNAPSCHEDULE_LABEL,
	                       json_object_new_string(jpath_str(sched, "metadata.name")));
	jpath_set(vs, "metadata.labels", labels);
	jpath_set_str(vs, "spec.source.persistentVolumeClaimName", claim);
	const char *cls = jpath_str(sched, "spec.snapshotTemplate.snapshotClassName");
	if (cls)
		jpath_set_str(vs, "spec.volumeSnapshotClassName", cls);
	return vs;
}

int snapschedule_expired(json_object *sched, int64_t taken, size_t newer, int64_t now)
{
	json_object *max = jpath_get(sched, "spec.retention.maxCount");
	if (max && newer >= (size_t)json_object_get_int64(max))
		return 1;
	const char *expires = jpath_str(sched, "spec.retention.expires");
	int64_t s;
	char why[256];
	return expires && go_duration_parse(expires, &s, why, sizeof why) == 0 && taken + s < now;
}

int64_t snapschedule_parse_time(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end || strcmp(end, "Z"))
		return -1;
	return (int64_t)timegm(&tm);
}
