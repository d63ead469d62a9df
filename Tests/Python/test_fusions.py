"""The -O2 fusions (fuse-layernorm, fuse-gelu, fuse-silu, fuse-hardswish, fuse-attention), end to end.

* transformer_tiny after `kiln opt -O2` has no ReduceMean/Pow/Sqrt/Erf/Softmax left: it
  is layer_norm, gelu and attention nodes.
* Small ONNX models written the ways exporters write LayerNorm, GELU, SiLU, HardSwish and attention are
  fused at -O2 (checked on the IR) and the compiled plans match ONNX Runtime within
  1e-4 relative / 1e-5 absolute, at 1 and 2 threads.
"""

from __future__ import annotations

import math
import re
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper

import kilnutil

F = TensorProto.FLOAT


def ops_after_o2(kiln, model_path) -> list[str]:
    """The -O2 IR's op mnemonics; a fused activation counts as its own entry too (a gelu
    that fuse-elementwise folded into the bias add shows up as `add` and `gelu`)."""
    run = subprocess.run([str(kiln), "opt", str(model_path), "-O2"], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    ops = re.findall(r"^\s+%\S+ = ([a-z_]+)[ (]", run.stdout, re.M)
    return ops + re.findall(r"activation = ([a-z_]+)", run.stdout)


def test_transformer_tiny_is_fused_at_o2(kiln):
    ops = ops_after_o2(kiln, kilnutil.graphs_dir() / "transformer_tiny.onnx")
    for gone in ("reduce_mean", "pow", "sqrt", "erf", "softmax", "div"):
        assert gone not in ops, f"{gone} left after -O2"
    # Embeddings + 2 per layer; one GELU and one attention per layer.
    assert ops.count("layer_norm") == 5
    assert ops.count("gelu") == 2
    assert ops.count("attention") == 2


# ---- small models in the exporters' spellings ----


class Model:
    def __init__(self):
        self.nodes, self.inits, self.inputs, self.feeds = [], [], [], {}
        self.rng = np.random.default_rng(7)
        self.k = 0

    def name(self, base="t"):
        self.k += 1
        return f"{base}{self.k}"

    def input(self, name, shape, array=None):
        self.inputs.append(helper.make_tensor_value_info(name, F, shape))
        self.feeds[name] = array if array is not None else self.rng.uniform(-2, 2, shape).astype(np.float32)
        return name

    def const(self, value, shape=()):
        n = self.name("c")
        a = np.asarray(value, np.float32).reshape(shape)
        self.inits.append(onnx.numpy_helper.from_array(a, n))
        return n

    def op(self, op_type, *inputs, **attrs):
        out = self.name()
        self.nodes.append(helper.make_node(op_type, list(inputs), [out], **attrs))
        return out

    def save(self, path, output, opset=17):
        self.nodes.append(helper.make_node("Identity", [output], ["y"]))
        graph = helper.make_graph(self.nodes, "fusion", self.inputs, [helper.make_empty_tensor_value_info("y")],
                                  initializer=self.inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
        model = onnx.shape_inference.infer_shapes(model)
        onnx.save(model, str(path))


def layernorm_exported(m, x, axes, eps, variance="pow", divide="div", scale=True, bias=True, opset=17):
    mean = m.op("ReduceMean", x, axes=axes)
    d = m.op("Sub", x, mean)
    sq = m.op("Pow", d, m.const(2.0)) if variance == "pow" else m.op("Mul", d, d)
    var = m.op("ReduceMean", sq, axes=axes)
    std = m.op("Sqrt", m.op("Add", m.const(eps), var))
    n = m.op("Div", d, std) if divide == "div" else m.op("Mul", m.op("Reciprocal", std), d)
    shape = list(m.feeds[x].shape[axes[0]:])
    if scale:
        n = m.op("Mul", n, m.const(m.rng.uniform(0.5, 1.5, shape), shape))
    if bias:
        n = m.op("Add", m.const(m.rng.uniform(-0.5, 0.5, shape), shape), n)
    return n


def gelu_erf(m, x, order):
    if order == "half_last":
        e = m.op("Erf", m.op("Div", x, m.const(math.sqrt(2.0))))
        return m.op("Mul", m.op("Mul", x, m.op("Add", e, m.const(1.0))), m.const(0.5))
    e = m.op("Erf", m.op("Mul", x, m.const(0.70710677)))
    return m.op("Mul", m.op("Mul", m.const(0.5), x), m.op("Add", m.const(1.0), e))


def gelu_tanh(m, x, cube):
    x3 = m.op("Pow", x, m.const(3.0)) if cube == "pow" else m.op("Mul", x, m.op("Mul", x, x))
    inner = m.op("Add", x, m.op("Mul", m.const(0.044715), x3))
    t = m.op("Tanh", m.op("Mul", inner, m.const(math.sqrt(2.0 / math.pi))))
    return m.op("Mul", m.op("Mul", x, m.const(0.5)), m.op("Add", t, m.const(1.0)))


def bert_attention(m, b, h, s, d, masked):
    q = m.input("q", [b, h, s, d])
    k = m.input("k", [b, h, s, d])
    v = m.input("v", [b, h, s, d])
    mask = np.zeros((b, 1, 1, s), np.float32)
    mask[..., s - masked:] = -10000.0
    mk = m.input("mask", [b, 1, 1, s], mask)
    scores = m.op("MatMul", q, m.op("Transpose", k, perm=[0, 1, 3, 2]))
    scores = m.op("Add", m.op("Div", scores, m.const(math.sqrt(d))), mk)
    return m.op("MatMul", m.op("Softmax", scores, axis=-1), v)


def torch_mha_attention(m, bh, s, d):
    """nn.MultiheadAttention-style: [B·H, S, D], q and kᵀ each scaled by d^-1/4, no mask."""
    q = m.input("q", [bh, s, d])
    k = m.input("k", [bh, s, d])
    v = m.input("v", [bh, s, d])
    c = m.const(d ** -0.25)
    kt = m.op("Transpose", k, perm=[0, 2, 1])
    scores = m.op("MatMul", m.op("Mul", q, c), m.op("Mul", kt, c))
    return m.op("MatMul", m.op("Softmax", scores, axis=-1), v)


def build(case, path):
    m = Model()
    opset = 17
    if case == "layernorm_pow_div_affine":
        y = layernorm_exported(m, m.input("x", [2, 5, 24]), [-1], 1e-5)
    elif case == "layernorm_mul_reciprocal_two_axes":
        y = layernorm_exported(m, m.input("x", [3, 4, 6]), [1, 2], 1e-3, variance="mul", divide="reciprocal",
                               scale=False, bias=True)
    elif case == "gelu_erf_half_last":
        y = gelu_erf(m, m.input("x", [4, 33]), "half_last")
    elif case == "gelu_erf_half_first":
        y = gelu_erf(m, m.input("x", [4, 33]), "half_first")
    elif case == "gelu_tanh_pow":
        y = gelu_tanh(m, m.input("x", [4, 33]), "pow")
    elif case == "gelu_tanh_mul":
        y = gelu_tanh(m, m.input("x", [4, 33]), "mul")
    elif case == "silu_conv_yolo":  # YOLOv5/v8 Conv block: Conv → Sigmoid → Mul(conv, sigmoid)
        c = m.op("Conv", m.input("x", [1, 3, 10, 10]), m.const(m.rng.uniform(-0.5, 0.5, (8, 3, 3, 3)), (8, 3, 3, 3)),
                 m.const(m.rng.uniform(-0.5, 0.5, 8), (8,)), pads=[1, 1, 1, 1])
        y = m.op("Mul", c, m.op("Sigmoid", c))
    elif case == "silu_gemm_sigmoid_first":  # EfficientNet-style Swish after a dense layer
        g = m.op("Gemm", m.input("x", [4, 20]), m.const(m.rng.uniform(-0.5, 0.5, (20, 12)), (20, 12)),
                 m.const(m.rng.uniform(-0.5, 0.5, 12), (12,)))
        y = m.op("Mul", m.op("Sigmoid", g), g)
    elif case == "hardswish_conv_paddle":  # paddle2onnx (PP-OCR, PicoDet): Div(Mul(x, Clip(Add(x, 3), 0, 6)), 6)
        c = m.op("Conv", m.input("x", [1, 3, 10, 10]), m.const(m.rng.uniform(-0.5, 0.5, (8, 3, 3, 3)), (8, 3, 3, 3)),
                 m.const(m.rng.uniform(-0.5, 0.5, 8), (8,)), pads=[1, 1, 1, 1])
        gate = m.op("Clip", m.op("Add", c, m.const(3.0)), m.const(0.0), m.const(6.0))
        y = m.op("Div", m.op("Mul", c, gate), m.const(6.0))
    elif case == "hardswish_gemm_hardsigmoid":  # PyTorch before opset 14: x * HardSigmoid(x; 1/6, 0.5)
        g = m.op("Gemm", m.input("x", [4, 20]), m.const(m.rng.uniform(-1, 1, (20, 12)), (20, 12)),
                 m.const(m.rng.uniform(-0.5, 0.5, 12), (12,)))
        y = m.op("Mul", g, m.op("HardSigmoid", g, alpha=1.0 / 6, beta=0.5))
    elif case == "attention_bert":
        y = bert_attention(m, 2, 3, 7, 8, masked=2)
    elif case == "attention_torch_mha":
        y = torch_mha_attention(m, 6, 9, 16)
    elif case == "attention_bert_large":  # big enough for the two-GEMM path
        y = bert_attention(m, 1, 2, 96, 32, masked=10)
    else:
        raise ValueError(case)
    m.save(path, y, opset)
    return m.feeds


FUSED = {"layernorm": "layer_norm", "gelu": "gelu", "attention": "attention", "silu": "silu",
         "hardswish": "hard_swish"}
CASES = ["layernorm_pow_div_affine", "layernorm_mul_reciprocal_two_axes", "gelu_erf_half_last", "gelu_erf_half_first",
         "gelu_tanh_pow", "gelu_tanh_mul", "silu_conv_yolo", "silu_gemm_sigmoid_first", "hardswish_conv_paddle",
         "hardswish_gemm_hardsigmoid", "attention_bert",
         "attention_torch_mha", "attention_bert_large"]


@pytest.mark.parametrize("case", CASES)
def test_exported_pattern_is_fused_and_matches_onnxruntime(case, kiln, tmp_path):
    model = tmp_path / f"{case}.onnx"
    feeds = build(case, model)
    ops = ops_after_o2(kiln, model)
    assert ops.count(FUSED[case.split("_")[0]]) == 1, ops
    assert not {"reduce_mean", "erf", "tanh", "softmax", "pow", "sigmoid", "hard_sigmoid", "clip", "div"} & set(ops), ops

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    (expected,) = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"]).run(None, feeds)

    plan = tmp_path / "model.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "-O2"], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stderr
    args = []
    for name, array in feeds.items():
        np.save(tmp_path / f"{name}.npy", array)
        args.append(f"--input={name}={tmp_path / f'{name}.npy'}")
    for threads in ("1", "2"):
        out = tmp_path / f"out{threads}"
        run = subprocess.run([str(kiln), "run", str(plan), *args, "--output-dir", str(out), "--threads", threads],
                             capture_output=True, text=True, timeout=300)
        assert run.returncode == 0, run.stderr
        r = kilnutil.compare(np.load(out / "y.npy"), expected, rtol=1e-4, atol=1e-5)
        assert r, f"{case} at {threads} threads: {r.message} (max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g})"


def test_channel_affine_after_conv_folds_into_the_conv(kiln, tmp_path):
    """BatchNormalization written as Mul/Add of [C,1,1] constants (TF/Keras-style exports):
    at -O2 conv → mul → add → relu is one conv with a relu, and matches ONNX Runtime."""
    m = Model()
    c = m.op("Conv", m.input("x", [1, 3, 9, 9]), m.const(m.rng.uniform(-0.5, 0.5, (8, 3, 3, 3)), (8, 3, 3, 3)),
             m.const(m.rng.uniform(-0.5, 0.5, 8), (8,)), pads=[1, 1, 1, 1])
    s = m.op("Mul", c, m.const(m.rng.uniform(0.5, 1.5, (8, 1, 1)), (8, 1, 1)))
    y = m.op("Relu", m.op("Add", m.const(m.rng.uniform(-0.5, 0.5, (1, 8, 1, 1)), (1, 8, 1, 1)), s))
    model = tmp_path / "affine.onnx"
    m.save(model, y)
    ops = ops_after_o2(kiln, model)
    assert [o for o in ops if o != "constant"] == ["conv", "relu"], ops
    (expected,) = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, m.feeds)
    plan = tmp_path / "affine.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    np.save(tmp_path / "x.npy", m.feeds["x"])
    run = subprocess.run([str(kiln), "run", str(plan), f"--input=x={tmp_path / 'x.npy'}", "--output-dir",
                          str(tmp_path / "out")], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    r = kilnutil.compare(np.load(tmp_path / "out" / "y.npy"), expected, rtol=1e-4, atol=1e-5)
    assert r, f"{r.message} (max abs {r.max_abs:.3g})"
