#!/usr/bin/env bash
# fio benchmark suite: `make bench`, `make bench-quick` (QUICK=1).
#
# Compares, on the same disk and in one run, three systems:
#   native          a directory on the host filesystem of BENCH_DIR
#   passthrough_ll  libfuse's passthrough_ll example, built here from the
#                   copy Debian's libfuse3-dev ships, over a directory of the
#                   same filesystem; two mounts: "-o cache=always,writeback"
#                   for buffered, metadata and tar workloads, "-o cache=always"
#                   (no writeback) for O_DIRECT ones, built so that its
#                   backing files are opened without O_DIRECT (BENCH_PTLL_DIO)
#   volfs           a volume (volctl create pv bench) on a volfs daemon this
#                   script starts on a temporary state directory in BENCH_DIR
#   volfs_uring     the same on a second daemon with --fuse-transport=uring
#                   (not run unless named in BENCH_SYSTEMS; switches the
#                   module parameter fuse.enable_uring on for its mount and
#                   back to what it was at the end)
#   volfs_wb        the same on a daemon with --writeback-cache (the kernel
#                   caches writes; not run unless named in BENCH_SYSTEMS)
# on the workloads in scripts/bench/jobs/*.fio plus unpacking a tarball of
# BENCH_TAR_SRC (tar -x, timed). Every figure is the median of BENCH_RUNS runs;
# the runs interleave the systems (run r goes workload by workload, each on
# every system in an order rotated by r). Before every measured run the
# script does `sync` and drops the kernel's caches (echo 3 >
# /proc/sys/vm/drop_caches), so reads start cold and no run inherits dirty
# pages of the one before. Files the reads need are laid out once, untimed.
#
# Writes to BENCH_OUT: raw.csv (every run), results.csv and results.md
# (medians, volfs/native and volfs/passthrough_ll ratios, p99 latencies, the
# issue's targets, and for the FUSE daemons their CPU time per I/O, utime +
# stime from /proc/PID/stat over the run), ratios.png (gnuplot), fio/*.json
# (fio's output of every run), logs/. Prints results.md on stdout, progress on stderr.
# Needs root (FUSE mounts, drop_caches), fio, gnuplot, cc, pkg-config fuse3.
#
# Environment:
#   QUICK            1: a short run (defaults below in brackets), < 3 minutes
#   BENCH_RUNS       runs per workload and system, the median is taken (5 [1])
#   BENCH_RUNTIME    seconds of each time-based fio job (8 [2])
#   BENCH_SEQ_SIZE   file size of the sequential jobs (1G [128M])
#   BENCH_RAND_SIZE  size of each of the two random-I/O files (1G [128M])
#   BENCH_FSYNC_SIZE file size for the fdatasync job (1G [256M])
#   BENCH_NRFILES    files for filecreate/filestat/filedelete (10000 [2000])
#   BENCH_TAR_SRC    directory whose tarball is unpacked (/usr/include [/usr/include/linux])
#   BENCH_WORKLOADS  extended regex; only workloads whose name matches run (all);
#                    "hostwrite" is the host write path measurement at the end
#   BENCH_SYSTEMS    space-separated subset of "native passthrough_ll volfs
#                    volfs_uring volfs_wb" (the first three)
#   BENCH_DIR        where the temporary directories go (/var/tmp); must be
#                    the filesystem you want to measure
#   BENCH_OUT        results directory (build/bench [build/bench-quick])
#   BENCH_CAPACITY   capacity of the volfs volume (16Gi)
#   BENCH_SNAPSHOTS  volfs only: after the files are laid out, take this many
#                    snapshots of the bench volume, overwriting 32 random
#                    4 KiB blocks of every laid-out file before each one, so
#                    the files read and written sit on that many copy-on-write
#                    layers (0)
#   BENCH_DROP_CACHES 0: do not drop caches (for non-root experiments) (1)
#   BENCH_PTLL_DIO   nodirect: passthrough_ll's O_DIRECT mount runs a build
#                    whose backing files are opened without O_DIRECT (the
#                    example as shipped fails every O_DIRECT write with EINVAL,
#                    see below); shipped: the example unchanged (nodirect)
#   VOLFS_BIN        directory holding volfs and volctl (build/bin)
#   PASSTHROUGH_LL_SRC  passthrough_ll.c to build (found with dpkg -L libfuse3-dev)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/bench
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
    BENCH_RUNS=${BENCH_RUNS:-1} BENCH_RUNTIME=${BENCH_RUNTIME:-2}
    BENCH_SEQ_SIZE=${BENCH_SEQ_SIZE:-128M} BENCH_RAND_SIZE=${BENCH_RAND_SIZE:-128M}
    BENCH_FSYNC_SIZE=${BENCH_FSYNC_SIZE:-256M} BENCH_NRFILES=${BENCH_NRFILES:-2000}
    BENCH_TAR_SRC=${BENCH_TAR_SRC:-/usr/include/linux}
    BENCH_OUT=${BENCH_OUT:-$root/build/bench-quick}
