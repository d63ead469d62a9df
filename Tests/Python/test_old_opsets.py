"""Models exported with ai.onnx opsets 7–10 (older exporters, the ONNX model zoo) import,
compile and match ONNX Runtime.

Each model is written with onnx.helper in the attribute forms those opsets define — Slice
with `starts`/`ends`/`axes` attributes (< 10), TopK with a `k` attribute (< 10), Pad with
`pads`/`value` attributes (< 11), Clip with `min`/`max` attributes (< 11), Upsample with a
`scales` attribute (7–8) or input (9), Resize-10 (scales only, up and down), Dropout with a
`ratio` attribute, BatchNormalization with `spatial` (7–8), Split/Squeeze/Unsqueeze/ReduceMean
with attribute axes — and run through `kiln compile` (-O0 and -O2) and `kiln run`, compared
with ONNX Runtime on the same inputs within 1e-4 relative / 1e-5 absolute.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil

F = TensorProto.FLOAT


class Model:
    def __init__(self, seed: int):
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}
        self.rng = np.random.default_rng(seed)
        self.k = 0

    def name(self, base="t"):
        self.k += 1
        return f"{base}{self.k}"

    def input(self, name, shape):
        self.inputs.append(helper.make_tensor_value_info(name, F, shape))
        self.feeds[name] = self.rng.standard_normal(shape).astype(np.float32)
        return name

    def const(self, array, dtype=np.float32):
        n = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(array, dtype), n))
        return n

    def weight(self, *shape, scale=0.3):
        return self.const(self.rng.standard_normal(shape) * scale)

    def op(self, op_type, *inputs, outputs=1, **attrs):
        outs = [self.name() for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), outs, **attrs))
        return outs[0] if outputs == 1 else outs

    def save(self, path, result_names, opset, ir_version):
        graph = helper.make_graph(self.nodes, f"opset{opset}", self.inputs,
                                  [helper.make_empty_tensor_value_info(r) for r in result_names],
                                  initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model.ir_version = ir_version
        onnx.save(onnx.shape_inference.infer_shapes(model), str(path))


def cnn_opset7(m: Model):
    """An old image classifier: BN with `spatial`, attribute Pad/Clip/Slice/Upsample."""
    x = m.input("x", [1, 3, 12, 12])
    y = m.op("Conv", x, m.weight(8, 3, 3, 3), m.weight(8), pads=[1, 1, 1, 1])
    y = m.op("BatchNormalization", y, m.const(m.rng.uniform(0.5, 1.5, 8)), m.weight(8), m.weight(8),
             m.const(m.rng.uniform(0.5, 2.0, 8)), epsilon=1e-5, spatial=1)
    y = m.op("Relu", y)
    y = m.op("MaxPool", y, kernel_shape=[2, 2], strides=[2, 2])
    y = m.op("Pad", y, pads=[0, 0, 1, 1, 0, 0, 1, 1], value=0.25, mode="constant")
    y = m.op("Conv", y, m.weight(6, 8, 3, 3), m.weight(6))
    y = m.op("Dropout", y, ratio=0.3)
    y = m.op("Clip", y, min=0.0, max=6.0)
    y = m.op("Upsample", y, scales=[1.0, 1.0, 2.0, 2.0], mode="nearest")
    y = m.op("Slice", y, starts=[1, 2], ends=[11, -1], axes=[2, 3])
    y = m.op("AveragePool", y, kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 1, 1], count_include_pad=1)
    y = m.op("Flatten", y, axis=1)
    w = m.weight(5, 6 * 5 * 5, scale=0.05)
    y = m.op("Gemm", y, w, m.weight(5), transB=1)
    return [m.op("Softmax", y, axis=1)]


def ops_opset9(m: Model):
    """Opset-9 spellings: Upsample scales as an input, Split/Squeeze/Unsqueeze/ReduceMean with
    attribute axes, TopK with a `k` attribute, attribute Slice and Pad (reflect)."""
    x = m.input("x", [2, 4, 6, 5])
    u = m.op("Upsample", x, m.const([1.0, 1.0, 2.0, 1.5]), mode="linear")
    a, b = m.op("Split", u, axis=1, split=[1, 3], outputs=2)
    s = m.op("Squeeze", a, axes=[1])
    s = m.op("Unsqueeze", s, axes=[3])
    r = m.op("ReduceMean", b, axes=[1], keepdims=1)
    y = m.op("Sum", m.op("Transpose", s, perm=[0, 3, 1, 2]), r)
    y = m.op("Pad", y, pads=[0, 0, 2, 1, 0, 0, 2, 1], mode="reflect")
    y = m.op("Slice", y, starts=[0, 3], ends=[100, -2], axes=[3, 2])
    values, indices = m.op("TopK", m.op("Flatten", y, axis=2), k=3, axis=-1, outputs=2)
    return [values, m.op("Cast", indices, to=TensorProto.FLOAT)]


def ops_opset10(m: Model):
    """Opset-10 spellings: Resize-10 (nearest up, linear down), Slice with inputs and steps,
    TopK with K as an input, Dropout, Clip attributes, per-tensor Quantize/DequantizeLinear."""
    x = m.input("x", [1, 3, 8, 10])
    up = m.op("Resize", x, m.const([1.0, 1.0, 2.0, 1.5]), mode="nearest")
    down = m.op("Resize", up, m.const([1.0, 1.0, 0.5, 0.4]), mode="linear")
    s = m.op("Slice", up, m.const([1, 14], np.int64), m.const([15, 0], np.int64), m.const([2, 3], np.int64),
             m.const([2, -3], np.int64))
    q = m.op("QuantizeLinear", m.op("Clip", s, min=-1.5, max=1.5), m.const(0.02), m.const(128, np.uint8))
    dq = m.op("DequantizeLinear", q, m.const(0.02), m.const(128, np.uint8))
    d = m.op("Dropout", dq, ratio=0.5)
    values, _ = m.op("TopK", m.op("Flatten", down, axis=1), m.const([4], np.int64), axis=1, outputs=2)
    return [m.op("Flatten", d, axis=1), values]


CASES = {
    "cnn_opset7": (cnn_opset7, 7, 3),
    "cnn_opset8": (cnn_opset7, 8, 3),
    "ops_opset9": (ops_opset9, 9, 4),
    "ops_opset10": (ops_opset10, 10, 5),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("level", ["-O0", "-O2"])
def test_old_opset_model_matches_onnxruntime(case, level, kiln, tmp_path):
    build, opset, ir_version = CASES[case]
    m = Model(seed=opset)
    results = build(m)
    model = tmp_path / f"{case}.onnx"
    m.save(model, results, opset, ir_version)
    expected = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, m.feeds)

    plan = tmp_path / "model.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), level], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    args = []
    for name, array in m.feeds.items():
        np.save(tmp_path / f"{name}.npy", array)
        args.append(f"--input={name}={tmp_path / f'{name}.npy'}")
    out = tmp_path / "out"
    run = subprocess.run([str(kiln), "run", str(plan), *args, "--output-dir", str(out)], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    for name, want in zip(results, expected):
        got = np.load(out / f"{kilnutil.sanitize(name)}.npy")
        assert got.shape == want.shape, f"{case} {name}: shape {got.shape}, ONNX Runtime {want.shape}"
        r = kilnutil.compare(got, want.astype(got.dtype), rtol=1e-4, atol=1e-5)
        assert r, f"{case} {level} {name}: {r.message} (max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g})"


def test_spatial_zero_with_per_activation_statistics_is_a_clear_error(kiln, tmp_path):
    m = Model(seed=1)
    x = m.input("x", [1, 2, 3, 3])
    stats = [m.const(m.rng.uniform(0.5, 1.5, (2, 3, 3))) for _ in range(4)]
    y = m.op("BatchNormalization", x, *stats, spatial=0)
    model = tmp_path / "bn.onnx"
    m.save(model, [y], 7, 3)
    run = subprocess.run([str(kiln), "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert run.returncode != 0
    assert run.stderr.strip().splitlines()[-1].endswith(
        "attribute 'spatial' = 0 with per-activation statistics is not supported"), run.stderr
