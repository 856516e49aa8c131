#!/usr/bin/env bats
# POSIX semantics inside a persistent volume.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 8Gi
    V=$MNT/pv/vol
}

# renameat2 SRC DST FLAGS: prints "ok" or the errno name (EEXIST, ...).
renameat2() {
    "$PY" - "$@" <<'PYEOF'
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
flags = {"0": 0, "NOREPLACE": 1, "EXCHANGE": 2}[sys.argv[3]]
AT_FDCWD = -100
r = libc.renameat2(AT_FDCWD, sys.argv[1].encode(), AT_FDCWD, sys.argv[2].encode(), flags)
print("ok" if r == 0 else errno.errorcode[ctypes.get_errno()])
PYEOF
}

@test "regular files: create, write, append, overwrite, read, unlink" {
    printf 'hello' >"$V/f"
    printf ' world\n' >>"$V/f"
    run cat "$V/f"
    assert_output 'hello world'
    printf 'J' | dd of="$V/f" bs=1 seek=6 conv=notrunc status=none
    run cat "$V/f"
    assert_output 'hello Jorld'
    run stat -c %s "$V/f"
    assert_output 12
    head -c 1000000 /dev/urandom >"$VOLFS_TMP/big"
    cp "$VOLFS_TMP/big" "$V/big"
    cmp "$VOLFS_TMP/big" "$V/big"
    rm "$V/f"
    [ ! -e "$V/f" ]
    run cat "$V/f"
    assert_failure
    assert_output --partial 'No such file or directory'
}

@test "O_EXCL on an existing file fails; an unlinked open file stays usable" {
    echo x >"$V/f"
    run "$PY" -c 'import os,sys; os.open(sys.argv[1], os.O_CREAT|os.O_EXCL|os.O_WRONLY)' "$V/f"
    assert_failure
    assert_output --partial FileExistsError
    run "$PY" - "$V/orphan" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.write(fd, b"before unlink")
os.unlink(sys.argv[1])
assert not os.path.exists(sys.argv[1])
os.write(fd, b", after")
os.fsync(fd)
print(os.pread(fd, 100, 0).decode())
os.close(fd)
PYEOF
    assert_success
    assert_output 'before unlink, after'
    run ls -A "$V"
    assert_output f
}

@test "directories: mkdir, readdir, rmdir of empty and non-empty" {
    mkdir -p "$V/a/b/c"
    touch "$V/a/one" "$V/a/two"
    run ls "$V/a"
    assert_output "$(printf 'b\none\ntwo')"
    [ -d "$V/a/b/c" ]
    run rmdir "$V/a/b"
    assert_failure
    assert_output --partial 'Directory not empty'
    rmdir "$V/a/b/c"
    rmdir "$V/a/b"
    [ ! -e "$V/a/b" ]
    run mkdir "$V/a"
    assert_failure
    assert_output --partial 'File exists'
    run rm "$V/a"
    assert_failure
}

@test "symlinks: readlink, follow, dangling, long target" {
    echo target-data >"$V/target"
    ln -s target "$V/link"
    run readlink "$V/link"
    assert_output target
    run cat "$V/link"
    assert_output target-data
    run stat -c %F "$V/link"
    assert_output 'symbolic link'
    run stat -L -c %F "$V/link"
    assert_output 'regular file'
    ln -s does-not-exist "$V/dangling"
    run cat "$V/dangling"
    assert_failure
    [ -L "$V/dangling" ]
    local long
    long=$(printf 'x%.0s' {1..1000})
    ln -s "$long" "$V/longlink"
    [ "$(readlink "$V/longlink")" = "$long" ]
    run stat -c %s "$V/longlink"
    assert_output 1000
}

@test "hard links: shared inode, nlink counts, survive unlink of the original" {
    echo one >"$V/a"
    ln "$V/a" "$V/b"
    mkdir "$V/d"
    ln "$V/a" "$V/d/c"
    run stat -c %h "$V/a"
    assert_output 3
    [ "$(stat -c %i "$V/a")" = "$(stat -c %i "$V/b")" ]
    echo two >>"$V/b"
    run cat "$V/d/c"
    assert_output "$(printf 'one\ntwo')"
    rm "$V/a"
    run stat -c %h "$V/b"
    assert_output 2
    rm "$V/d/c"
    run stat -c %h "$V/b"
    assert_output 1
    run cat "$V/b"
    assert_output "$(printf 'one\ntwo')"
    run ln "$V/d" "$V/dirlink"
    assert_failure
}

