#!/usr/bin/env python3
"""The real trained models (scripts/fetch-real-models) against ONNX Runtime, 1 thread:

    .venv/bin/python Tests/Benchmarks/realbench.py [--models a,b] [--rounds 3] [--int8]
        [--bench-plan Runtime/build/bench-plan] [--work DIR]

- fp32 speed: thread CPU time per inference of the -O2 plan (bench-plan, KILN_BENCH_CPU=1)
  and of ORT (all graph optimizations) on the same model pinned to the first input shape of
  Tests/Python/test_real_models.py's MODELS, interleaved rounds, medians (cpubench.py's
  method), and the ratio Kiln / ORT. Models that are not image CNNs (kind != image: Silero,
  Magika, basic-pitch, MiniLM) are timed in ORT on the shipped model with the test's
  realistic inputs (ort_ms_real_inputs); bench-plan feeds small random floats and zero ints.
- --int8 (the CNNs of test_real_models.INT8): the same calibration and held-out images as
  the test; cosine to ORT fp32 and task agreement for Kiln `--quantize int8` and for ORT's
  quantize_static (bench.ort_quantize_static, on the model converted to opset 13 when older:
  ORT 1.32 writes int32 bias DequantizeLinear nodes that opset 11/12 reject).
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
sys.path.insert(0, str(REPO / "Tests" / "Python"))
sys.path.insert(0, str(HERE))
import cpubench  # noqa: E402
import kilnutil  # noqa: E402
import test_real_models as real  # noqa: E402


def pinned_copy(name: str, out: Path) -> Path:
    """The model with its input's shape fixed to MODELS[name].shapes[0] (ORT then plans
    for that shape, as Kiln does)."""
    import onnx

    m = real.MODELS[name]
    model = onnx.load(str(kilnutil.real_model(m.file)))
    (vi,) = [i for i in model.graph.input if i.name == m.input]
    for d, v in zip(vi.type.tensor_type.shape.dim, m.shapes[0]):
        d.Clear()
        d.dim_value = v
    onnx.save(model, str(out))
    return out


def ort_ms_real_inputs(name: str, iters: int) -> float:
    """ORT's median thread CPU time per run (cpubench's settings) on the model as shipped,
    fed test_real_models' realistic inputs for its first shape (bound inputs included).
    For the models that are not single-image CNNs: several inputs, int token inputs that
    zeros would not exercise, and Silero's If, which ORT 1.32 fails to inline once its
    sample rate is a constant."""
    import time

    import onnxruntime as ort

    m = real.MODELS[name]
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(kilnutil.real_model(m.file)), so, providers=["CPUExecutionProvider"])
    feeds = real.make_inputs(name, m.shapes[0], np.random.default_rng(0))
    feeds.update(real.bindings(name, m.shapes[0]))
    for _ in range(5):
        sess.run(None, feeds)
    cpu = []
    for _ in range(iters):
        t = time.thread_time()
        sess.run(None, feeds)
        cpu.append((time.thread_time() - t) * 1000)
    return statistics.median(cpu)


def compile_plan(kiln: Path, name: str, plan: Path, *extra: str) -> tuple[Path, str]:
    """The plan and kiln compile's stdout."""
    m = real.MODELS[name]
    run = subprocess.run([str(kiln), "compile", str(kilnutil.real_model(m.file)), "-o", str(plan),
                          *real.pin_args(name, m.shapes[0]), *extra], check=True, capture_output=True, text=True)
    return plan, run.stdout