else
    BENCH_RUNS=${BENCH_RUNS:-5} BENCH_RUNTIME=${BENCH_RUNTIME:-8}
    BENCH_SEQ_SIZE=${BENCH_SEQ_SIZE:-1G} BENCH_RAND_SIZE=${BENCH_RAND_SIZE:-1G}
    BENCH_FSYNC_SIZE=${BENCH_FSYNC_SIZE:-1G} BENCH_NRFILES=${BENCH_NRFILES:-10000}
    BENCH_TAR_SRC=${BENCH_TAR_SRC:-/usr/include}
    BENCH_OUT=${BENCH_OUT:-$root/build/bench}
fi
BENCH_WORKLOADS=${BENCH_WORKLOADS:-.}
BENCH_SYSTEMS=${BENCH_SYSTEMS:-native passthrough_ll volfs}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
BENCH_CAPACITY=${BENCH_CAPACITY:-16Gi}
BENCH_SNAPSHOTS=${BENCH_SNAPSHOTS:-0}
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-1}
BENCH_PTLL_DIO=${BENCH_PTLL_DIO:-nodirect}
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
BENCH_OUT=$(realpath -m "$BENCH_OUT")
export BENCH_RUNTIME BENCH_SEQ_SIZE BENCH_RAND_SIZE BENCH_FSYNC_SIZE BENCH_NRFILES
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
PTLL_BUF_OPTS=cache=always,writeback
PTLL_DIO_OPTS=cache=always

# On a terminal, a progress line ("run 1/3 seqread-dio on volfs ...") shows
# what runs now; every log line first erases it.
log() {
    [[ -t 2 ]] && printf '\r\033[K' >&2
    echo "bench: $*" >&2
}
progress() {
    [[ -t 2 ]] && printf '\rbench: run %s/%s %s on %s ...' "$@" >&2
    return 0
}
die() { log "$*"; exit 1; }

for tool in fio "$PY" fusermount3 mountpoint cc pkg-config tar; do
    command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh)"
