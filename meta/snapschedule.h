/*
 * meta/snapschedule.h — the rules of SnapshotSchedule objects
 * (snapscheduler.backube/v1, as the snapscheduler operator has them):
 * validation, when a schedule is due, the names and labels of the
 * snapshots it takes, and which of them its retention expires. Pure
 * functions; fs/control/ctl_schedules.c acts on them.
 */
#ifndef VOLFS_META_SNAPSCHEDULE_H
#define VOLFS_META_SNAPSCHEDULE_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define SNAPSCHEDULE_API "snapscheduler.backube/v1"
/* The label every snapshot a schedule takes carries: the schedule's name. */
#define SNAPSCHEDULE_LABEL "snapscheduler.backube/schedule"

/* spec.schedule (cron), spec.claimSelector, spec.retention.maxCount (>= 1),
 * spec.retention.expires (a positive Go duration), spec.disabled (bool),
 * spec.snapshotTemplate.labels and .snapshotClassName. 0 or -EINVAL with
 * a one-line reason naming the field. */
int snapschedule_validate(json_object *sched, char *err, size_t errlen);

/* The firing to act on at `now`: the last one after `since` (exclusive)
 * and at or before now, so that several missed while the daemon was down
 * are taken once. -1 if none is due (or the schedule is invalid). */
int64_t snapschedule_due(json_object *sched, int64_t since, int64_t now);
/* The first firing after now, -1 if none. */
int64_t snapschedule_next(json_object *sched, int64_t now);

/* "<claim>-<schedule>-<YYYYMMDDHHMM>" of the firing t in UTC. 0, or
 * -ENAMETOOLONG if it would not fit len. */
int snapschedule_snapshot_name(const char *claim, const char *schedule, int64_t t, char *buf,
                               size_t len);

/* The body of a VolumeSnapshot of claim that the schedule takes: its
 * labels (the template's and the schedule label) and its class. New
 * reference. */
json_object *snapschedule_snapshot(json_object *sched, const char *claim);

/* Whether a snapshot the schedule took at `taken` expires at now: older
 * than spec.retention.expires, or not among the newest maxCount of its
 * claim (`newer`: how many of the claim's snapshots by this schedule are
 * newer). */
int snapschedule_expired(json_object *sched, int64_t taken, size_t newer, int64_t now);

/* RFC 3339 UTC timestamp ("2026-12-06T07:00:00Z") to unix time; -1 if it
 * is not one. */
int64_t snapschedule_parse_time(const char *s);

#endif
