#!/usr/bin/env bats
# deploy/csi/: the manifests that run volfs and volfs-csi in a cluster, and
# the walk-through's manifests in docs/csi.md, checked without an API
# server: each parses, has the kinds and required fields, and the objects
# agree with each other and with volfs-csi (driver name, sockets, volumes,
# service account, the flags the plugin accepts).

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() { :; }
teardown() { :; }

@test "deploy/csi has every object the driver needs, with the required fields, agreeing with each other" {
    run "$PY" - "$ROOT/deploy/csi" <<'PY'
import pathlib, sys, yaml
objs = []
for f in sorted(pathlib.Path(sys.argv[1]).glob("*.yaml")):
    for d in yaml.safe_load_all(f.read_text()):
        if d is not None:
            objs.append(d)
def fail(msg):
    print(msg); sys.exit(1)
for o in objs:
    for k in ("apiVersion", "kind"):
        o.get(k) or fail("an object without %s: %r" % (k, o))
    o.get("metadata", {}).get("name") or fail("%s without metadata.name" % o["kind"])
by = {}
for o in objs:
    by.setdefault(o["kind"], []).append(o)
want = {"Namespace": "v1", "CSIDriver": "storage.k8s.io/v1", "ServiceAccount": "v1",
        "ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
        "DaemonSet": "apps/v1", "StorageClass": "storage.k8s.io/v1",
        "VolumeSnapshotClass": "snapshot.storage.k8s.io/v1"}
for kind, api in want.items():
    kind in by or fail("no %s" % kind)
    all(o["apiVersion"] == api for o in by[kind]) or fail("%s is not %s" % (kind, api))
ns = by["Namespace"][0]["metadata"]["name"]
drv = by["CSIDriver"][0]
driver = drv["metadata"]["name"]
driver == "volfs.csi.k8s.io" or fail("driver %s" % driver)
drv["spec"]["attachRequired"] is False or fail("CSIDriver must not require attach")
drv["spec"].get("volumeLifecycleModes") == ["Persistent"] or fail("lifecycle modes")
sc = by["StorageClass"][0]
sc["provisioner"] == driver or fail("StorageClass provisioner %s" % sc["provisioner"])
sc["volumeBindingMode"] == "WaitForFirstConsumer" or fail("volumeBindingMode")
sc["allowVolumeExpansion"] is True or fail("allowVolumeExpansion")
vsc = by["VolumeSnapshotClass"][0]
vsc["driver"] == driver and vsc["deletionPolicy"] in ("Delete", "Retain") or fail("VolumeSnapshotClass")
sa = by["ServiceAccount"][0]
sa["metadata"]["namespace"] == ns or fail("ServiceAccount namespace")
crb = by["ClusterRoleBinding"][0]
crb["roleRef"]["kind"] == "ClusterRole" and crb["roleRef"]["name"] == by["ClusterRole"][0]["metadata"]["name"] \
    or fail("ClusterRoleBinding roleRef")
{"kind": "ServiceAccount", "name": sa["metadata"]["name"], "namespace": ns} in crb["subjects"] \
    or fail("ClusterRoleBinding subject")
rules = {(g, r): set(rule["verbs"]) for rule in by["ClusterRole"][0]["rules"]
         for g in rule["apiGroups"] for r in rule["resources"]}
for (g, r), verbs in {("", "persistentvolumes"): {"create", "delete"},
                      ("snapshot.storage.k8s.io", "volumesnapshotcontents"): {"update", "patch"},
                      ("snapshot.storage.k8s.io", "volumesnapshotcontents/status"): {"update"},
                      ("", "persistentvolumeclaims/status"): {"patch"},
                      ("storage.k8s.io", "csistoragecapacities"): {"create", "delete"},
                      ("storage.k8s.io", "csinodes"): {"get"}}.items():
    verbs <= rules.get((g, r), set()) or fail("ClusterRole lacks %s on %s/%s" % (verbs, g, r))
ds = by["DaemonSet"][0]
ds["metadata"]["namespace"] == ns or fail("DaemonSet namespace")
spec = ds["spec"]
labels = spec["template"]["metadata"]["labels"]
all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()) or fail("selector")
pod = spec["template"]["spec"]
pod["serviceAccountName"] == sa["metadata"]["name"] or fail("serviceAccountName")
vols = {v["name"]: v for v in pod["volumes"]}
cs = {c["name"]: c for c in pod["containers"]}
for c in cs.values():
    c.get("image") or fail("container %s has no image" % c["name"])
    for m in c.get("volumeMounts", []):
        m["name"] in vols or fail("%s mounts undefined volume %s" % (c["name"], m["name"]))
def args(c):
    return c.get("command", []) + c.get("args", [])
def mount(c, name):
    return next(m for m in c["volumeMounts"] if m["name"] == name)
images = " ".join(c["image"] for c in cs.values())
for s in ("csi-node-driver-registrar", "csi-provisioner", "csi-snapshotter", "csi-resizer", "livenessprobe"):
    ("/sig-storage/%s:" % s) in images or fail("no %s sidecar" % s)
