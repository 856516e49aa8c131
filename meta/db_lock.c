/*
 * meta/db_lock.c — the db lock (declared in meta/db.h): taking and
 * releasing it, knowing its holder, and what each hold cost: the
 * histogram of hold times, and per call site of db_lock the holds, the
 * longest, the rows they changed and, when traced, the CPU time the
 * holder spent (wall time alone says little on a loaded machine, where a
 * holder is preempted in the middle of a short hold).
 *
 * Fairness. A pthread mutex lets the thread that releases it take it
 * again before a waiter it woke gets to run, so a thread that takes the
 * lock in a loop of short holds (an apply, a controller pass) keeps it
 * for the whole loop while an fsync waits. Threads are foreground (the
 * data path: FUSE workers, the flusher; the default) or background
 * (db_thread_background: the control plane, the reclaimer), and the
 * contract is:
 *   - a background thread's db_lock that finds foreground threads queued
 *     for the lock parks, without trying it, until as many foreground
 *     threads as were queued then have got it (or none is queued any
 *     more), and only then takes its turn. So a foreground waiter
 *     waits for the hold in progress and those of background threads
 *     already blocked on the mutex before it queued, never for a
 *     background thread's next hold;
 *   - that wait is bounded by the foreground threads queued when it
 *     asked, not by those that come later: a steady stream of foreground
 *     work slows background work to one hold per queue, never stops it;
 *   - foreground threads among themselves, and background threads among
 *     themselves, take the mutex as it comes (no order promised).
 * An uncontended db_lock is one trylock; only a foreground thread that
 * finds the lock taken pays for the bookkeeping (turn_lock, twice).
 */
#include "meta/db.h"

#include <assert.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>
#include "meta/lockrank.h"
#include "meta/log.h"

/* owner is written only by the thread holding the lock, and read by any:
 * relaxed atomics, since a thread compares it only with itself, and it
 * wrote its own id (or cleared it) before any later read of its own. */
int db_locked_by_me(struct db *db)
{
	return pthread_equal(__atomic_load_n(&db->owner, __ATOMIC_RELAXED), pthread_self());
}

void db_assert_locked(struct db *db)
{
	assert(db_locked_by_me(db));
	(void)db; /* under NDEBUG */
}

const uint64_t db_hold_bucket_ns[DB_HOLD_NBUCKETS] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000, 10000000,
	25000000, 50000000, 100000000, 250000000, 1000000000,
};

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Set once at start, before any thread takes the lock. */
static int trace_cpu;
static uint64_t trace_log_ns;

void db_trace_holds(int traced, uint64_t log_ns)
{
	trace_cpu = traced;
	trace_log_ns = log_ns;
}

/* The calling thread's time waiting for a CPU so far (the scheduler's
 * run_delay, /proc/thread-self/schedstat's second field): 0 where the
 * kernel does not keep it. */
static uint64_t runqueue_wait_ns(void)
{
	int fd = open("/proc/thread-self/schedstat", O_RDONLY | O_CLOEXEC);
	char buf[96];
	ssize_t n = fd >= 0 ? pread(fd, buf, sizeof buf - 1, 0) : -1;
	if (fd >= 0)
		close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	unsigned long long run, wait;
	return sscanf(buf, "%llu %llu", &run, &wait) == 2 ? wait : 0;
}

/* What the calling thread has used so far. The CPU time comes from the
 * thread's CPU clock, which the scheduler keeps to the nanosecond;
 * getrusage's per-thread times are sampled at the timer tick (4 ms here)
 * and would blur a short hold. */
static struct thread_use thread_use(void)
{
	struct rusage ru;
	struct timespec ts;
	struct thread_use u = { 0, 0, 0, 0 };
	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) == 0)
		u.cpu_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	u.wait_ns = runqueue_wait_ns();
	if (getrusage(RUSAGE_THREAD, &ru) == 0) {
		u.preempted = ru.ru_nivcsw;
		u.blocked = ru.ru_nvcsw;
	}
	return u;
}

static void store_max(uint64_t *max, uint64_t v)
{
	uint64_t cur = __atomic_load_n(max, __ATOMIC_RELAXED);
	while (v > cur && !__atomic_compare_exchange_n(max, &cur, v, 1, __ATOMIC_RELAXED,
	                                               __ATOMIC_RELAXED))
		;
}

