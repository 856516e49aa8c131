/*
 * fs/store/uring.c — owns the per-thread io_uring rings behind fs/store/uring.h.
 *
 * Every thread that does data I/O gets its own small ring, created on first
 * use and torn down by a pthread_key destructor when the thread exits, so
 * FUSE worker threads never contend on one submission queue. Each call
 * submits one operation and waits for it; parallelism comes from the many
 * threads. Short transfers are resubmitted for the remainder.
 *
 * If the kernel refuses io_uring (disabled by sysctl or a seccomp profile,
 * as container runtimes often do) the same calls fall back to plain
 * syscalls, once reported on stderr, so the daemon still works.
 */
#include "fs/store/uring.h"

#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs/obs/counters.h"
#include "meta/log.h"

#define URING_ENTRIES 64
/* The kernel caps one read/write at about 2 GiB; stay well below. */
#define URING_MAX_CHUNK (1u << 30)
/* iovec copies for resubmitting short vectored transfers live on the stack
 * up to this many entries. */
#define URING_STACK_IOV 64

enum ring_state { RING_NONE, RING_READY, RING_FAILED };

static __thread struct io_uring tls_ring;
static __thread enum ring_state tls_state;

static pthread_key_t ring_key;
static pthread_once_t ring_key_once = PTHREAD_ONCE_INIT;
static int fallback_reported;

static void ring_destructor(void *arg)
{
	(void)arg;
	uring_thread_exit();
}

static void ring_key_create(void)
{
	pthread_key_create(&ring_key, ring_destructor);
}

/* The ring is only ever used by the thread that made it, which is exactly
 * what SINGLE_ISSUER and DEFER_TASKRUN promise the kernel; older kernels
 * reject those flags, so retry with fewer. */
int uring_ring_setup(struct io_uring *ring, unsigned entries)
{
	static const unsigned flag_sets[] = {
		IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN,
		IORING_SETUP_COOP_TASKRUN,
		0,
	};
	int r = -EINVAL;
	for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
		struct io_uring_params p;
		memset(&p, 0, sizeof p);
		p.flags = flag_sets[i];
		r = io_uring_queue_init_params(entries, ring, &p);
		if (r != -EINVAL)
			break;
	}
	return r;
}

static struct io_uring *thread_ring(void)
{
	if (tls_state == RING_READY)
		return &tls_ring;
	if (tls_state == RING_FAILED)
		return NULL;
	int r = uring_ring_setup(&tls_ring, URING_ENTRIES);
	if (r < 0) {
		tls_state = RING_FAILED;
		if (!__atomic_exchange_n(&fallback_reported, 1, __ATOMIC_RELAXED))
			vlog_warn("io_uring", "io_uring unavailable (%s), using plain syscalls",
			        strerror(-r));
		return NULL;
	}
	pthread_once(&ring_key_once, ring_key_create);
	/* Any non-NULL value makes the destructor run at thread exit. */
	pthread_setspecific(ring_key, &tls_ring);
	tls_state = RING_READY;
	return &tls_ring;
}

void uring_thread_exit(void)
{
	if (tls_state == RING_READY)
		io_uring_queue_exit(&tls_ring);
	tls_state = RING_NONE;
}

