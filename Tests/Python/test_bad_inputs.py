"""The bad-input catalogue: one table of malformed ONNX files, .kir files, plans, .npy
files and command lines, each with the exact message it must produce, its cause and its
fix. Every case must exit with its status (1, or 64 for argument syntax the command-line
parser rejects), never by a signal, and print that message as the first line of stderr
(the only line, for status 1).

README.md's "Troubleshooting" section is this table rendered as markdown:
`python Tests/Python/test_bad_inputs.py` prints it, and test_readme_lists_every_case
checks the README carries exactly those rows.

Commands run in a scratch directory holding the files below, so messages carry short
relative paths."""

from __future__ import annotations

import struct
import subprocess
import sys
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import kilnutil

GRAPHS = kilnutil.graphs_dir()
RUNTIME = kilnutil.repo_root() / "Runtime" / "build"
F32 = TensorProto.FLOAT


class Case(NamedTuple):
    id: str
    argv: list[str]         # argv[0]: "kiln", "kiln-run" or "kiln-run-noblas"
    message: str            # exact first line of stderr
    cause: str
    fix: str
    status: int = 1


# ---- files the cases use -------------------------------------------------------------

def _model(nodes, inputs, outputs, initializers=(), opset=17):
    graph = helper.make_graph(nodes, "bad", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _vi(name, shape, dtype=F32):
    return helper.make_tensor_value_info(name, dtype, shape)


def _save(model):
    return lambda path: onnx.save(model, path)


def _text(text):
    return lambda path: path.write_text(text)


def _bytes(data):
    return lambda path: path.write_bytes(data)


def _array(array):
    return lambda path: np.save(path, array)


def _npy_v1(header: bytes, payload: bytes = b"", version: int = 1) -> bytes:
    header = header + b"\n"
    return b"\x93NUMPY" + bytes([version, 0]) + struct.pack("<H", len(header)) + header + payload


def _raw_data_too_short():
    w = helper.make_tensor("w", F32, [4], vals=b"\0" * 16, raw=True)
    w.raw_data = b"\0" * 8
    return _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [4])], [_vi("y", [4])], [w])


def _external_data(path):
    w = numpy_helper.from_array(np.ones(4, np.float32), "w")
    model = _model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [4])], [_vi("y", [4])], [w])
    onnx.save(model, path, save_as_external_data=True, location="weights.bin", size_threshold=0)
    (path.parent / "weights.bin").unlink()


def _sample_folder(files):
    """A folder of calibration samples: {file name: array, or a function writing the file}."""
    def make(path):
        path.mkdir()
        for name, value in files.items():
            value(path / name) if callable(value) else np.save(path / name, value)
    return make


def _custom_domain():
    model = _model([helper.make_node("Foo", ["x"], ["y"], domain="com.acme")], [_vi("x", [2])], [_vi("y", [2])])
    model.opset_import.append(helper.make_opsetid("com.acme", 1))
    return model


def _new_opset():
    model = _model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [2])], [_vi("y", [2])], opset=29)
    return model


X = np.load(GRAPHS / "mlp" / "inputs" / "x.npy")
MLP_HEADER = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1, 784), }"

