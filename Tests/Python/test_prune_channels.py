"""Structured channel pruning end to end (issue 6, pass prune-channels).

Oracle: ONNX Runtime on a copy of the model pruned here with numpy — the same layers, the
lowest-L1-norm output channels ranked by numpy on the original weights, removed from the
layer's weight and bias and from the next layer's input axis. The set of layers that may be
pruned follows the pass's documented rule and is written out here for each model.
"""

from __future__ import annotations

import json
import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()
PASS_THROUGH = {"Relu", "MaxPool", "AveragePool"}


def run_kiln(kiln, *args):
    run = subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run


def numpy_pruned(name, layers, fraction):
    """Graphs/<name> with ⌊fraction·C⌋ lowest-L1 output channels of each of `layers`
    (Conv or Gemm with transB) removed, and the consumer reached through Relu/pooling shrunk."""
    model = onnx.load(str(GRAPHS / MANIFEST["models"][name]["file"]))
    inits = {i.name: i for i in model.graph.initializer}
    original = {k: numpy_helper.to_array(v) for k, v in inits.items()}
    current = dict(original)
    users = {}
    for n in model.graph.node:
        for i in n.input:
            users.setdefault(i, []).append(n)
    for n in model.graph.node:
        if n.name not in layers:
            continue
        w = original[n.input[1]]
        assert n.op_type == "Conv" or next(a.i for a in n.attribute if a.name == "transB") == 1
        norms = np.abs(w.astype(np.float64)).reshape(w.shape[0], -1).sum(axis=1)
        drop = int(fraction * w.shape[0])
        removed = sorted(np.argsort(norms, kind="stable")[:drop])
        keep = [c for c in range(w.shape[0]) if c not in removed]
        current[n.input[1]] = np.take(current[n.input[1]], keep, axis=0)
        current[n.input[2]] = current[n.input[2]][keep]
        value = n.output[0]
        while True:
            (user,) = users[value]
            if user.op_type in PASS_THROUGH:
                value = user.output[0]
                continue
            assert user.op_type in ("Conv", "Gemm")
            current[user.input[1]] = np.take(current[user.input[1]], keep, axis=1)
            break
    for k, v in current.items():
        inits[k].CopyFrom(numpy_helper.from_array(v, k))
    return model


def ort_outputs(model, name):
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    sess = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    names = [o.name for o in model.graph.output]
    return dict(zip(names, sess.run(names, kilnutil.load_tensors(MANIFEST["models"][name]["inputs"]))))


def test_channel_pruning_lenet_matches_numpy_pruned_model(kiln, tmp_path):
    # conv2 feeds Flatten and fc3 is the graph output: both keep their channels.
    layers = {"/conv1/Conv", "/fc1/Gemm", "/fc2/Gemm"}
    plan = tmp_path / "pruned.kplan"
    run = run_kiln(kiln, "compile", GRAPHS / "lenet.onnx", "-o", plan, "--prune", "channels=0.25")
    assert "/conv2/Conv  kept" in run.stderr and "(feeds reshape /Flatten)" in run.stderr, run.stderr
    assert "(logits is a graph output)" in run.stderr, run.stderr
    want = numpy_pruned("lenet", layers, 0.25)
    # The reported error of each pruned layer is numpy's ‖W − W'‖_F / ‖W‖_F.
    original = onnx.load(str(GRAPHS / "lenet.onnx"))
    weights = {i.name: numpy_helper.to_array(i).astype(np.float64) for i in original.graph.initializer}
    for n in original.graph.node:
        if n.name in layers:
            w = weights[n.input[1]].reshape(weights[n.input[1]].shape[0], -1)
            removed = np.argsort(np.abs(w).sum(axis=1), kind="stable")[: int(0.25 * w.shape[0])]
            line = next(line for line in run.stderr.splitlines() if line.strip().startswith(n.name + " "))
            reported = float(line.split()[3])
            assert reported == pytest.approx(np.sqrt((w[removed] ** 2).sum() / (w**2).sum()), rel=1e-3), line

    # Parameters: kiln's count of the pruned IR equals the numpy-pruned model's initializers.
    kir = tmp_path / "pruned.kir"
    kir.write_text(run_kiln(kiln, "opt", GRAPHS / "lenet.onnx", "--passes", "prune-channels{fraction=0.25}",
                            "--constants", "full").stdout)
    before = json.loads(run_kiln(kiln, "inspect", GRAPHS / "lenet.onnx", "--format", "json").stdout)["parameters"]
    after = json.loads(run_kiln(kiln, "inspect", kir, "--format", "json").stdout)["parameters"]
    expected_after = sum(int(np.prod(i.dims)) for i in want.graph.initializer)
    assert before == sum(int(np.prod(i.dims)) for i in original.graph.initializer)
    print(f"lenet parameters {before} → {after}")
    assert after == expected_after and after < before

    # Outputs: the plan equals ORT on the numpy-pruned model, and differs from the original.
    inputs = [f"--input={i['name']}={GRAPHS / i['file']}" for i in MANIFEST["models"]["lenet"]["inputs"]]
    run_kiln(kiln, "run", plan, *inputs, "--output-dir", tmp_path / "out")
    got = np.load(tmp_path / "out" / "logits.npy")
    ref = ort_outputs(want, "lenet")["logits"]
    r = kilnutil.compare(got, ref, rtol=1e-4, atol=1e-5)
    assert r, r.message
    drift = np.abs(got - kilnutil.load_tensors(MANIFEST["models"]["lenet"]["outputs"])["logits"]).max()
    print(f"max abs drift from the unpruned model: {drift:.3g}")
    assert drift > 1e-3


