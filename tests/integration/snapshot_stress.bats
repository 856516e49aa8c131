#!/usr/bin/env bats
# Data-integrity stress for copy-on-write snapshots: random writes,
# truncates, hole punches, fallocates, renames, creates and unlinks on
# several volumes, interleaved with snapshots, restores, clones and
# deletions of volumes and snapshots. A model of every file of every live
# volume and snapshot is kept in memory; snapshots, restores and clones
# are verified byte for byte against it during the run and at its end, and
# again after the daemon restarts and after it is killed with -9.
#
#   VOLFS_STRESS_SECONDS  how long the random phase runs (default 40)
#   VOLFS_STRESS_SEED     seed of the random choices (default: time based,
#                         printed so that a failure can be replayed)

# shellcheck disable=SC2154 # STATE, MNT, MiB, ... come from helpers.bash
load helpers

setup() {
    volfs_start
}

write_stress() {
    cat >"$VOLFS_TMP/stress.py" <<'PYEOF'
import ctypes, errno, os, pickle, random, subprocess, sys, time

mode, volctl, state, mnt, model_path = sys.argv[1:6]
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_longlong, ctypes.c_longlong]
MAXOFF = 3 << 20          # file contents stay within ~3 MiB
NAMES = ["f%d" % i for i in range(5)] + ["d/g%d" % i for i in range(3)]
MAX_VOLS, MAX_SNAPS = 6, 10
CAPACITY = "128Mi"

def pv_dir(name): return os.path.join(mnt, "pv", name)
def vs_dir(name): return os.path.join(mnt, "snapshots", "default", name)

