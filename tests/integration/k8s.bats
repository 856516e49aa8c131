#!/usr/bin/env bats
# The Kubernetes storage model against a real daemon: manifests from
# tests/manifests applied with volctl, then phases, bindings, the mount
# layout, data, reclaim, expansion, quotas and refusals checked.

# shellcheck disable=SC2154 # STATE, MNT, PY ... come from helpers.bash
load helpers

M=$BATS_TEST_DIRNAME/../manifests

# field KIND NAME EXPR [NS]: a python expression on the object `o`.
field() {
    local out
    out=$(volctl get "$1" "$2" -n "${4:-default}" -o json) || return 1
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

phase() { field "$1" "$2" 'o["status"]["phase"]' "${3:-default}"; }

# events KIND NAME [NS]: the describe text (events included).
events() { volctl describe "$1" "$2" -n "${3:-default}"; }

# objects_count KIND: how many objects of a kind exist in every namespace.
objects_count() {
    local out
    out=$(volctl get "$1" -A -o json) || return 1
    "$PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$out"
}

@test "a fresh state directory has a default class, snapshot class and namespace" {
    run volctl get sc
    assert_success
    assert_output --partial 'volfs (default)'
    assert_output --partial 'volfs.io/local'
    run volctl get vsclass
    assert_success
    assert_output --partial 'volfs-snapshots'
    run volctl get ns
    assert_output --partial default
}

@test "a claim of a volfs class is provisioned, bound, linked under /pvc and holds data" {
    run volctl apply -f "$M/class-and-claim.yaml"
    assert_success
    assert_line 'storageclass.storage.k8s.io/fast created'
    assert_line 'persistentvolumeclaim/data created'
    [ "$(phase pvc data)" = Bound ]
    pv=$(field pvc data 'o["spec"]["volumeName"]')
    [[ $pv == pvc-* ]]
    [ "$(field pvc data 'o["status"]["capacity"]["storage"]')" = 64Mi ]
    [ "$(phase pv "$pv")" = Bound ]
    [ "$(field pv "$pv" 'o["spec"]["claimRef"]["name"]')" = data ]
    [ "$(field pv "$pv" 'o["spec"]["persistentVolumeReclaimPolicy"]')" = Delete ]
    [ "$(readlink "$MNT/pvc/default/data")" = "../../pv/$pv" ]
    echo hello > "$MNT/pvc/default/data/greeting"
    [ "$(cat "$MNT/pv/$pv/greeting")" = hello ]
    run stat -f -c '%b %S' "$MNT/pvc/default/data/"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((64 * MiB)) ]
    # applying the same file again changes nothing
    run volctl apply -f "$M/class-and-claim.yaml"
    assert_success
    assert_line 'persistentvolumeclaim/data unchanged'
    run volctl get pvc
    assert_output --regexp 'NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +AGE'
    assert_output --regexp "data +Bound +$pv +64Mi +RWO +fast"
}

@test "deleting a claim with reclaim policy Delete removes the volume and its data" {
    volctl apply -f "$M/class-and-claim.yaml"
    pv=$(field pvc data 'o["spec"]["volumeName"]')
    dd if=/dev/urandom of="$MNT/pvc/default/data/blob" bs=1M count=16 status=none
    sync
    before=$(du -sk "$STATE" | cut -f1)
    run volctl delete -f "$M/class-and-claim.yaml"
    assert_success
    assert_line 'persistentvolumeclaim "data" deleted'
    run volctl get pv "$pv"
    assert_failure
    assert_output --partial 'not found'
    [ ! -e "$MNT/pvc/default/data" ]
    [ ! -e "$MNT/pv/$pv" ]
    wait_reclaimed
    after=$(du -sk "$STATE" | cut -f1)
    [ "$after" -lt $((before - 8000)) ]
}

