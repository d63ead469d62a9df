"""The model-level test data the ONNX package ships beside its node cases
(onnx/backend/test/data): 117 small PyTorch exports from 2018 (`pytorch-converted`,
`pytorch-operator`, 112 of them at opset 6), 23 `simple` models (opsets 9-12), each with inputs
and expected outputs, and the nine `light` model-zoo architectures (AlexNet, DenseNet-121,
GoogLeNet, Inception-v2, ResNet-50, ShuffleNet, SqueezeNet, VGG-19, ZFNet-512; opset 9).

Every model whose ops Kiln imports must match its expected outputs through the reference
evaluator (`kiln eval`) and through compiled plans (`-O0` and `-O2`, the C runtime), or be one
of the listed runtime gaps, which must fail to compile with the listed message (and still
pass `kiln eval`). Every other model must be refused with one "unsupported ops" line.
The light models' weights are ConstantOfShape fills (every class scores 0.001); they run with
seeded random weights instead, against ONNX Runtime.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import numpy_helper

DATA = Path(onnx.__file__).parent / "backend" / "test" / "data"
CASES = sorted(p for group in ("simple", "pytorch-converted", "pytorch-operator") for p in (DATA / group).iterdir()
               if (p / "model.onnx").exists())
LIGHT = sorted((DATA / "light").glob("*.onnx"))

# Models whose ops import but whose plan the compiler refuses, with the reason it must give.
RUNTIME_GAPS = {
    **{name: "3-D convolution is not supported by the runtime yet" for name in (
        "test_Conv3d", "test_Conv3d_dilated", "test_Conv3d_dilated_strided", "test_Conv3d_groups",
        "test_Conv3d_no_bias", "test_Conv3d_stride", "test_Conv3d_stride_padding")},
    **{name: "3-D pooling is not supported by the runtime yet" for name in (
        "test_AvgPool3d", "test_AvgPool3d_stride", "test_AvgPool3d_stride1_pad0_gpu_input", "test_MaxPool3d",
        "test_MaxPool3d_stride", "test_MaxPool3d_stride_padding")},
    **{name: "add on f64 is not supported by the runtime" for name in (
        "test_operator_add_broadcast", "test_operator_add_size1_broadcast", "test_operator_add_size1_right_broadcast",
        "test_operator_add_size1_singleton_broadcast", "test_operator_addconstant")},
}
# Expand's target shape is a graph input here; Kiln compiles static shapes (`--bind` fixes it).
DATA_DEPENDENT = {f"test_expand_shape_model{i}" for i in range(1, 5)}


def supported_ops(kiln) -> set[str]:
    return set(subprocess.run([str(kiln), "ops"], capture_output=True, text=True, check=True).stdout.split())


def load_case(case: Path):
    model = onnx.load(case / "model.onnx")
    initialized = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initialized]
    outputs = [o.name for o in model.graph.output]
    sets = []
    for data in sorted(case.glob("test_data_set_*")):
        feeds = {name: numpy_helper.to_array(onnx.load_tensor(str(data / f"input_{k}.pb"))) for k, name in enumerate(inputs)}
        expected = {name: numpy_helper.to_array(onnx.load_tensor(str(data / f"output_{k}.pb"))) for k, name in enumerate(outputs)}
        sets.append((feeds, expected))
    return model, sets


def kiln_outputs(kiln, command, model_or_plan, feeds, work, *extra):
    """Runs `kiln eval MODEL` or `kiln run PLAN` on feeds; returns (outputs by name, stderr)."""
    args = []
    for k, (name, value) in enumerate(feeds.items()):
        np.save(work / f"in{k}.npy", value)
        args += ["--input", f"{name}={work / f'in{k}.npy'}"]
    out = work / f"out-{command}{''.join(extra)}"
    r = subprocess.run([str(kiln), command, str(model_or_plan), *args, "--output-dir", str(out)],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return None, r.stderr
    return {p.stem: np.load(p) for p in out.glob("*.npy")}, r.stderr


def check_outputs(got, expected, what):
    for name, want in expected.items():
        key = name.replace("/", "_") if name.replace("/", "_") in got else name
        assert key in got, f"{what}: output {name} missing ({sorted(got)})"
        value = got[key]
        assert value.shape == want.shape, f"{what}: {name} has shape {value.shape}, expected {want.shape}"
        assert np.allclose(value, want, rtol=1e-3, atol=1e-5, equal_nan=True), \
            f"{what}: {name} differs by up to {np.nanmax(np.abs(value.astype(np.float64) - want))}"


@pytest.mark.parametrize("case", CASES, ids=[f"{c.parent.name}/{c.name}" for c in CASES])
def test_model_data(case, kiln, tmp_path):
    model, sets = load_case(case)
    ops = {n.op_type for n in model.graph.node}
    missing = sorted(ops - supported_ops(kiln))
    plan = tmp_path / "model.kplan"
    if missing:
        r = subprocess.run([str(kiln), "compile", str(case / "model.onnx"), "-o", str(plan)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 1 and "unsupported ops: " in r.stderr and all(op in r.stderr for op in missing), r.stderr
        return
    if case.name in DATA_DEPENDENT:
        r = subprocess.run([str(kiln), "compile", str(case / "model.onnx"), "-o", str(plan)],
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 1 and "must be known at compile time" in r.stderr, r.stderr
        return
    assert sets, "no test data"
    for feeds, expected in sets:
        got, err = kiln_outputs(kiln, "eval", case / "model.onnx", feeds, tmp_path)
        assert got is not None, err
        check_outputs(got, expected, "kiln eval")
    for level in ("-O0", "-O2"):
        r = subprocess.run([str(kiln), "compile", str(case / "model.onnx"), "-o", str(plan), level],
                           capture_output=True, text=True, timeout=300)
        if case.name in RUNTIME_GAPS:
            assert r.returncode == 1 and RUNTIME_GAPS[case.name] in r.stderr, r.stderr
            continue
        assert r.returncode == 0, r.stderr
        for feeds, expected in sets:
            got, err = kiln_outputs(kiln, "run", plan, feeds, tmp_path, level)
            assert got is not None, err
            check_outputs(got, expected, f"plan {level}")


def with_random_weights(model: onnx.ModelProto, seed: int) -> onnx.ModelProto:
    """The light model with each ConstantOfShape weight replaced by a seeded random initializer:
    rank >= 2 tensors normal with variance 1/fan-in, vectors uniform in [0.5, 1.5] (positive, as
    batch-norm variances must be)."""
    rng = np.random.default_rng(seed)
    out = onnx.ModelProto()
    out.CopyFrom(model)
    shapes = {t.name: numpy_helper.to_array(t) for t in out.graph.initializer}
    kept = []
    for node in out.graph.node:
        if node.op_type == "ConstantOfShape" and node.input[0] in shapes:
            shape = [int(d) for d in shapes[node.input[0]]]
            if len(shape) >= 2:
                value = rng.standard_normal(shape) / np.sqrt(max(1, int(np.prod(shape[1:]))))
            else:
                value = rng.uniform(0.5, 1.5, shape)
            out.graph.initializer.append(numpy_helper.from_array(value.astype(np.float32), node.output[0]))
        else:
            kept.append(node)
    del out.graph.node[:]
    out.graph.node.extend(kept)
    return out


@pytest.mark.parametrize("path", LIGHT, ids=[p.stem for p in LIGHT])
def test_light_model_zoo_architectures(path, kiln, tmp_path):
    model = with_random_weights(onnx.load(path), seed=7)
    file = tmp_path / path.name
    onnx.save(model, file)
    initialized = {t.name for t in model.graph.initializer}
    rng = np.random.default_rng(3)
    feeds = {i.name: rng.standard_normal([d.dim_value for d in i.type.tensor_type.shape.dim]).astype(np.float32)
             for i in model.graph.input if i.name not in initialized}
    session = ort.InferenceSession(str(file), providers=["CPUExecutionProvider"])
    expected = dict(zip([o.name for o in model.graph.output], session.run(None, feeds)))
    for want in expected.values():
        assert np.ptp(want) > 1e-3, "the random weights should make the classes differ"
    plan = tmp_path / "model.kplan"
    for level in ("-O0", "-O2"):
        r = subprocess.run([str(kiln), "compile", str(file), "-o", str(plan), level], capture_output=True, text=True,
                           timeout=300)
        assert r.returncode == 0, r.stderr
        got, err = kiln_outputs(kiln, "run", plan, feeds, tmp_path, level)
        assert got is not None, err
        for name, want in expected.items():
            value = got[name.replace("/", "_")] if name.replace("/", "_") in got else got[name]
            assert value.shape == want.shape
            np.testing.assert_allclose(value, want, rtol=1e-4, atol=1e-5, err_msg=f"{path.stem} {level}")
