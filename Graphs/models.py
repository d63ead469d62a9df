"""The example models, one function per workload.

Each function takes a seed and returns ``(ModelProto, description)``. Layer names
mirror the PyTorch modules the graph would have been exported from.
"""

from __future__ import annotations

import math

import numpy as np

from onnx_builder import Builder


# ---- MLP -----------------------------------------------------------------------------


def mlp(seed: int):
    b = Builder("mlp", seed)
    x = b.input("x", "float32", [1, 784])
    h = b.relu(b.gemm(x, "fc1", 784, 128), "relu1")
    h = b.node("Dropout", [h, b.constant(0.1, "dropout")], "dropout")
    h = b.relu(b.gemm(h, "fc2", 128, 64), "relu2")
    h = b.node("Identity", [h], "")
    logits = b.gemm(h, "fc3", 64, 10, init="lecun")
    b.node("Softmax", [logits], "softmax", outputs=["probs"], axis=-1)
    b.output("probs", "float32", [1, 10])
    return b.model(), "784-128-64-10 MLP: Gemm+Relu, inference Dropout, Identity, Softmax"


# ---- LeNet-5 ---------------------------------------------------------------------------


def lenet(seed: int):
    b = Builder("lenet", seed)
    x = b.input("x", "float32", [1, 1, 28, 28])
    h = b.relu(b.conv(x, "conv1", 1, 6, 5, pad=2), "relu1")
    h = b.node("MaxPool", [h], "pool1", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.relu(b.conv(h, "conv2", 6, 16, 5, pad=0), "relu2")
    h = b.node("AveragePool", [h], "pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.node("Flatten", [h], "", axis=1)
    h = b.relu(b.gemm(h, "fc1", 400, 120), "relu3")
    h = b.relu(b.gemm(h, "fc2", 120, 84), "relu4")
    b.gemm(h, "fc3", 84, 10, init="lecun", output="logits")
    b.output("logits", "float32", [1, 10])
    return b.model(), "LeNet-5: Conv5x5+Relu, MaxPool, Conv, AveragePool, Flatten, three Gemm"


# ---- ResNet (tiny) ---------------------------------------------------------------------


def basic_block(b: Builder, x: str, path: str, cin: int, cout: int, stride: int) -> str:
    """torchvision BasicBlock: conv-bn-relu-conv-bn, (+ downsample), add, relu."""
    h = b.conv_bn_relu(x, f"{path}.conv1", f"{path}.bn1", f"{path}.relu", cin, cout, 3, stride)
    h = b.conv_bn(h, f"{path}.conv2", f"{path}.bn2", cout, cout, 3)
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = b.conv_bn(x, f"{path}.downsample.0", f"{path}.downsample.1", cin, cout, 1, stride, 0)
    return b.relu(b.node("Add", [h, shortcut], path), f"{path}.relu")


def bottleneck_block(b: Builder, x: str, path: str, cin: int, mid: int, cout: int, stride: int) -> str:
    """torchvision Bottleneck: 1x1 reduce, 3x3, 1x1 expand, add, relu."""
    h = b.conv_bn_relu(x, f"{path}.conv1", f"{path}.bn1", f"{path}.relu", cin, mid, 1, 1, 0)
    h = b.conv_bn_relu(h, f"{path}.conv2", f"{path}.bn2", f"{path}.relu", mid, mid, 3, stride)
    h = b.conv_bn(h, f"{path}.conv3", f"{path}.bn3", mid, cout, 1, 1, 0)
    shortcut = x
    if stride != 1 or cin != cout:
        shortcut = b.conv_bn(x, f"{path}.downsample.0", f"{path}.downsample.1", cin, cout, 1, stride, 0)
    return b.relu(b.node("Add", [h, shortcut], path), f"{path}.relu")


def classifier_head(b: Builder, x: str, channels: int, classes: int, output: str = "logits") -> str:
    h = b.node("GlobalAveragePool", [x], "avgpool")
    h = b.node("Flatten", [h], "", axis=1)
    return b.gemm(h, "fc", channels, classes, init="lecun", output=output)


def resnet_tiny(seed: int):
    b = Builder("resnet_tiny", seed)
    x = b.input("x", "float32", [1, 3, 32, 32])
    h = b.conv_bn_relu(x, "conv1", "bn1", "relu", 3, 16, 3)
    h = basic_block(b, h, "layer1.0", 16, 16, 1)
    h = basic_block(b, h, "layer2.0", 16, 32, 2)
    h = bottleneck_block(b, h, "layer3.0", 32, 8, 32, 1)
    classifier_head(b, h, 32, 10)
    b.output("logits", "float32", [1, 10])
    return b.model(), (
        "ResNet, 32x32: stem Conv+BN+Relu, basic block, strided basic block with 1x1 downsample, "
        "bottleneck block, GlobalAveragePool, Gemm"
    )


def resnet18(seed: int):
    b = Builder("resnet18", seed)
    x = b.input("x", "float32", [1, 3, 224, 224])
    h = b.conv_bn_relu(x, "conv1", "bn1", "relu", 3, 64, 7, 2, 3)
    h = b.node("MaxPool", [h], "maxpool", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1])
    cin = 64
    for stage, cout in enumerate([64, 128, 256, 512], start=1):
        for i in range(2):
            stride = 2 if (i == 0 and stage > 1) else 1
            h = basic_block(b, h, f"layer{stage}.{i}", cin, cout, stride)
            cin = cout
    classifier_head(b, h, 512, 1000)
    b.output("logits", "float32", [1, 1000])
    return b.model(), "torchvision ResNet-18 topology, 224x224, random He-init weights"


# ---- MobileNetV2 -----------------------------------------------------------------------


def conv_bn_relu6(b: Builder, x: str, path: str, cin: int, cout: int, k: int, stride: int = 1, group: int = 1) -> str:
    """torchvision Conv2dNormActivation: `<path>.0` conv, `<path>.1` BN, `<path>.2` ReLU6."""
    h = b.conv_bn(x, f"{path}.0", f"{path}.1", cin, cout, k, stride, k // 2, group)
    return b.relu6(h, f"{path}.2")


def inverted_residual(b: Builder, x: str, path: str, cin: int, cout: int, stride: int, expand: int) -> str:
    hidden = cin * expand
    h, i = x, 0
    if expand != 1:
        h = conv_bn_relu6(b, h, f"{path}.conv.{i}", cin, hidden, 1)
        i += 1
    h = conv_bn_relu6(b, h, f"{path}.conv.{i}", hidden, hidden, 3, stride, group=hidden)
    h = b.conv_bn(h, f"{path}.conv.{i + 1}", f"{path}.conv.{i + 2}", hidden, cout, 1, 1, 0)
    if stride == 1 and cin == cout:
        h = b.node("Add", [x, h], path)
    return h


def flatten_by_shape(b: Builder, x: str, path: str = "") -> str:
    """`x.view(x.size(0), -1)` as exported: Shape->Gather->Unsqueeze, Concat with [-1], Reshape."""
    batch = b.dim(x, 0, path)
    rest = b.constant([-1], path, np.int64)
    shape = b.node("Concat", [batch, rest], path, axis=0)
    return b.node("Reshape", [x, shape], path)


def mobilenet_tiny(seed: int):
    b = Builder("mobilenet_tiny", seed)
    x = b.input("x", "float32", [1, 3, 32, 32])
    h = conv_bn_relu6(b, x, "features.0", 3, 16, 3)
    # (cin, cout, stride, expand)
    blocks = [(16, 16, 1, 1), (16, 16, 1, 4), (16, 24, 2, 4), (24, 24, 1, 4)]
    for i, (cin, cout, stride, expand) in enumerate(blocks, start=1):
        h = inverted_residual(b, h, f"features.{i}", cin, cout, stride, expand)
    h = conv_bn_relu6(b, h, f"features.{len(blocks) + 1}", 24, 64, 1)
    h = b.node("GlobalAveragePool", [h], "avgpool")
    h = flatten_by_shape(b, h)
    b.gemm(h, "classifier", 64, 10, init="lecun", output="logits")
    b.output("logits", "float32", [1, 10])
    return b.model(), (
        "MobileNetV2-style, 32x32: inverted residuals (1x1 expand, depthwise 3x3, 1x1 project), "
        "BN, Clip(0,6) with constant min/max, residual Add, one stride-2 block, "
        "Shape/Gather/Unsqueeze/Concat/Reshape flatten, Gemm"
    )


def mobilenetv2(seed: int):
    b = Builder("mobilenetv2", seed)
    x = b.input("x", "float32", [1, 3, 224, 224])
    h = conv_bn_relu6(b, x, "features.0", 3, 32, 3, 2)
    cin, index = 32, 1
    # torchvision's inverted_residual_setting: expand t, channels c, repeats n, stride s
    for t, c, n, s in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:
        for i in range(n):
            h = inverted_residual(b, h, f"features.{index}", cin, c, s if i == 0 else 1, t)
            cin, index = c, index + 1
    h = conv_bn_relu6(b, h, f"features.{index}", cin, 1280, 1)
    h = b.node("GlobalAveragePool", [h], "")
    h = b.node("Flatten", [h], "", axis=1)
    b.gemm(h, "classifier.1", 1280, 1000, init="lecun", output="logits")
    b.output("logits", "float32", [1, 1000])
    return b.model(), "torchvision MobileNetV2 1.0 topology, 224x224, random He-init weights"


# ---- Inception -------------------------------------------------------------------------


def conv_relu(b: Builder, x: str, path: str, cin: int, cout: int, k: int, stride: int = 1) -> str:
    return b.relu(b.conv(x, f"{path}.conv", cin, cout, k, stride), path)


def inception_block(b: Builder, x: str, path: str, cin: int, widths, double_3x3: bool) -> str:
    c1, c3r, c3, c5r, c5, cp = widths
    b1 = conv_relu(b, x, f"{path}.branch1", cin, c1, 1)
    b2 = conv_relu(b, x, f"{path}.branch2.0", cin, c3r, 1)
    b2 = conv_relu(b, b2, f"{path}.branch2.1", c3r, c3, 3)
    b3 = conv_relu(b, x, f"{path}.branch3.0", cin, c5r, 1)
    if double_3x3:
        b3 = conv_relu(b, b3, f"{path}.branch3.1", c5r, c5, 3)
        b3 = conv_relu(b, b3, f"{path}.branch3.2", c5, c5, 3)
    else:
        b3 = conv_relu(b, b3, f"{path}.branch3.1", c5r, c5, 5)
    b4 = b.node("MaxPool", [x], f"{path}.branch4.0", kernel_shape=[3, 3], strides=[1, 1], pads=[1, 1, 1, 1])
    b4 = conv_relu(b, b4, f"{path}.branch4.1", cin, cp, 1)
    return b.node("Concat", [b1, b2, b3, b4], path, axis=1)


def inception_tiny(seed: int):
    b = Builder("inception_tiny", seed)
    x = b.input("x", "float32", [1, 3, 32, 32])
    h = conv_relu(b, x, "stem", 3, 32, 3)
    h = b.node("MaxPool", [h], "maxpool", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    widths = (16, 16, 24, 8, 8, 8)  # 1x1 | 3x3 reduce, 3x3 | 5x5 reduce, 5x5 | pool proj
    out = widths[0] + widths[2] + widths[4] + widths[5]
    h = inception_block(b, h, "inception3a", 32, widths, double_3x3=False)
    h = inception_block(b, h, "inception3b", out, widths, double_3x3=True)
    classifier_head(b, h, out, 10)
    b.output("logits", "float32", [1, 10])
    return b.model(), (
        "Inception, 32x32: two blocks of 1x1 / 1x1-3x3 / 1x1-5x5 (then 3x3-3x3) / "
        "MaxPool(3,s1,p1)-1x1 branches joined by Concat, GlobalAveragePool, Gemm"
    )


# ---- Recurrent -------------------------------------------------------------------------


def rnn_weights(b: Builder, path: str, gates: int, dirs: int, inp: int, hidden: int):
    """PyTorch's uniform(-1/sqrt(H), 1/sqrt(H)) for W [dirs, g*H, in], R [dirs, g*H, H], B [dirs, 2*g*H]."""
    bound = 1 / math.sqrt(hidden)
    w = b.initializer(f"onnx::{path}_W", b.uniform((dirs, gates * hidden, inp), bound))
    r = b.initializer(f"onnx::{path}_R", b.uniform((dirs, gates * hidden, hidden), bound))
    bias = b.initializer(f"onnx::{path}_B", b.uniform((dirs, 2 * gates * hidden), bound))
    return w, r, bias


def lstm(seed: int):
    b = Builder("lstm", seed)
    x = b.input("x", "float32", [32, 1, 64])
    h0 = b.input("h0", "float32", [1, 1, 128])
    c0 = b.input("c0", "float32", [1, 1, 128])
    w, r, bias = rnn_weights(b, "lstm1", 4, 1, 64, 128)
    y1, _, _ = b.node("LSTM", [x, w, r, bias, "", h0, c0], "lstm1", n_out=3,
                      direction="forward", hidden_size=128)
    y1 = b.node("Squeeze", [y1, b.constant([1], "lstm1", np.int64)], "lstm1")  # [32, 1, 128]
    w, r, bias = rnn_weights(b, "lstm2", 4, 2, 128, 32)
    _, h2, _ = b.node("LSTM", [y1, w, r, bias], "lstm2", n_out=3,
                      direction="bidirectional", hidden_size=32)
    h = b.node("Transpose", [h2], "", perm=[1, 0, 2])  # [1, 2, 32]
    h = b.node("Reshape", [h, b.constant([1, -1], "", np.int64)], "")
    b.gemm(h, "fc", 64, 10, init="lecun", output="logits")
    b.output("logits", "float32", [1, 10])
    return b.model(), (
        "LSTM(64->128, initial_h/initial_c as inputs, sequence_lens omitted) -> Squeeze -> "
        "bidirectional LSTM(128->32) -> Y_h Transpose/Reshape -> Gemm"
    )


def gru(seed: int):
    b = Builder("gru", seed)
    x = b.input("x", "float32", [16, 1, 32])
    w, r, bias = rnn_weights(b, "gru", 3, 1, 32, 64)
    h0 = b.initializer("onnx::gru_initial_h", b.normal((1, 1, 64), 0.5))
    y = b.node("GRU", [x, w, r, bias, "", h0], "gru", n_out=2,
               direction="forward", hidden_size=64, linear_before_reset=1)[0]
    y = b.node("Squeeze", [y, b.constant([1], "gru", np.int64)], "gru")  # [16, 1, 64]
    y = b.node("Reshape", [y, b.constant([-1, 64], "", np.int64)], "")
    b.gemm(y, "fc", 64, 10, init="lecun", output="logits")
    b.output("logits", "float32", [16, 10])
    return b.model(), (
        "GRU(32->64, linear_before_reset=1, constant initial_h) -> Y Squeeze/Reshape -> "
        "per-step Gemm"
    )


# ---- Transformer encoder ---------------------------------------------------------------


def layer_norm(b: Builder, x: str, path: str, d: int, eps: float = 1e-5) -> str:
    """LayerNorm as decomposed by the exporter at opset < 17 semantics."""
    mean = b.node("ReduceMean", [x], path, axes=[-1], keepdims=1)
    centered = b.node("Sub", [x, mean], path)
    sq = b.node("Pow", [centered, b.constant(2.0, path)], path)
    var = b.node("ReduceMean", [sq], path, axes=[-1], keepdims=1)
    std = b.node("Sqrt", [b.node("Add", [var, b.constant(eps, path)], path)], path)
    normed = b.node("Div", [centered, std], path)
    gamma = b.initializer(f"{path}.weight", b.normal((d,), 0.1, 1.0))
    beta = b.initializer(f"{path}.bias", b.normal((d,), 0.1))
    return b.node("Add", [b.node("Mul", [normed, gamma], path), beta], path)


def gelu_erf(b: Builder, x: str, path: str) -> str:
    """0.5 * x * (1 + erf(x / sqrt(2))), node for node as exported."""
    e = b.node("Erf", [b.node("Div", [x, b.constant(math.sqrt(2.0), path)], path)], path)
    e = b.node("Add", [e, b.constant(1.0, path)], path)
    return b.node("Mul", [b.node("Mul", [x, e], path), b.constant(0.5, path)], path)


def split_heads(b: Builder, x: str, path: str, heads: int, d_head: int, perm) -> str:
    """view(batch, seq, heads, d_head) with batch/seq read from Shape, then permute."""
    shape = b.node("Concat", [b.dim(x, 0, path), b.dim(x, 1, path),
                              b.constant([heads], path, np.int64),
                              b.constant([d_head], path, np.int64)], path, axis=0)
    return b.node("Transpose", [b.node("Reshape", [x, shape], path)], path, perm=perm)


def self_attention(b: Builder, x: str, mask: str, path: str, d: int, heads: int) -> str:
    d_head = d // heads
    q = b.linear_matmul(x, f"{path}.query", d, d)
    k = b.linear_matmul(x, f"{path}.key", d, d)
    v = b.linear_matmul(x, f"{path}.value", d, d)
    q = split_heads(b, q, path, heads, d_head, [0, 2, 1, 3])  # [b, h, s, dh]
    k = split_heads(b, k, path, heads, d_head, [0, 2, 3, 1])  # [b, h, dh, s]
    v = split_heads(b, v, path, heads, d_head, [0, 2, 1, 3])
    scores = b.node("MatMul", [q, k], path)
    scores = b.node("Div", [scores, b.constant(math.sqrt(d_head), path)], path)
    scores = b.node("Add", [scores, mask], path)
    probs = b.node("Softmax", [scores], path, axis=-1)
    ctx = b.node("Transpose", [b.node("MatMul", [probs, v], path)], path, perm=[0, 2, 1, 3])
    shape = b.node("Concat", [b.dim(ctx, 0, path), b.dim(ctx, 1, path),
                              b.constant([d], path, np.int64)], path, axis=0)
    return b.node("Reshape", [ctx, shape], path)


def encoder_layer(b: Builder, x: str, mask: str, path: str, d: int, heads: int, ffn: int) -> str:
    a = self_attention(b, x, mask, f"{path}.attention.self", d, heads)
    a = b.linear_matmul(a, f"{path}.attention.output.dense", d, d)
    x = layer_norm(b, b.node("Add", [a, x], f"{path}.attention.output"), f"{path}.attention.output.LayerNorm", d)
    f = b.linear_matmul(x, f"{path}.intermediate.dense", d, ffn)
    f = gelu_erf(b, f, f"{path}.intermediate.intermediate_act_fn")
    f = b.linear_matmul(f, f"{path}.output.dense", ffn, d)
    return layer_norm(b, b.node("Add", [f, x], f"{path}.output"), f"{path}.output.LayerNorm", d)


def transformer_tiny(seed: int):
    vocab, seq, d, heads, ffn, layers = 100, 16, 64, 4, 256, 2
    b = Builder("transformer_tiny", seed)
    ids = b.input("input_ids", "int64", [1, seq])
    attention_mask = b.input("attention_mask", "int64", [1, seq])

    # Extended mask: (1 - mask[:, None, None, :].float()) * -10000
    m = b.node("Unsqueeze", [attention_mask, b.constant([1], "", np.int64)], "")
    m = b.node("Unsqueeze", [m, b.constant([2], "", np.int64)], "")
    m = b.node("Cast", [m], "", to=1)
    m = b.node("Sub", [b.constant(1.0, ""), m], "")
    mask = b.node("Mul", [m, b.constant(-10000.0, "")], "")

    word = b.initializer("embeddings.word_embeddings.weight", b.normal((vocab, d)))
    pos = b.initializer("embeddings.position_embeddings.weight", b.normal((seq, d), 0.5))
    position_ids = b.initializer("embeddings.position_ids", np.arange(seq, dtype=np.int64)[None, :])
    h = b.node("Gather", [word, ids], "embeddings.word_embeddings", axis=0)
    p = b.node("Gather", [pos, position_ids], "embeddings.position_embeddings", axis=0)
    h = b.node("Add", [h, p], "embeddings")
    h = layer_norm(b, h, "embeddings.LayerNorm", d)
    for i in range(layers):
        h = encoder_layer(b, h, mask, f"encoder.layer.{i}", d, heads, ffn)
    b.node("Identity", [h], "", outputs=["last_hidden_state"])
    b.output("last_hidden_state", "float32", [1, seq, d])
    return b.model(), (
        "BERT-style encoder, 2 layers, d=64, 4 heads: Gather embeddings, Shape-arithmetic "
        "Reshape, Transpose, scaled MatMul attention with additive mask from attention_mask, "
        "decomposed LayerNorm, Erf GELU"
    )


# ---- Generative ------------------------------------------------------------------------


def autoencoder(seed: int):
    b = Builder("autoencoder", seed)
    x = b.input("x", "float32", [1, 1, 28, 28])
    h = b.relu(b.conv(x, "encoder.0", 1, 16, 3, 2, 1), "encoder.1")    # 14x14
    h = b.relu(b.conv(h, "encoder.2", 16, 32, 3, 2, 1), "encoder.3")   # 7x7
    h = b.relu(b.conv(h, "encoder.4", 32, 64, 3, 2, 1), "encoder.5")   # 4x4
    h = b.relu(b.conv_transpose(h, "decoder.0", 64, 32, 3, 2, 1, 0), "decoder.1")  # 7x7
    h = b.relu(b.conv_transpose(h, "decoder.2", 32, 16, 3, 2, 1, 1), "decoder.3")  # 14x14
    h = b.conv_transpose(h, "decoder.4", 16, 1, 3, 2, 1, 1)                        # 28x28
    b.node("Sigmoid", [h], "decoder.5", outputs=["reconstruction"])
    b.output("reconstruction", "float32", [1, 1, 28, 28])
    return b.model(), (
        "Conv autoencoder 28->14->7->4->7->14->28: stride-2 Conv+Relu encoder, "
        "ConvTranspose decoder (pads 1, output_padding 0 and 1), Sigmoid"
    )


def resize(b: Builder, x: str, path: str, scale: float, **attrs) -> str:
    """Opset-13 Resize with an empty roi and a scales input, as the exporter writes it."""
    roi = b.constant(np.zeros(0, np.float32), path)
    scales = b.constant([1.0, 1.0, scale, scale], path)
    return b.node("Resize", [x, roi, scales], path, **attrs)


def vae_decoder(seed: int):
    b = Builder("vae_decoder", seed)
    z = b.input("z", "float32", [1, 16])
    h = b.gemm(z, "fc", 16, 32 * 4 * 4)
    h = b.node("Reshape", [h, b.constant([-1, 32, 4, 4], "", np.int64)], "")
    h = resize(b, h, "up1", 2.0, mode="nearest", coordinate_transformation_mode="asymmetric",
               nearest_mode="floor")
    h = b.node("LeakyRelu", [b.conv(h, "conv1", 32, 16, 3)], "act1", alpha=0.2)
    h = resize(b, h, "up2", 2.0, mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
    h = b.conv(h, "conv2", 16, 3, 3)
    b.node("Sigmoid", [h], "", outputs=["image"])
    b.output("image", "float32", [1, 3, 16, 16])
    return b.model(), (
        "VAE decoder: Gemm -> Reshape [1,32,4,4] -> Resize nearest x2 -> Conv+LeakyRelu -> "
        "Resize bilinear (pytorch_half_pixel) x2 -> Conv -> Sigmoid"
    )


def gan_generator(seed: int):
    b = Builder("gan_generator", seed)
    z = b.input("z", "float32", [1, 32, 1, 1])
    h = b.conv_transpose(z, "main.0", 32, 64, 4, 1, 0, bias=False)             # 4x4
    h = b.relu(b.batchnorm(h, "main.1", 64), "main.2")
    h = b.conv_transpose(h, "main.3", 64, 32, 4, 2, 1, bias=False)             # 8x8
    h = b.relu(b.batchnorm(h, "main.4", 32), "main.5")
    h = b.conv_transpose(h, "main.6", 32, 16, 4, 2, 1, bias=False)             # 16x16
    h = b.relu(b.batchnorm(h, "main.7", 16), "main.8")
    h = b.conv_transpose(h, "main.9", 16, 3, 4, 2, 1, bias=False)              # 32x32
    b.node("Tanh", [h], "main.10", outputs=["image"])
    b.output("image", "float32", [1, 3, 32, 32])
    return b.model(), (
        "DCGAN generator: ConvTranspose 4x4 (1->4, then stride 2 pad 1 to 32x32) + "
        "BatchNormalization + Relu, Tanh"
    )


# ---- Siamese ---------------------------------------------------------------------------


def embedding_tower(b: Builder, x: str, path: str) -> str:
    """Both calls use the same initializers; only node names differ, as in a re-used module."""
    h = b.node("Conv", [x, "embedding.conv1.weight", "embedding.conv1.bias"], f"{path}.conv1",
               kernel_shape=[5, 5], pads=[2, 2, 2, 2], strides=[1, 1])
    h = b.node("MaxPool", [b.relu(h, f"{path}.relu")], f"{path}.pool", kernel_shape=[2, 2], strides=[2, 2])
    h = b.node("Conv", [h, "embedding.conv2.weight", "embedding.conv2.bias"], f"{path}.conv2",
               kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    h = b.node("MaxPool", [b.relu(h, f"{path}.relu")], f"{path}.pool", kernel_shape=[2, 2], strides=[2, 2])
    h = b.node("Flatten", [h], path, axis=1)
    return b.node("Gemm", [h, "embedding.fc.weight", "embedding.fc.bias"], f"{path}.fc", transB=1)


def siamese(seed: int):
    b = Builder("siamese", seed)
    a = b.input("a", "float32", [1, 1, 28, 28])
    c = b.input("b", "float32", [1, 1, 28, 28])
    b.initializer("embedding.conv1.weight", b.he((8, 1, 5, 5), 25))
    b.initializer("embedding.conv1.bias", b.uniform((8,), 0.2))
    b.initializer("embedding.conv2.weight", b.he((16, 8, 3, 3), 72))
    b.initializer("embedding.conv2.bias", b.uniform((16,), 0.1))
    b.initializer("embedding.fc.weight", b.lecun((32, 784), 784))
    b.initializer("embedding.fc.bias", b.uniform((32,), 1 / 28))
    ea = embedding_tower(b, a, "embedding")
    eb = embedding_tower(b, c, "embedding_1")

    # F.normalize(ea): ReduceL2 -> Clip(min=eps) -> Div
    norm = b.node("ReduceL2", [ea], "", axes=[1], keepdims=1)
    norm = b.node("Clip", [norm, b.constant(1e-12, ""), ""], "")
    b.node("Div", [ea, norm], "", outputs=["embedding_a"])
    # By hand for eb: sqrt(sum(x^2)) -> Max(eps) -> Div
    sq = b.node("Pow", [eb, b.constant(2.0, "")], "")
    norm = b.node("Sqrt", [b.node("ReduceSum", [sq, b.constant([1], "", np.int64)], "", keepdims=1)], "")
    norm = b.node("Max", [norm, b.constant(1e-12, "")], "")
    b.node("Div", [eb, norm], "", outputs=["embedding_b"])

    prod = b.node("Mul", ["embedding_a", "embedding_b"], "")
    b.node("ReduceSum", [prod, b.constant([1], "", np.int64)], "", outputs=["similarity"], keepdims=0)
    b.output("embedding_a", "float32", [1, 32])
    b.output("embedding_b", "float32", [1, 32])
    b.output("similarity", "float32", [1])
    return b.model(), (
        "Siamese net: one Conv/Relu/MaxPool/Gemm tower (shared initializers) applied to a and b, "
        "L2 normalization (ReduceL2+Clip; Pow/ReduceSum/Sqrt+Max), cosine similarity"
    )


SMALL = {
    "mlp": mlp,
    "lenet": lenet,
    "resnet_tiny": resnet_tiny,
    "mobilenet_tiny": mobilenet_tiny,
    "inception_tiny": inception_tiny,
    "lstm": lstm,
    "gru": gru,
    "transformer_tiny": transformer_tiny,
    "autoencoder": autoencoder,
    "vae_decoder": vae_decoder,
    "gan_generator": gan_generator,
    "siamese": siamese,
}

FULL_SIZE = {
    "resnet18": resnet18,
    "mobilenetv2": mobilenetv2,
}
