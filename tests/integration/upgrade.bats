#!/usr/bin/env bats
# Upgrading a state directory in place: tests/fixtures/state-v4.tar.gz was
# made by the release with schema 4 (one volume with a directory, a file
# with an xattr, a hard link, a symlink, a fifo; a snapshot of it taken
# before changing it; a clone and a restore), state-v8.tar.gz by the one
# with schema 8 (a claim's volume with a directory, a file with an xattr
# and a hard link, a symlink, empty files and an empty directory; a
# snapshot taken before changing it), state-v9.tar.gz by the one with
# schema 9, before inline data (a claim's volume with small files that
# have data objects, a hard link, an empty file, a file with an xattr, an
# 8000-byte file; a snapshot taken before changing one of them). The
# daemon migrates meta.db on start and serves everything as it was.

# shellcheck disable=SC2154 # STATE, MNT, ... come from helpers.bash
load helpers

setup() {
    volfs_dirs
    mkdir -m 0755 "$MNT"
    tar -xzf "$BATS_TEST_DIRNAME/../fixtures/state-v4.tar.gz" -C "$VOLFS_TMP"
    chmod 0700 "$STATE"
}

teardown() {
    volfs_teardown
}

# delete_snap1_check_restart: snapshot snap1 goes, both checks pass, and
# the daemon starts again on the migrated directory.
delete_snap1_check_restart() {
    volctl delete vs snap1 >/dev/null
    check_clean_offline
}

schema_version() {
    sqlite3 "file:$STATE/meta.db?mode=ro" 'PRAGMA user_version'
}

@test "a schema 4 state directory upgrades in place and serves volumes, snapshots, clones and restores as they were" {
    [ "$(schema_version)" -eq 4 ]
    volfs_launch
    [ "$(schema_version)" -eq 10 ]
    local D=$MNT/pvc/default/data S=$MNT/snapshots/default/snap1
    # the volume as it was left
    [ "$(cat "$D/dir/a.txt")" = changed ]
    [ "$(cat "$D/after-snap")" = new ]
    [ ! -e "$D/big" ]
    [ "$(stat -c %i "$D/hard")" = "$(stat -c %i "$D/dir/a.txt")" ] || fail "hard link lost"
    [ "$(stat -c %h "$D/hard")" -eq 2 ]
    [ "$(readlink "$D/link")" = dir/a.txt ]
    [ -p "$D/fifo" ]
    run getfattr --absolute-names -n user.color --only-values "$D/dir/a.txt"
    assert_output blue
    run getfattr --absolute-names -n user.k --only-values "$D/dir"
    assert_output v1
    # the snapshot as it was taken
    [ "$(cat "$S/dir/a.txt")" = hello ]
    [ "$(stat -c %s "$S/big")" -eq 8000 ]
    [ "$(head -c 8 "$S/big")" = datadata ]
    [ ! -e "$S/after-snap" ]
    run getfattr --absolute-names -n user.color --only-values "$S/dir/a.txt"
    assert_output blue
    # the clone and the restore
    [ "$(cat "$MNT/pvc/default/data2/only-clone")" = c ]
    [ "$(cat "$MNT/pvc/default/data2/dir/a.txt")" = changed ]
    [ "$(cat "$MNT/pvc/default/restored/dir/a.txt")" = hello ]
    [ "$(stat -c %s "$MNT/pvc/default/restored/big")" -eq 8000 ]
    run volctl check
    assert_success
    # the migrated volume takes new snapshots, and they keep their instant
    volctl snapshot data snap2 >/dev/null
    echo after >"$D/dir/a.txt"
    rm "$D/hard"
    setfattr -n user.color -v red "$D/dir/a.txt"
    [ "$(cat "$MNT/snapshots/default/snap2/dir/a.txt")" = changed ]
    [ "$(stat -c %h "$MNT/snapshots/default/snap2/hard")" -eq 2 ]
    run getfattr --absolute-names -n user.color --only-values "$MNT/snapshots/default/snap2/dir/a.txt"
    assert_output blue
    [ "$(cat "$S/dir/a.txt")" = hello ]
    volctl restore snap2 again >/dev/null
    local i
    for ((i = 0; i < 100; i++)); do
        [ -e "$MNT/pvc/default/again/dir/a.txt" ] && break
        sleep 0.2
    done
    [ "$(cat "$MNT/pvc/default/again/dir/a.txt")" = changed ]
    delete_snap1_check_restart
    [ "$(cat "$D/dir/a.txt")" = after ]
    [ "$(cat "$MNT/snapshots/default/snap2/dir/a.txt")" = changed ]
}

