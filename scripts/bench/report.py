#!/usr/bin/env python3
"""Helpers for scripts/bench/run.sh and pg.sh (python3 standard library only).

  report.py fio KIND FILE.json
      Print "VALUE P99_US OPS" for one fio run (P99_US is "-" when fio gives
      none; OPS the I/Os it completed, read + write):
        bw     MiB/s of the direction that moved data (read + write)
        iops   IOPS, read + write; p99 of the reads if any, else of the writes
        fsync  write IOPS; p99 of the fdatasync calls
        files  operations per second of filecreate/filestat/filedelete
      Latencies are fio's completion latencies (clat), in microseconds.

  report.py report OUTDIR
      Read OUTDIR/workloads.tsv and OUTDIR/raw.csv (one row per run) and write
      OUTDIR/results.csv and OUTDIR/results.md (medians and ratios; the CSV
      also has each system's min and max over the runs), and
      OUTDIR/ratios.dat + OUTDIR/ratios.gp, then OUTDIR/ratios.png with gnuplot
      when it is installed. Prints the Markdown on stdout.

  report.py hostwrite OUTDIR
      Read OUTDIR/hostwrite.csv (run,way,ops_per_s,us_per_op: scripts/bench/
      hostwrite.c's runs) and print a Markdown table of each way's medians.

  report.py pg OUTDIR SCALE TPCB_SECONDS SELECT_SECONDS CLIENTS ENGINE
      scripts/bench/pg.sh's report: read OUTDIR/raw.csv
      (round,system,metric,value) and OUTDIR/ops.csv
      (system,round,phase,op,count), write OUTDIR/results.md (medians,
      min–max, each volfs system against native; each daemon's requests per
      phase, CPU seconds and CPU per transaction) and print it.

workloads.tsv columns (tab-separated, with a header line):
  name unit higher target_ptll target_native description
  higher: 1 if a larger value is better (throughput), 0 if smaller (seconds)
  target_*: the ratio volfs must reach against that system, or "-"
raw.csv columns: workload,system,run,value,p99_us[,ops,daemon_cpu_s]
  ops: I/Os fio completed ("-" for tar); daemon_cpu_s: CPU seconds the FUSE
  daemon used during the run ("-" for native)
"""

import csv
import json
import os
import shutil
import statistics
import subprocess
import sys

SYSTEMS = ("native", "passthrough_ll", "volfs", "volfs_uring", "volfs_wb")


def p99_us(side):
    pct = side.get("clat_ns", {}).get("percentile") or side.get("lat_ns", {}).get("percentile")
    if not pct:
        return None
    v = pct.get("99.000000")
    return None if v is None else v / 1000.0


def fio_figures(kind, path):
    with open(path) as f:
        text = f.read()
    # fio may print warnings before the JSON document
    doc = json.loads(text[text.index("{"):])
    jobs = doc["jobs"]
    if len(jobs) != 1:
        raise SystemExit("report.py: %s: want 1 job (group_reporting), got %d" % (path, len(jobs)))
    j = jobs[0]
    if j.get("error"):
        raise SystemExit("report.py: %s: fio error %d" % (path, j["error"]))
    rd, wr = j["read"], j["write"]
    moved_r = rd["total_ios"] > 0
    lat_side = rd if moved_r else wr
    if kind == "bw":
        value = (rd["bw_bytes"] + wr["bw_bytes"]) / 1048576.0
        p99 = p99_us(lat_side)
    elif kind == "iops":
        value = rd["iops"] + wr["iops"]
        p99 = p99_us(lat_side)
    elif kind == "fsync":
        value = wr["iops"]
        sync = j.get("sync", {})
        pct = sync.get("lat_ns", {}).get("percentile")
        p99 = pct["99.000000"] / 1000.0 if pct and "99.000000" in pct else None
    elif kind == "files":
        value = rd["iops"] + wr["iops"]
        p99 = p99_us(lat_side)
    else:
        raise SystemExit("report.py: unknown kind %r" % kind)
    ops = rd["total_ios"] + wr["total_ios"]
    if ops == 0:
        raise SystemExit("report.py: %s: fio did no I/O" % path)
    return value, p99, ops


