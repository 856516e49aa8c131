#!/usr/bin/env bats
# The metadata path: the kernel caches tree attributes, names and missing
# names for a day (every change to a volume goes through the daemon), and
# volfs invalidates what it changes behind the kernel's back; namespace
# changes reach meta.db in group commits, always before fsyncdir returns.

# shellcheck disable=SC2154 # STATE, MNT, PY ... come from helpers.bash
load helpers

@test "a volume deleted and created again under its name is seen empty at once, through cached paths" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    echo old >"$v/file"
    mkdir "$v/dir"
    # the kernel now caches /pv/vol, its names and their attributes
    stat "$v/file" "$v/dir" >/dev/null
    volctl delete pv vol >/dev/null
    run stat "$v/file"
    assert_failure
    assert_output --partial 'No such file or directory'
    pv_create vol 1Gi
    run ls -A "$v"
    assert_success
    assert_output ''
    run cat "$v/file"
    assert_failure
    echo new >"$v/file"
    run cat "$v/file"
    assert_output new
}

@test "a recycled volume's files are gone at once, names the kernel cached included" {
    volctl apply -f "$BATS_TEST_DIRNAME/../manifests/recycle.yaml" >/dev/null
    local v=$MNT/pv/recycled
    mkdir "$v/sub"
    echo old >"$v/sub/file"
    [ "$(cat "$v/sub/file")" = old ]
    volctl delete pvc user >/dev/null
    run stat "$v/sub/file"
    assert_failure
    run ls -A "$v"
    assert_output ''
}

@test "a name looked up while missing is found once created, renamed or linked there" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    # each stat below caches a negative entry first
    run stat "$v/new"
    assert_failure
    touch "$v/new"
    stat "$v/new" >/dev/null
    run stat "$v/d/x"
    assert_failure
    mkdir "$v/d"
    echo x >"$v/d/x"
    [ "$(cat "$v/d/x")" = x ]
    run stat "$v/renamed"
    assert_failure
    mv "$v/new" "$v/renamed"
    stat "$v/renamed" >/dev/null
    run stat "$v/new"
    assert_failure
    run stat "$v/hard"
    assert_failure
    ln "$v/renamed" "$v/hard"
    [ "$(stat -c %i "$v/hard")" = "$(stat -c %i "$v/renamed")" ]
    run stat "$v/sym"
    assert_failure
    ln -s d/x "$v/sym"
    [ "$(cat "$v/sym")" = x ]
    # and a name removed is missing at once
    rm "$v/d/x"
    run stat "$v/d/x"
    assert_failure
    rmdir "$v/d"
    run stat "$v/d"
    assert_failure
}

@test "attributes changed through one name are seen at once through another" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    echo 12345 >"$v/a"
    ln "$v/a" "$v/b"
    stat "$v/a" "$v/b" >/dev/null
    chmod 0600 "$v/a"
    [ "$(stat -c %a "$v/b")" = 600 ]
    printf '%s' 0123456789 >>"$v/a"
    [ "$(stat -c %s "$v/b")" = 16 ]
    touch -m -d '2001-02-03 04:05:06 UTC' "$v/b"
    [ "$(stat -c %Y "$v/a")" = "$(date -d '2001-02-03 04:05:06 UTC' +%s)" ]
    [ "$(stat -c %h "$v/a")" = 2 ]
    rm "$v/b"
    [ "$(stat -c %h "$v/a")" = 1 ]
    truncate -s 3 "$v/a"
    [ "$(cat "$v/a")" = 123 ]
}

@test "the same name seen by a second user: attributes, creates and removals at once" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    mkdir -m 0777 "$v/shared"
    run as_nobody "stat -c %a '$v/shared/f'"
    assert_failure
    echo hi >"$v/shared/f"
    chmod 0640 "$v/shared/f"
    run as_nobody "stat -c %a '$v/shared/f'"
    assert_output 640
    run as_nobody "cat '$v/shared/f'"
    assert_failure
    chmod 0644 "$v/shared/f"
    run as_nobody "cat '$v/shared/f'"
    assert_output hi
    rm "$v/shared/f"
    run as_nobody "stat '$v/shared/f'"
    assert_failure
}

