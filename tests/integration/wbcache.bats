#!/usr/bin/env bats
# volfs --writeback-cache: the kernel caches writes. Each test would fail if
# the mode were silently off (the request counts), or checks what the mode
# changes: reads through write-only descriptors, O_APPEND written back at
# offsets, the times the kernel owns, snapshots that must hold unflushed
# writes, a deleted volume's dirty pages, ENOSPC at fsync instead of
# write(2), and durability across kill -9.

# shellcheck disable=SC2154 # STATE, MNT, PY ... come from helpers.bash
load helpers

setup() {
    volfs_start --writeback-cache
}

@test "the mode is logged, reported by volctl version and the metrics" {
    grep -q 'writeback cache: on' "$VOLFS_LOG"
    run volctl version
    assert_success
    assert_line "Writeback Cache: on"
    run volctl metrics
    assert_line "volfs_fuse_writeback_cache 1"
}

@test "without the flag the mode is off" {
    volfs_stop
    volfs_start
    run volctl version
    assert_line "Writeback Cache: off"
    run volctl metrics
    assert_line "volfs_fuse_writeback_cache 0"
    ! grep -q 'writeback cache' "$VOLFS_LOG"
}

@test "volfs rejects a value given to --writeback-cache with one line" {
    run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/other" --writeback-cache=yes "$MNT"
    [ "$status" -ne 0 ]
    [ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "more than one line: $stderr"
    [[ $stderr == volfs:*writeback-cache* ]] || fail "$stderr"
}

@test "100 small buffered writes then fsync: a few WRITE requests, not 100" {
    pv_create vol 1Gi
    local before after
    before=$(fuse_requests write)
    "$PY" - "$MNT/pv/vol/f" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
for i in range(100):
    assert os.write(fd, b"%04d" % i * 25) == 100
os.fsync(fd)
os.close(fd)
PYEOF
    after=$(fuse_requests write)
    [ $((after - before)) -le 10 ] || fail "$((after - before)) WRITE requests for 100 writes"
    [ "$(head -c 100 "$MNT/pv/vol/f")" = "$(printf '0000%.0s' {1..25})" ]
    [ "$(stat -c %s "$MNT/pv/vol/f")" -eq 10000 ]
}

@test "100 lseek(SEEK_END) and 8 KiB write pairs ask for no attributes" {
    pv_create vol 1Gi
    echo start >"$MNT/pv/vol/rel"
    local before after
    before=$(fuse_requests getattr)
    "$PY" - "$MNT/pv/vol/rel" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for i in range(100):
    end = os.lseek(fd, 0, os.SEEK_END)
    assert end == 6 + 8192 * i, (end, i)
    os.write(fd, b"x" * 8192)
os.close(fd)
PYEOF
    after=$(fuse_requests getattr)
    [ $((after - before)) -le 2 ] || fail "$((after - before)) GETATTRs for 100 extensions"
}

@test "a write-only descriptor writing part of an uncached page, and O_APPEND from two descriptors" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/f
    head -c 20000 /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$f"
    sync "$f"
    # drop the kernel's pages of this file (clean after the sync; not
    # drop_caches, which would empty every other test's caches too): the
    # partial-page writes must read the rest
    "$PY" -c 'import os, sys; fd = os.open(sys.argv[1], os.O_RDONLY); os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)' "$f"
    local reads
    reads=$(fuse_requests read)
    run "$PY" - "$f" "$VOLFS_TMP/ref" "$MNT/pv/vol/log" <<'PYEOF'
import os, sys
for path in sys.argv[1:3]:
    fd = os.open(path, os.O_WRONLY)   # the kernel reads the rest of each page through it
    os.pwrite(fd, b"0123456789", 4100)
    os.pwrite(fd, b"abc", 19999)
    os.fsync(fd)
    os.close(fd)
a = os.open(sys.argv[3], os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
b = os.open(sys.argv[3], os.O_WRONLY | os.O_APPEND)
for i in range(50):
    os.write(a, b"a%02d\n" % i)
    os.write(b, b"b%02d\n" % i)
os.fsync(a)
os.close(a)
os.close(b)
PYEOF
    assert_success
    # the pages were gone: the kernel read the rest of them through the
    # write-only descriptor
    [ $(($(fuse_requests read) - reads)) -ge 1 ] || fail "no READ: the file's pages were still cached"
    [ "$(sha "$f")" = "$(sha "$VOLFS_TMP/ref")" ] || fail "the file differs from the reference"
    [ "$(stat -c %s "$f")" -eq 20002 ]
    [ "$(wc -l <"$MNT/pv/vol/log")" -eq 100 ]
    [ "$(stat -c %s "$MNT/pv/vol/log")" -eq 400 ]
    [ "$(grep -c '^a' "$MNT/pv/vol/log")" -eq 50 ]
    [ "$(grep -c '^b' "$MNT/pv/vol/log")" -eq 50 ]
    [ "$(sed -n 1p "$MNT/pv/vol/log")" = a00 ] && [ "$(sed -n 2p "$MNT/pv/vol/log")" = b00 ]
    [ "$(tail -n 1 "$MNT/pv/vol/log")" = b49 ]
}

@test "size and mtime the kernel kept are the daemon's after a restart" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/f
    touch -d '2001-01-01' "$f"
    head -c 12345 /dev/urandom >>"$f"
    local size mtime
    size=$(stat -c %s "$f")
    mtime=$(stat -c %Y "$f")
    [ "$size" -eq 12345 ]
    [ "$mtime" -gt 1000000000 ] && [ "$mtime" -ge $(($(date +%s) - 60)) ] || fail "mtime $mtime"
    volfs_stop
    volfs_launch --writeback-cache
    [ "$(stat -c %s "$f")" -eq "$size" ]
    [ "$(stat -c %Y "$f")" -eq "$mtime" ]
}

