#!/usr/bin/env bash
# Scale run (`make bench-scale`): a volume with a million
# files, the metadata workloads on it, and the daemon's resident memory.
#
#   1. starts the release volfs (VOLFS_BIN) on a fresh state directory in
#      BENCH_DIR and creates one volume;
#   2. creates SCALE_FILES empty files in it, spread over SCALE_DIRS
#      directories (SCALE_JOBS processes, open(O_CREAT|O_EXCL) + close each),
#      timed; then reads the daemon's VmRSS/VmHWM (/proc/PID/status);
#   3. runs fio's filecreate, filestat and filedelete jobs (BENCH_NRFILES
#      files in a new directory of that volume) and unpacks a tarball of
#      BENCH_TAR_SRC into it, caches dropped before each (the figures of
#      run.sh's metadata rows, on a volume that already holds the files);
#   4. stops the daemon, starts it again on the same state directory (an
#      empty inode cache), walks the volume with find, stat()ing every file
#      (each is looked up, so the daemon holds every inode the kernel
#      caches), timed, and reads VmRSS/VmHWM again.
# Writes SCALE_OUT/results.md (and prints it), results.csv, logs.
# Needs root (FUSE mount, drop_caches), fio, python3, tar.
#
# Environment:
#   SCALE_FILES    files to create (1000000)
#   SCALE_DIRS     directories they are spread over (1000)
#   SCALE_JOBS     creating processes (4)
#   BENCH_NRFILES  files of the fio metadata jobs (10000)
#   BENCH_TAR_SRC  directory whose tarball is unpacked (/usr/include)
#   BENCH_DIR      where the state directory goes (/var/tmp)
#   BENCH_CAPACITY capacity of the volume (16Gi)
#   BENCH_DROP_CACHES 0: do not drop caches (1)
#   SCALE_OUT      results directory (build/bench-scale)
#   VOLFS_BIN      directory holding volfs and volctl (build/bin)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/bench
SCALE_FILES=${SCALE_FILES:-1000000}
SCALE_DIRS=${SCALE_DIRS:-1000}
SCALE_JOBS=${SCALE_JOBS:-4}
BENCH_NRFILES=${BENCH_NRFILES:-10000}
BENCH_TAR_SRC=${BENCH_TAR_SRC:-/usr/include}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_CAPACITY=${BENCH_CAPACITY:-16Gi}
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-1}
SCALE_OUT=$(realpath -m "${SCALE_OUT:-$root/build/bench-scale}")
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
export BENCH_NRFILES

log() { echo "bench-scale: $*" >&2; }
die() { log "$*"; exit 1; }

for v in SCALE_FILES SCALE_DIRS SCALE_JOBS BENCH_NRFILES; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
for tool in fio python3 tar fusermount3 mountpoint; do
    command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh)"
done
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"
[[ -d $BENCH_TAR_SRC ]] || die "BENCH_TAR_SRC $BENCH_TAR_SRC is not a directory"
if [[ $BENCH_DROP_CACHES == 1 && ! -w /proc/sys/vm/drop_caches ]]; then
    die "cannot write /proc/sys/vm/drop_caches (run as root, or BENCH_DROP_CACHES=0)"
fi

mkdir -p "$BENCH_DIR" "$SCALE_OUT"
work=$(mktemp -d "$BENCH_DIR/volfs-scale.XXXXXX")
STATE=$work/state MNT=$work/mnt
mkdir -m 0700 "$STATE"
mkdir "$MNT" "$work/logs"
tarball='' DAEMON_LOG=$work/logs/volfs.log
# shellcheck source=daemon.bash
source "$here/daemon.bash"

