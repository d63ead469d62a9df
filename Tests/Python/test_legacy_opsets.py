"""Models at ai.onnx opsets 1-6 (PyTorch 0.3-0.4, Caffe2 and CNTK exports; the oldest ONNX model
zoo files) in the forms those opsets define and opset 7 changed, each checked against numpy:
arithmetic with the `broadcast`/`axis` attributes, PRelu's per-channel rank-1 slope, Concat's
default axis (1-3), Reshape's `shape` attribute (1-4), Pad's `paddings` (1), Split's `split`
input (1), Cast's type name (1-5), Tile's `tiles`/`axis` inputs (1-5), Upsample's
`height_scale`/`width_scale` (1-6) and BatchNormalization's training mode (`is_test` = 0).
ONNX's own opset-6 PyTorch exports with expected outputs are in test_onnx_model_data.py.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def save(path, nodes, inputs, outputs, inits, opset):
    graph = helper.make_graph(nodes, f"opset{opset}", [helper.make_tensor_value_info(n, F, s) for n, s in inputs],
                              [helper.make_empty_tensor_value_info(o) for o in outputs],
                              initializer=[numpy_helper.from_array(v, k) for k, v in inits.items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 3
    onnx.save(model, str(path))


def run(kiln, tmp_path, model, feeds, level="-O2"):
    plan = tmp_path / "model.kplan"
    r = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), level], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    args = []
    for name, value in feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
    out = tmp_path / f"out{level}"
    r = subprocess.run([str(kiln), "run", str(plan), *args, "--output-dir", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


@pytest.mark.parametrize("level", ["-O0", "-O2"])
def test_opset1_forms(level, kiln, tmp_path):
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    bias = rng.standard_normal(3).astype(np.float32)
    row = rng.standard_normal(5).astype(np.float32)
    inits = {"bias": bias, "row": row, "shape_in": np.array([2, 3], np.int64), "tiles": np.array(2, np.int64),
             "tile_axis": np.array(1, np.int64), "split": np.array([1, 2], np.int64)}
    nodes = [
        helper.make_node("Add", ["x", "bias"], ["added"], broadcast=1, axis=1, consumed_inputs=[0, 0]),
        helper.make_node("Mul", ["added", "row"], ["scaled"], broadcast=1),
        helper.make_node("Concat", ["scaled", "x"], ["joined"]),
        helper.make_node("Reshape", ["joined"], ["flat"], shape=[2, -1]),
        helper.make_node("Pad", ["x"], ["padded"], paddings=[0, 0, 1, 0, 0, 0, 0, 2], value=0.5, mode="constant"),
        helper.make_node("Split", ["x", "split"], ["first", "rest"], axis=1),
        helper.make_node("Cast", ["x"], ["ints"], to="INT32"),
        helper.make_node("Tile", ["first", "tiles", "tile_axis"], ["tiled"]),
        helper.make_node("Upsample", ["rest"], ["up"], height_scale=2.0, width_scale=3.0, mode="nearest"),
    ]
    model = tmp_path / "opset1.onnx"
    save(model, nodes, [("x", [2, 3, 4, 5])], ["flat", "padded", "rest", "ints", "tiled", "up"], inits, opset=1)
    got = run(kiln, tmp_path, model, {"x": x}, level)
    scaled = (x + bias[None, :, None, None]) * row
    np.testing.assert_allclose(got["flat"], np.concatenate([scaled, x], axis=1).reshape(2, -1), rtol=1e-6)
    np.testing.assert_array_equal(got["padded"], np.pad(x, [(0, 0), (0, 0), (1, 0), (0, 2)], constant_values=0.5))
    np.testing.assert_array_equal(got["rest"], x[:, 1:])
    assert got["ints"].dtype == np.int32
    np.testing.assert_array_equal(got["ints"], x.astype(np.int32))
    np.testing.assert_array_equal(got["tiled"], np.tile(x[:, :1], (1, 2, 1, 1)))
    np.testing.assert_array_equal(got["up"], x[:, 1:].repeat(2, axis=2).repeat(3, axis=3))


@pytest.mark.parametrize("level", ["-O0", "-O2"])
def test_opset6_batchnorm_training_mode_and_prelu(level, kiln, tmp_path):
    """`is_test` = 0 (the default before opset 7) normalizes with the batch's own statistics, as the
    spec and onnx.reference define; `is_test` = 1 with the running ones. A rank-1 PRelu slope of the
    channel count is per channel."""
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((2, 3, 4, 4)) * 2 + 1).astype(np.float32)
    scale, shift = rng.uniform(0.5, 1.5, 3).astype(np.float32), rng.standard_normal(3).astype(np.float32)
    mean, var = rng.standard_normal(3).astype(np.float32), rng.uniform(0.5, 1.5, 3).astype(np.float32)
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    inits = {"scale": scale, "shift": shift, "mean": mean, "var": var, "slope": slope}
    nodes = [
        helper.make_node("BatchNormalization", ["x", "scale", "shift", "mean", "var"], ["train"], epsilon=1e-5),
        helper.make_node("BatchNormalization", ["x", "scale", "shift", "mean", "var"], ["test"], epsilon=1e-5, is_test=1),
        helper.make_node("PRelu", ["test", "slope"], ["prelu"]),
    ]
    model = tmp_path / "opset6.onnx"
    save(model, nodes, [("x", [2, 3, 4, 4])], ["train", "prelu"], inits, opset=6)
    got = run(kiln, tmp_path, model, {"x": x}, level)
    c = (None, slice(None), None, None)
    batch_mean, batch_var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    train = (x - batch_mean[c]) / np.sqrt(batch_var[c] + 1e-5) * scale[c] + shift[c]
    np.testing.assert_allclose(got["train"], train, rtol=1e-4, atol=1e-5)
    test = (x - mean[c]) / np.sqrt(var[c] + 1e-5) * scale[c] + shift[c]
    np.testing.assert_allclose(got["prelu"], np.where(test < 0, test * slope[c], test), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("node, message", [
    (helper.make_node("Dropout", ["x"], ["y"], ratio=0.5),
     "attribute 'is_test' is 0 (training mode) with ratio 0.5, which drops elements at random; Kiln imports inference graphs (set is_test = 1)"),
    (helper.make_node("Add", ["x", "b"], ["y"], broadcast=1, axis=2),
     "input 1 of shape [3] does not match input 0 [2, 3, 4] from axis 2"),
    (helper.make_node("Cast", ["x"], ["y"], to="COMPLEX256"),
     "attribute 'to' = 'COMPLEX256' is not an ONNX element type name"),
])
def test_legacy_form_errors(node, message, kiln, tmp_path):
    model = tmp_path / "bad.onnx"
    save(model, [node], [("x", [2, 3, 4])], ["y"], {"b": np.ones(3, np.float32)}, opset=5)
    r = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "p.kplan")], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1 and message in r.stderr and r.stderr.count("\n") == 1, r.stderr


@pytest.mark.parametrize("level", ["-O0", "-O2"])
def test_review_fixes_prelu_where_channels_equal_width_lp_pool_float_p_selu1_defaults(level, kiln, tmp_path):
    """Found by review: (1) a [C] PRelu slope is per channel even when C equals the last dim (it was
    numpy-aligned to W there); (2) LpPool-1 / GlobalLpPool-1 declare `p` as a float (refused as
    "must be an int"); (3) Selu-1's defaults are 1.6732 / 1.0507, not Selu-6's longer values."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((1, 3, 2, 3)).astype(np.float32)
    slope = np.array([0.1, 0.2, 0.3], np.float32)
    nodes = [helper.make_node("PRelu", ["x", "slope"], ["prelu"]),
             helper.make_node("LpPool", ["x"], ["lp"], kernel_shape=[2, 2], p=3.0),
             helper.make_node("GlobalLpPool", ["x"], ["glp"], p=2.0),
             helper.make_node("Selu", ["x"], ["selu"])]
    model = tmp_path / "opset1b.onnx"
    save(model, nodes, [("x", [1, 3, 2, 3])], ["prelu", "lp", "glp", "selu"], {"slope": slope}, opset=1)
    got = run(kiln, tmp_path, model, {"x": x}, level)
    np.testing.assert_allclose(got["prelu"], np.where(x < 0, x * slope[None, :, None, None], x), rtol=1e-6)
    windows = np.stack([np.abs(x[:, :, :2, j:j + 2]).reshape(1, 3, -1) for j in range(2)], axis=-1)
    np.testing.assert_allclose(got["lp"], (windows ** 3).sum(axis=2)[:, :, None, :] ** (1 / 3), rtol=1e-5)
    np.testing.assert_allclose(got["glp"], np.sqrt((x ** 2).sum(axis=(2, 3), keepdims=True)), rtol=1e-5)
    np.testing.assert_allclose(got["selu"], np.where(x > 0, 1.0507 * x, 1.0507 * 1.6732 * (np.exp(x) - 1)),
                               rtol=1e-6, atol=1e-7)


