#!/usr/bin/env bash
# Install what volfs needs to build, test and benchmark on Debian 12.
# Idempotent: does nothing (and needs no network) when every package is
# already installed; otherwise runs `apt-get update` and installs the missing
# ones. Run as root, or as a user with sudo.
#   VOLFS_DEPS_FORCE=1  run apt-get update + install even if nothing is missing
set -euo pipefail

packages=(
    # build
    build-essential pkg-config git
    libfuse3-dev libsqlite3-dev liburing-dev uuid-dev libyaml-dev libjson-c-dev
    # the HTTP servers: --metrics-listen and --docker-plugin
    libmicrohttpd-dev
    # base64 of Secret and ConfigMap binaryData values (OpenSSL's libcrypto)
    libssl-dev
    # volfs-csi: gRPC and protobuf for C++, protoc and its gRPC plugin
    g++ libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
    # unit tests
    libcmocka-dev
    # fuzz targets: clang with libFuzzer and the sanitizer runtimes
    clang libclang-rt-14-dev
    # runtime: fusermount3, the sqlite3 shell for checks
    fuse3 sqlite3
    # integration tests: bats and its assertion libraries, python3 helpers
    # (json, yaml, ctypes), setfattr/getfattr, setfacl, fallocate/mountpoint/
    # setpriv/findmnt (util-linux), pgrep (procps), timeout/du/stat (coreutils)
    bats bats-support bats-assert python3 python3-yaml attr acl util-linux
    procps coreutils
    # busybox (lpp.bats) and, static, the image of docker_clients.bats;
    # busybox-static replaces the busybox package
    busybox-static
    # docker_clients.bats: the real clients of --docker-plugin, and the
    # PostgreSQL server its image is made of
    docker.io podman runc postgresql-15
    # metrics.bats: a real Prometheus text parser, an HTTP client;
    # cli_docs.bats: man pages rendered (groff, man), the completion sourced
    python3-prometheus-client curl groff-base man-db bash-completion
    # benchmarks
    fio gnuplot-nox
    # snapcost.sh: the daemon's reads of meta.db during a stat round
    strace
    # hostwrite.bats: the host write engine on an XFS image (mkfs.xfs)
    xfsprogs
)

sudo=()
if [[ $(id -u) -ne 0 ]]; then
    sudo=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done

if ((${#missing[@]} == 0)) && [[ ${VOLFS_DEPS_FORCE:-0} != 1 ]]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
else
    if ((${#sudo[@]})) && ! command -v sudo >/dev/null; then
        echo "install-deps: not root and sudo not found; run as root: ${missing[*]}" >&2
        exit 1
    fi
    ((${#missing[@]})) || missing=("${packages[@]}")
    echo "install-deps: installing ${missing[*]}"
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends -o Dpkg::Options::=--force-confold "${missing[@]}"
fi

# FUSE needs the device node; in some containers the module must be loaded.
if [[ ! -c /dev/fuse ]]; then
    if command -v modprobe >/dev/null; then
        "${sudo[@]}" modprobe fuse 2>/dev/null || true
    fi
    [[ -c /dev/fuse ]] || echo "install-deps: warning: /dev/fuse is missing; volfs cannot mount here" >&2
fi
exit 0
