"""Decomposition and pruning passes end to end (issue 6).

Oracles are independent of Kiln: ONNX Runtime's expected outputs in Graphs/ for the exact
(full-rank) decompositions, and, for truncated ranks and pruning, ONNX Runtime on a copy
of the model rewritten here with numpy (numpy's SVD / magnitude threshold). The per-layer
reports (stderr of `kiln compile`) are checked against numpy's singular values.
"""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()
ROW = re.compile(r"^\s+(\S+)\s+(rank (\d+)/(\d+)|kept|sparsity \d+%)\s+(\S+)\s+(\S+)→(\S+)\s+(\d+)→(\d+)")


def run_kiln(kiln, *args):
    run = subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def compile_plan(kiln, name, plan, *flags):
    """Compiles Graphs/<name>; returns the report rows {layer: (choice, rank, max rank, error)}."""
    run = run_kiln(kiln, "compile", GRAPHS / MANIFEST["models"][name]["file"], "-o", plan, *flags)
    rows = {}
    for line in run.stderr.splitlines():
        m = ROW.match(line)
        if m:
            rank = int(m.group(3)) if m.group(3) else None
            rows[m.group(1)] = (m.group(2), rank, int(m.group(4) or 0), float(m.group(5)))
    return rows


def run_plan(kiln, name, plan, out_dir):
    inputs = [f"--input={i['name']}={GRAPHS / i['file']}" for i in MANIFEST["models"][name]["inputs"]]
    run_kiln(kiln, "run", plan, *inputs, "--output-dir", out_dir)
    return {o["name"]: np.load(out_dir / (kilnutil.sanitize(o["name"]) + ".npy")) for o in MANIFEST["models"][name]["outputs"]}


def ort_outputs(model: onnx.ModelProto, name):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    inputs = kilnutil.load_tensors(MANIFEST["models"][name]["inputs"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, sess.run(names, inputs)))


def expected(name):
    return kilnutil.load_tensors(MANIFEST["models"][name]["outputs"])


def assert_close(actual, want, rtol=1e-4, atol=1e-5):
    for k, v in want.items():
        r = kilnutil.compare(actual[k], v, rtol=rtol, atol=atol)
        print(f"{k}: max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g}")
        assert r, f"{k}: {r.message}"