def test_batchnorm_training_mode_with_spatial_zero_is_refused(kiln, tmp_path):
    """BatchNormalization-6 with is_test = 0 and spatial = 0 takes batch statistics per activation
    (over N only); Kiln's training mode computes them per channel, so it refuses (review finding)."""
    c = np.ones(2, np.float32)
    model = tmp_path / "bn.onnx"
    save(model, [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"], spatial=0)],
         [("x", [4, 2, 3, 3])], ["y"], {"s": c, "b": c, "m": c, "v": c}, opset=6)
    r = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "p.kplan")], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1 and "attribute 'spatial' = 0 in training mode (is_test = 0) is not supported" in r.stderr, r.stderr


@pytest.mark.parametrize("level", ["-O0", "-O2"])
def test_image_scaler_matches_onnxruntime(level, kiln, tmp_path):
    """ImageScaler (experimental, removed at opset 10; Tiny YOLOv2 and FER+ in the model zoo use it at
    opsets 7-8): y = x * scale + bias[c]."""
    import onnxruntime as ort
    x = np.random.default_rng(5).standard_normal((1, 3, 5, 4)).astype(np.float32)
    model = tmp_path / "scaler.onnx"
    save(model, [helper.make_node("ImageScaler", ["x"], ["y"], scale=0.0039, bias=[-0.5, 0.25, 2.0])],
         [("x", [1, 3, 5, 4])], ["y"], {}, opset=8)
    (want,) = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    np.testing.assert_allclose(run(kiln, tmp_path, model, {"x": x}, level)["y"], want, rtol=1e-6, atol=1e-7)
    assert "ImageScaler" in subprocess.run([str(kiln), "ops"], capture_output=True, text=True).stdout.split()
