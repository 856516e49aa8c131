# shellcheck shell=bash
# Shared helpers for the volfs integration tests (bats).
#
# Every test gets its own daemon on a fresh state directory:
#   VOLFS_TMP   mktemp -d under $VOLFS_TEST_TMPDIR (default /tmp)
#   STATE       $VOLFS_TMP/state      (volfs --state)
#   MNT         $VOLFS_TMP/mnt        (mount point)
#   VOLFS_LOG   $VOLFS_TMP/volfs.log  (daemon stdout+stderr)
#   VOLFS_PID   pid of the running daemon, empty when none
# Sanitizer reports of volfs and volctl go to $VOLFS_TMP/san/; volfs_stop fails
# the test if there are any, or if the daemon exited non-zero.
#
# A test file that wants the defaults just does `load helpers`; its setup and
# teardown then start and stop the daemon. Files that need something else
# define their own setup() after `load helpers` and must call volfs_teardown
# from teardown().

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${VOLFS_BIN:=$BATS_TEST_DIRNAME/../../build/san/bin}"
VOLFS_BIN=$(realpath -m "$VOLFS_BIN")
export VOLFS_BIN
: "${VOLFS_TEST_TMPDIR:=/tmp}"
# Debian's python3 (has the yaml module); a pyenv/venv python may not.
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
# No single test may hang the suite.
: "${BATS_TEST_TIMEOUT:=240}"

VOLFS_TMP='' STATE='' MNT='' VOLFS_PID='' VOLFS_LOG=''
VOLFS_EXTRA_PIDS=()

# shellcheck disable=SC2034 # used by the .bats files
KiB=1024 MiB=$((1024 * 1024)) GiB=$((1024 * 1024 * 1024))

# ---------------------------------------------------------------------------
# daemon lifecycle

# shellcheck disable=SC2120 # callers may pass volfs args
# volfs_start [volfs args...]: fresh temp dirs, start the daemon, wait until
# MNT is mounted and the control socket exists.
volfs_start() {
    volfs_dirs
    mkdir -m 0700 "$STATE"
    mkdir -m 0755 "$MNT"
    volfs_launch "$@"
}

# volfs_dirs: a fresh VOLFS_TMP and the names STATE, MNT, VOLFS_LOG in it (not
# created), and sanitizer reports sent to VOLFS_TMP/san (volfs_teardown
# checks them).
volfs_dirs() {
    VOLFS_TMP=$(mktemp -d "$VOLFS_TEST_TMPDIR/volfs-test.XXXXXX")
    # Non-root tests (setpriv nobody) must be able to reach MNT.
    chmod 0755 "$VOLFS_TMP"
    STATE=$VOLFS_TMP/state
    MNT=$VOLFS_TMP/mnt
    VOLFS_LOG=$VOLFS_TMP/volfs.log
    mkdir -m 0700 "$VOLFS_TMP/san"
    export ASAN_OPTIONS="log_path=$VOLFS_TMP/san/asan:detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1"
    export UBSAN_OPTIONS="log_path=$VOLFS_TMP/san/ubsan:print_stacktrace=1"
}

# volfs_launch [volfs args...]: (re)start the daemon on the existing STATE/MNT.
# VOLFS_TEST_ARGS (words) go before them: a whole file run in another mode,
# e.g. VOLFS_TEST_ARGS=--writeback-cache.
volfs_launch() {
    [[ -x $VOLFS_BIN/volfs ]] || fail "volfs binary not found: $VOLFS_BIN/volfs (build with make SAN=1)"
    local extra=()
    read -ra extra <<<"${VOLFS_TEST_ARGS:-}"
    echo "=== $(date +%T.%N) volfs -f --state $STATE ${extra[*]} $* $MNT" >>"$VOLFS_LOG"
    # 3>&- : a background child holding bats' fd 3 makes bats hang.
    "$VOLFS_BIN/volfs" -f --state "$STATE" "${extra[@]}" "$@" "$MNT" </dev/null >>"$VOLFS_LOG" 2>&1 3>&- &
    VOLFS_PID=$!
    local i rc=0
    for ((i = 0; i < 100; i++)); do
        if mountpoint -q "$MNT" 2>/dev/null && [[ -S $STATE/control.sock ]]; then
            return 0
        fi
        if ! kill -0 "$VOLFS_PID" 2>/dev/null; then
            wait "$VOLFS_PID" || rc=$?
            VOLFS_PID=''
            fail "volfs exited with status $rc before mounting; log: $(tail -n 20 "$VOLFS_LOG")"
            return 1
        fi
        sleep 0.1
    done
    fail "volfs did not mount $MNT (with $STATE/control.sock) within 10 s; log: $(tail -n 20 "$VOLFS_LOG")"
}

