"""The -O2 IR of every Graphs model and of the full-size ResNet-18 / MobileNetV2 (issue 4's
done-criterion): no batch_norm, Dropout or identity remains; the exporter's shape
arithmetic is gone (no shape/size nodes, no gather on i64 shape vectors, no
ConstantOfShape — the importer turns that into a constant); and every activation that
follows a Conv (directly or through a BatchNormalization), a Gemm, a 2-D MatMul (+ bias
Add) or an Add in the ONNX graph is fused into that node: the IR has exactly as many
fused nodes of each kind as the ONNX graph has such pairs, and no activation node is left
reading a conv, gemm or mat_mul result."""

from __future__ import annotations

import collections
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import onnx
import pytest

import kilnutil

FULL = Path(os.environ.get("KILN_FULL_SIZE_DIR", Path(tempfile.gettempdir()) / "kiln-full-size"))
GRAPHS = sorted(kilnutil.load_manifest()["models"])
CNNS = {"lenet", "resnet_tiny", "mobilenet_tiny", "inception_tiny", "autoencoder", "vae_decoder", "gan_generator",
        "siamese", "resnet18", "mobilenetv2"}

# ONNX activation ops and the IR mnemonics of activations (FusedActivation's set).
ONNX_ACTIVATIONS = {"Relu", "Clip", "LeakyRelu", "Sigmoid", "Tanh", "HardSwish", "Gelu", "Elu", "Selu", "Celu",
                    "Softplus", "Softsign", "Mish", "HardSigmoid", "ThresholdedRelu"}
IR_ACTIVATIONS = {"relu", "clip", "leaky_relu", "sigmoid", "tanh", "hard_swish", "gelu", "elu", "selu", "celu",
                  "softplus", "softsign", "mish", "hard_sigmoid", "thresholded_relu"}

NAME = r'%(?:"(?:[^"\\]|\\.)*"|[^\s,()"]+)'
STATEMENT = re.compile(rf"^\s+((?:{NAME})(?:, {NAME})*) = ([a-z_0-9]+)(.*)$")
HEADER = re.compile(r"^graph @\S+\((.*)\) -> \(")


class Node:
    def __init__(self, op: str, operands: list[str], results: list[str], activation: str | None):
        self.op, self.operands, self.results, self.activation = op, operands, results, activation


def operand_text(rest: str) -> tuple[str, str]:
    """`(%a, %"b(c)") {…} : …` → the text inside the parentheses and what follows."""
    assert rest.startswith("("), rest
    quoted = escaped = False
    for i, ch in enumerate(rest):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ")" and not quoted:
            return rest[1:i], rest[i + 1:]
    raise AssertionError(f"unterminated operand list: {rest}")


def parse_ir(text: str) -> tuple[list[Node], dict[str, str], list[str]]:
    """Nodes, the dtype of every value, and the returned values of a printed graph."""
    nodes: list[Node] = []
    dtypes: dict[str, str] = {}
    outputs: list[str] = []
    for line in text.splitlines():
        if m := HEADER.match(line):
            for name, dtype in re.findall(rf"({NAME}): ([a-z0-9]+)\[", m.group(1)):
                dtypes[name] = dtype
            continue
        if line.strip().startswith("return "):
            outputs = re.findall(NAME, line.strip()[len("return "):])
            continue
        m = STATEMENT.match(line)
        if not m:
            continue
        results, op, rest = re.findall(NAME, m.group(1)), m.group(2), m.group(3)
        if op == "constant":
            dtypes[results[0]] = rest.split()[0].split("[")[0]
            nodes.append(Node(op, [], results, None))
            continue
        inner, after = operand_text(rest)
        attrs, _, types = after.partition(" : ")
        act = re.search(r"activation = ([a-z_]+)", attrs)
        for r, t in zip(results, types.split(" loc(")[0].split(", ")):
            dtypes[r] = t.split("[")[0]
        nodes.append(Node(op, re.findall(NAME, inner), results, act.group(1) if act else None))
    return nodes, dtypes, outputs


