#!/usr/bin/env bats
# The local-path-provisioner backend: scripts/local-path-provisioner/setup
# and teardown run exactly as the provisioner's helper pod runs them
# (busybox sh, busybox applets only on PATH, the same env and args) against
# MOUNT/local-path of a mounted volfs; and the manifests there.

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

LPP=$BATS_TEST_DIRNAME/../../scripts/local-path-provisioner

setup() {
    command -v busybox >/dev/null || skip "busybox is not installed"
    volfs_start
    # The helper pod's image: nothing but busybox applets.
    BB=$VOLFS_TMP/busybox-bin
    mkdir "$BB"
    busybox --install -s "$BB"
    P=$MNT/local-path
}

teardown() {
    volfs_teardown
}

# helper ACTION DIR SIZE [MODE] [USER GROUP PERM]: run the script for
# ACTION (setup/teardown) as the helper pod does.
# gone_and_freed PV BEFORE BYTES: volume PV no longer exists, and once
# reclaimed the state directory holds more than BYTES fewer bytes than
# BEFORE (du_bytes).
gone_and_freed() {
    run volctl get pv "$1"
    [ "$status" -ne 0 ] || fail "pv $1 still exists"
    wait_reclaimed
    local after
    after=$(du_bytes "$STATE")
    [ "$after" -lt $(($2 - $3)) ] || fail "state used $2 bytes before the delete, $after after"
}

helper() {
    local action=$1 dir=$2 size=$3 mode=${4:-Filesystem} a
    [[ $action == setup ]] && a=create || a=delete
    env -i PATH="$BB" VOL_DIR="$dir" VOL_MODE="$mode" VOL_SIZE_BYTES="$size" \
        VOL_USER="${5:-}" VOL_GROUP="${6:-}" VOL_PERM="${7:-}" \
        "$BB/sh" "$LPP/$action" -p "$dir" -s "$size" -m "$mode" -a "$a"
}

# statfs_bytes DIR: total bytes statfs reports for DIR.
statfs_bytes() {
    stat -f -c '%b %S' "$1" | awk '{print $1 * $2}'
}

@test "setup makes a volume of exactly VOL_SIZE_BYTES with the owner and mode asked for" {
    local d=$P/pvc-0b1c_default_data
    run --separate-stderr helper setup "$d" $((64 * MiB)) Filesystem 1000 2000 0750
    [ "$status" -eq 0 ] || fail "setup failed: $stderr"
    [ -d "$d" ]
    [ "$(statfs_bytes "$d")" -eq $((64 * MiB)) ]
    [ "$(df -B1 --output=size "$d" | tail -1 | tr -d ' ')" -eq $((64 * MiB)) ]
    [ "$(stat -c '%u %g %a' "$d")" = "1000 2000 750" ]
    # the volume object: named by the <pv> part, pre-bound to the claim
    [ "$(pv_df pvc-0b1c capacity)" -eq $((64 * MiB)) ]
    run volctl get pv pvc-0b1c -o json
    [ "$status" -eq 0 ]
    "$PY" -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["spec"]["claimRef"]["namespace"] == "default", o["spec"]
assert o["spec"]["claimRef"]["name"] == "data", o["spec"]
assert o["metadata"]["annotations"]["volfs.io/local-path-dir"] == "pvc-0b1c_default_data"
assert o["spec"]["capacity"]["storage"] == "64Mi"
' "$output"
    # the metrics name the cluster's claim, as kubelet's do
    run volctl metrics
    [ "$status" -eq 0 ]
    [[ $output == *'kubelet_volume_stats_capacity_bytes{namespace="default",persistentvolumeclaim="data"} '$((64 * MiB))* ]] ||
        fail "no labelled capacity: $(grep kubelet_volume_stats_capacity <<<"$output")"
    # MOUNT/pv/<pv> links to the one directory
    [ "$(readlink "$MNT/pv/pvc-0b1c")" = ../local-path/pvc-0b1c_default_data ]
    # no capacity link is left behind
    [ -z "$(ls -A "$P" | grep -v '^pvc-0b1c_default_data$')" ]
}

