"""`kiln compile --quantize fp16`: large f32 constants stored as f16 and widened at load.

* Size, with `--no-compress`: the CONSTANTS section of every Graphs model's plan is at most
  0.55x the f32 one, and everything else in the file (tensor table, program, strings,
  metadata) keeps its size, so the file shrinks by half its weights: 0.50-0.55x for most
  models, 0.57x for inception_tiny and mobilenet_tiny, whose f32 plans are ~13% tables.
* Exactness of the rounding: at -O0 Kiln's constants are the model's initializers, so the
  fp16 plan must match ONNX Runtime running the *same model with those initializers rounded
  to f16 by numpy* (round to nearest even; >= 16 elements, f32, finite in f16) within the
  manifest's usual 1e-4 / 1e-5: any other rounding, threshold or widening shows up there.
* Accuracy against the original model, at -O2: max |kiln - ort| <= 1e-2 * max |ort| per
  output. Rounding a weight to f16 changes it by at most 2^-11 (4.9e-4) relatively; an
  output of a chain of L weight layers moves by roughly L * 2^-11 of its scale when errors
  add up coherently (these models have up to ~8 weight layers on a path: ~4e-3), and
  accumulation with cancellation can amplify it further, so 1e-2 of the output's scale
  leaves ~2x headroom over that bound while still catching a wrong widening (a byte-swapped
  or truncated f16 gives errors of order 1).
* zstd (the default) still applies on top: the compressed fp16 plan is smaller than the
  compressed f32 plan.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()
MIN_ELEMENTS = 16  # HalfWeights.minElements


def constants_stored_size(path):
    """Stored size of the CONSTANTS section (kind 3) from the plan's section table."""
    data = path.read_bytes()
    count = int.from_bytes(data[16:20], "little")
    for k in range(count):
        e = data[24 + 40 * k: 64 + 40 * k]
        if int.from_bytes(e[0:4], "little") == 3:
            return int.from_bytes(e[16:24], "little")
    return 0


def compile_plan(kiln, name, path, level, *extra):
    model = GRAPHS / MANIFEST["models"][name]["file"]
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(path), f"-{level}", *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return path


