#!/usr/bin/env bash
# scripts/bench/pgreq.sh — what PostgreSQL's file patterns cost the FUSE
# daemon per repetition, volfs against libfuse's passthrough_ll: the
# patterns of scripts/bench/pgreq.c (extend: lseek(SEEK_END) + an 8 KiB
# write at the end, as pgbench -i; overwrite: an 8 KiB write inside the
# file, as the checkpointer and background writer; overwrite+lseek: the
# same then lseek(SEEK_END), as select-only's backend between those writes),
# each COUNT times on a fresh file of 1,024 pages. Per repetition: the daemon's CPU (µs,
# the run time of all its threads from /proc/PID/task/*/schedstat), its
# context switches, the caller's wall time (µs), and on volfs the FUSE
# requests by operation (volctl metrics). CPU and switches are what compare
# on a loaded machine; each round starts both daemons afresh, alternated.
#
#   bash scripts/bench/pgreq.sh
#
# Environment: ROUNDS (3), COUNT (20000), VOLFS_BIN (build/bin), BENCH_DIR
# (/var/tmp), PATTERNS ("extend overwrite overwrite+lseek"). Needs root
# (FUSE mounts) and libfuse3-dev's examples (passthrough_ll.c).
set -euo pipefail
# shellcheck source=scripts/bench/medians.bash
source "$(dirname "$0")/medians.bash"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROUNDS=${ROUNDS:-3} COUNT=${COUNT:-20000}
VOLFS_BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
PATTERNS=${PATTERNS:-extend overwrite overwrite+lseek}

die() { echo "pgreq: $*" >&2; exit 1; }
[[ $(id -u) == 0 ]] || die "run as root (FUSE mounts)"
[[ -x $VOLFS_BIN/volfs ]] || die "no $VOLFS_BIN/volfs: run make first"
tmp=$(mktemp -d "${BENCH_DIR:-/var/tmp}/pgreq.XXXXXX")
pid=''
stop_daemon() {
    [[ -n $pid ]] || return 0
    if [[ -S $tmp/state/control.sock ]]; then
        "$VOLFS_BIN/volctl" --state "$tmp/state" shutdown >/dev/null 2>&1 || fusermount3 -u "$tmp/mnt" || true
    else
        fusermount3 -u "$tmp/mnt" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    pid=''
}
trap 'stop_daemon; rm -rf --one-file-system "$tmp"' EXIT

cc -O2 -Wall -Wextra -Werror -o "$tmp/pgreq" "$root/scripts/bench/pgreq.c"
ex=$(dirname "$(dpkg -L libfuse3-dev | grep -E '/passthrough_ll\.c(\.gz)?$' | head -n 1)")
[[ -d $ex ]] || die "passthrough_ll.c not found (libfuse3-dev's examples)"
for f in passthrough_ll.c passthrough_helpers.h; do
    if [[ -f $ex/$f.gz ]]; then gzip -dc "$ex/$f.gz" >"$tmp/$f"; else cp "$ex/$f" "$tmp/$f"; fi
done
# shellcheck disable=SC2046 # pkg-config's flags are words
cc -O2 -Wall -I"$tmp" -o "$tmp/ptll" "$tmp/passthrough_ll.c" $(pkg-config --cflags --libs fuse3)

# start SYSTEM: a fresh daemon on $tmp/mnt; sets pid and file.
start() {
    rm -rf "$tmp/state" "$tmp/src" && mkdir -m 0700 "$tmp/state" "$tmp/src" && mkdir -p "$tmp/mnt"
    if [[ $1 == volfs ]]; then
        "$VOLFS_BIN/volfs" -f --state "$tmp/state" "$tmp/mnt" </dev/null >"$tmp/volfs.log" 2>&1 &
        pid=$!
        file=$tmp/mnt/pv/pgreq/f
    else
        "$tmp/ptll" -f -o "source=$tmp/src" "$tmp/mnt" </dev/null >"$tmp/ptll.log" 2>&1 &
        pid=$!
        file=$tmp/mnt/f
    fi
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$tmp/mnt" && { [[ $1 != volfs ]] || [[ -S $tmp/state/control.sock ]]; } && break
        kill -0 "$pid" 2>/dev/null || die "$1 exited"
        sleep 0.1
    done
    [[ $1 != volfs ]] || "$VOLFS_BIN/volctl" --state "$tmp/state" create pv pgreq --capacity 4Gi >/dev/null
}

# requests: volfs's GETATTR, GETXATTR and WRITE counts so far.
requests() {
    "$VOLFS_BIN/volctl" --state "$tmp/state" metrics |
        awk -F'[" ]' '/^volfs_fuse_requests_total\{op="(getattr|getxattr|write)"\}/ { n[$2] = $NF }
            END { print n["getattr"] + 0, n["getxattr"] + 0, n["write"] + 0 }'
}

declare -A all
for ((r = 1; r <= ROUNDS; r++)); do
    for sys in volfs ptll; do
        start "$sys"
        for p in $PATTERNS; do
            rm -f "$file"
            "$tmp/pgreq" "$file" "$pid" fill 1
            [[ $sys != volfs ]] || before=$(requests)
            read -r _ cpu sw wall < <("$tmp/pgreq" "$file" "$pid" "$p" "$COUNT")
            per=''
            if [[ $sys == volfs ]]; then
                per=$(paste <(echo "$before" | tr ' ' '\n') <(requests | tr ' ' '\n') |
                    awk -v n="$COUNT" '{ printf "%.2f ", ($2 - $1) / n }')
                per=" requests getattr getxattr write: $per"
            fi
            echo "round $r $sys $p: cpu_us $cpu switches $sw wall_us $wall$per"
            all["$sys $p"]+="$cpu $sw $wall"$'\n'
        done
        stop_daemon
    done
done
keys=()
for p in $PATTERNS; do keys+=("volfs $p" "ptll $p"); done
print_medians "daemon µs CPU, context switches, wall µs per repetition" "${keys[@]}"
