#!/usr/bin/env bats
# The kernel's page cache of volume files: a write through the mount changes
# only the pages it writes (the rest of the file stays cached), and a file
# whose data changes by a path the kernel does not see (its read-only alias
# under MOUNT/pods, its volume deleted or torn down) is dropped from it.

# shellcheck disable=SC2154 # STATE, MNT, PY ... come from helpers.bash
load helpers

MiB=$((1024 * 1024))

@test "a write and fdatasync through the mount keep the file's other cached pages" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/big
    head -c $((64 * MiB)) /dev/urandom >"$VOLFS_TMP/ref"
    cp "$VOLFS_TMP/ref" "$f"
    # held open so that no dentry/inode reclaim drops its pages meanwhile
    exec 4<"$f"
    cat "$f" >/dev/null
    cat "$f" >/dev/null
    local before after
    before=$(fuse_requests read)
    # 8 KiB in the middle, through another descriptor, made durable
    head -c 8192 /dev/urandom >"$VOLFS_TMP/patch"
    dd if="$VOLFS_TMP/patch" of="$f" bs=8192 seek=1000 conv=notrunc,fdatasync status=none
    dd if="$VOLFS_TMP/patch" of="$VOLFS_TMP/ref" bs=8192 seek=1000 conv=notrunc status=none
    [ "$(sha "$f")" = "$(sha "$VOLFS_TMP/ref")" ]
    after=$(fuse_requests read)
    exec 4<&-
    # the whole file is 64 reads of 1 MiB; a few at most may be re-read
    [ $((after - before)) -le 4 ] || fail "re-reading after the write took $((after - before)) FUSE reads"
}

@test "a file open through a read-only alias reads what the writer wrote, at once" {
    local pv
    pv=$(shared_claim_with_reader)
    printf 'aaaaaaaa' >"$MNT/pv/$pv/file"
    # one descriptor on the alias, read before and after the writes
    run "$PY" - "$MNT/pods/default/reader/data/file" "$MNT/pv/$pv/file" <<'PYEOF'
import mmap, os, sys
ro = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(ro, 8, prot=mmap.PROT_READ)
assert os.pread(ro, 8, 0) == b"aaaaaaaa" and m[:8] == b"aaaaaaaa"
rw = os.open(sys.argv[2], os.O_WRONLY)
os.pwrite(rw, b"bb", 2)
print(os.pread(ro, 8, 0).decode(), m[:8].decode())
os.truncate(rw, 4)
print(os.pread(ro, 8, 0).decode())
PYEOF
    assert_success
    assert_line --index 0 'aabbaaaa aabbaaaa'
    assert_line --index 1 'aabb'
}

# stale_read FILE CMD...: open FILE (holding "old-data"), read it so the kernel
# caches it, run CMD, then read again through the same descriptor.
stale_read() {
    "$PY" - "$@" <<'PYEOF'
import os, subprocess, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
assert os.pread(fd, 64, 0) == b"old-data\n"
subprocess.run(sys.argv[2:], check=True, stdout=subprocess.DEVNULL)
try:
    print("read", os.pread(fd, 64, 0))
except OSError as e:
    print("error", e.strerror)
PYEOF
}

@test "a deleted volume's file open with cached pages reads no old data" {
    pv_create vol 1Gi
    echo old-data >"$MNT/pv/vol/file"
    run stale_read "$MNT/pv/vol/file" "$VOLFS_BIN/volctl" --state "$STATE" delete pv vol
    assert_success
    assert_output 'error Stale file handle'
}

@test "a local-path volume torn down while a file of it is open reads no old data" {
    local P=$MNT/local-path
    ln -s $((16 * MiB)) "$P/.volfs-size.d1"
    mkdir "$P/d1"
    echo old-data >"$P/d1/file"
    run stale_read "$P/d1/file" mv "$P/d1" "$P/.volfs-trash.d1"
    assert_success
    assert_output 'error Stale file handle'
}

@test "an O_DIRECT write is seen at once by a buffered reader and a mapping that cached the file" {
    pv_create vol 1Gi
    head -c $((1024 * 1024)) /dev/zero | tr '\0' a >"$MNT/pv/vol/f"
    run "$PY" - "$MNT/pv/vol/f" <<'PYEOF'
import mmap, os, sys
r = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(r, 1 << 20, prot=mmap.PROT_READ)
assert os.pread(r, 4, 8192) == b"aaaa" and m[8192:8196] == b"aaaa"
d = os.open(sys.argv[1], os.O_WRONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 4096)  # page-aligned, as O_DIRECT wants
buf.write(b"b" * 4096)
assert os.pwritev(d, [buf], 8192) == 4096
print(os.pread(r, 4, 8192).decode(), m[8192:8196].decode(), os.pread(r, 4, 4096).decode())
PYEOF
    assert_success
    assert_output 'bbbb bbbb aaaa'
}

@test "a write-only descriptor: one WRITE per write(2), no GETXATTR, and other descriptors' cached pages follow it" {
    pv_create vol 1Gi
    local f=$MNT/pv/vol/f
    head -c $((1024 * 1024)) /dev/zero | tr '\0' a >"$f"
    local writes0 getxattrs0
    writes0=$(fuse_requests write)
    getxattrs0=$(fuse_requests getxattr)
    # 100 writes of 10 KiB at offsets inside pages, as tar writes
    run "$PY" - "$f" <<'PYEOF'
import mmap, os, sys
r = os.open(sys.argv[1], os.O_RDONLY)
m = mmap.mmap(r, 1 << 20, prot=mmap.PROT_READ)
assert os.pread(r, 4, 10240) == b"aaaa" and m[10240:10244] == b"aaaa"
w = os.open(sys.argv[1], os.O_WRONLY)
for i in range(100):
    assert os.pwrite(w, b"b" * 10240, 2048 + i * 10240) == 10240
print(os.pread(r, 4, 10240).decode(), m[10240:10244].decode(), os.pread(r, 4, 1024).decode())
PYEOF
    assert_success
    assert_output 'bbbb bbbb aaaa'
    [ $(($(fuse_requests write) - writes0)) -eq 100 ]
    [ $(($(fuse_requests getxattr) - getxattrs0)) -eq 0 ]
}
