"""Ops Kiln imports as compositions of IR ops, against ONNX Runtime through -O0 and -O2
plans (`kiln run`, `kiln-run` at 1 and 2 threads) and `kiln eval` (the normalizations within
1e-4 relative / 1e-5 absolute, the rest bit for bit): LpNormalization (p 1
and 2, any axis, an all-zero vector), MeanVarianceNormalization (default and explicit
axes), Hardmax (opset 13 per axis; opset 11 over the flattened trailing dims; ties take
the first), Shrink (float and int64), EyeLike (diagonal offsets, dtype attribute).
"""

from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from test_gather_nd import check_against_ort

TYPES = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64}


def one_node(path, op, shape, input_dtype=np.float32, opset=18, **attrs):
    node = helper.make_node(op, ["x"], ["y"], **attrs)
    graph = helper.make_graph([node], op, [helper.make_tensor_value_info("x", TYPES[input_dtype], shape)],
                              [helper.make_empty_tensor_value_info("y")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))
    return path


@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_lp_normalization(p, axis, kiln, tmp_path):
    x = np.random.default_rng(p + axis).standard_normal((3, 4, 5)).astype(np.float32)
    if axis == -1:
        x[1, 2, :] = 0  # an all-zero vector stays zero
    check_against_ort(kiln, one_node(tmp_path / "m.onnx", "LpNormalization", x.shape, axis=axis, p=p), {"x": x},
                      tmp_path, exact=False)


@pytest.mark.parametrize("axes", [None, [1], [0, 2, 3], [2, 3]])
def test_mean_variance_normalization(axes, kiln, tmp_path):
    x = (3 + 2 * np.random.default_rng(1).standard_normal((2, 3, 4, 5))).astype(np.float32)
    attrs = {} if axes is None else {"axes": axes}
    got = check_against_ort(kiln, one_node(tmp_path / "m.onnx", "MeanVarianceNormalization", x.shape, **attrs),
                            {"x": x}, tmp_path, exact=False)
    assert np.abs(got).max() > 0.5


@pytest.mark.parametrize("opset,axis", [(13, -1), (13, 0), (13, 1), (11, 1), (11, 0), (11, 2)])
def test_hardmax(opset, axis, kiln, tmp_path):
    x = np.random.default_rng(axis + opset).integers(0, 4, (3, 4, 5)).astype(np.float32)  # many ties
    check_against_ort(kiln, one_node(tmp_path / "m.onnx", "Hardmax", x.shape, opset=opset, axis=axis), {"x": x},
                      tmp_path)


@pytest.mark.parametrize("dtype,lambd,bias", [(np.float32, 0.5, 0.0), (np.float32, 1.5, 0.75), (np.int64, 2.0, 1.0)])
def test_shrink(dtype, lambd, bias, kiln, tmp_path):
    rng = np.random.default_rng(2)
    x = (rng.integers(-5, 6, (4, 7)) if dtype is np.int64 else 3 * rng.standard_normal((4, 7))).astype(dtype)
    check_against_ort(kiln, one_node(tmp_path / "m.onnx", "Shrink", x.shape, dtype, lambd=lambd, bias=bias), {"x": x},
                      tmp_path)


@pytest.mark.parametrize("shape,k,dtype", [((3, 3), 0, None), ((3, 5), 2, None), ((5, 3), -1, TensorProto.INT64),
                                           ((4, 4), 7, None)])
def test_eye_like(shape, k, dtype, kiln, tmp_path):
    attrs = {"k": k} if dtype is None else {"k": k, "dtype": dtype}
    x = np.zeros(shape, np.float32)
    check_against_ort(kiln, one_node(tmp_path / "m.onnx", "EyeLike", shape, **attrs), {"x": x}, tmp_path)