static void count_hold(struct db_hold_stats *h, uint64_t ns)
{
	size_t b = 0;
	while (b < DB_HOLD_NBUCKETS && ns > db_hold_bucket_ns[b])
		b++;
	__atomic_fetch_add(&h->buckets[b], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, ns, __ATOMIC_RELAXED);
	/* Only the lock's holder writes max: no other writer to race. */
	if (ns > __atomic_load_n(&h->max_ns, __ATOMIC_RELAXED))
		__atomic_store_n(&h->max_ns, ns, __ATOMIC_RELAXED);
}

void db_hold_stats_read(struct db *db, struct db_hold_stats *out)
{
	for (size_t b = 0; b <= DB_HOLD_NBUCKETS; b++)
		out->buckets[b] = __atomic_load_n(&db->hold.buckets[b], __ATOMIC_RELAXED);
	out->sum_ns = __atomic_load_n(&db->hold.sum_ns, __ATOMIC_RELAXED);
	out->max_ns = __atomic_load_n(&db->hold.max_ns, __ATOMIC_RELAXED);
}

/* Sites are static records of the code: the list only grows, each once. */
static struct db_lock_site *sites;

struct db_lock_site *db_lock_sites(void)
{
	return __atomic_load_n(&sites, __ATOMIC_ACQUIRE);
}

