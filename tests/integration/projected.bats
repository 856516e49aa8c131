#!/usr/bin/env bats
# configMap, secret, downwardAPI and projected volumes: files served from
# meta.db under MOUNT/pods/<ns>/<pod>/<volume>/, kubelet's layout
# (..data -> version, key -> ..data/key), atomic updates, read-only.

# shellcheck disable=SC2154 # STATE, MNT, PY, VOLFS_LOG come from helpers.bash
load helpers

M=$BATS_TEST_DIRNAME/../manifests
V=pods/default/app

field() {
    local out
    out=$(volctl get "$1" "$2" -n "${4:-default}" -o json) || return 1
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$out" "$3"
}

# cm_apply A B: the ConfigMap app-config with keys a=A, b=B.
cm_apply() {
    printf 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app-config}\ndata: {a: "%s", b: "%s"}\n' \
        "$1" "$2" > "$BATS_TEST_TMPDIR/cm.yaml"
    volctl apply -f "$BATS_TEST_TMPDIR/cm.yaml" >/dev/null
}

@test "a configMap volume shows every key, in kubelet's ..data layout, read-only" {
    run volctl apply -f "$M/config-pod.yaml"
    assert_success
    [ "$(field pod app 'o["status"]["phase"]')" = Running ]
    [ "$(cat "$MNT/$V/config/a")" = 1 ]
    run cat "$MNT/$V/config/settings.ini"
    assert_output $'[server]\nport = 8080'
    [ "$(readlink "$MNT/$V/config/a")" = ..data/a ]
    [[ $(readlink "$MNT/$V/config/..data") == ..20* ]]
    [ "$(stat -L -c %a "$MNT/$V/config/a")" = 644 ]
    run ls "$MNT/$V/config"
    assert_output $'a\nb\nsettings.ini'
    run sh -c "echo x > '$MNT/$V/config/a'"
    assert_failure
    assert_output --partial 'Read-only file system'
}

@test "items pick keys, paths and modes" {
    volctl apply -f "$M/config-pod.yaml"
    run cat "$MNT/$V/picked/conf/app.ini"
    assert_output --partial 'port = 8080'
    [ "$(stat -L -c %a "$MNT/$V/picked/conf/app.ini")" = 600 ]
    [ ! -e "$MNT/$V/picked/a" ]
}

@test "a secret's value is in the volume and never in a data file or the log" {
    volctl apply -f "$M/config-pod.yaml"
    [ "$(cat "$MNT/$V/secret/password")" = super-secret-4f9d ]
    [ "$(stat -L -c %a "$MNT/$V/secret/password")" = 400 ]
    volfs_stop   # everything flushed to the state directory
    run grep -rl super-secret-4f9d "$STATE" --exclude='meta.db*'
    assert_output ''
    run grep -c super-secret-4f9d "$VOLFS_LOG"
    assert_output 0
}

@test "downwardAPI: names, labels, a label by key, resources with divisors" {
    volctl apply -f "$M/config-pod.yaml"
    [ "$(cat "$MNT/$V/info/name")" = app ]
    [ "$(cat "$MNT/$V/info/namespace")" = default ]
    run cat "$MNT/$V/info/labels"
    assert_output $'app="web"\ntier="front"'
    [ "$(cat "$MNT/$V/info/app")" = web ]
    [ "$(cat "$MNT/$V/info/mem-limit-mi")" = 64 ]
    [ "$(cat "$MNT/$V/info/cpu-request-m")" = 250 ]
}

@test "projected merges configMap, secret and downwardAPI sources into one directory" {
    volctl apply -f "$M/config-pod.yaml"
    run ls "$MNT/$V/all"
    assert_output $'a\npassword\npod'
    [ "$(cat "$MNT/$V/all/a")" = 1 ]
    [ "$(cat "$MNT/$V/all/password")" = super-secret-4f9d ]
    [ "$(cat "$MNT/$V/all/pod")" = app ]
}

@test "an update appears atomically: a reader never sees files of two versions" {
    volctl apply -f "$M/config-pod.yaml"
    dir="$MNT/$V/config"
    (
        for i in $(seq 1 400); do
            d=$(readlink "$dir/..data") || continue
            x=$(cat "$dir/$d/a" 2>/dev/null) || continue
            y=$(cat "$dir/$d/b" 2>/dev/null) || continue
            [ "$x" = "$y" ] || echo "MISMATCH $d a=$x b=$y"
        done
    ) > "$BATS_TEST_TMPDIR/reader.out" &
    reader=$!
    for n in 2 3 4 5 6 7 8; do cm_apply "$n" "$n"; done
    wait "$reader"
    run cat "$BATS_TEST_TMPDIR/reader.out"
    assert_output ''
    [ "$(cat "$dir/a")" = 8 ]
    [ "$(cat "$dir/b")" = 8 ]
}

@test "a missing configMap keeps the pod Pending unless it is optional" {
    cat > "$BATS_TEST_TMPDIR/p.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: needy}
spec:
  containers: [{name: c}]
  volumes:
    - {name: scratch, emptyDir: {}}
    - {name: conf, configMap: {name: absent}}
---
apiVersion: v1
kind: Pod
metadata: {name: relaxed}
spec:
  containers: [{name: c}]
  volumes:
    - {name: conf, configMap: {name: absent, optional: true}}
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/p.yaml"
    [ "$(field pod needy 'o["status"]["phase"]')" = Pending ]
    run volctl describe pod needy
    assert_output --partial 'configmap "absent" not found'
    run ls -A "$MNT/pods/default/needy"
    assert_output ''
    [ "$(field pod relaxed 'o["status"]["phase"]')" = Running ]
    run ls -A "$MNT/pods/default/relaxed/conf"
    assert_line ..data
}
