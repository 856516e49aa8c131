/*
 * tests/unit/test_cron.c — cron_parse and cron_next: every field syntax,
 * the shorthands, next firings across hour, day, month, year and leap-year
 * boundaries, the day-of-month/day-of-week "either" rule, schedules that
 * never fire, the rejects and their messages; cron_prev for missed runs;
 * Go durations.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "tests/unit/unit.h"

#include "meta/cron.h"

/* "YYYY-MM-DD HH:MM" in UTC, as seconds since the epoch. */
static int64_t utc(const char *s)
{
	struct tm tm = {0};
	assert_non_null(strptime(s, "%Y-%m-%d %H:%M", &tm));
	return (int64_t)timegm(&tm);
}

static void expect_next(const char *spec, const char *after, const char *want)
{
	struct cron c;
	char err[256] = "";
	assert_int_equal(cron_parse(spec, &c, err, sizeof err), 0);
	int64_t got = cron_next(&c, utc(after));
	if (got != utc(want)) {
		char buf[32];
		time_t t = (time_t)got;
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm);
		fail_msg("%s after %s: got %s, want %s", spec, after, got < 0 ? "never" : buf, want);
	}
}

static void next_simple(void **state)
{
	(void)state;
	expect_next("* * * * *", "2026-12-06 07:10", "2026-12-06 07:11");
	expect_next("*/15 * * * *", "2026-12-06 07:10", "2026-12-06 07:15");
	expect_next("5 * * * *", "2026-12-06 07:05", "2026-12-06 08:05");
	expect_next("0 2 * * *", "2026-12-06 02:00", "2026-12-07 02:00");
	expect_next("0 2 * * *", "2026-12-06 01:59", "2026-12-06 02:00");
	expect_next("10-20/5 3 * * *", "2026-12-06 03:15", "2026-12-06 03:20");
	expect_next("10-20/5 3 * * *", "2026-12-06 03:20", "2026-12-07 03:10");
	expect_next("1,2,58 * * * *", "2026-12-06 07:02", "2026-12-06 07:58");
	expect_next("30/10 * * * *", "2026-12-06 07:51", "2026-12-06 08:30");
}

static void next_across_boundaries(void **state)
{
	(void)state;
	/* end of month, end of year */
	expect_next("0 0 1 * *", "2026-12-06 07:10", "2027-01-01 00:00");
	expect_next("59 23 31 * *", "2026-11-30 00:00", "2026-12-31 23:59");
	expect_next("0 0 31 * *", "2027-01-31 00:00", "2027-03-31 00:00");
	expect_next("@yearly", "2026-12-31 23:59", "2027-01-01 00:00");
	expect_next("0 12 * feb *", "2026-03-01 00:00", "2027-02-01 12:00");
	/* 29 February: next leap year */
	expect_next("0 0 29 2 *", "2026-12-06 07:10", "2028-02-29 00:00");
	expect_next("0 0 29 2 *", "2028-02-29 00:00", "2032-02-29 00:00");
	/* the last minute of a year to the first of the next */
	expect_next("* * * * *", "2026-12-31 23:59", "2027-01-01 00:00");
}

static void next_weekdays(void **state)
{
	(void)state;
	/* 2026-12-06 is a Sunday */
	expect_next("@weekly", "2026-12-06 00:00", "2026-12-13 00:00");
	expect_next("0 9 * * mon-fri", "2026-12-04 09:00", "2026-12-07 09:00");
	expect_next("0 9 * * 7", "2026-12-06 09:00", "2026-12-13 09:00");
	expect_next("0 9 * * SAT", "2026-12-06 09:00", "2026-12-12 09:00");
	/* both day fields restrict: either matches (1st of the month or a Friday) */
	expect_next("0 0 1 * 5", "2026-12-06 00:00", "2026-12-11 00:00");
	expect_next("0 0 1 * 5", "2026-12-25 00:00", "2027-01-01 00:00");
	/* a '*' day of month leaves the weekday alone to decide */
	expect_next("0 0 */1 * 5", "2026-12-06 00:00", "2026-12-11 00:00");
}

static void shorthands(void **state)
{
	(void)state;
	expect_next("@hourly", "2026-12-06 07:10", "2026-12-06 08:00");
	expect_next("@daily", "2026-12-06 07:10", "2026-12-07 00:00");
	expect_next("@midnight", "2026-12-06 07:10", "2026-12-07 00:00");
	expect_next("@monthly", "2026-12-06 07:10", "2027-01-01 00:00");
	expect_next("@annually", "2026-12-06 07:10", "2027-01-01 00:00");
}

