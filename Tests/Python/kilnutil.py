"""Shared helpers for Kiln's Python tests: paths, the Graphs manifest, and output comparison."""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

import numpy as np


def repo_root() -> Path:
    """The repository root (this file lives in <repo>/Tests/Python)."""
    return Path(__file__).resolve().parents[2]


def graphs_dir() -> Path:
    return repo_root() / "Graphs"


def kiln_binary() -> Path:
    """The `kiln` executable: $KILN_BIN, else <repo>/.build/release/kiln."""
    env = os.environ.get("KILN_BIN")
    return Path(env) if env else repo_root() / ".build" / "release" / "kiln"


def sanitize(name: str) -> str:
    """File name for a tensor name: anything but letters, digits, '.', '_', '-' becomes '_'."""
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)


def load_manifest(directory: Path | None = None) -> dict:
    """The parsed manifest.json of `directory` (default Graphs/); model entries are under "models"."""
    directory = graphs_dir() if directory is None else Path(directory)
    return json.loads((directory / "manifest.json").read_text())


def full_size_dir() -> Path:
    """Where the full-size models live: $KILN_FULL_SIZE_DIR, else <tmp>/kiln-full-size."""
    return Path(os.environ.get("KILN_FULL_SIZE_DIR", Path(tempfile.gettempdir()) / "kiln-full-size"))


def full_size_manifest() -> dict:
    """The manifest of the full-size models (ResNet-18, MobileNetV2), written by
    `Graphs/generate.py --full-size` into `full_size_dir()` on first use (not committed)."""
    directory = full_size_dir()
    if not (directory / "manifest.json").exists():
        subprocess.run([sys.executable, str(graphs_dir() / "generate.py"), "--full-size", str(directory)],
                       check=True, capture_output=True, timeout=1200)
    return load_manifest(directory)


def real_models_dir() -> Path:
    """Where scripts/fetch-real-models puts the real trained models: $KILN_REAL_MODELS_DIR,
    else ~/.cache/kiln/real-models."""
    env = os.environ.get("KILN_REAL_MODELS_DIR")
    return Path(env) if env else Path.home() / ".cache" / "kiln" / "real-models"


@functools.lru_cache(maxsize=None)
def real_model(file: str) -> Path:
    """The path of a fetched real model (a base name from scripts/lib/real-models.json), after
    checking its sha256; raises FileNotFoundError naming scripts/fetch-real-models when it is
    missing or changed."""
    import hashlib

    wheels = json.loads((repo_root() / "scripts" / "lib" / "real-models.json").read_text())["wheels"]
    pinned = {}
    for w in wheels:
        for m, entry in w["models"].items():
            name, digest = (Path(m).name, entry) if isinstance(entry, str) else (entry["as"], entry["sha256"])
            pinned[name] = digest
    path = real_models_dir() / file
    if not path.is_file() or hashlib.sha256(path.read_bytes()).hexdigest() != pinned[file]:
        raise FileNotFoundError(f"{path} is missing or differs from the pinned sha256: "
                                f"run scripts/fetch-real-models (scripts/setup does)")
    return path


