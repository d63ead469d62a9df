"""A small helper for writing ONNX graphs by hand, the way PyTorch's exporter lays them out.

Naming follows `torch.onnx.export` (>= 1.13):

* a module path such as ``layer1.0.conv1`` becomes the scope ``/layer1/layer1.0/conv1``
  (numeric children keep their parent's prefix);
* a node is ``<scope>/<OpType>``, with ``_1``, ``_2`` ... appended on repeats;
* a node's outputs are ``<node name>_output_<i>``;
* parameters are initializers named ``<module path>.weight`` / ``.bias`` /
  ``.running_mean`` ...; small scalars and shape pieces are ``Constant`` nodes.

Weights are drawn from one seeded ``numpy.random.Generator``, so a model is a
pure function of its seed.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8  # the IR version that opset 17 shipped with; onnxruntime 1.32 reads it

ELEM_TYPES = {
    "float32": TensorProto.FLOAT,
    "float16": TensorProto.FLOAT16,
    "int64": TensorProto.INT64,
    "int32": TensorProto.INT32,
    "int8": TensorProto.INT8,
    "uint8": TensorProto.UINT8,
    "bool": TensorProto.BOOL,
}


def scope_of(path: str) -> str:
    """``layer1.0.conv1`` -> ``/layer1/layer1.0/conv1``; ``""`` -> ``""``."""
    if not path:
        return ""
    segments: list[str] = []
    for part in path.split("."):
        if part.isdigit() and segments:
            segments.append(f"{segments[-1]}.{part}")
        else:
            segments.append(part)
    return "/" + "/".join(segments)


class Builder:
    """Accumulates inputs, initializers and nodes; `model()` returns the ModelProto."""

    def __init__(self, name: str, seed: int, opset: int = OPSET):
        self.name = name
        self.opset = opset
        self.rng = np.random.default_rng(seed)
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self.initializers: list[TensorProto] = []
        self.nodes: list[onnx.NodeProto] = []
        self._node_names: Counter[str] = Counter()
        self._init_names: set[str] = set()

    # ---- graph interface ------------------------------------------------------------

    def input(self, name: str, dtype: str, shape: Sequence[int]) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, ELEM_TYPES[dtype], list(shape)))
        return name

    def output(self, name: str, dtype: str, shape: Sequence[int]) -> str:
        self.outputs.append(helper.make_tensor_value_info(name, ELEM_TYPES[dtype], list(shape)))
        return name

    def initializer(self, name: str, array: np.ndarray) -> str:
        if name in self._init_names:
            raise ValueError(f"initializer {name!r} defined twice")
        self._init_names.add(name)
        self.initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(
        self,
        op: str,
        inputs: Sequence[str],
        path: str = "",
        *,
        outputs: Sequence[str] | None = None,
        n_out: int = 1,
        **attrs,
    ):
        """Adds one node under module `path`; returns its output name (or list of names)."""
        base = f"{scope_of(path)}/{op}"
        count = self._node_names[base]
        self._node_names[base] += 1
        name = base if count == 0 else f"{base}_{count}"
        if outputs is None:
            outputs = [f"{name}_output_{i}" for i in range(n_out)]
        self.nodes.append(helper.make_node(op, list(inputs), list(outputs), name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else list(outputs)

    def constant(self, value, path: str = "", dtype=np.float32) -> str:
        """A `Constant` node holding `value` (a scalar becomes a 0-d tensor)."""
        array = np.asarray(value, dtype=dtype)
        return self.node("Constant", [], path, value=numpy_helper.from_array(array, ""))

    def model(self, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(
            self.nodes, self.name, self.inputs, self.outputs, self.initializers, doc_string=doc
        )
        model = helper.make_model(
            graph,
            opset_imports=[helper.make_opsetid("", self.opset)],
            producer_name="kiln-graphs",
            producer_version="1",
            ir_version=IR_VERSION,
        )
        model.doc_string = doc
        return model

    # ---- weight initialisation ------------------------------------------------------

    def he(self, shape: Sequence[int], fan_in: int) -> np.ndarray:
        """Kaiming-normal: keeps the variance of ReLU activations ~constant."""
        return (self.rng.standard_normal(shape) * math.sqrt(2.0 / fan_in)).astype(np.float32)

    def lecun(self, shape: Sequence[int], fan_in: int) -> np.ndarray:
        """Variance 1/fan_in: for layers not followed by ReLU (logits, projections)."""
        return (self.rng.standard_normal(shape) / math.sqrt(fan_in)).astype(np.float32)

    def uniform(self, shape: Sequence[int], bound: float) -> np.ndarray:
        return self.rng.uniform(-bound, bound, size=shape).astype(np.float32)

    def normal(self, shape: Sequence[int], std: float = 1.0, mean: float = 0.0) -> np.ndarray:
        return (mean + std * self.rng.standard_normal(shape)).astype(np.float32)

    # ---- layers (module path in, output name out) -----------------------------------

    def conv(
        self,
        x: str,
        path: str,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        pad: int | None = None,
        group: int = 1,
        bias: bool = True,
    ) -> str:
        pad = k // 2 if pad is None else pad
        fan_in = (cin // group) * k * k
        w = self.initializer(f"{path}.weight", self.he((cout, cin // group, k, k), fan_in))
        inputs = [x, w]
        if bias:
            inputs.append(self.initializer(f"{path}.bias", self.uniform((cout,), 1 / math.sqrt(fan_in))))
        return self.node(
            "Conv", inputs, path,
            dilations=[1, 1], group=group, kernel_shape=[k, k],
            pads=[pad] * 4, strides=[stride, stride],
        )

    def conv_transpose(
        self,
        x: str,
        path: str,
        cin: int,
        cout: int,
        k: int,
        stride: int = 1,
        pad: int = 0,
        output_padding: int = 0,
        bias: bool = True,
    ) -> str:
        # Each output pixel sums about cin*k*k/stride^2 products.
        fan_in = max(1, cin * k * k // (stride * stride))
        w = self.initializer(f"{path}.weight", self.he((cin, cout, k, k), fan_in))
        inputs = [x, w]
        if bias:
            inputs.append(self.initializer(f"{path}.bias", self.uniform((cout,), 1 / math.sqrt(fan_in))))
        attrs = dict(dilations=[1, 1], group=1, kernel_shape=[k, k], pads=[pad] * 4, strides=[stride, stride])
        if output_padding:
            attrs["output_padding"] = [output_padding, output_padding]
        return self.node("ConvTranspose", inputs, path, **attrs)

    def batchnorm(self, x: str, path: str, c: int) -> str:
        """Eval-mode BatchNormalization with non-trivial running statistics."""
        scale = self.initializer(f"{path}.weight", self.rng.uniform(0.6, 1.4, c).astype(np.float32))
        shift = self.initializer(f"{path}.bias", self.normal((c,), 0.1))
        mean = self.initializer(f"{path}.running_mean", self.normal((c,), 0.1))
        var = self.initializer(f"{path}.running_var", self.rng.uniform(0.6, 1.4, c).astype(np.float32))
        return self.node(
            "BatchNormalization", [x, scale, shift, mean, var], path, epsilon=1e-5, momentum=0.9
        )

    def relu(self, x: str, path: str) -> str:
        return self.node("Relu", [x], path)

    def relu6(self, x: str, path: str) -> str:
        """`nn.ReLU6` as exported at opset >= 11: Clip with min/max as constant inputs."""
        lo = self.constant(0.0, path)
        hi = self.constant(6.0, path)
        return self.node("Clip", [x, lo, hi], path)

    def conv_bn(self, x, conv_path, bn_path, cin, cout, k, stride=1, pad=None, group=1) -> str:
        y = self.conv(x, conv_path, cin, cout, k, stride, pad, group, bias=False)
        return self.batchnorm(y, bn_path, cout)

    def conv_bn_relu(self, x, conv_path, bn_path, act_path, cin, cout, k, stride=1, pad=None, group=1) -> str:
        return self.relu(self.conv_bn(x, conv_path, bn_path, cin, cout, k, stride, pad, group), act_path)

    def gemm(self, x: str, path: str, fin: int, fout: int, init: str = "he", output: str | None = None) -> str:
        """`nn.Linear`: Gemm with transB=1 and a [out, in] weight."""
        w = self.he((fout, fin), fin) if init == "he" else self.lecun((fout, fin), fin)
        wname = self.initializer(f"{path}.weight", w)
        bname = self.initializer(f"{path}.bias", self.uniform((fout,), 1 / math.sqrt(fin)))
        return self.node(
            "Gemm", [x, wname, bname], path,
            outputs=None if output is None else [output], alpha=1.0, beta=1.0, transB=1,
        )

    def linear_matmul(self, x: str, path: str, fin: int, fout: int, init: str = "lecun") -> str:
        """`nn.Linear` on a rank-3 input: MatMul by a pre-transposed [in, out] weight, then Add."""
        w = self.he((fin, fout), fin) if init == "he" else self.lecun((fin, fout), fin)
        # The exporter folds weight.T into an anonymous initializer.
        wname = self.initializer(f"onnx::MatMul_{path}", w)
        bname = self.initializer(f"{path}.bias", self.uniform((fout,), 1 / math.sqrt(fin)))
        y = self.node("MatMul", [x, wname], path)
        return self.node("Add", [bname, y], path)

    def dim(self, x: str, index: int, path: str) -> str:
        """`x.size(index)` as a 1-element vector: Shape -> Gather -> Unsqueeze."""
        shape = self.node("Shape", [x], path)
        i = self.constant(index, path, np.int64)
        d = self.node("Gather", [shape, i], path, axis=0)
        axes = self.constant([0], path, np.int64)
        return self.node("Unsqueeze", [d, axes], path)
