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


def test_residual_channels_are_left_alone(kiln, tmp_path):
    run = run_kiln(kiln, "compile", GRAPHS / "resnet_tiny.onnx", "-o", tmp_path / "r.kplan", "--prune", "channels=0.25")
    for layer in ("/conv1/Conv", "/layer1/layer1.0/conv2/Conv", "/layer2/layer2.0/downsample/downsample.0/Conv"):
        line = next(line for line in run.stderr.splitlines() if line.strip().startswith(layer + " "))
        assert "kept" in line and "(feeds add " in line, line
    # The inner conv of a basic block (conv → bn → relu → conv) is pruned: 16 → 12 channels.
    line = next(line for line in run.stderr.splitlines() if line.strip().startswith("/layer1/layer1.0/conv1/Conv "))
    assert "channels 12/16" in line, line


def test_bad_fraction_is_a_one_line_error(kiln, tmp_path):
    run = subprocess.run([str(kiln), "compile", str(GRAPHS / "lenet.onnx"), "-o", str(tmp_path / "x.kplan"),
                          "--prune", "channels=1.5"], capture_output=True, text=True, timeout=600)
    assert run.returncode != 0
    assert "--prune expects channels=FRACTION with a fraction in [0, 1], got 'channels=1.5'" in run.stderr
