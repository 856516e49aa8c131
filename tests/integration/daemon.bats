#!/usr/bin/env bats
# The daemon: mounting, the state directory, shutdown and restart.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

@test "mounts a FUSE filesystem and serves MOUNT/pv" {
    run findmnt -rn -o FSTYPE --mountpoint "$MNT"
    assert_success
    assert_output --regexp '^fuse'
    [ -d "$MNT/pv" ]
    pv_create data 64Mi
    echo hello >"$MNT/pv/data/greeting"
    run cat "$MNT/pv/data/greeting"
    assert_output hello
    run ls "$MNT/pv"
    assert_output data
}

@test "MOUNT/pv itself is read-only" {
    run mkdir "$MNT/pv/not-a-volume"
    assert_failure
    [ ! -e "$MNT/pv/not-a-volume" ]
    run touch "$MNT/pv/file"
    assert_failure
}

@test "a second volfs on the same state directory refuses with a clear message" {
    mkdir "$VOLFS_TMP/mnt2"
    run --separate-stderr timeout 10 "$VOLFS_BIN/volfs" -f --state "$STATE" "$VOLFS_TMP/mnt2" 3>&-
    # 124 would mean it hung instead of refusing
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "second volfs: status $status (want a quick non-zero exit)"
    [ -n "$stderr" ] || fail "second volfs printed nothing on stderr"
    [[ $stderr =~ $STATE|[Aa]lready|in\ use|[Ll]ock|running|held ]] ||
        fail "message does not say the state dir is in use: $stderr"
    ! is_mounted "$VOLFS_TMP/mnt2" || fail "the second volfs mounted $VOLFS_TMP/mnt2"
    # the first daemon is unaffected
    run volctl get pv
    assert_success
    mountpoint -q "$MNT"
}

@test "relative --state and mount point paths work" {
    volfs_stop
    mkdir "$VOLFS_TMP/rel-state" "$VOLFS_TMP/rel-mnt"
    cd "$VOLFS_TMP"
    "$VOLFS_BIN/volfs" -f --state rel-state rel-mnt </dev/null >>"$VOLFS_LOG" 2>&1 3>&- &
    local pid=$! i
    volfs_track_pid "$pid"
    for ((i = 0; i < 100; i++)); do
        mountpoint -q rel-mnt 2>/dev/null && [[ -S rel-state/control.sock ]] && break
        sleep 0.1
    done
    mountpoint -q rel-mnt || fail "not mounted; log: $(tail -n 5 "$VOLFS_LOG")"
    [ -S rel-state/control.sock ] || fail "no control socket in rel-state; log: $(tail -n 5 "$VOLFS_LOG")"
    run "$VOLFS_BIN/volctl" --state rel-state create pv data --capacity 64Mi
    assert_success
    [ -d rel-mnt/pv/data ]
    run "$VOLFS_BIN/volctl" --state rel-state shutdown
    assert_success
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    local status=0
    wait "$pid" || status=$?
    [ "$status" -eq 0 ] || fail "volfs exited with status $status"
    ! is_mounted "$VOLFS_TMP/rel-mnt" || fail "still mounted after shutdown"
}

@test "the control socket is a socket with mode 0600" {
    [ -S "$STATE/control.sock" ]
    run stat -c %a "$STATE/control.sock"
    assert_output 600
}

@test "meta.db exists and is in WAL mode" {
    [ -f "$STATE/meta.db" ]
    # bytes 18 and 19 of the header are 2 for WAL (1 for rollback journals)
    run od -An -tu1 -j18 -N2 "$STATE/meta.db"
    assert_output --regexp '^ *2 +2 *$'
    volfs_stop
    run sqlite3 "$STATE/meta.db" 'PRAGMA journal_mode;'
    assert_output wal
    run sqlite3 "$STATE/meta.db" 'PRAGMA integrity_check;'
    assert_output ok
}

@test "volctl shutdown unmounts and the daemon exits 0" {
    pv_create data 64Mi
    echo bye >"$MNT/pv/data/f"
    run volctl shutdown
    assert_success
    # volfs_stop waits for the exit and checks status, mount and sanitizers
    volfs_stop
    ! is_mounted "$MNT" || fail "still mounted"
}

@test "volctl shutdown while a process holds a file open: exits in seconds, the mount gone, contents kept" {
    pv_create data 64Mi
    hold_dirty "$MNT/pv/data/f" 3000000
    run timeout 10 "$VOLFS_BIN/volctl" --state "$STATE" shutdown
    assert_success
    volfs_await_exit 5
    kill "$HOLDER"
    wait "$HOLDER" || true
    volfs_launch
    cmp "$VOLFS_TMP/ref" "$MNT/pv/data/f"
}

@test "fusermount3 -u stops the daemon cleanly" {
    fusermount3 -u "$MNT"
    local i
    for ((i = 0; i < 100; i++)); do
        kill -0 "$VOLFS_PID" 2>/dev/null || break
        sleep 0.1
    done
    ! kill -0 "$VOLFS_PID" 2>/dev/null || fail "volfs still running 10 s after fusermount3 -u"
    volfs_stop
}

@test "a remount keeps volumes and file contents" {
    pv_create alpha 64Mi
    pv_create beta 128Mi
    head -c 3000000 /dev/urandom >"$MNT/pv/alpha/random"
    mkdir -p "$MNT/pv/beta/dir/sub"
    echo nested >"$MNT/pv/beta/dir/sub/file"
    chmod 0640 "$MNT/pv/beta/dir/sub/file"
    ln -s sub/file "$MNT/pv/beta/dir/link"
    ln "$MNT/pv/beta/dir/sub/file" "$MNT/pv/beta/hardlink"
    local sum
    sum=$(sha "$MNT/pv/alpha/random")

    volfs_stop
    volfs_launch

    run ls "$MNT/pv"
    assert_output "$(printf 'alpha\nbeta')"
    run volctl get pv
    assert_success
    assert_output --partial alpha
    assert_output --partial beta
    [ "$(sha "$MNT/pv/alpha/random")" = "$sum" ]
    run stat -c %s "$MNT/pv/alpha/random"
    assert_output 3000000
    run cat "$MNT/pv/beta/dir/link"
    assert_output nested
    run stat -c '%a %h' "$MNT/pv/beta/dir/sub/file"
    assert_output '640 2'
    run readlink "$MNT/pv/beta/dir/link"
    assert_output sub/file
}
