"""Static int8 quantization end to end (`kiln compile --quantize int8 --calibration DIR`):
on the Graphs CNNs, the int8 plan is small against the fp32 ONNX file (SIZE_BOUND), and on 64 held-out
random-normal inputs its outputs agree with ONNX Runtime's fp32 outputs (cosine >= 0.99,
top-1 agreement >= 98%). Calibration and held-out inputs come from seeded numpy. Bad
calibration folders fail with one clear line."""

from __future__ import annotations

import json
import re
import subprocess

import numpy as np
import onnxruntime as ort
import pytest

import kilnutil

MANIFEST = kilnutil.load_manifest()
GRAPHS = kilnutil.graphs_dir()
CNNS = ["lenet", "mobilenet_tiny", "resnet_tiny", "inception_tiny"]
# Plan size / fp32 ONNX size: the target, 0.30, for every Graphs CNN. The tiny CNNs
# (~20K weights) meet it because the plan's table sections (tensor entries, names) are zstd
# frames too (format 1.2); stored raw they were 0.37-0.51x.
SIZE_BOUND = 0.30
HELD_OUT = 64
MOBILENETV2_TOP1 = 0.875  # measured 57-59/64; the target is 0.98 (see the full-size test)
# Under the default budget residual adds stay float: int8 adds (QADD, `--accuracy-budget none`) round the skip
# path at every add, which leaves the worst cosine at 0.9999 but flips near ties: mobilenet_tiny 64/64 -> 62/64
# held-out top-1 (252 -> 248 of 256), below the 98% target.


