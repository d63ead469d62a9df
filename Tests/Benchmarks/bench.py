#!/usr/bin/env python3
"""Kiln vs ONNX Runtime, side by side in one run on this machine.

    .venv/bin/python Tests/Benchmarks/bench.py [--models mlp,resnet18] [--threads 1,2]
        [--opt O2] [--iterations 50] [--repeats 3] [--full-size DIR] [--json out.json]

For every Graphs model (and full-size ResNet-18 / MobileNetV2, written by
Graphs/generate.py --full-size into DIR when missing) it compiles a plan, then measures
at each thread count:
- Kiln: `kiln bench` (the C runtime in-process, no Python in the timed loop), median
  latency; the run is repeated `--repeats` times and the median of medians kept;
- ONNX Runtime 1.32 with all graph optimizations, intra-op threads = N, the same
  inputs, median of `--iterations` timed runs after warm-up, in a separate process so
  its peak RSS is its own;
and prints a table of ratios (Kiln / ORT: below 1 means Kiln is faster), peak RSS and
file sizes, plus GFLOP/s from `kiln inspect --format json` FLOP counts. The machine is
shared and noisy: read ratios, not absolute times.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Python"))
import kilnutil  # noqa: E402

ORT_SNIPPET = r"""
import json, resource, sys, time, statistics
import numpy as np, onnxruntime as ort
model, threads, iters, warmup = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
feeds = {k: np.load(v) for k, v in json.loads(sys.argv[5]).items()}
so = ort.SessionOptions()
so.intra_op_num_threads = threads
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
t0 = time.perf_counter()
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
sess.run(None, feeds)
cold = time.perf_counter() - t0
for _ in range(warmup):
    sess.run(None, feeds)
times = []
for _ in range(iters):
    t = time.perf_counter()
    sess.run(None, feeds)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"median_ms": statistics.median(times), "min_ms": min(times),
                  "cold_s": cold, "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def run(cmd, **kw):
    return subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=True, **kw)


def models(full_size_dir: Path) -> dict[str, tuple[Path, dict]]:
    """{name: (model dir, manifest entry)} for Graphs models and the full-size nets."""
    result = {n: (kilnutil.graphs_dir(), e) for n, e in kilnutil.load_manifest()["models"].items()}
    if not (full_size_dir / "manifest.json").exists():
        print(f"bench: writing full-size ResNet-18 and MobileNetV2 to {full_size_dir} ...", flush=True)
        run([sys.executable, REPO / "Graphs" / "generate.py", "--full-size", full_size_dir])
    for n, e in kilnutil.load_manifest(full_size_dir)["models"].items():
        result[n] = (full_size_dir, e)
    return result


def kiln_median(kiln: Path, plan: Path, inputs: list[str], threads: int, iters: int, repeats: int) -> dict:
    medians, rss = [], 0
    for _ in range(repeats):
        out = run([kiln, "bench", plan, "--threads", threads, "--iterations", iters, "--warmup", 5, *inputs]).stdout
        medians.append(float(re.search(r"^median ([0-9.]+) ms", out, re.M).group(1)))
        rss = max(rss, int(re.search(r"^peak RSS (\d+) KiB", out, re.M).group(1)))
    return {"median_ms": statistics.median(medians), "runs": medians, "peak_rss_kib": rss}


def ort_median(model: Path, feeds: dict[str, str], threads: int, iters: int, repeats: int) -> dict:
    results = [json.loads(run([sys.executable, "-c", ORT_SNIPPET, model, threads, iters, 5, json.dumps(feeds)]).stdout)
               for _ in range(repeats)]
    return {"median_ms": statistics.median(r["median_ms"] for r in results),
            "runs": [r["median_ms"] for r in results],
            "peak_rss_kib": max(r["peak_rss_kib"] for r in results),
            "cold_s": statistics.median(r["cold_s"] for r in results)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Kiln vs ONNX Runtime latency, side by side.")
    p.add_argument("--models", help="comma-separated model names (default: all)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--opt", default="O2", choices=["O0", "O1", "O2", "O3"])
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--full-size", type=Path, default=Path(tempfile.gettempdir()) / "kiln-full-size")
    p.add_argument("--json", type=Path, help="also write the results here")
    args = p.parse_args(argv)

    kiln = kilnutil.kiln_binary()
    threads = [int(t) for t in args.threads.split(",")]
    todo = models(args.full_size)
    if args.models:
        todo = {n: todo[n] for n in args.models.split(",")}
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    rows = []
    for name, (base, entry) in todo.items():
        model = base / entry["file"]
        plan = work / f"{name}.kplan"
        t0 = time.perf_counter()
        run([kiln, "compile", model, "-o", plan, f"-{args.opt}"])
        compile_s = time.perf_counter() - t0
        flops = json.loads(run([kiln, "inspect", model, "--format", "json"]).stdout)["flops_total"]
        inputs = [f"--input={i['name']}={base / i['file']}" for i in entry["inputs"]]
        feeds = {i["name"]: str(base / i["file"]) for i in entry["inputs"]}
        row = {"model": name, "gflop": flops / 1e9, "onnx_bytes": model.stat().st_size,
               "plan_bytes": plan.stat().st_size, "compile_s": compile_s, "threads": {}}
        for t in threads:
            k = kiln_median(kiln, plan, inputs, t, args.iterations, args.repeats)
            o = ort_median(model, feeds, t, args.iterations, args.repeats)
            row["threads"][t] = {"kiln": k, "ort": o, "ratio": k["median_ms"] / o["median_ms"],
                                 "kiln_gflops": flops / 1e6 / k["median_ms"]}
            print(f"{name:18} {t}T kiln {k['median_ms']:8.3f} ms  ort {o['median_ms']:8.3f} ms  "
                  f"ratio {k['median_ms'] / o['median_ms']:5.2f}  ({flops / 1e6 / k['median_ms']:6.1f} GFLOP/s)", flush=True)
        rows.append(row)

    print()
    header = f"| model | GFLOP | " + " | ".join(f"Kiln {t}T ms | ORT {t}T ms | ratio {t}T" for t in threads) + \
             " | Kiln GFLOP/s 1T | peak RSS Kiln/ORT MiB | plan / ONNX KiB |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for r in rows:
        cells = []
        for t in threads:
            d = r["threads"][t]
            cells += [f"{d['kiln']['median_ms']:.3f}", f"{d['ort']['median_ms']:.3f}", f"{d['ratio']:.2f}"]
        d1 = r["threads"][threads[0]]
        print(f"| {r['model']} | {r['gflop']:.3f} | " + " | ".join(cells) +
              f" | {d1['kiln_gflops']:.1f} | {d1['kiln']['peak_rss_kib'] / 1024:.0f} / {d1['ort']['peak_rss_kib'] / 1024:.0f}"
              f" | {r['plan_bytes'] / 1024:.0f} / {r['onnx_bytes'] / 1024:.0f} |")
    for t in threads:
        geo = math.exp(statistics.mean(math.log(r["threads"][t]["ratio"]) for r in rows))
        print(f"geometric mean ratio at {t} thread(s): {geo:.2f}")
    result = {"date": time.strftime("%Y-%m-%d"), "machine": f"{platform.machine()} {os.cpu_count()} cpus",
              "opt": args.opt, "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
