"""Depthwise decomposition on trained weights: the PP-OCRv4 detection and recognition models
that the `rapidocr-onnxruntime` wheel ships (fetched with pip into a cache directory, never
committed).

For each model and each `--decompose` setting it compiles a plan, runs it with `kiln run` on
a synthetic text-like image, and prints: layers decomposed, conv FLOPs before/after (from
the pass report), output drift against ONNX Runtime (relative L2 and max abs), and the
median latency from `kiln bench` next to the undecomposed plan's (measured back to back;
the machine's other load shows in absolute numbers, compare the ratio).

Usage: .venv/bin/python Tests/Benchmarks/ppocr_decompose.py [--kiln .build/release/kiln]
       [--cache /tmp/rapidocr] [--iterations 20] [--settings auto,4,6]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

MODELS = {  # file in the wheel, input shape (det: a 640x640 page, rec: one 48x320 text line)
    "det": ("ch_PP-OCRv4_det_infer.onnx", (1, 3, 640, 640)),
    "rec": ("ch_PP-OCRv4_rec_infer.onnx", (1, 3, 48, 320)),
}
TOTAL = re.compile(r"total: (\d+) of (\d+) layers changed; MFLOPs ([\d.]+)→([\d.]+)")


def fetch(cache: Path) -> Path:
    models = cache / "rapidocr_onnxruntime" / "models"
    if not (models / MODELS["det"][0]).is_file():
        cache.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "rapidocr-onnxruntime==1.4.4", "--no-deps",
                        "-d", str(cache)], check=True)
        wheel = next(cache.glob("rapidocr_onnxruntime-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            for name in z.namelist():
                if name.endswith(".onnx"):
                    z.extract(name, cache)
    return models


def text_image(shape, seed=0) -> np.ndarray:
    """White page with dark glyph-like strokes in text lines, normalized as PP-OCR does
    ((pixel / 255 - 0.5) / 0.5)."""
    rng = np.random.default_rng(seed)
    _, _, h, w = shape
    img = np.full((h, w), 235.0)
    line_h = max(12, h // 12) if h > 64 else h // 2
    for top in range(line_h // 2 if h > 64 else h // 4, h - line_h, 2 * line_h if h > 64 else h):
        x = int(rng.integers(4, 24))
        while x < w - 12:
            gw = int(rng.integers(line_h // 3, line_h))
            for _ in range(3):  # strokes of a glyph
                y0 = top + int(rng.integers(0, line_h // 2))
                x0 = x + int(rng.integers(0, max(1, gw - 3)))
                if rng.random() < 0.5:
                    img[y0:y0 + line_h // 2, x0:x0 + 2] = 30
                else:
                    img[y0:y0 + 2, x0:x0 + gw // 2] = 30
            x += gw + int(rng.integers(2, 6))
    rgb = np.repeat(img[None, None], 3, axis=1)
    return ((rgb / 255.0 - 0.5) / 0.5).astype(np.float32)


def kiln(binary, *args) -> subprocess.CompletedProcess:
    run = subprocess.run([str(binary), *map(str, args)], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"kiln {' '.join(map(str, args))}: {run.stderr}")
    return run


def median_ms(binary, plan, iterations) -> float:
    out = kiln(binary, "bench", plan, "--iterations", iterations, "--warmup", 2).stdout
    return float(re.search(r"median ([\d.]+) ms", out).group(1))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", default=str(Path(__file__).resolve().parents[2] / ".build" / "release" / "kiln"))
    ap.add_argument("--cache", default="/tmp/rapidocr")
    ap.add_argument("--iterations", type=int, default=20)
    ap.add_argument("--settings", default="auto,4,6", help="depthwise ranks to try (auto uses --budget)")
    ap.add_argument("--budget", default="0.05")
    args = ap.parse_args()
    models = fetch(Path(args.cache))
    print("model  setting    layers  conv MFLOPs before→after  drift relL2  max abs   median ms (base → this)")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        for key, (file, shape) in MODELS.items():
            path = models / file
            x = text_image(shape)
            np.save(tmp / "x.npy", x)
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            sess = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
            want = sess.run(None, {"x": x})[0]
            shape_flag = "--input-shape=x=" + ",".join(map(str, shape))
            base = tmp / f"{key}-base.kplan"
            kiln(args.kiln, "compile", path, shape_flag, "-o", base)
            rows = [("base", base, None)]
            for s in args.settings.split(","):
                plan = tmp / f"{key}-{s}.kplan"
                flags = ["--decompose", f"depthwise={s}", "--error-budget", f"rel={args.budget}"]
                report = kiln(args.kiln, "compile", path, shape_flag, "-o", plan, *flags).stderr
                rows.append((s, plan, TOTAL.search(report)))
            base_ms = None
            for s, plan, total in rows:
                out = tmp / f"out-{key}-{s}"
                kiln(args.kiln, "run", plan, f"--input=x={tmp / 'x.npy'}", "--output-dir", out)
                got = np.load(next(out.glob("*.npy")))
                rel = float(np.linalg.norm(got - want) / np.linalg.norm(want))
                ms = median_ms(args.kiln, plan, args.iterations)
                base_ms = base_ms or ms
                changed = f"{total.group(1)}/{total.group(2)}" if total else "-"
                flops = f"{total.group(3)}→{total.group(4)}" if total else "-"
                print(f"{key:5}  {s:9}  {changed:6}  {flops:24}  {rel:11.3e}  {np.abs(got - want).max():8.2e}  "
                      f"{base_ms:.1f} → {ms:.1f} ({ms / base_ms:.2f}x)")


if __name__ == "__main__":
    main()