def ctl(*args):
    r = subprocess.run([volctl, "--state", state] + list(args), capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit("volctl %s failed: %s" % (" ".join(args), r.stderr.strip()))

def check_tree(path, files, what):
    """path holds exactly the files of the model (dict name -> bytes)."""
    found = set()
    for d, dirs, names in os.walk(path):
        for n in names:
            found.add(os.path.relpath(os.path.join(d, n), path))
    if found != set(files):
        raise SystemExit("%s: files %s, the model has %s" % (what, sorted(found), sorted(files)))
    for name, want in files.items():
        with open(os.path.join(path, name), "rb") as f:
            got = f.read()
        if got != want:
            n = min(len(got), len(want))
            first = next((i for i in range(n) if got[i] != want[i]), n)
            raise SystemExit("%s/%s: %d bytes, model %d; first difference at byte %d"
                             % (what, name, len(got), len(want), first))

def verify_all(model, why):
    for v, files in model["vols"].items():
        check_tree(pv_dir(v), files, "pv/%s (%s)" % (v, why))
    for s, files in model["snaps"].items():
        check_tree(vs_dir(s), files, "snapshot %s (%s)" % (s, why))
    print("verified %d volumes and %d snapshots (%s)" % (len(model["vols"]), len(model["snaps"]), why))

if mode == "verify":
    with open(model_path, "rb") as f:
        verify_all(pickle.load(f), sys.argv[6])
    sys.exit(0)

seconds, seed = float(sys.argv[6]), int(sys.argv[7])
rnd = random.Random(seed)
print("seed %d, %g s" % (seed, seconds))
# the model: live volumes and snapshots, each a dict of name -> bytearray
vols, snaps = {"v0": {}}, {}
ctl("create", "pv", "v0", "--capacity", CAPACITY)
counter = [0]
def new_name(prefix):
    counter[0] += 1
    return "%s%d" % (prefix, counter[0])
def frozen(files): return {k: bytes(v) for k, v in files.items()}
stats = {}

def op_write(v, files):
    name = rnd.choice(NAMES)
    off = rnd.randrange(MAXOFF)
    if rnd.random() < 0.5:
        off &= ~4095                     # block-aligned half of the time
    n = rnd.choice([1, 512, 4096, 4096 * rnd.randint(1, 16), rnd.randint(1, 70000)])
    data = rnd.randbytes(n)
    fd = os.open(os.path.join(pv_dir(v), name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert os.pwrite(fd, data, off) == n
        if rnd.random() < 0.1:
            os.fsync(fd)
    finally:
        os.close(fd)
    b = files.setdefault(name, bytearray())
    if len(b) < off:
        b.extend(bytes(off - len(b)))
    b[off:off + n] = data

def op_truncate(v, files):
    name = rnd.choice(list(files) or NAMES)
    size = rnd.choice([0, rnd.randrange(MAXOFF), rnd.randrange(4096) * 4096, rnd.randrange(100000)])
    if name not in files:
        open(os.path.join(pv_dir(v), name), "wb").close()
        files[name] = bytearray()
    os.truncate(os.path.join(pv_dir(v), name), size)
    b = files[name]
    if size < len(b):
        del b[size:]
    else:
        b.extend(bytes(size - len(b)))

def op_punch(v, files):
    if not files:
        return
    name = rnd.choice(list(files))
    b = files[name]
    off = rnd.randrange(max(len(b), 1) + 8192)
    n = rnd.choice([4096, rnd.randint(1, 300000), 4096 * rnd.randint(1, 64)])
    fd = os.open(os.path.join(pv_dir(v), name), os.O_RDWR)
    try:
        if libc.fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, n) != 0:
            e = ctypes.get_errno()
            raise OSError(e, "fallocate punch %s at %d+%d: %s" % (name, off, n, os.strerror(e)))
    finally:
        os.close(fd)
    end = min(off + n, len(b))
    if off < end:
        b[off:end] = bytes(end - off)

def op_allocate(v, files):
    name = rnd.choice(list(files) or NAMES)
    off, n = rnd.randrange(MAXOFF), rnd.randint(1, 200000)
    fd = os.open(os.path.join(pv_dir(v), name), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, off, n)
    finally:
        os.close(fd)
    b = files.setdefault(name, bytearray())
    if len(b) < off + n:
        b.extend(bytes(off + n - len(b)))

def op_rename(v, files):
    if not files:
        return
    a, b = rnd.choice(list(files)), rnd.choice(NAMES)
    os.rename(os.path.join(pv_dir(v), a), os.path.join(pv_dir(v), b))
    if a != b:
        files[b] = files.pop(a)

def op_unlink(v, files):
    if files and rnd.random() < 0.5:
        name = rnd.choice(list(files))
        os.unlink(os.path.join(pv_dir(v), name))
        del files[name]

DATA_OPS = [(op_write, 50), (op_truncate, 8), (op_punch, 15), (op_allocate, 6), (op_rename, 8), (op_unlink, 3)]

def data_op():
    v = rnd.choice(list(vols))
    os.makedirs(os.path.join(pv_dir(v), "d"), exist_ok=True)
    op = rnd.choices([o for o, _ in DATA_OPS], [w for _, w in DATA_OPS])[0]
    op(v, vols[v])
    stats[op.__name__] = stats.get(op.__name__, 0) + 1

def sync_all():
    # fsync every file and directory: sync(2) does not reach a FUSE daemon
    for v in vols:
        for d, dirs, names in os.walk(pv_dir(v)):
            for n in names + ["."]:
                fd = os.open(os.path.join(d, n), os.O_RDONLY)
                os.fsync(fd)
                os.close(fd)

def control_op():
    kind = rnd.choice(["snapshot", "snapshot", "restore", "clone", "delete-vs", "delete-pv", "verify"])
    if kind == "snapshot" and len(snaps) < MAX_SNAPS:
        v, s = rnd.choice(list(vols)), new_name("s")
        ctl("snapshot", "pv/" + v, s)
        snaps[s] = frozen(vols[v])
        check_tree(vs_dir(s), snaps[s], "snapshot %s of %s, just taken" % (s, v))
    elif kind == "restore" and snaps and len(vols) < MAX_VOLS:
        s, v = rnd.choice(list(snaps)), new_name("r")
        ctl("restore", s, "pv/" + v)
        vols[v] = {k: bytearray(b) for k, b in snaps[s].items()}
        check_tree(pv_dir(v), vols[v], "pv/%s restored from %s" % (v, s))
    elif kind == "clone" and len(vols) < MAX_VOLS:
        src, v = rnd.choice(list(vols)), new_name("c")
        ctl("clone", "pv/" + src, "pv/" + v)
        vols[v] = {k: bytearray(b) for k, b in vols[src].items()}
        check_tree(pv_dir(v), vols[v], "pv/%s cloned from %s" % (v, src))
    elif kind == "delete-vs" and snaps:
        s = rnd.choice(list(snaps))
        ctl("delete", "vs", s)
        del snaps[s]
        if os.path.exists(vs_dir(s)):
            raise SystemExit("snapshot %s still browsable after delete" % s)
    elif kind == "delete-pv" and len(vols) > 2:
        v = rnd.choice(list(vols))
        ctl("delete", "pv", v)
        del vols[v]
    elif kind == "verify":
        # a random sample in the middle of the run
        for s in rnd.sample(list(snaps), min(2, len(snaps))):
            check_tree(vs_dir(s), snaps[s], "snapshot %s, mid-run" % s)
        v = rnd.choice(list(vols))
        check_tree(pv_dir(v), vols[v], "pv/%s, mid-run" % v)
    else:
        return
    stats[kind] = stats.get(kind, 0) + 1

end = time.time() + seconds
ops = 0
while time.time() < end:
    if rnd.random() < 0.04:
        control_op()
    else:
        data_op()
    ops += 1
sync_all()
model = {"vols": {v: frozen(f) for v, f in vols.items()}, "snaps": snaps}
with open(model_path, "wb") as f:
    pickle.dump(model, f)
print("%d operations: %s" % (ops, ", ".join("%s %d" % kv for kv in sorted(stats.items()))))
for need in ("snapshot", "restore", "clone", "delete-vs", "op_punch", "op_rename", "op_truncate"):
    if not stats.get(need):
        raise SystemExit("the run never did %s; run longer" % need)
verify_all(model, "end of run")
PYEOF
}

@test "random writes, truncates, punches and renames interleaved with snapshots, restores, clones and deletions" {
    write_stress
    local seed=${VOLFS_STRESS_SEED:-$(($(date +%s%N) % 1000000007))}
    local secs=${VOLFS_STRESS_SECONDS:-40}
    echo "# stress seed $seed (VOLFS_STRESS_SEED=$seed replays it)" >&3
    run "$PY" "$VOLFS_TMP/stress.py" run "$VOLFS_BIN/volctl" "$STATE" "$MNT" "$VOLFS_TMP/model" "$secs" "$seed"
    echo "# ${lines[*]: -2}" >&3
    [ "$status" -eq 0 ] || fail "stress failed (seed $seed): $output"
    run volctl check
    assert_success
    assert_output "no problems found"
    # everything is still there after a clean restart ...
    volfs_stop
    volfs_launch
    run "$PY" "$VOLFS_TMP/stress.py" verify "$VOLFS_BIN/volctl" "$STATE" "$MNT" "$VOLFS_TMP/model" "after restart"
    [ "$status" -eq 0 ] || fail "after restart (seed $seed): $output"
    # ... and after kill -9 (everything was synced before the model was saved)
    volfs_kill9
    volfs_launch
    run "$PY" "$VOLFS_TMP/stress.py" verify "$VOLFS_BIN/volctl" "$STATE" "$MNT" "$VOLFS_TMP/model" "after kill -9"
    [ "$status" -eq 0 ] || fail "after kill -9 (seed $seed): $output"
    run volctl check
    assert_success
    assert_output "no problems found"
}
