#!/usr/bin/env bats
# volfs --docker-plugin at the protocol level: the request sequences Docker
# 20.10 and Podman 4.3 send (recorded on Debian 12: headers, bodies and
# order), replayed with curl on the plugin socket; the driver options; bad
# input. Runs wherever volfs runs (no container runtime needed);
# docker_clients.bats drives the real clients.

load helpers
load docker_helpers

setup() {
    plugin_start
}

teardown() {
    volfs_teardown
}

# docker_call ENDPOINT [BODY]: POST as Docker sends it (an empty Host
# header, no Content-Type, its Accept); prints "STATUS BODY".
docker_call() {
    curl -sS --unix-socket "$SOCK" -X POST -A Go-http-client/1.1 -H 'Host;' -H 'Content-Type:' \
        -H 'Accept: application/vnd.docker.plugins.v1.2+json' \
        --data-binary "${2-}" -w ' %{http_code}' -o "$VOLFS_TMP/answer" "http://docker$1" >"$VOLFS_TMP/code"
    echo "$(cut -c2- "$VOLFS_TMP/code") $(cat "$VOLFS_TMP/answer")"
}

# podman_call ENDPOINT [BODY]: POST as Podman sends it (Host: plugin, its
# Content-Type).
podman_call() {
    curl -sS --unix-socket "$SOCK" -X POST -A Go-http-client/1.1 -H 'Host: plugin' \
        -H 'Content-Type: application/vnd.docker.plugins.v1.1+json' \
        --data-binary "${2-}" -w ' %{http_code}' -o "$VOLFS_TMP/answer" "http://plugin$1" >"$VOLFS_TMP/code"
    echo "$(cut -c2- "$VOLFS_TMP/code") $(cat "$VOLFS_TMP/answer")"
}

# expect "STATUS BODY" CALL...: run the call, compare its whole answer.
expect() {
    local want=$1
    shift
    run "$@"
    assert_output "$want"
}

# pv_json NAME: the PersistentVolume as JSON.
pv_json() {
    volctl get pv "$1" -o json
}

