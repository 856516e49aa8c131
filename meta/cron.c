/*
 * meta/cron.c — parsing cron schedules and computing their next firing in
 * UTC (see cron.h), and Go durations. UTC has no daylight saving time, so a
 * minute never repeats or goes missing.
 */
#include "meta/cron.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct field {
	const char *name;
	int lo, hi;
	int shown_hi; /* in messages: 7 is accepted for Sunday but 0-6 is the range */
	const char *const *names; /* names[i] is value lo + i, or NULL */
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr", "may", "jun",
	                                   "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu", "fri", "sat", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, 59, NULL },
	{ "hour", 0, 23, 23, NULL },
	{ "day of month", 1, 31, 31, NULL },
	{ "month", 1, 12, 12, month_names },
	{ "day of week", 0, 7, 6, day_names },
};

static const struct {
	const char *name, *spec;
} shorthands[] = {
	{ "@yearly", "0 0 1 1 *" }, { "@annually", "0 0 1 1 *" }, { "@monthly", "0 0 1 * *" },
	{ "@weekly", "0 0 * * 0" }, { "@daily", "0 0 * * *" },    { "@midnight", "0 0 * * *" },
	{ "@hourly", "0 * * * *" },
};

/* A number or (for months and weekdays) a three-letter name at *p. */
static int parse_value(const struct field *f, const char **p, int *out)
{
	if (isdigit((unsigned char)**p)) {
		long v = 0;
		while (isdigit((unsigned char)**p) && v <= 1000)
			v = v * 10 + (*(*p)++ - '0');
		*out = (int)v;
		return v >= f->lo && v <= f->hi ? 0 : -ERANGE;
	}
	for (int i = 0; f->names && f->names[i]; i++)
		if (!strncasecmp(*p, f->names[i], 3) && !isalpha((unsigned char)(*p)[3])) {
			*out = f->lo + i;
			*p += 3;
			return 0;
		}
	return -EINVAL;
}

/* One comma-separated element: '*', a, a-b, each optionally /step. */
static int parse_element(const struct field *f, const char *s, const char *end, uint64_t *bits)
{
	int lo = f->lo, hi = f->hi, step = 1, r;
	const char *p = s;
	if (*p == '*')
		p++;
	else {
		if ((r = parse_value(f, &p, &lo)) < 0)
			return r;
		hi = lo;
		if (*p == '-') {
			p++;
			if ((r = parse_value(f, &p, &hi)) < 0)
				return r;
			if (hi < lo)
				return -EDOM;
		}
	}
	if (*p == '/') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		long v = 0;
		while (isdigit((unsigned char)*p) && v <= 1000)
			v = v * 10 + (*p++ - '0');
		if (v < 1 || v > f->hi)
			return -ERANGE;
		step = (int)v;
		if (*s != '*' && !memchr(s, '-', (size_t)(end - s)))
			hi = f->hi; /* "a/n": from a to the end, as cron does */
	}
	if (p != end)
		return -EINVAL;
	for (int v = lo; v <= hi; v += step)
		*bits |= 1ull << v;
	return 0;
}

static int field_error(const struct field *f, const char *tok, size_t len, int r, char *err,
                       size_t errlen)
{
	const char *why = r == -ERANGE ? "value out of range" : r == -EDOM ? "range ends before it starts"
	                                                                   : "not a number, name, range or step";
	snprintf(err, errlen, "%s field \"%.*s\": %s (%d-%d)", f->name, (int)len, tok, why,
	         f->lo, f->shown_hi);
	return -EINVAL;
}

static int parse_field(const struct field *f, const char *tok, size_t len, uint64_t *bits,
                       char *err, size_t errlen)
{
	char buf[128];
	if (len == 0 || len >= sizeof buf)
		return field_error(f, tok, len, -EINVAL, err, errlen);
	memcpy(buf, tok, len);
	buf[len] = '\0';
	*bits = 0;
	for (char *s = buf, *comma;; s = comma + 1) {
		comma = strchr(s, ',');
		char *end = comma ? comma : s + strlen(s);
		int r = end > s ? parse_element(f, s, end, bits) : -EINVAL;
		if (r < 0)
			return field_error(f, tok, len, r, err, errlen);
		if (!comma)
			return 0;
	}
}

