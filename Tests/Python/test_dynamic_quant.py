"""Dynamic int8 end to end.

1. `kiln compile --quantize dynamic-int8` on the Graphs MLP and transformer: every Gemm/MatMul
   with a constant weight becomes dyn_quant_mat_mul (checked in the plan's instruction list),
   the plan shrinks against the fp32 plan, and the outputs on seeded inputs stay close to
   ONNX Runtime's fp32 outputs (cosine >= 0.999; max relative error printed).
2. Against ONNX Runtime's own `quantize_dynamic` (per_channel=True, i8 weights): a small
   MLP compiled by Kiln from the fp32 model with per-tensor activation ranges
   (`--dynamic-scale tensor`, ORT's DynamicQuantizeLinear) matches ORT running its quantized
   model within one quantization step; the quantized model itself imports, folds into
   dyn_quant_mat_mul at -O2 (no float mat_mul left) and matches ORT to f32 rounding; at -O0
   (no folding: DynamicQuantizeLinear → dynamic_quant_params + quantize_linear, MatMulInteger
   on f32) it matches too. A conv net through quantize_dynamic (ConvInteger) compiles and
   matches ORT.
3. CLI: --calibration with dynamic-int8, --dynamic-scale without it, a bad --dynamic-scale
   are one-line errors.
(LSTM / GRU: test_dynamic_quant_rnn.py.)
Weights and inputs are seeded numpy."""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import quantize_dynamic

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()


def run_kiln(kiln, *args, timeout=600):
    return subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=timeout)


def run_plan(kiln, plan, inputs, tmp_path, tag):
    args = []
    for name, value in inputs.items():
        f = tmp_path / f"{tag}-{kilnutil.sanitize(name)}.npy"
        np.save(f, value)
        args.append(f"--input={name}={f}")
    out = tmp_path / f"out-{tag}"
    r = run_kiln(kiln, "run", plan, *args, "--output-dir", out)
    assert r.returncode == 0, r.stderr
    return out


