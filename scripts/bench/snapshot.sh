#!/usr/bin/env bash
# Snapshot benchmark. Not part of `make test`.
#
# Starts its own volfs daemon on a temporary state directory and measures:
#   - the time of `volctl snapshot` for volumes holding 1 MiB, 1 GiB and
#     10,000 files (median of 5 snapshots each, volctl's round trip included);
#   - the host disk space (du of STATE/data) added by one 4 KiB overwrite
#     inside a 1 GiB file after a snapshot;
#   - fio 4 KiB random read and random write (psync, direct=1,
#     fallocate=none, a 256 MiB file, 15 s each) on a volume with no
#     snapshot and with 100 snapshots, each taken after overwriting 64
#     random blocks so that 100 copy-on-write layers really exist; and the
#     same fio jobs on the host filesystem for comparison.
# Prints the figures as Markdown tables on stdout (progress on stderr).
#
# Environment:
#   VOLFS_BIN    directory holding volfs and volctl (default build/bin; build with make)
#   BENCH_DIR    where the temporary state, mount and host files go (default /var/tmp)
#   FIO_RUNTIME  seconds per fio job (default 15)
#   FIO_SIZE     size of the fio file (default 256M)
#   SNAPSHOTS    number of snapshots for the layered case (default 100)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$(realpath -m "${VOLFS_BIN:-$root/build/bin}")
BENCH_DIR=${BENCH_DIR:-/var/tmp}
FIO_RUNTIME=${FIO_RUNTIME:-15}
FIO_SIZE=${FIO_SIZE:-256M}
SNAPSHOTS=${SNAPSHOTS:-100}
PY=/usr/bin/python3
[[ -x $PY ]] || PY=python3

for tool in fio "$PY" fusermount3 du; do
    command -v "$tool" >/dev/null || { echo "snapshot.sh: $tool not found" >&2; exit 1; }
done
[[ -x $BIN/volfs && -x $BIN/volctl ]] || { echo "snapshot.sh: no volfs/volctl in $BIN; run make" >&2; exit 1; }

work=$(mktemp -d "$BENCH_DIR/volfs-bench.XXXXXX")
STATE=$work/state MNT=$work/mnt
mkdir -m 0700 "$STATE"
mkdir "$MNT" "$work/native"
DAEMON_LOG=$work/volfs.log

