#!/usr/bin/env bash
# scripts/bench/fuseuring.sh — the FUSE transport experiment: does
# FUSE-over-io_uring make small random I/O through FUSE cheaper on this
# machine? Builds scripts/bench/fuseuring.c (one host directory served with
# pread/pwrite, over /dev/fuse or over io_uring) and libfuse's passthrough_ll
# as scripts/bench/run.sh builds it for O_DIRECT jobs (backing files opened
# without O_DIRECT, `-o cache=always`), mounts them all on the same backing
# files, and runs the random-I/O fio jobs of scripts/bench/jobs against each,
# interleaved, the order rotating from round to round.
#
# Systems:
#   dev        fuseuring over /dev/fuse (fuse_session_loop_mt, max_background 12
#              as libfuse's default, as passthrough_ll)
#   uring      fuseuring over io_uring, max_background 128
#   uring-bg12 fuseuring over io_uring, max_background 12
#   uring-nopin fuseuring over io_uring, its ring threads not pinned to CPUs
#   uring-2t   fuseuring over io_uring, two pinned threads (two rings) per queue
#   ptll       passthrough_ll (nodirect build)
#
# Prints, per job and system, the median IOPS, min–max, the ratio of medians
# to ptll, and the daemon's CPU time per operation (utime+stime of the whole
# process over the run, divided by fio's completed I/Os); every sample goes
# to OUT/fuseuring.csv; with it the daemon's context switches per operation
# (perf stat -e context-switches -p), and fio's CPU time per operation, its
# io-wq threads included (perf stat -e task-clock). Turns the fuse module parameter enable_uring on for
# the run and puts back its previous value on exit. Runs as root.
#
# Environment: ROUNDS (5), BENCH_RUNTIME (8), BENCH_RAND_SIZE (1G), BENCH_DIR
# (/var/tmp), OUT (build/bench-fuseuring), SYSTEMS, JOBS (space-separated
# subsets of the above and of randread-uring randwrite-uring randrw-uring
# randread-psync randwrite-psync).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-5}
export BENCH_RUNTIME=${BENCH_RUNTIME:-8} BENCH_RAND_SIZE=${BENCH_RAND_SIZE:-1G}
OUT=$(realpath -m "${OUT:-$root/build/bench-fuseuring}")
SYSTEMS=${SYSTEMS:-dev uring uring-bg12 ptll}
JOBS=${JOBS:-randread-uring randwrite-uring randrw-uring randread-psync randwrite-psync}
param=/sys/module/fuse/parameters/enable_uring

die() { echo "fuseuring.sh: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root (mounts, and $param)"
[[ -w $param ]] || die "$param missing: the kernel has no FUSE-over-io_uring (6.14+, CONFIG_FUSE_IO_URING)"

tmp=$(mktemp -d "${BENCH_DIR:-/var/tmp}/fuseuring.XXXXXX")
prev=$(cat "$param")
declare -A PID=()
cleanup() {
    for s in "${!PID[@]}"; do
        fusermount3 -u "$tmp/mnt-$s" 2>/dev/null || umount -l "$tmp/mnt-$s" 2>/dev/null || true
        wait "${PID[$s]}" 2>/dev/null || true
    done
    echo "$prev" >"$param"
    rm -rf --one-file-system "$tmp"
}
trap cleanup EXIT
mkdir -p "$OUT" "$tmp/src" "$tmp/logs"

# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -Wall -Wextra -Werror -I"$root" -o "$tmp/fuseuring" "$root/scripts/bench/fuseuring.c" \
    $(pkg-config --cflags --libs fuse3) -luring -lpthread
ex=$(dirname "$(dpkg -L libfuse3-dev | grep -E '/passthrough_ll\.c(\.gz)?$' | head -n 1)")
[[ -d $ex ]] || die "passthrough_ll.c not found (libfuse3-dev's examples)"
for f in passthrough_ll.c passthrough_helpers.h; do
    if [[ -f $ex/$f.gz ]]; then gzip -dc "$ex/$f.gz" >"$tmp/$f"; else cp "$ex/$f" "$tmp/$f"; fi
done
sed 's/& ~O_NOFOLLOW/\& ~(O_NOFOLLOW | O_DIRECT)/' "$tmp/passthrough_ll.c" >"$tmp/ptll.c"
# shellcheck disable=SC2046
cc -O2 -Wall -I"$tmp" -o "$tmp/ptll" "$tmp/ptll.c" $(pkg-config --cflags --libs fuse3)

size_mb=$(numfmt --from=iec "$BENCH_RAND_SIZE" | awk '{print int($1 / 1048576)}')
for j in 0 1; do
    dd if=/dev/urandom of="$tmp/src/rand.$j" bs=1M count="$size_mb" status=none
done

echo Y >"$param"
start() { # SYSTEM
    local s=$1 m=$tmp/mnt-$1
    mkdir -p "$m"
    case $s in
    dev) FUSEURING_MAX_BACKGROUND=12 exec "$tmp/fuseuring" dev "$tmp/src" "$m" ;;
    uring) exec "$tmp/fuseuring" uring "$tmp/src" "$m" ;;
    uring-bg12) FUSEURING_MAX_BACKGROUND=12 exec "$tmp/fuseuring" uring "$tmp/src" "$m" ;;
    uring-nopin) FUSEURING_PIN=0 exec "$tmp/fuseuring" uring "$tmp/src" "$m" ;;
    uring-2t) FUSEURING_THREADS_PER_QUEUE=2 exec "$tmp/fuseuring" uring "$tmp/src" "$m" ;;
    ptll) exec "$tmp/ptll" -f -o "source=$tmp/src,cache=always" "$m" ;;
    *) die "unknown system $s" ;;
    esac </dev/null >"$tmp/logs/$s.log" 2>&1 &
    PID[$s]=$!
    for _ in $(seq 100); do
        [[ -f $m/rand.1 ]] && return 0
        sleep 0.1
    done
    die "$s did not mount: $(cat "$tmp/logs/$s.log")"
}
for s in $SYSTEMS; do start "$s"; done
for s in $SYSTEMS; do
    [[ $s != uring* ]] || grep -q 'io_uring transport' "$tmp/logs/$s.log" \
        || die "$s: not on io_uring: $(cat "$tmp/logs/$s.log")"
