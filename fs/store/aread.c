/*
 * fs/store/aread.c — owns the reader thread: it finishes the reads whose host
 * bytes were not in the page cache (store_read_nowait left them), so the
 * thread that took the request does not wait for the disk.
 *
 * One thread, with its own io_uring ring of which it is the only submitter
 * (SINGLE_ISSUER | DEFER_TASKRUN, as the workers' rings in
 * fs/store/uring.c). Other threads queue deferred reads on a mutex-guarded
 * list and write an eventfd whose read the ring keeps armed; the thread
 * submits every queued read's host reads at once, resubmits short ones,
 * zeroes what lies past a host file's end, and when a read's last host
 * read completes it zeroes the holes gathered behind it, lets go of the
 * host files and calls the read's done function. Many reads are thus in
 * flight on the device at once while one thread waits for them.
 *
 * The thread starts with the first deferred read and runs until
 * store_reader_stop, which waits for everything queued or in flight.
 * Without io_uring it reads with plain preadv, one read after another.
 */
#include "fs/store/store.h"
#include "fs/store/store_int.h"
#include "fs/store/uring.h"

#include <assert.h>
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "fs/obs/counters.h"

#define READER_ENTRIES 256
/* user_data of the eventfd read that wakes the thread; every host read's
 * is its struct aread_op. */
#define WAKE_TAG 1

struct store_aread;

/* One host read of a deferred read: piece p into owner's buffer. */
struct aread_op {
	struct store_aread *owner;
	struct piece p;
};

struct store_aread {
	struct store_aread *next; /* the queue */
	char *buf;
	size_t len;              /* the whole read's length: its result */
	struct aread_op *ops;
	size_t nops, pending;    /* pending: ops not yet completed */
	struct piece *zeros;     /* zeroed after every op completed */
	size_t nzeros;
	int err;                 /* first -errno of an op */
	store_aread_done done;
	void *arg;
};

static struct reader {
	pthread_mutex_t lock;
	struct store_aread *head, *tail; /* queued, not yet submitted */
	int running, stopping;
	int efd;
	pthread_t thread;
} rd = {.lock = PTHREAD_MUTEX_INITIALIZER, .efd = -1};

/* ------------------------------------------------------------------ */
/* Who reads a cold read                                              */

/* A worker reads a cold read itself while fewer than cold_here_limit
 * others are doing so: alone at the disk (a reader at queue depth 1), the
 * hand-off would only add the reader thread's wake-up to the wait; with
 * more cold reads in flight the workers must stay free for the requests
 * that do not wait, and the reader thread keeps the rest in flight. */
static atomic_int cold_here, cold_here_limit = 1;

void store_set_cold_reads_here(int n)
{
	assert(n >= 0);
	atomic_store(&cold_here_limit, n);
}

int aread_claim_here(void)
{
	int n = atomic_load(&cold_here);
	while (n < atomic_load(&cold_here_limit))
		if (atomic_compare_exchange_weak(&cold_here, &n, n + 1))
			return 1;
	return 0;
}

void aread_release_here(void)
{
	int was = atomic_fetch_sub(&cold_here, 1);
	assert(was > 0);
	(void)was;
}

/* ------------------------------------------------------------------ */
/* A deferred read                                                    */

struct store_aread *aread_new(const struct piece *reads, size_t nreads, const struct piece *zeros,
                              size_t nzeros, size_t len)
{
	assert(nreads > 0);
	struct store_aread *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->ops = calloc(nreads, sizeof *a->ops);
	a->zeros = nzeros ? calloc(nzeros, sizeof *a->zeros) : NULL;
	if (!a->ops || (nzeros && !a->zeros)) {
		free(a->ops);
		free(a);
		return NULL;
	}
	for (size_t i = 0; i < nreads; i++)
		a->ops[i] = (struct aread_op){ .owner = a, .p = reads[i] };
	if (nzeros)
		memcpy(a->zeros, zeros, nzeros * sizeof *zeros);
	a->nops = a->pending = nreads;
	a->nzeros = nzeros;
	a->len = len;
	return a;
}

