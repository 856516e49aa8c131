#!/usr/bin/env bats
# --fuse-transport: FUSE requests served from io_uring queues (one per CPU)
# when the kernel offers them (module parameter fuse.enable_uring, switched
# on here for the mounts of this file and put back after), with the data
# and namespace paths checked through the rings; /dev/fuse with a warning
# when it does not; a bad value refused. Mounts of other files use the
# default transport (dev), which never accepts the rings, so the global
# parameter does not change them.

# shellcheck disable=SC2154 # STATE, MNT, VOLFS_LOG ... come from helpers.bash
load helpers

PARAM=/sys/module/fuse/parameters/enable_uring
: "${VOLFS_FAULT_BIN:=$VOLFS_BIN/../../fault/bin}"

setup_file() {
    if [[ -e $PARAM ]]; then
        cat "$PARAM" >"$BATS_FILE_TMPDIR/enable_uring"
    fi
}

teardown_file() {
    if [[ -s $BATS_FILE_TMPDIR/enable_uring ]]; then
        cat "$BATS_FILE_TMPDIR/enable_uring" >"$PARAM"
    fi
}

setup() {
    :
}

# uring_on: the kernel offers FUSE-over-io_uring to the next mount, or the
# test is skipped saying why.
uring_on() {
    [[ -e $PARAM ]] || skip "$PARAM is absent: this kernel has no FUSE-over-io_uring (Linux 6.14+, CONFIG_FUSE_IO_URING)"
    echo Y >"$PARAM"
}

# requests_via TRANSPORT: requests delivered so far through dev or uring.
requests_via() {
    metric_sample "volfs_fuse_transport_requests_total{transport=\"$1\"}"
}

# start_uring [volfs args]: a daemon serving over the rings, and a volume
# V of 256 MiB; fails if the requests do not go through the rings.
start_uring() {
    uring_on
    volfs_start --fuse-transport=uring "$@"
    pv_create vol 256Mi
    V=$MNT/pv/vol
    wait_rings
}

# wait_rings [TEXT]: requests on V go through the rings, and the daemon's
# log holds TEXT (the transport's line by default). The INIT reply starts
# the rings' threads (and then logs), and the kernel moves requests to the
# rings once they have registered entries on every CPU's queue: both after
# the mount.
wait_rings() {
    local before i
    before=$(requests_via uring)
    for ((i = 0; i < 200; i++)); do
        touch "$V/probe"
        rm "$V/probe"
        if (($(requests_via uring) > before)) && grep -q "${1:-FUSE transport: uring}" "$VOLFS_LOG"; then
            return 0
        fi
        sleep 0.1
    done
    fail "no request came through the rings: $(volctl metrics | grep transport); log: $(grep -i transport "$VOLFS_LOG")"
}

# fault_build SPEC: the daemons of this test are the fault-injection build
# (make fault; see meta/fault.h) with VOLFS_FAULT=SPEC, or it is skipped.
fault_build() {
    local bin
    bin=$(realpath -m "$VOLFS_FAULT_BIN")
    [[ -x $bin/volfs ]] || skip "no fault-injection build in $bin (make fault)"
    VOLFS_BIN=$bin
    export VOLFS_FAULT=$1
}

# wait_log TEXT: wait (up to 60 s) for the daemon's log to hold TEXT.
wait_log() {
    local i
    for ((i = 0; i < 600; i++)); do
        grep -qF -- "$1" "$VOLFS_LOG" && return 0
        sleep 0.1
    done
    fail "the log never said \"$1\": $(tail -n 20 "$VOLFS_LOG")"
}

# serves_on_rings: a directory and a file made and read back, with requests
# coming through the rings.
serves_on_rings() {
    local before
    before=$(requests_via uring)
    mkdir "$V/served-$1"
    echo "$1" >"$V/served-$1/f"
    [ "$(cat "$V/served-$1/f")" = "$1" ]
    (($(requests_via uring) > before))
}

# start_writer FILE: overwrite FILE with direct writes until the mount
# fails them; returns once the first write is done.
start_writer() {
    (while dd if=/dev/urandom of="$1" bs=64k count=64 oflag=direct conv=notrunc status=none; do :; done) \
        3>&- &
    WRITER=$!
    volfs_track_pid "$WRITER"
    local i
    for ((i = 0; i < 600; i++)); do
        [[ -s $1 ]] && return 0
        sleep 0.1
    done
    fail "the writer wrote nothing"
}

