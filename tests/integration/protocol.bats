#!/usr/bin/env bats
# The control protocol's request checking: member types, integer ranges
# and the request size limit, with raw requests on the socket.

# shellcheck disable=SC2154 # STATE, MNT, PY, ... come from helpers.bash
load helpers

# raw FILE: send FILE's bytes and a newline as one request, print the answer
# line; "SEND FAILED: ..." if the daemon reset the connection while it was
# being sent.
raw() {
    "$PY" - "$STATE/control.sock" "$1" <<'PYEOF'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(120)
s.connect(sys.argv[1])
data = open(sys.argv[2], "rb").read()
try:
    s.sendall(data + b"\n")
except OSError as e:
    print("SEND FAILED: %s" % e)
    sys.exit(0)
buf = b""
while not buf.endswith(b"\n"):
    chunk = s.recv(65536)
    if not chunk:
        break
    buf += chunk
print(buf.decode().strip())
PYEOF
}

# refused JSON REGEX: the request is refused with reason Invalid and an
# error matching REGEX.
refused() {
    run --separate-stderr ctl "$1"
    assert_failure
    [[ $stderr =~ ^Invalid:\  ]] || fail "reason is not Invalid: $stderr"
    [[ $stderr =~ $2 ]] || fail "error does not match /$2/: $stderr"
}

@test "a name that is not a string is refused, not ignored" {
    pv_create one 1Mi
    pv_create two 1Mi
    refused '{"verb":"get","kind":"PersistentVolume","name":123}' \
        'field "name": expected a string, got an integer'
    refused '{"verb":"get","kind":"PersistentVolumeClaim","name":null}' \
        'field "name": expected a string, got null'
    refused '{"verb":"describe","kind":"PersistentVolume","name":["one"]}' \
        'field "name": expected a string, got an array'
}

@test "every member of a request has its type checked" {
    refused '{"verb":7}' 'field "verb": expected a string, got an integer'
    refused '{"verb":"get","kind":{"a":1}}' 'field "kind": expected a string, got an object'
    refused '{"verb":"get","kind":"PersistentVolumeClaim","namespace":false}' \
        'field "namespace": expected a string, got a boolean'
    refused '{"verb":"get","kind":"PersistentVolumeClaim","allNamespaces":"yes"}' \
        'field "allNamespaces": expected a boolean, got a string'
    refused '{"verb":"create","kind":"PersistentVolume","name":"x","capacity":"1Gi"}' \
        'field "capacity": expected an integer number of bytes, got a string'
    refused '{"verb":"create","kind":"PersistentVolume","name":"x","capacity":1.5e9}' \
        'field "capacity": expected an integer number of bytes, got a fractional number'
    refused '{"verb":"apply","objects":{"kind":"Namespace"}}' \
        'field "objects": expected an array, got an object'
    refused '{"verb":"create","object":[]}' 'field "object": expected an object, got an array'
    refused '{"verb":"patch","kind":"PersistentVolume","name":"x","patch":"{}"}' \
        'field "patch": expected an object, got a string'
    refused '{"verb":"delete","objects":[],"ignoreNotFound":1}' \
        'field "ignoreNotFound": expected a boolean, got an integer'
    refused '{"verb":"snapshot","source":1,"name":"s"}' 'field "source": expected a string'
    refused '{"verb":"get","kind":"PersistentVolume","nmae":"x"}' 'unknown field "nmae"'
    refused '[{"verb":"get"}]' 'not a JSON object'
    refused '{"verb":"df"} {"verb":"shutdown"}' 'not one JSON object'
    run volctl get pv
    assert_success
}

@test "a capacity past INT64_MAX is refused, not clamped" {
    refused '{"verb":"create","kind":"PersistentVolume","name":"big","capacity":18446744073709551615}' \
        'field "capacity": 18446744073709551615 is out of range \(0 to 9223372036854775807\)'
    refused '{"verb":"create","kind":"PersistentVolume","name":"big","capacity":9223372036854775808}' \
        'out of range'
    refused '{"verb":"create","kind":"PersistentVolume","name":"big","capacity":-4096}' 'out of range'
    run volctl get pv big
    assert_failure
    [ ! -e "$MNT/pv/big" ]
    # the largest value is a valid integer: whatever the volume layer says
    # of it, it is not a type error
    run --separate-stderr ctl '{"verb":"create","kind":"PersistentVolume","name":"big","capacity":9223372036854775807}'
    [[ $stderr != *'out of range'* && $stderr != *'field "capacity"'* ]] || fail "$stderr"
}

@test "a request over 4 MiB gets the daemon's answer, not a reset" {
    "$PY" -c '
import sys
sys.stdout.write("{\"verb\":\"get\",\"kind\":\"PersistentVolume\",\"name\":\"" + "a" * (5 << 20) + "\"}")
' >"$VOLFS_TMP/big.json"
    run raw "$VOLFS_TMP/big.json"
    assert_success
    [[ $output != 'SEND FAILED'* ]] || fail "$output"
    [[ $output == *'"ok":false'* ]] || fail "answer: ${output:0:300}"
    [[ $output == *'"reason":"RequestEntityTooLarge"'* ]] || fail "answer: ${output:0:300}"
    [[ $output == *"exceeds the control protocol's limit of 4 MiB (4194304 bytes)"* ]] || fail "answer: ${output:0:300}"
    # the daemon serves the next request
    pv_create after 1Mi
}

@test "a request of exactly 4 MiB, newline included, is read whole" {
    # a get of a missing name padded with blanks to 4 MiB - 1 bytes + newline
    "$PY" -c '
import sys
head = "{\"verb\":\"get\",\"kind\":\"PersistentVolume\",\"name\":\"nosuch\""
sys.stdout.write(head + " " * ((4 << 20) - 1 - len(head) - 1) + "}")
' >"$VOLFS_TMP/edge.json"
    [ "$(stat -c %s "$VOLFS_TMP/edge.json")" -eq $((4 * MiB - 1)) ]
    run raw "$VOLFS_TMP/edge.json"
    assert_success
    [[ $output == *'"reason":"NotFound"'* ]] || fail "answer: ${output:0:300}"
    printf ' ' >>"$VOLFS_TMP/edge.json"
    run raw "$VOLFS_TMP/edge.json"
    [[ $output == *'"reason":"RequestEntityTooLarge"'* ]] || fail "answer: ${output:0:300}"
}

@test "volctl apply of a 10 MB manifest says the request is over the limit" {
    "$PY" -c '
import sys
sys.stdout.write("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\ndata:\n  blob: \"" + "x" * (10 * 1000 * 1000) + "\"\n")
' >"$VOLFS_TMP/big.yaml"
    run --separate-stderr volctl apply -f "$VOLFS_TMP/big.yaml"
    assert_failure
    [[ $stderr =~ ^volctl:\ error:\ request\ of\ [0-9]+\ bytes\ exceeds\ the\ control\ protocol\'s\ limit\ of\ 4\ MiB ]] ||
        fail "stderr: $stderr"
    [[ $stderr != *'Broken pipe'* ]] || fail "stderr: $stderr"
    [ "$(wc -l <<<"$stderr")" -eq 1 ] || fail "more than one line: $stderr"
    run volctl get cm big
    assert_failure
}
