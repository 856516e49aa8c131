#!/usr/bin/env bats
# Metadata copy-on-write: a snapshot, clone or restore shares the volume's
# rows instead of copying them, and a row is copied up on its first
# change. These tests count rows in meta.db (never time): a snapshot of
# thousands of files adds none, k changes add O(k); every view keeps its
# contents through deletions (whiteouts), renames, hard links and xattrs;
# deleting snapshots in any order leaves no version nobody sees and no data
# object behind, also when the daemon is killed while it reclaims them.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
    pv_create vol 1Gi
    V=$MNT/pv/vol
}

teardown() {
    volfs_teardown
}

# many_files DIR N: N small files DIR/fI holding "content I".
many_files() {
    mkdir -p "$1"
    "$PY" - "$1" "$2" <<'PYEOF'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    with open(os.path.join(d, "f%d" % i), "w") as f:
        f.write("content %d\n" % i)
PYEOF
}

# rows: the inode, name and xattr rows in meta.db, once the daemon has
# committed what it holds (volctl check flushes and commits first).
rows() {
    volctl check >/dev/null || fail "volctl check failed"
    sqlite3 "file:$STATE/meta.db?mode=ro" \
        'SELECT (SELECT count(*) FROM inodes) + (SELECT count(*) FROM dentries) + (SELECT count(*) FROM xattrs)'
}

# stop_and_check: stop the daemon; volfs --check finds the state directory clean.
# rows_left: with every snapshot deleted and reclaimed, what is left of
# them: rows in a lineage that is neither a tree's nor kept (dead=2: the
# rows a volume sees above its own lineage), lineages besides those, and
# versions nobody sees (a key's older versions; whiteouts). 0 when clean.
rows_left() {
    local key t
    local sql="SELECT (SELECT count(*) FROM lineages WHERE dead<>2) - (SELECT count(*) FROM trees)"
    for t in "inodes:ino" "dentries:parent AND b.name=a.name" "xattrs:ino AND b.name=a.name"; do
        key=${t#*:} t=${t%%:*}
        sql+=" + (SELECT count(*) FROM $t WHERE lineage NOT IN (SELECT lineage FROM trees)
                   AND lineage NOT IN (SELECT id FROM lineages WHERE dead=2))
               + (SELECT count(*) FROM $t a JOIN $t b ON b.family=a.family AND b.$key=a.$key
                   AND b.lineage>a.lineage)
               + (SELECT count(*) FROM $t WHERE whiteout=1)"
    done
    sqlite3 "file:$STATE/meta.db?mode=ro" "$sql"
}

stop_and_check() {
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
}

check_clean() {
    run volctl check
    assert_success
    assert_output "no problems found"
}

@test "a snapshot of thousands of files adds no rows, and k changes add O(k)" {
    many_files "$V/d" 3000
    local r0 r1 r2
    r0=$(rows)
    volctl snapshot pv/vol s1 >/dev/null
    r1=$(rows)
    [ $((r1 - r0)) -eq 0 ] || fail "a snapshot of 3000 files added $((r1 - r0)) rows"
    local i
    for ((i = 0; i < 10; i++)); do
        echo "changed $i" >"$V/d/f$i"
    done
    r2=$(rows)
    # each changed file's inode row, and the directory's (its times)
    [ $((r2 - r1)) -ge 10 ] && [ $((r2 - r1)) -le 20 ] ||
        fail "changing 10 files after a snapshot added $((r2 - r1)) rows"
    local S=$MNT/snapshots/default/s1
    [ "$(cat "$S/d/f3")" = "content 3" ]
    [ "$(cat "$V/d/f3")" = "changed 3" ]
    [ "$(cat "$S/d/f2999")" = "content 2999" ]
    [ "$(ls "$S/d" | wc -l)" -eq 3000 ]
    [ "$(ls "$V/d" | wc -l)" -eq 3000 ]
    check_clean
}

