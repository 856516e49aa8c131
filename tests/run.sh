#!/usr/bin/env bash
# volfs test runner: `make test` calls it after the sanitizer build.
#
# Runs every unit test binary (cmocka, TAP output), every libFuzzer target
# for a bounded time (tests/fuzz/run.sh; each target is one test) and every
# integration test file (bats --tap), aggregates their TAP, prints the names of the failures and
# ends with one line "N passed, N failed, N skipped". Exits non-zero if any test
# failed, a binary crashed or exited non-zero, or nothing ran at all.
#
# The files run in TEST_JOBS lanes at once: the unit binaries, then the
# .bats files that must run alone, then the fuzz targets and the other .bats
# files, the longest first. Each file's TAP goes to its log and is printed
# whole once it and every file before it (in the order of a serial run)
# have ended. Files that cannot share the machine are marked below
# (alone_files, serial_files).
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
#   TEST_JOBS     how many files run at once (default nproc); 1 runs them
#                 one after another, their TAP shown as it comes
#   UNIT_TIMEOUT  seconds one unit binary may run (default 300)
#   BATS_TIMEOUT  seconds one .bats file may run (default 900)
#   INTEGRATION_DIR  where the .bats files are (default tests/integration)
#   FUZZ_DIR      directory holding the fuzz targets fuzz_* (default
#                 build/fuzz/fuzzers, `make fuzzers`)
#   FUZZ_TEST_SECONDS  how long each fuzz target runs (default 30)
#   TEST_LOGS     where each file's raw TAP goes (default build/test-logs),
#                 and `durations`, the seconds each file took last time
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root" || exit 2

VOLFS_BIN=${VOLFS_BIN:-build/san/bin}
VOLFS_BIN=$(realpath -m "$VOLFS_BIN")
export VOLFS_BIN
UNIT_DIR=$(realpath -m "${UNIT_DIR:-$VOLFS_BIN/../tests}")
TESTS=${TESTS:-}
TEST_FILTER=${TEST_FILTER:-}
TEST_JOBS=${TEST_JOBS:-$(nproc)}
UNIT_TIMEOUT=${UNIT_TIMEOUT:-300}
BATS_TIMEOUT=${BATS_TIMEOUT:-900}
INTEGRATION_DIR=${INTEGRATION_DIR:-tests/integration}
TEST_LOGS=$(realpath -m "${TEST_LOGS:-build/test-logs}")
mkdir -p "$TEST_LOGS"
if ! [[ $TEST_JOBS =~ ^[1-9][0-9]*$ ]]; then
    echo "tests/run.sh: TEST_JOBS must be a positive integer, not '$TEST_JOBS'" >&2
    exit 2
fi

# --- files that cannot share the machine --------------------------------------
# Each .bats file is matched by its name without ".bats".
#
# alone_files run first, one at a time, with nothing else running:
#   docker_clients  a dockerd with its containerd, and podman: container
#                   engines that set up mounts, namespaces and cgroups host-wide
#   logs, node      private mount namespaces (unshare -m) hold a copy of every
#                   FUSE mount of the other lanes while they live, and a
#                   daemon stopped by an unmount waits until that copy is gone
alone_files='docker_clients|logs|node'
# serial_files run one at a time among themselves, beside the other lanes:
#   metacache, pods, posix   write /proc/sys/vm/drop_caches (the whole host's
#                            page, dentry and inode caches)
#   metacache, pagecache     count the FUSE requests the kernel's caches save,
#                            which a drop made meanwhile would change
serial_files='metacache|pagecache|pods|posix'
# Seconds each of the longest files takes in a serial run on 2 cores (the
# fuzz targets take FUZZ_TEST_SECONDS): only the order in which the lanes
# start them, longest first, so that they end together. The durations of
# the previous run (TEST_LOGS/durations) take precedence; any other file
# counts as 10.
slow_hints='snapshot:140 faults:110 fullhost:60 posix:60 resources:50 snapshot_stress:45
  bench_scale:40 durability:35 fio:32 control_plane:32 docker_plugin:30 snapshot_cow:27
  hostpath:25 k8s:23 csi:20 metacache:20 kubectl:18 cli_docs:17 volctl_cli:16 projected:15'

# The integration tests make their temp dirs under one directory per file,
# so that whatever a killed or broken test left behind (mounts, daemons)
# can be cleaned up without touching anyone else's. (Each is a
# /tmp/volfs-run.XXXXXX, no deeper: some tests' paths are close to the 107
# bytes of a socket's path, podman's run root to its 50.)

