#!/usr/bin/env bash
# What snapshots cost in files (run by `make bench-scale` after scale.sh):
# the targets of metadata copy-on-write (docs/design.md), measured on the
# release daemon through volctl (CLI round trip included). Steps
# (BENCH_STEPS, all by default):
#
#   ops    on a volume of BENCH_SMALL_FILES files and one of BENCH_FILES
#          files (BENCH_FILE_BYTES bytes each, BENCH_PER to a directory),
#          BENCH_RUNS times each: `volctl snapshot`, `volctl clone`,
#          `volctl restore`, then each `volctl delete vs` (the clones and
#          restores are deleted with their source, untimed); medians,
#          min–max, and the ratio of the big volume to the small one;
#   meta   on the big volume: meta.db bytes added by one snapshot before
#          anything changes, and by a snapshot plus k changed files
#          (k = 10, 100, 1000, at most BENCH_FILES; each file's first
#          byte overwritten and fsync'd);
#   stall  on both volumes, once no deleted snapshot's rows are pending,
#          BENCH_RUNS times: a writer doing 4 KiB pwrite + fdatasync for 2 s
#          on a file of the host filesystem beside the state directory (the
#          host's own fdatasync, the baseline), then on the volume for 2 s
#          without a snapshot, then from 1 s before a snapshot to 1 s after
#          it; its longest write and its p99 in each window; the daemon's
#          freeze metrics (writers held, the work done meanwhile); then the
#          snapshots deleted, the host and volume writers for 2 s each while
#          the reclaimer moves their rows, and the time until none is
#          pending;
#   snaps  two volumes of BENCH_SNAP_FILES files, "live" and "plain";
#          BENCH_SNAPS times: a snapshot of live, then the same
#          BENCH_SNAP_CHANGES files changed in both; then, BENCH_RUNS
#          rounds, each operation on both volumes interleaved file by file,
#          cold caches before each: stat of BENCH_SAMPLE random files,
#          readdir of BENCH_READDIRS random directories, open+read of
#          BENCH_SAMPLE random files (each round's mean and per-file median
#          on each volume; the median and spread over rounds of their
#          live/plain ratios; the same before the first snapshot as a
#          calibration, and the one over the other); SQLite page-cache
#          misses per cold stat of each volume; meta.db growth per
#          snapshot, over the first and the last tenth of them, and the
#          lineages' ancestors' share; then
#          the snapshots deleted in random order (or oldest first, as a
#          schedule's retention does: BENCH_DELETE_ORDER), timed, background
#          reclaim awaited (`volctl df`'s reclaimPending at 0),
#          `volctl check`, meta.db against before the snapshots, and at the
#          end `volfs --check` on the stopped state directory.
#
# meta.db bytes are the pages in use, (page_count - freelist_count) *
# page_size, read by a read-only SQLite connection while the daemon runs:
# it sees the WAL, so no checkpoint is needed, and freed pages that the
# file keeps do not count.
#
# Writes BENCH_OUT/scale-<UTC time>.md (printed at the end) and, beside
# it, scale-<UTC time>/raw.csv (every measurement), the daemon's log and
# the checks' output. Needs root (FUSE, drop_caches), cc, python3.
#
# Environment:
#   BENCH_FILES        files of the big volume (1000000)
#   BENCH_SMALL_FILES  files of the small volume (10)
#   BENCH_FILE_BYTES   bytes in each file (1)
#   BENCH_PER          files per directory (1000)
#   BENCH_JOBS         threads creating the files (4)
#   BENCH_RUNS         repetitions of each timed operation (5)
#   BENCH_SNAPS        snapshots of the snaps step (1000)
#   BENCH_SNAP_FILES   files of each volume of the snaps step (100000)
#   BENCH_SNAP_CHANGES files changed between two snapshots (100)
#   BENCH_SAMPLE       random files stat()ed and read per round (1000)
#   BENCH_READDIRS     random directories read per round (20)
#   BENCH_STEPS        steps to run ("ops meta stall snaps")
#   BENCH_RECLAIM_TIMEOUT  seconds to wait for background reclaim (1800)
#   BENCH_DELETE_ORDER random, or oldest: the snaps step's deletion order (random)
#   BENCH_KEEP_DB      1: keep copies of meta.db before the snapshots, with
#                      them, and after their deletion, as scale-<UTC
#                      time>/meta-{base,snapped,after}.db (0)
#   BENCH_DROP_CACHES  0: do not drop caches (1)
#   BENCH_DIR          where the state directory goes (/var/tmp)
#   BENCH_OUT          results directory (build/bench)
#   VOLFS_BIN          directory holding volfs and volctl (build/bin)
#   VOLFS_DB_CACHE_MIB the daemon's SQLite page cache (volfs(8); 256 MiB)
set -euo pipefail
# a failing command inside $(...) ends that substitution with no output, and
# record refuses an empty value: no failed measurement becomes a number
shopt -s inherit_errexit

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
here=$root/scripts/bench
BENCH_FILES=${BENCH_FILES:-1000000}
BENCH_SMALL_FILES=${BENCH_SMALL_FILES:-10}
BENCH_FILE_BYTES=${BENCH_FILE_BYTES:-1}
BENCH_PER=${BENCH_PER:-1000}
BENCH_JOBS=${BENCH_JOBS:-4}
BENCH_RUNS=${BENCH_RUNS:-5}
BENCH_SNAPS=${BENCH_SNAPS:-1000}
BENCH_SNAP_FILES=${BENCH_SNAP_FILES:-100000}
BENCH_SNAP_CHANGES=${BENCH_SNAP_CHANGES:-100}
BENCH_SAMPLE=${BENCH_SAMPLE:-1000}
BENCH_READDIRS=${BENCH_READDIRS:-20}
BENCH_STEPS=${BENCH_STEPS:-ops meta stall snaps}
BENCH_RECLAIM_TIMEOUT=${BENCH_RECLAIM_TIMEOUT:-1800}
DELETE_ORDER=${BENCH_DELETE_ORDER:-random}
[[ $DELETE_ORDER == random || $DELETE_ORDER == oldest ]] || { echo "snapcost: BENCH_DELETE_ORDER must be random or oldest, not $DELETE_ORDER" >&2; exit 2; }
BENCH_DROP_CACHES=${BENCH_DROP_CACHES:-1}
BENCH_DIR=${BENCH_DIR:-/var/tmp}
OUT=$(realpath -m "${BENCH_OUT:-$root/build/bench}")
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")

