#!/usr/bin/env bash
# `make run`: mount volfs in the background for interactive use.
#   VOLFS_STATE  state directory (default /var/lib/volfs)
#   VOLFS_MOUNT  mount point     (default /mnt/volfs)
#   VOLFS_BIN    where volfs and volctl are (default build/bin)
#   VOLFS_OPTS   extra FUSE options for -o (e.g. allow_other)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

STATE=${VOLFS_STATE:-/var/lib/volfs}
MNT=${VOLFS_MOUNT:-/mnt/volfs}
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
OPTS=${VOLFS_OPTS:-}

# `make run` installs volctl on PATH; name it bare when that copy is found.
volctl_cmd="$BIN/volctl"
command -v volctl >/dev/null 2>&1 && volctl_cmd=volctl
[[ $STATE == /var/lib/volfs ]] || volctl_cmd+=" --state $STATE"
rel() { # print a path relative to the repo when it lies inside it
    case $1 in "$root"/*) echo "${1#"$root"/}" ;; *) echo "$1" ;; esac
}
volctl_show=$(rel "$volctl_cmd")

if [[ ! -x $BIN/volfs ]]; then
    echo "run: $BIN/volfs not found; build it with make" >&2
    exit 1
fi

# A mount whose daemon died leaves "Transport endpoint is not connected":
# `mountpoint` fails on it, findmnt still lists it.
if findmnt -rn --mountpoint "$MNT" >/dev/null 2>&1; then
    if mountpoint -q "$MNT" 2>/dev/null && stat "$MNT" >/dev/null 2>&1; then
        echo "volfs is already mounted on $MNT (state ${STATE})."
        echo "Stop it with: $volctl_show shutdown   (or: fusermount3 -u $MNT)"
        exit 0
    fi
    echo "run: $MNT is a stale mount (its daemon is gone); unmounting it"
    fusermount3 -u -z "$MNT" 2>/dev/null || umount -l "$MNT"
fi

mkdir -p "$STATE" "$MNT"
chmod 0700 "$STATE"
log=$STATE/volfs.log
args=(-f --state "$STATE")
[[ -n $OPTS ]] && args+=(-o "$OPTS")
echo "=== $(date -Is) starting $BIN/volfs ${args[*]} $MNT" >>"$log"
setsid nohup "$BIN/volfs" "${args[@]}" "$MNT" </dev/null >>"$log" 2>&1 &
pid=$!

for _ in $(seq 100); do
    if mountpoint -q "$MNT" 2>/dev/null; then break; fi
    if ! kill -0 "$pid" 2>/dev/null; then
        echo "run: volfs exited before mounting; last lines of $log:" >&2
        tail -n 20 "$log" >&2
        exit 1
    fi
    sleep 0.1
done
if ! mountpoint -q "$MNT"; then
    echo "run: $MNT is not mounted after 10 s (volfs pid $pid still running); see $log" >&2
    exit 1
fi

cat <<MSG
volfs is mounted on $MNT (pid $pid, state $STATE, log $log).

Try it:
  $volctl_show create pv demo --capacity 1Gi
  ls $MNT/pv/demo
  $volctl_show get pv
  df -h $MNT/pv/demo

Stop it:
  $volctl_show shutdown        (or: fusermount3 -u $MNT)
MSG
