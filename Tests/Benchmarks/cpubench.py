#!/usr/bin/env python3
"""Kiln vs ONNX Runtime by thread CPU time per inference, 1 thread, interleaved rounds.

    .venv/bin/python Tests/Benchmarks/cpubench.py --plans DIR [--models a,b] [--rounds 3]
        [--iterations N] [--bench-plan Runtime/build/bench-plan] [--int8] [--json out.json]

On a machine shared with other work, wall time mostly measures waiting for a core; the
CPU time of the running thread does not. For each model (Graphs models and, when their
plans are in DIR, full-size resnet18 / mobilenetv2 from `kilnutil.full_size_manifest()`):
- Kiln: `bench-plan PLAN 1 N` with KILN_BENCH_CPU=1 (median thread CPU time of N runs);
- ORT 1.32, all graph optimizations, intra-op threads 1 (runs on the calling thread):
  `time.thread_time` around each of N runs, median;
rounds alternate Kiln and ORT; the median over rounds is reported, with the ratio
Kiln / ORT (below 1: Kiln faster) and the geometric mean of the ratios.

DIR holds NAME.kplan for each model (compile them with `kiln compile -O2`). With --int8,
the ORT side runs DIR/NAME.qdq.onnx when present (a quantize_static model) instead of
the fp32 ONNX file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Python"))
import kilnutil  # noqa: E402

ORT = r"""
import sys, time, statistics
import numpy as np, onnxruntime as ort
model, iters = sys.argv[1], int(sys.argv[2])
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
rng = np.random.default_rng(0)
types = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}
feeds = {}
for i in sess.get_inputs():
    shape = [d if isinstance(d, int) else 1 for d in i.shape]
    t = types.get(i.type, np.float32)
    feeds[i.name] = (rng.uniform(-1, 1, shape) if t == np.float32 else np.zeros(shape)).astype(t)
for _ in range(5):
    sess.run(None, feeds)
cpu = []
for _ in range(iters):
    t = time.thread_time()
    sess.run(None, feeds)
    cpu.append((time.thread_time() - t) * 1000)
print(statistics.median(cpu))
"""


def iterations_for(ms: float) -> int:
    """About 0.3 s of work per measurement, between 10 and 2000 runs."""
    return max(10, min(2000, int(300 / max(ms, 1e-3))))


def kiln_ms(bench: Path, plan: Path, iters: int) -> float:
    out = subprocess.run([str(bench), str(plan), "1", str(iters)], capture_output=True, text=True,
                         check=True, env={**os.environ, "KILN_BENCH_CPU": "1"}).stdout
    return float(re.search(r"median ([0-9.]+) ms", out).group(1))


def ort_ms(model: Path, iters: int) -> float:
    out = subprocess.run([sys.executable, "-c", ORT, str(model), str(iters)], capture_output=True,
                         text=True, check=True).stdout
    return float(out.strip())


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plans", type=Path, required=True, help="folder with NAME.kplan per model")
    p.add_argument("--models", help="comma-separated model names (default: every plan in --plans)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--iterations", type=int, help="runs per measurement (default: ~0.3 s of work)")
    p.add_argument("--bench-plan", type=Path, default=REPO / "Runtime" / "build" / "bench-plan")
    p.add_argument("--int8", action="store_true", help="ORT side runs PLANS/NAME.qdq.onnx")
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    if not a.bench_plan.exists():
        sys.exit(f"cpubench: {a.bench_plan} not found (make -C Runtime build/bench-plan)")
    onnx = {n: kilnutil.graphs_dir() / e["file"] for n, e in kilnutil.load_manifest()["models"].items()}
    names = a.models.split(",") if a.models else sorted(q.stem for q in a.plans.glob("*.kplan"))
    if any(n in ("resnet18", "mobilenetv2") for n in names):
        fs = kilnutil.full_size_manifest()
        onnx.update({n: kilnutil.full_size_dir() / e["file"] for n, e in fs["models"].items()})
    rows, ratios = {}, []
    for n in names:
        plan = a.plans / f"{n}.kplan"
        model = a.plans / f"{n}.qdq.onnx" if a.int8 and (a.plans / f"{n}.qdq.onnx").exists() else onnx[n]
        if not plan.exists():
            sys.exit(f"cpubench: no plan {plan}")
        iters = a.iterations or iterations_for(kiln_ms(a.bench_plan, plan, 5))
        ks, os_ = [], []
        for r in range(a.rounds):
            ks.append(kiln_ms(a.bench_plan, plan, iters))
            os_.append(ort_ms(model, iters))
        k, o = statistics.median(ks), statistics.median(os_)
        rows[n] = {"kiln_ms": k, "ort_ms": o, "ratio": k / o, "kiln_runs": ks, "ort_runs": os_}
        ratios.append(k / o)
        print(f"{n:18s} kiln {k:9.4f} ms  ort {o:9.4f} ms  ratio {k / o:5.2f}", flush=True)
    geo = math.exp(sum(map(math.log, ratios)) / len(ratios))
    print(f"{'geomean':18s} {len(ratios)} models ratio {geo:5.2f}")
    if a.json:
        a.json.write_text(json.dumps({"models": rows, "geomean": geo}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
