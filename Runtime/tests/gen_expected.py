#!/usr/bin/env python3
"""Writes tests/expected.h: inputs and ONNX Runtime outputs for the C kernel tests.

Run with the project venv: /work/main/.venv/bin/python Runtime/tests/gen_expected.py
The C tests build plans with the same attributes and compare against these arrays, so the
expected values never come from the runtime under test.
"""
import os
import numpy as np
import onnx
from onnx import helper, TensorProto
import onnxruntime as ort

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "expected.h")
rng = np.random.default_rng(1234)
lines = []


def arr(shape, scale=1.0, offset=0.0):
    return (rng.uniform(-1, 1, size=shape) * scale + offset).astype(np.float32)


def c_float(v):
    if np.isnan(v):
        return "NAN"
    if np.isinf(v):
        return "INFINITY" if v > 0 else "-INFINITY"
    t = "%.9g" % v
    if "." not in t and "e" not in t and "n" not in t:
        t += ".0"
    return t + "f"


def emit(name, a):
    a = np.asarray(a)
    flat = a.reshape(-1)
    if a.dtype == np.float32:
        body = ", ".join(c_float(v) for v in flat)
        ctype = "float"
    elif a.dtype == np.int64:
        body = ", ".join("%dLL" % v for v in flat)
        ctype = "int64_t"
    elif a.dtype == np.int32:
        body = ", ".join("%d" % v for v in flat)
        ctype = "int32_t"
    elif a.dtype in (np.uint8, np.bool_):
        body = ", ".join("%d" % v for v in flat.astype(np.int64))
        ctype = "uint8_t"
    elif a.dtype == np.int8:
        body = ", ".join("%d" % v for v in flat)
        ctype = "int8_t"
    else:
        raise ValueError(a.dtype)
    dims = ", ".join(str(d) for d in a.shape) or "1"
    lines.append("static const %s %s[] = {%s};" % (ctype, name, body or "0"))
    lines.append("static const int64_t %s_dims[] = {%s};" % (name, dims))
    lines.append("#define %s_rank %d" % (name, a.ndim))


DT = {np.float32: TensorProto.FLOAT, np.int64: TensorProto.INT64, np.int32: TensorProto.INT32,
      np.uint8: TensorProto.UINT8, np.int8: TensorProto.INT8, np.bool_: TensorProto.BOOL}


def run(name, op, inputs, attrs=None, n_out=1, opset=21, domain=""):
    """inputs: list of numpy arrays (None = absent optional input)."""
    in_names = [("in%d" % i if a is not None else "") for i, a in enumerate(inputs)]
    out_names = ["out%d" % i for i in range(n_out)]
    node = helper.make_node(op, in_names, out_names, **(attrs or {}))
    vi = [helper.make_tensor_value_info(n, DT[a.dtype.type], a.shape) for n, a in zip(in_names, inputs) if a is not None]
    vo = [helper.make_empty_tensor_value_info(n) for n in out_names]
    g = helper.make_graph([node], name, vi, vo)
    m = helper.make_model(g, opset_imports=[helper.make_opsetid(domain, opset)])
    so = ort.SessionOptions()
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
    feeds = {n: a for n, a in zip(in_names, inputs) if a is not None}
    outs = sess.run(None, feeds)
    for i, a in enumerate(inputs):
        if a is not None:
            emit("%s_in%d" % (name, i), a)
    for i, o in enumerate(outs):
        emit("%s_out%d" % (name, i), o)
    return outs


# ---- unary (one shared input; domain-limited functions get their own) ----
x = arr((3, 7), 3.0)
emit("unary_x", x)
unary = [
    ("relu", "Relu", {}), ("leaky", "LeakyRelu", {"alpha": 0.1}), ("sigmoid", "Sigmoid", {}), ("tanh", "Tanh", {}),
    ("gelu", "Gelu", {}), ("gelu_tanh", "Gelu", {"approximate": "tanh"}), ("hard_swish", "HardSwish", {}),
    ("hard_sigmoid", "HardSigmoid", {"alpha": 0.2, "beta": 0.5}), ("elu", "Elu", {"alpha": 1.5}), ("selu", "Selu", {}),
    ("celu", "Celu", {"alpha": 0.7}), ("softplus", "Softplus", {}), ("softsign", "Softsign", {}), ("mish", "Mish", {}),
    ("thresholded_relu", "ThresholdedRelu", {"alpha": 0.3}), ("exp", "Exp", {}), ("abs", "Abs", {}), ("neg", "Neg", {}),
    ("reciprocal", "Reciprocal", {}), ("floor", "Floor", {}), ("ceil", "Ceil", {}), ("round", "Round", {}),
    ("sign", "Sign", {}), ("erf", "Erf", {}), ("sin", "Sin", {}), ("cos", "Cos", {}), ("tan", "Tan", {}),
    ("atan", "Atan", {}), ("sinh", "Sinh", {}), ("cosh", "Cosh", {}), ("asinh", "Asinh", {}),
]
for name, op, attrs in unary:
    out = run("u_" + name, op, [x], attrs)
