"""Full-size ResNet-18 and MobileNetV2 (1x3x224x224, random He-init weights, written by
Graphs/generate.py --full-size into a cache folder, not committed) compiled at -O0 and
-O2 and run by `kiln run` and `kiln-run` match ONNX Runtime within 1e-4 relative /
1e-5 absolute, from plans no bigger than the model file."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import kilnutil

FULL = kilnutil.full_size_dir()


@pytest.fixture(scope="module")
def full_manifest():
    return kilnutil.full_size_manifest()


@pytest.mark.parametrize("level", ["O0", "O2"])
@pytest.mark.parametrize("name", ["resnet18", "mobilenetv2"])
def test_full_size_plan_matches_onnxruntime(name, level, kiln, full_manifest, tmp_path):
    entry = full_manifest["models"][name]
    plan = tmp_path / f"{name}.kplan"
    run = subprocess.run([str(kiln), "compile", str(FULL / entry["file"]), "-o", str(plan), f"-{level}"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    # The plan holds the weights once, untransformed (CONV2D_WINOGRAD transforms its 3x3
    # weights at load): no bigger than the ONNX file with the same initializers.
    onnx_size = (FULL / entry["file"]).stat().st_size
    assert plan.stat().st_size <= onnx_size, f"plan {plan.stat().st_size} B > model {onnx_size} B"
    inputs = [a for i in entry["inputs"] for a in ("--input", f"{i['name']}={FULL / i['file']}")]
    kiln_run = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"
    for label, cmd in (("kiln run", [str(kiln), "run", str(plan)]), ("kiln-run", [str(kiln_run), str(plan)])):
        out = tmp_path / label.replace(" ", "_")
        run = subprocess.run(cmd + inputs + ["--output-dir", str(out)], capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{label}: {run.stderr}"
        for o in entry["outputs"]:
            actual = np.load(out / (kilnutil.sanitize(o["name"]) + ".npy"))
            expected = np.load(FULL / o["file"])
            r = kilnutil.compare(actual, expected, rtol=1e-4, atol=1e-5)
            print(f"{name} -{level} {label}: max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g}")
            assert r, f"{name} -{level} {label}: {r.message}"