def speed(kiln: Path, bench: Path, names: list[str], work: Path, rounds: int) -> None:
    print("| model | input | Kiln fp32 ms | ORT fp32 ms | Kiln / ORT |\n|---|---|---|---|---|")
    ratios = []
    for name in names:
        plan, _ = compile_plan(kiln, name, work / f"{name}.kplan", "-O2")
        if real.MODELS[name].kind == "image":
            onnx_file = pinned_copy(name, work / f"{name}.onnx")
            ort_ms = lambda n: cpubench.ort_ms(onnx_file, n)  # noqa: E731
        else:
            ort_ms = lambda n: ort_ms_real_inputs(name, n)  # noqa: E731
        iters = cpubench.iterations_for(ort_ms(3))
        k, o = [], []
        for _ in range(rounds):
            k.append(cpubench.kiln_ms(bench, plan, iters))
            o.append(ort_ms(iters))
        km, om = statistics.median(k), statistics.median(o)
        ratios.append(km / om)
        shape = "x".join(map(str, real.MODELS[name].shapes[0]))
        print(f"| {name} | {shape} | {km:.2f} | {om:.2f} | {km / om:.2f} |", flush=True)
    print(f"geomean Kiln / ORT: {statistics.geometric_mean(ratios):.2f}")


def int8(kiln: Path, names: list[str], work: Path) -> None:
    import onnx
    import onnxruntime as ort
    from bench import ort_quantize_static
    from onnx import version_converter

    print("| model | Kiln int8 layers (of candidates; Conv/Gemm/MatMul in the model) | Kiln int8 cosine min / mean"
          " | agreement | ORT QDQ cosine min / mean | agreement |")
    print("|---|---|---|---|---|---|")
    for name in names:
        m = real.MODELS[name]
        shape = m.shapes[0]
        rng = np.random.default_rng(10)  # the test's calibration and held-out images
        cal = work / f"{name}.cal"
        cal.mkdir(exist_ok=True)
        samples = []
        for i in range(8):
            x = kilnutil.image_like(rng, shape, m.lo, m.hi)
            np.save(cal / f"s{i}.npy", x)
            samples.append({m.input: x})
        held = [kilnutil.image_like(rng, shape, m.lo, m.hi) for _ in range(8)]
        plan, said = compile_plan(kiln, name, work / f"{name}.int8.kplan", "--quantize", "int8", "--calibration", str(cal))
        layers = re.search(r"quantized (\d+ of \d+) ops", said).group(1)
        convs = sum(n.op_type in ("Conv", "Gemm", "MatMul") for n in onnx.load(str(kilnutil.real_model(m.file))).graph.node)
        src = pinned_copy(name, work / f"{name}.onnx")
        model = onnx.load(str(src))
        if next(o.version for o in model.opset_import if o.domain in ("", "ai.onnx")) < 13:
            onnx.save(version_converter.convert_version(model, 13), str(src))
        qdq = work / f"{name}.qdq.onnx"
        ort_quantize_static(src, qdq, samples)
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        fp32 = ort.InferenceSession(str(src), options, providers=["CPUExecutionProvider"])
        quant = ort.InferenceSession(str(qdq), options, providers=["CPUExecutionProvider"])
        stats = {"kiln": ([], []), "ort": ([], [])}
        for i, x in enumerate(held):
            expected = fp32.run(None, {m.input: x})[0]
            np.save(work / "x.npy", x)
            out = real.run_plan([str(REPO / "Runtime" / "build" / "kiln-run")], plan, m, work / "x.npy", work / f"{name}.out{i}")
            (got,) = [np.load(p) for p in out.glob("*.npy")]
            for key, y in (("kiln", got), ("ort", quant.run(None, {m.input: x})[0])):
                stats[key][0].append(real.cosine(y, expected))
                stats[key][1].append(real.agreement(name, y, expected))
        cells = [f"{min(c):.4f} / {np.mean(c):.4f} | {np.mean(a):.3f}" for c, a in stats.values()]
        print(f"| {name} | {layers} ({convs}) | {' | '.join(cells)} |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(real.MODELS))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--int8", action="store_true")
    ap.add_argument("--bench-plan", default=str(REPO / "Runtime" / "build" / "bench-plan"))
    ap.add_argument("--work", default=None)
    args = ap.parse_args()
    names = args.models.split(",")
    kiln = kilnutil.kiln_binary()
    with tempfile.TemporaryDirectory(prefix="kiln-realbench-") as tmp:
        work = Path(args.work or tmp)
        work.mkdir(parents=True, exist_ok=True)
        if args.int8:
            int8(kiln, [n for n in names if n in real.INT8], work)
        else:
            speed(kiln, Path(args.bench_plan), names, work, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
