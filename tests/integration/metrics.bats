#!/usr/bin/env bats
# Metrics: `volctl metrics` and `volfs --metrics-listen` serve the
# Prometheus text exposition. It is parsed with prometheus_client's own
# parser (python3-prometheus-client), and every volume's numbers are checked
# against df -B1 and stat -f on that volume; request counters must grow
# with a workload; the HTTP endpoint serves /metrics only.

load helpers

setup() {
    PORT=$(free_port)
    volfs_start --metrics-listen "$PORT"
}

teardown() {
    volfs_teardown
}

# free_port: a TCP port nothing listens on at the moment.
free_port() {
    "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# metrics_json [FILE]: the exposition on stdin (or FILE) parsed by
# prometheus_client, as {"name{label=value,...}": value} (a sample's labels
# sorted). Fails if the parser rejects it, or if a family lacks HELP or TYPE.
metrics_json() {
    "$PY" -c '
import json, sys
from prometheus_client.parser import text_string_to_metric_families
text = sys.stdin.read()
out = {}
for fam in text_string_to_metric_families(text):
    for s in fam.samples:
        key = s.name + "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
        out[key] = s.value
names = set()
for line in text.splitlines():
    if line.startswith("# HELP "):
        names.add(("HELP", line.split()[2]))
    elif line.startswith("# TYPE "):
        names.add(("TYPE", line.split()[2]))
for kind in ("HELP", "TYPE"):
    for fam in text_string_to_metric_families(text):
        if (kind, fam.name) not in names and (kind, fam.name + "_total") not in names:
            sys.exit("family %s has no %s line" % (fam.name, kind))
json.dump(out, sys.stdout)
'
}

# metric JSONFILE KEY: one value from metrics_json's output (fails if absent).
metric() {
    "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
if sys.argv[2] not in d:
    sys.exit("no sample %s" % sys.argv[2])
print(int(d[sys.argv[2]]))
' "$1" "$2"
}

# check_against_statfs JSONFILE PREFIX LABELS DIR: the six volume numbers
# under PREFIX (kubelet_volume_stats or volfs_volume) with LABELS equal
# what df -B1 and stat -f say about DIR.
check_against_statfs() {
    local j=$1 prefix=$2 labels=$3 dir=$4 size used avail blocks bfree files ffree bs
    read -r size used avail < <(df -B1 --output=size,used,avail "$dir" | tail -n 1)
    read -r bs blocks bfree files ffree < <(stat -f -c '%S %b %f %c %d' "$dir")
    [ "$(metric "$j" "${prefix}_capacity_bytes{$labels}")" = "$size" ] || fail "$prefix capacity for $dir: want $size (df)"
    [ "$(metric "$j" "${prefix}_used_bytes{$labels}")" = "$used" ] || fail "$prefix used for $dir: want $used (df)"
    [ "$(metric "$j" "${prefix}_available_bytes{$labels}")" = "$avail" ] || fail "$prefix available for $dir: want $avail (df)"
    [ "$size" -eq $((blocks * bs)) ] || fail "df and stat -f disagree on $dir"
    [ "$(metric "$j" "${prefix}_inodes{$labels}")" = "$files" ] || fail "$prefix inodes for $dir: want $files"
    [ "$(metric "$j" "${prefix}_inodes_free{$labels}")" = "$ffree" ] || fail "$prefix inodes_free for $dir: want $ffree"
    [ "$(metric "$j" "${prefix}_inodes_used{$labels}")" = "$((files - ffree))" ] || fail "$prefix inodes_used for $dir"
}

@test "volctl metrics: every volume's numbers are df's, claims under kubelet's names, snapshots counted" {
    volctl apply -f "$BATS_TEST_DIRNAME/../manifests/class-and-claim.yaml" >/dev/null
    pv_create loose 20Mi
    # a workload: files, a snapshot, then overwrite so the snapshot holds blocks
    mkdir -p "$MNT/pvc/default/data/dir"
    for i in 1 2 3 4 5; do
        dd if=/dev/urandom of="$MNT/pvc/default/data/dir/f$i" bs=64k count=8 status=none
    done
    dd if=/dev/urandom of="$MNT/pv/loose/big" bs=1M count=3 status=none
    volctl snapshot pv/loose before >/dev/null
    volctl snapshot pv/loose before2 >/dev/null
    dd if=/dev/urandom of="$MNT/pv/loose/big" bs=1M count=2 conv=notrunc status=none
    # a read past the page cache across both layers (the overwritten first
    # 2 MiB and the snapshots' last one): its two host reads go to io_uring
    # together (a read of one layer is a pread, and writes use the ring only
    # with the uring host write engine, see --host-writes)
    dd if="$MNT/pv/loose/big" iflag=direct,skip_bytes skip=$((3 * MiB / 2)) bs=1M count=1 \
        of=/dev/null status=none
    sync
    local pv
    pv=$(readlink "$MNT/pvc/default/data")
    pv=${pv##*/}
    volctl metrics >"$VOLFS_TMP/m.txt"
    metrics_json <"$VOLFS_TMP/m.txt" >"$VOLFS_TMP/m.json" || fail "the exposition does not parse: $(head -n 20 "$VOLFS_TMP/m.txt")"
    check_against_statfs "$VOLFS_TMP/m.json" kubelet_volume_stats "namespace=default,persistentvolumeclaim=data" "$MNT/pvc/default/data/"
    check_against_statfs "$VOLFS_TMP/m.json" volfs_volume "persistentvolume=$pv" "$MNT/pvc/default/data/"
    check_against_statfs "$VOLFS_TMP/m.json" volfs_volume "persistentvolume=loose" "$MNT/pv/loose"
    [ "$(metric "$VOLFS_TMP/m.json" "kubelet_volume_stats_inodes_used{namespace=default,persistentvolumeclaim=data}")" -ge 7 ]
    # an unbound volume has no kubelet series
    run grep -c 'persistentvolumeclaim="loose"' "$VOLFS_TMP/m.txt"
    [ "$output" = 0 ]
    [ "$(grep -c '^kubelet_volume_stats_capacity_bytes{' "$VOLFS_TMP/m.txt")" -eq 1 ]
    # snapshots: two of loose, none of the claim's volume; the overwritten 2 MiB are held by them
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_volume_snapshots{persistentvolume=loose}")" = 2 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_volume_snapshots{persistentvolume=$pv}")" = 0 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_volume_snapshot_bytes{persistentvolume=loose}")" = "$(pv_df loose snapshotBytes)" ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_volume_snapshot_bytes{persistentvolume=loose}")" -ge $((2 * MiB)) ]
    # the workload's requests were counted, with latencies
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_requests_total{op=write}")" -ge 7 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_requests_total{op=create}")" -ge 6 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_request_duration_seconds_count{op=write}")" = \
      "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_requests_total{op=write}")" ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_request_duration_seconds_bucket{le=+Inf,op=write}")" = \
      "$(metric "$VOLFS_TMP/m.json" "volfs_fuse_requests_total{op=write}")" ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_uring_sqes_submitted_total{}")" -ge 1 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_uring_sqes_in_flight{}")" -ge 0 ]
    # every family has HELP and TYPE (metrics_json checks it); these are the kinds promised
    grep -qx '# TYPE volfs_fuse_request_duration_seconds histogram' "$VOLFS_TMP/m.txt"
    grep -qx '# TYPE volfs_fuse_requests_total counter' "$VOLFS_TMP/m.txt"
    grep -qx '# TYPE volfs_fuse_request_errors_total counter' "$VOLFS_TMP/m.txt"
    grep -qx '# TYPE kubelet_volume_stats_used_bytes gauge' "$VOLFS_TMP/m.txt"
    # every hold of the metadata lock is counted, and the longest is one of them
    grep -qx '# TYPE volfs_db_lock_hold_seconds histogram' "$VOLFS_TMP/m.txt"
    local holds
    holds=$(metric "$VOLFS_TMP/m.json" "volfs_db_lock_hold_seconds_count{}")
    [ "$holds" -ge 10 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_db_lock_hold_seconds_bucket{le=+Inf}")" = "$holds" ]
    awk '$1 == "volfs_db_lock_hold_max_seconds" { found = 1; ok = $2 > 0 } END { exit !(found && ok) }' \
        "$VOLFS_TMP/m.txt" || fail "no positive volfs_db_lock_hold_max_seconds"
    # the two snapshots froze loose: each freeze timed, none committed or flushed behind its gate
    grep -qx '# TYPE volfs_snapshot_freeze_seconds histogram' "$VOLFS_TMP/m.txt"
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_snapshot_freeze_seconds_count{}")" -ge 2 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_snapshot_freeze_work_total{work=commits}")" = 0 ]
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_snapshot_freeze_work_total{work=flushes}")" = 0 ]
    awk '$1 == "volfs_snapshot_freeze_max_seconds" { found = 1; ok = $2 > 0 } END { exit !(found && ok) }' \
        "$VOLFS_TMP/m.txt" || fail "no positive volfs_snapshot_freeze_max_seconds"
    # SQLite's page cache: the workload read metadata pages
    grep -qx '# TYPE volfs_db_page_cache_hits_total counter' "$VOLFS_TMP/m.txt"
    grep -qx '# TYPE volfs_db_page_cache_misses_total counter' "$VOLFS_TMP/m.txt"
    [ "$(metric "$VOLFS_TMP/m.json" "volfs_db_page_cache_hits_total{}")" -ge 1 ]
}

