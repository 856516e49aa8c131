#!/usr/bin/env bash
# The namespace layer's CPU per create, cold stat and unlink, without FUSE
# (scripts/bench/vfscpu.c), for builds of several trees alternated:
#
#   bash scripts/bench/vfscpu.sh TREE [TREE...]
#
# Each TREE is a source tree built with `make all` (its build/obj is
# linked). Runs ROUNDS rounds (5) of COUNT files (20000), each going
# through the TREEs in turn, and prints each run and the median per TREE
# (µs of CPU per file). Environment: ROUNDS, COUNT, WORK (/var/tmp).
set -euo pipefail
# shellcheck source=scripts/bench/medians.bash
source "$(dirname "$0")/medians.bash"
ROUNDS=${ROUNDS:-5} COUNT=${COUNT:-20000}
here=$(cd "$(dirname "$0")" && pwd)
WORK=$(mktemp -d "${WORK:-/var/tmp}/vfscpu.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
libs="-lfuse3 -lpthread -lsqlite3 -luring -luuid -lyaml -ljson-c -lcrypto -lmicrohttpd"
n=0
declare -A tool all
for tree in "$@"; do
    objs=$(find "$tree/build/obj/fs" "$tree/build/obj/meta" -name '*.o' ! -path '*/fs/fuse/main.o')
    # shellcheck disable=SC2086 # word lists
    cc -O2 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 -I"$tree" -o "$WORK/vfscpu.$n" \
        "$here/vfscpu.c" $objs "$tree/build/obj/version.o" $libs ||
        { echo "vfscpu: cannot build against $tree (make all there first)" >&2; exit 1; }
    tool[$tree]=$WORK/vfscpu.$n
    n=$((n + 1))
done
for ((r = 1; r <= ROUNDS; r++)); do
    for tree in "$@"; do
        rm -rf "$WORK/state" && mkdir "$WORK/state"
        out=$("${tool[$tree]}" "$WORK/state" "$COUNT")
        echo "round $r $tree: create stat unlink (µs CPU a file): $out"
        all[$tree]+="$out"$'\n'
    done
done
print_medians "create stat unlink, µs CPU a file" "$@"