def expected_fusions(path: Path) -> collections.Counter:
    """For each ONNX activation node, the node it should be fused into at -O2: a Conv
    (possibly through a BatchNormalization, which folds into the conv first), a Gemm, a
    MatMul + bias Add with 2-D operands (→ gemm), or an Add/Sub/Mul/Div. Only when every
    intermediate result has that single use and is not a graph output."""
    graph = onnx.load(str(path), load_external_data=False).graph
    producer = {o: n for n in graph.node for o in n.output}
    uses = collections.Counter(i for n in graph.node for i in n.input)
    uses.update(o.name for o in graph.output)
    ranks = {v.name: len(v.type.tensor_type.shape.dim) for v in list(graph.input) + list(graph.value_info)}
    initializers = {t.name for t in graph.initializer}

    def single(value: str) -> bool:
        return uses[value] == 1

    counts: collections.Counter = collections.Counter()
    for n in graph.node:
        if n.op_type not in ONNX_ACTIVATIONS or not n.input[0] in producer or not single(n.input[0]):
            continue
        p = producer[n.input[0]]
        if p.op_type == "BatchNormalization" and p.input[0] in producer and single(p.input[0]):
            p = producer[p.input[0]]
            if p.op_type == "Conv":
                counts["conv"] += 1
            continue
        if p.op_type == "Add" and any(i in producer and producer[i].op_type == "MatMul" and single(i)
                                      and ranks.get(producer[i].input[0]) == 2 for i in p.input) \
                and any(i in initializers for i in p.input):
            counts["gemm"] += 1
        elif p.op_type in ("Conv", "Gemm"):
            counts[p.op_type.lower()] += 1
        elif p.op_type in ("Add", "Sub", "Mul", "Div"):
            counts["binary"] += 1
    return counts


def model_path(name: str) -> Path:
    if name in ("resnet18", "mobilenetv2"):
        if not (FULL / "manifest.json").exists():
            subprocess.run([sys.executable, str(kilnutil.graphs_dir() / "generate.py"), "--full-size", str(FULL)],
                           check=True, capture_output=True, timeout=1200)
        return FULL / kilnutil.load_manifest(FULL)["models"][name]["file"]
    return kilnutil.graphs_dir() / kilnutil.load_manifest()["models"][name]["file"]


@pytest.mark.parametrize("name", GRAPHS + ["resnet18", "mobilenetv2"])
def test_o2_ir_is_fused_and_free_of_exporter_leftovers(name, kiln):
    path = model_path(name)
    run = subprocess.run([str(kiln), "opt", str(path), "-O2"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    nodes, dtypes, outputs = parse_ir(run.stdout)
    ops = collections.Counter(n.op for n in nodes)
    assert ops, run.stdout[:2000]

    # No BatchNormalization, Dropout/Identity, shape arithmetic.
    for gone in ("batch_norm", "identity", "shape", "size"):
        assert ops[gone] == 0, f"{name}: {ops[gone]} {gone} node(s) left at -O2"
    shape_gathers = [n.results[0] for n in nodes if n.op == "gather" and dtypes.get(n.operands[0]) in ("i64", "i32")]
    assert not shape_gathers, f"{name}: gathers on shape vectors left: {shape_gathers}"

    # No activation reads a conv / gemm / mat_mul / arithmetic result it could be fused into.
    producer = {r: n for n in nodes for r in n.results}
    uses = collections.Counter(o for n in nodes for o in n.operands)
    uses.update(outputs)
    for n in nodes:
        if n.op not in IR_ACTIVATIONS or n.operands[0] not in producer:
            continue
        p = producer[n.operands[0]]
        fusable = dtypes.get(n.operands[0]) == "f32" and uses[n.operands[0]] == 1 and p.activation is None
        assert not (p.op == "conv" and name in CNNS and p.activation is None), \
            f"{name}: {n.op} {n.results[0]} still reads conv {n.operands[0]} (uses: {uses[n.operands[0]]})"
        assert not (fusable and p.op in ("conv", "gemm", "mat_mul", "add", "sub", "mul", "div")), \
            f"{name}: {n.op} {n.results[0]} was not fused into {p.op} {n.operands[0]}"

    # As many fused nodes of each kind as the ONNX graph has producer → activation pairs.
    fused = collections.Counter(n.op if n.op in ("conv", "gemm") else "binary"
                                for n in nodes if n.activation and n.op in ("conv", "gemm", "add", "sub", "mul", "div"))
    expected = expected_fusions(path)
    assert fused == expected, f"{name}: fused nodes {dict(fused)}, ONNX activation pairs {dict(expected)}"
    if name in CNNS and name != "gan_generator":  # gan_generator's activations follow ConvTranspose
        assert fused["conv"] > 0, f"{name}: no fused conv"
