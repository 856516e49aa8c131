/*
 * meta/cron.h — cron schedules (the five fields of crontab(5): minute, hour,
 * day of month, month, day of week, and the @hourly ... @yearly shorthands)
 * and the next time one fires, always in UTC.
 */
#ifndef VOLFS_META_CRON_H
#define VOLFS_META_CRON_H

#include <stddef.h>
#include <stdint.h>

struct cron {
	uint64_t minute; /* bit m: minute m (0-59) */
	uint32_t hour;   /* bit h: hour h (0-23) */
	uint32_t dom;    /* bit d: day of month d (1-31) */
	uint16_t month;  /* bit m: month m (1-12) */
	uint8_t dow;     /* bit d: weekday d (0-6, 0 = Sunday; 7 reads as 0) */
	/* A field that starts with '*' does not restrict. When both day
	 * fields restrict, a day matches either (as cron does). */
	int dom_any, dow_any;
};

/* Parse a schedule. Numbers, names (jan-dec, sun-sat), '*', ranges a-b,
 * steps (*\/n, a-b/n, a/n) and comma lists. 0, or -EINVAL with a one-line
 * reason in err. */
int cron_parse(const char *spec, struct cron *c, char *err, size_t errlen);

/* The first minute strictly after `after` (seconds since the epoch, UTC)
 * at which the schedule fires, or -1 if it never does (30 February). */
int64_t cron_next(const struct cron *c, int64_t after);

/* The last firing at or before `at`, but not before `since`; -1 if none. */
int64_t cron_prev(const struct cron *c, int64_t since, int64_t at);

/* A Go duration ("168h", "1h30m", "90s", "1.5h"), as Kubernetes objects
 * spell them, in seconds (fractions of a second are dropped). 0 or
 * -EINVAL with a reason in err. */
int go_duration_parse(const char *s, int64_t *seconds, char *err, size_t errlen);

#endif
