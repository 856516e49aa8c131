/*
 * tools/term.c — colour and progress for volctl on a terminal (see
 * term.h). The progress line is drawn by a thread that wakes every 200 ms
 * while the main thread waits for the daemon's answer.
 */
#include "tools/term.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int term_colour_ok(FILE *f)
{
	const char *no = getenv("NO_COLOR"), *term = getenv("TERM");
	if (no && *no)
		return 0;
	if (term && !strcmp(term, "dumb"))
		return 0;
	return isatty(fileno(f));
}

enum term_colour term_status_colour(const char *s)
{
	static const char *const green[] = {"Bound", "Available", "Running", "Succeeded", "Active", "true", NULL};
	static const char *const yellow[] = {"Pending", "Released", "Terminating", "ContainerCreating", "false", NULL};
	static const char *const red[] = {"Failed", "Lost", "Error", NULL};
	for (int i = 0; green[i]; i++)
		if (!strcmp(s, green[i]))
			return TERM_GREEN;
	for (int i = 0; yellow[i]; i++)
		if (!strcmp(s, yellow[i]))
			return TERM_YELLOW;
	for (int i = 0; red[i]; i++)
		if (!strcmp(s, red[i]))
			return TERM_RED;
	return TERM_PLAIN;
}

void term_put(FILE *f, enum term_colour c, const char *s)
{
	static const char *const codes[] = {"", "\033[31m", "\033[32m", "\033[33m"};
	if (c == TERM_PLAIN || !term_colour_ok(f)) {
		fputs(s, f);
		return;
	}
	fprintf(f, "%s%s\033[0m", codes[c], s);
}

struct term_progress {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int done, drawn;
	char what[128];
	struct timespec start;
};

static double elapsed(const struct timespec *start)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

static void *progress_main(void *arg)
{
	struct term_progress *p = arg;
	static const char spin[] = "|/-\\";
	unsigned tick = 0;
	pthread_mutex_lock(&p->lock);
	while (!p->done) {
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += 200000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_cond_timedwait(&p->cond, &p->lock, &until);
		/* Quick requests finish before the first second: draw nothing. */
		double secs = elapsed(&p->start);
		if (p->done || secs < 1.0)
			continue;
		fprintf(stderr, "\r%c %s... %.0fs", spin[tick++ % 4], p->what, secs);
		fflush(stderr);
		p->drawn = 1;
	}
	if (p->drawn)
		fputs("\r\033[K", stderr);
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

struct term_progress *term_progress_start(const char *what)
{
	if (!isatty(STDERR_FILENO))
		return NULL;
	struct term_progress *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->cond, NULL);
	snprintf(p->what, sizeof p->what, "%s", what);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	if (pthread_create(&p->thread, NULL, progress_main, p) != 0) {
		free(p);
		return NULL;
	}
	return p;
}

void term_progress_end(struct term_progress *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->lock);
	p->done = 1;
	pthread_cond_signal(&p->cond);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	pthread_mutex_destroy(&p->lock);
	pthread_cond_destroy(&p->cond);
	free(p);
}
