#!/usr/bin/env bats
# SnapshotSchedules (snapscheduler.backube/v1): snapshots on time with
# snapscheduler's names and labels, a firing missed while the daemon was
# down taken once at start, retention, disabled schedules, the timer, the
# get table, and bad input at apply. Time moves by restarting the test
# build with VOLFS_TEST_CLOCK_OFFSET (seconds added to the schedule clock),
# so no test waits for real minutes to pass.

# shellcheck disable=SC2154 # STATE, MNT, ... come from helpers.bash
load helpers

setup() {
    unset VOLFS_TEST_CLOCK_OFFSET
    volfs_start
    cat >"$VOLFS_TMP/claims.yaml" <<'YAML'
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data, labels: {app: db}}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: other}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 16Mi}}}
YAML
    volctl apply -f "$VOLFS_TMP/claims.yaml" >/dev/null
}

# sched_field NAME EXPR: a field of the schedule (o) as JSON.
sched_field() {
    volctl get snapshotschedule "$1" -o json |
        "$PY" -c "import json,sys; o=json.load(sys.stdin); print($2)"
}

# epoch RFC3339: unix time of a timestamp.
epoch() { date -u -d "$1" +%s; }
# stamp EPOCH: snapscheduler's name suffix YYYYMMDDHHMM of a time.
stamp() { date -u -d "@$1" +%Y%m%d%H%M; }

# restart_at EPOCH: restart the daemon with its schedule clock at EPOCH.
restart_at() {
    volfs_stop
    export VOLFS_TEST_CLOCK_OFFSET=$(($1 - $(date +%s)))
    volfs_launch
}

# scheduled_snapshots SCHEDULE: names of the live snapshots it made, sorted.
scheduled_snapshots() {
    volctl get vs -o json | "$PY" -c '
import json, sys
for it in json.load(sys.stdin)["items"]:
    md = it["metadata"]
    if md.get("labels", {}).get("snapscheduler.backube/schedule") == sys.argv[1] \
            and not md.get("deletionTimestamp"):
        print(md["name"])
' "$1" | sort
}

# wait_snapshots SCHEDULE EXPECTED: until the list is EXPECTED (60 s).
wait_snapshots() {
    local i got
    for ((i = 0; i < 120; i++)); do
        got=$(scheduled_snapshots "$1")
        [[ $got == "$2" ]] && return 0
        sleep 0.5
    done
    fail "snapshots of schedule $1: got [$got], want [$2]"
}

apply_hourly() {
    cat >"$VOLFS_TMP/sched.yaml" <<YAML
apiVersion: snapscheduler.backube/v1
kind: SnapshotSchedule
metadata: {name: hourly}
spec:
  schedule: "0 * * * *"
  claimSelector: {matchLabels: {app: db}}
  retention: {maxCount: 2}
  snapshotTemplate:
    labels: {tier: nightly}
$1
YAML
    run --separate-stderr volctl apply -f "$VOLFS_TMP/sched.yaml"
    assert_success
    assert_output "snapshotschedule.snapscheduler.backube/hourly created"
}

