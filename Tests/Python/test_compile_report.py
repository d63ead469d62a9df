"""`kiln compile` inspection: --dump-ir files, --print-ir-after-all, and the --report /
--report-json pass ledger with its output drift. Expected pass lists come from the plan's
own metadata (`kiln inspect PLAN`), expected counts from Graphs/manifest.json, and the drift
is recomputed with numpy from `kiln eval` runs of the input model and the dumped IR."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

import kilnutil

GRAPHS = kilnutil.graphs_dir()
HEADER = ("#   pass                                    time   nodes        params            FLOPs"
          "   const bytes    max abs    max rel")


def kiln_ok(kiln, *args) -> subprocess.CompletedProcess:
    run = subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, f"exit {run.returncode}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    return run


def kiln_fails(kiln, *args) -> str:
    run = subprocess.run([str(kiln), *map(str, args)], capture_output=True, text=True, timeout=600)
    assert run.returncode == 1, f"exit {run.returncode}\nstdout: {run.stdout}\nstderr: {run.stderr}"
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def pipeline_of(kiln, plan) -> list[str]:
    """The pass names recorded in a plan's metadata (`pipeline = -O2 a,b,c`)."""
    text = kiln_ok(kiln, "inspect", plan).stdout
    line = re.search(r"^\s*pipeline = (.*)$", text, re.M).group(1).split()
    return line[1].split(",") if len(line) > 1 else []


def sample_input(name: str) -> tuple[str, str]:
    entry = kilnutil.load_manifest()["models"][name]["inputs"][0]
    return entry["name"], str(GRAPHS / entry["file"])


def ledger_rows(stdout: str) -> list[list[str]]:
    """The table's rows (after the header), split on runs of two or more spaces."""
    lines = stdout.splitlines()
    start = lines.index(HEADER) + 1
    rows = []
    for line in lines[start:]:
        if not re.match(r"^\d\d  ", line):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def number(cell: str) -> int:
    return int(cell.replace(",", ""))


def test_dump_ir_writes_numbered_kir_files_that_parse(kiln, tmp_path):
    plan = tmp_path / "m.kplan"
    dump = tmp_path / "dump"
    kiln_ok(kiln, "compile", GRAPHS / "resnet_tiny.onnx", "-o", plan, "-O2", "--dump-ir", dump)
    passes = pipeline_of(kiln, plan)
    assert "fold-batchnorm" in passes
    expected = ["00-input.kir"] + [f"{i:02d}-{p}.kir" for i, p in enumerate(passes, start=1)]
    assert sorted(f.name for f in dump.iterdir()) == expected
    # 00-input.kir is the imported model exactly as `kiln inspect --constants full` prints it.
    imported = kiln_ok(kiln, "inspect", GRAPHS / "resnet_tiny.onnx", "--constants", "full").stdout
    assert (dump / "00-input.kir").read_text() == imported
    # Every dump parses; the last one is a fixed point of the pipeline's own final pass.
    for f in expected:
        kiln_ok(kiln, "opt", dump / f, "--passes", "eliminate-dead-code", "--constants", "full")
    last = dump / expected[-1]
    again = kiln_ok(kiln, "opt", last, "--passes", passes[-1], "--constants", "full").stdout
    assert again == last.read_text()
    assert "batch_norm" in (dump / "00-input.kir").read_text()
    assert "batch_norm" not in last.read_text()


def test_dump_ir_dot_format(kiln, tmp_path):
    plan = tmp_path / "m.kplan"
    dump = tmp_path / "dot"
    kiln_ok(kiln, "compile", GRAPHS / "lenet.onnx", "-o", plan, "-O1", "--dump-ir", dump, "--dump-ir-format", "dot")
    passes = pipeline_of(kiln, plan)
    expected = ["00-input.dot"] + [f"{i:02d}-{p}.dot" for i, p in enumerate(passes, start=1)]
    assert sorted(f.name for f in dump.iterdir()) == expected
    for f in expected:
        text = (dump / f).read_text()
        assert text.startswith("digraph "), text[:80]
        if shutil.which("dot"):
            run = subprocess.run(["dot", "-Tsvg", str(dump / f)], capture_output=True, text=True, timeout=60)
            assert run.returncode == 0 and "<svg" in run.stdout, run.stderr


def test_print_ir_after_all_headers_on_stderr(kiln, tmp_path):
    plan = tmp_path / "m.kplan"
    run = kiln_ok(kiln, "compile", GRAPHS / "mlp.onnx", "-o", plan, "--print-ir-after-all")
    passes = pipeline_of(kiln, plan)
    headers = re.findall(r"^// ----- IR after (\S+) -----$", run.stderr, re.M)
    assert headers == passes
    for chunk in run.stderr.split("-----\n")[1:]:
        assert chunk.startswith("graph @")
    assert "IR after" not in run.stdout