for name, op in [("log", "Log"), ("sqrt", "Sqrt"), ("acosh", "Acosh")]:
    run("u_" + name, op, [np.abs(x) + np.float32(1.0)])
for name, op in [("asin", "Asin"), ("acos", "Acos"), ("atanh", "Atanh")]:
    run("u_" + name, op, [x / np.float32(3.5)])
run("u_clip", "Clip", [x, np.array(-0.5, np.float32), np.array(0.7, np.float32)])
emit("u_round_in", np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 0.0], np.float32))
emit("u_round_out", np.round(np.array([0.5, 1.5, 2.5, -0.5, -1.5, 2.4, -2.6, 0.0], np.float32)))

# ---- normalization / softmax / pooling ----
run("softmax_last", "Softmax", [arr((2, 3, 5), 4.0)], {"axis": -1})
run("softmax_mid", "Softmax", [arr((2, 4, 3), 4.0)], {"axis": 1})
run("logsoftmax_mid", "LogSoftmax", [arr((2, 4, 3), 4.0)], {"axis": 1})
run("layer_norm", "LayerNormalization", [arr((2, 3, 4), 2.0, 0.5), arr((3, 4)), arr((3, 4))], {"axis": 1, "epsilon": 1e-5}, opset=17)
run("instance_norm", "InstanceNormalization", [arr((2, 3, 5, 4), 2.0), arr((3,)), arr((3,))], {"epsilon": 1e-5})
run("group_norm", "GroupNormalization", [arr((2, 6, 3, 3), 2.0), arr((6,)), arr((6,))], {"num_groups": 3, "epsilon": 1e-5}, opset=21)
run("lrn", "LRN", [arr((1, 7, 3, 3), 2.0)], {"size": 3, "alpha": 0.001, "beta": 0.75, "bias": 1.5})
p_in = arr((2, 3, 7, 8), 2.0)
run("maxpool", "MaxPool", [p_in], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1]})
run("maxpool_ceil_dil", "MaxPool", [p_in], {"kernel_shape": [2, 3], "strides": [2, 2], "dilations": [2, 1], "ceil_mode": 1})
run("avgpool_pad", "AveragePool", [p_in], {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2]})
run("avgpool_incl", "AveragePool", [p_in], {"kernel_shape": [3, 2], "strides": [2, 3], "pads": [1, 1, 0, 1], "count_include_pad": 1, "ceil_mode": 1})
run("lppool", "LpPool", [p_in], {"kernel_shape": [2, 2], "strides": [2, 2], "p": 2})

# ---- reductions ----
r_in = arr((3, 4, 5), 2.0)
for kind in ["ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
             "ReduceSumSquare", "ReduceLogSumExp"]:
    run("r_" + kind, kind, [r_in, np.array([0, 2], np.int64)], {"keepdims": 1}, opset=18)
run("r_logsum", "ReduceLogSum", [np.abs(r_in) + np.float32(0.5), np.array([1], np.int64)], {"keepdims": 0}, opset=18)
run("r_mean_hw", "ReduceMean", [arr((2, 3, 4, 5)), np.array([2, 3], np.int64)], {"keepdims": 1}, opset=18)
a_in = np.array([[1, 5, 5, 2], [3, 3, 0, 3], [-1, -4, -4, 2]], np.float32)
run("argmax", "ArgMax", [a_in], {"axis": 1, "keepdims": 1})
run("argmax_last", "ArgMax", [a_in], {"axis": 1, "keepdims": 0, "select_last_index": 1})
run("argmin0", "ArgMin", [a_in], {"axis": 0, "keepdims": 1})
run("cumsum", "CumSum", [arr((2, 5)), np.array(1, np.int64)], {"exclusive": 1, "reverse": 1})
run("topk", "TopK", [np.array([[3, 1, 4, 1, 5, 9, 2, 6], [2, 7, 1, 8, 2, 8, 1, 8]], np.float32), np.array([3], np.int64)],
    {"axis": 1, "largest": 1}, n_out=2)
run("topk_small", "TopK", [arr((4, 3)), np.array([2], np.int64)], {"axis": 0, "largest": 0}, n_out=2)

# ---- layout ----
run("d2s_dcr", "DepthToSpace", [arr((1, 8, 2, 3))], {"blocksize": 2, "mode": "DCR"})
run("d2s_crd", "DepthToSpace", [arr((1, 8, 2, 3))], {"blocksize": 2, "mode": "CRD"})
run("s2d", "SpaceToDepth", [arr((1, 2, 4, 6))], {"blocksize": 2})
pad_x = arr((2, 3, 4))
for mode in ["constant", "reflect", "edge", "wrap"]:
    run("pad_" + mode, "Pad", [pad_x, np.array([0, 1, 2, 1, 2, 3] if mode != "constant" else [1, -1, 2, 0, 2, -1], np.int64),
                               np.array(0.25, np.float32) if mode == "constant" else None], {"mode": mode}, opset=19)
