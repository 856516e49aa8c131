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

@test "report.py pg compares native, volfs and volfs_uring and gives each daemon's CPU per transaction" {
    local d=$BATS_TEST_TMPDIR/pg r
    mkdir -p "$d"
    echo "round,system,metric,value" >"$d/raw.csv"
    echo "system,round,phase,op,count" >"$d/ops.csv"
    for r in 1 2 3; do
        # native: 100 tps, 10 s; volfs: 50 tps, 20 s; volfs_uring: 95 tps, 12 s
        printf '%s\n' "$r,native,load1,1.5" "$r,native,init_seconds,10" "$r,native,tpcb_tps,$((99 + r))" \
            "$r,native,tpcb_xacts,3000" "$r,native,select_tps,1000" "$r,native,select_xacts,20000" \
            "$r,volfs,init_seconds,20" "$r,volfs,tpcb_tps,$((49 + r))" "$r,volfs,tpcb_xacts,1500" \
            "$r,volfs,select_tps,500" "$r,volfs,select_xacts,10000" \
            "$r,volfs_uring,init_seconds,12" "$r,volfs_uring,tpcb_tps,$((94 + r))" \
            "$r,volfs_uring,tpcb_xacts,3000" "$r,volfs_uring,select_tps,950" \
            "$r,volfs_uring,select_xacts,20000" >>"$d/raw.csv"
        # CPU per TPC-B transaction: volfs 3 s / 1500 = 2000 us, rings 3 s / 3000 = 1000 us
        printf '%s\n' "volfs,$r,tpcb,write,$((1000 * r))" "volfs,$r,tpcb,cpu_seconds,3" \
            "volfs,$r,select,cpu_seconds,1" "volfs_uring,$r,tpcb,write,2000" \
            "volfs_uring,$r,tpcb,cpu_seconds,3" "volfs_uring,$r,select,cpu_seconds,0.5" >>"$d/ops.csv"
    done
    run python3 "$REPORT" pg "$d" 20 30 20 1 "host writes: pwrite"
    assert_success
    echo "$output" | grep -qF '| metric | native median (min–max) | volfs median (min–max) | volfs_uring median (min–max) | volfs/native | volfs_uring/native |' ||
        fail "$output"
    echo "$output" | grep -qF '| TPC-B (tps) | 101.0 (100.0–102.0) | 51.0 (50.0–52.0) | 96.0 (95.0–97.0) | 0.50× speed | 0.95× speed |' ||
        fail "$output"
    echo "$output" | grep -qF '| pgbench -i (s) | 10.0 (10.0–10.0) | 20.0 (20.0–20.0) | 12.0 (12.0–12.0) | 2.00× time | 1.20× time |' ||
        fail "$output"
    echo "$output" | grep -qF '3 rounds, interleaved' || fail "$output"
    # the daemon tables: volfs's writes are the median 2000; CPU per transaction
    [ "$(echo "$output" | grep -c '^| cpu_us_per_transaction |')" -eq 2 ] || fail "$output"
    echo "$output" | grep -qF '| cpu_us_per_transaction | – | 2000.0 | 100.0 |' || fail "$output"
    echo "$output" | grep -qF '| cpu_us_per_transaction | – | 1000.0 | 25.0 |' || fail "$output"
    echo "$output" | grep -qF '| write | 0 | 2000 | 0 |' || fail "$output"
    cmp <(echo "$output") "$d/results.md"
}

@test "report.py pg adds volfs_wb (--writeback-cache) as a column and a daemon table" {
    local d=$BATS_TEST_TMPDIR/pgwb r
    mkdir -p "$d"
    echo "round,system,metric,value" >"$d/raw.csv"
    echo "system,round,phase,op,count" >"$d/ops.csv"
    for r in 1 2 3; do
        # native: 10 s; volfs: 20 s; volfs_wb: 13 s
        printf '%s\n' "$r,native,init_seconds,10" "$r,native,tpcb_tps,100" "$r,native,tpcb_xacts,3000" \
            "$r,native,select_tps,1000" "$r,native,select_xacts,20000" \
            "$r,volfs,init_seconds,20" "$r,volfs,tpcb_tps,90" "$r,volfs,tpcb_xacts,2700" \
            "$r,volfs,select_tps,800" "$r,volfs,select_xacts,16000" \
            "$r,volfs_wb,init_seconds,13" "$r,volfs_wb,tpcb_tps,95" "$r,volfs_wb,tpcb_xacts,2850" \
            "$r,volfs_wb,select_tps,900" "$r,volfs_wb,select_xacts,18000" >>"$d/raw.csv"
        printf '%s\n' "volfs,$r,init,write,100000" "volfs,$r,init,cpu_seconds,4" \
            "volfs_wb,$r,init,write,9000" "volfs_wb,$r,init,cpu_seconds,2" >>"$d/ops.csv"
    done
    run python3 "$REPORT" pg "$d" 20 30 20 1 "host writes: pwrite"
    assert_success
    echo "$output" | grep -qF '| metric | native median (min–max) | volfs median (min–max) | volfs_wb median (min–max) | volfs/native | volfs_wb/native |' ||
        fail "$output"
    echo "$output" | grep -qF '| pgbench -i (s) | 10.0 (10.0–10.0) | 20.0 (20.0–20.0) | 13.0 (13.0–13.0) | 2.00× time | 1.30× time |' ||
        fail "$output"
    echo "$output" | grep -qF 'volfs_wb: --writeback-cache' || fail "$output"
    echo "$output" | grep -qF 'volfs_wb daemon per phase' || fail "$output"
    echo "$output" | grep -qF '| write | 9000 | 0 | 0 |' || fail "$output"
}
