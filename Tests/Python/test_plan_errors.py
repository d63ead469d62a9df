"""Bad plans and bad inputs to a plan: `kiln run` and the standalone `kiln-run` give one
clear line and exit 1, never a crash. (The C tests in Runtime/tests cover the loader in
depth: every prefix, every flipped byte, hand-crafted out-of-range ids and offsets.)"""

from __future__ import annotations

import struct
import subprocess

import numpy as np
import pytest

import kilnutil

GRAPHS = kilnutil.graphs_dir()
X = GRAPHS / "mlp" / "inputs" / "x.npy"
RUNTIME = kilnutil.repo_root() / "Runtime" / "build"


@pytest.fixture(scope="module")
def plans(tmp_path_factory, kiln):
    d = tmp_path_factory.mktemp("plans")
    for extra, name in (([], "mlp.kplan"), (["--no-compress"], "raw.kplan")):
        subprocess.run([str(kiln), "compile", str(GRAPHS / "mlp.onnx"), "-o", str(d / name), *extra], check=True,
                       capture_output=True)
    return d


def runners(kiln):
    return {"kiln run": [str(kiln), "run"], "kiln-run": [str(RUNTIME / "kiln-run")]}


def fails(cmd, *args) -> str:
    run = subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, f"exit {run.returncode}: {run.stderr}"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def mutate(plans, name, change):
    data = bytearray((plans / "mlp.kplan").read_bytes())
    change(data)
    path = plans / name
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("runner", ["kiln run", "kiln-run"])
def test_bad_plans(runner, kiln, plans, tmp_path):
    cmd = runners(kiln)[runner]
    prefix = "Error: " if runner == "kiln run" else "kiln-run: "
    out = tmp_path / "out"
    truncated = plans / "truncated.kplan"
    truncated.write_bytes((plans / "mlp.kplan").read_bytes()[:200])
    msg = fails(cmd, truncated, "--input", f"x={X}", "--output-dir", out)
    assert "plan:" in msg and ("outside" in msg or "truncated" in msg or "too short" in msg), msg

    magic = mutate(plans, "magic.kplan", lambda d: d.__setitem__(slice(0, 8), b"XILNPLAN"))
    msg = fails(cmd, magic, "--input", f"x={X}", "--output-dir", out)
    assert msg.endswith('plan: not a kiln plan (magic is not "KILNPLAN")'), msg

    major = mutate(plans, "major.kplan", lambda d: d.__setitem__(slice(8, 10), struct.pack("<H", 2)))
    msg = fails(cmd, major, "--input", f"x={X}", "--output-dir", out)
    assert msg.endswith("plan: format version 2.2 is not supported by this runtime (reads 1.x, up to 1.3)"), msg

    # A flipped byte inside each section is caught by that section's checksum.
    data = (plans / "mlp.kplan").read_bytes()
    count = struct.unpack_from("<I", data, 16)[0]
    names = {1: "STRINGS", 2: "TENSORS", 3: "CONSTANTS", 4: "ATTRIBUTES", 5: "PROGRAM", 6: "METADATA", 7: "QPARAMS"}
    for k in range(count):
        kind, _, offset, size = struct.unpack_from("<IIQQ", data, 24 + 40 * k)
        if size == 0:
            continue
        flipped = mutate(plans, f"flip{k}.kplan", lambda d: d.__setitem__(offset + size // 2, d[offset + size // 2] ^ 0x40))
        msg = fails(cmd, flipped, "--input", f"x={X}", "--output-dir", out)
        assert msg.startswith(prefix) and f"({names[kind]}) checksum mismatch" in msg, msg


@pytest.mark.parametrize("runner", ["kiln run", "kiln-run"])
def test_bad_inputs_to_a_plan(runner, kiln, plans, tmp_path):
    cmd = runners(kiln)[runner]
    out = tmp_path / "out"
    plan = plans / "mlp.kplan"
    msg = fails(cmd, plan, "--output-dir", out)
    assert ("missing input" in msg and "'x'" in msg) or 'input "x" is not bound' in msg, msg
    wrong_shape = tmp_path / "shape.npy"
    np.save(wrong_shape, np.zeros((784, 1), np.float32))
    msg = fails(cmd, plan, "--input", f"x={wrong_shape}", "--output-dir", out)
    compact = msg.replace(" ", "")
    assert "shape" in msg and ("[1,784]" in compact or "(1,784)" in compact), msg
    wrong_dtype = tmp_path / "dtype.npy"
    np.save(wrong_dtype, np.zeros((1, 784), np.float64))
    msg = fails(cmd, plan, "--input", f"x={wrong_dtype}", "--output-dir", out)
    assert "dtype" in msg and "f32" in msg, msg


def test_compressed_plan_on_a_runtime_without_zstd(plans, tmp_path):
    no_zstd = RUNTIME / "noblas" / "kiln-run"
    if not no_zstd.is_file():
        pytest.fail(f"{no_zstd} not built (make -C Runtime NO_BLAS=1 NO_ZSTD=1 BUILD=build/noblas)")
    msg = fails([str(no_zstd)], plans / "mlp.kplan", "--input", f"x={X}", "--output-dir", tmp_path / "o")
    assert msg == "kiln-run: plan is zstd-compressed but this runtime was built without zstd (NO_ZSTD)"
    # The same model compiled with --no-compress runs there.
    run = subprocess.run([str(no_zstd), str(plans / "raw.kplan"), "--input", f"x={X}", "--output-dir", str(tmp_path / "o")],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
