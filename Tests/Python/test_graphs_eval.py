"""Every Graphs model through `kiln eval` (importer + reference evaluator) matches the
ONNX Runtime outputs committed beside it, within the manifest's tolerance
(1e-4 relative / 1e-5 absolute)."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import kilnutil

MANIFEST = kilnutil.load_manifest()


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_eval_matches_onnxruntime(name, kiln, tmp_path):
    entry = MANIFEST["models"][name]
    graphs = kilnutil.graphs_dir()
    args = [str(kiln), "eval", str(graphs / entry["file"]), "--output-dir", str(tmp_path)]
    for i in entry["inputs"]:
        args += ["--input", f"{i['name']}={graphs / i['file']}"]
    run = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    for o in entry["outputs"]:
        actual = np.load(tmp_path / (kilnutil.sanitize(o["name"]) + ".npy"))
        expected = np.load(graphs / o["file"])
        result = kilnutil.compare(actual, expected, rtol=entry["rtol"], atol=entry["atol"])
        print(f"{name}/{o['name']}: max abs {result.max_abs:.3g}, max rel {result.max_rel:.3g}")
        assert result, f"{name} output {o['name']}: {result.message}"
