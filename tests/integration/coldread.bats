#!/usr/bin/env bats
# Reads whose host bytes are not in the page cache: alone at the disk, the
# worker that took the request reads it itself; with another such read in
# flight it hands it to the reader thread and goes back to /dev/fuse, and
# the reader answers when the disk has (--cold-read-workers 0: always).
# The data is the same as a cached read's, through snapshot layers, either
# way; a shutdown answers every read in flight first; kill -9 in the middle
# loses nothing.
# The host files are evicted with posix_fadvise, not drop_caches: only
# this test's pages go.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 1Gi
    V=$MNT/pv/vol
}

# evict_host: every host data file of the state directory out of the
# page cache.
evict_host() {
    sync -f "$STATE"
    "$PY" - "$STATE/data" <<'PYEOF'
import os, sys
for root, _, files in os.walk(sys.argv[1]):
    for f in files:
        fd = os.open(os.path.join(root, f), os.O_RDONLY)
        os.fdatasync(fd)
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        os.close(fd)
PYEOF
}

deferred_reads() {
    metric_sample volfs_reads_deferred_total
}

inline_reads() {
    metric_sample volfs_reads_cold_inline_total
}

# layered_copy: $V/f, 32 MiB of random bytes over a snapshot with four
# patched stretches and cut to 30 MiB + 100; $VOLFS_TMP/ref the same bytes;
# the host files then evicted.
layered_copy() {
    head -c $((32 * MiB)) /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$V/f"
    volctl snapshot pv/vol s1 >/dev/null
    local i
    for i in 3 700 5000 8000; do
        head -c 12288 /dev/urandom >"$VOLFS_TMP/patch"
        dd if="$VOLFS_TMP/patch" of="$V/f" bs=4096 seek="$i" conv=notrunc status=none
        dd if="$VOLFS_TMP/patch" of="$VOLFS_TMP/ref" bs=4096 seek="$i" conv=notrunc status=none
    done
    truncate -s $((30 * MiB + 100)) "$V/f" "$VOLFS_TMP/ref"
    sync "$V/f"
    evict_host
}

# fio_layers ARGS: the fio job of these tests on $V/f, 64 MiB in 4 KiB
# blocks with crc32c headers and a fixed seed, O_DIRECT through io_uring.
fio_layers() {
    fio --name=cold --filename="$V/f" --size=64M --bs=4k --ioengine=io_uring \
        --iodepth=32 --direct=1 --fallocate=none --verify=crc32c --verify_fatal=1 \
        --verify_state_save=0 --randrepeat=1 --randseed=77 --group_reporting "$@"
}

@test "cold O_DIRECT reads through snapshot layers verify (fio crc32c) and go to the reader" {
    run fio_layers --rw=randwrite --do_verify=0 --end_fsync=1
    fio_ok
    volctl snapshot pv/vol s1 >/dev/null
    # the first quarter of the same sequence again: the same bytes, now in
    # a layer over the snapshot's
    run fio_layers --rw=randwrite --do_verify=0 --end_fsync=1 --io_size=16M
    fio_ok
    volctl snapshot pv/vol s2 >/dev/null
    run fio_layers --rw=randwrite --do_verify=0 --end_fsync=1 --io_size=4M
    fio_ok
    evict_host
    local before
    before=$(deferred_reads)
    run fio_layers --rw=randread --verify_only=1 --numjobs=2
    fio_ok
    assert_output --regexp 'READ: bw=.*io=128MiB'
    [ "$(deferred_reads)" -gt "$before" ] || fail "no read was handed to the reader thread"
}

@test "cold reads of layers with different data, handed to the reader, match a copy" {
    volfs_stop
    volfs_launch --cold-read-workers 0
    layered_copy
    local before
    before=$(deferred_reads)
    run dd if="$V/f" of="$VOLFS_TMP/back" bs=1M iflag=direct status=none
    assert_success
    cmp "$VOLFS_TMP/ref" "$VOLFS_TMP/back"
    [ "$(deferred_reads)" -gt "$before" ] || fail "no read was handed to the reader thread"
    [ "$(inline_reads)" -eq 0 ] || fail "$(inline_reads) reads were read by a worker with --cold-read-workers 0"
}

@test "a cold read alone at the disk is read by its worker and matches a copy" {
    layered_copy
    local deferred inline
    deferred=$(deferred_reads) inline=$(inline_reads)
    run dd if="$V/f" of="$VOLFS_TMP/back" bs=1M iflag=direct status=none
    assert_success
    cmp "$VOLFS_TMP/ref" "$VOLFS_TMP/back"
    # the host's readahead caches what follows the first reads
    [ "$(inline_reads)" -gt "$inline" ] || fail "no read was read by its worker"
    [ "$(deferred_reads)" -eq "$deferred" ] || fail "$(($(deferred_reads) - deferred)) reads at queue depth 1 went to the reader thread"
}