def _smooth(rng: np.random.Generator, c: int, h: int, w: int) -> np.ndarray:
    """A (c, h, w) background in [0.5, 1): a coarse random grid, bilinearly upsampled."""
    grid = 0.5 + 0.5 * rng.random((c, max(2, h // 32), max(2, w // 32)))
    ys = np.linspace(0, grid.shape[1] - 1, h)
    xs = np.linspace(0, grid.shape[2] - 1, w)
    rows = np.stack([np.interp(ys, np.arange(grid.shape[1]), grid[ch, :, j])
                     for ch in range(c) for j in range(grid.shape[2])]).reshape(c, grid.shape[2], h)
    return np.stack([[np.interp(xs, np.arange(grid.shape[2]), rows[ch, :, i]) for i in range(h)]
                     for ch in range(c)])


def _text_line(rng: np.random.Generator, img: np.ndarray) -> None:
    """Draws one line of dark glyph-like strokes (bars inside character boxes) into img."""
    _, h, w = img.shape
    lh = int(rng.integers(max(4, h // 24), max(5, h // 6)))
    y, x = int(rng.integers(0, max(1, h - lh))), int(rng.integers(0, w // 3))
    ink = 0.15 * rng.random()
    while x + lh < w and rng.random() > 0.04:
        cw, t = max(2, int(lh * (0.5 + 0.4 * rng.random()))), max(1, lh // 7)
        for _ in range(int(rng.integers(2, 5))):
            if rng.random() < 0.5:
                yy = y + int(rng.integers(0, lh - t + 1))
                img[:, yy:yy + t, x:x + cw] = ink
            else:
                xx = x + int(rng.integers(0, cw - t + 1))
                img[:, y:y + lh, xx:xx + t] = ink
        x += cw + max(1, lh // 5)


def image_like(rng: np.random.Generator, shape, lo: float = 0.0, hi: float = 1.0) -> np.ndarray:
    """A seeded NCHW float32 input in [lo, hi] that looks more like a photo or a scan than
    noise does: a smooth background, a few flat rectangles and lines of dark glyph-like
    strokes (text detectors fire on them), plus light pixel noise."""
    n, c, h, w = shape
    out = np.empty(shape, np.float32)
    for b in range(n):
        img = _smooth(rng, c, h, w)
        for _ in range(int(rng.integers(1, 4))):
            (y0, y1), (x0, x1) = sorted(rng.integers(0, h, 2)), sorted(rng.integers(0, w, 2))
            img[:, y0:y1 + 1, x0:x1 + 1] = rng.random((c, 1, 1))
        for _ in range(int(rng.integers(1, 1 + max(1, h // 40)))):
            _text_line(rng, img)
        img += 0.02 * rng.standard_normal(img.shape)
        out[b] = np.clip(img, 0, 1) * (hi - lo) + lo
    return out


def load_tensors(entries: list[dict], directory: Path | None = None) -> dict[str, np.ndarray]:
    """{tensor name: array} for manifest "inputs" or "outputs" entries."""
    directory = graphs_dir() if directory is None else Path(directory)
    return {e["name"]: np.load(directory / e["file"], allow_pickle=False) for e in entries}


class Comparison(NamedTuple):
    ok: bool
    max_abs: float
    max_rel: float
    message: str = ""

    def __bool__(self) -> bool:
        return self.ok


def compare(actual, expected, rtol: float = 1e-4, atol: float = 1e-5) -> Comparison:
    """Elementwise |actual - expected| <= atol + rtol * |expected|.

    Shapes and dtypes must match. Integers and bools must match exactly. For
    floats a NaN matches only a NaN, and an infinity only the same infinity.
    `max_abs` / `max_rel` are taken over the finite elements (`max_rel` over those
    where expected != 0).
    """
    a = np.asarray(actual)
    e = np.asarray(expected)
    if a.shape != e.shape:
        return Comparison(False, float("inf"), float("inf"), f"shape {a.shape} != expected {e.shape}")
    if a.dtype != e.dtype:
        return Comparison(False, float("inf"), float("inf"), f"dtype {a.dtype} != expected {e.dtype}")
    if a.size == 0:
        return Comparison(True, 0.0, 0.0)

    if not np.issubdtype(e.dtype, np.inexact):
        equal = a == e
        diff = np.abs(a.astype(np.float64) - e.astype(np.float64)) if e.dtype != np.bool_ else (~equal).astype(np.float64)
        max_abs = float(diff.max())
        nonzero = e != 0
        max_rel = float((diff[nonzero] / np.abs(e[nonzero].astype(np.float64))).max()) if nonzero.any() else 0.0
        bad = int((~equal).sum())
        return Comparison(bad == 0, max_abs, max_rel, f"{bad} of {e.size} elements differ" if bad else "")

    a64 = a.astype(np.float64)
    e64 = e.astype(np.float64)
    a_nan, e_nan = np.isnan(a64), np.isnan(e64)
    finite = np.isfinite(a64) & np.isfinite(e64)
    with np.errstate(invalid="ignore"):
        # NaN == NaN; +-inf only equals itself; finite values within tolerance.
        both_nan = a_nan & e_nan
        same_inf = np.isinf(e64) & (a64 == e64)
        diff = np.where(finite, np.abs(a64 - e64), 0.0)
        close = finite & (diff <= atol + rtol * np.abs(e64))
    good = both_nan | same_inf | close
    max_abs = float(diff.max())
    rel_mask = finite & (e64 != 0)
    max_rel = float((diff[rel_mask] / np.abs(e64[rel_mask])).max()) if rel_mask.any() else 0.0
    bad = int((~good).sum())
    message = ""
    if bad:
        first = np.unravel_index(int(np.argmin(good)), e.shape)
        message = (
            f"{bad} of {e.size} elements outside atol={atol:g} + rtol={rtol:g}*|expected|; "
            f"first at {tuple(int(i) for i in first)}: {a[first]!r} vs expected {e[first]!r}"
        )
    return Comparison(bad == 0, max_abs, max_rel, message)
