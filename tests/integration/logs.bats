#!/usr/bin/env bats
# Logs: one logfmt line per event on stderr in the foreground,
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

@test "at debug level too, a Secret's value never reaches the log" {
    volfs_start --log-level debug
    volctl apply -f "$BATS_TEST_DIRNAME/../manifests/config-pod.yaml" >/dev/null
    [ "$(cat "$MNT/pods/default/app/secret/password")" = super-secret-4f9d ]
    volctl patch secret db-pass -p '{"data":{"password":"bmV3LXNlY3JldC03YzFl"}}' >/dev/null
    volctl get secret db-pass -o yaml >/dev/null
    volctl delete -f "$BATS_TEST_DIRNAME/../manifests/config-pod.yaml" >/dev/null
    volfs_stop
    grep -q 'level=debug object=secret/default/db-pass msg="control request: ' "$VOLFS_LOG" ||
        fail "no debug line for the secret: $(cat "$VOLFS_LOG")"
    run grep -c -e super-secret-4f9d -e c3VwZXItc2VjcmV0LTRmOWQ -e new-secret-7c1e -e bmV3LXNlY3JldC03YzFl "$VOLFS_LOG"
    assert_output 0
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

# in_syslog_ns MODE: in a private mount namespace whose /dev has a fake
# /dev/log (a python datagram listener writing $VOLFS_TMP/syslog.txt),
# start volfs as MODE says, create a volume, shut down.
#   daemon   volfs detaches (no -f)
#   nolog    the same with nothing on /dev/log (no listener), its stderr
#            in $VOLFS_TMP/start.txt
#   journal  -f, stderr a file that JOURNAL_STREAM names (as systemd does)
#   stderr   the same with --log-target stderr
in_syslog_ns() {
    VOLFS_TMP=$(mktemp -d "$VOLFS_TEST_TMPDIR/volfs-test.XXXXXX")
    cat >"$VOLFS_TMP/ns.sh" <<'NSEOF'
set -e
B=$1 T=$2 MODE=$3 PY=$4
mount -t tmpfs tmpfs /dev
mknod -m 666 /dev/fuse c 10 229
mknod -m 666 /dev/null c 1 3
mknod -m 666 /dev/urandom c 1 9
listener=''
if [ "$MODE" != nolog ]; then
"$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind("/dev/log")
open(sys.argv[1] + "/ready", "w").close()
with open(sys.argv[1] + "/syslog.txt", "ab", buffering=0) as f:
    while True:
        f.write(s.recv(65536) + b"\n")
' "$T" &
listener=$!
fi
for i in $(seq 100); do [ -n "$listener" ] || break; [ -e "$T/ready" ] && break; sleep 0.1; done
mkdir -p "$T/s" "$T/m"
chmod 0700 "$T/s" # a private state directory: volfs has nothing to warn about
: >"$T/stderr.txt"
case $MODE in
    daemon) "$B/volfs" --state "$T/s" "$T/m" ;;
    nolog) "$B/volfs" --state "$T/s" "$T/m" 2>"$T/start.txt" ;;
    journal | stderr)
        js=$(stat -c '%d:%i' "$T/stderr.txt")
        extra=()
        [ "$MODE" = stderr ] && extra=(--log-target stderr)
        JOURNAL_STREAM=$js "$B/volfs" -f "${extra[@]}" --state "$T/s" "$T/m" 2>>"$T/stderr.txt" </dev/null &
        ;;
esac
for i in $(seq 100); do mountpoint -q "$T/m" && [ -S "$T/s/control.sock" ] && break; sleep 0.1; done
"$B/volctl" --state "$T/s" create pv viasyslog --capacity 10Mi >/dev/null
"$B/volctl" --state "$T/s" shutdown >/dev/null
for i in $(seq 100); do mountpoint -q "$T/m" || break; sleep 0.1; done
sleep 0.3
[ -z "$listener" ] || kill "$listener"
NSEOF
    unshare -m bash "$VOLFS_TMP/ns.sh" "$VOLFS_BIN" "$VOLFS_TMP" "$1" "$PY" 3>&-
}

@test "detached, or with stderr on the journal, volfs logs to syslog (facility daemon, level as priority)" {
    command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
    in_syslog_ns daemon
    run cat "$VOLFS_TMP/syslog.txt"
    # <30>: facility daemon (3) * 8 + priority info (6); no time= (syslog stamps lines)
    assert_line --regexp '^<30>.* volfs\[[0-9]+\]: level=info object=daemon msg="volfs .* serving '
    assert_line --regexp '^<30>.* volfs\[[0-9]+\]: level=info object=pv/viasyslog msg="Created: '
    refute_output --partial 'time='
    rm -rf "$VOLFS_TMP"
    in_syslog_ns journal
    run cat "$VOLFS_TMP/syslog.txt"
    assert_line --regexp '^<30>.* volfs\[[0-9]+\]: level=info object=pv/viasyslog msg="Created: '
    [ ! -s "$VOLFS_TMP/stderr.txt" ] || fail "logged to stderr too: $(cat "$VOLFS_TMP/stderr.txt")"
    rm -rf "$VOLFS_TMP"
    # --log-target stderr wins over the journal
    in_syslog_ns stderr
    [ ! -s "$VOLFS_TMP/syslog.txt" ] || fail "logged to syslog: $(cat "$VOLFS_TMP/syslog.txt")"
    run cat "$VOLFS_TMP/stderr.txt"
    assert_line --regexp '^time=[^ ]+ level=info object=pv/viasyslog msg="Created: '
}

@test "detached where nothing listens on /dev/log, volfs logs to STATE/volfs.log and says so" {
    command -v unshare >/dev/null || skip "unshare (util-linux) is missing"
    in_syslog_ns nolog
    local f=$VOLFS_TMP/s/volfs.log
    [ -f "$f" ] || fail "no $f"
    [ "$(stat -c %a "$f")" = 600 ] || fail "$f has mode $(stat -c %a "$f")"
    run cat "$f"
    assert_line --index 0 --regexp "^time=[^ ]+ level=warn object=daemon msg=\"nothing listens on /dev/log: logging to $f\"\$"
    assert_line --regexp '^time=[^ ]+ level=info object=pv/viasyslog msg="Created: '
    assert_line --regexp '^time=[^ ]+ level=info object=daemon msg="flushed and unmounted '
    run cat "$VOLFS_TMP/start.txt"
    assert_output "volfs: nothing listens on /dev/log: logging to $f"
}
