#!/usr/bin/env bats
# Running out of resources: the daemon keeps a bounded number of host files
# open whatever the number of files, and when descriptors run out anyway
# the control socket and the data path keep working instead of wedging.
# Each test runs the daemon with a low descriptor limit (ulimit -n 512,
# soft and hard) so that the bounds are reached quickly: at most 256 host
# files open, and the whole daemon under three quarters of the limit.

# shellcheck disable=SC2154 # STATE, MNT, ... come from helpers.bash
# Ten thousand files written twice and read three times, under ASan on a
# busy machine: more than the default per-test time.
: "${BATS_TEST_TIMEOUT:=900}"
load helpers

NOFILE=512
MANY=10000 # twenty times the descriptor limit

setup() {
    ulimit -n "$NOFILE"
    volfs_start
    pv_create vol 1Gi
    V=$MNT/pv/vol
}

teardown() {
    volfs_teardown
}

# fd_count: descriptors the daemon has open now.
fd_count() {
    ls "/proc/$VOLFS_PID/fd" | wc -l
}

# assert_fds_bounded WHEN: at most L/2 host files open, as documented, and
# the daemon under three quarters of L all told.
assert_fds_bounded() {
    local n
    [ "$(metric_sample volfs_host_files_open_limit)" -eq $((NOFILE / 2)) ] || fail "host-file bound $(metric_sample volfs_host_files_open_limit)"
    n=$(metric_sample volfs_host_files_open)
    ((n <= NOFILE / 2)) || fail "$n host files open, over $((NOFILE / 2)) ($1)"
    n=$(fd_count)
    ((n <= NOFILE * 3 / 4)) || fail "the daemon has $n descriptors open, over $((NOFILE * 3 / 4)) ($1)"
}

# small_files DIR N [LINES]: write N files of LINES 100-byte lines (22 by
# default: 2,200 bytes, past the inline threshold, so that each has a host
# file), each naming its index.
small_files() {
    "$PY" - "$1" "$2" "${3:-22}" <<'PYEOF'
import sys
d, n, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
for i in range(n):
    with open("%s/f%d" % (d, i), "w") as f:
        f.write("%099d\n" % i * lines)
PYEOF
}

# check_small_files DIR N [LINES]: every file reads back what small_files wrote.
check_small_files() {
    "$PY" - "$1" "$2" "${3:-22}" <<'PYEOF'
import sys
d, n, lines = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
bad = [i for i in range(n) if open("%s/f%d" % (d, i)).read() != "%099d\n" % i * lines]
if bad:
    sys.exit("%d files read back wrong, first f%d" % (len(bad), bad[0]))
PYEOF
}

@test "10000 small files: written, read back and snapshotted with descriptors bounded" {
    mkdir "$V/many"
    small_files "$V/many" "$MANY"
    assert_fds_bounded "after writing"
    check_small_files "$V/many" "$MANY"
    assert_fds_bounded "after reading"
    run --separate-stderr volctl snapshot pv/vol s1
    [ "$status" -eq 0 ] || fail "volctl snapshot: $stderr"
    check_small_files "$MNT/snapshots/default/s1/many" "$MANY"
    # Written after the snapshot: every file a layer over the snapshot's.
    small_files "$V/many" "$MANY"
    assert_fds_bounded "after writing over the snapshot"
    run volctl shutdown
    assert_success
    volfs_stop
    volfs_launch
    check_small_files "$V/many" "$MANY"
    check_small_files "$MNT/snapshots/default/s1/many" "$MANY"
    assert_fds_bounded "after a restart"
}

@test "a cold read of a file opens its host file once, of an inline one none" {
    mkdir "$V/cold" "$V/inline"
    small_files "$V/cold" 300
    small_files "$V/inline" 300 1
    run volctl shutdown
    assert_success
    volfs_stop
    volfs_launch
    local before after
    before=$(metric_sample volfs_host_file_opens_total)
    check_small_files "$V/cold" 300
    after=$(metric_sample volfs_host_file_opens_total)
    [ $((after - before)) -eq 300 ] || fail "$((after - before)) host opens for 300 cold reads"
    check_small_files "$V/inline" 300 1
    before=$(metric_sample volfs_host_file_opens_total)
    [ "$before" -eq "$after" ] || fail "$((before - after)) host opens for 300 cold reads of inline files"
}

# lowest_free_fd: the smallest descriptor number the daemon does not use.
lowest_free_fd() {
    local n=0
    while [[ -e /proc/$VOLFS_PID/fd/$n ]]; do
        n=$((n + 1))
    done
    echo "$n"
}

@test "out of descriptors: volctl, file writes and shutdown still work" {
    mkdir "$V/d"
    small_files "$V/d" 200
    # No descriptor can be allocated any more: every number below the
    # soft limit is in use.
    prlimit --pid "$VOLFS_PID" --nofile="$(lowest_free_fd):$NOFILE"
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" get pv vol
    assert_success
    assert_output --partial vol
    echo more >"$V/d/new"
    [ "$(cat "$V/d/new")" = more ] || fail "a file created out of descriptors reads back wrong"
    check_small_files "$V/d" 200
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" snapshot pv/vol s1
    assert_success
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" shutdown
    assert_success
    volfs_stop
}
