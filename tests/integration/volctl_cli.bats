#!/usr/bin/env bats
# volctl on its own, with no daemon: help, argument errors, client-side
# validation of kinds, names, sizes, access modes and claim/volume
# references, and the error for a missing daemon. (Manifests and the
# requests volctl sends are in manifest_cli.bats.)
# Every failure must be exactly one line on stderr and a non-zero exit.
#
# VOLFS_BIN: directory holding volctl (default build/bin).

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

: "${VOLFS_BIN:=$BATS_TEST_DIRNAME/../../build/bin}"
VOLFS_BIN=$(realpath -m "$VOLFS_BIN")

VERBS=(apply create get describe delete patch resize snapshot restore clone df metrics check shutdown version exec help)

setup() {
    [[ -x $VOLFS_BIN/volctl ]] || fail "volctl not found in $VOLFS_BIN (set VOLFS_BIN)"
    # An empty state directory: no socket, so any request must fail to connect.
    EMPTY=$(mktemp -d "${BATS_TEST_TMPDIR:-/tmp}/volctl-cli.XXXXXX")
}

teardown() {
    rm -rf "$EMPTY"
}

# volctl ARGS...: never reaches a daemon, even if one runs on this machine.
volctl() {
    "$VOLFS_BIN/volctl" --state "$EMPTY" "$@"
}

# one_line_error: the last `run --separate-stderr` failed with one stderr line.
one_line_error() {
    [ "$status" -ne 0 ] || fail "exit status 0; stdout: $output"
    [ "${#stderr_lines[@]}" -eq 1 ] || fail "want one line on stderr, got: $stderr"
}

@test "volctl --help lists every verb and exits 0" {
    run --separate-stderr "$VOLFS_BIN/volctl" --help
    assert_success
    local v
    for v in "${VERBS[@]}"; do
        assert_line --regexp "^  $v +[A-Z]"
    done
    [ -z "$stderr" ]
    run "$VOLFS_BIN/volctl" -h
    assert_success
    assert_output --partial Usage
}

@test "every verb has --help with usage and an example" {
    local v
    for v in "${VERBS[@]}"; do
        run --separate-stderr volctl "$v" --help
        [ "$status" -eq 0 ] || fail "volctl $v --help: status $status: $stderr"
        assert_output --partial "Usage:"
        assert_output --partial "Examples:"
        assert_output --regexp "  volctl( --state [^ ]+)? $v"
        run volctl "$v" -h
        assert_success
        assert_output --partial "Examples:"
        run volctl help "$v"
        assert_success
        assert_output --partial "Examples:"
    done
}

@test "apply and delete -f have help with examples; the main help shows apply" {
    run --separate-stderr volctl apply --help
    assert_success
    assert_output --partial "volctl apply -f class-and-claim.yaml"
    assert_output --partial "-f, --filename FILE"
    run volctl delete --help
    assert_output --partial "volctl delete -f class-and-claim.yaml"
    assert_output --partial "--ignore-not-found"
    run volctl create --help
    assert_output --partial "volctl create pvc data --size 1Gi"
    assert_output --partial "--access-mode MODE"
    run volctl resize --help
    assert_output --partial "volctl resize pvc data --size 2Gi"
    run "$VOLFS_BIN/volctl" --help
    assert_line --regexp '^  apply +Create or update objects from Kubernetes YAML$'
    assert_output --partial "volctl apply -f"
}

@test "--help wins over otherwise bad arguments" {
    run volctl create pv BAD/NAME --capacity 10Gx --help
    assert_success
    assert_output --partial "volctl create pv data --capacity 10Gi"
}

@test "no verb is an error" {
    run --separate-stderr "$VOLFS_BIN/volctl"
    one_line_error
    [[ $stderr == *"volctl --help"* ]] || fail "no hint: $stderr"
}

@test "an unknown verb fails with one line" {
    run --separate-stderr volctl frob
    one_line_error
    assert_equal "$stderr" "volctl: error: unknown command \"frob\" for \"volctl\"; see 'volctl --help'"
    run --separate-stderr volctl frob --help
    one_line_error
    run --separate-stderr volctl help frob
    one_line_error
}