static void never_fires(void **state)
{
	(void)state;
	struct cron c;
	char err[256];
	assert_int_equal(cron_parse("0 0 30 2 *", &c, err, sizeof err), 0);
	assert_int_equal(cron_next(&c, utc("2026-12-06 07:10")), -1);
	assert_int_equal(cron_parse("0 0 31 4,6,9,11 *", &c, err, sizeof err), 0);
	assert_int_equal(cron_next(&c, utc("2026-12-06 07:10")), -1);
}

static void expect_reject(const char *spec, const char *msg)
{
	struct cron c;
	char err[256] = "";
	assert_int_equal(cron_parse(spec, &c, err, sizeof err), -EINVAL);
	if (!strstr(err, msg))
		fail_msg("\"%s\": error \"%s\" lacks \"%s\"", spec, err, msg);
}

static void rejects(void **state)
{
	(void)state;
	expect_reject("", "no fields");
	expect_reject("* * * *", "fewer than 5");
	expect_reject("* * * * * *", "more than 5");
	expect_reject("60 * * * *", "minute field \"60\": value out of range (0-59)");
	expect_reject("* 24 * * *", "hour field \"24\"");
	expect_reject("* * 0 * *", "day of month field \"0\"");
	expect_reject("* * * 13 *", "month field \"13\"");
	expect_reject("* * * * 8", "day of week field \"8\": value out of range (0-6)");
	expect_reject("5-1 * * * *", "range ends before it starts");
	expect_reject("*/0 * * * *", "minute field \"*/0\"");
	expect_reject("*/ * * * *", "minute field");
	expect_reject("1,,2 * * * *", "minute field \"1,,2\"");
	expect_reject("a * * * *", "not a number");
	expect_reject("* * * foo *", "month field \"foo\"");
	expect_reject("* * * * monday", "day of week field \"monday\"");
	expect_reject("@often", "unknown schedule \"@often\"");
	expect_reject("-1 * * * *", "minute field");
	expect_reject("99999999999999999999 * * * *", "value out of range");
}

static void prev_finds_the_last_missed_run(void **state)
{
	(void)state;
	struct cron c;
	char err[256];
	assert_int_equal(cron_parse("0 * * * *", &c, err, sizeof err), 0);
	/* down from 07:10 to 10:30: 08:00, 09:00 and 10:00 missed; 10:00 is the last */
	assert_int_equal(cron_prev(&c, utc("2026-12-06 07:10"), utc("2026-12-06 10:30")),
	                 utc("2026-12-06 10:00"));
	/* exactly on a firing counts */
	assert_int_equal(cron_prev(&c, utc("2026-12-06 07:10"), utc("2026-12-06 08:00")),
	                 utc("2026-12-06 08:00"));
	/* nothing missed */
	assert_int_equal(cron_prev(&c, utc("2026-12-06 07:10"), utc("2026-12-06 07:59")), -1);
}

static void durations(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		int64_t s;
	} ok[] = {
		{ "168h", 168 * 3600 }, { "1h30m", 5400 }, { "90s", 90 }, { "1.5h", 5400 },
		{ "0", 0 },             { "2h45m10s", 9910 }, { "1500ms", 1 }, { "-1h", -3600 },
		{ ".5m", 30 },
	};
	char err[256];
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		int64_t s = -999;
		assert_int_equal(go_duration_parse(ok[i].in, &s, err, sizeof err), 0);
		assert_int_equal(s, ok[i].s);
	}
	static const char *const bad[] = { "", "h", "10", "7d", "1x", "0x10h", "1..5h", "1h 30m",
		                           "abc", "99999999999h" };
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		int64_t s;
		assert_int_equal(go_duration_parse(bad[i], &s, err, sizeof err), -EINVAL);
		assert_non_null(strstr(err, "invalid duration"));
	}
}

int main(int argc, char **argv)
{
	unit_filter(argc, argv);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(next_simple),
		cmocka_unit_test(next_across_boundaries),
		cmocka_unit_test(next_weekdays),
		cmocka_unit_test(shorthands),
		cmocka_unit_test(never_fires),
		cmocka_unit_test(rejects),
		cmocka_unit_test(prev_finds_the_last_missed_run),
		cmocka_unit_test(durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
