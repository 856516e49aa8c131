/*
 * tools/human.c — sizes and ages for people, as kubectl prints them (see
 * human.h).
 */
#include "tools/human.h"

#include <ctype.h>
#include <stdio.h>

void human_size(uint64_t bytes, char *buf, size_t len)
{
	static const char *const unit[] = { "", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei" };
	unsigned u = 0;
	unsigned __int128 tenths;

	while (u < 6 && bytes >> (10 * (u + 1)))
		u++;
	if (u == 0) {
		snprintf(buf, len, "%llu", (unsigned long long)bytes);
		return;
	}
	/* Round to one decimal; 1023.96Mi becomes 1Gi rather than 1024.0Mi. */
	for (;;) {
		unsigned __int128 scale = (unsigned __int128)1 << (10 * u);

		tenths = ((unsigned __int128)bytes * 10 + scale / 2) / scale;
		if (tenths < 10240 || u == 6)
			break;
		u++;
	}
	if (tenths % 10 == 0)
		snprintf(buf, len, "%llu%s", (unsigned long long)(tenths / 10), unit[u]);
	else
		snprintf(buf, len, "%llu.%u%s", (unsigned long long)(tenths / 10),
			 (unsigned)(tenths % 10), unit[u]);
}

int human_parse_time(const char *s, time_t *out)
{
	struct tm tm = { 0 };
	int y, mo, d, h, mi, se, n = 0, oh = 0, om = 0;
	long offset = 0;
	const char *p;

	if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &se, &n) != 6 || n == 0)
		return -1;
	p = s + n;
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++)
			;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int k = 0;

		if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &k) != 2 || k != 5)
			return -1;
		offset = (oh * 3600L + om * 60L) * (*p == '-' ? -1 : 1);
		p += 1 + k;
	} else {
		return -1;
	}
	if (*p)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = se;
	*out = timegm(&tm) - offset;
	return 0;
}

/* Go's duration.HumanDuration, which kubectl uses for AGE columns. */
static void human_duration(long long secs, char *buf, size_t len)
{
	long long mins = secs / 60, hours = secs / 3600, days = hours / 24;

	if (secs < -1)
		snprintf(buf, len, "<invalid>");
	else if (secs < 0)
		snprintf(buf, len, "0s");
	else if (secs < 120)
		snprintf(buf, len, "%llds", secs);
	else if (mins < 10 && secs % 60)
		snprintf(buf, len, "%lldm%llds", mins, secs % 60);
	else if (mins < 180)
		snprintf(buf, len, "%lldm", mins);
	else if (hours < 8 && mins % 60)
		snprintf(buf, len, "%lldh%lldm", hours, mins % 60);
	else if (hours < 48)
		snprintf(buf, len, "%lldh", hours);
	else if (hours < 24 * 8 && hours % 24)
		snprintf(buf, len, "%lldd%lldh", days, hours % 24);
	else if (hours < 24 * 365 * 2)
		snprintf(buf, len, "%lldd", days);
	else if (hours < 24 * 365 * 8 && days % 365)
		snprintf(buf, len, "%lldy%lldd", days / 365, days % 365);
	else
		snprintf(buf, len, "%lldy", days / 365);
}

void human_age(const char *rfc3339, time_t now, char *buf, size_t len)
{
	time_t t;

	if (human_parse_time(rfc3339, &t) < 0)
		snprintf(buf, len, "<unknown>");
	else
		human_duration((long long)now - (long long)t, buf, len);
}