@test "request errors are counted by operation" {
    pv_create e 10Mi
    mkdir "$MNT/pv/e/full"
    touch "$MNT/pv/e/full/f"
    volctl metrics | metrics_json >"$VOLFS_TMP/a.json"
    local i
    for i in 1 2 3; do
        ! cat "$MNT/pv/e/missing-$i" 2>/dev/null
        # the kernel asks the daemon, which answers ENOTEMPTY
        ! rmdir "$MNT/pv/e/full" 2>/dev/null
    done
    volctl metrics | metrics_json >"$VOLFS_TMP/b.json"
    local before after
    before=$(metric "$VOLFS_TMP/a.json" "volfs_fuse_request_errors_total{op=rmdir}")
    after=$(metric "$VOLFS_TMP/b.json" "volfs_fuse_request_errors_total{op=rmdir}")
    [ "$after" -ge $((before + 3)) ] || fail "rmdir errors: $before -> $after"
    # a missing name is a negative lookup, not an error
    [ "$(metric "$VOLFS_TMP/b.json" "volfs_fuse_requests_total{op=lookup}")" -gt \
      "$(metric "$VOLFS_TMP/a.json" "volfs_fuse_requests_total{op=lookup}")" ]
}

@test "--metrics-listen serves GET /metrics over HTTP, counters grow, other paths get 404" {
    pv_create web 10Mi
    curl -sS -D "$VOLFS_TMP/h1" "http://127.0.0.1:$PORT/metrics" >"$VOLFS_TMP/s1.txt"
    grep -qi '^HTTP/1.1 200' "$VOLFS_TMP/h1"
    grep -qi '^Content-Type: text/plain; version=0.0.4' "$VOLFS_TMP/h1"
    metrics_json <"$VOLFS_TMP/s1.txt" >"$VOLFS_TMP/s1.json"
    check_against_statfs "$VOLFS_TMP/s1.json" volfs_volume "persistentvolume=web" "$MNT/pv/web"
    # a workload between two scrapes
    dd if=/dev/zero of="$MNT/pv/web/z" bs=4k count=64 oflag=direct status=none
    cat "$MNT/pv/web/z" >/dev/null
    "$PY" -c '
import sys, urllib.request
with urllib.request.urlopen("http://127.0.0.1:%s/metrics" % sys.argv[1], timeout=10) as r:
    sys.stdout.write(r.read().decode())
' "$PORT" | metrics_json >"$VOLFS_TMP/s2.json"
    local op before after
    for op in write create; do
        before=$(metric "$VOLFS_TMP/s1.json" "volfs_fuse_requests_total{op=$op}")
        after=$(metric "$VOLFS_TMP/s2.json" "volfs_fuse_requests_total{op=$op}")
        [ "$after" -gt "$before" ] || fail "op $op did not grow: $before -> $after"
    done
    [ "$(metric "$VOLFS_TMP/s2.json" "volfs_fuse_requests_total{op=write}")" -ge 64 ]
    check_against_statfs "$VOLFS_TMP/s2.json" volfs_volume "persistentvolume=web" "$MNT/pv/web"
    # only /metrics (a query string is ignored); only GET and HEAD
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics?x=1")" = 200 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/")" = 404 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metricsx")" = 404 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/../etc/passwd")" = 404 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/metrics")" = 405 ]
    [ "$(curl -s -o /dev/null -w '%{http_code}' -I "http://127.0.0.1:$PORT/metrics")" = 200 ]
    # garbage instead of a request line: a 400, or (one word, not even
    # METHOD TARGET) the connection closed without an answer
    run "$PY" -c '
import socket, sys
for line in (b"hello world", b"hello"):
    s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
    s.sendall(line + b"\r\n\r\n")
    print((s.recv(100).decode().splitlines() or ["closed"])[0])
' "$PORT"
    assert_output "HTTP/1.1 400 Bad Request
closed"
    # a port alone listens on loopback only
    run ss -ltnH "sport = :$PORT"
    assert_output --regexp "127\.0\.0\.1:$PORT"
    refute_output --regexp "(0\.0\.0\.0|\*|\[::\]):$PORT"
    # the daemon still works
    volctl get pv web >/dev/null
}

