#!/usr/bin/env bash
# scripts/bench/pg.sh — `make bench-pg`: PostgreSQL 15 on native disk and on a
# volfs volume of the same disk, interleaved. Systems:
#   native       a directory on the host filesystem of BENCH_DIR
#   volfs        a volume on a volfs daemon (default FUSE transport)
#   volfs_uring  the same on a second daemon with --fuse-transport=uring;
#                the module parameter fuse.enable_uring is switched on for
#                its mount and back to what it was at the end (run when the
#                parameter is writable, i.e. Linux 6.14+ as root)
#   volfs_wb     the same on a second daemon with --writeback-cache (the
#                kernel caches writes; only when PG_SYSTEMS names it)
#
# Each round, on each system (the order rotates from round to round):
# initdb -k (default settings), `pgbench -i -s SCALE` (timed), pgbench TPC-B
# for TPCB_SECONDS, pgbench select-only (-S) for SELECT_SECONDS; the cluster
# is removed after. Caches are dropped before each system's turn. Results:
# build/bench-pg/results.md (medians, min–max, each volfs system/native; the
# load average at each turn's start; on each volfs system the FUSE requests
# of each phase by operation and the daemon's CPU seconds, in total and per
# transaction, which a loaded machine changes far less than the times) and
# raw.csv, ops.csv.
# Runs as root (the clusters run as the postgres user); installs
# postgresql-15 from Debian's packages if it is missing.
#
# Environment:
#   BENCH_DIR        where the temporary directories go (/var/tmp)
#   ROUNDS           rounds (3)
#   SCALE            pgbench scale factor (20)
#   TPCB_SECONDS     length of the TPC-B run (30)
#   SELECT_SECONDS   length of the select-only run (20)
#   CLIENTS          pgbench clients (1, pgbench's default)
#   VOLFS_BIN        directory holding volfs and volctl (build/bin)
#   VOLFS_ARGS       extra volfs arguments (e.g. --host-writes=uring)
#   PG_SYSTEMS       space-separated subset of "native volfs volfs_uring
#                    volfs_wb" (the first three; volfs_uring is left out,
#                    with a note, when fuse.enable_uring is absent or not
#                    writable)
#   OUT              output directory (build/bench-pg)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BENCH_DIR=${BENCH_DIR:-/var/tmp}
ROUNDS=${ROUNDS:-3}
SCALE=${SCALE:-20}
TPCB_SECONDS=${TPCB_SECONDS:-30}
SELECT_SECONDS=${SELECT_SECONDS:-20}
CLIENTS=${CLIENTS:-1}
VOLFS_BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
VOLFS_ARGS=${VOLFS_ARGS:-}
OUT=$(realpath -m "${OUT:-$root/build/bench-pg}")
PGBIN=/usr/lib/postgresql/15/bin
URING_PARAM=/sys/module/fuse/parameters/enable_uring

die() {
    echo "bench-pg: $*" >&2
    exit 1
}

[[ $(id -u) == 0 ]] || die "must run as root (it drops caches and runs PostgreSQL as postgres)"
[[ -x $VOLFS_BIN/volfs ]] || die "no $VOLFS_BIN/volfs: run make first"
if [[ ! -x $PGBIN/pgbench ]]; then
    echo "bench-pg: installing postgresql-15" >&2
    flock /tmp/apt.lock apt-get install -y --no-install-recommends postgresql-15 >&2 ||
        die "cannot install postgresql-15"
fi
id postgres >/dev/null 2>&1 || die "no postgres user (the postgresql-15 package makes it)"
if [[ -z ${PG_SYSTEMS:-} ]]; then
    PG_SYSTEMS="native volfs volfs_uring"
    if [[ ! -w $URING_PARAM ]]; then
        echo "bench-pg: $URING_PARAM is absent or not writable: volfs_uring left out" >&2
        PG_SYSTEMS="native volfs"
    fi
fi
systems=()
for s in $PG_SYSTEMS; do
    [[ $s =~ ^(native|volfs|volfs_uring|volfs_wb)$ ]] || die "unknown system in PG_SYSTEMS: $s"
    systems+=("$s")
