#!/usr/bin/env bats
# hostPath volumes, in pods and as a PersistentVolume source: the
# --hostpath-allow prefixes (outside, "..", symlink escapes and prefix
# siblings refused), kubelet's type checks and *OrCreate modes, a pod that
# cannot have its host paths staying Pending with nothing created, I/O
# through MOUNT/pods/... and MOUNT/pv/... landing on the host, and host data
# that outlives pods, claims, volumes and daemon restarts.

# shellcheck disable=SC2154 # STATE, MNT, PY come from helpers.bash
load helpers

# HOST/data is the allowed prefix; HOST/data2 and HOST/outside are not.
setup() {
    HOST=$(mktemp -d "$VOLFS_TEST_TMPDIR/hostpath.XXXXXX")
    mkdir -p "$HOST/data" "$HOST/data2" "$HOST/outside"
    volfs_start --hostpath-allow "$HOST/data"
}

teardown() {
    volfs_teardown
    rm -rf --one-file-system "$HOST"
}

field() {
    local out
    out=$(volctl get "$1" "$2" -n "${4:-default}" -o json) || return 1
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

phase() { field "$1" "$2" 'o["status"]["phase"]'; }

# pod NAME VOLUMES-YAML: apply a pod whose one container mounts nothing.
pod() {
    volctl apply -f - <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $1}
spec:
  containers: [{name: app, image: busybox}]
  volumes:
$2
EOF
}

# host_pod NAME PATH TYPE: a pod with one hostPath volume "h".
host_pod() {
    pod "$1" "    - {name: h, hostPath: {path: \"$2\", type: \"$3\"}}"
}

# make_socket PATH: a listening Unix socket (kept until teardown).
make_socket() {
    "$PY" -c 'import socket,sys,time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True); time.sleep(600)' "$1" > "$HOST/sock.out" 3>&- &
    volfs_track_pid $!
    for _ in $(seq 50); do [[ -S $1 ]] && return 0; sleep 0.1; done
    fail "no socket at $1"
}

@test "without --hostpath-allow every hostPath is refused, naming the flag" {
    volfs_stop
    volfs_launch
    run host_pod p "$HOST/data" Directory
    assert_failure
    assert_output --partial "hostPath $HOST/data is refused: this volfs allows no host paths (start it with --hostpath-allow PREFIX)"
    run volctl get pod p
    assert_failure
}

@test "a --hostpath-allow prefix that does not exist is a start-up error" {
    run "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/other" --hostpath-allow "$HOST/nowhere" "$MNT"
    [ "$status" -eq 2 ]
    assert_output "volfs: --hostpath-allow $HOST/nowhere: No such file or directory"
}

@test "DirectoryOrCreate makes the directory and its parents 0755 whatever the umask; I/O lands on the host" {
    volfs_stop
    umask 077
    volfs_launch --hostpath-allow "$HOST/data"
    umask 022
    run host_pod web "$HOST/data/a/b/c" DirectoryOrCreate
    assert_success
    [ "$(phase pod web)" = Running ]
    run stat -c '%a %F' "$HOST/data/a" "$HOST/data/a/b" "$HOST/data/a/b/c"
    assert_output $'755 directory\n755 directory\n755 directory'
    [ "$(readlink "$MNT/pods/default/web/h")" = "$HOST/data/a/b/c" ]
    echo through-volfs > "$MNT/pods/default/web/h/file"
    [ "$(cat "$HOST/data/a/b/c/file")" = through-volfs ]
    echo from-host > "$HOST/data/a/b/c/other"
    [ "$(cat "$MNT/pods/default/web/h/other")" = from-host ]
    # statfs is the host's: no capacity of volfs applies
    [ "$(stat -f -c '%b %S' "$MNT/pods/default/web/h/")" = "$(stat -f -c '%b %S' "$HOST/data")" ]
    [ "$(field pod web 'o["status"]["hostPaths"]["h"]')" = "$HOST/data/a/b/c" ]
}

