"""`kiln opt` runs every pass test file (several cases split by `// -----`) with the
pipeline its RUN line names, and its output parses back and prints identically."""

from __future__ import annotations

import re
import subprocess

import pytest

import kilnutil

FILES = sorted((kilnutil.repo_root() / "Tests" / "KilnPassesTests" / "Inputs").rglob("*.kir"))


@pytest.mark.parametrize("path", FILES, ids=[f"{p.parent.name}/{p.name}" for p in FILES])
def test_kiln_opt_runs_pass_files(path, kiln, tmp_path):
    passes = re.search(r"RUN: kiln opt %s --passes (\S+)", path.read_text()).group(1)
    run = subprocess.run([str(kiln), "opt", str(path), "--passes", passes, "--constants", "full"],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    names = re.findall(r"^graph @(\w+)", path.read_text(), re.M)
    assert re.findall(r"^graph @(\w+)", run.stdout, re.M) == names
    # The output is valid IR: running no-op passes over it prints the same text.
    out = tmp_path / "out.kir"
    out.write_text(run.stdout)
    again = subprocess.run([str(kiln), "opt", str(out), "--passes", "eliminate-dead-code", "--constants", "full"],
                           capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    assert again.stdout == run.stdout
