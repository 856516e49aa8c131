#!/usr/bin/env bats
# volctl's side of manifests and of the Kubernetes verbs, with no real
# daemon: YAML read by volctl (errors, typing, Lists, anchors, stdin,
# several files), and the exact requests volctl sends and how it prints
# the answers, checked against a fake daemon that records each request
# and answers from a table (docs/control-protocol.md is the contract).
#
# VOLFS_BIN: directory holding volctl (default build/bin).

# shellcheck disable=SC2154 # stderr_lines, output, status come from bats
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${VOLFS_BIN:=$BATS_TEST_DIRNAME/../../build/bin}"
VOLFS_BIN=$(realpath -m "$VOLFS_BIN")
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3
M=$BATS_TEST_DIRNAME/../manifests

setup() {
    [[ -x $VOLFS_BIN/volctl ]] || fail "volctl not found in $VOLFS_BIN (set VOLFS_BIN)"
    D=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/manifest-cli.XXXXXX")
    FAKE_PID=''
    echo '{}' >"$D/answers.json"
    : >"$D/requests"
}

teardown() {
    if [[ -n $FAKE_PID ]]; then
        kill "$FAKE_PID" 2>/dev/null || true
        wait "$FAKE_PID" 2>/dev/null || true
    fi
    rm -rf "$D"
}

volctl() {
    "$VOLFS_BIN/volctl" --state "$D" "$@"
}

one_line_error() {
    [ "$status" -ne 0 ] || fail "exit status 0; stdout: $output"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
    [[ ${stderr_lines[0]} == "volctl: error: "* ]] || fail "not a volctl error line: $stderr"
}

# fake_daemon: listen on D/control.sock; append each request line to
# D/requests; answer from D/answers.json ({"verb": answer}), else ok {}.
fake_daemon() {
    "$PY" - "$D/control.sock" "$D/answers.json" "$D/requests" 3>&- <<'PYEOF' &
import json, socket, sys
path, answers, log = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX)
s.bind(path)
s.listen(16)
while True:
    c, _ = s.accept()
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = c.recv(65536)
        if not chunk:
            break
        buf += chunk
    with open(log, "a") as f:
        f.write(buf.decode())
    verb = json.loads(buf).get("verb")
    ans = json.load(open(answers)).get(verb, {"ok": True, "result": {}})
    c.sendall((json.dumps(ans) + "\n").encode())
    c.close()
PYEOF
    FAKE_PID=$!
    local i
    for ((i = 0; i < 50; i++)); do
        [[ -S $D/control.sock ]] && return 0
        sleep 0.1
    done
    fail "the fake daemon did not start"
}

# answer VERB JSON-RESULT: the fake daemon answers VERB with ok and RESULT.
answer() {
    "$PY" - "$D/answers.json" "$1" "$2" <<'PYEOF'
import json, sys
p, verb, result = sys.argv[1:4]
a = json.load(open(p))
a[verb] = {"ok": True, "result": json.loads(result)}
json.dump(a, open(p, "w"))
PYEOF
}

# refuse VERB MESSAGE REASON: the fake daemon refuses VERB.
refuse() {
    "$PY" - "$D/answers.json" "$1" "$2" "$3" <<'PYEOF'
import json, sys
p, verb, msg, reason = sys.argv[1:5]
a = json.load(open(p))
a[verb] = {"ok": False, "error": msg, "reason": reason}
json.dump(a, open(p, "w"))
PYEOF
}

# request N EXPR: a python expression on the N-th request `r` (from 1).
request() {
    "$PY" -c '
import json, sys
r = json.loads(open(sys.argv[1]).read().splitlines()[int(sys.argv[2]) - 1])
print(eval(sys.argv[3]))' "$D/requests" "$1" "$2"
}

nrequests() {
    wc -l <"$D/requests"
}

# yaml_error TEXT: apply -f of a file holding TEXT fails with one line and
# sends nothing; the line is in $stderr.
yaml_error() {
    printf '%s' "$1" >"$D/m.yaml"
    run --separate-stderr volctl apply -f "$D/m.yaml"
    one_line_error
    [ "$(nrequests)" -eq 0 ] || fail "a request was sent: $(cat "$D/requests")"
}

