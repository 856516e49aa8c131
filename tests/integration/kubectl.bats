#!/usr/bin/env bats
# kubectl's everyday verbs and flags as volctl serves them: flags anywhere,
# selectors, labels and annotations, output formats, several kinds, events,
# watches and wait, manifests with kinds volfs does not serve.

# shellcheck disable=SC2154 # STATE, MNT, PY come from helpers.bash
load helpers

# until CMD...: run CMD until it succeeds (200 tries, a tenth of a second
# apart): waiting for a background volctl, never a timed assertion.
until_ok() {
    local i
    for ((i = 0; i < 200; i++)); do
        "$@" && return 0
        sleep 0.1
    done
    "$@"
}

claims() {
    volctl create pvc data --size 1Gi >/dev/null
    volctl create pvc logs --size 2Gi >/dev/null
    volctl create pvc scratch --size 1Gi >/dev/null
}

@test "global flags work before the verb" {
    volctl apply -f - <<<'{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"team-a"}}' >/dev/null
    volctl create pvc data --size 1Gi -n team-a >/dev/null
    run --separate-stderr "$VOLFS_BIN/volctl" -n team-a --state "$STATE" get pvc -o name
    assert_success
    assert_output 'persistentvolumeclaim/data'
    run --separate-stderr "$VOLFS_BIN/volctl" --capacity 1Gi --state "$STATE" get pvc
    assert_failure
    assert_equal "$stderr" "volctl: error: unknown flag: --capacity; see 'volctl get --help'"
}

@test "errors carry the volctl: error: prefix" {
    run --separate-stderr "$VOLFS_BIN/volctl"
    assert_failure
    assert_equal "$stderr" "volctl: error: no command given; see 'volctl --help'"
    run --separate-stderr volctl label2
    assert_equal "$stderr" "volctl: error: unknown command \"label2\" for \"volctl\"; see 'volctl --help'"
    run --separate-stderr "$VOLFS_BIN/volctl" --state "$BATS_TEST_TMPDIR" get pv
    assert_failure
    [[ $stderr == "volctl: error: cannot connect to the volfs daemon"* ]] || fail "$stderr"
}

@test "label and annotate: set, refuse without --overwrite, overwrite, remove" {
    claims
    run volctl label pvc data app=web tier=gold
    assert_success
    assert_output 'persistentvolumeclaim/data labeled'
    run --separate-stderr volctl label pvc data app=db
    assert_failure
    assert_equal "$stderr" "volctl: error: 'app' already has a value (web), and --overwrite is false"
    run volctl label pvc data app=db --overwrite
    assert_success
    run volctl get pvc data -o 'jsonpath={.metadata.labels.app},{.metadata.labels.tier}'
    assert_output 'db,gold'
    run volctl label pvc/data tier-
    assert_output 'persistentvolumeclaim/data labeled'
    run volctl get pvc data -o 'jsonpath={.metadata.labels}'
    assert_output '{"app":"db"}'
    run volctl annotate pvc data owner=team-a
    assert_output 'persistentvolumeclaim/data annotated'
    run volctl get pvc data -o 'jsonpath={.metadata.annotations.owner}'
    assert_output 'team-a'
    run --separate-stderr volctl label pvc data 'bad key=x'
    assert_failure
}

@test "-l selects by equality, inequality, sets and existence on get, describe and delete" {
    claims
    volctl label pvc data app=web tier=gold >/dev/null
    volctl label pvc logs app=web >/dev/null
    run volctl get pvc -l app=web -o name
    assert_output $'persistentvolumeclaim/data\npersistentvolumeclaim/logs'
    run volctl get pvc -l 'app=web,tier!=gold' -o name
    assert_output 'persistentvolumeclaim/logs'
    run volctl get pvc --selector 'tier in (gold,silver)' -o name
    assert_output 'persistentvolumeclaim/data'
    run volctl get pvc -l '!app' -o name
    assert_output 'persistentvolumeclaim/scratch'
    run volctl describe pvc -l tier=gold
    assert_line --regexp '^Name: +data$'
    refute_line --regexp '^Name: +logs$'
    run volctl delete pvc -l app=web
    assert_success
    assert_output $'persistentvolumeclaim "data" deleted\npersistentvolumeclaim "logs" deleted'
    run volctl get pvc -o name
    assert_output 'persistentvolumeclaim/scratch'
    run --separate-stderr volctl get pvc -l 'app in web'
    assert_failure
    [[ $stderr == "volctl: error: unable to parse requirement"* ]] || fail "$stderr"
}