done
command -v gnuplot >/dev/null || log "gnuplot not found: no chart (apt-get install gnuplot-nox)"
[[ $BENCH_RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive integer"
[[ $BENCH_SNAPSHOTS =~ ^[0-9]+$ ]] || die "BENCH_SNAPSHOTS must be a non-negative integer"
[[ -d $BENCH_TAR_SRC ]] || die "BENCH_TAR_SRC $BENCH_TAR_SRC is not a directory"
for s in $BENCH_SYSTEMS; do
    [[ $s =~ ^(native|passthrough_ll|volfs|volfs_uring|volfs_wb)$ ]] || die "unknown system in BENCH_SYSTEMS: $s"
done
want() { [[ " $BENCH_SYSTEMS " == *" $1 "* ]]; }
[[ $BENCH_PTLL_DIO =~ ^(nodirect|shipped)$ ]] || die "BENCH_PTLL_DIO must be nodirect or shipped"
if want volfs || want volfs_uring || want volfs_wb; then
    [[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"
fi
URING_PARAM=/sys/module/fuse/parameters/enable_uring
if want volfs_uring; then
    [[ -w $URING_PARAM ]] || die "volfs_uring: $URING_PARAM is absent or not writable (Linux 6.14+, root)"
fi
if [[ $BENCH_DROP_CACHES == 1 && ! -w /proc/sys/vm/drop_caches ]]; then
    die "cannot write /proc/sys/vm/drop_caches (run as root, or BENCH_DROP_CACHES=0)"
fi

# --- the workloads -----------------------------------------------------------
# name | how (a job file in jobs/, or "tar") | where (buf: a buffered target,
# dio: an O_DIRECT target) | figure (report.py fio KIND) | unit | larger is
# better | target vs passthrough_ll | target vs native
WORKLOADS=(
    "seqwrite-buffered|seqwrite-buffered.fio|buf|bw|MiB/s|1|1.0|0.8"
    "seqread-buffered|seqread-buffered.fio|buf|bw|MiB/s|1|1.0|0.6"
    "seqwrite-direct|seqwrite-direct.fio|dio|bw|MiB/s|1|1.0|-"
    "seqread-direct|seqread-direct.fio|dio|bw|MiB/s|1|1.0|-"
    "randread-psync|randread-psync.fio|dio|iops|IOPS|1|1.0|-"
    "randwrite-psync|randwrite-psync.fio|dio|iops|IOPS|1|1.0|-"
    "randread-uring|randread-uring.fio|dio|iops|IOPS|1|1.5|-"
    "randwrite-uring|randwrite-uring.fio|dio|iops|IOPS|1|1.5|-"
    "randrw-uring|randrw-uring.fio|dio|iops|IOPS|1|1.5|-"
    "fsync|fsync.fio|buf|fsync|IOPS|1|1.0|0.9"
    "filecreate|filecreate.fio|buf|files|files/s|1|1.0|0.3"
    "filestat|filestat.fio|buf|files|files/s|1|1.0|-"
    "filedelete|filedelete.fio|buf|files|files/s|1|1.0|-"
    "untar|tar|buf|-|s|0|1.0|-"
)
selected=()
for w in "${WORKLOADS[@]}"; do
    [[ ${w%%|*} =~ $BENCH_WORKLOADS ]] && selected+=("$w")
done
((${#selected[@]})) || die "no workload matches BENCH_WORKLOADS=$BENCH_WORKLOADS"
systems=()
for s in native passthrough_ll volfs volfs_uring volfs_wb; do
    want "$s" && systems+=("$s")
done

# --- set-up ------------------------------------------------------------------
mkdir -p "$BENCH_DIR"
work=$(mktemp -d "$BENCH_DIR/volfs-bench.XXXXXX")
STATE=$work/state MNT=$work/mnt STATE_U=$work/state-uring MNT_U=$work/mnt-uring
STATE_W=$work/state-wb MNT_W=$work/mnt-wb
mkdir -m 0700 "$STATE" "$STATE_U" "$STATE_W"
mkdir "$MNT" "$MNT_U" "$MNT_W" "$work/native" "$work/pt-src-buf" "$work/pt-src-dio" "$work/pt-buf" "$work/pt-dio"
VOLFS_PID='' VOLFS_U_PID='' VOLFS_W_PID='' PT_BUF_PID='' PT_DIO_PID='' tarball='' uring_param_was=''

volctl() { "$BIN/volctl" --state "$STATE" "$@"; }

# wait_gone PID: wait up to 30 s for PID to exit, then kill -9 it.
wait_gone() {
    local i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$1" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -9 "$1" 2>/dev/null || true
}

cleanup() {
    local rc=$?
    set +e
    if [[ -n $VOLFS_PID ]] && kill -0 "$VOLFS_PID" 2>/dev/null; then
        volctl shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT" 2>/dev/null
        wait_gone "$VOLFS_PID"
    fi
    if [[ -n $VOLFS_U_PID ]] && kill -0 "$VOLFS_U_PID" 2>/dev/null; then
        "$BIN/volctl" --state "$STATE_U" shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT_U" 2>/dev/null
        wait_gone "$VOLFS_U_PID"
    fi
    if [[ -n $VOLFS_W_PID ]] && kill -0 "$VOLFS_W_PID" 2>/dev/null; then
        "$BIN/volctl" --state "$STATE_W" shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT_W" 2>/dev/null
        wait_gone "$VOLFS_W_PID"
    fi
    [[ -n $uring_param_was ]] && echo "$uring_param_was" >"$URING_PARAM"
    local m pid
    for m in pt-buf pt-dio; do
        mountpoint -q "$work/$m" && fusermount3 -u "$work/$m" 2>/dev/null
    done
    for pid in "$PT_BUF_PID" "$PT_DIO_PID"; do
        [[ -n $pid ]] && wait_gone "$pid"
    done
    for m in "$MNT" "$MNT_U" "$MNT_W" "$work/pt-buf" "$work/pt-dio"; do
        mountpoint -q "$m" 2>/dev/null && fusermount3 -u -z "$m" 2>/dev/null
    done
    [[ -d $work/logs ]] && { mkdir -p "$BENCH_OUT/logs"; cp -f "$work"/logs/* "$BENCH_OUT/logs/" 2>/dev/null; }
    rm -rf --one-file-system "$work"
    [[ -n $tarball ]] && rm -f "$tarball"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/logs"
rm -rf "$BENCH_OUT/fio" "$BENCH_OUT/logs"
mkdir -p "$BENCH_OUT/fio"
rm -f "$BENCH_OUT"/{raw.csv,results.csv,results.md,ratios.dat,ratios.gp,ratios.png,header.md,hostwrite.csv}

# wait_mount DIR PID LOG: wait until DIR is a mount point served by PID.
wait_mount() {
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$1" && return 0
        kill -0 "$2" 2>/dev/null || { cat "$3" >&2; die "$1: the daemon exited before mounting"; }
        sleep 0.1
    done
    die "$1 was not mounted within 10 s"
}

ptll=$work/passthrough_ll ptll_dio=$work/passthrough_ll
if want passthrough_ll; then
    src=${PASSTHROUGH_LL_SRC:-$(dpkg -L libfuse3-dev 2>/dev/null | grep -E '/passthrough_ll\.c(\.gz)?$' | head -n 1 || true)}
    [[ -n $src && -f $src ]] || die "passthrough_ll.c not found (libfuse3-dev's examples; or set PASSTHROUGH_LL_SRC)"
    if [[ $src == *.gz ]]; then
        gzip -dc "$src" >"$work/passthrough_ll.c"
    else
        cp "$src" "$work/passthrough_ll.c"
    fi
    # the example includes passthrough_helpers.h from its own directory
    cp "$(dirname "$src")"/passthrough_helpers.h* "$work/" 2>/dev/null || true
    [[ -f $work/passthrough_helpers.h.gz ]] && gzip -d "$work/passthrough_helpers.h.gz"
    # As shipped, the example passes O_DIRECT on to its backing files and then
    # writes them from libfuse's request buffer, which is not aligned for
    # O_DIRECT: every O_DIRECT write fails with EINVAL (with or without
    # writeback). For the O_DIRECT mount it is built with one change, its two
    # open calls for files drop O_DIRECT, so its backing files go through the
    # host page cache as volfs's data files do. BENCH_PTLL_DIO=shipped keeps the
    # example as it is (its O_DIRECT write runs then fail and show as "-").
    sed 's/& ~O_NOFOLLOW/\& ~(O_NOFOLLOW | O_DIRECT)/' "$work/passthrough_ll.c" >"$work/passthrough_ll_nodirect.c"
    [[ $(grep -c 'O_NOFOLLOW | O_DIRECT' "$work/passthrough_ll_nodirect.c") == 2 ]] \
        || die "$src: cannot find passthrough_ll's two file opens to drop O_DIRECT from"
    # shellcheck disable=SC2046 # pkg-config's flags are words
    for v in passthrough_ll passthrough_ll_nodirect; do
        cc -O2 -Wall -I"$work" -o "$work/$v" "$work/$v.c" $(pkg-config --cflags --libs fuse3) \
            || die "building $v from $src failed"
    done
    ptll_dio=$work/passthrough_ll_nodirect
    [[ $BENCH_PTLL_DIO == shipped ]] && ptll_dio=$ptll
    log "passthrough_ll built from $src"
    "$ptll" -f -o "source=$work/pt-src-buf,$PTLL_BUF_OPTS" "$work/pt-buf" </dev/null >"$work/logs/ptll-buf.log" 2>&1 &
    PT_BUF_PID=$!
    "$ptll_dio" -f -o "source=$work/pt-src-dio,$PTLL_DIO_OPTS" "$work/pt-dio" </dev/null >"$work/logs/ptll-dio.log" 2>&1 &
    PT_DIO_PID=$!
    wait_mount "$work/pt-buf" "$PT_BUF_PID" "$work/logs/ptll-buf.log"
    wait_mount "$work/pt-dio" "$PT_DIO_PID" "$work/logs/ptll-dio.log"
fi

# start_volfs PIDVAR STATE MNT LOG [volfs args]: a volfs daemon (its pid in
# the variable PIDVAR, for cleanup) serving STATE at MNT, with the volume
# bench.
start_volfs() {
    local pidvar=$1 state=$2 mnt=$3 log=$4 i
    shift 4
    "$BIN/volfs" -f --state "$state" "$@" "$mnt" </dev/null >"$log" 2>&1 &
    printf -v "$pidvar" %s "$!"
    wait_mount "$mnt" "$!" "$log"
    for ((i = 0; i < 100; i++)); do
        [[ -S $state/control.sock ]] && break
        sleep 0.1
    done
    "$BIN/volctl" --state "$state" create pv bench --capacity "$BENCH_CAPACITY" >/dev/null
}

volfs_version=-
if want volfs; then
    start_volfs VOLFS_PID "$STATE" "$MNT" "$work/logs/volfs.log"
    volfs_version=$(volctl version 2>/dev/null | sed -n 's/^Server Version: //p')
    log "volfs $volfs_version on $MNT, volume bench of $BENCH_CAPACITY"
fi
if want volfs_uring; then
    uring_param_was=$(cat "$URING_PARAM")
    echo Y >"$URING_PARAM"
    start_volfs VOLFS_U_PID "$STATE_U" "$MNT_U" "$work/logs/volfs-uring.log" --fuse-transport=uring
    grep -q 'FUSE transport: uring' "$work/logs/volfs-uring.log" ||
        die "volfs_uring: the daemon does not serve over io_uring: $(grep -i transport "$work/logs/volfs-uring.log")"
    log "volfs with --fuse-transport=uring on $MNT_U"
fi
if want volfs_wb; then
    start_volfs VOLFS_W_PID "$STATE_W" "$MNT_W" "$work/logs/volfs-wb.log" --writeback-cache
    grep -q 'writeback cache: on' "$work/logs/volfs-wb.log" ||
        die "volfs_wb: the kernel's writeback cache is not on: $(grep -i writeback "$work/logs/volfs-wb.log")"
    log "volfs with --writeback-cache on $MNT_W"
fi

# daemon_pid SYSTEM WHERE: the FUSE daemon serving target SYSTEM WHERE (none
# for native).
daemon_pid() {
    case $1 in
        passthrough_ll) if [[ $2 == dio ]]; then echo "$PT_DIO_PID"; else echo "$PT_BUF_PID"; fi ;;
        volfs) echo "$VOLFS_PID" ;;
        volfs_uring) echo "$VOLFS_U_PID" ;;
        volfs_wb) echo "$VOLFS_W_PID" ;;
    esac
}

# cpu_ticks PID: the process's user + system CPU time so far, in clock ticks.
cpu_ticks() {
    [[ -n $1 ]] || { echo 0; return; }
    awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"
}

# target SYSTEM WHERE: the directory a workload uses on SYSTEM.
target() {
    case $1 in
        native) echo "$work/native" ;;
        passthrough_ll) if [[ $2 == dio ]]; then echo "$work/pt-dio"; else echo "$work/pt-buf"; fi ;;
        volfs) echo "$MNT/pv/bench" ;;
        volfs_uring) echo "$MNT_U/pv/bench" ;;
        volfs_wb) echo "$MNT_W/pv/bench" ;;
    esac
}

drop_caches() {
    sync
    if [[ $BENCH_DROP_CACHES == 1 ]]; then
        echo 3 >/proc/sys/vm/drop_caches
    fi
}

needs() { # needs KIND: true if a selected workload reads the laid-out KIND files
    local w
    for w in "${selected[@]}"; do
        case $KIND:${w%%|*} in
            seq:seqread-*) return 0 ;;
            rand:rand*) return 0 ;;
        esac
    done
    return 1
}

t_start=$(date +%s)
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

# --- lay out the files the reads and random jobs use (untimed) ----------------
for s in "${systems[@]}"; do
    dirs=("$(target "$s" buf)")
    [[ $(target "$s" dio) != "${dirs[0]}" ]] && dirs+=("$(target "$s" dio)")
    for d in "${dirs[@]}"; do
        for KIND in seq rand; do
            needs || continue
            # the buffered mount of passthrough_ll only serves seqread-buffered
            [[ $KIND == rand && $d == "$work/pt-buf" ]] && continue
            log "laying out $KIND files in $d"
            BENCH_TARGET=$d fio --section="$KIND" "$here/jobs/layout.fio" >"$work/logs/layout.log" 2>&1 \
                || { cat "$work/logs/layout.log" >&2; die "layout of $KIND in $d failed"; }
        done
    done
done

# --- BENCH_SNAPSHOTS: copy-on-write layers under the laid-out volfs files -----
# Before each snapshot, 32 random 4 KiB blocks of every laid-out file are
# overwritten (O_DIRECT), so each snapshot leaves the next writes a new layer:
# the files end up BENCH_SNAPSHOTS layers deep, each layer holding a few blocks.
if want volfs && ((BENCH_SNAPSHOTS > 0)); then
    vdir=$(target volfs buf)
    laid=()
    for f in "$vdir"/seq.0 "$vdir"/rand.0 "$vdir"/rand.1; do
        [[ -f $f ]] && laid+=("$f")
    done
    log "taking $BENCH_SNAPSHOTS snapshots of the volfs volume (${#laid[@]} laid-out files)"
    for ((i = 1; i <= BENCH_SNAPSHOTS; i++)); do
        if ((${#laid[@]})); then
            jobs=()
            for f in "${laid[@]}"; do
                jobs+=(--name=dirty --filename="$f" --size="$(stat -c %s "$f")")
            done
            fio --rw=randwrite --bs=4k --number_ios=32 --direct=1 --ioengine=psync \
                --fallocate=none --randrepeat=0 "${jobs[@]}" >"$work/logs/snapshots.log" 2>&1 \
                || { cat "$work/logs/snapshots.log" >&2; die "overwriting blocks before snapshot $i failed"; }
        fi
        volctl snapshot pv/bench "bench-$i" >/dev/null || die "volctl snapshot pv/bench bench-$i failed"
    done
fi

if [[ " ${selected[*]} " == *"|tar|"* ]]; then
    tdir=/dev/shm
    [[ -d $tdir && -w $tdir ]] || tdir=$work
    tarball=$(mktemp "$tdir/volfs-bench-tar.XXXXXX")
    tar -C "$(dirname "$BENCH_TAR_SRC")" -cf "$tarball" "$(basename "$BENCH_TAR_SRC")"
    tar_files=$(tar -tf "$tarball" | wc -l)
    log "tarball of $BENCH_TAR_SRC: $(du -h "$tarball" | cut -f1), $tar_files entries, in $tdir"
fi

# --- the runs ------------------------------------------------------------------
echo "workload,system,run,value,p99_us,ops,daemon_cpu_s" >"$BENCH_OUT/raw.csv"
hz=$(getconf CLK_TCK)
{
    printf 'name\tunit\thigher\ttarget_ptll\ttarget_native\n'
    for w in "${selected[@]}"; do
        IFS='|' read -r name _ _ _ unit higher tp tn <<<"$w"
        printf '%s\t%s\t%s\t%s\t%s\n' "$name" "$unit" "$higher" "$tp" "$tn"
    done
} >"$BENCH_OUT/workloads.tsv"

failures=0
nsys=${#systems[@]}
for ((run = 1; run <= BENCH_RUNS; run++)); do
    for w in "${selected[@]}"; do
        IFS='|' read -r name how where kind _ <<<"$w"
        for ((k = 0; k < nsys; k++)); do
            s=${systems[$(((k + run - 1) % nsys))]}
            t=$(target "$s" "$where")
            # untimed preparation
            case $name in
                seqwrite-*) rm -f "$t/seqw.0" ;;
                fsync) rm -f "$t/fsync.0" ;;
                filecreate) rm -rf "$t/meta"; mkdir "$t/meta" ;;
                untar) rm -rf "$t/tar"; mkdir "$t/tar" ;;
            esac
            # filestat and filedelete work on filecreate's files; selected
            # without it, fio's own set-up makes them in a new directory
            [[ $name == file* ]] && { mkdir -p "$t/meta"; t=$t/meta; }
            progress "$run" "$BENCH_RUNS" "$name" "$s"
            drop_caches
            json=$BENCH_OUT/fio/$name.$s.$run.json
            pid=$(daemon_pid "$s" "$where")
            cpu0=$(cpu_ticks "$pid")
            if [[ $how == tar ]]; then
                t0=$(date +%s%N)
                if ! tar -C "$t/tar" -xf "$tarball" 2>"$json.err"; then
                    log "run $run $name on $s: tar failed: $(head -n 3 "$json.err")"
                    failures=$((failures + 1))
                    continue
                fi
                t1=$(date +%s%N)
                rm -f "$json.err"
                figures="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", (b - a) / 1e9 }') - -"
            else
                # The file jobs name their files from inside the directory,
                # as tar -C does and as a container that has the volume
                # bind-mounted does: volfs's MOUNT/pv/<name> prefix would
                # otherwise cost every stat() two more FUSE path components
                # than passthrough_ll's mount (about 25% of a cached stat()).
                dir=.
                [[ $name == file* ]] || dir=$t
                if ! (cd "$t" && BENCH_TARGET=$dir fio --output-format=json --output="$json" "$here/jobs/$how") 2>"$json.err" ||
                    ! figures=$("$PY" "$here/report.py" fio "$kind" "$json" 2>>"$json.err"); then
                    log "run $run $name on $s: fio failed: $(grep -v '^$' "$json.err" | head -n 3 | tr '\n' ' ')"
                    failures=$((failures + 1))
                    continue
                fi
                [[ -s $json.err ]] || rm -f "$json.err"
            fi
            read -r value p99 ops <<<"$figures"
            cpu=-
            [[ -n $pid ]] && cpu=$(awk -v a="$cpu0" -v b="$(cpu_ticks "$pid")" -v hz="$hz" \
                'BEGIN { printf "%.3f", (b - a) / hz }')
            echo "$name,$s,$run,$value,$p99,$ops,$cpu" >>"$BENCH_OUT/raw.csv"
            log "run $run/$BENCH_RUNS $name on $s: $value (p99 $p99 µs)"
        done
    done
done
# the last tar trees and metadata directories go with $work

# --- the host write path ---------------------------------------------------------
# Not a system comparison: what one 4 KiB buffered write to a file of
# BENCH_DIR costs as a plain pwrite, through io_uring as volfs issues it, and
# through io_uring with the thread and its io-wq on one CPU (hostwrite.c),
# the measurement behind docs/performance.md, "What one host write costs".
if [[ hostwrite =~ $BENCH_WORKLOADS ]]; then
    cc -O2 -Wall -o "$work/hostwrite" "$here/hostwrite.c" -luring || die "building hostwrite.c failed"
    echo "run,way,ops_per_s,us_per_op" >"$BENCH_OUT/hostwrite.csv"
    for ((run = 1; run <= BENCH_RUNS; run++)); do
        progress "$run" "$BENCH_RUNS" hostwrite "$BENCH_DIR"
        "$work/hostwrite" "$BENCH_DIR" "$([[ $QUICK == 1 ]] && echo 10000 || echo 50000)" \
            | awk -v r="$run" '{ print r "," $1 "," $2 "," $3 }' >>"$BENCH_OUT/hostwrite.csv" \
            || die "hostwrite failed"
    done
    log "host write path measured ($BENCH_RUNS runs): $BENCH_OUT/hostwrite.csv"
fi

elapsed=$(($(date +%s) - t_start))
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------
mem_gib=$(awk '/^MemTotal:/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
virt="bare metal"
grep -q '^flags.* hypervisor' /proc/cpuinfo && virt="a virtual machine (CPU hypervisor flag)"
container=$(systemd-detect-virt --container 2>/dev/null || true)
[[ -n $container && $container != none ]] && virt="$virt, in a $container container"
fsinfo=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS -T "$BENCH_DIR" | awk '{ print $1 " (" $2 ", " $3 ")" }')
{
    echo "# volfs fio benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- command: \`$([[ $QUICK == 1 ]] && echo 'make bench-quick' || echo 'make bench')\`; BENCH_RUNS=$BENCH_RUNS, BENCH_RUNTIME=${BENCH_RUNTIME}s, seq file $BENCH_SEQ_SIZE, random files 2 × $BENCH_RAND_SIZE, $BENCH_NRFILES files${tar_files:+, tarball of $BENCH_TAR_SRC ($tar_files entries)}"
    echo "- machine: $(nproc) CPUs ($cpu), ${mem_gib} GiB RAM, kernel $(uname -r), $virt"
    echo "- disk: $BENCH_DIR on $fsinfo"
    echo "- versions: volfs $volfs_version, $(fio --version), libfuse $(pkg-config --modversion fuse3)"
    echo "- passthrough_ll: \`-o $PTLL_BUF_OPTS\` for buffered, fsync, metadata and tar workloads; \`-o $PTLL_DIO_OPTS\` for O_DIRECT ones, $([[ $BENCH_PTLL_DIO == shipped ]] && echo 'the example as shipped' || echo 'built to open its backing files without O_DIRECT (as shipped it fails every O_DIRECT write with EINVAL)')"
    ((BENCH_SNAPSHOTS > 0)) && echo "- volfs volume with $BENCH_SNAPSHOTS snapshots taken after lay-out (32 random 4 KiB blocks of each laid-out file overwritten before each)"
    echo "- caches dropped (sync; echo 3 > /proc/sys/vm/drop_caches) before every run: $([[ $BENCH_DROP_CACHES == 1 ]] && echo yes || echo NO)"
    echo "- load average at start: $load_start, at end: $load_end; $elapsed s in all; failed runs: $failures"
    echo
} >"$BENCH_OUT/header.md"
"$PY" "$here/report.py" report "$BENCH_OUT" >"$work/table.md"
[[ -f $BENCH_OUT/hostwrite.csv ]] && "$PY" "$here/report.py" hostwrite "$BENCH_OUT" >>"$work/table.md"
cat "$BENCH_OUT/header.md" "$work/table.md" >"$BENCH_OUT/results.md"
cat "$BENCH_OUT/results.md"
log "results in $BENCH_OUT (results.md, results.csv, raw.csv$([[ -f $BENCH_OUT/ratios.png ]] && echo ', ratios.png'))"
((failures == 0)) || { log "$failures runs failed; see $BENCH_OUT/fio/*.err"; exit 1; }
