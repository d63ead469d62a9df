"""Magnitude-pruned layers run through SPARSE_GEMM end to end (issue 6).

The oracle is ONNX Runtime on a copy of the model whose Gemm/MatMul weights numpy prunes
with the same rule as `--prune magnitude=F` (zero the ⌊F·count⌋ smallest |w|, ties by
position). Plans run through `kiln run` and the C tool `Runtime/build/kiln-run`;
`kiln inspect` shows which instructions became SPARSE_GEMM.
"""

from __future__ import annotations

import re
import subprocess

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

import kilnutil
from test_decompose import GRAPHS, MANIFEST, assert_close, ort_outputs, run_kiln, run_plan

KILN_RUN = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"


def pruned_onnx(name, fraction):
    """Graphs/<name> with every Gemm/MatMul initializer weight pruned by numpy."""
    model = onnx.load(str(GRAPHS / MANIFEST["models"][name]["file"]))
    inits = {i.name: i for i in model.graph.initializer}
    for n in model.graph.node:
        if n.op_type in ("Gemm", "MatMul") and len(n.input) > 1 and n.input[1] in inits:
            w = numpy_helper.to_array(inits[n.input[1]]).copy()
            flat = w.reshape(-1)
            flat[np.argsort(np.abs(flat), kind="stable")[: int(fraction * flat.size)]] = 0
            inits[n.input[1]].CopyFrom(numpy_helper.from_array(w, n.input[1]))
    return model


def opcode_counts(kiln, plan):
    """{opcode name: count} from `kiln inspect PLAN`."""
    out = run_kiln(kiln, "inspect", plan).stdout
    return {op: len(re.findall(rf"\b{op}\b", out)) for op in ("SPARSE_GEMM", "GEMM", "MATMUL")}


def run_c_tool(name, plan, out_dir):
    inputs = [f"{i['name']}={GRAPHS / i['file']}" for i in MANIFEST["models"][name]["inputs"]]
    argv = [str(KILN_RUN), str(plan), *[a for i in inputs for a in ("--input", i)], "--output-dir", str(out_dir)]
    run = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return {o["name"]: np.load(out_dir / (kilnutil.sanitize(o["name"]) + ".npy")) for o in MANIFEST["models"][name]["outputs"]}


# mlp runs batch 1 (SparseChoice: ≥ 95 % zeros for its < 512K-element weights at ≤ 4 rows);
# transformer_tiny's projections see 16 rows (≥ 80 % for small weights).
@pytest.mark.parametrize("name,fraction,sparse_layers", [("mlp", 0.95, 3), ("transformer_tiny", 0.8, 12)])
def test_pruned_model_runs_sparse_and_matches_ort(kiln, tmp_path, name, fraction, sparse_layers):
    plan = tmp_path / f"{name}.kplan"
    run_kiln(kiln, "compile", GRAPHS / MANIFEST["models"][name]["file"], "-o", plan, "--prune", f"magnitude={fraction}")
    counts = opcode_counts(kiln, plan)
    assert counts["SPARSE_GEMM"] == sparse_layers, counts
    want = ort_outputs(pruned_onnx(name, fraction), name)
    assert_close(run_plan(kiln, name, plan, tmp_path / "out"), want)
    assert_close(run_c_tool(name, plan, tmp_path / "out-c"), want)


def test_below_threshold_and_dense_weights_stay_dense(kiln, tmp_path):
    model = GRAPHS / MANIFEST["models"]["mlp"]["file"]
    for flags in ([], ["--prune", "magnitude=0.5"], ["--prune", "magnitude=0.9"]):
        plan = tmp_path / "mlp.kplan"
        run_kiln(kiln, "compile", model, "-o", plan, *flags)
        counts = opcode_counts(kiln, plan)
        assert counts["SPARSE_GEMM"] == 0 and counts["GEMM"] == 3, (flags, counts)


def test_sparse_plans_are_deterministic_and_smaller(kiln, tmp_path):
    model = GRAPHS / MANIFEST["models"]["mlp"]["file"]
    a, b, dense = tmp_path / "a.kplan", tmp_path / "b.kplan", tmp_path / "dense.kplan"
    for plan in (a, b):
        run_kiln(kiln, "compile", model, "-o", plan, "--prune", "magnitude=0.8")
    run_kiln(kiln, "compile", model, "-o", dense)
    assert a.read_bytes() == b.read_bytes()
    print(f"mlp zstd plan: dense {dense.stat().st_size} → 80% pruned {a.stat().st_size} bytes")
    assert a.stat().st_size * 2 < dense.stat().st_size