@test "--show-labels, --no-headers, --sort-by" {
    claims
    volctl label pvc data app=web >/dev/null
    run volctl get pvc --show-labels
    assert_line --index 0 --regexp 'AGE +LABELS$'
    assert_line --regexp '^data .* app=web$'
    assert_line --regexp '^logs .* <none>$'
    run volctl get pvc --no-headers -o custom-columns=N:.metadata.name
    assert_output $'data\nlogs\nscratch'
    run volctl get pvc --sort-by=.spec.resources.requests.storage --no-headers -o custom-columns=N:.metadata.name,S:.spec.resources.requests.storage
    assert_line --index 2 --regexp '^logs +2Gi$'
    run volctl get pvc --sort-by='{.metadata.name}' -o name
    assert_output $'persistentvolumeclaim/data\npersistentvolumeclaim/logs\npersistentvolumeclaim/scratch'
}

@test "-o jsonpath and custom-columns" {
    claims
    run volctl get pvc -o 'jsonpath={range .items[*]}{.metadata.name}={.spec.resources.requests.storage}{"\n"}{end}'
    assert_success
    assert_output $'data=1Gi\nlogs=2Gi\nscratch=1Gi'
    run volctl get pvc -o 'jsonpath={.items[?(@.spec.resources.requests.storage=="2Gi")].metadata.name}'
    assert_output 'logs'
    run volctl get pvc -o 'jsonpath={.items[0].metadata.name} {.items[*].status.phase}'
    assert_output 'data Bound Bound Bound'
    run volctl get pvc -o custom-columns='NAME:.metadata.name,MODES:.spec.accessModes[*],NONE:.metadata.labels.x'
    assert_line --index 0 --regexp '^NAME +MODES +NONE$'
    assert_line --index 1 --regexp '^data +ReadWriteOnce +<none>$'
    run --separate-stderr volctl get pvc -o 'jsonpath={.items[0}'
    assert_failure
    [[ $stderr == "volctl: error: error parsing jsonpath"* ]] || fail "$stderr"
    run --separate-stderr volctl get pvc -o custom-columns=NAME
    assert_failure
}

@test "several kinds, get all, kind/name arguments" {
    claims
    run volctl get pvc,sc -o name
    assert_line 'persistentvolumeclaim/data'
    assert_line --regexp '^storageclass.storage.k8s.io/'
    run volctl get pvc/data pvc/logs sc/volfs
    assert_success
    assert_line --regexp '^persistentvolumeclaim/data +Bound'
    assert_line --regexp '^persistentvolumeclaim/logs +Bound'
    assert_line --regexp '^storageclass.storage.k8s.io/volfs '
    run volctl get all
    assert_success
    assert_line --regexp '^persistentvolumeclaim/scratch '
    run volctl get pvc,pv -o json
    [ "$("$PY" -c 'import json,sys; l=json.load(sys.stdin); print(l["kind"], sorted({i["kind"] for i in l["items"]}))' <<<"$output")" = "List ['PersistentVolume', 'PersistentVolumeClaim']" ]
}

@test "describe KIND without a name describes every object; delete --all" {
    claims
    run volctl describe pvc
    assert_success
    [ "$(grep -c '^Name:' <<<"$output")" -eq 3 ]
    run --separate-stderr volctl delete pvc
    assert_failure
    run volctl delete pvc --all
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    run --separate-stderr volctl get pvc
    assert_equal "$stderr" 'No resources found in default namespace.'
}

@test "create -f creates each object and reports one that exists" {
    cat >"$BATS_TEST_TMPDIR/c.yaml" <<'EOF'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: one}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {a: "1"}
EOF
    run volctl create -f "$BATS_TEST_TMPDIR/c.yaml"
    assert_success
    assert_output $'persistentvolumeclaim/one created\nconfigmap/settings created'
    run --separate-stderr volctl create -f "$BATS_TEST_TMPDIR/c.yaml"
    assert_failure
    [[ $stderr == *'"one" already exists'* ]] || fail "$stderr"
}

