/*
 * meta/fault.c — the fault-injection counters (fault.h): parses
 * VOLFS_FAULT once, counts the calls at each point and says which fail.
 * Empty unless built with -DVOLFS_FAULT_INJECTION.
 */
#include "meta/fault.h"

#ifdef VOLFS_FAULT_INJECTION

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const point_names[FAULT_POINTS] = {"write", "fsync", "sqlite", "alloc", "crash"};

static struct {
	unsigned long nth;   /* 0: never */
	int onward;          /* every call from the nth on fails */
	char only[128];      /* "": every call counts; else those whose text has it */
	atomic_ulong calls;
} points[FAULT_POINTS];

static pthread_once_t once = PTHREAD_ONCE_INIT;

static void print_counts(void)
{
	fprintf(stderr, "volfs: fault injection: calls:");
	for (int p = 0; p < FAULT_POINTS; p++)
		fprintf(stderr, " %s=%lu", point_names[p], atomic_load(&points[p].calls));
	fprintf(stderr, "\n");
}

/* One "KIND:N[+][@TEXT]" term; a bad one is reported and ignored. */
static void parse_term(const char *term, size_t len)
{
	for (int p = 0; p < FAULT_POINTS; p++) {
		size_t n = strlen(point_names[p]);
		if (len > n && !strncmp(term, point_names[p], n) && term[n] == ':') {
			char *end;
			unsigned long nth = strtoul(term + n + 1, &end, 10);
			int onward = end < term + len && *end == '+';
			const char *only = end + onward;
			if (nth > 0 && (only == term + len || *only == '@')) {
				points[p].nth = nth;
				points[p].onward = onward;
				if (only < term + len)
					snprintf(points[p].only, sizeof points[p].only, "%.*s",
					         (int)(term + len - only - 1), only + 1);
				return;
			}
		}
	}
	fprintf(stderr, "volfs: fault injection: ignoring \"%.*s\" in VOLFS_FAULT (want KIND:N, KIND:N+ "
	        "or KIND:N@TEXT, KIND write, fsync, sqlite, alloc or crash)\n", (int)len, term);
}

static void parse_env(void)
{
	const char *spec = getenv("VOLFS_FAULT");
	while (spec && *spec) {
		size_t len = strcspn(spec, ",");
		if (len)
			parse_term(spec, len);
		spec += len + (spec[len] == ',');
	}
	const char *count = getenv("VOLFS_FAULT_COUNT");
	if (count && *count && strcmp(count, "0"))
		atexit(print_counts);
}

int fault_fail(enum fault_point p, const char *what)
{
	pthread_once(&once, parse_env);
	if (points[p].only[0] && (!what || !strstr(what, points[p].only)))
		return 0;
	unsigned long call = atomic_fetch_add(&points[p].calls, 1) + 1;
	unsigned long nth = points[p].nth;
	if (!nth || call < nth || (call > nth && !points[p].onward))
		return 0;
	fprintf(stderr, "volfs: fault injection: failing %s call %lu%s%s\n", point_names[p], call,
	        what ? ": " : "", what ? what : "");
	return 1;
}

/* Nothing is flushed or unwound: the state on disk is what a kill -9 at
 * this instant would leave. */
void fault_crash_point(const char *name)
{
	if (fault_fail(FAULT_CRASH, name))
		raise(SIGKILL);
}

#endif
