#!/usr/bin/env bats
# Running volfs on a node: the systemd unit's commands run without systemd
# (ExecStartPre/ExecStart/ExecStop with the unit's variables, NOTIFY_SOCKET
# on a socket the test listens on), `make install` placing the unit and the
# mount helper, and the mount routes: scripts/mount.fuse.volfs called as
# mount(8) calls it, `volfs STATE MOUNTPOINT -o <fstab options>`, and, as
# root, real `mount -t fuse.volfs` and `mount --fstab` (through the
# system's mount.fuse3, or /sbin/mount.fuse.volfs if installed; nothing is
# installed on the host by these tests).

# shellcheck disable=SC2154 # STATE, MNT, ... come from helpers.bash
load helpers

ROOT=$BATS_TEST_DIRNAME/../..

setup() {
    volfs_dirs
}

teardown() {
    volfs_teardown
}

# wait_daemon_gone: the daemonized volfs (pid in STATE/lock) has exited.
wait_daemon_gone() {
    local pid i
    pid=$(cat "$STATE/lock" 2>/dev/null || true)
    [[ -n $pid ]] || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    fail "volfs (pid $pid) still running after unmount"
}

@test "volfs.service: READY=1 once mounted, STOPPING=1, ExecStop unmounts cleanly" {
    cat >"$VOLFS_TMP/default" <<EOF
# as /etc/default/volfs
VOLFS_STATE=$STATE
VOLFS_MOUNT=$MNT
VOLFS_OPTS="-oallow_other -odefault_permissions"
EOF
    run "$PY" - "$ROOT/scripts/volfs.service" "$VOLFS_TMP/default" "$VOLFS_BIN" "$VOLFS_TMP/notify.sock" <<'PYEOF'
import os, shlex, socket, subprocess, sys, time
unit, envfile, bindir, notify = sys.argv[1:5]
lines = [l.strip() for l in open(unit) if "=" in l and not l.lstrip().startswith("#")]
cmds = {}
env = {}
for l in lines:
    key, val = l.split("=", 1)
    if key == "Environment":
        for w in shlex.split(val):
            k, v = w.split("=", 1)
            env[k] = v
    elif key == "EnvironmentFile":
        for e in open(envfile):
            e = e.strip()
            if e and not e.startswith("#"):
                k, v = e.split("=", 1)
                env[k] = shlex.split(v)[0] if v else ""
    elif key.startswith("Exec"):
        cmds.setdefault(key, []).append(val)

def expand(line):
    """systemd's rules: ${X} is one word, $X splits on whitespace."""
    ignore = line.startswith("-")
    out = []
    for w in shlex.split(line.lstrip("-@+!")):
        if w.startswith("$") and not w.startswith("${"):
            out += env.get(w[1:], "").split()
            continue
        for k, v in env.items():
            w = w.replace("${%s}" % k, v)
        out.append(w.replace("/usr/local/bin/", bindir + "/"))
    return ignore, out

for line in cmds.get("ExecStartPre", []):
    ignore, argv = expand(line)
    rc = subprocess.call(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    assert rc == 0 or ignore, ("ExecStartPre failed", argv)
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(notify)
s.settimeout(60)
_, argv = expand(cmds["ExecStart"][0])
assert "-f" in argv, argv
daemon = subprocess.Popen(argv, env=dict(os.environ, NOTIFY_SOCKET=notify),
                          stdin=subprocess.DEVNULL, stdout=open(env["VOLFS_MOUNT"] + "/../volfs.log", "a"),
                          stderr=subprocess.STDOUT)
msg = s.recv(4096).decode()
mounted = os.path.ismount(env["VOLFS_MOUNT"])
sock = os.path.exists(env["VOLFS_STATE"] + "/control.sock")
print("first notice:", msg.replace("\n", " "))
print("mounted at READY:", mounted, "control.sock at READY:", sock)
assert "READY=1" in msg.split("\n") and "MAINPID=%d" % daemon.pid in msg.split("\n"), msg
assert mounted and sock
assert daemon.poll() is None, "ExecStart must stay in the foreground"
_, argv = expand(cmds["ExecStop"][0])
rc = subprocess.call(argv, stdout=subprocess.DEVNULL)
assert rc == 0, ("ExecStop", argv, rc)
msg = s.recv(4096).decode()
print("second notice:", msg)
assert msg == "STOPPING=1", msg
assert daemon.wait(timeout=60) == 0, "volfs exited non-zero"
assert not os.path.ismount(env["VOLFS_MOUNT"]), "still mounted after ExecStop"
print("ok")
PYEOF
    echo "$output"
    [ "$status" -eq 0 ]
    [[ $output == *"mounted at READY: True control.sock at READY: True"* ]]
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    [ "$status" -eq 0 ] || fail "volfs --check: $output"
}

@test "volfs.service passes systemd-analyze verify" {
    command -v systemd-analyze >/dev/null || skip "systemd-analyze is not installed"
    sed "s|/usr/local/bin/|$VOLFS_BIN/|g" "$ROOT/scripts/volfs.service" >"$VOLFS_TMP/volfs.service"
    run systemd-analyze verify --man=no "$VOLFS_TMP/volfs.service"
    [ "$status" -eq 0 ] || fail "systemd-analyze: $output"
}

@test "make install places the binaries, the unit (with PREFIX) and the mount helper" {
    run make -C "$ROOT" -s install DESTDIR="$VOLFS_TMP/root" PREFIX=/opt/volfs
    [ "$status" -eq 0 ] || fail "make install: $output"
    [ -x "$VOLFS_TMP/root/opt/volfs/bin/volfs" ]
    [ -x "$VOLFS_TMP/root/opt/volfs/bin/volctl" ]
    [ -x "$VOLFS_TMP/root/sbin/mount.fuse.volfs" ]
    grep -q '^ExecStart=/opt/volfs/bin/volfs -f ' "$VOLFS_TMP/root/etc/systemd/system/volfs.service"
    grep -q '^ExecStop=/opt/volfs/bin/volctl ' "$VOLFS_TMP/root/etc/systemd/system/volfs.service"
}

@test "mount.fuse.volfs STATE MNT -o <fstab options>: daemonized mount, findmnt says fuse.volfs" {
    mkdir "$MNT"
    VOLFS=$VOLFS_BIN/volfs run "$ROOT/scripts/mount.fuse.volfs" "$STATE" "$MNT" -o defaults,allow_other,_netdev,nofail,x-systemd.after=a -t fuse.volfs
    [ "$status" -eq 0 ] || fail "mount.fuse.volfs: $output"
    [ "$(findmnt -n -o FSTYPE "$MNT")" = fuse.volfs ]
    [[ $(findmnt -n -o OPTIONS "$MNT") == *allow_other* ]]
    # mount returns only once the control socket listens: volctl works at once
    [ -S "$STATE/control.sock" ]
    volctl create pv v --capacity 8Mi >/dev/null
    mkdir "$VOLFS_TMP/mnt2"
    VOLFS=$VOLFS_BIN/volfs run "$ROOT/scripts/mount.fuse.volfs" "$STATE" "$VOLFS_TMP/mnt2" -o allow_other
    [ "$status" -ne 0 ]
    [[ $output == *"is in use by another volfs"* ]]
    echo hi >"$MNT/pv/v/f"
    umount "$MNT"
    wait_daemon_gone
    ! mountpoint -q "$MNT"
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    [ "$status" -eq 0 ] || fail "volfs --check: $output"
    # mount -f (fake) does nothing; a stray argument is one clear line
    VOLFS=$VOLFS_BIN/volfs run "$ROOT/scripts/mount.fuse.volfs" "$STATE" "$MNT" -f -o allow_other
    [ "$status" -eq 0 ]
    ! mountpoint -q "$MNT"
    run "$ROOT/scripts/mount.fuse.volfs" "$STATE" "$MNT" --bogus
    [ "$status" -ne 0 ]
    [[ $output == "mount.fuse.volfs: unknown argument \"--bogus\"" ]]
}

@test "volfs STATE MOUNTPOINT -o defaults,_netdev; -f stays in the foreground; conflicts refused" {
    mkdir "$MNT"
    volfs_launch -o defaults,_netdev,rw,noauto,user,relatime
    # volfs_launch passes --state STATE too; the positional form alone:
    volfs_stop
    "$VOLFS_BIN/volfs" -f "$STATE" "$MNT" -o defaults,_netdev,allow_other </dev/null >>"$VOLFS_LOG" 2>&1 3>&- &
    VOLFS_PID=$!
    local i
    for ((i = 0; i < 100; i++)); do
        mountpoint -q "$MNT" && [[ -S $STATE/control.sock ]] && break
        sleep 0.1
    done
    [ "$(findmnt -n -o FSTYPE "$MNT")" = fuse.volfs ]
    kill -0 "$VOLFS_PID" # still ours: foreground
    volfs_stop
    run --separate-stderr "$VOLFS_BIN/volfs" --state "$VOLFS_TMP/other" "$STATE" "$MNT"
    [ "$status" -ne 0 ]
    [[ $stderr == "volfs: two state directories: --state $VOLFS_TMP/other and $STATE" ]]
    run --separate-stderr "$VOLFS_BIN/volfs" "$STATE" "$MNT" extra
    [ "$status" -ne 0 ]
    [[ $stderr == *"expected MOUNTPOINT or STATE MOUNTPOINT"* ]]
    ! mountpoint -q "$MNT"
}

@test "as root: mount -t fuse.volfs and the fstab line mount volfs through mount.fuse3" {
    [[ $(id -u) -eq 0 ]] || skip "needs root"
    [[ -x /sbin/mount.fuse3 || -x /sbin/mount.fuse ]] || skip "no mount.fuse3"
    command -v unshare >/dev/null || skip "no unshare"
    [[ ! -e /sbin/mount.fuse.volfs ]] || skip "an installed /sbin/mount.fuse.volfs would be used"
    mkdir "$MNT" "$VOLFS_TMP/sbin"
    ln -s "$VOLFS_BIN/volfs" "$VOLFS_TMP/sbin/volfs"
    echo "$STATE $MNT fuse.volfs defaults,allow_other,_netdev 0 0" >"$VOLFS_TMP/fstab"
    # mount(8) runs helpers with the standard PATH, and mount.fuse3 runs
    # `volfs` from it: in a private mount namespace, /usr/local/sbin shows
    # the volfs under test; the host sees nothing of it.
    run unshare --mount --propagation private bash -euc '
        mount --bind "$1/sbin" /usr/local/sbin
        # start-up notices of the daemon (where it logs) go aside
        mount -t fuse.volfs "$2" "$3" -o allow_other 2>>"$1/mount.err" || { cat "$1/mount.err" >&2; exit 1; }
        findmnt -n -o FSTYPE "$3"
        "$4/volctl" --state "$2" create pv v --capacity 8Mi >/dev/null
        echo kept >"$3/pv/v/f"
        wait_gone() {
            pid=$(cat "$1/lock")
            for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
            echo "volfs still running" >&2; return 1
        }
        umount "$3"
        wait_gone "$2" # the daemon flushes and exits after the unmount
        mount --fstab "$1/fstab" "$3" 2>>"$1/mount.err" || { cat "$1/mount.err" >&2; exit 1; }
        findmnt -n -o FSTYPE,OPTIONS "$3"
        cat "$3/pv/v/f"
        umount "$3"
        wait_gone "$2"
    ' - "$VOLFS_TMP" "$STATE" "$MNT" "$VOLFS_BIN"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = fuse.volfs ]
    [[ ${lines[1]} == "fuse.volfs "*allow_other* ]]
    [ "${lines[2]}" = kept ]
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    [ "$status" -eq 0 ] || fail "volfs --check: $output"
}