@test "static volumes: the smallest that fits binds, a 10Gi volume serves a 5Gi claim in full" {
    run volctl apply -f "$M/static-pvs.yaml"
    assert_success
    [ "$(phase pv pv-5g)" = Available ]
    run volctl apply -f "$M/claim-7g.yaml"
    assert_success
    [ "$(field pvc claim-7g 'o["spec"]["volumeName"]')" = pv-10g ]
    [ "$(field pvc claim-7g 'o["status"]["capacity"]["storage"]')" = 10Gi ]
    [ "$(phase pv pv-10g)" = Bound ]
    [ "$(phase pv pv-5g)" = Available ]
    run volctl get pv
    assert_output --regexp 'NAME +CAPACITY +ACCESS MODES +RECLAIM POLICY +STATUS +CLAIM +STORAGECLASS'
    assert_output --regexp 'pv-10g +10Gi +RWO +Retain +Bound +default/claim-7g +manual'
    # a 3Gi claim takes the 5Gi volume, not the 20Gi one
    volctl create pvc small3 --size 3Gi --class manual
    [ "$(field pvc small3 'o["spec"]["volumeName"]')" = pv-5g ]
}

@test "a selector limits the candidates; no fit leaves the claim Pending with an event" {
    volctl apply -f "$M/static-pvs.yaml"
    run volctl apply -f "$M/claim-selector.yaml"
    assert_success
    [ "$(phase pvc gold-only)" = Pending ]
    run events pvc gold-only
    # no StorageClass object "manual" exists: Kubernetes says so, and why
    # no volume was taken
    assert_output --partial 'storageclass.storage.k8s.io "manual" not found'
    assert_output --partial pv-20g-silver
}

@test "an empty class binds only class-less volumes; an omitted class gets the default and is provisioned" {
    volctl create pv loose --capacity 16Mi
    cat > "$BATS_TEST_TMPDIR/c.yaml" <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: empty-class}
spec:
  storageClassName: ""
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Mi}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: omitted-class}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Mi}}
EOF
    run volctl apply -f "$BATS_TEST_TMPDIR/c.yaml"
    assert_success
    [ "$(field pvc empty-class 'o["spec"]["volumeName"]')" = loose ]
    [ "$(field pvc omitted-class 'o["spec"]["storageClassName"]')" = volfs ]
    [[ $(field pvc omitted-class 'o["spec"]["volumeName"]') == pvc-* ]]
}

@test "a selector with a dynamic class is not provisioned, as in Kubernetes" {
    cat > "$BATS_TEST_TMPDIR/c.yaml" <<EOF
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: picky}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Mi}}
  selector: {matchLabels: {tier: gold}}
EOF
    volctl apply -f "$BATS_TEST_TMPDIR/c.yaml"
    [ "$(phase pvc picky)" = Pending ]
    run events pvc picky
    assert_output --partial 'claim Selector is not supported'
}

@test "WaitForFirstConsumer keeps a claim Pending with the event" {
    run volctl apply -f "$M/wait-class.yaml"
    assert_success
    [ "$(phase pvc waits)" = Pending ]
    run events pvc waits
    assert_output --partial WaitForFirstConsumer
}

@test "Retain: the volume is Released with its data, and reusable once its claimRef is cleared" {
    volctl apply -f "$M/retain.yaml"
    [ "$(field pvc keeper 'o["spec"]["volumeName"]')" = keep-me ]
    echo precious > "$MNT/pvc/default/keeper/file"
    volctl delete pvc keeper
    [ "$(phase pv keep-me)" = Released ]
    [ "$(cat "$MNT/pv/keep-me/file")" = precious ]
    # a new claim does not take a Released volume
    volctl apply -f "$M/retain.yaml"
    [ "$(phase pvc keeper)" = Pending ]
    # the operator clears the claimRef: Available, and the waiting claim binds
    run volctl patch pv keep-me -p '{"spec":{"claimRef":null}}'
    assert_success
    assert_output 'persistentvolume/keep-me patched'
    [ "$(phase pvc keeper)" = Bound ]
    [ "$(cat "$MNT/pvc/default/keeper/file")" = precious ]
}