@test "rename: plain, replace, across directories, directories" {
    echo a >"$V/a"
    echo b >"$V/b"
    mkdir "$V/d1" "$V/d2"
    mv "$V/a" "$V/a2"
    [ ! -e "$V/a" ]
    run cat "$V/a2"
    assert_output a
    mv -f "$V/a2" "$V/b"
    run cat "$V/b"
    assert_output a
    mv "$V/b" "$V/d1/b"
    run cat "$V/d1/b"
    assert_output a
    mv "$V/d1" "$V/d2/d1"
    run cat "$V/d2/d1/b"
    assert_output a
    # a directory may replace an empty directory, not a non-empty one
    mkdir "$V/empty" "$V/full"
    touch "$V/full/x"
    run "$PY" -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$V/d2" "$V/full"
    assert_failure
    assert_output --partial 'Directory not empty'
    "$PY" -c 'import os,sys; os.rename(sys.argv[1], sys.argv[2])' "$V/d2" "$V/empty"
    run cat "$V/empty/d1/b"
    assert_output a
}

@test "renameat2 RENAME_NOREPLACE" {
    echo a >"$V/a"
    echo b >"$V/b"
    run renameat2 "$V/a" "$V/b" NOREPLACE
    assert_output EEXIST
    run cat "$V/a" "$V/b"
    assert_output "$(printf 'a\nb')"
    run renameat2 "$V/a" "$V/c" NOREPLACE
    assert_output ok
    [ ! -e "$V/a" ]
    run cat "$V/c"
    assert_output a
}

@test "renameat2 RENAME_EXCHANGE swaps files, and a file with a directory" {
    echo a >"$V/a"
    echo b >"$V/b"
    run renameat2 "$V/a" "$V/b" EXCHANGE
    assert_output ok
    run cat "$V/a"
    assert_output b
    run cat "$V/b"
    assert_output a
    mkdir "$V/d"
    touch "$V/d/inside"
    run renameat2 "$V/a" "$V/d" EXCHANGE
    assert_output ok
    [ -f "$V/d" ]
    [ -f "$V/a/inside" ]
    run renameat2 "$V/a" "$V/missing" EXCHANGE
    assert_output ENOENT
}

@test "mkfifo and a unix socket" {
    mkfifo "$V/fifo"
    run stat -c %F "$V/fifo"
    assert_output fifo
    timeout 10 sh -c "echo through-the-fifo >'$V/fifo'" &
    volfs_track_pid $!
    run timeout 10 cat "$V/fifo"
    assert_output through-the-fifo
    "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$V/sock"
    [ -S "$V/sock" ]
    run stat -c %F "$V/sock"
    assert_output socket
    rm "$V/fifo" "$V/sock"
    run ls -A "$V"
    assert_output ''
}

@test "chmod, chown, utimens with nanoseconds" {
    touch "$V/f"
    chmod 0640 "$V/f"
    run stat -c %a "$V/f"
    assert_output 640
    chmod 4755 "$V/f"
    run stat -c %a "$V/f"
    assert_output 4755
    chown 1234:5678 "$V/f"
    run stat -c '%u %g' "$V/f"
    assert_output '1234 5678'
    touch -m -d '2001-02-03 04:05:06.123456789 UTC' "$V/f"
    touch -a -d '2002-03-04 05:06:07.987654321 UTC' "$V/f"
    run env TZ=UTC stat -c '%y|%x' "$V/f"
    assert_output '2001-02-03 04:05:06.123456789 +0000|2002-03-04 05:06:07.987654321 +0000'
    # ctime moves on chmod
    local c1
    c1=$(stat -c %Z "$V/f")
    sleep 1.1
    chmod 0600 "$V/f"
    [ "$(stat -c %Z "$V/f")" -gt "$c1" ]
    # mtime moves on write
    echo data >>"$V/f"
    [ "$(stat -c %Y "$V/f")" -gt "$(date -d '2001-02-04' +%s)" ]
}

