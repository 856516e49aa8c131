#!/usr/bin/env bats
# The host write engine: chosen at start-up for the filesystem of the state
# directory (what measured fastest there: io_uring on every filesystem so
# far) or forced with --host-writes, logged, and reported by volctl version
# and the metrics.
# Data written with each engine is checked by fio.bats.

# shellcheck disable=SC2154 # STATE, MNT, VOLFS_LOG ... come from helpers.bash
load helpers

setup() {
    :
}

# engine_reported ENGINE FSTYPE REASON: the log, volctl version and the
# metrics all say ENGINE on FSTYPE.
engine_reported() {
    grep -q "host writes: $1 on $2 ($3)" "$VOLFS_LOG" || fail "log: $(grep 'host writes' "$VOLFS_LOG")"
    run volctl version
    assert_success
    assert_line "Host Writes: $1 on $2"
    run volctl metrics
    assert_success
    assert_line "volfs_host_write_engine{engine=\"$1\",fstype=\"$2\"} 1"
}

@test "the host write engine follows the state directory's filesystem, or --host-writes" {
    volfs_dirs
    local fs engine
    fs=$(stat -f -c %T "$VOLFS_TMP")
    case $fs in
    ext2/ext3) fs=ext4 engine=uring ;;
    xfs | btrfs | tmpfs) engine=uring ;;
    *) skip "the test directory is on $fs" ;;
    esac
    volfs_start
    engine_reported "$engine" "$fs" auto
    volfs_stop
    volfs_launch --host-writes=pwrite
    engine_reported pwrite "$fs" forced
}

@test "on XFS the host write engine is io_uring" {
    command -v mkfs.xfs >/dev/null || skip "no mkfs.xfs (xfsprogs)"
    volfs_dirs
    truncate -s 512M "$VOLFS_TMP/xfs.img"
    mkfs.xfs -q "$VOLFS_TMP/xfs.img"
    # volfs_teardown unmounts it with the rest under VOLFS_TMP
    mkdir "$VOLFS_TMP/xfs"
    mount -o loop "$VOLFS_TMP/xfs.img" "$VOLFS_TMP/xfs" || skip "cannot loop-mount an XFS image here"
    STATE=$VOLFS_TMP/xfs/state
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    volfs_launch
    engine_reported uring xfs auto
    pv_create vol 64Mi
    head -c $((3 * 1024 * 1024 + 123)) /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$MNT/pv/vol/f"
    volfs_stop
    volfs_launch
    [ "$(sha "$MNT/pv/vol/f")" = "$(sha "$VOLFS_TMP/ref")" ]
    volfs_stop
}

@test "volfs refuses an unknown --host-writes engine" {
    volfs_dirs
    mkdir -m 0700 "$STATE"
    run "$VOLFS_BIN/volfs" -f --state "$STATE" --host-writes=fast "$VOLFS_TMP"
    assert_failure
    assert_output 'volfs: invalid --host-writes "fast": use auto, uring or pwrite'
}
