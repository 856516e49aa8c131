#!/usr/bin/env bats
# volctl against a real daemon.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

# no_pvs: nothing was created, neither in the API nor in the mount.
no_pvs() {
    run volctl get pv -o json
    assert_success
    run "$PY" -c 'import json,sys; print(len(json.loads(sys.argv[1])["items"]))' "$output"
    assert_output 0
    run ls -A "$MNT/pv"
    assert_output ''
}

# json_field JSON EXPR: evaluate a python expression on the parsed JSON `o`.
json_field() {
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(eval(sys.argv[2]))' "$1" "$2"
}

@test "version" {
    run volctl version
    assert_success
    [ -n "$output" ]
}

@test "create, get, describe, delete a pv" {
    run volctl create pv data --capacity 1Gi
    assert_success
    [ -d "$MNT/pv/data" ]
    run volctl get pv
    assert_success
    assert_output --regexp 'NAME'
    assert_output --regexp 'data +1Gi'
    run volctl get pv data
    assert_success
    assert_output --partial data
    run volctl get persistentvolume data
    assert_success
    run volctl describe pv data
    assert_success
    assert_output --partial data
    assert_output --partial 1Gi
    assert_output --partial Events
    run volctl delete pv data
    assert_success
    [ ! -e "$MNT/pv/data" ]
    run --separate-stderr volctl get pv data
    assert_failure
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    [[ $stderr == *data* ]] || fail "error does not name the pv: $stderr"
    run --separate-stderr volctl delete pv data
    assert_failure
}

@test "get -o json has apiVersion, kind, metadata, spec, status" {
    volctl create pv data --capacity 500Mi >/dev/null
    run volctl get pv data -o json
    assert_success
    echo "$output" | "$PY" -m json.tool >/dev/null
    local obj=$output
    run json_field "$obj" 'o["apiVersion"], o["kind"], o["metadata"]["name"]'
    assert_output "('v1', 'PersistentVolume', 'data')"
    run json_field "$obj" 'o["spec"]["capacity"]["storage"], o["status"]["phase"]'
    assert_output "('500Mi', 'Available')"
    run json_field "$obj" 'bool(o["metadata"]["uid"]) and bool(o["metadata"]["creationTimestamp"])'
    assert_output True
    # the list form
    volctl create pv other --capacity 1Gi >/dev/null
    run volctl get pv -o json
    assert_success
    run json_field "$output" 'sorted(i["metadata"]["name"] for i in o["items"])'
    assert_output "['data', 'other']"
}

@test "get -o yaml parses and matches -o json" {
    volctl create pv data --capacity 2Gi >/dev/null
    run volctl get pv data -o yaml
    assert_success
    run "$PY" -c '
import sys, yaml
o = yaml.safe_load(sys.argv[1])
print(o["apiVersion"], o["kind"], o["metadata"]["name"], o["spec"]["capacity"]["storage"], o["status"]["phase"])' "$output"
    assert_success
    assert_output 'v1 PersistentVolume data 2Gi Available'
}

@test "resize changes the capacity" {
    volctl create pv data --capacity 1Gi >/dev/null
    run volctl resize pv data --capacity 3Gi
    assert_success
    run volctl get pv data -o json
    run json_field "$output" 'o["spec"]["capacity"]["storage"]'
    assert_output 3Gi
    run df -B1 --output=size "$MNT/pv/data"
    assert_line --index 1 --regexp "^ *$((3 * GiB))\$"
}

@test "df lists volumes with capacity and use" {
    volctl create pv data --capacity 1Gi >/dev/null
    volctl create pv logs --capacity 256Mi >/dev/null
    head -c "$MiB" /dev/urandom >"$MNT/pv/data/f"
    sync -f "$MNT/pv/data"
    run volctl df
    assert_success
    assert_output --regexp 'data.*1Gi'
    assert_output --regexp 'logs.*256Mi'
}

@test "sizes are Kubernetes quantities" {
    local q
    for q in 500Mi 1G 1073741824 1.5Gi; do
        run volctl create pv "q-$(echo "$q" | tr 'A-Z.' 'a-z-')" --capacity "$q"
        assert_success
    done
    # the daemon holds exact byte counts
    [ "$(pv_df q-500mi capacity)" -eq $((500 * MiB)) ]
    [ "$(pv_df q-1g capacity)" -eq 1000000000 ]
    [ "$(pv_df q-1073741824 capacity)" -eq "$GiB" ]
    [ "$(pv_df q-1-5gi capacity)" -eq $((3 * GiB / 2)) ]
    # and the client prints them back as quantities
    run volctl get pv q-500mi -o json
    run json_field "$output" 'o["spec"]["capacity"]["storage"]'
    assert_output 500Mi
}

@test "a duplicate name is refused" {
    volctl create pv data --capacity 1Gi >/dev/null
    run --separate-stderr volctl create pv data --capacity 2Gi
    assert_failure
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    [[ $stderr =~ [Ee]xists ]] || fail "message does not say it exists: $stderr"
    run volctl get pv data -o json
    run json_field "$output" 'o["spec"]["capacity"]["storage"]'
    assert_output 1Gi
}

@test "bad names are refused with one line and nothing is created" {
    local n
    for n in a/b .. . UPPER '' -lead 'with space' "$(printf 'x%.0s' {1..254})"; do
        run --separate-stderr volctl create pv "$n" --capacity 1Gi
        [ "$status" -ne 0 ] || fail "name '$n' was accepted"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "name '$n': want one line on stderr, got: $stderr"
    done
    no_pvs
}

@test "bad sizes are refused with one line and nothing is created" {
    local s
    for s in 10Gx abc -1Gi 1.2.3Gi Gi 1GiB ''; do
        run --separate-stderr volctl create pv data --capacity "$s"
        [ "$status" -ne 0 ] || fail "size '$s' was accepted"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "size '$s': want one line on stderr, got: $stderr"
    done
    no_pvs
}

@test "unknown verbs and kinds fail with one line" {
    run --separate-stderr volctl frobnicate
    assert_failure
    [ "${#stderr_lines[@]}" -ge 1 ]
    run --separate-stderr volctl get nosuchkind
    assert_failure
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
}

@test "--socket PATH works like --state" {
    volctl create pv data --capacity 1Gi >/dev/null
    run "$VOLFS_BIN/volctl" --socket "$STATE/control.sock" get pv data
    assert_success
    assert_output --partial data
}

@test "volctl without a daemon fails clearly and quickly" {
    mkdir "$VOLFS_TMP/empty"
    run --separate-stderr timeout 10 "$VOLFS_BIN/volctl" --state "$VOLFS_TMP/empty" get pv
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "status $status"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    [[ $stderr =~ control.sock|daemon|volfs|connect ]] || fail "unclear message: $stderr"
    # and after the daemon is gone
    volfs_stop
    run --separate-stderr timeout 10 "$VOLFS_BIN/volctl" --state "$STATE" get pv
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ] || fail "status $status"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
}