@test "a retried setup of the same volume succeeds; another size or a plain directory does not" {
    local d=$P/pvc-r_default_retry
    helper setup "$d" $((16 * MiB)) Filesystem "" "" 0700
    echo data >"$d/f"
    run --separate-stderr helper setup "$d" $((16 * MiB)) Filesystem 1000 1000 0750
    [ "$status" -eq 0 ] || fail "retry: $stderr"
    [ "$(stat -c '%u %g %a' "$d")" = "1000 1000 750" ]
    [ "$(cat "$d/f")" = data ]
    run --separate-stderr helper setup "$d" $((32 * MiB))
    [ "$status" -ne 0 ]
    [[ $stderr == "volfs setup: $d already exists with a capacity other than $((32 * MiB)) bytes" ]]
    [ "$(statfs_bytes "$d")" -eq $((16 * MiB)) ]
    mkdir "$VOLFS_TMP/plain" "$VOLFS_TMP/plain/pvc-r_default_retry"
    run --separate-stderr helper setup "$VOLFS_TMP/plain/pvc-r_default_retry" $((16 * MiB))
    [ "$status" -ne 0 ]
}

@test "eight setups at once make eight volumes, each with its own capacity" {
    local i pids=()
    for i in 1 2 3 4 5 6 7 8; do
        helper setup "$P/pvc-p$i""_default_c$i" $((i * MiB)) &
        pids+=($!)
    done
    for i in "${pids[@]}"; do
        wait "$i" || fail "a parallel setup failed"
    done
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(statfs_bytes "$P/pvc-p$i""_default_c$i")" -eq $((i * MiB)) ]
        [ "$(pv_df "pvc-p$i" capacity)" -eq $((i * MiB)) ]
    done
    [ "$(ls -A "$P" | wc -l)" -eq 8 ]
}

@test "writing past VOL_SIZE_BYTES is ENOSPC and earlier data stays intact" {
    local d=$P/pvc-1_ns1_claim1
    helper setup "$d" $((16 * MiB))
    head -c $((8 * MiB)) /dev/urandom >"$VOLFS_TMP/first"
    cp "$VOLFS_TMP/first" "$d/first"
    run dd if=/dev/zero of="$d/big" bs=1M count=32 conv=fsync
    [ "$status" -ne 0 ]
    [[ $output == *"No space left on device"* ]]
    [ "$(sha "$d/first")" = "$(sha "$VOLFS_TMP/first")" ]
    [ "$(pv_df pvc-1 used)" -le $((16 * MiB)) ]
}

@test "a size that is not a multiple of 4 KiB is stored exactly and that many bytes fit" {
    local d=$P/pvc-odd_default_odd size=10000001
    helper setup "$d" $size
    run volctl get pv pvc-odd -o json
    "$PY" -c 'import json,sys; assert json.loads(sys.argv[1])["spec"]["capacity"]["storage"] == "10000001"' "$output"
    head -c $size /dev/zero >"$d/full"
    [ "$(stat -c %s "$d/full")" -eq $size ]
    run dd if=/dev/zero of="$d/more" bs=64k count=1 conv=fsync
    [ "$status" -ne 0 ]
}

@test "teardown deletes the volume and frees its space (fast path)" {
    local d=$P/pvc-2_default_two
    helper setup "$d" $((64 * MiB))
    head -c $((48 * MiB)) /dev/urandom >"$d/data"
    sync
    local before
    before=$(du_bytes "$STATE")
    run --separate-stderr helper teardown "$d" $((64 * MiB))
    [ "$status" -eq 0 ] || fail "teardown failed: $stderr"
    [ ! -e "$d" ]
    [ ! -L "$MNT/pv/pvc-2" ]
    gone_and_freed pvc-2 "$before" $((40 * MiB))
    # tearing down again is harmless
    helper teardown "$d" $((64 * MiB))
}