@test "truncate: shrink, grow with zeros, to zero" {
    head -c 8192 /dev/zero | tr '\0' x >"$V/f"
    truncate -s 100 "$V/f"
    run stat -c %s "$V/f"
    assert_output 100
    truncate -s 8192 "$V/f"
    # bytes 100.. must read back as zeros, not the old x's
    run "$PY" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(len(d), d[:100]==b"x"*100, d[100:]==bytes(8092))' "$V/f"
    assert_output '8192 True True'
    truncate -s 0 "$V/f"
    run stat -c %s "$V/f"
    assert_output 0
    "$PY" -c 'import os,sys; fd=os.open(sys.argv[1],os.O_RDWR); os.ftruncate(fd, 12345); print(os.fstat(fd).st_size)' "$V/f"
    run stat -c %s "$V/f"
    assert_output 12345
}

@test "permissions are enforced for a non-root user" {
    volfs_stop
    volfs_launch -o allow_other
    mkdir "$V/root-only" "$V/nobodys"
    chmod 0700 "$V/root-only"
    chmod 0755 "$V"
    chown nobody:nogroup "$V/nobodys"
    echo secret >"$V/secret"
    chmod 0600 "$V/secret"
    echo public >"$V/public"
    chmod 0644 "$V/public"

    run as_nobody "cat '$V/public'"
    assert_success
    assert_output public
    run as_nobody "cat '$V/secret'"
    assert_failure
    assert_output --partial 'Permission denied'
    run as_nobody "echo x >>'$V/public'"
    assert_failure
    assert_output --partial 'Permission denied'
    run as_nobody "ls '$V/root-only'"
    assert_failure
    run as_nobody "touch '$V/new-in-root-dir'"
    assert_failure
    [ ! -e "$V/new-in-root-dir" ]
    run as_nobody "chmod 0777 '$V/public'"
    assert_failure
    assert_output --partial 'Operation not permitted'
    run stat -c %a "$V/public"
    assert_output 644

    run as_nobody "echo mine >'$V/nobodys/file' && chmod 0600 '$V/nobodys/file' && cat '$V/nobodys/file'"
    assert_success
    assert_output mine
    run stat -c '%U %G %a' "$V/nobodys/file"
    assert_output 'nobody nogroup 600'
    # root may still read it
    run cat "$V/nobodys/file"
    assert_output mine
}

@test "xattrs: set, get, list, replace, remove, XATTR_CREATE" {
    touch "$V/f"
    setfattr -n user.color -v blue "$V/f"
    run getfattr --absolute-names --only-values -n user.color "$V/f"
    assert_output blue
    setfattr -n user.color -v green "$V/f"
    setfattr -n user.other -v 1 "$V/f"
    run getfattr --absolute-names --only-values -n user.color "$V/f"
    assert_output green
    run getfattr -d --absolute-names "$V/f"
    assert_output --partial 'user.color="green"'
    assert_output --partial 'user.other="1"'
    setfattr -x user.other "$V/f"
    run getfattr --absolute-names -n user.other "$V/f"
    assert_failure
    assert_output --partial 'No such attribute'
    run "$PY" - "$V/f" <<'PYEOF'
import os, sys
p = sys.argv[1]
big = os.urandom(3000)
os.setxattr(p, "user.big", big)
assert os.getxattr(p, "user.big") == big, "big value differs"
try:
    os.setxattr(p, "user.color", b"red", os.XATTR_CREATE)
    print("XATTR_CREATE on existing succeeded")
except FileExistsError:
    pass
try:
    os.setxattr(p, "user.none", b"x", os.XATTR_REPLACE)
    print("XATTR_REPLACE on missing succeeded")
except OSError as e:
    assert e.errno == 61, e  # ENODATA
print(sorted(os.listxattr(p)))
PYEOF
    assert_success
    assert_output "['user.big', 'user.color']"
    mkdir "$V/d"
    setfattr -n user.on-dir -v yes "$V/d"
    run getfattr --absolute-names --only-values -n user.on-dir "$V/d"
    assert_output yes
}

