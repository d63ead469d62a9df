"""pytest configuration for Kiln's Python tests (run: .venv/bin/python -m pytest Tests/Python)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import kilnutil  # noqa: E402


@pytest.fixture(scope="session")
def manifest() -> dict:
    """Graphs/manifest.json, parsed."""
    return kilnutil.load_manifest()


@pytest.fixture(scope="session")
def kiln() -> Path:
    """Path to the kiln executable; a missing binary is a failure, never a skip."""
    path = kilnutil.kiln_binary()
    if not path.is_file():
        pytest.fail(f"kiln binary not found at {path} (run `swift build -c release` or set KILN_BIN)")
    return path