log() { echo "snapcost: $(date -u +%H:%M:%S) $*" >&2; }
die() { log "$*"; exit 1; }
for v in BENCH_FILES BENCH_SMALL_FILES BENCH_PER BENCH_JOBS BENCH_RUNS BENCH_SNAPS \
    BENCH_SNAP_FILES BENCH_SNAP_CHANGES BENCH_SAMPLE BENCH_READDIRS BENCH_RECLAIM_TIMEOUT; do
    [[ ${!v} =~ ^[1-9][0-9]*$ ]] || die "$v must be a positive integer"
done
[[ $BENCH_FILE_BYTES =~ ^[0-9]+$ ]] && ((BENCH_FILE_BYTES <= 4096)) ||
    die "BENCH_FILE_BYTES must be an integer from 0 to 4096"
for s in $BENCH_STEPS; do
    [[ $s =~ ^(ops|meta|stall|snaps)$ ]] || die "BENCH_STEPS: unknown step $s (ops meta stall snaps)"
done
for tool in cc python3 fusermount3 mountpoint shuf strace; do
    command -v "$tool" >/dev/null || die "$tool not found (bash scripts/install-deps.sh)"
done
[[ -x $BIN/volfs && -x $BIN/volctl ]] || die "no volfs/volctl in $BIN; run make"
if [[ $BENCH_DROP_CACHES == 1 && ! -w /proc/sys/vm/drop_caches ]]; then
    die "cannot write /proc/sys/vm/drop_caches (run as root, or BENCH_DROP_CACHES=0)"
fi
step() { [[ " $BENCH_STEPS " == *" $1 "* ]]; }

# one results directory per run, named by its start (two runs never share one)
mkdir -p "$BENCH_DIR" "$OUT"
until stamp=$(date -u +%Y%m%dT%H%M%SZ) && mkdir "$OUT/scale-$stamp" 2>/dev/null; do sleep 1; done
RAW=$OUT/scale-$stamp RESULT=$OUT/scale-$stamp.md
work=$(mktemp -d "$BENCH_DIR/volfs-snapcost.XXXXXX")
STATE=$work/state MNT=$work/mnt
mkdir -m 0700 "$STATE"
mkdir "$MNT"
DAEMON_LOG=$work/volfs.log
# shellcheck source=daemon.bash
source "$here/daemon.bash"

