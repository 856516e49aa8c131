# shellcheck shell=bash
# The bench scripts' own volfs daemon, sourced by scale.sh, snapcost.sh, snapshot.sh and dfstall.sh.
# The caller sets BIN (volfs and volctl), STATE, MNT and DAEMON_LOG, and
# defines die; PID is the running daemon's pid, empty when none.

PID=''
# no request timeout: before metadata copy-on-write, deleting a volume of a
# million files takes longer than volctl's default 5 minutes on a busy machine
volctl() { "$BIN/volctl" --state "$STATE" --request-timeout 0 "$@"; }

# start_daemon [ARGS...]: volfs on STATE and MNT (with ARGS), up once
# mounted with its socket.
start_daemon() {
    "$BIN/volfs" -f --state "$STATE" "$@" "$MNT" </dev/null >>"$DAEMON_LOG" 2>&1 &
    PID=$!
    local i
    for ((i = 0; i < 600; i++)); do
        mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && return 0
        kill -0 "$PID" 2>/dev/null || die "the daemon exited: $(tail -n 3 "$DAEMON_LOG")"
        sleep 0.1
    done
    die "$MNT was not mounted within 60 s"
}

# stop_daemon: `volctl shutdown` and wait for the exit; a state of a million
# files may take minutes to flush, so kill -9 only after 10 minutes.
stop_daemon() {
    [[ -n $PID ]] || return 0
    volctl shutdown >/dev/null 2>&1 || fusermount3 -u "$MNT" 2>/dev/null || true
    local i
    for ((i = 0; i < 6000; i++)); do
        kill -0 "$PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$PID" 2>/dev/null && kill -9 "$PID"
    wait "$PID" 2>/dev/null || true
    PID=''
}

# teardown_daemon: stop the daemon and leave nothing mounted on MNT (for the
# callers' EXIT traps, which run with set +e).
teardown_daemon() {
    stop_daemon
    mountpoint -q "$MNT" 2>/dev/null && fusermount3 -u -z "$MNT"
}

# drop_caches: write back, then empty the page, dentry and inode caches
# (unless BENCH_DROP_CACHES=0).
drop_caches() {
    sync
    [[ $BENCH_DROP_CACHES == 1 ]] && echo 3 >/proc/sys/vm/drop_caches
    return 0
}
