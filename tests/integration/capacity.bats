#!/usr/bin/env bats
# Capacity enforcement, space accounting and sparse backing files.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 64Mi
    V=$MNT/pv/vol
}

@test "writes up to the capacity succeed; one block more is ENOSPC; earlier data intact" {
    dd if=/dev/urandom of="$V/full" bs=1M count=64 conv=fsync status=none
    local sum
    sum=$(sha "$V/full")
    run dd if=/dev/urandom of="$V/more" bs=4096 count=1 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    run dd if=/dev/urandom of="$V/full" bs=4096 count=1 seek=$((64 * 256)) conv=notrunc,fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    [ "$(sha "$V/full")" = "$sum" ] || fail "data written before ENOSPC changed"
    run stat -c %s "$V/full"
    assert_output $((64 * MiB))
    # after a restart too
    volfs_stop
    volfs_launch
    [ "$(sha "$V/full")" = "$sum" ] || fail "data changed across restart"
}

@test "overwriting in place on a full volume needs no new space and succeeds" {
    dd if=/dev/zero of="$V/full" bs=1M count=64 conv=fsync status=none
    dd if=/dev/urandom of="$VOLFS_TMP/blk" bs=1M count=1 status=none
    dd if="$VOLFS_TMP/blk" of="$V/full" bs=1M seek=10 conv=notrunc,fsync status=none
    cmp <(dd if="$V/full" bs=1M skip=10 count=1 status=none) "$VOLFS_TMP/blk"
}

@test "fallocate past the capacity is ENOSPC" {
    run fallocate -l 65MiB "$V/too-big"
    assert_failure
    assert_output --partial 'No space left on device'
    fallocate -l 40MiB "$V/a"
    run stat -c %s "$V/a"
    assert_output $((40 * MiB))
    run fallocate -l 30MiB "$V/b"
    assert_failure
    assert_output --partial 'No space left on device'
    : >"$V/c" # fallocate(1) does not create files with --keep-size
    run fallocate --keep-size -l 30MiB "$V/c"
    assert_failure
    assert_output --partial 'No space left on device'
    local used
    used=$(pv_df vol used)
    [ "$used" -le $((64 * MiB)) ] || fail "used $used exceeds capacity"
    fallocate -l 20MiB "$V/d"
}

@test "extending truncate past the capacity makes a hole and uses no space" {
    truncate -s 1G "$V/hole"
    run stat -c %s "$V/hole"
    assert_output "$GiB"
    local used
    used=$(pv_df vol used)
    [ "$used" -lt "$MiB" ] || fail "a 1 GiB hole uses $used bytes"
    # filling the hole is limited by the capacity
    run dd if=/dev/zero of="$V/hole" bs=1M count=65 conv=notrunc,fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
}

@test "df inside a volume shows the volume's size, use and free space" {
    pv_create other 128Mi
    run df -B1 --output=size "$V"
    assert_line --index 1 --regexp "^ *$((64 * MiB))\$"
    run df -B1 --output=size "$MNT/pv/other"
    assert_line --index 1 --regexp "^ *$((128 * MiB))\$"
    dd if=/dev/urandom of="$V/f" bs=1M count=8 conv=fsync status=none
    local size used avail
    read -r size used avail < <(df -B1 --output=size,used,avail "$V" | tail -n 1)
    [ "$used" -ge $((8 * MiB)) ] && [ "$used" -le $((9 * MiB)) ] || fail "df used $used after writing 8 MiB"
    [ $((size - used - avail)) -ge 0 ] && [ $((size - used - avail)) -le "$MiB" ] || fail "df size $size used $used avail $avail"
    # the control socket agrees
    [ "$(pv_df vol capacity)" -eq $((64 * MiB)) ]
    [ "$(pv_df vol used)" -ge $((8 * MiB)) ]
}

@test "a volume larger than the host's free space shows what it holds as used, not the host's shortfall" {
    pv_create huge 100Ti
    local size
    size=$(df -B1 --output=size "$MNT/pv/huge" | tail -n 1)
    [ "$size" -eq $((100 * 1024 * GiB)) ] || fail "df size $size, want the capacity"
    pv_usage_agrees huge 0 0
    dd if=/dev/urandom of="$MNT/pv/huge/f" bs=1M count=8 conv=fsync status=none
    pv_usage_agrees huge $((8 * MiB)) $((9 * MiB))
}

@test "du of the state directory tracks data written, not file sizes" {
    sync -f "$V"
    local before after
    before=$(du_bytes "$STATE")
    truncate -s 512M "$V/sparse"
    dd if=/dev/urandom of="$V/sparse" bs=1M count=16 seek=100 conv=notrunc,fsync status=none
    sync -f "$V"
    after=$(du_bytes "$STATE")
    local grew=$((after - before))
    [ "$grew" -ge $((16 * MiB)) ] || fail "du grew by $grew after writing 16 MiB"
    [ "$grew" -le $((24 * MiB)) ] || fail "du grew by $grew after writing 16 MiB into a 512 MiB sparse file"
}

@test "punching a hole frees space in the volume's accounting" {
    dd if=/dev/urandom of="$V/f" bs=1M count=32 conv=fsync status=none
    local before after
    before=$(pv_df vol used)
    [ "$before" -ge $((32 * MiB)) ] || fail "used $before after writing 32 MiB"
    fallocate --punch-hole --offset "$MiB" --length $((16 * MiB)) "$V/f"
    sync -f "$V"
    after=$(pv_df vol used)
    [ $((before - after)) -ge $((15 * MiB)) ] || fail "used $before -> $after after punching 16 MiB"
    # the freed space can be written again
    dd if=/dev/urandom of="$V/g" bs=1M count=40 conv=fsync status=none
}

@test "resize grows a volume online; writes then succeed" {
    dd if=/dev/urandom of="$V/f" bs=1M count=64 conv=fsync status=none
    run dd if=/dev/zero of="$V/g" bs=1M count=1 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    exec 5<"$V/f" # keep a file open across the resize
    run volctl resize pv vol --capacity 128Mi
    assert_success
    exec 5<&-
    run df -B1 --output=size "$V"
    assert_line --index 1 --regexp "^ *$((128 * MiB))\$"
    dd if=/dev/urandom of="$V/g" bs=1M count=32 conv=fsync status=none
    run volctl get pv vol -o json
    assert_success
    run "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["spec"]["capacity"]["storage"])' "$output"
    assert_output 128Mi
}

@test "shrinking below what is used is refused" {
    dd if=/dev/urandom of="$V/f" bs=1M count=32 conv=fsync status=none
    run --separate-stderr volctl resize pv vol --capacity 16Mi
    assert_failure
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    run df -B1 --output=size "$V"
    assert_line --index 1 --regexp "^ *$((64 * MiB))\$"
    [ "$(pv_df vol capacity)" -eq $((64 * MiB)) ]
    # still writable up to the old capacity
    dd if=/dev/urandom of="$V/g" bs=1M count=16 conv=fsync status=none
}

@test "delete pv frees the space of its data" {
    dd if=/dev/urandom of="$V/f" bs=1M count=32 conv=fsync status=none
    sync -f "$V"
    local before after
    before=$(du_bytes "$STATE")
    run volctl delete pv vol
    assert_success
    [ ! -e "$MNT/pv/vol" ]
    wait_reclaimed
    after=$(du_bytes "$STATE")
    [ $((before - after)) -ge $((30 * MiB)) ] || fail "du of state: $before -> $after after deleting 32 MiB of data"
    run volctl get pv vol
    assert_failure
}