@test "Recycle scrubs the data and makes the volume Available, with a warning" {
    volctl apply -f "$M/recycle.yaml"
    echo old > "$MNT/pvc/default/user/file"
    volctl delete pvc user
    [ "$(phase pv recycled)" = Available ]
    [ -z "$(ls -A "$MNT/pv/recycled")" ]
    run events pv recycled
    assert_output --partial deprecated
}

@test "a bound volume being deleted waits (Terminating) until its claim goes" {
    volctl apply -f "$M/retain.yaml"
    run volctl delete pv keep-me
    assert_success
    [ "$(field pv keep-me '"deletionTimestamp" in o["metadata"]')" = True ]
    [ -d "$MNT/pv/keep-me" ]
    volctl delete pvc keeper
    run volctl get pv keep-me
    assert_failure
}

@test "expansion grows a bound claim online when the class allows it; shrinking is refused" {
    volctl apply -f "$M/class-and-claim.yaml"
    run volctl resize pvc data --size 128Mi
    assert_success
    [ "$(field pvc data 'o["status"]["capacity"]["storage"]')" = 128Mi ]
    run stat -f -c '%b %S' "$MNT/pvc/default/data/"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((128 * MiB)) ]
    run volctl resize pvc data --size 32Mi
    assert_failure
    assert_output --partial 'can not be less than previous value'
    [ "$(field pvc data 'o["spec"]["resources"]["requests"]["storage"]')" = 128Mi ]
}

@test "expansion is refused when the class does not allow it" {
    cat > "$BATS_TEST_TMPDIR/c.yaml" <<EOF
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fixed}
provisioner: volfs.io/local
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: stuck}
spec:
  storageClassName: fixed
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 8Mi}}
EOF
    volctl apply -f "$BATS_TEST_TMPDIR/c.yaml"
    run volctl resize pvc stuck --size 16Mi
    assert_failure
    assert_output --partial 'must support resize'
    [ "$(field pvc stuck 'o["status"]["capacity"]["storage"]')" = 8Mi ]
}

@test "a claim's spec is immutable except its request; the field is named" {
    volctl apply -f "$M/class-and-claim.yaml"
    sed 's/ReadWriteOnce/ReadWriteMany/' "$M/class-and-claim.yaml" > "$BATS_TEST_TMPDIR/c.yaml"
    run volctl apply -f "$BATS_TEST_TMPDIR/c.yaml"
    assert_failure
    assert_output --partial 'spec'
    assert_output --partial 'immutable'
    [ "$(field pvc data 'o["spec"]["accessModes"][0]')" = ReadWriteOnce ]
}

@test "ResourceQuota refuses claims past requests.storage, the claim count and a class's share" {
    run volctl apply -f "$M/quota.yaml"
    assert_success
    [ "$(phase pvc small team)" = Bound ]
    run volctl create pvc big -n team --size 70Mi
    assert_failure
    assert_output --partial 'exceeded quota: storage'
    assert_output --partial 'requests.storage=70Mi'
    refute_output --partial 'document'   # one object on the command line: no document number
    volctl apply -f "$M/class-and-claim.yaml" >/dev/null
    run volctl create pvc quick -n team --size 50Mi --class fast
    assert_success
    run volctl create pvc third -n team --size 1Mi
    assert_failure
    assert_output --partial 'persistentvolumeclaims=1'
    run volctl describe quota storage -n team
    assert_success
    assert_output --partial 'requests.storage'
    assert_output --regexp 'persistentvolumeclaims +2 +2'
    # a class's own share
    volctl delete pvc quick -n team
    run volctl create pvc quick2 -n team --size 61Mi --class fast
    assert_failure
    assert_output --partial 'fast.storageclass.storage.k8s.io/requests.storage'
}

# claims_yaml FROM TO [NS]: claims claim-FROM..claim-TO of 1Mi, without a
# class (nothing is provisioned for them).
claims_yaml() {
    local i
    for ((i = $1; i <= $2; i++)); do
        printf -- '---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: claim-%03d, namespace: %s}\n' "$i" "${3:-qa}"
        printf 'spec:\n  storageClassName: ""\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}\n'
    done
}