@test "api-resources and explain" {
    run volctl api-resources
    assert_success
    assert_line --regexp '^persistentvolumeclaims +pvc +v1 +true +PersistentVolumeClaim$'
    assert_line --regexp '^deployments +deploy +apps/v1 +true +Deployment$'
    run volctl explain pvc
    assert_line 'KIND:       PersistentVolumeClaim'
    assert_line --regexp '^  spec'
    run volctl explain pvc.spec.storageClassName
    assert_line 'FIELD: storageClassName <string>'
    run --separate-stderr volctl explain pvc.spec.nonsense
    assert_failure
}

@test "get events and --field-selector involvedObject.name" {
    claims
    run volctl get events
    assert_success
    assert_line --index 0 --regexp '^LAST SEEN +TYPE +REASON +OBJECT +MESSAGE$'
    run volctl get ev --field-selector involvedObject.name=data -o 'jsonpath={range .items[*]}{.involvedObject.name}{"\n"}{end}'
    assert_success
    [ -n "$output" ]
    refute_line logs
    run volctl get ev --field-selector involvedObject.name=data,involvedObject.kind=PersistentVolumeClaim -o name
    [ -n "$output" ]
}

@test "a watch on the control socket pushes each change as a line, without being asked again" {
    volctl create pvc before --size 1Gi >/dev/null
    cat >"$BATS_TEST_TMPDIR/watch.py" <<'PYEOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(200)
s.connect(sys.argv[1])
s.sendall(b'{"verb":"watch","kind":"PersistentVolumeClaim","namespace":"default"}\n')
f = s.makefile()
first = json.loads(f.readline())
print("items", " ".join(o["metadata"]["name"] for o in first["result"]["items"]), flush=True)
for _ in range(2):
    ev = json.loads(f.readline())
    print(ev["type"], ev["object"]["metadata"]["name"], ev["object"]["metadata"].get("labels", {}).get("app", "-"),
          flush=True)
PYEOF
    "$PY" "$BATS_TEST_TMPDIR/watch.py" "$STATE/control.sock" >"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
    local pid=$!
    until_ok grep -q '^items before$' "$BATS_TEST_TMPDIR/w"
    volctl create pvc w1 --size 1Gi >/dev/null
    until_ok grep -q '^ADDED w1 -$' "$BATS_TEST_TMPDIR/w"
    volctl label pvc before app=web >/dev/null
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/w"
    assert_output $'items before\nADDED w1 -\nMODIFIED before web'
}

@test "get -w streams the changes the daemon pushes" {
    volctl create pvc before --size 1Gi >/dev/null
    volctl get pvc -w -o custom-columns=NAME:.metadata.name,APP:.metadata.labels.app >"$BATS_TEST_TMPDIR/w" 2>&1 3>&- &
    local pid=$!
    volfs_track_pid "$pid"
    until_ok grep -q '^before ' "$BATS_TEST_TMPDIR/w"
    volctl create pvc w1 --size 1Gi >/dev/null
    until_ok grep -q '^w1 ' "$BATS_TEST_TMPDIR/w"
    volctl label pvc w1 app=web >/dev/null
    until_ok grep -q '^w1 *web$' "$BATS_TEST_TMPDIR/w"
    kill "$pid"
    wait "$pid" || true
    run cat "$BATS_TEST_TMPDIR/w"
    assert_line --index 0 --regexp '^NAME +APP$'
    assert_line --index 1 --regexp '^before +<none>$'
    [ "$(grep -c '^NAME' "$BATS_TEST_TMPDIR/w")" -eq 1 ]
}

