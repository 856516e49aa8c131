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

static const char *const point_names[FAULT_POINTS] = {"write", "fsync", "sqlite", "alloc",
                                                           "crash", "noreply", "hold"};

/* One KIND:N[+][@TEXT] term of VOLFS_FAULT. */
struct term {
	unsigned long nth;   /* the nth call it counts fails */
	int onward;          /* every call from the nth on fails */
	char only[128];      /* "": every call counts; else those whose text has it */
	atomic_ulong calls;
};

/* A kind may have several terms (sqlite:1@A,sqlite:1@B: one change and
 * then the reread after it fail), each counting the calls it matches. */
#define TERMS_PER_POINT 4

static struct {
	struct term terms[TERMS_PER_POINT];
	int n;
	atomic_ulong calls; /* of a kind without terms: every call */
} points[FAULT_POINTS];

static pthread_once_t once = PTHREAD_ONCE_INIT;

/* The calls of each kind: its first term's (what it counted), or all. */
static void print_counts(void)
{
	fprintf(stderr, "volfs: fault injection: calls:");
	for (int p = 0; p < FAULT_POINTS; p++)
		fprintf(stderr, " %s=%lu", point_names[p],
		        atomic_load(points[p].n ? &points[p].terms[0].calls : &points[p].calls));
	fprintf(stderr, "\n");
}

/* One "KIND:N[+][@TEXT]" term; a bad one is reported and ignored. */
static void parse_term(const char *term, size_t len)
{
	for (int p = 0; p < FAULT_POINTS; p++) {
		size_t n = strlen(point_names[p]);
		if (len > n && !strncmp(term, point_names[p], n) && term[n] == ':' &&
		    points[p].n < TERMS_PER_POINT) {
			char *end;
			unsigned long nth = strtoul(term + n + 1, &end, 10);
			int onward = end < term + len && *end == '+';
			const char *only = end + onward;
			if (nth > 0 && (only == term + len || *only == '@')) {
				struct term *t = &points[p].terms[points[p].n++];
				t->nth = nth;
				t->onward = onward;
				if (only < term + len)
					snprintf(t->only, sizeof t->only, "%.*s",
					         (int)(term + len - only - 1), only + 1);
				return;
			}
		}
	}
	fprintf(stderr, "volfs: fault injection: ignoring \"%.*s\" in VOLFS_FAULT (want KIND:N, KIND:N+ "
	        "or KIND:N@TEXT, KIND write, fsync, sqlite, alloc, crash, noreply or hold, at most %d a kind)\n",
	        (int)len, term, TERMS_PER_POINT);
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

/* The number of this call among those term t counts when t fails it,
 * else 0. */
static unsigned long term_fails(struct term *t, const char *what)
{
	if (t->only[0] && (!what || !strstr(what, t->only)))
		return 0;
	unsigned long call = atomic_fetch_add(&t->calls, 1) + 1;
	return call == t->nth || (call > t->nth && t->onward) ? call : 0;
}

int fault_fail(enum fault_point p, const char *what)
{
	pthread_once(&once, parse_env);
	if (!points[p].n) {
		atomic_fetch_add(&points[p].calls, 1);
		return 0;
	}
	unsigned long failed = 0;
	for (int i = 0; i < points[p].n; i++) {
		unsigned long call = term_fails(&points[p].terms[i], what);
		if (call && !failed)
			failed = call;
	}
	if (failed)
		fprintf(stderr, "volfs: fault injection: failing %s call %lu%s%s\n", point_names[p],
		        failed, what ? ": " : "", what ? what : "");
	return failed != 0;
}

/* Nothing is flushed or unwound: the state on disk is what a kill -9 at
 * this instant would leave. */
void fault_crash_point(const char *name)
{
	if (fault_fail(FAULT_CRASH, name))
		raise(SIGKILL);
}

#endif