@test "deleted, renamed, linked and re-attributed files after a snapshot: each view keeps its own" {
    many_files "$V/d" 50
    setfattr -n user.keep -v old "$V/d/f5"
    setfattr -n user.gone -v here "$V/d/f6"
    mkdir "$V/sub"
    echo inside >"$V/sub/file"
    volctl snapshot pv/vol s1 >/dev/null
    local S=$MNT/snapshots/default/s1
    # whiteouts: deleted in the volume, still in the snapshot
    rm "$V/d/f1" "$V/d/f2"
    rm -r "$V/sub"
    [ ! -e "$V/d/f1" ] && [ ! -e "$V/sub" ]
    [ "$(cat "$S/d/f1")" = "content 1" ]
    [ "$(cat "$S/sub/file")" = inside ]
    [ "$(ls "$V/d" | wc -l)" -eq 48 ]
    [ "$(ls "$S/d" | wc -l)" -eq 50 ]
    # a name deleted and made again is the new file
    echo again >"$V/d/f1"
    [ "$(cat "$V/d/f1")" = again ]
    [ "$(cat "$S/d/f1")" = "content 1" ]
    # rename
    mv "$V/d/f10" "$V/d/g10"
    mv "$V/d/f11" "$V/moved"
    [ ! -e "$V/d/f10" ] && [ "$(cat "$V/d/g10")" = "content 10" ]
    [ "$(cat "$S/d/f10")" = "content 10" ] && [ ! -e "$S/d/g10" ] && [ ! -e "$S/moved" ]
    # hard links
    ln "$V/d/f20" "$V/d/h20"
    [ "$(stat -c %h "$V/d/f20")" -eq 2 ]
    [ "$(stat -c %h "$S/d/f20")" -eq 1 ] && [ ! -e "$S/d/h20" ]
    echo linked >>"$V/d/h20"
    [ "$(tail -n 1 "$V/d/f20")" = linked ]
    [ "$(cat "$S/d/f20")" = "content 20" ]
    # xattrs: changed, removed and added in the volume only
    setfattr -n user.keep -v new "$V/d/f5"
    setfattr -x user.gone "$V/d/f6"
    setfattr -n user.added -v 1 "$V/d/f7"
    run getfattr --absolute-names -n user.keep --only-values "$S/d/f5"
    assert_output old
    run getfattr --absolute-names -n user.keep --only-values "$V/d/f5"
    assert_output new
    run getfattr --absolute-names -n user.gone --only-values "$S/d/f6"
    assert_output here
    run getfattr --absolute-names -n user.gone "$V/d/f6"
    assert_failure
    run getfattr --absolute-names -d "$S/d/f7"
    refute_output --partial added
    # a restore of the snapshot is the snapshot, and changes apart
    volctl restore s1 pv/back >/dev/null
    local R=$MNT/pv/back
    [ "$(cat "$R/d/f1")" = "content 1" ] && [ "$(cat "$R/sub/file")" = inside ]
    echo restored >"$R/d/f30"
    rm "$R/d/f31"
    [ "$(cat "$S/d/f30")" = "content 30" ] && [ "$(cat "$V/d/f30")" = "content 30" ]
    [ -e "$S/d/f31" ] && [ -e "$V/d/f31" ]
    # a clone of the live volume is the volume now, and changes apart
    volctl clone pv/vol pv/c1 >/dev/null
    local C=$MNT/pv/c1
    [ "$(cat "$C/d/f1")" = again ] && [ "$(cat "$C/d/g10")" = "content 10" ]
    echo "in clone" >"$C/d/f40"
    echo "in volume" >"$V/d/f41"
    rm "$C/d/f42"
    [ "$(cat "$V/d/f40")" = "content 40" ] && [ "$(cat "$C/d/f41")" = "content 41" ]
    [ -e "$V/d/f42" ] && [ "$(cat "$S/d/f40")" = "content 40" ]
    # a snapshot after all that sees the volume as it is then
    volctl snapshot pv/vol s2 >/dev/null
    echo later >"$V/d/f43"
    [ "$(cat "$MNT/snapshots/default/s2/d/f41")" = "in volume" ]
    [ "$(cat "$MNT/snapshots/default/s2/d/f43")" = "content 43" ]
    check_clean
}

@test "a file overwritten in place through a descriptor opened before the snapshot leaves the snapshot's data alone" {
    "$PY" - "$V/f" "$STATE" "$VOLFS_BIN/volctl" <<'PYEOF'
import os, subprocess, sys
path, state, volctl = sys.argv[1:]
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, b"A" * 65536, 0)
os.fsync(fd)
os.pwrite(fd, b"B" * 4096, 4096)  # an overwrite of a private block: the fast path
subprocess.run([volctl, "--state", state, "snapshot", "pv/vol", "s1"], check=True,
               stdout=subprocess.DEVNULL)
os.pwrite(fd, b"C" * 4096, 4096)
os.pwrite(fd, b"D" * 4096, 0)
os.fsync(fd)
os.close(fd)
PYEOF
    local S=$MNT/snapshots/default/s1/f
    [ "$(head -c 4096 "$S" | tr -d A | wc -c)" -eq 0 ] || fail "the snapshot's first block changed"
    [ "$(tail -c +4097 "$S" | head -c 4096 | tr -d B | wc -c)" -eq 0 ] || fail "the snapshot's second block changed"
    [ "$(tail -c +4097 "$V/f" | head -c 4096 | tr -d C | wc -c)" -eq 0 ]
    [ "$(head -c 4096 "$V/f" | tr -d D | wc -c)" -eq 0 ]
    check_clean
}