def fmt_value(v, unit):
    if v is None:
        return "-"
    if unit == "s":
        return "%.2f" % v
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.1f" % v


def fmt_ratio(r):
    return "-" if r is None else "%.2f×" % r


def fmt_us(v):
    if v is None:
        return "-"
    if v >= 100:
        return "{:,.0f}".format(v)
    return "%.1f" % v


def read_workloads(outdir):
    rows = []
    with open(os.path.join(outdir, "workloads.tsv")) as f:
        header = f.readline().rstrip("\n").split("\t")
        for line in f:
            if line.strip():
                rows.append(dict(zip(header, line.rstrip("\n").split("\t"))))
    return rows


def opt_float(v):
    return None if v in (None, "", "-") else float(v)


def read_raw(outdir):
    """{(workload, system): [(value, p99, daemon CPU µs per I/O)]}"""
    runs = {}
    with open(os.path.join(outdir, "raw.csv")) as f:
        for row in csv.DictReader(f):
            key = (row["workload"], row["system"])
            ops, cpu = opt_float(row.get("ops")), opt_float(row.get("daemon_cpu_s"))
            cpu_us = cpu * 1e6 / ops if ops and cpu is not None else None
            runs.setdefault(key, []).append((float(row["value"]), opt_float(row["p99_us"]), cpu_us))
    return runs


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def speed_ratio(volfs, other, higher):
    """volfs relative to other, > 1 when volfs is faster."""
    if volfs is None or other is None or volfs == 0 or other == 0:
        return None
    return volfs / other if higher else other / volfs


def extra_system_table(md, results, system, short, title, cpu_systems):
    """The table of an opt-in volfs system: its figure, its ratios to
    passthrough_ll and volfs, its p99 and the CPU per I/O of cpu_systems."""
    if not any(r[system] is not None for r in results):
        return
    md.append("")
    md.append(title)
    md.append("")
    md.append("| workload | %s | %s/passthrough_ll | %s/volfs | p99 µs %s | CPU µs/I/O %s |" % (
        system, system, system, system, " | ".join(cpu_systems)))
    md.append("|---|--:|--:|--:|--:|" + "--:|" * len(cpu_systems))
    for r in results:
        w = r["w"]
        cells = [w["name"], fmt_value(r[system], w["unit"]), fmt_ratio(r[short + "_vs_ptll"]),
                 fmt_ratio(r[short + "_vs_volfs"]), fmt_us(r[system + "_p99"])]
        cells += [fmt_us(r[s + "_cpu"]) for s in cpu_systems]
        md.append("| " + " | ".join(cells) + " |")