# The kernel's fallocate updates its times only when its clock has moved
# since the write: a hole punched within the same tick leaves them, and
# the daemon's must stay too.
@test "a write then a punched hole: the mtime the kernel showed is the daemon's after a restart" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/sparse
    truncate -s 100M "$f"
    run "$PY" - "$f" <<'PYEOF'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
for i in range(50):
    os.pwrite(fd, os.urandom(4096), 655360 + i * 16384)
    os.fsync(fd)                     # the data and the kernel's times sent
    t = os.fstat(fd).st_mtime_ns
    if libc.fallocate(fd, 3, 655360 + i * 16384, 8192) != 0:   # KEEP_SIZE | PUNCH_HOLE
        raise OSError(ctypes.get_errno(), "fallocate")
    if os.fstat(fd).st_mtime_ns == t:
        print("same tick")
        break
os.close(fd)
PYEOF
    assert_success
    assert_output "same tick"
    local before after
    before=$(stat -c '%.9Y %s' "$f")
    volfs_stop
    volfs_launch --writeback-cache
    after=$(stat -c '%.9Y %s' "$f")
    [ "$after" = "$before" ] || fail "mtime and size: $before before the restart, $after after"
}

# hold_unsynced ROUND: a process (HOLDER) overwrites f's first bytes with
# "round-ROUND" and writes g (300000 bytes of ROUND's digit), neither
# synced nor closed, and keeps both open; returns once written. It starts
# no process: a child's close of the inherited descriptors (at its exec)
# would have the kernel write the pages back before anything is asked.
hold_unsynced() {
    rm -f "$VOLFS_TMP/written"
    mkfifo "$VOLFS_TMP/written"
    "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/written" "$1" 3>&- <<'PYEOF' &
import os, sys, time
d, fifo, n = sys.argv[1:]
f = os.open(d + "/f", os.O_RDWR)
g = os.open(d + "/g", os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(f, b"round-" + n.encode(), 0)
os.pwrite(g, n.encode() * 300000, 0)
with open(fifo, "w") as w:
    w.write("written\n")
time.sleep(600)
PYEOF
    HOLDER=$!
    volfs_track_pid "$HOLDER"
    local line
    read -r line <"$VOLFS_TMP/written"
    [[ $line == written ]] || fail "the holder did not write"
}

# The pages must still be dirty when the snapshot is asked for, or the
# test proves nothing: no WRITE may have come since the holder wrote (a
# round where the kernel wrote back by itself is tried again).
@test "a snapshot holds a write(2) that returned before it, with no fsync" {
    pv_create vol 1Gi
    printf 'old' >"$MNT/pv/vol/f"
    sync "$MNT/pv/vol/f"
    local round w0 w1
    for round in 1 2 3; do
        w0=$(fuse_requests write)
        hold_unsynced "$round"
        w1=$(fuse_requests write)
        run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" snapshot pv/vol "s$round"
        assert_success
        kill "$HOLDER"
        wait "$HOLDER" || true
        ((w1 == w0)) || continue
        [ "$(head -c 7 "$MNT/snapshots/default/s$round/f")" = "round-$round" ] ||
            fail "the snapshot holds f as: $(cat "$MNT/snapshots/default/s$round/f")"
        [ "$(tr -d "$round" <"$MNT/snapshots/default/s$round/g" | wc -c)" -eq 0 ] ||
            fail "the snapshot's g is not all $round"
        [ "$(stat -c %s "$MNT/snapshots/default/s$round/g")" -eq 300000 ]
        return 0
    done
    fail "in each of 3 rounds the kernel wrote the pages back before the snapshot was asked"
}

@test "a deleted volume's dirty pages do not reach a new volume of the same name" {
    pv_create vol 1Gi
    "$PY" - "$MNT/pv/vol/f" <<'PYEOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
os.write(fd, b"old-contents" * 1000)
time.sleep(3)                      # keep the dirty pages and the descriptor
try:
    os.write(fd, b"later")
    os.fsync(fd)
except OSError:
    pass
os.close(fd)
PYEOF
    local writer=$!
    volfs_track_pid $writer
    sleep 0.5
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" delete pv vol
    assert_success
    pv_create vol 1Gi
    wait $writer || true
    [ ! -e "$MNT/pv/vol/f" ] || fail "the new volume has the old file"
    [ -z "$(ls -A "$MNT/pv/vol")" ]
    run volctl version
    assert_success
}

@test "a full volume: ENOSPC at fsync, the data fsynced before intact, the daemon serving, check clean" {
    pv_create small 1Mi
    head -c 300000 /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$MNT/pv/small/kept"
    sync "$MNT/pv/small/kept"
    run "$PY" - "$MNT/pv/small/big" <<'PYEOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
for i in range(64):                  # 4 MiB, all accepted into the page cache
    assert os.write(fd, b"z" * 65536) == 65536
print("written")
try:
    os.fsync(fd)
    print("fsync ok")
except OSError as e:
    print("fsync", errno.errorcode[e.errno])
try:
    os.close(fd)
    print("close ok")
except OSError as e:
    print("close", errno.errorcode[e.errno])
PYEOF
    assert_success
    assert_line --index 0 written
    assert_line --index 1 'fsync ENOSPC'
    cmp "$VOLFS_TMP/ref" "$MNT/pv/small/kept"
    run volctl get pv small
    assert_success
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    volfs_launch --writeback-cache
    cmp "$VOLFS_TMP/ref" "$MNT/pv/small/kept"
    # what the volume holds of big: at most what fitted, all of it z
    local size
    size=$(stat -c %s "$MNT/pv/small/big")
    [ "$size" -le $((1024 * 1024)) ] || fail "big holds $size bytes on a 1 MiB volume"
    [ "$(tr -d z <"$MNT/pv/small/big" | wc -c)" -eq 0 ]
}

@test "a write-only descriptor is cached too: a few WRITEs, ENOSPC at fsync, mtime current" {
    pv_create small 1Mi
    local before
    before=$(fuse_requests write)
    touch -d 2001-01-01 "$MNT/pv/small/f"
    run "$PY" - "$MNT/pv/small/f" <<'PYEOF'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND)
for i in range(10):
    os.write(fd, b"x" * 100)
os.fsync(fd)
for i in range(64):
    os.write(fd, b"z" * 65536)
try:
    os.fsync(fd)
    print("fsync ok")
except OSError as e:
    print("fsync", errno.errorcode[e.errno])
PYEOF
    assert_success
    assert_output 'fsync ENOSPC'
    [ $(($(fuse_requests write) - before)) -lt 10 ] || fail "the small writes were not cached"
    [ "$(head -c 1000 "$MNT/pv/small/f" | tr -d x | wc -c)" -eq 0 ]
    [ "$(stat -c %Y "$MNT/pv/small/f")" -ge $(($(date +%s) - 60)) ] || fail "mtime not updated"
}