@test "DirectoryOrCreate on a file and Directory on a file or nothing are refused; an existing directory is used" {
    mkdir "$HOST/data/dir"
    touch "$HOST/data/file"
    host_pod ok "$HOST/data/dir" Directory
    [ "$(phase pod ok)" = Running ]
    host_pod doc "$HOST/data/file" DirectoryOrCreate
    [ "$(phase pod doc)" = Pending ]
    run volctl describe pod doc
    assert_output --partial "FailedMount"
    assert_output --partial "volume \"h\": hostPath type check failed: $HOST/data/file is not a directory, it's a File"
    host_pod d1 "$HOST/data/file" Directory
    [ "$(phase pod d1)" = Pending ]
    host_pod d2 "$HOST/data/missing" Directory
    [ "$(phase pod d2)" = Pending ]
    run volctl describe pod d2
    assert_output --partial "hostPath $HOST/data/missing doesn't exist"
    [ ! -e "$HOST/data/missing" ]
}

@test "FileOrCreate makes an empty 0644 file but not its parent; File wants a regular file" {
    host_pod f "$HOST/data/app.conf" FileOrCreate
    [ "$(phase pod f)" = Running ]
    run stat -c '%a %F %s' "$HOST/data/app.conf"
    assert_output '644 regular empty file 0'
    echo x > "$MNT/pods/default/f/h"
    [ "$(cat "$HOST/data/app.conf")" = x ]
    host_pod nop "$HOST/data/nodir/app.conf" FileOrCreate
    [ "$(phase pod nop)" = Pending ]
    run volctl describe pod nop
    assert_output --partial "its parent directory does not exist"
    [ ! -e "$HOST/data/nodir" ]
    host_pod file "$HOST/data/app.conf" File
    [ "$(phase pod file)" = Running ]
    host_pod notfile "$HOST/data" File
    [ "$(phase pod notfile)" = Pending ]
    run volctl describe pod notfile
    assert_output --partial "$HOST/data is not a file, it's a Directory"
}

@test "Socket: a listening socket is accepted, a file is not" {
    make_socket "$HOST/data/app.sock"
    host_pod s "$HOST/data/app.sock" Socket
    [ "$(phase pod s)" = Running ]
    [ -S "$MNT/pods/default/s/h" ]
    touch "$HOST/data/plain"
    host_pod notsock "$HOST/data/plain" Socket
    [ "$(phase pod notsock)" = Pending ]
    run volctl describe pod notsock
    assert_output --partial "$HOST/data/plain is not a socket file, it's a File"
}

@test "CharDevice and BlockDevice are checked by the device type" {
    mknod "$HOST/data/null" c 1 3 || skip "mknod is not permitted here"
    mknod "$HOST/data/loop" b 7 0 || skip "mknod of a block device is not permitted here"
    host_pod c "$HOST/data/null" CharDevice
    [ "$(phase pod c)" = Running ]
    host_pod b "$HOST/data/loop" BlockDevice
    [ "$(phase pod b)" = Running ]
    host_pod cb "$HOST/data/loop" CharDevice
    [ "$(phase pod cb)" = Pending ]
    run volctl describe pod cb
    assert_output --partial "$HOST/data/loop is not a character device, it's a BlockDevice"
    host_pod bc "$HOST/data/null" BlockDevice
    [ "$(phase pod bc)" = Pending ]
    run volctl describe pod bc
    assert_output --partial "$HOST/data/null is not a block device, it's a CharDevice"
    host_pod cd "$HOST/data" CharDevice
    [ "$(phase pod cd)" = Pending ]
}

@test "type \"\" checks nothing; a missing path becomes a directory, as the container runtime makes it" {
    touch "$HOST/data/any"
    host_pod any "$HOST/data/any" ""
    [ "$(phase pod any)" = Running ]
    host_pod new "$HOST/data/fresh" ""
    [ "$(phase pod new)" = Running ]
    [ -d "$HOST/data/fresh" ]
}

