#!/usr/bin/env bats
# The humane CLI: man pages that render cleanly and name every
# verb and option (so they cannot drift from the binaries), --help with
# examples on every verb, bash completion (verbs, kinds, flags, live object
# names), colour and progress only on a terminal.

load helpers

VOLCTL_MAN=$BATS_TEST_DIRNAME/../../docs/volctl.1
VOLFS_MAN=$BATS_TEST_DIRNAME/../../docs/volfs.8
COMPLETION=$BATS_TEST_DIRNAME/../../scripts/volctl.bash-completion

# verbs: the commands `volctl --help` lists.
verbs() {
    "$VOLFS_BIN/volctl" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

# in_pty CMD: run a shell command with stdout and stderr on a terminal
# (util-linux script); its output, with carriage returns, on stdout.
in_pty() {
    script -qec "$1" /dev/null
}

@test "the man pages render without a warning" {
    local page out
    for page in "$VOLCTL_MAN" "$VOLFS_MAN"; do
        run groff -ww -z -man "$page"
        assert_success
        [ -z "$output" ] || fail "groff warns about $page: $output"
        for width in 60 80 132; do
            out=$(MANWIDTH=$width man --warnings -l "$page" 2>&1 >/dev/null)
            [ -z "$out" ] || fail "man (width $width) warns about $page: $out"
        done
        MANWIDTH=80 man -l "$page" 2>/dev/null | grep -q '^SYNOPSIS' || fail "$page has no SYNOPSIS"
    done
}

@test "volctl.1 documents every verb of volctl --help and every flag of every verb" {
    local v flag text n=0
    text=$(MANWIDTH=200 man -l "$VOLCTL_MAN" 2>/dev/null)
    for v in $(verbs); do
        n=$((n + 1))
        # a COMMANDS entry: the verb at the start of an indented line
        grep -qE "^       $v( |\$)" <<<"$text" || fail "volctl.1 has no entry for the verb $v"
        # the flags of its Options and Global options (not those its prose quotes)
        for flag in $("$VOLFS_BIN/volctl" "$v" --help | grep -E '^  (-[a-zA-Z], )? *--[a-z]' |
            grep -oE -- '--[a-z][a-z-]+' | sort -u); do
            grep -qF -- "$flag" <<<"$text" || fail "volctl.1 does not mention $flag (volctl $v --help)"
        done
    done
    [ "$n" -ge 15 ] || fail "only $n verbs in volctl --help"
}

@test "volfs.8 documents every option of volfs --help" {
    local opt text
    text=$(MANWIDTH=200 man -l "$VOLFS_MAN" 2>/dev/null)
    # the option lines of the help (not the examples)
    for opt in $("$VOLFS_BIN/volfs" --help | grep -E '^  -' | grep -oE -- '(^| )--?[a-zA-Z][a-z-]*' |
        tr -d ' ' | sort -u); do
        grep -qF -- "$opt" <<<"$text" || fail "volfs.8 does not mention $opt"
    done
    grep -q 'kubelet_volume_stats_used_bytes' <<<"$text"
    grep -q 'level=info object=' <<<"$text"
}

@test "every verb's --help exits 0 and shows an Examples block with a volctl line" {
    local v
    for v in $(verbs); do
        run --separate-stderr "$VOLFS_BIN/volctl" "$v" --help
        [ "$status" -eq 0 ] || fail "volctl $v --help: status $status"
        [ -z "$stderr" ] || fail "volctl $v --help wrote to stderr: $stderr"
        # "Examples:" followed by at least one "  volctl ..." line
        "$PY" -c '
import re, sys
m = re.search(r"^Examples:\n((?:.*\n)*?)\n(?=\S|\Z)", sys.stdin.read() + "\n", re.M)
sys.exit(0 if m and re.search(r"^  (sudo )?volctl ", m.group(1), re.M) else 1)
' <<<"$output" || fail "volctl $v --help has no Examples block with an example: $output"
    done
}

# complete WORDS...: run the completion function with the cursor on the
# last word; COMPREPLY as one line.
complete_words() {
    bash -c '
source "$1"; shift
COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
_volctl
printf "%s\n" "${COMPREPLY[*]}"
' _ "$COMPLETION" "$@"
}

@test "bash completion: verbs, kinds and short names, flags, and live object names" {
    PATH=$VOLFS_BIN:$PATH
    bash -n "$COMPLETION"
    run complete_words volctl ""
    assert_success
    local v
    for v in $(verbs); do
        [[ " $output " == *" $v "* ]] || fail "verb $v not completed: $output"
    done
    run complete_words volctl sn
    assert_output snapshot
    run complete_words volctl get p
    assert_output "persistentvolumes pv persistentvolumeclaims pvc pods po"
    run complete_words volctl get pv --out
    assert_output "--output"
    run complete_words volctl get pv -o ""
    assert_output "wide json yaml name jsonpath custom-columns"
    run complete_words volctl --state "$STATE" create pvc x --access-mode RW
    assert_output "RWO RWX RWOP"
    # names, asked of this test's daemon
    pv_create alpha 10Mi
    pv_create beta 10Mi
    volctl apply -f "$BATS_TEST_DIRNAME/../manifests/class-and-claim.yaml" >/dev/null
    volctl snapshot pv/alpha nightly >/dev/null
    run complete_words volctl --state "$STATE" get pv a
    assert_output "alpha"
    run complete_words volctl --state "$STATE" describe pv/b
    assert_output "pv/beta"
    run complete_words volctl --state "$STATE" delete pvc ""
    assert_output "data"
    run complete_words volctl --state "$STATE" get pvc -n kube-system ""
    assert_output ""
    run complete_words volctl --state "$STATE" restore ""
    assert_output "nightly"
    run complete_words volctl --state "$STATE" snapshot pv/al
    assert_output "pv/alpha"
    run complete_words volctl --state "$STATE" get pvc --class ""
    refute_output --partial "error"
    run complete_words volctl --state "$STATE" create pvc x --class f
    assert_output "fast"
    run complete_words volctl exec web -- ech
    assert_output --partial "echo"
    run complete_words volctl --state "$STATE" exec web -c ""
    assert_output ""
    # no daemon there: no names, and nothing on the terminal
    run --separate-stderr complete_words volctl --state "$VOLFS_TMP/nothing" get pv ""
    assert_success
    assert_output ""
    [ -z "$stderr" ]
}

@test "make install puts the completion, the man pages and the binaries in place" {
    local dest=$VOLFS_TMP/dest
    run make -C "$BATS_TEST_DIRNAME/../.." install VERSION="$(cat "$(dirname "$VOLFS_BIN")/version.stamp" 2>/dev/null)" DESTDIR="$dest" PREFIX=/usr B="$(dirname "$VOLFS_BIN")" SAN=$([[ $VOLFS_BIN == *san* ]] && echo 1 || echo 0)
    assert_success
    [ -f "$dest/usr/share/bash-completion/completions/volctl" ]
    [ -f "$dest/usr/share/man/man1/volctl.1" ]
    [ -f "$dest/usr/share/man/man8/volfs.8" ]
    [ -x "$dest/usr/bin/volctl" ]
}

@test "colour only on a terminal: STATUS values and the error prefix, never with NO_COLOR" {
    command -v script >/dev/null || skip "script (util-linux) is missing"
    pv_create green 10Mi
    local ctl="$VOLFS_BIN/volctl --state $STATE"
    run in_pty "$ctl get pv green"
    assert_output --partial $'\e[32mAvailable\e[0m'
    run in_pty "NO_COLOR=1 $ctl get pv green"
    refute_output --partial $'\e['
    assert_output --partial 'Available'
    run in_pty "TERM=dumb $ctl get pv green"
    refute_output --partial $'\e['
    run $ctl get pv green
    refute_output --partial $'\e['
    # columns stay aligned around the coloured cell
    run in_pty "$ctl get pv green"
    local plain
    # the AGE column may tick between the two runs: compare it as a token
    local age='s/[0-9]+[smhd]([0-9]+[smh])?$/AGE/'
    plain=$($ctl get pv green | sed -E "$age")
    [ "$(printf '%s' "$output" | sed 's/\x1b\[[0-9;]*m//g' | tr -d '\r' | sed -E "$age")" = "$plain" ] || fail "coloured table differs: $output"
    run in_pty "$ctl get nosuchkind"
    assert_output --partial $'volctl: \e[31merror:\e[0m the server doesn'
    run --separate-stderr $ctl get nosuchkind
    [[ $stderr == "volctl: error: the server doesn't have a resource type \"nosuchkind\"" ]] || fail "$stderr"
}

@test "volctl check shows progress on a terminal only, and only while it waits" {
    command -v script >/dev/null || skip "script (util-linux) is missing"
    pv_create c 10Mi
    local ctl="$VOLFS_BIN/volctl --state $STATE"
    # hold the daemon still for 2 s so that the check takes that long (the
    # kernel queues the connection and the request meanwhile)
    kill -STOP "$VOLFS_PID"
    (sleep 2; kill -CONT "$VOLFS_PID") 3>&- &
    local holder=$!
    run in_pty "$ctl check"
    wait "$holder"
    assert_success
    assert_output --partial 'checking metadata against data... 1s'
    assert_output --partial 'no problems found'
    # erased before the answer is printed
    [[ $output == *$'\r\e[K'"no problems found"* ]] || fail "progress not erased: $(printf '%q' "$output")"
    # not a terminal: the same wait, no progress line
    kill -STOP "$VOLFS_PID"
    (sleep 2; kill -CONT "$VOLFS_PID") 3>&- &
    holder=$!
    run --separate-stderr $ctl check
    wait "$holder"
    assert_success
    [ -z "$stderr" ] || fail "progress on a pipe: $stderr"
    assert_output "no problems found"
}

@test "volfs refuses an unknown option or a missing value with one line and status 2" {
    local args
    for args in "--bogus $MNT" "-Z $MNT" "-fZ $MNT" "-o" "--metrics-listen"; do
        # shellcheck disable=SC2086 # word splitting wanted
        run --separate-stderr "$VOLFS_BIN/volfs" $args
        [ "$status" -eq 2 ] || fail "volfs $args: status $status"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "volfs $args: want one line, got: $stderr"
        [[ $stderr =~ ^volfs:\ (unknown\ option|option\ .*\ needs\ a\ value).*volfs\ --help ]] || fail "volfs $args: $stderr"
    done
    run --separate-stderr "$VOLFS_BIN/volfs" -fZ "$MNT"
    assert_equal "$stderr" "volfs: unknown option -Z (see volfs --help)"
}