@test "wait --for=jsonpath, condition, delete and --timeout" {
    claims
    run volctl wait pvc data --for=jsonpath='{.status.phase}'=Bound
    assert_success
    assert_output 'persistentvolumeclaim/data condition met'
    run --separate-stderr volctl wait pvc data --for=jsonpath='{.status.phase}'=Lost --timeout=0
    assert_failure
    assert_equal "$stderr" 'volctl: error: timed out waiting for the condition on persistentvolumeclaims/data'
    run --separate-stderr volctl wait pvc nope --for=condition=Ready
    assert_failure
    volctl wait pvc logs --for=delete --timeout=200s >"$BATS_TEST_TMPDIR/wait" 2>&1 3>&- &
    local pid=$!
    volctl delete pvc logs >/dev/null
    wait "$pid"
    run cat "$BATS_TEST_TMPDIR/wait"
    assert_output 'persistentvolumeclaim/logs condition met'
    run --separate-stderr volctl wait pvc data --for=bogus
    assert_failure
    volctl apply -f - >/dev/null <<<'{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","labels":{"app":"x"}},"spec":{"containers":[{"name":"c","image":"x"}],"volumes":[{"name":"d","persistentVolumeClaim":{"claimName":"data"}}]}}'
    run volctl wait pod -l app=x --for=condition=Ready
    assert_success
    assert_output 'pod/p condition met'
}

@test "apply skips kinds volfs does not serve with a warning; --strict refuses; a typo is an error" {
    cat >"$BATS_TEST_TMPDIR/mixed.yaml" <<'EOF'
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: web-data}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
EOF
    run --separate-stderr volctl apply -f "$BATS_TEST_TMPDIR/mixed.yaml" --strict
    assert_failure
    [[ $stderr == *"volfs does not serve kind Service (--strict); volfs serves StorageClass, PersistentVolume, PersistentVolumeClaim"* ]] || fail "$stderr"
    run --separate-stderr volctl get pvc web-data
    assert_failure
    run --separate-stderr volctl apply -f "$BATS_TEST_TMPDIR/mixed.yaml"
    assert_success
    assert_output 'persistentvolumeclaim/web-data created'
    assert_equal "$stderr" $'Warning: service/web skipped: volfs does not serve kind Service\nWarning: job/migrate skipped: volfs does not serve kind Job'
    sed 's/kind: Service/kind: Servcie/' "$BATS_TEST_TMPDIR/mixed.yaml" >"$BATS_TEST_TMPDIR/typo.yaml"
    run --separate-stderr volctl apply -f "$BATS_TEST_TMPDIR/typo.yaml"
    assert_failure
    [[ $stderr == *'no matches for kind "Servcie" in version "v1"; volfs serves StorageClass'* ]] || fail "$stderr"
}

@test "Deployment: replicas pods <deploy>-<hash>-<suffix> sharing the template's claims; scale; delete keeps the claims" {
    cat >"$BATS_TEST_TMPDIR/d.yaml" <<'EOF2'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared}
spec: {accessModes: [ReadWriteMany], resources: {requests: {storage: 1Gi}}}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: app, image: nginx, volumeMounts: [{name: data, mountPath: /data}]}]
      volumes: [{name: data, persistentVolumeClaim: {claimName: shared}}]
EOF2
    run volctl apply -f "$BATS_TEST_TMPDIR/d.yaml"
    assert_success
    assert_line 'deployment.apps/web created'
    run volctl get deploy
    assert_line --index 0 --regexp '^NAME +READY +UP-TO-DATE +AVAILABLE +AGE$'
    assert_line --index 1 --regexp '^web +2/2 +2 +2 '
    run volctl get pods -l app=web -o name
    [ "${#lines[@]}" -eq 2 ]
    for l in "${lines[@]}"; do
        [[ $l =~ ^pod/web-[a-z0-9]{9}-[a-z0-9]{5}$ ]] || fail "pod name $l"
    done
    local pod=${lines[0]#pod/}
    echo shared >"$MNT/pvc/default/shared/f"
    [ "$(cat "$MNT/pods/default/$pod/data/f")" = shared ]
    run volctl scale deploy/web --replicas=3
    assert_output 'deployment.apps/web scaled'
    run volctl get pods -l app=web -o name
    [ "${#lines[@]}" -eq 3 ]
    sed 's/replicas: 2/replicas: 1/' "$BATS_TEST_TMPDIR/d.yaml" | volctl apply -f - >/dev/null
    run volctl get pods -l app=web -o name
    [ "${#lines[@]}" -eq 1 ]
    run volctl delete deploy web
    assert_success
    run --separate-stderr volctl get pods -o name
    assert_output ''
    run volctl get pvc shared -o 'jsonpath={.status.phase}'
    assert_output 'Bound'
    [ "$(cat "$MNT/pvc/default/shared/f")" = shared ]
}