# claims_in NS: how many claims namespace NS has.
claims_in() {
    volctl get pvc -n "$1" -o json | "$PY" -c 'import json,sys; print(len(json.load(sys.stdin)["items"]))'
}

quota_yaml() {
    printf -- '---\napiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q, namespace: qa}\n'
    printf 'spec:\n  hard: {persistentvolumeclaims: "%s", requests.storage: %s}\n' "$1" "$2"
}

@test "an apply of many claims into a namespace with a quota counts each claim it stores" {
    f=$BATS_TEST_TMPDIR/m.yaml
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: qa}\n' >"$BATS_TEST_TMPDIR/ns.yaml"
    volctl apply -f "$BATS_TEST_TMPDIR/ns.yaml"
    # a quota stored in the middle of an apply counts the claims before it
    # and limits the ones after it (several batches of documents)
    { claims_yaml 1 100; quota_yaml 120 1Gi; claims_yaml 101 130; } >"$f"
    run volctl apply -f "$f"
    assert_failure
    assert_output --partial 'document 122 (PersistentVolumeClaim claim-121)'
    assert_output --partial 'exceeded quota: q, requested: persistentvolumeclaims=1, used: persistentvolumeclaims=120'
    # all or nothing
    [ "$(claims_in qa)" = 0 ]
    run volctl get quota q -n qa
    assert_failure
    # within the limits, every claim is stored; one more is refused
    { quota_yaml 200 150Mi; claims_yaml 1 150; } >"$f"
    volctl apply -f "$f"
    [ "$(claims_in qa)" = 150 ]
    claims_yaml 151 151 >"$f"
    run volctl apply -f "$f"
    assert_failure
    assert_output --partial 'requested: requests.storage=1Mi, used: requests.storage=150Mi, limited: requests.storage=150Mi'
    # a claim deleted between applies frees its share at once
    volctl delete pvc claim-001 -n qa
    volctl apply -f "$f"
    [ "$(claims_in qa)" = 150 ]
    # re-applying the stored claims changes nothing and is not refused
    claims_yaml 2 151 >"$f"
    run volctl apply -f "$f"
    assert_success
    [ "$(claims_in qa)" = 150 ]
}

@test "a quota also refuses an expansion past it" {
    volctl apply -f "$M/quota.yaml"
    volctl apply -f "$M/class-and-claim.yaml" >/dev/null
    volctl create pvc grow -n team --size 10Mi --class fast
    run volctl resize pvc grow -n team --size 70Mi
    assert_failure
    assert_output --partial 'exceeded quota'
}

@test "malformed manifests change nothing and name the document and field" {
    before=$(objects_count pvc)
    run volctl apply -f "$M/bad-quantity.yaml"
    assert_failure
    assert_output --partial 'document 2'
    assert_output --partial 'spec.resources.requests.storage'
    run volctl get sc never-created
    assert_failure
    run volctl apply -f "$M/unknown-kind.yaml"
    assert_failure
    assert_output --partial Frobnicator
    run volctl apply -f "$M/bad-name.yaml"
    assert_failure
    assert_output --partial 'metadata.name'
    run volctl apply -f "$M/missing-field.yaml"
    assert_failure
    assert_output --partial 'spec.capacity'
    run volctl apply -f "$M/pod.yaml"
    assert_failure
    assert_output --partial 'spec.volumes[0].hostPath'
    run volctl get pod web
    assert_failure
    printf 'apiVersion: apps/v1\nkind: Deploymnet\nmetadata: {name: web}\nspec: {replicas: 1}\n' > "$BATS_TEST_TMPDIR/deploy.yaml"
    run volctl apply -f "$BATS_TEST_TMPDIR/deploy.yaml"
    assert_failure
    assert_output --partial 'no matches for kind "Deploymnet" in version "apps/v1"'
    [ "$(objects_count pvc)" = "$before" ]
    [ "$(objects_count pv)" = 0 ]
}

@test "a namespaced object in a missing namespace is refused" {
    run volctl create pvc x -n nowhere --size 1Mi
    assert_failure
    assert_output --partial 'namespaces "nowhere" not found'
}

