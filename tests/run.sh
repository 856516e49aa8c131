#!/usr/bin/env bash
# volfs test runner: `make test` calls it after the sanitizer build.
#
# Runs every unit test binary (cmocka, TAP output), every libFuzzer target
# for a bounded time (tests/fuzz/run.sh; each target is one test) and every
# integration test file (bats --tap), aggregates their TAP, prints the names of the failures and
# ends with one line "N passed, N failed, N skipped". Exits non-zero if any test
# failed, a binary crashed or exited non-zero, or nothing ran at all.
#
# Environment:
#   VOLFS_BIN     directory holding volfs and volctl (default build/san/bin)
#   UNIT_DIR      directory holding the unit test binaries test_* (default
#                 VOLFS_BIN/../tests)
#   TESTS         extended regex; only test files whose name matches run,
#                 matched against "unit/test_foo", "fuzz/fuzz_foo" and
#                 "integration/foo.bats" (e.g. TESTS=posix, TESTS='unit/',
#                 TESTS='capacity|fio', TESTS=fuzz/)
#   TEST_FILTER   passed to `bats --filter` (regex on test names)
#   UNIT_TIMEOUT  seconds one unit binary may run (default 300)
#   BATS_TIMEOUT  seconds one .bats file may run (default 900)
#   INTEGRATION_DIR  where the .bats files are (default tests/integration)
#   FUZZ_DIR      directory holding the fuzz targets fuzz_* (default
#                 build/fuzz/fuzzers, `make fuzzers`)
#   FUZZ_TEST_SECONDS  how long each fuzz target runs (default 30)
#   TEST_LOGS     where each file's raw TAP goes (default build/test-logs)
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

VOLFS_BIN=${VOLFS_BIN:-build/san/bin}
VOLFS_BIN=$(realpath -m "$VOLFS_BIN")
export VOLFS_BIN
UNIT_DIR=$(realpath -m "${UNIT_DIR:-$VOLFS_BIN/../tests}")
TESTS=${TESTS:-}
TEST_FILTER=${TEST_FILTER:-}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
BATS_TIMEOUT=${BATS_TIMEOUT:-900}
INTEGRATION_DIR=${INTEGRATION_DIR:-tests/integration}
TEST_LOGS=$(realpath -m "${TEST_LOGS:-build/test-logs}")
mkdir -p "$TEST_LOGS"

# The integration tests make their temp dirs under one directory per run, so
# that whatever a killed or broken test left behind (mounts, daemons) can be
# cleaned up here without touching anyone else's.
run_tmp=$(mktemp -d /tmp/volfs-run.XXXXXX)
chmod 0755 "$run_tmp"
export VOLFS_TEST_TMPDIR=$run_tmp

# leftovers: kill processes whose command line mentions run_tmp, lazily
# unmount mounts under it; prints what it cleaned, true if there was any.
leftovers() {
    local found=1 d pid cmd m
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
        [[ $cmd == *"$run_tmp/"* ]] || continue
        echo "killed leftover process $pid: $cmd"
        kill -9 "$pid" 2>/dev/null
        found=0
    done
    while read -r m; do
        m=$(printf '%b' "$m")
        case $m in
        "$run_tmp"/*)
            echo "unmounted leftover mount $m"
            fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
            found=0
            ;;
        esac
    done < <(awk '{print $5}' /proc/self/mountinfo)
    return $found
}
cleanup() {
    leftovers >/dev/null
    rm -rf --one-file-system "$run_tmp" 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

passed=0 failed=0 skipped=0
failures=()

selected() { # NAME -> true if TESTS is empty or matches NAME
    [[ -z $TESTS ]] && return 0
    grep -Eq -- "$TESTS" <<<"$1"
}

# tally NAME LOGFILE EXIT_STATUS
# Counts the TAP result lines of one test file. A file that exited non-zero
# without reporting a failure (crash, sanitizer report at exit, bats error
# outside a test), or that reported fewer results than its plan announced,
# counts as one more failure.
tally() {
    local name=$1 log=$2 rc=$3
    local line desc notok p=0 f=0 s=0 planned=0 n
    while IFS= read -r line; do
        line=${line%$'\r'}
        if [[ $line =~ ^1\.\.([0-9]+) ]]; then
            planned=$((planned + BASH_REMATCH[1]))
        elif [[ $line =~ ^(not\ )?ok\ [0-9]+\ ?(-\ )?(.*)$ ]]; then
            notok=${BASH_REMATCH[1]} desc=${BASH_REMATCH[3]}
            shopt -s nocasematch
            if [[ $line =~ \#\ (skip|todo) ]]; then
                s=$((s + 1))
            elif [[ -n $notok ]]; then
                f=$((f + 1))
                failures+=("$name: $desc")
            else
                p=$((p + 1))
            fi
            shopt -u nocasematch
        fi
    done <"$log"
    n=$((p + f + s))
    if ((rc == 124 || rc > 128)); then
        local why="killed by signal $((rc - 128))"
        ((rc == 124)) && why="timed out"
        f=$((f + 1))
        failures+=("$name: $why after $n of $planned tests (see $log)")
    elif ((rc != 0 && f == 0)); then
        f=$((f + 1))
        failures+=("$name: exited with status $rc after $n of $planned tests (see $log)")
    elif ((n < planned)); then
        f=$((f + 1))
        failures+=("$name: only $n of $planned tests reported (see $log)")
    fi
    passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}

# --- unit tests (cmocka) ---------------------------------------------------
units=()
if [[ -d $UNIT_DIR ]]; then
    for t in "$UNIT_DIR"/test_*; do
        [[ -f $t && -x $t ]] || continue
        selected "unit/${t##*/}" && units+=("$t")
    done
