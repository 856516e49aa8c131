#!/usr/bin/env bats
# Fault injection: the fault-injection build (make fault, build/fault/bin,
# see meta/fault.h) fails the Nth host write, fsync, SQLite step or checked
# allocation. For each kind, N is swept over the calls a fixed workload
# makes (create a volume, write and fsync files, snapshot, write more,
# delete a volume); each round then checks that
#   - the daemon did not crash: it served until shutdown, or exited with a
#     status rather than a signal, and no sanitizer reported anything;
#   - `volfs --check` is clean afterwards;
#   - everything the workload was told succeeded is there after a restart
#     with the normal build: each acknowledged file with its content, the
#     snapshot with what it held, the deleted volume gone.
# A failure the daemon absorbed (retried, or reported to the operation
# that then did not count as acknowledged) is fine; one it hid is lost
# data and fails the round.
#
#   VOLFS_FAULT_BIN   the fault build (default VOLFS_BIN/../../fault/bin)
#   FAULT_ROUNDS      rounds per kind (default 12), spread over 1..calls
#   FAULT_SQLITE_ROUNDS  rounds of the SQLite sweep (default 24: its calls are
#                     ten times the others', and it found the most)
#   FAULT_N           run only the round that fails call N (to reproduce one)

# shellcheck disable=SC2154 # STATE, MNT, PY, ... come from helpers.bash
# Each sweep is a dozen daemon starts and restarts.
: "${BATS_TEST_TIMEOUT:=900}"
load helpers

: "${VOLFS_FAULT_BIN:=$VOLFS_BIN/../../fault/bin}"
VOLFS_FAULT_BIN=$(realpath -m "$VOLFS_FAULT_BIN")
: "${FAULT_ROUNDS:=12}"
: "${FAULT_SQLITE_ROUNDS:=24}"

setup() {
    [[ -x $VOLFS_FAULT_BIN/volfs ]] || skip "no fault-injection build in $VOLFS_FAULT_BIN (make fault)"
    local i
    volfs_dirs
    ROOT_TMP=$VOLFS_TMP
    for i in 1 2 3 4 5; do
        head -c $((64 * 1024 + i * 4096)) /dev/urandom >"$ROOT_TMP/src$i"
    done
    # a small file (inline data) and what makes it spill into a data object
    head -c 500 /dev/urandom >"$ROOT_TMP/small"
    head -c 3000 /dev/urandom >"$ROOT_TMP/grow"
    cat "$ROOT_TMP/small" "$ROOT_TMP/grow" >"$ROOT_TMP/grown"
}

teardown() {
    VOLFS_TMP=$ROOT_TMP
    volfs_teardown
}

# new_round NAME: fresh STATE, MNT and log under ROOT_TMP/NAME.
new_round() {
    mkdir -p "$ROOT_TMP/$1"
    STATE=$ROOT_TMP/$1/state MNT=$ROOT_TMP/$1/mnt VOLFS_LOG=$ROOT_TMP/$1/volfs.log
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    ACKED=$ROOT_TMP/$1/acked
    : >"$ACKED"
}

# fault_launch SPEC: start the fault build with VOLFS_FAULT=SPEC. True when it
# mounted; false when it exited first (status in LAUNCH_STATUS).
fault_launch() {
    LAUNCH_STATUS=0
    echo "=== VOLFS_FAULT=$1" >>"$VOLFS_LOG"
    VOLFS_FAULT=$1 VOLFS_FAULT_COUNT=1 "$VOLFS_FAULT_BIN/volfs" -f --state "$STATE" "$MNT" \
        </dev/null >>"$VOLFS_LOG" 2>&1 3>&- &
    VOLFS_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        mountpoint -q "$MNT" 2>/dev/null && [[ -S $STATE/control.sock ]] && return 0
        if ! kill -0 "$VOLFS_PID" 2>/dev/null; then
            wait "$VOLFS_PID" || LAUNCH_STATUS=$?
            VOLFS_PID=''
            return 1
        fi
        sleep 0.1
    done
    fail "the fault build did not mount or exit within 30 s; log: $(tail -n 20 "$VOLFS_LOG")"
}

# step WHAT CMD...: run a workload step; record WHAT as acknowledged if it
# succeeded (a failure is allowed: the workload goes on).
step() {
    local what=$1
    shift
    if timeout 60 "$@" >>"$VOLFS_LOG" 2>&1; then
        echo "$what" >>"$ACKED"
    fi
}

# put_file I [dd conv flags]: write src I as pv/v1/fI with fsync.
put_file() {
    step "file f$1" dd if="$ROOT_TMP/src$1" of="$MNT/pv/v1/f$1" bs=16k conv=fsync status=none
}

# workload: every step runs whatever failed before it; each success is
# recorded in ACKED.
workload() {
    step "pv v1" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi
    step "pv v2" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v2 --capacity 16Mi
    put_file 1
    put_file 2
    put_file 3
    step "small s" dd if="$ROOT_TMP/small" of="$MNT/pv/v1/s" bs=16k conv=fsync status=none
    step "small s grown" dd if="$ROOT_TMP/grow" of="$MNT/pv/v1/s" bs=16k oflag=append \
        conv=fsync,notrunc status=none
    step "snapshot s1" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" snapshot pv/v1 s1
    put_file 4
    step "file f1 5" dd if="$ROOT_TMP/src5" of="$MNT/pv/v1/f1" bs=16k conv=fsync,notrunc status=none
    step "deleted v2" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" delete pv v2
}

