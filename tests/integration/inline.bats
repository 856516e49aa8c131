#!/usr/bin/env bats
# Inline data: small files keep their bytes in meta.db, with no host file,
# through FUSE, restarts, kill -9, snapshots, restore, clone, the capacity
# and a crash right after a file spills into a data object.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

INLINE_MAX=944 # VFS_INLINE_MAX

# host_files: the data objects' host files under STATE/data.
host_files() {
    find "$STATE/data" -type f ! -name '.*' | wc -l
}

# make_reference DIR: random files of sizes around the threshold in DIR.
make_reference() {
    mkdir -p "$1"
    local s
    for s in 0 1 100 $((INLINE_MAX - 1)) $INLINE_MAX $((INLINE_MAX + 1)) 5000; do
        head -c "$s" /dev/urandom >"$1/f$s"
    done
}

@test "small files round-trip through FUSE with no host file, and survive a restart" {
    pv_create vol 64Mi
    make_reference "$VOLFS_TMP/ref"
    cp "$VOLFS_TMP"/ref/* "$MNT/pv/vol/"
    sync -f "$MNT/pv/vol"
    local f
    for f in "$VOLFS_TMP"/ref/*; do
        cmp "$f" "$MNT/pv/vol/${f##*/}"
    done
    # only the two files past the threshold have host files
    [ "$(host_files)" -eq 2 ] || fail "$(host_files) host files, expected 2"
    [ "$(stat -c %b "$MNT/pv/vol/f100")" -eq 1 ]
    volfs_stop
    volfs_launch
    for f in "$VOLFS_TMP"/ref/*; do
        cmp "$f" "$MNT/pv/vol/${f##*/}"
    done
    # appends across the threshold spill once, keeping every byte
    for _ in $(seq 30); do
        head -c 100 /dev/urandom | tee -a "$VOLFS_TMP/ref/f100" >>"$MNT/pv/vol/f100"
    done
    cmp "$VOLFS_TMP/ref/f100" "$MNT/pv/vol/f100"
    [ "$(host_files)" -eq 3 ]
    check_clean_offline
    cmp "$VOLFS_TMP/ref/f100" "$MNT/pv/vol/f100"
}

@test "small files fsynced before kill -9 are intact, bytes and sizes" {
    pv_create vol 64Mi
    "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/ref" <<'PYEOF'
import os, sys
v, ref = sys.argv[1], sys.argv[2]
os.makedirs(ref)
for i, size in enumerate([1, 10, 500, 900, 944, 700]):
    data = os.urandom(size)
    for d in (v, ref):
        fd = os.open("%s/f%d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644)
        os.write(fd, data)
        if d == v:
            os.fsync(fd)
        os.close(fd)
# an overwrite and a shrink, fsynced
for d in (v, ref):
    fd = os.open(d + "/f2", os.O_WRONLY)
    os.pwrite(fd, b"XYZ", 7)
    os.ftruncate(fd, 300)
    if d == v:
        os.fsync(fd)
    os.close(fd)
dfd = os.open(v, os.O_RDONLY)
os.fsync(dfd)
PYEOF
    volfs_kill9
    volfs_launch
    local f
    for f in "$VOLFS_TMP"/ref/*; do
        cmp "$f" "$MNT/pv/vol/${f##*/}"
    done
    [ "$(host_files)" -eq 0 ]
    check_clean_offline
}