@test "the provisioner's own teardown (rm -rf) deletes the volume too" {
    local d=$P/pvc-3_default_three
    helper setup "$d" $((64 * MiB))
    mkdir -p "$d/a/b"
    head -c $((32 * MiB)) /dev/urandom >"$d/a/b/data"
    sync
    local before
    before=$(du_bytes "$STATE")
    env -i PATH="$BB" VOL_DIR="$d" "$BB/sh" -c 'set -eu; rm -rf "$VOL_DIR"'
    [ ! -e "$d" ]
    gone_and_freed pvc-3 "$before" $((24 * MiB))
    # an rmdir of a volume that still has files is refused, the data kept
    helper setup "$d" $((8 * MiB))
    echo keep >"$d/f"
    run rmdir "$d"
    [ "$status" -ne 0 ]
    [ "$(cat "$d/f")" = keep ]
}

@test "bad VOL_SIZE_BYTES fails with one clear line and leaves nothing" {
    local d=$P/pvc-4_default_four size
    for size in '' 10Gx 0 4095 -5 99999999999999999999; do
        run --separate-stderr helper setup "$d" "$size"
        [ "$status" -ne 0 ] || fail "setup accepted VOL_SIZE_BYTES='$size'"
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "not one line for '$size': $stderr"
        [[ $stderr == "volfs setup: "*VOL_SIZE_BYTES* ]] || fail "unclear error for '$size': $stderr"
        [ -z "$(ls -A "$P")" ] || fail "'$size' left $(ls -A "$P")"
    done
    run --separate-stderr volctl get pv -o name
    [ -z "$output" ] || fail "volumes left: $output"
    # the daemon refuses a bad capacity on its own too, and mkdir without one
    run ln -s 10Gx "$P/.volfs-size.x"
    [ "$status" -ne 0 ]
    run mkdir "$P/x"
    [ "$status" -ne 0 ]
    [ -z "$(ls -A "$P")" ]
}

@test "VOL_MODE=Block is refused clearly" {
    run --separate-stderr helper setup "$P/pvc-5_default_blk" $((8 * MiB)) Block
    [ "$status" -ne 0 ]
    [[ $stderr == *"volume mode \"Block\" is not supported"* ]]
    [ -z "$(ls -A "$P")" ]
}

@test "names with / or .. or a leading dot are refused" {
    local bad
    for bad in "$P/../pv/x" "$P/a/../b" "$P/" "$P/.hidden" "$P/./x" relative/x; do
        run --separate-stderr helper setup "$bad" $((8 * MiB))
        [ "$status" -ne 0 ] || fail "setup accepted VOL_DIR=$bad"
        [[ $stderr == "volfs setup: "*VOL_DIR* ]] || fail "unclear error for $bad: $stderr"
        run --separate-stderr helper teardown "$bad" $((8 * MiB))
        [ "$status" -ne 0 ] || fail "teardown accepted VOL_DIR=$bad"
    done
    [ -z "$(ls -A "$P")" ]
    # a nested path (pathPattern with a /) is no volfs volume
    run --separate-stderr helper setup "$P/ns/claim" $((8 * MiB))
    [ "$status" -ne 0 ]
    # the daemon itself refuses dot-names and other renames
    run mkdir "$P/.x"
    [ "$status" -ne 0 ]
}

@test "setup refuses a directory that is not volfs's local-path" {
    mkdir "$VOLFS_TMP/plain"
    run --separate-stderr helper setup "$VOLFS_TMP/plain/pvc-6_default_six" $((8 * MiB))
    [ "$status" -ne 0 ]
    [[ $stderr == *"not a volfs local-path directory"* ]]
    [ -z "$(ls -A "$VOLFS_TMP/plain")" ]
}

