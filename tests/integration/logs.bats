#!/usr/bin/env bats
# Logs (issue 7): one logfmt line per event on stderr in the foreground,
#   time=... level=info object=pv/NAME msg="..."
# --log-level filters, an invalid level or target is refused with one line.

load helpers

setup() {
    :
}

teardown() {
    volfs_teardown
}

LINE_RE='^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z level=(debug|info|warn|error) object=[^ ]+ msg="([^"\\]|\\.)*"$'

# log_lines: the daemon's lines in VOLFS_LOG (not the helpers' === markers
# nor volctl's own output).
log_lines() {
    grep -v '^=== ' "$VOLFS_LOG" | grep -v '^volfs is shutting down' || true
}

@test "default level info: one line per event with level and object, no debug lines" {
    volfs_start
    volctl apply -f "$BATS_TEST_DIRNAME/../manifests/class-and-claim.yaml" >/dev/null
    pv_create plain 10Mi
    volctl snapshot pv/plain snap1 >/dev/null
    volctl get pv >/dev/null
    volfs_stop
    local n=0 line
    while IFS= read -r line; do
        [[ $line =~ $LINE_RE ]] || fail "not a log line: $line"
        n=$((n + 1))
    done < <(log_lines)
    [ "$n" -ge 5 ] || fail "only $n log lines"
    run log_lines
    assert_line --regexp 'level=info object=daemon msg="volfs .* serving '
    assert_line --regexp 'level=info object=pv/plain msg="Created: '
    assert_line --regexp 'level=info object=pvc/default/data msg="[A-Za-z]+: .*'
    assert_line --regexp 'level=info object=vs/default/snap1 msg="SnapshotCreated: '
    assert_line --regexp 'level=info object=daemon msg="flushed and unmounted '
    refute_line --partial 'level=debug'
}

@test "--log-level debug adds debug lines; warn keeps only warnings and errors" {
    volfs_start --log-level debug
    pv_create d1 10Mi
    volctl get pv d1 >/dev/null
    run log_lines
    assert_line --regexp '^time=[^ ]+ level=debug object=pv/d1 msg="control request: get"$'
    assert_line --regexp 'level=info object=pv/d1 msg="Created: '
    volfs_stop
    : >"$VOLFS_LOG"
    volfs_launch --log-level warn
    pv_create d2 10Mi
    volctl get pv d2 >/dev/null
    # a Warning event: a claim of a class that does not exist
    volctl create pvc orphan --size 1Mi --class no-such-class >/dev/null
    local i
    for ((i = 0; i < 50; i++)); do grep -q 'level=warn' "$VOLFS_LOG" && break; sleep 0.1; done
    volfs_stop
    run log_lines
    assert_line --regexp '^time=[^ ]+ level=warn object=pvc/default/orphan msg="ProvisioningFailed: '
    [[ $output != *level=debug* ]] || fail "debug lines at warn: $output"
    [[ $output != *level=info* ]] || fail "info lines at warn: $output"
}

@test "an invalid --log-level or --log-target is refused with one clear line" {
    VOLFS_TMP=$(mktemp -d "$VOLFS_TEST_TMPDIR/volfs-test.XXXXXX")
    mkdir "$VOLFS_TMP/mnt"
    run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/state" --log-level verbose "$VOLFS_TMP/mnt" 3>&-
    [ "$status" -ne 0 ]
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line: $stderr"
    assert_equal "$stderr" 'volfs: invalid --log-level "verbose": use debug, info, warn or error'
    ! is_mounted "$VOLFS_TMP/mnt"
    run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/state" --log-target file "$VOLFS_TMP/mnt" 3>&-
    [ "$status" -ne 0 ]
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line: $stderr"
    assert_equal "$stderr" 'volfs: invalid --log-target "file": use stderr, syslog or auto'
    run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/state" --log-level "$VOLFS_TMP/mnt"
    [ "$status" -ne 0 ]
    ! is_mounted "$VOLFS_TMP/mnt"
}

@test "a message with quotes stays one line, the quotes escaped" {
    volfs_start
    volctl create pvc orphan --size 1Mi --class no-such-class >/dev/null
    local i
    for ((i = 0; i < 50; i++)); do grep -q 'level=warn' "$VOLFS_LOG" && break; sleep 0.1; done
    volfs_stop
    local line
    while IFS= read -r line; do
        [[ $line =~ $LINE_RE ]] || fail "not one escaped line: $line"
    done < <(log_lines)
    run log_lines
    assert_line --partial 'level=warn object=pvc/default/orphan msg="ProvisioningFailed: storageclass.storage.k8s.io \"no-such-class\" not found'
}
