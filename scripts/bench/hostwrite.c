/*
 * scripts/bench/hostwrite.c — what one 4 KiB buffered write to a host file
 * costs, three ways, for the README's account of the write gap.
 * Built and run by scripts/bench/run.sh; alone:
 *   cc -O2 -o hostwrite hostwrite.c -luring && ./hostwrite DIR [COUNT]
 *
 * It lays out a 256 MiB file in DIR (the bench disk) and overwrites random
 * 4 KiB blocks of it, one write at a time, as a volfs worker does for one
 * FUSE write request:
 *   pwrite        a plain pwrite(2), as libfuse's passthrough_ll does;
 *   uring         io_uring, one write per submit-and-wait, as volfs does
 *                 (the kernel cannot do a buffered ext4 write without
 *                 blocking, so it hands each to an io-wq kernel thread and
 *                 wakes the submitter when it is done);
 *   uring-1cpu    the same with the thread and its io-wq pinned to one CPU,
 *                 so both wake-ups stay on that CPU.
 * Prints one line per way: "NAME OPS_PER_S US_PER_OP".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#define FILE_BLOCKS (256u * 256u) /* 256 MiB of 4 KiB blocks */

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int lay_out(int fd, char *buf)
{
	for (unsigned b = 0; b < FILE_BLOCKS; b += 256)
		for (unsigned i = 0; i < 256; i++)
			if (pwrite(fd, buf, 4096, (off_t)(b + i) * 4096) != 4096)
				return -1;
	return fsync(fd);
}

static int uring_write(struct io_uring *ring, int fd, char *buf, off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	io_uring_prep_write(sqe, fd, buf, 4096, (unsigned long long)off);
	if (io_uring_submit_and_wait(ring, 1) != 1)
		return -1;
	struct io_uring_cqe *cqe;
	if (io_uring_wait_cqe(ring, &cqe) < 0)
		return -1;
	int res = cqe->res;
	io_uring_cqe_seen(ring, cqe);
	return res == 4096 ? 0 : -1;
}

static void pin_to(int cpu)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof set, &set);
}

/* way: 0 pwrite, 1 uring, 2 uring-1cpu. Returns seconds, or < 0. Each
 * way runs in a child process of its own: io_uring's io-wq belongs to the
 * task and keeps the CPUs it was created with, so the pinned way must pin
 * before its ring (and io-wq) exist. */
static double run_here(int way, int fd, char *buf, unsigned count)
{
	struct io_uring ring;
	if (way == 2)
		pin_to(sched_getcpu());
	if (way && io_uring_queue_init(8, &ring, 0) < 0)
		return -1;
	unsigned seed = 42;
	double t0 = now();
	int bad = 0;
	for (unsigned i = 0; i < count && !bad; i++) {
		off_t off = (off_t)(rand_r(&seed) % FILE_BLOCKS) * 4096;
		bad = way ? uring_write(&ring, fd, buf, off) : pwrite(fd, buf, 4096, off) != 4096;
	}
	double t = now() - t0;
	if (way)
		io_uring_queue_exit(&ring);
	return bad ? -1 : t;
}

static double run(int way, int fd, char *buf, unsigned count)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid == 0) {
		double t = run_here(way, fd, buf, count);
		_exit(write(p[1], &t, sizeof t) == sizeof t ? 0 : 1);
	}
	close(p[1]);
	double t = -1;
	if (pid < 0 || read(p[0], &t, sizeof t) != sizeof t)
		t = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	return t;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [COUNT]\n", argv[0]);
		return 2;
	}
	unsigned count = argc > 2 ? (unsigned)strtoul(argv[2], NULL, 10) : 50000;
	char path[4096];
	snprintf(path, sizeof path, "%s/hostwrite.XXXXXX", argv[1]);
	int fd = mkstemp(path);
	if (fd < 0) {
		fprintf(stderr, "hostwrite: %s: %s\n", path, strerror(errno));
		return 1;
	}
	unlink(path);
	static char buf[4096] __attribute__((aligned(4096)));
	memset(buf, 0x5a, sizeof buf);
	if (lay_out(fd, buf) < 0) {
		fprintf(stderr, "hostwrite: laying out: %s\n", strerror(errno));
		return 1;
	}
	static const char *const names[] = {"pwrite", "uring", "uring-1cpu"};
	for (int way = 0; way < 3; way++) {
		double t = run(way, fd, buf, count);
		if (t <= 0) {
			fprintf(stderr, "hostwrite: %s failed\n", names[way]);
			return 1;
		}
		printf("%s %.0f %.1f\n", names[way], count / t, t / count * 1e6);
	}
	close(fd);
	return 0;
}
