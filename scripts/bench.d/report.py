#!/usr/bin/env python3
"""Markdown report for scripts/bench: reads the per-run records and writes RESULTS.md."""

import argparse
import datetime
import json
import os
import statistics

ap = argparse.ArgumentParser()
for a in ("records", "gens", "work", "trees", "seed", "runs", "sizes", "nproc", "mem-kb", "cpu",
          "commit", "load", "scan-version", "rg-version", "names", "names-from", "elapsed"):
    ap.add_argument("--" + a, required=True)
args = ap.parse_args()

runs = {}  # (size, tool) -> [(wall, rss_kb, rc)]
cpu = {}  # (size, tool) -> [user + sys seconds]
with open(args.records) as f:
    for line in f:
        size, tool, _run, wall, rss, rc, user, sys_s = line.rstrip("\n").split("\t")
        runs.setdefault((int(size), tool), []).append((float(wall), int(rss or 0), int(rc)))
        cpu.setdefault((int(size), tool), []).append(float(user or 0) + float(sys_s or 0))
gens = {}
with open(args.gens) as f:
    for line in f:
        size, secs = line.split()
        gens[int(size)] = float(secs)

sizes = [int(s) for s in args.sizes.split(",")]
rows = []
for n in sizes:
    man = json.load(open(os.path.join(args.trees, f"t{n}-s{args.seed}", "MANIFEST.json")))
    try:
        summ = json.load(open(os.path.join(args.work, f"summary-{n}.json")))
    except OSError:
        summ = {"error": "no report"}
    ours = runs.get((n, "pgtap-scan"), [])
    rg = runs.get((n, "rg"), [])
    ours_wall = statistics.median(w for w, _, _ in ours)
    rg_wall = statistics.median(w for w, _, _ in rg)
    found = summ.get("summary", {}).get("assertions")
    files_seen = summ.get("summary", {}).get("files")
    try:
        rg_files = int(open(os.path.join(args.work, f"rg-files-{n}")).read().strip())
    except (OSError, ValueError):
        rg_files = None
    rows.append({
        "n": n, "bytes": man["bytes"], "manifest": man["assertions"], "files": man["files"],
        "ours": ours_wall, "rg": rg_wall,
        "ours_rss": max(r for _, r, _ in ours) / 1024, "rg_rss": max(r for _, r, _ in rg) / 1024,
        "ours_rc": sorted({c for _, _, c in ours}), "found": found, "files_seen": files_seen,
        "rg_files": rg_files, "errors": summ.get("summary", {}).get("errors"),
        "warnings": summ.get("summary", {}).get("warnings"), "stats": summ.get("stats", {}),
        "report_error": summ.get("error"), "ours_runs": ours, "rg_runs": rg,
        "ours_cpu": statistics.median(cpu.get((n, "pgtap-scan"), [0])),
        "rg_cpu": statistics.median(cpu.get((n, "rg"), [0])),
        "objects": summ.get("objects"),
    })

def fmt_s(x):
    return f"{x:.2f}" if x < 100 else f"{x:.0f}"

out = []
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
mem_gb = int(args.mem_kb) / 1024 / 1024
out.append("# pgtap-scan vs ripgrep")
out.append("")
out.append(f"- Date: {now}; commit {args.commit}; the whole run (build, trees, timings) took "
           f"{int(args.elapsed) / 60:.1f} min")
out.append(f"- Machine: {args.nproc} cores ({args.cpu}), {mem_gb:.1f} GB memory")
out.append(f"- Load average (1, 5, 15 min) at start -> end: {args.load} "
           "(other work on the machine shows here and in the spread of the runs)")
out.append(f"- Tools: {args.scan_version or 'pgtap-scan'}; {args.rg_version}")
out.append(f"- Trees: `scripts/gen-corpus N DIR --seed {args.seed}`; {args.runs} runs per tool, "
           "alternating, after one untimed warm-up pass (caches warm)")
out.append("- pgtap-scan: `pgtap-scan DIR --format json --streaming always --quiet > out.json`")
out.append(f"- rg: `rg -c --no-messages -g '*.sql' -g '*.pg' -e '\\b(?:<{args.names} names>)\\b\\(' DIR` "
           f"(names from {args.names_from})")
out.append("")
out.append("| files | MB | pgtap-scan s | rg s | ratio (ours/rg) | pgtap-scan CPU s | rg CPU s "
           "| pgtap-scan RSS MB | rg RSS MB | pgtap-scan MB/s | pgtap-scan files/s | objects "
           "| assertions found / manifest | match |")
