#!/usr/bin/env bats
# Pods as owners of volumes: emptyDir (on disk) and persistentVolumeClaim
# volumes under MOUNT/pods/<ns>/<pod>/<volume>, their lifecycles, and the
# claim rules pods bring (WaitForFirstConsumer, ReadWriteOncePod,
# pvc-protection).

# shellcheck disable=SC2154 # STATE, MNT, PY, MiB come from helpers.bash
load helpers

M=$BATS_TEST_DIRNAME/../manifests

field() {
    local out
    out=$(volctl get "$1" "$2" -n "${4:-default}" -o json) || return 1
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

phase() { field "$1" "$2" 'o["status"]["phase"]'; }

@test "a pod gets its emptyDir and binds its WaitForFirstConsumer claim; both appear under /pods" {
    run volctl apply -f "$M/pod-with-volumes.yaml"
    assert_success
    assert_line 'pod/web created'
    [ "$(phase pod web)" = Running ]
    [ "$(phase pvc data)" = Bound ]
    pv=$(field pvc data 'o["spec"]["volumeName"]')
    [ -d "$MNT/pods/default/web/logs" ]
    [ "$(readlink "$MNT/pods/default/web/data")" = "../../../pv/$pv" ]
    echo line > "$MNT/pods/default/web/logs/app.log"
    echo row > "$MNT/pods/default/web/data/table"
    [ "$(cat "$MNT/pv/$pv/table")" = row ]
    run ls "$MNT/pods/default/web"
    assert_output $'data\nlogs'
    run volctl get pod
    assert_output --regexp 'web +Running +2'
}

@test "an emptyDir's sizeLimit is enforced with ENOSPC" {
    volctl apply -f "$M/pod-with-volumes.yaml"
    run stat -f -c '%b %S' "$MNT/pods/default/web/logs/"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((8 * MiB)) ]
    run dd if=/dev/zero of="$MNT/pods/default/web/logs/big" bs=1M count=9
    assert_failure
    assert_output --partial 'No space left on device'
}

@test "a pod whose claim is missing stays Pending, says why, and creates nothing" {
    run volctl apply -f "$M/pod-missing-claim.yaml"
    assert_success
    [ "$(phase pod orphan)" = Pending ]
    run volctl describe pod orphan
    assert_output --partial 'persistentvolumeclaim "nowhere" not found'
    run ls -A "$MNT/pods/default/orphan"
    assert_output ''
    run volctl df
    refute_output --partial orphan
}

@test "ReadWriteOncePod: a second pod waits until the first is gone" {
    volctl apply -f "$M/pod-with-volumes.yaml"
    volctl apply -f "$M/pod-second-user.yaml"
    [ "$(phase pod web2)" = Pending ]
    run volctl describe pod web2
    assert_output --partial 'ReadWriteOncePod and pod "web" already uses it'
    volctl delete pod web
    [ "$(phase pod web2)" = Running ]
}

@test "a claim in use is Terminating until its pod goes; then its policy applies" {
    volctl apply -f "$M/pod-with-volumes.yaml"
    pv=$(field pvc data 'o["spec"]["volumeName"]')
    run volctl delete pvc data
    assert_success
    run volctl get pvc data
    assert_output --partial Terminating
    [ -d "$MNT/pv/$pv" ]
    volctl delete pod web
    run volctl get pvc data
    assert_failure
    run volctl get pv "$pv"
    assert_failure
}

@test "deleting a pod deletes its emptyDir and frees the space" {
    volctl apply -f "$M/pod-with-volumes.yaml"
    dd if=/dev/urandom of="$MNT/pods/default/web/logs/blob" bs=1M count=6 status=none
    sync
    before=$(du -sk "$STATE" | cut -f1)
    run volctl delete pod web
    assert_success
    [ ! -e "$MNT/pods/default/web" ]
    run volctl get pod web
    assert_failure
    after=$(du -sk "$STATE" | cut -f1)
    [ "$after" -lt $((before - 4000)) ]
    # the claim outlives the pod
    [ "$(phase pvc data)" = Bound ]
}

@test "an emptyDir survives a daemon crash and restart while its pod exists" {
    volctl apply -f "$M/pod-with-volumes.yaml"
    echo kept > "$MNT/pods/default/web/logs/f"
    sync "$MNT/pods/default/web/logs/f"
    volfs_kill9
    volfs_launch
    [ "$(phase pod web)" = Running ]
    [ "$(cat "$MNT/pods/default/web/logs/f")" = kept ]
}

@test "a pod's volumes must be served types and its mounts must name them" {
    cat > "$BATS_TEST_TMPDIR/p.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: bad}
spec:
  containers: [{name: c, volumeMounts: [{name: nope, mountPath: /x}]}]
  volumes: [{name: scratch, emptyDir: {}}]
YAML
    run volctl apply -f "$BATS_TEST_TMPDIR/p.yaml"
    assert_failure
    assert_output --partial 'volumeMounts[0].name: Not found: "nope"'
    run volctl get pod bad
    assert_failure
}

# ro_pods: a claim "shared" (RWX) with data, used read-only by pod "reader",
# read-write by pod "writer"; a ReadOnlyMany claim "archive" used by pod "viewer".
ro_pods() {
    cat > "$BATS_TEST_TMPDIR/ro.yaml" <<YAML
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: archive}
spec: {accessModes: [ReadOnlyMany], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: writer}
spec:
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
---
apiVersion: v1
kind: Pod
metadata: {name: reader}
spec:
  containers: [{name: app, volumeMounts: [{name: data, mountPath: /data}]}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: shared, readOnly: true}}]
