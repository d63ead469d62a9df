// Recurrent layers: RNN, GRU, LSTM as ONNX defines them (forward, reverse, bidirectional).

public enum RecurrentKind: String, Hashable, Sendable, CaseIterable { case rnn, gru, lstm }

public enum RecurrentDirection: String, Hashable, Sendable, CaseIterable {
    case forward, reverse, bidirectional
    public var count: Int { self == .bidirectional ? 2 : 1 }
}

/// Activation functions usable inside recurrent cells (ONNX `activations` attribute).
public enum RecurrentActivation: Hashable, Sendable {
    case relu, tanh, sigmoid, softsign, softplus
    case affine(alpha: Float, beta: Float)
    case leakyRelu(alpha: Float)
    case thresholdedRelu(alpha: Float)
    case scaledTanh(alpha: Float, beta: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case elu(alpha: Float)
}

/// RNN / GRU / LSTM. Operands are always materialized at import, in ONNX order:
/// X, W, R, B, sequence_lens (i32), initial_h, and for LSTM initial_c and P
/// (missing optional inputs become zero constants / full lengths).
/// Results: Y, Y_h, and for LSTM Y_c. `layout` 0 is [seq, batch, ...], 1 is batch-first.
public struct Recurrent: Hashable, Sendable {
    public var kind: RecurrentKind
    public var direction: RecurrentDirection
    public var hiddenSize: Int
    /// Per direction: 1 function for RNN, 2 for GRU (f, g), 3 for LSTM (f, g, h).
    public var activations: [RecurrentActivation]
    public var clip: Float?
    /// GRU only.
    public var linearBeforeReset: Bool
    /// LSTM only.
    public var inputForget: Bool
    public var layout: Int

    public init(kind: RecurrentKind, direction: RecurrentDirection, hiddenSize: Int,
                activations: [RecurrentActivation], clip: Float?, linearBeforeReset: Bool,
                inputForget: Bool, layout: Int) {
        self.kind = kind; self.direction = direction; self.hiddenSize = hiddenSize
        self.activations = activations; self.clip = clip; self.linearBeforeReset = linearBeforeReset
        self.inputForget = inputForget; self.layout = layout
    }
}
