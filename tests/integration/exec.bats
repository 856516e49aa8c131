#!/usr/bin/env bats
# volctl exec: a command in a private mount namespace that sees a pod
# container's volumeMounts at their mountPaths (subPath, readOnly), with the
# command's exit status, and clear errors for what cannot be done.

# shellcheck disable=SC2154 # STATE, MNT, PY come from helpers.bash
load helpers

# The mountPaths are directories of this test (they must exist on the host;
# volctl exec mounts over them and leaves them as they were).
setup() {
    volfs_start
    H=$BATS_TEST_TMPDIR/host
    mkdir -p "$H"/{applogs,shiplogs,data,site,conf,ro,old,missing-parent}
    echo host-file > "$H/site/untouched"
    cat > "$BATS_TEST_TMPDIR/web.yaml" <<YAML
apiVersion: v1
kind: ConfigMap
metadata: {name: web-conf}
data: {nginx.conf: "worker_processes 2;"}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: web}
spec:
  containers:
  - name: app
    volumeMounts:
    - {name: logs, mountPath: $H/applogs}
    - {name: data, mountPath: $H/data}
    - {name: data, mountPath: $H/site, subPath: www/html}
    - {name: conf, mountPath: $H/conf}
    - {name: data-ro, mountPath: $H/ro}
  - name: log-shipper
    volumeMounts:
    - {name: logs, mountPath: $H/shiplogs, readOnly: true}
  volumes:
  - {name: logs, emptyDir: {}}
  - {name: data, persistentVolumeClaim: {claimName: shared}}
  - {name: data-ro, persistentVolumeClaim: {claimName: shared, readOnly: true}}
  - {name: conf, configMap: {name: web-conf}}
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/web.yaml" >/dev/null
}

teardown() {
    volfs_teardown
}

@test "sidecar log sharing: the app container appends, the log-shipper container reads the same emptyDir" {
    run volctl exec web -c app -- sh -c "echo 'GET /' >> $H/applogs/access.log"
    assert_success
    run volctl exec web -c app -- sh -c "echo 'GET /x' >> $H/applogs/access.log"
    assert_success
    run volctl exec web -c log-shipper -- cat "$H/shiplogs/access.log"
    assert_success
    assert_output $'GET /\nGET /x'
    # the shipper's mount is readOnly: EROFS inside
    run volctl exec web -c log-shipper -- sh -c "echo forged >> $H/shiplogs/access.log"
    assert_failure
    assert_output --partial 'Read-only file system'
    # the data went to the pod's volume, nothing to the host's directories
    [ "$(cat "$MNT/pods/default/web/logs/access.log")" = $'GET /\nGET /x' ]
    [ ! -e "$H/applogs/access.log" ] && [ ! -e "$H/shiplogs/access.log" ]
    run findmnt -rn --target "$H/applogs" -o TARGET
    refute_output "$H/applogs"
}

@test "the first container is the default, and stderr says so when there are several" {
    run --separate-stderr volctl exec web -- ls "$H/conf"
    assert_success
    assert_output 'nginx.conf'
    [ "$stderr" = 'Defaulted container "app" out of: app, log-shipper' ]
}