# json_field FIELD: a field (python expression on d) of the JSON on stdin.
json_field() {
    "$PY" -c 'import json, sys; d = json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

ID1=3161fbaa17d7275ebf1e14db3377ba3c99a01bfc58071702a9e80157caa1f3d0
ID2=5162cf3bdf1408407e12d55140e82bc43f3d9d55a8cf00740c7293b9aab6be95

@test "Docker 20.10's requests: activate, create, run with a new mount ID per call, remove" {
    local nl=$'\n' mp="$MNT/pv/pgdata"
    expect '200 {"Implements":["VolumeDriver"]}' docker_call /Plugin.Activate
    expect '200 {"Capabilities":{"Scope":"local"}}' docker_call /VolumeDriver.Capabilities "{}$nl"
    # docker volume create -d volfs --opt size=64Mi pgdata
    expect '500 {"Err":"no such volume: pgdata"}' docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl"
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create "{\"Name\":\"pgdata\",\"Opts\":{\"size\":\"64Mi\"}}$nl"
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q "^200 {\"Volume\":{\"Name\":\"pgdata\",\"Mountpoint\":\"$mp\""
    expect "200 {\"Volumes\":[{\"Name\":\"pgdata\",\"Mountpoint\":\"$mp\",\"CreatedAt\":\"$(pv_json pgdata | json_field 'd["metadata"]["creationTimestamp"]')\"}],\"Err\":\"\"}" \
        docker_call /VolumeDriver.List "{}$nl"
    # docker run -v pgdata:/data: Get, Get, Mount, Get, Unmount at create
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q '^200 '
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q '^200 '
    expect "200 {\"Mountpoint\":\"$mp\",\"Err\":\"\"}" docker_call /VolumeDriver.Mount "{\"Name\":\"pgdata\",\"ID\":\"$ID1\"}$nl"
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q '^200 '
    expect '200 {"Err":""}' docker_call /VolumeDriver.Unmount "{\"Name\":\"pgdata\",\"ID\":\"$ID1\"}$nl"
    # ... Get, Mount at start (a new ID): the volume is in use
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q '^200 '
    expect "200 {\"Mountpoint\":\"$mp\",\"Err\":\"\"}" docker_call /VolumeDriver.Mount "{\"Name\":\"pgdata\",\"ID\":\"$ID2\"}$nl"
    expect "200 {\"Mountpoint\":\"$mp\",\"Err\":\"\"}" docker_call /VolumeDriver.Path "{\"Name\":\"pgdata\"}$nl"
    echo data >"$mp/file"
    expect '500 {"Err":"volume pgdata is in use: mounted 1 time; stop the containers using it first"}' \
        docker_call /VolumeDriver.Remove "{\"Name\":\"pgdata\"}$nl"
    [ "$(cat "$mp/file")" = data ]
    # ... Get, Unmount at stop; then docker volume rm
    docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl" | grep -q '^200 '
    expect '200 {"Err":""}' docker_call /VolumeDriver.Unmount "{\"Name\":\"pgdata\",\"ID\":\"$ID2\"}$nl"
    expect '200 {"Err":""}' docker_call /VolumeDriver.Remove "{\"Name\":\"pgdata\"}$nl"
    expect '500 {"Err":"no such volume: pgdata"}' docker_call /VolumeDriver.Get "{\"Name\":\"pgdata\"}$nl"
    run volctl get pv pgdata
    assert_failure
    [ ! -e "$mp" ]
}

@test "Podman 4.3's requests: activate before each command, one constant mount ID counted per mount, List" {
    local id=2f73349cfc4630255319c6c8dfc1b46a8996ace9d14d8e07563b165915918ec2
    # podman volume create --driver volfs -o size=32Mi pg
    expect '200 {"Implements":["VolumeDriver"]}' podman_call /Plugin.Activate
    expect '500 {"Err":"no such volume: pg"}' podman_call /VolumeDriver.Get '{"Name":"pg"}'
    expect '200 {"Err":""}' podman_call /VolumeDriver.Create '{"Name":"pg","Opts":{"size":"32Mi"}}'
    # two containers on the volume: Mount twice with the same ID
    for _ in 1 2; do
        podman_call /Plugin.Activate | grep -q '^200 '
        expect "200 {\"Mountpoint\":\"$MNT/pv/pg\",\"Err\":\"\"}" podman_call /VolumeDriver.Mount "{\"Name\":\"pg\",\"ID\":\"$id\"}"
    done
    podman_call /VolumeDriver.Unmount "{\"Name\":\"pg\",\"ID\":\"$id\"}" | grep -q '^200 '
    # podman volume rm while the second container runs: still in use
    podman_call /VolumeDriver.Get '{"Name":"pg"}' | grep -q '^200 '
    expect '500 {"Err":"volume pg is in use: mounted 1 time; stop the containers using it first"}' \
        podman_call /VolumeDriver.Remove '{"Name":"pg"}'
    podman_call /VolumeDriver.Unmount "{\"Name\":\"pg\",\"ID\":\"$id\"}" | grep -q '^200 '
    # an Unmount too many (a restarted daemon forgot the mount) is harmless
    expect '200 {"Err":""}' podman_call /VolumeDriver.Unmount "{\"Name\":\"pg\",\"ID\":\"$id\"}"
    # and so is one of a volume deleted behind the client's back
    expect '200 {"Err":""}' podman_call /VolumeDriver.Unmount "{\"Name\":\"gone\",\"ID\":\"$id\"}"
    # podman volume reload
    podman_call /VolumeDriver.List | grep -q '^200 {"Volumes":\[{"Name":"pg",'
    expect '200 {"Err":""}' podman_call /VolumeDriver.Remove '{"Name":"pg"}'
    expect '200 {"Volumes":[],"Err":""}' podman_call /VolumeDriver.List
}

@test "Docker volumes are labelled PVs reserved for docker/NAME; snapshot, restore, clone; Status; Remove frees the space" {
    docker_call /VolumeDriver.Create '{"Name":"db","Opts":{"size":"16Mi"}}' | grep -q '^200 '
    pv_json db | json_field 'd["metadata"]["labels"]["volfs.io/managed-by"], d["metadata"]["annotations"]["volfs.io/docker-volume"], d["spec"]["claimRef"]["namespace"], d["spec"]["claimRef"]["name"]' >"$VOLFS_TMP/marks"
    [ "$(cat "$VOLFS_TMP/marks")" = "('docker', 'db', 'docker', 'db')" ]
    # no claim of Kubernetes binds it
    volctl create pvc grab --size 1Mi --class "" >/dev/null
    [ "$(volctl get pvc grab -o json | json_field 'd["status"]["phase"]')" = Pending ]
    # exactly the size asked
    [ "$(stat -f -c '%b*%S' "$MNT/pv/db" | bc)" = $((16 * MiB)) ]
    dd if=/dev/urandom of="$MNT/pv/db/data" bs=1M count=4 status=none
    echo before >"$MNT/pv/db/version"
    volctl snapshot pv/db premigration >/dev/null
    echo after >"$MNT/pv/db/version"
    docker_call /VolumeDriver.Get '{"Name":"db"}' | sed 's/^200 //' | json_field 'd["Volume"]["Status"]' >"$VOLFS_TMP/status"
    [ "$(cat "$VOLFS_TMP/status")" = "{'capacity': '16Mi', 'capacityBytes': $((16 * MiB)), 'usedBytes': $(pv_df db used), 'snapshots': 1, 'persistentVolume': 'db'}" ]
    # roll back: a volume restored from the snapshot; an experiment: a clone
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"db-rollback","Opts":{"from-snapshot":"premigration"}}'
    [ "$(cat "$MNT/pv/db-rollback/version")" = before ]
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"db-experiment","Opts":{"clone-of":"db","size":"32Mi"}}'
    [ "$(cat "$MNT/pv/db-experiment/version")" = after ]
    [ "$(stat -f -c '%b*%S' "$MNT/pv/db-experiment" | bc)" = $((32 * MiB)) ]
    cmp "$MNT/pv/db/data" "$MNT/pv/db-experiment/data"
    # volctl's copies of a Docker volume are volfs volumes, not Docker's
    volctl clone pv/db pv/plain >/dev/null
    expect '500 {"Err":"no such volume: plain"}' docker_call /VolumeDriver.Get '{"Name":"plain"}'
    expect '500 {"Err":"persistentvolume \"plain\" exists and is not Docker volume \"plain\""}' \
        docker_call /VolumeDriver.Create '{"Name":"plain"}'
    # a name that is not a Kubernetes name: its PV has a name that is
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"Project_Data"}'
    docker_call /VolumeDriver.Get '{"Name":"Project_Data"}' | grep -q "\"Mountpoint\":\"$MNT/pv/project-data-[0-9a-f]\{8\}\""
    [ "$(stat -f -c '%b*%S' "$MNT"/pv/project-data-* | bc)" = $((10 * GiB)) ]
    # Create of an existing Docker volume answers as Docker's own driver
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"db"}'
    [ "$(cat "$MNT/pv/db/version")" = after ]
    # Remove deletes the volume and frees its space (data of its own: the
    # clones share db's)
    local before after
    dd if=/dev/urandom of="$MNT/pv/db-rollback/own" bs=1M count=4 conv=fsync status=none
    before=$(du_bytes "$STATE")
    expect '200 {"Err":""}' docker_call /VolumeDriver.Remove '{"Name":"db-rollback"}'
    wait_reclaimed
    after=$(du_bytes "$STATE")
    [ "$after" -le $((before - 3 * MiB)) ] || fail "Remove freed too little: $before -> $after bytes"
    run volctl get pv db-rollback
    assert_failure
    expect '200 {"Err":""}' docker_call /VolumeDriver.Remove '{"Name":"db"}'
    [ "$(cat "$MNT/pv/db-experiment/version")" = after ]
    # the README's roll-back: the volume again, under its name, from the snapshot
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"db","Opts":{"from-snapshot":"premigration"}}'
    [ "$(cat "$MNT/pv/db/version")" = before ]
}

