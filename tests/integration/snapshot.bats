#!/usr/bin/env bats
# Copy-on-write snapshots, restore and clone: contents, read-only
# browsing, isolation, deletion in every order, consistency under a writer,
# cost in time and disk space, space accounting, crash safety, bad input,
# and the volctl verbs and their output.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 256Mi
    V=$MNT/pv/vol
}

# ---------------------------------------------------------------------------
# helpers

# manifest DIR: everything observable about the tree under DIR, one JSON
# line per entry in path order: type, mode, owner, size, blocks, mtime,
# link count, hard-link group (the first path of the entries sharing an
# inode), contents (sha256) or symlink target, and all xattrs. Equal
# manifests mean equal trees, byte for byte and attribute for attribute.
manifest() {
    "$PY" - "$1" <<'PYEOF'
import hashlib, json, os, stat, sys
root = sys.argv[1]
paths = ["."]
for d, dirs, files in os.walk(root):
    dirs.sort()
    for n in sorted(dirs + files):
        paths.append(os.path.relpath(os.path.join(d, n), root))
paths.sort()
st = {p: os.lstat(os.path.join(root, p)) for p in paths}
group = {}
for p in paths:
    if not stat.S_ISDIR(st[p].st_mode):
        group.setdefault(st[p].st_ino, p)
for p in paths:
    s, full = st[p], os.path.join(root, p)
    e = {"path": p, "mode": "%o" % s.st_mode, "uid": s.st_uid, "gid": s.st_gid,
         "mtime": s.st_mtime_ns}
    if stat.S_ISREG(s.st_mode):
        h = hashlib.sha256()
        with open(full, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        e.update(size=s.st_size, blocks=s.st_blocks, nlink=s.st_nlink,
                 link=group[s.st_ino], sha=h.hexdigest())
    elif stat.S_ISLNK(s.st_mode):
        e.update(target=os.readlink(full), link=group[s.st_ino])
    xattrs = {}
    for k in sorted(os.listxattr(full, follow_symlinks=False)):
        xattrs[k] = os.getxattr(full, k, follow_symlinks=False).hex()
    if xattrs:
        e["xattrs"] = xattrs
    print(json.dumps(e, sort_keys=True))
PYEOF
}

# same_tree DIR EXPECTED: DIR's manifest equals the saved one.
same_tree() {
    local got
    got=$(manifest "$1") || fail "manifest of $1 failed"
    if [[ $got != "$(cat "$2")" ]]; then
        fail "$1 differs from $2:
$(diff <(cat "$2") <(echo "$got") | head -n 20)"
    fi
}

# populate DIR: a small tree with everything a snapshot must keep: random
# data, an empty file, a sparse file with data far apart, nested
# directories, modes, ownership, timestamps, xattrs on files, directories
# and symlinks, relative, absolute and dangling symlinks, hard links.
populate() {
    local d=$1
    mkdir -p "$d/dir/sub/deeper" "$d/empty-dir"
    dd if=/dev/urandom of="$d/random" bs=1M count=3 status=none
    head -c 12345 /dev/urandom >"$d/dir/odd-size"
    : >"$d/empty"
    truncate -s 100M "$d/sparse"
    dd if=/dev/urandom of="$d/sparse" bs=64K count=1 seek=10 conv=notrunc status=none
    dd if=/dev/urandom of="$d/sparse" bs=4K count=3 seek=20000 conv=notrunc status=none
    echo "deep" >"$d/dir/sub/deeper/file"
    chmod 0640 "$d/random"
    chmod 4755 "$d/dir/odd-size"
    chmod 0700 "$d/dir/sub"
    chown 65534:65534 "$d/dir/sub/deeper/file"
    setfattr -n user.color -v blue "$d/random"
    setfattr -n user.bin -v 0x00ff10 "$d/dir/odd-size"
    setfattr -n user.empty "$d/empty"
    setfattr -n user.dir -v yes "$d/dir"
    ln -s random "$d/rel-link"
    ln -s /nonexistent/target "$d/dangling"
    ln -s ../random "$d/dir/up-link"
    ln "$d/random" "$d/dir/hard-link"
    ln "$d/empty" "$d/dir/sub/hard-empty"
    touch -h -d '2001-02-03 04:05:06.789' "$d/rel-link"
    touch -d '1999-12-31 23:59:59' "$d/dir/sub/deeper/file" "$d/dir/sub/deeper"
    sync -f "$d"
}

# mutate DIR: change everything populate made, in every way.
mutate() {
    local d=$1
    dd if=/dev/urandom of="$d/random" bs=4K count=1 seek=100 conv=notrunc,fsync status=none
    echo appended >>"$d/dir/odd-size"
    truncate -s 50M "$d/sparse"
    dd if=/dev/urandom of="$d/sparse" bs=4K count=1 seek=11 conv=notrunc status=none
    fallocate --punch-hole --offset 655360 --length 8192 "$d/sparse"
    echo new >"$d/empty"
    rm -rf "$d/dir/sub/deeper"
    mv "$d/rel-link" "$d/renamed-link"
    rm "$d/dir/hard-link"
    chmod 0600 "$d/dir/odd-size"
    chown 1:1 "$d/random"
    setfattr -n user.color -v red "$d/random"
    setfattr -x user.dir "$d/dir"
    rmdir "$d/empty-dir"
    mkdir "$d/new-dir"
    echo fresh >"$d/new-dir/fresh"
    touch -d '2020-01-01' "$d/dir"
    sync -f "$d"
}

# snap SOURCE-PV NAME [volctl args]: take a snapshot, checking it appears.
snap() {
    local src=$1 name=$2
    shift 2
    run --separate-stderr volctl snapshot "pv/$src" "$name" "$@"
    [ "$status" -eq 0 ] || fail "volctl snapshot pv/$src $name $*: $stderr"
}

# one_line_error: the last `run --separate-stderr` failed with one stderr line.
one_line_error() {
    [ "$status" -ne 0 ] || fail "exit status 0; stdout: $output"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    [[ ${stderr_lines[0]} == "volctl: error: "* ]] || fail "not a volctl error line: $stderr"
}

# data_du: bytes allocated by the host data files.
data_du() {
    sync
    du -s --block-size=1 "$STATE/data" | cut -f1
}

# vs_field NAME PYTHON-EXPR: a field of `volctl get vs NAME -o json`
# (the object is o).
vs_field() {
    volctl get vs "$1" -o json | "$PY" -c "import json,sys; o=json.load(sys.stdin); print($2)"
}

# df_field KIND NAME FIELD: a number from `volctl df -o json`.
df_field() {
    volctl df -o json | "$PY" -c '
import json, sys
kind, name, field = sys.argv[1:]
for it in json.load(sys.stdin)["items"]:
    if it["kind"] == kind and it["name"] == name:
        print(int(it[field]))
        break
else:
    sys.exit("no %s %s in df" % (kind, name))
' "$1" "$2" "$3"
}

# now_ms: wall clock in milliseconds.
now_ms() {
    echo $(($(date +%s%N) / 1000000))
}

# ---------------------------------------------------------------------------
# contents

@test "a snapshot is the volume at snapshot time, byte for byte and attribute for attribute" {
    populate "$V"
    manifest "$V" >"$VOLFS_TMP/before"
    cp -a "$V" "$VOLFS_TMP/ref"
    snap vol s1
    local S=$MNT/snapshots/default/s1
    [ -d "$S" ] || fail "$S is not a directory"
    same_tree "$S" "$VOLFS_TMP/before"
    mutate "$V"
    # the volume did change ...
    manifest "$V" >"$VOLFS_TMP/after"
    ! cmp -s "$VOLFS_TMP/before" "$VOLFS_TMP/after" || fail "mutate changed nothing"
    # ... and the snapshot did not
    same_tree "$S" "$VOLFS_TMP/before"
    diff -r --no-dereference "$VOLFS_TMP/ref" "$S"
    cmp "$VOLFS_TMP/ref/sparse" "$S/sparse"
    run getfattr --absolute-names -n user.color --only-values "$S/random"
    assert_output blue
    run stat -c '%a %u:%g %Y' "$S/dir/sub/deeper/file" "$S/dir/odd-size"
    assert_line --index 0 "644 65534:65534 $(stat -c %Y "$VOLFS_TMP/ref/dir/sub/deeper/file")"
    assert_line --index 1 "4755 0:0 $(stat -c %Y "$VOLFS_TMP/ref/dir/odd-size")"
    [ "$(stat -c %i "$S/random")" = "$(stat -c %i "$S/dir/hard-link")" ] || fail "hard link broken in snapshot"
    [ "$(readlink "$S/rel-link")" = random ]
    # the sparse file is still sparse in the snapshot
    [ "$(stat -c %b "$S/sparse")" -lt 2048 ] || fail "sparse file uses $(stat -c %b "$S/sparse") blocks"
    # a second snapshot sees the mutated volume, the first still the old one
    snap vol s2
    same_tree "$MNT/snapshots/default/s2" "$VOLFS_TMP/after"
    same_tree "$S" "$VOLFS_TMP/before"
    # and both survive a restart
    volfs_stop
    volfs_launch
    same_tree "$S" "$VOLFS_TMP/before"
    same_tree "$MNT/snapshots/default/s2" "$VOLFS_TMP/after"
}

@test "every write under MOUNT/snapshots fails with EROFS and changes nothing" {
    populate "$V"
    snap vol s1
    local S=$MNT/snapshots/default/s1
    manifest "$S" >"$VOLFS_TMP/before"
    "$PY" - "$S" "$MNT/snapshots" <<'PYEOF'
import errno, os, sys
S, top = sys.argv[1], sys.argv[2]
j = lambda *p: os.path.join(S, *p)
ops = {
    "create": lambda: os.open(j("new"), os.O_CREAT | os.O_WRONLY, 0o644),
    "create-excl": lambda: os.open(j("dir", "new"), os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644),
    "open-rdwr": lambda: os.open(j("random"), os.O_RDWR),
    "open-wronly": lambda: os.open(j("random"), os.O_WRONLY),
    "open-append": lambda: os.open(j("random"), os.O_WRONLY | os.O_APPEND),
    "open-trunc": lambda: os.open(j("random"), os.O_RDONLY | os.O_TRUNC),
    "truncate": lambda: os.truncate(j("random"), 0),
    "truncate-grow": lambda: os.truncate(j("empty"), 4096),
    "chmod": lambda: os.chmod(j("random"), 0o777),
    "chmod-dir": lambda: os.chmod(S, 0o777),
    "chown": lambda: os.chown(j("random"), 1, 1),
    "utime": lambda: os.utime(j("random"), (0, 0)),
    "unlink": lambda: os.unlink(j("random")),
    "unlink-link": lambda: os.unlink(j("rel-link")),
    "rmdir": lambda: os.rmdir(j("empty-dir")),
    "mkdir": lambda: os.mkdir(j("newdir")),
    "rename": lambda: os.rename(j("random"), j("moved")),
    "rename-over": lambda: os.rename(j("random"), j("empty")),
    "rename-out": lambda: os.rename(j("random"), os.path.join(S, "..", "..", "out")),
    "link": lambda: os.link(j("random"), j("another")),
    "symlink": lambda: os.symlink("x", j("sym")),
    "mknod-fifo": lambda: os.mkfifo(j("fifo")),
    "setxattr": lambda: os.setxattr(j("random"), "user.color", b"green"),
    "setxattr-new": lambda: os.setxattr(j("dir"), "user.new", b"1"),
    "removexattr": lambda: os.removexattr(j("random"), "user.color"),
    "setxattr-trusted-link": lambda: os.setxattr(j("rel-link"), "trusted.x", b"1", follow_symlinks=False),
    # the virtual directories above the snapshot are read-only too
    "mkdir-ns": lambda: os.mkdir(os.path.join(top, "default", "made-up")),
    "mkdir-top": lambda: os.mkdir(os.path.join(top, "made-up")),
    "rmdir-snap": lambda: os.rmdir(S),
    "rename-snap": lambda: os.rename(S, os.path.join(top, "default", "renamed")),
}
bad = []
for name, op in ops.items():
    try:
        r = op()
        if isinstance(r, int):
            os.close(r)
        bad.append("%s: succeeded" % name)
    except OSError as e:
        if e.errno != errno.EROFS:
            bad.append("%s: %s instead of EROFS" % (name, errno.errorcode.get(e.errno, e.errno)))
# fallocate and writes through an fd opened read-only
fd = os.open(j("random"), os.O_RDONLY)
for name, op in {"fallocate": lambda: os.posix_fallocate(fd, 0, 1 << 20),
                 "pwrite-rdonly-fd": lambda: os.pwrite(fd, b"x", 0)}.items():
    try:
        op()
        bad.append("%s: succeeded" % name)
    except OSError as e:
        if e.errno not in (errno.EROFS, errno.EBADF):
            bad.append("%s: %s" % (name, errno.errorcode.get(e.errno, e.errno)))
os.close(fd)
print("\n".join(bad))
sys.exit(1 if bad else 0)
PYEOF
    # shell tools see the same
    run touch "$S/x"
    assert_failure
    assert_output --partial 'Read-only file system'
    run setfattr -n user.k -v v "$S/random"
    assert_failure
    assert_output --partial 'Read-only file system'
    run rm -rf "$S/dir"
    assert_failure
    same_tree "$S" "$VOLFS_TMP/before"
    # the volume itself stays writable
    echo ok >"$V/still-writable"
}

@test "restore and clone make writable volumes equal to their origin" {
    volctl resize pv vol --capacity 16Mi >/dev/null
    populate "$V"
    manifest "$V" >"$VOLFS_TMP/m0"
    snap vol s1
    mutate "$V"
    manifest "$V" >"$VOLFS_TMP/m1"
    run --separate-stderr volctl restore s1 pv/restored
    assert_success
    assert_output "persistentvolume/restored restored from volumesnapshot default/s1"
    run --separate-stderr volctl clone pv/vol pv/cloned
    assert_success
    assert_output "persistentvolume/cloned cloned from persistentvolume/vol"
    same_tree "$MNT/pv/restored" "$VOLFS_TMP/m0"
    same_tree "$MNT/pv/cloned" "$VOLFS_TMP/m1"
    diff -r --no-dereference "$MNT/snapshots/default/s1" "$MNT/pv/restored"
    diff -r --no-dereference "$V" "$MNT/pv/cloned"
    # same capacity as the origin, reported as a normal volume
    [ "$(pv_df restored capacity)" -eq $((16 * MiB)) ]
    [ "$(pv_df cloned capacity)" -eq $((16 * MiB)) ]
    run volctl get pv restored -o json
    assert_success
    # writable, in every way
    local d
    for d in "$MNT/pv/restored" "$MNT/pv/cloned"; do
        dd if=/dev/urandom of="$d/random" bs=4K count=2 seek=3 conv=notrunc,fsync status=none
        echo more >>"$d/dir/odd-size"
        mkdir "$d/made" && echo x >"$d/made/x"
        setfattr -n user.w -v 1 "$d/sparse"
        rm "$d/sparse"
        truncate -s 0 "$d/random"
        mv "$d/dir" "$d/dir2"
    done
    # a restore with an explicit capacity, usable up to it
    run volctl restore vs/s1 pv/restored-big --capacity 32Mi
    assert_success
    [ "$(pv_df restored-big capacity)" -eq $((32 * MiB)) ]
    same_tree "$MNT/pv/restored-big" "$VOLFS_TMP/m0"
    dd if=/dev/zero of="$MNT/pv/restored-big/fill" bs=1M count=20 conv=fsync status=none
    run dd if=/dev/zero of="$MNT/pv/restored-big/fill2" bs=1M count=12 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
}

@test "writes to a clone or restore never change the origin, and the other way round" {
    dd if=/dev/urandom of="$V/big" bs=1M count=16 status=none
    mkdir "$V/d"
    for i in 1 2 3; do head -c $((i * 5000)) /dev/urandom >"$V/d/f$i"; done
    sync -f "$V"
    manifest "$V" >"$VOLFS_TMP/m0"
    snap vol s1
    volctl clone pv/vol pv/c >/dev/null
    volctl restore s1 pv/r >/dev/null
    local C=$MNT/pv/c R=$MNT/pv/r S=$MNT/snapshots/default/s1
    # write to the copies: the origin and the snapshot stay as they were
    dd if=/dev/urandom of="$C/big" bs=4K count=1 seek=7 conv=notrunc,fsync status=none
    dd if=/dev/urandom of="$R/big" bs=64K count=3 seek=100 conv=notrunc,fsync status=none
    truncate -s 1M "$C/d/f3"
    rm "$R/d/f1"
    echo new >"$C/new"
    setfattr -n user.c -v 1 "$C/d"
    same_tree "$V" "$VOLFS_TMP/m0"
    same_tree "$S" "$VOLFS_TMP/m0"
    manifest "$C" >"$VOLFS_TMP/mc"
    manifest "$R" >"$VOLFS_TMP/mr"
    ! cmp -s "$VOLFS_TMP/mc" "$VOLFS_TMP/m0" || fail "writes to the clone did not show"
    # write to the origin: the copies and the snapshot stay as they were
    dd if=/dev/urandom of="$V/big" bs=1M count=2 seek=1 conv=notrunc,fsync status=none
    rm -r "$V/d"
    echo x >"$V/new"
    same_tree "$S" "$VOLFS_TMP/m0"
    same_tree "$C" "$VOLFS_TMP/mc"
    same_tree "$R" "$VOLFS_TMP/mr"
    # clone and restore are independent of each other too
    dd if=/dev/urandom of="$R/big" bs=4K count=1 seek=7 conv=notrunc,fsync status=none
    same_tree "$C" "$VOLFS_TMP/mc"
    # a snapshot of a clone, and a clone of a restore
    snap c sc
    volctl clone pv/r pv/rc >/dev/null
    manifest "$R" >"$VOLFS_TMP/mr"
    same_tree "$MNT/snapshots/default/sc" "$VOLFS_TMP/mc"
    same_tree "$MNT/pv/rc" "$VOLFS_TMP/mr"
    echo y >>"$MNT/pv/rc/big"
    same_tree "$R" "$VOLFS_TMP/mr"
    run volctl check
    assert_success
}

# ---------------------------------------------------------------------------
# deletion in every order

# family: vol with data; snapshot s1 of it; clone c of it; restore r of s1;
# then each of vol, c and r is changed in its own way. Saves the expected
# manifest of each under $VOLFS_TMP/m-NAME.
family() {
    populate "$V"
    dd if=/dev/urandom of="$V/big" bs=1M count=16 conv=fsync status=none
    DU0=$(data_du)
    snap vol s1
    volctl clone pv/vol pv/c >/dev/null
    volctl restore s1 pv/r >/dev/null
    manifest "$MNT/snapshots/default/s1" >"$VOLFS_TMP/m-s1"
    mutate "$V"
    dd if=/dev/urandom of="$MNT/pv/c/big" bs=4K count=10 seek=5 conv=notrunc,fsync status=none
    rm "$MNT/pv/c/random"
    dd if=/dev/urandom of="$MNT/pv/r/big" bs=1M count=1 seek=3 conv=notrunc,fsync status=none
    echo r >"$MNT/pv/r/only-in-r"
    local n
    for n in vol c r; do manifest "$MNT/pv/$n" >"$VOLFS_TMP/m-$n"; done
}

# remove NAME: delete the pv or snapshot NAME and check every survivor.
declare -gA ALIVE
remove() {
    if [[ $1 == s1 ]]; then
        run volctl delete vs s1
        assert_success
        [ ! -e "$MNT/snapshots/default/s1" ] || fail "snapshot directory still there"
    else
        run volctl delete pv "$1"
        assert_success
        [ ! -e "$MNT/pv/$1" ] || fail "volume directory still there"
    fi
    unset "ALIVE[$1]"
    check_alive "after deleting $1"
}

check_alive() {
    local n
    for n in "${!ALIVE[@]}"; do
        if [[ $n == s1 ]]; then
            same_tree "$MNT/snapshots/default/s1" "$VOLFS_TMP/m-s1"
        else
            same_tree "$MNT/pv/$n" "$VOLFS_TMP/m-$n"
        fi
    done
}

# in_order A B C D: build the family, delete in that order, then check that
# all data is freed and the state is consistent.
in_order() {
    family
    ALIVE=([vol]=1 [s1]=1 [c]=1 [r]=1)
    local n s step=0 # not i: bats' run changes the caller's i
    for n in "$@"; do
        remove "$n"
        step=$((step + 1))
        if ((step == 2)); then # survivors survive a restart too
            volfs_stop
            volfs_launch
            check_alive "after restart"
        fi
        # the survivors stay writable
        for s in "${!ALIVE[@]}"; do
            [[ $s == s1 ]] && continue
            echo "$step" >>"$MNT/pv/$s/appended-$step"
            manifest "$MNT/pv/$s" >"$VOLFS_TMP/m-$s"
        done
    done
    wait_reclaimed
    run volctl check
    assert_success
    assert_output "no problems found"
    local du
    du=$(data_du)
    [ "$du" -le $((DU0 - 16 * MiB)) ] || fail "data still uses $du bytes after deleting everything (had $DU0 with the volume)"
}

@test "deletion order: origin first, then snapshot, clone, restore" {
    in_order vol s1 c r
}

@test "deletion order: snapshot first, then restore, origin, clone" {
    in_order s1 r vol c
}

@test "deletion order: clone first, then origin, restore, snapshot" {
    in_order c vol r s1
}

@test "deletion order: restore first, then snapshot, clone, origin" {
    in_order r s1 c vol
}

# ---------------------------------------------------------------------------
# consistency under a writer

@test "a snapshot taken while a writer runs is one instant: whole records, in order" {
    cat >"$VOLFS_TMP/writer.py" <<'PYEOF'
import hashlib, os, struct, sys, time
# Writes records seq = 0, 1, 2, ... round-robin into NFILES files; record
# seq goes to file seq % NFILES, replacing the whole file with one pwrite
# (files have fixed sizes, so the file is always exactly one record), then
# fsync, then "seq" is appended to the log. check DIR LOG-BEFORE LOG-AFTER
# verifies a snapshot against the logs read before and after it was taken.
NFILES = 8
def size(i): return (i + 1) * 16384          # 16 KiB .. 128 KiB
def record(seq, i):
    n = size(i)
    head = struct.pack("<8sQQ", b"RECORD01", seq, n)
    body = hashlib.sha256(b"%d" % seq).digest() * (n // 32)
    return (head + body)[: n - 16] + struct.pack("<QQ", seq, 0x5EA1ED)
if sys.argv[1] == "write":
    d, log, stop = sys.argv[2], sys.argv[3], sys.argv[4]
    fds = [os.open(os.path.join(d, "f%d" % i), os.O_CREAT | os.O_RDWR, 0o644) for i in range(NFILES)]
    out = open(log, "w", buffering=1)
    seq = 0
    while not os.path.exists(stop):
        i = seq % NFILES
        if os.pwrite(fds[i], record(seq, i), 0) != size(i):
            sys.exit("short write")
        os.fsync(fds[i])
        out.write("%d\n" % seq)
        seq += 1
    sys.exit(0)
# check
d, before, after = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
seqs = []
for i in range(NFILES):
    data = open(os.path.join(d, "f%d" % i), "rb").read()
    magic, seq, n = struct.unpack("<8sQQ", data[:24])
    if magic != b"RECORD01" or seq % NFILES != i or data != record(seq, i):
        sys.exit("f%d is not one complete record (header seq %d)" % (i, seq))
    seqs.append(seq)
top = max(seqs)
# every write acknowledged before the snapshot is in it
if top < before:
    sys.exit("snapshot misses record %d acknowledged before it (newest in it: %d)" % (before, top))
# nothing newer than what was in flight when the snapshot answered
if top > after + 1:
    sys.exit("snapshot holds record %d, written after it was taken (%d)" % (top, after))
# one instant: every file holds the newest record <= top that went to it
for i, s in enumerate(seqs):
    want = top - ((top - i) % NFILES)
    if want >= 0 and s != want:
        sys.exit("f%d holds record %d but record %d of the same file came before %d" % (i, s, want, top))
PYEOF
    mkdir "$V/w"
    "$PY" "$VOLFS_TMP/writer.py" write "$V/w" "$VOLFS_TMP/log" "$VOLFS_TMP/stop" 3>&- &
    local wpid=$!
    volfs_track_pid "$wpid"
    local k before=() after=() # not i: bats' run changes the caller's i
    for ((k = 0; k < 50; k++)); do
        [[ -s $VOLFS_TMP/log && $(wc -l <"$VOLFS_TMP/log") -ge 20 ]] && break
        sleep 0.1
    done
    [ "$(wc -l <"$VOLFS_TMP/log")" -ge 20 ] || fail "the writer did not get going"
    for k in $(seq 1 12); do
        before[k]=$(tail -n 1 "$VOLFS_TMP/log")
        snap vol "w$k"
        after[k]=$(tail -n 1 "$VOLFS_TMP/log")
        if ((k % 3 == 0)); then # clones too, under the same writer
            volctl clone pv/vol "pv/wc$k" >/dev/null || fail "clone under a writer failed"
        fi
        sleep 0.2
    done
    touch "$VOLFS_TMP/stop"
    wait "$wpid" || fail "the writer failed"
    [ "${after[12]}" -gt $((before[1] + 100)) ] || fail "the writer hardly ran during the snapshots (records ${before[1]} to ${after[12]})"
    for k in $(seq 1 12); do
        "$PY" "$VOLFS_TMP/writer.py" check "$MNT/snapshots/default/w$k/w" "${before[k]}" "${after[k]}" ||
            fail "snapshot w$k (taken between records ${before[k]} and ${after[k]}) is not one instant"
    done
    for k in 3 6 9 12; do
        "$PY" "$VOLFS_TMP/writer.py" check "$MNT/pv/wc$k/w" "${after[k]}" "$(tail -n 1 "$VOLFS_TMP/log")" ||
            fail "clone wc$k is not one instant"
    done
}

# ---------------------------------------------------------------------------
# cost

@test "snapshot time does not depend on data: 1 GiB and 1 MiB volumes both under 2 s" {
    pv_create big 2Gi
    pv_create small 64Mi
    fallocate -l 1G "$MNT/pv/big/file"
    dd if=/dev/urandom of="$MNT/pv/big/file" bs=1M count=64 conv=notrunc,fsync status=none
    dd if=/dev/urandom of="$MNT/pv/small/file" bs=1M count=1 conv=fsync status=none
    [ "$(pv_df big used)" -ge "$GiB" ] || fail "the big volume holds only $(pv_df big used) bytes"
    local du0 t0 t_big t_small
    du0=$(data_du)
    t0=$(now_ms)
    snap big sbig
    t_big=$(($(now_ms) - t0))
    t0=$(now_ms)
    snap small ssmall
    t_small=$(($(now_ms) - t0))
    echo "# snapshot of 1 GiB: ${t_big} ms, of 1 MiB: ${t_small} ms" >&3
    [ "$t_big" -lt 2000 ] || fail "snapshot of a 1 GiB volume took $t_big ms"
    [ "$t_small" -lt 2000 ] || fail "snapshot of a 1 MiB volume took $t_small ms"
    # no data was copied
    local grew=$(($(data_du) - du0))
    [ "$grew" -le "$MiB" ] || fail "taking the snapshots added $grew bytes of data"
    # restore and clone of the big one are as cheap
    t0=$(now_ms)
    volctl restore sbig pv/rbig >/dev/null
    volctl clone pv/big pv/cbig >/dev/null
    t0=$(($(now_ms) - t0))
    [ "$t0" -lt 4000 ] || fail "restore + clone of a 1 GiB volume took $t0 ms"
    grew=$(($(data_du) - du0))
    [ "$grew" -le "$MiB" ] || fail "snapshots, restore and clone added $grew bytes of data"
    # (comparing all of it takes 15 s under ASan: the data and a stretch of the rest)
    cmp -n $((64 * MiB)) "$MNT/pv/big/file" "$MNT/pv/cbig/file"
    cmp -n $((64 * MiB)) "$MNT/pv/big/file" "$MNT/pv/rbig/file"
    cmp -i $((900 * MiB)) -n $((4 * MiB)) "$MNT/pv/big/file" "$MNT/pv/rbig/file"
    [ "$(stat -c %s "$MNT/pv/rbig/file")" -eq "$GiB" ]
}

@test "a 4 KiB overwrite after a snapshot adds at most 64 KiB; deleting the snapshot frees what only it held" {
    pv_create big 2Gi
    local F=$MNT/pv/big/file
    truncate -s 1G "$F"
    dd if=/dev/urandom of="$F" bs=1M count=64 conv=notrunc,fsync status=none
    dd if=/dev/urandom of="$F" bs=1M count=16 seek=1000 conv=notrunc,fsync status=none
    local d0 d1 d2 d3 d4
    d0=$(data_du)
    snap big s1
    dd if=/dev/urandom of="$F" bs=4K count=1 seek=$((32 * 256 + 1)) conv=notrunc,fsync status=none
    d1=$(data_du)
    [ $((d1 - d0)) -le $((64 * KiB)) ] || fail "a 4 KiB overwrite added $((d1 - d0)) bytes"
    # also far into the file, and in ten more places
    local i
    for i in 0 1 2 3 4 5 6 7 8 9; do
        dd if=/dev/urandom of="$F" bs=4K count=1 seek=$((i * 1597 + 13)) conv=notrunc,fsync status=none
    done
    dd if=/dev/urandom of="$F" bs=4K count=1 seek=$((1005 * 256)) conv=notrunc,fsync status=none
    d2=$(data_du)
    [ $((d2 - d1)) -le $((11 * 64 * KiB)) ] || fail "11 more 4 KiB overwrites added $((d2 - d1)) bytes"
    # a large overwrite costs about its size, not the file's
    dd if=/dev/urandom of="$F" bs=1M count=16 seek=8 conv=notrunc,fsync status=none
    d3=$(data_du)
    [ $((d3 - d2)) -ge $((15 * MiB)) ] || fail "16 MiB overwritten after a snapshot added only $((d3 - d2)) bytes"
    [ $((d3 - d2)) -le $((17 * MiB)) ] || fail "16 MiB overwritten after a snapshot added $((d3 - d2)) bytes"
    # deleting the snapshot frees the old blocks only it held
    volctl delete vs s1 >/dev/null
    wait_reclaimed
    d4=$(data_du)
    [ "$d4" -le $((d0 + 256 * KiB)) ] || fail "after deleting the snapshot data uses $d4 bytes, $((d4 - d0)) more than before it"
    [ $((d3 - d4)) -ge $((15 * MiB)) ] || fail "deleting the snapshot freed only $((d3 - d4)) bytes"
    # the live file is intact: write again, read back
    dd if=/dev/urandom of="$VOLFS_TMP/blk" bs=4K count=1 status=none
    dd if="$VOLFS_TMP/blk" of="$F" bs=4K seek=77 conv=notrunc,fsync status=none
    cmp <(dd if="$F" bs=4K skip=77 count=1 status=none) "$VOLFS_TMP/blk"
}

# ---------------------------------------------------------------------------
# space accounting

@test "df shows snapshot bytes after overwrites, and 0 once the snapshot is gone" {
    dd if=/dev/urandom of="$V/a" bs=1M count=8 conv=fsync status=none
    dd if=/dev/urandom of="$V/b" bs=1M count=4 conv=fsync status=none
    [ "$(df_field PersistentVolume vol snapshotBytes)" -eq 0 ] || fail "snapshot bytes before any snapshot"
    snap vol s1
    [ "$(df_field PersistentVolume vol snapshotBytes)" -eq 0 ] || fail "a fresh snapshot holds $(df_field PersistentVolume vol snapshotBytes) bytes of its own"
    [ "$(vs_field s1 'o["status"]["volfs"]["exclusiveBytes"]')" -eq 0 ]
    local used0
    used0=$(pv_df vol used)
    dd if=/dev/urandom of="$V/a" bs=1M count=1 seek=2 conv=notrunc,fsync status=none
    local sb
    sb=$(df_field PersistentVolume vol snapshotBytes)
    [ "$sb" -ge "$MiB" ] && [ "$sb" -le $((MiB + 64 * KiB)) ] || fail "after overwriting 1 MiB, snapshot bytes are $sb"
    rm "$V/b"
    sync -f "$V"
    sb=$(df_field PersistentVolume vol snapshotBytes)
    [ "$sb" -ge $((5 * MiB)) ] && [ "$sb" -le $((5 * MiB + 128 * KiB)) ] || fail "after deleting a 4 MiB file, snapshot bytes are $sb"
    # the snapshot's own numbers agree
    [ "$(vs_field s1 'o["status"]["volfs"]["exclusiveBytes"]')" -eq "$sb" ]
    # live use is the live data only
    local used1
    used1=$(pv_df vol used)
    [ "$used1" -le $((used0 - 3 * MiB)) ] || fail "used went $used0 -> $used1 after deleting 4 MiB"
    # the table shows it in the SNAPSHOTS column
    run volctl df
    assert_success
    assert_line --regexp '^NAMESPACE +NAME +KIND +CAPACITY +USED +AVAILABLE +USE% +SNAPSHOTS$'
    assert_line --regexp "^- +vol +PersistentVolume +256Mi +[0-9.]+Mi +[0-9.]+Mi +[0-9]+% +5(\.[0-9])?Mi$"
    assert_line --regexp "^default +s1 +VolumeSnapshot +256Mi +12(\.[0-9])?Mi +- +[0-9]+% +-$"
    # describe shows the bytes held only by the snapshot
    run volctl describe vs s1
    assert_success
    assert_line --regexp '^Held Only Here: +5(\.[0-9])?Mi \(freed when this snapshot is deleted\)$'
    volctl delete vs s1 >/dev/null
    [ "$(df_field PersistentVolume vol snapshotBytes)" -eq 0 ] || fail "snapshot bytes after deleting the snapshot"
    run volctl df
    assert_line --regexp "^- +vol +PersistentVolume +256Mi .* 0$"
}

@test "df counts the blocks that several snapshots of a volume share, once" {
    dd if=/dev/urandom of="$V/a" bs=1M count=8 conv=fsync status=none
    snap vol s1
    snap vol s2
    # the old 2 MiB are now held by s1 and s2 together, by no live volume
    dd if=/dev/urandom of="$V/a" bs=1M count=2 seek=3 conv=notrunc,fsync status=none
    local sb
    sb=$(df_field PersistentVolume vol snapshotBytes)
    [ "$sb" -ge $((2 * MiB)) ] && [ "$sb" -le $((2 * MiB + 64 * KiB)) ] ||
        fail "2 MiB overwritten after two snapshots: df shows $sb snapshot bytes"
    # neither snapshot alone would free them
    [ "$(vs_field s1 'o["status"]["volfs"]["exclusiveBytes"]')" -eq 0 ]
    volctl delete vs s1 >/dev/null
    sb=$(df_field PersistentVolume vol snapshotBytes)
    [ "$sb" -ge $((2 * MiB)) ] || fail "with s2 left, df shows $sb snapshot bytes"
    [ "$(vs_field s2 'o["status"]["volfs"]["exclusiveBytes"]')" -ge $((2 * MiB)) ]
    volctl delete vs s2 >/dev/null
    [ "$(df_field PersistentVolume vol snapshotBytes)" -eq 0 ]
}

# write_blocks N: N files of one random 4 KiB block in the volume.
write_blocks() {
    "$PY" - "$V" "$1" <<'PYEOF'
import os, sys
for i in range(int(sys.argv[2])):
    with open(os.path.join(sys.argv[1], "f%04d" % i), "wb") as f:
        f.write(os.urandom(4096))
PYEOF
    sync -f "$V"
}

# files_under_200_snapshots N: N files of one 4 KiB block in vol, then 200
# snapshots of it (N x 200 rows in the snapshots' views).
files_under_200_snapshots() {
    write_blocks "$1"
    local i
    for i in $(seq 1 200); do snap vol "s$i"; done
}

# lock_metric NAME: one unlabelled metric of the daemon's db lock.
lock_metric() {
    volctl metrics | awk -v m="$1" '$1 == m { print $2; found = 1 } END { exit !found }'
}

@test "df with 200 snapshots of 2,000 files reads each row version once, a page per hold of the db lock, and a writer is not held up" {
    # 2,000 files of one block each, then 200 snapshots: 400,000 rows in
    # the snapshots' views, 2,001 row versions in the family
    files_under_200_snapshots 2000
    local i
    # 10 files rewritten: their old blocks are held by the snapshots only
    for i in $(seq 0 9); do
        dd if=/dev/urandom of="$V/f000$i" bs=4K count=1 conv=notrunc,fsync status=none
    done
    # Structural, not timed: the family's 2,011 row versions take at least
    # one hold of the lock per 256 read (the whole walk was one hold), and
    # far fewer than reading each snapshot's view would (400,000 rows, one
    # hold per 256).
    local h0 h1 sb
    h0=$(lock_metric volfs_db_lock_hold_seconds_count)
    sb=$(df_field PersistentVolume vol snapshotBytes)
    h1=$(lock_metric volfs_db_lock_hold_seconds_count)
    [ "$sb" -eq $((10 * 4 * KiB)) ] || fail "10 blocks rewritten under 200 snapshots: df shows $sb snapshot bytes"
    [ $((h1 - h0)) -ge $((2000 / 256)) ] || fail "df took the db lock $((h1 - h0)) times for 2,011 rows"
    [ $((h1 - h0)) -lt 200 ] || fail "df took the db lock $((h1 - h0)) times: it reads the snapshots' views one by one"
    [ "$(snapshot_bytes_metric vol)" = "$sb" ]
    # A writer that fsyncs all along while df and a scrape run: the
    # longest hold of the lock stays far below what one walk of all the
    # rows took (a very loose bound; it only catches the lock held
    # throughout).
    local before
    before=$(lock_metric volfs_db_lock_hold_max_seconds)
    (
        while [ ! -e "$VOLFS_TMP/stop" ]; do
            dd if=/dev/urandom of="$V/w" bs=4K count=4 conv=fsync status=none || exit 1
        done
    ) &
    local writer=$!
    volctl df >/dev/null
    snapshot_bytes_metric vol >/dev/null
    touch "$VOLFS_TMP/stop"
    wait "$writer"
    local after
    after=$(lock_metric volfs_db_lock_hold_max_seconds)
    awk -v a="$after" -v b="$before" 'BEGIN { exit !(a < 2 || a <= b) }' ||
        fail "the db lock was held for $after s at once during df (before: $before s)"
}

# rewrite_block I: overwrite file fI's block and fsync it.
rewrite_block() {
    dd if=/dev/urandom of="$V/$(printf 'f%04d' "$1")" bs=4K count=1 conv=notrunc,fsync status=none
}

# scrape_matches_df BYTES: a scrape shows df's figure, BYTES; its db lock
# holds go to $holds.
scrape_matches_df() {
    local h0 sb
    sb=$(df_field PersistentVolume vol snapshotBytes)
    [ "$sb" -eq "$1" ] || fail "df shows $sb snapshot bytes, want $1"
    h0=$(lock_metric volfs_db_lock_hold_seconds_count)
    volctl metrics >"$VOLFS_TMP/m.txt"
    holds=$(($(lock_metric volfs_db_lock_hold_seconds_count) - h0))
    grep -qx 'volfs_volume_snapshot_bytes{persistentvolume="vol"} '"$1" "$VOLFS_TMP/m.txt" ||
        fail "the scrape is not df's $1: $(grep '^volfs_volume_snapshot_bytes' "$VOLFS_TMP/m.txt")"
}

@test "metrics are exact at every scrape, reading the family's row versions once, not each snapshot's view" {
    # 1,000 files under 40 snapshots: 40,000 rows in the snapshots' views
    # (157 pages), about 1,000 row versions in the family (4 pages)
    write_blocks 1000
    local i holds
    for i in $(seq 1 40); do snap vol "s$i"; done
    rewrite_block 0
    scrape_matches_df $((4 * KiB))
    [ "$holds" -lt 40 ] || fail "the first scrape took the db lock $holds times"
    # the volume changes: each scrape is exact
    for i in 1 2 3; do
        rewrite_block "$i"
        scrape_matches_df $(((1 + i) * 4 * KiB))
        [ "$holds" -lt 40 ] || fail "a scrape took the db lock $holds times"
    done
    # a new snapshot, then one deleted: still exact (the first versions of
    # blocks 0-4 are held by s1-s40 throughout)
    snap vol s41
    rewrite_block 4
    scrape_matches_df $((5 * 4 * KiB))
    rewrite_block 0
    scrape_matches_df $((6 * 4 * KiB))
    volctl delete vs s41 >/dev/null
    scrape_matches_df $((5 * 4 * KiB))
    rewrite_block 5
    scrape_matches_df $((6 * 4 * KiB))
    # every snapshot deleted: the volume's snapshots keep nothing
    for i in $(seq 1 40); do volctl delete vs "s$i" >/dev/null; done
    scrape_matches_df 0
}

# snapshot_bytes_metric PV: volfs_volume_snapshot_bytes of one volume.
snapshot_bytes_metric() {
    volctl metrics | awk -v pv="persistentvolume=\"$1\"" '
        $1 ~ /^volfs_volume_snapshot_bytes[{]/ && index($1, pv) { print $2; found = 1 }
        END { exit !found }'
}

# df_and_metric_are PV BYTES-LO BYTES-HI: df SNAPSHOTS and the metric of one
# volume both lie in [LO, HI].
df_and_metric_are() {
    local pv=$1 lo=$2 hi=$3 sb m
    sb=$(df_field PersistentVolume "$pv" snapshotBytes)
    m=$(snapshot_bytes_metric "$pv")
    [ "$sb" -ge "$lo" ] && [ "$sb" -le "$hi" ] || fail "$pv: df shows $sb snapshot bytes, want $lo..$hi"
    [ "$m" = "$sb" ] || fail "$pv: volfs_volume_snapshot_bytes is $m, df says $sb"
}

@test "df and metrics: restored and cloned volumes without snapshots hold 0 snapshot bytes" {
    dd if=/dev/urandom of="$V/a" bs=1M count=8 conv=fsync status=none
    snap vol s1
    volctl restore s1 pv/restored >/dev/null
    volctl clone pv/vol pv/cloned >/dev/null
    # each side overwrites its own 2 MiB of the blocks they all share
    dd if=/dev/urandom of="$V/a" bs=1M count=2 seek=0 conv=notrunc,fsync status=none
    dd if=/dev/urandom of="$MNT/pv/restored/a" bs=1M count=2 seek=2 conv=notrunc,fsync status=none
    dd if=/dev/urandom of="$MNT/pv/cloned/a" bs=1M count=2 seek=4 conv=notrunc,fsync status=none
    df_and_metric_are restored 0 0
    df_and_metric_are cloned 0 0
    # vol's snapshot keeps the 2 MiB vol overwrote, nothing of the others'
    df_and_metric_are vol $((2 * MiB)) $((2 * MiB + 64 * KiB))
    # a snapshot of the restored volume holds nothing until it diverges
    snap restored r1
    df_and_metric_are restored 0 0
    dd if=/dev/urandom of="$MNT/pv/restored/a" bs=1M count=1 seek=6 conv=notrunc,fsync status=none
    df_and_metric_are restored "$MiB" $((MiB + 64 * KiB))
}

@test "df and metrics: 0 snapshot bytes once every snapshot is deleted, while a clone shares the blocks" {
    dd if=/dev/urandom of="$V/a" bs=1M count=8 conv=fsync status=none
    snap vol s1
    volctl clone pv/vol pv/cloned >/dev/null
    dd if=/dev/urandom of="$V/a" bs=1M count=3 conv=notrunc,fsync status=none
    df_and_metric_are vol $((3 * MiB)) $((3 * MiB + 64 * KiB))
    volctl delete vs s1 >/dev/null
    # the clone still reads the old blocks: they are its, not vol's snapshots'
    df_and_metric_are vol 0 0
    df_and_metric_are cloned 0 0
}

@test "snapshots do not consume the volume's capacity" {
    volctl resize pv vol --capacity 64Mi >/dev/null
    dd if=/dev/urandom of="$V/a" bs=1M count=48 conv=fsync status=none
    snap vol s1
    rm "$V/a"
    sync -f "$V"
    # the snapshot still holds 48 MiB, but the volume's 64 MiB are free again
    dd if=/dev/urandom of="$V/b" bs=1M count=60 conv=fsync status=none
    run dd if=/dev/urandom of="$V/c" bs=1M count=8 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    rm "$V/c" # what fitted of it
    sync -f "$V"
    [ "$(stat -c %s "$MNT/snapshots/default/s1/a")" -eq $((48 * MiB)) ]
    [ "$(df_field PersistentVolume vol snapshotBytes)" -ge $((48 * MiB)) ]
    # overwriting in place on a nearly full volume whose blocks a snapshot
    # shares: the live data does not grow, so it fits
    snap vol s2
    local sum
    sum=$(sha "$V/b")
    dd if=/dev/urandom of="$VOLFS_TMP/new" bs=1M count=8 status=none
    dd if="$VOLFS_TMP/new" of="$V/b" bs=1M count=8 seek=4 conv=notrunc,fsync status=none
    cmp <(dd if="$V/b" bs=1M skip=4 count=8 status=none) "$VOLFS_TMP/new"
    [ "$(sha "$MNT/snapshots/default/s2/b")" = "$sum" ] || fail "the snapshot changed"
    [ "$(pv_df vol used)" -le $((61 * MiB)) ] || fail "live use grew to $(pv_df vol used) by overwriting"
}

# ---------------------------------------------------------------------------
# crash safety

@test "kill -9 right after snapshot, restore, clone and delete were acknowledged keeps them" {
    populate "$V"
    manifest "$V" >"$VOLFS_TMP/m0"
    snap vol s1
    volctl restore s1 pv/r >/dev/null
    volctl clone pv/vol pv/c >/dev/null
    volfs_kill9
    volfs_launch
    same_tree "$MNT/snapshots/default/s1" "$VOLFS_TMP/m0"
    same_tree "$MNT/pv/r" "$VOLFS_TMP/m0"
    same_tree "$MNT/pv/c" "$VOLFS_TMP/m0"
    same_tree "$V" "$VOLFS_TMP/m0"
    run volctl check
    assert_success
    assert_output "no problems found"
    # the same for each one alone, right after its answer
    mutate "$V"
    manifest "$V" >"$VOLFS_TMP/m1"
    snap vol s2
    volfs_kill9
    volfs_launch
    same_tree "$MNT/snapshots/default/s2" "$VOLFS_TMP/m1"
    volctl clone pv/vol pv/c2 >/dev/null
    volfs_kill9
    volfs_launch
    same_tree "$MNT/pv/c2" "$VOLFS_TMP/m1"
    volctl restore s2 pv/r2 >/dev/null
    volfs_kill9
    volfs_launch
    same_tree "$MNT/pv/r2" "$VOLFS_TMP/m1"
    # writes to a restored volume after the crash are on its own layer
    echo after >"$MNT/pv/r2/after-crash"
    sync -f "$MNT/pv/r2"
    same_tree "$MNT/snapshots/default/s2" "$VOLFS_TMP/m1"
    # a deletion stays done
    volctl delete vs s1 >/dev/null
    volfs_kill9
    volfs_launch
    run volctl get vs s1
    assert_failure
    [ ! -e "$MNT/snapshots/default/s1" ]
    same_tree "$MNT/pv/r" "$VOLFS_TMP/m0"
    run volctl check
    assert_success
    assert_output "no problems found"
    run volctl get vs -o name
    assert_output "volumesnapshot.snapshot.storage.k8s.io/s2"
}

# ---------------------------------------------------------------------------
# bad input

# nothing_new: the objects and directories are what they were.
nothing_new() {
    run volctl get pv -o name
    assert_output "$1"
    run volctl get vs -A -o name
    assert_output "$2"
}

@test "bad input: one line, non-zero exit, nothing created" {
    echo data >"$V/f"
    snap vol s1
    local pvs vss uid
    pvs=$(volctl get pv -o name)
    vss=$(volctl get vs -A -o name)
    uid=$(vs_field s1 'o["metadata"]["uid"]')
    # snapshot of a missing volume
    run --separate-stderr volctl snapshot pv/missing s2
    one_line_error
    [[ $stderr == *'"missing" not found'* ]] || fail "$stderr"
    nothing_new "$pvs" "$vss"
    # duplicate snapshot name
    echo changed >"$V/f"
    run --separate-stderr volctl snapshot pv/vol s1
    one_line_error
    [[ $stderr == *"already exists"* ]] || fail "$stderr"
    nothing_new "$pvs" "$vss"
    [ "$(vs_field s1 'o["metadata"]["uid"]')" = "$uid" ] || fail "the existing snapshot was replaced"
    [ "$(cat "$MNT/snapshots/default/s1/f")" = data ] || fail "the existing snapshot changed"
    # the same name in another namespace is another snapshot
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: other}\n' | volctl apply -f - >/dev/null
    snap vol s1 -n other
    [ "$(cat "$MNT/snapshots/other/s1/f")" = changed ]
    vss=$(volctl get vs -A -o name)
    # restore of a missing snapshot, or from the wrong namespace
    run --separate-stderr volctl restore missing pv/new
    one_line_error
    [[ $stderr == *'"missing" not found'* ]] || fail "$stderr"
    run --separate-stderr volctl restore s1 pv/new -n nowhere
    one_line_error
    nothing_new "$pvs" "$vss"
    [ ! -e "$MNT/pv/new" ]
    # restore or clone onto an existing volume
    pv_create other 16Mi
    echo mine >"$MNT/pv/other/f"
    pvs=$(volctl get pv -o name)
    run --separate-stderr volctl restore s1 pv/other
    one_line_error
    [[ $stderr == *"already exists"* ]] || fail "$stderr"
    run --separate-stderr volctl clone pv/vol pv/other
    one_line_error
    [[ $stderr == *"already exists"* ]] || fail "$stderr"
    run --separate-stderr volctl clone pv/vol pv/vol
    one_line_error
    [ "$(cat "$MNT/pv/other/f")" = mine ] || fail "the existing volume changed"
    [ "$(pv_df other capacity)" -eq $((16 * MiB)) ]
    nothing_new "$pvs" "$vss"
    # clone of a missing volume
    run --separate-stderr volctl clone pv/missing pv/new
    one_line_error
    [[ $stderr == *'"missing" not found'* ]] || fail "$stderr"
    nothing_new "$pvs" "$vss"
    # a restore smaller than the snapshot's data
    dd if=/dev/urandom of="$V/big" bs=1M count=8 conv=fsync status=none
    snap vol s3
    vss=$(volctl get vs -A -o name)
    run --separate-stderr volctl restore s3 pv/tiny --capacity 1Mi
    one_line_error
    nothing_new "$pvs" "$vss"
    # bad names, refused by volctl
    local n
    for n in Bad_Name UPPER 'a b' -x a. "$(printf 'x%.0s' {1..254})"; do
        run --separate-stderr volctl snapshot pv/vol -- "$n"
        one_line_error
        [[ $stderr == "volctl: error: invalid name"* ]] || fail "snapshot '$n': $stderr"
        run --separate-stderr volctl restore s1 -- "pv/$n"
        one_line_error
        run --separate-stderr volctl clone pv/vol -- "pv/$n"
        one_line_error
        run --separate-stderr volctl snapshot -- "pv/$n" s9
        one_line_error
    done
    run --separate-stderr volctl snapshot pv/vol s9 -n Bad_NS
    one_line_error
    # ... and by the daemon, for clients other than volctl
    run ctl '{"verb":"snapshot","source":"vol","name":"Bad_Name"}'
    assert_failure
    assert_output --partial Invalid
    run ctl '{"verb":"snapshot","source":"vol","name":"ok","namespace":"Bad_NS"}'
    assert_failure
    run ctl '{"verb":"restore","snapshot":"s1","name":"Bad_Name"}'
    assert_failure
    run ctl '{"verb":"clone","source":"vol","name":"a/b"}'
    assert_failure
    run ctl '{"verb":"snapshot","name":"nosource"}'
    assert_failure
    run ctl '{"verb":"restore","name":"nosnap"}'
    assert_failure
    nothing_new "$pvs" "$vss"
    run ls "$MNT/snapshots/default"
    assert_output "$(printf 's1\ns3')"
    # a claim that does not exist
    run --separate-stderr volctl snapshot pvc/data s9
    one_line_error
    [[ $stderr == *'"data" not found'* ]] || fail "$stderr"
    # a missing snapshot cannot be deleted or described
    run --separate-stderr volctl delete vs missing
    one_line_error
    run --separate-stderr volctl describe vs missing
    one_line_error
    run volctl check
    assert_success
}

# ---------------------------------------------------------------------------
# volctl output

@test "volctl get, describe and delete vs, with namespaces and output formats" {
    echo x >"$V/f"
    snap vol nightly
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n' | volctl apply -f - >/dev/null
    snap vol weekly -n team-a
    run --separate-stderr volctl snapshot pv/vol hourly -o json
    assert_success
    run "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["kind"], o["metadata"]["name"], o["metadata"]["namespace"], o["spec"]["source"]["persistentVolumeName"], o["status"]["readyToUse"])' "$output"
    assert_output "VolumeSnapshot hourly default vol True"
    run --separate-stderr volctl snapshot pv/vol minutely -o name
    assert_output "volumesnapshot.snapshot.storage.k8s.io/minutely"
    run volctl get vs
    assert_success
    assert_line --index 0 --regexp '^NAME +READYTOUSE +SOURCEPVC +SOURCESNAPSHOTCONTENT +RESTORESIZE +SNAPSHOTCLASS +SNAPSHOTCONTENT +CREATIONTIME +AGE$'
    assert_line --regexp '^nightly +true +pv/vol +256Mi +[0-9]+s +[0-9]+s$'
    refute_output --partial weekly
    [ "${#lines[@]}" -eq 4 ]
    run volctl get vs -n team-a
    assert_line --index 1 --regexp '^weekly +true +pv/vol +256Mi'
    run volctl get vs -A
    assert_line --index 0 --regexp '^NAMESPACE +NAME +READYTOUSE +SOURCEPVC '
    assert_line --regexp '^team-a +weekly +true +pv/vol '
    assert_line --regexp '^default +nightly +true +pv/vol '
    run volctl get volumesnapshots nightly -o wide
    assert_success
    assert_line --index 1 --regexp '^nightly +true +pv/vol '
    run volctl get vs nightly -o yaml
    assert_success
    assert_line 'kind: VolumeSnapshot'
    assert_line 'apiVersion: snapshot.storage.k8s.io/v1'
    assert_line --regexp '^    persistentVolumeName: vol$'
    run volctl get vs/nightly -o json
    assert_success
    run "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["status"]["restoreSize"], sorted(o["status"]["volfs"]))' "$output"
    assert_output "256Mi ['available', 'capacity', 'exclusiveBytes', 'reclaimPending', 'snapshotBytes', 'used']"
    run volctl get vs -o json
    run "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["kind"], len(o["items"]))' "$output"
    assert_output "List 3"
    run volctl describe vs nightly
    assert_success
    assert_line --regexp '^Name: +nightly$'
    assert_line --regexp '^Namespace: +default$'
    assert_line --regexp '^Source: +pv/vol$'
    assert_line --regexp '^Creation Time: +20[0-9-]+T[0-9:]+Z \([0-9]+s ago\)$'
    assert_line --regexp '^Ready To Use: +true$'
    assert_line --regexp '^Restore Size: +256Mi$'
    assert_line --regexp '^Held Only Here: +0 \(freed when this snapshot is deleted\)$'
    assert_line --regexp '^Events:'
    assert_output --partial SnapshotCreated
    run volctl describe vs weekly -n team-a
    assert_success
    assert_line --regexp '^Namespace: +team-a$'
    run --separate-stderr volctl describe vs weekly
    one_line_error
    run volctl delete vs weekly -n team-a
    assert_success
    assert_output 'volumesnapshot "weekly" deleted'
    [ ! -e "$MNT/snapshots/team-a/weekly" ]
    run --separate-stderr volctl get vs -n team-a
    assert_success
    [[ $stderr == "No resources found in team-a namespace." ]] || fail "$stderr"
    run volctl delete vs nightly hourly
    assert_success
    run volctl get vs -o name
    assert_output "volumesnapshot.snapshot.storage.k8s.io/minutely"
    run ls "$MNT/snapshots/default"
    assert_output minutely
    # restore and clone answer with the new volume when asked
    run --separate-stderr volctl restore minutely pv/restored -o json
    assert_success
    run "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["kind"], o["metadata"]["name"], o["spec"]["capacity"]["storage"])' "$output"
    assert_output "PersistentVolume restored 256Mi"
    run --separate-stderr volctl clone pv/restored pv/cloned -o name
    assert_output "persistentvolume/cloned"
    [ "$(cat "$MNT/pv/cloned/f")" = x ]
}

@test "volctl snapshot, restore and clone: help and argument errors" {
    local v
    for v in snapshot restore clone; do
        run --separate-stderr volctl "$v" --help
        assert_success
        assert_output --partial "Usage:"
        assert_output --regexp "  volctl $v "
        run volctl help "$v"
        assert_success
    done
    run volctl --help
    assert_line --regexp '^  snapshot +[A-Z]'
    assert_line --regexp '^  restore +[A-Z]'
    assert_line --regexp '^  clone +[A-Z]'
    run --separate-stderr volctl snapshot
    one_line_error
    run --separate-stderr volctl snapshot pv/vol
    one_line_error
    # a bare name is a claim (vol is a volume here): a name is one path segment
    run --separate-stderr volctl snapshot vol/x s1
    one_line_error
    run --separate-stderr volctl snapshot pvc/vol/x s1
    one_line_error
    [[ $stderr == 'volctl: error: invalid name "vol/x"'* ]] || fail "$stderr"
    run --separate-stderr volctl snapshot sc/vol s1
    one_line_error
    run --separate-stderr volctl snapshot pv/vol s1 extra
    one_line_error
    run --separate-stderr volctl restore s1
    one_line_error
    run --separate-stderr volctl restore s1 pv/x --capacity 1Gx
    one_line_error
    run --separate-stderr volctl restore pv/s1 pv/x
    one_line_error
    run --separate-stderr volctl clone pv/vol
    one_line_error
    run --separate-stderr volctl clone vol pv/x
    one_line_error
    run --separate-stderr volctl clone pv/vol pvc/x
    one_line_error
    [[ $stderr == *"a claim clones to a claim and a volume to a volume"* ]] || fail "$stderr"
    run --separate-stderr volctl clone pv/vol pv/x -n foo
    one_line_error
    run --separate-stderr volctl get vs -A -o name
    assert_output ""
    run volctl get pv -o name
    assert_output "persistentvolume/vol"
}
