#!/usr/bin/env bats
# volfs-csi, the CSI plugin of a volfs node: the Kubernetes CSI conformance
# suite (csi-sanity) against a fresh volfs, then the plugin's own answers
# through csi-call (tests/csi/call.cc): names and marks of CSI volumes,
# snapshots as VolumeSnapshots, restore and clone, publishes as bind mounts,
# stats, expansion, bad input, concurrent calls, Probe.
#
# csi-sanity is not part of volfs: it is found at ../shared/tools/csi-sanity
# beside the repository (VOLFS_CSI_SANITY overrides); without it that test
# says it skipped.

load helpers

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
: "${VOLFS_CSI_SANITY:=$ROOT/../shared/tools/csi-sanity}"
CSI_CALL=$VOLFS_BIN/../tests/csi-call
SIZE=67108864 # 64 MiB
MOUNT_CAP='volume_capabilities { mount {} access_mode { mode: SINGLE_NODE_WRITER } }'
PUB_CAP='volume_capability { mount {} access_mode { mode: SINGLE_NODE_WRITER } }'

setup() {
    volfs_start
    KUBELET=$VOLFS_TMP/kubelet
    mkdir -p "$KUBELET/pods"
    CSI_SOCK=$VOLFS_TMP/csi.sock
    CSI_LOG=$VOLFS_TMP/csi.log
    csi_start
}