def report(outdir):
    workloads = read_workloads(outdir)
    runs = read_raw(outdir)
    results = []
    for w in workloads:
        higher = w["higher"] == "1"
        r = {"w": w, "n": 0}
        for s in SYSTEMS:
            got = runs.get((w["name"], s), [])
            r["n"] = max(r["n"], len(got))
            r[s] = median([v for v, _, _ in got])
            r[s + "_p99"] = median([p for _, p, _ in got])
            r[s + "_cpu"] = median([c for _, _, c in got])
            r[s + "_min"] = min([v for v, _, _ in got], default=None)
            r[s + "_max"] = max([v for v, _, _ in got], default=None)
        r["vs_native"] = speed_ratio(r["volfs"], r["native"], higher)
        r["vs_ptll"] = speed_ratio(r["volfs"], r["passthrough_ll"], higher)
        r["uring_vs_ptll"] = speed_ratio(r["volfs_uring"], r["passthrough_ll"], higher)
        r["uring_vs_volfs"] = speed_ratio(r["volfs_uring"], r["volfs"], higher)
        r["wb_vs_ptll"] = speed_ratio(r["volfs_wb"], r["passthrough_ll"], higher)
        r["wb_vs_volfs"] = speed_ratio(r["volfs_wb"], r["volfs"], higher)
        if all(r[s] is None for s in SYSTEMS):
            continue
        results.append(r)

    with open(os.path.join(outdir, "results.csv"), "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["workload", "unit", "runs"] + list(SYSTEMS) +
                     ["volfs/native", "volfs/passthrough_ll"] +
                     ["p99_us_" + s for s in SYSTEMS] +
                     [m + "_" + s for s in SYSTEMS for m in ("min", "max")])
        for r in results:
            def num(v, digits=3):
                return "" if v is None else round(v, digits)
            out.writerow([r["w"]["name"], r["w"]["unit"], r["n"]] +
                         [num(r[s]) for s in SYSTEMS] +
                         [num(r["vs_native"]), num(r["vs_ptll"])] +
                         [num(r[s + "_p99"], 1) for s in SYSTEMS] +
                         [num(r[s + "_" + m]) for s in SYSTEMS for m in ("min", "max")])

    md = []
    md.append("| workload | unit | native | passthrough_ll | volfs | volfs/native | "
              "volfs/passthrough_ll | p99 µs native | p99 µs passthrough_ll | p99 µs volfs |")
    md.append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        w = r["w"]
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            w["name"], w["unit"],
            fmt_value(r["native"], w["unit"]), fmt_value(r["passthrough_ll"], w["unit"]),
            fmt_value(r["volfs"], w["unit"]),
            fmt_ratio(r["vs_native"]), fmt_ratio(r["vs_ptll"]),
            fmt_us(r["native_p99"]), fmt_us(r["passthrough_ll_p99"]), fmt_us(r["volfs_p99"])))
    extra_system_table(md, results, "volfs_uring", "uring",
                       "volfs with `--fuse-transport=uring` (volfs_uring), and each FUSE daemon's CPU "
                       "per I/O (utime + stime over the run / fio's I/Os; median of runs):",
                       ["passthrough_ll", "volfs", "volfs_uring"])
    extra_system_table(md, results, "volfs_wb", "wb",
                       "volfs with `--writeback-cache` (volfs_wb), and its CPU per I/O beside volfs's "
                       "(utime + stime over the run / fio's I/Os; median of runs):",
                       ["volfs", "volfs_wb"])
    noisy = []
    for r in results:
        worst = max([r[s + "_max"] / r[s + "_min"] for s in SYSTEMS
                     if r[s + "_min"] and r[s + "_max"]] or [1.0])
        if r["n"] > 1 and worst >= 1.5:
            noisy.append("%s (%.1f×)" % (r["w"]["name"], worst))
    if noisy:
        md.append("")
        md.append("Runs of one system varied by 1.5× or more (largest max/min) on: %s; "
                  "results.csv has each system's min and max." % ", ".join(noisy))
    md.append("")
    md.append("Targets, from the medians above:")
    md.append("")
    md.append("| workload | target | measured | met |")
    md.append("|---|---|--:|---|")
    for r in results:
        w = r["w"]
        for col, other, label in (("target_ptll", "vs_ptll", "passthrough_ll"),
                                  ("target_native", "vs_native", "native")):
            t = w.get(col, "-")
            if t in ("", "-"):
                continue
            got = r[other]
            met = "?" if got is None else ("yes" if got >= float(t) else
                                           "no (%.0f%% short)" % (100 * (1 - got / float(t))))
            md.append("| %s | volfs ≥ %s× %s | %s | %s |" % (w["name"], t, label, fmt_ratio(got), met))
    text = "\n".join(md) + "\n"
    with open(os.path.join(outdir, "results.md"), "w") as f:
        f.write(text)
    sys.stdout.write(text)

    chart(outdir, results)