@test "Secrets: stringData is folded into base64 data; TYPE and DATA columns for secrets and configMaps" {
    cat >"$BATS_TEST_TMPDIR/s.yaml" <<'EOF2'
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: s3cr3t}
data: {user: YWRtaW4=}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf}
data: {a: "1", b: "2"}
binaryData: {c: AAE=}
EOF2
    run volctl apply -f "$BATS_TEST_TMPDIR/s.yaml"
    assert_success
    run volctl get secret db -o 'jsonpath={.data.password}'
    assert_output 'czNjcjN0'
    [ "$(volctl get secret db -o 'jsonpath={.data.password}' | base64 -d)" = s3cr3t ]
    run volctl get secret db -o yaml
    refute_output --partial 'stringData'
    refute_output --partial 's3cr3t'
    run volctl apply -f "$BATS_TEST_TMPDIR/s.yaml"
    assert_line 'secret/db unchanged'
    run volctl get secret db
    assert_line --index 0 --regexp '^NAME +TYPE +DATA +AGE$'
    assert_line --index 1 --regexp '^db +Opaque +2 '
    run volctl get cm conf
    assert_line --index 0 --regexp '^NAME +DATA +AGE$'
    assert_line --index 1 --regexp '^conf +3 '
}

@test "get -o yaml of every kind applies back, and a second time unchanged" {
    cat >"$BATS_TEST_TMPDIR/all.yaml" <<'EOF2'
apiVersion: v1
kind: Namespace
metadata: {name: team}
---
apiVersion: v1
kind: ResourceQuota
metadata: {name: q, namespace: team}
spec: {hard: {requests.storage: 10Gi}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: conf, namespace: team}
data: {a: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: sec, namespace: team}
stringData: {pw: x}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, namespace: team}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Pod
metadata: {name: app, namespace: team}
spec:
  containers: [{name: c, image: x}]
  volumes: [{name: d, persistentVolumeClaim: {claimName: data}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: team}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: x}]}
EOF2
    volctl apply -f "$BATS_TEST_TMPDIR/all.yaml" >/dev/null
    volctl create pv bare --capacity 1Gi >/dev/null
    volctl snapshot pv/bare of-bare -n team >/dev/null
    volctl snapshot data of-claim -n team >/dev/null
    local k name
    for k in ns/team quota/q cm/conf secret/sec pvc/data pod/app deploy/web vs/of-bare vs/of-claim pv/bare sc/volfs \
        vsclass/volfs-snapshots; do
        volctl get "$k" -n team -o yaml >"$BATS_TEST_TMPDIR/one.yaml"
        run --separate-stderr volctl apply -f "$BATS_TEST_TMPDIR/one.yaml"
        [ "$status" -eq 0 ] || fail "$k: $stderr"
        run --separate-stderr volctl apply -f "$BATS_TEST_TMPDIR/one.yaml"
        [[ $output == *" unchanged" ]] || fail "$k applied twice: $output $stderr"
        volctl get "$k" -n team -o yaml | volctl apply -f - >"$BATS_TEST_TMPDIR/again"
        name=$(cat "$BATS_TEST_TMPDIR/again")
        [[ $name == *" unchanged" ]] || fail "$k: its own YAML after apply: $name"
    done
}

@test "restore SNAP NEWCLAIM puts the claim in the source claim's class" {
    cat >"$BATS_TEST_TMPDIR/fast.yaml" <<'EOF2'
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata: {name: fast}
provisioner: volfs.io/local
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: db}
spec: {storageClassName: fast, accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
EOF2
    volctl apply -f "$BATS_TEST_TMPDIR/fast.yaml" >/dev/null
    echo v1 >"$MNT/pvc/default/db/f"
    volctl snapshot db s1 >/dev/null
    run volctl restore s1 db-restored
    assert_success
    run volctl get pvc db-restored -o 'jsonpath={.spec.storageClassName} {.status.phase}'
    assert_output 'fast Bound'
    [ "$(cat "$MNT/pvc/default/db-restored/f")" = v1 ]
}
