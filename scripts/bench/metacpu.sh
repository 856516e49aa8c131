#!/usr/bin/env bash
# The daemon's CPU time per metadata workload: 10,000 creates of empty
# files, their 10,000 unlinks, and one untar of a directory's tarball, each
# on a fresh volfs state. CPU time (utime+stime of the daemon, from
# /proc/PID/stat, after the flusher has had its rounds) counts what the
# daemon spends however loaded the machine is, where elapsed time does not.
#
#   bash scripts/bench/metacpu.sh BINDIR [BINDIR...]
#
# Runs ROUNDS rounds (3), each going through the BINDIRs in turn, and prints
# one line per run and the median per BINDIR and workload (ms of CPU).
# The unlinks start from cold caches (drop_caches, as `make bench` does
# before each run), so each is a LOOKUP, an UNLINK and a FORGET.
# Environment: ROUNDS, NFILES (10000), TAR_SRC (/usr/include), WORK (/var/tmp),
# SNAPSHOT (0; 1: the volume gets one snapshot after its directories are
# made, so that every workload writes a volume that has a snapshot).
# Needs root (FUSE mounts).
set -euo pipefail
ROUNDS=${ROUNDS:-3} NFILES=${NFILES:-10000} TAR_SRC=${TAR_SRC:-/usr/include} SNAPSHOT=${SNAPSHOT:-0}
WORK=$(mktemp -d "${WORK:-/var/tmp}/metacpu.XXXXXX")
die() { echo "metacpu: $*" >&2; exit 1; }
tarball=$WORK/src.tar
tar -C "$(dirname "$TAR_SRC")" -cf "$tarball" "$(basename "$TAR_SRC")"
STATE='' MNT='' PID=''
cleanup() {
    [[ -n $PID ]] && { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; }
    [[ -n $MNT ]] && mountpoint -q "$MNT" && fusermount3 -u -z "$MNT"
    rm -rf "$WORK"
}
trap cleanup EXIT
cpu_ms() { awk '{print ($14 + $15) * 1000 / '"$(getconf CLK_TCK)"'}' "/proc/$PID/stat"; }
settle() { sleep 3; }  # the flusher's rounds (once a second) belong to the work
# run BIN: one daemon, its three workloads; prints "create unlink untar" in ms.
run() {
    local bin=$1
    STATE=$WORK/state MNT=$WORK/mnt
    rm -rf "$STATE"; mkdir -p "$STATE" "$MNT"
    "$bin/volfs" -f --state "$STATE" "$MNT" </dev/null >>"$WORK/daemon.log" 2>&1 &
    PID=$!
    for ((i = 0; i < 600; i++)); do
        mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && break
        sleep 0.1
    done
    "$bin/volctl" --state "$STATE" create pv bench --capacity 16Gi >/dev/null
    local d=$MNT/pv/bench a b c e f
    mkdir "$d/files" "$d/tar"
    if [[ $SNAPSHOT == 1 ]]; then
        "$bin/volctl" --state "$STATE" snapshot pv/bench before >/dev/null ||
            die "cannot snapshot pv/bench"
    fi
    settle
    a=$(cpu_ms)
    python3 -c 'import os,sys
d=sys.argv[1]
for i in range(int(sys.argv[2])): os.close(os.open("%s/f.%d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))' "$d/files" "$NFILES"
    settle; b=$(cpu_ms)
    sync; echo 3 >/proc/sys/vm/drop_caches
    settle; b2=$(cpu_ms)
    python3 -c 'import os,sys
d=sys.argv[1]
for i in range(int(sys.argv[2])): os.unlink("%s/f.%d" % (d, i))' "$d/files" "$NFILES"
    settle; c=$(cpu_ms)
    tar -C "$d/tar" -xf "$tarball"
    settle; e=$(cpu_ms)
    "$bin/volctl" --state "$STATE" shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT"
    wait "$PID" 2>/dev/null || true
    PID=''
    echo "$(echo "$b - $a" | bc) $(echo "$c - $b2" | bc) $(echo "$e - $c" | bc)"
}
declare -A all
for ((r = 1; r <= ROUNDS; r++)); do
    for bin in "$@"; do
        out=$(run "$bin")
        echo "round $r $bin: create unlink untar (ms CPU): $out"
        all[$bin]+="$out"$'\n'
    done
done
# shellcheck source=scripts/bench/medians.bash
source "$(dirname "$0")/medians.bash"
print_medians "create unlink untar, ms CPU" "$@"