@test "a schedule snapshots the selected claims with snapscheduler's names and labels, takes a missed firing once, expires the oldest" {
    apply_hourly
    local n1 h=3600
    n1=$(epoch "$(sched_field hourly 'o["status"]["nextSnapshotTime"]')")
    [ $((n1 % h)) -eq 0 ] || fail "next snapshot $n1 is not on the hour"
    # nothing before its first firing
    [ -z "$(scheduled_snapshots hourly)" ]
    # 30 s after the first firing
    restart_at $((n1 + 30))
    wait_snapshots hourly "data-hourly-$(stamp "$n1")"
    run volctl get vs "data-hourly-$(stamp "$n1")" -o json
    assert_success
    "$PY" -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["metadata"]["labels"] == {"snapscheduler.backube/schedule": "hourly", "tier": "nightly"}, o["metadata"]
assert o["spec"]["source"]["persistentVolumeClaimName"] == "data", o["spec"]
' "$output"
    [ "$(sched_field hourly 'o["status"]["lastSnapshotTime"]')" = "$(date -u -d "@$n1" +%Y-%m-%dT%H:%M:%SZ)" ]
    [ "$(epoch "$(sched_field hourly 'o["status"]["nextSnapshotTime"]')")" -eq $((n1 + h)) ]
    # down for three firings: the last one is taken, once
    restart_at $((n1 + 3 * h + 30))
    wait_snapshots hourly "$(printf '%s\n' "data-hourly-$(stamp "$n1")" "data-hourly-$(stamp $((n1 + 3 * h)))")"
    # maxCount 2: the next firing deletes the oldest
    restart_at $((n1 + 4 * h + 30))
    wait_snapshots hourly "$(printf '%s\n' "data-hourly-$(stamp $((n1 + 3 * h)))" "data-hourly-$(stamp $((n1 + 4 * h)))")"
    # events say so
    run volctl describe snapshotschedule hourly
    assert_success
    assert_output --partial "SnapshotCreated"
    assert_output --partial "SnapshotExpired"
}

@test "a disabled schedule takes nothing; get shows schedule, retention, disabled, next and last" {
    apply_hourly "  disabled: true"
    local n1
    n1=$(epoch "$(sched_field hourly 'o["status"]["nextSnapshotTime"]')")
    restart_at $((n1 + 2 * 3600 + 30))
    run volctl get snapshotschedule
    assert_success
    assert_line --index 0 --regexp '^NAME +SCHEDULE +MAX AGE +MAX NUM +DISABLED +NEXT SNAPSHOT +LAST SNAPSHOT$'
    assert_line --index 1 --regexp '^hourly +0 \* \* \* \* +2 +true +[0-9T:Z-]+ *$'
    [ -z "$(scheduled_snapshots hourly)" ]
}

@test "the daemon wakes up for a firing while it runs" {
    apply_hourly
    local n1
    n1=$(epoch "$(sched_field hourly 'o["status"]["nextSnapshotTime"]')")
    # the clock 3 s before the firing: the control thread's timer takes it
    restart_at $((n1 - 3))
    wait_snapshots hourly "data-hourly-$(stamp "$n1")"
}

@test "bad schedules, durations, selectors and labels: one line naming the field, nothing created" {
    local bad
    for bad in 'schedule: "61 * * * *"|spec.schedule: Invalid value: "61 * * * *": minute field "61": value out of range (0-59)' \
        'schedule: "@often"|spec.schedule: Invalid value: "@often": unknown schedule' \
        'schedule: "* * *"|spec.schedule: Invalid value: "* * *": "* * *" has fewer than 5 fields' \
        'schedule: "0 0 30 2 *"|spec.schedule: Invalid value: "0 0 30 2 *": never fires' \
        'schedule: "@daily"
  retention: {expires: 7d}|spec.retention.expires: Invalid value: "7d": invalid duration' \
        'schedule: "@daily"
  retention: {maxCount: 0}|spec.retention.maxCount: Invalid value: 0: must be an integer >= 1' \
        'schedule: "@daily"
  claimSelector: {matchExpressions: [{key: app, operator: Has}]}|spec.claimSelector.matchExpressions[0].operator' \
        'schedule: "@daily"
  disabled: "yes"|spec.disabled: Invalid value: "yes": must be true or false' \
        'schedule: "@daily"
  snapshotTemplate: {labels: {tier: "a b"}}|spec.snapshotTemplate.labels[tier]' \
        'disabled: false|spec.schedule: Required value'; do
        printf 'apiVersion: snapscheduler.backube/v1\nkind: SnapshotSchedule\nmetadata: {name: bad}\nspec:\n  %s\n' \
            "${bad%%|*}" >"$VOLFS_TMP/bad.yaml"
        run --separate-stderr volctl apply -f "$VOLFS_TMP/bad.yaml"
        assert_failure
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "more than one line: $stderr"
        [[ $stderr == *"${bad#*|}"* ]] || fail "for ${bad%%|*}: $stderr"
    done
    run volctl get snapshotschedule
    assert_output "No resources found in default namespace."
}