teardown() {
    local m
    # publishes first: volfs unmounts only once nothing holds its volumes
    while read -r m; do
        m=$(printf '%b' "$m")
        case $m in "$KUBELET"/*) umount -l "$m" 2>/dev/null || true ;; esac
    done < <(awk '{print $5}' /proc/self/mountinfo | tac)
    csi_stop
    volfs_teardown
}

# csi_start: volfs-csi for this test's daemon, serving once its socket exists.
csi_start() {
    [[ -x $VOLFS_BIN/volfs-csi ]] || fail "volfs-csi not built: $VOLFS_BIN/volfs-csi"
    [[ -x $CSI_CALL ]] || fail "csi-call not built: $CSI_CALL (make SAN=1 units)"
    "$VOLFS_BIN/volfs-csi" --endpoint "unix://$CSI_SOCK" --node-id node-a --state "$STATE" \
        --kubelet-dir "$KUBELET" --max-volumes 500 </dev/null >>"$CSI_LOG" 2>&1 3>&- &
    CSI_PID=$!
    local i
    for ((i = 0; i < 300; i++)); do
        [[ -S $CSI_SOCK ]] && return 0
        kill -0 "$CSI_PID" 2>/dev/null || fail "volfs-csi exited: $(cat "$CSI_LOG")"
        sleep 0.1
    done
    fail "volfs-csi did not create $CSI_SOCK in 30 s: $(cat "$CSI_LOG")"
}

# csi_stop: SIGTERM; the plugin must exit 0 and remove its socket.
csi_stop() {
    [[ -n ${CSI_PID:-} ]] || return 0
    local rc=0
    kill -TERM "$CSI_PID" 2>/dev/null || true
    wait "$CSI_PID" || rc=$?
    CSI_PID=''
    ((rc == 0)) || fail "volfs-csi exited with status $rc: $(tail -n 20 "$CSI_LOG")"
    [[ ! -e $CSI_SOCK ]] || fail "volfs-csi left $CSI_SOCK behind"
}

# csi METHOD [TEXT-PROTO]: one CSI call; $output is the answer or "ERROR CODE: message".
csi() {
    run "$CSI_CALL" "unix://$CSI_SOCK" "$@"
}

# create_volume NAME [BYTES [MORE-REQUEST-FIELDS]]: CreateVolume that must succeed; prints the id.
create_volume() {
    local out
    out=$("$CSI_CALL" "unix://$CSI_SOCK" Controller.CreateVolume \
        "name: \"$1\" capacity_range { required_bytes: ${2:-$SIZE} } $MOUNT_CAP ${3:-}") ||
        fail "CreateVolume $1: $out"
    sed -n 's/^  volume_id: "\(.*\)"$/\1/p' <<<"$out" # the volume's, not its source's
}

# expect_error CODE: the last csi call failed with that gRPC code.
expect_error() {
    [[ $status -eq 1 && $output == "ERROR $1:"* ]] || fail "expected $1, got (status $status): $output"
}

@test "csi-sanity: the full CSI conformance suite, snapshots and expansion included, passes with 0 failures" {
    [[ -x $VOLFS_CSI_SANITY ]] ||
        skip "csi-sanity not found at $VOLFS_CSI_SANITY (kubernetes-csi/csi-test; set VOLFS_CSI_SANITY)"
    # where the plugin runs in a container the path checks go through this
    # command; here it checks the host's view, as the plugin sees it
    cat >"$VOLFS_TMP/checkpath" <<'SH'
#!/bin/sh
if [ -f "$1" ]; then echo file; elif [ -d "$1" ]; then echo directory
elif [ -e "$1" ] || [ -L "$1" ]; then echo other; else echo not_found; fi
SH
    chmod +x "$VOLFS_TMP/checkpath"
    run timeout 600 "$VOLFS_CSI_SANITY" --csi.endpoint="unix://$CSI_SOCK" \
        --csi.mountdir="$KUBELET/mount" --csi.stagingdir="$KUBELET/staging" \
        --csi.testvolumesize=$SIZE --csi.testvolumeexpandsize=$((2 * SIZE)) \
        --csi.checkpathcmd="$VOLFS_TMP/checkpath" \
        --ginkgo.no-color --ginkgo.json-report="$VOLFS_TMP/sanity.json"
    echo "$output" | tail -n 40
    # the totals, in the TAP log
    grep -E '^(Ran [0-9]+ of|SUCCESS!|FAIL!)' <<<"$output" | sed 's/^/# csi-sanity: /' >&3
    [[ $status -eq 0 ]]
    [[ $output == *"SUCCESS!"*" 0 Failed "* ]]
    # every skip is a capability volfs-csi does not claim (docs/csi.md)
    run "$PY" - "$VOLFS_TMP/sanity.json" <<'PY'
import json, re, sys
ok = re.compile(r"(GroupControllerService|ControllerModifyVolume|Modify [Vv]olume|NodeStageVolume|"
                r"NodeUnstageVolume|ControllerPublishVolume|ControllerUnpublishVolume|"
                r"Controller Publish, UnpublishVolume) not supported")
bad = [s["LeafNodeText"] + ": " + s.get("Failure", {}).get("Message", "")
       for s in json.load(open(sys.argv[1]))[0]["SpecReports"]
       if s["State"] == "skipped" and not ok.search(s.get("Failure", {}).get("Message", ""))]
print("\n".join(bad))
sys.exit(1 if bad else 0)
PY
    [[ $status -eq 0 ]] || fail "unexpected skips: $output"
    # the suite cleans up after itself through the plugin: nothing is left
    [[ -z $(volctl get pv -o name) ]]
    [[ -z $(volctl get vs -A -o name) ]]
}

@test "CreateVolume makes a PersistentVolume of exactly the capacity asked, marked as CSI's, which volctl shows" {
    id=$(create_volume pvc-0a1b2c3d 100000000 \
        'parameters { key: "csi.storage.k8s.io/pvc/name" value: "data" } parameters { key: "csi.storage.k8s.io/pvc/namespace" value: "shop" }')
    [[ $id == pvc-0a1b2c3d ]]
    run volctl get pv
    assert_line --regexp '^pvc-0a1b2c3d +100000000 +RWO +Retain +Available +volfs-csi'
    run volctl get pv pvc-0a1b2c3d -o json
    "$PY" -c '
import json, sys
pv = json.loads(sys.argv[1])
a = pv["metadata"]["annotations"]
assert a["pv.kubernetes.io/provisioned-by"] == "volfs.csi.k8s.io", a
assert a["volfs.csi.k8s.io/pvc-name"] == "data" and a["volfs.csi.k8s.io/pvc-namespace"] == "shop", a
assert pv["spec"]["csi"] == {"driver": "volfs.csi.k8s.io", "volumeHandle": "pvc-0a1b2c3d"}, pv["spec"]
assert pv["spec"]["capacity"]["storage"] == "100000000", pv["spec"]' "$output"
    # volfs enforces it: statfs in the volume says so
    total=$(($(stat -f -c '%b * %S' "$MNT/pv/pvc-0a1b2c3d")))
    [[ $total -ge 100000000 && $total -lt $((100000000 + 4096)) ]]
    csi Controller.ListVolumes
    [[ $status -eq 0 && $output == *'volume_id: "pvc-0a1b2c3d"'* && $output == *"capacity_bytes: 100000000"* ]]
    csi Controller.DeleteVolume 'volume_id: "pvc-0a1b2c3d"'
    [[ $status -eq 0 ]]
    [[ ! -e $MNT/pv/pvc-0a1b2c3d && -z $(volctl get pv -o name) ]]
}

@test "CreateVolume is idempotent by name, refuses an incompatible one, and never takes or deletes a volume volctl made" {
    id=$(create_volume "Data Volume #1")
    [[ $id =~ ^data-volume-1-[0-9a-f]{12}$ ]]
    [[ $(create_volume "Data Volume #1") == "$id" ]]
    [[ $(volctl get pv -o name | wc -l) -eq 1 ]]
    run volctl get pv "$id" -o json
    [[ $output == *'"volfs.csi.k8s.io/name": "Data Volume #1"'* ]]
    csi Controller.CreateVolume "name: \"Data Volume #1\" capacity_range { required_bytes: $((2 * SIZE)) } $MOUNT_CAP"
    expect_error ALREADY_EXISTS
    # a volume of volfs's own users
    pv_create mine 64Mi
    echo precious >"$MNT/pv/mine/file"
    csi Controller.CreateVolume "name: \"mine\" capacity_range { required_bytes: $SIZE } $MOUNT_CAP"
    expect_error ALREADY_EXISTS
    [[ $output == *"not made through CSI"* ]]
    csi Controller.DeleteVolume 'volume_id: "mine"'
    expect_error FAILED_PRECONDITION
    [[ $(cat "$MNT/pv/mine/file") == precious ]]
    # ids that are not ours: gone already, as the specification wants
    csi Controller.DeleteVolume 'volume_id: "No Such/Volume"'
    [[ $status -eq 0 ]]
}

@test "bad input gets the specification's code and a clear message, and leaves nothing behind" {
    csi Controller.CreateVolume "$MOUNT_CAP"
    expect_error INVALID_ARGUMENT
    [[ $output == *"name is required"* ]]
    csi Controller.CreateVolume 'name: "a"'
    expect_error INVALID_ARGUMENT
    csi Controller.CreateVolume 'name: "a" volume_capabilities { block {} access_mode { mode: SINGLE_NODE_WRITER } }'
    expect_error INVALID_ARGUMENT
    [[ $output == *"block access is not supported"* ]]
    csi Controller.CreateVolume 'name: "a" volume_capabilities { mount {} access_mode { mode: MULTI_NODE_MULTI_WRITER } }'
    expect_error INVALID_ARGUMENT
    csi Controller.CreateVolume "name: \"a\" $MOUNT_CAP parameters { key: \"fast\" value: \"yes\" }"
    expect_error INVALID_ARGUMENT
    [[ $output == *'unknown parameter "fast"'* ]]
    # more than the state directory's disk holds
    csi Controller.CreateVolume "name: \"a\" capacity_range { required_bytes: 1125899906842624 } $MOUNT_CAP"
    expect_error RESOURCE_EXHAUSTED
    [[ $output == *"free on the disk of volfs's state directory"* ]]
    csi Controller.CreateVolume "name: \"a\" capacity_range { required_bytes: $SIZE limit_bytes: 4096 } $MOUNT_CAP"
    expect_error OUT_OF_RANGE
    csi Controller.CreateVolume "name: \"a\" $MOUNT_CAP volume_content_source { snapshot { snapshot_id: \"nope\" } }"
    expect_error NOT_FOUND
    csi Controller.CreateVolume "name: \"a\" $MOUNT_CAP volume_content_source { volume { volume_id: \"nope\" } }"
    expect_error NOT_FOUND
    csi Controller.CreateVolume "name: \"a\" $MOUNT_CAP accessibility_requirements { requisite { segments { key: \"topology.volfs.csi.k8s.io/node\" value: \"node-b\" } } }"
    expect_error RESOURCE_EXHAUSTED
    csi Controller.ControllerExpandVolume 'volume_id: "nope" capacity_range { required_bytes: 1 }'
    expect_error NOT_FOUND
    csi Controller.CreateSnapshot 'name: "s"'
    expect_error INVALID_ARGUMENT
    csi Controller.CreateSnapshot 'name: "s" source_volume_id: "nope"'
    expect_error NOT_FOUND
    csi Controller.ListVolumes 'starting_token: "x"'
    expect_error ABORTED
    csi Node.NodePublishVolume "volume_id: \"nope\" target_path: \"$KUBELET/pods/t\" $PUB_CAP"
    expect_error NOT_FOUND
    [[ -z $(volctl get pv -o name) && -z $(volctl get vs -A -o name) ]]
    [[ -z $(ls "$KUBELET/pods") ]]
}

@test "snapshots are VolumeSnapshots in volctl get vs and MOUNT/snapshots; restore and clone copy the data; ListSnapshots filters and pages" {
    vol=$(create_volume src)
    echo one >"$MNT/pv/$vol/f"
    csi Controller.CreateSnapshot "name: \"snap-1\" source_volume_id: \"$vol\""
    [[ $status -eq 0 && $output == *"ready_to_use: true"* && $output == *"size_bytes: $SIZE"* ]]
    run volctl get vs
    assert_line --regexp "^snap-1 +true +pv/$vol "
    [[ $(cat "$MNT/snapshots/default/snap-1/f") == one ]]
    echo two >"$MNT/pv/$vol/f"
    restored=$(create_volume from-snap "$((2 * SIZE))" 'volume_content_source { snapshot { snapshot_id: "snap-1" } }')
    [[ $(cat "$MNT/pv/$restored/f") == one ]]
    cloned=$(create_volume from-vol "$SIZE" "volume_content_source { volume { volume_id: \"$vol\" } }")
    [[ $(cat "$MNT/pv/$cloned/f") == two ]]
    # restored and cloned volumes carry the CSI marks too, made in the same step
    run volctl get pv
    assert_line --regexp "^$restored +128Mi +RWO +Retain +Available +volfs-csi "
    assert_line --regexp "^$cloned +64Mi +RWO +Retain +Available +volfs-csi "
    run volctl get pv "$restored" -o json
    [[ $output == *'"volfs.csi.k8s.io/from-snapshot": "snap-1"'* ]]
    # the restore is as large as asked; a restore smaller than its snapshot is refused
    csi Controller.ListVolumes
    [[ $output == *"capacity_bytes: $((2 * SIZE))"* ]]
    csi Controller.CreateVolume "name: \"small\" capacity_range { required_bytes: 4096 limit_bytes: 4096 } $MOUNT_CAP volume_content_source { snapshot { snapshot_id: \"snap-1\" } }"
    expect_error OUT_OF_RANGE
    # same name, other volume: ALREADY_EXISTS; same name, same volume: the snapshot again
    csi Controller.CreateSnapshot "name: \"snap-1\" source_volume_id: \"$cloned\""
    expect_error ALREADY_EXISTS
    csi Controller.CreateSnapshot "name: \"snap-2\" source_volume_id: \"$cloned\""
    [[ $status -eq 0 ]]
    csi Controller.ListSnapshots "source_volume_id: \"$cloned\""
    [[ $output == *'snapshot_id: "snap-2"'* && $output != *'snap-1'* ]]
    csi Controller.ListSnapshots 'max_entries: 1'
    [[ $(grep -c 'snapshot_id:' <<<"$output") -eq 1 && $output == *'next_token: "1"'* ]]
    csi Controller.ListSnapshots 'starting_token: "1"'
    [[ $(grep -c 'snapshot_id:' <<<"$output") -eq 1 && $output != *next_token* ]]
    csi Controller.DeleteSnapshot 'snapshot_id: "snap-1"'
    [[ $status -eq 0 ]]
    [[ ! -e $MNT/snapshots/default/snap-1 ]]
    # the restored volume does not need its snapshot
    [[ $(cat "$MNT/pv/$restored/f") == one ]]
}

@test "NodePublishVolume bind-mounts the volume below the kubelet directory, honours readonly and mount flags, is idempotent; NodeUnpublishVolume removes the target" {
    vol=$(create_volume web)
    t=$KUBELET/pods/p1/vol
    mkdir -p "$KUBELET/pods/p1"
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$t\" $PUB_CAP"
    [[ $status -eq 0 ]]
    echo hello >"$t/index.html"
    [[ $(cat "$MNT/pv/$vol/index.html") == hello ]]
    [[ $(findmnt -n -o FSTYPE "$t") == fuse.volfs ]]
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$t\" $PUB_CAP"
    [[ $status -eq 0 ]]
    [[ $(grep -c " $t " /proc/self/mountinfo) -eq 1 ]]
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$t\" readonly: true $PUB_CAP"
    expect_error ALREADY_EXISTS
    # read-only, noexec
    r=$KUBELET/pods/p1/ro
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$r\" readonly: true volume_capability { mount { mount_flags: \"noexec\" } access_mode { mode: SINGLE_NODE_MULTI_WRITER } }"
    [[ $status -eq 0 ]]
    [[ $(findmnt -n -o OPTIONS "$r") == ro,*noexec* ]]
    [[ $(cat "$r/index.html") == hello ]]
    run sh -c "echo x >'$r/other'"
    [[ $status -ne 0 && $output == *"Read-only file system"* ]]
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$KUBELET/pods/p1/x\" volume_capability { mount { mount_flags: \"uid=5\" } access_mode { mode: SINGLE_NODE_WRITER } }"
    expect_error INVALID_ARGUMENT
    # outside the kubelet directory, also through a symlink
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$VOLFS_TMP/elsewhere\" $PUB_CAP"
    expect_error INVALID_ARGUMENT
    [[ $output == *"outside the kubelet directory"* ]]
    ln -s "$VOLFS_TMP" "$KUBELET/pods/escape"
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$KUBELET/pods/escape/vol\" $PUB_CAP"
    expect_error INVALID_ARGUMENT
    [[ ! -e $VOLFS_TMP/vol ]]
    # a published volume is in use
    csi Controller.DeleteVolume "volume_id: \"$vol\""
    expect_error FAILED_PRECONDITION
    # SINGLE_NODE_SINGLE_WRITER: one publish only
    solo=$(create_volume solo)
    sw='volume_capability { mount {} access_mode { mode: SINGLE_NODE_SINGLE_WRITER } }'
    csi Node.NodePublishVolume "volume_id: \"$solo\" target_path: \"$KUBELET/pods/p1/solo\" $sw"
    [[ $status -eq 0 ]]
    csi Node.NodePublishVolume "volume_id: \"$solo\" target_path: \"$KUBELET/pods/p1/solo2\" $sw"
    expect_error FAILED_PRECONDITION
    [[ ! -e $KUBELET/pods/p1/solo2 ]]
    for target in "$t" "$r" "$KUBELET/pods/p1/solo"; do
        v=$vol
        [[ $target == */solo ]] && v=$solo
        csi Node.NodeUnpublishVolume "volume_id: \"$v\" target_path: \"$target\""
        [[ $status -eq 0 ]]
        [[ ! -e $target ]]
        ! findmnt -n "$target" >/dev/null
        csi Node.NodeUnpublishVolume "volume_id: \"$v\" target_path: \"$target\""
        [[ $status -eq 0 ]]
    done
    [[ $(cat "$MNT/pv/$vol/index.html") == hello ]]
    csi Controller.DeleteVolume "volume_id: \"$vol\""
    [[ $status -eq 0 ]]
}