# ---------------------------------------------------------------------------
# reading YAML

@test "a YAML syntax error names the file, line and column, and nothing is sent" {
    fake_daemon
    yaml_error $'apiVersion: v1\nkind: PersistentVolumeClaim\n metadata: x\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: line 3, column 10: mapping values are not allowed in this context"
    yaml_error $'kind: A\nitems: [1, 2\n'
    [[ $stderr == "volctl: error: $D/m.yaml: line 3, column 1: did not find expected ',' or ']'"* ]] || fail "$stderr"
    yaml_error $'kind: A\n\tmetadata: {}\n'
    [[ $stderr == "volctl: error: $D/m.yaml: line 2, column 1: "* ]] || fail "$stderr"
    # a good first document does not get sent when a later one is broken
    yaml_error $'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n'
    [[ $stderr == "volctl: error: $D/m.yaml: line 6, column 1: "* ]] || fail "$stderr"
    run --separate-stderr volctl delete -f "$D/m.yaml"
    one_line_error
    [ "$(nrequests)" -eq 0 ]
}

@test "a document that is not a mapping is refused, naming it" {
    fake_daemon
    yaml_error $'- a\n- b\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: document 1 is not a mapping (a sequence at line 1)"
    yaml_error $'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\njust text\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: document 2 is not a mapping (a string at line 5)"
    yaml_error $'kind: List\nitems: [1]\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: document 1: items[0] is not a mapping"
}

@test "YAML that cannot become JSON objects is refused with its position" {
    fake_daemon
    yaml_error $'a: 1\nb: 2\na: 3\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: line 3, column 1: duplicate key \"a\""
    yaml_error $'a: *nowhere\n'
    assert_equal "$stderr" "volctl: error: $D/m.yaml: line 1, column 4: unknown anchor \"nowhere\""
    # anchors belong to their document
    yaml_error $'a: &x 1\n---\nb: *x\n'
    [[ $stderr == *"line 3, column 4: unknown anchor \"x\""* ]] || fail "$stderr"
    yaml_error $'a: .inf\n'
    [[ $stderr == *"line 1, column 4: infinity and NaN have no JSON form"* ]] || fail "$stderr"
    yaml_error $'? [a, b]\n: 1\n'
    [[ $stderr == *"a mapping key must be a plain value"* ]] || fail "$stderr"
    # an alias bomb is refused, not expanded
    "$PY" -c '
s = "a0: &a0 [x,x,x,x,x,x,x,x,x,x]\n"
for i in range(1, 10):
    s += "a%d: &a%d [%s]\n" % (i, i, ",".join(["*a%d" % (i - 1)] * 10))
open("'"$D"'/bomb.yaml", "w").write(s)'
    run --separate-stderr timeout 20 "$VOLFS_BIN/volctl" --state "$D" apply -f "$D/bomb.yaml"
    one_line_error
    [[ $stderr == *"too large once its aliases are expanded"* ]] || fail "$stderr"
    [ "$(nrequests)" -eq 0 ]
}

@test "missing files, empty files, stdin twice and stray arguments are refused" {
    fake_daemon
    run --separate-stderr volctl apply -f "$D/nope.yaml"
    one_line_error
    assert_equal "$stderr" "volctl: error: the path \"$D/nope.yaml\" does not exist"
    printf '# nothing here\n---\n---\n' >"$D/empty.yaml"
    run --separate-stderr volctl apply -f "$D/empty.yaml"
    one_line_error
    assert_equal "$stderr" "volctl: error: no objects passed to apply"
    run --separate-stderr volctl delete -f "$D/empty.yaml"
    assert_equal "$stderr" "volctl: error: no objects passed to delete"
    run --separate-stderr volctl apply
    one_line_error
    run --separate-stderr volctl apply -f - -f - </dev/null
    one_line_error
    run --separate-stderr volctl delete -f "$M/class-and-claim.yaml" pvc data
    one_line_error
    run --separate-stderr volctl apply -f "$M/class-and-claim.yaml" -o json
    one_line_error
    [[ $stderr == *'unknown output format "json"'* ]] || fail "$stderr"
    printf 'kind: [\n' | {
        run --separate-stderr "$VOLFS_BIN/volctl" --state "$D" apply -f -
        one_line_error
        [[ $stderr == "volctl: error: STDIN: line 2, column 1: "* ]] || fail "$stderr"
    }
    [ "$(nrequests)" -eq 0 ]
}

