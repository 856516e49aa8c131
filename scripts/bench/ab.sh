#!/usr/bin/env bash
# scripts/bench/ab.sh OLD_BIN NEW_BIN — two volfs builds on the same disk,
# interleaved (the order alternates from round to round), for a change's
# before/after on a loaded machine where absolute numbers mean little.
#
# Per round and build: a fresh daemon and volume; `reread` (a 64 MiB file
# read twice, then one 8 KiB write + fdatasync through another descriptor,
# then read again: the FUSE reads that last read cost, and its time), then
# the fio jobs randwrite-psync, randwrite-uring and fsync of scripts/bench/jobs
# (iops). Prints medians and min–max per build, and writes them to
# OUT/ab.md with every sample in OUT/ab.csv. Runs as root.
#
# Environment: ROUNDS (3), BENCH_DIR (/var/tmp), BENCH_RUNTIME (8),
# BENCH_RAND_SIZE (256M), OUT (build/bench-ab), OLD_ARGS / NEW_ARGS (extra
# volfs arguments of each build, e.g. NEW_ARGS=--host-writes=uring).
set -euo pipefail

(($# == 2)) || { echo "usage: $0 OLD_BIN NEW_BIN" >&2; exit 2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OLD=$(realpath "$1") NEW=$(realpath "$2")
ROUNDS=${ROUNDS:-3}
OUT=$(realpath -m "${OUT:-$root/build/bench-ab}")
export BENCH_RUNTIME=${BENCH_RUNTIME:-8} BENCH_RAND_SIZE=${BENCH_RAND_SIZE:-256M}
export BENCH_FSYNC_SIZE=1G
TMP=$(mktemp -d "${BENCH_DIR:-/var/tmp}/volfs-ab.XXXXXX")
mkdir -p "$OUT"
PID=''
trap '[[ -n $PID ]] && { fusermount3 -u "$TMP/mnt" 2>/dev/null; wait "$PID"; }; rm -rf --one-file-system "$TMP"' EXIT

start() { # BIN ARGS...
    rm -rf "$TMP/state" && mkdir -m 0700 "$TMP/state" && mkdir -p "$TMP/mnt"
    "$1/volfs" -f --state "$TMP/state" "${@:2}" "$TMP/mnt" </dev/null >>"$OUT/volfs.log" 2>&1 &
    PID=$!
    for ((i = 0; i < 200; i++)); do
        mountpoint -q "$TMP/mnt" && [[ -S $TMP/state/control.sock ]] && break
        sleep 0.1
    done
    "$1/volctl" --state "$TMP/state" create pv ab --capacity 16Gi >/dev/null
}

stop() { # BIN
    "$1/volctl" --state "$TMP/state" shutdown >/dev/null
    wait "$PID" || true
    PID=''
}

reads() { # BIN
    "$1/volctl" --state "$TMP/state" metrics | awk '$1 == "volfs_fuse_requests_total{op=\"read\"}" { print $2 }'
}

reread() { # BIN BUILD ROUND
    local f=$TMP/mnt/pv/ab/big before t0 t1
    head -c 64M /dev/urandom >"$f"
    cat "$f" >/dev/null && cat "$f" >/dev/null
    dd if=/dev/urandom of="$f" bs=8k count=1 seek=1000 conv=notrunc,fdatasync status=none
    before=$(reads "$1")
    t0=$(date +%s%N)
    cat "$f" >/dev/null
    t1=$(date +%s%N)
    echo "$2,$3,reread_fuse_reads,$(($(reads "$1") - before))" >>"$OUT/ab.csv"
    echo "$2,$3,reread_ms,$(((t1 - t0) / 1000000))" >>"$OUT/ab.csv"
    rm "$f"
}

fio_job() { # JOB BUILD ROUND
    local iops
    iops=$(BENCH_TARGET=$TMP/mnt/pv/ab fio --output-format=json "$root/scripts/bench/jobs/$1.fio" |
        python3 -c 'import json,sys; print(round(json.load(sys.stdin)["jobs"][0]["write"]["iops"]))')
    echo "$2,$3,$1_iops,$iops" >>"$OUT/ab.csv"
}

one() { # BUILD ROUND
    local bin=$OLD args=${OLD_ARGS:-}
    [[ $1 == new ]] && bin=$NEW args=${NEW_ARGS:-}
    # shellcheck disable=SC2086 # args is a list of words
    start "$bin" $args
    reread "$bin" "$1" "$2"
    BENCH_TARGET=$TMP/mnt/pv/ab BENCH_SEQ_SIZE=1M fio --output-format=json "$root/scripts/bench/jobs/layout.fio" >/dev/null
    fio_job randwrite-psync "$1" "$2"
    fio_job randwrite-uring "$1" "$2"
    rm -f "$TMP"/mnt/pv/ab/fsync.*
    fio_job fsync "$1" "$2"
    stop "$bin"
}

echo "build,round,metric,value" >"$OUT/ab.csv"
for ((r = 1; r <= ROUNDS; r++)); do
    if ((r % 2)); then order=(old new); else order=(new old); fi
    for b in "${order[@]}"; do
        echo "ab: round $r/$ROUNDS, $b" >&2
        sync
        echo 3 >/proc/sys/vm/drop_caches
        one "$b" "$r"
    done
done

python3 - "$OUT/ab.csv" "$OUT/ab.md" <<'PYEOF'
import csv, statistics, sys
v = {}
for r in csv.DictReader(open(sys.argv[1])):
    v.setdefault(r["metric"], {}).setdefault(r["build"], []).append(float(r["value"]))
out = ["| metric | old median (min–max) | new median (min–max) | new/old |", "|---|--:|--:|--:|"]
for m, b in v.items():
    o, n = b.get("old", [0]), b.get("new", [0])
    mo, mn = statistics.median(o), statistics.median(n)
    out.append("| %s | %g (%g–%g) | %g (%g–%g) | %s |" % (m, mo, min(o), max(o), mn, min(n), max(n),
               "%.2f×" % (mn / mo) if mo else "-"))
open(sys.argv[2], "w").write("\n".join(out) + "\n")
print("\n".join(out))
PYEOF