cleanup() {
    local rc=$?
    set +e
    teardown_daemon
    cp -f "$work/volfs.log" "$RAW/" 2>/dev/null
    rm -rf --one-file-system "$work"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -Wall -o "$work/scaletool" "$here/scaletool.c" -lpthread || die "building scaletool.c failed"
tool() { "$work/scaletool" "$@"; }

start_daemon

# --- measuring and recording -------------------------------------------------

echo "step,measure,run,value" >"$RAW/raw.csv"
# record STEP MEASURE RUN VALUE
record() {
    [[ -n $4 ]] || die "$1 $2 (run $3): no value, the command measured failed (daemon log: $(tail -n 2 "$DAEMON_LOG"))"
    echo "$1,$2,$3,$4" >>"$RAW/raw.csv"
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
record all load_start 0 "$(loadavg | tr ' ' /)"

now_us() { echo $(($(date +%s%N) / 1000)); }

# timed CMD...: run it (its output discarded), print its wall time in ms.
timed() {
    local t0
    t0=$(now_us)
    "$@" >/dev/null
    awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1000 }'
}

# stats MEASURE: "median min max" of the recorded values of MEASURE.
stats() {
    awk -F, -v m="$1" '$2 == m { print $4 }' "$RAW/raw.csv" | sort -g |
        awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)], v[1], v[NR] }'
}
median() { stats "$1" | cut -d' ' -f1; }
# raw MEASURE: its last recorded value.
raw() { awk -F, -v m="$1" '$2 == m { v = $4 } END { print v }' "$RAW/raw.csv"; }
# spread MEASURE [DIVISOR [DECIMALS]]: "median (min–max)" of MEASURE / DIVISOR.
spread() {
    stats "$1" | awk -v d="${2:-1}" -v p="${3:-1}" \
        '{ f = "%." p "f"; printf f " (" f "–" f ")", $1 / d, $2 / d, $3 / d }'
}
# tenth_growth first|last: meta.db bytes per snapshot over the first or the
# last tenth of the snaps step's snapshots.
tenth_growth() {
    awk -F, -v w="$1" '$2 == "meta_at_bytes" { at[$3] = $4; n++ }
        END { asort_keys(at, k, n); i = (w == "first") ? 1 : n - 1
              printf "%.0f", (at[k[i + 1]] - at[k[i]]) / (k[i + 1] - k[i]) }
        function asort_keys(a, k, n,   x, i, j, t) { i = 0; for (x in a) k[++i] = x + 0
            for (i = 2; i <= n; i++) for (j = i; j > 1 && k[j - 1] > k[j]; j--) { t = k[j]; k[j] = k[j - 1]; k[j - 1] = t } }' \
        "$RAW/raw.csv"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", (b > 0 ? a / b : 0) }'; }

# used bytes of meta.db: pages in use, WAL included (see the header)
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

# make_volume PV FILES: a volume holding FILES files, creation timed.
make_volume() {
    local pv=$1 n=$2 us
    volctl create pv "$pv" --capacity 64Gi >/dev/null
    log "$pv: creating $n files of $BENCH_FILE_BYTES bytes"
    us=$(tool fill "$MNT/pv/$pv" "$n" "$BENCH_PER" "$BENCH_JOBS" "$BENCH_FILE_BYTES")
    # the kernel passes no syncfs to a FUSE daemon: sync the host filesystem
    # that holds the data files, or the page-cache writeback of a million
    # new files runs under the next measurements (an fdatasync waits
    # behind it: seconds on ext4 after a million creates)
    sync -f "$STATE"
    record fill "fill_files_per_s.$n" 0 "$(awk -v n="$n" -v u="$us" 'BEGIN { printf "%.0f", n * 1e6 / u }')"
    log "$pv: created in $((us / 1000000)) s"
}

# change PV FILES K SEED: overwrite K random files of PV (fsync'd each).
change() { tool change "$MNT/pv/$1" "$2" "$BENCH_PER" "$3" "$4" >/dev/null; }

# --- ops: snapshot, clone, restore, delete ------------------------------------

ops_step() {
    local n=$1 pv=o$1 k
    for ((k = 1; k <= BENCH_RUNS; k++)); do
        record ops "snapshot.$n" "$k" "$(timed volctl snapshot "pv/$pv" "$pv-s$k")"
        record ops "clone.$n" "$k" "$(timed volctl clone "pv/$pv" "pv/$pv-c$k")"
        record ops "restore.$n" "$k" "$(timed volctl restore "$pv-s$k" "pv/$pv-r$k")"
    done
    for ((k = 1; k <= BENCH_RUNS; k++)); do
        record ops "delete.$n" "$k" "$(timed volctl delete vs "$pv-s$k")"
        copies+=("$pv-c$k" "$pv-r$k")
    done
    log "$pv: snapshot $(median "snapshot.$n") ms, clone $(median "clone.$n") ms," \
        "restore $(median "restore.$n") ms, delete $(median "delete.$n") ms"
}

# --- meta: meta.db bytes of one snapshot, then of k changes ------------------