plugin = cs["volfs-csi"]
"--node-id=$(NODE_NAME)" in args(plugin) or fail("node id from the node name")
plugin["securityContext"]["privileged"] is True or fail("the plugin mounts: privileged")
mount(plugin, "kubelet-dir")["mountPropagation"] == "Bidirectional" or fail("kubelet dir propagation")
mount(plugin, "kubelet-dir")["mountPath"] == vols["kubelet-dir"]["hostPath"]["path"] or fail("kubelet dir path")
mount(cs["volfs"], "volfs-mount")["mountPropagation"] == "Bidirectional" or fail("volfs mount propagation")
endpoint = next(a.split("=", 1)[1] for a in args(plugin) if a.startswith("--endpoint="))
sock = endpoint[len("unix://"):]
sockdir = mount(plugin, "socket-dir")["mountPath"]
sock.startswith(sockdir + "/") or fail("the endpoint is not in the socket dir")
for c in cs.values():
    for a in args(c):
        if a.startswith("--csi-address="):
            a.split("=", 1)[1] == sock or fail("%s talks to %s" % (c["name"], a))
            mount(c, "socket-dir")["mountPath"] == sockdir or fail("%s socket dir" % c["name"])
reg = next(a.split("=", 1)[1] for a in args(cs["node-driver-registrar"])
           if a.startswith("--kubelet-registration-path="))
reg == vols["socket-dir"]["hostPath"]["path"] + sock[len(sockdir):] or fail("registration path %s" % reg)
"/var/lib/kubelet/plugins_registry" == vols["registration-dir"]["hostPath"]["path"] or fail("registry dir")
"--node-deployment=true" in args(cs["csi-provisioner"]) or fail("provisioner --node-deployment")
any(a.startswith("--feature-gates=Topology=true") for a in args(cs["csi-provisioner"])) or fail("topology")
plugin["livenessProbe"]["httpGet"]["port"] in [p["name"] for p in plugin["ports"]] or fail("liveness port")
port = next(p["containerPort"] for p in plugin["ports"] if p["name"] == plugin["livenessProbe"]["httpGet"]["port"])
"--health-port=%d" % port in args(cs["liveness-probe"]) or fail("livenessprobe port")
# the plugin's flags, for the next check
print("\n".join(a.split("=", 1)[0] for a in args(plugin) if a.startswith("--")))
PY
    [[ $status -eq 0 ]] || fail "$output"
    flags=$output
    # every flag the manifest gives volfs-csi is one it documents
    run "$VOLFS_BIN/volfs-csi" --help
    [[ $status -eq 0 ]]
    for f in $flags; do
        [[ $output == *"$f "* ]] || fail "volfs-csi --help does not know $f"
    done
}

@test "the walk-through in docs/csi.md: a claim, a pod, a snapshot, a restore and a clone of class volfs" {
    run "$PY" - "$ROOT/docs/csi.md" "$ROOT/deploy/csi/storageclass.yaml" <<'PY'
import re, sys, yaml
text = open(sys.argv[1]).read()
docs = [d for block in re.findall(r"```yaml\n(.*?)```", text, re.S) for d in yaml.safe_load_all(block) if d]
classes = {(d["kind"], d["metadata"]["name"]) for d in yaml.safe_load_all(open(sys.argv[2]))}
kinds = [d["kind"] for d in docs]
for k in ("PersistentVolumeClaim", "Pod", "VolumeSnapshot"):
    assert k in kinds, (k, kinds)
claims = {d["metadata"]["name"]: d for d in docs if d["kind"] == "PersistentVolumeClaim"}
snaps = {d["metadata"]["name"]: d for d in docs if d["kind"] == "VolumeSnapshot"}
for c in claims.values():
    assert ("StorageClass", c["spec"]["storageClassName"]) in classes, c
    assert c["spec"]["resources"]["requests"]["storage"], c
    ds = c["spec"].get("dataSource")
    if ds:
        assert (ds["kind"] == "VolumeSnapshot" and ds["name"] in snaps and
                ds["apiGroup"] == "snapshot.storage.k8s.io") or \
               (ds["kind"] == "PersistentVolumeClaim" and ds["name"] in claims), ds
assert {c["spec"].get("dataSource", {}).get("kind") for c in claims.values()} >= \
    {"VolumeSnapshot", "PersistentVolumeClaim"}
for s in snaps.values():
    assert ("VolumeSnapshotClass", s["spec"]["volumeSnapshotClassName"]) in classes, s
    assert s["spec"]["source"]["persistentVolumeClaimName"] in claims, s
for p in (d for d in docs if d["kind"] == "Pod"):
    for v in p["spec"]["volumes"]:
        assert v["persistentVolumeClaim"]["claimName"] in claims, v
PY
    [[ $status -eq 0 ]] || fail "$output"
}

@test "every option of volfs-csi --help is in its man page" {
    run "$VOLFS_BIN/volfs-csi" --help
    [[ $status -eq 0 ]]
    opts=$(grep -oE -- '--[a-z][a-z-]+' <<<"$output" | sort -u)
    [[ -n $opts ]]
    man=$(groff -man -Tascii -P-cbou "$ROOT/docs/volfs-csi.8" 2>/dev/null)
    for o in $opts; do
        [[ $man == *"$o"* ]] || fail "$o is not in docs/volfs-csi.8"
    done
}
