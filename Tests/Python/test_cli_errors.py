"""Bad input gets one clear line on stderr and a non-zero exit, never a trap or crash.
Each case asserts the exact message."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

import kilnutil

GRAPHS = kilnutil.graphs_dir()
MLP = GRAPHS / "mlp.onnx"


def kiln_fails(kiln, *args) -> str:
    run = subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, f"exit {run.returncode}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    lines = run.stderr.strip().splitlines()
    assert lines, "no message"
    return run.stderr.strip()


def save(model, path):
    onnx.save(model, path)
    return path


def tiny_model(nodes, inputs, outputs, opset=17, initializers=()):
    graph = helper.make_graph(nodes, "tiny", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def test_not_an_onnx_file(kiln, tmp_path):
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"this is not a protobuf \xff\xfe at all")
    msg = kiln_fails(kiln, "inspect", bad)
    assert msg.startswith(f"Error: {bad}: not a valid ONNX model"), msg


def test_truncated_onnx_file(kiln, tmp_path):
    data = MLP.read_bytes()
    bad = tmp_path / "truncated.onnx"
    bad.write_bytes(data[: len(data) // 2])
    msg = kiln_fails(kiln, "inspect", bad)
    assert msg.startswith(f"Error: {bad}: not a valid ONNX model"), msg


def test_missing_file(kiln, tmp_path):
    assert kiln_fails(kiln, "inspect", tmp_path / "nope.onnx") == f"Error: {tmp_path / 'nope.onnx'}: no such file"


def test_unknown_ops_are_all_listed_with_node_names(kiln, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    nodes = [
        helper.make_node("NonZero", ["x"], ["a"], name="nz1"),
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("Det", ["r"], ["b"], name="det1"),
        helper.make_node("NonZero", ["r"], ["c"], name="nz2"),
        helper.make_node("Det", ["x"], ["y"], name="det2"),
    ]
    path = save(tiny_model(nodes, [x], [y]), tmp_path / "unknown.onnx")
    msg = kiln_fails(kiln, "inspect", path)
    assert "unsupported" in msg.lower()
    for token in ["NonZero", "Det", "nz1", "nz2", "det1", "det2"]:
        assert token in msg, msg


def test_opset_out_of_range(kiln, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    model = tiny_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y], opset=29)
    path = save(model, tmp_path / "new.onnx")
    msg = kiln_fails(kiln, "inspect", path)
    assert "opset 29 is not supported (Kiln supports ai.onnx opsets 1–28)" in msg, msg


def test_unresolved_dim_names_input_and_dim(kiln, tmp_path):
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3, "H", "W"])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, None)
    path = save(tiny_model([helper.make_node("Relu", ["x"], ["y"])], [x], [y]), tmp_path / "dyn.onnx")
    msg = kiln_fails(kiln, "inspect", path)
    assert msg.endswith("input 'x' dims 2 ('H'), 3 ('W') are dynamic; pin them with numbers: "
                        "--input-shape x=1,3,<H>,<W>"), msg
    # and pinning it works
    run = subprocess.run([str(kiln), "inspect", str(path), "--input-shape", "x=1,3,8,8"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "%x: f32[1,3,8,8]" in run.stdout


def test_kir_syntax_error_has_line_and_column(kiln, tmp_path):
    bad = tmp_path / "bad.kir"
    bad.write_text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x : f32[2]\n  return %y\n}\n")
    msg = kiln_fails(kiln, "inspect", bad)
    assert msg.startswith(f"Error: {bad}:2:"), msg


@pytest.fixture()
def mlp_input(tmp_path):
    return np.load(GRAPHS / "mlp/inputs/x.npy")


def test_npy_wrong_shape(kiln, tmp_path, mlp_input):
    f = tmp_path / "x.npy"
    np.save(f, mlp_input.reshape(784, 1))
    msg = kiln_fails(kiln, "eval", MLP, "--input", f"x={f}", "--output-dir", tmp_path / "out")
    assert msg == f"Error: {f}: input 'x' expects shape [1,784], the file has [784,1]"


def test_npy_wrong_dtype(kiln, tmp_path, mlp_input):
    f = tmp_path / "x.npy"
    np.save(f, mlp_input.astype(np.float64))
    msg = kiln_fails(kiln, "eval", MLP, "--input", f"x={f}", "--output-dir", tmp_path / "out")
    assert msg == f"Error: {f}: input 'x' expects dtype f32, the file has f64"


def test_npy_fortran_order(kiln, tmp_path):
    f = tmp_path / "x.npy"
    np.save(f, np.asfortranarray(np.ones((2, 392), dtype=np.float32)))
    msg = kiln_fails(kiln, "eval", MLP, "--input", f"x={f}", "--output-dir", tmp_path / "out")
    assert msg == f"Error: {f}: Fortran-order arrays are not supported; save with np.ascontiguousarray"


def test_npy_truncated(kiln, tmp_path, mlp_input):
    f = tmp_path / "x.npy"
    np.save(f, mlp_input)
    f.write_bytes(f.read_bytes()[:-100])
    msg = kiln_fails(kiln, "eval", MLP, "--input", f"x={f}", "--output-dir", tmp_path / "out")
    assert msg == f"Error: {f}: truncated data: shape [1,784] of f32 needs 3136 bytes, file has 3036"


def test_missing_input(kiln, tmp_path):
    msg = kiln_fails(kiln, "eval", MLP, "--output-dir", tmp_path / "out")
    assert msg == "Error: missing input(s): 'x' (f32[1,784]); pass --input NAME=FILE.npy"


def test_unknown_input_name(kiln, tmp_path, mlp_input):
    f = tmp_path / "x.npy"
    np.save(f, mlp_input)
    msg = kiln_fails(kiln, "eval", MLP, "--input", f"image={f}", "--output-dir", tmp_path / "out")
    assert msg == "Error: --input image: the model has no input named 'image' (inputs: 'x')"