# stop_fault_daemon: shutdown; a daemon that died of a signal, hung, or
# left sanitizer reports fails the round.
stop_fault_daemon() {
    [[ -n $VOLFS_PID ]] || return 0
    local status=0 i
    timeout 30 "$VOLFS_FAULT_BIN/volctl" --state "$STATE" shutdown >>"$VOLFS_LOG" 2>&1 ||
        fusermount3 -u "$MNT" >>"$VOLFS_LOG" 2>&1 || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$VOLFS_PID" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$VOLFS_PID" 2>/dev/null; then
        kill -9 "$VOLFS_PID"
        wait "$VOLFS_PID" 2>/dev/null
        VOLFS_PID=''
        fusermount3 -u -z "$MNT" 2>/dev/null || true
        fail "$ROUND: the daemon did not exit within 30 s of shutdown; log: $(tail -n 20 "$VOLFS_LOG")"
    fi
    wait "$VOLFS_PID" || status=$?
    VOLFS_PID=''
    ((status < 128)) || fail "$ROUND: the daemon died of signal $((status - 128)); log: $(tail -n 30 "$VOLFS_LOG")"
    is_mounted "$MNT" && fusermount3 -u -z "$MNT" 2>/dev/null
    true
}

no_sanitizer_reports() {
    local san
    if san=$(sanitizer_reports); then
        mkdir -p "$ROOT_TMP/san-seen"
        mv "$ROOT_TMP"/san/* "$ROOT_TMP/san-seen/" 2>/dev/null || true
        fail "$ROUND: sanitizer reports: $san"
    fi
}

# blocks_of FILE OLD NEW: FILE is at least as long as OLD and each of its
# 4 KiB blocks is OLD's or NEW's block at that offset.
blocks_of() {
    "$PY" - "$@" <<'PYEOF'
import sys
f, old, new = (open(p, "rb").read() for p in sys.argv[1:4])
ok = len(f) >= len(old) and all(f[i:i + 4096] in (old[i:i + 4096], new[i:i + 4096])
                                for i in range(0, len(f), 4096))
sys.exit(0 if ok else 1)
PYEOF
}

# verify_acked: with the normal build, every acknowledged effect is there.
verify_acked() {
    local what i
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    while read -r what; do
        case $what in
        "pv v1") [[ -d $MNT/pv/v1 ]] || fail "$ROUND: acknowledged pv v1 is gone" ;;
        "file f"[2-4]) cmp -s "$ROOT_TMP/src${what#file f}" "$MNT/pv/v1/${what#file }" ||
            fail "$ROUND: acknowledged ${what#file } differs or is gone" ;;
        "file f1")
            # f1 is overwritten by src5 later; a failed overwrite may have
            # written part of it
            grep -qx "file f1 5" "$ACKED" || blocks_of "$MNT/pv/v1/f1" "$ROOT_TMP/src1" "$ROOT_TMP/src5" ||
                fail "$ROUND: acknowledged f1 is gone or holds blocks of neither write" ;;
        "file f1 5") cmp -s "$ROOT_TMP/src5" "$MNT/pv/v1/f1" || fail "$ROUND: acknowledged rewrite of f1 differs" ;;
        "snapshot s1")
            [[ -d $MNT/snapshots/default/s1 ]] || fail "$ROUND: acknowledged snapshot s1 is gone"
            for i in 1 2 3; do
                grep -qx "file f$i" "$ACKED" || continue
                cmp -s "$ROOT_TMP/src$i" "$MNT/snapshots/default/s1/f$i" ||
                    fail "$ROUND: snapshot s1's f$i differs from what was acknowledged before it"
            done ;;
        "deleted v2") [[ ! -e $MNT/pv/v2 ]] || fail "$ROUND: deleted pv v2 is back" ;;
        "small s")
            # a failed append may have added part of it
            cmp -s "$ROOT_TMP/small" <(head -c 500 "$MNT/pv/v1/s") ||
                fail "$ROUND: acknowledged small file s differs or is gone" ;;
        "small s grown")
            # the append made s if its first write failed before that
            cmp -s "$ROOT_TMP/grown" "$MNT/pv/v1/s" ||
                { ! grep -qx "small s" "$ACKED" && cmp -s "$ROOT_TMP/grow" "$MNT/pv/v1/s"; } ||
                fail "$ROUND: acknowledged spill of s differs" ;;
        esac
    done <"$ACKED"
    volfs_stop
}

# note_hit [KIND]: ROUND_HIT is 1 when the round's log shows a call (of
# KIND) failed by injection, else 0.
note_hit() {
    ROUND_HIT=0
    grep -q "fault injection: failing ${1:-}" "$VOLFS_LOG" && ROUND_HIT=1
    true
}

# restarted_holds EXPECT FILE WHY DIR: after a restart with the normal
# build FILE holds EXPECT's bytes (else the round failed: WHY); stopped,
# volfs --check is clean; ROOT_TMP/DIR goes.
restarted_holds() {
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    cmp "$1" "$2" >&2 || fail "$ROUND: $3"
    volfs_stop
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr"
    rm -rf --one-file-system "${ROOT_TMP:?}/$4"
}

# round SPEC [DIR]: one run with VOLFS_FAULT=SPEC and its checks, under
# ROOT_TMP/DIR (default: SPEC's letters and digits; a long SPEC needs a
# shorter DIR, or the control socket's path is too long). With
# ROUND_LOG_MUST set, the daemon's log must hold that text.
round() {
    ROUND=$1
    local dir=${2:-${1//[^a-z0-9]/-}}
    new_round "$dir"
    if fault_launch "$1"; then
        workload
        stop_fault_daemon
    else
        # it refused to start: cleanly, with a status and a message
        ((LAUNCH_STATUS < 128)) || fail "$ROUND: the daemon died of signal $((LAUNCH_STATUS - 128)) at start; log: $(tail -n 30 "$VOLFS_LOG")"
    fi
    no_sanitizer_reports
    note_hit
    if [[ -n ${ROUND_LOG_MUST:-} ]] && ! grep -q "$ROUND_LOG_MUST" "$VOLFS_LOG"; then
        fail "$ROUND: the log never said \"$ROUND_LOG_MUST\""
    fi
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr; log: $(tail -n 30 "$VOLFS_LOG")"
    verify_acked
    no_sanitizer_reports
    rm -rf --one-file-system "${ROOT_TMP:?}/$dir"
}

# calls KIND: how many calls of KIND the workload makes, from a run without
# faults.
calls() {
    new_round "count-$1"
    fault_launch "" || fail "the fault build did not start without faults; log: $(tail -n 20 "$VOLFS_LOG")"
    workload
    stop_fault_daemon
    [[ $(wc -l <"$ACKED") -eq 9 ]] || fail "without faults the workload did not succeed: $(cat "$ACKED")"
    sed -n "s/.*fault injection: calls:.* $1=\([0-9]*\).*/\1/p" "$VOLFS_LOG" | tail -1
}