static void list_site(struct db_lock_site *s)
{
	int no = 0;
	if (!__atomic_compare_exchange_n(&s->listed, &no, 1, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		return;
	struct db_lock_site *head = __atomic_load_n(&sites, __ATOMIC_RELAXED);
	do
		s->next = head;
	while (!__atomic_compare_exchange_n(&sites, &head, s, 1, __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* What one hold cost, for the site's counters and the trace log. */
struct hold_cost {
	uint64_t wall_ns;
	struct thread_use use; /* traced holds only */
	int64_t rows;
};

static void count_site(struct db_lock_site *s, const struct hold_cost *c)
{
	if (!__atomic_load_n(&s->listed, __ATOMIC_RELAXED))
		list_site(s);
	__atomic_fetch_add(&s->holds, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&s->wall_ns, c->wall_ns, __ATOMIC_RELAXED);
	store_max(&s->max_wall_ns, c->wall_ns);
	if (c->wall_ns > DB_LONG_HOLD_NS)
		__atomic_fetch_add(&s->long_holds, 1, __ATOMIC_RELAXED);
	if (c->rows > 0)
		store_max(&s->max_rows, (uint64_t)c->rows);
	if (!trace_cpu)
		return;
	__atomic_fetch_add(&s->cpu_ns, c->use.cpu_ns, __ATOMIC_RELAXED);
	store_max(&s->max_cpu_ns, c->use.cpu_ns);
	if (c->use.cpu_ns > DB_LONG_HOLD_NS)
		__atomic_fetch_add(&s->long_cpu_holds, 1, __ATOMIC_RELAXED);
}

/* How long this thread has waited for the lock, in all. */
static __thread uint64_t waited_ns;

uint64_t db_lock_waited_ns(void)
{
	return waited_ns;
}

/* A long hold, and where its time went: running, waiting for a CPU
 * (preempted), or asleep (blocked: I/O, a page to read, a lock). The
 * rest of the wall time is "asleep" only if the thread slept: without a
 * voluntary switch it was neither running nor runnable as the kernel saw
 * it, which in a virtual machine is the host running something else on
 * the vCPU (steal time), or interrupts. */
static void log_hold(const struct db_lock_site *site, const struct hold_cost *c)
{
	uint64_t ran = c->use.cpu_ns + c->use.wait_ns;
	double rest = c->wall_ns > ran ? (c->wall_ns - ran) / 1e6 : 0.0;
	vlog_warn("meta.db", "db lock held %.3f ms by %s (%s:%d): CPU %.3f ms, waiting for a CPU "
	          "%.3f ms (preempted %ld times), %s %.3f ms (%ld times); %lld rows changed",
	          c->wall_ns / 1e6, site->func, site->file, site->line, c->use.cpu_ns / 1e6,
	          c->use.wait_ns / 1e6, c->use.preempted,
	          c->use.blocked ? "asleep" : "stolen or in interrupts", rest, c->use.blocked,
	          (long long)c->rows);
}

static __thread int background;

void db_thread_background(void)
{
	background = 1;
}

int db_contended(struct db *db)
{
	return __atomic_load_n(&db->fg_queued, __ATOMIC_RELAXED) > 0;
}

/* A background thread's turn: park while foreground threads queued
 * before this call still wait, until as many as were queued have been
 * served (the bound). db not locked. */
static void wait_for_foreground(struct db *db)
{
	if (!db_contended(db))
		return;
	ranked_lock(&db->turn_lock, LOCK_LEAF);
	uint64_t served_enough = db->fg_served + (uint64_t)db->fg_queued;
	db->bg_parked++;
	while (db->fg_queued > 0 && db->fg_served < served_enough)
		pthread_cond_wait(&db->turn, &db->turn_lock);
	db->bg_parked--;
	ranked_unlock(&db->turn_lock, LOCK_LEAF);
}

/* A foreground thread that found the lock taken: queue, wait, and tell
 * the parked background threads it was served. */
static void lock_queued(struct db *db)
{
	ranked_lock(&db->turn_lock, LOCK_LEAF);
	__atomic_store_n(&db->fg_queued, db->fg_queued + 1, __ATOMIC_RELAXED);
	ranked_unlock(&db->turn_lock, LOCK_LEAF);
	pthread_mutex_lock(&db->lock);
	ranked_lock(&db->turn_lock, LOCK_LEAF);
	assert(db->fg_queued > 0);
	__atomic_store_n(&db->fg_queued, db->fg_queued - 1, __ATOMIC_RELAXED);
	db->fg_served++;
	if (db->bg_parked)
		pthread_cond_broadcast(&db->turn);
	ranked_unlock(&db->turn_lock, LOCK_LEAF);
}

static void take_lock(struct db *db)
{
	if (background)
		wait_for_foreground(db);
	lock_rank_take(LOCK_DB);
	if (pthread_mutex_trylock(&db->lock) != 0) {
		if (background)
			pthread_mutex_lock(&db->lock);
		else
			lock_queued(db);
	}
}

void db_lock_at(struct db *db, struct db_lock_site *site)
{
	assert(!db_locked_by_me(db));
	if (background)
		db_wait_restart_sync(db);
	uint64_t asked = now_ns(); /* a background thread's turn is part of its wait */
	take_lock(db);
	/* The WAL restart's step may have held the lock while this thread
	 * queued, and begun its sync of meta.db: a background thread's
	 * bounded commit would pay for that sync under the lock. It lets the
	 * lock go and waits for the sync off it (the step runs once per
	 * flusher round, so this ends). */
	while (background && db_restart_syncing(db)) {
		ranked_unlock(&db->lock, LOCK_DB);
		db_wait_restart_sync(db);
		take_lock(db);
	}
	__atomic_store_n(&db->owner, pthread_self(), __ATOMIC_RELAXED);
	db->held_at = site;
	db->held_changes = db->h ? sqlite3_total_changes64(db->h) : 0;
	if (trace_cpu)
		db->held_use = thread_use();
	db->held_since_ns = now_ns();
	waited_ns += db->held_since_ns - asked;
}

void db_unlock(struct db *db)
{
	assert(db_locked_by_me(db));
	struct hold_cost c = { now_ns() - db->held_since_ns, { 0, 0, 0, 0 },
		               db->h ? sqlite3_total_changes64(db->h) - db->held_changes : 0 };
	if (trace_cpu) {
		struct thread_use now = thread_use(), *then = &db->held_use;
		c.use = (struct thread_use){ now.cpu_ns - then->cpu_ns, now.wait_ns - then->wait_ns,
			                     now.preempted - then->preempted, now.blocked - then->blocked };
	}
	struct db_lock_site *site = db->held_at;
	count_hold(&db->hold, c.wall_ns);
	count_site(site, &c);
	__atomic_store_n(&db->owner, (pthread_t)0, __ATOMIC_RELAXED);
	ranked_unlock(&db->lock, LOCK_DB);
	if (trace_log_ns && c.wall_ns > trace_log_ns)
		log_hold(site, &c);
}
