/*
 * meta/space.c — owns the metadata space reserve (see meta/space.h): the
 * preallocated file STATE/meta.reserve, lending its blocks to meta.db's
 * commits, and the rules that keep data and new metadata out of it.
 */
#include "meta/space.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "meta/log.h"

#define MiB (1ull << 20)
/* The reserve is taken back in steps, so that a host short of the whole
 * of it still gives what it can. */
#define REFILL_STEP MiB
/* Data writes spend a budget granted by the last look at the host: an
 * eighth of the room it showed above what data must leave, at most this. */
#define DATA_BUDGET_MAX (64 * MiB)
#define DATA_BUDGET_SHARE 8

struct meta_space {
	int fd;
	uint64_t size;  /* the reserve's full size */
	uint64_t floor; /* host space data must leave free */
	_Atomic uint64_t held;
	_Atomic uint64_t data_budget; /* bytes data may take before the host is asked again */
	_Atomic uint64_t host_looks;  /* fstatvfs calls, for tests */
	_Atomic uint64_t last_free;   /* what the last of them answered */
};

static uint64_t clamp(uint64_t x, uint64_t lo, uint64_t hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

static uint64_t host_free(struct meta_space *s)
{
	struct statvfs sv;
	atomic_fetch_add(&s->host_looks, 1);
	uint64_t free = fstatvfs(s->fd, &sv) < 0 ? 0 : (uint64_t)sv.f_bavail * sv.f_frsize;
	atomic_store(&s->last_free, free);
	return free;
}

static uint64_t allocated(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

int meta_space_open(struct meta_space **out, const char *dir)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/meta.reserve", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	struct statvfs sv;
	if (fd < 0 || fstatvfs(fd, &sv) < 0) {
		int e = errno;
		vlog_error("meta.db", "cannot open the metadata reserve %s: %s", path, strerror(e));
		if (fd >= 0)
			close(fd);
		return -e;
	}
	struct meta_space *s = calloc(1, sizeof *s);
	if (!s) {
		close(fd);
		return -ENOMEM;
	}
	uint64_t total = (uint64_t)sv.f_blocks * sv.f_frsize;
	s->fd = fd;
	s->floor = clamp(total / 50, MiB, 256 * MiB);
	s->size = clamp(total / 50, 4 * MiB, 64 * MiB);
	atomic_store(&s->held, allocated(fd));
	meta_space_refill(s);
	if (meta_space_held(s) < s->size)
		vlog_warn("meta.db", "the host has room for only %llu of the %llu bytes of the "
		          "metadata reserve %s", (unsigned long long)meta_space_held(s),
		          (unsigned long long)s->size, path);
	*out = s;
	return 0;
}

void meta_space_close(struct meta_space *s)
{
	if (!s)
		return;
	close(s->fd);
	free(s);
}

int meta_space_tight(struct meta_space *s)
{
	return host_free(s) < s->floor;
}

int meta_space_admit(struct meta_space *s, int releasing)
{
	if (releasing || !meta_space_tight(s))
		return 0;
	/* Below the floor, new metadata may take half of the reserve: the
	 * other half stays for removals and for writing back what was
	 * already accepted. */
	return host_free(s) + meta_space_held(s) >= s->size / 2 ? 0 : -ENOSPC;
}

/* An extending write asks here once per block run it adds: one fstatvfs
 * each would be a system call on every extending write (a bulk load makes
 * tens of thousands). Instead a look at the host grants a budget, an
 * eighth of the room above what data must leave (at most 64 MiB), which
 * the following writes spend without asking; a write the budget cannot
 * cover looks again. So data never takes more than the last look allowed,
 * less an eighth of that room kept for whatever else writes to the host
 * (meta.db among them) before the next look; near the floor the budget is
 * small and every write looks, as without it. */
static int data_budget_take(struct meta_space *s, uint64_t bytes)
{
	uint64_t b = atomic_load(&s->data_budget);
	while (b >= bytes)
		if (atomic_compare_exchange_weak(&s->data_budget, &b, b - bytes))
			return 1;
	return 0;
}

int meta_space_data_ok(struct meta_space *s, uint64_t bytes)
{
	if (data_budget_take(s, bytes))
		return 0;
	uint64_t held = meta_space_held(s);
	uint64_t need = s->floor + (held < s->size ? s->size - held : 0) + bytes;
	uint64_t free = host_free(s);
	uint64_t room = free >= need ? (free - need) / DATA_BUDGET_SHARE : 0;
	atomic_store(&s->data_budget, room < DATA_BUDGET_MAX ? room : DATA_BUDGET_MAX);
	return free >= need ? 0 : -ENOSPC;
}

/* Every change looks at the host as it starts (meta_space_tight), and
 * asks this as it ends, microseconds later: it takes the host's free
 * space from that look rather than a second fstatvfs. A host that
 * another process fills is seen by the next change, as before; only a
 * budget spanning changes would let one be answered and then lost with
 * its group. */
int meta_space_fits(struct meta_space *s, uint64_t bytes)
{
	/* A quarter: the estimate is rough, and data may still be landing. */
	return bytes <= (atomic_load(&s->last_free) + meta_space_held(s)) / 4;
}

int meta_space_lend(struct meta_space *s, uint64_t bytes)
{
	/* Twice the estimate and a step more, since it is only an estimate;
	 * and only when the commit might not fit beside the reserve, as
	 * lending costs a reallocation afterwards. */
	uint64_t want = 2 * bytes + REFILL_STEP, free = host_free(s), held = meta_space_held(s);
	if (free >= want)
		return 0;
	uint64_t keep = held > want - free ? held - (want - free) : 0;
	keep -= keep % REFILL_STEP;
	/* the reserve's shortfall grows: data must look again */
	atomic_store(&s->data_budget, 0);
	if (ftruncate(s->fd, (off_t)keep) < 0)
		return 0;
	atomic_store(&s->held, allocated(s->fd) < keep ? allocated(s->fd) : keep);
	return 1;
}

void meta_space_refill(struct meta_space *s)
{
	uint64_t held = meta_space_held(s);
	while (held < s->size) {
		uint64_t step = s->size - held < REFILL_STEP ? s->size - held : REFILL_STEP;
		if (fallocate(s->fd, 0, (off_t)held, (off_t)step) < 0)
			break;
		held += step;
	}
	atomic_store(&s->held, allocated(s->fd) < s->size ? allocated(s->fd) : s->size);
}

uint64_t meta_space_held(struct meta_space *s) { return atomic_load(&s->held); }
uint64_t meta_space_host_looks(struct meta_space *s) { return atomic_load(&s->host_looks); }
uint64_t meta_space_size(struct meta_space *s) { return s->size; }