def spatial_convs(model):
    """(node, weight array) of every group-1 Conv with a constant weight and a kernel > 1x1."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    out = []
    for n in model.graph.node:
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        w = inits.get(n.input[1]) if n.op_type == "Conv" else None
        if w is not None and group == 1 and np.prod(w.shape[2:]) > 1:
            out.append((n, w))
    return out


def slice_svds(w):
    """numpy SVDs of W[:, c] (Cout x K) for each input channel c."""
    cout, cin = w.shape[:2]
    return [np.linalg.svd(w[:, c].reshape(cout, -1).astype(np.float64), full_matrices=False) for c in range(cin)]


def rank_error(svds, r):
    tail = sum(float((s[r:] ** 2).sum()) for _, s, _ in svds)
    total = sum(float((s**2).sum()) for _, s, _ in svds)
    return (tail / total) ** 0.5


def decomposed_onnx(name, rank):
    """Graphs/<name> with every spatial group-1 conv replaced by numpy's rank-`rank`
    depthwise + pointwise pair (group c's outputs are channels c*r … c*r+r-1)."""
    model = onnx.load(str(GRAPHS / MANIFEST["models"][name]["file"]))
    for node, w in spatial_convs(model):
        cout, cin, kernel = w.shape[0], w.shape[1], w.shape[2:]
        r = min(rank, cout, int(np.prod(kernel)))
        dw = np.zeros((cin * r, 1, *kernel), np.float32)
        pw = np.zeros((cout, cin * r, 1, 1), np.float32)
        for c, (u, s, vt) in enumerate(slice_svds(w)):
            dw[c * r:(c + 1) * r, 0] = vt[:r].reshape(r, *kernel)
            pw[:, c * r:(c + 1) * r, 0, 0] = u[:, :r] * s[:r]
        model.graph.initializer.extend([numpy_helper.from_array(dw, node.input[1] + ".dw"),
                                        numpy_helper.from_array(pw, node.input[1] + ".pw")])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        attrs["group"] = cin
        mid = node.output[0] + ".dw"
        depthwise = helper.make_node("Conv", [node.input[0], node.input[1] + ".dw"], [mid], **attrs)
        pointwise = helper.make_node("Conv", [mid, node.input[1] + ".pw", *node.input[2:]], list(node.output))
        i = list(model.graph.node).index(node)
        model.graph.node.remove(node)
        model.graph.node.insert(i, pointwise)
        model.graph.node.insert(i, depthwise)
    return model


def test_full_rank_depthwise_reproduces_resnet_tiny(kiln, tmp_path):
    rows = compile_plan(kiln, "resnet_tiny", tmp_path / "full.kplan", "--decompose", "depthwise=full")
    model = onnx.load(str(GRAPHS / "resnet_tiny.onnx"))
    # Every 3x3 conv (stem, basic blocks, bottleneck middle) is decomposed at full rank.
    assert len(spatial_convs(model)) == 6
    assert len(rows) == 6 and all(choice.startswith("rank") and rank == top for choice, rank, top, _ in rows.values()), rows
    assert all(err < 1e-5 for *_, err in rows.values()), rows
    assert_close(run_plan(kiln, "resnet_tiny", tmp_path / "full.kplan", tmp_path / "out"), expected("resnet_tiny"))


def test_full_rank_depthwise_through_reference_evaluator(kiln, tmp_path):
    run = run_kiln(kiln, "opt", GRAPHS / "resnet_tiny.onnx", "--passes", "decompose-depthwise", "--constants", "full")
    kir = tmp_path / "decomposed.kir"
    kir.write_text(run.stdout)
    # Six depthwise convs with channel multiplier > 1: the stem (3 channels) and five more.
    groups = re.findall(r"group = (\d+)\}", run.stdout)
    assert sorted(int(g) for g in groups if g != "1") == [3, 8, 16, 16, 16, 32]
    x = GRAPHS / MANIFEST["models"]["resnet_tiny"]["inputs"][0]["file"]
    run_kiln(kiln, "eval", kir, "--input", f"x={x}", "--output-dir", tmp_path / "eval")
    assert_close({"logits": np.load(tmp_path / "eval" / "logits.npy")}, expected("resnet_tiny"))


def test_fixed_rank_matches_numpy_decomposition(kiln, tmp_path):
    """Rank 3 is lossy; Kiln's plan must equal ORT on the numpy-decomposed model, and the
    reported errors must be numpy's (weights at -O0 are the ONNX initializers)."""
    rows = compile_plan(kiln, "resnet_tiny", tmp_path / "r3.kplan", "-O0", "--decompose", "depthwise=3")
    model = onnx.load(str(GRAPHS / "resnet_tiny.onnx"))
    for node, w in spatial_convs(model):
        choice, rank, top, err = rows[node.name]
        assert (rank, top) == (3, min(w.shape[0], 9))
        assert err == pytest.approx(rank_error(slice_svds(w), 3), rel=1e-3)
    want = ort_outputs(decomposed_onnx("resnet_tiny", 3), "resnet_tiny")
    got = run_plan(kiln, "resnet_tiny", tmp_path / "r3.kplan", tmp_path / "out")
    assert_close(got, want)
    # Lossy: the outputs moved away from the original model's.
    assert not kilnutil.compare(got["logits"], expected("resnet_tiny")["logits"], rtol=1e-3, atol=1e-4)


def test_auto_leaves_random_weights_alone(kiln, tmp_path):
    """Random weights have flat singular spectra: within rel 0.05 almost no rank saves FLOPs."""
    rows = compile_plan(kiln, "resnet_tiny", tmp_path / "auto.kplan", "-O0", "--decompose", "depthwise=auto",
                        "--error-budget", "rel=0.05")
    model = onnx.load(str(GRAPHS / "resnet_tiny.onnx"))
    kept = 0
    for node, w in spatial_convs(model):
        cout, cin, k = w.shape[0], w.shape[1], int(np.prod(w.shape[2:]))
        svds = slice_svds(w)
        need = next(r for r in range(1, min(cout, k) + 1) if rank_error(svds, r) <= 0.05)
        saves = need * (k + cout) < cout * k
        choice, rank, _, _ = rows[node.name]
        assert (rank == need) if saves else (choice == "kept"), (node.name, need, rows[node.name])
        kept += choice == "kept"
    assert kept >= 5, rows
    assert_close(run_plan(kiln, "resnet_tiny", tmp_path / "auto.kplan", tmp_path / "out"), expected("resnet_tiny"))


def test_low_rank_full_reproduces_mlp(kiln, tmp_path):
    rows = compile_plan(kiln, "mlp", tmp_path / "lr.kplan", "--decompose", "low-rank=full")
    assert len(rows) == 3 and all(rank == top for _, rank, top, _ in rows.values()), rows
    assert_close(run_plan(kiln, "mlp", tmp_path / "lr.kplan", tmp_path / "out"), expected("mlp"))


def test_low_rank_fixed_matches_numpy_truncation(kiln, tmp_path):
    rows = compile_plan(kiln, "mlp", tmp_path / "lr8.kplan", "-O0", "--decompose", "low-rank=8")
    model = onnx.load(str(GRAPHS / "mlp.onnx"))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type != "Gemm":
            continue
        trans_b = next((a.i for a in node.attribute if a.name == "transB"), 0)
        w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float64)
        b = w.T if trans_b else w
        u, s, vt = np.linalg.svd(b, full_matrices=False)
        low = (u[:, :8] * s[:8]) @ vt[:8]
        assert rows[node.name][3] == pytest.approx(np.linalg.norm(b - low) / np.linalg.norm(b), rel=1e-3)
        inits[node.input[1]].CopyFrom(numpy_helper.from_array((low.T if trans_b else low).astype(np.float32), node.input[1]))
    assert_close(run_plan(kiln, "mlp", tmp_path / "lr8.kplan", tmp_path / "out"), ort_outputs(model, "mlp"))


