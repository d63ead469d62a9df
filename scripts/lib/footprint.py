"""Measurements behind scripts/footprint (which builds everything first). Prints markdown.

  footprint.py sizes BUILD-SPEC...       stripped kiln-run and the libkiln code linked into it
  footprint.py models PLANS-DIR RAW-DIR  per Graphs model: plan vs ONNX size, peak RSS and
                                         cold start, kiln-run vs ONNX Runtime

BUILD-SPEC is LABEL|DIR|MAKE-VARS (make variables separated by commas, e.g.
"x86-64 NO_BLAS|build/noblas|NO_BLAS=1,NO_ZSTD=1"). The libkiln share comes from a link
map: kiln-run is relinked from the build's objects with -Wl,-Map, and the allocated
sections (.text, .rodata, .data, .eh_frame, ...) that come from libkiln.a are summed.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
RUNTIME = REPO / "Runtime"
GRAPHS = REPO / "Graphs"
LIMIT_KB = 300  # kiln-run + libkiln, NO_BLAS size build, stripped, x86-64


def make_var(name: str, make_vars: list[str]) -> str:
    out = subprocess.run(["make", "-s", "-C", str(RUNTIME), *make_vars, f"print-{name}"], capture_output=True,
                         text=True, check=True)
    return out.stdout.strip()


def libkiln_bytes(map_text: str) -> int:
    """Sum of allocated input sections from libkiln.a in a GNU ld map (after discards)."""
    body = map_text.split("Linker script and memory map", 1)[1]
    total = 0
    pending = None
    keep = re.compile(r"^ (\.text|\.rodata|\.data|\.eh_frame|\.gcc_except_table|\.init_array|\.fini_array)")
    for line in body.splitlines():
        m = re.match(r"^ (\S+)\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)", line)
        if not m and re.match(r"^ \S+$", line):
            pending = line
            continue
        if not m and pending:
            m2 = re.match(r"^\s+0x[0-9a-f]+\s+0x([0-9a-f]+)\s+(\S+)", line)
            if m2 and keep.match(pending) and "libkiln.a(" in m2.group(2):
                total += int(m2.group(1), 16)
            pending = None
            continue
        pending = None
        if m and keep.match(" " + m.group(1)) and "libkiln.a(" in m.group(3):
            total += int(m.group(2), 16)
    return total


def sizes(specs: list[str]) -> int:
    print("| build | kiln-run stripped | libkiln code linked in | |")
    print("|---|---|---|---|")
    status = 0
    for spec in specs:
        label, build, varlist = spec.split("|", 2)
        make_vars = [v for v in varlist.split(",") if v] + [f"BUILD={build}"]
        cc, ldflags, libs = (make_var(n, make_vars) for n in ("CC", "LDFLAGS", "LIBS"))
        b = RUNTIME / build
        strip = "aarch64-linux-gnu-strip" if "aarch64" in cc else "strip"
        with tempfile.TemporaryDirectory() as tmp:
            exe, mapfile = Path(tmp) / "kiln-run", Path(tmp) / "kiln-run.map"
            subprocess.run([cc, *ldflags.split(), str(b / "obj/tools/kiln-run.o"), str(b / "obj/tools/npy.o"),
                            str(b / "libkiln.a"), *libs.split(), f"-Wl,-Map,{mapfile}", "-o", str(exe)], check=True)
            subprocess.run([strip, str(exe)], check=True)
            stripped = exe.stat().st_size
            lib = libkiln_bytes(mapfile.read_text())
        dynamic = " + libopenblas.so" if "-lopenblas" in libs else ""
        dynamic += " + libzstd.so" if "-lzstd" in libs else ""
        note = ""
        if label.startswith("x86-64") and "SIZE=1" in varlist.split(",") and "NO_BLAS=1" in varlist.split(",") \
                and "SIZE_AVX512=1" not in varlist.split(","):
            ok = stripped <= LIMIT_KB * 1024
            note = f"target ≤ {LIMIT_KB} KB: {'met' if ok else 'MISSED'}"
            status |= 0 if ok else 1
        print(f"| {label} | {stripped / 1024:.0f} KB{dynamic} | {lib / 1024:.0f} KB | {note} |")
    return status


ORT_SCRIPT = r"""
import sys, time
t0 = time.perf_counter()
import numpy as np, onnxruntime as ort
t1 = time.perf_counter()
if sys.argv[1] != "-":
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    s = ort.InferenceSession(sys.argv[1], opts, providers=["CPUExecutionProvider"])
    feeds = {}
    for i in s.get_inputs():
        shape = [d if isinstance(d, int) else 1 for d in i.shape]
        dtype = {"tensor(float)": np.float32, "tensor(int64)": np.int64, "tensor(int32)": np.int32}[i.type]
        feeds[i.name] = np.zeros(shape, dtype)
    s.run(None, feeds)