---
apiVersion: v1
kind: Pod
metadata: {name: viewer}
spec:
  containers: [{name: app, volumeMounts: [{name: old, mountPath: /old}]}]
  volumes: [{name: old, persistentVolumeClaim: {claimName: archive}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/ro.yaml" >/dev/null
}

@test "a readOnly claim volume is a read-only view of the volume: reads work, every change is EROFS" {
    ro_pods
    [ "$(phase pod reader)" = Running ]
    pv=$(field pvc shared 'o["spec"]["volumeName"]')
    mkdir "$MNT/pv/$pv/dir"
    echo original > "$MNT/pv/$pv/dir/file"
    ln -s file "$MNT/pv/$pv/dir/link"
    ro=$MNT/pods/default/reader/data
    [ -d "$ro" ] && [ ! -L "$ro" ]
    [ "$(cat "$ro/dir/file")" = original ]
    [ "$(readlink "$ro/dir/link")" = file ]
    run ls "$ro/dir"
    assert_output $'file\nlink'
    for cmd in "echo x > $ro/dir/file" "echo x >> $ro/dir/file" "echo x > $ro/new" "mkdir $ro/d2" \
        "rm $ro/dir/file" "rmdir $ro/dir" "mv $ro/dir/file $ro/dir/moved" "truncate -s 0 $ro/dir/file" \
        "chmod 600 $ro/dir/file" "touch $ro/dir/file" "ln -s x $ro/sym" "ln $ro/dir/file $ro/hard" \
        "setfattr -n user.a -v 1 $ro/dir/file" "fallocate -l 4096 $ro/dir/file" "touch $ro/dir/newfile"; do
        run sh -c "$cmd"
        assert_failure
        assert_output --partial 'Read-only file system'
    done
    # a hard link out of the read-only view into the writable one is refused too
    run ln "$ro/dir/file" "$MNT/pods/default/writer/data/hard"
    assert_failure
    [ "$(cat "$ro/dir/file")" = original ]
    run stat -f -c '%b' "$ro"
    [ "$output" -eq $((16 * MiB / 4096)) ]
    # the pod that may write writes, and the reader sees it (a name it
    # looked up before it existed too)
    [ ! -e "$ro/dir/later" ]
    echo changed > "$MNT/pods/default/writer/data/dir/file"
    echo new > "$MNT/pods/default/writer/data/dir/later"
    sleep 1.1 # the kernel's cache of the other view
    [ "$(cat "$ro/dir/later")" = new ]
    [ "$(cat "$ro/dir/file")" = changed ]
    # the read-only view's inodes are its own numbers, stable across lookups
    a=$(stat -c %i "$ro/dir/file")
    b=$(stat -c %i "$MNT/pv/$pv/dir/file")
    [ "$a" != "$b" ]
    echo 2 > /proc/sys/vm/drop_caches
    [ "$(stat -c %i "$ro/dir/file")" = "$a" ]
    [ "$(cat "$ro/dir/file")" = changed ]
    # it goes with its pod, the volume stays
    volctl delete pod reader
    [ ! -e "$MNT/pods/default/reader" ]
    [ "$(cat "$MNT/pv/$pv/dir/file")" = changed ]
}

@test "a ReadOnlyMany claim is read-only in every pod that uses it (without readOnly: true)" {
    ro_pods
    [ "$(phase pod viewer)" = Running ]
    pv=$(field pvc archive 'o["spec"]["volumeName"]')
    echo kept > "$MNT/pv/$pv/record"
    [ "$(cat "$MNT/pods/default/viewer/old/record")" = kept ]
    run sh -c "echo x > $MNT/pods/default/viewer/old/record"
    assert_failure
    assert_output --partial 'Read-only file system'
    run touch "$MNT/pods/default/viewer/old/new"
    assert_failure
    assert_output --partial 'Read-only file system'
    run ls -l "$MNT/pods/default/viewer"
    assert_line --regexp '^d.* old$'
    # the read-write claim of the writer pod stays a link to its volume
    run readlink "$MNT/pods/default/writer/data"
    assert_output --regexp '^\.\./\.\./\.\./pv/'
}

@test "describe pod lists each container's mounts and each volume with its type, as kubectl does" {
    cat > "$BATS_TEST_TMPDIR/d.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: shown}
spec:
  containers:
  - name: app
    volumeMounts:
    - {name: cache, mountPath: /cache}
    - {name: data, mountPath: /srv, subPath: www, readOnly: true}
  - {name: idle}
  volumes:
  - {name: cache, emptyDir: {medium: Memory, sizeLimit: 16Mi}}
  - {name: data, persistentVolumeClaim: {claimName: nowhere, readOnly: true}}
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/d.yaml"
    run volctl describe pod shown
    assert_success
    assert_line --regexp '^Containers:$'
    assert_line --regexp '^  app:$'
    assert_line '      /cache from cache (rw)'
    assert_line '      /srv from data (ro,path="www")'
    assert_line --regexp '^    Mounts: +<none>$'
    assert_line --regexp '^    Type: +EmptyDir \(a temporary directory that shares a pod.s lifetime\)$'
    assert_line --regexp '^    Medium: +Memory$'
    assert_line --regexp '^    SizeLimit: +16Mi$'
    assert_line --regexp '^    ClaimName: +nowhere$'
    assert_line --regexp '^    ReadOnly: +true$'
    assert_output --partial 'persistentvolumeclaim "nowhere" not found'
}