fi
for t in "${units[@]}"; do
    name="unit/${t##*/}"
    log="$TEST_LOGS/${t##*/}.tap"
    echo "# --- $name"
    SECONDS=0
    CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 "$UNIT_TIMEOUT" "$t" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    tally "$name" "$log" "$rc"
    echo "# $name: ${SECONDS}s"
done

# --- fuzz targets (libFuzzer) ------------------------------------------------
FUZZ_DIR=$(realpath -m "${FUZZ_DIR:-build/fuzz/fuzzers}")
FUZZ_TEST_SECONDS=${FUZZ_TEST_SECONDS:-30}
fuzzers=()
for t in "$FUZZ_DIR"/fuzz_*; do
    [[ -f $t && -x $t ]] || continue
    selected "fuzz/${t##*/}" && fuzzers+=("${t##*/}")
done
if ((${#fuzzers[@]} == 0)) && selected "fuzz/" && [[ ! -d $FUZZ_DIR ]]; then
    echo "# fuzz targets not built in $FUZZ_DIR (make fuzzers): skipped"
    skipped=$((skipped + 1))
fi
for t in "${fuzzers[@]}"; do
    name="fuzz/$t"
    log="$TEST_LOGS/$t.tap"
    echo "# --- $name"
    SECONDS=0
    FUZZ_SECONDS=$FUZZ_TEST_SECONDS FUZZ_DIR=$FUZZ_DIR FUZZ_ARTIFACTS=$TEST_LOGS/fuzz-artifacts \
        bash tests/fuzz/run.sh "$t" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    tally "$name" "$log" "$rc"
    echo "# $name: ${SECONDS}s"
done

# --- integration tests (bats) ----------------------------------------------
bats_files=()
for b in "$INTEGRATION_DIR"/*.bats; do
    [[ -f $b ]] || continue
    selected "integration/${b##*/}" && bats_files+=("$b")
done
if ((${#bats_files[@]})); then
    if ! command -v bats >/dev/null; then
        echo "# bats not found: run scripts/install-deps.sh" >&2
        failed=$((failed + 1))
        failures+=("integration: bats is not installed")
        bats_files=()
    elif [[ ! -x $VOLFS_BIN/volfs ]]; then
        echo "# warning: $VOLFS_BIN/volfs does not exist; integration tests will fail" >&2
    fi
fi
bats_args=(--tap)
[[ -n $TEST_FILTER ]] && bats_args+=(--filter "$TEST_FILTER")
for b in "${bats_files[@]}"; do
    name="integration/${b##*/}"
    log="$TEST_LOGS/${b##*/}.tap"
    echo "# --- $name"
    SECONDS=0
    timeout -k 30 "$BATS_TIMEOUT" bats "${bats_args[@]}" "$b" </dev/null 2>&1 | tee "$log"
    rc=${PIPESTATUS[0]}
    tally "$name" "$log" "$rc"
    echo "# $name: ${SECONDS}s"
    if left=$(leftovers); then
        echo "# ${left//$'\n'/$'\n'# }"
        failed=$((failed + 1))
        failures+=("$name: left processes or mounts behind")
    fi
done

# --- summary ---------------------------------------------------------------
echo
if ((${#failures[@]})); then
    echo "Failures:"
    printf '  %s\n' "${failures[@]}"
    echo
fi
if ((passed + failed + skipped == 0)); then
    echo "# no tests ran (TESTS='$TESTS', unit dir $UNIT_DIR)" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
((failed == 0 && passed + skipped > 0))
