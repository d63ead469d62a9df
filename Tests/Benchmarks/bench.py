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

With --int8 it measures instead, per model at 1 thread: Kiln fp32, Kiln int8 (`kiln compile
--quantize int8` on --calibration-samples random-normal samples), ONNX Runtime fp32 and
ONNX Runtime running the model quantized by its own `quantize_static` (QDQ, per-channel
i8 weights, u8 activations, the same samples). Besides the median wall time it reports the
median CPU time of the running thread per inference (Kiln: KILN_PROFILE=cpu; ORT:
time.thread_time around each run, intra-op threads = 1 runs on the calling thread): on a
machine shared by many processes, wall time mostly measures waiting for a core. The four
runs are interleaved, --repeats rounds.
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


ORT_CPU_SNIPPET = r"""
import json, sys, time, statistics
import numpy as np, onnxruntime as ort
model, iters = sys.argv[1], int(sys.argv[2])
feeds = {k: np.load(v) for k, v in json.loads(sys.argv[3]).items()}
so = ort.SessionOptions()
so.intra_op_num_threads = 1
so.inter_op_num_threads = 1
so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
for _ in range(5):
    sess.run(None, feeds)
wall, cpu = [], []
for _ in range(iters):
    t, c = time.perf_counter(), time.thread_time()
    sess.run(None, feeds)
    cpu.append((time.thread_time() - c) * 1000)
    wall.append((time.perf_counter() - t) * 1000)
print(json.dumps({"median_ms": statistics.median(wall), "cpu_ms": statistics.median(cpu)}))
"""


def ort_quantize_static(model: Path, out: Path, samples: list[dict]) -> None:
    """ONNX Runtime's own static quantization: QDQ, per-channel i8 weights, u8 activations,
    after its recommended pre-processing (quant_pre_process: shape inference and graph
    optimization, which folds BatchNormalization into Conv)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(model), str(pre), skip_symbolic_shape=True)
    model = pre

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.it = iter(samples)

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(model), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def int8_bench(kiln: Path, todo: dict, work: Path, iters: int, repeats: int, nsamples: int) -> list[dict]:
    import numpy as np

    rows = []
    for name, (base, entry) in todo.items():
        model = base / entry["file"]
        (inp,) = entry["inputs"]
        rng = np.random.default_rng(0)
        cal = work / f"{name}.calibration"
        cal.mkdir(exist_ok=True)
        samples = []
        for i in range(nsamples):
            x = rng.standard_normal(inp["shape"]).astype(np.float32)
            np.save(cal / f"s{i}.npy", x)
            samples.append({inp["name"]: x})
        f32, i8 = work / f"{name}.f32.kplan", work / f"{name}.int8.kplan"
        run([kiln, "compile", model, "-o", f32])
        run([kiln, "compile", model, "-o", i8, "--quantize", "int8", "--calibration", cal])
        qdq = work / f"{name}.qdq.onnx"
        ort_quantize_static(model, qdq, samples)
        feeds = {inp["name"]: str(base / inp["file"])}
        inputs = [f"--input={inp['name']}={base / inp['file']}"]
        got = {k: {"wall": [], "cpu": []} for k in ("kiln_f32", "kiln_int8", "ort_f32", "ort_int8")}
        for _ in range(repeats):
            for key, plan in (("kiln_f32", f32), ("kiln_int8", i8)):
                r = subprocess.run([str(kiln), "bench", str(plan), "--threads", "1", "--iterations", str(iters), *inputs],
                                   capture_output=True, text=True, check=True, env={**os.environ, "KILN_PROFILE": "cpu"})
                got[key]["wall"].append(float(re.search(r"^median ([0-9.]+) ms", r.stdout, re.M).group(1)))
                got[key]["cpu"].append(float(re.search(r"([0-9.]+) ms CPU per run", r.stderr).group(1)))
            for key, m in (("ort_f32", model), ("ort_int8", qdq)):
                o = json.loads(run([sys.executable, "-c", ORT_CPU_SNIPPET, m, iters, json.dumps(feeds)]).stdout)
                got[key]["wall"].append(o["median_ms"])
                got[key]["cpu"].append(o["cpu_ms"])
        row = {"model": name, **{k: {m: statistics.median(v[m]) for m in v} | {"runs": v} for k, v in got.items()}}
        print(f"{name:12} " + "  ".join(f"{k} {row[k]['cpu']:.2f} ms cpu / {row[k]['wall']:.1f} ms wall" for k in got), flush=True)
        rows.append(row)
    print()
    print("| model (1 thread, median ms: CPU / wall) | Kiln fp32 | Kiln int8 | ORT fp32 | ORT int8 QDQ | "
          "Kiln int8 / Kiln fp32 | Kiln int8 / ORT int8 |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        cell = lambda k: f"{r[k]['cpu']:.2f} / {r[k]['wall']:.1f}"
        print(f"| {r['model']} | {cell('kiln_f32')} | {cell('kiln_int8')} | {cell('ort_f32')} | {cell('ort_int8')} | "
              f"{r['kiln_int8']['cpu'] / r['kiln_f32']['cpu']:.2f} | {r['kiln_int8']['cpu'] / r['ort_int8']['cpu']:.2f} |")
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Kiln vs ONNX Runtime latency, side by side.")
    p.add_argument("--models", help="comma-separated model names (default: all)")
    p.add_argument("--threads", default="1,2")
    p.add_argument("--opt", default="O2", choices=["O0", "O1", "O2", "O3"])
    p.add_argument("--iterations", type=int, default=50)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--full-size", type=Path, default=Path(tempfile.gettempdir()) / "kiln-full-size")
    p.add_argument("--json", type=Path, help="also write the results here")
    p.add_argument("--int8", action="store_true", help="int8 mode: Kiln fp32/int8 vs ORT fp32/quantize_static QDQ, 1 thread")
    p.add_argument("--calibration-samples", type=int, default=4)
    args = p.parse_args(argv)

    kiln = kilnutil.kiln_binary()
    threads = [int(t) for t in args.threads.split(",")]
    todo = models(args.full_size)
    if args.models:
        todo = {n: todo[n] for n in args.models.split(",")}
    work = Path(tempfile.mkdtemp(prefix="kiln-bench-"))
    if args.int8:
        if not args.models:
            todo = {n: todo[n] for n in ("resnet18", "mobilenetv2")}
        rows = int8_bench(kiln, todo, work, args.iterations, args.repeats, args.calibration_samples)
        if args.json:
            args.json.write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "mode": "int8", "rows": rows}, indent=1))
        return 0
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
