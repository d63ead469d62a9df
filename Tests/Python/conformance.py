#!/usr/bin/env python3
"""Runs ONNX's operator conformance cases through Kiln and tallies the results per op.

    .venv/bin/python Tests/Python/conformance.py [--mode eval|run] [--op Conv] [--jobs 2] [--verbose]

Each case (written by dump_conformance.py into a cache folder) is run with
`kiln eval` (importer + reference evaluator), or with --mode run through
`kiln compile -O0` and `kiln run` (the C runtime). bfloat16 inputs and outputs, which
.npy cannot hold, go through exact float32 casts (see `adapt_bfloat16`). A case is
*claimed* when every op it uses is in `kiln ops` (the ONNX ops Kiln imports) and its
opset is 1..28. Claimed cases must pass, except those listed with a reason in
conformance_known_failures.txt; in run mode a clear compile error for an op/dtype the C
runtime has no kernel for is counted per op ("no-kernel") rather than failed. Unclaimed
cases must be rejected with a clear "unsupported" message and a normal exit status
(never a crash).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kilnutil  # noqa: E402

HERE = Path(__file__).resolve().parent
KNOWN_FAILURES = HERE / "conformance_known_failures.txt"


def case_dir() -> Path:
    import onnx

    return Path(os.environ.get("KILN_CONFORMANCE_DIR", f"/tmp/kiln-conformance-{onnx.__version__}"))


def ensure_dump() -> dict:
    """The case index, dumping the cases first if the cache folder has none."""
    out = case_dir()
    index = out / "index.json"
    if not index.exists():
        print(f"conformance: writing ONNX node cases to {out} ...", flush=True)
        subprocess.run([sys.executable, str(HERE / "dump_conformance.py"), str(out)], check=True,
                       stdout=subprocess.DEVNULL)
    return json.loads(index.read_text())


def supported_ops(kiln: Path) -> set[str]:
    run = subprocess.run([str(kiln), "ops"], capture_output=True, text=True, check=True)
    return {line.strip() for line in run.stdout.splitlines() if line.strip()}


def known_failures() -> dict[str, str]:
    """{case name: reason} from conformance_known_failures.txt (`name  # reason`)."""
    result = {}
    for line in KNOWN_FAILURES.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, reason = line.partition("#")
        result[name.strip()] = reason.strip()
    return result


@dataclass
class Outcome:
    name: str
    ops: list[str]
    claimed: bool
    status: str  # "pass", "fail", "rejected", "crash", "no-io", "no-kernel"
    detail: str = ""


COMPILE_TIME = re.compile(r"must be known at compile time")
# The compiler's clear refusal to lower an op the C runtime has no kernel for (e.g. f64
# arithmetic): counted per op, not a failure of the importer or evaluator.
NO_RUNTIME_KERNEL = re.compile(r"cannot lower .* to the runtime|not supported by the runtime")
NAMED_INPUT = re.compile(r"\(input \d+ '([^']+)'\)")


def invoke(kiln: Path, model: Path, inputs: dict[str, Path], out: Path, bound: set[str], mode: str):
    """Runs one case: `kiln eval`, or in mode "run" `kiln compile -O0` then `kiln run`
    (the C runtime). Returns (exit status, stderr)."""
    bind_args = [a for n, p in inputs.items() if n in bound for a in ("--bind", f"{n}={p}")]
    input_args = [a for n, p in inputs.items() if n not in bound for a in ("--input", f"{n}={p}")]
    if mode == "eval":
        r = subprocess.run([str(kiln), "eval", str(model), "--output-dir", str(out), *bind_args, *input_args],
                           capture_output=True, text=True, timeout=300)
        return r.returncode, r.stderr
    plan = out / "model.kplan"
    r = subprocess.run([str(kiln), "compile", str(model), "-o", str(plan), "-O0", *bind_args],
                       capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return r.returncode, r.stderr
    r = subprocess.run([str(kiln), "run", str(plan), "--output-dir", str(out), *input_args],
                       capture_output=True, text=True, timeout=300)
    return r.returncode, r.stderr


BF16_SUFFIX = "__f32"


def bf16_bits_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def adapt_bfloat16(entry: dict, base: Path, out: Path) -> tuple[Path, dict[str, Path], dict[str, str]]:
    """.npy cannot hold bfloat16 (the dump stores its uint16 bits), so a case with bfloat16
    graph inputs or outputs runs on a copy of the model where each such input is a float32
    input `NAME__f32` cast to bfloat16 by a Cast node, and each such output is cast to a
    float32 output `NAME__f32`. Both casts are exact for bfloat16 values, so the case tests
    the same ops. Returns the model, the input files and {output name: name Kiln writes}."""
    import onnx
    from onnx import TensorProto, helper

    bits = {t["name"] for t in entry["inputs"] + entry["outputs"] if t.get("storage") == "bits"}
    if not bits:
        return base / "model.onnx", {t["name"]: base / t["file"] for t in entry["inputs"]}, {}
    model = onnx.load(str(base / "model.onnx"))
    g = model.graph
    inputs, renamed, casts = {}, {}, []
    for t in entry["inputs"]:
        if t["name"] not in bits:
            inputs[t["name"]] = base / t["file"]
            continue
        name = t["name"] + BF16_SUFFIX
        path = out / (kilnutil.sanitize(name) + ".in.npy")
        np.save(path, bf16_bits_to_f32(np.load(base / t["file"])))
        inputs[name] = path
        vi = next(v for v in g.input if v.name == t["name"])
        vi.name = name
        vi.type.tensor_type.elem_type = TensorProto.FLOAT
        casts.append(helper.make_node("Cast", [name], [t["name"]], to=TensorProto.BFLOAT16))
    for o in g.output:
        if o.name in bits:
            renamed[o.name] = o.name + BF16_SUFFIX
            g.node.append(helper.make_node("Cast", [o.name], [renamed[o.name]], to=TensorProto.FLOAT))
            o.name = renamed[o.name]
            o.type.tensor_type.elem_type = TensorProto.FLOAT
    for k, c in enumerate(casts):
        g.node.insert(k, c)
    path = out / "model_bf16_as_f32.onnx"
    onnx.save(model, str(path))
    return path, inputs, renamed


def run_case(kiln: Path, entry: dict, claimed: bool, mode: str, scratch: Path) -> Outcome:
    """Runs one case. ONNX's cases feed parameters such as axes, pads or Clip bounds as
    graph inputs; Kiln needs those at compile time, so when the importer says an input
    must be known at compile time the case is rerun with that graph input frozen by
    `--bind` (what a user does), and as a last resort with every input bound."""
    name = entry["name"]
    base = case_dir() / name
    if entry["unsupported_io"] or any(t.get("storage") == "tensorproto" for t in entry["inputs"] + entry["outputs"]):
        return Outcome(name, entry["ops"], claimed, "no-io", "inputs/outputs numpy cannot hold")
    out = scratch / name
    out.mkdir(parents=True, exist_ok=True)
    model, inputs, renamed = adapt_bfloat16(entry, base, out)
    graph_inputs = set(inputs)
    bound: set[str] = set()
    try:
        for attempt in range(len(graph_inputs) + 2):
            returncode, stderr = invoke(kiln, model, inputs, out, bound, mode)
            if returncode != 0 and COMPILE_TIME.search(stderr) and bound != graph_inputs:
                named = set(NAMED_INPUT.findall(stderr)) & graph_inputs
                bound = bound | named if named - bound else graph_inputs
                continue
            break
    except subprocess.TimeoutExpired:
        return Outcome(name, entry["ops"], claimed, "crash", "timed out after 300 s")
    err = stderr.strip()
    if returncode < 0 or returncode >= 128:
        return Outcome(name, entry["ops"], claimed, "crash", f"exit {returncode}: {err[-300:]}")
    if returncode != 0 and mode == "run" and NO_RUNTIME_KERNEL.search(err):
        return Outcome(name, entry["ops"], claimed, "no-kernel", " / ".join(l.strip() for l in err.splitlines())[:400])
    if returncode != 0:
        if len(err.splitlines()) < 1:
            return Outcome(name, entry["ops"], claimed, "crash", "non-zero exit with no message")
        return Outcome(name, entry["ops"], claimed, "rejected", " / ".join(l.strip() for l in err.splitlines())[:400])
    for t in entry["outputs"]:
        path = out / (kilnutil.sanitize(renamed.get(t["name"], t["name"])) + ".npy")
        if not path.exists():
            return Outcome(name, entry["ops"], claimed, "fail", f"no output file for {t['name']}")
        actual = np.load(path)
        expected = np.load(base / t["file"])
        if t.get("storage") == "bits":
            expected = bf16_bits_to_f32(expected)
        if expected.dtype.kind == "U":
            return Outcome(name, entry["ops"], claimed, "fail", "string output")
        r = kilnutil.compare(actual, expected, rtol=entry["rtol"], atol=entry["atol"])
        if not r:
            return Outcome(name, entry["ops"], claimed, "fail",
                           f"{t['name']}: {r.message} (max abs {r.max_abs:.3g}, max rel {r.max_rel:.3g})")
    return Outcome(name, entry["ops"], claimed, "pass")


MIN_OPSET, MAX_OPSET = 1, 28


def is_claimed(entry: dict, ops: set[str]) -> bool:
    """Kiln claims a case when it imports every op and the ai.onnx opset is in range."""
    opset = entry["opset"].get("ai.onnx")
    return set(entry["ops"]) <= ops and opset is not None and MIN_OPSET <= opset <= MAX_OPSET


def run_all(kiln: Path, mode: str = "eval", only_op: str | None = None, jobs: int = 2,
            scratch: Path | None = None) -> list[Outcome]:
    import tempfile

    index = ensure_dump()
    ops = supported_ops(kiln)
    entries = [e for e in index["cases"] if only_op is None or only_op in e["ops"]]
    own_scratch = scratch is None
    scratch = scratch or Path(tempfile.mkdtemp(prefix="kiln-conf-"))
    done = 0

    def work(e):
        return run_case(kiln, e, is_claimed(e, ops), mode, scratch)

    results = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for outcome in pool.map(work, entries):
            results.append(outcome)
            done += 1
            if done % 200 == 0 or done == len(entries):
                print(f"conformance: {done}/{len(entries)} cases", flush=True)
    if own_scratch:
        shutil.rmtree(scratch, ignore_errors=True)
    return results


CLEAR_REJECTION = re.compile(r"unsupported|not supported|supports ai\.onnx opsets", re.I)


def report(results: list[Outcome]) -> tuple[str, list[str]]:
    """A per-op table and the list of problems (claimed failures, crashes, unclaimed
    cases not rejected cleanly, known failures that now pass)."""
    known = known_failures()
    per_op: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    problems = []
    for r in results:
        is_known = r.claimed and r.status in ("fail", "rejected") and r.name in known
        for op in r.ops:
            per_op[op]["known" if is_known else (r.status if r.claimed else "unclaimed-" + r.status)] += 1
        if r.status == "crash":
            problems.append(f"CRASH {r.name}: {r.detail}")
        elif r.claimed and r.status in ("fail", "rejected") and r.name not in known:
            problems.append(f"FAIL {r.name} [{', '.join(r.ops)}]: {r.detail}")
        elif r.claimed and r.status == "pass" and r.name in known:
            problems.append(f"NOW PASSES (remove from known failures) {r.name}")
        elif not r.claimed and r.status == "pass":
            pass  # an op outside the claim worked through a mapping; fine
        elif not r.claimed and r.status == "rejected" and not CLEAR_REJECTION.search(r.detail):
            problems.append(f"UNCLEAR REJECTION {r.name}: {r.detail}")
    lines = [f"{'op':28} {'pass':>5} {'fail':>5} {'known':>5} {'no-io':>5} {'no-kernel':>9} {'unclaimed':>9}"]
    for op in sorted(per_op):
        c = per_op[op]
        unclaimed = sum(v for k, v in c.items() if k.startswith("unclaimed"))
        fails = c["fail"] + c["rejected"]
        lines.append(f"{op:28} {c['pass']:5} {fails:5} {c['known']:5} {c['no-io']:5} {c['no-kernel']:9} {unclaimed:9}")
    claimed = [r for r in results if r.claimed and r.status not in ("no-io", "no-kernel")]
    passed = sum(r.status == "pass" for r in claimed)
    lines.append(f"claimed cases: {len(claimed)}, passed: {passed}, "
                 f"no runtime kernel (clear compile error): {sum(r.claimed and r.status == 'no-kernel' for r in results)}, known failures: "
                 f"{sum(r.name in known and r.status != 'pass' for r in claimed)}; "
                 f"unclaimed cases: {sum(not r.claimed for r in results)} "
                 f"(rejected cleanly: {sum((not r.claimed) and r.status == 'rejected' for r in results)})")
    return "\n".join(lines), problems


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--mode", default="eval", choices=["eval", "run"],
                   help="eval: importer + reference evaluator; run: kiln compile -O0 + the C runtime")
    p.add_argument("--op", help="only cases using this ONNX op")
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--verbose", action="store_true", help="list every non-passing case")
    args = p.parse_args(argv)
    results = run_all(kilnutil.kiln_binary(), args.mode, args.op, args.jobs)
    table, problems = report(results)
    print(table)
    if args.verbose:
        for r in results:
            if r.status != "pass":
                print(f"{r.status:9} {'claimed' if r.claimed else 'unclaimed':9} {r.name}: {r.detail}")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
