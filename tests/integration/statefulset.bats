#!/usr/bin/env bats
# StatefulSets: claims from volumeClaimTemplates per replica, kept on
# scale-down and used again on scale-up.

# shellcheck disable=SC2154 # STATE, MNT, PY come from helpers.bash
load helpers

M=$BATS_TEST_DIRNAME/../manifests

field() {
    local out
    out=$(volctl get "$1" "$2" -n "${4:-default}" -o json) || return 1
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

phase() { field "$1" "$2" 'o["status"]["phase"]'; }

# scale N: apply the manifest with spec.replicas N.
scale() {
    sed "s/replicas: 3/replicas: $1/" "$M/statefulset.yaml" > "$BATS_TEST_TMPDIR/sts.yaml"
    volctl apply -f "$BATS_TEST_TMPDIR/sts.yaml"
}

@test "each replica gets its own claim <template>-<sts>-<ordinal> and a pod using it" {
    run volctl apply -f "$M/statefulset.yaml"
    assert_success
    assert_line 'statefulset.apps/db created'
    for i in 0 1 2; do
        [ "$(phase pvc "data-db-$i")" = Bound ]
        [ "$(phase pod "db-$i")" = Running ]
        [ -L "$MNT/pods/default/db-$i/data" ]
    done
    [ "$(field sts db 'o["status"]["readyReplicas"]')" = 3 ]
    echo zero > "$MNT/pods/default/db-0/data/id"
    [ "$(cat "$MNT/pvc/default/data-db-0/id")" = zero ]
}

@test "scaling down keeps the claims; scaling up uses them again with their data" {
    volctl apply -f "$M/statefulset.yaml"
    echo two > "$MNT/pods/default/db-2/data/id"
    pv2=$(field pvc data-db-2 'o["spec"]["volumeName"]')
    scale 1
    run volctl get pod db-2
    assert_failure
    run volctl get pod db-1
    assert_failure
    [ "$(phase pvc data-db-2)" = Bound ]
    [ "$(field pvc data-db-2 'o["spec"]["volumeName"]')" = "$pv2" ]
    scale 3
    [ "$(phase pod db-2)" = Running ]
    [ "$(cat "$MNT/pods/default/db-2/data/id")" = two ]
    [ "$(field sts db 'o["status"]["readyReplicas"]')" = 3 ]
}

@test "deleting a StatefulSet deletes its pods and keeps its claims" {
    volctl apply -f "$M/statefulset.yaml"
    run volctl delete sts db
    assert_success
    run volctl get pod -o name
    refute_output --partial db-
    [ "$(phase pvc data-db-0)" = Bound ]
}

@test "a StatefulSet's templates are checked as claims, and may not change" {
    sed 's/storage: 16Mi/storage: 16Gx/' "$M/statefulset.yaml" > "$BATS_TEST_TMPDIR/bad.yaml"
    run volctl apply -f "$BATS_TEST_TMPDIR/bad.yaml"
    assert_failure
    assert_output --partial 'spec.volumeClaimTemplates[0]'
    volctl apply -f "$M/statefulset.yaml"
    sed 's/storage: 16Mi/storage: 32Mi/' "$M/statefulset.yaml" > "$BATS_TEST_TMPDIR/changed.yaml"
    run volctl apply -f "$BATS_TEST_TMPDIR/changed.yaml"
    assert_failure
    assert_output --partial 'Forbidden'
}