@test "an unknown kind is refused by volctl itself" {
    local verb
    for verb in get describe delete; do
        run --separate-stderr volctl "$verb" foo x
        one_line_error
        assert_equal "$stderr" 'volctl: error: the server doesn'"'"'t have a resource type "foo"'
    done
    run --separate-stderr volctl get foo
    one_line_error
    run --separate-stderr volctl get foo/bar
    one_line_error
    assert_equal "$stderr" 'volctl: error: the server doesn'"'"'t have a resource type "foo"'
    run --separate-stderr volctl create foo x --capacity 1Gi
    one_line_error
}

@test "kinds are accepted by name, plural, short name and kind" {
    # They pass validation and so reach the (missing) daemon.
    local k
    for k in pv persistentvolume persistentvolumes PersistentVolume PV pvc sc vsclass vs vsc vscontent pod po \
        sts cm secret secrets quota ns namespaces volumesnapshots.snapshot.storage.k8s.io; do
        run --separate-stderr volctl get "$k"
        one_line_error
        [[ $stderr == *"cannot connect to the volfs daemon"* ]] || fail "kind $k: $stderr"
    done
}

@test "get needs a kind" {
    run --separate-stderr volctl get
    one_line_error
    assert_equal "$stderr" "volctl: error: you must specify the type of resource to get; see 'volctl get --help'"
}

@test "create and resize need a name; delete needs a name, -l or --all" {
    local verb
    for verb in create resize; do
        run --separate-stderr volctl "$verb" pv
        one_line_error
        [[ $stderr == *"name is required"* ]] || fail "$verb: $stderr"
    done
    run --separate-stderr volctl delete pv
    one_line_error
    [[ $stderr == *"no name was specified; give names, -l SELECTOR or --all" ]] || fail "delete: $stderr"
}

@test "bad sizes are refused before anything is sent" {
    local s
    for s in 10Gx -1Gi 1.2.3Gi '' ' 1Gi' 1GiB abc 99999999999Ei 0 1K; do
        run --separate-stderr volctl create pv data --capacity "$s"
        one_line_error
        [[ $stderr == "volctl: error: invalid quantity"* ]] || fail "size '$s': $stderr"
        run --separate-stderr volctl resize pv data --capacity "$s"
        one_line_error
        [[ $stderr == "volctl: error: invalid quantity"* ]] || fail "size '$s': $stderr"
    done
    run --separate-stderr volctl create pv data --capacity 10Gx
    assert_equal "$stderr" "volctl: error: invalid quantity \"10Gx\": unknown suffix \"Gx\" (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or an exponent like e9)"
}

@test "bad sizes of claims, restores and resizes are refused before anything is sent" {
    local s
    for s in 10Gx -1Gi 1GiB abc 0; do
        run --separate-stderr volctl create pvc data --size "$s"
        one_line_error
        [[ $stderr == "volctl: error: invalid quantity"* ]] || fail "size '$s': $stderr"
        run --separate-stderr volctl resize pvc data --size "$s"
        one_line_error
        [[ $stderr == "volctl: error: invalid quantity"* ]] || fail "size '$s': $stderr"
        run --separate-stderr volctl restore snap data --size "$s"
        one_line_error
        [[ $stderr == "volctl: error: invalid quantity"* ]] || fail "size '$s': $stderr"
    done
    run --separate-stderr volctl create pvc data --size 10Gx
    assert_equal "$stderr" "volctl: error: invalid quantity \"10Gx\": unknown suffix \"Gx\" (use Ki, Mi, Gi, Ti, Pi, Ei, k, M, G, T, P, E or an exponent like e9)"
    # --size and --capacity are one flag: given twice is an error
    run --separate-stderr volctl create pvc data --size 1Gi --capacity 2Gi
    one_line_error
    [[ $stderr == *"--size and --capacity mean the same"* ]] || fail "$stderr"
    run --separate-stderr volctl create pvc data
    one_line_error
    [[ $stderr == *'required flag "--size" not set'* ]] || fail "$stderr"
}