@test "Create options: uid, gid and mode of the root; a bad value is an Err naming the option" {
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"owned","Opts":{"uid":"999","gid":"998","mode":"0700"}}'
    [ "$(stat -c '%u:%g %a' "$MNT/pv/owned")" = "999:998 700" ]
    expect '500 {"Err":"option size: invalid quantity \"10Gx\": unknown suffix \"Gx\" (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or an exponent like e9)"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"size":"10Gx"}}'
    expect '500 {"Err":"option uid: \"-1\" is not a number from 0 to 4294967294"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"uid":"-1"}}'
    expect '500 {"Err":"option mode: \"999\" is not an octal mode (0755, 2775, ...)"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"mode":"999"}}'
    expect '500 {"Err":"unknown option \"sise\" (volfs takes size, from-snapshot, clone-of, class, uid, gid, mode)"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"sise":"1Gi"}}'
    expect '500 {"Err":"option class: storageclasses \"fast\" not found"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"class":"fast"}}'
    expect '500 {"Err":"option from-snapshot: volumesnapshots \"gone\" not found in namespace \"default\""}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"from-snapshot":"gone"}}'
    expect '500 {"Err":"option clone-of: no such volume: gone"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"clone-of":"gone"}}'
    expect '500 {"Err":"options from-snapshot and clone-of exclude each other"}' \
        docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"clone-of":"owned","from-snapshot":"s"}}'
    expect '500 {"Err":"invalid volume name \"../x\": use letters, digits, '"'"'_'"'"', '"'"'.'"'"' and '"'"'-'"'"', starting with a letter or digit"}' \
        docker_call /VolumeDriver.Create '{"Name":"../x"}'
    # none of them made anything
    run volctl get pv x
    assert_failure
    # a class that exists is the volume's
    printf 'apiVersion: storage.k8s.io/v1\nkind: StorageClass\nmetadata: {name: fast}\nprovisioner: volfs.io/local\n' |
        volctl apply -f - >/dev/null
    expect '200 {"Err":""}' docker_call /VolumeDriver.Create '{"Name":"classy","Opts":{"class":"fast","size":"1Mi"}}'
    [ "$(pv_json classy | json_field 'd["spec"]["storageClassName"]')" = fast ]
}