def cosine(a, b):
    a, b = a.ravel().astype(np.float64), b.ravel().astype(np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ---- 1. Graphs models vs fp32 ----

def graph_inputs(name, seed):
    """The manifest's inputs, with float inputs replaced by seeded normals of the same shape."""
    entries = MANIFEST["models"][name]["inputs"]
    base = kilnutil.load_tensors(entries)
    rng = np.random.default_rng(seed)
    return {k: (rng.standard_normal(v.shape).astype(np.float32) if v.dtype == np.float32 else v) for k, v in base.items()}


@pytest.mark.parametrize("name, ops", [("mlp", 3), ("transformer_tiny", None)])
def test_graphs_dynamic_int8_vs_fp32(kiln, tmp_path, name, ops):
    model = GRAPHS / MANIFEST["models"][name]["file"]
    fp32, q = tmp_path / "fp32.kplan", tmp_path / "dyn.kplan"
    assert run_kiln(kiln, "compile", model, "-o", fp32).returncode == 0
    r = run_kiln(kiln, "compile", model, "-o", q, "--quantize", "dynamic-int8")
    assert r.returncode == 0, r.stderr
    count = int(r.stderr.split("quantized ")[1].split(" ")[0])
    assert count >= 1 and (ops is None or count == ops), r.stderr
    inspect = run_kiln(kiln, "inspect", q)
    assert inspect.returncode == 0, inspect.stderr
    assert inspect.stdout.count(": DYN_QGEMM ") == count, inspect.stdout
    ratio = q.stat().st_size / fp32.stat().st_size
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    worst_cos, worst_rel = 1.0, 0.0
    for i in range(4):
        inputs = graph_inputs(name, 50 + i)
        out = run_plan(kiln, q, inputs, tmp_path, f"s{i}")
        for o, want in zip(session.get_outputs(), session.run(None, inputs)):
            got = np.load(out / (kilnutil.sanitize(o.name) + ".npy"))
            assert got.shape == want.shape
            worst_cos = min(worst_cos, cosine(got, want))
            worst_rel = max(worst_rel, float(np.abs(got - want).max() / np.abs(want).max()))
    print(f"{name}: {count} ops dynamic int8, plan {q.stat().st_size} B = {ratio:.3f}x fp32 plan; "
          f"vs ORT fp32: worst cosine {worst_cos:.6f}, max |err| / max |y| {worst_rel:.4f}")
    assert worst_cos >= 0.999, f"{name}: cosine {worst_cos}"
    assert ratio < 0.5 if name == "mlp" else ratio < 0.9


# ---- 2. ORT's quantize_dynamic ----

def mlp_model(path, rows=6):
    rng = np.random.default_rng(3)
    w1 = (rng.standard_normal((64, 48)) * 0.2).astype(np.float32)
    b1 = (rng.standard_normal(48) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((48, 10)) * 0.2).astype(np.float32)
    b2 = (rng.standard_normal(10) * 0.1).astype(np.float32)
    nodes = [helper.make_node("MatMul", ["x", "w1"], ["m1"]), helper.make_node("Add", ["m1", "b1"], ["a1"]),
             helper.make_node("Relu", ["a1"], ["r1"]),
             helper.make_node("MatMul", ["r1", "w2"], ["m2"]), helper.make_node("Add", ["m2", "b2"], ["y"])]
    graph = helper.make_graph(nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [rows, 64])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [rows, 10])],
                              [numpy_helper.from_array(a, n) for a, n in [(w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2")]])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)


@pytest.fixture(scope="module")
def ort_dynamic(tmp_path_factory):
    d = tmp_path_factory.mktemp("ortdyn")
    mlp_model(d / "float.onnx")
    quantize_dynamic(str(d / "float.onnx"), str(d / "dyn.onnx"), per_channel=True)
    return d / "float.onnx", d / "dyn.onnx"


def samples(count=5):
    return [np.random.default_rng(900 + i).standard_normal((6, 64)).astype(np.float32) for i in range(count)]


def ort_run(model, x):
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    return session.run(None, {"x": x})[0]


def one_step(dyn_model, x):
    """One quantization step of the last layer's input, carried to the output: per output
    column, x_scale(r1) * w_scale[c] * max_k |w_q[k, c]| (one step of one activation element
    times the largest weight), with r1 recomputed in f32 from the quantized model by ORT."""
    m = onnx.load(dyn_model)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    wq = [n for n in m.graph.node if n.op_type == "MatMulInteger"][-1].input[1]
    ws = inits[wq.replace("_quantized", "_scale")]
    wmax = np.abs(inits[wq].astype(np.float64)).max(axis=0)
    r1 = ort_run_named(dyn_model, x, "r1")
    x_scale = (max(r1.max(), 0) - min(r1.min(), 0)) / 255
    return x_scale * ws * wmax


def ort_run_named(model, x, name):
    m = onnx.load(model)
    m.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    session = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run([name], {"x": x})[0]


def test_ort_model_is_what_quantize_dynamic_emits(ort_dynamic):
    ops = [n.op_type for n in onnx.load(ort_dynamic[1]).graph.node]
    assert ops.count("DynamicQuantizeLinear") == 2 and ops.count("MatMulInteger") == 2, ops


def test_kiln_dynamic_int8_matches_ort_quantize_dynamic(kiln, tmp_path, ort_dynamic):
    float_model, dyn_model = ort_dynamic
    plan = tmp_path / "kiln-dyn.kplan"
    r = run_kiln(kiln, "compile", float_model, "-o", plan, "--quantize", "dynamic-int8", "--dynamic-scale", "tensor")
    assert r.returncode == 0, r.stderr
    assert "quantized 2 Gemm/MatMul ops to dynamic int8 (activation ranges per tensor)" in r.stderr
    worst = 0.0
    for i, x in enumerate(samples()):
        got = np.load(run_plan(kiln, plan, {"x": x}, tmp_path, f"k{i}") / "y.npy")
        want = ort_run(dyn_model, x)
        fp32 = ort_run(float_model, x)
        steps = np.abs(got - want) / one_step(dyn_model, x)
        worst = max(worst, float(steps.max()))
        assert cosine(got, fp32) >= 0.999
    print(f"kiln dynamic-int8 (per tensor) vs ORT quantize_dynamic: worst {worst:.3f} quantization steps")
    assert worst <= 1.0


@pytest.mark.parametrize("level", ["-O2", "-O0"])
def test_ort_quantize_dynamic_model_compiles_and_matches(kiln, tmp_path, ort_dynamic, level):
    _, dyn_model = ort_dynamic
    if level == "-O2":
        ir = run_kiln(kiln, "opt", dyn_model, "-O2")
        assert ir.returncode == 0, ir.stderr
        assert ir.stdout.count("dyn_quant_mat_mul(") == 2, ir.stdout
        assert " mat_mul(" not in ir.stdout and "dynamic_quant_params" not in ir.stdout, ir.stdout
        assert "activation = relu" in ir.stdout, ir.stdout
    plan = tmp_path / "ort-dyn.kplan"
    r = run_kiln(kiln, "compile", dyn_model, "-o", plan, level)
    assert r.returncode == 0, r.stderr
    worst = 0.0
    for i, x in enumerate(samples()):
        got = np.load(run_plan(kiln, plan, {"x": x}, tmp_path, f"o{i}") / "y.npy")
        want = ort_run(dyn_model, x)
        worst = max(worst, float(np.abs(got - want).max() / np.abs(want).max()))
    print(f"ORT quantize_dynamic model, kiln {level} vs ORT: max |diff| / max |y| = {worst:.3g}")
    assert worst <= 1e-5


def test_ort_quantize_dynamic_conv_model(kiln, tmp_path):
    rng = np.random.default_rng(5)
    w = (rng.standard_normal((8, 4, 3, 3)) * 0.3).astype(np.float32)
    graph = helper.make_graph([helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1]),
                               helper.make_node("Relu", ["c"], ["y"])], "conv",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4, 9, 7])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 8, 9, 7])],
                              [numpy_helper.from_array(w, "w")])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), tmp_path / "conv.onnx")
    quantize_dynamic(str(tmp_path / "conv.onnx"), str(tmp_path / "conv-dyn.onnx"))
    ops = [n.op_type for n in onnx.load(tmp_path / "conv-dyn.onnx").graph.node]
    assert "ConvInteger" in ops and "DynamicQuantizeLinear" in ops, ops
    plan = tmp_path / "conv.kplan"
    r = run_kiln(kiln, "compile", tmp_path / "conv-dyn.onnx", "-o", plan)
    assert r.returncode == 0, r.stderr
    session = ort.InferenceSession(str(tmp_path / "conv-dyn.onnx"), providers=["CPUExecutionProvider"])
    for i in range(3):
        x = np.random.default_rng(70 + i).standard_normal((1, 4, 9, 7)).astype(np.float32)
        got = np.load(run_plan(kiln, plan, {"x": x}, tmp_path, f"c{i}") / "y.npy")
        (want,) = session.run(None, {"x": x})
        assert np.abs(got - want).max() <= 1e-5 * np.abs(want).max(), np.abs(got - want).max()