cleanup() {
    local rc=$?
    set +e
    teardown_daemon
    cp -f "$work"/logs/* "$SCALE_OUT/" 2>/dev/null
    rm -rf --one-file-system "$work"
    [[ -n $tarball ]] && rm -f "$tarball"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# mem KEY: the daemon's VmRSS or VmHWM in KiB.
mem() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

start_daemon
volctl create pv scale --capacity "$BENCH_CAPACITY" >/dev/null
VOL=$MNT/pv/scale
log "volfs $(volctl version 2>/dev/null | sed -n 's/^Server Version: //p') on $MNT; creating $SCALE_FILES files in $SCALE_DIRS directories"

t0=$(now)
python3 - "$VOL/files" "$SCALE_FILES" "$SCALE_DIRS" "$SCALE_JOBS" <<'PY'
import os, sys
from multiprocessing import Pool
top, files, dirs, jobs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
os.mkdir(top)
def make(d):
    path = f"{top}/d{d:05d}"
    os.mkdir(path)
    # files are dealt round-robin to directories: directory d gets d, d+dirs, ...
    for i in range(d, files, dirs):
        os.close(os.open(f"{path}/f{i:07d}", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
with Pool(jobs) as p:
    p.map(make, range(dirs), chunksize=1)
PY
t1=$(now)
create_s=$(secs "$t0" "$t1")
rss_created=$(mem VmRSS) hwm_created=$(mem VmHWM)
log "created in $create_s s; VmRSS $rss_created KiB, VmHWM $hwm_created KiB"

# --- the metadata workloads on the full volume -------------------------------
declare -A fig
for job in filecreate filestat filedelete; do
    [[ $job == filecreate ]] && mkdir "$VOL/meta"
    drop_caches
    json=$work/logs/$job.json
    BENCH_TARGET=$VOL/meta fio --output-format=json --output="$json" "$here/jobs/$job.fio" >/dev/null \
        || die "fio $job failed"
    read -r fig[$job] fig[$job.p99] <<<"$(python3 "$here/report.py" fio files "$json")"
    log "$job: ${fig[$job]} files/s (p99 ${fig[$job.p99]} µs)"
done
tarball=$(mktemp /dev/shm/volfs-scale-tar.XXXXXX)
tar -C "$(dirname "$BENCH_TAR_SRC")" -cf "$tarball" "$(basename "$BENCH_TAR_SRC")"
tar_entries=$(tar -tf "$tarball" | wc -l)
mkdir "$VOL/tar"
drop_caches
t0=$(now)
tar -C "$VOL/tar" -xf "$tarball"
t1=$(now)
fig[untar]=$(secs "$t0" "$t1")
log "untar of $tar_entries entries: ${fig[untar]} s"
rss_work=$(mem VmRSS) hwm_work=$(mem VmHWM)

# --- restart, then a walk that looks up every file ---------------------------
stop_daemon
drop_caches
start_daemon
rss_start=$(mem VmRSS) hwm_start=$(mem VmHWM)
wal_mib=$(du -m "$STATE/meta.db-wal" 2>/dev/null | cut -f1)
t0=$(now)
walked=$(find "$VOL/files" -printf '%s\n' | wc -l)
t1=$(now)
walk_s=$(secs "$t0" "$t1")
rss_walk=$(mem VmRSS) hwm_walk=$(mem VmHWM)
log "restart + find of $walked entries: $walk_s s; VmRSS $rss_walk KiB, VmHWM $hwm_walk KiB"
db_mib=$(du -m "$STATE/meta.db" | cut -f1)
per_inode=$(awk -v r="$rss_walk" -v s="$rss_start" -v n="$walked" 'BEGIN { printf "%.0f", (r - s) * 1024 / n }')

{
    echo "# volfs scale run, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- command: \`make bench-scale\` (SCALE_FILES=$SCALE_FILES, SCALE_DIRS=$SCALE_DIRS, SCALE_JOBS=$SCALE_JOBS, BENCH_NRFILES=$BENCH_NRFILES)"
    echo "- machine: $(nproc) CPUs, $(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo) GiB RAM, kernel $(uname -r); load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "- meta.db after the run: $db_mib MiB"
    echo
    echo "| step | figure |"
    echo "|---|--:|"
    echo "| create $SCALE_FILES files in $SCALE_DIRS directories | $create_s s ($(awk -v n="$SCALE_FILES" -v s="$create_s" 'BEGIN { printf "%.0f", n / s }') files/s) |"
    echo "| daemon VmRSS / VmHWM after creating them | $((rss_created / 1024)) / $((hwm_created / 1024)) MiB |"
    echo "| filecreate ($BENCH_NRFILES files) | ${fig[filecreate]} files/s (p99 ${fig[filecreate.p99]} µs) |"
    echo "| filestat | ${fig[filestat]} files/s (p99 ${fig[filestat.p99]} µs) |"
    echo "| filedelete | ${fig[filedelete]} files/s (p99 ${fig[filedelete.p99]} µs) |"
    echo "| untar ($tar_entries entries) | ${fig[untar]} s |"
    echo "| daemon VmRSS / VmHWM after the workloads | $((rss_work / 1024)) / $((hwm_work / 1024)) MiB |"
    echo "| restart, then find stat()ing $walked entries | $walk_s s |"
    echo "| daemon VmRSS / VmHWM once restarted (meta.db-wal: ${wal_mib:-0} MiB) | $((rss_start / 1024)) / $((hwm_start / 1024)) MiB |"
    echo "| daemon VmRSS / VmHWM after the walk | $((rss_walk / 1024)) / $((hwm_walk / 1024)) MiB |"
    echo "| daemon memory per inode the walk cached | $per_inode bytes |"
} >"$SCALE_OUT/results.md"
{
    echo "step,value"
    echo "files,$SCALE_FILES"
    echo "create_s,$create_s"
    echo "rss_created_kib,$rss_created"
    echo "hwm_created_kib,$hwm_created"
    for k in filecreate filestat filedelete; do echo "$k,${fig[$k]}"; echo "$k.p99_us,${fig[$k.p99]}"; done
    echo "untar_s,${fig[untar]}"
    echo "rss_after_workloads_kib,$rss_work"
    echo "walk_s,$walk_s"
    echo "rss_restart_kib,$rss_start"
    echo "hwm_restart_kib,$hwm_start"
    echo "rss_walk_kib,$rss_walk"
    echo "hwm_walk_kib,$hwm_walk"
    echo "bytes_per_inode,$per_inode"
} >"$SCALE_OUT/results.csv"
cat "$SCALE_OUT/results.md"