@test "fallocate: allocate, --keep-size, --punch-hole, --zero-range" {
    fallocate -l 1MiB "$V/a"
    run stat -c %s "$V/a"
    assert_output "$MiB"
    [ "$(stat -c %b "$V/a")" -ge 2048 ] || fail "1 MiB allocated but st_blocks=$(stat -c %b "$V/a")"

    touch "$V/k"
    fallocate --keep-size -l 1MiB "$V/k"
    run stat -c %s "$V/k"
    assert_output 0
    [ "$(stat -c %b "$V/k")" -ge 2048 ] || fail "--keep-size allocated nothing: st_blocks=$(stat -c %b "$V/k")"

    head -c "$MiB" /dev/zero | tr '\0' '\377' >"$V/p"
    sync "$V/p"
    local before
    before=$(stat -c %b "$V/p")
    fallocate --punch-hole --offset 65536 --length 262144 "$V/p"
    run stat -c %s "$V/p"
    assert_output "$MiB"
    run "$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
print(d[:65536] == b"\xff"*65536, d[65536:327680] == bytes(262144), d[327680:] == b"\xff"*(1048576-327680))' "$V/p"
    assert_output 'True True True'
    [ "$(stat -c %b "$V/p")" -lt "$before" ] || fail "punch-hole freed nothing: st_blocks $before -> $(stat -c %b "$V/p")"

    head -c "$MiB" /dev/zero | tr '\0' '\377' >"$V/z"
    fallocate --zero-range --offset 4096 --length 8192 "$V/z"
    run stat -c %s "$V/z"
    assert_output "$MiB"
    run "$PY" -c '
import sys
d = open(sys.argv[1], "rb").read()
print(d[:4096] == b"\xff"*4096, d[4096:12288] == bytes(8192), d[12288:] == b"\xff"*(1048576-12288))' "$V/z"
    assert_output 'True True True'
    # zero-range past EOF with --keep-size leaves the size alone
    fallocate --zero-range --keep-size --offset "$MiB" --length 65536 "$V/z"
    run stat -c %s "$V/z"
    assert_output "$MiB"
}

# The fsx run once reported as losing the byte at offset 1 (README, Conformance):
# a file with a truncated tail, a punched and a zeroed range, then what fsx -k
# does before its first operation (its feature probes at EOF, and a
# copy_file_range of byte 0 onto byte 1 of the same file, which fsx leaves out
# of its model), then its first operation, a write past EOF leaving a hole.
# Byte 1 must take byte 0's value, as on ext4, and nothing else may change,
# before and after a remount.
@test "fsx -k probes on a punched, truncated file, then an extending write past a hole" {
    run "$PY" - "$V/f" "$VOLFS_TMP/expected" <<'PYEOF'
import os, random, subprocess, sys
path = sys.argv[1]
def fallocate(*args):
    subprocess.run(["fallocate", *args, path], check=True)
rnd = random.Random(13)
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
exp = bytearray(rnd.randbytes(0x16000))
os.pwrite(fd, exp, 0)
os.fsync(fd)
# the layout: a truncate into a block, a punched and a zeroed range
os.ftruncate(fd, 44763); del exp[44763:]
fallocate("--punch-hole", "-o", "4096", "-l", "9000"); exp[4096:13096] = bytes(9000)
fallocate("--zero-range", "-o", "20000", "-l", "5000"); exp[20000:25000] = bytes(5000)
exp[0:2] = b"\x00\xa8"
os.pwrite(fd, exp[0:2], 0)
# fsx's probes at EOF, each undone by a truncate back to the size
size = len(exp)
os.ftruncate(fd, size + 100000); os.ftruncate(fd, size)
for flags in ([], ["-n"], ["-p"], ["-z"]):
    fallocate(*flags, "-o", str(size), "-l", "1"); os.ftruncate(fd, size)
os.ftruncate(fd, 262144); os.ftruncate(fd, size)
assert os.copy_file_range(fd, fd, 1, 0, 1) == 1
exp[1] = exp[0]
# fsx's first operation: a write past a hole
data = rnd.randbytes(0x1cad)
os.pwrite(fd, data, 0x1345f)
exp += bytes(0x1345f - len(exp)) + data
os.close(fd)
open(sys.argv[2], "wb").write(exp)
got = open(path, "rb").read()
bad = [i for i in range(max(len(got), len(exp))) if got[i:i + 1] != exp[i:i + 1]]
print(len(got), len(exp), bad[:5])
PYEOF
    assert_success
    assert_output '86284 86284 []'
    volfs_stop
    volfs_launch
    sync
    echo 3 >/proc/sys/vm/drop_caches
    cmp "$V/f" "$VOLFS_TMP/expected" || fail "file changed across a remount"
}