int cron_parse(const char *spec, struct cron *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof *c);
	if (!spec) {
		snprintf(err, errlen, "empty schedule");
		return -EINVAL;
	}
	while (isspace((unsigned char)*spec))
		spec++;
	if (*spec == '@') {
		for (size_t i = 0; i < sizeof shorthands / sizeof shorthands[0]; i++)
			if (!strcasecmp(spec, shorthands[i].name))
				return cron_parse(shorthands[i].spec, c, err, errlen);
		snprintf(err, errlen, "unknown schedule \"%s\" (use @hourly, @daily, @weekly, @monthly, "
		         "@yearly or five fields)", spec);
		return -EINVAL;
	}
	uint64_t bits[5];
	const char *tok[5];
	const char *p = spec;
	int n = 0;
	while (*p) {
		const char *s = p;
		while (*p && !isspace((unsigned char)*p))
			p++;
		if (n == 5) {
			n++;
			break;
		}
		tok[n] = s;
		if (parse_field(&fields[n], s, (size_t)(p - s), &bits[n], err, errlen) < 0)
			return -EINVAL;
		n++;
		while (isspace((unsigned char)*p))
			p++;
	}
	if (n != 5) {
		snprintf(err, errlen, "\"%s\" has %s fields: want 5 (minute hour day-of-month month "
		         "day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly", spec,
		         n > 5 ? "more than 5" : n == 0 ? "no" : "fewer than 5");
		return -EINVAL;
	}
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->dom = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->dow = (uint8_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday too */
	c->dom_any = tok[2][0] == '*';
	c->dow_any = tok[4][0] == '*';
	return 0;
}

static int day_matches(const struct cron *c, const struct tm *tm)
{
	int dom = (c->dom >> tm->tm_mday) & 1, dow = (c->dow >> tm->tm_wday) & 1;
	if (c->dom_any || c->dow_any)
		return dom && dow;
	return dom || dow;
}

int64_t cron_next(const struct cron *c, int64_t after)
{
	time_t t = (time_t)((after / 60 + 1) * 60);
	if (after < 0 && after % 60)
		t -= 60;
	struct tm tm;
	gmtime_r(&t, &tm);
	/* Every schedule that fires at all does so within 28 years (the
	 * weekday calendar repeats; 29 February comes round in it). */
	int last_year = tm.tm_year + 29;
	while (tm.tm_year <= last_year) {
		if (!((c->month >> (tm.tm_mon + 1)) & 1)) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = tm.tm_min = 0;
		} else if (!((c->hour >> tm.tm_hour) & 1)) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else if (!((c->minute >> tm.tm_min) & 1)) {
			tm.tm_min++;
		} else {
			return (int64_t)timegm(&tm);
		}
		t = timegm(&tm); /* normalises: minute 60, day 32, month 12 roll over */
		gmtime_r(&t, &tm);
	}
	return -1;
}

int64_t cron_prev(const struct cron *c, int64_t since, int64_t at)
{
	int64_t last = -1;
	/* Walk forward from since: the firings between are what was missed. */
	for (int64_t t = cron_next(c, since - 1); t >= 0 && t <= at; t = cron_next(c, t))
		last = t;
	return last;
}

/* --- Go durations --- */

static const struct {
	const char *unit;
	double seconds;
} units[] = {
	{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 }, { "ms", 1e-3 },
	{ "s", 1 },     { "m", 60 },    { "h", 3600 },
};

int go_duration_parse(const char *s, int64_t *seconds, char *err, size_t errlen)
{
	const char *p = s ? s : "";
	double total = 0;
	int neg = *p == '-';
	if (*p == '-' || *p == '+')
		p++;
	if (!strcmp(p, "0")) {
		*seconds = 0;
		return 0;
	}
	if (!*p)
		goto bad;
	while (*p) {
		char num[32];
		size_t n = strspn(p, "0123456789."), digits = 0;
		for (size_t i = 0; i < n; i++)
			digits += isdigit((unsigned char)p[i]) != 0;
		if (!digits || n - digits > 1 || n >= sizeof num)
			goto bad;
		memcpy(num, p, n);
		num[n] = '\0';
		double v = strtod(num, NULL);
		p += n;
		size_t best = 0, k = 0;
		for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
			size_t n = strlen(units[i].unit);
			if (!strncmp(p, units[i].unit, n) && n > best) {
				best = n;
				k = i;
			}
		}
		if (!best)
			goto bad;
		p += best;
		total += v * units[k].seconds;
	}
	if (total > 9.2e18 / 1e9) /* Go's limit: an int64 of nanoseconds */
		goto bad;
	*seconds = (int64_t)(neg ? -total : total);
	return 0;
bad:
	snprintf(err, errlen, "invalid duration \"%s\": want a number and unit, e.g. 168h, 30m or "
	         "1h30m (units h, m, s, ms, us, ns)", s ? s : "");
	return -EINVAL;
}