@test "a directory listing the kernel caches follows every change, for an open handle too" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    mkdir "$v/d"
    touch "$v/d/a" "$v/d/b"
    run ls "$v/d"
    assert_output "$(printf 'a\nb')"
    touch "$v/d/c"
    run ls "$v/d"
    assert_output "$(printf 'a\nb\nc')"
    rm "$v/d/a"
    mv "$v/d/b" "$v/d/z"
    mkdir "$v/d/sub"
    ln -s c "$v/d/l"
    ln "$v/d/c" "$v/d/hard"
    run ls "$v/d"
    assert_output "$(printf 'c\nhard\nl\nsub\nz')"
    rmdir "$v/d/sub"
    run ls "$v/d"
    assert_output "$(printf 'c\nhard\nl\nz')"
    run "$PY" - "$v/d" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
before = sorted(os.listdir(fd))
open(sys.argv[1] + "/new", "w").close()
os.unlink(sys.argv[1] + "/c")
after = sorted(os.listdir(fd))
print(before, after)
PYEOF
    assert_output "['c', 'hard', 'l', 'z'] ['hard', 'l', 'new', 'z']"
}

@test "a directory emptied while it is read (rm -r) lists each entry once, the cached listing too" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    mkdir "$v/big"
    # more entries than one READDIR reply holds; the first listing fills
    # the kernel's cache, then every unlink drops it mid-stream and the
    # kernel goes on from its position (the dentry id) in the daemon
    run "$PY" - "$v/big" <<'PYEOF'
import os, sys
d = sys.argv[1]
for i in range(3000):
    open(f"{d}/f{i}", "w").close()
assert len(os.listdir(d)) == 3000
seen = []
with os.scandir(d) as it:
    for e in it:
        seen.append(e.name)
        os.unlink(f"{d}/{e.name}")
        if len(seen) == 1500:
            for i in range(5):
                open(f"{d}/new{i}", "w").close()
print(len(seen), len(set(seen)), sorted(set(f"f{i}" for i in range(3000)) - set(seen)),
      sorted(n for n in os.listdir(d) if not n.startswith("new")))
PYEOF
    assert_success
    assert_output --regexp '^30[0-9][0-9] 30[0-9][0-9] \[\] \[\]$'
    read -r n uniq _ <<<"$output"
    [ "$n" = "$uniq" ]
    rm -r "$v/big"
    [ ! -e "$v/big" ]
}

@test "a write by another user drops set-user-ID and security.capability, seen through cached attributes" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    echo x >"$v/suid"
    chmod 4777 "$v/suid"
    [ "$(stat -c %A "$v/suid")" = -rwsrwxrwx ]
    as_nobody "echo more >> '$v/suid'"
    [ "$(stat -c %A "$v/suid")" = -rwxrwxrwx ]
    echo 3 >/proc/sys/vm/drop_caches
    [ "$(stat -c %A "$v/suid")" = -rwxrwxrwx ]
    # the kernel asks for security.capability before each write and removes
    # it; the daemon answers that question from the inode's has-xattrs flag
    echo x >"$v/cap"
    chmod 0777 "$v/cap"
    cap=0x0100000200000000000000000000000000000000
    setfattr -n security.capability -v "$cap" "$v/cap"
    run getfattr -e hex -n security.capability "$v/cap"
    assert_output --partial "security.capability=$cap"
    echo more >>"$v/cap"
    run getfattr -n security.capability "$v/cap"
    assert_failure
    echo 3 >/proc/sys/vm/drop_caches
    run getfattr -n security.capability "$v/cap"
    assert_failure
    [ "$(cat "$v/cap")" = "$(printf 'x\nmore')" ]
}