# is_mounted PATH: true if PATH is a mount point, even a stale one whose
# daemon died ("Transport endpoint is not connected"), where mountpoint(1) fails.
is_mounted() {
    findmnt -rn --mountpoint "$1" >/dev/null 2>&1
}

# sanitizer_reports: print the sanitizer logs, if any; true if there are any.
sanitizer_reports() {
    local f found=1
    [[ -n $VOLFS_TMP && -d $VOLFS_TMP/san ]] || return 1
    for f in "$VOLFS_TMP"/san/*; do
        [[ -s $f ]] || continue
        found=0
        echo "--- $f"
        head -n 60 "$f"
    done
    return $found
}

# volfs_stop: `volctl shutdown` (falling back to fusermount3 -u), wait for the
# daemon to exit; fails if it does not exit in 20 s, exits non-zero, leaves
# the mount behind, or any sanitizer reported something.
volfs_stop() {
    local errors=() status=0 i
    if [[ -n $VOLFS_PID ]]; then
        if kill -0 "$VOLFS_PID" 2>/dev/null; then
            if ! timeout 10 "$VOLFS_BIN/volctl" --state "$STATE" shutdown >>"$VOLFS_LOG" 2>&1; then
                # A shutdown asked for by the test itself may still be in
                # progress: the socket is gone before the process is.
                for ((i = 0; i < 50; i++)); do
                    kill -0 "$VOLFS_PID" 2>/dev/null || break
                    sleep 0.1
                done
                if kill -0 "$VOLFS_PID" 2>/dev/null; then
                    errors+=("volctl shutdown failed (see volfs.log); unmounted with fusermount3 -u")
                    fusermount3 -u "$MNT" >>"$VOLFS_LOG" 2>&1 || true
                fi
            fi
            for ((i = 0; i < 200; i++)); do
                kill -0 "$VOLFS_PID" 2>/dev/null || break
                sleep 0.1
            done
            if kill -0 "$VOLFS_PID" 2>/dev/null; then
                errors+=("volfs did not exit within 20 s of shutdown; killed it")
                kill -9 "$VOLFS_PID" 2>/dev/null || true
            fi
        fi
        wait "$VOLFS_PID" 2>/dev/null || status=$?
        VOLFS_PID=''
        ((status == 0)) || errors+=("volfs exited with status $status")
    fi
    if [[ -n $MNT ]] && is_mounted "$MNT"; then
        errors+=("$MNT still mounted after volfs exited")
        fusermount3 -u -z "$MNT" >/dev/null 2>&1 || umount -l "$MNT" 2>/dev/null || true
    fi
    local san
    if san=$(sanitizer_reports); then
        errors+=("sanitizer reports: $san")
        # report each once, not again at teardown
        mkdir -p "$VOLFS_TMP/san-seen"
        mv "$VOLFS_TMP"/san/* "$VOLFS_TMP/san-seen/" 2>/dev/null || true
    fi
    if ((${#errors[@]})); then
        fail "$(printf '%s\n' "${errors[@]}"; echo "volfs.log:"; tail -n 30 "$VOLFS_LOG")"
        return 1
    fi
}

# volfs_relaunch_faulty FAULT: restart the daemon on the fault-injection
# build (VOLFS_FAULT_BIN, default VOLFS_BIN/../../fault/bin) with crash
# point FAULT armed; skips the test when there is no such build.
volfs_relaunch_faulty() {
    local fault_bin
    fault_bin=$(realpath -m "${VOLFS_FAULT_BIN:-$VOLFS_BIN/../../fault/bin}")
    [[ -x $fault_bin/volfs ]] || skip "no fault-injection build in $fault_bin (make fault)"
    volfs_stop
    local bin=$VOLFS_BIN
    VOLFS_BIN=$fault_bin
    export VOLFS_FAULT=$1
    volfs_launch
    unset VOLFS_FAULT
    VOLFS_BIN=$bin
}

# assert_crashed: the last `run` ended because the daemon crashed at its
# fault point, not earlier for another reason.
assert_crashed() {
    [ "$status" -ne 0 ] || fail "no crash point was reached ($output)"
    [[ $output == *"Transport endpoint is not connected"* || $output == *"Software caused connection abort"* ]] ||
        fail "the workload failed before the crash point: $output"
}

# check_clean_offline: volctl check, then volfs --check with the daemon
# stopped; the daemon runs again afterwards.
check_clean_offline() {
    run volctl check
    assert_success
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    assert_success
    volfs_launch
}

# volfs_await_exit SECONDS: the daemon, asked to stop, exits 0 within
# SECONDS and leaves MNT unmounted; a later stat of MNT returns (ENOTCONN
# would do) rather than hang.
volfs_await_exit() {
    local i status=0
    for ((i = 0; i < $1 * 10; i++)); do
        kill -0 "$VOLFS_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$VOLFS_PID" 2>/dev/null && fail "volfs still running $1 s after it was asked to stop"
    wait "$VOLFS_PID" || status=$?
    VOLFS_PID=''
    ((status == 0)) || fail "volfs exited with status $status"
    ! is_mounted "$MNT" || fail "$MNT still mounted"
    run timeout 5 stat "$MNT"
    ((status != 124)) || fail "stat $MNT hung"
}

# hold_dirty FILE BYTES: a process (HOLDER) writes BYTES random bytes (also
# in $VOLFS_TMP/ref) to FILE without fsync and keeps it open; returns once
# written. It starts no other process: a child's close of an inherited
# descriptor (at exec) would have the kernel write the pages back.
hold_dirty() {
    head -c "$2" /dev/urandom >"$VOLFS_TMP/ref"
    rm -f "$VOLFS_TMP/written"
    mkfifo "$VOLFS_TMP/written"
    "$PY" - "$1" "$VOLFS_TMP/ref" "$VOLFS_TMP/written" 3>&- <<'PYEOF' &
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
data = open(sys.argv[2], "rb").read()
assert os.write(fd, data) == len(data)
with open(sys.argv[3], "w") as w:
    w.write("written\n")
time.sleep(600)
PYEOF
    HOLDER=$!
    volfs_track_pid "$HOLDER"
    local line
    read -r line <"$VOLFS_TMP/written"
    [[ $line == written ]] || fail "the holder did not write"
}

# volfs_kill9: kill -9 the daemon and clear its stale mount.
volfs_kill9() {
    [[ -n $VOLFS_PID ]] || fail "volfs_kill9: no daemon running"
    kill -9 "$VOLFS_PID" 2>/dev/null || true # it may have been killed already
    wait "$VOLFS_PID" 2>/dev/null || true
    VOLFS_PID=''
    echo "=== $(date +%T.%N) killed with SIGKILL" >>"$VOLFS_LOG"
    local i
    for ((i = 0; i < 50; i++)); do
        is_mounted "$MNT" || return 0
        fusermount3 -u "$MNT" 2>/dev/null || fusermount3 -u -z "$MNT" 2>/dev/null || true
        is_mounted "$MNT" || return 0
        sleep 0.1
    done
    fail "could not unmount $MNT after kill -9"
}

# volfs_track_pid PID: kill this background process at teardown if still alive.
volfs_track_pid() {
    VOLFS_EXTRA_PIDS+=("$1")
}

# volfs_teardown: stop the daemon (checking it like volfs_stop), then always
# kill tracked helpers, lazily unmount whatever is still mounted under
# VOLFS_TMP and remove it. Set VOLFS_KEEP_TMP=1 to keep the temp dir.
volfs_teardown() {
    local rc=0 p m
    if [[ -n $VOLFS_PID ]]; then
        volfs_stop || rc=1
    fi
    for p in "${VOLFS_EXTRA_PIDS[@]}"; do
        kill -9 "$p" 2>/dev/null || true
    done
    VOLFS_EXTRA_PIDS=()
    [[ -n $VOLFS_TMP ]] || return $rc
    while read -r m; do
        m=$(printf '%b' "$m") # mountinfo escapes spaces as \040
        case $m in
        "$VOLFS_TMP"/*) fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true ;;
        esac
    done < <(awk '{print $5}' /proc/self/mountinfo)
    if sanitizer_reports >&2; then
        echo "# sanitizer reports above (from processes after volfs_stop)" >&2
        rc=1
    fi
    if [[ -z ${BATS_TEST_COMPLETED:-} && -f $VOLFS_LOG ]]; then
        echo "# last lines of volfs.log:" >&2
        tail -n 30 "$VOLFS_LOG" | sed 's/^/#   /' >&2
    fi
    if [[ ${VOLFS_KEEP_TMP:-0} == 1 ]]; then
        echo "# kept $VOLFS_TMP" >&2
    else
        rm -rf --one-file-system "$VOLFS_TMP" 2>/dev/null || rm -rf --one-file-system "$VOLFS_TMP" || true
    fi
    VOLFS_TMP='' STATE='' MNT=''
    return $rc
}

# Default per-test setup/teardown; files may override them after `load`.
setup() {
    volfs_start
}
teardown() {
    volfs_teardown
}

# ---------------------------------------------------------------------------
# CLI and control socket

# volctl ARGS...: the CLI against this test's daemon.
volctl() {
    "$VOLFS_BIN/volctl" --state "$STATE" "$@"
}

# metric_sample KEY: the value of the sample KEY (a name, with its labels
# if it has any) in `volctl metrics`; nothing if there is none.
metric_sample() {
    volctl metrics | awk -v k="$1" '$1 == k { print $2 }'
}

# fuse_requests OP: how many FUSE requests of OP the daemon has served.
fuse_requests() {
    metric_sample "volfs_fuse_requests_total{op=\"$1\"}"
}

# ctl JSON: send one request on the control socket, print the "result" as
# JSON; fails (status 1, error on stderr) when the answer has "ok": false.
ctl() {
    "$PY" - "$STATE/control.sock" "$1" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(sys.argv[2].encode() + b"\n")
buf = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
ans = json.loads(buf)
if not ans.get("ok"):
    print("%s: %s" % (ans.get("reason"), ans.get("error")), file=sys.stderr)
    sys.exit(1)
print(json.dumps(ans.get("result")))
PYEOF
}

# pv_create NAME SIZE: create a persistent volume and check its root appears.
pv_create() {
    volctl create pv "$1" --capacity "$2" >/dev/null ||
        fail "volctl create pv $1 --capacity $2 failed"
    [[ -d $MNT/pv/$1 ]] || fail "$MNT/pv/$1 is not a directory after create"
}

# shared_claim_with_reader: a ReadWriteMany claim "shared" and a pod
# "reader" mounting it read-only at /data; prints the claim's volume name.
shared_claim_with_reader() {
    cat >"$BATS_TEST_TMPDIR/ro.yaml" <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared, readOnly: true}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/ro.yaml" >/dev/null || return 1
    volctl get pvc shared -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"]["volumeName"])'
}

# pv_df NAME FIELD: a number from the control socket's df for PV NAME
# (FIELD: capacity, used, available, inodes).
pv_df() {
    ctl '{"verb":"df"}' | "$PY" -c '
import json, sys
name, field = sys.argv[1], sys.argv[2]
for it in json.load(sys.stdin)["items"]:
    if it.get("kind") == "PersistentVolume" and it.get("name") == name:
        print(int(it[field]))
        break
else:
    sys.exit("no PersistentVolume %s in df" % name)
' "$1" "$2"
}

# reclaim_pending [KEY...]: what the background reclaimer still has to do
# for deleted snapshots and volumes (df's reclaimPending): each KEY's
# number (rows, lineages; rows by default).
reclaim_pending() {
    ctl '{"verb":"df"}' | "$PY" -c '
import json, sys
p = json.load(sys.stdin)["reclaimPending"]
print(*[p[k] for k in sys.argv[1:] or ["rows"]])' "$@"
}

# wait_reclaimed: a deletion answers before its rows and data are
# reclaimed; wait (5 minutes at most) until the reclaimer has nothing left
# to do. The df request that sees it done commits before it answers, so
# the data files the reclaimer released are gone too.
wait_reclaimed() {
    local deadline=$((SECONDS + 300)) rows lineages
    while read -r rows lineages < <(reclaim_pending rows lineages) && [ -n "$lineages" ]; do
        [ "$rows" -eq 0 ] && [ "$lineages" -eq 0 ] && return 0
        ((SECONDS < deadline)) || fail "the reclaimer still has $rows rows of $lineages lineages to do"
        sleep 0.2
    done
    fail "cannot read what the reclaimer has pending"
}

# pv_usage_agrees NAME LO HI: PV NAME's used bytes are in [LO, HI] in all
# three places that report them (df inside the volume, `volctl df` and the
# volfs_volume_used_bytes metric), and its available bytes are never more
# than the state directory's filesystem has free.
pv_usage_agrees() {
    local name=$1 lo=$2 hi=$3 used avail host m
    host=$(df -B1 --output=avail "$STATE" | tail -n 1)
    read -r used avail < <(df -B1 --output=used,avail "$MNT/pv/$name" | tail -n 1)
    ((used >= lo && used <= hi)) || fail "df used $used for pv $name, want $lo..$hi"
    ((avail <= host)) || fail "df avail $avail for pv $name, more than the host's $host"
    used=$(pv_df "$name" used)
    ((used >= lo && used <= hi)) || fail "volctl df used $used for pv $name, want $lo..$hi"
    avail=$(pv_df "$name" available)
    ((avail <= host)) || fail "volctl df available $avail for pv $name, more than the host's $host"
    m=$(volctl metrics | awk -v k="volfs_volume_used_bytes{persistentvolume=\"$name\"}" '$1 == k { print $2 }')
    [[ $m =~ ^[0-9]+$ ]] || fail "no volfs_volume_used_bytes for pv $name"
    ((m >= lo && m <= hi)) || fail "volfs_volume_used_bytes $m for pv $name, want $lo..$hi"
}

# ---------------------------------------------------------------------------
# small utilities

# sha FILE: the sha256 of FILE.
sha() {
    sha256sum "$1" | cut -d' ' -f1
}

# du_bytes PATH: disk usage in bytes (allocated blocks, not apparent size).
du_bytes() {
    du -s -B1 "$1" | cut -f1
}

# as_nobody CMD...: run a shell command as the unprivileged user nobody.
as_nobody() {
    setpriv --reuid=nobody --regid=nogroup --clear-groups --inh-caps=-all -- sh -c "$1"
}

# fio_ok: the fio run just done succeeded and verified every block.
fio_ok() {
    assert_success
    assert_output --regexp 'err= *0'
    refute_output --partial 'verify failed'
    refute_output --partial 'bad magic'
    refute_output --partial 'mismatch'
    refute_output --partial 'bad header'
}