@test "the allow-list: outside, a prefix sibling, '..' and symlink escapes are refused and nothing is created" {
    run host_pod o "$HOST/outside" DirectoryOrCreate
    assert_failure
    assert_output --partial "pods \"o\" is forbidden: spec.volumes[0].hostPath.path: hostPath $HOST/outside is not under an allowed prefix (--hostpath-allow $HOST/data)"
    run host_pod sib "$HOST/data2/x" DirectoryOrCreate
    assert_failure
    assert_output --partial "hostPath $HOST/data2/x is not under an allowed prefix"
    [ ! -e "$HOST/data2/x" ]
    run host_pod dots "$HOST/data/../outside/x" DirectoryOrCreate
    assert_failure
    assert_output --partial "spec.volumes[0].hostPath.path: Invalid value: \"$HOST/data/../outside/x\": must not contain '..'"
    ln -s "$HOST/outside" "$HOST/data/link"
    run host_pod sym "$HOST/data/link/new" DirectoryOrCreate
    assert_failure
    assert_output --partial "hostPath $HOST/data/link/new resolves to $HOST/outside/new, which is not under an allowed prefix"
    [ ! -e "$HOST/outside/new" ]
    # a dangling link inside the prefix is not followed to create its target
    ln -s "$HOST/outside/target" "$HOST/data/dangling"
    host_pod dang "$HOST/data/dangling" FileOrCreate
    [ "$(phase pod dang)" = Pending ]
    run volctl describe pod dang
    assert_output --partial "is a symbolic link to a path that does not exist"
    [ ! -e "$HOST/outside/target" ]
    run volctl get pod
    refute_output --partial sym
    refute_output --partial sib
}

@test "a symlink swapped in after admission is caught when the volume is set up" {
    mkdir "$HOST/data/later"
    # admitted while "later" is a plain directory: the pod waits for a socket
    host_pod w "$HOST/data/later/app.sock" Socket
    [ "$(phase pod w)" = Pending ]
    rmdir "$HOST/data/later"
    ln -s "$HOST/outside" "$HOST/data/later"
    make_socket "$HOST/outside/app.sock"
    volctl apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"poke"},"data":{}}'
    [ "$(phase pod w)" = Pending ]
    run volctl describe pod w
    assert_output --partial "hostPath $HOST/data/later/app.sock resolves to $HOST/outside/app.sock, which is not under an allowed prefix"
}

