#!/usr/bin/env bats
# A full host disk must never cost metadata that was acknowledged. The
# state directory sits on a 64 MiB ext4 image; data fills it, then
# directories, files, symlinks, xattrs and snapshots are made until each is
# refused. Every operation that returned 0 must be there after a restart
# (every removal that returned 0 must stay removed), and the tree must be
# consistent.

load helpers

setup() {
    command -v mkfs.ext4 >/dev/null || skip "mkfs.ext4 not installed"
    volfs_dirs
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    truncate -s 64M "$VOLFS_TMP/host.img"
    mkfs.ext4 -q -F -m 0 "$VOLFS_TMP/host.img" >/dev/null
    mount -o loop "$VOLFS_TMP/host.img" "$STATE" || skip "cannot loop-mount an ext4 image here"
    chmod 0700 "$STATE"
    ACK=$VOLFS_TMP/acked
    volfs_launch
}

teardown() {
    volfs_teardown
}

# fill_metadata DIR KINDS SNAP_EVERY LINK_LEN ROUNDS: in volume directory
# DIR make one of each of KINDS (dir file link xattr; xattrs of 60,000
# bytes, symlinks of LINK_LEN bytes) in turn, and a snapshot of pv/big
# every SNAP_EVERY rounds, until the host refuses every kind; each one
# that returned 0 goes to $ACK. Fails unless every refusal was ENOSPC or
# if something is still accepted after ROUNDS rounds.
fill_metadata() {
    python3 - "$@" "$ACK" "$VOLFS_BIN/volctl" "$STATE" <<'EOF'
import errno, os, subprocess, sys
vol, kinds, snap_every, link_len, rounds = sys.argv[1:6]
snap_every, link_len, rounds = int(snap_every), int(link_len), int(rounds)
ack, volctl, state = open(sys.argv[6], "a"), sys.argv[7], sys.argv[8]
big = os.urandom(60000)
def make(kind, i):
    p = os.path.join(vol, kind, "%s%06d" % (kind, i))
    if kind == "dir":
        os.mkdir(p)
    elif kind == "file":
        open(p, "x").close()
    elif kind == "link":
        os.symlink(("t" * link_len + str(i))[-link_len:], p)
    elif kind == "xattr":
        os.setxattr(os.path.dirname(p), "user.x%06d" % i, big)
    elif kind == "snap":
        r = subprocess.run([volctl, "--state", state, "snapshot", "pv/big", "s%d" % i],
                           capture_output=True, text=True)
        if r.returncode:
            if "space" not in r.stderr.lower():
                sys.exit("snapshot %d: unexpected %s" % (i, r.stderr))
            raise OSError(errno.ENOSPC, r.stderr.strip())
        p = "s%d" % i
    return p
live = kinds.split() + ["snap"]
for i in range(rounds):
    for kind in list(live):
        if kind == "snap" and i % snap_every:
            continue
        try:
            p = make(kind, i)
        except OSError as e:
            if e.errno != errno.ENOSPC:
                sys.exit("%s %d: unexpected %s" % (kind, i, e))
            print("%s refused with ENOSPC after %d" % (kind, i))
            live.remove(kind)
            continue
        ack.write("%s %s\n" % (kind, p))
        ack.flush()
    if not live:
        sys.exit(0)
sys.exit("never refused: %s" % live)
EOF
}

# Everything in $ACK is as acknowledged: made things exist, removed ones
# do not.
verify_acked() {
    python3 - "$ACK" "$MNT/snapshots/default" <<'EOF'
import os, sys
bad = 0
lines = [l.split() for l in open(sys.argv[1])]
gone = {p for kind, p in lines if kind == "gone"}
for kind, p in lines:
    if p in gone and kind != "gone":
        continue
    if kind == "dir":
        ok = os.path.isdir(p)
    elif kind == "file":
        ok = os.path.isfile(p)
    elif kind == "link":
        ok = os.readlink(p).startswith("t")
    elif kind == "xattr":
        d, name = os.path.dirname(p), "user.x" + p[-6:]
        ok = len(os.getxattr(d, name)) == 60000
    elif kind == "snap":
        ok = os.path.isdir(os.path.join(sys.argv[2], p))
    elif kind == "gone":
        ok = not os.path.lexists(p)
    if not ok:
        bad += 1
        if bad < 10:
            print("lost: %s %s" % (kind, p))
sys.exit(1 if bad else 0)
EOF
}

