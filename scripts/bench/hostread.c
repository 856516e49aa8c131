/*
 * scripts/bench/hostread.c — what one 4 KiB read of a cached host file
 * costs the reading thread, two ways, for the choice of fs/store/hostread.c:
 *   pread   a plain pread(2), as a volfs worker reads one host stretch;
 *   uring   io_uring, one read per submit-and-wait on a ring of the thread's
 *           own (SINGLE_ISSUER, DEFER_TASKRUN), as the store's rings are.
 * It reads COUNT random 4 KiB blocks of FILE (read whole first, so the reads
 * are served from the page cache), each way twice, alternated, and prints a
 * line per run, "NAME CPU_US_PER_READ CONTEXT_SWITCHES_PER_READ": the
 * thread's own CPU time (getrusage), which holds on a loaded machine where
 * elapsed time does not.
 *   cc -O2 -o hostread hostread.c -luring && ./hostread FILE [COUNT]
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static double cpu_s(long *switches)
{
	struct rusage u;
	getrusage(RUSAGE_THREAD, &u);
	*switches = u.ru_nvcsw + u.ru_nivcsw;
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

static int read_uring(struct io_uring *ring, int fd, char *buf, off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	struct io_uring_cqe *cqe;
	io_uring_prep_read(sqe, fd, buf, 4096, (uint64_t)off);
	if (io_uring_submit_and_wait(ring, 1) < 1 || io_uring_wait_cqe(ring, &cqe) < 0)
		return -1;
	int r = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return r;
}

static int run(const char *name, int fd, uint64_t blocks, long count, struct io_uring *ring)
{
	static char buf[4096];
	uint64_t x = 88172645463325252ull;
	long s0, s1;
	double c0 = cpu_s(&s0);
	for (long i = 0; i < count; i++) {
		x ^= x << 13, x ^= x >> 7, x ^= x << 17;
		off_t off = (off_t)(x % blocks) * 4096;
		ssize_t r = ring ? read_uring(ring, fd, buf, off) : pread(fd, buf, sizeof buf, off);
		if (r != (ssize_t)sizeof buf) {
			fprintf(stderr, "hostread: %s: a read returned %zd\n", name, r);
			return 1;
		}
	}
	double c1 = cpu_s(&s1);
	printf("%s %.3f %.3f\n", name, (c1 - c0) * 1e6 / (double)count, (double)(s1 - s0) / (double)count);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE [COUNT]\n", argv[0]);
		return 2;
	}
	long count = argc > 2 ? atol(argv[2]) : 200000;
	int fd = open(argv[1], O_RDONLY);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 4096 || count <= 0) {
		fprintf(stderr, "hostread: %s: not a readable file of 4 KiB or more (or a bad COUNT)\n", argv[1]);
		return 1;
	}
	static char warm[1 << 16];
	for (off_t o = 0; pread(fd, warm, sizeof warm, o) > 0; o += (off_t)sizeof warm)
		;
	struct io_uring ring;
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	p.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
	if (io_uring_queue_init_params(8, &ring, &p) < 0) {
		fprintf(stderr, "hostread: no io_uring here\n");
		return 1;
	}
	uint64_t blocks = (uint64_t)st.st_size / 4096;
	/* Twice each, alternated: a burst of load on the machine shows as one
	 * round out of line with the other. */
	for (int round = 0; round < 2; round++)
		if (run("pread", fd, blocks, count, NULL) || run("uring", fd, blocks, count, &ring))
			return 1;
	return 0;
}