@test "a schema 8 state directory upgrades in place: data objects indexed, files without one not" {
    rm -rf "$STATE"
    tar -xzf "$BATS_TEST_DIRNAME/../fixtures/state-v8.tar.gz" -C "$VOLFS_TMP"
    chmod 0700 "$STATE"
    [ "$(schema_version)" -eq 8 ]
    volfs_launch
    [ "$(schema_version)" -eq 10 ]
    local D=$MNT/pvc/default/data S=$MNT/snapshots/default/snap1
    [ "$(cat "$D/dir/a.txt")" = changed ]
    [ "$(stat -c %h "$D/hard")" -eq 2 ]
    [ "$(readlink "$D/link")" = dir/a.txt ]
    [ -f "$D/empty" ] && [ ! -s "$D/empty" ] && [ -f "$D/after-snap-empty" ]
    [ -d "$D/emptydir" ]
    [ ! -e "$D/big" ]
    run getfattr --absolute-names -n user.color --only-values "$D/dir/a.txt"
    assert_output blue
    [ "$(cat "$S/dir/a.txt")" = hello ]
    [ "$(head -c 8 "$S/big")" = dddddddd ]
    [ ! -e "$S/after-snap-empty" ]
    # the index holds the rows with an object, and none without
    local rows
    rows=$(sqlite3 "file:$STATE/meta.db?mode=ro" \
        "SELECT count(*) FROM inodes INDEXED BY inodes_obj WHERE obj IS NOT NULL")
    [ "$rows" -ge 3 ] || fail "$rows inode rows with an object through inodes_obj"
    run sqlite3 "file:$STATE/meta.db?mode=ro" \
        "SELECT count(*) FROM inodes INDEXED BY inodes_obj WHERE obj IS NULL"
    assert_failure
    # a file gets its object after the upgrade, and a snapshot's file
    # shares its object with the volume until written
    echo new >"$D/empty"
    volctl snapshot data snap2 >/dev/null
    echo again >"$D/empty"
    [ "$(cat "$MNT/snapshots/default/snap2/empty")" = new ]
    delete_snap1_check_restart
    [ "$(cat "$D/empty")" = again ]
    [ "$(cat "$D/dir/a.txt")" = changed ]
}

@test "a schema 9 state directory upgrades in place: small files keep their data objects, new ones are inline" {
    rm -rf "$STATE"
    tar -xzf "$BATS_TEST_DIRNAME/../fixtures/state-v9.tar.gz" -C "$VOLFS_TMP"
    chmod 0700 "$STATE"
    [ "$(schema_version)" -eq 9 ]
    local before
    before=$(find "$STATE/data" -type f ! -name '.*' | wc -l)
    volfs_launch
    [ "$(schema_version)" -eq 10 ]
    local D=$MNT/pvc/default/data S=$MNT/snapshots/default/snap1
    [ "$(cat "$D/small")" = changed ]
    [ "$(cat "$D/hard")" = changed ]
    [ "$(cat "$S/small")" = small ]
    [ "$(cat "$D/nine")" = "$(printf 'x%.0s' $(seq 900))" ]
    [ "$(cat "$D/dir/a.txt")" = hello ]
    [ "$(head -c 8 "$D/big")" = dddddddd ]
    [ "$(cat "$D/after-snap")" = after ]
    [ -f "$D/empty" ] && [ ! -s "$D/empty" ]
    run getfattr --absolute-names -n user.color --only-values "$D/dir/a.txt"
    assert_output blue
    # the empty file and a new one are inline: no host file is added; a
    # file with an object stays one (rewritten after the snapshot: a layer)
    printf inline >"$D/empty"
    printf new >"$D/new"
    sync -f "$D"
    [ "$(find "$STATE/data" -type f ! -name '.*' | wc -l)" -eq "$before" ]
    printf again >"$D/small"
    sync -f "$D"
    [ "$(sqlite3 "file:$STATE/meta.db?mode=ro" \
        "SELECT count(*) FROM xattrs WHERE name='volfs.inline'")" -eq 2 ]
    [ "$(cat "$S/small")" = small ]
    delete_snap1_check_restart
    [ "$(cat "$D/small")" = again ]
    [ "$(cat "$D/empty")" = inline ]
    [ "$(cat "$D/new")" = new ]
}