done

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
csv=$OUT/fuseuring.csv
echo "round,job,system,iops,ios,daemon_cpu_us_per_op,daemon_cs_per_op,fio_cpu_us_per_op" >"$csv"
read -r -a sys <<<"$SYSTEMS"
for ((r = 1; r <= ROUNDS; r++)); do
    for job in $JOBS; do
        for ((i = 0; i < ${#sys[@]}; i++)); do
            s=${sys[(i + r) % ${#sys[@]}]}
            t0=$(ticks "${PID[$s]}")
            perf stat -x, -e context-switches -p "${PID[$s]}" -o "$tmp/perf.txt" &
            perfpid=$!
            BENCH_TARGET=$tmp/mnt-$s perf stat -x, -e task-clock -o "$tmp/fio-perf.txt" \
                fio --output-format=json "$root/scripts/bench/jobs/$job.fio" \
                >"$tmp/fio.json" 2>"$tmp/fio.err" || die "fio $job on $s: $(cat "$tmp/fio.err")"
            t1=$(ticks "${PID[$s]}")
            kill -INT "$perfpid"
            wait "$perfpid" || true
            fio_ms=$(awk -F, '$3 == "task-clock" {print $1}' "$tmp/fio-perf.txt")
            cs=$(awk -F, '$3 == "context-switches" && $1 ~ /^[0-9]+$/ {print $1}' "$tmp/perf.txt")
            python3 - "$tmp/fio.json" "$r" "$job" "$s" $((t1 - t0)) "$hz" "${cs:-0}" "${fio_ms:-0}" >>"$csv" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["jobs"][0]
assert j["error"] == 0, j["error"]
iops = j["read"]["iops"] + j["write"]["iops"]
ios = j["read"]["total_ios"] + j["write"]["total_ios"]
cpu_us = int(sys.argv[5]) * 1e6 / int(sys.argv[6])
cs = int(sys.argv[7]) / max(ios, 1)
fio_us = float(sys.argv[8]) * 1e3 / max(ios, 1)
print(f"{sys.argv[2]},{sys.argv[3]},{sys.argv[4]},{iops:.0f},{ios},{cpu_us / max(ios, 1):.1f},{cs:.2f},{fio_us:.1f}")
EOF
            tail -n 1 "$csv"
        done
    done
done

for s in $SYSTEMS; do
    fusermount3 -u "$tmp/mnt-$s"
    wait "${PID[$s]}" || true
    unset "PID[$s]"
    sed -n 's/^fuseuring: served/'"$s"': served/p' "$tmp/logs/$s.log"
done
python3 - "$csv" <<'EOF' | tee "$OUT/fuseuring.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
jobs = list(dict.fromkeys(r["job"] for r in rows))
systems = list(dict.fromkeys(r["system"] for r in rows))
print("| job | system | IOPS median | min–max | × ptll | daemon CPU µs/op | daemon switches/op | fio CPU µs/op |")
print("|---|---|---:|---:|---:|---:|---:|---:|")
for job in jobs:
    med = {}
    for s in systems:
        v = [float(r["iops"]) for r in rows if r["job"] == job and r["system"] == s]
        med[s] = statistics.median(v) if v else None
    for s in systems:
        v = [float(r["iops"]) for r in rows if r["job"] == job and r["system"] == s]
        c = [float(r["daemon_cpu_us_per_op"]) for r in rows if r["job"] == job and r["system"] == s]
        w = [float(r["daemon_cs_per_op"]) for r in rows if r["job"] == job and r["system"] == s]
        f = [float(r["fio_cpu_us_per_op"]) for r in rows if r["job"] == job and r["system"] == s]
        if not v:
            continue
        ratio = f"{med[s] / med['ptll']:.2f}" if med.get("ptll") else "-"
        print(f"| {job} | {s} | {med[s]:.0f} | {min(v):.0f}–{max(v):.0f} | {ratio} | {statistics.median(c):.1f} | {statistics.median(w):.2f} | {statistics.median(f):.1f} |")
EOF