out.append("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|:---:|")
for r in rows:
    mb = r["bytes"] / 1e6
    ok = r["found"] == r["manifest"] and r["files_seen"] == r["files"]
    found = "n/a" if r["found"] is None else f"{r['found']:,}"
    out.append(
        f"| {r['n']:,} | {mb:,.0f} | {fmt_s(r['ours'])} | {fmt_s(r['rg'])} | {r['ours'] / r['rg']:.2f} "
        f"| {fmt_s(r['ours_cpu'])} | {fmt_s(r['rg_cpu'])} "
        f"| {r['ours_rss']:.0f} | {r['rg_rss']:.0f} | {mb / r['ours']:.0f} | {r['n'] / r['ours']:,.0f} "
        f"| {'n/a' if r['objects'] is None else format(r['objects'], ',')} "
        f"| {found} / {r['manifest']:,} | {'yes' if ok else '**NO**'} |")
out.append("")
out.append("Wall time: median of the runs; CPU: median of user + system time (GNU time `%U` + `%S`); "
           "RSS: the largest peak of the runs (GNU time `%M`); objects: distinct objects in the "
           "coverage database (its memory follows them, not the files).")
out.append("")

notes = []
for r in rows:
    if r["report_error"]:
        notes.append(f"- {r['n']:,} files: pgtap-scan's report could not be read ({r['report_error']}).")
    if r["files_seen"] is not None and r["files_seen"] != r["files"]:
        notes.append(f"- {r['n']:,} files: pgtap-scan scanned {r['files_seen']:,} files, the tree has {r['files']:,}.")
    if r["rg_files"] is not None and r["rg_files"] != r["files"]:
        notes.append(f"- {r['n']:,} files: rg reported {r['rg_files']:,} files with a match (of {r['files']:,}).")
    if r["errors"] or r["warnings"]:
        notes.append(f"- {r['n']:,} files: pgtap-scan reported {r['errors']} errors and {r['warnings']} warnings "
                     "(the generated calls are valid and the plans right: expect 0).")
    if any(c != 0 for c in r["ours_rc"]):
        notes.append(f"- {r['n']:,} files: pgtap-scan exit codes {r['ours_rc']}.")
if notes:
    out.append("Notes:")
    out.extend(notes)
    out.append("")

# Targets of issue 6 that this table can speak to.
by_n = {r["n"]: r for r in rows}
targets = []
if 100000 in by_n:
    ratio = by_n[100000]["ours"] / by_n[100000]["rg"]
    targets.append(f"- Within 1.5x of rg at 100k files: {ratio:.2f}x, {'met' if ratio <= 1.5 else 'not met'}.")
if 1000000 in by_n:
    r = by_n[1000000]
    ratio = r["ours"] / r["rg"]
    targets.append(f"- At 1M files no worse than at 100k: {ratio:.2f}x"
                   + (f" (100k: {by_n[100000]['ours'] / by_n[100000]['rg']:.2f}x)" if 100000 in by_n else "") + ".")
    targets.append(f"- Peak RSS under 64 MB at 1M files (streaming, default budget): {r['ours_rss']:.0f} MB, "
                   f"{'met' if r['ours_rss'] < 64 else 'not met'}.")
ns = sorted(by_n)
for a, b in zip(ns, ns[1:]):
    ra, rb = by_n[a], by_n[b]
    scale = (rb["ours"] / rb["bytes"]) / (ra["ours"] / ra["bytes"])
    targets.append(f"- Cost per byte from {a:,} to {b:,} files: x{scale:.2f} "
                   f"({'linear or better' if scale <= 1.1 else 'worse than linear'}).")
if targets:
    out.append("Targets (issue 6):")
    out.extend(targets)
    out.append("")

out.append("<details><summary>Every run</summary>")
out.append("")
out.append("| files | tool | wall s | peak RSS MB | exit |")
out.append("|---:|---|---:|---:|---:|")
for r in rows:
    for tool, key in (("pgtap-scan", "ours_runs"), ("rg", "rg_runs")):
        for w, rss, rc in r[key]:
            out.append(f"| {r['n']:,} | {tool} | {w:.3f} | {rss / 1024:.1f} | {rc} |")
out.append("")
stats_rows = [(r["n"], r["stats"]) for r in rows if r["stats"]]
if stats_rows:
    out.append("pgtap-scan's own stats (last run): ")
    out.append("")
    out.append("| files | threads | elapsed ms | discovery ms | parse ms (all threads) | aggregate ms | peak heap MB | throttle waits |")
    out.append("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for n, s in stats_rows:
        heap = s.get("peak_heap_bytes")
        out.append(f"| {n:,} | {s.get('threads', '')} | {s.get('elapsed_ms', '')} | {s.get('discovery_ms', '')} "
                   f"| {s.get('parse_ms', '')} | {s.get('aggregate_ms', '')} | {'' if heap is None else f'{heap / 1e6:.1f}'} "
                   f"| {s.get('throttle_waits', '')} |")
    out.append("")
if gens:
    out.append("Trees generated in this run: " + ", ".join(f"{n:,} files in {s:.1f} s" for n, s in sorted(gens.items())) + ".")
    out.append("")
out.append("</details>")
print("\n".join(out))
