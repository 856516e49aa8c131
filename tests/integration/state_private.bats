#!/usr/bin/env bats
# The state directory holds every Secret (meta.db) and every volume's
# data: it is its owner's alone whatever the umask or the mode it was
# made with, and a deleted Secret's value leaves no readable trace there.

load helpers

# A state directory made the way mkdir -p or a DaemonSet's
# DirectoryOrCreate make one, and a daemon started under umask 022.
setup() {
    volfs_dirs
    mkdir -m 0755 "$STATE" "$MNT"
    launch_umask_022
}

launch_umask_022() {
    local old
    old=$(umask)
    umask 022
    volfs_launch
    umask "$old"
}

teardown() {
    volfs_teardown
}

file_mode() {
    stat -c %a "$1"
}

@test "state files are 0600 and the state directory 0700 whatever the umask; an open mode is fixed with a warning" {
    assert_equal "$(file_mode "$STATE")" 700
    grep -q "state directory $STATE had mode 0755; changing it to 0700" "$VOLFS_LOG" ||
        fail "no warning about the state directory's mode in the log"
    volctl create secret generic db-pass --from-literal=password=hunter2 >/dev/null 2>&1 ||
        volctl apply -f - >/dev/null <<'YAML'
apiVersion: v1
kind: Secret
metadata: {name: db-pass}
stringData: {password: hunter2}
YAML
    for f in meta.db meta.db-wal meta.db-shm; do
        [[ -e $STATE/$f ]] || continue
        assert_equal "$f $(file_mode "$STATE/$f")" "$f 600"
    done
    run as_nobody "cat '$STATE/meta.db'"
    assert_failure
    run as_nobody "sqlite3 'file:$STATE/meta.db?mode=ro' 'select count(*) from objects'"
    assert_failure

    # An existing meta.db (and directory) opened up by hand is closed again.
    volfs_stop
    chmod 0644 "$STATE/meta.db"
    chmod 0755 "$STATE"
    launch_umask_022
    assert_equal "$(file_mode "$STATE")" 700
    assert_equal "$(file_mode "$STATE/meta.db")" 600
    grep -q "meta.db had mode 0644; changing it to 0600" "$VOLFS_LOG" ||
        fail "no warning about meta.db's mode in the log"
    run as_nobody "sqlite3 'file:$STATE/meta.db?mode=ro' 'select count(*) from objects'"
    assert_failure
}

@test "a deleted Secret's value is in neither meta.db's free pages nor its WAL" {
    marker=$(printf 'marker-%s-%s' "$RANDOM$RANDOM" "$(date +%N)" | base64 -w0)
    volctl apply -f - >/dev/null <<YAML
apiVersion: v1
kind: Secret
metadata: {name: db-pass}
data: {password: $marker}
YAML
    grep -qa -- "$marker" "$STATE"/meta.db* || fail "the marker is not in meta.db* at all: the test proves nothing"
    volctl delete secret db-pass >/dev/null
    run grep -la -- "$marker" "$STATE"/meta.db*
    assert_failure
    # And after a restart (the WAL checkpointed at close) still nothing.
    volfs_stop
    run grep -la -- "$marker" "$STATE"/meta.db*
    assert_failure
}