@test "NodeGetVolumeStats reports the volume's own bytes and inodes, expansion shows at once, and a volume gone under its pod is abnormal" {
    vol=$(create_volume stats)
    t=$KUBELET/pods/p2
    csi Node.NodePublishVolume "volume_id: \"$vol\" target_path: \"$t\" $PUB_CAP"
    [[ $status -eq 0 ]]
    head -c 1048576 /dev/urandom >"$t/data"
    sync "$t/data"
    stats() {
        "$CSI_CALL" "unix://$CSI_SOCK" Node.NodeGetVolumeStats "volume_id: \"$vol\" volume_path: \"$t\""
    }
    out=$(stats)
    bytes=$(awk '/^usage/{u++} u==1 && /total:/{print $2}' <<<"$out")
    used=$(awk '/^usage/{u++} u==1 && /used:/{print $2}' <<<"$out")
    [[ $bytes -eq $SIZE ]]
    [[ $used -ge 1048576 && $used -lt $((2 * 1048576)) ]]
    [[ $out == *"unit: INODES"* && $out == *'message: "volume is healthy"'* && $out != *"abnormal: true"* ]]
    csi Controller.ControllerExpandVolume "volume_id: \"$vol\" capacity_range { required_bytes: $((2 * SIZE)) }"
    [[ $status -eq 0 && $output == *"capacity_bytes: $((2 * SIZE))"* ]]
    [[ $(awk '/^usage/{u++} u==1 && /total:/{print $2}' <<<"$(stats)") -eq $((2 * SIZE)) ]]
    csi Node.NodeExpandVolume "volume_id: \"$vol\" volume_path: \"$t\" capacity_range { required_bytes: $((2 * SIZE)) }"
    [[ $status -eq 0 && $output == *"capacity_bytes: $((2 * SIZE))"* ]]
    # expansion never shrinks
    csi Controller.ControllerExpandVolume "volume_id: \"$vol\" capacity_range { required_bytes: $SIZE }"
    [[ $output == *"capacity_bytes: $((2 * SIZE))"* ]]
    csi Node.NodeGetVolumeStats "volume_id: \"$vol\" volume_path: \"$KUBELET/pods\""
    expect_error NOT_FOUND
    # the daemon away: the published volume is reported abnormal, not an error
    volfs_stop_keeping_publishes
    csi Node.NodeGetVolumeStats "volume_id: \"$vol\" volume_path: \"$t\""
    [[ $status -eq 0 && $output == *"abnormal: true"* ]]
    umount -l "$t"
}

