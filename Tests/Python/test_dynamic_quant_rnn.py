"""Dynamic int8 for LSTM / GRU (Graphs lstm, gru), end to end: W and R become i8
(DYN_QRECURRENT), the plan shrinks by the W/R bytes, outputs stay close to ONNX Runtime's fp32
outputs and to ORT's quantize_dynamic model, and the runtime matches the reference evaluator on
the same quantized IR. Helpers are shared with test_dynamic_quant.py."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper
from onnxruntime.quantization import quantize_dynamic

import kilnutil
from test_dynamic_quant import GRAPHS, MANIFEST, cosine, graph_inputs, run_kiln, run_plan

RECURRENT = {"lstm": 2, "gru": 1}  # recurrent ops in the model (each also ends in one Gemm)


def recurrent_weight_bytes(model):
    """f32 bytes of every LSTM/GRU W and R initializer of the model."""
    m = onnx.load(model)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    return sum(inits[n.input[k]].nbytes for n in m.graph.node if n.op_type in ("LSTM", "GRU") for k in (1, 2))


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_recurrent_dynamic_int8(kiln, tmp_path, name):
    """Plan: every LSTM/GRU becomes DYN_QRECURRENT and the plan shrinks by at least 3/4 of
    the W and R bytes (i8 instead of f32, plus one f32 scale per row). Accuracy: against ONNX
    Runtime fp32 on 4 seeded inputs (cosine >= 0.999), and Kiln's runtime against Kiln's
    reference evaluator on the same quantized IR (`kiln opt --passes quantize-dynamic`, then
    `kiln compile` + `kiln run` vs `kiln eval`): equal integer sums, f32 vs double gate math,
    so within 1e-4 of max |y|."""
    model = GRAPHS / MANIFEST["models"][name]["file"]
    fp32, q = tmp_path / "fp32.kplan", tmp_path / "dyn.kplan"
    assert run_kiln(kiln, "compile", model, "-o", fp32, "--no-compress").returncode == 0
    r = run_kiln(kiln, "compile", model, "-o", q, "--quantize", "dynamic-int8", "--no-compress")
    assert r.returncode == 0, r.stderr
    assert f"quantized 1 Gemm/MatMul ops and {RECURRENT[name]} LSTM/GRU/RNN ops to dynamic int8" in r.stderr, r.stderr
    inspect = run_kiln(kiln, "inspect", q)
    assert inspect.returncode == 0, inspect.stderr
    assert inspect.stdout.count(": DYN_QRECURRENT ") == RECURRENT[name], inspect.stdout
    assert ": RECURRENT " not in inspect.stdout, inspect.stdout
    saved = fp32.stat().st_size - q.stat().st_size
    wr = recurrent_weight_bytes(model)
    assert saved >= 0.7 * wr, (saved, wr)

    kir, kir_plan = tmp_path / "dyn.kir", tmp_path / "dyn-kir.kplan"
    o = run_kiln(kiln, "opt", model, "--passes", "quantize-dynamic", "--constants", "full")
    assert o.returncode == 0, o.stderr
    assert o.stdout.count("r_scales = [") == RECURRENT[name], o.stdout[:2000]
    kir.write_text(o.stdout)
    assert run_kiln(kiln, "compile", kir, "-o", kir_plan).returncode == 0
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    worst_cos, worst_rel, worst_ref = 1.0, 0.0, 0.0
    for i in range(4):
        inputs = graph_inputs(name, 70 + i)
        out = run_plan(kiln, q, inputs, tmp_path, f"s{i}")
        out_kir = run_plan(kiln, kir_plan, inputs, tmp_path, f"k{i}")
        ref_dir = tmp_path / f"ref{i}"
        ev = run_kiln(kiln, "eval", kir, *[f"--input={k}={f}" for k, f in save_inputs(inputs, tmp_path, i).items()],
                      "--output-dir", ref_dir)
        assert ev.returncode == 0, ev.stderr
        for o, want in zip(session.get_outputs(), session.run(None, inputs)):
            got = np.load(out / (kilnutil.sanitize(o.name) + ".npy"))
            ref = np.load(ref_dir / (kilnutil.sanitize(o.name) + ".npy"))
            got_kir = np.load(out_kir / (kilnutil.sanitize(o.name) + ".npy"))
            worst_cos = min(worst_cos, cosine(got, want))
            worst_rel = max(worst_rel, float(np.abs(got - want).max() / np.abs(want).max()))
            worst_ref = max(worst_ref, float(np.abs(got_kir - ref).max() / np.abs(ref).max()))
    print(f"{name}: plan {fp32.stat().st_size} -> {q.stat().st_size} B (W/R f32 {wr} B); vs ORT fp32: worst cosine "
          f"{worst_cos:.6f}, max |err| / max |y| {worst_rel:.4f}; runtime vs reference evaluator {worst_ref:.2e}")
    assert worst_cos >= 0.999, worst_cos
    assert worst_ref <= 1e-4, worst_ref


def save_inputs(inputs, tmp_path, i):
    files = {}
    for k, v in inputs.items():
        files[k] = tmp_path / f"ev{i}-{kilnutil.sanitize(k)}.npy"
        np.save(files[k], v)
    return files


@pytest.mark.parametrize("name", ["lstm", "gru"])
def test_recurrent_dynamic_int8_vs_ort_quantize_dynamic(kiln, tmp_path, name):
    """ONNX Runtime's quantize_dynamic turns LSTMs into com.microsoft DynamicQuantizeLSTM
    (per-tensor u8 activations, its own weight quantization) and leaves GRUs f32 (it has no
    dynamic int8 GRU): a different scheme, so loosely — Kiln's dynamic-int8 plan and ORT's
    quantized model agree to cosine >= 0.999 (both about equally far from fp32, printed)."""
    model = GRAPHS / MANIFEST["models"][name]["file"]
    dyn = tmp_path / "ort-dyn.onnx"
    quantize_dynamic(str(model), str(dyn), per_channel=True)
    ops = [n.op_type for n in onnx.load(dyn).graph.node]
    assert ops.count("DynamicQuantizeLSTM") == (2 if name == "lstm" else 0) and ops.count("MatMulInteger") == 1, ops
    q = tmp_path / "dyn.kplan"
    assert run_kiln(kiln, "compile", model, "-o", q, "--quantize", "dynamic-int8").returncode == 0
    fp32_session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    ort_q = ort.InferenceSession(str(dyn), providers=["CPUExecutionProvider"])
    worst, kiln_err, ort_err = 1.0, 0.0, 0.0
    for i in range(4):
        inputs = graph_inputs(name, 80 + i)
        got = np.load(run_plan(kiln, q, inputs, tmp_path, f"l{i}") / "logits.npy")
        want = ort_q.run(None, inputs)[0]
        fp = fp32_session.run(None, inputs)[0]
        worst = min(worst, cosine(got, want))
        kiln_err = max(kiln_err, float(np.abs(got - fp).max() / np.abs(fp).max()))
        ort_err = max(ort_err, float(np.abs(want - fp).max() / np.abs(fp).max()))
    print(f"{name}: kiln dynamic-int8 vs ORT quantize_dynamic cosine {worst:.6f}; max |err| / max |y| vs fp32: "
          f"kiln {kiln_err:.4f}, ORT {ort_err:.4f}")
    assert worst >= 0.999, worst