@test "create pvc refuses bad access modes and classes; create and resize refuse other kinds" {
    run --separate-stderr volctl create pvc data --size 1Gi --access-mode RWZ
    one_line_error
    [[ $stderr == 'volctl: error: invalid access mode "RWZ"'* ]] || fail "$stderr"
    run --separate-stderr volctl create pvc data --size 1Gi --access-mode RWO,
    one_line_error
    run --separate-stderr volctl create pvc data --size 1Gi --class Bad_Class
    one_line_error
    [[ $stderr == 'volctl: error: invalid name "Bad_Class"'* ]] || fail "$stderr"
    run --separate-stderr volctl create pv data --capacity 1Gi --class fast
    one_line_error
    [[ $stderr == *"are for claims"* ]] || fail "$stderr"
    run --separate-stderr volctl create sc fast --size 1Gi
    one_line_error
    [[ $stderr == *"volctl apply -f"* ]] || fail "$stderr"
    run --separate-stderr volctl resize sc fast --size 1Gi
    one_line_error
    run --separate-stderr volctl create pvc data --size 1Gi -A
    one_line_error
    [[ $stderr == *"unknown flag: -A"* ]] || fail "$stderr"
}

@test "snapshot, restore and clone refuse bad names, kinds and mixes before anything is sent" {
    local n
    for n in a/b .. . UPPER Bad_Name; do
        run --separate-stderr volctl snapshot -- "$n" s1
        one_line_error
        run --separate-stderr volctl snapshot data -- "$n"
        one_line_error
        run --separate-stderr volctl restore s1 -- "$n"
        one_line_error
        run --separate-stderr volctl restore -- "$n" new
        one_line_error
        run --separate-stderr volctl clone data -- "$n"
        one_line_error
        run --separate-stderr volctl clone -- "pv/$n" pv/new
        one_line_error
        run --separate-stderr volctl create pvc -- "$n" --size 1Gi
        one_line_error
    done
    run --separate-stderr volctl snapshot pvc/../x s1
    one_line_error
    [[ $stderr == 'volctl: error: invalid name "../x"'* ]] || fail "$stderr"
    run --separate-stderr volctl snapshot sc/fast s1
    one_line_error
    [[ $stderr == *"must be a claim (NAME or pvc/NAME) or a persistent volume (pv/NAME)"* ]] || fail "$stderr"
    run --separate-stderr volctl restore pv/s1 new
    one_line_error
    # a claim clones to a claim, a volume to a volume
    local pair
    for pair in "data pv/new" "pvc/data pv/new" "pv/data new" "pv/data pvc/new"; do
        # shellcheck disable=SC2086 # two arguments
        run --separate-stderr volctl clone $pair
        one_line_error
        [[ $stderr == *"a claim clones to a claim and a volume to a volume"* ]] || fail "$pair: $stderr"
    done
    run --separate-stderr volctl clone pv/a pv/b -n team
    one_line_error
    [[ $stderr == *"persistent volumes have no namespace"* ]] || fail "$stderr"
    run --separate-stderr volctl snapshot data s1 -n Bad_NS
    one_line_error
}

@test "a missing size is refused" {
    run --separate-stderr volctl create pv data
    one_line_error
    [[ $stderr == *'required flag "--capacity"'* ]] || fail "$stderr"
    run --separate-stderr volctl create pv data --capacity
    one_line_error
    [[ $stderr == *"flag needs an argument: --capacity"* ]] || fail "$stderr"
}

@test "bad names are refused before anything is sent" {
    local n long
    long=$(printf 'x%.0s' {1..254})
    for n in a/b .. . UPPER '' 'with space' a- a_b "$long" $'new\nline'; do
        run --separate-stderr volctl create pv "$n" --capacity 1Gi
        one_line_error
        [[ $stderr == "volctl: error: invalid name"* ]] || fail "name '$n': $stderr"
        run --separate-stderr volctl get pv "$n"
        one_line_error
        [[ $stderr == "volctl: error: invalid name"* ]] || fail "name '$n': $stderr"
        run --separate-stderr volctl delete pv "$n"
        one_line_error
        [[ $stderr == "volctl: error: invalid name"* ]] || fail "name '$n': $stderr"
    done
    run --separate-stderr volctl create pv Foo/bar --capacity 1Gi
    assert_equal "$stderr" "volctl: error: invalid name \"Foo/bar\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
    # a name that looks like a flag is not taken for a name
    run --separate-stderr volctl create pv -a --capacity 1Gi
    one_line_error
    # unless after --
    run --separate-stderr volctl create pv --capacity 1Gi -- -a
    one_line_error
    [[ $stderr == "volctl: error: invalid name \"-a\""* ]] || fail "$stderr"
}