static void aread_free(struct store_aread *a)
{
	for (size_t i = 0; i < a->nops; i++)
		host_release(a->ops[i].p.held);
	free(a->ops);
	free(a->zeros);
	free(a);
}

void store_aread_cancel(struct store_aread *a)
{
	if (a)
		aread_free(a);
}

/* Every op completed: the holes behind them, then the caller. The host
 * files are let go first: done may let the object change. */
static void aread_finish(struct store_aread *a)
{
	assert(a->pending == 0);
	if (!a->err)
		for (size_t i = 0; i < a->nzeros; i++)
			memset(a->buf + a->zeros[i].pos, 0, a->zeros[i].len);
	ssize_t res = a->err ? a->err : (ssize_t)a->len;
	store_aread_done done = a->done;
	void *arg = a->arg, *buf = a->buf;
	aread_free(a);
	done(arg, buf, res);
}

/* What an op's result leaves to do: 1 when it is finished (read whole,
 * stopped at the host file's end, or failed), 0 to resubmit the rest. */
static int op_advance(struct aread_op *op, ssize_t res)
{
	struct store_aread *a = op->owner;
	if (res == -EINTR || res == -EAGAIN)
		return 0;
	if (res < 0) {
		if (!a->err)
			a->err = (int)res;
		return 1;
	}
	if (res == 0) { /* past the host file's end: zeros */
		memset(a->buf + op->p.pos, 0, op->p.len);
		return 1;
	}
	assert((size_t)res <= op->p.len);
	op->p.pos += (size_t)res;
	op->p.off += (uint64_t)res;
	op->p.len -= (size_t)res;
	return op->p.len == 0;
}

static void op_done(struct aread_op *op)
{
	struct store_aread *a = op->owner;
	assert(a->pending > 0);
	if (--a->pending == 0)
		aread_finish(a);
}

/* ------------------------------------------------------------------ */
/* Without a ring                                                     */

static void aread_run_blocking(struct store_aread *a)
{
	for (size_t i = 0; i < a->nops; i++) {
		struct aread_op *op = &a->ops[i];
		int finished = 0;
		while (!finished) {
			ssize_t r = pread(op->p.fd, a->buf + op->p.pos, op->p.len, (off_t)op->p.off);
			finished = op_advance(op, r < 0 ? -errno : r);
		}
		op_done(op);
	}
}

/* ------------------------------------------------------------------ */
/* The thread                                                         */

struct ring_state {
	struct io_uring ring;
	uint64_t wake_count;
	size_t inflight; /* ops submitted and not completed */
};

/* A free sqe, submitting what is queued if the ring is full. */
static struct io_uring_sqe *sqe_get(struct ring_state *s)
{
	struct io_uring_sqe *sqe;
	while (!(sqe = io_uring_get_sqe(&s->ring)))
		io_uring_submit(&s->ring);
	return sqe;
}

static void arm_wake(struct ring_state *s)
{
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_read(sqe, rd.efd, &s->wake_count, sizeof s->wake_count, 0);
	io_uring_sqe_set_data64(sqe, WAKE_TAG);
}

static void op_queue(struct ring_state *s, struct aread_op *op)
{
	struct io_uring_sqe *sqe = sqe_get(s);
	io_uring_prep_read(sqe, op->p.fd, op->owner->buf + op->p.pos, (unsigned)op->p.len, op->p.off);
	io_uring_sqe_set_data(sqe, op);
	s->inflight++;
	counters_uring_submitted();
}

static struct store_aread *take_queue(void)
{
	pthread_mutex_lock(&rd.lock);
	struct store_aread *q = rd.head;
	rd.head = rd.tail = NULL;
	pthread_mutex_unlock(&rd.lock);
	return q;
}

/* Whether the thread may end: asked to, and nothing queued or in flight. */
static int reader_done(const struct ring_state *s)
{
	pthread_mutex_lock(&rd.lock);
	int done = rd.stopping && !rd.head && s->inflight == 0;
	pthread_mutex_unlock(&rd.lock);
	return done;
}

