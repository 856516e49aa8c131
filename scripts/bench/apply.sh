#!/usr/bin/env bash
# Apply at scale: how long `volctl apply` of many claims takes, and how long
# a 4 KiB write+fsync on another volume waits meanwhile (the apply must not
# hold the data path's commit).
#
#   1. starts the release volfs (VOLFS_BIN) on a fresh state directory in
#      BENCH_DIR and creates one volume to write to;
#   2. writes one manifest of BENCH_CLAIMS claims (1Mi each);
#   3. runs a writer doing 4 KiB pwrite+fsync in a loop on that volume,
#      recording each one's latency, while `volctl apply` of the manifest is
#      timed;
#   4. prints the apply's seconds (the answer comes once every claim is
#      provisioned and Bound), the writer's worst and median fsync latency
#      during it and in the BENCH_IDLE seconds before it (the same writer,
#      no apply: what "a few ms" is on this machine now), and the daemon's
#      db-lock holds during it
#      (volfs_db_lock_hold_seconds: how many over 5 ms, and the longest).
# Needs root (FUSE mount) and python3.
#
# Environment:
#   BENCH_CLAIMS   claims in the manifest (10000)
#   BENCH_CLASS    storageClassName of the claims ("" = none; unset = the
#                  default class)
#   BENCH_QUOTA    1: a ResourceQuota on storage and claim count (limits far
#                  above what the claims ask) in their namespace first, so
#                  every claim is admitted against it (0)
#   BENCH_DIR      where the state directory goes (/var/tmp)
#   BENCH_IDLE     seconds the writer runs alone before the apply (3)
#   BENCH_TRACE    MS: run the daemon with VOLFS_TRACE_SLOW=MS (each db-lock
#                  hold's CPU time measured; holds and fsyncs over MS logged),
#                  and print the call sites of the long holds, with the
#                  longest hold's CPU time, and the slow fsyncs' steps
#   BENCH_PERF     FILE: `perf record` the daemon during the apply into FILE
#                  (DWARF call graphs: the release build has no frame pointers)
#   BENCH_KEEP     FILE: keep a copy of the daemon's log there
#   VOLFS_BIN      directory holding volfs and volctl (build/bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_CLAIMS=${BENCH_CLAIMS:-10000}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_QUOTA=${BENCH_QUOTA:-0}
BENCH_IDLE=${BENCH_IDLE:-3}
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")

die() { echo "bench-apply: $*" >&2; exit 1; }
[[ $BENCH_CLAIMS =~ ^[1-9][0-9]*$ ]] || die "BENCH_CLAIMS must be a positive integer"
[[ $BENCH_IDLE =~ ^[0-9]+$ ]] || die "BENCH_IDLE must be a whole number of seconds"
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"

work=$(mktemp -d "$BENCH_DIR/volfs-bench-apply.XXXXXX")
pid=''
cleanup() {
    [[ -n $pid ]] && { "$BIN/volctl" --state "$work/state" shutdown >/dev/null 2>&1 || kill "$pid"; wait "$pid" 2>/dev/null || true; }
    [[ -n ${BENCH_KEEP:-} ]] && cp "$work/volfs.log" "$BENCH_KEEP"; rm -rf --one-file-system "$work"
}
trap cleanup EXIT
mkdir -m 0700 "$work/state"
mkdir "$work/mnt"
VOLFS_TRACE_SLOW=${BENCH_TRACE:-} "$BIN/volfs" -f --state "$work/state" "$work/mnt" >"$work/volfs.log" 2>&1 &
pid=$!
for ((i = 0; i < 100; i++)); do
    mountpoint -q "$work/mnt" && [[ -S $work/state/control.sock ]] && break
    sleep 0.1
done
mountpoint -q "$work/mnt" || die "volfs did not mount; see $work/volfs.log"
"$BIN/volctl" --state "$work/state" create pv writer --capacity 64Mi >/dev/null
if [[ $BENCH_QUOTA == 1 ]]; then
    "$BIN/volctl" --state "$work/state" apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: ResourceQuota
metadata: {name: storage}
spec:
  hard: {requests.storage: 1Ti, persistentvolumeclaims: "1000000"}
YAML
fi

python3 - "$BENCH_CLAIMS" "${BENCH_CLASS-unset}" >"$work/claims.yaml" <<'PY'
import sys
n, cls = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: claim-%05d}" % i)
    print("spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}")
    if cls != "unset":
        print("  storageClassName: %s" % (cls or '""'))
PY

python3 - "$work/mnt/pv/writer/f" "$work/stop" >"$work/fsync.txt" <<'PY' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
buf = b"x" * 4096
while not os.path.exists(sys.argv[2]):
    t = time.monotonic()
    os.pwrite(fd, buf, 0)
    os.fsync(fd)
    print("%.6f %.6f" % (time.time(), time.monotonic() - t), flush=True)