@test "a pod whose second host path fails stays Pending, says why, and leaves nothing created" {
    run pod both "    - {name: logs, emptyDir: {}}
    - {name: made, hostPath: {path: \"$HOST/data/made/deep\", type: DirectoryOrCreate}}
    - {name: sock, hostPath: {path: \"$HOST/data/app.sock\", type: Socket}}"
    assert_success
    [ "$(phase pod both)" = Pending ]
    run volctl describe pod both
    assert_output --partial "volume \"sock\": hostPath $HOST/data/app.sock doesn't exist"
    [ ! -e "$HOST/data/made" ]
    run ls -A "$MNT/pods/default/both"
    assert_output ''
    run volctl df
    refute_output --partial both
    # once the socket exists, the next pass sets it all up
    make_socket "$HOST/data/app.sock"
    volctl apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"poke"},"data":{}}'
    [ "$(phase pod both)" = Running ]
    [ -d "$HOST/data/made/deep" ]
    run ls "$MNT/pods/default/both"
    assert_output $'logs\nmade\nsock'
}

@test "deleting a pod leaves its host data; a restart keeps and re-checks its host paths" {
    host_pod web "$HOST/data/www" DirectoryOrCreate
    echo keep > "$MNT/pods/default/web/h/index.html"
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/data"
    [ "$(phase pod web)" = Running ]
    [ "$(cat "$MNT/pods/default/web/h/index.html")" = keep ]
    # DirectoryOrCreate makes it again at start-up, as kubelet after a reboot
    host_pod dir2 "$HOST/data/gone" DirectoryOrCreate
    rmdir "$HOST/data/gone"
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/data"
    [ -d "$HOST/data/gone" ]
    [ "$(phase pod dir2)" = Running ]
    volctl delete pod web
    volctl delete pod dir2
    run volctl get pod web
    assert_failure
    [ "$(cat "$HOST/data/www/index.html")" = keep ]
    [ -d "$HOST/data/gone" ]
}

@test "a restart without the pod's prefix sends it back to Pending with the cause" {
    host_pod web "$HOST/data/www" DirectoryOrCreate
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/data2"
    [ "$(phase pod web)" = Pending ]
    run volctl describe pod web
    assert_output --partial "volume \"h\": hostPath $HOST/data/www is not under an allowed prefix (--hostpath-allow $HOST/data2)"
    [ ! -e "$MNT/pods/default/web/h" ]
    [ -d "$HOST/data/www" ]
}

# hostpv NAME PATH TYPE POLICY: a 1Gi class-less hostPath PersistentVolume.
hostpv() {
    volctl apply -f - <<EOF
apiVersion: v1
kind: PersistentVolume
metadata: {name: $1}
spec:
  capacity: {storage: 1Gi}
  accessModes: [ReadWriteOnce]
  persistentVolumeReclaimPolicy: ${4:-Retain}
  storageClassName: ""
  hostPath: {path: "$2", type: "$3"}
EOF
}

claim() {
    volctl apply -f - <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: $1}
spec:
  accessModes: [ReadWriteOnce]
  storageClassName: ""
  resources: {requests: {storage: 1Gi}}
EOF
}

@test "a hostPath PersistentVolume is bound by a claim and used by a pod; the data is the host's" {
    hostpv hp "$HOST/data/pv" DirectoryOrCreate
    [ "$(phase pv hp)" = Available ]
    [ "$(readlink "$MNT/pv/hp")" = "$HOST/data/pv" ]
    run ls "$MNT/pv"
    assert_output hp
    run stat -c '%a' "$HOST/data/pv"
    assert_output 755
    claim data
    [ "$(phase pvc data)" = Bound ]
    [ "$(field pvc data 'o["spec"]["volumeName"]')" = hp ]
    pod web "    - {name: d, persistentVolumeClaim: {claimName: data}}"
    [ "$(phase pod web)" = Running ]
    [ "$(readlink "$MNT/pods/default/web/d")" = ../../../pv/hp ]
    [ "$(field pod web 'o["status"]["hostPaths"]["d"]')" = "$HOST/data/pv" ]
    echo row > "$MNT/pods/default/web/d/table"
    [ "$(cat "$HOST/data/pv/table")" = row ]
    [ "$(cat "$MNT/pvc/default/data/table")" = row ]
    # no volfs capacity: writing past the PV's nominal 1Gi is the host's business
    [ "$(stat -f -c '%b %S' "$MNT/pv/hp/")" = "$(stat -f -c '%b %S' "$HOST/data")" ]
    run volctl df
    refute_output --partial hp
    run volctl describe pv hp
    assert_output --partial "Path:  $HOST/data/pv"
    refute_output --partial 'Used:'
    # a restart sets it up again and keeps the chain
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/data"
    [ "$(phase pv hp)" = Bound ]
    [ "$(phase pod web)" = Running ]
    [ "$(cat "$MNT/pods/default/web/d/table")" = row ]
    run volctl check
    assert_success
}

@test "snapshots and clones of a hostPath-backed claim are refused with the reason" {
    hostpv hp "$HOST/data/pv" DirectoryOrCreate
    claim data
    run volctl snapshot pvc/data snap
    assert_failure
    assert_output --partial "cannot snapshot persistentvolume \"hp\": it is a hostPath volume"
    run volctl get vs snap
    assert_failure
    # a VolumeSnapshot manifest is stored, as the API server would, and fails
    volctl apply -f - <<EOF
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: snap}
spec: {source: {persistentVolumeClaimName: data}}
EOF
    run volctl describe vs snap
    assert_output --partial 'SnapshotFailed'
    assert_output --partial 'cannot snapshot claim "data": its volume hp is a hostPath volume'
    run volctl snapshot pv/hp snap2
    assert_failure
    assert_output --partial "cannot snapshot persistentvolume \"hp\": it is a hostPath volume (its data is on the host at $HOST/data/pv, outside volfs)"
    run volctl clone pv/hp pv/copy
    assert_failure
    assert_output --partial 'cannot clone persistentvolume "hp": it is a hostPath volume'
}