@test "apply sends every document of a file in order, typed as kubectl reads YAML" {
    fake_daemon
    cat >"$D/m.yaml" <<'EOF'
# a comment before the first document
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  labels: {app: db, "n": "1", on: yes}
spec:
  accessModes: [ReadWriteOnce]
  resources:
    requests:
      storage: 64Mi
  int: 42
  neg: -7
  octal: 0o17
  mode: 0644
  float: 1.50
  truth: true
  nothing: ~
  empty:
  quoted: "true"
  version: 1.2.3
  text: |
    two
    lines
---
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Namespace
  metadata: {name: a}
- apiVersion: v1
  kind: Namespace
  metadata: {name: b}
---
apiVersion: v1
kind: PersistentVolumeClaimList
items:
- metadata: {name: c}
  spec:
    resources: &res {requests: {storage: 32Mi}}
- metadata: {name: d}
  spec:
    <<: {resources: *res}
    accessModes: [ReadWriteMany]
EOF
    answer apply '{"items":[
      {"kind":"PersistentVolumeClaim","namespace":"default","name":"data","action":"created"},
      {"kind":"Namespace","namespace":"","name":"a","action":"unchanged"},
      {"kind":"StorageClass","namespace":"","name":"fast","action":"configured"},
      {"kind":"VolumeSnapshot","namespace":"default","name":"s1","action":"created"},
      {"kind":"VolumeSnapshotClass","namespace":"","name":"x","action":"created"}]}'
    run --separate-stderr volctl apply -f "$D/m.yaml"
    assert_success
    assert_output "persistentvolumeclaim/data created
namespace/a unchanged
storageclass.storage.k8s.io/fast configured
volumesnapshot.snapshot.storage.k8s.io/s1 created
volumesnapshotclass.snapshot.storage.k8s.io/x created"
    [ "$(nrequests)" -eq 1 ]
    [ "$(request 1 'r["verb"], r["source"], "namespace" in r')" = "('apply', '$D/m.yaml', False)" ]
    [ "$(request 1 '[(o["kind"], o["metadata"]["name"]) for o in r["objects"]]')" = \
        "[('PersistentVolumeClaim', 'data'), ('Namespace', 'a'), ('Namespace', 'b'), ('PersistentVolumeClaim', 'c'), ('PersistentVolumeClaim', 'd')]" ]
    [ "$(request 1 'r["objects"][0]["metadata"]["labels"]')" = "{'app': 'db', 'n': '1', 'on': 'yes'}" ]
    [ "$(request 1 'sorted(r["objects"][0]["spec"].items())')" = \
        "[('accessModes', ['ReadWriteOnce']), ('empty', None), ('float', 1.5), ('int', 42), ('mode', 420), ('neg', -7), ('nothing', None), ('octal', 15), ('quoted', 'true'), ('resources', {'requests': {'storage': '64Mi'}}), ('text', 'two\\nlines\\n'), ('truth', True), ('version', '1.2.3')]" ]
    # a typed List lends its items their kind and apiVersion; merge keys and aliases
    [ "$(request 1 'r["objects"][4]')" = \
        "{'metadata': {'name': 'd'}, 'spec': {'accessModes': ['ReadWriteMany'], 'resources': {'requests': {'storage': '32Mi'}}}, 'kind': 'PersistentVolumeClaim', 'apiVersion': 'v1'}" ]
    # -o name prints the objects only
    run --separate-stderr volctl apply -f "$D/m.yaml" -o name
    assert_line --index 0 "persistentvolumeclaim/data"
    assert_line --index 2 "storageclass.storage.k8s.io/fast"
}