log() { echo "snapshot.sh: $*" >&2; }
die() { log "$*"; exit 1; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=daemon.bash
source "$here/daemon.bash"

cleanup() {
    set +e
    teardown_daemon
    rm -rf --one-file-system "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_daemon
log "volfs $(volctl version | sed -n 's/^Server Version: //p') on $MNT, state $STATE"

now_ns() { date +%s%N; }

# snapshot_ms PV: take 5 snapshots of PV; prints the median time in ms.
snapshot_ms() {
    local pv=$1 k t0 times=()
    for k in 1 2 3 4 5; do
        t0=$(now_ns)
        volctl snapshot "pv/$pv" "$pv-t$k" >/dev/null
        times+=($((($(now_ns) - t0) / 1000)))
    done
    printf '%s\n' "${times[@]}" | sort -n | sed -n 3p | awk '{printf "%.1f", $1 / 1000}'
}

data_du() {
    du -s --block-size=1 "$STATE/data" | cut -f1
}

# --- snapshot time ---------------------------------------------------------
log "filling volumes: 1 MiB, 1 GiB, 10,000 files"
volctl create pv small --capacity 64Mi >/dev/null
volctl create pv large --capacity 2Gi >/dev/null
volctl create pv files --capacity 1Gi >/dev/null
dd if=/dev/urandom of="$MNT/pv/small/data" bs=1M count=1 conv=fsync status=none
dd if=/dev/urandom of="$MNT/pv/large/data" bs=1M count=1024 conv=fsync status=none
"$PY" - "$MNT/pv/files" <<'PYEOF'
import os, sys
root = sys.argv[1]
block = os.urandom(4096)
for d in range(100):
    os.mkdir(os.path.join(root, "d%02d" % d))
    for f in range(100):
        with open(os.path.join(root, "d%02d" % d, "f%03d" % f), "wb") as fh:
            fh.write(block)
PYEOF
t_small=$(snapshot_ms small)
t_large=$(snapshot_ms large)
t_files=$(snapshot_ms files)

# --- space added by a 4 KiB overwrite after a snapshot ------------------------
volctl snapshot pv/large large-cow >/dev/null
du0=$(data_du)
dd if=/dev/urandom of="$MNT/pv/large/data" bs=4K count=1 seek=$((512 * 256 + 3)) conv=notrunc,fsync status=none
du1=$(data_du)
cow_bytes=$((du1 - du0))
sb=$(volctl df -o json | "$PY" -c '
import json, sys
for it in json.load(sys.stdin)["items"]:
    if it["kind"] == "PersistentVolume" and it["name"] == "large":
        print(it["snapshotBytes"])')

# --- fio ---------------------------------------------------------------------
# fio_job DIR RW: prints "IOPS MiB/s" of a 4 KiB random job on DIR/bench.
fio_job() {
    fio --name=bench --filename="$1/bench" --size="$FIO_SIZE" --rw="$2" --bs=4k \
        --ioengine=psync --direct=1 --fallocate=none --time_based --runtime="$FIO_RUNTIME" \
        --randrepeat=0 --norandommap --output-format=json |
        "$PY" -c '
import json, sys
j = json.load(sys.stdin)["jobs"][0]
side = j["read"] if j["read"]["io_bytes"] else j["write"]
print("%.0f %.1f" % (side["iops"], side["bw_bytes"] / 1048576))'
}

# lay_out DIR: write the fio file in full, so reads hit data.
lay_out() {
    fio --name=bench --filename="$1/bench" --size="$FIO_SIZE" --rw=write --bs=1M \
        --ioengine=psync --direct=1 --fallocate=none --end_fsync=1 >/dev/null
}

log "fio on the host filesystem ($work/native)"
lay_out "$work/native"
read -r host_r_iops host_r_bw < <(fio_job "$work/native" randread)
read -r host_w_iops host_w_bw < <(fio_job "$work/native" randwrite)
rm -f "$work/native/bench"

log "fio on a volume with no snapshot"
volctl create pv fio --capacity 2Gi >/dev/null
F=$MNT/pv/fio
lay_out "$F"
read -r r0_iops r0_bw < <(fio_job "$F" randread)
read -r w0_iops w0_bw < <(fio_job "$F" randwrite)

log "taking $SNAPSHOTS snapshots, each after overwriting 64 random 4 KiB blocks"
snap_us=()
for ((k = 1; k <= SNAPSHOTS; k++)); do
    "$PY" - "$F/bench" "$k" <<'PYEOF'
import os, random, sys
path, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
fd = os.open(path, os.O_WRONLY)
blocks = os.fstat(fd).st_size // 4096
for _ in range(64):
    os.pwrite(fd, os.urandom(4096), rnd.randrange(blocks) * 4096)
os.fsync(fd)
os.close(fd)
PYEOF
    t0=$(now_ns)
    volctl snapshot pv/fio "fio-$k" >/dev/null
    snap_us+=($((($(now_ns) - t0) / 1000)))
done
# median_ms US...: the median of times in microseconds, in ms.
median_ms() {
    printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", v[int((NR + 1) / 2)] / 1000 }'
}
t_first=$(median_ms "${snap_us[@]:0:10}")
t_last=$(median_ms "${snap_us[@]: -10}")
nsnap=$(volctl get vs -o name | grep -c '/fio-')
read -r r100_iops r100_bw < <(fio_job "$F" randread)
read -r w100_iops w100_bw < <(fio_job "$F" randwrite)
# reads of blocks spread over all layers, after the writes above
read -r r100b_iops r100b_bw < <(fio_job "$F" randread)

pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }

cat <<EOF

### volfs snapshots ($(date -u +%Y-%m-%d), $(uname -r), $(nproc) CPUs, build $(volctl version --client | sed -n 's/^Client Version: //p'))

| measurement | result |
|---|---|
| \`volctl snapshot\` of a volume with 1 MiB of data (median of 5) | ${t_small} ms |
| \`volctl snapshot\` of a volume with 1 GiB of data (median of 5) | ${t_large} ms |
| \`volctl snapshot\` of a volume with 10,000 files (median of 5) | ${t_files} ms |
| host disk added by a 4 KiB overwrite in a 1 GiB file after a snapshot | ${cow_bytes} bytes (df snapshotBytes: ${sb}) |
| \`volctl snapshot\` of the fio volume: first 10 / last 10 of ${nsnap} (medians) | ${t_first} ms / ${t_last} ms |

fio, 4 KiB blocks, psync, direct=1, fallocate=none, ${FIO_SIZE} file, ${FIO_RUNTIME} s per job:

| target | randread IOPS | randread MiB/s | randwrite IOPS | randwrite MiB/s |
|---|---|---|---|---|
| host filesystem (no volfs) | ${host_r_iops} | ${host_r_bw} | ${host_w_iops} | ${host_w_bw} |
| volume, 0 snapshots | ${r0_iops} | ${r0_bw} | ${w0_iops} | ${w0_bw} |
| volume, ${SNAPSHOTS} snapshots | ${r100_iops} | ${r100_bw} | ${w100_iops} | ${w100_bw} |
| volume, ${SNAPSHOTS} snapshots, read again after the writes | ${r100b_iops} | ${r100b_bw} | | |
| ${SNAPSHOTS} snapshots vs 0 | $(pct "$r100_iops" "$r0_iops") | | $(pct "$w100_iops" "$w0_iops") | |

The host row is fio with O_DIRECT on the host filesystem itself. volfs
passes O_DIRECT requests to its store without the FUSE page cache, but the
store's data files are read and written through the host page cache, so
the volume rows can exceed the host row.
EOF
