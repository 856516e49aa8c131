#!/usr/bin/env bash
# dfstall.sh — what `volctl df` costs on a volume with many snapshots, and
# whether a writer waits for it: DF_FILES files of 4 KiB, DF_SNAPS snapshots,
# DF_CHANGES files rewritten; then `volctl df` timed while a writer does
# 16 KiB write + fsync in a loop. Prints df's time, the longest hold of the
# metadata lock before and after df (volfs_db_lock_hold_max_seconds) and the
# writer's slowest fsync during df; then a `volctl metrics` scrape timed
# (after the scrapes above: what a periodic scraper pays).
#   BIN=build/san/bin DF_SNAPS=200 DF_FILES=2000 bash scripts/bench/dfstall.sh
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(realpath "${BIN:-build/release/bin}")
DF_SNAPS=${DF_SNAPS:-200} DF_FILES=${DF_FILES:-2000} DF_CHANGES=${DF_CHANGES:-10}
log() { echo "dfstall: $(date -u +%H:%M:%S) $*" >&2; }
die() { log "$*"; exit 1; }
for v in DF_SNAPS DF_FILES DF_CHANGES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
((DF_CHANGES <= DF_FILES)) || die "DF_CHANGES must be at most DF_FILES"
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"

work=$(mktemp -d "${TMPDIR:-/tmp}/volfs-dfstall.XXXXXX")
STATE=$work/state MNT=$work/mnt DAEMON_LOG=$work/volfs.log
mkdir -m 0700 "$STATE"
mkdir "$MNT"
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
lock_max() { volctl metrics | awk '$1 == "volfs_db_lock_hold_max_seconds" { print $2 }'; }

start_daemon
volctl create pv vol --capacity 4Gi >/dev/null
python3 - "$MNT/pv/vol" "$DF_FILES" <<'PYEOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%07d" % i), "wb") as f:
        f.write(os.urandom(4096))
PYEOF
sync -f "$MNT/pv/vol"
for ((i = 1; i <= DF_SNAPS; i++)); do volctl snapshot pv/vol "s$i" >/dev/null; done
python3 - "$MNT/pv/vol" "$DF_CHANGES" <<'PYEOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%07d" % i), "r+b") as f:
        f.write(os.urandom(4096)); os.fsync(f.fileno())
PYEOF
log "$DF_SNAPS snapshots of $DF_FILES files, $DF_CHANGES rewritten"
before=$(lock_max)
python3 - "$MNT/pv/vol/w" "$work/stop" >"$work/fsync" <<'PYEOF' &
import os, sys, time
worst = 0.0
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
while not os.path.exists(sys.argv[2]):
    t = time.monotonic()
    os.pwrite(fd, os.urandom(16384), 0)
    os.fsync(fd)
    worst = max(worst, time.monotonic() - t)
print("%.3f" % worst)
PYEOF
writer=$!
sleep 1
t0=$(date +%s%N)
volctl df >/dev/null
t1=$(date +%s%N)
touch "$work/stop"
wait "$writer"
s0=$(date +%s%N)
volctl metrics >/dev/null
s1=$(date +%s%N)
echo "snapshots=$DF_SNAPS files=$DF_FILES df_seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')" \
    "lock_hold_max_before_df=$before lock_hold_max_after_df=$(lock_max) writer_slowest_fsync=$(cat "$work/fsync")" \
    "scrape_seconds=$(awk -v a="$s0" -v b="$s1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