meta_ks() {
    local k
    for k in 10 100 1000; do echo $((k < BENCH_FILES ? k : BENCH_FILES)); done | uniq
}

meta_step() {
    local n=$BENCH_FILES pv=o$BENCH_FILES k m0 m1 i=0
    for k in $(meta_ks); do
        i=$((i + 1))
        m0=$(meta_bytes)
        volctl snapshot "pv/$pv" "$pv-m$i" >/dev/null
        m1=$(meta_bytes)
        change "$pv" "$n" "$k" "$((1000 + i))"
        record meta snapshot_bytes "$i" $((m1 - m0))
        record meta "changed_bytes.$k" 1 $(($(meta_bytes) - m0))
    done
    for ((; i > 0; i--)); do volctl delete vs "$pv-m$i" >/dev/null; done
    log "meta.db: $(median snapshot_bytes) bytes per snapshot"
}

# --- stall: the longest write of a writer around a snapshot -------------------

# metric NAME: its value in `volctl metrics` (labels included in NAME)
metric() { volctl metrics | awk -v m="$1" '$1 == m { print $2 }'; }

# writer_window FILE MEASURE RUN [PV SNAPSHOT]: the writer on FILE for 2 s,
# a snapshot of PV taken after 1 s if named; its longest write and p99
# recorded.
writer_window() {
    local file=$1 m=$2 k=$3 pv=${4:-} snap=${5:-} max p99
    rm -f "$work/stop"
    tool writer "$file" "$work/stop" >"$work/stall" &
    local wpid=$!
    sleep 1
    [[ -n $snap ]] && volctl snapshot "pv/$pv" "$snap" >/dev/null
    sleep 1
    touch "$work/stop"
    wait "$wpid"
    read -r _ max p99 <"$work/stall"
    record stall "${m}_max_us" "$k" "$max"
    record stall "${m}_p99_us" "$k" "$p99"
}

# await_reclaim: until `volctl df` shows no deleted snapshot's rows pending
# (BENCH_RECLAIM_TIMEOUT at most); prints the seconds waited.
await_reclaim() {
    local t0 left
    t0=$(now_us)
    left=$(pending_work)
    while [[ -n $left && $left != 0 ]]; do
        (($(now_us) - t0 < BENCH_RECLAIM_TIMEOUT * 1000000)) || die "reclaim still pending after $BENCH_RECLAIM_TIMEOUT s: $left"
        sleep 1
        left=$(pending_work)
    done
    awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1e6 }'
}

# The windows start once the reclaimer has nothing left to do (the ops and
# meta steps delete snapshots, clones and restores, whose rows it moves in
# the background), and the snapshots are deleted after the last one: what
# is measured is the snapshot. Each run has two windows without a snapshot
# first, on the host filesystem itself and on the volume: on a shared host
# an fdatasync varies by tens of milliseconds, and the differences are what
# volfs and the snapshot add. The daemon's own account of the freezes (how
# long writers were held, what was done meanwhile) is read at the end.
# Then the deletions' background work: the writers while the reclaimer
# moves the deleted snapshots' rows, and how long it takes.
stall_step() {
    local n=$1 pv=o$1 k w
    local w0 c0 f0
    record stall "reclaim_before_s.$n" 0 "$(await_reclaim)"
    w0=$(metric 'volfs_snapshot_freeze_work_total{work="inodes"}')
    c0=$(metric 'volfs_snapshot_freeze_work_total{work="commits"}')
    f0=$(metric 'volfs_snapshot_freeze_work_total{work="flushes"}')
    for ((k = 1; k <= BENCH_RUNS; k++)); do
        writer_window "$work/host-writer" "stall_host.$n" "$k"
        writer_window "$MNT/pv/$pv/writer" "stall_base.$n" "$k"
        writer_window "$MNT/pv/$pv/writer" "stall.$n" "$k" "$pv" "$pv-w$k"
    done
    record stall "freeze_max_ms.$n" 0 "$(awk -v s="$(metric volfs_snapshot_freeze_max_seconds)" 'BEGIN { printf "%.3f", s * 1000 }')"
    w=$(metric 'volfs_snapshot_freeze_work_total{work="inodes"}')
    record stall "freeze_inodes.$n" 0 $((w - w0))
    w=$(metric 'volfs_snapshot_freeze_work_total{work="commits"}')
    record stall "freeze_commits.$n" 0 $((w - c0))
    w=$(metric 'volfs_snapshot_freeze_work_total{work="flushes"}')
    record stall "freeze_flushes.$n" 0 $((w - f0))
    log "$pv: longest write around a snapshot $(median "stall.${n}_max_us") µs, without one" \
        "$(median "stall_base.${n}_max_us") µs, on the host $(median "stall_host.${n}_max_us") µs"
    for ((k = 1; k <= BENCH_RUNS; k++)); do volctl delete vs "$pv-w$k" >/dev/null; done
    writer_window "$MNT/pv/$pv/writer" "stall_reclaim.$n" 1
    writer_window "$work/host-writer" "stall_reclaim_host.$n" 1
    record stall "reclaim_s.$n" 0 "$(await_reclaim)"
    log "$pv: while the reclaimer moves the deleted snapshots' rows: longest write" \
        "$(median "stall_reclaim.${n}_max_us") µs, on the host $(median "stall_reclaim_host.${n}_max_us") µs;" \
        "reclaimed in $(raw "reclaim_s.$n") s"
}

