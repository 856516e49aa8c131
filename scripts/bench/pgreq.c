/*
 * scripts/bench/pgreq.c — one PostgreSQL file pattern, repeated, and what
 * it cost the FUSE daemon serving the file: CPU (the schedstat run time of
 * all the daemon's threads) and context switches, per repetition.
 *
 *   pgreq FILE DAEMON_PID PATTERN COUNT
 *
 * Patterns (8 KiB pages, as PostgreSQL's), after `pgreq FILE PID fill 1`
 * has written the file's first 1,024 pages and flushed them:
 *   extend     lseek(SEEK_END), then a page written at that end: a relation
 *              growing in pgbench -i
 *   overwrite  a page written inside the file: the checkpointer's and the
 *              background writer's page write-back
 *   overwrite+lseek  the same, then lseek(SEEK_END): a backend asking the
 *              relation's size between two of those writes (select-only)
 * Prints "PATTERN cpu_us switches wall_us" per repetition on one line.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 8192
#define PAGES 1024 /* the file the overwrites land in: 8 MiB */

struct cost {
	unsigned long long run_ns, switches;
};

/* What one thread has cost so far, from /proc/PID/task/TID. */
static void add_thread(const char *dir, struct cost *c)
{
	char path[512];
	unsigned long long v = 0;
	snprintf(path, sizeof path, "%s/schedstat", dir);
	FILE *f = fopen(path, "r");
	if (f) {
		if (fscanf(f, "%llu", &v) == 1)
			c->run_ns += v;
		fclose(f);
	}
	snprintf(path, sizeof path, "%s/status", dir);
	if (!(f = fopen(path, "r")))
		return;
	char line[256];
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "voluntary_ctxt_switches: %llu", &v) == 1 ||
		    sscanf(line, "nonvoluntary_ctxt_switches: %llu", &v) == 1)
			c->switches += v;
	fclose(f);
}

static struct cost daemon_cost(int pid)
{
	struct cost c = {0, 0};
	char tasks[64], dir[320];
	snprintf(tasks, sizeof tasks, "/proc/%d/task", pid);
	DIR *d = opendir(tasks);
	if (!d) {
		fprintf(stderr, "pgreq: no process %d\n", pid);
		exit(1);
	}
	struct dirent *e;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.') {
			snprintf(dir, sizeof dir, "%s/%s", tasks, e->d_name);
			add_thread(dir, &c);
		}
	closedir(d);
	return c;
}

static void page_write(int fd, const char *page, off_t off)
{
	if (pwrite(fd, page, PAGE, off) != PAGE) {
		perror("pgreq: pwrite");
		exit(1);
	}
}

static void once(int fd, const char *page, const char *pattern, long i)
{
	off_t inside = (off_t)(i % PAGES) * PAGE;
	if (!strcmp(pattern, "extend")) {
		page_write(fd, page, lseek(fd, 0, SEEK_END));
	} else if (!strcmp(pattern, "overwrite")) {
		page_write(fd, page, inside);
	} else {
		page_write(fd, page, inside);
		lseek(fd, 0, SEEK_END);
	}
}

int main(int argc, char **argv)
{
	if (argc != 5) {
		fprintf(stderr, "usage: pgreq FILE DAEMON_PID fill|extend|overwrite|overwrite+lseek COUNT\n");
		return 2;
	}
	const char *pattern = argv[3];
	long count = atol(argv[4]);
	if (strcmp(pattern, "fill") && strcmp(pattern, "extend") && strcmp(pattern, "overwrite") &&
	    strcmp(pattern, "overwrite+lseek")) {
		fprintf(stderr, "pgreq: unknown pattern %s\n", pattern);
		return 2;
	}
	if (count <= 0) {
		fprintf(stderr, "pgreq: COUNT must be positive\n");
		return 2;
	}
	int fd = open(argv[1], O_RDWR | O_CREAT, 0600);
	if (fd < 0) {
		perror("pgreq: open");
		return 1;
	}
	static char page[PAGE];
	memset(page, 'p', sizeof page);
	if (!strcmp(pattern, "fill")) { /* the pages the overwrites find */
		for (long i = 0; i < PAGES; i++)
			page_write(fd, page, (off_t)i * PAGE);
		return fsync(fd) == 0 ? 0 : 1;
	}
	struct timespec t0, t1;
	struct cost c0 = daemon_cost(atoi(argv[2]));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (long i = 0; i < count; i++)
		once(fd, page, pattern, i);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	struct cost c1 = daemon_cost(atoi(argv[2]));
	double wall_ns = (double)(t1.tv_sec - t0.tv_sec) * 1e9 + (double)(t1.tv_nsec - t0.tv_nsec);
	printf("%s %.2f %.2f %.2f\n", pattern, (double)(c1.run_ns - c0.run_ns) / 1e3 / (double)count,
	       (double)(c1.switches - c0.switches) / (double)count, wall_ns / 1e3 / (double)count);
	close(fd);
	return 0;
}