@test "--metrics-listen refuses a bad or unspecified address with one line, before mounting" {
    local bad m2
    m2=$VOLFS_TMP/m2
    mkdir "$m2"
    for bad in ":9464" "127.0.0.1:0" "127.0.0.1:99999" "localhost:http" "[::1" "nine"; do
        run --separate-stderr "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/s2" --metrics-listen "$bad" "$m2" 3>&-
        [ "$status" -ne 0 ] || fail "--metrics-listen $bad was accepted"
        [ "${#stderr_lines[@]}" -eq 1 ] || fail "--metrics-listen $bad: want one line, got: $stderr"
        [[ $stderr == *"--metrics-listen"* ]] || fail "the error does not name the option: $stderr"
        ! is_mounted "$m2"
    done
    # a port in use is refused too (the daemon of this test holds $PORT)
    run --separate-stderr timeout 20 "$VOLFS_BIN/volfs" -f --state "$VOLFS_TMP/s2" --metrics-listen "$PORT" "$m2" 3>&-
    [ "$status" -ne 0 ] && [ "$status" -ne 124 ]
    [[ $stderr == *"Address already in use"* ]] || fail "port in use: $stderr"
    ! is_mounted "$m2"
}

@test "--metrics-listen drops a client that trickles its request, so others are served" {
    "$PY" - "$PORT" 3>&- <<'PYEOF' &
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for c in b"GET /metrics HTTP/1.1\r\nX-Slow: " + b"x" * 4000:
    try:
        s.send(bytes([c]))
    except OSError:
        break   # the daemon hung up on us
    time.sleep(1)
PYEOF
    volfs_track_pid $!
    sleep 1 # the trickler connects first (the test passes either way)
    run curl -sS --max-time 120 "http://127.0.0.1:$PORT/metrics"
    assert_success
    assert_output --partial 'volfs_'
}