@test "apply from stdin and several files: STDIN as source, -n sent, one request per file" {
    fake_daemon
    answer apply '{"items":[]}'
    run --separate-stderr volctl apply -f - -n team <"$M/class-and-claim.yaml"
    assert_success
    [ "$(request 1 'r["source"], r["namespace"], len(r["objects"])')" = "('STDIN', 'team', 2)" ]
    run --separate-stderr volctl apply -f "$M/quota.yaml" --filename="$M/class-and-claim.yaml"
    assert_success
    [ "$(nrequests)" -eq 3 ]
    [ "$(request 2 'r["source"], len(r["objects"])')" = "('$M/quota.yaml', 3)" ]
    [ "$(request 3 'r["source"], len(r["objects"])')" = "('$M/class-and-claim.yaml', 2)" ]
    # a directory: its .yaml/.yml/.json files in name order
    mkdir "$D/dir"
    printf 'apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n' >"$D/dir/b.yaml"
    printf '{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}\n' >"$D/dir/a.json"
    printf 'not: yaml: at all\n' >"$D/dir/notes.txt"
    run --separate-stderr volctl apply -f "$D/dir"
    assert_success
    [ "$(request 4 'r["objects"][0]["metadata"]["name"], r["source"]')" = "('a', '$D/dir/a.json')" ]
    [ "$(request 5 'r["objects"][0]["metadata"]["name"], r["source"]')" = "('b', '$D/dir/b.yaml')" ]
    # a broken second file sends nothing at all
    printf 'a: [\n' >"$D/broken.yaml"
    run --separate-stderr volctl apply -f "$M/quota.yaml" -f "$D/broken.yaml"
    one_line_error
    [ "$(nrequests)" -eq 5 ]
}

@test "a refused apply prints the daemon's one line and fails; later files are not sent" {
    fake_daemon
    refuse apply "$M/bad-quantity.yaml: document 2 (PersistentVolumeClaim never-created): spec.resources.requests.storage: Invalid value: \"10Gx\"" Invalid
    run --separate-stderr volctl apply -f "$M/bad-quantity.yaml" -f "$M/quota.yaml"
    one_line_error
    assert_equal "$stderr" "volctl: error: $M/bad-quantity.yaml: document 2 (PersistentVolumeClaim never-created): spec.resources.requests.storage: Invalid value: \"10Gx\""
    [ "$(nrequests)" -eq 1 ]
}

@test "delete -f sends the objects with ignoreNotFound and prints kubectl's lines" {
    fake_daemon
    answer delete '{"items":[
      {"kind":"StorageClass","namespace":"","name":"fast","action":"deleted"},
      {"kind":"PersistentVolumeClaim","namespace":"default","name":"data","action":"deleted"}]}'
    run --separate-stderr volctl delete -f "$M/class-and-claim.yaml"
    assert_success
    assert_output 'storageclass "fast" deleted
persistentvolumeclaim "data" deleted'
    [ "$(request 1 'r["verb"], r["ignoreNotFound"], len(r["objects"]), "namespace" in r')" = "('delete', False, 2, False)" ]
    run --separate-stderr volctl delete -f "$M/class-and-claim.yaml" --ignore-not-found -n team
    assert_success
    [ "$(request 2 'r["ignoreNotFound"], r["namespace"]')" = "(True, 'team')" ]
    # delete by name with --ignore-not-found: a NotFound is not an error
    refuse delete 'persistentvolumeclaims "gone" not found' NotFound
    run --separate-stderr volctl delete pvc gone --ignore-not-found
    assert_success
    assert_output ''
    [ -z "$stderr" ]
    run --separate-stderr volctl delete pvc gone
    one_line_error
    assert_equal "$stderr" 'volctl: error: persistentvolumeclaims "gone" not found'
}

# ---------------------------------------------------------------------------
# imperative verbs: the requests