@test "a claim is its volume, subPath mounts a directory of it (created as kubelet does), configMaps are read-only" {
    pv=$(volctl get pvc shared -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"]["volumeName"])')
    run volctl exec web -c app -- sh -c "echo hello > $H/data/top && echo page > $H/site/index.html && ls $H/site"
    assert_success
    assert_output 'index.html'
    [ "$(cat "$MNT/pv/$pv/top")" = hello ]
    [ "$(cat "$MNT/pv/$pv/www/html/index.html")" = page ]
    [ "$(cat "$H/site/untouched")" = host-file ]
    run volctl exec web -c app -- cat "$H/conf/nginx.conf"
    assert_output 'worker_processes 2;'
    run volctl exec web -c app -- sh -c "echo x > $H/conf/other"
    assert_failure
    assert_output --partial 'Read-only file system'
}

@test "a readOnly claim is read-only in exec too" {
    run volctl exec web -c app -- sh -c "echo x > $H/data/f; cat $H/ro/f; echo y > $H/ro/f"
    assert_failure
    assert_line 'x'
    assert_output --partial 'Read-only file system'
}

@test "the command's exit status is volctl's" {
    run volctl exec web -- sh -c 'exit 7'
    [ "$status" -eq 7 ]
    run volctl exec web -- true
    assert_success
    run -127 volctl exec web -- /nonexistent/cmd
    assert_output --partial 'cannot run /nonexistent/cmd'
}

@test "a subPath directory is created with the volume root's mode, whatever the umask (as kubelet does)" {
    pv=$(volctl get pvc shared -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"]["volumeName"])')
    chmod 0777 "$MNT/pv/$pv"
    cat > "$BATS_TEST_TMPDIR/sub.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: sub}
spec:
  containers: [{name: c, volumeMounts: [{name: d, mountPath: $H/data, subPath: made/here}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: shared}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/sub.yaml"
    run bash -c "umask 022; \"$VOLFS_BIN/volctl\" --state \"$STATE\" exec sub -- true"
    assert_success
    [ "$(stat -c %a "$MNT/pv/$pv/made")" = 777 ]
    [ "$(stat -c %a "$MNT/pv/$pv/made/here")" = 777 ]
}

@test "a subPath that leaves the volume through a symlink is refused; so is .. and an absolute one" {
    pv=$(volctl get pvc shared -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"]["volumeName"])')
    ln -s /etc "$MNT/pv/$pv/escape"
    cat > "$BATS_TEST_TMPDIR/esc.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: esc}
spec:
  containers: [{name: c, volumeMounts: [{name: d, mountPath: $H/data, subPath: escape/ssl}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: shared}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/esc.yaml"
    run volctl exec esc -- ls "$H/data"
    assert_failure
    assert_output --partial 'subPath "escape/ssl" of volume "d" leaves the volume'
    for bad in ../up /abs a/../../b; do
        sed "s|subPath: escape/ssl|subPath: $bad|; s|name: esc|name: bad|" "$BATS_TEST_TMPDIR/esc.yaml" > "$BATS_TEST_TMPDIR/bad.yaml"
        run volctl apply -f "$BATS_TEST_TMPDIR/bad.yaml"
        assert_failure
        assert_output --partial "subPath: Invalid value: \"$bad\""
    done
}

@test "clear errors: unknown container, missing pod, pod not Running, missing mountPath, no command" {
    run volctl exec web -c nope -- true
    assert_failure
    assert_output 'volctl: error: container "nope" not found in pod "web" (its containers: app, log-shipper)'
    run volctl exec ghost -- true
    assert_failure
    assert_output --partial 'pods "ghost" not found'
    cat > "$BATS_TEST_TMPDIR/pending.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: waiting}
spec:
  containers: [{name: c, volumeMounts: [{name: d, mountPath: $H/data}]}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: nowhere}}]
---
apiVersion: v1
kind: Pod
metadata: {name: nowhere-to-mount}
spec:
  containers: [{name: c, volumeMounts: [{name: d, mountPath: $H/missing-parent/not-there}]}]
  volumes: [{name: d, emptyDir: {}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/pending.yaml"
    run volctl exec waiting -- true
    assert_failure
    assert_output --partial 'pod "waiting" is Pending, not Running'
    run volctl exec nowhere-to-mount -- true
    assert_failure
    assert_output --partial "mountPath $H/missing-parent/not-there of volume \"d\" does not exist on this machine"
    [ ! -e "$H/missing-parent/not-there" ]
    run volctl exec web
    assert_failure
    assert_output --partial 'the command follows --'
    run volctl exec web --
    assert_failure
    assert_output --partial 'a command is required'
    run volctl exec web ls
    assert_failure
}

@test "without CAP_SYS_ADMIN, or without a daemon, exec says so in one line" {
    run setpriv --inh-caps=-all --bounding-set=-sys_admin -- "$VOLFS_BIN/volctl" --state "$STATE" exec web -- true
    assert_failure
    assert_output 'volctl: error: volctl exec needs CAP_SYS_ADMIN to create a mount namespace (run it as root)'
    run "$VOLFS_BIN/volctl" --state "$BATS_TEST_TMPDIR/nothing" exec web -- true
    assert_failure
    assert_output --partial 'cannot connect'
    [ "${#lines[@]}" -eq 1 ]
}

@test "volctl exec --help has examples" {
    run volctl exec --help
    assert_success
    assert_output --partial 'volctl exec POD [-n NS] [-c CONTAINER] -- COMMAND'
    assert_output --partial 'sudo volctl exec web -c log-shipper -- tail'
}

@test "a hostPath volume: exec binds the host directory, read-write or readOnly (EROFS)" {
    volfs_stop
    local allow=$BATS_TEST_TMPDIR/allowed
    mkdir -p "$allow" "$H/hp-rw" "$H/hp-ro"
    volfs_launch --hostpath-allow "$allow"
    cat > "$BATS_TEST_TMPDIR/hp.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  containers:
  - name: writer
    volumeMounts:
    - {name: host, mountPath: $H/hp-rw}
  - name: reader
    volumeMounts:
    - {name: host, mountPath: $H/hp-ro, readOnly: true}
  volumes:
  - {name: host, hostPath: {path: $allow/logs, type: DirectoryOrCreate}}
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/hp.yaml" >/dev/null
    run volctl exec hp -c writer -- sh -c "echo from-pod > $H/hp-rw/out.txt"
    assert_success
    # the write went straight to the host path, not to the mount point
    [ "$(cat "$allow/logs/out.txt")" = from-pod ]
    [ ! -e "$H/hp-rw/out.txt" ]
    run volctl exec hp -c reader -- cat "$H/hp-ro/out.txt"
    assert_success
    assert_output from-pod
    run volctl exec hp -c reader -- sh -c "echo forged > $H/hp-ro/out.txt"
    assert_failure
    assert_output --partial 'Read-only file system'
    [ "$(cat "$allow/logs/out.txt")" = from-pod ]
}

@test "a hostPath swapped for a symbolic link after set-up is neither bound by exec nor linked by the mount" {
    volfs_stop
    local allow=$BATS_TEST_TMPDIR/allowed outside=$BATS_TEST_TMPDIR/outside
    mkdir -p "$allow" "$outside" "$H/hp" "$H/hp-sub"
    echo 'root:$6$secret-hash:19000:0:99999:7:::' > "$outside/shadow"
    volfs_launch --hostpath-allow "$allow"
    volctl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  containers:
  - name: c
    volumeMounts:
    - {name: host, mountPath: $H/hp}
    - {name: sub, mountPath: $H/hp-sub, subPath: inner}
  volumes:
  - {name: host, hostPath: {path: $allow/d1, type: DirectoryOrCreate}}
  - {name: sub, hostPath: {path: $allow/d2, type: DirectoryOrCreate}}
YAML
    echo pod-data > "$allow/d1/file"
    run volctl exec hp -- cat "$H/hp/file"
    assert_success
    assert_output pod-data

    # d1 becomes a link to a directory outside every allowed prefix.
    rm -rf "$allow/d1"
    ln -s "$outside" "$allow/d1"
    run volctl exec hp -- cat "$H/hp/shadow"
    assert_failure
    refute_output --partial 'secret-hash'
    assert_output --partial 'volume "host"'
    run cat "$MNT/pods/default/hp/host/shadow"
    assert_failure
    refute_output --partial 'secret-hash'
    grep -q "no longer the path set up" "$VOLFS_LOG" || fail "no warning in the log"

    # A subPath inside the host directory swapped for a link is refused too.
    rm -f "$allow/d1"
    mkdir "$allow/d1"
    rm -rf "$allow/d2/inner" # made by the first exec, as kubelet makes a subPath
    ln -s "$outside" "$allow/d2/inner"
    run volctl exec hp -- cat "$H/hp-sub/shadow"
    assert_failure
    refute_output --partial 'secret-hash'
    assert_output --partial 'subPath "inner" of volume "sub": it leaves the volume'
}
