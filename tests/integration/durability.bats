#!/usr/bin/env bats
# Crash safety: kill -9 the daemon under load, restart, check what survived.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

# The workload writes 4 KiB records into 1 MiB files, makes each new name
# durable with an fsync of the directory, fsyncs (or fdatasyncs) every 16
# records and only then appends "FILE COUNT" to the ack file: every record
# below COUNT of FILE was acknowledged by a completed fsync.
write_workload() {
    cat >"$VOLFS_TMP/workload.py" <<'PYEOF'
import os, sys, time
d, ack_path, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
REC = 4096

def rec(fi, i):
    hdr = b"file%04d rec%08d " % (fi, i)
    return (hdr * (REC // len(hdr) + 1))[:REC]

if sys.argv[4:] == ["verify"]:
    acked = {}
    with open(ack_path) as f:
        for line in f:
            fi, n = map(int, line.split())
            acked[fi] = max(acked.get(fi, 0), n)
    bad = 0
    for fi, n in sorted(acked.items()):
        path = os.path.join(d, "f%04d" % fi)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            print("%s: %s (had %d acknowledged records)" % (path, e, n))
            bad += n
            continue
        for i in range(n):
            if os.pread(fd, REC, i * REC) != rec(fi, i):
                print("%s: record %d lost or corrupt" % (path, i))
                bad += 1
        os.close(fd)
    total = sum(acked.values())
    print("%d of %d acknowledged records intact in %d files" % (total - bad, total, len(acked)))
    sys.exit(1 if bad or not total else 0)

ack = open(ack_path, "w")
end = time.time() + seconds
fi = 0
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
try:
    while time.time() < end:
        fd = os.open(os.path.join(d, "f%04d" % fi), os.O_CREAT | os.O_WRONLY, 0o644)
        os.fsync(dfd)
        for i in range(256):
            os.pwrite(fd, rec(fi, i), i * REC)
            if i % 16 == 15:
                (os.fsync if i % 32 == 15 else os.fdatasync)(fd)
                ack.write("%d %d\n" % (fi, i + 1))
                ack.flush()
        os.close(fd)
        fi += 1
    print("finished without being interrupted")
except OSError as e:
    print("stopped by", e)
PYEOF
}

# acks_at_least FILE N: wait up to 20 s for N acknowledgements in FILE.
acks_at_least() {
    local i
    for ((i = 0; i < 200; i++)); do
        [[ -f $1 && $(wc -l <"$1") -ge $2 ]] && return 0
        sleep 0.1
    done
    fail "the workload acknowledged fewer than $2 fsyncs in 20 s: $(cat "$VOLFS_TMP/workload.log")"
}

# wait_gone PID: wait up to 10 s for a background process to exit.
wait_gone() {
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$1" 2>/dev/null || {
            wait "$1" 2>/dev/null || true
            return 0
        }
        sleep 0.1
    done
    fail "process $1 still running 10 s after the daemon was killed"
}

# integrity_check_copy: PRAGMA integrity_check on a copy of meta.db (+WAL) as
# the crash left it, so the check does not recover it before the daemon does.
integrity_check_copy() {
    mkdir -p "$VOLFS_TMP/dbcopy"
    rm -f "$VOLFS_TMP"/dbcopy/*
    cp "$STATE/meta.db" "$VOLFS_TMP/dbcopy/"
    [[ -f $STATE/meta.db-wal ]] && cp "$STATE/meta.db-wal" "$VOLFS_TMP/dbcopy/"
    run sqlite3 "$VOLFS_TMP/dbcopy/meta.db" 'PRAGMA integrity_check;'
    assert_success
    assert_output ok
}

# check_clean: `volctl check` and the control socket report no problems.
check_clean() {
    run volctl check
    assert_success
    run ctl '{"verb":"check"}'
    assert_success
    run "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["problems"])' "$output"
    assert_output '[]'
}

@test "kill -9 during an fsync workload loses no acknowledged data" {
    pv_create vol 1Gi
    write_workload
    "$PY" "$VOLFS_TMP/workload.py" "$MNT/pv/vol" "$VOLFS_TMP/ack" 60 \
        >"$VOLFS_TMP/workload.log" 2>&1 </dev/null 3>&- &
    local wp=$!
    volfs_track_pid $wp
    acks_at_least "$VOLFS_TMP/ack" 40
    volfs_kill9
    wait_gone $wp

    integrity_check_copy
    volfs_launch
    run sqlite3 "$STATE/meta.db" 'PRAGMA integrity_check;'
    assert_output ok
    run volctl get pv vol
    assert_success
    run "$PY" "$VOLFS_TMP/workload.py" "$MNT/pv/vol" "$VOLFS_TMP/ack" 0 verify
    assert_success
    check_clean
    # still writable after recovery
    echo after >"$MNT/pv/vol/after"
    sync "$MNT/pv/vol/after"
}

@test "two crashes in a row, with writes in between" {
    pv_create vol 1Gi
    write_workload
    local round wp
    for round in 1 2; do
        mkdir -p "$MNT/pv/vol/r$round"
        "$PY" "$VOLFS_TMP/workload.py" "$MNT/pv/vol/r$round" "$VOLFS_TMP/ack$round" 60 \
            >"$VOLFS_TMP/workload.log" 2>&1 </dev/null 3>&- &
        wp=$!
        volfs_track_pid $wp
        acks_at_least "$VOLFS_TMP/ack$round" 20
        volfs_kill9
        wait_gone $wp
        volfs_launch
    done
    for round in 1 2; do
        run "$PY" "$VOLFS_TMP/workload.py" "$MNT/pv/vol/r$round" "$VOLFS_TMP/ack$round" 0 verify
        assert_success
    done
    check_clean
}

@test "the flusher copies a long WAL back into meta.db while the daemon runs" {
    pv_create vol 64Mi
    local before
    before=$(stat -c %s "$STATE/meta.db")
    # each fsync commits a group: well over DB_WAL_CHECKPOINT_DUE frames
    "$PY" - "$MNT/pv/vol" <<'PY'
import os, sys
for i in range(600):
    fd = os.open(os.path.join(sys.argv[1], "f%d" % i), os.O_WRONLY | os.O_CREAT, 0o644)
    os.write(fd, b"x")
    os.fsync(fd)
    os.close(fd)
PY
    local i
    for ((i = 0; i < 600; i++)); do
        [ "$(stat -c %s "$STATE/meta.db")" -gt "$before" ] && break
        sleep 0.1
    done
    [ "$(stat -c %s "$STATE/meta.db")" -gt "$before" ] ||
        fail "meta.db stayed at $before bytes: its WAL was never checkpointed"
}

@test "volumes created, resized and deleted before kill -9 are as acknowledged" {
    local i
    for i in 0 1 2 3 4 5 6 7; do
        volctl create pv "p$i" --capacity "$((i + 1))Gi" >/dev/null
    done
    echo kept >"$MNT/pv/p3/file"
    sync "$MNT/pv/p3/file"
    volctl resize pv p1 --capacity 5Gi >/dev/null
    volctl delete pv p7 >/dev/null
    volfs_kill9

    integrity_check_copy
    volfs_launch
    run ls "$MNT/pv"
    assert_output "$(printf 'p%d\n' 0 1 2 3 4 5 6)"
    [ "$(pv_df p0 capacity)" -eq "$GiB" ]
    [ "$(pv_df p1 capacity)" -eq $((5 * GiB)) ]
    [ "$(pv_df p6 capacity)" -eq $((7 * GiB)) ]
    run volctl get pv p7
    assert_failure
    run cat "$MNT/pv/p3/file"
    assert_output kept
    check_clean
}

@test "a namespace changed and fsynced before kill -9 is intact" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    run "$PY" - "$v" <<'PYEOF'
import os, sys
v = sys.argv[1]
def fsync_dir(p):
    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY); os.fsync(fd); os.close(fd)
for i in range(200):
    os.makedirs("%s/d%03d/sub" % (v, i))
    with open("%s/d%03d/sub/file" % (v, i), "w") as f:
        f.write("content %d\n" % i)
        f.flush(); os.fsync(f.fileno())
    fsync_dir("%s/d%03d/sub" % (v, i)); fsync_dir("%s/d%03d" % (v, i))
for i in range(0, 200, 2):
    os.rename("%s/d%03d" % (v, i), "%s/renamed%03d" % (v, i))
for i in range(1, 200, 4):
    os.unlink("%s/d%03d/sub/file" % (v, i))
    fsync_dir("%s/d%03d/sub" % (v, i))
os.symlink("renamed000/sub/file", v + "/link")
fsync_dir(v)
print("done")
PYEOF
    assert_output 'done'
    volfs_kill9
    volfs_launch
    run "$PY" - "$v" <<'PYEOF'
import os, sys
v = sys.argv[1]
bad = []
for i in range(200):
    d = "%s/%s%03d" % (v, "renamed" if i % 2 == 0 else "d", i)
    f = d + "/sub/file"
    if i % 4 == 1:
        if os.path.exists(f): bad.append("unlinked file is back: " + f)
    else:
        try:
            if open(f).read() != "content %d\n" % i: bad.append("wrong content: " + f)
        except OSError as e:
            bad.append(str(e))
    if i % 2 == 0 and os.path.exists("%s/d%03d" % (v, i)): bad.append("old name after rename: d%03d" % i)
if os.readlink(v + "/link") != "renamed000/sub/file": bad.append("symlink")
print("\n".join(bad) or "ok")
PYEOF
    assert_output ok
    check_clean
}

# ---------------------------------------------------------------------------
# Operations that destroy host data, each followed at once by kill -9: after
# the restart every file is exactly its old content or its new one.

# crash_after CODE: run the Python statements CODE (`os` imported, `v` the
# volume's directory, punch(PATH, OFF, LEN) punches a hole), then SIGKILL the daemon from the same process the
# moment they return, so that no group commit can come in between.
crash_after() {
    "$PY" - "$MNT/pv/vol" "$VOLFS_PID" "$1" <<'PYEOF'
import ctypes, os, signal, sys
v, pid = sys.argv[1], int(sys.argv[2])
libc = ctypes.CDLL(None, use_errno=True)

def punch(path, off, length):
    fd = os.open(path, os.O_WRONLY)
    if libc.fallocate(fd, 3, ctypes.c_long(off), ctypes.c_long(length)) != 0:  # PUNCH_HOLE|KEEP_SIZE
        raise OSError(ctypes.get_errno(), "fallocate")

exec(sys.argv[3])
os.kill(pid, signal.SIGKILL)
PYEOF
    volfs_kill9
}

# old_or_new FILE CANDIDATE...: FILE holds exactly one candidate's bytes
# (a missing CANDIDATE file stands for "FILE does not exist").
old_or_new() {
    "$PY" - "$@" <<'PYEOF'
import os, sys
path = sys.argv[1]
got = open(path, "rb").read() if os.path.exists(path) else None
for cand in sys.argv[2:]:
    want = open(cand, "rb").read() if os.path.exists(cand) else None
    if got == want:
        print("ok")
        sys.exit(0)
if got is None:
    print("%s is gone" % path)
else:
    zeros = sum(1 for i in range(0, len(got), 4096) if not got[i:i + 4096].strip(b"\0"))
    print("%s: %d bytes, %d of its blocks zero: neither the old nor the new content"
          % (path, len(got), zeros))
sys.exit(1)
PYEOF
}

# fsynced_file NAME: 4 MiB of random bytes in $VOLFS_TMP/NAME.old and, written
# with dd conv=fsync (which commits its size and map), in the volume.
fsynced_file() {
    head -c $((4 * MiB)) /dev/urandom >"$VOLFS_TMP/$1.old"
    dd if="$VOLFS_TMP/$1.old" of="$MNT/pv/vol/$1" bs=1M conv=fsync status=none
}

@test "ftruncate of an fsynced file, then kill -9: the old file or the truncated one" {
    pv_create vol 1Gi
    local size
    for size in 4096 100; do
        fsynced_file "f$size"
        head -c "$size" "$VOLFS_TMP/f$size.old" >"$VOLFS_TMP/f$size.new"
        crash_after "fd = os.open(v + '/f$size', os.O_WRONLY); os.ftruncate(fd, $size)"
        volfs_launch
        run old_or_new "$MNT/pv/vol/f$size" "$VOLFS_TMP/f$size.old" "$VOLFS_TMP/f$size.new"
        assert_output ok
    done
    check_clean
    # Grown again, the file reads zeros past the cut.
    truncate -s 8192 "$MNT/pv/vol/f100"
    head -c 100 "$VOLFS_TMP/f100.old" >"$VOLFS_TMP/grown"
    head -c 8092 /dev/zero >>"$VOLFS_TMP/grown"
    cmp "$MNT/pv/vol/f100" "$VOLFS_TMP/grown"
}

@test "open(O_TRUNC) and a 100-byte write, then kill -9: the old file, empty or the new one" {
    pv_create vol 1Gi
    fsynced_file f
    : >"$VOLFS_TMP/f.empty"
    head -c 100 /dev/zero | tr '\0' x >"$VOLFS_TMP/f.new"
    crash_after "fd = os.open(v + '/f', os.O_WRONLY | os.O_TRUNC); os.write(fd, b'x' * 100)"
    volfs_launch
    run old_or_new "$MNT/pv/vol/f" "$VOLFS_TMP/f.old" "$VOLFS_TMP/f.empty" "$VOLFS_TMP/f.new"
    assert_output ok
    check_clean
}

@test "a punched hole, then kill -9: the old file or the punched one" {
    pv_create vol 1Gi
    fsynced_file f
    cp "$VOLFS_TMP/f.old" "$VOLFS_TMP/f.new"
    fallocate -p -o 1000 -l $((MiB + 5000)) "$VOLFS_TMP/f.new"
    crash_after "punch(v + '/f', 1000, $((MiB + 5000)))"
    volfs_launch
    run old_or_new "$MNT/pv/vol/f" "$VOLFS_TMP/f.old" "$VOLFS_TMP/f.new"
    assert_output ok
    check_clean
}

@test "unlink and rename over an fsynced file, then kill -9: old or new names and contents" {
    pv_create vol 1Gi
    fsynced_file gone
    fsynced_file f
    fsynced_file g
    sync "$MNT/pv/vol"
    crash_after "os.unlink(v + '/gone'); os.rename(v + '/g', v + '/f')"
    volfs_launch
    run old_or_new "$MNT/pv/vol/gone" "$VOLFS_TMP/gone.old" "$VOLFS_TMP/nothing"
    assert_output ok
    run old_or_new "$MNT/pv/vol/f" "$VOLFS_TMP/f.old" "$VOLFS_TMP/g.old"
    assert_output ok
    if cmp -s "$MNT/pv/vol/f" "$VOLFS_TMP/f.old"; then # the rename did not commit
        cmp "$MNT/pv/vol/g" "$VOLFS_TMP/g.old"
    else
        [ ! -e "$MNT/pv/vol/g" ]
    fi
    check_clean
}

@test "a write and a truncation after a snapshot, then kill -9: the file old or new, the snapshot old" {
    pv_create vol 1Gi
    fsynced_file f
    volctl snapshot pv/vol s1 >/dev/null
    # The write copies block 1 up into a new layer; the truncation cuts it.
    "$PY" - "$VOLFS_TMP/f" <<'PYEOF'
import sys
p = sys.argv[1]
b = bytearray(open(p + ".old", "rb").read())
b[4096:8192] = b"w" * 4096
open(p + ".written", "wb").write(b)
open(p + ".new", "wb").write(b[:8192 + 100])
PYEOF
    crash_after "fd = os.open(v + '/f', os.O_WRONLY); os.pwrite(fd, b'w' * 4096, 4096); os.ftruncate(fd, 8292)"
    volfs_launch
    run old_or_new "$MNT/pv/vol/f" "$VOLFS_TMP/f.old" "$VOLFS_TMP/f.written" "$VOLFS_TMP/f.new"
    assert_output ok
    cmp "$MNT/snapshots/default/s1/f" "$VOLFS_TMP/f.old"
    check_clean
}

# ---------------------------------------------------------------------------
# After an unclean stop: space given back, ownerless files accounted for.

# host_data_bytes: bytes allocated to the data files under STATE/data.
host_data_bytes() {
    find "$STATE/data" -type f ! -name '.*' -printf '%b\n' | awk '{s += $1 * 512} END {print s + 0}'
}

@test "kill -9 during a large write: host blocks no committed map refers to are given back at start" {
    pv_create vol 1Gi
    crash_after "
fd = os.open(v + '/big', os.O_CREAT | os.O_WRONLY, 0o644)
chunk = os.urandom(1 << 20)
for i in range(8):
    os.write(fd, chunk)
os.fsync(fd)
for i in range(24):
    os.write(fd, chunk)"
    volfs_launch
    local visible host
    visible=$(($(stat -c %b "$MNT/pv/vol/big") * 512))
    host=$(host_data_bytes)
    [ "$visible" -ge $((8 * MiB)) ]
    ((host <= visible + 64 * KiB)) ||
        fail "the host holds $host bytes for a file of $visible bytes of committed data"
    check_clean
}

# A file written front to back has its host writeback started every 8 MiB
# (docs/design.md): kill -9 with windows started both before its fsync and
# after it leaves the fsynced bytes and size, and nothing but written bytes
# past them.
@test "a file streamed past several writeback windows, fsynced, streamed on, then kill -9: the fsynced bytes are there" {
    pv_create vol 1Gi
    crash_after "
import random
fd = os.open(v + '/stream', os.O_CREAT | os.O_RDWR, 0o644)
for i in range(20):
    os.write(fd, random.Random(i).randbytes(1 << 20))
os.fsync(fd)
for i in range(20, 40):
    os.write(fd, random.Random(i).randbytes(1 << 20))"
    volfs_launch
    run "$PY" - "$MNT/pv/vol/stream" <<'PYEOF'
import os, random, sys
size = os.stat(sys.argv[1]).st_size
if not 20 << 20 <= size <= 40 << 20:
    sys.exit(f"size {size}: the fsynced 20 MiB are not all there, or more than was written")
data = open(sys.argv[1], "rb").read()
want = b"".join(random.Random(i).randbytes(1 << 20) for i in range(40))[:size]
if data != want:
    bad = next(i for i in range(size) if data[i] != want[i])
    sys.exit(f"byte {bad} of {size} differs from what was written")
PYEOF
    assert_success
    check_clean
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
}

@test "volfs --check after a delete whose data files were not yet removed: pending cleanup, not damage" {
    pv_create vol 1Gi
    local i
    for i in $(seq 1 20); do
        head -c 10000 /dev/urandom >"$MNT/pv/vol/f$i"
    done
    sync -f "$MNT/pv/vol"
    cp -a "$STATE/data" "$VOLFS_TMP/data.copy"
    volctl delete pv vol >/dev/null
    wait_reclaimed
    volfs_stop
    # As if the daemon had been killed after the delete and its reclaim
    # committed, before its data files were removed.
    cp -a "$VOLFS_TMP/data.copy/." "$STATE/data/"
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    assert_line "pending cleanup: 20 data files of deleted objects, removed at the next start"
    volfs_launch
    grep -q 'removed 20 data files of objects deleted before the last stop' "$VOLFS_LOG"
    [ "$(host_data_bytes)" -eq 0 ]
    [ ! -e "$STATE/lost+found" ]
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    refute_output --partial pending
}

@test "meta.db-wal lost after writes: the vanished volume's data files go to lost+found, logged" {
    pv_create kept 1Gi
    echo kept >"$MNT/pv/kept/file"
    volfs_stop # a clean stop checkpoints meta.db: "kept" is in the main file
    volfs_launch
    pv_create lost 1Gi
    head -c $MiB /dev/urandom >"$VOLFS_TMP/lost.data"
    dd if="$VOLFS_TMP/lost.data" of="$MNT/pv/lost/file" bs=1M conv=fsync status=none
    volfs_kill9
    rm -f "$STATE/meta.db-wal" "$STATE/meta.db-shm"
    volfs_launch
    run cat "$MNT/pv/kept/file"
    assert_output kept
    run volctl get pv lost
    assert_failure
    grep -q "moved 1 data file that no committed object owns to $STATE/lost+found" "$VOLFS_LOG"
    run ls "$STATE/lost+found"
    assert_success
    [ "${#lines[@]}" -eq 1 ]
    cmp "$STATE/lost+found/${lines[0]}" "$VOLFS_TMP/lost.data"
    check_clean
}

@test "a meta.db with a damaged page: volfs refuses to start with one line naming the file" {
    pv_create vol 1Gi
    local i
    for i in $(seq 1 300); do echo "$i" >"$MNT/pv/vol/f$i"; done
    volfs_stop
    local page size
    page=$(sqlite3 "$STATE/meta.db" "SELECT pageno FROM dbstat WHERE name = 'dentries' ORDER BY pageno" |
        awk '{p[NR] = $1} END {print p[int((NR + 1) / 2)]}')
    size=$(sqlite3 "$STATE/meta.db" 'PRAGMA page_size')
    [ -n "$page" ] && [ "$page" -gt 1 ]
    dd if=/dev/urandom of="$STATE/meta.db" bs="$size" seek=$((page - 1)) count=1 conv=notrunc status=none
    run --separate-stderr timeout 60 "$VOLFS_BIN/volfs" -f --state "$STATE" "$MNT"
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "volfs started on a damaged meta.db (status $status)"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "expected one line, got: $stderr"
    [[ $stderr == *"$STATE/meta.db is damaged (quick_check: "* ]] || fail "unclear: $stderr"
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_failure
}

@test "volfs --check and volctl check find a data file cut short under its block map" {
    pv_create vol 1Gi
    head -c $((4 * MiB)) /dev/urandom >"$MNT/pv/vol/f"
    sync "$MNT/pv/vol/f"
    volfs_stop
    local host
    host=$(find "$STATE/data" -type f ! -name '.*')
    truncate -s 4096 "$host"
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_failure
    assert_output --partial "but its host file ends at byte 4096: data lost"
    volfs_launch
    run volctl check
    assert_failure
    assert_output --partial "data lost"
}

@test "a punched hole over a snapshot's blocks, then kill -9: the file before or after the punch" {
    pv_create vol 1Gi
    fsynced_file f
    volctl snapshot pv/vol s1 >/dev/null
    # Block 5 becomes the live layer's own (fsynced); blocks 4 and 6 stay
    # the snapshot's, and the punch cuts into both kinds.
    "$PY" - "$VOLFS_TMP/f" "$MNT/pv/vol/f" <<'PYEOF'
import os, sys
p, live = sys.argv[1], sys.argv[2]
b = bytearray(open(p + ".old", "rb").read())
b[5 * 4096:6 * 4096] = b"w" * 4096
open(p + ".written", "wb").write(b)
b[4 * 4096 + 100:7 * 4096 - 100] = bytes(3 * 4096 - 200)
open(p + ".new", "wb").write(b)
fd = os.open(live, os.O_WRONLY)
os.pwrite(fd, b"w" * 4096, 5 * 4096)
os.fsync(fd)
PYEOF
    crash_after "punch(v + '/f', $((4 * 4096 + 100)), $((3 * 4096 - 200)))"
    volfs_launch
    run old_or_new "$MNT/pv/vol/f" "$VOLFS_TMP/f.written" "$VOLFS_TMP/f.new"
    assert_output ok
    cmp "$MNT/snapshots/default/s1/f" "$VOLFS_TMP/f.old"
    check_clean
}

# ---------------------------------------------------------------------------
# One device flush per fdatasync: a private file's fdatasync flushes only its
# data file (with a marker of its size), and its size and map reach meta.db
# with a later group commit; a crash in between is repaired at start from the
# data file (docs/durability.md, "fdatasync with one flush").

# flushes: the data-file and WAL flush counters, "DATA WAL".
flushes() {
    volctl metrics | awk -F'[ ]' '/^volfs_host_flushes_total\{file="data"\}/ {d = $2}
        /^volfs_host_flushes_total\{file="wal"\}/ {w = $2} END {print d + 0, w + 0}'
}

# fdatasync_loop FILE N MODE: N fdatasyncs of FILE, each after a 4 KiB
# write: MODE append (the file grows), overwrite (block 0 again), truncate
# (a truncation back to 4 KiB before each).
fdatasync_loop() {
    "$PY" - "$@" <<'PYEOF'
import os, sys
path, n, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
end = os.fstat(fd).st_size
for i in range(n):
    if mode == "truncate":
        os.ftruncate(fd, 4096)
        end = 4096
    os.pwrite(fd, os.urandom(4096), 0 if mode == "overwrite" else end)
    end += 4096
    os.fdatasync(fd)
PYEOF
}

@test "fdatasync flushes the device once: appends and overwrites, not after a truncation" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/f before after
    fdatasync_loop "$f" 1 append # the first one commits the new file: two flushes
    before=($(flushes))
    fdatasync_loop "$f" 50 append
    after=($(flushes))
    [ $((after[0] - before[0])) -eq 50 ] || fail "data flushes: ${before[*]} -> ${after[*]}"
    [ $((after[1] - before[1])) -eq 0 ] || fail "WAL flushes for appends: ${before[*]} -> ${after[*]}"
    before=("${after[@]}")
    fdatasync_loop "$f" 50 overwrite
    after=($(flushes))
    [ $((after[0] - before[0])) -eq 50 ] && [ $((after[1] - before[1])) -eq 0 ] ||
        fail "overwrites: ${before[*]} -> ${after[*]}"
    # A truncation is the case a data file cannot describe: it commits.
    before=("${after[@]}")
    fdatasync_loop "$f" 5 truncate
    after=($(flushes))
    [ $((after[1] - before[1])) -ge 5 ] || fail "truncations: ${before[*]} -> ${after[*]}"
    [ "$(stat -c %s "$f")" -eq 8192 ]
}

# markers_ahead: how many data files carry a sync marker newer than their
# object's row, read from a copy of meta.db as the crash left it.
markers_ahead() {
    mkdir -p "$VOLFS_TMP/gencopy"
    rm -f "$VOLFS_TMP"/gencopy/*
    cp "$STATE/meta.db" "$VOLFS_TMP/gencopy/"
    [[ -f $STATE/meta.db-wal ]] && cp "$STATE/meta.db-wal" "$VOLFS_TMP/gencopy/"
    "$PY" - "$STATE/data" "$VOLFS_TMP/gencopy/meta.db" <<'PYEOF'
import glob, os, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[2])
ahead = 0
for path in glob.glob(sys.argv[1] + "/*/*"):
    try:
        gen, _ = struct.unpack("<QQ", os.getxattr(path, "user.volfs.sync"))
    except OSError:
        continue
    row = db.execute("SELECT gen FROM dataobjs WHERE id = ?", (int(os.path.basename(path)),)).fetchone()
    ahead += row is not None and gen > row[0]
print(ahead)
PYEOF
}

# crash_in_fdatasync CODE [FAULT]: restart on the fault-injection build (make
# fault) with a crash point right after the data flush of the first fdatasync
# that takes one flush (or the VOLFS_FAULT crash FAULT), run the Python
# statements CODE (`v` the volume's
# directory, first(DATA) creates f with DATA, fdatasyncs it (the file's
# first fdatasync takes two flushes) and returns its descriptor; they must
# write $VOLFS_TMP/expect, the file f's content that
# the fdatasyncs acknowledge, and reach such an fdatasync, where the daemon
# dies as kill -9 or a power cut right after the flush leaves it), then
# restart the normal build. Afterwards f is exactly the expected content,
# the files the crash left newer than their rows were repaired at start,
# and volctl check and, stopped, volfs --check are clean.
crash_in_fdatasync() {
    local ahead
    volfs_relaunch_faulty "${2:-crash:1@fdatasync}"
    run "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/expect" "$1" <<'PYEOF'
import mmap, os, sys
v, expect = sys.argv[1], sys.argv[2]

def first(data):
    fd = os.open(v + '/f', os.O_CREAT | os.O_WRONLY, 0o644)
    os.write(fd, data)
    os.fdatasync(fd)
    return fd

exec(sys.argv[3])
PYEOF
    assert_crashed
    volfs_kill9
    ahead=$(markers_ahead)
    volfs_launch
    cmp "$MNT/pv/vol/f" "$VOLFS_TMP/expect"
    if ((ahead > 0)); then
        grep -q "rebuilt the size and block map of $ahead file" "$VOLFS_LOG" ||
            fail "$ahead data files newer than their rows, and no repair logged"
    fi
    check_clean
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    volfs_launch
}

@test "crash after the data flush of an appending fdatasync: the appended bytes and the size are there" {
    pv_create vol 1Gi
    crash_in_fdatasync "
a, b = os.urandom(5000), os.urandom(10000)
open(expect, 'wb').write(a + b)
fd = first(a)
os.write(fd, b); os.fdatasync(fd)"
}

# The first write after an fdatasync starts its own writeback before it is
# answered: a crash right after that start leaves the synced bytes and size,
# and none of the write.
@test "crash after a write following an fdatasync started its writeback: the synced file, not the write" {
    pv_create vol 1Gi
    crash_in_fdatasync "
a, b, c = os.urandom(5000), os.urandom(10000), os.urandom(7000)
open(expect, 'wb').write(a + b)
fd = first(a)
os.write(fd, b); os.fdatasync(fd)
os.write(fd, c)" crash:2@writeback-kick
}

@test "crash after the data flush of an overwriting fdatasync: the new bytes are there" {
    pv_create vol 1Gi
    crash_in_fdatasync "
a = bytearray(os.urandom(65536))
fd = first(a)
a[8192:12288] = os.urandom(4096)
open(expect, 'wb').write(a)
os.pwrite(fd, a[8192:12288], 8192); os.fdatasync(fd)"
}

@test "crash after the data flush of an fdatasync of a write into a hole: the block is there" {
    pv_create vol 1Gi
    crash_in_fdatasync "
a = bytearray(1 << 20)
a[0:4096] = os.urandom(4096)
fd = os.open(v + '/f', os.O_CREAT | os.O_WRONLY, 0o644)
os.ftruncate(fd, 1 << 20); os.pwrite(fd, a[0:4096], 0); os.fdatasync(fd)
a[512 * 1024 + 100:512 * 1024 + 5000] = os.urandom(4900)
open(expect, 'wb').write(a)
os.pwrite(fd, a[512 * 1024 + 100:512 * 1024 + 5000], 512 * 1024 + 100); os.fdatasync(fd)"
}

@test "crash after the data flush of an fdatasync after a snapshot: the copied-up file new, the snapshot old" {
    pv_create vol 1Gi
    fsynced_file f
    volctl snapshot pv/vol s1 >/dev/null
    cp "$VOLFS_TMP/f.old" "$VOLFS_TMP/expect"
    crash_in_fdatasync "
a = bytearray(open(expect, 'rb').read())
fd = os.open(v + '/f', os.O_WRONLY)
a[4096:8192] = os.urandom(4096)
os.pwrite(fd, a[4096:8192], 4096); os.fdatasync(fd)
a[3 * 4096 + 100:3 * 4096 + 300] = os.urandom(200)
a += os.urandom(7000)
open(expect, 'wb').write(a)
os.pwrite(fd, a[3 * 4096 + 100:3 * 4096 + 300], 3 * 4096 + 100)
os.pwrite(fd, a[-7000:], len(a) - 7000); os.fdatasync(fd)"
    cmp "$MNT/snapshots/default/s1/f" "$VOLFS_TMP/f.old"
}

@test "crash after the data flush of an O_DIRECT fdatasync: the written blocks and the size are there" {
    pv_create vol 1Gi
    crash_in_fdatasync "
buf = mmap.mmap(-1, 3 * 4096)
data = os.urandom(3 * 4096)
buf.write(data)
open(expect, 'wb').write(data)
fd = os.open(v + '/f', os.O_CREAT | os.O_WRONLY | os.O_DIRECT, 0o644)
os.pwritev(fd, [memoryview(buf)[:4096]], 0); os.fdatasync(fd)
os.pwritev(fd, [memoryview(buf)[4096:]], 4096); os.fdatasync(fd)"
}

@test "crash after the data flush of an fdatasync after a truncation: the truncation and the writes are there" {
    pv_create vol 1Gi
    crash_in_fdatasync "
a = bytearray(os.urandom(65536))
fd = first(a)
del a[10000:]
a += os.urandom(3000)
os.ftruncate(fd, 10000); os.pwrite(fd, a[10000:], 10000)
os.fdatasync(fd)  # after a truncation: two flushes, no crash point
a += os.urandom(4096)
open(expect, 'wb').write(a)
os.pwrite(fd, a[-4096:], len(a) - 4096); os.fdatasync(fd)"
}