@test "a read-only claim view, cached only briefly, follows changes made through the volume" {
    local pv
    pv=$(shared_claim_with_reader)
    local v=$MNT/pv/$pv ro=$MNT/pods/default/reader/data
    mkdir "$v/d"
    echo 1 >"$v/d/a"
    run ls "$ro/d"
    assert_output a
    [ "$(stat -c %s "$ro/d/a")" = 2 ]
    echo 12345 >"$v/d/a"
    touch "$v/d/b"
    sleep 1.1 # the alias's names and attributes live 1 s; its listings are not kept
    run ls "$ro/d"
    assert_output "$(printf 'a\nb')"
    [ "$(stat -c %s "$ro/d/a")" = 6 ]
    [ "$(cat "$ro/d/a")" = 12345 ]
}

@test "kill -9: every create fsyncdir'd is there, and so is a group committed without fsync" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    run "$PY" - "$v" <<'PYEOF'
import os, sys, time
v = sys.argv[1]
def fsync_dir(p):
    fd = os.open(p, os.O_RDONLY | os.O_DIRECTORY); os.fsync(fd); os.close(fd)
os.mkdir(v + "/synced")
for i in range(500):
    os.close(os.open("%s/synced/f%03d" % (v, i), os.O_CREAT | os.O_WRONLY, 0o640))
os.mkdir(v + "/synced/sub")
for i in range(0, 500, 5):
    os.unlink("%s/synced/f%03d" % (v, i))
fsync_dir(v + "/synced")
fsync_dir(v)
# no fsync: the once-a-second group commit makes these durable against kill -9
os.mkdir(v + "/grouped")
for i in range(100):
    os.close(os.open("%s/grouped/g%03d" % (v, i), os.O_CREAT | os.O_WRONLY, 0o600))
time.sleep(2.5)
print("done")
PYEOF
    assert_output done
    volfs_kill9
    integrity_check_copy
    volfs_launch
    run "$PY" - "$v" <<'PYEOF'
import os, stat, sys
v = sys.argv[1]
bad = []
names = set(os.listdir(v + "/synced"))
want = {"f%03d" % i for i in range(500) if i % 5} | {"sub"}
if names != want:
    bad.append("synced: missing %s, extra %s" % (sorted(want - names)[:5], sorted(names - want)[:5]))
if oct(os.stat(v + "/synced/f001").st_mode & 0o777) != oct(0o640): bad.append("mode of f001")
if os.stat(v + "/synced").st_nlink != 3: bad.append("nlink of synced: %d" % os.stat(v + "/synced").st_nlink)
g = sorted(os.listdir(v + "/grouped"))
if g != ["g%03d" % i for i in range(100)]: bad.append("grouped: %d names" % len(g))
print("\n".join(bad) or "ok")
PYEOF
    assert_output ok
    check_clean
}

# check_clean as in durability.bats
check_clean() {
    run volctl check
    assert_success
    run ctl '{"verb":"check"}'
    assert_success
    run "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])["problems"])' "$output"
    assert_output '[]'
}