# sweep KIND [ROUNDS]: ROUNDS (FAULT_ROUNDS) rounds (at most one per call)
# with N spread over 1..calls. Most rounds must have hit their fault, or the
# sweep proves nothing.
sweep() {
    # not "i": bats' run (its version check) sets a global i
    local total n rounds hit=0 sweep_round want=${2:-$FAULT_ROUNDS}
    total=$(calls "$1")
    [[ $total -gt 0 ]] || fail "the workload made no $1 calls"
    rounds=$((want < total ? want : total))
    if [[ -n ${FAULT_N:-} ]]; then
        round "$1:$FAULT_N"
        return
    fi
    for ((sweep_round = 0; sweep_round < rounds; sweep_round++)); do
        n=$((1 + sweep_round * total / rounds))
        round "$1:$n"
        ((ROUND_HIT)) && hit=$((hit + 1))
    done
    echo "# $1: $total calls in the workload, $rounds rounds, $hit hit their fault" >&3
    ((hit * 2 >= rounds)) || fail "only $hit of $rounds rounds failed a $1 call"
}

@test "the Nth host write fails: nothing acknowledged is lost" {
    sweep write
}

@test "the Nth fsync fails: nothing acknowledged is lost" {
    sweep fsync
}

@test "the Nth SQLite step fails: nothing acknowledged is lost" {
    sweep sqlite "$FAULT_SQLITE_ROUNDS"
}

@test "a failed look-up of a volume's tree never gives the volume a new, empty one" {
    # The controller looks up each volume's tree on every pass (the pass
    # after `delete pv v2` among them); a failed step once read as "no
    # tree yet" and v1 got a fresh empty tree, its files orphaned.
    local n
    for n in 1 2 3 4 5 6; do
        round "sqlite:$n@SELECT tree FROM objects WHERE kind"
    done
}

@test "a failed read of a deleted volume's rows never drops its lineage with rows in it" {
    # The reclaimer reads a released lineage's rows a batch at a time; a
    # failed step once read as "no rows left", the lineage was dropped
    # and its rows were left in none (volfs --check fails).
    local n
    for n in 1 2; do
        round "sqlite:$n@SELECT i.family, i.ino, '', coalesce"
        ((ROUND_HIT)) || fail "sqlite:$n on the reclaimer's inode rows was never hit"
        round "sqlite:$n@SELECT id FROM dentries WHERE lineage"
    done
}

# fault_volume_round SPEC DIR: a fresh round in ROOT_TMP/DIR on the fault
# build with VOLFS_FAULT=SPEC, with pv v1 holding f1 and f2 (src1, src2).
fault_volume_round() {
    ROUND=$1
    new_round "$2"
    fault_launch "$1" || fail "$ROUND: the fault build did not start; log: $(tail -n 20 "$VOLFS_LOG")"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi >>"$VOLFS_LOG" 2>&1 ||
        fail "$ROUND: create pv failed; log: $(tail -n 20 "$VOLFS_LOG")"
    cp "$ROOT_TMP/src1" "$MNT/pv/v1/f1"
    cp "$ROOT_TMP/src2" "$MNT/pv/v1/f2"
}

