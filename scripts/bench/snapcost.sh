#!/usr/bin/env bash
# Cost of snapshots in files (run by `make bench-scale` after scale.sh):
# for volumes of SNAPCOST_FILES empty files each (default "10 100000"),
# the median time (volctl round trip included) of a snapshot, a clone, a
# restore and a snapshot deletion; the growth of meta.db per snapshot (used
# pages, read with sqlite3 while the daemon runs); and the longest latency
# of a 4 KiB write+fdatasync loop running in the volume while a snapshot is
# taken. These are the figures that metadata copy-on-write
# (docs/design.md) is to bring to constant time.
# Writes SNAPCOST_OUT/snapcost.md (and prints it). Needs root (FUSE).
#
# Environment:
#   SNAPCOST_FILES  volume sizes in files, space-separated ("10 100000")
#   SNAPCOST_RUNS   repetitions per operation, median taken (3)
#   BENCH_DIR       where the state directory goes (/var/tmp)
#   SNAPCOST_OUT    results directory (build/bench-scale)
#   VOLFS_BIN       directory holding volfs and volctl (build/bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SNAPCOST_FILES=${SNAPCOST_FILES:-10 100000}
SNAPCOST_RUNS=${SNAPCOST_RUNS:-3}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
OUT=$(realpath -m "${SNAPCOST_OUT:-$root/build/bench-scale}")
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")

log() { echo "snapcost: $*" >&2; }
die() { log "$*"; exit 1; }
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"
[[ $SNAPCOST_RUNS =~ ^[1-9][0-9]*$ ]] || die "SNAPCOST_RUNS must be a positive integer"
for n in $SNAPCOST_FILES; do
    [[ $n =~ ^[1-9][0-9]*$ ]] || die "SNAPCOST_FILES: $n is not a positive integer"
done

mkdir -p "$BENCH_DIR" "$OUT"
work=$(mktemp -d "$BENCH_DIR/volfs-snapcost.XXXXXX")
STATE=$work/state MNT=$work/mnt
mkdir -m 0700 "$STATE"
mkdir "$MNT"
PID=''
volctl() { "$BIN/volctl" --state "$STATE" "$@"; }

cleanup() {
    local rc=$?
    set +e
    if [[ -n $PID ]]; then
        volctl shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT"
        for ((i = 0; i < 600; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
    fi
    mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u -z "$MNT"
    rm -rf --one-file-system "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN/volfs" -f --state "$STATE" "$MNT" </dev/null >"$work/volfs.log" 2>&1 &
PID=$!
for ((i = 0; i < 600; i++)); do
    mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && break
    kill -0 "$PID" 2>/dev/null || die "the daemon exited: $(tail -n 3 "$work/volfs.log")"
    sleep 0.1
done
mountpoint -q "$MNT" || die "$MNT was not mounted within 60 s"

now_us() { echo $(($(date +%s%N) / 1000)); }

# timed CMD...: run it, print its wall time in ms (one decimal).
timed() {
    local t0
    t0=$(now_us)
    "$@" >/dev/null
    awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1000 }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# used bytes of meta.db (pages in use, WAL included: sqlite reads it)
meta_bytes() {
    python3 - "$STATE/meta.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=60)
pc, = db.execute("PRAGMA page_count").fetchone()
fl, = db.execute("PRAGMA freelist_count").fetchone()
ps, = db.execute("PRAGMA page_size").fetchone()
print((pc - fl) * ps)
PYEOF
}

fill() {
    python3 - "$1" "$2" <<'PYEOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
per = 1000
for i in range(n):
    d = os.path.join(root, "d%04d" % (i // per))
    if i % per == 0:
        os.mkdir(d)
    os.close(os.open(os.path.join(d, "f%06d" % i), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
PYEOF
}

# stall PV: the longest 4 KiB write+fdatasync latency (ms) of a writer in
# PV while one snapshot of it is taken.
stall() {
    local pv=$1
    python3 - "$MNT/pv/$pv/writer" "$work/stop" >"$work/stall" <<'PYEOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
buf, worst, i = b"x" * 4096, 0.0, 0
while not os.path.exists(sys.argv[2]):
    t = time.monotonic()
    os.pwrite(fd, buf, (i % 256) * 4096)
    os.fdatasync(fd)
    worst = max(worst, time.monotonic() - t)
    i += 1
print("%.1f" % (worst * 1000))
PYEOF
    local wpid=$!
    sleep 1
    volctl snapshot "pv/$pv" "$pv-stall" >/dev/null
    sleep 1
    touch "$work/stop"
    wait "$wpid"
    rm -f "$work/stop"
    volctl delete vs "$pv-stall" >/dev/null
    cat "$work/stall"
}

{
    echo "| files | snapshot ms | clone ms | restore ms | delete snapshot ms | meta.db per snapshot | writer stall ms |"
    echo "|---:|---:|---:|---:|---:|---:|---:|"
} >"$OUT/snapcost.md"

for n in $SNAPCOST_FILES; do
    pv=v$n
    volctl create pv "$pv" --capacity 4Gi >/dev/null
    log "$pv: creating $n files"
    fill "$MNT/pv/$pv" "$n"
    sync -f "$MNT/pv/$pv"
    snap=() clone=() restore=() del=() growth=()
    for ((k = 1; k <= SNAPCOST_RUNS; k++)); do
        m0=$(meta_bytes)
        snap+=("$(timed volctl snapshot "pv/$pv" "$pv-s$k")")
        growth+=($(($(meta_bytes) - m0)))
        clone+=("$(timed volctl clone "pv/$pv" "pv/$pv-c$k")")
        restore+=("$(timed volctl restore "$pv-s$k" "pv/$pv-r$k")")
    done
    for ((k = 1; k <= SNAPCOST_RUNS; k++)); do
        volctl delete pv "$pv-c$k" >/dev/null
        volctl delete pv "$pv-r$k" >/dev/null
        del+=("$(timed volctl delete vs "$pv-s$k")")
    done
    st=$(stall "$pv")
    g=$(median "${growth[@]}")
    printf '| %s | %s | %s | %s | %s | %s KiB | %s |\n' "$n" "$(median "${snap[@]}")" \
        "$(median "${clone[@]}")" "$(median "${restore[@]}")" "$(median "${del[@]}")" \
        "$((g / 1024))" "$st" >>"$OUT/snapcost.md"
    volctl delete pv "$pv" >/dev/null
done
cat "$OUT/snapcost.md"
