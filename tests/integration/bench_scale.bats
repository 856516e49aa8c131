#!/usr/bin/env bats
# scripts/bench/snapcost.sh (the snapshot-cost half of `make bench-scale`)
# on a tiny scale: the harness runs every step against the build under test
# and its table has a number in every row. No figure is judged here.

load helpers

SNAPCOST=$BATS_TEST_DIRNAME/../../scripts/bench/snapcost.sh

setup() {
    volfs_dirs
}

teardown() {
    volfs_teardown
}

@test "snapcost.sh on 200 files and 3 snapshots fills every row of its table" {
    run env BENCH_FILES=200 BENCH_SNAP_FILES=200 BENCH_SNAPS=3 BENCH_SNAP_CHANGES=20 \
        BENCH_RUNS=1 BENCH_SAMPLE=20 BENCH_READDIRS=2 BENCH_PER=50 BENCH_DROP_CACHES=0 \
        BENCH_DIR="$VOLFS_TMP" BENCH_OUT="$VOLFS_TMP/out" bash "$SNAPCOST"
    assert_success
    local md rows row value
    md=$(echo "$VOLFS_TMP"/out/scale-*.md)
    [[ -f $md ]] || fail "no single scale-*.md in $VOLFS_TMP/out: $md"
    [[ -s ${md%.md}/raw.csv ]] || fail "no raw.csv beside $md"
    # the rows after the header and the |---| line
    rows=$(sed -n '/^|---/,$p' "$md" | tail -n +2)
    # ops 12, meta 4, stall 16, snaps 28, volfs --check, file creation rate
    [[ $(grep -c '^| ' <<<"$rows") == 62 ]] || fail "expected 62 rows, got: $rows"
    while IFS= read -r row; do
        value=$(cut -d'|' -f3 <<<"$row")
        [[ $value =~ [0-9] ]] || fail "no number in: $row"
    done <<<"$rows"
    grep -q '^| `volctl check` problems after the deletions (exit status 0) | 0 |' "$md"
    grep -q '^| `volfs --check` exit status at the end | 0 |' "$md"
    grep -q '^| meta.db added by a snapshot then 200 files changed | [0-9.]* KiB |' "$md"
    # the daemon it started is gone and unmounted
    run findmnt -rn -o TARGET
    refute_output --partial "$VOLFS_TMP"
}

@test "snapcost.sh refuses a bad parameter with one line" {
    run env BENCH_FILES=1e6 BENCH_OUT="$VOLFS_TMP/out" bash "$SNAPCOST"
    assert_failure
    assert_output --partial "BENCH_FILES must be a positive integer"
    [[ $(wc -l <<<"$output") == 1 ]] || fail "more than one line: $output"
    run env BENCH_STEPS="ops fast" BENCH_OUT="$VOLFS_TMP/out" bash "$SNAPCOST"
    assert_failure
    assert_output --partial "BENCH_STEPS: unknown step fast"
    [[ ! -e $VOLFS_TMP/out ]] || fail "a refused run wrote results"
}