@test "malformed JSON, wrong types, unknown paths, other methods and oversized bodies get an error reply; the daemon stays up" {
    expect '400 {"Err":"malformed JSON request to /VolumeDriver.Create: unexpected end of data"}' \
        docker_call /VolumeDriver.Create '{"Name":'
    expect '400 {"Err":"request to /VolumeDriver.Get is not a JSON object"}' docker_call /VolumeDriver.Get '["x"]'
    expect '400 {"Err":"request to /VolumeDriver.Mount has no Name"}' docker_call /VolumeDriver.Mount '{"ID":"x"}'
    expect '400 {"Err":"request to /VolumeDriver.Remove has no Name"}' docker_call /VolumeDriver.Remove '{"Name":7}'
    expect '500 {"Err":"Opts must be an object of strings"}' docker_call /VolumeDriver.Create '{"Name":"x","Opts":["size"]}'
    expect '500 {"Err":"option size: the value must be a string"}' docker_call /VolumeDriver.Create '{"Name":"x","Opts":{"size":1}}'
    expect '404 {"Err":"unknown endpoint /VolumeDriver.Snapshot: volfs implements VolumeDriver"}' docker_call /VolumeDriver.Snapshot '{}'
    expect '404 {"Err":"unknown endpoint /: volfs implements VolumeDriver"}' docker_call /
    run curl -sS --unix-socket "$SOCK" -w ' %{http_code}' http://docker/Plugin.Activate
    assert_output '{"Err":"the volume plugin API takes POST requests, not GET"} 405'
    head -c $((1024 * 1024)) /dev/zero | tr '\0' ' ' >"$VOLFS_TMP/big"
    run curl -sS --unix-socket "$SOCK" -X POST -H 'Host;' --data-binary @"$VOLFS_TMP/big" -w ' %{http_code}' http://docker/VolumeDriver.Create
    assert_output '{"Err":"request to /VolumeDriver.Create is larger than 65536 bytes"} 413'
    # garbage on the socket
    "$PY" -c '
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(sys.argv[1])
s.sendall(b"\x00\xff garbage\r\n\r\n"); s.recv(100)' "$SOCK" || true
    expect '200 {"Implements":["VolumeDriver"]}' docker_call /Plugin.Activate
    volctl get pv >/dev/null
}

@test "--docker-plugin: the socket goes away with the daemon; a socket another daemon serves is refused" {
    [ -S "$SOCK" ]
    [ "$(stat -c %a "$SOCK")" = 600 ]
    local other=$VOLFS_TMP/other
    mkdir -m 0700 "$other" "$other-mnt"
    run "$VOLFS_BIN/volfs" -f --state "$other" --docker-plugin="$SOCK" "$other-mnt"
    assert_failure
    assert_output --partial "--docker-plugin $SOCK: another process serves this socket"
    volfs_stop
    [ ! -e "$SOCK" ]
}

@test "make install offers podman the plugin in containers.conf.d" {
    local dest=$VOLFS_TMP/dest
    # SAN=1: the binaries under test are the sanitizer build
    run make -C "$BATS_TEST_DIRNAME/../.." install SAN=1 VERSION="$(cat "$(dirname "$VOLFS_BIN")/version.stamp" 2>/dev/null)" DESTDIR="$dest" PREFIX=/usr B="$(dirname "$VOLFS_BIN")"
    assert_success
    run cat "$dest/etc/containers/containers.conf.d/volfs.conf"
    assert_output --partial $'[engine.volume_plugins]\nvolfs = "/run/docker/plugins/volfs.sock"'
}
