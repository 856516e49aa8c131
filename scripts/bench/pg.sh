#!/usr/bin/env bash
# scripts/bench/pg.sh — `make bench-pg`: PostgreSQL 15 on native disk and on a
# volfs volume of the same disk, interleaved.
#
# Each round, on each system (the order alternates from round to round):
# initdb -k (default settings), `pgbench -i -s SCALE` (timed), pgbench TPC-B
# for TPCB_SECONDS, pgbench select-only (-S) for SELECT_SECONDS; the cluster
# is removed after. Caches are dropped before each system's turn. Results:
# build/bench-pg/results.md (medians, min–max, volfs/native; the load average
# at each turn's start; on volfs the FUSE requests of each phase by operation
# and the daemon's CPU seconds, which a loaded machine changes far less than
# the times) and raw.csv, ops.csv.
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

TMP=$(mktemp -d "$BENCH_DIR/volfs-bench-pg.XXXXXX")
chmod 0755 "$TMP"
STATE=$TMP/state MNT=$TMP/mnt SOCK=$TMP/sock
mkdir -m 0700 "$STATE"
mkdir -m 0755 "$MNT"
mkdir -m 0777 "$SOCK" "$TMP/logs" # postgres writes these
mkdir -p "$OUT"
PORT=$((40000 + $$ % 20000))
VOLFS_PID='' PGDATA=''

pg() {
    runuser -u postgres -- "$PGBIN/$1" "${@:2}"
}

cleanup() {
    if [[ -n $PGDATA && -f $PGDATA/postmaster.pid ]]; then
        pg pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true
    fi
    if [[ -n $VOLFS_PID ]]; then
        "$VOLFS_BIN/volctl" --state "$STATE" shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT" || true
        wait "$VOLFS_PID" 2>/dev/null || true
    fi
    rm -rf --one-file-system "$TMP"
}
trap cleanup EXIT

# shellcheck disable=SC2086 # VOLFS_ARGS is a list of words
"$VOLFS_BIN/volfs" -f --state "$STATE" $VOLFS_ARGS "$MNT" </dev/null >"$OUT/volfs.log" 2>&1 &
VOLFS_PID=$!
for ((i = 0; i < 200; i++)); do
    mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && break
    kill -0 "$VOLFS_PID" 2>/dev/null || die "volfs exited: $(tail -n 5 "$OUT/volfs.log")"
    sleep 0.1
done
"$VOLFS_BIN/volctl" --state "$STATE" create pv pg --capacity 16Gi >/dev/null
mkdir -m 0755 "$TMP/native"

# phase_counts FILE: the daemon's FUSE request counts by operation and its
# CPU seconds (user + system, all threads), "op count" lines.
phase_counts() {
    "$VOLFS_BIN/volctl" --state "$STATE" metrics |
        sed -n 's/^volfs_fuse_requests_total{op="\([a-z_]*\)"} \([0-9]*\)$/\1 \2/p' >"$1"
    awk -v hz="$(getconf CLK_TCK)" '{ printf "cpu_seconds %.2f\n", ($14 + $15) / hz }' \
        "/proc/$VOLFS_PID/stat" >>"$1"
}

# phase_start SYSTEM, then phase_end SYSTEM ROUND PHASE: on volfs, what the
# phase cost, appended to ops.csv.
phase_start() {
    [[ $1 == volfs ]] || return 0
    phase_counts "$TMP/ops.before"
}
phase_end() {
    [[ $1 == volfs ]] || return 0
    phase_counts "$TMP/ops.after"
    join <(sort "$TMP/ops.before") <(sort "$TMP/ops.after") |
        awk -v r="$2" -v p="$3" '$3 != $2 { printf "%s,%s,%s,%s\n", r, p, $1, $3 - $2 }' >>"$OUT/ops.csv"
}

