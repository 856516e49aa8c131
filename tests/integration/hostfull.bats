#!/usr/bin/env bats
# A full host disk: the state directory sits on a small tmpfs, so the host
# runs out of space long before the volume's capacity. Writes must fail with
# ENOSPC, lose nothing written before, and leave meta.db and the daemon sound.

load helpers

setup() {
    volfs_dirs
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    mount -t tmpfs -o size=24m tmpfs "$STATE" || skip "cannot mount a tmpfs here"
    volfs_launch
}

teardown() {
    volfs_teardown
}

@test "a full host disk gives ENOSPC, keeps earlier data and a sound meta.db" {
    pv_create big 1Gi
    V=$MNT/pv/big
    head -c $((4 * MiB)) /dev/urandom >"$V/early"
    sync "$V/early"
    local sum
    sum=$(sha256sum <"$V/early")
    run dd if=/dev/zero of="$V/fill" bs=1M count=64 conv=fsync
    assert_failure
    assert_output --partial 'No space left on device'
    # what was written before is intact, and the volume still works once
    # space is freed
    [ "$(sha256sum <"$V/early")" = "$sum" ] || fail "earlier data changed"
    rm -f "$V/fill"
    echo after >"$V/after"
    run cat "$V/after"
    assert_output after
    run volctl check
    assert_success
    volfs_stop
    run sqlite3 "$STATE/meta.db" 'PRAGMA integrity_check;'
    assert_output ok
    volfs_launch
    [ "$(sha256sum <"$MNT/pv/big/early")" = "$sum" ] || fail "earlier data changed after restart"
}

@test "on a small host a volume's used space is what it holds, available what the host has left" {
    pv_create big 1Gi
    head -c $((8 * MiB)) /dev/urandom >"$MNT/pv/big/half"
    sync "$MNT/pv/big/half"
    pv_usage_agrees big $((8 * MiB)) $((9 * MiB))
    local avail
    avail=$(pv_df big available)
    ((avail > 0)) || fail "nothing available on a host with free space"
}

@test "creating a volume on a full host disk fails cleanly or succeeds whole" {
    pv_create a 1Gi
    run dd if=/dev/zero of="$MNT/pv/a/fill" bs=1M count=64
    assert_failure
    # metadata may or may not fit; either way nothing is half-made
    if volctl create pv b --capacity 1Gi; then
        [ -d "$MNT/pv/b" ] || fail "b acknowledged but missing"
    fi
    run volctl check
    assert_success
}
