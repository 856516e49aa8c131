/*
 * scripts/bench/statloop.c — what a cached stat(2) of a file named relative
 * to the working directory costs, as fio's filestat job and tar -C make
 * them, without fio's own work around each call: for the filestat row,
 * where no request reaches the FUSE daemon and the difference between two
 * mounts is the kernel's path walk alone (profile it with perf record -g).
 * It changes to DIR, stats the files f.0 .. f.(N-1) once to fill the
 * caches, then PASSES more times, and prints the nanoseconds per stat.
 *   cc -O2 -o statloop statloop.c && ./statloop DIR N PASSES
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int stat_all(int n)
{
	char name[32];
	struct stat st;
	for (int i = 0; i < n; i++) {
		snprintf(name, sizeof name, "f.%d", i);
		if (stat(name, &st) < 0) {
			perror(name);
			return -1;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: statloop DIR N PASSES\n");
		return 2;
	}
	int n = atoi(argv[2]), passes = atoi(argv[3]);
	if (n <= 0 || passes <= 0) {
		fprintf(stderr, "statloop: N and PASSES must be positive\n");
		return 2;
	}
	if (chdir(argv[1]) < 0) {
		perror(argv[1]);
		return 1;
	}
	if (stat_all(n) < 0)
		return 1;
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int p = 0; p < passes; p++)
		if (stat_all(n) < 0)
			return 1;
	clock_gettime(CLOCK_MONOTONIC, &b);
	double ns = (double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec);
	printf("%.1f ns/stat\n", ns / ((double)n * passes));
	return 0;
}
