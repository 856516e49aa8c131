#!/usr/bin/env bats
# volfs --docker-plugin with the real clients: a dockerd of its own and
# podman with its own storage, both on a temp dir, with a busybox image
# made locally (no registry). Containers write to a volfs volume, hit
# ENOSPC at its size, see the data from a second container and a restored
# snapshot's contents. A runtime that cannot start here is skipped with
# the reason; docker_plugin.bats covers the protocol everywhere.

load helpers
load docker_helpers

setup() {
    plugin_start
    DOCKERD_PID='' SPEC='' PODMAN=()
}

teardown() {
    docker_stop
    # a container a failed test left running
    ((${#PODMAN[@]} == 0)) || "${PODMAN[@]}" rm -a -f -t 0 >/dev/null 2>&1 || true
    volfs_teardown
}

# busybox_image: a tar of a root filesystem with busybox-static and its
# applets (relative links), for `docker import` / `podman import`.
busybox_image() {
    local root=$VOLFS_TMP/rootfs a
    if [[ ! -e $root/bin/busybox ]]; then
        mkdir -p "$root/bin" "$root/tmp" "$root/etc"
        cp /bin/busybox "$root/bin/busybox"
        for a in $(/bin/busybox --list); do
            [[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
        done
        echo 'root:x:0:0:root:/:/bin/sh' >"$root/etc/passwd"
    fi
    tar -C "$root" -c .
}

# skip_unless_root_with CMD...: skip the test when a command is missing.
skip_unless_root_with() {
    local c
    [[ $(id -u) == 0 ]] || skip "needs root to run a container runtime"
    [[ -x /bin/busybox ]] || skip "busybox-static is not installed (/bin/busybox)"
    for c in "$@"; do
        command -v "$c" >/dev/null || skip "$c is not installed"
    done
}

# postgres_image: busybox_image's root plus the host's PostgreSQL 15 server
# and client (postgresql-15) with the libraries they load, user postgres
# (999, as in the official image), as a tar.
postgres_image() {
    local root=$VOLFS_TMP/rootfs pg=/usr/lib/postgresql/15 f
    busybox_image >/dev/null
    echo 'postgres:x:999:999::/data:/bin/sh' >>"$root/etc/passwd"
    printf 'root:x:0:\npostgres:x:999:\n' >"$root/etc/group"
    chmod 1777 "$root/tmp"
    for f in "$pg"/bin/{postgres,initdb,pg_ctl,psql} "$pg"/lib/{plpgsql,dict_snowball}.so \
        /usr/share/postgresql/15 /usr/share/zoneinfo/UTC /usr/share/zoneinfo/Etc/UTC \
        $(ldd "$pg"/bin/{postgres,psql} "$pg"/lib/dict_snowball.so | awk '/=> \//{print $3} /^\t\/lib64/{print $1}'); do
        cp -r -L --parents "$f" "$root"
    done
    cat >"$root/bin/pg-run" <<'EOF'
#!/bin/sh
# Initialise /data if it has no cluster, start the server, run $SQL, stop.
set -e
bin=/usr/lib/postgresql/15/bin
[ -f /data/PG_VERSION ] || $bin/initdb -D /data --locale=C -E UTF8 -U postgres -A trust --no-sync >/tmp/initdb.log 2>&1
$bin/pg_ctl -D /data -o '-c listen_addresses= -c unix_socket_directories=/tmp -c fsync=off' -w -l /tmp/pg.log start >/dev/null
$bin/psql -h /tmp -U postgres -X -Atq -v ON_ERROR_STOP=1 -c "$SQL"
$bin/pg_ctl -D /data -w -m fast stop >/dev/null
EOF
    chmod 0755 "$root/bin/pg-run"
    tar -C "$root" -c .
}

# docker_start: dockerd on VOLFS_TMP (no iptables, no bridge), the plugin
# registered under a name of this test's own by a spec file in
# /etc/docker/plugins (dockerd's discovery directory; the real
# /run/docker/plugins/volfs.sock stays untouched); DOCKER runs the CLI.
docker_start() {
    skip_unless_root_with dockerd docker
    local d=$VOLFS_TMP/d i
    mkdir -p "$d" /etc/docker/plugins
    DRIVER=volfs-test-${VOLFS_TMP##*.}
    SPEC=/etc/docker/plugins/$DRIVER.spec
    echo "unix://$SOCK" >"$SPEC"
    dockerd --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
        --data-root "$d/data" --exec-root "$d/x" -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" \
        >"$d/dockerd.log" 2>&1 3>&- &
    DOCKERD_PID=$!
    DOCKER=(docker -H "unix://$d/docker.sock")
    for ((i = 0; i < 600; i++)); do
        "${DOCKER[@]}" version >/dev/null 2>&1 && break
        if ! kill -0 "$DOCKERD_PID" 2>/dev/null; then
            skip "dockerd cannot start here: $(tail -n 1 "$d/dockerd.log")"
        fi
        sleep 0.1
    done
    "${DOCKER[@]}" version >/dev/null 2>&1 || skip "dockerd did not answer within 60 s: $(tail -n 1 "$d/dockerd.log")"
    busybox_image >"$VOLFS_TMP/busybox.tar"
    "${DOCKER[@]}" import - volfs-test/busybox <"$VOLFS_TMP/busybox.tar" >/dev/null
}

# pg VOLUME USER SQL: PostgreSQL on VOLUME (its data directory /data, the
# volume's root, as in the official image) started, SQL run with psql,
# stopped (pg-run in the image). USER is 999:999, or 0:0 to chown /data
# first as the official image's entrypoint does.
pg() {
    local cmd=pg-run
    [[ $2 != 0:0 ]] || cmd='chown postgres:postgres /data && chmod 0700 /data && su -p postgres -s /bin/sh -c pg-run'
    "${DOCKER[@]}" run --rm --network none --user "$2" -e SQL="$3" -e TZ=UTC -v "$1:/data" \
        volfs-test/postgres sh -c "$cmd"
}

# docker_stop: stop this test's dockerd by its pid (it stops its
# containerd), remove the spec file.
docker_stop() {
    local i
    if [[ -n $DOCKERD_PID ]]; then
        kill "$DOCKERD_PID" 2>/dev/null || true
        for ((i = 0; i < 300; i++)); do
            kill -0 "$DOCKERD_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$DOCKERD_PID" 2>/dev/null || true
        wait "$DOCKERD_PID" 2>/dev/null || true
        DOCKERD_PID=''
    fi
    [[ -z $SPEC ]] || rm -f "$SPEC"
}

# podman_start: podman with its storage, run root and containers.conf in
# VOLFS_TMP (runc, the ulimits rootful podman needs here, the plugin as
# "volfs"); PODMAN runs the CLI.
podman_start() {
    skip_unless_root_with podman runc
    local p=$VOLFS_TMP/p
    mkdir -p "$p/tmp"
    cat >"$p/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "none"
[engine.volume_plugins]
volfs = "$SOCK"
EOF
    export CONTAINERS_CONF=$p/containers.conf
    PODMAN=(podman --root "$p/root" --runroot "$p/run" --tmpdir "$p/tmp" --storage-driver vfs)
    "${PODMAN[@]}" info >"$p/info.log" 2>&1 || skip "podman cannot start here: $(tail -n 1 "$p/info.log")"
    busybox_image >"$VOLFS_TMP/busybox.tar"
    "${PODMAN[@]}" import - volfs-test/busybox <"$VOLFS_TMP/busybox.tar" >/dev/null 2>&1
}

# run_in RUNTIME VOLUME CMD: a throw-away container with VOLUME at /data.
run_in() {
    local -n cli=$1
    "${cli[@]}" run --rm --network none -v "$2:/data" volfs-test/busybox sh -c "$3"
}

# volume_story RUNTIME DRIVER: the same walk for both clients.
volume_story() {
    local -n cli=$1
    local driver=$2
    "${cli[@]}" volume create --driver "$driver" --opt size=8Mi data >/dev/null
    # a container writes, then fills the volume: ENOSPC at 8 MiB
    run run_in "$1" data 'echo v1 >/data/version && df -k /data | tail -n 1 && dd if=/dev/zero of=/data/fill bs=1M count=16'
    assert_failure
    assert_output --regexp "volfs +8192 "
    assert_output --partial "No space left on device"
    # a second container sees the data
    run run_in "$1" data 'cat /data/version; rm /data/fill'
    assert_success
    assert_output v1
    # a snapshot, a change, a volume restored from the snapshot
    volctl snapshot pv/data before >/dev/null
    run_in "$1" data 'echo v2 >/data/version'
    "${cli[@]}" volume create --driver "$driver" --opt from-snapshot=before restored >/dev/null
    run run_in "$1" restored 'cat /data/version'
    assert_output v1
    run run_in "$1" data 'cat /data/version'
    assert_output v2
    [ "$("${cli[@]}" volume inspect --format '{{.Status.snapshots}} {{.Status.capacity}}' data)" = "1 8Mi" ]
    "${cli[@]}" volume ls --format '{{.Name}}' | sort | paste -sd' ' | grep -qx 'data restored'
    # the root's owner: given at create, or chowned by the container
    "${cli[@]}" volume create --driver "$driver" --opt uid=999 --opt gid=999 --opt mode=0700 owned >/dev/null
    run run_in "$1" owned 'stat -c "%u:%g %a" /data'
    assert_output "999:999 700"
    run run_in "$1" data 'chown 999:999 /data && stat -c "%u:%g" /data'
    assert_output "999:999"
    # volctl sees them as Docker's
    volctl get pv data restored owned -o json >/dev/null
    [ "$(volctl get pv restored -o json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["spec"]["claimRef"]["namespace"])')" = docker ]
    # removed through the client: gone from volfs too
    "${cli[@]}" volume rm restored >/dev/null
    run volctl get pv restored
    assert_failure
}

@test "docker: write, ENOSPC at the volume's size, data seen again, a restored snapshot, the root's owner" {
    docker_start
    volume_story DOCKER "$DRIVER"
    [ "$("${DOCKER[@]}" volume inspect --format '{{.Driver}} {{.Scope}}' data)" = "$DRIVER local" ]
}

@test "podman: write, ENOSPC at the volume's size, data seen again, a restored snapshot, the root's owner" {
    podman_start
    volume_story PODMAN volfs
    # two containers at once: podman mounts with one ID; the first to stop
    # must not release the volume under the second
    "${PODMAN[@]}" run -d --name holder --network none -v data:/data volfs-test/busybox sleep 600 >/dev/null
    run_in PODMAN data 'true'
    run curl -sS --unix-socket "$SOCK" -X POST -d '{"Name":"data"}' http://plugin/VolumeDriver.Remove
    assert_output --partial "volume data is in use: mounted 1 time"
    "${PODMAN[@]}" rm -f -t 0 holder >/dev/null
    "${PODMAN[@]}" volume rm data >/dev/null
    run volctl get pv data
    assert_failure
}

@test "docker: PostgreSQL on a volfs volume (owned by 999, or chowned by the container), snapshot before a migration, roll back, clone" {
    [[ -x /usr/lib/postgresql/15/bin/postgres ]] || skip "postgresql-15 is not installed (the image is made of the host's)"
    docker_start
    postgres_image >"$VOLFS_TMP/postgres.tar"
    "${DOCKER[@]}" import - volfs-test/postgres <"$VOLFS_TMP/postgres.tar" >/dev/null
    # the data directory owned by postgres from the start
    "${DOCKER[@]}" volume create -d "$DRIVER" --opt size=256Mi --opt uid=999 --opt gid=999 --opt mode=0700 pgdata >/dev/null
    pg pgdata 999:999 "create table accounts (id int primary key, balance int); insert into accounts values (1, 100)"
    # a consistent snapshot while the server is stopped; then the migration
    volctl snapshot pv/pgdata before-migration >/dev/null
    pg pgdata 999:999 "alter table accounts drop column balance; insert into accounts values (2)"
    run pg pgdata 999:999 "select count(*) || ' ' || count(*) filter (where id = 2) from accounts"
    assert_output "2 1"
    # roll back: the volume again from the snapshot
    "${DOCKER[@]}" volume create -d "$DRIVER" --opt clone-of=pgdata pgdata-migrated >/dev/null
    "${DOCKER[@]}" volume rm pgdata >/dev/null
    "${DOCKER[@]}" volume create -d "$DRIVER" --opt from-snapshot=before-migration pgdata >/dev/null
    run pg pgdata 999:999 "select id, balance from accounts"
    assert_output "1|100"
    # the clone kept the migrated state
    run pg pgdata-migrated 999:999 "select count(*) from accounts"
    assert_output "2"
    # a volume left to the container, which chowns its root as the
    # official image's entrypoint does
    "${DOCKER[@]}" volume create -d "$DRIVER" --opt size=256Mi pgroot >/dev/null
    run pg pgroot 0:0 "select 40 + 2"
    assert_output "42"
    [ "$(stat -c %u "$MNT/pv/pgroot")" = 999 ]
}