def test_magnitude_pruning_matches_numpy_and_shrinks_plan(kiln, tmp_path):
    plain = tmp_path / "plain.kplan"
    compile_plan(kiln, "resnet_tiny", plain, "-O0")
    rows = compile_plan(kiln, "resnet_tiny", tmp_path / "pruned.kplan", "-O0", "--prune", "magnitude=0.5",
                        "--prune-layer", "/fc/Gemm=0.9")
    model = onnx.load(str(GRAPHS / "resnet_tiny.onnx"))
    inits = {i.name: i for i in model.graph.initializer}
    layers = [n for n in model.graph.node if n.op_type in ("Conv", "Gemm")]
    assert sorted(rows) == sorted(n.name for n in layers)
    for n in layers:
        w = numpy_helper.to_array(inits[n.input[1]]).copy()
        fraction = 0.9 if n.name == "/fc/Gemm" else 0.5
        flat = w.reshape(-1)
        flat[np.argsort(np.abs(flat), kind="stable")[: int(fraction * flat.size)]] = 0
        inits[n.input[1]].CopyFrom(numpy_helper.from_array(w, n.input[1]))
    assert_close(run_plan(kiln, "resnet_tiny", tmp_path / "pruned.kplan", tmp_path / "out"), ort_outputs(model, "resnet_tiny"))
    ratio = plain.stat().st_size / (tmp_path / "pruned.kplan").stat().st_size
    print(f"zstd plan: {plain.stat().st_size} → {(tmp_path / 'pruned.kplan').stat().st_size} bytes ({ratio:.2f}x)")
    assert ratio > 1.4


def test_decomposed_plans_are_deterministic(kiln, tmp_path):
    a, b = tmp_path / "a.kplan", tmp_path / "b.kplan"
    for plan in (a, b):
        compile_plan(kiln, "resnet_tiny", plan, "--decompose", "depthwise=4", "--decompose", "low-rank=full")
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("flags,message", [
    (["--decompose", "depthwise=zero"], "rank must be full, auto or a positive integer, got 'zero'"),
    (["--decompose", "spatial=full"], "--decompose expects depthwise=RANK or low-rank=RANK, got 'spatial=full'"),
    (["--error-budget", "0.05"], "--error-budget expects rel=X with X in [0, 1], got '0.05'"),
    (["--prune", "magnitude=1.5"], "--prune expects magnitude=FRACTION with a fraction in [0, 1], got 'magnitude=1.5'"),
    (["--prune-layer", "nosuch=0.5"], "prune-magnitude: no prunable layer named 'nosuch'"),
])
def test_bad_options_are_one_line_errors(kiln, tmp_path, flags, message):
    run = subprocess.run([str(kiln), "compile", str(GRAPHS / "resnet_tiny.onnx"), "-o", str(tmp_path / "x.kplan"), *flags],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert message in run.stderr


def test_inspect_lists_decomposed_layers(kiln, tmp_path):
    """`kiln inspect` names the layers the decompose passes split: from a plan's
    `decomposed_layers` metadata, and from a .kir graph (comment after the IR, and json)."""
    plan = tmp_path / "d.kplan"
    run_kiln(kiln, "compile", GRAPHS / "lenet.onnx", "-o", plan, "--decompose", "depthwise=2", "--decompose", "low-rank=4")
    text = run_kiln(kiln, "inspect", plan).stdout
    start = text.index("decomposed layers (5):\n")
    assert text[start:].split("\n\n")[0].splitlines() == [
        "decomposed layers (5):",
        "  /conv1/Conv → depthwise r=2 + pointwise",
        "  /conv2/Conv → depthwise r=2 + pointwise",
        "  /fc1/Gemm → low-rank r=4 (u, v)",
        "  /fc2/Gemm → low-rank r=4 (u, v)",
        "  /fc3/Gemm → low-rank r=4 (u, v)",
    ]
    assert "decomposed_layers =" not in text  # listed once, in its own section
    plain = tmp_path / "p.kplan"
    run_kiln(kiln, "compile", GRAPHS / "lenet.onnx", "-o", plain)
    assert "decomposed" not in run_kiln(kiln, "inspect", plain).stdout

    kir = tmp_path / "d.kir"
    kir.write_text(run_kiln(kiln, "opt", GRAPHS / "lenet.onnx", "--passes", "decompose-depthwise{rank=3;rel=0.01}",
                            "--constants", "full").stdout)
    lines = run_kiln(kiln, "inspect", kir).stdout.splitlines()
    assert lines[-3:] == ["// decomposed layers (2):", "//   /conv1/Conv → depthwise r=3 + pointwise",
                          "//   /conv2/Conv → depthwise r=3 + pointwise"]
    summary = json.loads(run_kiln(kiln, "inspect", kir, "--format", "json").stdout)
    assert summary["decomposed_layers"] == [{"layer": "/conv1/Conv", "kind": "depthwise", "rank": 3},
                                            {"layer": "/conv2/Conv", "kind": "depthwise", "rank": 3}]