t2 = time.perf_counter()
print((t2 - t1) * 1e3)
"""


def peak_rss_kb(argv: list[str]) -> int:
    """Peak RSS of the process (GNU time's %M: the exec'd program alone, not the forking parent)."""
    with tempfile.NamedTemporaryFile("r") as out:
        run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, *argv], stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True)
        if run.returncode != 0:
            raise SystemExit(f"footprint: {' '.join(argv)} failed: {run.stderr}")
        return int(out.read().split()[-1])


def ort_run(model: str) -> tuple[float, int]:
    """(ms for InferenceSession + first run, peak RSS KB of the python process)."""
    with tempfile.NamedTemporaryFile("r") as out:
        run = subprocess.run(["/usr/bin/time", "-f", "%M", "-o", out.name, sys.executable, "-c", ORT_SCRIPT, model],
                             capture_output=True, text=True, check=True)
        return float(run.stdout.split()[0]), int(out.read().split()[-1])


def models(plans: Path, raw: Path) -> None:
    manifest = json.loads((GRAPHS / "manifest.json").read_text())["models"]
    kiln_run = RUNTIME / "build" / "kiln-run"
    kiln_run_noblas = RUNTIME / "build" / "size-noblas" / "kiln-run"
    cold = RUNTIME / "build" / "bench-coldstart"
    base_ms, base_rss = ort_run("-")
    rows = []
    for name, m in manifest.items():
        onnx_file = GRAPHS / m["file"]
        args = []
        for i in m["inputs"]:
            args += ["--input", f"{i['name']}={GRAPHS / i['file']}"]
        with tempfile.TemporaryDirectory() as out:
            rss = [peak_rss_kb([str(exe), str(p / f"{name}.kplan"), *args, "--output-dir", out])
                   for exe, p in ((kiln_run, plans), (kiln_run_noblas, raw))]
        kiln_ms = float(subprocess.run([str(cold), str(raw / f"{name}.kplan"), "5"], capture_output=True, text=True,
                                       check=True).stdout)
        ort = [ort_run(str(onnx_file)) for _ in range(5)]
        ort_ms = statistics.median(t for t, _ in ort)
        ort_rss = statistics.median(r for _, r in ort)
        rows.append((name, onnx_file.stat().st_size, (plans / f"{name}.kplan").stat().st_size,
                     (raw / f"{name}.kplan").stat().st_size, rss[0], rss[1], ort_rss, kiln_ms, ort_ms))
    print("| model | ONNX | plan (zstd) | plan (raw) | kiln-run peak RSS (OpenBLAS, zstd plan / NO_BLAS SIZE=1, raw plan) | ORT peak RSS "
          f"(process / above import) | cold start kiln | cold start ORT |")
    print("|---|---|---|---|---|---|---|---|")
    for name, onnx_b, zb, rb, rz, rr, orss, kms, oms in rows:
        print(f"| {name} | {onnx_b / 1024:.0f} KB | {zb / 1024:.0f} KB | {rb / 1024:.0f} KB | "
              f"{rz / 1024:.1f} / {rr / 1024:.1f} MB | {orss / 1024:.0f} / {(orss - base_rss) / 1024:.0f} MB | "
              f"{kms:.2f} ms | {oms:.1f} ms |")
    print(f"\nORT baseline (python + import numpy, onnxruntime): {base_rss / 1024:.0f} MB peak RSS. "
          "Cold start: kiln = map + validate plan, create session, first run (bench-coldstart, raw plan, "
          "median of 5); ORT = InferenceSession(1 thread) + first run in a fresh process, median of 5.")


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "sizes":
        sys.exit(sizes(sys.argv[2:]))
    if len(sys.argv) == 4 and sys.argv[1] == "models":
        models(Path(sys.argv[2]), Path(sys.argv[3]))
        sys.exit(0)
    sys.exit(__doc__)
