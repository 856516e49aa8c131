#!/usr/bin/env bats
# scripts/bench/report.py (issue 6), on made-up runs: medians, ratios and
# targets, and a chart also when one of the systems was not measured.

load helpers

REPORT=$BATS_TEST_DIRNAME/../../scripts/bench/report.py

# write_runs DIR SYSTEMS...: workloads.tsv and raw.csv with three runs of
# two workloads on each system; volfs is twice as fast on randread.
write_runs() {
    local dir=$1 s r
    shift
    printf 'name\tunit\thigher\ttarget_ptll\ttarget_native\n' >"$dir/workloads.tsv"
    printf 'randread\tIOPS\t1\t1.5\t-\nuntar\ts\t0\t1.0\t-\n' >>"$dir/workloads.tsv"
    echo "workload,system,run,value,p99_us" >"$dir/raw.csv"
    for s in "$@"; do
        for r in 1 2 3; do
            if [[ $s == volfs ]]; then
                echo "randread,$s,$r,$((2000 + r)),100" >>"$dir/raw.csv"
                echo "untar,$s,$r,$((4 + r)),-" >>"$dir/raw.csv"
            else
                echo "randread,$s,$r,$((1000 + r)),100" >>"$dir/raw.csv"
                echo "untar,$s,$r,$((2 + r)),-" >>"$dir/raw.csv"
            fi
        done
    done
}

@test "report.py takes medians and ratios of speed, and judges the targets" {
    local d=$BATS_TEST_TMPDIR/all
    mkdir -p "$d"
    write_runs "$d" native passthrough_ll volfs
    run python3 "$REPORT" report "$d"
    assert_success
    # randread: medians 2002 and 1002; untar: 6 s against 4 s is 0.67x
    grep -q '^| randread | IOPS | 1,002 | 1,002 | 2,002 | 2.00× | 2.00× |' "$d/results.md" ||
        fail "randread row: $(grep '^| randread' "$d/results.md")"
    grep -q '^| untar | s | 4.00 | 4.00 | 6.00 | 0.67× | 0.67× |' "$d/results.md" ||
        fail "untar row: $(grep '^| untar' "$d/results.md")"
    grep -q '| randread | volfs ≥ 1.5× passthrough_ll | 2.00× | yes |' "$d/results.md"
    grep -q '| untar | volfs ≥ 1.0× passthrough_ll | 0.67× | no (33% short) |' "$d/results.md"
}

@test "report.py draws the chart when native was not measured" {
    command -v gnuplot >/dev/null || skip "gnuplot not installed"
    local d=$BATS_TEST_TMPDIR/ptll
    mkdir -p "$d"
    write_runs "$d" passthrough_ll volfs
    run python3 "$REPORT" report "$d"
    assert_success
    [ -s "$d/ratios.png" ] || fail "no ratios.png: $output"
    grep -q '^| randread | IOPS | - | 1,002 | 2,002 | - | 2.00× |' "$d/results.md"
}