run("gather_elements", "GatherElements", [arr((3, 4)), np.array([[0, 2], [1, -1], [2, 0]], np.int64)], {"axis": 1})
run("one_hot", "OneHot", [np.array([[1, -1], [0, 5]], np.int64), np.array(4, np.int64), np.array([0.5, 2.0], np.float32)], {"axis": 1})
run("trilu_up", "Trilu", [arr((2, 3, 4)), np.array(1, np.int64)], {"upper": 1})
run("trilu_low", "Trilu", [arr((2, 3, 4)), np.array(-1, np.int64)], {"upper": 0})

# ---- resize (input [1, 2, 3, 4]) ----
rs_x = arr((1, 2, 3, 4))
rs_cases = [
    ("nearest_asym", "nearest", "asymmetric", "floor", [1, 1, 2, 1.5], None),
    ("nearest_half", "nearest", "half_pixel", "round_prefer_ceil", [1, 1, 1.7, 2.3], None),
    ("linear_half", "linear", "half_pixel", "round_prefer_floor", [1, 1, 2, 2], None),
    ("linear_align", "linear", "align_corners", "round_prefer_floor", [1, 1, 2, 2], None),
    ("linear_pytorch_down", "linear", "pytorch_half_pixel", "round_prefer_floor", [1, 1, 1 / 3, 0.5], None),
    ("cubic_half", "cubic", "half_pixel", "round_prefer_floor", [1, 1, 2, 1.5], None),
    ("linear_crop", "linear", "tf_crop_and_resize", "round_prefer_floor", [1, 1, 2, 2], [0, 0, 0.2, -0.1, 1, 1, 0.8, 1.2]),
]
for name, mode, coord, nearest, scales, roi in rs_cases:
    attrs = {"mode": mode, "coordinate_transformation_mode": coord, "nearest_mode": nearest, "extrapolation_value": 0.5}
    if mode == "cubic":
        attrs["cubic_coeff_a"] = -0.5
        attrs["exclude_outside"] = 1
    run("rs_" + name, "Resize", [rs_x, np.array(roi if roi else [], np.float32), np.array(scales, np.float32)], attrs, opset=19)

# ---- quantization ----
q_x = arr((2, 3, 4), 3.0)
run("quant_tensor", "QuantizeLinear", [q_x, np.array(0.02, np.float32), np.array(10, np.uint8)])
run("quant_axis", "QuantizeLinear", [q_x, np.array([0.02, 0.05, 0.1], np.float32), np.array([0, -3, 5], np.int8)], {"axis": 1})
run("dequant_axis", "DequantizeLinear", [np.array(np.arange(24).reshape(2, 3, 4) * 7 % 255, np.uint8), np.array([0.02, 0.05, 0.1, 0.5], np.float32),
                                         np.array([3, 128, 0, 255], np.uint8)], {"axis": 2})

# ---- recurrent: X [seq=4, batch=3, input=5], hidden 3 ----
S, Bt, I, H = 4, 3, 5, 3
rx = arr((S, Bt, I))
lens = np.array([4, 2, 3], np.int32)
for kind, G in [("RNN", 1), ("GRU", 3), ("LSTM", 4)]:
    for direction, D in [("forward", 1), ("reverse", 1), ("bidirectional", 2)]:
        W = arr((D, G * H, I), 0.5)
        R = arr((D, G * H, H), 0.5)
        B = arr((D, 2 * G * H), 0.5)
        h0 = arr((D, Bt, H), 0.5)
        inputs = [rx, W, R, B, lens, h0]
        attrs = {"hidden_size": H, "direction": direction}
        n_out = 2
        if kind == "LSTM":
            inputs += [arr((D, Bt, H), 0.5), arr((D, 3 * H), 0.5)]
            n_out = 3
        if kind == "GRU" and direction == "reverse":
            attrs["linear_before_reset"] = 1
        if kind == "RNN" and direction == "bidirectional":
            attrs["activations"] = ["Relu", "Tanh"]
        if kind == "LSTM" and direction == "forward":
            attrs["clip"] = 0.9
        run("%s_%s" % (kind.lower(), direction), kind, inputs, attrs, n_out=n_out, opset=14)

with open(OUT, "w") as f:
    f.write("/* expected.h — generated by tests/gen_expected.py from ONNX Runtime %s; do not edit. */\n" % ort.__version__)
    f.write("#ifndef KILN_TEST_EXPECTED_H\n#define KILN_TEST_EXPECTED_H\n#include <math.h>\n#include <stdint.h>\n")
    f.write("\n".join(lines))
    f.write("\n#endif\n")
print("wrote", OUT, len(lines), "lines")