@test "VolumeSnapshot of a claim, and a claim restored from it, by manifest" {
    volctl apply -f "$M/class-and-claim.yaml"
    echo v1 > "$MNT/pvc/default/data/f"
    run volctl apply -f "$M/snapshot-restore.yaml"
    assert_success
    [ "$(field vs data-snap 'o["status"]["readyToUse"]')" = True ]
    [ "$(cat "$MNT/snapshots/default/data-snap/f")" = v1 ]
    [ "$(phase pvc data-restored)" = Bound ]
    [ "$(cat "$MNT/pvc/default/data-restored/f")" = v1 ]
    echo v2 > "$MNT/pvc/default/data/f"
    [ "$(cat "$MNT/pvc/default/data-restored/f")" = v1 ]
}

@test "imperative snapshot, restore and clone of claims" {
    volctl apply -f "$M/class-and-claim.yaml"
    echo one > "$MNT/pvc/default/data/f"
    run volctl snapshot pvc/data s1
    assert_success
    run volctl restore s1 back
    assert_success
    [ "$(cat "$MNT/pvc/default/back/f")" = one ]
    run volctl clone data twin
    assert_success
    [ "$(cat "$MNT/pvc/default/twin/f")" = one ]
    [ "$(field pvc twin 'o["spec"]["storageClassName"]')" = fast ]
    # a restore smaller than the snapshot leaves nothing behind
    run volctl restore s1 tiny --size 1Mi
    assert_failure
    run volctl get pvc tiny
    assert_failure
}

@test "VolumeSnapshotClass Retain keeps the content after the snapshot is deleted" {
    volctl apply -f "$M/class-and-claim.yaml"
    cat > "$BATS_TEST_TMPDIR/s.yaml" <<EOF
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshotClass
metadata: {name: keep}
driver: volfs.io/local
deletionPolicy: Retain
---
apiVersion: snapshot.storage.k8s.io/v1
kind: VolumeSnapshot
metadata: {name: kept}
spec:
  volumeSnapshotClassName: keep
  source: {persistentVolumeClaimName: data}
EOF
    volctl apply -f "$BATS_TEST_TMPDIR/s.yaml"
    [ "$(field vs kept 'o["status"]["readyToUse"]')" = True ]
    volctl delete vs kept
    [ ! -e "$MNT/snapshots/default/kept" ]
    [ "$(objects_count vsc)" = 1 ]
}

@test "deleting a namespace deletes its claims and quotas" {
    volctl apply -f "$M/quota.yaml"
    pv=$(field pvc small 'o["spec"]["volumeName"]' team)
    run volctl delete ns team
    assert_success
    run volctl get ns team
    assert_failure
    run volctl get pv "$pv"
    assert_failure
    run volctl delete ns default
    assert_failure
    assert_output --partial 'may not be deleted'
}

@test "objects and bindings survive kill -9 and a restart" {
    volctl apply -f "$M/class-and-claim.yaml"
    volctl apply -f "$M/retain.yaml"
    echo kept > "$MNT/pvc/default/keeper/f"
    sync "$MNT/pvc/default/keeper/f"
    volfs_kill9
    volfs_launch
    [ "$(phase pvc data)" = Bound ]
    [ "$(phase pvc keeper)" = Bound ]
    [ "$(cat "$MNT/pvc/default/keeper/f")" = kept ]
    run volctl get sc fast
    assert_success
}

@test "a bound claim whose volume is taken away becomes Lost" {
    volctl apply -f "$M/retain.yaml"
    volctl delete pv keep-me          # Terminating: still bound
    [ "$(phase pvc keeper)" = Bound ]
    # the operator unbinds it by hand: nothing protects it any more
    volctl patch pv keep-me -p '{"spec":{"claimRef":null}}'
    run volctl get pv keep-me
    assert_failure
    [ "$(phase pvc keeper)" = Lost ]
    run events pvc keeper
    assert_output --partial ClaimLost
    [ ! -e "$MNT/pvc/default/keeper" ]
}
