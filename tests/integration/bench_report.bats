#!/usr/bin/env bats
# scripts/bench/report.py on made-up runs: medians, ratios and
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

@test "hostwrite.c builds cleanly and measures its three ways of writing" {
    local src=$BATS_TEST_DIRNAME/../../scripts/bench/hostwrite.c bin=$BATS_TEST_TMPDIR/hostwrite
    run cc -O2 -Wall -Wextra -Werror -o "$bin" "$src" -luring
    assert_success
    run "$bin" "$BATS_TEST_TMPDIR" 2000
    assert_success
    [ "$(echo "$output" | awk '{ print $1 }' | tr '\n' ' ')" = "pwrite uring uring-1cpu " ] ||
        fail "ways: $output"
    echo "$output" | awk '!($2 > 0 && $3 > 0) { exit 1 }' || fail "not a rate and a time: $output"
    ! ls "$BATS_TEST_TMPDIR"/hostwrite.?????? 2>/dev/null || fail "left its file behind"
}

@test "report.py hostwrite prints each way's medians" {
    local d=$BATS_TEST_TMPDIR/hw
    mkdir -p "$d"
    printf 'run,way,ops_per_s,us_per_op\n1,pwrite,400000,2.5\n2,pwrite,500000,2.0\n3,pwrite,300000,3.3\n1,uring,20000,50.0\n2,uring,10000,100.0\n3,uring,30000,33.3\n' >"$d/hostwrite.csv"
    run python3 "$REPORT" hostwrite "$d"
    assert_success
    echo "$output" | grep -q 'median of 3 runs' || fail "$output"
    echo "$output" | grep -q '^| plain `pwrite(2)` (as passthrough_ll, and volfs on ext4, write) | 400,000 | 2.5 |$' || fail "$output"
    echo "$output" | grep -q '^| io_uring, one write per submit-and-wait (as volfs writes on XFS and btrfs) | 20,000 | 50.0 |$' || fail "$output"
}

@test "report.py compares volfs_uring and gives each daemon's CPU per I/O" {
    local d=$BATS_TEST_TMPDIR/uring r
    mkdir -p "$d"
    printf 'name\tunit\thigher\ttarget_ptll\ttarget_native\n' >"$d/workloads.tsv"
    printf 'randread\tIOPS\t1\t1.5\t-\n' >>"$d/workloads.tsv"
    echo "workload,system,run,value,p99_us,ops,daemon_cpu_s" >"$d/raw.csv"
    for r in 1 2 3; do
        # 10,000 I/Os each: 0.2 s of CPU is 20 µs per I/O, 0.1 s is 10
        echo "randread,passthrough_ll,$r,1000,100,10000,0.2" >>"$d/raw.csv"
        echo "randread,volfs,$r,1000,100,10000,0.2" >>"$d/raw.csv"
        echo "randread,volfs_uring,$r,1500,50,10000,0.1" >>"$d/raw.csv"
    done
    run python3 "$REPORT" report "$d"
    assert_success
    grep -q '^| randread | 1,500 | 1.50× | 1.50× | 50.0 | 20.0 | 20.0 | 10.0 |$' "$d/results.md" ||
        fail "volfs_uring row: $(grep '^| randread' "$d/results.md")"
}
