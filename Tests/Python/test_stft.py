"""STFT (opset 17) and the window generators against ONNX Runtime: speech-like real signals
with a Hann window (Whisper's 400 / 160 framing), a frame_length without a window, a
window fed at run time, both-sided spectra of complex signals; -O0 / -O2 plans through
`kiln run` and `kiln-run` (1 and 2 threads) and `kiln eval`. Kiln's DFT is a MatMul by a
constant cos / -sin matrix; against numpy's float64 FFT of the same frames every bin is
within 1e-4 relative plus 2e-6 x frame length x channels x max |sample| absolute (measured:
1.3e-5 on Whisper's framing, where bins reach 35). ORT's float FFT is itself 2.2e-4 off
there (1.8e-4 on the complex case), so the ORT check allows 1e-5 x the same product.
HannWindow / HammingWindow / BlackmanWindow (periodic and symmetric, float and double)
are constants equal to ORT's within 1e-6.
"""

from __future__ import annotations

import subprocess

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil
from test_gather_nd import run_plan, save_feeds


def signal(rng, batch, length, channels):
    t = np.arange(length) / 16000
    out = np.empty((batch, length, channels), np.float32)
    for b in range(batch):
        for c in range(channels):
            f0 = 100 + 150 * rng.random()
            x = sum((0.4 / k) * np.sin(2 * np.pi * k * f0 * t + 6 * rng.random()) for k in range(1, 8))
            out[b, :, c] = x * (0.5 + 0.5 * np.sin(2 * np.pi * 3 * t)) + 0.01 * rng.standard_normal(length)
    return out


def stft_model(path, shape, step, frame_length=None, window=None, window_input=False, onesided=1):
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)]
    inits = [numpy_helper.from_array(np.array(step, np.int64), "step")]
    names = ["x", "step", "", ""]
    if window is not None:
        names[2] = "w"
        if window_input:
            inputs.append(helper.make_tensor_value_info("w", TensorProto.FLOAT, window.shape))
        else:
            inits.append(numpy_helper.from_array(window, "w"))
    if frame_length is not None:
        names[3] = "n"
        inits.append(numpy_helper.from_array(np.array(frame_length, np.int64), "n"))
    while names[-1] == "":
        names.pop()
    node = helper.make_node("STFT", names, ["y"], onesided=onesided)
    graph = helper.make_graph([node], "stft", inputs, [helper.make_empty_tensor_value_info("y")], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def hann(n):
    return (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n) / n)).astype(np.float32)


def exact_stft(x, step, n, window, onesided):
    """numpy's float64 FFT of the windowed frames, as [batch, frames, bins, 2]."""
    xc = x[..., 0].astype(np.float64) + (1j * x[..., 1].astype(np.float64) if x.shape[2] == 2 else 0)
    frames = 1 + (x.shape[1] - n) // step
    f = np.stack([xc[:, i * step:i * step + n] for i in range(frames)], 1)
    if window is not None:
        f = f * window.astype(np.float64)
    spectrum = np.fft.fft(f, axis=-1)[..., :(n // 2 + 1 if onesided else n)]
    return np.stack([spectrum.real, spectrum.imag], -1)


CASES = {
    "whisper_hann_400_160": ((2, 3200, 1), 160, None, hann(400), False, 1),
    "frame_length_256_no_window": ((1, 2000, 1), 100, 256, None, False, 1),
    "runtime_window_odd_length": ((1, 1500, 1), 77, None, hann(255), True, 1),
    "both_sided_real": ((1, 1024, 1), 128, 128, None, False, 0),
    "complex_both_sided": ((2, 700, 2), 64, None, hann(96), False, 0),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_stft_matches_onnxruntime(case, kiln, tmp_path):
    shape, step, n, window, window_input, onesided = CASES[case]
    model = stft_model(tmp_path / "m.onnx", shape, step, n, window, window_input, onesided)
    rng = np.random.default_rng(len(case))
    feeds = {"x": signal(rng, *shape)}
    if window_input:
        feeds["w"] = window
    expected = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"]).run(None, feeds)[0]
    frame = window.shape[0] if window is not None else n
    scale = frame * shape[2] * float(np.abs(feeds["x"]).max())
    exact = exact_stft(feeds["x"], step, frame, window, onesided)
    files = save_feeds(tmp_path, feeds)
    args = [f"--input={k}={v}" for k, v in files.items()]
    kiln_run = kilnutil.repo_root() / "Runtime" / "build" / "kiln-run"
    outs = []
    for level in ("-O0", "-O2"):
        plan = tmp_path / f"m{level}.kplan"
        c = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), level], capture_output=True, text=True,
                           timeout=120)
        assert c.returncode == 0, c.stderr
        for name, cmd, threads in (("kiln run", [str(kiln), "run"], "1"), ("kiln-run", [str(kiln_run)], "1"),
                                   ("kiln-run x2", [str(kiln_run)], "2")):
            out = tmp_path / f"o{level}{name}".replace(" ", "_")
            r = run_plan(cmd, plan, files, out, threads)
            assert r.returncode == 0, r.stderr
            outs.append((f"{level} {name}", np.load(out / "y.npy")))
    ev = subprocess.run([str(kiln), "eval", str(model), *args, "--output-dir", str(tmp_path / "eval")],
                        capture_output=True, text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    outs.append(("kiln eval", np.load(tmp_path / "eval" / "y.npy")))
    for what, got in outs:
        r = kilnutil.compare(got.astype(np.float64), exact, rtol=1e-4, atol=2e-6 * scale)
        print(f"{case} {what}: max abs error {r.max_abs:.3g} (allowed {2e-6 * scale:.3g}); ORT's "
              f"{np.abs(expected - exact).max():.3g}")
        assert r, f"{case} {what} vs float64 FFT: {r.message}"
        r = kilnutil.compare(got, expected, rtol=1e-4, atol=1e-5 * scale)
        assert r, f"{case} {what} vs ORT: {r.message}"


@pytest.mark.parametrize("op", ["HannWindow", "HammingWindow", "BlackmanWindow"])
@pytest.mark.parametrize("periodic,dtype", [(1, TensorProto.FLOAT), (0, TensorProto.FLOAT), (1, TensorProto.DOUBLE)])
def test_windows_match_onnxruntime(op, periodic, dtype, kiln, tmp_path):
    node = helper.make_node(op, ["size"], ["y"], periodic=periodic, output_datatype=dtype)
    graph = helper.make_graph([node], "window", [], [helper.make_empty_tensor_value_info("y")],
                              initializer=[numpy_helper.from_array(np.array(50, np.int64), "size")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    path = tmp_path / "w.onnx"
    onnx.save(model, str(path))
    expected = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]).run(None, {})[0]
    ev = subprocess.run([str(kiln), "eval", str(path), "--output-dir", str(tmp_path / "eval")], capture_output=True,
                        text=True, timeout=120)
    assert ev.returncode == 0, ev.stderr
    got = np.load(tmp_path / "eval" / "y.npy")
    assert got.dtype == expected.dtype
    r = kilnutil.compare(got, expected, rtol=0, atol=1e-6)
    assert r, r.message


def test_stft_without_window_or_frame_length_is_one_line(kiln, tmp_path):
    model = stft_model(tmp_path / "m.onnx", (1, 100, 1), 10)
    c = subprocess.run([str(kiln), "compile", str(model), "-o", str(tmp_path / "m.kplan")], capture_output=True,
                       text=True, timeout=120)
    assert c.returncode == 1
    lines = c.stderr.strip().splitlines()
    assert len(lines) == 1 and "STFT needs a window or a frame_length" in lines[0], c.stderr