@test "snapshot, restore and clone of a volume with small files: each keeps its own bytes" {
    pv_create vol 64Mi
    local V=$MNT/pv/vol
    make_reference "$VOLFS_TMP/m0"
    cp "$VOLFS_TMP"/m0/* "$V/"
    ln "$V/f100" "$V/link100"
    cp "$VOLFS_TMP/m0/f100" "$VOLFS_TMP/m0/link100"
    volctl snapshot pv/vol s1 >/dev/null
    local S=$MNT/snapshots/default/s1
    # the live volume changes: an overwrite, a shrink, a spill, a removal
    printf 'new' | dd of="$V/f100" conv=notrunc status=none
    truncate -s 10 "$V/f$((INLINE_MAX - 1))"
    head -c 3000 /dev/urandom >>"$V/f1"
    rm "$V/f$INLINE_MAX"
    diff -r "$S" "$VOLFS_TMP/m0"
    cmp "$V/f100" "$V/link100"
    volctl restore s1 pv/restored >/dev/null
    volctl clone pv/vol pv/cloned >/dev/null
    diff -r "$MNT/pv/restored" "$VOLFS_TMP/m0"
    diff -r "$MNT/pv/cloned" "$V"
    printf 'restored' >"$MNT/pv/restored/f1"
    printf 'cloned' >"$MNT/pv/cloned/f100"
    diff -r "$S" "$VOLFS_TMP/m0"
    [ "$(cat "$MNT/pv/restored/f1")" = restored ]
    [ "$(head -c 6 "$MNT/pv/cloned/f100")" = cloned ]
    [ "$(head -c 3 "$V/f100")" = new ]
    # deleting the snapshot and the copies gives every row back
    volctl delete vs s1 >/dev/null
    volctl delete pv restored >/dev/null
    volctl delete pv cloned >/dev/null
    wait_reclaimed
    diff <(head -c 3 "$V/f100") <(printf new)
    check_clean_offline
}

@test "volctl df counts small files' bytes; a write past the capacity fails with ENOSPC, earlier bytes intact" {
    pv_create vol 1Mi
    local before after
    before=$(pv_df vol used)
    "$PY" - "$MNT/pv/vol" <<'PYEOF'
import os, sys
for i in range(100):
    with open("%s/f%d" % (sys.argv[1], i), "wb") as f:
        f.write(b"x" * 900)
PYEOF
    after=$(pv_df vol used)
    ((after - before >= 90000)) || fail "df used grew by $((after - before)) bytes for 90000 inline bytes"
    [ "$(host_files)" -eq 0 ]
    # data fills the volume but for less than a block; small files then
    # fail at write(2), the file left empty, the earlier ones intact
    run dd if=/dev/zero of="$MNT/pv/vol/big" bs=4096 status=none
    assert_failure
    run "$PY" - "$MNT/pv/vol" <<'PYEOF'
import errno, os, sys
for i in range(100, 200):
    path = "%s/f%d" % (sys.argv[1], i)
    fd = os.open(path, os.O_CREAT | os.O_WRONLY, 0o644)
    try:
        os.write(fd, b"y" * 900)
    except OSError as e:
        print("write", i, errno.errorcode[e.errno], os.fstat(fd).st_size)
        sys.exit(0)
    finally:
        os.close(fd)
sys.exit("no ENOSPC")
PYEOF
    assert_success
    assert_output --regexp "^write [0-9]+ ENOSPC 0$"
    cmp <(head -c 900 /dev/zero | tr '\0' x) "$MNT/pv/vol/f99"
    check_clean_offline
}

# spill_crash FAULT CODE: restart on the fault-injection build with crash
# point FAULT, run the Python statements CODE (v: the volume's directory,
# expect: where they write the acknowledged content of v/f), which must
# reach the crash point; then restart the normal build and compare.
spill_crash() {
    volfs_relaunch_faulty "$1"
    run "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/expect" "$2" <<'PYEOF'
import os, sys
v, expect = sys.argv[1], sys.argv[2]
exec(sys.argv[3])
PYEOF
    assert_crashed
    volfs_kill9
    volfs_launch
    cmp "$MNT/pv/vol/f" "$VOLFS_TMP/expect"
    check_clean_offline
}

@test "kill -9 right after a spill: the fsynced small file is intact" {
    pv_create vol 64Mi
    spill_crash "crash:1@inline spill" "
a = os.urandom(500)
open(expect, 'wb').write(a)
fd = os.open(v + '/f', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, a); os.fsync(fd)
os.pwrite(fd, os.urandom(3000), 500)"
}

@test "kill -9 after a spill was fsynced: every byte there, from the data object" {
    pv_create vol 64Mi
    "$PY" - "$MNT/pv/vol" "$VOLFS_TMP/expect" <<'PYEOF'
import os, sys
v, expect = sys.argv[1], sys.argv[2]
a, b = os.urandom(500), os.urandom(3000)
open(expect, 'wb').write(a + b)
fd = os.open(v + '/f', os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, a); os.fsync(fd)
os.write(fd, b); os.fsync(fd)
PYEOF
    volfs_kill9
    volfs_launch
    cmp "$MNT/pv/vol/f" "$VOLFS_TMP/expect"
    [ "$(host_files)" -eq 1 ]
    check_clean_offline
}