@test "create pvc builds the claim object; resize pvc sends bytes" {
    fake_daemon
    run --separate-stderr volctl create pvc data --size 1Gi
    assert_success
    assert_output "persistentvolumeclaim/data created"
    [ "$(request 1 'r')" = "{'verb': 'create', 'object': {'apiVersion': 'v1', 'kind': 'PersistentVolumeClaim', 'metadata': {'name': 'data', 'namespace': 'default'}, 'spec': {'accessModes': ['ReadWriteOnce'], 'resources': {'requests': {'storage': '1Gi'}}}}}" ]
    run --separate-stderr volctl create pvc shared --size=1.5Gi --class fast --access-mode rwx,ReadOnlyMany -n team
    assert_success
    [ "$(request 2 'r["object"]["metadata"], r["object"]["spec"]')" = \
        "({'name': 'shared', 'namespace': 'team'}, {'accessModes': ['ReadWriteMany', 'ReadOnlyMany'], 'resources': {'requests': {'storage': '1.5Gi'}}, 'storageClassName': 'fast'})" ]
    # --class "" asks for class-less volumes only, and is sent as such
    run --separate-stderr volctl create pvc loose --capacity 8Mi --class ''
    assert_success
    [ "$(request 3 'r["object"]["spec"]["storageClassName"]')" = "" ]
    run --separate-stderr volctl resize pvc data --size 2Gi -n team
    assert_success
    assert_output "persistentvolumeclaim/data resized"
    [ "$(request 4 'r')" = "{'verb': 'resize', 'kind': 'PersistentVolumeClaim', 'name': 'data', 'namespace': 'team', 'capacity': 2147483648}" ]
    # the volume forms are unchanged; --size is --capacity's other name
    run --separate-stderr volctl create pv v --size 1Gi
    assert_success
    [ "$(request 5 'r')" = "{'verb': 'create', 'kind': 'PersistentVolume', 'name': 'v', 'capacity': 1073741824}" ]
    run --separate-stderr volctl resize pv v --capacity 2Gi
    [ "$(request 6 'r')" = "{'verb': 'resize', 'kind': 'PersistentVolume', 'name': 'v', 'capacity': 2147483648}" ]
    # -o prints the daemon's object
    answer create '{"apiVersion":"v1","kind":"PersistentVolumeClaim","metadata":{"name":"x","namespace":"default"}}'
    run --separate-stderr volctl create pvc x --size 1Gi -o name
    assert_output "persistentvolumeclaim/x"
}

@test "snapshot, restore and clone: a bare name is a claim, pv/NAME a volume" {
    fake_daemon
    run --separate-stderr volctl snapshot data s1
    assert_success
    assert_output "volumesnapshot/s1 created"
    [ "$(request 1 'r')" = "{'verb': 'snapshot', 'name': 's1', 'source': 'data', 'sourceKind': 'PersistentVolumeClaim', 'namespace': 'default'}" ]
    volctl snapshot pvc/data vs/s2 -n team >/dev/null
    [ "$(request 2 'r["source"], r["sourceKind"], r["name"], r["namespace"]')" = "('data', 'PersistentVolumeClaim', 's2', 'team')" ]
    volctl snapshot pv/vol s3 >/dev/null
    [ "$(request 3 'r["source"], r["sourceKind"]')" = "('vol', 'PersistentVolume')" ]
    run --separate-stderr volctl restore s1 back --size 2Gi -n team
    assert_success
    assert_output "persistentvolumeclaim/back restored from volumesnapshot team/s1"
    [ "$(request 4 'r')" = "{'verb': 'restore', 'name': 'back', 'snapshot': 's1', 'kind': 'PersistentVolumeClaim', 'namespace': 'team', 'capacity': 2147483648}" ]
    run --separate-stderr volctl restore vs/s1 pv/vback
    assert_output "persistentvolume/vback restored from volumesnapshot default/s1"
    [ "$(request 5 'r["kind"], r["name"], "capacity" in r')" = "('PersistentVolume', 'vback', False)" ]
    run --separate-stderr volctl clone data twin -n team
    assert_success
    assert_output "persistentvolumeclaim/twin cloned from persistentvolumeclaim/data"
    [ "$(request 6 'r')" = "{'verb': 'clone', 'name': 'twin', 'source': 'data', 'kind': 'PersistentVolumeClaim', 'namespace': 'team'}" ]
    run --separate-stderr volctl clone pv/a pv/b
    assert_output "persistentvolume/b cloned from persistentvolume/a"
    [ "$(request 7 'r')" = "{'verb': 'clone', 'name': 'b', 'source': 'a', 'kind': 'PersistentVolume'}" ]
}

