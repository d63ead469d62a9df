"""Shared helpers for Kiln's Python tests: paths, the Graphs manifest, and output comparison."""

from __future__ import annotations

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