@test "a bad namespace is refused" {
    run --separate-stderr volctl get pvc -n Bad_NS
    one_line_error
    [[ $stderr == "volctl: error: invalid name \"Bad_NS\""* ]] || fail "$stderr"
}

@test "unknown flags and output formats are refused" {
    run --separate-stderr volctl get pv --frob
    one_line_error
    [[ $stderr == *"unknown flag: --frob"* ]] || fail "$stderr"
    run --separate-stderr volctl get pv -o xml
    one_line_error
    [[ $stderr == *'unknown output format "xml"'* ]] || fail "$stderr"
    run --separate-stderr volctl df -o wide
    one_line_error
    run --separate-stderr volctl describe pv data --capacity 1Gi
    one_line_error
    run --separate-stderr volctl df extra
    one_line_error
    run --separate-stderr "$VOLFS_BIN/volctl" --bogus get pv
    one_line_error
}

@test "--state and --socket exclude each other" {
    run --separate-stderr "$VOLFS_BIN/volctl" --state "$EMPTY" --socket "$EMPTY/s" get pv
    one_line_error
}

@test "a missing daemon gives the connect error" {
    local v
    for v in "get pv" "get pv data" "describe pv data" "delete pv data" "create pv data --capacity 1Gi" \
        "resize pv data --capacity 2Gi" "create pvc data --size 1Gi" "resize pvc data --size 2Gi" \
        "snapshot data s1" "restore s1 data2" "clone data data2" "get vsc" "describe quota q" \
        "delete ns team --ignore-not-found" df check shutdown version; do
        # shellcheck disable=SC2086 # split the verb and its arguments
        run --separate-stderr timeout 10 "$VOLFS_BIN/volctl" --state "$EMPTY" $v
        [ "$status" -eq 1 ] || fail "$v: status $status"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "$v: want one line on stderr, got: $stderr"
        assert_equal "$stderr" "volctl: error: cannot connect to the volfs daemon at $EMPTY/control.sock: No such file or directory (is volfs running?)"
    done
}

@test "--socket names the socket directly, --state=DIR works too" {
    run --separate-stderr "$VOLFS_BIN/volctl" --socket "$EMPTY/other.sock" get pv
    one_line_error
    [[ $stderr == *"at $EMPTY/other.sock:"* ]] || fail "$stderr"
    run --separate-stderr "$VOLFS_BIN/volctl" get pv --state="$EMPTY/"
    one_line_error
    [[ $stderr == *"at $EMPTY/control.sock:"* ]] || fail "$stderr"
}

@test "a socket nobody listens on is refused, not hung on" {
    python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$EMPTY/control.sock"
    run --separate-stderr timeout 10 "$VOLFS_BIN/volctl" --state "$EMPTY" get pv
    [ "$status" -eq 1 ] || fail "status $status"
    [[ $stderr == *"Connection refused (is volfs running?)" ]] || fail "$stderr"
}

@test "version --client needs no daemon" {
    run --separate-stderr volctl version --client
    assert_success
    assert_output --regexp '^Client Version: .+'
}

@test "patch needs a JSON object patch, checked before anything is sent" {
    run --separate-stderr volctl patch pv x
    assert_failure
    [[ $stderr == *'a patch is required'* ]]
    run --separate-stderr volctl patch pv x -p '{"spec":'
    assert_failure
    [[ $stderr == *'not a JSON object'* ]]
    run --separate-stderr volctl patch pv x -p '[1]'
    assert_failure
    [[ $stderr == *'not a JSON object'* ]]
}
