#!/usr/bin/env bats
# emptyDir with medium: Memory: contents held in RAM (memfds the daemon
# owns), never written under the state directory; sizeLimit enforced with
# ENOSPC; after a daemon restart the volume is there again, empty; deleting
# the pod gives the memory back.

# shellcheck disable=SC2154 # STATE, MNT, PY, MiB, VOLFS_PID come from helpers.bash
load helpers

phase() {
    volctl get pod "$1" -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["status"]["phase"])'
}

# how many memfds (memory-emptyDir objects) the daemon holds open
memfds() {
    local f
    for f in /proc/"$VOLFS_PID"/fd/*; do
        readlink "$f" 2>/dev/null
    done | grep -c '^/memfd:volfs-obj-' | tr -d ' ' || true
}

# distinct memory objects among them
memobjs() {
    local f
    for f in /proc/"$VOLFS_PID"/fd/*; do
        readlink "$f" 2>/dev/null
    done | grep '^/memfd:volfs-obj-' | sort -u | wc -l
}

# avail_blocks DIR: statfs free blocks, once an unlinked file's space is back
wait_avail_at_least() {
    local i
    for ((i = 0; i < 50; i++)); do
        (( $(stat -f -c %a "$1") >= $2 )) && return 0
        sleep 0.1
    done
    return 1
}

cache_pod() {
    cat > "$BATS_TEST_TMPDIR/cache.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: cache}
spec:
  containers:
  - name: app
    image: busybox
    volumeMounts: [{name: scratch, mountPath: /scratch}, {name: disk, mountPath: /disk}]
  volumes:
  - name: scratch
    emptyDir: {medium: Memory, sizeLimit: ${1:-4Mi}}
  - name: disk
    emptyDir: {}
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/cache.yaml"
}

@test "a memory emptyDir's contents never reach the state directory, not even after fsync" {
    cache_pod
    [ "$(phase cache)" = Running ]
    marker="memdir-marker-$RANDOM$RANDOM-$$"
    dir=$MNT/pods/default/cache/scratch
    # many copies, so a block of it would be found anywhere on disk
    for i in $(seq 200); do echo "$marker $i"; done > "$dir/secret.txt"
    "$PY" -c 'import os,sys; fd=os.open(sys.argv[1], os.O_RDONLY); os.fsync(fd)' "$dir/secret.txt"
    sync
    grep -q "$marker 200" "$dir/secret.txt"
    # the same marker written to the on-disk emptyDir is found: the grep can fail
    echo "$marker disk" > "$MNT/pods/default/cache/disk/f"
    sync "$MNT/pods/default/cache/disk/f"
    volctl check
    run grep -rac "$marker disk" "$STATE"
    assert_output --regexp '[1-9]'
    run grep -ra "$marker [0-9]" "$STATE"
    assert_failure
    refute_output --partial "$marker"
    [ "$(memfds)" -ge 1 ]
}

@test "a memory emptyDir's sizeLimit is enforced with ENOSPC and statfs reports it" {
    cache_pod 4Mi
    dir=$MNT/pods/default/cache/scratch
    run stat -f -c '%b %S' "$dir"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((4 * MiB)) ]
    run dd if=/dev/zero of="$dir/big" bs=1M count=5
    assert_failure
    assert_output --partial 'No space left on device'
    # what fitted is intact and the volume is full, not corrupt
    [ "$(stat -c %s "$dir/big")" -le $((4 * MiB)) ]
    rm "$dir/big"
    wait_avail_at_least "$dir" $((4 * MiB / 4096))
    dd if=/dev/urandom of="$dir/ok" bs=1M count=3 status=none
    [ "$(stat -c %s "$dir/ok")" -eq $((3 * MiB)) ]
    run stat -f -c '%a' "$dir"
    [ "$output" -le $((1 * MiB / 4096)) ]
}

@test "without sizeLimit a memory emptyDir is the pod's memory limit, or half the RAM" {
    cat > "$BATS_TEST_TMPDIR/p.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: limited}
spec:
  containers:
  - {name: a, resources: {limits: {memory: 48Mi}}}
  - {name: b, resources: {limits: {memory: 16Mi}}}
  volumes: [{name: m, emptyDir: {medium: Memory}}]
---
apiVersion: v1
kind: Pod
metadata: {name: unlimited}
spec:
  containers: [{name: a}, {name: b, resources: {limits: {memory: 16Mi}}}]
  volumes: [{name: m, emptyDir: {medium: Memory}}]
YAML
    volctl apply -f "$BATS_TEST_TMPDIR/p.yaml"
    run stat -f -c '%b %S' "$MNT/pods/default/limited/m"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((64 * MiB)) ]
    ram=$(( $(awk '/^MemTotal:/ {print $2}' /proc/meminfo) * 1024 ))
    run stat -f -c '%b %S' "$MNT/pods/default/unlimited/m"
    size=$(( ${output% *} * ${output#* } ))
    echo "ram $ram size $size"
    # half of the RAM, rounded up to whole 4 KiB blocks
    [ $((size - ram / 2)) -ge 0 ] && [ $((size - ram / 2)) -lt 4096 ]
}

@test "after a daemon crash and restart the memory emptyDir is there again, empty; the disk one kept its data" {
    cache_pod
    echo gone > "$MNT/pods/default/cache/scratch/f"
    mkdir "$MNT/pods/default/cache/scratch/sub"
    echo kept > "$MNT/pods/default/cache/disk/f"
    sync "$MNT/pods/default/cache/scratch/f" "$MNT/pods/default/cache/disk/f"
    volfs_kill9
    volfs_launch
    [ "$(phase cache)" = Running ]
    [ -d "$MNT/pods/default/cache/scratch" ]
    run ls -A "$MNT/pods/default/cache/scratch"
    assert_output ''
    [ "$(cat "$MNT/pods/default/cache/disk/f")" = kept ]
    run volctl check
    assert_success
    # usable again, with its full size
    dd if=/dev/zero of="$MNT/pods/default/cache/scratch/again" bs=1M count=3 status=none
    run stat -f -c '%b %S' "$MNT/pods/default/cache/scratch"
    [ "$(( ${output% *} * ${output#* } ))" -eq $((4 * MiB)) ]
}

@test "a clean restart also empties the memory emptyDir" {
    cache_pod
    echo gone > "$MNT/pods/default/cache/scratch/f"
    volfs_stop
    volfs_launch
    run ls -A "$MNT/pods/default/cache/scratch"
    assert_output ''
}

@test "deleting the pod frees its memory, even while a file of it is still open" {
    cache_pod 16Mi
    dd if=/dev/urandom of="$MNT/pods/default/cache/scratch/a" bs=1M count=4 status=none
    dd if=/dev/urandom of="$MNT/pods/default/cache/scratch/b" bs=1M count=4 status=none
    [ "$(memobjs)" -eq 2 ]
    exec 7<"$MNT/pods/default/cache/scratch/a"
    run volctl delete pod cache
    assert_success
    wait_reclaimed
    [ "$(memfds)" -eq 0 ]
    run cat <&7
    assert_failure
    exec 7<&-
    [ ! -e "$MNT/pods/default/cache" ]
    run volctl check
    assert_success
}

@test "emptyDir medium other than \"\" and Memory is refused" {
    cat > "$BATS_TEST_TMPDIR/p.yaml" <<YAML
apiVersion: v1
kind: Pod
metadata: {name: huge}
spec:
  containers: [{name: a}]
  volumes: [{name: m, emptyDir: {medium: HugePages}}]
YAML
    run volctl apply -f "$BATS_TEST_TMPDIR/p.yaml"
    assert_failure
    assert_output --partial 'spec.volumes[0].emptyDir.medium: Unsupported value: "HugePages"'
    run volctl get pod huge
    assert_failure
}
