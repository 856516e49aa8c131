#!/usr/bin/env bats
# make check-layers: the source tree's folders are its layers, and an
# include that points up a layer, across to the CLI, or round a cycle fails
# with a line naming the file and the rule.

ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
CHECK=$ROOT/scripts/check-layers.py

setup() {
    T=$(mktemp -d "${VOLFS_TEST_TMPDIR:-/tmp}/layers.XXXXXX")
    cp -r "$ROOT/fs" "$ROOT/meta" "$ROOT/tools" "$T/"
}

teardown() {
    rm -rf "$T"
}

@test "the tree follows its layers" {
    run python3 "$CHECK" "$ROOT"
    [ "$status" -eq 0 ]
    [[ $output == *"follow the layers"* ]]
}

@test "the storage engine including the namespace is refused, naming the file and the rule" {
    sed -i '0,/#include "fs\/store\/store_int.h"/s//#include "fs\/store\/store_int.h"\n#include "fs\/vfs\/vfs.h"/' "$T/fs/store/io.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"fs/store/io.c: includes fs/vfs/vfs.h: fs/store may include only"* ]]
}

@test "the counters leaf including anything of the project is refused" {
    sed -i '0,/#include "fs\/obs\/counters.h"/s//#include "fs\/obs\/counters.h"\n#include "meta\/log.h"/' "$T/fs/obs/counters.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"fs/obs/counters.c: includes meta/log.h"* ]]
}

@test "meta including fs/ and the CLI including the daemon are refused" {
    echo '#include "fs/vfs/vfs.h"' >>"$T/meta/names.c"
    echo '#include "fs/control/api.h"' >>"$T/tools/term.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"meta/names.c: includes fs/vfs/vfs.h"* ]]
    [[ $output == *"tools/term.c: includes fs/control/api.h"* ]]
}

@test "an include cycle between headers is refused" {
    echo '#include "meta/names.h"' >>"$T/meta/quantity.h"
    echo '#include "meta/quantity.h"' >>"$T/meta/names.h"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"include cycle"* ]]
}

@test "a source file outside the layer folders is refused" {
    touch "$T/fs/stray.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"fs/stray.c: outside every layer folder"* ]]
}

@test "two files of a folder that include each other's headers are refused; --cycles lists them" {
    echo '#include "meta/names.h"' >>"$T/meta/kinds.c"
    echo '#include "meta/kinds.h"' >>"$T/meta/names.c"
    echo '#include "tools/tables.h"' >>"$T/tools/table.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"meta/kinds: module cycle in meta: kinds <-> names"* ]]
    [[ $output == *"tools/table: module cycle in tools: table <-> tables"* ]]
    run python3 "$CHECK" --cycles "$T"
    [ "$status" -eq 0 ]
    [[ $output == *"meta: "*" modules, 1 module cycles"$'\n'"  kinds names"* ]]
    [[ $output == *"tools: "*" modules, 1 module cycles"$'\n'"  table tables"* ]]
}

@test "the control plane's volumes including the snapshots above them is refused as a module cycle" {
    sed -i '0,/#include "fs\/control\/volume.h"/s//#include "fs\/control\/volume.h"\n#include "fs\/control\/snapshot.h"/' "$T/fs/control/volume.c"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [[ $output == *"module cycle in fs/control: snapshot <-> volume"* ]]
}

@test "the storage engine's internals including its interface back is refused as a module cycle" {
    sed -i '0,/#include "fs\/store\/fdcache.h"/s//#include "fs\/store\/fdcache.h"\n#include "fs\/store\/store.h"/' "$T/fs/store/store_int.h"
    run python3 "$CHECK" "$T"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ $output == "check-layers: fs/store/store: module cycle in fs/store: store <-> store_int; "* ]]
}
