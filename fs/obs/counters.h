/*
 * fs/obs/counters.h — the lock-free counters the request path bumps:
 * filesystem requests by kind (a latency histogram and an error count per
 * kind), io_uring submissions and completions, and host device flushes
 * by the file flushed. A leaf: it includes
 * nothing of the project, so every layer may count. The Prometheus
 * exposition of these counters is fs/control/metrics.c.
 *
 * Each request kind's counters sit on their own cache line and are bumped
 * with relaxed atomic adds; readers load them without stopping anyone, so
 * a reader may see a request counted in one family and not yet in another,
 * never a torn value.
 */
#ifndef VOLFS_FS_OBS_COUNTERS_H
#define VOLFS_FS_OBS_COUNTERS_H

#include <stddef.h>
#include <stdint.h>

/* The kinds of filesystem request, named as the kernel's FUSE opcodes are
 * by libfuse's operation table. */
#define COUNTERS_FUSE_OPS(X)                                                                   \
	X(lookup) X(forget) X(forget_multi) X(getattr) X(setattr) X(readlink) X(mknod) X(mkdir)  \
	X(symlink) X(link) X(unlink) X(rmdir) X(rename) X(open) X(create) X(read) X(write)      \
	X(flush) X(release) X(fsync) X(opendir) X(readdir) X(releasedir) X(fsyncdir) X(statfs)  \
	X(setxattr) X(getxattr) X(listxattr) X(removexattr) X(fallocate) X(lseek)

#define COUNTERS_OP_ENUM(name) COUNTERS_OP_##name,
enum counters_op { COUNTERS_FUSE_OPS(COUNTERS_OP_ENUM) COUNTERS_OP_COUNT };
#undef COUNTERS_OP_ENUM

/* Upper bounds of the latency histogram, in nanoseconds (10 µs .. 10 s). */
#define COUNTERS_NBUCKETS 18
extern const uint64_t counters_bucket_ns[COUNTERS_NBUCKETS];

/* What one request kind has counted so far. */
struct counters_op_stats {
	uint64_t buckets[COUNTERS_NBUCKETS + 1]; /* the last one: above every bound (+Inf) */
	uint64_t sum_ns;
	uint64_t errors;
} __attribute__((aligned(64)));

/* Hot path: a few relaxed atomic adds, no lock, no allocation. */
void counters_fuse_done(enum counters_op op, uint64_t nanoseconds, int failed);
void counters_uring_submitted(void);
void counters_uring_completed(void);
/* A read handed to the reader thread: its host bytes were not cached. */
void counters_read_deferred(void);
/* A read whose host bytes were not cached, read by the worker that took it. */
void counters_read_cold_here(void);
uint64_t counters_now_ns(void);

/* Flushes of the host device the daemon asked for, by the file flushed:
 * a data file (fsync/fdatasync of an object's host file) or meta.db's
 * write-ahead log (db_sync). Per fdatasync of a file: 1 and 0 when its
 * size and map could wait for the group commit, 1 and 1 otherwise. */
enum counters_flush { COUNTERS_FLUSH_DATA, COUNTERS_FLUSH_WAL, COUNTERS_FLUSH_KINDS };
void counters_host_flush(enum counters_flush kind);

/* Freezes of a tree (the one instant of a snapshot or a clone): how long
 * its writers were held, the CPU the freezing thread used meanwhile, and
 * the work it did with the gate closed: dirty inodes flushed, meta.db
 * group commits and host device flushes it made (the last two should stay
 * 0: a writer must never wait for a durability wait of the snapshot). */
struct counters_freeze_stats {
	uint64_t buckets[COUNTERS_NBUCKETS + 1]; /* hold time, counters_bucket_ns */
	uint64_t sum_ns, max_ns, cpu_ns;
	uint64_t inodes, commits, flushes;
};
void counters_freeze_done(uint64_t hold_ns, uint64_t cpu_ns, uint64_t inodes, uint64_t commits,
                          uint64_t flushes);
/* Host flushes the calling thread asked for so far (counters_host_flush). */
uint64_t counters_thread_host_flushes(void);
/* The calling thread's CPU time, in nanoseconds. */
uint64_t counters_thread_cpu_ns(void);

/* Readers. */
const char *counters_op_name(enum counters_op op);
void counters_fuse_read(enum counters_op op, struct counters_op_stats *out);
void counters_uring_read(uint64_t *submitted, uint64_t *completed);
uint64_t counters_reads_deferred(void);
uint64_t counters_reads_cold_here(void);
uint64_t counters_host_flushes(enum counters_flush kind);
void counters_freeze_read(struct counters_freeze_stats *out);

#endif
