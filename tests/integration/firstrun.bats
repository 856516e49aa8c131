#!/usr/bin/env bats
# The README's first command on a fresh machine: `make run` must install the
# packages before anything reads pkg-config's answers, and must leave volfs
# and volctl on PATH. Checked with stand-ins: a pkg-config that answers only
# after the "packages" are installed, a compiler (C and C++) that records
# its command lines, a protoc that makes empty files, an install tree under a
# temporary DESTDIR.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)

setup() {
    T=$(mktemp -d "${VOLFS_TEST_TMPDIR:-/tmp}/firstrun.XXXXXX")
    # pkg-config: fails (as with no -dev packages) until the marker exists
    cat >"$T/pkg-config" <<SH
#!/bin/sh
[ -e "$T/installed" ] || exit 1
case "\$*" in *--cflags*) echo "-DFIRSTRUN_PKG_FLAGS" ;; *) echo "-lfirstrun" ;; esac
SH
    # cc: logs its arguments, makes the -o file
    cat >"$T/cc" <<SH
#!/bin/sh
echo "\$*" >>"$T/cc.log"
while [ \$# -gt 0 ]; do [ "\$1" = -o ] && { : >"\$2"; chmod +x "\$2"; }; shift; done
SH
    # protoc: makes the files it was asked to generate (volfs-csi's)
    cat >"$T/protoc" <<SH
#!/bin/sh
for a in "\$@"; do case "\$a" in --cpp_out=*) d=\${a#--cpp_out=}; : >"\$d/csi.pb.cc"; : >"\$d/csi.pb.h" ;;
    --grpc_out=*) d=\${a#--grpc_out=}; : >"\$d/csi.grpc.pb.cc"; : >"\$d/csi.grpc.pb.h" ;; esac; done
SH
    chmod +x "$T/pkg-config" "$T/cc" "$T/protoc"
}

teardown() {
    rm -rf "$T"
}

@test "make run installs the packages before computing the build flags, then installs volctl on PATH" {
    run make -C "$ROOT" run PKG_CONFIG="$T/pkg-config" CC="$T/cc" CXX="$T/cc" PROTOC="$T/protoc" \
        DEPS_CMD="touch $T/installed" RUN_CMD=true B="$T/build" DESTDIR="$T/root" PREFIX=/usr/local
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [ -s "$T/cc.log" ]
    # every compile and link saw the flags of the packages installed first
    if grep -v -e FIRSTRUN_PKG_FLAGS -e -lfirstrun "$T/cc.log" | grep -q .; then
        echo "commands without the package flags:"; grep -v -e FIRSTRUN_PKG_FLAGS -e -lfirstrun "$T/cc.log"
        false
    fi
    [ -x "$T/root/usr/local/bin/volctl" ]
    [ -x "$T/root/usr/local/bin/volfs" ]
    [ -x "$T/root/usr/local/bin/volfs-csi" ]
}

@test "make test installs the packages before it builds" {
    run make -C "$ROOT" -n test DEPS_CMD="echo DEPS-STEP"
    [ "$status" -eq 0 ]
    first=$(printf '%s\n' "$output" | grep -n -m1 'DEPS-STEP' | cut -d: -f1)
    build=$(printf '%s\n' "$output" | grep -n -m1 'SAN=1' | cut -d: -f1)
    [ -n "$first" ] && [ -n "$build" ] && [ "$first" -lt "$build" ]
}

@test "a header generated under build/ makes no other build's objects stale" {
    # One build generating its CSI headers (build/gen/*.h) while another is
    # in use must not make the second recompile and relink under its users:
    # no object's prerequisites may lie under build/.
    probe=$(mktemp -d "$ROOT/build/header-probe.XXXXXX")
    : >"$probe/generated.h"
    rules=$(make -C "$ROOT" -pn SAN=1 all 2>/dev/null | grep -E '^build/san/obj/%\.o:')
    rm -rf "$probe"
    [ -n "$rules" ] || { echo "no rule for build/san/obj/%.o in make's database"; false; }
    under_build=$(printf '%s\n' "$rules" | sed 's/^[^:]*://' | tr ' ' '\n' | grep '^build/' || true)
    [ -z "$under_build" ] || { echo "objects depend on: $under_build"; false; }
}