integrity_check_copy() {
    mkdir -p "$VOLFS_TMP/dbcopy"
    rm -f "$VOLFS_TMP"/dbcopy/*
    cp "$STATE/meta.db" "$VOLFS_TMP/dbcopy/"
    [[ -f $STATE/meta.db-wal ]] && cp "$STATE/meta.db-wal" "$VOLFS_TMP/dbcopy/"
    run sqlite3 "$VOLFS_TMP/dbcopy/meta.db" 'PRAGMA integrity_check;'
    assert_success
    assert_output ok
}

@test "set-ID bits go as on ext4: writes (cached, direct, write-only), truncation and open(O_TRUNC) by another user, chown by root; root's writes keep them" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol f
    for f in cached direct wronly trunc otrunc chown root; do
        head -c 8192 /dev/zero >"$v/$f"
        chmod 6777 "$v/$f"
    done
    as_nobody "$PY -c \"import os; os.pwrite(os.open('$v/cached', os.O_RDWR), b'x', 5)\""
    as_nobody "dd if=/dev/zero of='$v/direct' bs=4096 count=1 oflag=direct conv=notrunc status=none"
    as_nobody "$PY -c \"import os; os.pwrite(os.open('$v/wronly', os.O_WRONLY), b'x', 5)\""
    as_nobody "truncate -s 100 '$v/trunc'"
    as_nobody "$PY -c \"import os; os.close(os.open('$v/otrunc', os.O_RDWR | os.O_TRUNC))\""
    chown nobody "$v/chown"
    "$PY" -c "import os; os.pwrite(os.open('$v/root', os.O_RDWR), b'x', 5)"
    # set-group-ID goes too: these files are group-executable
    for pass in cached dropped; do
        for f in cached direct wronly trunc otrunc chown; do
            [ "$(stat -c %A "$v/$f")" = -rwxrwxrwx ] || fail "$f ($pass): $(stat -c %A "$v/$f")"
        done
        [ "$(stat -c %A "$v/root")" = -rwsrwsrwx ]
        echo 3 >/proc/sys/vm/drop_caches
    done
}

@test "cached writes ask for security.capability once per file, and still drop one set later" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol getxattrs0
    getxattrs0=$(fuse_requests getxattr)
    run "$PY" - "$v/f" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o755)
for i in range(100):
    os.pwrite(fd, b"x" * 4096, i * 4096)
    os.fdatasync(fd)
cap = bytes.fromhex("0100000200000000000000000000000000000000")
os.setxattr(sys.argv[1], "security.capability", cap)
os.pwrite(fd, b"y", 0)
try:
    os.getxattr(sys.argv[1], "security.capability")
    print("capability kept")
except OSError:
    print("capability dropped")
PYEOF
    assert_success
    assert_output 'capability dropped'
    # the first write's, the setxattr's and the write after it, the test's
    # own: a handful, not one per write (101 before the daemon killed
    # privileges itself)
    [ $(($(fuse_requests getxattr) - getxattrs0)) -le 6 ] || fail "$(($(fuse_requests getxattr) - getxattrs0)) GETXATTRs"
}

@test "a file extended as PostgreSQL does (lseek SEEK_END, then a write) asks for security.capability once, not per extension" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol getxattrs0 getattrs0
    getxattrs0=$(fuse_requests getxattr)
    getattrs0=$(fuse_requests getattr)
    # each lseek(SEEK_END) after a write needs a GETATTR (the kernel marks
    # the size stale after every write it sends); the attributes that reply
    # brings must not make the next write ask for security.capability
    run "$PY" - "$v/rel" "$v/rel" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
other = os.open(sys.argv[2], os.O_RDWR)
for i in range(200):
    end = os.lseek(fd, 0, os.SEEK_END)
    assert end == i * 8192, (i, end)
    os.pwrite(fd, b"\0" * 8192, end)
    if i == 99:  # a truncation through another descriptor is seen at once
        os.ftruncate(other, 50 * 8192)
        assert os.lseek(fd, 0, os.SEEK_END) == 50 * 8192
        os.ftruncate(other, 100 * 8192)
assert os.fstat(fd).st_size == 200 * 8192
print("ok")
PYEOF
    assert_success
    assert_output ok
    local getxattrs=$(($(fuse_requests getxattr) - getxattrs0)) getattrs=$(($(fuse_requests getattr) - getattrs0))
    # the first write's question, not 200 (one per extension before)
    [ "$getxattrs" -le 3 ] || fail "$getxattrs GETXATTRs"
    [ "$getattrs" -ge 200 ] && [ "$getattrs" -le 215 ] || fail "$getattrs GETATTRs"
    [ "$(stat -c %s "$v/rel")" = $((200 * 8192)) ]
    echo 3 >/proc/sys/vm/drop_caches
    [ "$(stat -c %s "$v/rel")" = $((200 * 8192)) ]
}

@test "a page overwritten in the middle of a file, then lseek(SEEK_END) several times (PostgreSQL's page writes), costs one GETATTR and one GETXATTR, not more" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol getxattrs0 getattrs0
    "$PY" - "$v/rel" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
for i in range(64):
    os.pwrite(fd, b"\0" * 8192, i * 8192)
os.fsync(fd)
PYEOF
    getxattrs0=$(fuse_requests getxattr)
    getattrs0=$(fuse_requests getattr)
    # after an overwrite the kernel's size is marked stale: the first lseek
    # asks; the daemon lets the kernel take that reply (fs/vfs/kview.c), so
    # the next two are answered from the kernel's attributes, and only the
    # next write asks for security.capability again. Dropping the reply
    # would cost the second lseek a GETATTR, and the third.
    run "$PY" - "$v/rel" <<'PYEOF'
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for i in range(100):
    os.pwrite(fd, b"x" * 8192, (i * 7 % 64) * 8192)
    for _ in range(3):
        assert os.lseek(fd, 0, os.SEEK_END) == 64 * 8192
print("ok")
PYEOF
    assert_success
    assert_output ok
    local getxattrs=$(($(fuse_requests getxattr) - getxattrs0)) getattrs=$(($(fuse_requests getattr) - getattrs0))
    [ "$getattrs" -ge 100 ] && [ "$getattrs" -le 110 ] || fail "$getattrs GETATTRs"
    [ "$getxattrs" -le 110 ] || fail "$getxattrs GETXATTRs"
    [ "$(stat -c %s "$v/rel")" = $((64 * 8192)) ]
}

@test "a file extended as PostgreSQL does still loses set-ID bits and a capability set later, and its attributes stay right" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    : >"$v/rel"
    chmod 0777 "$v/rel"
    # extensions by another user, with a set-ID bit and a capability set
    # between them: each must go at the next write
    cat >"$VOLFS_TMP/extend.py" <<'PYEOF'
import os, stat, sys
path, n = sys.argv[1], int(sys.argv[2])
fd = os.open(path, os.O_RDWR)
for i in range(n):
    end = os.lseek(fd, 0, os.SEEK_END)
    os.pwrite(fd, b"\0" * 8192, end)
print(os.lseek(fd, 0, os.SEEK_END), oct(stat.S_IMODE(os.fstat(fd).st_mode)))
PYEOF
    run as_nobody "$PY - $v/rel 20" <"$VOLFS_TMP/extend.py"
    assert_output "163840 0o777"
    chmod 6777 "$v/rel"
    run as_nobody "$PY - $v/rel 20" <"$VOLFS_TMP/extend.py"
    assert_output "327680 0o777"
    [ "$(stat -c %A "$v/rel")" = -rwxrwxrwx ]
    run "$PY" "$VOLFS_TMP/extend.py" "$v/rel" 20
    assert_output "491520 0o777"
    cap=0x0100000200000000000000000000000000000000
    setfattr -n security.capability -v "$cap" "$v/rel"
    run "$PY" "$VOLFS_TMP/extend.py" "$v/rel" 20
    assert_output "655360 0o777"
    run getfattr -n security.capability "$v/rel"
    assert_failure
    echo 3 >/proc/sys/vm/drop_caches
    [ "$(stat -c %A:%s "$v/rel")" = -rwxrwxrwx:655360 ]
}

# fuse_requests_since FILE: requests of each kind served since `volctl
# metrics` was saved to FILE, as "op count" lines.
fuse_requests_since() {
    volctl metrics | awk -v before="$1" '
        BEGIN { while ((getline l < before) > 0) { split(l, f, " "); was[f[1]] = f[2] } }
        /^volfs_fuse_requests_total/ { d = $2 - was[$1]; if (d > 0) { match($1, /op="[a-z_]+"/); print substr($1, RSTART + 4, RLENGTH - 5), d } }'
}

@test "a file unpacked as tar does costs one request per system call, and the directory's GETATTR" {
    pv_create vol 1Gi
    local v=$MNT/pv/vol
    mkdir "$v/x"
    volctl metrics >"$VOLFS_TMP/m0"
    # tar's calls for each regular file (strace of GNU tar -x)
    run "$PY" - "$v/x" <<'PYEOF'
import os, sys
d = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for i in range(50):
    fd = os.open("f%d" % i, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=d)
    os.write(fd, b"x" * 3584)
    os.write(fd, b"y" * 9416)
    os.utime(fd, ns=(0, 10**18))
    os.fchown(fd, 0, 0)
    os.fchmod(fd, 0o644)
    os.close(fd)
PYEOF
    assert_success
    fuse_requests_since "$VOLFS_TMP/m0" >"$VOLFS_TMP/counts"
    # per file: LOOKUP (the kernel's, before O_CREAT), CREATE, 2 WRITE,
    # 3 SETATTR, the GETXATTR of security.capability the kernel sends before
    # every chown, RELEASE; and a GETATTR of the directory, whose attributes
    # the previous create made stale (default_permissions checks its mode)
    local op want
    for op in lookup:50 create:50 write:100 setattr:150 getxattr:50 getattr:50 release:50; do
        want=${op#*:}
        run awk -v op="${op%:*}" '$1 == op { print $2 }' "$VOLFS_TMP/counts"
        [ "${output:-0}" -le $((want + 2)) ] || fail "${op%:*}: $output requests for 50 files ($(tr '\n' ' ' <"$VOLFS_TMP/counts"))"
    done
    run awk '$1 !~ /^(opendir|releasedir|lookup|create|write|setattr|getxattr|getattr|release|forget|forget_multi)$/' "$VOLFS_TMP/counts"
    assert_output ''
}

@test "unlinking a file the kernel knows costs the directory's GETATTR and the UNLINK, and gives its metadata bytes back" {
    pv_create vol 1Mi
    local v=$MNT/pv/vol i
    mkdir "$v/x"
    for i in $(seq 50); do echo "$i" >"$v/x/f$i"; done
    # one file with an xattr whose bytes count against the capacity, one
    # whose xattr went again, and a symlink
    setfattr -n user.big -v "$(head -c 60000 /dev/zero | tr '\0' a)" "$v/x/f1"
    setfattr -n user.gone -v 1 "$v/x/f2"
    setfattr -x user.gone "$v/x/f2"
    ln -s "$(head -c 3000 /dev/zero | tr '\0' b)" "$v/x/link"
    stat "$v"/x/f* "$v/x/link" >/dev/null
    volctl metrics >"$VOLFS_TMP/m0"
    "$PY" -c 'import os, sys
for i in range(1, 51): os.unlink("%s/f%d" % (sys.argv[1], i))
os.unlink(sys.argv[1] + "/link")' "$v/x"
    fuse_requests_since "$VOLFS_TMP/m0" >"$VOLFS_TMP/counts"
    run awk '$1 == "unlink" { print $2 }' "$VOLFS_TMP/counts"
    assert_output 51
    run awk '$1 == "getattr" { print $2 }' "$VOLFS_TMP/counts"
    [ "$output" -le 53 ] || fail "$output GETATTRs for 51 unlinks"
    run awk '$1 !~ /^(unlink|getattr|forget|forget_multi)$/' "$VOLFS_TMP/counts"
    assert_output ''
    # the inodes go once the kernel forgets them (FORGET has no reply, so
    # wait for it), and with them the xattr's and the target's bytes
    rmdir "$v/x"
    local used
    for i in $(seq 300); do
        used=$(df -B1 --output=used "$v" | tail -n 1)
        [ "$used" -lt 60000 ] && break
        sleep 0.1
    done
    [ "$used" -lt 60000 ] || fail "metadata bytes kept: $used bytes used"
}
