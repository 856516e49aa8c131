#!/usr/bin/env bash
# A volume with many files that have content, and the daemon's open
# descriptors throughout (`bash scripts/bench/manyfiles.sh`, not part of
# make test):
#
#   1. starts the release volfs (VOLFS_BIN) on a fresh state directory in
#      BENCH_DIR, with `ulimit -n MANY_NOFILE` if set;
#   2. writes MANY_FILES files of 100 bytes over MANY_DIRS directories
#      (MANY_JOBS processes), timed;
#   3. takes a snapshot, reads every file back through the snapshot and
#      then writes every file again (each now a layer over the snapshot's);
#   4. shuts down with `volctl shutdown`.
# A sampler reads /proc/PID/fd every second; the report gives the most
# descriptors the daemon had open against the bound it documents (volfs(8),
# RESOURCE LIMITS: min(L/2, 65536) host files, L = the hard RLIMIT_NOFILE).
#
# Environment:
#   MANY_FILES     files (1000000)
#   MANY_DIRS      directories (1000)
#   MANY_JOBS      writing processes (4)
#   MANY_NOFILE    descriptor limit for the daemon (unset: the shell's)
#   BENCH_DIR      where the state directory goes (/var/tmp)
#   VOLFS_BIN      directory holding volfs and volctl (build/bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MANY_FILES=${MANY_FILES:-1000000}
MANY_DIRS=${MANY_DIRS:-1000}
MANY_JOBS=${MANY_JOBS:-4}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")

log() { echo "manyfiles: $*" >&2; }
die() { log "$*"; exit 1; }
for v in MANY_FILES MANY_DIRS MANY_JOBS; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"
[[ -n ${MANY_NOFILE:-} ]] && ulimit -n "$MANY_NOFILE"

work=$(mktemp -d "$BENCH_DIR/volfs-many.XXXXXX")
STATE=$work/state MNT=$work/mnt
mkdir -m 0700 "$STATE"
mkdir "$MNT"
PID='' SAMPLER=''
volctl() { "$BIN/volctl" --state "$STATE" "$@"; }

cleanup() {
    local rc=$?
    set +e
    [[ -n $SAMPLER ]] && kill "$SAMPLER" 2>/dev/null
    if [[ -n $PID ]] && kill -0 "$PID" 2>/dev/null; then
        volctl shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT"
        wait "$PID"
    fi
    mountpoint -q "$MNT" && fusermount3 -u -z "$MNT"
    rm -rf --one-file-system "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$BIN/volfs" -f --state "$STATE" "$MNT" </dev/null >>"$work/volfs.log" 2>&1 &
PID=$!
for ((i = 0; i < 600; i++)); do
    mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && break
    kill -0 "$PID" 2>/dev/null || die "the daemon exited: $(tail -n 3 "$work/volfs.log")"
    sleep 0.1
done
nofile=$(awk '$1 == "Max" && $2 == "open" && $3 == "files" { print $5 }' "/proc/$PID/limits")
bound=$((nofile / 2 < 65536 ? nofile / 2 : 65536))

# The most descriptors seen, rewritten each second.
(
    max=0
    while kill -0 "$PID" 2>/dev/null; do
        n=$(ls "/proc/$PID/fd" 2>/dev/null | wc -l)
        ((n > max)) && max=$n && echo "$max" >"$work/maxfd"
        sleep 1
    done
) &
SAMPLER=$!

volctl create pv many --capacity "$((MANY_FILES * 8 / 1024 + 1024))Mi" >/dev/null
VOL=$MNT/pv/many
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

# files TOP MODE: write (or "check") every file under TOP.
files() {
    python3 - "$1" "$2" "$MANY_FILES" "$MANY_DIRS" "$MANY_JOBS" <<'PY'
import os, sys
from multiprocessing import Pool
top, mode, files, dirs, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
def body(i, gen):
    return ("%d %097d\n" % (gen, i))[:100].encode()
def work(d):
    path = f"{top}/d{d:05d}"
    if mode == "write1":
        os.makedirs(path, exist_ok=True)
    bad = 0
    for i in range(d, files, dirs):
        f = f"{path}/f{i:07d}"
        if mode.startswith("write"):
            with open(f, "wb") as out:
                out.write(body(i, int(mode[-1])))
        elif open(f, "rb").read() != body(i, 1):
            bad += 1
    return bad
with Pool(jobs) as p:
    bad = sum(p.map(work, range(dirs), chunksize=1))
if bad:
    sys.exit(f"{bad} files read back wrong")
PY
}

log "writing $MANY_FILES files of 100 bytes (RLIMIT_NOFILE $nofile: at most $bound host files open)"
t0=$(now); files "$VOL/files" write1; t1=$(now)
write_s=$(secs "$t0" "$t1")
log "written in $write_s s; most descriptors so far $(cat "$work/maxfd")"
t0=$(now); volctl snapshot pv/many s1 >/dev/null; t1=$(now)
snap_s=$(secs "$t0" "$t1")
t0=$(now); files "$MNT/snapshots/default/s1/files" check; t1=$(now)
read_s=$(secs "$t0" "$t1")
t0=$(now); files "$VOL/files" write2; t1=$(now)
rewrite_s=$(secs "$t0" "$t1")
t0=$(now); volctl shutdown >/dev/null; wait "$PID"; t1=$(now)
PID=''
shutdown_s=$(secs "$t0" "$t1")
kill "$SAMPLER" 2>/dev/null || true
SAMPLER=''
maxfd=$(cat "$work/maxfd")
echo "| files | write | snapshot | read all via snapshot | rewrite all | shutdown | most fds open | host-file bound (L=$nofile) |"
echo "|--:|--:|--:|--:|--:|--:|--:|--:|"
echo "| $MANY_FILES | $write_s s | $snap_s s | $read_s s | $rewrite_s s | $shutdown_s s | $maxfd | $bound |"
