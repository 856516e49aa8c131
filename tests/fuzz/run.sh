#!/usr/bin/env bash
# Run libFuzzer targets for a bounded time each: `make fuzz` (FUZZ_SECONDS,
# default 300) and tests/run.sh (30 s) call it.
#
#   tests/fuzz/run.sh [TARGET...]   (default: every build/fuzz/fuzzers/fuzz_*)
#
# Each target starts from its committed seed corpus tests/fuzz/corpus/NAME
# (NAME is the target without "fuzz_"), which is read, never written: new
# inputs go to a scratch corpus (kept in FUZZ_CORPUS_OUT/NAME when that is
# set, to review and commit). A crash, leak, sanitizer report or timeout
# leaves its input in FUZZ_ARTIFACTS (default build/fuzz/artifacts) and
# fails the target. Output is TAP: one test per target.
#
# Environment: FUZZ_SECONDS (300), FUZZ_DIR (build/fuzz/fuzzers),
# FUZZ_ARTIFACTS, FUZZ_CORPUS_OUT, FUZZ_JOBS (1: libFuzzer workers per target).
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FUZZ_SECONDS=${FUZZ_SECONDS:-300}
FUZZ_DIR=$(realpath -m "${FUZZ_DIR:-$root/build/fuzz/fuzzers}")
FUZZ_ARTIFACTS=$(realpath -m "${FUZZ_ARTIFACTS:-$root/build/fuzz/artifacts}")
FUZZ_CORPUS_OUT=${FUZZ_CORPUS_OUT:-}
mkdir -p "$FUZZ_ARTIFACTS"

targets=("$@")
if ((${#targets[@]} == 0)); then
    for b in "$FUZZ_DIR"/fuzz_*; do
        [[ -x $b ]] && targets+=("${b##*/}")
    done
fi
if ((${#targets[@]} == 0)); then
    echo "# no fuzz targets in $FUZZ_DIR: run make fuzzers" >&2
    exit 2
fi

# fuzz_one TARGET N: run it, print "ok N ..." or "not ok N ..." and why.
fuzz_one() {
    local target=$1 n=$2 name=${1#fuzz_} bin=$FUZZ_DIR/$1
    local seeds=$root/tests/fuzz/corpus/$name dict=$root/tests/fuzz/$1.dict
    local work rc runs args
    if [[ ! -x $bin ]]; then
        echo "not ok $n $target: $bin is missing (make fuzzers)"
        return 1
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/volfs-fuzz.XXXXXX")
    mkdir "$work/corpus"
    args=(-max_total_time="$FUZZ_SECONDS" -timeout=30 -rss_limit_mb=2560 -print_final_stats=1
          -artifact_prefix="$FUZZ_ARTIFACTS/$target-")
    [[ -f $dict ]] && args+=(-dict="$dict")
    ((${FUZZ_JOBS:-1} > 1)) && args+=(-fork="$FUZZ_JOBS")
    # TMPDIR: where fuzz_control makes its scratch state, removed with work
    (cd "$work" && TMPDIR=$work timeout -k 10 $((FUZZ_SECONDS + 300)) "$bin" "${args[@]}" "$work/corpus" "$seeds" \
        >"$work/log" 2>&1)
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log" | tail -1)
    if ((rc == 0)); then
        echo "ok $n $target: ${runs:-?} inputs in ${FUZZ_SECONDS}s"
    else
        echo "not ok $n $target: exit status $rc after ${runs:-?} inputs"
        grep -E 'ERROR|SUMMARY: |runtime error|fuzz: |Test unit written|^    #[0-9] |^Parse' "$work/log" |
            head -40 | sed 's/^/# /'
    fi
    if [[ -n $FUZZ_CORPUS_OUT ]]; then
        mkdir -p "$FUZZ_CORPUS_OUT/$name" && cp -n "$work/corpus"/* "$FUZZ_CORPUS_OUT/$name/" 2>/dev/null
    fi
    rm -rf "$work"
    return $((rc != 0))
}

echo "1..${#targets[@]}"
failed=0 n=0
for t in "${targets[@]}"; do
    n=$((n + 1))
    fuzz_one "$t" "$n" || failed=$((failed + 1))
done
((failed == 0))
