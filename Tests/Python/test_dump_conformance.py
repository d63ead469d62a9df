"""Runs dump_conformance.py for one op type and checks what it wrote against ONNX Runtime."""

from __future__ import annotations

import json

import numpy as np
import onnxruntime as ort

import dump_conformance
import kilnutil


def test_dump_relu_cases(tmp_path, capsys):
    assert dump_conformance.main([str(tmp_path), "--op-type", "Relu"]) == 0
    assert "wrote" in capsys.readouterr().out
    index = json.loads((tmp_path / "index.json").read_text())
    names = [c["name"] for c in index["cases"]]
    assert "test_relu" in names and index["count"] == len(names)
    checked = 0
    for case in index["cases"]:
        assert "Relu" in case["ops"] and not case["unsupported_io"]
        if any("storage" in t for t in case["inputs"] + case["outputs"]):
            continue  # bfloat16 bits / TensorProto files: not fed to ORT as-is
        checked += 1
        case_dir = tmp_path / case["name"]
        feeds = {t["name"]: np.load(case_dir / t["file"]) for t in case["inputs"]}
        session = ort.InferenceSession(str(case_dir / "model.onnx"), providers=["CPUExecutionProvider"])
        outputs = session.run([t["name"] for t in case["outputs"]], feeds)
        for actual, t in zip(outputs, case["outputs"]):
            result = kilnutil.compare(actual, np.load(case_dir / t["file"]), case["rtol"], case["atol"])
            assert result.ok, f"{case['name']}/{t['name']}: {result.message}"
    assert checked >= 1


def test_rerun_replaces_previous_dump(tmp_path):
    dump_conformance.main([str(tmp_path), "--op-type", "Relu"])
    stale = tmp_path / "test_relu" / "stale.npy"
    stale.write_bytes(b"")
    dump_conformance.main([str(tmp_path), "--op-type", "Relu"])
    assert not stale.exists()
