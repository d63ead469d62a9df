"""QDQ import of a residual add (and of a concat, at the end): ONNX Runtime's `quantize_static` (QDQ, per-channel, u8 activations) writes
DequantizeLinear → Add → QuantizeLinear between two quantized ops; fold-qdq (-O2) turns it into one
qlinear_add (QADD at run time), and the plan's outputs match ORT's on the same QDQ model within one
step of the output QuantizeLinear. The model ends at the add (after its relu), so any difference is the
add's own rounding. Weights, calibration and test inputs are seeded numpy."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

import kilnutil

SHAPE = (1, 8, 10, 10)


def float_model(path):
    """relu(conv(relu(conv(x))) + relu(conv(x))): ResNet's basic block, the shortcut a conv's output."""
    rng = np.random.default_rng(3)

    def init(name, shape, scale=0.2):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], pads=[1, 1, 1, 1]),
             helper.make_node("Add", ["c2", "r1"], ["s"]),
             helper.make_node("Relu", ["s"], ["y"])]
    graph = helper.make_graph(nodes, "qdq_residual", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, SHAPE)],
                              [init("w1", (8, 8, 3, 3)), init("b1", (8,)), init("w2", (8, 8, 3, 3)), init("b2", (8,))])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


class Reader(CalibrationDataReader):
    def __init__(self):
        self.samples = iter([{"x": np.random.default_rng(100 + i).standard_normal(SHAPE).astype(np.float32)}
                             for i in range(8)])

    def get_next(self):
        return next(self.samples, None)


@pytest.fixture(scope="module", params=[False, True], ids=["i8", "reduce_range"])
def qdq_residual(request, tmp_path_factory):
    d = tmp_path_factory.mktemp("qdq_add")
    float_model(d / "float.onnx")
    quantize_static(str(d / "float.onnx"), str(d / "qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    reduce_range=request.param, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return d / "qdq.onnx", request.param


def output_step(model):
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    (dq,) = [n for n in model.graph.node if n.output[0] == model.graph.output[0].name]
    assert dq.op_type == "DequantizeLinear"
    return float(inits[dq.input[1]])


def test_residual_add_folds_to_qlinear_add(kiln, qdq_residual):
    model, _ = qdq_residual
    assert [n.op_type for n in onnx.load(model).graph.node].count("Add") == 1
    run = subprocess.run([str(kiln), "opt", str(model), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ir = run.stdout
    assert ir.count("qlinear_add(") == 1 and ir.count("qlinear_conv(") == 2, ir
    assert " add(" not in ir and " conv(" not in ir, ir
    # int8 from the input's QuantizeLinear to the output's DequantizeLinear.
    assert ir.count(" = quantize_linear(") == 1 and ir.count(" = dequantize_linear(") == 1, ir


def test_residual_add_matches_ort_within_one_step(kiln, tmp_path, qdq_residual):
    """ORT at BASIC runs the model's DequantizeLinear → Add → QuantizeLinear in float; with all
    optimizations it fuses them into its own QLinearAdd kernel. Both within one output step (the convs
    before the add are compared the same way in test_qdq.py; reduce_range keeps ORT's AVX2 conv kernels
    from saturating, see there)."""
    model, reduce_range = qdq_residual
    plan = tmp_path / "qdq.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "-O2"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    listing = subprocess.run([str(kiln), "inspect", str(plan)], capture_output=True, text=True, timeout=120).stdout
    assert listing.count("QADD") == 1, listing
    step = output_step(onnx.load(model))
    levels = [ort.GraphOptimizationLevel.ORT_ENABLE_BASIC] + ([ort.GraphOptimizationLevel.ORT_ENABLE_ALL] if reduce_range else [])
    for level in levels:
        options = ort.SessionOptions()
        options.graph_optimization_level = level
        session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
        worst = 0.0
        for i in range(6):
            x = np.random.default_rng(200 + i).standard_normal(SHAPE).astype(np.float32)
            np.save(tmp_path / f"x{i}.npy", x)
            out = tmp_path / f"out{i}-{level.name}"
            run = subprocess.run([str(kiln), "run", str(plan), f"--input=x={tmp_path / f'x{i}.npy'}", "--output-dir",
                                  str(out)], capture_output=True, text=True, timeout=300)
            assert run.returncode == 0, run.stderr
            got = np.load(out / (kilnutil.sanitize("y") + ".npy"))
            (want,) = session.run(None, {"x": x})
            assert got.shape == want.shape and got.dtype == want.dtype
            worst = max(worst, float(np.abs(got - want).max()))
        print(f"reduce_range={reduce_range}: max |kiln - ORT(QDQ, {level.name})| = {worst:.6g} ({worst / step:.3f} steps)")
        assert worst <= step * (1 + 1e-5)


def concat_model(path):
    """concat(relu(conv(x)), conv(x)) on the channel axis: Inception's branch join."""
    rng = np.random.default_rng(4)

    def init(name, shape, scale=0.2):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    nodes = [helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c1"], ["r1"]),
             helper.make_node("Conv", ["x", "w2", "b2"], ["c2"]),
             helper.make_node("Concat", ["r1", "c2"], ["y"], axis=1)]
    out_shape = (1, 13, 10, 10)
    graph = helper.make_graph(nodes, "qdq_concat", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, out_shape)],
                              [init("w1", (6, 8, 3, 3)), init("b1", (6,)), init("w2", (7, 8, 1, 1)), init("b2", (7,))])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


def test_concat_folds_to_qlinear_concat_and_matches_ort(kiln, tmp_path):
    """DequantizeLinear → Concat → QuantizeLinear as quantize_static writes it becomes qlinear_concat (QCONCAT),
    within one output step of ORT (reduce_range model, ORT with all optimizations: its own int8 kernels)."""
    concat_model(tmp_path / "float.onnx")
    quantize_static(str(tmp_path / "float.onnx"), str(tmp_path / "qdq.onnx"), Reader(), quant_format=QuantFormat.QDQ,
                    per_channel=True, reduce_range=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    model = tmp_path / "qdq.onnx"
    run = subprocess.run([str(kiln), "opt", str(model), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("qlinear_concat(") == 1 and " concat(" not in run.stdout, run.stdout
    plan = tmp_path / "qdq.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    step = output_step(onnx.load(model))
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    worst = 0.0
    for i in range(4):
        x = np.random.default_rng(300 + i).standard_normal(SHAPE).astype(np.float32)
        np.save(tmp_path / f"x{i}.npy", x)
        run = subprocess.run([str(kiln), "run", str(plan), f"--input=x={tmp_path / f'x{i}.npy'}", "--output-dir",
                              str(tmp_path / f"o{i}")], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        got = np.load(tmp_path / f"o{i}" / (kilnutil.sanitize("y") + ".npy"))
        (want,) = session.run(None, {"x": x})
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"concat: max |kiln - ORT| = {worst:.6g} ({worst / step:.3f} steps)")
    assert worst <= step * (1 + 1e-5)