# kept_round SPEC: on the fault build with VOLFS_FAULT=SPEC, snapshots s1,
# s2 and s3 of a volume changed between each, then s1 and s2 deleted
# (the oldest first: s1's rows are kept for s2, then s2's join them).
# After a restart with the normal build and the reclaim done, volfs
# --check is clean and s3 and the volume show what they showed.
kept_round() {
    local dir=${1//[^a-z0-9]/-} v s3 i
    fault_volume_round "$1" "$dir"
    v=$MNT/pv/v1 s3=$MNT/snapshots/default/s3
    for i in 1 2 3; do
        "$VOLFS_FAULT_BIN/volctl" --state "$STATE" snapshot pv/v1 "s$i" >>"$VOLFS_LOG" 2>&1 ||
            fail "$ROUND: snapshot s$i failed; log: $(tail -n 20 "$VOLFS_LOG")"
        case $i in
        1) cp "$ROOT_TMP/src3" "$v/f1" ;;
        2) rm "$v/f2" && cp "$ROOT_TMP/src4" "$v/f3" ;;
        3) cp "$ROOT_TMP/src5" "$v/f1" ;;
        esac
    done
    sync -f "$v"
    step "deleted s1" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" delete vs s1
    step "deleted s2" "$VOLFS_FAULT_BIN/volctl" --state "$STATE" delete vs s2
    sleep 2 # the reclaimer's first steps, with the fault among them
    stop_fault_daemon
    no_sanitizer_reports
    note_hit
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    wait_reclaimed
    cmp -s "$ROOT_TMP/src3" "$s3/f1" || fail "$ROUND: snapshot s3 lost f1"
    cmp -s "$ROOT_TMP/src4" "$s3/f3" || fail "$ROUND: snapshot s3 lost f3"
    [[ ! -e $s3/f2 ]] || fail "$ROUND: removed f2 is back in s3"
    cmp -s "$ROOT_TMP/src5" "$v/f1" || fail "$ROUND: the volume lost f1"
    cmp -s "$ROOT_TMP/src4" "$v/f3" || fail "$ROUND: the volume lost f3"
    [[ ! -e $v/f2 ]] || fail "$ROUND: removed f2 is back in the volume"
    volfs_stop
    no_sanitizer_reports
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr; log: $(tail -n 30 "$VOLFS_LOG")"
    rm -rf --one-file-system "${ROOT_TMP:?}/$dir"
}

@test "a failed read while deleted snapshots' rows are kept or merged never drops a row someone sees" {
    # Deleting the oldest snapshot keeps its rows for the next one and
    # deletes only the versions that one shadows; deleting the next joins
    # its rows to the kept ones. A failed read there must roll the step
    # back, never read as "no row" (a visible row dropped, or a lineage
    # left with rows in none).
    local n spec hits=0
    for spec in "SELECT c.family, c.ino, '', k.lineage" "SELECT x.family, x.ino, '', x.whiteout"; do
        for n in 1 2; do
            kept_round "sqlite:$n@$spec"
            hits=$((hits + ROUND_HIT))
        done
    done
    ((hits >= 2)) || fail "only $hits rounds hit their fault"
}

# rounds_hit ROUND SPEC...: ROUND "sqlite:1@SPEC" for each SPEC (a round
# function); each must hit its fault.
rounds_hit() {
    local round=$1 spec
    shift
    for spec in "$@"; do
        "$round" "sqlite:1@$spec"
        ((ROUND_HIT)) || fail "sqlite:1@$spec was never hit"
    done
}

# stop_checked_restart: the fault build stops (no sanitizer report; whether
# its fault was hit noted), volfs --check is clean, and the normal build
# starts on the state directory.
stop_checked_restart() {
    stop_fault_daemon
    no_sanitizer_reports
    note_hit
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr; log: $(tail -n 30 "$VOLFS_LOG")"
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
}

