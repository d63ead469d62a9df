"""Compiled plans, end to end: every Graphs model compiled at -O0 and -O2 and run by
`kiln run` and by the standalone C tool `kiln-run` matches ONNX Runtime within the
manifest's tolerance (1e-4 relative / 1e-5 absolute); compiling twice gives the same
bytes."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()


def kiln_run_binary():
    path = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"
    if not path.is_file():
        pytest.fail(f"{path} not built (run `make -C Runtime`)")
    return path


def compile_plan(kiln, name, tmp_path, level, *extra):
    plan = tmp_path / f"{name}-{level}.kplan"
    run = subprocess.run([str(kiln), "compile", str(GRAPHS / MANIFEST["models"][name]["file"]), "-o", str(plan),
                          f"-{level}", *extra], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return plan


def check_outputs(name, out_dir):
    entry = MANIFEST["models"][name]
    for o in entry["outputs"]:
        actual = np.load(out_dir / (kilnutil.sanitize(o["name"]) + ".npy"))
        expected = np.load(GRAPHS / o["file"])
        r = kilnutil.compare(actual, expected, rtol=entry["rtol"], atol=entry["atol"])
        print(f"{name}/{o['name']}: max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g}")
        assert r, f"{name} output {o['name']}: {r.message}"


def input_args(name):
    return [f"--input={i['name']}={GRAPHS / i['file']}" for i in MANIFEST["models"][name]["inputs"]]


@pytest.mark.parametrize("level", ["O0", "O2"])
@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_plan_matches_onnxruntime(name, level, kiln, tmp_path):
    plan = compile_plan(kiln, name, tmp_path, level)
    for runner in ("kiln", "kiln-run"):
        out = tmp_path / runner
        cmd = [str(kiln), "run", str(plan)] if runner == "kiln" else [str(kiln_run_binary()), str(plan)]
        run = subprocess.run(cmd + input_args(name) + ["--output-dir", str(out)], capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{runner}: {run.stderr}"
        check_outputs(name, out)


@pytest.mark.parametrize("name", ["resnet_tiny", "transformer_tiny", "lstm"])
def test_compiling_twice_gives_identical_bytes(name, kiln, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
    for extra in ([], ["--no-compress"]):
        a = compile_plan(kiln, name, tmp_path / "a", "O2", *extra)
        b = compile_plan(kiln, name, tmp_path / "b", "O2", *extra)
        assert a.read_bytes() == b.read_bytes(), f"{name} {extra}: plans differ"