# site_metric FAMILY FUNCTION: the sum over FUNCTION's call sites of a
# per-site db lock family.
site_metric() {
    volctl metrics | awk -v m="$1" -v fn="function=\"$2\"" \
        'index($0, m "{") == 1 && index($0, fn) { s += $NF; found = 1 } END { print s + 0; exit !found }'
}

@test "the db lock is counted by call site; VOLFS_TRACE_SLOW adds its CPU time and logs slow holds and fsyncs" {
    pv_create v 16Mi
    dd if=/dev/zero of="$MNT/pv/v/f" bs=4K count=1 conv=fsync status=none
    [ "$(site_metric volfs_db_lock_site_holds_total db_sync_timed)" -ge 1 ] || fail "the fsync's commit is not counted"
    [ "$(site_metric volfs_db_lock_site_cpu_seconds_total db_sync_timed)" = 0 ] || fail "CPU time measured untraced"
    ! grep -q 'db lock held\|fsync took' "$VOLFS_LOG" || fail "slow holds logged untraced"
    volfs_stop
    VOLFS_TRACE_SLOW=0.000001 volfs_launch --metrics-listen "$PORT"
    grep -q 'tracing: db lock holds and fsyncs over 1e-06 ms are logged' "$VOLFS_LOG"
    dd if=/dev/zero of="$MNT/pv/v/f" bs=4K count=1 conv=fsync status=none
    awk -v c="$(site_metric volfs_db_lock_site_cpu_seconds_total db_sync_timed)" 'BEGIN { exit !(c > 0) }' ||
        fail "no CPU time for the fsync's commit"
    grep -q 'db lock held [0-9.]* ms by db_sync_timed (meta/db.c:[0-9]*): CPU [0-9.]* ms, waiting for a CPU' "$VOLFS_LOG"
    grep -q 'fsync took [0-9.]* ms: data file [0-9.]* ms, inode row [0-9.]* ms, waiting for the db lock' "$VOLFS_LOG"
    volfs_stop
    VOLFS_TRACE_SLOW=soon volfs_launch --metrics-listen "$PORT"
    grep -q 'VOLFS_TRACE_SLOW=soon is not a number of milliseconds; not tracing' "$VOLFS_LOG"
}