# Restart the daemon: the tree checks clean offline and online, and
# everything in $ACK is as acknowledged.
restart_and_verify() {
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    [ "$status" -eq 0 ] || fail "volfs --check: $output"
    volfs_launch
    run verify_acked
    assert_success
    run volctl check
    assert_success
}

@test "a full host refuses metadata with ENOSPC and keeps everything it acknowledged" {
    pv_create big 1Gi
    V=$MNT/pv/big
    mkdir "$V/dir" "$V/file" "$V/link" "$V/xattr"
    run dd if=/dev/zero of="$V/fill" bs=1M count=128 conv=fsync
    assert_failure
    assert_output --partial 'No space left on device'
    : >"$ACK"
    run fill_metadata "$V" "dir file link xattr" 100 3000 3000
    assert_success
    local kind
    for kind in dir file link xattr snap; do
        assert_output --partial "$kind refused with ENOSPC"
        grep -q "^$kind " "$ACK" || fail "no $kind was ever made"
    done
    echo "# made: $(cut -d' ' -f1 "$ACK" | sort | uniq -c | xargs)" >&3
    # removals still work on a full host, and stay done
    rm "$V/file/file000000"
    rmdir "$V/dir/dir000000"
    volctl delete vs s0
    printf 'gone %s\n' "$V/file/file000000" "$V/dir/dir000000" \
        "$MNT/snapshots/default/s0" s0 >>"$ACK"
    run verify_acked
    assert_success
    restart_and_verify
    run volctl get vs s0
    assert_failure
    # once data is removed (its host file goes at the next group commit),
    # the host takes new metadata again
    rm -f "$V/fill"
    local i
    for ((i = 0; i < 300; i++)); do
        mkdir "$V/after" 2>/dev/null && break
        sleep 0.1
    done
    [ -d "$V/after" ] || fail "mkdir still refused after the data was removed"
    volfs_stop
    volfs_launch
    [ -d "$V/after" ] || fail "directory made after freeing space is gone"
}

@test "a full host filled with many small files and snapshots keeps all it acknowledged" {
    pv_create big 1Gi
    V=$MNT/pv/big
    mkdir "$V/dir" "$V/file" "$V/link"
    run dd if=/dev/zero of="$V/fill" bs=1M count=128
    assert_failure
    : >"$ACK"
    run fill_metadata "$V" "dir file link" 500 20 100000
    assert_success
    local kind
    for kind in dir file link snap; do
        assert_output --partial "$kind refused with ENOSPC"
    done
    echo "# made: $(cut -d' ' -f1 "$ACK" | sort | uniq -c | xargs)" >&3
    # removals work on the full host and stay done
    rm "$V"/file/file00000*
    printf 'gone %s\n' "$V"/file/file00000{0..9} >>"$ACK"
    restart_and_verify
}

@test "a commit that fails anyway fails only its own change and leaves the tree consistent" {
    pv_create big 1Gi
    V=$MNT/pv/big
    mkdir "$V/before"
    echo kept >"$V/f"
    sync "$V/f"
    : >"$ACK"
    printf '%s\n' "dir $V/before" "file $V/f" >>"$ACK"
    # another process takes the host's last blocks, the reserve's too
    truncate -s 0 "$STATE/meta.reserve"
    cat /dev/zero >"$STATE/hog" 2>/dev/null || true
    dd if=/dev/zero bs=4096 oflag=append conv=notrunc of="$STATE/hog" 2>/dev/null || true
    local i
    for i in 1 2 3; do
        run mkdir "$V/during$i"
        assert_failure
        assert_output --partial 'No space left on device'
        echo "gone $V/during$i" >>"$ACK"
    done
    run verify_acked
    assert_success
    [ "$(cat "$V/f")" = kept ] || fail "earlier content changed"
    rm "$STATE/hog"
    for ((i = 0; i < 300; i++)); do
        mkdir "$V/after" 2>/dev/null && break
        sleep 0.1
    done
    [ -d "$V/after" ] || fail "mkdir still refused after the host was freed"
    echo "dir $V/after" >>"$ACK"
    restart_and_verify
}
