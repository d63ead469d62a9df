"""ONNX ops Kiln imports as compositions of existing IR ops (no runtime kernel of their own):
Hardmax, LpNormalization, MeanVarianceNormalization, Shrink, EyeLike, RMSNormalization,
and, with compile-time indices, ScatterND, ScatterElements, Scatter (opsets 9-10) and GatherND.

Each case runs through `kiln eval` (reference evaluator) and compiled plans at -O0 and -O2
(`kiln run`, the C runtime), compared with ONNX Runtime on random inputs covering the
attributes, opset differences and edge cases (ties, zero norms, negative and duplicate
indices, reductions). The refusals (indices not known at compile time, out-of-range
constant indices, Scatter after opset 10, p = 3) are checked word for word.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

MODES = ["eval", "-O0", "-O2"]


def save(path, nodes, inputs, outputs, opset, inits=None):
    """inputs: {name: array} (their dtype and shape make the graph inputs)."""
    vis = [helper.make_tensor_value_info(n, helper.np_dtype_to_tensor_dtype(v.dtype), v.shape)
           for n, v in inputs.items()]
    graph = helper.make_graph(nodes, "g", vis, [helper.make_empty_tensor_value_info(o) for o in outputs],
                              initializer=[numpy_helper.from_array(v, k) for k, v in (inits or {}).items()])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8 if opset < 21 else 10
    onnx.save(model, str(path))
    return path


def feed_args(tmp_path, feeds):
    args = []
    for name, value in feeds.items():
        np.save(tmp_path / f"{name}.npy", value)
        args += ["--input", f"{name}={tmp_path / f'{name}.npy'}"]
    return args


def kiln_outputs(kiln, tmp_path, model, feeds, mode):
    out = tmp_path / f"out{mode}"
    if mode == "eval":
        cmd = [str(kiln), "eval", str(model), "--output-dir", str(out), *feed_args(tmp_path, feeds)]
    else:
        plan = tmp_path / f"model{mode}.kplan"
        r = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), mode], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        cmd = [str(kiln), "run", str(plan), "--output-dir", str(out), *feed_args(tmp_path, feeds)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}


def check(kiln, tmp_path, nodes, feeds, outputs, opset, inits=None, rtol=1e-5, atol=1e-6, modes=MODES):
    """Kiln (each mode) against ONNX Runtime, output by output, dtype included."""
    model = save(tmp_path / "model.onnx", nodes, feeds, outputs, opset, inits)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    expected = dict(zip(outputs, session.run(outputs, feeds)))
    for mode in modes:
        got = kiln_outputs(kiln, tmp_path, model, feeds, mode)
        for name in outputs:
            assert got[name].dtype == expected[name].dtype, (mode, name)
            np.testing.assert_allclose(got[name], expected[name], rtol=rtol, atol=atol, err_msg=f"{mode} {name}")


def kiln_error(kiln, tmp_path, nodes, feeds, outputs, opset, inits=None):
    """The one-line error of `kiln compile` (and the same from `kiln eval`) after `Error: MODEL: `."""
    model = save(tmp_path / "bad.onnx", nodes, feeds, outputs, opset, inits)
    r = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "bad.kplan")], capture_output=True,
                       text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    e = subprocess.run([str(kiln), "eval", str(model), "--output-dir", str(tmp_path / "bad"),
                        *feed_args(tmp_path, feeds)], capture_output=True, text=True, timeout=300)
    assert e.returncode == 1 and e.stderr == r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    prefix = f"Error: {model}: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix):]


def test_ops_lists_them(kiln):
    listed = set(subprocess.run([str(kiln), "ops"], capture_output=True, text=True, check=True).stdout.split())
    assert {"Hardmax", "LpNormalization", "MeanVarianceNormalization", "Shrink", "EyeLike", "ScatterND",
            "ScatterElements", "Scatter", "GatherND", "RMSNormalization"} <= listed


# MARK: Hardmax


@pytest.mark.parametrize("opset,axis", [(13, None), (13, 0), (13, 1), (13, -2), (11, None), (11, 0), (11, 2),
                                        (11, -1), (1, None), (1, 1)])
def test_hardmax(kiln, tmp_path, opset, axis):
    rng = np.random.default_rng(opset * 10 + (axis or 7))
    x = rng.integers(0, 3, (3, 4, 5)).astype(np.float32)  # many ties: the first maximum wins
    attrs = {} if axis is None else {"axis": axis}
    check(kiln, tmp_path, [helper.make_node("Hardmax", ["x"], ["y"], **attrs)], {"x": x}, ["y"], opset)


def test_hardmax_rank1_and_double(kiln, tmp_path):
    x = np.array([1, 4, 4, -2, 0], np.float32)
    for opset in (1, 13):
        check(kiln, tmp_path, [helper.make_node("Hardmax", ["x"], ["y"], axis=0)], {"x": x}, ["y"], opset)
    # ORT has no f64 Hardmax and the runtime no f64 arg_max: the evaluator against numpy.
    x64 = np.random.default_rng(2).integers(0, 3, (3, 4)).astype(np.float64)
    model = save(tmp_path / "model.onnx", [helper.make_node("Hardmax", ["x"], ["y"])], {"x": x64}, ["y"], 13)
    got = kiln_outputs(kiln, tmp_path, model, {"x": x64}, "eval")["y"]
    np.testing.assert_array_equal(got, np.eye(4)[x64.argmax(-1)])


# MARK: LpNormalization


@pytest.mark.parametrize("p,axis", [(None, None), (1, 0), (1, -1), (2, 1), (2, 0), (1, 2)])
def test_lp_normalization(kiln, tmp_path, p, axis):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 4, 5)).astype(np.float32)
    x[1, :, 2] = 0  # a zero slice along axis 1 ...
    x[0, 1, :] = 0  # ... and along the last axis: 0, not 0/0
    x[:, 3, 4] = 0  # ... and along axis 0
    attrs = {k: v for k, v in {"p": p, "axis": axis}.items() if v is not None}
    for opset in (1, 22):
        check(kiln, tmp_path, [helper.make_node("LpNormalization", ["x"], ["y"], **attrs)], {"x": x}, ["y"], opset)


def test_lp_normalization_p3_is_refused(kiln, tmp_path):
    x = np.zeros((2, 3), np.float32)
    line = kiln_error(kiln, tmp_path, [helper.make_node("LpNormalization", ["x"], ["y"], p=3, name="lpn")], {"x": x},
                      ["y"], 13)
    assert line == "node 'lpn' (LpNormalization): attribute 'p' = 3 is not supported (only 1 and 2 are defined)"


# MARK: MeanVarianceNormalization


@pytest.mark.parametrize("opset", [9, 13])
@pytest.mark.parametrize("shape,axes", [((2, 3, 4, 5), None), ((2, 3, 4, 5), [1]), ((3, 6, 7), [0, 2]),
                                        ((2, 3, 4, 5), [0, 1, 2, 3]), ((4, 5), [-1])])
def test_mean_variance_normalization(kiln, tmp_path, opset, shape, axes):
    rng = np.random.default_rng(len(shape))
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    attrs = {} if axes is None else {"axes": axes}
    check(kiln, tmp_path, [helper.make_node("MeanVarianceNormalization", ["x"], ["y"], **attrs)], {"x": x}, ["y"],
          opset, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("opset", [9, 13])
def test_mean_variance_normalization_epsilon_outside_the_root(kiln, tmp_path, opset):
    """Values of size 1e-5 about 0: std 1e-5, so std + 1e-9 (the spec) and sqrt(var + 1e-9)
    (3.3e-5) differ by 3x."""
    rng = np.random.default_rng(23)
    x = (rng.choice([-1.0, 1.0], (2, 3, 2, 2)) * 1e-5).astype(np.float32)
    check(kiln, tmp_path, [helper.make_node("MeanVarianceNormalization", ["x"], ["y"])], {"x": x}, ["y"], opset,
          rtol=1e-3, atol=1e-3)
    m = x.astype(np.float64).mean(axis=(0, 2, 3), keepdims=True)
    y = (x - m) / (np.sqrt((x.astype(np.float64) ** 2).mean(axis=(0, 2, 3), keepdims=True) - m ** 2) + 1e-9)
    got = kiln_outputs(kiln, tmp_path, tmp_path / "model.onnx", {"x": x}, "eval")["y"]
    np.testing.assert_allclose(got, y, rtol=1e-3)


# MARK: Shrink


@pytest.mark.parametrize("dtype", [np.float32, np.int32, np.int8, np.uint8])
@pytest.mark.parametrize("lambd,bias", [(None, None), (1.5, None), (1.5, 1.5), (0.7, 2.25), (-1.0, 0.5)])
def test_shrink(kiln, tmp_path, dtype, lambd, bias):
    rng = np.random.default_rng(5)
    if dtype == np.float32:
        x = np.concatenate([np.arange(-4, 4.5, 0.25), rng.standard_normal(30) * 3]).astype(dtype)
    else:
        x = np.concatenate([np.arange(-5, 6), rng.integers(-100, 100, 30)])
        if dtype == np.uint8:  # no negative results: ORT's float -> uint8 cast of those is undefined (C++ UB)
            x = np.where(x < 3, 0, x)
        x = x.astype(dtype)
    attrs = {k: v for k, v in {"lambd": lambd, "bias": bias}.items() if v is not None}
    check(kiln, tmp_path, [helper.make_node("Shrink", ["x"], ["y"], **attrs)], {"x": x}, ["y"], 9)


def test_shrink_double(kiln, tmp_path):
    """f64 computes in f64 with the float attributes, as the ONNX reference does (ORT rounds
    through float; the runtime has no f64 arithmetic: evaluator only)."""
    x = np.arange(-3, 3.1, 0.25, dtype=np.float64)
    lambd, bias = float(np.float32(0.3)), float(np.float32(0.1))
    model = save(tmp_path / "model.onnx", [helper.make_node("Shrink", ["x"], ["y"], lambd=0.3, bias=0.1)], {"x": x},
                 ["y"], 9)
    got = kiln_outputs(kiln, tmp_path, model, {"x": x}, "eval")["y"]
    assert got.dtype == np.float64
    np.testing.assert_array_equal(got, np.where(x < -lambd, x + bias, np.where(x > lambd, x - bias, 0)))


# MARK: EyeLike


@pytest.mark.parametrize("shape", [(4, 5), (3, 3), (5, 2)])
@pytest.mark.parametrize("k", [None, 0, 1, -2, 4, -6])
@pytest.mark.parametrize("dtype", [None, TensorProto.FLOAT, TensorProto.INT64, TensorProto.INT32])
def test_eye_like(kiln, tmp_path, shape, k, dtype):
    x = np.ones(shape, np.float32)
    attrs = {n: v for n, v in {"k": k, "dtype": dtype}.items() if v is not None}
    for opset in (9, 22):
        check(kiln, tmp_path, [helper.make_node("EyeLike", ["x"], ["y"], **attrs)], {"x": x}, ["y"], opset)


def test_eye_like_int_input_bool_output(kiln, tmp_path):
    """ORT has no bool EyeLike kernel: compared with numpy."""
    model = save(tmp_path / "model.onnx", [helper.make_node("EyeLike", ["x"], ["y"], k=1, dtype=TensorProto.BOOL)],
                 {"x": np.ones((3, 4), np.int32)}, ["y"], 22)
    for mode in MODES:
        got = kiln_outputs(kiln, tmp_path, model, {"x": np.ones((3, 4), np.int32)}, mode)["y"]
        assert got.dtype == np.bool_
        np.testing.assert_array_equal(got, np.eye(3, 4, k=1, dtype=bool))


# MARK: RMSNormalization


@pytest.mark.parametrize("shape,axis", [((2, 3, 4), None), ((2, 3, 4), 1), ((2, 3, 4), -3), ((3, 8), 0)])
@pytest.mark.parametrize("epsilon", [None, 1e-2])
def test_rms_normalization(kiln, tmp_path, shape, axis, epsilon):
    rng = np.random.default_rng(7)
    x = rng.standard_normal(shape).astype(np.float32)
    a = (axis or -1) % len(shape)
    scale = rng.standard_normal(shape[a:]).astype(np.float32)
    attrs = {k: v for k, v in {"axis": axis, "epsilon": epsilon}.items() if v is not None}
    check(kiln, tmp_path, [helper.make_node("RMSNormalization", ["x", "scale"], ["y"], **attrs)],
          {"x": x, "scale": scale}, ["y"], 23, rtol=1e-4, atol=1e-5)


# MARK: ScatterND


def const(name, value):
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(value))


def test_scatter_nd_yolo_slice_assignment(kiln, tmp_path):
    """YOLOv5-style `y[..., 0:2] = xy` exported as ScatterND with full-rank constant indices."""
    rng = np.random.default_rng(11)
    y = rng.standard_normal((1, 3, 4, 5, 7)).astype(np.float32)
    xy = rng.standard_normal((1, 3, 4, 5, 2)).astype(np.float32)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in (1, 3, 4, 5)], np.arange(0, 2), indexing="ij"), -1)
    nodes = [const("idx", grid.astype(np.int64)), helper.make_node("ScatterND", ["y", "idx", "xy"], ["out"])]
    check(kiln, tmp_path, nodes, {"y": y, "xy": xy}, ["out"], 13, rtol=0, atol=0)


@pytest.mark.parametrize("reduction", [None, "add", "mul", "max", "min"])
def test_scatter_nd_slices_and_elements(kiln, tmp_path, reduction):
    rng = np.random.default_rng(13)
    data = rng.standard_normal((4, 5, 6)).astype(np.float32)
    dup = reduction is not None  # duplicate positions only where the result is defined
    slices = np.array([[1], [-1]] + ([[1], [-3]] if dup else []), np.int64)  # rows 1, 3 (twice each with dup)
    upd = rng.standard_normal((len(slices), 5, 6)).astype(np.float32)
    pairs = np.array([[0, 4], [-4, 0], [2, 2]] + ([[0, -1], [2, 2]] if dup else []), np.int64)
    upd2 = rng.standard_normal((len(pairs), 6)).astype(np.float32)
    points = np.array([[[0, 0, 0], [3, 4, 5]], [[-1, -1, -1], [1, 2, 3]]], np.int64)
    upd3 = rng.standard_normal((2, 2)).astype(np.float32)
    attrs = {} if reduction is None else {"reduction": reduction}
    nodes = [helper.make_node("ScatterND", ["data", "slices", "upd"], ["a"], **attrs),
             helper.make_node("ScatterND", ["data", "pairs", "upd2"], ["b"], **attrs),
             helper.make_node("ScatterND", ["data", "points", "upd3"], ["c"], **attrs)]
    inits = {"slices": slices, "pairs": pairs, "points": points}
    check(kiln, tmp_path, nodes, {"data": data, "upd": upd, "upd2": upd2, "upd3": upd3}, ["a", "b", "c"],
          18 if reduction in ("max", "min") else 16, inits, rtol=1e-6, atol=0)


def test_scatter_permuting_rows(kiln, tmp_path):
    """Updates whose rows land on other rows (a swap): the factoring must not read the
    update row of the same outer index."""
    rng = np.random.default_rng(29)
    data = rng.standard_normal((2, 3)).astype(np.float32)
    upd = rng.standard_normal((2, 3)).astype(np.float32)
    nodes = [helper.make_node("ScatterND", ["data", "rows", "upd"], ["a"]),
             helper.make_node("ScatterElements", ["data", "swap", "upd"], ["b"]),
             helper.make_node("ScatterElements", ["data", "swap_cols", "upd"], ["c"], axis=1)]
    inits = {"rows": np.array([[1], [0]], np.int64), "swap": np.array([[1, 1, 1], [0, 0, 0]], np.int64),
             "swap_cols": np.array([[2, 0, 1], [1, 2, 0]], np.int64)}
    check(kiln, tmp_path, nodes, {"data": data, "upd": upd}, ["a", "b", "c"], 13, inits, rtol=0, atol=0)


def test_scatter_nd_int_data(kiln, tmp_path):
    data = np.arange(24, dtype=np.int64).reshape(2, 3, 4)
    upd = -np.arange(8, dtype=np.int64).reshape(2, 4)
    check(kiln, tmp_path, [helper.make_node("ScatterND", ["data", "idx", "upd"], ["out"])], {"data": data, "upd": upd},
          ["out"], 11, {"idx": np.array([[1, 2], [0, -3]], np.int64)})


# MARK: ScatterElements / Scatter


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("reduction", [None, "add", "mul", "max", "min"])
def test_scatter_elements(kiln, tmp_path, axis, reduction):
    rng = np.random.default_rng(17)
    data = rng.standard_normal((4, 5, 3)).astype(np.float32)
    a = (axis or 0) % 3
    shape = [3, 4, 2]
    n = data.shape[a]
    if reduction is None:  # distinct positions along the axis for each line
        idx = np.argsort(rng.random([*shape[:a], n, *shape[a + 1:]]), axis=a).take(range(shape[a]), axis=a)
    else:
        idx = rng.integers(0, n, shape)
    idx = np.where(rng.random(idx.shape) < 0.5, idx - n, idx).astype(np.int64)  # negative forms
    upd = rng.standard_normal(shape).astype(np.float32)
    attrs = {k: v for k, v in {"axis": axis, "reduction": reduction}.items() if v is not None}
    check(kiln, tmp_path, [helper.make_node("ScatterElements", ["data", "idx", "upd"], ["out"], **attrs)],
          {"data": data, "upd": upd}, ["out"], 18, {"idx": idx}, rtol=1e-6, atol=0)


@pytest.mark.parametrize("opset", [9, 10])
def test_scatter_legacy(kiln, tmp_path, opset):
    data = np.zeros((3, 4), np.float32)
    upd = np.arange(6, dtype=np.float32).reshape(2, 3) + 1
    idx = np.array([[1, 0, 2], [0, 2, 1]], np.int64)
    check(kiln, tmp_path, [helper.make_node("Scatter", ["data", "idx", "upd"], ["out"], axis=1)],
          {"data": data, "upd": upd}, ["out"], opset, {"idx": idx})


# MARK: GatherND


@pytest.mark.parametrize("batch_dims,idx_shape", [(0, (2, 3)), (0, (4, 1)), (0, (2, 2, 2)), (0, (3,)),
                                                   (1, (2, 3, 2)), (1, (2, 1)), (2, (2, 3, 1)), (1, (2, 2, 3))])
def test_gather_nd(kiln, tmp_path, batch_dims, idx_shape):
    rng = np.random.default_rng(19)
    data = rng.standard_normal((2, 3, 4, 5)).astype(np.float32)
    k = idx_shape[-1]
    dims = data.shape[batch_dims:batch_dims + k]
    idx = np.stack([rng.integers(-d, d, idx_shape[:-1]) for d in dims], -1).astype(np.int64)
    for opset in ((11, 13) if batch_dims == 0 else (12, 13)):
        attrs = {"batch_dims": batch_dims} if opset >= 12 else {}
        check(kiln, tmp_path, [helper.make_node("GatherND", ["data", "idx"], ["out"], **attrs)], {"data": data}, ["out"],
              opset, {"idx": idx}, rtol=0, atol=0)


def test_gather_nd_int32_data(kiln, tmp_path):
    data = np.arange(24, dtype=np.int32).reshape(2, 3, 4)
    check(kiln, tmp_path, [helper.make_node("GatherND", ["data", "idx"], ["out"])], {"data": data}, ["out"], 13,
          {"idx": np.array([[[1, -1]], [[0, 2]]], np.int64)})


def test_gather_nd_int64_and_bool_data(kiln, tmp_path):
    data = np.arange(60, dtype=np.int64).reshape(3, 4, 5)
    flags = (data % 3 == 0)
    idx = np.array([[2, -1], [0, 1], [1, 3]], np.int64)
    nodes = [helper.make_node("GatherND", ["data", "idx"], ["a"]), helper.make_node("GatherND", ["flags", "idx"], ["b"])]
    check(kiln, tmp_path, nodes, {"data": data, "flags": flags}, ["a", "b"], 13, {"idx": idx})


# MARK: Refusals


@pytest.mark.parametrize("op,opset", [("ScatterND", 13), ("ScatterElements", 13), ("Scatter", 10)])
def test_runtime_indices_are_refused(kiln, tmp_path, op, opset):
    data = np.zeros((3, 4), np.float32)
    gather = op == "GatherND"
    feeds = {"data": data, "idx": np.zeros((2, 1) if op != "ScatterElements" and op != "Scatter" else (2, 4), np.int64)}
    inputs = ["data", "idx"]
    if not gather:
        feeds["upd"] = np.zeros((2, 4), np.float32)
        inputs.append("upd")
    line = kiln_error(kiln, tmp_path, [helper.make_node(op, inputs, ["out"], name="s")], feeds, ["out"], opset)
    assert line == (f"node 's' ({op}): indices (input 1 'idx') must be known at compile time, "
                    "but it depends on graph input 'idx' (freeze it with --bind idx=VALUE)")


@pytest.mark.parametrize("op,idx,message", [
    ("ScatterND", [[1], [3]], "indices hold 3 (element 1), out of range for axis 0 of size 3"),
    ("ScatterND", [[-4], [0]], "indices hold -4 (element 0), out of range for axis 0 of size 3"),
    ("GatherND", [[0, 4]], "index 4 is out of range for an indexed dim of size 4"),
    ("ScatterElements", [[0, 1, 2, -5]], "indices hold -5 (element 3), out of range for axis 1 of size 4"),
])
def test_out_of_range_indices(kiln, tmp_path, op, idx, message):
    data = np.zeros((3, 4), np.float32)
    idx = np.array(idx, np.int64)
    feeds, inputs, attrs = {"data": data}, ["data", "idx"], {}
    if op == "ScatterND":
        feeds["upd"] = np.zeros((2, 4), np.float32)
    if op == "ScatterElements":
        feeds["upd"] = np.zeros((1, 4), np.float32)
        attrs["axis"] = 1
    if "upd" in feeds:
        inputs.append("upd")
    line = kiln_error(kiln, tmp_path, [helper.make_node(op, inputs, ["out"], name="s", **attrs)], feeds, ["out"], 13,
                      {"idx": idx})
    assert line == f"node 's' ({op}): {message}"


def test_scatter_after_opset_10_is_refused(kiln, tmp_path):
    feeds = {"data": np.zeros((3, 4), np.float32), "upd": np.zeros((1, 4), np.float32)}
    line = kiln_error(kiln, tmp_path, [helper.make_node("Scatter", ["data", "idx", "upd"], ["out"], name="s")], feeds,
                      ["out"], 11, {"idx": np.zeros((1, 4), np.int64)})
    assert line == ("node 's' (Scatter): Scatter is not supported at opset 11: it was removed in opset 11 "
                    "(use ScatterElements)")