# removal_round SPEC: on the fault build with VOLFS_FAULT=SPEC, remove a
# file and an xattr that snapshot s1 also holds, and a file written after
# it. Then volfs --check is clean, and after a restart with the normal
# build each acknowledged removal holds and s1 still has what it had.
removal_round() {
    local dir=${1//[^a-z0-9]/-} v s1
    fault_volume_round "$1" "$dir"
    v=$MNT/pv/v1 s1=$MNT/snapshots/default/s1
    "$PY" -c 'import os, sys; os.setxattr(sys.argv[1], "user.a", b"kept")' "$v/f2"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" snapshot pv/v1 s1 >>"$VOLFS_LOG" 2>&1 ||
        fail "$ROUND: snapshot failed; log: $(tail -n 20 "$VOLFS_LOG")"
    cp "$ROOT_TMP/src3" "$v/f3"
    step "removed f1" rm "$v/f1"
    step "removed f3" rm "$v/f3"
    step "removed user.a" "$PY" -c 'import os, sys; os.removexattr(sys.argv[1], "user.a")' "$v/f2"
    stop_checked_restart
    if grep -qx "removed f1" "$ACKED"; then
        [[ ! -e $v/f1 ]] || fail "$ROUND: removed f1 is back"
    fi
    if grep -qx "removed f3" "$ACKED"; then
        [[ ! -e $v/f3 ]] || fail "$ROUND: removed f3 is back"
    fi
    if grep -qx "removed user.a" "$ACKED"; then
        ! "$PY" -c 'import os, sys; os.getxattr(sys.argv[1], "user.a")' "$v/f2" 2>/dev/null ||
            fail "$ROUND: removed xattr user.a is back"
    fi
    cmp -s "$ROOT_TMP/src1" "$s1/f1" || fail "$ROUND: snapshot s1 lost f1"
    [[ $("$PY" -c 'import os, sys; print(os.getxattr(sys.argv[1], "user.a").decode())' "$s1/f2") == kept ]] ||
        fail "$ROUND: snapshot s1 lost f2's xattr"
    volfs_stop
    no_sanitizer_reports
    rm -rf --one-file-system "${ROOT_TMP:?}/$dir"
}

@test "a failed read while removing a name, inode or xattr never brings back the snapshot's or keeps its data" {
    # Whether an ancestor (a snapshot) holds a version decides between
    # deleting the volume's own version and hiding the ancestor's; a failed
    # read once meant "none", and the snapshot's name, inode or xattr
    # showed through again. A failed read of the removed inode's own data
    # object left that object referenced for ever.
    rounds_hit removal_round "d.name=?3 AND d.lineage<?4" "i.ino=?2 AND i.lineage<?3" \
        "SELECT obj FROM inodes WHERE family=?" "x.name=?3 AND x.lineage<?4"
}

# settle_round SPEC: on the fault build with VOLFS_FAULT=SPEC, a volume
# whose only snapshot s1 was deleted (its rows kept above the volume's)
# writes over the kept versions: f1 rewritten and given a new xattr,
# f2's xattr removed and f2 renamed, f3 removed. Then volfs --check is
# clean and, after a restart with the normal build, each acknowledged
# step holds and every other one left things as they were.
settle_round() {
    # numbered: a directory named after the spec makes too long a socket path
    SETTLE_ROUNDS=$((${SETTLE_ROUNDS:-0} + 1))
    local dir=settle$SETTLE_ROUNDS v py_get='import os, sys; print(os.getxattr(sys.argv[1], sys.argv[2]).decode())'
    local py_set='import os, sys; os.setxattr(sys.argv[1], sys.argv[2], sys.argv[3].encode())'
    fault_volume_round "$1" "$dir"
    v=$MNT/pv/v1
    cp "$ROOT_TMP/src4" "$v/f3"
    "$PY" -c "$py_set" "$v/f1" user.a old
    "$PY" -c "$py_set" "$v/f2" user.b old
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" snapshot pv/v1 s1 >>"$VOLFS_LOG" 2>&1 &&
        "$VOLFS_FAULT_BIN/volctl" --state "$STATE" delete vs s1 >>"$VOLFS_LOG" 2>&1 ||
        fail "$ROUND: snapshot or its deletion failed; log: $(tail -n 20 "$VOLFS_LOG")"
    step "wrote f1" dd if="$ROOT_TMP/src3" of="$v/f1" bs=16k conv=fsync status=none
    step "set user.a" "$PY" -c "$py_set" "$v/f1" user.a new
    step "removed user.b" "$PY" -c 'import os, sys; os.removexattr(sys.argv[1], "user.b")' "$v/f2"
    step "renamed f2" mv "$v/f2" "$v/g2"
    step "removed f3" rm "$v/f3"
    stop_checked_restart
    wait_reclaimed
    local f2=$v/f2
    if grep -qx "renamed f2" "$ACKED"; then
        f2=$v/g2
        [[ ! -e $v/f2 ]] || fail "$ROUND: renamed f2 is still there"
    fi
    cmp -s "$ROOT_TMP/src2" "$f2" || fail "$ROUND: f2 lost its data"
    if grep -qx "wrote f1" "$ACKED"; then
        cmp -s "$ROOT_TMP/src3" "$v/f1" || fail "$ROUND: the rewrite of f1 was lost"
    fi
    [[ $("$PY" -c "$py_get" "$v/f1" user.a) == $(grep -qx "set user.a" "$ACKED" && echo new || echo old) ]] ||
        fail "$ROUND: f1's xattr is not what was acknowledged"
    if grep -qx "removed user.b" "$ACKED"; then
        ! "$PY" -c "$py_get" "$f2" user.b 2>/dev/null || fail "$ROUND: removed xattr user.b is back"
    else
        [[ $("$PY" -c "$py_get" "$f2" user.b) == old ]] || fail "$ROUND: f2 lost its xattr"
    fi
    if grep -qx "removed f3" "$ACKED"; then
        [[ ! -e $v/f3 ]] || fail "$ROUND: removed f3 is back"
    else
        cmp -s "$ROOT_TMP/src4" "$v/f3" || fail "$ROUND: f3 lost its data"
    fi
    volfs_stop
    no_sanitizer_reports
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check after the restart: $output $stderr"
    rm -rf --one-file-system "${ROOT_TMP:?}/$dir"
}

@test "a failed step while a volume settles its deleted snapshot's kept versions loses no write and brings nothing back" {
    # A volume's writes over the rows its last deleted snapshot left above
    # it move or drop those versions in the same change: a failed step
    # there rolls the whole change back.
    rounds_hit settle_round "AND ?3=(SELECT kp_.id" "ino=?2 AND lineage=(SELECT kp_.id" \
        "parent=?2 AND name=?3 AND lineage=(SELECT kp_.id" "ino=?2 AND name=?3 AND lineage=(SELECT kp_.id"
}

@test "a failed read in volfs --check is never reported as clean" {
    # Each check reads its rows in a loop: a failed step once ended the
    # loop as if every row had been read, and the check passed.
    local spec
    ROUND=check
    new_round check
    fault_launch "" || fail "the fault build did not start; log: $(tail -n 20 "$VOLFS_LOG")"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi >>"$VOLFS_LOG" 2>&1
    cp "$ROOT_TMP/src1" "$MNT/pv/v1/f1"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" snapshot pv/v1 s1 >>"$VOLFS_LOG" 2>&1
    cp "$ROOT_TMP/src2" "$MNT/pv/v1/f2"
    stop_fault_daemon
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "volfs --check before any fault: $output $stderr"
    for spec in "SELECT 'inode ' || family" "JOIN lineages l ON l.id=t.lineage ORDER BY t.id" \
        "FROM temp.check_names n WHERE NOT EXISTS" "LEFT JOIN temp.check_users i ON i.obj = d.id" \
        "points at missing object" "SELECT seq FROM sqlite_sequence"; do
        run --separate-stderr env VOLFS_FAULT="sqlite:1@$spec" "$VOLFS_FAULT_BIN/volfs" --check --state "$STATE"
        [[ $stderr == *"fault injection: failing sqlite call 1"* ]] || fail "sqlite:1@$spec was never hit: $stderr"
        ((status != 0)) || fail "volfs --check exited 0 though its read ($spec) failed: $output $stderr"
    done
    no_sanitizer_reports
}

# crash_then_round SPEC: the fault build crashes (as kill -9 would) right
# after the data flush of an appending fdatasync, so only the data file
# knows the new size and blocks; it restarts with VOLFS_FAULT=SPEC (it may
# refuse to start), then with the normal build: the fdatasynced bytes are
# all there and volfs --check is clean.
crash_then_round() {
    ROUND=$1
    local dir=${1//[^a-z0-9]/-}
    new_round "$dir"
    fault_launch "crash:1@fdatasync" || fail "$ROUND: the fault build did not start"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi >>"$VOLFS_LOG" 2>&1 ||
        fail "$ROUND: create pv failed; log: $(tail -n 20 "$VOLFS_LOG")"
    if "$PY" - "$MNT/pv/v1/f" "$ROOT_TMP/$dir/expect" >>"$VOLFS_LOG" 2>&1 <<'EOF'; then
import os, sys
a, b = os.urandom(5000), os.urandom(20000)
open(sys.argv[2], 'wb').write(a + b)
fd = os.open(sys.argv[1], os.O_CREAT | os.O_WRONLY, 0o644)
os.write(fd, a)
os.fdatasync(fd)  # the first one commits the new file
os.write(fd, b)
os.fdatasync(fd)  # the crash point: after its data flush
EOF
        fail "$ROUND: the fdatasync returned: no crash point was reached"
    fi
    wait "$VOLFS_PID" 2>/dev/null || true
    VOLFS_PID=''
    fusermount3 -u -z "$MNT" 2>/dev/null || true
    if fault_launch "$1"; then
        stop_fault_daemon
    else
        ((LAUNCH_STATUS < 128)) || fail "$ROUND: the daemon died of signal $((LAUNCH_STATUS - 128)) at start"
    fi
    no_sanitizer_reports
    note_hit sqlite
    restarted_holds "$ROOT_TMP/$dir/expect" "$MNT/pv/v1/f" \
        "a failed read while repairing at start lost fdatasynced bytes" "$dir"
}

@test "a failed read while repairing fdatasynced files at start never gives their blocks back" {
    # The start rebuilds each data object whose file is newer than its row
    # and then gives back host blocks no committed map refers to; an object
    # left out by a failed read (of the list, or of its row) lost its
    # fdatasynced blocks to that.
    local spec
    for spec in "SELECT id FROM dataobjs WHERE refs = 1" "SELECT parent"; do
        crash_then_round "sqlite:1@$spec"
        ((ROUND_HIT)) || fail "sqlite:1@$spec was never hit"
    done
}

@test "a failed read-back of a volume's lineage after a failed snapshot never leaves it writing to none" {
    # A snapshot moves its volume to a new lineage; when the snapshot's
    # change fails, the volume reads its lineage back from meta.db. A
    # failed read once left it at the rolled-back lineage, and f4 was
    # written into no lineage (volfs --check fails).
    round "sqlite:6@INSERT INTO objects(uid,sqlite:1@SELECT lineage FROM trees WHERE id" resync
    ((ROUND_HIT)) || fail "the snapshot's object row was never failed"
}

@test "a volume whose lineage cannot be read back refuses writes until it can" {
    # When every try at reading the lineage back fails, the volume may still
    # stand at the rolled-back lineage: its writes fail with EIO until the
    # flusher reads it back. They were once acknowledged into a lineage
    # that was gone (volfs --check: "f4 is in lineage 3 of ... none").
    local s="SELECT lineage FROM trees WHERE id"
    ROUND_LOG_MUST="it refuses changes (EIO) until it can" \
        round "sqlite:6@INSERT INTO objects(uid,sqlite:1@$s,sqlite:2@$s,sqlite:3@$s" resync3
    ((ROUND_HIT)) || fail "the snapshot's object row was never failed"
}

# admission_round SPEC DIR CMD...: with the normal build, a quota of 64Mi
# in namespace default and a 40Mi claim `small` under it; then on the
# fault build with VOLFS_FAULT=SPEC, volctl CMD... (recorded as "admitted"
# when it succeeds); the daemon stops cleanly and volfs --check is clean.
admission_round() {
    ROUND=$1
    local dir=$2
    shift 2
    new_round "$dir"
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    printf 'apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec:\n  hard: {requests.storage: 64Mi}\n' \
        >"$ROOT_TMP/$dir/quota.yaml"
    volctl apply -f "$ROOT_TMP/$dir/quota.yaml" >>"$VOLFS_LOG" 2>&1 || fail "$ROUND: the quota was refused"
    volctl create pvc small --size 40Mi >>"$VOLFS_LOG" 2>&1 || fail "$ROUND: the claim small was refused"
    volfs_stop
    fault_launch "$ROUND" || fail "$ROUND: the fault build did not start; log: $(tail -n 20 "$VOLFS_LOG")"
    step admitted "$VOLFS_FAULT_BIN/volctl" --state "$STATE" "$@"
    stop_fault_daemon
    no_sanitizer_reports
    note_hit
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr"
}

@test "a failed read of a namespace's quotas never admits a claim past them" {
    # Admission counts a namespace's claims against its quotas; a failed
    # read of the quotas once read as "none", and a claim past them was
    # stored.
    admission_round "sqlite:1@kind=? AND namespace=? ORDER BY" quota create pvc big --size 40Mi
    ((ROUND_HIT)) || fail "$ROUND was never hit"
    ! grep -qx admitted "$ACKED" || fail "$ROUND: a claim past the quota was admitted"
}

@test "a failed read of whether the built-in objects were made never brings back a deleted one" {
    # The daemon makes the default StorageClass once, on a fresh state
    # directory; a failed read of that record once read as "not yet", and
    # a class the operator had deleted came back at the next start.
    ROUND=bootstrap
    new_round bootstrap
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    volctl delete storageclass volfs >>"$VOLFS_LOG" 2>&1 || fail "cannot delete the default class"
    volfs_stop
    fault_launch "sqlite:1@FROM counters WHERE name='k8s_bootstrap'" ||
        fail "the fault build did not start; log: $(tail -n 20 "$VOLFS_LOG")"
    stop_fault_daemon
    no_sanitizer_reports
    grep -q "fault injection: failing sqlite call 1" "$VOLFS_LOG" || fail "the read was never failed"
    volfs_launch
    run volctl get storageclass volfs
    assert_failure
    volfs_stop
}

# memory_round SPEC DIR: with the normal build, a pod with a memory
# emptyDir holding a file, stopped; then the fault build starts with
# VOLFS_FAULT=SPEC: it refuses to start, or the emptyDir is there again,
# empty. volfs --check is clean afterwards.
memory_round() {
    ROUND=$1
    local scratch
    new_round "$2"
    scratch=$MNT/pods/default/cache/scratch
    VOLFS_TMP=$ROOT_TMP
    volfs_launch
    printf '%s\n' 'apiVersion: v1' 'kind: Pod' 'metadata: {name: cache}' 'spec:' \
        '  containers: [{name: app, image: busybox, volumeMounts: [{name: scratch, mountPath: /s}]}]' \
        '  volumes: [{name: scratch, emptyDir: {medium: Memory, sizeLimit: 4Mi}}]' >"$ROOT_TMP/$2/pod.yaml"
    volctl apply -f "$ROOT_TMP/$2/pod.yaml" >>"$VOLFS_LOG" 2>&1 || fail "$ROUND: the pod was refused"
    echo gone >"$scratch/f"
    volfs_stop
    if fault_launch "$ROUND"; then
        run ls -A "$scratch"
        [[ -z $output ]] || fail "$ROUND: the memory emptyDir kept the names of the last run: $output"
        stop_fault_daemon
    else
        ((LAUNCH_STATUS < 128)) || fail "$ROUND: the daemon died of signal $((LAUNCH_STATUS - 128)) at start"
    fi
    no_sanitizer_reports
    note_hit
    ((ROUND_HIT)) || fail "$ROUND was never hit"
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "$ROUND: volfs --check: $output $stderr"
}

@test "a failed read while emptying memory emptyDirs at start never keeps their names or data objects" {
    # A memory emptyDir starts empty: the start drops its rows and its
    # files' data objects. A failed read of the trees to empty once left
    # the names of the last run; of a tree's data objects, left them
    # referenced by nothing.
    memory_round "sqlite:1@SELECT t.lineage FROM trees t WHERE t.kind" memtrees
    memory_round "sqlite:1@SELECT obj FROM inodes WHERE lineage=? AND obj IS NOT NULL" memobjs
}

@test "the Nth checked allocation fails: nothing acknowledged is lost" {
    sweep alloc
}

@test "a failed look-up of an object's row fails the flush instead of dropping its changes" {
    # the first one is the flush of pv/v1/f1's new blocks (fsync or the
    # flusher): either the fsync reports the error, or a later flush
    # writes them
    round "sqlite:1@SELECT 1 FROM dataobjs WHERE id"
    ((ROUND_HIT)) || fail "no object-row look-up failed"
}

@test "a failed reread of reference counts fails the snapshot instead of sharing its files unseen" {
    # A snapshot raises the counts of its files' data objects in the rows,
    # then rereads them into the objects in memory; one left unread kept
    # its object unshared, and the next write changed the snapshot too.
    local n
    for n in 1 2 3 4; do
        round "sqlite:$n@SELECT refs FROM dataobjs WHERE id"
    done
}

@test "a failed change whose reread fails too leaves no stale attributes to use or write back" {
    # mkdir raises its parent's link count and times in memory, then the
    # write of the parent's row fails and so does the reread that would
    # undo them in memory: the parent kept nlink 3, stat showed it, and the
    # next change in the parent wrote it into the row (volfs --check: link
    # count 3, expected 2).
    ROUND="stale attributes"
    new_round stale
    fault_launch "sqlite:1@UPDATE inodes SET nlink,sqlite:1@SELECT i.nlink" ||
        fail "the fault build did not start; log: $(tail -n 20 "$VOLFS_LOG")"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi >>"$VOLFS_LOG" 2>&1 ||
        fail "create pv failed; log: $(tail -n 20 "$VOLFS_LOG")"
    run mkdir "$MNT/pv/v1/d"
    ((status != 0)) || fail "mkdir succeeded though the write of its parent's row failed"
    grep -q "failing sqlite call 1: SELECT i.nlink" "$VOLFS_LOG" ||
        fail "the reread after the failed mkdir did not fail; log: $(tail -n 20 "$VOLFS_LOG")"
    touch "$MNT/pv/v1/f"
    [ "$(stat -c %h "$MNT/pv/v1")" -eq 2 ] ||
        fail "the volume root shows $(stat -c %h "$MNT/pv/v1") links after a failed mkdir"
    [ ! -e "$MNT/pv/v1/d" ]
    stop_fault_daemon
    no_sanitizer_reports
    run --separate-stderr "$VOLFS_BIN/volfs" --check --state "$STATE"
    ((status == 0)) || fail "volfs --check: $output $stderr"
}

# kill_fault_daemon: kill -9 the fault build and clear its mount.
kill_fault_daemon() {
    kill -9 "$VOLFS_PID"
    wait "$VOLFS_PID" 2>/dev/null || true
    VOLFS_PID=''
    fusermount3 -u -z "$MNT" 2>/dev/null || true
}

# refsync_round SPEC: write f's first half and fsync it (either may fail
# under SPEC; a failed write is written again), then write its second half
# and fsync until one succeeds; kill -9; after a restart with the normal
# build the whole file is there.
refsync_round() {
    ROUND=$1
    new_round "${1//[^a-z0-9]/-}"
    head -c $((128 * 1024)) /dev/urandom >"$ROOT_TMP/whole"
    fault_launch "$1" || fail "$ROUND: the fault build did not start"
    "$VOLFS_FAULT_BIN/volctl" --state "$STATE" create pv v1 --capacity 64Mi >>"$VOLFS_LOG" 2>&1 ||
        fail "$ROUND: create pv failed; log: $(tail -n 20 "$VOLFS_LOG")"
    "$PY" - "$ROOT_TMP/whole" "$MNT/pv/v1/f" <<'PYEOF' 2>>"$VOLFS_LOG" || fail "$ROUND: $(tail -n 3 "$VOLFS_LOG")"
import os, sys
data = open(sys.argv[1], "rb").read()
half = len(data) // 2
fd = os.open(sys.argv[2], os.O_WRONLY | os.O_CREAT, 0o644)
def retried(what, *args):
    for attempt in range(3):
        try:
            return what(*args)
        except OSError as e:
            print("attempt", attempt, what.__name__, e, file=sys.stderr)
    raise SystemExit("three attempts failed: one injected fault fails one call")
retried(os.pwrite, fd, data[:half], 0)
try:
    os.fsync(fd)
except OSError as e:
    print("first fsync:", e, file=sys.stderr)
retried(os.pwrite, fd, data[half:], half)
retried(os.fsync, fd)
PYEOF
    kill_fault_daemon
    no_sanitizer_reports
    note_hit
    restarted_holds "$ROOT_TMP/whole" "$MNT/pv/v1/f" \
        "after a failed and then a successful fsync, kill -9 lost data" "${1//[^a-z0-9]/-}"
}

@test "a successful fsync after a failed one makes everything written durable" {
    # A failed fsync (the host file's or the WAL's), or a failed row write
    # in the flush that rolled back the block-map rows already written:
    # the maps stay dirty in memory, and the next fsync writes them.
    local spec hits=0
    for spec in fsync:3 fsync:4 fsync:5 fsync:6 "sqlite:2@UPDATE inodes SET mode" \
        "sqlite:3@UPDATE inodes SET mode" "sqlite:1@INSERT OR REPLACE INTO objmap"; do
        refsync_round "$spec"
        hits=$((hits + ROUND_HIT))
    done
    ((hits >= 5)) || fail "only $hits rounds failed a call"
}