# ---------------------------------------------------------------------------
# get and describe: what the answers look like printed

T_OLD=2020-01-01T00:00:00Z

@test "get pvc: kubectl's columns, capacity from status, <unset> class, wide and -A" {
    fake_daemon
    answer get '{"items":[
      {"kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"default","creationTimestamp":"'$T_OLD'"},
       "spec":{"storageClassName":"fast","volumeName":"pvc-1","volumeMode":"Filesystem","resources":{"requests":{"storage":"60Mi"}}},
       "status":{"phase":"Bound","capacity":{"storage":"64Mi"},"accessModes":["ReadWriteOnce","ReadOnlyMany"]}},
      {"kind":"PersistentVolumeClaim","metadata":{"name":"waits","namespace":"team","creationTimestamp":"'$T_OLD'"},
       "spec":{"resources":{"requests":{"storage":"1Gi"}}},"status":{"phase":"Pending"}},
      {"kind":"PersistentVolumeClaim","metadata":{"name":"going","namespace":"team","creationTimestamp":"'$T_OLD'","deletionTimestamp":"'$T_OLD'"},
       "spec":{"storageClassName":""},"status":{"phase":"Bound"}}]}'
    run --separate-stderr volctl get pvc
    assert_success
    assert_line --index 0 --regexp '^NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +AGE$'
    assert_line --index 1 --regexp '^data +Bound +pvc-1 +64Mi +RWO,ROX +fast +[0-9yd]+'
    assert_line --index 2 --regexp '^waits +Pending +<unset> +[0-9yd]+'
    assert_line --index 3 --regexp '^going +Terminating +[0-9yd]+'
    [ "$(request 1 'r')" = "{'verb': 'get', 'kind': 'PersistentVolumeClaim', 'namespace': 'default'}" ]
    run --separate-stderr volctl get pvc -A -o wide
    assert_line --index 0 --regexp '^NAMESPACE +NAME +STATUS +VOLUME +CAPACITY +ACCESS MODES +STORAGECLASS +AGE +VOLUMEMODE$'
    assert_line --index 1 --regexp '^default +data +Bound .* Filesystem$'
    [ "$(request 2 'r')" = "{'verb': 'get', 'kind': 'PersistentVolumeClaim', 'allNamespaces': True}" ]
    # a named object the answer does not hold is not found, not an empty List
    answer get '{"items":[]}'
    run --separate-stderr volctl get pvc data -o json
    one_line_error
    assert_equal "$stderr" 'volctl: error: persistentvolumeclaims "data" not found'
    run --separate-stderr volctl get pvc -o json
    assert_success
    [ "$("$PY" -c 'import json,sys; o=json.loads(sys.argv[1]); print(o["kind"], o["items"])' "$output")" = "List []" ]
}

@test "get sc, vsclass, vs, vsc, quota and ns: kubectl's columns" {
    fake_daemon
    answer get '{"items":[
      {"kind":"StorageClass","metadata":{"name":"volfs","creationTimestamp":"'$T_OLD'","annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},
       "provisioner":"volfs.io/local","reclaimPolicy":"Delete","volumeBindingMode":"Immediate","allowVolumeExpansion":true},
      {"kind":"StorageClass","metadata":{"name":"late","creationTimestamp":"'$T_OLD'"},"provisioner":"volfs.io/local",
       "reclaimPolicy":"Retain","volumeBindingMode":"WaitForFirstConsumer"}]}'
    run volctl get sc
    assert_line --index 0 --regexp '^NAME +PROVISIONER +RECLAIMPOLICY +VOLUMEBINDINGMODE +ALLOWVOLUMEEXPANSION +AGE$'
    assert_line --index 1 --regexp '^volfs \(default\) +volfs.io/local +Delete +Immediate +true +'
    assert_line --index 2 --regexp '^late +volfs.io/local +Retain +WaitForFirstConsumer +false +'
    run volctl get sc -o name
    assert_output "storageclass.storage.k8s.io/volfs
