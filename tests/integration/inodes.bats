#!/usr/bin/env bats
# Metadata counted against a volume: inodes against its inode limit (one
# per 4 KiB of capacity, or --inodes / the volfs.io/inodes annotation),
# which df -i reports; xattr and symlink bytes against its capacity. Past
# either, creating fails with ENOSPC and what was there stays intact.

# shellcheck disable=SC2154 # STATE, MNT, ... come from helpers.bash
load helpers

# create_until_refused DIR: create empty files f0, f1, ... in DIR until one
# is refused; prints "refused N ERRNO-NAME".
create_until_refused() {
    python3 - "$1" <<'EOF'
import errno, os, sys
for i in range(5000):
    try:
        open(os.path.join(sys.argv[1], "f%d" % i), "x").close()
    except OSError as e:
        print("refused %d %s" % (i, errno.errorcode[e.errno]))
        sys.exit(0)
sys.exit("never refused")
EOF
}

@test "a volume of 1000 inodes refuses the 1000th create with ENOSPC; df -i reports the limit" {
    volctl create pv tiny --capacity 1Gi --inodes 1000 >/dev/null
    V=$MNT/pv/tiny
    run stat -f -c '%c %d' "$V"
    assert_output "1000 999"
    echo kept >"$V/f0"
    run create_until_refused "$V/" # f0 exists: the first try is refused as EEXIST
    assert_output "refused 0 EEXIST"
    rm "$V/f0"
    # f0's inode is given back when the kernel forgets it, which it
    # sends on its own time: wait for df -i to show it free again
    for _ in $(seq 100); do
        [ "$(stat -f -c %d "$V")" = 999 ] && break
        sleep 0.1
    done
    echo kept >"$V/first"
    run create_until_refused "$V"
    # the root and "first" are two of the 1000: f0..f997 fit, f998 (the
    # 1000th create counting the root's) does not
    assert_output "refused 998 ENOSPC"
    run stat -f -c '%c %d' "$V"
    assert_output "1000 0"
    run mkdir "$V/d"
    assert_failure
    assert_output --partial 'No space left on device'
    run ln -s x "$V/l"
    assert_failure
    # a hard link is a name, not an inode
    ln "$V/first" "$V/first-link"
    [ "$(cat "$V/first")" = kept ] || fail "earlier content changed"
    # the limit and the count survive a restart; removing frees an inode
    volfs_stop
    volfs_launch
    run stat -f -c '%c %d' "$V"
    assert_output "1000 0"
    rm "$V/f5"
    touch "$V/again"
    run touch "$V/again2"
    assert_failure
    run volctl check
    assert_success
}

@test "the default inode limit is one per 4 KiB of capacity" {
    pv_create small 4000Ki
    run stat -f -c '%c' "$MNT/pv/small"
    assert_output 1000
    run create_until_refused "$MNT/pv/small"
    assert_output "refused 999 ENOSPC"
    # a volume of 4 KiB holds its root and nothing else
    pv_create one 4Ki
    run touch "$MNT/pv/one/x"
    assert_failure
    assert_output --partial 'No space left on device'
}

@test "xattrs and symlink targets count against the capacity" {
    pv_create meta 1Mi
    V=$MNT/pv/meta
    head -c 100000 /dev/urandom >"$V/data"
    local sum
    sum=$(sha "$V/data")
    run python3 - "$V" <<'EOF'
import errno, os, sys
v = sys.argv[1]
val = os.urandom(65000)
n = 0
try:
    while n < 100:
        os.setxattr(v, "user.x%d" % n, val)
        n += 1
    print("xattrs: 100 accepted")
except OSError as e:
    print("xattrs %d %s" % (n, errno.errorcode[e.errno]))
# what is left is less than one xattr; symlinks of 4000 bytes fill it
m = 0
try:
    while m < 1000:
        os.symlink("y" * 4000, os.path.join(v, "l%d" % m))
        m += 1
    print("symlinks: 1000 accepted")
except OSError as e:
    print("symlinks %d %s" % (m, errno.errorcode[e.errno]))
EOF
    # 1 MiB less 100 KiB of data holds 14 xattrs of 65,000 bytes; then
    # symlinks until the last 4 KiB
    assert_line "xattrs 14 ENOSPC"
    assert_line --regexp '^symlinks [0-9]+ ENOSPC$'
    run df -B1 --output=used,avail "$V"
    assert_line --regexp '^ *1048576 +0$'
    # data cannot take what metadata holds
    run dd if=/dev/zero of="$V/more" bs=4096 count=1 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    [ "$(sha "$V/data")" = "$sum" ] || fail "data changed"
    [ "$(getfattr --only-values -n user.x13 "$V" | wc -c)" = 65000 ] || fail "xattr lost"
    # removing metadata gives the room back, also after a restart
    setfattr -x user.x0 "$V"
    volfs_stop
    volfs_launch
    dd if=/dev/zero of="$V/more" bs=4096 count=8 conv=fsync status=none
    setfattr -x user.x1 "$V"
    rm "$V"/l*
    # 100,000 + 32,768 bytes of data (25 + 8 blocks) and 12 xattrs of
    # 65,000 bytes and their names (780,088 bytes: 191 blocks). An unlinked
    # symlink's bytes come back once the kernel forgets it, which may come
    # after rm returns: give the FORGETs a moment.
    local want=$(((25 + 8 + 191) * 4096)) i
    for i in $(seq 50); do
        [ "$(df -B1 --output=used "$V" | tail -1 | tr -d ' ')" = "$want" ] && break
        sleep 0.1
    done
    run df -B1 --output=used "$V"
    assert_line --regexp "^ *$want\$"
    run volctl check
    assert_success
}

@test "a claim's volfs.io/inodes annotation sets its provisioned volume's inode limit" {
    volctl create pvc c --size 1Gi --inodes 50 >/dev/null
    local i pv
    for ((i = 0; i < 100; i++)); do
        pv=$(volctl get pvc c -o json | python3 -c 'import json,sys; print(json.load(sys.stdin).get("spec",{}).get("volumeName",""))')
        [ -n "$pv" ] && break
        sleep 0.1
    done
    [ -n "$pv" ] || fail "claim never bound"
    run volctl get pv "$pv" -o json
    assert_output --partial '"volfs.io/inodes": "50"'
    run stat -f -c '%c' "$MNT/pv/$pv"
    assert_output 50
    run volctl create pv bad --capacity 1Gi --inodes 0
    assert_failure
    assert_output --partial 'not a positive number of inodes'
}
