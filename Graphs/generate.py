#!/usr/bin/env python3
"""Regenerates the example models in Graphs/ and their reference outputs.

    .venv/bin/python Graphs/generate.py                  # small models into Graphs/
    .venv/bin/python Graphs/generate.py --only mlp,gru   # a subset (manifest entries merged)
    .venv/bin/python Graphs/generate.py --full-size DIR  # resnet18 + mobilenetv2 (not committed)

For each model NAME the output directory gets:

    NAME.onnx
    NAME/inputs/<sanitized input name>.npy
    NAME/expected/<sanitized output name>.npy    ONNX Runtime's outputs on those inputs
    manifest.json                                 every model's files, dtypes and shapes

Everything is deterministic: weights and sample inputs come from fixed seeds, and
the reference outputs from single-threaded ONNX Runtime on the CPU with graph
optimizations off (the model's literal semantics).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper, numpy_helper

sys.dont_write_bytecode = True  # keep Graphs/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))

import models  # noqa: E402

GRAPHS_DIR = Path(__file__).resolve().parent
SIZE_LIMIT = 2 * 1024 * 1024  # bytes per committed .onnx file
DEFAULT_RTOL, DEFAULT_ATOL = 1e-4, 1e-5  # DESIGN.md: fp32 agreement with ONNX Runtime


def sanitize(name: str) -> str:
    """File name for a tensor name: anything but letters, digits, '.', '_', '-' becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def seed_for(name: str) -> int:
    """A stable per-model seed, so adding or changing one model leaves the others alone."""
    return zlib.crc32(name.encode())


# ---- sample inputs ---------------------------------------------------------------------


def sample_inputs(model: onnx.ModelProto, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed ^ 0x5EED)
    feeds = {}
    for value in model.graph.input:
        shape = [d.dim_value for d in value.type.tensor_type.shape.dim]
        dtype = helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type)
        if value.name == "input_ids":
            feeds[value.name] = rng.integers(0, 100, size=shape, dtype=np.int64)
        elif value.name == "attention_mask":
            mask = np.ones(shape, dtype=np.int64)
            mask[..., -3:] = 0  # last three positions are padding
            feeds[value.name] = mask
        elif value.name in ("h0", "c0"):
            feeds[value.name] = (0.5 * rng.standard_normal(shape)).astype(dtype)
        else:
            feeds[value.name] = rng.standard_normal(shape).astype(dtype)
    return feeds


def run_onnxruntime(model: Path | bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    source = str(model) if isinstance(model, Path) else model
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds)))


def calibrate_batchnorm(model: onnx.ModelProto, seed: int) -> None:
    """Sets every BatchNormalization's running statistics the way training would have.

    With random weights, running_mean = 0 / running_var = 1 do not match the real
    activations, and a deep residual net's outputs grow without bound. So, in
    graph order, each BN's input is measured on a calibration input (drawn from a
    different seed than the sample input) and its per-channel mean and variance,
    slightly perturbed, become the running statistics.
    """
    bn_nodes = [n for n in model.graph.node if n.op_type == "BatchNormalization"]
    if not bn_nodes:
        return
    rng = np.random.default_rng(seed ^ 0xCA1B)
    feeds = sample_inputs(model, seed ^ 0xCA1B)
    initializers = {t.name: t for t in model.graph.initializer}
    for node in bn_nodes:
        probe = onnx.ModelProto()
        probe.CopyFrom(model)
        del probe.graph.output[:]
        probe.graph.output.append(helper.make_tensor_value_info(node.input[0], onnx.TensorProto.FLOAT, None))
        x = next(iter(run_onnxruntime(probe.SerializeToString(), feeds).values()))
        axes = (0,) + tuple(range(2, x.ndim))
        mean, var = x.mean(axis=axes), x.var(axis=axes) + 1e-3
        mean = mean + 0.1 * np.sqrt(var) * rng.standard_normal(mean.shape)
        var = var * rng.uniform(0.8, 1.25, var.shape)
        for name, value in ((node.input[3], mean), (node.input[4], var)):
            initializers[name].CopyFrom(numpy_helper.from_array(value.astype(np.float32), name))


# ---- writing ---------------------------------------------------------------------------


def op_types(graph: onnx.GraphProto) -> Counter:
    counts: Counter = Counter()
    for node in graph.node:
        counts[node.op_type] += 1
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                counts += op_types(attr.g)
    return counts


