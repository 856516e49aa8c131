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
static uint64_t reads_deferred, reads_cold_here;
static uint64_t host_flushes[COUNTERS_FLUSH_KINDS];
static __thread uint64_t thread_host_flushes;
static struct counters_freeze_stats freeze_stats;

#define COUNTERS_OP_NAME(name) #name,
static const char *const op_names[] = {COUNTERS_FUSE_OPS(COUNTERS_OP_NAME)};
#undef COUNTERS_OP_NAME

uint64_t counters_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t counters_thread_cpu_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static size_t bucket_of(uint64_t ns)
{
	size_t b = 0;
	while (b < COUNTERS_NBUCKETS && ns > counters_bucket_ns[b])
		b++;
	return b;
}

void counters_fuse_done(enum counters_op op, uint64_t ns, int failed)
{
	assert(op < COUNTERS_OP_COUNT);
	struct counters_op_stats *s = &op_stats[op];
	__atomic_fetch_add(&s->buckets[bucket_of(ns)], 1, __ATOMIC_RELAXED);
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

void counters_read_deferred(void)
{
	__atomic_fetch_add(&reads_deferred, 1, __ATOMIC_RELAXED);
}

void counters_read_cold_here(void)
{
	__atomic_fetch_add(&reads_cold_here, 1, __ATOMIC_RELAXED);
}

void counters_host_flush(enum counters_flush kind)
{
	assert(kind < COUNTERS_FLUSH_KINDS);
	__atomic_fetch_add(&host_flushes[kind], 1, __ATOMIC_RELAXED);
	thread_host_flushes++;
}

uint64_t counters_thread_host_flushes(void)
{
	return thread_host_flushes;
}

void counters_freeze_done(uint64_t hold_ns, uint64_t cpu_ns, uint64_t inodes, uint64_t commits,
                          uint64_t flushes)
{
	struct counters_freeze_stats *s = &freeze_stats;
	__atomic_fetch_add(&s->buckets[bucket_of(hold_ns)], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->sum_ns, hold_ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->cpu_ns, cpu_ns, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->inodes, inodes, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->commits, commits, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->flushes, flushes, __ATOMIC_RELAXED);
	/* freezes of two trees may end at once: the larger hold wins */
	uint64_t max = __atomic_load_n(&s->max_ns, __ATOMIC_RELAXED);
	while (hold_ns > max && !__atomic_compare_exchange_n(&s->max_ns, &max, hold_ns, 0,
	                                                     __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
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

uint64_t counters_reads_deferred(void)
{
	return load(&reads_deferred);
}

uint64_t counters_reads_cold_here(void)
{
	return load(&reads_cold_here);
}

uint64_t counters_host_flushes(enum counters_flush kind)
{
	assert(kind < COUNTERS_FLUSH_KINDS);
	return load(&host_flushes[kind]);
}

void counters_freeze_read(struct counters_freeze_stats *out)
{
	const struct counters_freeze_stats *s = &freeze_stats;
	for (size_t b = 0; b <= COUNTERS_NBUCKETS; b++)
		out->buckets[b] = load(&s->buckets[b]);
	out->sum_ns = load(&s->sum_ns);
	out->max_ns = load(&s->max_ns);
	out->cpu_ns = load(&s->cpu_ns);
	out->inodes = load(&s->inodes);
	out->commits = load(&s->commits);
	out->flushes = load(&s->flushes);
}
