#!/usr/bin/env bats
# The control plane under misuse: updates that try to change what names an
# object, objects made in namespaces that do not exist, a second daemon on
# the same state directory, clients that stall or daemons that never
# answer, and applies of thousands of claims next to a writing volume.

load helpers

configmap() {
    cat <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: $1, namespace: ${2:-default}}
data: {k: v}
EOF
}

# patch_refused PATCH MESSAGE: volctl patch cm settings fails with MESSAGE.
patch_refused() {
    run volctl patch cm settings -p "$1"
    assert_failure
    assert_output --partial "$2"
}

@test "patch and apply may not change an object's name, namespace, kind or uid" {
    configmap settings | volctl apply -f - >/dev/null
    uid=$(volctl get cm settings -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["uid"])')

    patch_refused '{"metadata":{"name":"renamed"}}' \
        'the name of the object (renamed) does not match the name on the URL (settings)'
    patch_refused '{"metadata":{"namespace":"kube-system"}}' \
        'the namespace of the provided object does not match the namespace sent on the request'
    patch_refused '{"kind":"Secret"}' 'kind: Invalid value: "Secret": field is immutable'
    patch_refused '{"metadata":{"uid":"0f0f0f0f-0000-4000-8000-000000000000"}}' \
        "Precondition failed: UID in precondition: 0f0f0f0f-0000-4000-8000-000000000000, UID in object meta: $uid"
    # The same manifest without a uid still applies.
    run volctl apply -f - <<<"$(configmap settings)"
    assert_success
    run volctl apply -f - <<EOF
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, uid: 0f0f0f0f-0000-4000-8000-000000000000}
data: {k: changed}
EOF
    assert_failure
    assert_output --partial 'Precondition failed: UID in precondition'

    # Nothing was renamed or retyped, and the object kept its uid.
    run volctl get cm renamed
    assert_failure
    run volctl get secret settings
    assert_failure
    run volctl get cm settings -o json
    assert_success
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["metadata"]["uid"]==sys.argv[2], o; assert o["data"]=={"k":"v"}, o' "$output" "$uid"
}

@test "a snapshot, claim or object in a namespace that does not exist is refused" {
    pv_create data 16Mi
    run volctl snapshot pv/data snap1 -n nonexistent
    assert_failure
    assert_output --partial 'namespaces "nonexistent" not found'
    run volctl get vs -A
    assert_success
    refute_output --partial snap1
    run volctl create pvc c1 --size 1Mi -n nonexistent
    assert_failure
    assert_output --partial 'namespaces "nonexistent" not found'
    run volctl apply -f - <<<"$(configmap c nonexistent)"
    assert_failure
    assert_output --partial 'namespaces "nonexistent" not found'
    # In an existing one the same snapshot works.
    run volctl snapshot pv/data snap1 -n default
    assert_success
}

@test "a second daemon on the state directory is refused even after STATE/lock is removed" {
    rm -f "$STATE/lock"
    mkdir -m 0755 "$VOLFS_TMP/mnt2"
    run timeout 60 "$VOLFS_BIN/volfs" -f --state "$STATE" "$VOLFS_TMP/mnt2" 3>&-
    assert_failure
    assert_output --partial "is in use by another volfs"
    run mountpoint -q "$VOLFS_TMP/mnt2"
    assert_failure
    # The first daemon still owns its socket and answers on it.
    run volctl version
    assert_success
    pv_create still-here 1Mi
}

@test "volfs does not replace a control socket that another process serves" {
    volfs_stop
    "$PY" - "$STATE/control.sock" 3>&- <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
time.sleep(600)
PYEOF
    volfs_track_pid $!
    for ((i = 0; i < 100; i++)); do [[ -S $STATE/control.sock ]] && break; sleep 0.1; done
    run timeout 60 "$VOLFS_BIN/volfs" -f --state "$STATE" "$MNT" 3>&-
    assert_failure
    assert_output --partial "is served by another process"
    # Still the other process's socket: it accepts a connection.
    "$PY" -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])' "$STATE/control.sock"
    # A socket nobody listens on any more is stale and replaced.
    kill "${VOLFS_EXTRA_PIDS[-1]}"
    wait "${VOLFS_EXTRA_PIDS[-1]}" 2>/dev/null || true
    volfs_launch
    run volctl version
    assert_success
}

@test "a client that sends half a request and stalls does not hold up other requests" {
    pv_create data 1Mi
    "$PY" - "$STATE/control.sock" 3>&- <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.sendall(b'{"verb":"get","kind":')
time.sleep(600)
PYEOF
    volfs_track_pid $!
    sleep 0.5 # give the stalled client time to connect first (the test passes either way)
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" --request-timeout=50s get pv
    assert_success
    assert_output --partial data
    run timeout 60 "$VOLFS_BIN/volctl" --state "$STATE" create pv more --capacity 1Mi
    assert_success
}

@test "volctl --request-timeout gives up on a daemon that never answers" {
    local sock=$VOLFS_TMP/silent.sock
    "$PY" - "$sock" 3>&- <<'PYEOF' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1])
s.listen(4)
conns = []
while True:
    c, _ = s.accept()
    conns.append(c)   # read nothing, answer nothing
PYEOF
    volfs_track_pid $!
    for ((i = 0; i < 100; i++)); do [[ -S $sock ]] && break; sleep 0.1; done
    run -1 timeout 60 "$VOLFS_BIN/volctl" --socket "$sock" --request-timeout=1s get pv
    assert_output 'volctl: error: the volfs daemon did not answer within 1s (--request-timeout)'
    run -1 timeout 60 "$VOLFS_BIN/volctl" --socket "$sock" get pv --request-timeout 1500ms
    assert_output --partial 'did not answer within 1500ms'
    run timeout 60 "$VOLFS_BIN/volctl" --socket "$sock" --request-timeout=soon get pv
    assert_failure
    assert_output --partial 'invalid --request-timeout "soon"'
    # 0 waits forever: still waiting when timeout(1) stops it.
    run timeout 3 "$VOLFS_BIN/volctl" --socket "$sock" --request-timeout=0 get pv
    assert_equal "$status" 124
}