@test "SEEK_DATA and SEEK_HOLE find the data and the holes" {
    run "$PY" - "$V/sparse" <<'PYEOF'
import errno, os, sys
M = 1 << 20
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"a" * 4096, 0)
os.pwrite(fd, b"b" * 4096, M)
os.ftruncate(fd, 2 * M)
os.fsync(fd)
out = [os.lseek(fd, 0, os.SEEK_DATA), os.lseek(fd, 0, os.SEEK_HOLE),
       os.lseek(fd, 8192, os.SEEK_DATA), os.lseek(fd, M, os.SEEK_HOLE)]
try:
    os.lseek(fd, M + 65536, os.SEEK_DATA)
    out.append("no-ENXIO")
except OSError as e:
    out.append(errno.errorcode[e.errno])
print(*out)
PYEOF
    assert_success
    # first hole after 4 KiB of data: at most 1 MiB away at any block size
    read -r d0 h0 d1 h1 last <<<"$output"
    [ "$d0" -eq 0 ] || fail "SEEK_DATA(0)=$d0"
    [ "$h0" -ge 4096 ] && [ "$h0" -le "$MiB" ] || fail "SEEK_HOLE(0)=$h0, want in [4096, 1MiB] (2MiB means no hole support)"
    [ "$d1" -eq "$MiB" ] || fail "SEEK_DATA(8192)=$d1, want 1048576"
    [ "$h1" -ge $((MiB + 4096)) ] && [ "$h1" -lt $((2 * MiB)) ] || fail "SEEK_HOLE(1MiB)=$h1"
    [ "$last" = ENXIO ] || fail "SEEK_DATA past the last data: $last"
}

@test "O_DIRECT reads and writes" {
    head -c $((8 * MiB)) /dev/urandom >"$VOLFS_TMP/src"
    dd if="$VOLFS_TMP/src" of="$V/direct" bs=1M oflag=direct status=none
    dd if="$V/direct" of="$VOLFS_TMP/back" bs=1M iflag=direct status=none
    cmp "$VOLFS_TMP/src" "$VOLFS_TMP/back"
    # a 4 KiB direct overwrite in the middle, read back buffered
    head -c 4096 /dev/urandom >"$VOLFS_TMP/blk"
    dd if="$VOLFS_TMP/blk" of="$V/direct" bs=4096 seek=5 oflag=direct conv=notrunc status=none
    dd if="$VOLFS_TMP/blk" of="$VOLFS_TMP/src" bs=4096 seek=5 conv=notrunc status=none
    cmp "$VOLFS_TMP/src" "$V/direct"
    run stat -c %s "$V/direct"
    assert_output $((8 * MiB))
}

@test "shared writable mmap is written back and coherent with read/write" {
    run "$PY" - "$V/mm" <<'PYEOF'
import mmap, os, sys
p = sys.argv[1]
fd = os.open(p, os.O_CREAT | os.O_RDWR, 0o644)
os.ftruncate(fd, 65536)
m = mmap.mmap(fd, 65536, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:5] = b"hello"
m[65531:65536] = b"world"
m.flush()
# write() after mmap is seen through the mapping
os.pwrite(fd, b"XYZ", 100)
assert m[100:103] == b"XYZ", m[100:103]
m.close()
os.close(fd)
with open(p, "rb") as f:
    d = f.read()
print(len(d), d[:5].decode(), d[-5:].decode(), d[100:103].decode())
PYEOF
    assert_success
    assert_output '65536 hello world XYZ'
    # and from a fresh open after the mapping is gone
    run "$PY" -c 'import sys; d=open(sys.argv[1],"rb").read(); print(d[:5].decode())' "$V/mm"
    assert_output hello
}