static struct io_uring_sqe *get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
	if (!sqe) {
		/* Only reachable if a previous submit failed half-way. */
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

/* Submit the prepared sqe and wait for its completion; returns cqe->res.
 * Each operation carries a fresh tag so that a completion left over from a
 * failed earlier submission can never be mistaken for this one. */
static int submit_wait(struct io_uring *ring, struct io_uring_sqe *sqe)
{
	static __thread uint64_t tag;
	uint64_t mine = ++tag;
	io_uring_sqe_set_data64(sqe, mine);
	int r;
	do
		r = io_uring_submit_and_wait(ring, 1);
	while (r == -EINTR);
	if (r <= 0) {
		/* The sqe may still sit in the ring and be picked up by a later
		 * submit: neutralise it so the kernel never touches our buffer. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, 0);
		return r < 0 ? r : -EAGAIN;
	}
	counters_uring_submitted();
	for (;;) {
		struct io_uring_cqe *cqe;
		r = io_uring_wait_cqe(ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0)
			return r;
		uint64_t got = io_uring_cqe_get_data64(cqe);
		int res = cqe->res;
		io_uring_cqe_seen(ring, cqe);
		if (got)
			counters_uring_completed();
		if (got == mine)
			return res;
	}
}

enum op { OP_READ, OP_WRITE };

/* One attempt at a transfer: bytes moved or -errno. */
static ssize_t rw_once(int op, int fd, void *buf, size_t len, off_t off)
{
	struct io_uring *ring = thread_ring();
	if (!ring) {
		ssize_t n = op == OP_READ ? pread(fd, buf, len, off) : pwrite(fd, buf, len, off);
		return n < 0 ? -errno : n;
	}
	struct io_uring_sqe *sqe = get_sqe(ring);
	if (!sqe)
		return -EAGAIN;
	if (op == OP_READ)
		io_uring_prep_read(sqe, fd, buf, (unsigned)len, (uint64_t)off);
	else
		io_uring_prep_write(sqe, fd, buf, (unsigned)len, (uint64_t)off);
	return submit_wait(ring, sqe);
}

static ssize_t rwv_once(int op, int fd, const struct iovec *iov, int cnt, off_t off)
{
	struct io_uring *ring = thread_ring();
	if (!ring) {
		ssize_t n = op == OP_READ ? preadv(fd, iov, cnt, off) : pwritev(fd, iov, cnt, off);
		return n < 0 ? -errno : n;
	}
	struct io_uring_sqe *sqe = get_sqe(ring);
	if (!sqe)
		return -EAGAIN;
	if (op == OP_READ)
		io_uring_prep_readv(sqe, fd, iov, (unsigned)cnt, (uint64_t)off);
	else
		io_uring_prep_writev(sqe, fd, iov, (unsigned)cnt, (uint64_t)off);
	return submit_wait(ring, sqe);
}

static int transient(ssize_t r)
{
	return r == -EINTR || r == -EAGAIN;
}

static ssize_t rw_full(int op, int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;
	while (done < len) {
		size_t chunk = len - done;
		if (chunk > URING_MAX_CHUNK)
			chunk = URING_MAX_CHUNK;
		ssize_t r = rw_once(op, fd, (char *)buf + done, chunk, off + (off_t)done);
		if (transient(r))
			continue;
		if (r < 0)
			return done ? (ssize_t)done : r;
		if (r == 0) {
			if (op == OP_READ)
				break; /* EOF */
			return done ? (ssize_t)done : -EIO;
		}
		done += (size_t)r;
	}
	return (ssize_t)done;
}

ssize_t uring_pread(int fd, void *buf, size_t len, off_t off)
{
	return rw_full(OP_READ, fd, buf, len, off);
}

ssize_t uring_pwrite(int fd, const void *buf, size_t len, off_t off)
{
	return rw_full(OP_WRITE, fd, (void *)buf, len, off);
}

static size_t iov_total(const struct iovec *iov, int cnt)
{
	size_t t = 0;
	for (int i = 0; i < cnt; i++)
		t += iov[i].iov_len;
	return t;
}

/* Drop the first n bytes of a mutable iovec array; returns the new start. */
static struct iovec *iov_advance(struct iovec *iov, int *cnt, size_t n)
{
	while (*cnt > 0 && n >= iov->iov_len) {
		n -= iov->iov_len;
		iov++;
		(*cnt)--;
	}
	if (*cnt > 0 && n) {
		iov->iov_base = (char *)iov->iov_base + n;
		iov->iov_len -= n;
	}
	return iov;
}

static ssize_t rwv_full(int op, int fd, const struct iovec *iov, int cnt, off_t off)
{
	size_t total = iov_total(iov, cnt);
	ssize_t r;
	do
		r = rwv_once(op, fd, iov, cnt, off);
	while (transient(r));
	if (r < 0 || (size_t)r == total || (r == 0 && op == OP_READ))
		return r;
	if (r == 0)
		return -EIO;

	/* Short transfer: continue on a private copy of the iovec. */
	struct iovec stack[URING_STACK_IOV];
	struct iovec *copy = cnt <= URING_STACK_IOV ? stack : malloc(sizeof *copy * (size_t)cnt);
	if (!copy)
		return r;
	memcpy(copy, iov, sizeof *copy * (size_t)cnt);
	size_t done = (size_t)r;
	int left = cnt;
	struct iovec *cur = iov_advance(copy, &left, done);
	while (done < total && left > 0) {
		r = rwv_once(op, fd, cur, left, off + (off_t)done);
		if (transient(r))
			continue;
		if (r <= 0) {
			if (r == 0 && op == OP_WRITE)
				r = -EIO;
			break;
		}
		done += (size_t)r;
		cur = iov_advance(cur, &left, (size_t)r);
	}
	if (copy != stack)
		free(copy);
	return done ? (ssize_t)done : r;
}

ssize_t uring_preadv(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	return rwv_full(OP_READ, fd, iov, iovcnt, off);
}

ssize_t uring_pwritev(int fd, const struct iovec *iov, int iovcnt, off_t off)
{
	return rwv_full(OP_WRITE, fd, iov, iovcnt, off);
}

/* Queue up to URING_ENTRIES reads (with rw_flags, e.g. RWF_NOWAIT), submit
 * them in one call and wait for every one the kernel took. Those it did not
 * take keep res = -EAGAIN for the caller to redo. */
static void read_chunk(struct io_uring *ring, struct uring_read *ops, int n, int rw_flags)
{
	static __thread uint64_t tag;
	struct io_uring_sqe *sqes[URING_ENTRIES];
	uint64_t first = tag + 1;
	tag += (uint64_t)n;
	int queued = 0;
	for (int i = 0; i < n; i++)
		ops[i].res = -EAGAIN;
	for (; queued < n; queued++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(ring);
		if (!sqe)
			break;
		io_uring_prep_readv(sqe, ops[queued].fd, ops[queued].iov, (unsigned)ops[queued].cnt,
		                    (uint64_t)ops[queued].off);
		sqe->rw_flags = rw_flags;
		io_uring_sqe_set_data64(sqe, first + (uint64_t)queued);
		sqes[queued] = sqe;
	}
	int submitted;
	do
		submitted = io_uring_submit(ring);
	while (submitted == -EINTR);
	if (submitted < 0)
		submitted = 0;
	for (int i = 0; i < submitted; i++)
		counters_uring_submitted();
	/* The kernel takes sqes in order; the rest would go with a later
	 * submit and must never touch these buffers then. */
	for (int i = submitted; i < queued; i++) {
		io_uring_prep_nop(sqes[i]);
		io_uring_sqe_set_data64(sqes[i], 0);
	}
	for (int done = 0; done < submitted;) {
		struct io_uring_cqe *cqe;
		int r = io_uring_wait_cqe(ring, &cqe);
		if (r == -EINTR)
			continue;
		if (r < 0)
			break;
		uint64_t got = io_uring_cqe_get_data64(cqe);
		if (got >= first && got < first + (uint64_t)submitted) {
			ops[got - first].res = cqe->res;
			done++;
		}
		if (got)
			counters_uring_completed();
		io_uring_cqe_seen(ring, cqe);
	}
}

/* A read the ring left short or undone is finished synchronously: its
 * remainder (or all of it) through rwv_full, which also stops at EOF. */
static void finish_read(struct uring_read *op)
{
	size_t want = iov_total(op->iov, op->cnt);
	ssize_t r = op->res;
	if (r == -EAGAIN || r == -EINTR)
		r = 0;
	else if (r <= 0 || (size_t)r == want)
		return;
	if (op->cnt > URING_STACK_IOV) {
		op->res = r ? r : -EIO;
		return;
	}
	struct iovec copy[URING_STACK_IOV];
	memcpy(copy, op->iov, sizeof *copy * (size_t)op->cnt);
	int left = op->cnt;
	struct iovec *cur = iov_advance(copy, &left, (size_t)r);
	ssize_t more = left ? rwv_full(OP_READ, op->fd, cur, left, op->off + (off_t)r) : 0;
	op->res = more < 0 ? (r ? r : more) : r + more;
}

void uring_read_batch(struct uring_read *ops, int n)
{
	struct io_uring *ring = thread_ring();
	for (int i = 0; i < n; i += URING_ENTRIES) {
		int k = n - i < URING_ENTRIES ? n - i : URING_ENTRIES;
		if (ring) {
			read_chunk(ring, ops + i, k, 0);
		} else {
			for (int j = 0; j < k; j++)
				ops[i + j].res = -EAGAIN;
		}
		for (int j = 0; j < k; j++)
			finish_read(&ops[i + j]);
	}
}

/* Without a ring: preadv2's own RWF_NOWAIT, one read at a time. */
static void read_nowait_syscalls(struct uring_read *ops, int n)
{
	for (int i = 0; i < n; i++) {
		ssize_t r = preadv2(ops[i].fd, ops[i].iov, ops[i].cnt, ops[i].off, RWF_NOWAIT);
		ops[i].res = r < 0 ? -errno : r;
	}
}

void uring_read_batch_nowait(struct uring_read *ops, int n)
{
	struct io_uring *ring = thread_ring();
	if (!ring) {
		read_nowait_syscalls(ops, n);
		return;
	}
	for (int i = 0; i < n; i += URING_ENTRIES)
		read_chunk(ring, ops + i, n - i < URING_ENTRIES ? n - i : URING_ENTRIES, RWF_NOWAIT);
}