FILES: dict[str, Callable[[Path], None]] = {
    "mlp.onnx": _bytes((GRAPHS / "mlp.onnx").read_bytes()),
    "x.npy": _array(X),
    # ONNX
    "garbage.onnx": _bytes(b"this is not a protobuf \xff\xfe at all"),
    "truncated.onnx": _bytes((GRAPHS / "mlp.onnx").read_bytes()[:200000]),
    "empty.onnx": _bytes(b""),
    "undefined.onnx": _save(_model([helper.make_node("Relu", ["q"], ["y"])], [_vi("x", [2])], [_vi("y", [2])])),
    "rawdata.onnx": _save(_raw_data_too_short()),
    "broadcast.onnx": _save(_model([helper.make_node("Add", ["x", "w"], ["y"])], [_vi("x", [4])], [_vi("y", [4])],
                                   [numpy_helper.from_array(np.ones(3, np.float32), "w")])),
    "convrank.onnx": _save(_model([helper.make_node("Conv", ["x", "w"], ["y"])], [_vi("x", [1, 3, 8, 8])], [_vi("y", None)],
                                  [numpy_helper.from_array(np.ones((2, 3, 3), np.float32), "w")])),
    "perm.onnx": _save(_model([helper.make_node("Transpose", ["x"], ["y"], perm=[0, 0])], [_vi("x", [2, 3])],
                              [_vi("y", None)])),
    "external.onnx": _external_data,
    "noproducer.onnx": _save(_model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [2])], [_vi("z", [2])])),
    "domain.onnx": _save(_custom_domain()),
    "unknownop.onnx": _save(_model([helper.make_node("Frobnicate", ["x"], ["y"], name="frob1")], [_vi("x", [2])],
                                   [_vi("y", [2])])),
    "string.onnx": _save(_model([helper.make_node("Identity", ["x"], ["y"])], [_vi("x", [2], TensorProto.STRING)],
                                [_vi("y", [2], TensorProto.STRING)])),
    "reshape.onnx": _save(_model([helper.make_node("Reshape", ["x", "s"], ["y"])], [_vi("x", [2, 3])], [_vi("y", None)],
                                 [numpy_helper.from_array(np.array([5, 5], np.int64), "s")])),
    "opset29.onnx": _save(_new_opset()),
    "dynamic.onnx": _save(_model([helper.make_node("Relu", ["x"], ["y"])], [_vi("x", [1, 3, 8, "W"])],
                                 [_vi("y", None)])),
    # .kir
    "unknownop.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = frobnicate(%x) : f32[2]\n  return %y\n}\n"),
    "undefined.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%z) : f32[2]\n  return %y\n}\n"),
    "returntype.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x) : f32[3]\n  return %y\n}\n"),
    "noreturn.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x) : f32[2]\n}\n"),
    "redefined.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x) : f32[2]\n"
                           "  %y = relu(%x) : f32[2]\n  return %y\n}\n"),
    "empty.kir": _text(""),
    "dtype.kir": _text("graph @g(%x: q99[2]) -> (f32[2]) {\n  return %x\n}\n"),
    "unclosed.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x) : f32[2]\n  return %y\n"),
    "syntax.kir": _text("graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = relu(%x : f32[2]\n  return %y\n}\n"),
    # .npy
    "shape.npy": _array(X.reshape(784, 1)),
    "f64.npy": _array(X.astype(np.float64)),
    "fortran.npy": _array(np.asfortranarray(np.ones((2, 392), np.float32))),
    "truncated.npy": _bytes(_npy_v1(MLP_HEADER, X.tobytes()[:3036])),
    "complex.npy": _array(X.astype(np.complex64)),
    "bigendian.npy": _array(X.astype(">f4")),
    "rank9.npy": _array(np.zeros((1,) * 9, np.float32)),
    "noshape.npy": _bytes(_npy_v1(MLP_HEADER.replace(b"'shape'", b"'shap'"), X.tobytes())),
    "version9.npy": _bytes(_npy_v1(MLP_HEADER, X.tobytes(), version=9)),
    "notnpy.npy": _bytes(b"hello world"),
    "huge.npy": _bytes(_npy_v1(MLP_HEADER.replace(b"(1, 784)", b"(1, 999999999999)"), b"\0" * 16)),
    "object.npy": _bytes(_npy_v1(MLP_HEADER.replace(b"'<f4'", b"'|O'"), X.tobytes())),
    # calibration folders
    "calib": _sample_folder({"s0.npy": X}),
    "calib-empty": _sample_folder({}),
    "calib-shape": _sample_folder({"s0.npy": X, "s1.npy": X.reshape(784, 1)}),
    "calib-dtype": _sample_folder({"s0.npy": X.astype(np.float64)}),
    "calib-npz": _sample_folder({"s0.npz": lambda p: np.savez_compressed(p, x=X)}),
}