@test "fsync, fdatasync, syncfs and fsync of a directory succeed" {
    echo data >"$V/f"
    sync "$V/f"
    sync -d "$V/f"
    sync -f "$V/f"
    run "$PY" - "$V" <<'PYEOF'
import ctypes, os, sys
d = sys.argv[1]
fd = os.open(d + "/g", os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, b"x" * 10000)
os.fsync(fd)
os.fdatasync(fd)
libc = ctypes.CDLL(None, use_errno=True)
assert libc.syncfs(fd) == 0, ctypes.get_errno()
os.close(fd)
dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
os.fsync(dfd)
os.close(dfd)
print("synced")
PYEOF
    assert_success
    assert_output synced
}

@test "stat (statx) reports consistent sizes, blocks, inodes and types" {
    head -c 10000 /dev/urandom >"$V/f"
    mkdir "$V/d"
    run stat -c '%s %F %B' "$V/f"
    assert_output '10000 regular file 512'
    [ "$(stat -c %b "$V/f")" -ge 20 ] || fail "10000 bytes written but st_blocks=$(stat -c %b "$V/f")"
    [ "$(stat -c %o "$V/f")" -gt 0 ]
    [ "$(stat -c %i "$V/f")" != "$(stat -c %i "$V/d")" ]
    [ "$(stat -c %i "$V/f")" = "$(stat -c %i "$V/f")" ]
    run stat -c %F "$V/d"
    assert_output directory
    # statx and fstat agree
    run "$PY" -c '
import os, sys
a = os.stat(sys.argv[1]); fd = os.open(sys.argv[1], os.O_RDONLY); b = os.fstat(fd)
print(a.st_ino == b.st_ino, a.st_size == b.st_size, a.st_mtime_ns == b.st_mtime_ns)' "$V/f"
    assert_output 'True True True'
    [ "$(stat -c %i "$V/f")" = "$("$PY" -c 'import os,sys; print(os.stat(sys.argv[1]).st_ino)' "$V/f")" ]
}

@test "a sparse file larger than 4 GiB" {
    run "$PY" - "$V/huge" <<'PYEOF'
import os, sys
G = 1 << 30
fd = os.open(sys.argv[1], os.O_CREAT | os.O_RDWR, 0o644)
os.pwrite(fd, b"ACROSS4G", 4 * G - 3)     # straddles the 2^32 boundary
os.pwrite(fd, b"tail", 5 * G)
os.fsync(fd)
os.close(fd)
fd = os.open(sys.argv[1], os.O_RDONLY)
st = os.fstat(fd)
print(st.st_size, os.pread(fd, 8, 4 * G - 3).decode(), os.pread(fd, 4, 5 * G).decode(),
      os.pread(fd, 4096, 4 * G + 4096) == bytes(4096), os.pread(fd, 4096, 0) == bytes(4096),
      st.st_blocks * 512 < (1 << 20))
PYEOF
    assert_success
    assert_output "$((5 * GiB + 4)) ACROSS4G tail True True True"
}

@test "a directory with 100,000 entries" {
    mkdir "$V/many"
    # a budget of its own, so that a slow daemon fails with a rate, not a timeout
    run "$PY" - "$V/many" 150 <<'PYEOF'
import os, sys, time
d, budget = sys.argv[1], float(sys.argv[2])
t0 = time.monotonic()
for i in range(100000):
    os.close(os.open("%s/f%06d" % (d, i), os.O_CREAT | os.O_WRONLY, 0o644))
    if i % 1000 == 999 and time.monotonic() - t0 > budget:
        el = time.monotonic() - t0
        sys.exit("only %d of 100000 files created in %.0f s (%.2f ms per create)" % (i + 1, el, el * 1000 / (i + 1)))
print("created in %.1f s" % (time.monotonic() - t0))
PYEOF
    assert_success
    run sh -c "ls '$V/many' | wc -l"
    assert_output 100000
    run sh -c "ls -f '$V/many' | sort | uniq -d | wc -l"
    assert_output 0
    [ -f "$V/many/f054321" ]
    rm "$V/many/f054321"
    [ ! -e "$V/many/f054321" ]
    run sh -c "ls '$V/many' | wc -l"
    assert_output 99999
}