@test "other names get a hashed volume name; restart keeps volumes and their mapping" {
    helper setup "$P/pvc-7_default_seven" $((8 * MiB))
    helper setup "$P/Some_Odd.name" $((12 * MiB))
    echo hello >"$P/pvc-7_default_seven/f"
    local pv
    pv=$(basename "$(find "$MNT/pv" -maxdepth 1 -lname '../local-path/Some_Odd.name')")
    [[ $pv == local-path-* ]] || fail "no /pv link for Some_Odd.name: $(ls -l "$MNT/pv")"
    volfs_stop
    volfs_launch
    [ "$(cat "$P/pvc-7_default_seven/f")" = hello ]
    [ "$(statfs_bytes "$P/Some_Odd.name")" -eq $((12 * MiB)) ]
    [ "$(readlink "$MNT/pv/$pv")" = ../local-path/Some_Odd.name ]
    run volctl get pv -o name
    [[ $output == *pvc-7* && $output == *$pv* ]]
    helper teardown "$P/Some_Odd.name" 0
    [ ! -e "$P/Some_Odd.name" ]
    volfs_stop
    run "$VOLFS_BIN/volfs" --check --state "$STATE"
    [ "$status" -eq 0 ] || fail "volfs --check: $output"
    volfs_launch
}

@test "volctl resize, snapshot and delete work on a local-path volume" {
    local d=$P/pvc-8_default_eight
    helper setup "$d" $((16 * MiB))
    echo one >"$d/f"
    run volctl resize pv pvc-8 --capacity 32Mi
    [ "$status" -eq 0 ] || fail "resize: $output"
    [ "$(statfs_bytes "$d")" -eq $((32 * MiB)) ]
    run volctl snapshot pv/pvc-8 s8
    [ "$status" -eq 0 ] || fail "snapshot: $output"
    echo two >"$d/f"
    run volctl clone pv/pvc-8 pv/copy8
    [ "$status" -eq 0 ] || fail "clone: $output"
    # the clone is an ordinary volume: a directory under /pv, not local-path's
    [ -d "$MNT/pv/copy8" ] && [ ! -L "$MNT/pv/copy8" ]
    [ "$(cat "$MNT/pv/copy8/f")" = two ]
    [ "$(ls -A "$P")" = pvc-8_default_eight ]
    [ "$(cat "$MNT"/snapshots/*/s8/f)" = one ]
    run volctl delete pv pvc-8
    [ "$status" -eq 0 ] || fail "delete: $output"
    [ ! -e "$d" ]
    [ -z "$(ls -A "$P")" ]
}

@test "manifests: YAML parses, config.json is JSON with nodePathMap inside MOUNT/local-path" {
    "$PY" - "$LPP" <<'PYEOF'
import json, sys, yaml, pathlib
d = pathlib.Path(sys.argv[1])
docs = {}
for f in sorted(d.glob("*.yaml")):
    for doc in yaml.safe_load_all(f.read_text()):
        if doc:
            docs.setdefault(doc["kind"], []).append(doc)
cm = docs["ConfigMap"][0]
cfg = json.loads(cm["data"]["config.json"])
paths = [p for e in cfg["nodePathMap"] for p in e["paths"]]
assert paths and all(p.rstrip("/").endswith("/local-path") for p in paths), paths
# the scripts in the ConfigMap are the tested ones
assert cm["data"]["setup"] == (d / "setup").read_text().rstrip("\n"), "setup differs"
assert cm["data"]["teardown"] == (d / "teardown").read_text().rstrip("\n"), "teardown differs"
pod = yaml.safe_load(cm["data"]["helperPod.yaml"])
assert pod["kind"] == "Pod" and "busybox" in pod["spec"]["containers"][0]["image"]
ds = docs["DaemonSet"][0]
c = ds["spec"]["template"]["spec"]["containers"][0]
assert c["securityContext"]["privileged"] is True
mnt = [m for m in c["volumeMounts"] if m.get("mountPropagation") == "Bidirectional"]
assert mnt, "no Bidirectional mount"
mount = mnt[0]["mountPath"].rstrip("/")
assert all(p.startswith(mount + "/") for p in paths), (paths, mount)
vols = {v["name"]: v for v in ds["spec"]["template"]["spec"]["volumes"]}
assert any(v.get("hostPath", {}).get("path") == "/dev/fuse" for v in vols.values())
sc = docs["StorageClass"][0]
assert sc["provisioner"] == "rancher.io/local-path"
assert sc["metadata"]["annotations"]["defaultVolumeType"] == "local"
PYEOF
}