def _write_plans(d: Path, kiln: Path) -> None:
    for name, extra in (("mlp.kplan", []), ("raw.kplan", ["--no-compress"])):
        subprocess.run([str(kiln), "compile", "mlp.onnx", "-o", name, *extra], cwd=d, check=True, capture_output=True)
    plan = (d / "mlp.kplan").read_bytes()
    (d / "header.kplan").write_bytes(plan[:20])
    (d / "empty.kplan").write_bytes(b"")
    (d / "magic.kplan").write_bytes(b"XILNPLAN" + plan[8:])
    (d / "major.kplan").write_bytes(plan[:8] + struct.pack("<H", 2) + plan[10:])
    flipped = bytearray(plan)
    flipped[20] ^= 1
    (d / "headercrc.kplan").write_bytes(bytes(flipped))
    count = struct.unpack_from("<I", plan, 16)[0]
    for k in range(count):
        kind, _, offset, size = struct.unpack_from("<IIQQ", plan, 24 + 40 * k)
        if kind == 3:  # CONSTANTS
            flipped = bytearray(plan)
            flipped[offset + size // 2] ^= 0x40
            (d / "constants.kplan").write_bytes(bytes(flipped))
            constants_index = k
    (d / "plans.txt").write_text(str(constants_index))
    (d / "adir.kplan").mkdir()


# ---- the catalogue ------------------------------------------------------------------

RUN = ["--output-dir", "out"]
NOT_ONNX = "the file is not an ONNX protobuf (or is cut short)"
REEXPORT = "re-export the model (torch.onnx.export / onnx.save) and check the download"

CASES: list[Case] = [
    # ONNX files
    Case("onnx-garbage", ["kiln", "inspect", "garbage.onnx"],
         "Error: garbage.onnx: not a valid ONNX model (protobuf parse failed: malformedProtobuf)", NOT_ONNX, REEXPORT),
    Case("onnx-truncated", ["kiln", "inspect", "truncated.onnx"],
         "Error: truncated.onnx: not a valid ONNX model (protobuf parse failed: truncated)",
         NOT_ONNX, REEXPORT),
    Case("onnx-empty", ["kiln", "inspect", "empty.onnx"],
         "Error: empty.onnx: not a valid ONNX model (empty graph)", "the file is empty or has no graph", REEXPORT),
    Case("onnx-missing", ["kiln", "compile", "nope.onnx", "-o", "nope.kplan"],
         "Error: nope.onnx: no such file", "wrong path", "check the path"),
    Case("onnx-undefined-input", ["kiln", "inspect", "undefined.onnx"],
         "Error: undefined.onnx: node #0 (Relu, output 'y'): input 'q' is not defined by any earlier node, "
         "initializer or graph input",
         "a node reads a tensor nothing produces, or the nodes are not in topological order",
         "run onnx.checker.check_model; sort the nodes topologically"),
    Case("onnx-raw-data", ["kiln", "inspect", "rawdata.onnx"],
         "Error: rawdata.onnx: initializer 'w': raw_data holds 8 bytes but f32[4] needs 16",
         "an initializer's bytes do not match its dims and dtype", REEXPORT),
    Case("onnx-broadcast", ["kiln", "inspect", "broadcast.onnx"],
         "Error: broadcast.onnx: node #0 (Add, output 'y'): add: shapes [4] and [3] do not broadcast",
         "operand shapes are incompatible (often a wrong --input-shape)", "check the input shapes you pinned"),
    Case("onnx-conv-rank", ["kiln", "inspect", "convrank.onnx"],
         "Error: convrank.onnx: node #0 (Conv, output 'y'): W must have the rank of X, got [2,3,3]",
         "a Conv weight has the wrong rank", REEXPORT),
    Case("onnx-bad-attribute", ["kiln", "inspect", "perm.onnx"],
         "Error: perm.onnx: node #0 (Transpose, output 'y'): attribute 'perm' [0, 0] is not a permutation of 0..<2",
         "an attribute value is invalid for the op", "fix the exporter or the attribute"),
    Case("onnx-external-data", ["kiln", "inspect", "external.onnx"],
         "Error: external.onnx: initializer 'w': external data file '{dir}/weights.bin' cannot be opened",
         "the model keeps weights in a separate file that is not next to it",
         "copy the .bin/.data file next to the .onnx (same relative path)"),
    Case("onnx-output-not-produced", ["kiln", "inspect", "noproducer.onnx"],
         "Error: noproducer.onnx: graph output 'z' is not produced by any node, initializer or graph input",
         "a graph output names a tensor nothing produces", REEXPORT),
    Case("onnx-custom-domain", ["kiln", "inspect", "domain.onnx"],
         "Error: domain.onnx: unsupported ops: com.acme.Foo (nodes: #0)",
         "the model uses a custom-domain operator", "export with standard ops only (`kiln ops` lists them)"),
    Case("onnx-unknown-op", ["kiln", "compile", "unknownop.onnx", "-o", "x.kplan"],
         "Error: unknownop.onnx: unsupported ops: Frobnicate (nodes: frob1)",
         "an operator Kiln does not import", "`kiln ops` lists the supported ops; replace or decompose the op"),
    Case("onnx-string-input", ["kiln", "inspect", "string.onnx"],
         "Error: string.onnx: input 'x' has unsupported element type STRING",
         "string (or complex) tensors", "preprocess strings outside the model"),
    Case("onnx-reshape", ["kiln", "inspect", "reshape.onnx"],
         "Error: reshape.onnx: node #0 (Reshape, output 'y'): cannot reshape [2,3] (6 elements) to [5, 5]",
         "a Reshape target does not match the element count (often a wrong --input-shape)",
         "check the input shapes you pinned"),
    Case("onnx-new-opset", ["kiln", "inspect", "opset29.onnx"],
         "Error: opset29.onnx: opset 29 is not supported (Kiln supports ai.onnx opsets 1–28)",
         "the model was exported with an opset newer than this Kiln knows",
         "export with opset 28 or older (or onnx.version_converter)"),
    Case("onnx-dynamic-dim", ["kiln", "compile", "dynamic.onnx", "-o", "x.kplan"],
         "Error: dynamic.onnx: input 'x' dim 3 ('W') is dynamic; pin it with numbers: --input-shape x=1,3,8,<W>",
         "plans have static shapes; an input has a named (dynamic) dimension",
         "pass --input-shape NAME=1,3,224,224 (or --bind)"),
    Case("onnx-input-shape-name", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--input-shape", "image=1,784"],
         "Error: mlp.onnx: --input-shape names 'image', which is not a graph input (inputs: x)",
         "--input-shape names an input the model does not have", "use a name from `kiln inspect`"),
    # .kir files
    Case("kir-syntax", ["kiln", "inspect", "syntax.kir"],
         "Error: syntax.kir:2:16: expected ')', found ':'", "a syntax error at line:column",
         "fix the text there (`kiln inspect model.onnx` prints valid IR)"),
    Case("kir-unknown-op", ["kiln", "inspect", "unknownop.kir"],
         "Error: unknownop.kir:2:8: unknown op 'frobnicate'", "an op name Kiln IR does not have",
         "see `kiln inspect` output of an ONNX model for op names"),
    Case("kir-undefined-value", ["kiln", "inspect", "undefined.kir"],
         "Error: undefined.kir:2:13: use of undefined value %z", "a value used before it is defined",
         "define it first (values are SSA, in order)"),
    Case("kir-return-type", ["kiln", "inspect", "returntype.kir"],
         "Error: returntype.kir:3:10: returned value %y has type f32[3], but the graph header declares f32[2]",
         "the returned type contradicts the graph signature", "make the signature and the value agree"),
    Case("kir-no-return", ["kiln", "inspect", "noreturn.kir"],
         "Error: noreturn.kir:3:1: expected statement or 'return', found '}'", "the graph body has no return",
         "end the body with `return %v, ...`"),
    Case("kir-redefinition", ["kiln", "inspect", "redefined.kir"],
         "Error: redefined.kir:3:3: redefinition of value %y", "a value name defined twice", "rename one"),
    Case("kir-empty", ["kiln", "inspect", "empty.kir"],
         "Error: empty.kir:1:1: expected 'graph', found end of input", "an empty .kir file", "check the file"),
    Case("kir-unknown-dtype", ["kiln", "inspect", "dtype.kir"],
         "Error: dtype.kir:1:14: unknown element type 'q99'", "an element type Kiln does not know",
         "use f32, f16, bf16, f64, i8..i64, u8..u64, bool"),
    Case("kir-unclosed", ["kiln", "inspect", "unclosed.kir"],
         "Error: unclosed.kir:4:1: expected '}', found end of input", "the graph body is not closed",
         "add the closing `}`"),
    # Plans
    Case("plan-missing", ["kiln-run", "nope.kplan", *RUN], "kiln-run: plan: cannot open nope.kplan",
         "wrong path", "check the path"),
    Case("plan-directory", ["kiln", "run", "adir.kplan", *RUN],
         "Error: adir.kplan: plan: adir.kplan is not a regular file", "the path is a directory", "pass the .kplan file"),
    Case("plan-empty", ["kiln-run", "empty.kplan", *RUN], "kiln-run: plan: not a kiln plan (empty file)",
         "an empty file (an interrupted compile or copy)", "compile again"),
    Case("plan-onnx-given", ["kiln", "run", "mlp.onnx", *RUN],
         'Error: mlp.onnx: plan: not a kiln plan (magic is not "KILNPLAN")',
         "`kiln run` / `kiln-run` take plans; this is an ONNX file (or another file)",
         "`kiln compile model.onnx -o model.kplan` first (or `kiln eval` for the reference evaluator)"),
    Case("plan-bad-magic", ["kiln-run", "magic.kplan", *RUN], 'kiln-run: plan: not a kiln plan (magic is not "KILNPLAN")',
         "not a plan, or its first bytes are damaged", "compile again"),
    Case("plan-truncated", ["kiln-run", "header.kplan", *RUN], "kiln-run: plan: truncated header (20 bytes)",
         "the file was cut short (interrupted copy or download)", "copy it again / compile again"),
    Case("plan-header-checksum", ["kiln", "run", "headercrc.kplan", *RUN],
         "Error: headercrc.kplan: plan: header checksum mismatch", "the header bytes are damaged", "copy it again"),
    Case("plan-section-checksum", ["kiln-run", "constants.kplan", *RUN],
         "kiln-run: plan: section {constants} (CONSTANTS) checksum mismatch",
         "a section's bytes are damaged (the checksum covers each section)", "copy it again"),
    Case("plan-newer-format", ["kiln-run", "major.kplan", *RUN],
         "kiln-run: plan: format version 2.2 is not supported by this runtime (reads 1.x, up to 1.3)",
         "the plan was written by a newer compiler", "update the runtime, or compile with the matching kiln"),
    Case("plan-zstd-without-zstd", ["kiln-run-noblas", "mlp.kplan", "--input", "x.npy", *RUN],
         "kiln-run: plan is zstd-compressed but this runtime was built without zstd (NO_ZSTD)",
         "the runtime was built with NO_ZSTD=1 and the plan has compressed sections",
         "compile with --no-compress, or build the runtime with zstd"),
    # .npy files
    Case("npy-shape", ["kiln", "run", "mlp.kplan", "--input", "x=shape.npy", *RUN],
         "Error: shape.npy: input 'x' expects shape [1,784], the file has [784,1]",
         "the array's shape differs from the plan's input", "reshape before np.save, or compile with --input-shape"),
    Case("npy-shape-kiln-run", ["kiln-run", "mlp.kplan", "--input", "x=shape.npy", *RUN],
         'kiln-run: input "x": shape.npy has shape (784, 1), the plan expects (1, 784)',
         "the array's shape differs from the plan's input", "reshape before np.save, or compile with --input-shape"),
    Case("npy-dtype", ["kiln-run", "mlp.kplan", "--input", "x=f64.npy", *RUN],
         'kiln-run: input "x": f64.npy holds f64, the plan expects f32', "the array's dtype differs",
         "np.save(path, a.astype(np.float32))"),
    Case("npy-fortran", ["kiln", "eval", "mlp.onnx", "--input", "x=fortran.npy", *RUN],
         "Error: fortran.npy: Fortran-order arrays are not supported; save with np.ascontiguousarray",
         "the array was saved in Fortran (column-major) order", "np.save(path, np.ascontiguousarray(a))"),
    Case("npy-truncated", ["kiln-run", "mlp.kplan", "--input", "x=truncated.npy", *RUN],
         "kiln-run: truncated.npy: truncated data (3036 of 3136 bytes)", "the file is shorter than its header says",
         "save it again"),
    Case("npy-complex", ["kiln", "run", "mlp.kplan", "--input", "x=complex.npy", *RUN],
         "Error: complex.npy: unsupported .npy dtype '<c8'", "complex, string or structured dtypes",
         "convert to a numeric dtype"),
    Case("npy-big-endian", ["kiln-run", "mlp.kplan", "--input", "x=bigendian.npy", *RUN],
         "kiln-run: bigendian.npy: big-endian arrays are not supported", "kiln-run reads little-endian data only",
         "np.save(path, a.astype('<f4')) (kiln run converts)"),
    Case("npy-huge-shape", ["kiln-run", "mlp.kplan", "--input", "x=huge.npy", *RUN],
         "kiln-run: huge.npy: truncated data (16 of 3999999999996 bytes)",
         "the header claims far more data than the file holds (found by fuzzing: nothing is allocated for it)",
         "save it again"),
    Case("npy-huge-shape-kiln", ["kiln", "run", "mlp.kplan", "--input", "x=huge.npy", *RUN],
         "Error: huge.npy: truncated data: shape [1,999999999999] of f32 needs 3999999999996 bytes, file has 16",
         "the header claims far more data than the file holds", "save it again"),
    Case("npy-rank", ["kiln-run", "mlp.kplan", "--input", "x=rank9.npy", *RUN],
         "kiln-run: rank9.npy: more than 8 dimensions", "the runtime supports rank <= 8", "reshape"),
    Case("npy-header", ["kiln-run", "mlp.kplan", "--input", "x=noshape.npy", *RUN],
         "kiln-run: noshape.npy: malformed .npy header (needs descr, fortran_order and shape)",
         "a damaged or hand-written header", "save it with numpy"),
    Case("npy-version", ["kiln", "run", "mlp.kplan", "--input", "x=version9.npy", *RUN],
         "Error: version9.npy: unsupported .npy format version 9", "an unknown .npy format version",
         "save it with numpy (formats 1.0-3.0 are read)"),
    Case("npy-not-npy", ["kiln-run", "mlp.kplan", "--input", "x=notnpy.npy", *RUN],
         "kiln-run: notnpy.npy: not a .npy file", "not a .npy file (e.g. .npz, raw bytes, an image)",
         "np.save one array per file"),
    Case("npy-object", ["kiln-run", "mlp.kplan", "--input", "x=object.npy", *RUN],
         "kiln-run: object.npy: object arrays are not supported", "a pickled object array",
         "convert to a numeric dtype"),
    Case("npy-missing", ["kiln", "run", "mlp.kplan", "--input", "x=nope.npy", *RUN],
         "Error: nope.npy: no such file", "wrong path", "check the path"),
    # Quantization
    Case("quant-calibration-shape", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                     "--calibration", "calib-shape"],
         "Error: --calibration sample calib-shape/s1.npy: input 'x' expects f32[1,784], got f32[784,1]",
         "a calibration sample's shape differs from the model input's", "save each sample with the input's shape"),
    Case("quant-calibration-dtype", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                     "--calibration", "calib-dtype"],
         "Error: --calibration sample calib-dtype/s0.npy: input 'x' expects f32[1,784], got f64[1,784]",
         "a calibration sample's dtype differs from the model input's", "np.save(path, a.astype(np.float32))"),
    Case("quant-calibration-empty", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                     "--calibration", "calib-empty"],
         "Error: --calibration calib-empty: no samples (.npy, .npz files or sample subfolders) found",
         "the calibration folder holds no samples", "put one .npy (or .npz, or subfolder) per sample in it"),
    Case("quant-calibration-npz-compressed", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                              "--calibration", "calib-npz"],
         "Error: calib-npz/s0.npz: compressed .npz (np.savez_compressed) is not supported; save with np.savez",
         "a compressed .npz sample", "np.savez (uncompressed), or one .npy per input"),
    Case("quant-budget-unreachable", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                      "--calibration", "calib", "--accuracy-budget", "max-rel=1e-12"],
         "Error: --accuracy-budget max-rel=1e-12 is not met even with every layer in float; "
         "pass --fallback-float to write the fp32 plan",
         "the budget is tighter than float rounding: no choice of int8 layers can meet it",
         "loosen the budget, or pass --fallback-float to get the fp32 plan"),
    Case("quant-budget-syntax", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--quantize", "int8",
                                 "--calibration", "calib", "--accuracy-budget", "cosine=2"],
         "Error: --accuracy-budget takes cosine=C (0 < C <= 1), max-rel=R (R > 0) and top1=A (0 < A <= 1), comma-separated, got 'cosine=2'; none turns it off",
         "a malformed --accuracy-budget", "cosine=0.99, max-rel=0.05 or cosine=0.995,top1=0.98", status=64),
    # Command lines
    Case("cli-unknown-subcommand", ["kiln", "frob"], "Error: Unexpected argument 'frob'",
         "no such subcommand", "`kiln --help` lists them", status=64),
    Case("cli-missing-output", ["kiln", "compile", "mlp.onnx"],
         "Error: Missing expected argument '--output <plan.kplan>'", "compile needs -o", "add -o model.kplan",
         status=64),
    Case("cli-opt-level", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "-O9"], "Error: -O takes 0, 1, 2 or 3",
         "an optimization level outside 0-3", "use -O0 … -O3", status=64),
    Case("cli-input-shape-syntax", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--input-shape", "x=1,abc"],
         "Error: --input-shape expects NAME=D1,D2,... with positive dims, got 'x=1,abc'",
         "a malformed --input-shape", "NAME=1,3,224,224", status=64),
    Case("cli-output-dir-missing", ["kiln", "compile", "mlp.onnx", "-o", "no/such/dir/x.kplan"],
         "Error: no/such/dir/x.kplan: cannot write the plan (no directory no/such/dir)",
         "the plan's directory does not exist", "mkdir -p it first"),
    Case("cli-bind-dtype", ["kiln", "compile", "mlp.onnx", "-o", "x.kplan", "--bind", "x=1,2"],
         "Error: mlp.onnx: --bind x: the value has dtype i64 but the input is f32",
         "--bind gave integers for a float input", "write floats (1.0,2.0) or bind a .npy file"),
    Case("cli-missing-input", ["kiln", "run", "mlp.kplan", *RUN],
         "Error: missing input(s): 'x' (f32[1,784]); pass --input NAME=FILE.npy", "an input was not bound",
         "add --input NAME=FILE.npy (`kiln inspect model.kplan` lists inputs)"),
    Case("cli-unknown-input", ["kiln", "eval", "mlp.onnx", "--input", "image=x.npy", *RUN],
         "Error: --input image: the model has no input named 'image' (inputs: 'x')", "a wrong input name",
         "use a name the message lists"),
    Case("cli-input-twice", ["kiln", "run", "mlp.kplan", "--input", "x=x.npy", "--input", "x=x.npy", *RUN],
         "Error: --input: input 'x' is given twice", "the same input bound twice", "bind each input once"),
    Case("cli-too-many-inputs", ["kiln", "run", "mlp.kplan", "--input", "x.npy", "--input", "x.npy", *RUN],
         "Error: --input x.npy: the model takes only 1 input(s)", "more positional inputs than the plan has",
         "drop the extra --input"),
    Case("cli-threads", ["kiln-run", "mlp.kplan", "--input", "x.npy", *RUN, "--threads", "abc"],
         'kiln-run: --threads needs a number from 1 to 256, got "abc"', "a bad --threads value", "--threads 1 … 256"),
    Case("cli-kiln-run-unknown-option", ["kiln-run", "mlp.kplan", "--bogus", *RUN], "kiln-run: unknown option --bogus",
         "an option kiln-run does not have", "kiln-run --help"),
    Case("cli-kiln-run-no-output-dir", ["kiln-run", "mlp.kplan", "--input", "x.npy"],
         "kiln-run: usage: kiln-run PLAN --input NAME=FILE.npy ... --output-dir DIR [--threads N]",
         "--output-dir is required", "add --output-dir DIR"),
    Case("cli-output-dir-not-creatable", ["kiln", "run", "mlp.kplan", "--input", "x.npy", "--output-dir", "mlp.onnx/out"],
         "Error: cannot create the output directory mlp.onnx/out", "--output-dir is under a file or unwritable",
         "pick a writable directory"),
]