def chart(outdir, results):
    dat = os.path.join(outdir, "ratios.dat")
    with open(dat, "w") as f:
        f.write("# workload volfs/native volfs/passthrough_ll (NaN: not measured)\n")
        for r in results:
            f.write("%s %s %s\n" % (r["w"]["name"],
                                    "NaN" if r["vs_native"] is None else "%.4f" % r["vs_native"],
                                    "NaN" if r["vs_ptll"] is None else "%.4f" % r["vs_ptll"]))
    top = max([1.0] + [r[k] for r in results for k in ("vs_native", "vs_ptll") if r[k] is not None])
    gp = os.path.join(outdir, "ratios.gp")
    with open(gp, "w") as f:
        f.write("""\
set terminal pngcairo noenhanced size 1100,520 font ",10"
set output "ratios.png"
set title "volfs speed relative to native ext4 and libfuse passthrough_ll (> 1: volfs faster; median of runs)"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border -1
set boxwidth 0.9
set yrange [0:%.2f]
set ylabel "ratio"
set grid ytics
set xtics rotate by 30 right scale 0
set key top left
set arrow from graph 0, first 1 to graph 1, first 1 nohead lw 2 dt 2 lc rgb "#444444"
""" % (top * 1.1))
        # Only the columns with a figure: gnuplot fails on a column of NaN
        # (a run without native or without passthrough_ll).
        series = [(2, "volfs / native", "#4472c4", "vs_native"),
                  (3, "volfs / passthrough_ll", "#ed7d31", "vs_ptll")]
        series = [s for s in series if any(r[s[3]] is not None for r in results)]
        f.write("plot " + ", ".join('"ratios.dat" using %d:xtic(1) title "%s" lc rgb "%s"' % s[:3]
                                    for s in series) + "\n")
    if all(r[k] is None for r in results for k in ("vs_native", "vs_ptll")):
        # one system only (BENCH_SYSTEMS=volfs): no ratio to draw, and
        # gnuplot fails on columns of NaN
        sys.stderr.write("report.py: no ratios (one system only); no ratios.png\n")
    elif shutil.which("gnuplot"):
        subprocess.run(["gnuplot", "ratios.gp"], cwd=outdir, check=True)
    else:
        sys.stderr.write("report.py: gnuplot not found; no ratios.png\n")


HOSTWRITE_WAYS = {
    "pwrite": "plain `pwrite(2)` (as passthrough_ll, and volfs on ext4, write)",
    "uring": "io_uring, one write per submit-and-wait (as volfs writes on XFS and btrfs)",
    "uring-1cpu": "io_uring, thread and its io-wq pinned to one CPU",
}


def hostwrite(outdir):
    runs = {}
    with open(os.path.join(outdir, "hostwrite.csv")) as f:
        for row in csv.DictReader(f):
            runs.setdefault(row["way"], []).append((float(row["ops_per_s"]), float(row["us_per_op"])))
    md = ["", "Host write path: one 4 KiB buffered write to a file of the bench disk at a "
          "time (scripts/bench/hostwrite.c), median of %d runs:" % max(len(v) for v in runs.values()),
          "", "| way | writes/s | µs per write |", "|---|--:|--:|"]
    for way, rows in runs.items():
        md.append("| %s | %s | %.1f |" % (HOSTWRITE_WAYS.get(way, way),
                                          fmt_value(statistics.median(r[0] for r in rows), "IOPS"),
                                          statistics.median(r[1] for r in rows)))
    sys.stdout.write("\n".join(md) + "\n")


PG_SYSTEMS = ("native", "volfs", "volfs_uring", "volfs_wb")
PG_METRICS = (("tpcb_tps", "TPC-B (tps)", "speed"), ("select_tps", "select-only (tps)", "speed"),
              ("init_seconds", "pgbench -i (s)", "time"))
PG_PHASES = (("init", "pgbench -i", None), ("tpcb", "TPC-B", "tpcb_xacts"),
             ("select", "select-only", "select_xacts"))


def pg_table(val, systems):
    """The metrics' medians (min–max) on each system, and each volfs
    system's ratio to native: of speed for tps (> 1: faster), of time for
    pgbench -i."""
    others = [s for s in systems if s != "native"] if "native" in systems else []
    out = ["| metric | " + " | ".join("%s median (min–max)" % s for s in systems) +
           "".join(" | %s/native" % s for s in others) + " |",
           "|---|" + "--:|" * (len(systems) + len(others))]
    for key, label, sense in PG_METRICS:
        cells = []
        for s in systems:
            v = val.get((key, s), [])
            cells.append("%.1f (%.1f–%.1f)" % (statistics.median(v), min(v), max(v)) if v else "–")
        for s in others:
            n, v = val.get((key, "native")), val.get((key, s))
            cells.append("%.2f× %s" % (statistics.median(v) / statistics.median(n), sense)
                         if n and v and statistics.median(n) else "–")
        out.append("| %s | %s |" % (label, " | ".join(cells)))
    return out


