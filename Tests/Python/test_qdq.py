"""QDQ import: a small CNN (conv+relu, conv, flatten, gemm) quantized by ONNX Runtime's
`quantize_static` (QDQ format, per-channel, u8 activations, i8 weights) compiles at -O2
into the int8 kernels (fold-qdq: the -O2 IR has qlinear_conv / qlinear_mat_mul and no
float conv or gemm) and its outputs match ORT's outputs for the same QDQ model within one
step of the final QuantizeLinear. Weights, calibration and test inputs are seeded numpy.

Which ORT output: for ORT's default QDQ model (8-bit i8 weights), ORT's fused int8 kernels
(QLinearConv/QGemm after its QDQ fusion, graph optimization level >= EXTENDED) use u8*s8
pair sums that saturate i16 on AVX2 machines without VNNI (ORT documents this and
recommends reduce_range), so there the reference is ORT with optimizations at BASIC, which
runs the model's DequantizeLinear/Conv/QuantizeLinear as written. A reduce_range model
(7-bit weights, no saturation) is compared against ORT with all optimizations, i.e. its
own int8 kernels."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

import kilnutil

SHAPE = (1, 3, 8, 8)


def float_model(path, head="gemm"):
    rng = np.random.default_rng(0)

    def init(name, shape, scale=0.3):
        return numpy_helper.from_array((rng.standard_normal(shape) * scale).astype(np.float32), name)

    inits = [init("w1", (8, 3, 3, 3)), init("b1", (8,)), init("w2", (8, 8, 3, 3)), init("b2", (8,)),
             init("wg", (10, 128), 0.1), init("bg", (10,))]
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"]),
        helper.make_node("Conv", ["r1", "w2", "b2"], ["c2"], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("Flatten", ["c2"], ["f"]),
        helper.make_node("Gemm", ["f", "wg", "bg"], ["y"], transB=1) if head == "gemm"
        else helper.make_node("MatMul", ["f", "wm"], ["y"]),
    ]
    inits.append(numpy_helper.from_array(numpy_helper.to_array(inits[4]).T.copy(), "wm"))
    graph = helper.make_graph(nodes, "qdq_cnn", [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


class Reader(CalibrationDataReader):
    def __init__(self):
        self.samples = iter([{"x": np.random.default_rng(100 + i).standard_normal(SHAPE).astype(np.float32)}
                             for i in range(8)])

    def get_next(self):
        return next(self.samples, None)


def quantized_model(directory, reduce_range, quant_format=QuantFormat.QDQ, head="gemm"):
    float_model(directory / "float.onnx", head)
    quantize_static(str(directory / "float.onnx"), str(directory / "qdq.onnx"), Reader(),
                    quant_format=quant_format, per_channel=True, reduce_range=reduce_range,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    return directory / "qdq.onnx"


@pytest.fixture(scope="module")
def qdq_model(tmp_path_factory):
    return quantized_model(tmp_path_factory.mktemp("qdq"), reduce_range=False)


def output_step(model):
    """Scale of the QuantizeLinear that produces the graph output's DequantizeLinear input."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    (dq,) = [n for n in model.graph.node if n.output[0] == model.graph.output[0].name]
    assert dq.op_type == "DequantizeLinear"
    return float(inits[dq.input[1]])


def test_qdq_model_is_what_ort_emits(qdq_model):
    ops = [n.op_type for n in onnx.load(qdq_model).graph.node]
    assert ops.count("Conv") == 2 and ops.count("Gemm") == 1 and "QuantizeLinear" in ops


def test_o2_ir_runs_int8(kiln, qdq_model):
    run = subprocess.run([str(kiln), "opt", str(qdq_model), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ir = run.stdout
    assert ir.count("qlinear_conv(") == 2, ir
    assert ir.count("qlinear_mat_mul(") == 1, ir
    assert " conv(" not in ir and " gemm(" not in ir and " mat_mul(" not in ir, ir
    # int8 from the input's QuantizeLinear to the output's DequantizeLinear: the DQ → Flatten
    # → Q between the second conv and the gemm becomes a u8 reshape.
    assert ir.count(" = quantize_linear(") == 1 and ir.count(" = dequantize_linear(") == 1, ir


@pytest.mark.parametrize("reduce_range, level", [(False, ort.GraphOptimizationLevel.ORT_ENABLE_BASIC),
                                                  (True, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)])
def test_qdq_matches_ort_within_one_step(kiln, tmp_path, reduce_range, level):
    compare_with_ort(kiln, tmp_path, quantized_model(tmp_path, reduce_range), reduce_range, level)


def test_qoperator_model_runs_int8(kiln, tmp_path):
    """QOperator format (QLinearConv, QLinearMatMul nodes; MatMul head since ORT writes Gemm
    as the contrib QGemm): imported as DQ → op → Q, folded back at -O2."""
    model = quantized_model(tmp_path, True, QuantFormat.QOperator, head="matmul")
    ops = [n.op_type for n in onnx.load(model).graph.node]
    assert ops.count("QLinearConv") == 2 and ops.count("QLinearMatMul") == 1, ops
    run = subprocess.run([str(kiln), "opt", str(model), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("qlinear_conv(") == 2 and run.stdout.count("qlinear_mat_mul(") == 1, run.stdout
    assert " conv(" not in run.stdout and " mat_mul(" not in run.stdout, run.stdout
    compare_with_ort(kiln, tmp_path, model, True, ort.GraphOptimizationLevel.ORT_ENABLE_ALL)


def compare_with_ort(kiln, tmp_path, qdq_model, reduce_range, level):
    plan = tmp_path / "qdq.kplan"
    run = subprocess.run([str(kiln), "compile", str(qdq_model), "-o", str(plan), "-O2"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    step = output_step(onnx.load(qdq_model))
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    session = ort.InferenceSession(str(qdq_model), options, providers=["CPUExecutionProvider"])
    worst = 0.0
    for i in range(6):
        x = np.random.default_rng(200 + i).standard_normal(SHAPE).astype(np.float32)
        np.save(tmp_path / f"x{i}.npy", x)
        out = tmp_path / f"out{i}"
        run = subprocess.run([str(kiln), "run", str(plan), f"--input=x={tmp_path / f'x{i}.npy'}",
                              "--output-dir", str(out)], capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        got = np.load(out / (kilnutil.sanitize("y") + ".npy"))
        (want,) = session.run(None, {"x": x})
        assert got.shape == want.shape and got.dtype == want.dtype
        worst = max(worst, float(np.abs(got - want).max()))
    print(f"reduce_range={reduce_range}: max |kiln - ORT(QDQ, {level.name})| = {worst:.6g} ({worst / step:.3f} output steps, step {step:.6g})")
    assert worst <= step * (1 + 1e-5)
