#!/usr/bin/env python3
"""Which GETATTR replies the kernel should drop (fs/vfs/kview.c), judged on a trace.

  kview-rules.py TRACE

TRACE is `strace -f -y -e trace=lseek,pwrite64 -o TRACE -p PID...` of every
process writing or seeking a set of files (for PostgreSQL: the postmaster and
all its children, attached with -f before the workload starts). The kernel
keeps one inode per file, shared by all processes, so each file's writes and
lseek(SEEK_END)s are taken in trace order whoever made them.

Replays each file's events against the kernel's behaviour without the
writeback cache: a write marks the size stale, so the next lseek(SEEK_END)
sends a GETATTR; an accepted reply makes the attributes current (later
lseeks send nothing) and clears S_NOSEC, so the next write sends a GETXATTR
first; a dropped reply leaves the attributes stale and S_NOSEC set. Prints
how many lseeks fall between consecutive writes of one file, and the GETATTR +
GETXATTR requests under each rule, and how many of them the processes that
call lseek(SEEK_END) wait for (for PostgreSQL: the backends; the background
writer and checkpointer write without seeking):

  end-of-file   drop the first GETATTR after a write that ended the file
                (volfs's rule); every other reply is taken
  every-write   drop the first GETATTR after any write
  sticky        drop every GETATTR while only the kernel's writes changed
                the file

Writes are taken as mid-file unless they start at the size the last
lseek(SEEK_END) of that file returned (an extension); a file's first write
counts as mid-file. Only the SEEK_END lseeks count; other whences do not
ask for the size.
"""
import collections
import re
import sys

LINE = re.compile(r"^(\d+)\s+(lseek|pwrite64)\(\d+<([^>]*)>, (.*)")
RULES = ("end-of-file", "every-write", "sticky")


def events(path):
    """Per file, (event, pid) in order: 'L' lseek(SEEK_END), 'E' extension, 'W' other write."""
    ev = collections.defaultdict(list)
    size = {}
    for line in open(path, errors="replace"):
        m = LINE.match(line)
        if not m:
            continue
        pid, op, name, rest = m.groups()
        if op == "lseek":
            if "SEEK_END" in rest:
                r = re.search(r"= (\d+)", rest)
                size[name] = int(r.group(1)) if r else None
                ev[name].append(("L", pid))
        else:
            off = re.search(r", \d+, (\d+)(?:\) = | <unfinished)", rest)
            ext = off is not None and size.get(name) == int(off.group(1))
            ev[name].append(("E" if ext else "W", pid))
    return ev


def replay(seq, rule, seekers):
    """GETATTR, GETXATTR and seekers' requests one file's events cost under rule."""
    stale = nosec = kept = ended = written = False
    getattr_ = getxattr = waited = 0
    for e, pid in seq:
        if e in "EW":
            if not nosec:
                getxattr += 1
                waited += pid in seekers
                nosec = True
            stale = written = True
            ended |= e == "E"
            continue
        if not stale:
            continue
        getattr_ += 1
        waited += pid in seekers
        if rule == "end-of-file":
            drop = ended
        elif rule == "every-write":
            drop = written
        else:
            drop = written or kept
        ended = written = False
        kept = drop
        if not drop:
            stale = nosec = False
    return getattr_, getxattr, waited


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: kview-rules.py STRACE_OUTPUT")
    ev = events(sys.argv[1])
    gaps = collections.Counter()
    seekers = {pid for seq in ev.values() for e, pid in seq if e == "L"}
    totals = {r: [0, 0, 0] for r in RULES}
    for seq in ev.values():
        s = "".join(e for e, _ in seq)
        for chunk in re.split("[EW]", s)[1:-1]:
            gaps[min(len(chunk), 5)] += 1
        for r in RULES:
            totals[r] = [t + n for t, n in zip(totals[r], replay(seq, r, seekers))]
    print("lseeks between consecutive writes of a file: " +
          ", ".join("%s%s: %d" % (k, "+" if k == 5 else "", n) for k, n in sorted(gaps.items())))
    for r in RULES:
        a, x, w = totals[r]
        print("%-12s %7d GETATTR %7d GETXATTR %7d requests, %7d by seekers" % (r, a, x, a + x, w))


if __name__ == "__main__":
    main()