def pg_daemon_table(system, ops, val):
    """One volfs system's FUSE requests by operation per phase, its CPU
    seconds, and CPU microseconds per transaction (each round's CPU over
    its own transaction count, the median over rounds)."""
    def med(op, phase):
        v = ops.get((system, op, phase))
        return statistics.median(v) if v else 0
    names = sorted({op for s, op, _ in ops if s == system and op != "cpu_seconds"},
                   key=lambda op: (-sum(med(op, p) for p, _, _ in PG_PHASES), op))
    out = ["", "%s daemon per phase (medians over rounds): FUSE requests by operation, "
           "CPU seconds (utime + stime of /proc/PID/stat), and CPU microseconds per "
           "transaction." % system,
           "", "| operation | " + " | ".join(l for _, l, _ in PG_PHASES) + " |",
           "|---|" + "--:|" * len(PG_PHASES)]
    for op in names + ["cpu_seconds"]:
        fmt = "%.2f" if op == "cpu_seconds" else "%.0f"
        out.append("| %s | %s |" % (op, " | ".join(fmt % med(op, p) for p, _, _ in PG_PHASES)))
    per = []
    for p, _, xkey in PG_PHASES:
        cpu, n = ops.get((system, "cpu_seconds", p), []), val.get((xkey, system), [])
        per.append("%.1f" % statistics.median(1e6 * c / x for c, x in zip(cpu, n) if x)
                   if cpu and n and len(cpu) == len(n) and any(n) else "–")
    out.append("| cpu_us_per_transaction | %s |" % " | ".join(per))
    return out


def pg(outdir, scale, tpcb, sel, clients, engine):
    rows = list(csv.DictReader(open(os.path.join(outdir, "raw.csv"))))
    val = {}
    for r in rows:
        val.setdefault((r["metric"], r["system"]), []).append(float(r["value"]))
    systems = [s for s in PG_SYSTEMS if ("init_seconds", s) in val]
    rounds = max((len(val[("init_seconds", s)]) for s in systems), default=0)
    out = ["# PostgreSQL 15 on volfs and native", "",
           "pgbench scale %s, %s client(s); TPC-B %s s, select-only %s s; initdb -k, default "
           "settings; %d rounds, interleaved; volfs %s; volfs_uring: --fuse-transport=uring." % (
               scale, clients, tpcb, sel, rounds, engine or "(engine not logged)"), ""]
    if "volfs_wb" in systems:
        out[2] += " volfs_wb: --writeback-cache (the kernel caches writes)."
    out += pg_table(val, systems)
    loads = [r["system"] + " " + r["value"] for r in rows if r["metric"] == "load1"]
    if loads:
        out += ["", "Load average (1 min) at each turn's start: %s." % ", ".join(loads)]
    ops = {}
    ops_csv = os.path.join(outdir, "ops.csv")
    if os.path.exists(ops_csv):
        for r in csv.DictReader(open(ops_csv)):
            ops.setdefault((r["system"], r["op"], r["phase"]), []).append(float(r["count"]))
    for s in systems:
        if any(k[0] == s for k in ops):
            out += pg_daemon_table(s, ops, val)
    text = "\n".join(out) + "\n"
    open(os.path.join(outdir, "results.md"), "w").write(text)
    sys.stdout.write(text)


def main(argv):
    if len(argv) == 4 and argv[1] == "fio":
        value, p99, ops = fio_figures(argv[2], argv[3])
        print("%.6g %s %d" % (value, "-" if p99 is None else "%.3f" % p99, ops))
    elif len(argv) == 3 and argv[1] == "report":
        report(argv[2])
    elif len(argv) == 3 and argv[1] == "hostwrite":
        hostwrite(argv[2])
    elif len(argv) == 8 and argv[1] == "pg":
        pg(*argv[2:])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