storageclass.storage.k8s.io/late"
    answer get '{"items":[{"kind":"VolumeSnapshotClass","metadata":{"name":"volfs-snapshots","creationTimestamp":"'$T_OLD'",
       "annotations":{"snapshot.storage.kubernetes.io/is-default-class":"true"}},"driver":"volfs.io/local","deletionPolicy":"Delete"}]}'
    run volctl get vsclass
    assert_line --index 0 --regexp '^NAME +DRIVER +DELETIONPOLICY +AGE$'
    assert_line --index 1 --regexp '^volfs-snapshots \(default\) +volfs.io/local +Delete +'
    answer get '{"items":[
      {"kind":"VolumeSnapshot","metadata":{"name":"s1","namespace":"default","creationTimestamp":"'$T_OLD'"},
       "spec":{"volumeSnapshotClassName":"volfs-snapshots","source":{"persistentVolumeClaimName":"data"}},
       "status":{"readyToUse":true,"restoreSize":"64Mi","boundVolumeSnapshotContentName":"snapcontent-1","creationTime":"'$T_OLD'"}},
      {"kind":"VolumeSnapshot","metadata":{"name":"s2","namespace":"default","creationTimestamp":"'$T_OLD'"},
       "spec":{"source":{"persistentVolumeName":"vol"}},"status":{"readyToUse":false,"restoreSize":268435456}}]}'
    run volctl get vs
    assert_line --index 0 --regexp '^NAME +READYTOUSE +SOURCEPVC +SOURCESNAPSHOTCONTENT +RESTORESIZE +SNAPSHOTCLASS +SNAPSHOTCONTENT +CREATIONTIME +AGE$'
    assert_line --index 1 --regexp '^s1 +true +data +64Mi +volfs-snapshots +snapcontent-1 +[0-9yd]+'
    assert_line --index 2 --regexp '^s2 +false +pv/vol +256Mi +[0-9yd]+'
    answer get '{"items":[{"kind":"VolumeSnapshotContent","metadata":{"name":"snapcontent-1","creationTimestamp":"'$T_OLD'"},
       "spec":{"deletionPolicy":"Retain","driver":"volfs.io/local","volumeSnapshotClassName":"keep",
               "volumeSnapshotRef":{"name":"s1","namespace":"team"}},"status":{"readyToUse":true,"restoreSize":67108864}}]}'
    run volctl get vsc -A
    assert_line --index 0 --regexp '^NAME +READYTOUSE +RESTORESIZE +DELETIONPOLICY +DRIVER +VOLUMESNAPSHOTCLASS +VOLUMESNAPSHOT +VOLUMESNAPSHOTNAMESPACE +AGE$'
    assert_line --index 1 --regexp '^snapcontent-1 +true +67108864 +Retain +volfs.io/local +keep +s1 +team +'
    [ "$(request 5 'r')" = "{'verb': 'get', 'kind': 'VolumeSnapshotContent'}" ]
    answer get '{"items":[{"kind":"ResourceQuota","metadata":{"name":"storage","namespace":"team","creationTimestamp":"'$T_OLD'"},
       "status":{"hard":{"requests.storage":"100Mi","persistentvolumeclaims":"2","limits.memory":"1Gi"},
                 "used":{"requests.storage":"40Mi","persistentvolumeclaims":"1"}}}]}'
    run volctl get quota -n team
    assert_line --index 0 --regexp '^NAME +AGE +REQUEST +LIMIT$'
    assert_line --index 1 --regexp '^storage +[0-9yd]+ +persistentvolumeclaims: 1/2, requests.storage: 40Mi/100Mi +limits.memory: 0/1Gi$'
    answer get '{"items":[{"kind":"Namespace","metadata":{"name":"team","creationTimestamp":"'$T_OLD'"},"status":{"phase":"Active"}}]}'
    run volctl get ns -A
    assert_line --index 0 --regexp '^NAME +STATUS +AGE$'
    assert_line --index 1 --regexp '^team +Active +'
}