# volfs_stop_keeping_publishes: kill -9 the daemon (its mount and the bind
# mounts of its volumes stay, dead), as a crash under running pods would.
volfs_stop_keeping_publishes() {
    kill -9 "$VOLFS_PID"
    wait "$VOLFS_PID" 2>/dev/null || true
    VOLFS_PID=''
}

@test "Probe is ready only while the daemon answers; without it the calls are UNAVAILABLE" {
    csi Identity.Probe
    [[ $status -eq 0 && $output == *"value: true"* ]]
    csi Identity.GetPluginInfo
    [[ $output == *'name: "volfs.csi.k8s.io"'* ]]
    csi Node.NodeGetInfo
    [[ $output == *'node_id: "node-a"'* && $output == *"max_volumes_per_node: 500"* ]]
    [[ $output == *'key: "topology.volfs.csi.k8s.io/node"'* ]]
    volfs_stop
    csi Identity.Probe
    [[ $status -eq 0 && $output != *"value: true"* ]]
    csi Controller.ListVolumes
    expect_error UNAVAILABLE
    [[ $output == *"is volfs running?"* ]]
}

@test "concurrent CreateVolume calls for one name make one volume; the others succeed with it or are ABORTED" {
    local pids=() i ok=0
    for ((i = 0; i < 8; i++)); do
        "$CSI_CALL" "unix://$CSI_SOCK" Controller.CreateVolume \
            "name: \"race\" capacity_range { required_bytes: $SIZE } $MOUNT_CAP" >"$VOLFS_TMP/race.$i" 2>&1 &
        pids+=($!)
    done
    for ((i = 0; i < 8; i++)); do
        if wait "${pids[$i]}"; then
            ok=$((ok + 1))
            grep -q 'volume_id: "race"' "$VOLFS_TMP/race.$i"
        else
            grep -q '^ERROR ABORTED:' "$VOLFS_TMP/race.$i" || fail "$(cat "$VOLFS_TMP/race.$i")"
        fi
    done
    ((ok >= 1))
    [[ $(volctl get pv -o name) == persistentvolume/race ]]
}

@test "volfs-csi refuses a bad command line with one line and exit status 2" {
    run "$VOLFS_BIN/volfs-csi" --endpoint "unix://$VOLFS_TMP/x.sock"
    [[ $status -eq 2 && ${#lines[@]} -eq 1 && $output == *"--node-id is required"* ]]
    run "$VOLFS_BIN/volfs-csi" --endpoint "unix://$VOLFS_TMP/x.sock" --node-id n --kubelet-dir /nonexistent
    [[ $status -eq 2 && $output == *"--kubelet-dir /nonexistent"* ]]
    run "$VOLFS_BIN/volfs-csi" --help
    [[ $status -eq 0 && $output == *"--endpoint"* ]]
}