# ---- 3. CLI ----

@pytest.mark.parametrize("args, message", [
    (["--quantize", "dynamic-int8", "--calibration", "somewhere"],
     "--quantize dynamic-int8 takes no --calibration (activation ranges are computed while running); use --quantize int8 for calibrated static int8"),
    (["--dynamic-scale", "row"], "--dynamic-scale needs --quantize dynamic-int8"),
    (["--quantize", "dynamic-int8", "--dynamic-scale", "column"], "--dynamic-scale takes row or tensor (got 'column')"),
    (["--quantize", "int4"], "--quantize takes int8, dynamic-int8 or fp16 (got 'int4')"),
])
def test_cli_errors(kiln, tmp_path, args, message):
    model = GRAPHS / MANIFEST["models"]["mlp"]["file"]
    r = run_kiln(kiln, "compile", model, "-o", tmp_path / "x.kplan", *args)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert not (tmp_path / "x.kplan").exists()


# ---- the reference evaluator and the runtime compute the same bits ----

@pytest.mark.parametrize("per_row", ["true", "false"])
def test_evaluator_and_runtime_agree_bit_for_bit(kiln, tmp_path, ort_dynamic, per_row):
    float_model, _ = ort_dynamic
    f_kir, q_kir = tmp_path / "f.kir", tmp_path / "q.kir"
    r = run_kiln(kiln, "opt", float_model, "-O2", "--constants", "full")
    assert r.returncode == 0, r.stderr
    f_kir.write_text(r.stdout)
    r = run_kiln(kiln, "opt", f_kir, "--passes", f"quantize-dynamic{{per_row={per_row}}}", "--constants", "full")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("dyn_quant_mat_mul(") == 2 and "activation = relu" in r.stdout, r.stdout
    q_kir.write_text(r.stdout)
    plan = tmp_path / "q.kplan"
    assert run_kiln(kiln, "compile", q_kir, "-o", plan, "-O0").returncode == 0
    for i, x in enumerate(samples(3)):
        x[1] = 0.0  # an all-zero row: scale 0, the output is the bias
        xf = tmp_path / f"x{i}.npy"
        np.save(xf, x)
        ev = run_kiln(kiln, "eval", q_kir, f"--input=x={xf}", "--output-dir", tmp_path / f"ev{i}")
        assert ev.returncode == 0, ev.stderr
        want = np.load(tmp_path / f"ev{i}" / "y.npy")
        got = np.load(run_plan(kiln, plan, {"x": x}, tmp_path, f"rt{i}") / "y.npy")
        assert np.array_equal(got, want), np.abs(got - want).max()
