#!/usr/bin/env bats
# The host write engine: chosen at start-up for the filesystem of the state
# directory (pwrite(2) on ext4, which has no asynchronous buffered writes;
# io_uring on the others) or forced with --host-writes, logged, and
# reported by volctl version and the metrics.
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
    ext2/ext3) fs=ext4 engine=pwrite ;;
    xfs | btrfs | tmpfs) engine=uring ;;
    *) skip "the test directory is on $fs" ;;
    esac
    volfs_start
    engine_reported "$engine" "$fs" auto
    volfs_stop
    volfs_launch --host-writes=uring
    engine_reported uring "$fs" forced
}

# sqes: io_uring submissions the daemon has made so far.
sqes() {
    metric_sample volfs_uring_sqes_submitted_total
}

@test "on ext4 an overwrite, an append, an fdatasync and a fallocate submit nothing to io_uring" {
    volfs_dirs
    [[ $(stat -f -c %T "$VOLFS_TMP") == ext2/ext3 ]] || skip "the test directory is not on ext4"
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    volfs_launch
    pv_create vol 64Mi
    local f=$MNT/pv/vol/f before i
    dd if=/dev/urandom of="$f" bs=1M count=1 conv=fsync status=none
    before=$(sqes)
    # each handed to an io-wq thread by io_uring on ext4: two wake-ups apiece
    for ((i = 0; i < 20; i++)); do
        dd if=/dev/urandom of="$f" bs=4k count=1 seek=$((i * 7 % 256)) oflag=direct conv=notrunc status=none
        dd if=/dev/urandom of="$f" bs=4k count=1 seek=$((i * 11 % 256)) conv=notrunc,fdatasync status=none
        dd if=/dev/urandom of="$f" bs=4k count=1 seek=$((256 + i)) conv=notrunc,fdatasync status=none
    done
    [ "$(stat -c %s "$f")" -eq $(((256 + 20) * 4096)) ]
    # io_uring never does fallocate inline either
    fallocate -p -o 8192 -l 16384 "$f"
    fallocate -o $((2 * MiB)) -l 65536 "$f"
    [ "$(stat -c %s "$f")" -eq $((2 * MiB + 65536)) ]
    run sqes
    assert_output "$before"
    volfs_stop
}

# dirty_pages FILE: pages of FILE dirty in the page cache (cachestat(2),
# Linux 6.5); nothing when the kernel cannot say.
dirty_pages() {
    "$PY" - "$1" <<'PYEOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
rng, cs = (ctypes.c_uint64 * 2)(0, 0), (ctypes.c_uint64 * 5)()
fd = os.open(sys.argv[1], os.O_RDONLY)
if libc.syscall(451, fd, rng, cs, 0) == 0:
    print(cs[1])
PYEOF
}

@test "a file written front to back has its host writeback started a window at a time" {
    volfs_dirs
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    volfs_launch
    pv_create vol 256Mi
    dd if=/dev/zero of="$MNT/pv/vol/f" bs=1M count=64 status=none
    local host dirty
    host=$(find "$STATE/data" -type f ! -name '.*')
    [ "$(stat -c %s "$host")" -eq $((64 * MiB)) ]
    dirty=$(dirty_pages "$host")
    [ -n "$dirty" ] || skip "no cachestat(2) in this kernel"
    # the last window at most (8 MiB), where the kernel alone would leave
    # all 64 MiB dirty for 30 s
    [ "$dirty" -le 2048 ] || fail "$dirty pages of 16384 still dirty"
    volfs_stop
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