# ---- running -------------------------------------------------------------------------

def _binaries(kiln: Path) -> dict[str, Path]:
    bins = {"kiln": kiln, "kiln-run": RUNTIME / "kiln-run", "kiln-run-noblas": RUNTIME / "noblas" / "kiln-run"}
    for name, path in bins.items():
        if not path.is_file():
            pytest.fail(f"{name} not built at {path} (scripts/test builds it: make -C Runtime; "
                        "make -C Runtime NO_BLAS=1 NO_ZSTD=1 BUILD=build/noblas)")
    return bins


@pytest.fixture(scope="module")
def scratch(tmp_path_factory, kiln) -> Path:
    d = tmp_path_factory.mktemp("bad_inputs")
    for name, make in FILES.items():
        make(d / name)
    _write_plans(d, kiln)
    return d


def test_catalogue_is_large_and_unique():
    assert len(CASES) >= 30
    assert len({c.id for c in CASES}) == len(CASES)
    kinds = {c.id.split("-")[0] for c in CASES}
    assert kinds == {"onnx", "kir", "plan", "npy", "quant", "cli"}


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, kiln, scratch):
    bins = _binaries(kiln)
    argv = [str(bins[case.argv[0]]), *case.argv[1:]]
    run = subprocess.run(argv, cwd=scratch, capture_output=True, text=True, timeout=120)
    assert run.returncode >= 0, f"killed by signal {-run.returncode}: {run.stderr}"
    assert run.returncode == case.status, f"exit {run.returncode}, expected {case.status}\nstderr: {run.stderr}"
    lines = run.stderr.strip().splitlines()
    assert lines, "no message on stderr"
    want = case.message.replace("{constants}", (scratch / "plans.txt").read_text()).replace("{dir}", str(scratch))
    assert lines[0] == want
    if case.status == 1:
        assert len(lines) == 1, run.stderr


# ---- README ----------------------------------------------------------------------------

def markdown_rows() -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")
    return [f"| `{cell(c.message.replace('{constants}', 'N').replace('{dir}/', ''))}` | {cell(c.cause)} | {cell(c.fix)} |" for c in CASES]


def test_readme_lists_every_case():
    readme = (kilnutil.repo_root() / "README.md").read_text()
    assert "## Troubleshooting" in readme
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("| `")]
    assert table == markdown_rows(), "README's Troubleshooting table is out of date: run python Tests/Python/test_bad_inputs.py"


if __name__ == "__main__":
    print("| message | cause | fix |\n|---|---|---|")
    print("\n".join(markdown_rows()))