@test "O_DIRECT writes reach the volume and update mtime" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/f
    touch -d 2001-01-01 "$f"
    head -c $((1024 * 1024)) /dev/urandom >"$VOLFS_TMP/ref"
    dd if="$VOLFS_TMP/ref" of="$f" bs=64k oflag=direct conv=notrunc status=none
    cmp "$VOLFS_TMP/ref" "$f"
    [ "$(stat -c %Y "$f")" -ge $(($(date +%s) - 60)) ] || fail "mtime $(stat -c %Y "$f")"
    volfs_stop
    volfs_launch --writeback-cache
    cmp "$VOLFS_TMP/ref" "$f"
}

@test "a removed file's space comes back within moments, as without the cache" {
    pv_create vol 64Mi
    dd if=/dev/urandom of="$MNT/pv/vol/a" bs=1M count=8 conv=fsync status=none
    rm "$MNT/pv/vol/a"
    sync -f "$MNT/pv/vol"
    # the kernel's SETATTR of the unlinked file's ctime must not keep it
    local i
    for ((i = 0; i < 30; i++)); do
        [ "$(pv_df vol used)" -eq 0 ] && return 0
        sleep 0.1
    done
    fail "$(pv_df vol used) bytes still used"
}

@test "kill -9: every byte a completed fsync acknowledged is there" {
    pv_create vol 1Gi
    run "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/ref" <<'PYEOF'
import os, sys
d, ref = sys.argv[1], sys.argv[2]
data = os.urandom(1 << 20)
fd = os.open(d + "/f", os.O_RDWR | os.O_CREAT, 0o644)
for i in range(300):                 # 8 KiB appends, each pair of them fdatasync'd
    os.write(fd, data[(i * 8192) % len(data):][:8192])
    if i % 2:
        os.fdatasync(fd)
os.fsync(fd)
size = os.lseek(fd, 0, os.SEEK_END)
os.pwrite(fd, b"unsynced", 0)        # may or may not survive
with open(ref, "wb") as r:
    os.lseek(fd, 0, os.SEEK_SET)
    r.write(os.read(fd, size))
print(size)
PYEOF
    assert_success
    assert_output $((300 * 8192))
    volfs_kill9
    volfs_launch --writeback-cache
    [ "$(stat -c %s "$MNT/pv/vol/f")" -eq $((300 * 8192)) ]
    # past the first 8 bytes (the unsynced write) byte for byte
    cmp -i 8 "$VOLFS_TMP/ref" "$MNT/pv/vol/f"
}

# A shutdown has the kernel write back first, while the workers serve,
# then ends the connection: a process still holding the file open neither
# loses what write(2) accepted nor keeps the daemon (or the mount) up.
@test "volctl shutdown with a file held open with unwritten pages: exits in seconds, every byte kept" {
    pv_create vol 1Gi
    hold_dirty "$MNT/pv/vol/f" 3000000
    run timeout 10 "$VOLFS_BIN/volctl" --state "$STATE" shutdown
    assert_success
    volfs_await_exit 5
    kill "$HOLDER"
    wait "$HOLDER" || true
    volfs_launch --writeback-cache
    cmp "$VOLFS_TMP/ref" "$MNT/pv/vol/f"
}

@test "SIGTERM with a file held open with unwritten pages: exits in seconds, every byte kept" {
    pv_create vol 1Gi
    hold_dirty "$MNT/pv/vol/f" 3000000
    kill -TERM "$VOLFS_PID"
    volfs_await_exit 5
    kill "$HOLDER"
    wait "$HOLDER" || true
    volfs_launch --writeback-cache
    cmp "$VOLFS_TMP/ref" "$MNT/pv/vol/f"
}