# --- snaps: many snapshots, the live volume's speed, their deletion ---------

# measure_round TAG ROUND: stat, readdir and read on live and plain, cold
# caches before each operation; the two volumes interleaved file by file
# (directory by directory), which one goes first alternating, so a load
# spike from elsewhere on the machine lands on both alike (on a shared
# machine, rounds measured one volume after the other differed by 10×).
measure_round() {
    local tag=$1 r=$2 op count a b ma mb
    for op in stat readdir read; do
        count=$BENCH_SAMPLE
        [[ $op == readdir ]] && count=$BENCH_READDIRS
        drop_caches
        read -r a b ma mb < <(tool pair "$op" "$MNT/pv/live" "$MNT/pv/plain" "$BENCH_SNAP_FILES" \
            "$BENCH_PER" "$count" "$((7 + r))")
        record snaps "$op.$tag.live" "$r" "$(awk -v t="$a" -v c="$count" 'BEGIN { printf "%.1f", t / c }')"
        record snaps "$op.$tag.plain" "$r" "$(awk -v t="$b" -v c="$count" 'BEGIN { printf "%.1f", t / c }')"
        record snaps "${op}_median.$tag.live" "$r" "$ma"
        record snaps "${op}_median.$tag.plain" "$r" "$mb"
    done
}

# cache_misses TAG: pages SQLite read from meta.db or its WAL (not in its
# page cache; pread64 calls of the daemon on them, counted by strace) in
# one cold stat round of each volume alone, per file stat()ed. Not the
# volfs_db_page_cache_misses_total metric: rendering the metrics reads
# pages too (each volume's snapshot bytes walk its snapshots' objects).
cache_misses() {
    local tag=$1 v fds f spid db
    db=$(realpath "$STATE")/meta.db
    fds=$(for f in /proc/"$PID"/fd/*; do
        case $(readlink "$f") in "$db" | "$db-wal") echo "${f##*/}" ;; esac
    done | paste -sd'|')
    [[ -n $fds ]] || die "the daemon has no meta.db open"
    for v in live plain; do
        drop_caches
        strace -f -qq -e trace=pread64 -e signal=none -p "$PID" -o "$work/strace" &
        spid=$!
        sleep 2 # attached to every thread
        tool stat "$MNT/pv/$v" "$BENCH_SNAP_FILES" "$BENCH_PER" "$BENCH_SAMPLE" 99 >/dev/null
        kill -INT "$spid"
        wait "$spid" || true
        record snaps "stat_misses.$tag.$v" 0 "$({ grep -cE "pread64\(($fds)," "$work/strace" || true; } |
            awk -v c="$BENCH_SAMPLE" '{ printf "%.2f", $1 / c }')"
    done
}

