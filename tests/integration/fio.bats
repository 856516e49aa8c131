#!/usr/bin/env bats
# fio with data verification (crc32c, md5) on a volume: the data paths the
# benchmark (scripts/bench) measures, each written and read back by fio --
# buffered, O_DIRECT, mmap and io_uring, shallow and deep queues, and data
# written by one path read back by another (O_DIRECT and the page cache, and
# across a restart). Correctness only: small files, no timings.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 512Mi
    V=$MNT/pv/vol
}

# fio_verify RW IOENGINE DIRECT [extra fio args]: write and verify 32 MiB
# sequentially in 128 KiB blocks, or 16 MiB randomly in 4 KiB blocks.
fio_verify() {
    local rw=$1 engine=$2 direct=$3 bs=128k size=32M depth=1
    shift 3
    [[ $rw == rand* ]] && bs=4k size=16M
    [[ $engine == io_uring ]] && depth=16
    # shellcheck disable=SC2016 # $jobname and $jobnum are fio's, not the shell's
    run fio --name=vjob --directory="$V" --filename_format='$jobname.$jobnum' \
        --size="$size" --rw="$rw" --bs="$bs" --ioengine="$engine" --iodepth="$depth" \
        --direct="$direct" --fallocate=none --verify=crc32c --do_verify=1 \
        --verify_fatal=1 --verify_state_save=0 --randrepeat=0 --group_reporting "$@"
    fio_ok
}

# fio_cross W_ENGINE W_DIRECT R_ENGINE R_DIRECT [restart]: write 16 MiB in
# random 4 KiB blocks (md5 headers, a fixed seed) with one engine and
# O_DIRECT setting, then, with only fio --verify_only, read and check them
# with the other; with "restart", the daemon is stopped and started in between.
fio_cross() {
    local common=(--name=xjob --filename="$V/xfile" --size=16M --rw=randwrite --bs=4k
        --fallocate=none --verify=md5 --verify_fatal=1 --verify_state_save=0
        --randrepeat=1 --randseed=4242 --iodepth=16)
    run fio "${common[@]}" --ioengine="$1" --direct="$2" --do_verify=0 --end_fsync=1
    fio_ok
    if [[ ${5:-} == restart ]]; then
        volfs_stop
        volfs_launch
    fi
    run fio "${common[@]}" --ioengine="$3" --direct="$4" --verify_only=1
    fio_ok
    assert_output --regexp 'READ: bw=.*io=16\.0MiB'
}

@test "fio sequential write, psync, buffered" {
    fio_verify write psync 0
}

@test "fio sequential write, psync, O_DIRECT" {
    fio_verify write psync 1
}

@test "fio random write, psync, buffered" {
    fio_verify randwrite psync 0
}

@test "fio random write, psync, O_DIRECT" {
    fio_verify randwrite psync 1
}

@test "fio sequential write, io_uring, buffered" {
    fio_verify write io_uring 0
}

@test "fio sequential write, io_uring, O_DIRECT" {
    fio_verify write io_uring 1
}

@test "fio random write, io_uring, buffered" {
    fio_verify randwrite io_uring 0
}

@test "fio random write, io_uring, O_DIRECT" {
    fio_verify randwrite io_uring 1
}

@test "fio four concurrent jobs, random write, io_uring, O_DIRECT" {
    fio_verify randwrite io_uring 1 --numjobs=4 --size=8M
    local n
    n=$(find "$V" -name 'vjob.*' | wc -l)
    [ "$n" -eq 4 ] || fail "want 4 job files, found $n"
}

@test "fio sequential write, mmap" {
    fio_verify write mmap 0
}

@test "fio random write, mmap, md5" {
    fio_verify randwrite mmap 0 --verify=md5
}

@test "fio 1 MiB sequential writes, io_uring, iodepth 32, two jobs, O_DIRECT" {
    fio_verify write io_uring 1 --bs=1M --iodepth=32 --numjobs=2 --size=16M
}

@test "fio random write, io_uring, iodepth 32, two jobs, O_DIRECT, md5" {
    fio_verify randwrite io_uring 1 --iodepth=32 --numjobs=2 --size=8M --verify=md5
}

@test "fio random write, io_uring, iodepth 32, two jobs, buffered" {
    fio_verify randwrite io_uring 0 --iodepth=32 --numjobs=2 --size=8M
}

@test "fio O_DIRECT io_uring writes read back through the page cache with mmap" {
    fio_cross io_uring 1 mmap 0
}

@test "fio buffered mmap writes read back with O_DIRECT io_uring" {
    fio_cross mmap 0 io_uring 1
}

@test "fio buffered psync writes read back with O_DIRECT psync after a restart" {
    fio_cross psync 0 psync 1 restart
}

# Overwrites of blocks a file already holds take a path that runs them
# concurrently under the file's shared lock: four jobs overwrite their own
# quarter of one laid-out file at once, with 1 KiB blocks (partial 4 KiB
# blocks) as well as 4 KiB ones, and verify what they wrote.
@test "fio concurrent overwrites of one laid-out file, four jobs, io_uring, O_DIRECT" {
    dd if=/dev/urandom of="$V/shared" bs=1M count=16 status=none
    local bs
    for bs in 4k 1k; do
        run fio --name=ojob --filename="$V/shared" --size=4M --offset_increment=4M --numjobs=4 \
            --rw=randwrite --bs="$bs" --ioengine=io_uring --iodepth=16 --direct=1 \
            --fallocate=none --verify=crc32c --do_verify=1 --verify_fatal=1 \
            --verify_state_save=0 --randrepeat=0 --group_reporting
        fio_ok
    done
    [ "$(stat -c %s "$V/shared")" -eq $((16 * MiB)) ] || fail "size changed: $(stat -c %s "$V/shared")"
}

# The same overwrites on a file a snapshot shares: they must go to a new
# layer, never into the snapshot's blocks.
@test "fio overwrites after a snapshot leave the snapshot's data alone" {
    dd if=/dev/urandom of="$V/shared" bs=1M count=8 status=none
    local before
    before=$(md5sum <"$V/shared")
    run volctl snapshot pv/vol snap1
    assert_success
    run fio --name=sjob --filename="$V/shared" --size=2M --offset_increment=2M --numjobs=4 \
        --rw=randwrite --bs=4k --ioengine=io_uring --iodepth=16 --direct=1 \
        --fallocate=none --verify=crc32c --do_verify=1 --verify_fatal=1 \
        --verify_state_save=0 --randrepeat=0 --group_reporting
    fio_ok
    local snapfile
    snapfile=$MNT/snapshots/default/snap1/shared
    [ -f "$snapfile" ] || fail "$snapfile: the snapshot's copy of the file is missing"
    [ "$(md5sum <"$snapfile")" = "$before" ] || fail "the snapshot's data changed"
    [ "$(md5sum <"$V/shared")" != "$before" ] || fail "the volume's file did not change"
}

# Both host write engines (--host-writes): random buffered writes whose
# 6 KiB blocks leave partial 4 KiB blocks at both ends (filled in from the
# view and written as one vector), and 1 KiB overwrites of blocks held.
@test "fio random write, psync, buffered, partial blocks, with each host write engine" {
    local engine
    for engine in uring pwrite; do
        volfs_stop
        volfs_launch --host-writes="$engine"
        grep -q "host writes: $engine on .* (forced)" "$VOLFS_LOG" || fail "no log line for $engine"
        fio_verify randwrite psync 0 --bs=6k --filename_format="$engine.\$jobnum"
        fio_verify randwrite psync 0 --bs=1k --size=4M --filename_format="$engine.\$jobnum"
    done
}