# fio_verify NAME [fio args]: write 32 MiB and verify it (crc32c), in V.
fio_verify() {
    local name=$1
    shift
    run fio --name="$name" --directory="$V" --size=32M --bs=4k --ioengine=psync \
        --verify=crc32c --verify_fatal=1 --verify_state_save=0 --do_verify=1 --output-format=terse "$@"
    [ "$status" -eq 0 ] || fail "fio $name: $output"
}

teardown() {
    volfs_teardown
}

@test "--fuse-transport with a bad value is a one-line error" {
    volfs_dirs
    run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$STATE" --fuse-transport=x "$VOLFS_TMP"
    [ "$status" -ne 0 ] || fail "accepted --fuse-transport=x"
    [ "$stderr" = 'volfs: invalid --fuse-transport "x": use dev, uring or auto' ] || fail "stderr: $stderr"
    [ ! -e "$STATE" ] || fail "created the state directory"
}

@test "with fuse.enable_uring off, --fuse-transport=uring serves /dev/fuse and says how to enable it" {
    [[ ! -e $PARAM ]] || echo N >"$PARAM"
    volfs_start --fuse-transport=uring
    pv_create vol 16Mi
    echo hello >"$MNT/pv/vol/f"
    [ "$(cat "$MNT/pv/vol/f")" = hello ]
    run grep -c 'does not offer FUSE-over-io_uring.*enable_uring' "$VOLFS_LOG"
    assert_output 1
    run volctl version
    assert_line "FUSE Transport: dev"
    [ "$(requests_via uring)" = 0 ]
    (($(requests_via dev) > 0))
    volfs_stop
    # auto: the same, without the warning
    volfs_launch --fuse-transport=auto
    [ "$(cat "$MNT/pv/vol/f")" = hello ]
    run grep -c 'level=warn.*does not offer' "$VOLFS_LOG"
    assert_output 1
    [ "$(requests_via uring)" = 0 ]
}

@test "the default transport is /dev/fuse even when the kernel offers the rings" {
    uring_on
    volfs_start
    pv_create vol 16Mi
    echo hello >"$MNT/pv/vol/f"
    grep -q 'FUSE transport: dev' "$VOLFS_LOG"
    run volctl version
    assert_line "FUSE Transport: dev"
    [ "$(requests_via uring)" = 0 ]
}