# round_ratios OP TAG: live / plain of each round, one a line, sorted.
round_ratios() {
    awk -F, -v l="$1.$2.live" -v p="$1.$2.plain" '$2 == l { a[$3] = $4 } $2 == p { b[$3] = $4 }
        END { for (r in a) if (b[r] > 0) print a[r] / b[r] }' "$RAW/raw.csv" | sort -g
}
# paired_ratio OP TAG: median (min–max) over rounds of live / plain.
paired_ratio() {
    round_ratios "$1" "$2" |
        awk '{ v[NR] = $1 } END { if (NR) printf "%.2f× (%.2f–%.2f)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}
# placement_ratio OP TAG: the median round ratio at TAG over the one before
# any snapshot (tag 0): what the snapshots add beyond what differs between
# the two volumes anyway (their place in meta.db and on disk).
placement_ratio() {
    local after before
    after=$(round_ratios "$1" "$2" | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    before=$(round_ratios "$1" 0 | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }')
    awk -v a="$after" -v b="$before" 'BEGIN { if (b > 0) printf "%.2f×", a / b }'
}

# pending_work: rows of deleted snapshots the reclaimer has still to move
# or delete (`volctl df`'s reclaimPending; empty output if it has none).
pending_work() {
    volctl df -o json 2>/dev/null | python3 -c '
import json, sys
p = json.load(sys.stdin).get("reclaimPending")
if p is not None:
    print(p.get("rows", 0) + p.get("lineages", 0))'
}

# closure_stats: "rows bytes" of the table of the lineages' ancestors, its
# index included: the closure `ancestors` (schema 6) or `ancestor_spans`.
closure_stats() {
    python3 - "$STATE/meta.db" <<'PYEOF'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=60)
for table in ("ancestors", "ancestor_spans"):
    if db.execute("SELECT 1 FROM sqlite_master WHERE name=? AND type='table'", (table,)).fetchone():
        break
rows, = db.execute("SELECT count(*) FROM %s" % table).fetchone()
size, = db.execute("SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN "
                   "(SELECT name FROM sqlite_master WHERE tbl_name=?)", (table,)).fetchone()
print(rows, size)
PYEOF
}

# keep_db FILE: a consistent copy of meta.db as it is now (for EXPLAIN
# QUERY PLAN and query timings without the daemon).
keep_db() {
    python3 - "$STATE/meta.db" "$1" <<'PYEOF'
import sqlite3, sys
src = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=60)
dst = sqlite3.connect(sys.argv[2])
src.backup(dst)
PYEOF
}

snaps_step() {
    local n=$BENCH_SNAP_FILES i r t0 m0 left rows bytes
    make_volume live "$n"
    make_volume plain "$n"
    for ((r = 1; r <= BENCH_RUNS; r++)); do measure_round 0 "$r"; done
    cache_misses 0
    local base
    base=$(meta_bytes)
    record snaps meta_base_bytes 0 "$base"
    if [[ ${BENCH_KEEP_DB:-0} == 1 ]]; then keep_db "$RAW/meta-base.db"; fi
    record snaps meta_at_bytes 0 "$base"
    log "taking $BENCH_SNAPS snapshots of live, $BENCH_SNAP_CHANGES files changed between two"
    for ((i = 1; i <= BENCH_SNAPS; i++)); do
        change plain "$n" "$BENCH_SNAP_CHANGES" "$i"
        m0=$(meta_bytes)
        record snaps snap_ms "$i" "$(timed volctl snapshot pv/live "live-$i")"
        change live "$n" "$BENCH_SNAP_CHANGES" "$i"
        record snaps snap_growth_bytes "$i" $(($(meta_bytes) - m0))
        # meta.db at each tenth of the snapshots: growth per snapshot early
        # and late shows whether it depends on the depth
        if ((i * 10 % BENCH_SNAPS < 10)); then
            record snaps meta_at_bytes "$i" "$(meta_bytes)"
            log "$i snapshots; meta.db $(($(meta_bytes) >> 20)) MiB"
        fi
    done
    record snaps meta_snapped_bytes 0 "$(meta_bytes)"
    read -r rows bytes < <(closure_stats)
    record snaps closure_rows 0 "$rows"
    record snaps closure_bytes 0 "$bytes"
    if [[ ${BENCH_KEEP_DB:-0} == 1 ]]; then keep_db "$RAW/meta-snapped.db"; fi
    for ((r = 1; r <= BENCH_RUNS; r++)); do measure_round "$BENCH_SNAPS" "$r"; done
    cache_misses "$BENCH_SNAPS"
    log "deleting the snapshots in $DELETE_ORDER order"
    t0=$(now_us)
    for i in $(seq "$BENCH_SNAPS" | { [[ $DELETE_ORDER == oldest ]] && cat || shuf; }); do
        record snaps delete_ms "$i" "$(timed volctl delete vs "live-$i")"
    done
    record snaps delete_all_s 0 "$(awk -v d=$(($(now_us) - t0)) 'BEGIN { printf "%.1f", d / 1e6 }')"
    left=$(pending_work)
    record snaps reclaim_pending_at_end 0 "${left:-none}"
    record snaps reclaim_wait_s 0 "$(await_reclaim)"
    local rc=0
    volctl check >"$RAW/volctl-check.txt" 2>"$RAW/volctl-check.err" || rc=$?
    record snaps check_rc 0 "$rc"
    record snaps check_problems 0 "$(grep -vc -e '^pending cleanup' -e '^no problems found$' "$RAW/volctl-check.txt" || true)"
    record snaps check_pending 0 "$(grep -c '^pending cleanup' "$RAW/volctl-check.txt" || true)"
    record snaps meta_after_bytes 0 "$(meta_bytes)"
    if [[ ${BENCH_KEEP_DB:-0} == 1 ]]; then keep_db "$RAW/meta-after.db"; fi
}

