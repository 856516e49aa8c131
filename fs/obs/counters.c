/*
 * fs/obs/counters.c — the request, io_uring and host flush counters (see
 * counters.h).
 */
#include "fs/obs/counters.h"

#include <assert.h>
#include <time.h>

const uint64_t counters_bucket_ns[COUNTERS_NBUCKETS] = {
	10000,     25000,     50000,      100000,     250000,     500000,    1000000,
	2500000,   5000000,   10000000,   25000000,   50000000,   100000000, 250000000,
	500000000, 1000000000, 2500000000, 10000000000,
};

static struct counters_op_stats op_stats[COUNTERS_OP_COUNT];
static uint64_t uring_submitted, uring_completed;
static uint64_t host_flushes[COUNTERS_FLUSH_KINDS];

#define COUNTERS_OP_NAME(name) #name,
static const char *const op_names[] = {COUNTERS_FUSE_OPS(COUNTERS_OP_NAME)};
#undef COUNTERS_OP_NAME

uint64_t counters_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void counters_fuse_done(enum counters_op op, uint64_t ns, int failed)
{
	assert(op < COUNTERS_OP_COUNT);
	struct counters_op_stats *s = &op_stats[op];
	size_t b = 0;
	while (b < COUNTERS_NBUCKETS && ns > counters_bucket_ns[b])
		b++;
	__atomic_fetch_add(&s->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum_ns, ns, __ATOMIC_RELAXED);
	if (failed)
		__atomic_fetch_add(&s->errors, 1, __ATOMIC_RELAXED);
}

void counters_uring_submitted(void)
{
	__atomic_fetch_add(&uring_submitted, 1, __ATOMIC_RELAXED);
}

void counters_uring_completed(void)
{
	__atomic_fetch_add(&uring_completed, 1, __ATOMIC_RELAXED);
}

void counters_host_flush(enum counters_flush kind)
{
	assert(kind < COUNTERS_FLUSH_KINDS);
	__atomic_fetch_add(&host_flushes[kind], 1, __ATOMIC_RELAXED);
}

const char *counters_op_name(enum counters_op op)
{
	assert(op < COUNTERS_OP_COUNT);
	return op_names[op];
}

static uint64_t load(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

void counters_fuse_read(enum counters_op op, struct counters_op_stats *out)
{
	assert(op < COUNTERS_OP_COUNT);
	const struct counters_op_stats *s = &op_stats[op];
	for (size_t b = 0; b <= COUNTERS_NBUCKETS; b++)
		out->buckets[b] = load(&s->buckets[b]);
	out->sum_ns = load(&s->sum_ns);
	out->errors = load(&s->errors);
}

void counters_uring_read(uint64_t *submitted, uint64_t *completed)
{
	/* completed first: a reader never sees more completions than submissions */
	*completed = load(&uring_completed);
	*submitted = load(&uring_submitted);
}

uint64_t counters_host_flushes(enum counters_flush kind)
{
	assert(kind < COUNTERS_FLUSH_KINDS);
	return load(&host_flushes[kind]);
}
