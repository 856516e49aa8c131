#!/usr/bin/env bash
# scripts/bench/snapbytes.sh OLD_BIN NEW_BIN — what counting the bytes a
# volume's snapshots hold costs right after a daemon start, for two builds
# on the same state directory, interleaved (the order alternates from round
# to round): `volctl df` (SNAPSHOTS) and one scrape of the metrics endpoint
# (volfs_volume_snapshot_bytes), each the first after a fresh start, timed
# with the daemon's CPU time (user + system) spent meanwhile, and the
# longest hold of the metadata lock (volfs_db_lock_hold_max_seconds).
#
# The state is made once, with NEW_BIN: SB_FILES files of 4 KiB (20000),
# then SB_SNAPS snapshots (200) with SB_CHANGES files (100) rewritten
# after each. Both builds must read its schema. Prints medians and min–max
# per build and writes every sample to OUT/snapbytes.csv. Runs as root.
#
# Environment: SB_FILES, SB_SNAPS, SB_CHANGES, ROUNDS (3), BENCH_DIR
# (/var/tmp), OUT (build/bench-snapbytes), SB_PORT (metrics port, 19464).
set -euo pipefail

(($# == 2)) || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/bench
OLD=$(realpath "$1") NEW=$(realpath "$2")
SB_FILES=${SB_FILES:-20000} SB_SNAPS=${SB_SNAPS:-200} SB_CHANGES=${SB_CHANGES:-100}
ROUNDS=${ROUNDS:-3} SB_PORT=${SB_PORT:-19464}
OUT=$(realpath -m "${OUT:-$root/build/bench-snapbytes}")
log() { echo "snapbytes: $(date -u +%H:%M:%S) $*" >&2; }
die() { log "$*"; exit 1; }
for v in SB_FILES SB_SNAPS SB_CHANGES ROUNDS SB_PORT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((SB_CHANGES <= SB_FILES)) || die "SB_CHANGES must be at most SB_FILES"
for b in "$OLD" "$NEW"; do
    [[ -x $b/volfs && -x $b/volctl ]] || die "no volfs/volctl in $b"
done
command -v curl >/dev/null || die "curl not found"

mkdir -p "$OUT"
work=$(mktemp -d "${BENCH_DIR:-/var/tmp}/volfs-snapbytes.XXXXXX")
STATE=$work/state MNT=$work/mnt DAEMON_LOG=$OUT/volfs.log
mkdir -m 0700 "$STATE"
mkdir "$MNT"
BIN=$NEW
# shellcheck source=daemon.bash
source "$here/daemon.bash"
cleanup() {
    local rc=$?
    set +e
    teardown_daemon
    rm -rf --one-file-system "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start BIN: a daemon of that build on the state, serving the metrics.
start() {
    BIN=$1
    start_daemon --metrics-listen "$SB_PORT"
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$PID/stat"; }
now_us() { echo $(($(date +%s%N) / 1000)); }
lock_max() {
    curl -sf "http://127.0.0.1:$SB_PORT/metrics" | awk '$1 == "volfs_db_lock_hold_max_seconds" { print $2 }'
}

# measure BUILD NAME WHAT CMD...: CMD run right after a fresh start of
# BUILD; its wall time, the daemon's CPU time and the longest lock hold
# (after CMD, so a scrape's own holds are in it) go to the CSV.
measure() {
    local build=$1 name=$2 what=$3 t0 c0 ms cpu hold
    shift 3
    start "$build"
    c0=$(cpu_ticks)
    t0=$(now_us)
    "$@" >"$work/out"
    ms=$(awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1000 }')
    cpu=$(awk -v t=$(($(cpu_ticks) - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.0f", t * 1000 / hz }')
    hold=$(lock_max)
    stop_daemon
    echo "$name,$what,$ms,$cpu,$hold" >>"$OUT/snapbytes.csv"
    log "$name $what: $ms ms, daemon CPU $cpu ms, longest lock hold $hold s"
}

log "making $SB_FILES files, $SB_SNAPS snapshots, $SB_CHANGES files rewritten after each"
start "$NEW"
volctl create pv vol --capacity 16Gi >/dev/null
python3 - "$MNT/pv/vol" "$SB_FILES" <<'PYEOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%07d" % i), "wb") as f:
        f.write(os.urandom(4096))
PYEOF
sync -f "$MNT/pv/vol"
for ((i = 1; i <= SB_SNAPS; i++)); do
    volctl snapshot pv/vol "s$i" >/dev/null
    python3 - "$MNT/pv/vol" "$SB_FILES" "$SB_CHANGES" "$i" <<'PYEOF'
import os, sys
n, k, i = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
for j in range(k):
    with open(os.path.join(sys.argv[1], "f%07d" % ((i * k + j) % n)), "r+b") as f:
        f.write(os.urandom(4096))
PYEOF
done
sync -f "$MNT/pv/vol"
stop_daemon

echo "build,what,ms,daemon_cpu_ms,lock_hold_max_s" >"$OUT/snapbytes.csv"
df_cmd() { volctl df -o json; }
scrape_cmd() { curl -sf "http://127.0.0.1:$SB_PORT/metrics"; }
for ((r = 1; r <= ROUNDS; r++)); do
    order=(old new)
    ((r % 2 == 0)) && order=(new old)
    for name in "${order[@]}"; do
        b=$OLD
        [[ $name == new ]] && b=$NEW
        measure "$b" "$name" df df_cmd
        grep -q snapshotBytes "$work/out" || die "$name: df printed no snapshotBytes"
        measure "$b" "$name" scrape scrape_cmd
        grep -q '^volfs_volume_snapshot_bytes{' "$work/out" || die "$name: no volfs_volume_snapshot_bytes"
    done
done

# median (min–max) of column COL for build and what
summary() {
    awk -F, -v b="$1" -v w="$2" -v c="$3" 'NR > 1 && $1 == b && $2 == w { print $c }' "$OUT/snapbytes.csv" |
        sort -g | awk '{ v[NR] = $1 } END { printf "%s (%s–%s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
{
    echo "$SB_SNAPS snapshots of $SB_FILES files, $SB_CHANGES rewritten after each; first df and first scrape after a start; $ROUNDS rounds"
    echo
    echo "| build | what | wall ms | daemon CPU ms | longest lock hold s |"
    echo "|---|---|---:|---:|---:|"
    for name in old new; do
        for what in df scrape; do
            echo "| $name | $what | $(summary "$name" "$what" 3) | $(summary "$name" "$what" 4) | $(summary "$name" "$what" 5) |"
        done
    done
} | tee "$OUT/snapbytes.md"
