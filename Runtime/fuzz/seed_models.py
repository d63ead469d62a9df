"""Tiny versions of the Graphs models, written as ONNX files, for the fuzzers' seed corpora.

The Graphs models hold up to 570 KB of weights; a fuzzer mutating such a plan spends its
time copying and multiplying weights. These models keep each Graphs model's topology
(the same helper functions from Graphs/models.py) with widths of 2-8, so their plans are
a few KB and cover the same opcodes.

    python Runtime/fuzz/seed_models.py OUT_DIR    # writes OUT_DIR/<name>.onnx
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "Graphs"))

import models as m  # noqa: E402
from onnx_builder import Builder  # noqa: E402


def mlp():
    b = Builder("mlp", 1)
    x = b.input("x", "float32", [1, 8])
    h = b.relu(b.gemm(x, "fc1", 8, 6), "relu1")
    h = b.node("Dropout", [h, b.constant(0.1, "dropout")], "dropout")
    h = b.relu(b.gemm(h, "fc2", 6, 4), "relu2")
    logits = b.gemm(h, "fc3", 4, 3, init="lecun")
    b.node("Softmax", [logits], "softmax", outputs=["probs"], axis=-1)
    b.output("probs", "float32", [1, 3])
    return b.model()


def lenet():
    b = Builder("lenet", 2)
    x = b.input("x", "float32", [1, 1, 8, 8])
    h = b.relu(b.conv(x, "conv1", 1, 2, 3, pad=1), "relu1")
    h = b.node("MaxPool", [h], "pool1", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.relu(b.conv(h, "conv2", 2, 3, 3, pad=0), "relu2")
    h = b.node("AveragePool", [h], "pool2", kernel_shape=[2, 2], strides=[2, 2], pads=[0, 0, 0, 0])
    h = b.node("Flatten", [h], "", axis=1)
    b.gemm(h, "fc", 3, 2, init="lecun", output="logits")
    b.output("logits", "float32", [1, 2])
    return b.model()


def resnet():
    b = Builder("resnet", 3)
    x = b.input("x", "float32", [1, 2, 6, 6])
    h = b.conv_bn_relu(x, "conv1", "bn1", "relu", 2, 4, 3)
    h = m.basic_block(b, h, "layer1.0", 4, 4, 1)
    h = m.basic_block(b, h, "layer2.0", 4, 6, 2)
    h = m.bottleneck_block(b, h, "layer3.0", 6, 2, 6, 1)
    m.classifier_head(b, h, 6, 3)
    b.output("logits", "float32", [1, 3])
    return b.model()


def mobilenet():
    b = Builder("mobilenet", 4)
    x = b.input("x", "float32", [1, 2, 6, 6])
    h = m.conv_bn_relu6(b, x, "features.0", 2, 4, 3)
    h = m.inverted_residual(b, h, "features.1", 4, 4, 1, 2)
    h = m.inverted_residual(b, h, "features.2", 4, 6, 2, 2)
    h = b.node("GlobalAveragePool", [h], "avgpool")
    h = m.flatten_by_shape(b, h)
    b.gemm(h, "classifier", 6, 3, init="lecun", output="logits")
    b.output("logits", "float32", [1, 3])
    return b.model()


def inception():
    b = Builder("inception", 5)
    x = b.input("x", "float32", [1, 2, 6, 6])
    h = m.inception_block(b, x, "inception3a", 2, (2, 2, 2, 1, 2, 1), double_3x3=False)
    h = m.inception_block(b, h, "inception3b", 7, (1, 1, 2, 1, 1, 1), double_3x3=True)
    m.classifier_head(b, h, 5, 2)
    b.output("logits", "float32", [1, 2])
    return b.model()


def lstm():
    b = Builder("lstm", 6)
    x = b.input("x", "float32", [3, 1, 4])
    h0 = b.input("h0", "float32", [1, 1, 3])
    c0 = b.input("c0", "float32", [1, 1, 3])
    w, r, bias = m.rnn_weights(b, "lstm1", 4, 1, 4, 3)
    y1, _, _ = b.node("LSTM", [x, w, r, bias, "", h0, c0], "lstm1", n_out=3, direction="forward", hidden_size=3)
    y1 = b.node("Squeeze", [y1, b.constant([1], "lstm1", np.int64)], "lstm1")
    w, r, bias = m.rnn_weights(b, "lstm2", 4, 2, 3, 2)
    _, h2, _ = b.node("LSTM", [y1, w, r, bias], "lstm2", n_out=3, direction="bidirectional", hidden_size=2)
    h = b.node("Transpose", [h2], "", perm=[1, 0, 2])
    h = b.node("Reshape", [h, b.constant([1, -1], "", np.int64)], "")
    b.gemm(h, "fc", 4, 2, init="lecun", output="logits")
    b.output("logits", "float32", [1, 2])
    return b.model()


def gru():
    b = Builder("gru", 7)
    x = b.input("x", "float32", [3, 1, 4])
    w, r, bias = m.rnn_weights(b, "gru", 3, 1, 4, 3)
    h0 = b.initializer("onnx::gru_initial_h", b.normal((1, 1, 3), 0.5))
    y = b.node("GRU", [x, w, r, bias, "", h0], "gru", n_out=2, direction="forward", hidden_size=3,
               linear_before_reset=1)[0]
    y = b.node("Squeeze", [y, b.constant([1], "gru", np.int64)], "gru")
    y = b.node("Reshape", [y, b.constant([-1, 3], "", np.int64)], "")
    b.gemm(y, "fc", 3, 2, init="lecun", output="logits")
    b.output("logits", "float32", [3, 2])
    return b.model()


def transformer():
    vocab, seq, d, heads, ffn = 5, 3, 4, 2, 8
    b = Builder("transformer", 8)
    ids = b.input("input_ids", "int64", [1, seq])
    attention_mask = b.input("attention_mask", "int64", [1, seq])
    mk = b.node("Unsqueeze", [attention_mask, b.constant([1], "", np.int64)], "")
    mk = b.node("Unsqueeze", [mk, b.constant([2], "", np.int64)], "")
    mk = b.node("Cast", [mk], "", to=1)
    mk = b.node("Sub", [b.constant(1.0, ""), mk], "")
    mask = b.node("Mul", [mk, b.constant(-10000.0, "")], "")
    word = b.initializer("embeddings.word_embeddings.weight", b.normal((vocab, d)))
    h = b.node("Gather", [word, ids], "embeddings.word_embeddings", axis=0)
    h = m.layer_norm(b, h, "embeddings.LayerNorm", d)
    h = m.encoder_layer(b, h, mask, "encoder.layer.0", d, heads, ffn)
    b.node("Identity", [h], "", outputs=["last_hidden_state"])
    b.output("last_hidden_state", "float32", [1, seq, d])
    return b.model()


def autoencoder():
    b = Builder("autoencoder", 9)
    x = b.input("x", "float32", [1, 1, 8, 8])
    h = b.relu(b.conv(x, "encoder.0", 1, 2, 3, 2, 1), "encoder.1")
    h = b.relu(b.conv(h, "encoder.2", 2, 3, 3, 2, 1), "encoder.3")
    h = b.relu(b.conv_transpose(h, "decoder.0", 3, 2, 3, 2, 1, 1), "decoder.1")
    h = b.conv_transpose(h, "decoder.2", 2, 1, 3, 2, 1, 1)
    b.node("Sigmoid", [h], "decoder.3", outputs=["reconstruction"])
    b.output("reconstruction", "float32", [1, 1, 8, 8])
    return b.model()


def vae_decoder():
    b = Builder("vae_decoder", 10)
    z = b.input("z", "float32", [1, 4])
    h = b.gemm(z, "fc", 4, 2 * 2 * 2)
    h = b.node("Reshape", [h, b.constant([-1, 2, 2, 2], "", np.int64)], "")
    h = m.resize(b, h, "up1", 2.0, mode="nearest", coordinate_transformation_mode="asymmetric", nearest_mode="floor")
    h = b.node("LeakyRelu", [b.conv(h, "conv1", 2, 2, 3)], "act1", alpha=0.2)
    h = m.resize(b, h, "up2", 2.0, mode="linear", coordinate_transformation_mode="pytorch_half_pixel")
    h = b.conv(h, "conv2", 2, 1, 3)
    b.node("Tanh", [h], "", outputs=["image"])
    b.output("image", "float32", [1, 1, 8, 8])
    return b.model()


def siamese():
    b = Builder("siamese", 11)
    a = b.input("a", "float32", [1, 3])
    c = b.input("b", "float32", [1, 3])
    norm = b.node("ReduceL2", [a], "", axes=[1], keepdims=1)
    norm = b.node("Clip", [norm, b.constant(1e-12, ""), ""], "")
    b.node("Div", [a, norm], "", outputs=["embedding_a"])
    sq = b.node("Pow", [c, b.constant(2.0, "")], "")
    norm = b.node("Sqrt", [b.node("ReduceSum", [sq, b.constant([1], "", np.int64)], "", keepdims=1)], "")
    norm = b.node("Max", [norm, b.constant(1e-12, "")], "")
    b.node("Div", [c, norm], "", outputs=["embedding_b"])
    prod = b.node("Mul", ["embedding_a", "embedding_b"], "")
    b.node("ReduceSum", [prod, b.constant([1], "", np.int64)], "", outputs=["similarity"], keepdims=0)
    b.output("similarity", "float32", [1])
    return b.model()


MODELS = [mlp, lenet, resnet, mobilenet, inception, lstm, gru, transformer, autoencoder, vae_decoder, siamese]

if __name__ == "__main__":
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for fn in MODELS:
        model = fn()
        onnx.checker.check_model(model, full_check=True)
        onnx.save(model, out / f"{fn.__name__}.onnx")