# item_count KIND: how many objects of KIND the default namespace has.
item_count() {
    volctl get "$1" -o json | "$PY" -c 'import json, sys; print(len(json.load(sys.stdin)["items"]))'
}

# claims_manifest N [EXTRA]: N claims of 1Mi, then EXTRA (a YAML document).
claims_manifest() {
    "$PY" - "$1" <<'PYEOF'
import sys
for i in range(int(sys.argv[1])):
    print("---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: claim-%05d}" % i)
    print("spec:\n  accessModes: [ReadWriteOnce]\n  resources: {requests: {storage: 1Mi}}")
PYEOF
    [[ -z ${2:-} ]] || printf -- '---\n%s\n' "$2"
}

@test "an apply of 2,000 claims binds them all while another volume's write+fsync completes" {
    pv_create writer 16Mi
    claims_manifest 2000 > "$VOLFS_TMP/claims.yaml"
    "$PY" - "$MNT/pv/writer/f" "$VOLFS_TMP/stop" "$VOLFS_TMP/fsyncs" 3>&- <<'PYEOF' &
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o644)
n = 0
while not os.path.exists(sys.argv[2]):
    os.pwrite(fd, b"x" * 4096, 0)
    os.fsync(fd)
    n += 1
    open(sys.argv[3], "w").write(str(n))
PYEOF
    local writer=$!
    volfs_track_pid $writer
    run timeout 600 "$VOLFS_BIN/volctl" --state "$STATE" --request-timeout=0 apply -f "$VOLFS_TMP/claims.yaml"
    assert_success
    touch "$VOLFS_TMP/stop"
    wait "$writer"
    (($(cat "$VOLFS_TMP/fsyncs") > 0)) || fail "no write+fsync completed during the apply"
    bound=$(volctl get pvc -o json | "$PY" -c '
import json, sys
items = json.load(sys.stdin)["items"]
print(sum(1 for c in items if c.get("status", {}).get("phase") == "Bound"), len(items))')
    assert_equal "$bound" "2000 2000"
    run timeout 600 "$VOLFS_BIN/volctl" --state "$STATE" --request-timeout=0 delete -f "$VOLFS_TMP/claims.yaml"
    assert_success
    # Structural, not timed: no hold of the db lock by the API server or
    # the controllers, in the apply or the delete, changed more than 8 rows
    # (8 documents a batch, a volume's 7 rows), and no group commit, which
    # the writer's fsync may pay for, held more than the control plane's
    # bound of 256 row changes and one more change.
    volctl metrics > "$VOLFS_TMP/metrics"
    "$PY" - "$VOLFS_TMP/metrics" <<'PYEOF'
import re, sys
rows, group = {}, None
for line in open(sys.argv[1]):
    m = re.match(r'volfs_db_lock_site_max_rows\{function="([^"]*)",site="(fs/control/[^"]*)"\} (\d+)$', line)
    if m:
        rows["%s (%s)" % (m.group(1), m.group(2))] = int(m.group(3))
    m = re.match(r"volfs_db_group_commit_max_changes (\d+)$", line)
    if m:
        group = int(m.group(1))
for batch in ("store_batch", "delete_batch"):
    assert any(k.startswith(batch + " ") for k in rows), "no hold by %s: %s" % (batch, rows)
big = {k: v for k, v in rows.items() if v > 8}
assert not big, "holds that changed more than 8 rows: %s" % big
assert group is not None and group <= 256 + 16, "a group commit held %s row changes" % group
PYEOF
}

@test "a delete -f naming an object that does not exist deletes none of the others" {
    claims_manifest 20 > "$VOLFS_TMP/claims.yaml"
    volctl apply -f "$VOLFS_TMP/claims.yaml" >/dev/null
    claims_manifest 20 "$(configmap missing)" > "$VOLFS_TMP/delete.yaml"
    run volctl delete -f "$VOLFS_TMP/delete.yaml"
    assert_failure
    assert_output --partial 'configmaps "missing" not found'
    run volctl get pvc -o json
    "$PY" -c '
import json, sys
items = json.loads(sys.argv[1])["items"]
assert len(items) == 20 and not any("deletionTimestamp" in c["metadata"] for c in items), items' "$output"
}

@test "an apply of many documents with a refused one at the end stores none of them" {
    claims_manifest 300 "$(configmap late nonexistent)" > "$VOLFS_TMP/claims.yaml"
    run volctl apply -f "$VOLFS_TMP/claims.yaml"
    assert_failure
    assert_output --partial 'document 301 (ConfigMap late): namespaces "nonexistent" not found'
    assert_equal "$(item_count pvc) $(item_count pv)" "0 0"
    # An existing object a refused apply changed is as it was.
    configmap keep | volctl apply -f - >/dev/null
    { claims_manifest 100; printf -- '---\n'; configmap keep | sed 's/k: v/k: changed/'
      claims_manifest 0 "$(configmap late nonexistent)"; } > "$VOLFS_TMP/mixed.yaml"
    run volctl apply -f "$VOLFS_TMP/mixed.yaml"
    assert_failure
    run volctl get cm keep -o json
    "$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); assert o["data"]=={"k":"v"}, o' "$output"
    assert_equal "$(item_count pvc)" 0
}