def run_plan(kiln, name, plan, out_dir):
    entry = MANIFEST["models"][name]
    args = [f"--input={i['name']}={GRAPHS / i['file']}" for i in entry["inputs"]]
    runner = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"
    if not runner.is_file():
        pytest.fail(f"{runner} not built (run `make -C Runtime`)")
    outputs = {}
    for tool, cmd in (("kiln", [str(kiln), "run", str(plan)]), ("kiln-run", [str(runner), str(plan)])):
        d = out_dir / tool
        run = subprocess.run(cmd + args + ["--output-dir", str(d)], capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"{tool}: {run.stderr}"
        outputs[tool] = {o["name"]: np.load(d / (kilnutil.sanitize(o["name"]) + ".npy")) for o in entry["outputs"]}
    return outputs


def as_stored(a):
    """What `--quantize fp16` stores for an f32 constant: rounded to f16 (nearest even) when
    it has >= MIN_ELEMENTS elements and every finite value stays finite in f16."""
    a = np.asarray(a, dtype=np.float32)
    if a.size < MIN_ELEMENTS or np.any(np.abs(a[np.isfinite(a)]) >= 65520):
        return a
    return a.astype(np.float16).astype(np.float32)


def fold_batchnorm_like_kiln(model):
    """Kiln lowers BatchNormalization (at every -O level) to y = x*scale + shift with
    scale = gamma / sqrt(var + eps), shift = beta - mean*scale computed in double and stored
    as f32 constants: those are the tensors it rounds. Rewrites each BatchNormalization to
    the same form (mean 0, var 1, epsilon 0) so ORT sees the rounded scale and shift.
    Returns the names of the new initializers."""
    inits = {i.name: i for i in model.graph.initializer}
    done = set()
    for node in model.graph.node:
        if node.op_type != "BatchNormalization":
            continue
        gamma, beta, mean, var = (numpy_helper.to_array(inits[n]).astype(np.float64) for n in node.input[1:5])
        eps = next((a.f for a in node.attribute if a.name == "epsilon"), 1e-5)
        scale = gamma / np.sqrt(var + np.float64(np.float32(eps)))
        shift = beta - mean * scale
        values = [as_stored(scale.astype(np.float32)), as_stored(shift.astype(np.float32)),
                  np.zeros_like(gamma, dtype=np.float32), np.ones_like(gamma, dtype=np.float32)]
        for k, v in enumerate(values):
            name = f"{node.name or node.output[0]}.kiln{k}"
            model.graph.initializer.append(numpy_helper.from_array(v, name))
            node.input[1 + k] = name
            done.add(name)
        for a in node.attribute:
            if a.name == "epsilon":
                a.f = 0.0
    return done


def rounded_model_outputs(name):
    """ORT outputs of the model with the constants Kiln stores rounded to f16 and back."""
    entry = MANIFEST["models"][name]
    model = onnx.load(str(GRAPHS / entry["file"]))
    done = fold_batchnorm_like_kiln(model)
    for init in model.graph.initializer:
        a = numpy_helper.to_array(init)
        if a.dtype == np.float32 and init.name not in done:
            init.CopyFrom(numpy_helper.from_array(as_stored(a), init.name))
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    feeds = kilnutil.load_tensors(entry["inputs"])
    names = [o["name"] for o in entry["outputs"]]
    return dict(zip(names, session.run(names, feeds)))


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_fp16_plan_is_about_half_size(name, kiln, tmp_path):
    full_plan = compile_plan(kiln, name, tmp_path / "f32.kplan", "O2", "--no-compress")
    half_plan = compile_plan(kiln, name, tmp_path / "f16.kplan", "O2", "--no-compress", "--quantize", "fp16")
    full, half = full_plan.stat().st_size, half_plan.stat().st_size
    cfull, chalf = constants_stored_size(full_plan), constants_stored_size(half_plan)
    print(f"{name}: {full} -> {half} bytes ({half / full:.3f}x), constants {cfull} -> {chalf} ({chalf / cfull:.3f}x)")
    assert chalf <= 0.55 * cfull
    # The rest of the file differs at most by the CONSTANTS section's alignment padding.
    assert abs((half - chalf) - (full - cfull)) < 64
    zfull = compile_plan(kiln, name, tmp_path / "f32z.kplan", "O2").stat().st_size
    zhalf = compile_plan(kiln, name, tmp_path / "f16z.kplan", "O2", "--quantize", "fp16").stat().st_size
    print(f"{name} (zstd): {zfull} -> {zhalf} bytes ({zhalf / zfull:.3f}x)")
    assert zhalf < zfull


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_fp16_O0_matches_ort_with_f16_rounded_initializers(name, kiln, tmp_path):
    entry = MANIFEST["models"][name]
    plan = compile_plan(kiln, name, tmp_path / "f16.kplan", "O0", "--quantize", "fp16")
    want = rounded_model_outputs(name)
    for tool, outs in run_plan(kiln, name, plan, tmp_path).items():
        for o, expected in want.items():
            r = kilnutil.compare(outs[o], expected, rtol=entry["rtol"], atol=entry["atol"])
            print(f"{name}/{o} ({tool}): max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g}")
            assert r, f"{name} output {o} ({tool}): {r.message}"


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_fp16_O2_stays_close_to_ort(name, kiln, tmp_path):
    entry = MANIFEST["models"][name]
    plan = compile_plan(kiln, name, tmp_path / "f16.kplan", "O2", "--quantize", "fp16")
    for tool, outs in run_plan(kiln, name, plan, tmp_path).items():
        for o in entry["outputs"]:
            expected = np.load(GRAPHS / o["file"]).astype(np.float64)
            actual = outs[o["name"]].astype(np.float64)
            assert actual.shape == expected.shape
            scale = float(np.max(np.abs(expected))) if expected.size else 0.0
            err = float(np.max(np.abs(actual - expected))) if expected.size else 0.0
            print(f"{name}/{o['name']} ({tool}): max abs {err:.3g}, relative to scale {err / max(scale, 1e-30):.3g}")
            assert err <= 1e-2 * scale, f"{name} output {o['name']} ({tool}): max abs {err:.3g} > 1e-2 * {scale:.3g}"
