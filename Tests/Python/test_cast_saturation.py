"""Float → integer Cast outside the target's range: ONNX leaves it undefined (ONNX Runtime returns
the x86 conversion's artefacts: -1.5 → uint8 255, 300 → 44, 1e10 → 0). Kiln defines it as
truncation toward zero saturated at the target's range, NaN → 0, and all three of its paths
agree: the reference evaluator (`kiln eval`), the C runtime (`kiln run`), and constant folding at
-O2 (a Cast of an initializer). The evaluator used to wrap like a C cast to int64 (so -O2 plans
folded casts differently from -O0 plans running the kernel)."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

X = np.array([-1.5, -1.0, -200.0, 255.5, 256.0, 300.0, 1e10, -1e10, 3.7, np.nan, np.inf, -np.inf], np.float32)
TARGETS = {"u8": (TensorProto.UINT8, np.uint8), "i8": (TensorProto.INT8, np.int8), "u16": (TensorProto.UINT16, np.uint16),
           "i16": (TensorProto.INT16, np.int16), "i32": (TensorProto.INT32, np.int32), "u32": (TensorProto.UINT32, np.uint32)}


def saturated(dtype):
    info = np.iinfo(dtype)
    with np.errstate(invalid="ignore"):
        return np.where(np.isnan(X), 0, np.clip(np.trunc(X.astype(np.float64)), info.min, info.max)).astype(dtype)


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_out_of_range_float_to_integer_cast_saturates_on_every_path(name, kiln, tmp_path):
    code, dtype = TARGETS[name]
    nodes = [helper.make_node("Cast", ["x"], ["y"], to=code), helper.make_node("Cast", ["c"], ["folded"], to=code)]
    graph = helper.make_graph(nodes, "cast", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [X.size])],
                              [helper.make_tensor_value_info("y", code, [X.size]),
                               helper.make_tensor_value_info("folded", code, [X.size])],
                              initializer=[numpy_helper.from_array(X, "c")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "cast.onnx")
    np.save(tmp_path / "x.npy", X)
    want = saturated(dtype)
    r = subprocess.run([str(kiln), "eval", str(tmp_path / "cast.onnx"), "--input", f"x={tmp_path / 'x.npy'}",
                        "--output-dir", str(tmp_path / "eval")], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    for output in ("y", "folded"):
        np.testing.assert_array_equal(np.load(tmp_path / "eval" / f"{output}.npy"), want)
    for level in ("-O0", "-O2"):
        plan = tmp_path / f"cast{level}.kplan"
        r = subprocess.run([str(kiln), "compile", str(tmp_path / "cast.onnx"), "-o", str(plan), level],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([str(kiln), "run", str(plan), "--input", f"x={tmp_path / 'x.npy'}", "--output-dir",
                            str(tmp_path / level)], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        for output in ("y", "folded"):
            got = np.load(tmp_path / level / f"{output}.npy")
            assert got.dtype == dtype
            np.testing.assert_array_equal(got, want, err_msg=f"{output} {level}")
