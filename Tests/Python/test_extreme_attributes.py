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


def resize_sizes_model(path, sizes, policy="stretch"):
    sizes_t = numpy_helper.from_array(np.array(sizes, np.int64), "sz")
    node = helper.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest", keep_aspect_ratio_policy=policy)
    save(path, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 3])], "y", [sizes_t], opset=19)


@pytest.mark.parametrize("sizes, policy", [([1, 2, (1 << 63) - 1, 3], "stretch"), ([1, 2, 1 << 40, 3], "not_smaller")])
def test_resize_huge_sizes_are_a_clear_error(sizes, policy, kiln, tmp_path):
    """sizes 2^63-1 (or 2^40 with not_smaller) overflowed Shape.elementCount: SIGILL (review)."""
    model = tmp_path / "resize.onnx"
    resize_sizes_model(model, sizes, policy)
    run = subprocess.run([str(kiln), "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, (run.returncode, run.stderr)
    assert run.stderr.strip().splitlines()[-1].endswith(f"sizes {sizes} must lie in [0, 2^40)"), run.stderr


def test_huge_resize_output_fails_cleanly_in_compile_and_eval(kiln, tmp_path):
    """A scale of 3e9 asks for a 480 GB tensor: `kiln compile` named it an internal error and
    `kiln eval` aborted in the allocator (review); both are one-line errors now."""
    model = tmp_path / "resize.onnx"
    scales = numpy_helper.from_array(np.array([1, 1, 1, 3e9], np.float32), "s")
    node = helper.make_node("Resize", ["x", "", "s"], ["y"], mode="nearest")
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 5])], "y", [scales])
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "m.kplan")], capture_output=True,
                         text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    assert "-byte tensor arena does not fit in this machine's memory" in run.stderr.strip().splitlines()[-1], run.stderr
    np.save(tmp_path / "x.npy", np.zeros((1, 2, 4, 5), np.float32))
    ev = subprocess.run([str(kiln), "eval", str(model), "--input", str(tmp_path / "x.npy"), "--output-dir",
                         str(tmp_path / "out")], capture_output=True, text=True, timeout=120)
    assert ev.returncode == 1, (ev.returncode, ev.stderr[-400:])
    assert ev.stderr.strip().splitlines()[-1].endswith("GB, more than half this machine's memory"), ev.stderr


def test_resize_nan_roi_is_named(kiln, tmp_path):
    """A NaN in tf_crop_and_resize's roi was reported as 'scales ... give an output too large'."""
    model = tmp_path / "resize.onnx"
    roi = numpy_helper.from_array(np.array([0, 0, np.nan, 0, 1, 1, 1, 1], np.float32), "roi")
    scales = numpy_helper.from_array(np.array([1, 1, 2, 2], np.float32), "s")
    node = helper.make_node("Resize", ["x", "roi", "s"], ["y"], mode="linear",
                            coordinate_transformation_mode="tf_crop_and_resize")
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 4, 5])], "y", [roi, scales])
    run = subprocess.run([str(kiln), "inspect", str(model)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1, run.stderr
    assert run.stderr.strip().splitlines()[-1].endswith("roi [0.0, 0.0, nan, 0.0, 1.0, 1.0, 1.0, 1.0] must be finite"), run.stderr


def test_max_pool_of_minus_infinity_follows_onnxruntime(kiln, tmp_path):
    """ONNX Runtime's 2-D max pool on -inf values: a window inside the input, or touching only
    the top/bottom padding, gives -inf; one touching the left/right padding -FLT_MAX (such a tap
    counts as -FLT_MAX). Kiln gave -inf for all until session 6, then briefly -FLT_MAX (review)."""
    model = tmp_path / "pool.onnx"
    node = helper.make_node("MaxPool", ["x"], ["y"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    save(model, node, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 40])], "y")
    x = np.full((1, 2, 5, 40), -np.inf, np.float32)
    x[0, 1, 2, 7] = 3.0
    run_both(kiln, model, {"x": x}, tmp_path)
    got = np.load(tmp_path / "out" / "y.npy")
    assert got[0, 0, 2, 5] == -np.inf and got[0, 0, 0, 5] == -np.inf and got[0, 0, 2, 0] == -np.finfo(np.float32).max
