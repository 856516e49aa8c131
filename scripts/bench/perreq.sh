#!/usr/bin/env bash
# scripts/bench/perreq.sh PID FILE [COUNT] [JOBS] — what one 4 KiB O_DIRECT
# request at queue depth 1 costs the FUSE daemon PID: COUNT (20000) random
# requests of each job in JOBS ("randwrite randread"), issued by fio's psync
# engine (as scripts/bench/jobs/rand*-psync.fio) to FILE, a laid-out file on
# PID's mount. Prints per request the daemon's CPU (utime + stime of all its
# threads, /proc/PID/task/*/stat) and context switches (voluntary and not),
# and fio's mean completion latency. Counts, not time, are what compare on a
# loaded machine: run it for both daemons, alternated, several times.
# Needs fio; with STRACE=1 also prints the daemon's system calls per request
# (strace -c -f; slows the requests, so its CPU figures are not comparable).
set -euo pipefail
(($# >= 2)) || { echo "usage: $0 PID FILE [COUNT] [JOBS]" >&2; exit 2; }
pid=$1 file=$2 n=${3:-20000} jobs=${4:-randwrite randread}
[[ -d /proc/$pid ]] || { echo "perreq: no process $pid" >&2; exit 1; }
[[ -f $file ]] || { echo "perreq: $file is not a file" >&2; exit 1; }
hz=$(getconf CLK_TCK)

ticks() { cat /proc/"$pid"/task/*/stat | awk '{ sub(/.*\) /, ""); t += $12 + $13 } END { print t }'; }
switches() { cat /proc/"$pid"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }

for job in $jobs; do
    [[ $job =~ ^rand(read|write)$ ]] || { echo "perreq: job $job is not randread or randwrite" >&2; exit 2; }
    tracer=''
    if [[ ${STRACE:-0} == 1 ]]; then
        strace -c -f -p "$pid" -o "/tmp/perreq-strace.$$" 2>/dev/null &
        tracer=$!
        sleep 1
    fi
    t0=$(ticks) c0=$(switches)
    lat=$(fio --name=perreq --filename="$file" --rw="$job" --bs=4k --direct=1 --ioengine=psync \
        --iodepth=1 --number_ios="$n" --size="$(stat -c %s "$file")" --norandommap --randrepeat=0 \
        --fallocate=none --output-format=json |
        python3 -c 'import json,sys; j=json.load(sys.stdin)["jobs"][0]; k="write" if j["write"]["total_ios"] else "read"; print("%.1f" % (j[k]["clat_ns"]["mean"] / 1000))')
    t1=$(ticks) c1=$(switches)
    awk -v j="$job" -v n="$n" -v t=$((t1 - t0)) -v c=$((c1 - c0)) -v hz="$hz" -v l="$lat" \
        'BEGIN { printf "%s x%d: daemon %.2f us CPU, %.2f context switches per request; fio clat %s us\n", j, n, t * 1e6 / hz / n, c / n, l }'
    if [[ -n $tracer ]]; then
        kill -INT "$tracer"
        wait "$tracer" || true
        # strace -c: % time, seconds, usecs/call, calls, [errors,] name
        awk -v n="$n" '$1 ~ /^[0-9.]+$/ && $4 ~ /^[0-9]+$/ { printf "  %s %.2f per request\n", $NF, $4 / n }' \
            "/tmp/perreq-strace.$$"
        rm -f "/tmp/perreq-strace.$$"
    fi
done