@test "--cold-read-workers takes 0 to 16 and refuses anything else" {
    local bad
    for bad in -1 17 x 2x ''; do
        run "$VOLFS_BIN/volfs" --cold-read-workers "$bad" --state "$STATE" "$MNT"
        assert_failure
        assert_output --partial "invalid --cold-read-workers"
    done
}

# cold_reader SECONDS: random O_DIRECT reads of $V/f in the background for
# that long, the pid in READER; returns once the reader thread has some.
cold_reader() {
    run fio_layers --rw=write --do_verify=0 --end_fsync=1
    fio_ok
    evict_host
    local before i
    before=$(deferred_reads)
    fio --name=bg --filename="$V/f" --size=64M --bs=4k --rw=randread --ioengine=io_uring \
        --iodepth=32 --direct=1 --time_based --runtime="$1" >"$VOLFS_TMP/bg.log" 2>&1 </dev/null 3>&- &
    READER=$!
    volfs_track_pid "$READER"
    for ((i = 0; i < 100; i++)); do
        [ "$(deferred_reads)" -gt "$before" ] && return 0
        sleep 0.05
    done
    fail "no read was handed to the reader thread"
}

# cold_burst: 16 threads each read 256 KiB of the evicted $V/f with
# O_DIRECT at once; prints "ok" if every read returned the bytes of
# $VOLFS_TMP/ref.
cold_burst() {
    "$PY" - "$V/f" "$VOLFS_TMP/ref" <<'PYEOF'
import mmap, os, sys, threading
path, ref = sys.argv[1:3]
want = open(ref, "rb").read()
fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
bad = []
def read(i):
    buf = mmap.mmap(-1, 256 << 10)
    off = i * (1 << 20)
    n = os.preadv(fd, [buf], off)
    if buf[:n] != want[off:off + (256 << 10)]:
        bad.append(i)
ts = [threading.Thread(target=read, args=(i,)) for i in range(16)]
for t in ts:
    t.start()
for t in ts:
    t.join()
print("bad", bad) if bad else print("ok")
PYEOF
}

# throttle_daemon: the daemon's reads of the state directory's disk at
# 1 MiB/s (a cgroup v1 blkio group, removed by teardown), so that its cold
# reads stay in flight for seconds.
throttle_daemon() {
    local blkio=/sys/fs/cgroup/blkio dev
    [[ -w $blkio/cgroup.procs ]] || skip "no cgroup v1 blkio controller to slow the disk with"
    dev=$(findmnt -no MAJ:MIN -T "$STATE" | tr -d ' ')
    THROTTLE=$blkio/volfs-coldread.$$
    mkdir "$THROTTLE"
    echo "$dev $MiB" >"$THROTTLE/blkio.throttle.read_bps_device" ||
        skip "cannot throttle reads of device $dev"
    echo "$VOLFS_PID" >"$THROTTLE/cgroup.procs"
}

teardown() {
    if [[ -n ${THROTTLE:-} && -d $THROTTLE ]]; then
        local p
        for p in $(cat "$THROTTLE/cgroup.procs"); do
            echo "$p" >/sys/fs/cgroup/blkio/cgroup.procs || true
        done
        rmdir "$THROTTLE" || true
    fi
    volfs_teardown
}

@test "a shutdown with cold reads in flight answers them and exits cleanly" {
    # The reading file is still open when the daemon exits: the kernel
    # never sends its RELEASE, and its handle would show as a leak.
    volfs_stop
    ASAN_OPTIONS="${ASAN_OPTIONS/detect_leaks=1/detect_leaks=0}" volfs_launch --cold-read-workers 0
    head -c $((16 * MiB)) /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$V/f"
    evict_host
    throttle_daemon
    local before i
    before=$(deferred_reads)
    cold_burst >"$VOLFS_TMP/burst.out" 2>&1 3>&- &
    local burst=$!
    volfs_track_pid "$burst"
    # every request taken by a worker (libfuse drops what a worker reads
    # once the session ends) and handed to the reader, which needs seconds
    for ((i = 0; i < 100; i++)); do
        [ "$(deferred_reads)" -ge $((before + 16)) ] && break
        sleep 0.05
    done
    [ "$(deferred_reads)" -ge $((before + 16)) ] || fail "only $(($(deferred_reads) - before)) reads went to the reader thread"
    volctl shutdown
    wait "$burst"
    run cat "$VOLFS_TMP/burst.out"
    assert_output ok
    volfs_stop
    grep -q 'flushed and unmounted' "$VOLFS_LOG" || fail "no clean shutdown: $(tail -5 "$VOLFS_LOG")"
    volfs_launch
    cmp "$VOLFS_TMP/ref" "$V/f"
}

@test "kill -9 with cold reads in flight loses nothing" {
    cold_reader 60
    volfs_kill9
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$READER" 2>/dev/null || break
        sleep 0.1
    done
    volfs_launch
    run fio_layers --rw=read --verify_only=1
    fio_ok
}