# leftovers DIR: kill processes whose command line mentions DIR, lazily
# unmount mounts under it; prints what it cleaned, true if there was any.
leftovers() {
    local dir=$1 found=1 f pid cmd m hits
    # one grep over every command line (a fork per process is slow on a
    # busy machine); the pattern comes from a file, so that grep's own
    # command line does not match
    mapfile -t hits < <(grep -laFf <(printf '%s/\n' "$dir") /proc/[0-9]*/cmdline 2>/dev/null)
    for f in "${hits[@]}"; do
        pid=${f#/proc/} pid=${pid%/cmdline}
        [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
        cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
        [[ $cmd == *"$dir/"* ]] || continue
        echo "killed leftover process $pid: $cmd"
        kill -9 "$pid" 2>/dev/null
        found=0
    done
    while read -r m; do
        printf -v m '%b' "$m"
        case $m in
        "$dir"/*)
            echo "unmounted leftover mount $m"
            fusermount3 -u -z "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
            found=0
            ;;
        esac
    done < <(awk '{print $5}' /proc/self/mountinfo)
    return $found
}

# The test files (unit binaries, fuzz targets, .bats files) as jobs, by
# index in the order of a serial run: name, command, log, temp dir, state (queued, running, ended,
# printed), pid, exit status, seconds taken, what it left behind.
job_name=() job_cmd=() job_log=() job_tmp=() job_state=() job_pid=() job_rc=()
job_start=() job_secs=() job_left=() job_streamed=() job_kind=()
declare -A job_of_pid=()

# alive PID: true if process PID runs (exists and is not a zombie).
alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [[ ${stat%% *} != Z ]]
}

# cleanup: stop the jobs still running (interrupted), then what they left.
cleanup() {
    local pid t busy d
    # each job is a timeout(1), which passes TERM on to its process group
    for pid in "${!job_of_pid[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for ((t = 0; t < 100; t++)); do
        busy=''
        for pid in "${!job_of_pid[@]}"; do
            alive "$pid" && busy=$pid
        done
        [[ -n $busy ]] || break
        sleep 0.1
    done
    for pid in "${!job_of_pid[@]}"; do
        kill -KILL -- "-$pid" 2>/dev/null
    done
    for d in "${job_tmp[@]}"; do
        [[ -d $d ]] || continue
        leftovers "$d" >/dev/null
        rm -rf --one-file-system "$d" 2>/dev/null
    done
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
    i=${#job_name[@]}
    job_name[i]="unit/${t##*/}" job_log[i]="$TEST_LOGS/${t##*/}.tap" job_tmp[i]=''
    job_cmd[i]="env CMOCKA_MESSAGE_OUTPUT=TAP timeout -k 10 $UNIT_TIMEOUT ${t@Q}"
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
    i=${#job_name[@]}
    job_name[i]="fuzz/$t" job_log[i]="$TEST_LOGS/$t.tap" job_tmp[i]=''
    # (run.sh stops the target itself after FUZZ_TEST_SECONDS + 300)
    job_cmd[i]="env FUZZ_SECONDS=$FUZZ_TEST_SECONDS FUZZ_DIR=${FUZZ_DIR@Q} FUZZ_ARTIFACTS=${TEST_LOGS@Q}/fuzz-artifacts"
    job_cmd[i]+=" timeout -k 10 $((FUZZ_TEST_SECONDS + 400)) bash tests/fuzz/run.sh $t"
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
    i=${#job_name[@]}
    job_name[i]="integration/${b##*/}" job_log[i]="$TEST_LOGS/${b##*/}.tap"
    job_tmp[i]=- # made when it starts
    job_cmd[i]="timeout -k 30 $BATS_TIMEOUT bats ${bats_args[*]@Q} ${b@Q}"
done

# --- the lanes ---------------------------------------------------------------

# Each job's kind: unit, alone, serial (the marks above) or lane.
for i in "${!job_name[@]}"; do
    n=${job_name[i]#integration/} n=${n%.bats} job_kind[i]=lane
    if [[ ${job_name[i]} == unit/* ]]; then job_kind[i]=unit
    elif [[ ${job_name[i]} == integration/* && $n =~ ^($alone_files)$ ]]; then job_kind[i]=alone
    elif [[ ${job_name[i]} == integration/* && $n =~ ^($serial_files)$ ]]; then job_kind[i]=serial
    fi
done

# start_job I: start job I in the background, its TAP to its log. Its
# process (job_pid) is the timeout(1) it runs under, which leads a process
# group of its own.
start_job() {
    local i=$1 cmd=${job_cmd[$1]}
    if [[ -n ${job_tmp[i]} ]]; then
        job_tmp[i]=$(mktemp -d /tmp/volfs-run.XXXXXX) && chmod 0755 "${job_tmp[i]}"
        cmd="env VOLFS_TEST_TMPDIR=${job_tmp[i]@Q} $cmd"
    fi
    job_start[i]=$SECONDS job_state[i]=running
    eval "exec $cmd" </dev/null >"${job_log[i]}" 2>&1 &
    job_pid[i]=$! job_of_pid[$!]=$i
}

# job_ended I STATUS: job I exited with STATUS; clean up what it left.
job_ended() {
    local i=$1 left
    unset "job_of_pid[${job_pid[i]}]"
    job_rc[i]=$2 job_secs[i]=$((SECONDS - job_start[i])) job_state[i]=ended
    if [[ -n ${job_tmp[i]} ]] && left=$(leftovers "${job_tmp[i]}"); then
        job_left[i]=$left
    fi
}

# run_shown I: run job I alone, its TAP shown as it comes.
run_shown() {
    local i=$1
    echo "# --- ${job_name[i]}"
    start_job "$i"
    job_streamed[i]=1
    tail -n +1 -s 0.2 -f --pid="${job_pid[i]}" "${job_log[i]}"
    wait "${job_pid[i]}"
    job_ended "$i" $?
}

# print_done: print, tally and forget every ended job whose predecessors
# are printed, in the order of a serial run.
next_print=0
print_done() {
    local i
    while ((next_print < ${#job_name[@]})) && [[ ${job_state[next_print]} == ended ]]; do
        i=$next_print
        if [[ -z ${job_streamed[i]-} ]]; then
            echo "# --- ${job_name[i]}"
            cat "${job_log[i]}"
        fi
        tally "${job_name[i]}" "${job_log[i]}" "${job_rc[i]}"
        echo "# ${job_name[i]}: ${job_secs[i]}s"
        if [[ -n ${job_left[i]-} ]]; then
            echo "# ${job_left[i]//$'\n'/$'\n'# }"
            failed=$((failed + 1))
            failures+=("${job_name[i]}: left processes or mounts behind")
        fi
        job_state[i]=printed
        next_print=$((next_print + 1))
    done
}

# wait_one: wait for any running job to end.
wait_one() {
    local pid rc
    wait -n -p pid
    rc=$?
    [[ -n ${pid-} && -n ${job_of_pid[$pid]-} ]] || return 0
    job_ended "${job_of_pid[$pid]}" "$rc"
}

# The order the lanes start them in: the unit binaries (short, and first in
# the output), the alone files, then the rest longest first, by the
# durations of the previous run, else the hints.
declare -A est=()
for h in $slow_hints; do est["integration/${h%%:*}.bats"]=${h##*:}; done
for t in "${fuzzers[@]}"; do est["fuzz/$t"]=$FUZZ_TEST_SECONDS; done
if [[ -f $TEST_LOGS/durations ]]; then
    while read -r n s; do [[ $s =~ ^[0-9]+$ ]] && est[$n]=$s; done <"$TEST_LOGS/durations"
fi
order=()
for i in "${!job_name[@]}"; do
    job_state[i]=queued
    case ${job_kind[i]} in
    unit) order+=("2 0 $i") ;;
    alone) order+=("1 0 $i") ;;
    *) order+=("0 ${est[${job_name[i]}]:-10} $i") ;;
    esac
done
mapfile -t order < <(printf '%s\n' "${order[@]}" | sort -k1,1nr -k2,2nr -k3,3n | cut -d' ' -f3)

lanes=$TEST_JOBS
((lanes <= ${#job_name[@]})) || lanes=${#job_name[@]}
if ((lanes == 1)); then
    # one after another in the order of a serial run, shown as they go
    for i in "${!job_name[@]}"; do
        run_shown "$i"
        print_done
    done
elif ((lanes > 1)); then
    running=0 serial_busy=''
    while :; do
        # start what fits, in order: an alone file once nothing runs (and
        # nothing after it meanwhile), one serial file at a time
        for i in "${order[@]}"; do
            ((running < lanes)) || break
            [[ ${job_state[i]} == queued ]] || continue
            case ${job_kind[i]} in
            alone)
                ((running == 0)) && start_job "$i" && running=1
                break
                ;;
            serial) [[ -z $serial_busy ]] || continue; serial_busy=$i ;;
            esac
            start_job "$i"
            running=$((running + 1))
        done
        ((running)) || break
        wait_one
        running=0
        for i in "${!job_name[@]}"; do
            [[ ${job_state[i]} == running ]] && running=$((running + 1))
        done
        [[ -n $serial_busy && ${job_state[serial_busy]} != running ]] && serial_busy=''
        print_done
    done
fi

# what each file took, for the order of the next run (not when only some
# of its tests ran)
if ((${#job_name[@]})) && [[ -z $TEST_FILTER ]]; then
    declare -A took=()
    if [[ -f $TEST_LOGS/durations ]]; then
        while read -r n s; do took[$n]=$s; done <"$TEST_LOGS/durations"
    fi
    for i in "${!job_name[@]}"; do
        [[ -n ${job_secs[i]-} ]] && took[${job_name[i]}]=${job_secs[i]}
    done
    for n in "${!took[@]}"; do echo "$n ${took[$n]}"; done | sort >"$TEST_LOGS/durations"
fi

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