@test "deleting snapshots, clones and restores in random order leaves no orphan row or data object" {
    many_files "$V/d" 200
    dd if=/dev/urandom of="$V/big" bs=64K count=16 status=none
    local i names=()
    for ((i = 1; i <= 6; i++)); do
        dd if=/dev/urandom of="$V/big" bs=4K count=2 seek=$((i * 10)) conv=notrunc status=none
        echo "round $i" >"$V/d/f$i"
        rm -f "$V/d/f$((100 + i))"
        echo "new $i" >"$V/n$i"
        setfattr -n user.round -v "$i" "$V/d/f50"
        mv "$V/d/f$((150 + i))" "$V/d/r$i"
        volctl snapshot pv/vol "s$i" >/dev/null
        names+=("vs s$i")
    done
    volctl restore s3 pv/r3 >/dev/null
    echo mine >"$MNT/pv/r3/n3"
    volctl clone pv/vol pv/c4 >/dev/null
    echo theirs >"$MNT/pv/c4/n4"
    volctl snapshot pv/vol s7 >/dev/null
    names+=("vs s7" "pv r3" "pv c4")
    local S=$MNT/snapshots/default
    [ "$(cat "$S/s2/d/f2")" = "round 2" ] && [ "$(cat "$S/s2/d/f3")" = "content 3" ]
    [ ! -e "$S/s4/d/f103" ] && [ -e "$S/s2/d/f103" ]
    run getfattr --absolute-names -n user.round --only-values "$S/s4/d/f50"
    assert_output 4
    local want
    want=$(cd "$V" && find . -type f -print0 | sort -z | xargs -0 sha256sum)
    local n
    while read -r n; do
        # shellcheck disable=SC2086 # "vs s1" is two words on purpose
        volctl delete $n >/dev/null
    done < <(printf '%s\n' "${names[@]}" | shuf)
    wait_reclaimed
    check_clean
    [ "$(cd "$V" && find . -type f -print0 | sort -z | xargs -0 sha256sum)" = "$want" ] ||
        fail "the volume changed while its snapshots were deleted"
    local left
    left=$(rows_left)
    [ "$left" -eq 0 ] || fail "$left rows of deleted snapshots left"
    [ "$(sqlite3 "file:$STATE/meta.db?mode=ro" 'SELECT count(*) FROM inodes')" -eq "$(pv_df vol inodes)" ]
    stop_and_check
}

@test "kill -9 while deleted snapshots are reclaimed: after a restart the reclaim finishes and everything checks clean" {
    many_files "$V/d" 3000
    volctl snapshot pv/vol s1 >/dev/null
    volctl snapshot pv/vol s2 >/dev/null
    echo changed >"$V/d/f7"
    rm "$V/d/f8"
    # s1's rows are kept for s2: whatever is pending, describe says so
    volctl delete vs s1 >/dev/null
    local p
    p=$(reclaim_pending rows)
    run volctl describe vs s2
    assert_success
    if [ "$p" -gt 0 ]; then
        assert_line --regexp "^Reclaim Pending: +[0-9]+ rows of deleted snapshots and volumes$"
    else
        refute_line --partial "Reclaim Pending"
    fi
    volctl delete vs s2 >/dev/null
    volfs_kill9
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    volfs_launch
    wait_reclaimed
    [ "$(ls "$V/d" | wc -l)" -eq 2999 ]
    [ "$(cat "$V/d/f7")" = changed ] && [ "$(cat "$V/d/f2999")" = "content 2999" ]
    check_clean
    [ "$(rows_left)" -eq 0 ]
    stop_and_check
}

@test "a volume deleted while its snapshot lives: the snapshot keeps its files, and restores from it work" {
    many_files "$V/d" 20
    volctl snapshot pv/vol s1 >/dev/null
    echo gone >"$V/d/f1"
    volctl delete pv vol >/dev/null
    wait_reclaimed
    local S=$MNT/snapshots/default/s1
    [ "$(cat "$S/d/f1")" = "content 1" ] && [ "$(ls "$S/d" | wc -l)" -eq 20 ]
    volctl restore s1 pv/back >/dev/null
    [ "$(cat "$MNT/pv/back/d/f19")" = "content 19" ]
    volctl delete vs s1 >/dev/null
    echo still >"$MNT/pv/back/d/f2"
    wait_reclaimed
    [ "$(cat "$MNT/pv/back/d/f1")" = "content 1" ]
    [ "$(cat "$MNT/pv/back/d/f2")" = still ]
    check_clean
}