done
((${#systems[@]})) || die "PG_SYSTEMS names no system"
[[ " $PG_SYSTEMS " != *" volfs_uring "* || -w $URING_PARAM ]] ||
    die "volfs_uring: $URING_PARAM is absent or not writable (Linux 6.14+, root)"

TMP=$(mktemp -d "$BENCH_DIR/volfs-bench-pg.XXXXXX")
chmod 0755 "$TMP"
SOCK=$TMP/sock
mkdir -m 0777 "$SOCK" "$TMP/logs" # postgres writes these
mkdir -p "$OUT"
PORT=$((40000 + $$ % 20000))
PGDATA='' uring_param_was=''
declare -A PID=() # volfs system -> its daemon's pid

pg() {
    runuser -u postgres -- "$PGBIN/$1" "${@:2}"
}

cleanup() {
    if [[ -n $PGDATA && -f $PGDATA/postmaster.pid ]]; then
        pg pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    fi
    local sys
    for sys in "${!PID[@]}"; do
        "$VOLFS_BIN/volctl" --state "$TMP/state.$sys" shutdown >/dev/null 2>&1 ||
            fusermount3 -u "$TMP/mnt.$sys" || true
        wait "${PID[$sys]}" 2>/dev/null || true
    done
    [[ -z $uring_param_was ]] || echo "$uring_param_was" >"$URING_PARAM"
    rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

# start_volfs SYSTEM [volfs args]: a daemon on its own state directory
# ($TMP/state.SYSTEM, mounted on $TMP/mnt.SYSTEM) with the volume pg.
start_volfs() {
    local sys=$1 state=$TMP/state.$1 mnt=$TMP/mnt.$1 log=$OUT/$1.log i
    shift
    mkdir -m 0700 "$state"
    mkdir -m 0755 "$mnt"
    # shellcheck disable=SC2086 # VOLFS_ARGS is a list of words
    "$VOLFS_BIN/volfs" -f --state "$state" $VOLFS_ARGS "$@" "$mnt" </dev/null >"$log" 2>&1 &
    PID[$sys]=$!
    for ((i = 0; i < 200; i++)); do
        mountpoint -q "$mnt" && [[ -S $state/control.sock ]] && break
        kill -0 "${PID[$sys]}" 2>/dev/null || die "$sys exited: $(tail -n 5 "$log")"
        sleep 0.1
    done
    "$VOLFS_BIN/volctl" --state "$state" create pv pg --capacity 16Gi >/dev/null
}
for sys in "${systems[@]}"; do
    case $sys in
        volfs) start_volfs volfs ;;
        volfs_uring)
            uring_param_was=$(cat "$URING_PARAM")
            echo Y >"$URING_PARAM"
            start_volfs volfs_uring --fuse-transport=uring
            grep -q 'FUSE transport: uring' "$OUT/volfs_uring.log" ||
                die "volfs_uring: the daemon does not serve over io_uring: $(grep -i transport "$OUT/volfs_uring.log")"
            ;;
        volfs_wb)
            start_volfs volfs_wb --writeback-cache
            grep -q 'writeback cache: on' "$OUT/volfs_wb.log" ||
                die "volfs_wb: the kernel's writeback cache is not on: $(grep -i writeback "$OUT/volfs_wb.log")"
            ;;
    esac
done
mkdir -m 0755 "$TMP/native"

# phase_counts SYSTEM FILE: the daemon's FUSE request counts by operation
# and its CPU seconds (user + system, all threads; fields counted after the
# command name, which may hold spaces), "op count" lines.
phase_counts() {
    "$VOLFS_BIN/volctl" --state "$TMP/state.$1" metrics |
        sed -n 's/^volfs_fuse_requests_total{op="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p' >"$2"
    awk -v hz="$(getconf CLK_TCK)" '{ sub(/.*\) /, ""); printf "cpu_seconds %.2f\n", ($12 + $13) / hz }' \
        "/proc/${PID[$1]}/stat" >>"$2"
}

# phase_start SYSTEM, then phase_end SYSTEM ROUND PHASE: on a volfs system,
# what the phase cost, appended to ops.csv.
phase_start() {
    [[ $1 == native ]] && return 0
    phase_counts "$1" "$TMP/ops.before"
}
phase_end() {
    [[ $1 == native ]] && return 0
    phase_counts "$1" "$TMP/ops.after"
    join <(sort "$TMP/ops.before") <(sort "$TMP/ops.after") |
        awk -v s="$1" -v r="$2" -v p="$3" '$3 != $2 { printf "%s,%s,%s,%s,%s\n", s, r, p, $1, $3 - $2 }' >>"$OUT/ops.csv"
}

base_of() {
    [[ $1 == native ]] && echo "$TMP/native" || echo "$TMP/mnt.$1/pv/pg"
}

# transactions LOG: the transactions pgbench processed.
transactions() {
    awk '/^number of transactions actually processed: / { sub(/\/.*/, "", $6); print $6; exit }' "$1"
}

# run_system SYSTEM ROUND: one cluster's life; appends to raw.csv.
run_system() {
    local sys=$1 round=$2 t0 t1 tps
    PGDATA=$(base_of "$sys")/data
    mkdir -m 0700 "$PGDATA"
    chown postgres:postgres "$PGDATA"
    pg initdb -k -D "$PGDATA" >"$OUT/initdb.$sys.log" 2>&1 || die "initdb on $sys failed"
    pg pg_ctl -D "$PGDATA" -l "$TMP/logs/postgres.$sys.$round.log" -w \
        -o "-p $PORT -k $SOCK -c listen_addresses=''" start >/dev/null || die "postgres on $sys did not start"
    sync
    echo 3 >/proc/sys/vm/drop_caches
    local conn=(-h "$SOCK" -p "$PORT" -U postgres)
    echo "$round,$sys,load1,$(cut -d ' ' -f 1 /proc/loadavg)" >>"$OUT/raw.csv"
    phase_start "$sys"
    t0=$(date +%s.%N)
    pg pgbench "${conn[@]}" -i -s "$SCALE" -q postgres >"$OUT/init.$sys.$round.log" 2>&1 ||
        die "pgbench -i on $sys failed"
    t1=$(date +%s.%N)
    echo "$round,$sys,init_seconds,$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')" >>"$OUT/raw.csv"
    phase_end "$sys" "$round" init
    phase_start "$sys"
    pg pgbench "${conn[@]}" -c "$CLIENTS" -T "$TPCB_SECONDS" postgres >"$OUT/tpcb.$sys.$round.log" 2>&1 ||
        die "pgbench TPC-B on $sys failed"
    tps=$(awk '/^tps = / { print $3; exit }' "$OUT/tpcb.$sys.$round.log")
    echo "$round,$sys,tpcb_tps,$tps" >>"$OUT/raw.csv"
    echo "$round,$sys,tpcb_xacts,$(transactions "$OUT/tpcb.$sys.$round.log")" >>"$OUT/raw.csv"
    phase_end "$sys" "$round" tpcb
    phase_start "$sys"
    pg pgbench "${conn[@]}" -S -c "$CLIENTS" -T "$SELECT_SECONDS" postgres >"$OUT/select.$sys.$round.log" 2>&1 ||
        die "pgbench select-only on $sys failed"
    tps=$(awk '/^tps = / { print $3; exit }' "$OUT/select.$sys.$round.log")
    echo "$round,$sys,select_tps,$tps" >>"$OUT/raw.csv"
    echo "$round,$sys,select_xacts,$(transactions "$OUT/select.$sys.$round.log")" >>"$OUT/raw.csv"
    phase_end "$sys" "$round" select
    pg pg_ctl -D "$PGDATA" -w stop >/dev/null
    cp "$TMP/logs/postgres.$sys.$round.log" "$OUT/"
    rm -rf "$PGDATA"
    PGDATA=''
}

echo "round,system,metric,value" >"$OUT/raw.csv"
echo "system,round,phase,op,count" >"$OUT/ops.csv"
for ((r = 1; r <= ROUNDS; r++)); do
    # round r starts with system r-1 (mod the number of systems)
    n=${#systems[@]} k=$(((r - 1) % ${#systems[@]}))
    order=("${systems[@]:k:n-k}" "${systems[@]:0:k}")
    for sys in "${order[@]}"; do
        echo "bench-pg: round $r/$ROUNDS, $sys" >&2
        run_system "$sys" "$r"
    done
done

python3 "$root/scripts/bench/report.py" pg "$OUT" "$SCALE" "$TPCB_SECONDS" "$SELECT_SECONDS" "$CLIENTS" \
    "$(cat "$OUT"/volfs*.log 2>/dev/null | grep -o 'host writes: [^"]*' | head -n 1)"
