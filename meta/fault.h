/*
 * meta/fault.h — fault injection for the test build (make fault, compiled
 * with -DVOLFS_FAULT_INJECTION): the Nth host write, fsync, SQLite step or
 * checked allocation fails, or the process is killed (SIGKILL, as kill -9
 * would) at a crash point, chosen at run time by the environment:
 *
 *   VOLFS_FAULT=write:17        the 17th write fails (EIO), once
 *   VOLFS_FAULT=fsync:3+        the 3rd fsync and every later one fail
 *   VOLFS_FAULT=sqlite:40,alloc:9   several at once
 *   VOLFS_FAULT=sqlite:1@A,sqlite:1@B  up to four of a kind, each counting
 *                               the calls it matches
 *   VOLFS_FAULT=crash:2@fdatasync   die at the 2nd pass of a crash point
 *                               whose name contains "fdatasync"
 *   VOLFS_FAULT=sqlite:1@FROM dataobjs   count only the calls whose text
 *                               (an SQL statement) contains the text
 *   VOLFS_FAULT=noreply:1@x     the 1st FUSE mkdir of a name containing
 *                               "x" returns without replying
 *   VOLFS_FAULT=hold:1@x        ... is held until the kernel interrupts it
 *                               (then answered EINTR; at most 60 s)
 *   VOLFS_FAULT_COUNT=1         print how many calls of each kind were made
 *                               at exit (to choose the range of N)
 *
 * Each failure is announced on stderr ("volfs: fault injection: ...").
 * In other builds FAULT() is the constant 0 and the hooks compile away.
 * This module includes nothing of the project.
 */
#ifndef VOLFS_META_FAULT_H
#define VOLFS_META_FAULT_H

enum fault_point {
	FAULT_WRITE,
	FAULT_FSYNC,
	FAULT_SQLITE,
	FAULT_ALLOC,
	FAULT_CRASH,
	FAULT_NOREPLY,
	FAULT_HOLD,
	FAULT_POINTS
};

/* Count one call at point p (what: its text, such as an SQL statement, or
 * NULL); true when it must fail. Thread-safe. Defined in the fault build
 * only; declared in every build, so that a source that uses none of the
 * hooks preprocesses to the same text in both and the fault build can take
 * the sanitizer build's object for it (Makefile). */
int fault_fail(enum fault_point p, const char *what);
/* A crash point: the process dies here when its turn comes. */
void fault_crash_point(const char *name);

#ifdef VOLFS_FAULT_INJECTION
#define FAULT(p) fault_fail(p, NULL)
#define FAULT_AT(p, what) fault_fail(p, what)
#define FAULT_CRASH_POINT(name) fault_crash_point(name)
#else
#define FAULT(p) 0
#define FAULT_AT(p, what) 0
#define FAULT_CRASH_POINT(name) ((void)0)
#endif

#endif
