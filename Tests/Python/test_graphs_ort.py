"""Guards Graphs/: the committed models, inputs and expected outputs agree with each other.

For every model in Graphs/manifest.json: the files exist, the model passes the ONNX
checker, the declared dtypes/shapes match the .npy files and the graph, and ONNX
Runtime (CPU, optimizations off, as Graphs/generate.py ran it) reproduces the
expected outputs from the committed inputs.
"""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

import kilnutil

MANIFEST = kilnutil.load_manifest()
MODELS = sorted(MANIFEST["models"])
GRAPHS = kilnutil.graphs_dir()


def session(path, level=ort.GraphOptimizationLevel.ORT_DISABLE_ALL) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = level
    options.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def test_manifest_lists_every_model_file():
    on_disk = sorted(p.stem for p in GRAPHS.glob("*.onnx"))
    assert on_disk == MODELS


@pytest.mark.parametrize("name", MODELS)
def test_model_is_valid_and_small(name):
    entry = MANIFEST["models"][name]
    path = GRAPHS / entry["file"]
    assert path.stat().st_size < 2 * 1024 * 1024
    model = onnx.load(str(path))
    onnx.checker.check_model(model, full_check=True)
    assert [i.name for i in model.graph.input] == [e["name"] for e in entry["inputs"]]
    assert [o.name for o in model.graph.output] == [e["name"] for e in entry["outputs"]]
    for value, e in zip(list(model.graph.input) + list(model.graph.output), entry["inputs"] + entry["outputs"]):
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        assert shape == e["shape"], value.name
        assert onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type) == np.dtype(e["dtype"])
        assert e["file"].endswith(kilnutil.sanitize(e["name"]) + ".npy")
        array = np.load(GRAPHS / e["file"], allow_pickle=False)
        assert list(array.shape) == e["shape"] and str(array.dtype) == e["dtype"], e["file"]


@pytest.mark.parametrize("name", MODELS)
def test_onnxruntime_reproduces_expected(name):
    entry = MANIFEST["models"][name]
    inputs = kilnutil.load_tensors(entry["inputs"])
    expected = kilnutil.load_tensors(entry["outputs"])
    sess = session(GRAPHS / entry["file"])
    actual = dict(zip(expected, sess.run(list(expected), inputs)))
    for out_name, want in expected.items():
        result = kilnutil.compare(actual[out_name], want, rtol=1e-6, atol=1e-7)
        assert result.ok, f"{name}/{out_name}: {result.message}"


@pytest.mark.parametrize("name", MODELS)
def test_optimized_onnxruntime_within_manifest_tolerance(name):
    """An optimizing compiler (ORT with all fusions) stays within the tolerance Kiln is held to."""
    entry = MANIFEST["models"][name]
    inputs = kilnutil.load_tensors(entry["inputs"])
    expected = kilnutil.load_tensors(entry["outputs"])
    sess = session(GRAPHS / entry["file"], ort.GraphOptimizationLevel.ORT_ENABLE_ALL)
    actual = dict(zip(expected, sess.run(list(expected), inputs)))
    for out_name, want in expected.items():
        result = kilnutil.compare(actual[out_name], want, rtol=entry["rtol"], atol=entry["atol"])
        assert result.ok, f"{name}/{out_name}: {result.message}"
