#!/usr/bin/env bats
# fio with data verification (crc32c) on a volume.

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
    assert_success
    assert_output --regexp 'err= *0'
    refute_output --partial 'verify failed'
    refute_output --partial 'bad magic'
    refute_output --partial 'mismatch'
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
