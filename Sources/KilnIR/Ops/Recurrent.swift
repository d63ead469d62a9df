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
    /// Set by quantize-dynamic: W and R are i8 (symmetric, one scale per row of
    /// [dirs·G·H] rows each) and x_t, h_{t-1} are quantized to u8 while running
    /// (Recurrent+DynQuant.swift defines the arithmetic). nil: the f32 op.
    public var dynQuant: RecurrentDynQuant?

    public init(kind: RecurrentKind, direction: RecurrentDirection, hiddenSize: Int,
                activations: [RecurrentActivation], clip: Float?, linearBeforeReset: Bool,
                inputForget: Bool, layout: Int) {
        self.kind = kind; self.direction = direction; self.hiddenSize = hiddenSize
        self.activations = activations; self.clip = clip; self.linearBeforeReset = linearBeforeReset
        self.inputForget = inputForget; self.layout = layout
    }
}

/// The per-row scales of a dynamically quantized recurrent op's i8 W and R.
public struct RecurrentDynQuant: Hashable, Sendable {
    /// [dirs·G·H]: row j of W (direction-major, gate order as ONNX) is `w_q[j] · wScales[j]`.
    public var wScales: [Float]
    /// [dirs·G·H]: the same for R.
    public var rScales: [Float]
    public init(wScales: [Float], rScales: [Float]) { self.wScales = wScales; self.rScales = rScales }
}

extension Recurrent: OpRule {
    /// Gates per direction: RNN 1, GRU 3 (z, r, h), LSTM 4 (i, o, f, c).
    var gateCount: Int {
        switch kind {
        case .rnn: return 1
        case .gru: return 3
        case .lstm: return 4
        }
    }

    /// Activation functions per direction: RNN 1, GRU 2 (f, g), LSTM 3 (f, g, h).
    var activationsPerDirection: Int {
        switch kind {
        case .rnn: return 1
        case .gru: return 2
        case .lstm: return 3
        }
    }

    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        let name = kind.rawValue
        try expectOperands(operands, kind == .lstm ? 8...8 : 6...6, name)
        let x = operands[0]
        try require(x.dtype.isFloat, "\(name): X must be a float tensor, got \(x.dtype.rawValue)")
        try require(x.shape.rank == 3, "\(name): X must have rank 3, got shape \(x.shape)")
        try require(layout == 0 || layout == 1, "\(name): layout must be 0 or 1, got \(layout)")
        try require(hiddenSize >= 1, "\(name): hidden size must be positive, got \(hiddenSize)")
        let (seq, batch) = layout == 0 ? (x.shape[0], x.shape[1]) : (x.shape[1], x.shape[0])
        let d = direction.count, h = hiddenSize, g = gateCount
        func expect(_ i: Int, _ what: String, _ shape: Shape) throws {
            let dtype = dynQuant != nil && (i == 1 || i == 2) ? DType.i8 : x.dtype
            try require(operands[i].dtype == dtype, "\(name): \(what) has dtype \(operands[i].dtype.rawValue), expected \(dtype.rawValue)")
            try require(operands[i].shape == shape, "\(name): \(what) must have shape \(shape), got \(operands[i].shape)")
        }
        if let q = dynQuant {
            try require(x.dtype == .f32, "\(name): a dynamically quantized \(name) needs f32 X, got \(x.dtype.rawValue)")
            try require(x.shape[2] < 65536 && h < 65536, "\(name): input and hidden size must be below 65536 when quantized")
            for (what, s) in [("w_scales", q.wScales), ("r_scales", q.rScales)] {
                try require(s.count == d * g * h, "\(name): \(what) has \(s.count) values, expected \(d * g * h) (one per row)")
                try require(s.allSatisfy { $0 > 0 && $0.isFinite }, "\(name): \(what) must be positive and finite")
            }
        }
        try expect(1, "W", [d, g * h, x.shape[2]])
        try expect(2, "R", [d, g * h, h])
        try expect(3, "B", [d, 2 * g * h])
        try require(operands[4].dtype == .i32 && operands[4].shape == Shape([batch]),
                    "\(name): sequence_lens must be i32[\(batch)], got \(operands[4])")
        let state: Shape = layout == 0 ? [d, batch, h] : [batch, d, h]
        try expect(5, "initial_h", state)
        if kind == .lstm {
            try expect(6, "initial_c", state)
            try expect(7, "P", [d, 3 * h])
        }
        let per = activationsPerDirection
        try require(activations.count == per * d || activations.count == per,
                    "\(name): expected \(per * d) activations (\(per) per direction), got \(activations.count)")
        if let c = clip { try require(c >= 0, "\(name): clip must be non-negative, got \(c)") }
        let y: Shape = layout == 0 ? [seq, d, batch, h] : [batch, seq, d, h]
        let states = kind == .lstm ? 2 : 1
        return [TensorType(x.dtype, y)] + Array(repeating: TensorType(x.dtype, state), count: states)
    }
}