# --- run ------------------------------------------------------------------------

sizes=("$BENCH_SMALL_FILES" "$BENCH_FILES")
copies=() # the clones and restores of the ops step, deleted with their source
if step ops || step meta || step stall; then
    for n in "${sizes[@]}"; do
        make_volume "o$n" "$n"
        step ops && ops_step "$n"
        step meta && [[ $n == "$BENCH_FILES" ]] && meta_step
        step stall && stall_step "$n"
        # room for the next volumes (deleting a volume costs O(files): the last
        # one and its copies stay unless the snaps step follows)
        if step snaps || [[ $n != "${sizes[-1]}" ]]; then
            log "o$n: deleting it and its clones"
            for pv in "o$n" ${copies[@]+"${copies[@]}"}; do volctl delete pv "$pv" >/dev/null; done
        fi
        copies=()
    done
fi
step snaps && snaps_step
record all load_end 0 "$(loadavg | tr ' ' /)"
stop_daemon
fsck_rc=0
"$BIN/volfs" --check --state "$STATE" >"$RAW/volfs-check.txt" 2>&1 || fsck_rc=$?
record all volfs_check_rc 0 "$fsck_rc"

# --- the table -----------------------------------------------------------------

kib() { awk -v b="$1" 'BEGIN { printf "%.1f KiB", b / 1024 }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
ms_of_us() { spread "$1" 1000 1; }
S=$BENCH_SMALL_FILES B=$BENCH_FILES
{
    echo "# volfs snapshot cost in files, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo
    echo "- volfs $(git -C "$root" describe --always --dirty 2>/dev/null || echo '?'), release build ($BIN);" \
        "$(nproc) CPUs, kernel $(uname -r); load average (1/5/15 min) $(raw load_start) at the start," \
        "$(raw load_end) at the end"
    echo "- BENCH_FILES=$B BENCH_SMALL_FILES=$S BENCH_FILE_BYTES=$BENCH_FILE_BYTES BENCH_PER=$BENCH_PER" \
        "BENCH_RUNS=$BENCH_RUNS BENCH_SNAPS=$BENCH_SNAPS BENCH_SNAP_FILES=$BENCH_SNAP_FILES" \
        "BENCH_SNAP_CHANGES=$BENCH_SNAP_CHANGES BENCH_SAMPLE=$BENCH_SAMPLE BENCH_READDIRS=$BENCH_READDIRS" \
        "BENCH_STEPS=\"$BENCH_STEPS\"${VOLFS_DB_CACHE_MIB:+ VOLFS_DB_CACHE_MIB=$VOLFS_DB_CACHE_MIB}"
    echo "- values: median (min–max) of BENCH_RUNS runs unless said; raw numbers in scale-$stamp/raw.csv"
    echo
    echo "| measure | value | target |"
    echo "|---|--:|---|"
    if step ops; then
        for op in snapshot clone restore delete; do
            label=$op
            [[ $op == delete ]] && label="snapshot deletion"
            echo "| $label, $S files (ms) | $(spread "$op.$S") | |"
            echo "| $label, $B files (ms) | $(spread "$op.$B") | < 50 ms |"
            echo "| $label, $B files / $S files | $(ratio "$(median "$op.$B")" "$(median "$op.$S")") | ≤ 2× |"
        done
    fi
    if step meta; then
        echo "| meta.db added by a snapshot of $B files, nothing changed | $(kib "$(median snapshot_bytes)") | < 64 KiB |"
        for k in $(meta_ks); do
            echo "| meta.db added by a snapshot then $k files changed | $(kib "$(median "changed_bytes.$k")") | O(k) |"
        done
    fi
    if step stall; then
        for n in "$S" "$B"; do
            echo "| longest write around a snapshot, $n files (ms) | $(ms_of_us "stall.${n}_max_us") | < 50 ms |"
            echo "| longest write of the same 2 s without a snapshot, $n files (ms) | $(ms_of_us "stall_base.${n}_max_us") | |"
            echo "| longest write of the same 2 s on the host filesystem, beside the state directory, in the same runs (ms; the host's own fdatasync) | $(ms_of_us "stall_host.${n}_max_us") | baseline |"
            echo "| p99 write around a snapshot / without / on the host, $n files (ms) | $(ms_of_us "stall.${n}_p99_us") / $(ms_of_us "stall_base.${n}_p99_us") / $(ms_of_us "stall_host.${n}_p99_us") | |"
            echo "| longest write while the reclaimer moves the $BENCH_RUNS deleted snapshots' rows, $n files / on the host meanwhile (ms; one run) | $(ms_of_us "stall_reclaim.${n}_max_us") / $(ms_of_us "stall_reclaim_host.${n}_max_us") | |"
            echo "| then until no deleted snapshot's row is pending, $n files (s) | $(raw "reclaim_s.$n") | |"
            echo "| longest freeze (writers held) since the daemon started, after the $n-file runs (ms; volfs_snapshot_freeze_max_seconds) | $(raw "freeze_max_ms.$n") | |"
            echo "| behind the freezes of the $n-file runs: dirty inodes flushed, group commits, device flushes | $(raw "freeze_inodes.$n"), $(raw "freeze_commits.$n"), $(raw "freeze_flushes.$n") | 0 commits, 0 flushes |"
        done
    fi
    if step snaps; then
        N=$BENCH_SNAPS F=$BENCH_SNAP_FILES
        echo "| snapshot of $F files, over $N snapshots (ms; median of $N) | $(spread snap_ms) | |"
        echo "| meta.db per snapshot + $BENCH_SNAP_CHANGES changed files (median of $N) | $(kib "$(median snap_growth_bytes)") | the changes only |"
        echo "| the same, mean over the $N | $(kib $((($(raw meta_snapped_bytes) - $(raw meta_base_bytes)) / N))) | |"
        echo "| the same, mean over the first tenth / the last tenth of the snapshots |" \
            "$(kib "$(tenth_growth first)") / $(kib "$(tenth_growth last)") | equal |"
        echo "| lineages' ancestors in meta.db with $N snapshots (ancestors or ancestor_spans: rows, bytes) | $(raw closure_rows), $(kib "$(raw closure_bytes)") | |"
        for op in stat readdir read; do
            unit="µs per file"
            [[ $op == readdir ]] && unit="µs per directory of $BENCH_PER"
            echo "| $op, cold, live volume with $N snapshots ($unit: a round's mean; a round's median) |" \
                "$(spread "$op.$N.live"); $(spread "${op}_median.$N.live") | |"
            echo "| $op, cold, same volume without snapshots (the same) |" \
                "$(spread "$op.$N.plain"); $(spread "${op}_median.$N.plain") | |"
            echo "| $op with $N snapshots / without: a round's ratio of means; of medians |" \
                "$(paired_ratio "$op" "$N"); $(paired_ratio "${op}_median" "$N") | ≤ 1.10× |"
            echo "| the same before any snapshot (calibration: the two volumes alike) |" \
                "$(paired_ratio "$op" 0); $(paired_ratio "${op}_median" 0) | ≈ 1× |"
            echo "| $op: the ratio with $N snapshots over the calibration's (means; medians) |" \
                "$(placement_ratio "$op" "$N"); $(placement_ratio "${op}_median" "$N") | ≤ 1.10× |"
        done
        echo "| meta.db pages read (SQLite page-cache misses) per cold stat, live / plain, before the snapshots; with $N |" \
            "$(raw stat_misses.0.live) / $(raw stat_misses.0.plain); $(raw "stat_misses.$N.live") / $(raw "stat_misses.$N.plain") | |"
        echo "| delete the $N snapshots in $DELETE_ORDER order (s) | $(raw delete_all_s) | |"
        echo "| one snapshot deletion among them (ms; median of $N) | $(spread delete_ms) | |"
        echo "| then wait until \`volctl df\` shows no reclaim pending (s) | $(raw reclaim_wait_s) | |"
        echo "| \`volctl check\` problems after the deletions (exit status $(raw check_rc)) | $(raw check_problems) | 0 |"
        echo "| \`volctl check\` pending-cleanup lines (data files of deleted objects) | $(raw check_pending) | 0 |"
        echo "| meta.db in use: before the snapshots / with $N / after deleting them | $(mib "$(raw meta_base_bytes)") / $(mib "$(raw meta_snapped_bytes)") / $(mib "$(raw meta_after_bytes)") | |"
        echo "| meta.db in use after deleting them / before the snapshots | $(ratio "$(raw meta_after_bytes)" "$(raw meta_base_bytes)") | ≈ 1× |"
    fi
    echo "| \`volfs --check\` exit status at the end | $(raw volfs_check_rc) | 0 |"
    echo "| files created per second ($BENCH_JOBS threads; per volume size) |" \
        "$(for n in $(printf '%s\n' "${sizes[@]}" "$BENCH_SNAP_FILES" | sort -nu); do v=$(raw "fill_files_per_s.$n"); [[ -n $v ]] && echo -n "$n: $v; "; done)| |"
} >"$RESULT"
cat "$RESULT"