# Channel groups of the bundled nets under the pass's rule (written out here from the ONNX
# graphs): layers joined by residual Adds, through BatchNorm/Relu/Clip, depthwise convs,
# global pooling and Flatten/Reshape to [N, C]. The classifier's result is the graph output.
GROUPS = {
    "resnet_tiny": [
        ["/conv1/Conv", "/layer1/layer1.0/conv2/Conv"],
        ["/layer1/layer1.0/conv1/Conv"],
        ["/layer2/layer2.0/conv1/Conv"],
        ["/layer2/layer2.0/conv2/Conv", "/layer2/layer2.0/downsample/downsample.0/Conv", "/layer3/layer3.0/conv3/Conv"],
        ["/layer3/layer3.0/conv1/Conv"],
        ["/layer3/layer3.0/conv2/Conv"],
    ],
    "mobilenet_tiny": [
        ["/features/features.0/features.0.0/Conv", "/features/features.1/conv/conv.1/Conv",
         "/features/features.2/conv/conv.2/Conv"],
        ["/features/features.2/conv/conv.0/conv.0.0/Conv"],
        ["/features/features.3/conv/conv.0/conv.0.0/Conv"],
        ["/features/features.3/conv/conv.2/Conv", "/features/features.4/conv/conv.2/Conv"],
        ["/features/features.4/conv/conv.0/conv.0.0/Conv"],
        ["/features/features.5/features.5.0/Conv"],
    ],
}
CHANNELWISE = {"Relu", "Clip", "Add", "GlobalAveragePool", "Flatten", "Reshape"}