# policies: the scheduling policy (field 41 of /proc/PID/task/TID/stat:
# 0 SCHED_OTHER, 5 SCHED_IDLE) of each of the daemon's threads, counted.
policies() {
    local t
    for t in /proc/"$VOLFS_PID"/task/*; do
        awk '{ print $41 }' "$t/stat"
    done | sort | uniq -c
}

@test "over io_uring: the queue threads run at SCHED_IDLE, the rest normally; VOLFS_FUSE_URING_IDLE=0 keeps them normal" {
    start_uring
    # four threads for each of the kernel's queues, one per possible CPU
    local last threads
    last=$(sed 's/.*[-,]//' /sys/devices/system/cpu/possible)
    threads=$(((last + 1) * 4))
    grep -q 'FUSE transport: uring (.*threads SCHED_IDLE)' "$VOLFS_LOG" || fail "$(grep transport "$VOLFS_LOG")"
    run policies
    assert_line --regexp "^ *$threads 5\$"
    assert_line --regexp '^ *[0-9]+ 0$'
    volfs_stop
    VOLFS_FUSE_URING_IDLE=0 volfs_launch --fuse-transport=uring
    wait_rings 'threads SCHED_OTHER'
    grep -q 'FUSE transport: uring (.*threads SCHED_OTHER)' "$VOLFS_LOG" || fail "$(grep transport "$VOLFS_LOG")"
    run policies
    refute_line --regexp ' 5$'
}

@test "over io_uring: buffered and O_DIRECT data verified, fsync and fdatasync" {
    start_uring
    run volctl version
    assert_line "FUSE Transport: uring"
    fio_verify seq-buffered --rw=write --bs=1M
    fio_verify rand-buffered --rw=randwrite --fsync=8
    fio_verify seq-direct --rw=write --direct=1 --bs=1M
    fio_verify rand-direct --rw=randwrite --direct=1 --fdatasync=4
    fio_verify rand-uring --rw=randwrite --direct=1 --ioengine=io_uring --iodepth=32
    # 1 MiB requests fill the entries' payload buffers: a reference copy
    dd if=/dev/urandom of="$VOLFS_TMP/ref" bs=1M count=8 status=none
    dd if="$VOLFS_TMP/ref" of="$V/big" bs=4M oflag=direct conv=fsync status=none
    cmp "$VOLFS_TMP/ref" "$V/big"
    dd if="$V/big" of="$VOLFS_TMP/back" bs=4M iflag=direct status=none
    cmp "$VOLFS_TMP/ref" "$VOLFS_TMP/back"
    # and across a restart
    volfs_stop
    volfs_launch --fuse-transport=uring
    cmp "$VOLFS_TMP/ref" "$V/big"
}

@test "over io_uring: many files created, renamed, listed and unlinked; xattrs" {
    start_uring
    local i
    mkdir "$V/d"
    for ((i = 0; i < 500; i++)); do
        echo "$i" >"$V/d/f$i"
    done
    for ((i = 0; i < 500; i += 2)); do
        mv "$V/d/f$i" "$V/d/g$i"
    done
    [ "$(find "$V/d" -type f | wc -l)" = 500 ]
    [ "$(find "$V/d" -name 'g*' | wc -l)" = 250 ]
    [ "$(cat "$V/d/g42")" = 42 ]
    [ "$(cat "$V/d/f43")" = 43 ]
    rm "$V"/d/g*
    [ "$(ls "$V/d" | wc -l)" = 250 ]
    setfattr -n user.colour -v blue "$V/d/f1"
    [ "$(getfattr --only-values -n user.colour "$V/d/f1")" = blue ]
    run getfattr -d "$V/d/f1"
    assert_output --partial 'user.colour="blue"'
    setfattr -x user.colour "$V/d/f1"
    run getfattr -n user.colour "$V/d/f1"
    assert_failure
    rm -r "$V/d"
    [ -z "$(ls "$V")" ]
}

@test "over io_uring: a snapshot's view keeps the old contents" {
    start_uring
    dd if=/dev/urandom of="$V/f" bs=1M count=4 status=none
    cp "$V/f" "$VOLFS_TMP/old"
    volctl snapshot pv/vol s1 >/dev/null
    dd if=/dev/urandom of="$V/f" bs=1M count=1 seek=1 conv=notrunc status=none
    cmp "$VOLFS_TMP/old" "$MNT/snapshots/default/s1/f"
    ! cmp -s "$VOLFS_TMP/old" "$V/f"
}

@test "over io_uring: ENOSPC at the capacity reaches write(2)" {
    start_uring
    dd if=/dev/urandom of="$V/full" bs=1M count=256 conv=fsync status=none
    run dd if=/dev/urandom of="$V/more" bs=4096 count=1 conv=fsync status=none
    assert_failure
    assert_output --partial 'No space left on device'
    run dd if=/dev/urandom of="$V/more2" bs=4096 count=1 oflag=direct status=none
    assert_failure
    assert_output --partial 'No space left on device'
}

@test "over io_uring: concurrent writers, verified" {
    start_uring
    fio_verify concurrent --rw=randwrite --direct=1 --ioengine=io_uring --iodepth=16 --numjobs=4 --size=16M
    fio_verify concurrent-buffered --rw=randwrite --numjobs=4 --size=16M
}

@test "over io_uring: shutdown with a writer running, kill -9 with one, restart and a clean --check" {
    start_uring
    start_writer "$V/w"
    volfs_stop
    wait "$WRITER" || true
    volfs_launch --fuse-transport=uring
    dd if=/dev/urandom of="$VOLFS_TMP/ref" bs=1M count=2 status=none
    dd if="$VOLFS_TMP/ref" of="$V/kept" bs=1M conv=fsync status=none
    start_writer "$V/w2"
    volfs_kill9
    wait "$WRITER" || true
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    volfs_launch --fuse-transport=uring
    cmp "$VOLFS_TMP/ref" "$V/kept"
    (($(requests_via uring) > 0)) || fail "after the restart nothing came through the rings"
}

@test "over io_uring: a shutdown while a file is held open exits in seconds, the file's contents kept" {
    start_uring
    echo held >"$V/held"
    sleep 1000 <"$V/held" 3>&- &
    local reader=$!
    volfs_track_pid "$reader"
    hold_dirty "$V/written" 3000000
    volctl shutdown >/dev/null
    # The connection is aborted after the write-back: the rings' entries
    # end at once, not when the holders close their files.
    volfs_await_exit 5
    kill "$reader" "$HOLDER"
    wait "$reader" "$HOLDER" || true
    volfs_launch --fuse-transport=uring
    [ "$(cat "$V/held")" = held ]
    cmp "$VOLFS_TMP/ref" "$V/written"
}

@test "over io_uring: writers killed by signals mid-write leave the daemon serving" {
    start_uring
    local i pid
    for ((i = 0; i < 10; i++)); do
        # 1 MiB requests, several in flight when the INT comes (the same
        # file overwritten: no new space each time).
        dd if=/dev/zero of="$V/intr" bs=32M count=4 oflag=direct conv=notrunc status=none 3>&- &
        pid=$!
        sleep "0.$((i % 4))"
        kill -INT "$pid" 2>/dev/null || true
        wait "$pid" || true
    done
    dd if=/dev/urandom of="$VOLFS_TMP/ref" bs=1M count=4 status=none
    dd if="$VOLFS_TMP/ref" of="$V/after" bs=1M oflag=direct status=none
    cmp "$VOLFS_TMP/ref" "$V/after"
    volfs_stop
}

@test "over io_uring: a handler that returns without replying has its request answered EIO, logged; the daemon keeps serving" {
    fault_build noreply:1@unanswered
    start_uring
    # Without the transport's answer the mkdir would wait for ever (and
    # uninterruptibly once a signal came): given 60 s, then a failure.
    mkdir "$V/unanswered" 2>"$VOLFS_TMP/mkdir.err" 3>&- &
    local pid=$! i
    volfs_track_pid "$pid"
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        fail "mkdir was never answered"
    fi
    if wait "$pid"; then
        fail "mkdir succeeded"
    fi
    grep -q 'Input/output error' "$VOLFS_TMP/mkdir.err" || fail "mkdir: $(cat "$VOLFS_TMP/mkdir.err")"
    grep -qF 'fault injection: mkdir unanswered (io_uring) returns without replying' "$VOLFS_LOG"
    grep -q 'io_uring: request [0-9]* (opcode 9) was not answered; answering EIO' "$VOLFS_LOG"
    [ ! -e "$V/unanswered" ]
    serves_on_rings after
    mkdir "$V/unanswered"
    volfs_stop
}

@test "over io_uring: a request held in the daemon gets the kernel's INTERRUPT when its caller is killed" {
    fault_build hold:1@held
    start_uring
    mkdir "$V/held" 3>&- &
    local pid=$!
    volfs_track_pid "$pid"
    # Once held, the request is in a ring entry and the kernel has marked
    # it sent: a signal now makes the kernel queue an INTERRUPT on
    # /dev/fuse, which libfuse matches to the ring request by its unique.
    wait_log 'fault injection: holding mkdir held (io_uring) until interrupted'
    kill -KILL "$pid"
    # A killed caller waits (uninterruptibly) for the answer, which the
    # hook gives as soon as it sees the interrupt, or after 60 s without.
    wait "$pid" || true
    grep -qF 'fault injection: mkdir held (io_uring) interrupted' "$VOLFS_LOG" ||
        fail "no INTERRUPT reached the held ring request: $(grep 'fault injection' "$VOLFS_LOG")"
    [ ! -e "$V/held" ]
    serves_on_rings after
    volfs_stop
}

@test "over io_uring: a caught signal interrupts a held request, which fails with EINTR" {
    fault_build hold:1@held
    start_uring
    # A process with a SIGUSR1 handler makes the directory with libc's
    # mkdir(2) (Python's os.mkdir would retry on EINTR); the signal does not
    # end it, so the answer reaches the call.
    "$PY" -c '
import ctypes, errno, os, signal, sys
signal.signal(signal.SIGUSR1, lambda *_: None)
libc = ctypes.CDLL(None, use_errno=True)
r = libc.mkdir(os.fsencode(sys.argv[1]), 0o755)
print("made" if r == 0 else errno.errorcode[ctypes.get_errno()])
' "$V/held" >"$VOLFS_TMP/mkdir.out" 3>&- &
    local pid=$!
    volfs_track_pid "$pid"
    wait_log 'fault injection: holding mkdir held (io_uring) until interrupted'
    kill -USR1 "$pid"
    wait "$pid"
    grep -qF 'fault injection: mkdir held (io_uring) interrupted' "$VOLFS_LOG"
    [ "$(cat "$VOLFS_TMP/mkdir.out")" = EINTR ]
    serves_on_rings after
    volfs_stop
}
