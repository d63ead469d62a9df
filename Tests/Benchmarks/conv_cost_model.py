"""Measures the constants of the decompose-depthwise cost model (issue 6): the throughput,
in GFLOP/s (2 flops per multiply-add), of each conv kernel kind of the runtime on this
machine, one thread:

  gemm      KxK conv, group 1 (im2col + GEMM, CONV2D)
  depthwise KxK conv with group = Cin and channel multiplier r (DEPTHWISE_CONV2D)
  pointwise 1x1 conv, group 1 (GEMM without im2col)

For each kind it builds single-layer ONNX models with onnx.helper over a few channel counts,
compiles them with `kiln compile` and times them with `kiln bench`, taking the minimum
latency (the machine is shared; the minimum is the least disturbed run). It prints the
throughput of each model and the median over a kind's models, which are the constants in
Sources/KilnPasses/ConvCostModel.swift.

Usage: .venv/bin/python Tests/Benchmarks/conv_cost_model.py [--kiln .build/release/kiln]
       [--iterations 30] [--size 40]
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def conv_model(cin, cout, k, group, hw) -> onnx.ModelProto:
    rng = np.random.default_rng(0)
    w = numpy_helper.from_array(rng.standard_normal((cout, cin // group, k, k)).astype(np.float32), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], pads=[k // 2] * 4, group=group)
    graph = helper.make_graph([node], "layer", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, cin, hw, hw])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], [w])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def min_ms(kiln, model, tmp: Path, iterations) -> float:
    onnx.save(model, tmp / "m.onnx")
    subprocess.run([kiln, "compile", tmp / "m.onnx", "-o", tmp / "m.kplan"], check=True, capture_output=True)
    out = subprocess.run([kiln, "bench", tmp / "m.kplan", "--iterations", str(iterations), "--threads", "1"],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r"^min ([\d.]+) ms", out, re.M).group(1))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=".build/release/kiln")
    ap.add_argument("--iterations", type=int, default=30)
    ap.add_argument("--size", type=int, default=40, help="input height = width")
    args = ap.parse_args()
    hw = args.size
    cases = {"gemm": [], "depthwise": [], "pointwise": []}
    for c in (16, 32, 64):
        cases["gemm"].append((f"3x3 {c}->{c}", c, c, 3, 1))
        for r in (1, 2, 4, 8):
            cases["depthwise"].append((f"3x3 dw {c} x{r}", c, c * r, 3, c))
        for r in (1, 4):
            cases["pointwise"].append((f"1x1 {c * r}->{c}", c * r, c, 1, 1))
    with tempfile.TemporaryDirectory() as d:
        for kind, models in cases.items():
            rates = []
            for label, cin, cout, k, group in models:
                flops = 2 * hw * hw * cout * (cin // group) * k * k
                ms = min_ms(args.kiln, conv_model(cin, cout, k, group, hw), Path(d), args.iterations)
                rates.append(flops / ms / 1e6)
                print(f"{kind:9s} {label:18s} {flops / 1e6:8.2f} MFLOPs  {ms:7.3f} ms  {rates[-1]:6.2f} GFLOP/s")
            print(f"{kind}: median {statistics.median(rates):.2f} GFLOP/s\n")


if __name__ == "__main__":
    main()
