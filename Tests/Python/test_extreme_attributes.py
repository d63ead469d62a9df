"""Valid ONNX models with extreme attribute values: Kiln either runs them correctly (matching
ONNX Runtime) or rejects them with a one-line error — never a crash, a trap or a runaway loop.

Regressions from the session-4 review: a conv whose huge strides/pads/dilations overflowed
the AVX-512 im2col gather's 32-bit offsets (SIGSEGV), a max pool whose row prefetch looped
over 2^30 empty rows per output row, and TopK counts that trapped the compiler when
converted to Int (K = INT64_MAX as a tensor or, before opset 10, as an attribute; K = NaN).
Session 6: a max pool window entirely in the padding (ORT: -FLT_MAX; Kiln gave -inf, its evaluator 0).
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil

BIG = 1 << 30


def save(path, node, inputs, output, inits=(), opset=13):
    graph = helper.make_graph([node], "extreme", inputs, [helper.make_empty_tensor_value_info(output)],
                              initializer=list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))


def run_both(kiln, model, feeds, tmp_path):
    expected = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    plan = tmp_path / "m.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan)], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    args = []
    for name, array in feeds.items():
        np.save(tmp_path / f"{name}.npy", array)
        args.append(f"--input={name}={tmp_path / f'{name}.npy'}")
    run = subprocess.run([str(kiln), "run", str(plan), *args, "--output-dir", str(tmp_path / "out")],
                         capture_output=True, text=True, timeout=120)  # a hang guard, not a timing check
    assert run.returncode == 0, run.stderr
    got = np.load(tmp_path / "out" / "y.npy")
    assert got.shape == expected.shape
    r = kilnutil.compare(got, expected, rtol=1e-4, atol=1e-5)
    assert r, f"{r.message} (max abs {r.max_abs:.3g})"


def test_conv_with_huge_strides_pads_and_dilations(kiln, tmp_path):
    model = tmp_path / "conv.onnx"
    w = numpy_helper.from_array(np.array([0.5, -1.25], np.float32).reshape(1, 1, 2, 1), "w")
    node = helper.make_node("Conv", ["x", "w"], ["y"], strides=[BIG, 2], pads=[BIG, 0, BIG, 0], dilations=[BIG, 1])
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 1, 32])], "y", [w])
    run_both(kiln, model, {"x": np.random.default_rng(1).standard_normal((1, 1, 1, 32)).astype(np.float32)}, tmp_path)


def test_max_pool_with_huge_stride(kiln, tmp_path):
    model = tmp_path / "pool.onnx"
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[1, 1], strides=[BIG, 1])
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16, 1, 32])], "y")
    run_both(kiln, model, {"x": np.random.default_rng(2).standard_normal((1, 16, 1, 32)).astype(np.float32)}, tmp_path)


def test_max_pool_window_entirely_in_padding(kiln, tmp_path):
    """Dilation 2 over a 1-pixel-high input with pad 1: every window's taps land in the padding on H.
    ONNX Runtime starts max from -FLT_MAX (the ONNX reference evaluator gives 0, Kiln used to give
    -inf); the plan and `kiln eval` both give -FLT_MAX."""
    model = tmp_path / "pool.onnx"
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[2, 2], dilations=[2, 2], pads=[1, 1, 1, 1])
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 1, 3])], "y")
    x = np.arange(6, dtype=np.float32).reshape(1, 2, 1, 3) - 10
    run_both(kiln, model, {"x": x}, tmp_path)
    assert (np.load(tmp_path / "out" / "y.npy") == -np.finfo(np.float32).max).all()
    np.save(tmp_path / "x.npy", x)
    ev = subprocess.run([str(kiln), "eval", str(model), "--input", str(tmp_path / "x.npy"), "--output-dir",
                         str(tmp_path / "eval")], capture_output=True, text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    assert (np.load(tmp_path / "eval" / "y.npy") == -np.finfo(np.float32).max).all()


@pytest.mark.parametrize("case", ["tensor_int64_max", "tensor_nan", "attribute_int64_max"])
def test_topk_count_out_of_range_is_a_clear_error(case, kiln, tmp_path):
    model = tmp_path / f"{case}.onnx"
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 8])
    if case == "attribute_int64_max":
        node = helper.make_node("TopK", ["x"], ["y", "i"], k=(1 << 63) - 1, axis=1)
        save(model, node, [x], "y", opset=9)
        want = "k = 9223372036854775807 is out of range for axis 1 of size 8"
    else:
        k = np.array([(1 << 63) - 1], np.int64) if case == "tensor_int64_max" else np.array([np.nan], np.float32)
        node = helper.make_node("TopK", ["x", "K"], ["y", "i"], axis=1)
        save(model, node, [x], "y", [numpy_helper.from_array(k, "K")], opset=11)
        want = "is not an integer count"
    run = subprocess.run([str(kiln), "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, (run.returncode, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert want in lines[-1], run.stderr


def test_resize_scale_too_large_is_a_clear_error(kiln, tmp_path):
    """A scale of 1e30 used to reach Int(Double) in the importer (a trap); now one line."""
    model = tmp_path / "resize.onnx"
    scales = numpy_helper.from_array(np.array([1, 1, 1e30, 1], np.float32), "s")
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest")
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 4, 4])], "y", [scales])
    run = subprocess.run([str(kiln), "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert run.stderr.strip().splitlines()[-1].endswith(
        "node #0 (Resize, output 'y'): scales [1.0, 1.0, 1e+30, 1.0] give an output too large"), run.stderr