base_of() {
    [[ $1 == native ]] && echo "$TMP/native" || echo "$MNT/pv/pg"
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
    phase_end "$sys" "$round" tpcb
    phase_start "$sys"
    pg pgbench "${conn[@]}" -S -c "$CLIENTS" -T "$SELECT_SECONDS" postgres >"$OUT/select.$sys.$round.log" 2>&1 ||
        die "pgbench select-only on $sys failed"
    tps=$(awk '/^tps = / { print $3; exit }' "$OUT/select.$sys.$round.log")
    echo "$round,$sys,select_tps,$tps" >>"$OUT/raw.csv"
    phase_end "$sys" "$round" select
    pg pg_ctl -D "$PGDATA" -w stop >/dev/null
    cp "$TMP/logs/postgres.$sys.$round.log" "$OUT/"
    rm -rf "$PGDATA"
    PGDATA=''
}

echo "round,system,metric,value" >"$OUT/raw.csv"
echo "round,phase,op,count" >"$OUT/ops.csv"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=(native volfs); else order=(volfs native); fi
    for sys in "${order[@]}"; do
        echo "bench-pg: round $r/$ROUNDS, $sys" >&2
        run_system "$sys" "$r"
    done
done

python3 - "$OUT/raw.csv" "$OUT/results.md" "$SCALE" "$TPCB_SECONDS" "$SELECT_SECONDS" "$CLIENTS" \
    "$(grep -o 'host writes: [^"]*' "$OUT/volfs.log" | head -n 1)" "$OUT/ops.csv" <<'PYEOF'
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
scale, tpcb, sel, clients, engine, ops_csv = sys.argv[3:9]
val = {}
for r in rows:
    val.setdefault((r["metric"], r["system"]), []).append(float(r["value"]))
# volfs/native: of speed for tps (> 1: volfs faster), of time for pgbench -i
names = [("tpcb_tps", "TPC-B (tps)", "speed"), ("select_tps", "select-only (tps)", "speed"),
         ("init_seconds", "pgbench -i (s)", "time")]
out = ["# PostgreSQL 15 on volfs and native", "",
       "pgbench scale %s, %s client(s); TPC-B %s s, select-only %s s; initdb -k, default "
       "settings; %d rounds, interleaved; volfs %s." % (scale, clients, tpcb, sel,
       len(val.get(("tpcb_tps", "native"), [])), engine or "(engine not logged)"), "",
       "| metric | native median (min–max) | volfs median (min–max) | volfs/native |",
       "|---|--:|--:|--:|"]
for key, label, sense in names:
    n, v = val.get((key, "native"), []), val.get((key, "volfs"), [])
    if not n or not v:
        continue
    mn, mv = statistics.median(n), statistics.median(v)
    out.append("| %s | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) | %.2f× %s |" % (
        label, mn, min(n), max(n), mv, min(v), max(v), mv / mn, sense))
loads = [r["value"] for r in rows if r["metric"] == "load1"]
if loads:
    out += ["", "Load average (1 min) at each turn's start: %s." % ", ".join(loads)]
# per phase, the median over rounds of each operation's requests on volfs
ops = {}
for r in csv.DictReader(open(ops_csv)):
    ops.setdefault((r["op"], r["phase"]), []).append(float(r["count"]))
phases = [("init", "pgbench -i"), ("tpcb", "TPC-B"), ("select", "select-only")]
names_ = sorted({op for op, _ in ops if op != "cpu_seconds"},
                key=lambda op: -sum(statistics.median(ops.get((op, p), [0])) for p, _ in phases))
if names_:
    out += ["", "volfs daemon per phase (medians over rounds): FUSE requests by operation, CPU seconds.",
            "", "| operation | " + " | ".join(l for _, l in phases) + " |",
            "|---|" + "--:|" * len(phases)]
    for op in names_ + ["cpu_seconds"]:
        cells = [statistics.median(ops[(op, p)]) if (op, p) in ops else 0 for p, _ in phases]
        fmt = "%.2f" if op == "cpu_seconds" else "%.0f"
        out.append("| %s | %s |" % (op, " | ".join(fmt % c for c in cells)))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PYEOF
