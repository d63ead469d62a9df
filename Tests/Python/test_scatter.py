"""ScatterND, ScatterElements and Scatter (opsets 9-18) against ONNX Runtime, with indices
known at compile time (how exporters write slice assignments such as YOLOv5's
`y[..., 0:2] = ...` and torch's `scatter_`): partial and full index tuples, negative
indices, float/int64/bool data, updates smaller than the data, -O0 and -O2 plans through
`kiln run` and `kiln-run` (1 and 2 threads) and `kiln eval`; the reductions (add, mul, max,
min) with repeated indices, combined in index order. Indices that depend on graph inputs
and out-of-range indices are one-line errors.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil
from test_gather_nd import DTYPES, check_against_ort, data


def scatter_model(path, op, data_shape, dtype, indices, updates_shape, opset=18, const_indices=True, **attrs):
    inputs = [helper.make_tensor_value_info("x", DTYPES[dtype], data_shape),
              helper.make_tensor_value_info("u", DTYPES[dtype], updates_shape)]
    inits = []
    if const_indices:
        inits.append(numpy_helper.from_array(indices, "i"))
    else:
        inputs.append(helper.make_tensor_value_info("i", TensorProto.INT64, indices.shape))
    node = helper.make_node(op, ["x", "i", "u"], ["y"], **attrs)
    graph = helper.make_graph([node], "scatter", inputs, [helper.make_empty_tensor_value_info("y")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))
    return path


def distinct_tuples(rng, dims, count):
    """`count` distinct in-range index tuples over `dims`, some written negative."""
    flat = rng.choice(int(np.prod(dims)), count, replace=False)
    tuples = np.stack(np.unravel_index(flat, dims), -1).astype(np.int64)
    return np.where(rng.random(tuples.shape) < 0.3, tuples - np.array(dims), tuples)


ND_CASES = [  # data shape, index tuples shape, K
    ((6,), (3,), 1),
    ((4, 5), (3,), 2),
    ((4, 5), (2,), 1),
    ((2, 3, 4), (2, 2), 2),
    ((2, 3, 4), (), 3),
    ((3, 4, 2, 5), (4,), 2),
]


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
@pytest.mark.parametrize("shape,tuples,k", ND_CASES, ids=[f"{'x'.join(map(str, c[0]))}-k{c[2]}-t{len(c[1])}" for c in ND_CASES])
def test_scatter_nd_matches_onnxruntime(shape, tuples, k, dtype, kiln, tmp_path):
    rng = np.random.default_rng(sum(shape) + k)
    count = int(np.prod(tuples))
    indices = distinct_tuples(rng, shape[:k], count).reshape(tuples + (k,))
    updates_shape = tuples + shape[k:]
    model = scatter_model(tmp_path / "m.onnx", "ScatterND", shape, dtype, indices, updates_shape)
    feeds = {"x": data(rng, shape, dtype), "u": data(rng, updates_shape, dtype)}
    check_against_ort(kiln, model, feeds, tmp_path, levels=("-O0", "-O2") if dtype is np.float32 else ("-O2",))


def test_scatter_nd_yolo_style_slice_assignment(kiln, tmp_path):
    """y[..., 0:2] = f(y[..., 0:2]) on a [1, 3, 4, 4, 7] head, as ScatterND with indices
    enumerating every (b, a, h, w, c<2) -- K = 5 over the whole data rank."""
    shape = (1, 3, 4, 4, 7)
    grid = np.stack(np.meshgrid(*[np.arange(d) for d in shape[:4]], np.arange(2), indexing="ij"), -1)
    model = scatter_model(tmp_path / "m.onnx", "ScatterND", shape, np.float32, grid.astype(np.int64), grid.shape[:-1],
                          opset=13)
    rng = np.random.default_rng(5)
    check_against_ort(kiln, model, {"x": data(rng, shape, np.float32), "u": data(rng, grid.shape[:-1], np.float32)},
                      tmp_path)


EL_CASES = [  # data shape, updates shape, axis
    ((5,), (3,), 0),
    ((3, 4), (2, 4), 0),
    ((3, 4), (3, 2), 1),
    ((3, 4), (2, 3), -1),
    ((2, 3, 4), (2, 2, 4), 1),
]


@pytest.mark.parametrize("op,opset", [("ScatterElements", 18), ("ScatterElements", 11), ("Scatter", 10)])
@pytest.mark.parametrize("shape,ushape,axis", EL_CASES, ids=[f"{'x'.join(map(str, c[0]))}-a{c[2]}" for c in EL_CASES])
def test_scatter_elements_matches_onnxruntime(shape, ushape, axis, op, opset, kiln, tmp_path):
    rng = np.random.default_rng(len(shape) * 7 + axis)
    a = axis % len(shape)
    # Distinct targets along the axis per position of the other axes (no write collisions).
    order = np.argsort(rng.random(ushape[:a] + (shape[a],) + ushape[a + 1:]), axis=a)
    indices = np.take(order, np.arange(ushape[a]), axis=a).astype(np.int64)
    indices = np.where(rng.random(ushape) < 0.3, indices - shape[a], indices)
    model = scatter_model(tmp_path / "m.onnx", op, shape, np.float32, indices, ushape, opset=opset, axis=axis)
    check_against_ort(kiln, model, {"x": data(rng, shape, np.float32), "u": data(rng, ushape, np.float32)}, tmp_path)


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
@pytest.mark.parametrize("dtype", [np.float32, np.int64])
def test_scatter_nd_reductions_with_repeated_indices(reduction, dtype, kiln, tmp_path):
    """Rows 1 and -3 (= 1) of a [4, 3] input get two and one more updates: three writes."""
    indices = np.array([[1], [3], [-3], [1]], np.int64)
    model = scatter_model(tmp_path / "m.onnx", "ScatterND", (4, 3), dtype, indices, (4, 3), reduction=reduction)
    rng = np.random.default_rng(3)
    check_against_ort(kiln, model, {"x": data(rng, (4, 3), dtype), "u": data(rng, (4, 3), dtype)}, tmp_path)


@pytest.mark.parametrize("reduction", ["add", "mul", "max", "min"])
def test_scatter_elements_reductions_with_repeated_indices(reduction, kiln, tmp_path):
    indices = np.array([[0, 2, 2], [2, 2, -1], [0, 0, 1]], np.int64)
    model = scatter_model(tmp_path / "m.onnx", "ScatterElements", (3, 3), np.float32, indices, (3, 3), axis=1,
                          reduction=reduction)
    rng = np.random.default_rng(4)
    check_against_ort(kiln, model, {"x": data(rng, (3, 3), np.float32), "u": data(rng, (3, 3), np.float32)}, tmp_path)


def compile_error(kiln, model, tmp_path) -> str:
    c = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "m.kplan")], capture_output=True,
                       text=True, timeout=120)
    assert c.returncode == 1
    lines = c.stderr.strip().splitlines()
    assert len(lines) == 1, c.stderr
    return lines[0]


@pytest.mark.parametrize("op", ["ScatterND", "ScatterElements"])
def test_scatter_with_runtime_indices_is_one_line(op, kiln, tmp_path):
    indices = np.zeros((2, 1), np.int64)
    model = scatter_model(tmp_path / "m.onnx", op, (4, 1) if op == "ScatterElements" else (4,), np.float32, indices,
                          (2, 1) if op == "ScatterElements" else (2,), const_indices=False)
    assert ("indices (input 1 'i') must be known at compile time, but it depends on graph input 'i' "
            "(freeze it with --bind i=VALUE)"
            in compile_error(kiln, model, tmp_path))


def test_scatter_out_of_range_is_one_line(kiln, tmp_path):
    model = scatter_model(tmp_path / "b.onnx", "ScatterND", (4,), np.float32, np.array([[-5]], np.int64), (1,))
    assert "indices hold -5 (element 0), out of range for axis 0 of size 4" in compile_error(kiln, model, tmp_path)
    model = scatter_model(tmp_path / "c.onnx", "ScatterElements", (2, 3), np.float32, np.array([[0, 3]], np.int64),
                          (1, 2), axis=1)
    assert "indices hold 3 (element 1), out of range for axis 1 of size 3" in compile_error(kiln, model, tmp_path)