def tensor_entries(arrays: dict[str, np.ndarray], subdir: str) -> list[dict]:
    return [
        {"name": n, "dtype": str(a.dtype), "shape": list(a.shape), "file": f"{subdir}/{sanitize(n)}.npy"}
        for n, a in arrays.items()
    ]


def write_model(name: str, build, out_dir: Path, size_limit: int | None) -> dict:
    seed = seed_for(name)
    model, description = build(seed)
    calibrate_batchnorm(model, seed)
    onnx.checker.check_model(model, full_check=True)
    model_path = out_dir / f"{name}.onnx"
    onnx.save(model, model_path)
    size = model_path.stat().st_size
    if size_limit is not None and size > size_limit:
        raise SystemExit(f"{name}.onnx is {size} bytes, over the {size_limit}-byte limit")

    feeds = sample_inputs(model, seed)
    expected = run_onnxruntime(model_path, feeds)
    for label, arr in expected.items():
        if not np.all(np.isfinite(arr)):
            raise SystemExit(f"{name}: output {label} has non-finite values")

    data_dir = out_dir / name
    if data_dir.exists():
        shutil.rmtree(data_dir)
    for subdir, arrays in (("inputs", feeds), ("expected", expected)):
        (data_dir / subdir).mkdir(parents=True)
        for tensor_name, arr in arrays.items():
            np.save(data_dir / subdir / f"{sanitize(tensor_name)}.npy", arr, allow_pickle=False)

    ops = op_types(model.graph)
    params = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    return {
        "file": f"{name}.onnx",
        "description": description,
        "opset": model.opset_import[0].version,
        "ir_version": model.ir_version,
        "bytes": size,
        "parameters": params,
        "nodes": len(model.graph.node),
        "op_types": dict(sorted(ops.items())),
        "rtol": DEFAULT_RTOL,
        "atol": DEFAULT_ATOL,
        "inputs": tensor_entries(feeds, f"{name}/inputs"),
        "outputs": tensor_entries(expected, f"{name}/expected"),
    }


def write_all(builders: dict, out_dir: Path, size_limit: int | None) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = out_dir / "manifest.json"
    entries = {}
    if manifest_path.exists():
        entries = json.loads(manifest_path.read_text()).get("models", {})
    for name, build in builders.items():
        entry = write_model(name, build, out_dir, size_limit)
        entries[name] = entry
        stats = "  ".join(
            f"{o['name']}: mean {np.load(out_dir / o['file']).mean():+.3f} std {np.load(out_dir / o['file']).std():.3f}"
            for o in entry["outputs"]
        )
        print(f"{name:18s} {entry['bytes'] / 1024:8.1f} KiB  {entry['nodes']:4d} nodes  {stats}")
    ordered = {n: entries[n] for n in sorted(entries, key=_order_key)}
    manifest = {
        "generator": "Graphs/generate.py",
        "onnx": onnx.__version__,
        "onnxruntime": ort.__version__,
        "models": ordered,
    }
    manifest_path.write_text(compact_json(manifest) + "\n")


def compact_json(value) -> str:
    """Indented JSON with innermost lists (shapes) kept on one line."""
    text = json.dumps(value, indent=2)
    text = re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)).strip() + "]", text)
    assert json.loads(text) == value
    return text


def _order_key(name: str):
    known = list(models.SMALL) + list(models.FULL_SIZE)
    return (known.index(name) if name in known else len(known), name)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--out", type=Path, default=GRAPHS_DIR, help="output directory for the small models")
    parser.add_argument("--only", help="comma-separated model names to regenerate")
    parser.add_argument("--full-size", type=Path, metavar="DIR",
                        help="write the full-size models (resnet18, mobilenetv2) to DIR instead")
    args = parser.parse_args(argv)

    if args.full_size:
        builders, out_dir, limit = models.FULL_SIZE, args.full_size, None
    else:
        builders, out_dir, limit = models.SMALL, args.out, SIZE_LIMIT
    if args.only:
        wanted = args.only.split(",")
        unknown = [n for n in wanted if n not in builders]
        if unknown:
            parser.error(f"unknown model(s): {', '.join(unknown)}; known: {', '.join(builders)}")
        builders = {n: builders[n] for n in wanted}
    write_all(builders, out_dir, limit)
    return 0


def write_full_size(out_dir: Path) -> None:
    """Writes resnet18.onnx and mobilenetv2.onnx (+ data and manifest) to `out_dir`."""
    write_all(models.FULL_SIZE, Path(out_dir), None)


if __name__ == "__main__":
    sys.exit(main())