static void submit_queued(struct ring_state *s)
{
	for (struct store_aread *a = take_queue(), *next; a; a = next) {
		next = a->next;
		for (size_t i = 0; i < a->nops; i++)
			op_queue(s, &a->ops[i]);
	}
}

static void reap_one(struct ring_state *s, struct io_uring_cqe *cqe)
{
	uint64_t tag = io_uring_cqe_get_data64(cqe);
	if (tag == WAKE_TAG) {
		arm_wake(s);
		return;
	}
	struct aread_op *op = io_uring_cqe_get_data(cqe);
	s->inflight--;
	counters_uring_completed();
	if (op_advance(op, cqe->res))
		op_done(op);
	else
		op_queue(s, op);
}

static void reap_ready(struct ring_state *s)
{
	struct io_uring_cqe *cqe;
	while (io_uring_peek_cqe(&s->ring, &cqe) == 0) {
		struct io_uring_cqe c = *cqe;
		io_uring_cqe_seen(&s->ring, cqe);
		reap_one(s, &c);
	}
}

static void run_ring(struct ring_state *s)
{
	arm_wake(s);
	while (!reader_done(s)) {
		submit_queued(s);
		/* Errors here are transient (EINTR, EAGAIN, EBUSY): what was
		 * queued stays queued and goes with the next call. */
		io_uring_submit_and_wait(&s->ring, 1);
		reap_ready(s);
	}
	assert(s->inflight == 0);
}

static void run_without_ring(void)
{
	for (;;) {
		uint64_t n;
		struct store_aread *q = take_queue();
		for (struct store_aread *next; q; q = next) {
			next = q->next;
			aread_run_blocking(q);
		}
		pthread_mutex_lock(&rd.lock);
		int done = rd.stopping && !rd.head;
		pthread_mutex_unlock(&rd.lock);
		if (done)
			return;
		if (read(rd.efd, &n, sizeof n) < 0 && errno != EINTR)
			return;
	}
}

static void *reader_main(void *arg)
{
	(void)arg;
	struct ring_state s = {0};
	if (uring_ring_setup(&s.ring, READER_ENTRIES) < 0) {
		run_without_ring();
		return NULL;
	}
	run_ring(&s);
	io_uring_queue_exit(&s.ring);
	return NULL;
}

/* Called with rd.lock held. */
static int reader_start_locked(void)
{
	if (rd.running)
		return 0;
	rd.efd = eventfd(0, EFD_CLOEXEC);
	if (rd.efd < 0)
		return -errno;
	rd.stopping = 0;
	int r = pthread_create(&rd.thread, NULL, reader_main, NULL);
	if (r) {
		close(rd.efd);
		rd.efd = -1;
		return -r;
	}
	rd.running = 1;
	return 0;
}

static void wake_reader(void)
{
	uint64_t one = 1;
	while (write(rd.efd, &one, sizeof one) < 0 && errno == EINTR)
		;
}

void store_aread_start(struct store_aread *a, void *buf, store_aread_done done, void *arg)
{
	a->buf = buf;
	a->done = done;
	a->arg = arg;
	counters_read_deferred();
	pthread_mutex_lock(&rd.lock);
	int r = rd.stopping ? -ESHUTDOWN : reader_start_locked();
	if (r == 0) {
		if (rd.tail)
			rd.tail->next = a;
		else
			rd.head = a;
		rd.tail = a;
	}
	pthread_mutex_unlock(&rd.lock);
	if (r == 0) {
		wake_reader();
		return;
	}
	/* No thread to hand it to: finish it here. */
	aread_run_blocking(a);
}

void store_reader_stop(void)
{
	pthread_mutex_lock(&rd.lock);
	if (!rd.running) {
		pthread_mutex_unlock(&rd.lock);
		return;
	}
	rd.stopping = 1;
	pthread_mutex_unlock(&rd.lock);
	wake_reader();
	pthread_join(rd.thread, NULL);
	pthread_mutex_lock(&rd.lock);
	assert(!rd.head);
	close(rd.efd);
	rd.efd = -1;
	rd.running = 0;
	rd.stopping = 0;
	pthread_mutex_unlock(&rd.lock);
}