def folded_norms(model, conv):
    """L1 norm per output channel of `conv`'s weight with the BatchNormalization after it
    folded in (the pass runs after -O2's fold-batchnorm)."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    w = inits[conv.input[1]].astype(np.float32)
    bn = next(n for n in model.graph.node if n.op_type == "BatchNormalization" and n.input[0] == conv.output[0])
    eps = next((a.f for a in bn.attribute if a.name == "epsilon"), 1e-5)
    scale = inits[bn.input[1]] / np.sqrt(inits[bn.input[4]] + np.float32(eps))
    folded = w * scale.reshape(-1, *([1] * (w.ndim - 1)))
    return np.abs(folded.astype(np.float64)).reshape(w.shape[0], -1).sum(axis=1)


def numpy_group_pruned(name, fraction):
    """Graphs/<name> with each group of GROUPS pruned: channels ranked by the sum over the
    members of their BN-folded L1 norms normalized to sum 1 (a lone layer: its own norms),
    the ⌊fraction·C⌋ lowest removed from every member (weight, BatchNorm), every depthwise
    conv on the way (weight, group) and every consumer's input axis. Returns the model and
    {layer: kept count}."""
    model = onnx.load(str(GRAPHS / MANIFEST["models"][name]["file"]))
    nodes = {n.name: n for n in model.graph.node}
    inits = {i.name: i for i in model.graph.initializer}
    current = {k: numpy_helper.to_array(v) for k, v in inits.items()}
    keep_of = {}  # tensor name → kept channel indices along axis 1
    kept = {}
    for members in GROUPS[name]:
        norms = [folded_norms(model, nodes[m]) for m in members]
        score = norms[0] if len(norms) == 1 else sum(n / n.sum() for n in norms)
        channels = len(score)
        drop = min(channels - 1, int(fraction * channels))
        removed = set(sorted(range(channels), key=lambda c: (score[c], c))[:drop])
        keep = [c for c in range(channels) if c not in removed]
        for m in members:
            conv = nodes[m]
            current[conv.input[1]] = np.take(current[conv.input[1]], keep, axis=0)
            keep_of[conv.output[0]] = keep
            kept[m] = len(keep)
    for n in model.graph.node:  # topological order: follow the kept channels
        keeps = [keep_of[i] for i in n.input if i in keep_of]
        if not keeps or n.op_type == "Shape":  # Shape: mobilenet's Reshape target, batch size only
            continue
        keep = keeps[0]
        group = next((a.i for a in n.attribute if a.name == "group"), 1)
        if n.op_type == "BatchNormalization":
            for p in n.input[1:]:
                current[p] = current[p][keep]
            keep_of[n.output[0]] = keep
        elif n.op_type in CHANNELWISE:
            if n.op_type == "Add":
                assert len(keeps) == 2 and keeps[0] == keeps[1], f"{n.name}: operands pruned differently"
            keep_of[n.output[0]] = keep
        elif n.op_type == "Conv" and group > 1:  # depthwise
            current[n.input[1]] = np.take(current[n.input[1]], keep, axis=0)
            next(a for a in n.attribute if a.name == "group").i = len(keep)
            keep_of[n.output[0]] = keep
        elif n.name in kept or n.op_type in ("Conv", "Gemm"):  # consumer (a member may consume too)
            current[n.input[1]] = np.take(current[n.input[1]], keep, axis=1)
        else:
            raise AssertionError(f"{n.name}: {n.op_type} on pruned channels")
    for k, v in current.items():
        inits[k].CopyFrom(numpy_helper.from_array(v, k))
    return model, kept


def report_line(stderr, layer):
    return next(line for line in stderr.splitlines() if line.strip().startswith(layer + " "))


@pytest.mark.parametrize("name,before,after", [("resnet_tiny", 4, 9), ("mobilenet_tiny", 0, 9)])
def test_group_pruning_matches_numpy_pruned_model_and_reference(kiln, tmp_path, name, before, after):
    """25% of channels on the ResNet-style and MobileNetV2-style nets: residual groups pruned
    consistently; the plan is smaller; `kiln run` equals ORT on the numpy-pruned model and
    the reference evaluation of the pruned graph; the drift from the original is reported."""
    plan = tmp_path / "pruned.kplan"
    run = run_kiln(kiln, "compile", GRAPHS / f"{name}.onnx", "-o", plan, "--prune", "channels=0.25")
    summary = next(line for line in run.stderr.splitlines() if "layers changed" in line)
    assert f"total: {after} of 10 layers changed" in summary, run.stderr
    assert before < after
    assert "(logits is a graph output)" in report_line(run.stderr, "/fc/Gemm" if name == "resnet_tiny" else "/classifier/Gemm")
    want, kept = numpy_group_pruned(name, 0.25)
    for members in GROUPS[name]:
        for m in members:
            line = report_line(run.stderr, m)
            channels = int(line.split("channels ")[1].split("/")[1].split()[0])
            assert f"channels {kept[m]}/{channels}" in line, line
            if len(members) > 1:
                assert f"(group of {len(members)} layers)" in line, line

    unpruned = tmp_path / "full.kplan"
    run_kiln(kiln, "compile", GRAPHS / f"{name}.onnx", "-o", unpruned)
    size_before, size_after = unpruned.stat().st_size, plan.stat().st_size
    print(f"{name} plan bytes {size_before} → {size_after}")
    assert size_after < 0.8 * size_before

    inputs = [f"--input={i['name']}={GRAPHS / i['file']}" for i in MANIFEST["models"][name]["inputs"]]
    run_kiln(kiln, "run", plan, *inputs, "--output-dir", tmp_path / "out")
    got = np.load(tmp_path / "out" / "logits.npy")
    # Oracle 1: ONNX Runtime on the numpy-pruned ONNX model.
    ref = ort_outputs(want, name)["logits"]
    r = kilnutil.compare(got, ref, rtol=1e-4, atol=1e-5)
    assert r, r.message
    # Oracle 2: Kiln's reference evaluator on the pruned graph (same passes as the plan).
    pipeline = next(line.split("=", 1)[1].strip() for line in run_kiln(kiln, "inspect", plan).stdout.splitlines()
                    if line.strip().startswith("pipeline ="))
    passes = pipeline.split(" ", 1)[1]
    kir = tmp_path / "pruned.kir"
    kir.write_text(run_kiln(kiln, "opt", GRAPHS / f"{name}.onnx", "--passes", passes, "--constants", "full").stdout)
    run_kiln(kiln, "eval", kir, *inputs, "--output-dir", tmp_path / "eval")
    r = kilnutil.compare(got, np.load(tmp_path / "eval" / "logits.npy"), rtol=1e-4, atol=1e-5)
    assert r, r.message
    # Drift from the unpruned model (max|a − b| / max|b| on the manifest input): Kiln's is
    # ORT's between the original and the numpy-pruned model.
    original = kilnutil.load_tensors(MANIFEST["models"][name]["outputs"])["logits"]
    drift = np.abs(got - original).max() / np.abs(original).max()
    expected = np.abs(ref - original).max() / np.abs(original).max()
    print(f"{name}: drift max|pruned − original| / max|original| = {drift:.3g} (ORT {expected:.3g})")
    assert drift == pytest.approx(expected, rel=1e-3) and drift > 1e-3


def test_bad_fraction_is_a_one_line_error(kiln, tmp_path):
    run = subprocess.run([str(kiln), "compile", str(GRAPHS / "lenet.onnx"), "-o", str(tmp_path / "x.kplan"),
                          "--prune", "channels=1.5"], capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert "--prune expects channels=FRACTION with a fraction in [0, 1], got 'channels=1.5'" in run.stderr