def test_report_on_resnet_tiny(kiln, tmp_path, manifest):
    plan = tmp_path / "m.kplan"
    name, path = sample_input("resnet_tiny")
    run = kiln_ok(kiln, "compile", GRAPHS / "resnet_tiny.onnx", "-o", plan, "-O2", "--report",
                  "--sample-input", f"{name}={path}")
    passes = pipeline_of(kiln, plan)
    lines = run.stdout.splitlines()
    assert lines[0].startswith(f"{plan}: ")
    assert lines[1] == HEADER
    rows = ledger_rows(run.stdout)
    assert [r[0] for r in rows] == [f"{i:02d}" for i in range(len(passes) + 1)]
    assert [r[1] for r in rows] == ["input"] + passes
    entry = manifest["models"]["resnet_tiny"]
    assert number(rows[0][3]) == entry["nodes"]
    assert number(rows[0][4]) == entry["parameters"]
    # Row 00 agrees with `kiln inspect --format json`.
    stats = json.loads(kiln_ok(kiln, "inspect", GRAPHS / "resnet_tiny.onnx", "--format", "json").stdout)
    assert number(rows[0][5]) == stats["flops_total"]
    assert number(rows[0][6]) == stats["constant_bytes"]
    # fold-batchnorm removes every BatchNormalization (each follows a Conv in this model).
    k = passes.index("fold-batchnorm") + 1
    assert number(rows[k][3]) == number(rows[k - 1][3]) - entry["op_types"]["BatchNormalization"]
    assert number(rows[k][4]) < number(rows[k - 1][4])
    for r in rows:
        assert float(r[7]) <= 1e-4 and float(r[8]) <= 1e-5, r
    assert float(rows[0][7]) == 0.0 and float(rows[0][8]) == 0.0
    assert re.search(r"^plan: [\d,]+ bytes$", run.stdout, re.M)
    assert f"on {name}={path};" in run.stdout


def test_report_json_drift_matches_numpy(kiln, tmp_path):
    """The final row's drift equals max|a-b| and max|a-b| / max|b| computed with numpy from
    `kiln eval` of the input model (b) and of the dumped final IR (a)."""
    plan = tmp_path / "m.kplan"
    dump = tmp_path / "dump"
    report = tmp_path / "ledger.json"
    name, path = sample_input("mobilenet_tiny")
    run = kiln_ok(kiln, "compile", GRAPHS / "mobilenet_tiny.onnx", "-o", plan, "--report-json", report,
                  "--sample-input", f"{name}={path}", "--dump-ir", dump)
    assert HEADER not in run.stdout
    ledger = json.loads(report.read_text())
    passes = pipeline_of(kiln, plan)
    assert [r["pass"] for r in ledger["rows"]] == ["input"] + passes
    assert ledger["plan_bytes"] == plan.stat().st_size
    last = sorted(dump.iterdir())[-1]
    kiln_ok(kiln, "eval", GRAPHS / "mobilenet_tiny.onnx", "--input", f"{name}={path}", "--output-dir", tmp_path / "ref")
    kiln_ok(kiln, "eval", last, "--input", f"{name}={path}", "--output-dir", tmp_path / "opt")
    final = ledger["rows"][-1]["drift"]
    assert [o["name"] for o in final["outputs"]] == ledger["outputs"]
    for o in final["outputs"]:
        b = np.load(tmp_path / "ref" / f"{kilnutil.sanitize(o['name'])}.npy").astype(np.float64)
        a = np.load(tmp_path / "opt" / f"{kilnutil.sanitize(o['name'])}.npy").astype(np.float64)
        max_abs = float(np.abs(a - b).max())
        assert o["max_abs"] == pytest.approx(max_abs, rel=1e-12, abs=0)
        assert o["max_rel"] == pytest.approx(max_abs / float(np.abs(b).max()), rel=1e-12, abs=0)
    assert final["max_rel"] <= 1e-5
    for r in ledger["rows"]:
        if r["drift_reused"]:
            assert not r["changed"]


def test_report_with_random_inputs_and_several_outputs(kiln, tmp_path):
    plan = tmp_path / "m.kplan"
    run = kiln_ok(kiln, "compile", GRAPHS / "siamese.onnx", "-o", plan, "--report")
    assert run.stdout.splitlines()[1] == HEADER
    assert re.search(r"=random[,;]", run.stdout)
    rows = ledger_rows(run.stdout)
    assert len(rows) == len(pipeline_of(kiln, plan)) + 1
    for r in rows:
        assert float(r[8]) <= 1e-5, r


def test_report_at_O0_has_only_the_input_row(kiln, tmp_path):
    run = kiln_ok(kiln, "compile", GRAPHS / "mlp.onnx", "-o", tmp_path / "m.kplan", "-O0", "--report", "--no-drift")
    rows = ledger_rows(run.stdout)
    assert [r[:2] for r in rows] == [["00", "input"]]
    assert rows[0][-2:] == ["-", "-"]
    assert "drift: not measured (--no-drift)" in run.stdout


@pytest.mark.parametrize("arg, message", [
    ("x", "--sample-input expects NAME=FILE.npy, got 'x'"),
    ("nope={npy}", "--sample-input nope: the model has no input named 'nope' (inputs: 'x')"),
    ("x={dir}/missing.npy", "{dir}/missing.npy: no such file"),
    ("x={bad}", "{bad}: input 'x' expects shape [1,3,32,32], the file has [2,2]"),
])
def test_bad_sample_input_is_one_line(kiln, tmp_path, arg, message):
    _, npy = sample_input("resnet_tiny")
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((2, 2), np.float32))
    fill = {"npy": npy, "dir": tmp_path, "bad": bad}
    msg = kiln_fails(kiln, "compile", GRAPHS / "resnet_tiny.onnx", "-o", tmp_path / "m.kplan", "--report",
                     "--sample-input", arg.format(**fill))
    assert msg == "Error: " + message.format(**fill)


def test_sample_input_needs_report(kiln, tmp_path):
    name, path = sample_input("resnet_tiny")
    msg = kiln_fails(kiln, "compile", GRAPHS / "resnet_tiny.onnx", "-o", tmp_path / "m.kplan",
                     "--sample-input", f"{name}={path}")
    assert msg == "Error: --sample-input needs --report or --report-json"
