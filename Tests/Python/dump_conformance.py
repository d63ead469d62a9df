#!/usr/bin/env python3
"""Writes ONNX's operator conformance cases (the "node" backend tests) to a directory.

    .venv/bin/python Tests/Python/dump_conformance.py /tmp/conf [--op-type Conv]

Layout:

    DIR/index.json                       one entry per case (see `case_entry`)
    DIR/<case>/model.onnx
    DIR/<case>/input_<i>.npy             i-th graph input of dataset 0
    DIR/<case>/output_<i>.npy            i-th graph output (the expected value)

Tensors numpy holds natively (bool, [u]int8..64, float16/32/64) are plain .npy.
bfloat16 is a .npy of its uint16 bit patterns (entry "storage": "bits"). Other
types numpy lacks (float8*, float4, [u]int4, [u]int2) are serialized TensorProtos,
`input_<i>.pb` (entry "storage": "tensorproto"). Strings are .npy of unicode
("dtype": "string"). Sequence, optional and map values are not written, and the
case is marked "unsupported_io": true.

The cases come from `onnx.backend.test.case.node.collect_testcases()`; its
TestCase objects have .name, .model_name, .url, .model_dir, .model (ModelProto),
.data_sets (list of (inputs, outputs)), .kind, .rtol, .atol. Inputs and outputs
are listed for the graph's inputs and outputs in order (omitted optional node
inputs are not graph inputs).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

NATIVE = {
    TensorProto.BOOL, TensorProto.INT8, TensorProto.UINT8, TensorProto.INT16, TensorProto.UINT16,
    TensorProto.INT32, TensorProto.UINT32, TensorProto.INT64, TensorProto.UINT64,
    TensorProto.FLOAT16, TensorProto.FLOAT, TensorProto.DOUBLE,
}


def collect(op_type: str | None):
    """All node test cases. The list is built once per process: `op_type` only
    filters the first call, so filter here instead."""
    from onnx.backend.test.case import node

    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        cases = node.collect_testcases()
    if op_type:
        cases = [c for c in cases if op_type in op_types(c.model.graph)]
    return sorted(cases, key=lambda c: c.name)


def op_types(graph: onnx.GraphProto) -> set[str]:
    """Op types used by `graph` and its subgraphs (If/Loop/Scan bodies); non-default domains prefixed."""
    found = set()
    for node in graph.node:
        found.add(node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}.{node.op_type}")
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.GRAPH:
                found |= op_types(attr.g)
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for g in attr.graphs:
                    found |= op_types(g)
    return found


def type_name(type_proto: onnx.TypeProto) -> str:
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return dtype_name(type_proto.tensor_type.elem_type)
    if kind == "sparse_tensor_type":
        return f"sparse_tensor({dtype_name(type_proto.sparse_tensor_type.elem_type)})"
    if kind == "sequence_type":
        return f"sequence({type_name(type_proto.sequence_type.elem_type)})"
    if kind == "optional_type":
        return f"optional({type_name(type_proto.optional_type.elem_type)})"
    if kind == "map_type":
        return f"map({dtype_name(type_proto.map_type.key_type)},{type_name(type_proto.map_type.value_type)})"
    return str(kind)


def dtype_name(elem_type: int) -> str:
    if elem_type == TensorProto.STRING:
        return "string"
    if elem_type in NATIVE:
        return str(np.dtype(helper.tensor_dtype_to_np_dtype(elem_type)))
    return TensorProto.DataType.Name(elem_type).lower()


def write_value(value, type_proto: onnx.TypeProto, stem: Path) -> dict | None:
    """Writes one input/output value; returns its index fields, or None if unsupported."""
    if type_proto.WhichOneof("value") != "tensor_type" or value is None or isinstance(value, (list, dict)):
        return None
    if isinstance(value, TensorProto):
        elem = value.data_type
        if elem not in NATIVE and elem != TensorProto.BFLOAT16:
            stem.with_suffix(".pb").write_bytes(value.SerializeToString())
            return {"file": stem.name + ".pb", "storage": "tensorproto", "shape": list(value.dims)}
        value = numpy_helper.to_array(value)
    array = np.asarray(value)
    elem = type_proto.tensor_type.elem_type
    entry = {"shape": list(array.shape)}
    if elem == TensorProto.STRING or array.dtype == object:
        array = array.astype(str)
    elif elem == TensorProto.BFLOAT16:
        array = array.view(np.uint16)
        entry["storage"] = "bits"
    elif elem not in NATIVE:
        tensor = numpy_helper.from_array(array)
        stem.with_suffix(".pb").write_bytes(tensor.SerializeToString())
        return {"file": stem.name + ".pb", "storage": "tensorproto", **entry}
    np.save(stem.with_suffix(".npy"), array, allow_pickle=False)
    return {"file": stem.name + ".npy", **entry}


def write_case(case, out_dir: Path) -> dict:
    case_dir = out_dir / case.name
    if case_dir.exists():
        shutil.rmtree(case_dir)
    case_dir.mkdir(parents=True)
    onnx.save(case.model, case_dir / "model.onnx")
    graph = case.model.graph
    inputs, outputs = case.data_sets[0]
    unsupported = False

    def describe(values, value_infos, prefix):
        nonlocal unsupported
        entries = []
        for i, (value, vi) in enumerate(zip(values, value_infos)):
            entry = {"name": vi.name, "dtype": type_name(vi.type)}
            written = write_value(value, vi.type, case_dir / f"{prefix}_{i}")
            if written is None:
                unsupported = True
            else:
                entry.update(written)
            entries.append(entry)
        return entries

    input_entries = describe(inputs, graph.input, "input")
    output_entries = describe(outputs, graph.output, "output")
    return {
        "name": case.name,
        "ops": sorted(op_types(graph)),
        "expanded": "_expanded" in case.name,
        "opset": {(o.domain or "ai.onnx"): o.version for o in case.model.opset_import},
        "ir_version": case.model.ir_version,
        "inputs": input_entries,
        "outputs": output_entries,
        "rtol": case.rtol,
        "atol": case.atol,
        "datasets": len(case.data_sets),
        "unsupported_io": unsupported,
    }


def compact_json(value) -> str:
    """Indented JSON with innermost lists (shapes, op lists) kept on one line."""
    text = json.dumps(value, indent=1)
    text = re.sub(r"\[([^\[\]{}]*)\]", lambda m: "[" + re.sub(r"\s*\n\s*", " ", m.group(1)).strip() + "]", text)
    assert json.loads(text) == value
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Dump ONNX node conformance cases.")
    parser.add_argument("out", type=Path, help="output directory")
    parser.add_argument("--op-type", help="only cases whose graph uses this op type")
    args = parser.parse_args(argv)

    out_dir: Path = args.out
    out_dir.mkdir(parents=True, exist_ok=True)
    index_path = out_dir / "index.json"
    if index_path.exists():  # remove the previous dump's cases, and nothing else
        for old in json.loads(index_path.read_text()).get("cases", []):
            shutil.rmtree(out_dir / old["name"], ignore_errors=True)

    cases = collect(args.op_type)
    entries = [write_case(case, out_dir) for case in cases]
    index = {
        "onnx": onnx.__version__,
        "source": "onnx.backend.test.case.node.collect_testcases()",
        "count": len(entries),
        "cases": entries,
    }
    index_path.write_text(compact_json(index) + "\n")

    unsupported = sum(e["unsupported_io"] for e in entries)
    pb = sum(1 for e in entries if any(t.get("storage") == "tensorproto" for t in e["inputs"] + e["outputs"]))
    ops = Counter(op for e in entries for op in e["ops"])
    print(f"wrote {len(entries)} cases to {out_dir} ({len(ops)} op types; "
          f"{unsupported} with sequence/optional/map values not written; "
          f"{pb} with TensorProto-stored tensors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