PY
writer=$!
sleep 0.5
idle=$(date +%s.%N)
sleep "$BENCH_IDLE"
# CPU seconds of the daemon (utime+stime): on a loaded machine the wall
# time says more about the neighbours than about volfs.
cpu() { awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' "/proc/$pid/stat"; }
# The db lock's hold histogram and longest hold (volctl metrics), before
# and after: "le max" lines.
# Then the per-site families: "long SITE N", "longcpu SITE N", "maxcpu SITE S",
# "max SITE S" (SITE: function@file:line).
holds() {
    "$BIN/volctl" --state "$work/state" metrics 2>/dev/null | awk '
        /^volfs_db_lock_hold_seconds_bucket/ { match($0, /le="[^"]*"/); print substr($0, RSTART + 4, RLENGTH - 5), $2 }
        /^volfs_db_lock_hold_max_seconds / { print "max", $2 }
        /^volfs_db_lock_site_/ {
            match($0, /function="[^"]*"/); fn = substr($0, RSTART + 10, RLENGTH - 11)
            match($0, /site="[^"]*"/); site = fn "@" substr($0, RSTART + 6, RLENGTH - 7)
            m = $1; sub(/\{.*/, "", m); sub(/^volfs_db_lock_site_/, "", m)
            print m, site, $NF }'
}
holds >"$work/holds0"
cpu0=$(cpu)
perf=''
if [[ -n ${BENCH_PERF:-} ]]; then
    perf record -q -F 499 --call-graph dwarf,32768 -p "$pid" -o "$BENCH_PERF" &
    perf=$!
    sleep 1
fi
start=$(date +%s.%N)
"$BIN/volctl" --state "$work/state" --request-timeout=0 apply -f "$work/claims.yaml" >/dev/null
end=$(date +%s.%N)
[[ -n $perf ]] && { kill -INT "$perf"; wait "$perf" || true; }
cpu1=$(cpu)
touch "$work/stop"
wait "$writer"
holds >"$work/holds1"
BENCH_QUOTA=$BENCH_QUOTA python3 - "$BENCH_CLAIMS" "$start" "$end" "$work/fsync.txt" "$cpu0" "$cpu1" \
    "$work/holds0" "$work/holds1" "$idle" <<'PY'
import os, statistics, sys
n, start, end = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
done = [tuple(map(float, l.split())) for l in open(sys.argv[4]) if len(l.split()) == 2]
# by when each write+fsync ended: alone before the apply, or during it
alone = sorted(d for t, d in done if float(sys.argv[9]) <= t < start)
lat = sorted(d for t, d in done if start <= t <= end)
cpu = float(sys.argv[6]) - float(sys.argv[5])
print("apply of %d claims%s: %.2f s (daemon CPU %.2f s, load average %.1f on %d CPUs)"
      % (n, " into a namespace with a ResourceQuota" if os.environ.get("BENCH_QUOTA") == "1" else "",
         end - start, cpu, os.getloadavg()[0], os.cpu_count()))
if alone:
    print("4 KiB write+fsync alone before the apply: %d done, median %.1f ms, worst %.1f ms"
          % (len(alone), statistics.median(alone) * 1000, alone[-1] * 1000))
if lat:
    print("4 KiB write+fsync on another volume meanwhile: %d done, median %.1f ms, worst %.1f ms"
          % (len(lat), statistics.median(lat) * 1000, lat[-1] * 1000))
def holds(path):
    return dict(l.split() for l in open(path) if len(l.split()) == 2)
h0, h1 = holds(sys.argv[7]), holds(sys.argv[8])
if "+Inf" not in h1:
    sys.exit("(this volfs has no volfs_db_lock_hold_seconds)")
total = float(h1["+Inf"]) - float(h0["+Inf"])
over = total - (float(h1["0.005"]) - float(h0["0.005"]))
print("db lock held %d times meanwhile, %d of them over 5 ms; longest hold since start %.1f ms"
      % (total, over, float(h1["max"]) * 1000))
def sites(path):
    out = {}
    for l in open(path):
        f = l.split()
        if len(f) == 3:
            out.setdefault(f[1], {})[f[0]] = float(f[2])
    return out
s0, s1 = sites(sys.argv[7]), sites(sys.argv[8])
def delta(site, m):
    return s1[site].get(m, 0) - s0.get(site, {}).get(m, 0)
traced = any(v.get("cpu_seconds_total", 0) for v in s1.values())
for site in sorted(s1, key=lambda k: -s1[k].get("max_seconds", 0)):
    long_ = delta(site, "long_holds_total")
    if long_ or (traced and delta(site, "long_cpu_holds_total")):
        print("  %-60s %5d holds over 5 ms (%s), longest %.1f ms%s, most rows changed %d"
              % (site, long_, "%d over 5 ms of CPU" % delta(site, "long_cpu_holds_total") if traced else "CPU not traced",
                 s1[site].get("max_seconds", 0) * 1000,
                 " (CPU: most in one hold %.1f ms, mean %.2f ms)"
                 % (s1[site].get("max_cpu_seconds", 0) * 1000,
                    delta(site, "cpu_seconds_total") * 1000 / max(delta(site, "holds_total"), 1))
                 if traced else "",
                 s1[site].get("max_rows", 0)))
if traced:
    worst = max(s1, key=lambda k: s1[k].get("max_cpu_seconds", 0))
    print("most CPU in one hold since start: %.2f ms, at %s" % (s1[worst]["max_cpu_seconds"] * 1000, worst))
PY
if [[ -n ${BENCH_TRACE:-} ]]; then
    echo "longest db lock holds (the daemon's trace):"
    grep 'db lock held' "$work/volfs.log" | sed 's/.*msg="//; s/"$//' |
        sort -t' ' -k4 -rn | head -8 | sed 's/^/  /'
    echo "slowest fsyncs (the daemon's trace):"
    grep 'fsync took' "$work/volfs.log" | sed 's/.*msg="//; s/"$//' |
        sort -t' ' -k5 -rn | head -5 | sed 's/^/  /'
fi