@test "describe pvc, sc and quota: kubectl's layout, repeated events counted" {
    fake_daemon
    now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
    answer describe '{"usedBy":["web-0"],"events":[
        {"type":"Warning","reason":"FailedBinding","message":"no volume fits","time":"'"$now"'","firstTime":"'$T_OLD'","count":3},
        {"type":"Normal","reason":"Bound","message":"bound","time":"'"$now"'","count":1}],
      "object":{"kind":"PersistentVolumeClaim","metadata":{"name":"data","namespace":"default","creationTimestamp":"'$T_OLD'",
        "labels":{"app":"db"},"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{}","note":"x"}},
        "spec":{"storageClassName":"fast","volumeName":"pvc-1","volumeMode":"Filesystem",
                "dataSource":{"apiGroup":"snapshot.storage.k8s.io","kind":"VolumeSnapshot","name":"s1"}},
        "status":{"phase":"Bound","capacity":{"storage":"64Mi"},"accessModes":["ReadWriteOnce"]}}}'
    run --separate-stderr volctl describe pvc data
    assert_success
    assert_line --regexp '^Name: +data$'
    assert_line --regexp '^Namespace: +default$'
    assert_line --regexp '^StorageClass: +fast$'
    assert_line --regexp '^Status: +Bound$'
    assert_line --regexp '^Volume: +pvc-1$'
    assert_line --regexp '^Labels: +app=db$'
    assert_line --regexp '^Annotations: +note: x$'
    refute_output --partial last-applied
    assert_line --regexp '^Capacity: +64Mi$'
    assert_line --regexp '^Access Modes: +RWO$'
    assert_line --regexp '^VolumeMode: +Filesystem$'
    assert_line 'DataSource:'
    assert_line --regexp '^  Kind: +VolumeSnapshot$'
    assert_line --regexp '^  Name: +s1$'
    assert_line --regexp '^Used By: +web-0$'
    assert_line 'Events:'
    assert_line --regexp '^  Type +Reason +Age +From +Message$'
    assert_line --regexp '^  Warning +FailedBinding +[0-9]+s \(x3 over [0-9yd]+\) +volfs +no volume fits$'
    assert_line --regexp '^  Normal +Bound +[0-9]+s +volfs +bound$'
    [ "$(request 1 'r')" = "{'verb': 'describe', 'kind': 'PersistentVolumeClaim', 'name': 'data', 'namespace': 'default'}" ]
    answer describe '{"events":[],"object":{"kind":"StorageClass","metadata":{"name":"fast",
        "annotations":{"storageclass.kubernetes.io/is-default-class":"true"}},"provisioner":"volfs.io/local",
        "parameters":{"b":"2","a":"1"},"allowVolumeExpansion":true,"reclaimPolicy":"Retain","volumeBindingMode":"Immediate"}}'
    run volctl describe sc fast
    assert_line --regexp '^Name: +fast$'
    assert_line --regexp '^IsDefaultClass: +Yes$'
    assert_line --regexp '^Provisioner: +volfs.io/local$'
    assert_line --regexp '^Parameters: +a=1,b=2$'
    assert_line --regexp '^AllowVolumeExpansion: +True$'
    assert_line --regexp '^MountOptions: +<none>$'
    assert_line --regexp '^ReclaimPolicy: +Retain$'
    assert_line --regexp '^VolumeBindingMode: +Immediate$'
    assert_line --regexp '^Events: +<none>$'
    answer describe '{"events":[],"object":{"kind":"ResourceQuota","metadata":{"name":"storage","namespace":"team"},
        "status":{"hard":{"requests.storage":"100Mi","persistentvolumeclaims":"2"},"used":{"requests.storage":"40Mi"}}}}'
    run volctl describe quota storage -n team
    assert_line --regexp '^Resource +Used +Hard$'
    assert_line --regexp '^persistentvolumeclaims +0 +2$'
    assert_line --regexp '^requests.storage +40Mi +100Mi$'
}