def plan_metadata(kiln, plan) -> str:
    """The metadata lines `kiln inspect` prints for a plan (its table sections are zstd frames,
    so the raw bytes do not show the recorded pipeline)."""
    run = subprocess.run([str(kiln), "inspect", str(plan)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    return run.stdout.split("metadata:", 1)[1].split("\n\n", 1)[0]


def model_path(name):
    return GRAPHS / MANIFEST["models"][name]["file"]


def input_spec(name):
    (entry,) = MANIFEST["models"][name]["inputs"]
    x = np.load(GRAPHS / entry["file"])
    return entry["name"], x.shape


def write_calibration(directory, shape, count, seed):
    directory.mkdir()
    rng = np.random.default_rng(seed)
    for i in range(count):
        np.save(directory / f"sample{i:03d}.npy", rng.standard_normal(shape).astype(np.float32))


def compile_int8(kiln, name, tmp_path, calibration, *extra):
    plan = tmp_path / f"{name}-int8.kplan"
    run = subprocess.run([str(kiln), "compile", str(model_path(name)), "-o", str(plan), "--quantize", "int8",
                          "--calibration", str(calibration), *extra], capture_output=True, text=True, timeout=900)
    return plan, run


def cosine(a, b):
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def run_plan(kiln, plan, feeds, out):
    args = [a for name, path in feeds.items() for a in ("--input", f"{name}={path}")]
    r = subprocess.run([str(kiln), "run", str(plan), *args, "--output-dir", str(out)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    return out


def held_out_accuracy(kiln, plan, model_file, tmp_path, count=HELD_OUT, seed=1234):
    """{output: (worst cosine, top-1 agreements, max abs)} of the plan vs ONNX Runtime's fp32 outputs on `count`
    seeded random-normal inputs (every input of the model)."""
    session = ort.InferenceSession(str(model_file), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(seed)
    stats = {o.name: [1.0, 0, 0.0] for o in session.get_outputs()}
    for i in range(count):
        feeds = {}
        xs = {}
        for inp in session.get_inputs():
            xs[inp.name] = rng.standard_normal(inp.shape).astype(np.float32)
            feeds[inp.name] = tmp_path / f"held-{kilnutil.sanitize(inp.name)}.npy"
            np.save(feeds[inp.name], xs[inp.name])
        out = run_plan(kiln, plan, feeds, tmp_path / f"held{i}")
        for o, want in zip(session.get_outputs(), session.run(None, xs)):
            got = np.load(out / (kilnutil.sanitize(o.name) + ".npy"))
            s = stats[o.name]
            s[0] = min(s[0], cosine(got, want))
            s[1] += int(np.argmax(got) == np.argmax(want))
            s[2] = max(s[2], float(np.abs(got.astype(np.float64) - want).max()))
    return stats


@pytest.mark.parametrize("name", CNNS)
def test_int8_plan_size_and_accuracy(name, kiln, tmp_path):
    input_name, shape = input_spec(name)
    write_calibration(tmp_path / "calib", shape, 16, seed=1)
    plan, run = compile_int8(kiln, name, tmp_path, tmp_path / "calib")
    assert run.returncode == 0, run.stderr
    assert f"(calibration minmax, 16 samples)" in run.stdout
    ratio = plan.stat().st_size / model_path(name).stat().st_size
    print(f"{name}: int8 plan {plan.stat().st_size} bytes, {ratio:.3f}x the fp32 ONNX file")
    assert ratio <= SIZE_BOUND, f"{name}: int8 plan is {ratio:.3f}x the ONNX file"
    ((cos, agree, _),) = held_out_accuracy(kiln, plan, model_path(name), tmp_path).values()
    print(f"{name}: worst cosine {cos:.4f}, top-1 agreement {agree}/{HELD_OUT}")
    assert cos >= 0.99, f"{name}: worst cosine {cos:.4f}"
    assert agree / HELD_OUT >= 0.98, f"{name}: top-1 agreement {agree}/{HELD_OUT}"


def test_percentile_method_compiles_and_is_recorded(kiln, tmp_path):
    _, shape = input_spec("lenet")
    write_calibration(tmp_path / "calib", shape, 4, seed=2)
    plan, run = compile_int8(kiln, "lenet", tmp_path, tmp_path / "calib", "--calibration-method", "percentile",
                             "--percentile", "99.9")
    assert run.returncode == 0, run.stderr
    assert "quantize=int8,calibration=percentile@99.9,samples=4" in plan_metadata(kiln, plan)


def test_one_sample_per_subfolder(kiln, tmp_path):
    input_name, shape = input_spec("lenet")
    rng = np.random.default_rng(3)
    for i in range(3):
        (tmp_path / "calib" / f"s{i}").mkdir(parents=True)
        np.save(tmp_path / "calib" / f"s{i}" / f"{input_name}.npy", rng.standard_normal(shape).astype(np.float32))
    plan, run = compile_int8(kiln, "lenet", tmp_path, tmp_path / "calib")
    assert run.returncode == 0, run.stderr
    assert "quantize=int8,calibration=minmax,samples=3" in plan_metadata(kiln, plan)


def report_lines(run, header):
    """The indented lines under a report header on stdout, as {output: line}."""
    lines = run.stdout.splitlines()
    i = next(k for k, l in enumerate(lines) if header in l)
    rows = {}
    for line in lines[i + 1:]:
        if not line.startswith("kiln compile:   "):
            break
        name, rest = line[len("kiln compile:   "):].split(": ", 1)
        rows[name] = rest
    return rows


def reported(rest, key):
    """A number after `key` in a report line: `cosine min 0.9990 mean ...` -> reported(rest, "cosine min")."""
    return float(rest.split(key + " ", 1)[1].split()[0].rstrip(","))


def test_entropy_method_and_validation_report(kiln, tmp_path):
    """--calibration-method entropy compiles, is recorded in the plan, and the report's validation numbers are
    the plan's own: cosine and top-1 as the test measures them against ONNX Runtime on the same files."""
    input_name, shape = input_spec("mobilenet_tiny")
    write_calibration(tmp_path / "calib", shape, 16, seed=5)
    write_calibration(tmp_path / "valid", shape, 12, seed=6)
    plan, run = compile_int8(kiln, "mobilenet_tiny", tmp_path, tmp_path / "calib", "--calibration-method", "entropy",
                             "--validation", str(tmp_path / "valid"))
    assert run.returncode == 0, run.stderr
    assert "quantize=int8,calibration=entropy,samples=16" in plan_metadata(kiln, plan)
    calib = report_lines(run, "accuracy vs fp32 on the 16 calibration samples:")
    valid = report_lines(run, "accuracy vs fp32 on the 12 validation samples:")
    assert list(calib) == list(valid) == ["logits"]
    session = ort.InferenceSession(str(model_path("mobilenet_tiny")), providers=["CPUExecutionProvider"])
    cosines, agree, max_abs = [], 0, 0.0
    for i, f in enumerate(sorted((tmp_path / "valid").iterdir())):
        got = np.load(run_plan(kiln, plan, {input_name: f}, tmp_path / f"v{i}") / "logits.npy")
        (want,) = session.run(None, {input_name: np.load(f)})
        cosines.append(cosine(got, want))
        agree += int(np.argmax(got) == np.argmax(want))
        max_abs = max(max_abs, float(np.abs(got.astype(np.float64) - want).max()))
    print(run.stdout)
    assert reported(valid["logits"], "cosine min") == pytest.approx(min(cosines), abs=2e-4)
    assert reported(valid["logits"], "max abs") == pytest.approx(max_abs, rel=0.02, abs=1e-4)
    assert f"top-1 {agree}/12" in valid["logits"]
    assert min(cosines) >= 0.99


def test_accuracy_budget_keeps_sensitive_layers_float(kiln, tmp_path):
    """A budget int8-everywhere misses: the report names the layers kept in float with their sensitivities,
    and the plan meets the budget on the calibration samples (checked here against ONNX Runtime)."""
    input_name, shape = input_spec("mobilenet_tiny")
    write_calibration(tmp_path / "calib", shape, 8, seed=7)
    plan, run = compile_int8(kiln, "mobilenet_tiny", tmp_path, tmp_path / "calib", "--accuracy-budget", "cosine=0.99999")
    assert run.returncode == 0, run.stderr
    print(run.stdout)
    assert "--accuracy-budget cosine=0.99999: every layer in int8 gives cosine 0.9" in run.stdout
    kept = [l for l in run.stdout.splitlines() if "kept in float: " in l]
    assert kept and all("(alone in int8: cosine 0.9" in l for l in kept)
    floats = len(kept) - sum("back in int8: " in l for l in run.stdout.splitlines())
    assert f"quantized {14 - floats} of 14 ops to int8" in run.stdout
    assert f",budget=cosine=0.99999,float={floats}" in plan_metadata(kiln, plan)
    session = ort.InferenceSession(str(model_path("mobilenet_tiny")), providers=["CPUExecutionProvider"])
    for i, f in enumerate(sorted((tmp_path / "calib").iterdir())):
        got = np.load(run_plan(kiln, plan, {input_name: f}, tmp_path / f"c{i}") / "logits.npy")
        (want,) = session.run(None, {input_name: np.load(f)})
        assert cosine(got, want) >= 0.99999 - 1e-6


def test_top1_budget_term_holds_on_the_calibration_samples(kiln, tmp_path):
    """A combined budget (cosine and top-1 agreement): the search reports both measures, and the plan meets both
    on the calibration samples as measured here against ONNX Runtime."""
    input_name, shape = input_spec("mobilenet_tiny")
    write_calibration(tmp_path / "calib", shape, 8, seed=5)
    plan, run = compile_int8(kiln, "mobilenet_tiny", tmp_path, tmp_path / "calib", "--accuracy-budget", "cosine=0.999,top1=1")
    assert run.returncode == 0, run.stderr
    print(run.stdout)
    assert "--accuracy-budget cosine=0.999,top1=1: every layer in int8 gives cosine 0.9" in run.stdout
    assert re.search(r"every layer in int8 gives cosine 0\.\d+, top-1 \d/8 on the calibration samples", run.stdout)
    assert ",budget=cosine=0.999,top1=1,float=" in plan_metadata(kiln, plan)
    session = ort.InferenceSession(str(model_path("mobilenet_tiny")), providers=["CPUExecutionProvider"])
    for i, f in enumerate(sorted((tmp_path / "calib").iterdir())):
        got = np.load(run_plan(kiln, plan, {input_name: f}, tmp_path / f"c{i}") / "logits.npy")
        (want,) = session.run(None, {input_name: np.load(f)})
        assert cosine(got, want) >= 0.999 - 1e-6
        assert np.argmax(got) == np.argmax(want), f"sample {i}"


def test_bias_correction_lowers_the_error_of_a_depthwise_net(kiln, tmp_path):
    """Bias correction (default) against --no-bias-correction, every layer int8, on mobilenet_tiny (depthwise
    convs: 9 weights per channel, whose rounding shifts the channel's mean): the squared error vs ONNX Runtime on
    16 held-out inputs falls by a third or more (measured 0.0137 vs 0.0215 max abs on 64 inputs)."""
    input_name, shape = input_spec("mobilenet_tiny")
    write_calibration(tmp_path / "calib", shape, 16, seed=1)
    write_calibration(tmp_path / "held", shape, 16, seed=1234)
    session = ort.InferenceSession(str(model_path("mobilenet_tiny")), providers=["CPUExecutionProvider"])
    energy = {}
    for label, extra in (("corrected", []), ("plain", ["--no-bias-correction"])):
        plan, run = compile_int8(kiln, "mobilenet_tiny", tmp_path, tmp_path / "calib", "--accuracy-budget", "none",
                                 *extra)
        assert run.returncode == 0, run.stderr
        plan = plan.rename(tmp_path / f"{label}.kplan")
        assert (",bias-correction=off" in plan_metadata(kiln, plan)) == (label == "plain")
        energy[label] = 0.0
        for i, f in enumerate(sorted((tmp_path / "held").iterdir())):
            got = np.load(run_plan(kiln, plan, {input_name: f}, tmp_path / f"{label}{i}") / "logits.npy")
            (want,) = session.run(None, {input_name: np.load(f)})
            energy[label] += float(((got.astype(np.float64) - want) ** 2).sum())
    print(energy)
    assert energy["corrected"] <= 0.67 * energy["plain"]


def test_report_json_carries_the_accuracy(kiln, tmp_path):
    """--report-json's quantization section: the settings the plan records, which layers are int8 and float, and
    per sample set the accuracy the stdout report prints, which on the validation set is the plan's own vs
    ONNX Runtime."""
    input_name, shape = input_spec("mobilenet_tiny")
    write_calibration(tmp_path / "calib", shape, 8, seed=5)
    write_calibration(tmp_path / "valid", shape, 6, seed=6)
    report = tmp_path / "report.json"
    plan, run = compile_int8(kiln, "mobilenet_tiny", tmp_path, tmp_path / "calib", "--validation", str(tmp_path / "valid"),
                             "--accuracy-budget", "cosine=0.99999", "--report-json", str(report), "--no-drift")
    assert run.returncode == 0, run.stderr
    q = json.loads(report.read_text())["quantization"]
    assert f"{q['settings']}" in plan_metadata(kiln, plan)
    assert q["settings"].startswith("quantize=int8,calibration=minmax,samples=8,budget=cosine=0.99999")
    assert len(q["int8_layers"]) + len(q["float_layers"]) == 14 and q["float_layers"]
    kept = [l.split("kept in float: ", 1)[1].split(" (")[0] for l in run.stdout.splitlines() if "kept in float: " in l]
    back = [l.split("back in int8: ", 1)[1].split(";")[0] for l in run.stdout.splitlines() if "back in int8: " in l]
    assert sorted(q["float_layers"]) == sorted(set(kept) - set(back))
    rows = {(a["set"], a["output"]): a for a in q["accuracy"]}
    assert set(rows) == {("calibration", "logits"), ("validation", "logits")}
    for header, key, n in (("calibration samples:", "calibration", 8), ("validation samples:", "validation", 6)):
        line = report_lines(run, f"accuracy vs fp32 on the {n} {header}")["logits"]
        a = rows[(key, "logits")]
        assert a["samples"] == n
        assert reported(line, "cosine min") == pytest.approx(a["cosine_min"], abs=5e-5)
        assert reported(line, "mean") == pytest.approx(a["cosine_mean"], abs=5e-5)
        assert reported(line, "max abs") == pytest.approx(a["max_abs"], rel=1e-3)
        assert f"top-1 {a['top1_agree']}/{n}" in line
    session = ort.InferenceSession(str(model_path("mobilenet_tiny")), providers=["CPUExecutionProvider"])
    cosines, agree = [], 0
    for i, f in enumerate(sorted((tmp_path / "valid").iterdir())):
        got = np.load(run_plan(kiln, plan, {input_name: f}, tmp_path / f"v{i}") / "logits.npy")
        (want,) = session.run(None, {input_name: np.load(f)})
        cosines.append(cosine(got, want))
        agree += int(np.argmax(got) == np.argmax(want))
    assert rows[("validation", "logits")]["cosine_min"] == pytest.approx(min(cosines), abs=2e-4)
    assert rows[("validation", "logits")]["top1_agree"] == agree


def test_unreachable_budget_with_fallback_float_writes_the_fp32_plan(kiln, tmp_path):
    input_name, shape = input_spec("lenet")
    write_calibration(tmp_path / "calib", shape, 2, seed=8)
    plan, run = compile_int8(kiln, "lenet", tmp_path, tmp_path / "calib", "--accuracy-budget", "max-rel=1e-12",
                             "--fallback-float")
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() == ("kiln compile: --accuracy-budget max-rel=1e-12 is not met even with every layer in "
                                  "float; --fallback-float: writing the fp32 plan")
    assert "quantize=none(fallback-float)" in plan_metadata(kiln, plan)
    # fp32: the plan matches ONNX Runtime to float rounding.
    x = tmp_path / "calib" / "sample000.npy"
    got = np.load(run_plan(kiln, plan, {input_name: x}, tmp_path / "out") / "logits.npy")
    session = ort.InferenceSession(str(model_path("lenet")), providers=["CPUExecutionProvider"])
    assert kilnutil.compare(got, session.run(None, {input_name: np.load(x)})[0])


def test_npz_samples_for_a_two_input_graph(kiln, tmp_path):
    """siamese (inputs a and b): one .npz per sample; both embeddings stay close to fp32."""
    (tmp_path / "calib").mkdir()
    rng = np.random.default_rng(9)
    for i in range(8):
        np.savez(tmp_path / "calib" / f"s{i}.npz", a=rng.standard_normal((1, 1, 28, 28)).astype(np.float32),
                 b=rng.standard_normal((1, 1, 28, 28)).astype(np.float32))
    plan, run = compile_int8(kiln, "siamese", tmp_path, tmp_path / "calib")
    assert run.returncode == 0, run.stderr
    stats = held_out_accuracy(kiln, plan, model_path("siamese"), tmp_path)
    print(stats)
    assert stats["embedding_a"][0] >= 0.99 and stats["embedding_b"][0] >= 0.99
    assert stats["similarity"][2] <= 0.02


def test_max_pool_on_a_float_input_stays_float(kiln, tmp_path):
    """quantize-int8 step 5 pools the u8 value only when the pool reads an int8 op's result: a max pool on
    the graph input (which an int8 conv also reads, so a quantized copy of it exists) stays a float pool, its
    output exactly ONNX Runtime's; a max pool on the conv's result is QMAXPOOL. (The input's quantized copy
    once made its float-only pool quantized, off by up to half a step.)"""
    from onnx import TensorProto, helper, numpy_helper
    import onnx
    rng = np.random.default_rng(5)
    w = numpy_helper.from_array((rng.standard_normal((4, 3, 3, 3)) * 0.3).astype(np.float32), "w")
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
             helper.make_node("Relu", ["c"], ["y1"]),
             helper.make_node("MaxPool", ["y1"], ["y3"], kernel_shape=[2, 2], strides=[2, 2]),
             helper.make_node("MaxPool", ["x"], ["y2"], kernel_shape=[2, 2], strides=[2, 2])]
    graph = helper.make_graph(nodes, "pools", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 8, 8])],
                              [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ("y1", "y2", "y3")],
                              initializer=[w])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, tmp_path / "pools.onnx")
    write_calibration(tmp_path / "calib", (1, 3, 8, 8), 8, seed=3)
    plan = tmp_path / "pools.kplan"
    run = subprocess.run([str(kiln), "compile", str(tmp_path / "pools.onnx"), "-o", str(plan), "--quantize", "int8",
                          "--calibration", str(tmp_path / "calib"), "--accuracy-budget", "none"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    listing = subprocess.run([str(kiln), "inspect", str(plan)], capture_output=True, text=True, timeout=120).stdout
    assert listing.count("QMAXPOOL") == 1 and "QCONV2D" in listing, listing
    x = rng.standard_normal((1, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    out = run_plan(kiln, plan, {"x": tmp_path / "x.npy"}, tmp_path / "out")
    (want,) = ort.InferenceSession(str(tmp_path / "pools.onnx"), providers=["CPUExecutionProvider"]).run(["y2"], {"x": x})
    assert np.array_equal(np.load(out / "y2.npy"), want)


def test_quantize_needs_calibration(kiln, tmp_path):
    r = subprocess.run([str(kiln), "compile", str(model_path("lenet")), "-o", str(tmp_path / "p.kplan"), "--quantize", "int8"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode != 0 and "--quantize int8 needs --calibration DIR" in r.stderr


FULL = kilnutil.full_size_dir()


@pytest.fixture(scope="module")
def full_manifest():
    return kilnutil.full_size_manifest()


def test_full_size_mobilenetv2_default_int8(kiln, full_manifest, tmp_path):
    """Full-size MobileNetV2 with the default scheme (minmax, bias correction, budget cosine=0.995 on the
    calibration samples): cosine >= 0.99 on 64 held-out inputs vs ONNX Runtime (measured 0.9957, 15 of 53 layers
    float). Top-1 agreement does NOT reach the 98% target, and no int8 plan within the 0.30x size can: this
    random-weight net amplifies perturbations ~15x (0.1% input noise -> 1.7% logit error; ResNet-18: 1.5x) and
    its 1000 fp32 logits have near ties (top-2 gaps 0.006, 0.007, 0.015, ... at logit std 0.70), so 63/64 needs
    logit cosine ~0.9999: --accuracy-budget cosine=0.9999 keeps 43 of 53 layers float (0.65x the ONNX file).
    ORT's own quantize_static (QDQ, per-channel, minmax) gives cosine 0.975 and 51/64 on the same inputs.
    MOBILENETV2_TOP1 is below the measured 57/64, kept so a regression fails (with the residual adds in int8,
    `--accuracy-budget none`'s QADD, 55/64: rounding the residual stream at each add flips two more near ties;
    worst cosine 0.9950 -> 0.9951). test_full_size_mobilenetv2_top1_ceiling shows the weight rounding alone
    already costs more than 2% top-1 on this net."""
    model = FULL / full_manifest["models"]["mobilenetv2"]["file"]
    write_calibration(tmp_path / "calib", (1, 3, 224, 224), 16, seed=1)
    plan = tmp_path / "mobilenetv2-int8.kplan"
    run = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "--quantize", "int8", "--calibration",
                          str(tmp_path / "calib")], capture_output=True, text=True, timeout=3000)
    assert run.returncode == 0, run.stderr
    print(run.stdout)
    assert "kept in float: " in run.stdout
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1234)
    cosines, agree = [], 0
    for i in range(HELD_OUT):
        x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
        np.save(tmp_path / "x.npy", x)
        got = np.load(run_plan(kiln, plan, {"x": tmp_path / "x.npy"}, tmp_path / f"o{i}") / "logits.npy").ravel()
        want = session.run(None, {"x": x})[0].ravel()
        cosines.append(cosine(got, want))
        agree += int(np.argmax(got) == np.argmax(want))
    print(f"mobilenetv2: worst cosine {min(cosines):.4f}, top-1 {agree}/{HELD_OUT}")
    assert min(cosines) >= 0.99
    assert agree / HELD_OUT >= MOBILENETV2_TOP1


def weights_rounded_to_int8(model, keep_float_first=0):
    """A copy of `model` whose Conv/Gemm weights (from the `keep_float_first`-th such layer on) are rounded to
    per-output-channel symmetric int8 and stored back as float: the weight error of an int8 plan alone, with
    every activation exact."""
    from onnx import numpy_helper
    import onnx
    rounded = onnx.ModelProto()
    rounded.CopyFrom(model)
    weights = {t.name: t for t in rounded.graph.initializer}
    layers = [n for n in rounded.graph.node if n.op_type in ("Conv", "Gemm")]
    for node in layers[keep_float_first:]:
        tensor = weights[node.input[1]]
        w = numpy_helper.to_array(tensor).astype(np.float64)
        rows = w.reshape(w.shape[0], -1)
        step = np.abs(rows).max(axis=1, keepdims=True) / 127
        step[step == 0] = 1
        tensor.CopyFrom(numpy_helper.from_array((np.round(rows / step) * step).reshape(w.shape).astype(np.float32),
                                                tensor.name))
    return rounded


@pytest.mark.parametrize("keep_float_first, most", [(0, 56), (16, 62)])
def test_full_size_mobilenetv2_top1_ceiling(full_manifest, keep_float_first, most):
    """Why the 98% top-1 target is out of reach on the full-size random-weight MobileNetV2 for ANY int8 plan
    within the 0.30x size bound (which leaves at most ~7% of the weights in fp32): ONNX Runtime running the fp32
    model with only its Conv/Gemm weights rounded to per-channel int8 -- activations exact, no input rounding --
    agrees on top-1 with the fp32 model for 53 of the 64 held-out inputs; keeping the first 16 of 53 layers'
    weights in fp32 (1.3% of the weights) still gives 62/64, below 63/64 (98%). Kiln's default int8 plan (int8
    weights AND activations) reaches 57/64. `most` is the measured count plus a margin of 3 and 0: if this test
    fails, the model generator changed and the ceiling must be re-measured."""
    import onnx
    model = onnx.load(FULL / full_manifest["models"]["mobilenetv2"]["file"])
    fp32 = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    rounded = ort.InferenceSession(weights_rounded_to_int8(model, keep_float_first).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(1234)
    agree = 0
    for _ in range(HELD_OUT):
        x = rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
        agree += int(np.argmax(fp32.run(None, {"x": x})[0]) == np.argmax(rounded.run(None, {"x": x})[0]))
    print(f"weights-only int8 (first {keep_float_first} layers fp32): top-1 {agree}/{HELD_OUT}")
    assert agree <= most < 0.98 * HELD_OUT


@pytest.mark.parametrize("name, opcode, word, least", [("resnet_tiny", "QADD", "adds", 3), ("inception_tiny", "QCONCAT", "concats", 1),
                                                      ("resnet_tiny", "QGLOBAL_AVG_POOL", "global average pools", 1)])
def test_int8_joins_run_int8(name, opcode, word, least, kiln, tmp_path):
    """quantize-int8 step 6 with every layer int8: resnet_tiny's three residual adds (the last one read by the global
    average pool, itself read by the int8 classifier through the flatten) run as QADD (opcode 83) and the pool as
    QGLOBAL_AVG_POOL (85); inception_tiny's branch concats (read by int8 convs and a max pool, and by the global
    pool) as QCONCAT (84); plan format 1.3; accuracy on 16 held-out inputs (the default plans' is
    test_int8_plan_size_and_accuracy's)."""
    input_name, shape = input_spec(name)
    write_calibration(tmp_path / "calib", shape, 16, seed=1)
    plan, run = compile_int8(kiln, name, tmp_path, tmp_path / "calib", "--accuracy-budget", "none")
    assert run.returncode == 0, run.stderr
    count = re.search(rf"(\d+) {word}( and \d+ [a-z ]+)? in int8", run.stdout)
    listing = subprocess.run([str(kiln), "inspect", str(plan)], capture_output=True, text=True, timeout=120).stdout
    assert count and listing.count(f": {opcode} ") == int(count.group(1)) >= least, run.stdout + listing
    assert listing.startswith("plan format 1.3,"), listing
    ((cos, agree, _),) = held_out_accuracy(kiln, plan, model_path(name), tmp_path, count=16).values()
    assert cos >= 0.99 and agree >= 15, (cos, agree)