@test "deleting a hostPath volume (Delete or Retain) never deletes host data; Recycle is refused" {
    hostpv del "$HOST/data/del" DirectoryOrCreate Delete
    claim data
    [ "$(field pvc data 'o["spec"]["volumeName"]')" = del ]
    echo precious > "$MNT/pvc/default/data/f"
    volctl delete pvc data
    run volctl get pv del
    assert_failure
    [ "$(cat "$HOST/data/del/f")" = precious ]
    grep -q "persistentvolume del deleted; its data on the host at $HOST/data/del stays" "$VOLFS_LOG"
    [ ! -e "$MNT/pv/del" ]
    hostpv keep "$HOST/data/keep" DirectoryOrCreate Retain
    echo kept > "$HOST/data/keep/f"
    volctl delete pv keep
    [ "$(cat "$HOST/data/keep/f")" = kept ]
    hostpv rec "$HOST/data/rec" DirectoryOrCreate Recycle
    claim data
    echo stays > "$HOST/data/rec/f"
    volctl delete pvc data
    [ "$(phase pv rec)" = Failed ]
    run volctl describe pv rec
    assert_output --partial 'volfs does not scrub hostPath volumes'
    [ "$(cat "$HOST/data/rec/f")" = stays ]
}

@test "a hostPath volume outside the prefixes is refused at apply; one failing its type check stays Pending" {
    run hostpv out "$HOST/outside" Directory
    assert_failure
    assert_output --partial "persistentvolumes \"out\" is forbidden: spec.hostPath.path: hostPath $HOST/outside is not under an allowed prefix"
    run volctl get pv out
    assert_failure
    hostpv nosock "$HOST/data/db.sock" Socket
    [ "$(phase pv nosock)" = Pending ]
    run volctl describe pv nosock
    assert_output --partial "HostPathFailed"
    assert_output --partial "hostPath $HOST/data/db.sock doesn't exist"
    [ ! -e "$MNT/pv/nosock" ]
    claim data
    [ "$(phase pvc data)" = Pending ]
    make_socket "$HOST/data/db.sock"
    volctl apply -f - <<<'{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"poke"},"data":{}}'
    [ "$(phase pv nosock)" = Bound ]
    [ "$(phase pvc data)" = Bound ]
}

@test "hostPath manifests are validated as the API server does" {
    run host_pod rel "relative/path" Directory
    assert_failure
    assert_output --partial 'spec.volumes[0].hostPath.path: Invalid value: "relative/path": must be an absolute path'
    run host_pod typo "$HOST/data" Dir
    assert_failure
    assert_output --partial 'spec.volumes[0].hostPath.type: Unsupported value: "Dir"'
    run pod nopath "    - {name: h, hostPath: {}}"
    assert_failure
    assert_output --partial 'spec.volumes[0].hostPath.path: Required value'
    run hostpv bad "$HOST/data" Sock
    assert_failure
    assert_output --partial 'spec.hostPath.type: Unsupported value: "Sock"'
}

@test "a prefix given through a symlink is canonicalised: both spellings of a path are allowed" {
    ln -s "$HOST/data" "$HOST/alias"
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/alias" --hostpath-allow "$HOST/outside"
    host_pod a "$HOST/alias/x" DirectoryOrCreate
    [ "$(phase pod a)" = Running ]
    [ "$(readlink "$MNT/pods/default/a/h")" = "$HOST/data/x" ]
    host_pod b "$HOST/outside" Directory
    [ "$(phase pod b)" = Running ]
    run host_pod c "$HOST/data2" Directory
    assert_failure
    assert_output --partial "(--hostpath-allow $HOST/data, $HOST/outside)"
}

@test "a bound hostPath volume whose path is gone at start-up loses its link; its pod goes Pending" {
    mkdir "$HOST/data/vol"
    hostpv hp "$HOST/data/vol" Directory
    claim data
    pod web "    - {name: d, persistentVolumeClaim: {claimName: data}}"
    [ "$(phase pod web)" = Running ]
    volfs_stop
    rmdir "$HOST/data/vol"
    volfs_launch --hostpath-allow "$HOST/data"
    [ "$(phase pv hp)" = Bound ]
    [ ! -e "$MNT/pv/hp" ]
    run volctl describe pv hp
    assert_output --partial "hostPath $HOST/data/vol doesn't exist"
    [ "$(phase pod web)" = Pending ]
    run volctl describe pod web
    assert_output --partial "volume \"d\": hostPath $HOST/data/vol doesn't exist"
    # it comes back with the directory
    mkdir "$HOST/data/vol"
    volfs_stop
    volfs_launch --hostpath-allow "$HOST/data"
    [ "$(readlink "$MNT/pv/hp")" = "$HOST/data/vol" ]
    [ "$(phase pod web)" = Running ]
}
