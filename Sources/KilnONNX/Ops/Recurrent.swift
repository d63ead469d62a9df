import KilnIR

// RNN, GRU and LSTM. Missing optional inputs are materialized so the IR op always has
// its full operand list: B zeros, sequence_lens the full length (i32), initial_h/c
// zeros, P zeros.

extension NodeContext {
    func rnn() throws -> [ValueID?] { try recurrent(.rnn) }
    func gru() throws -> [ValueID?] { try recurrent(.gru) }
    func lstm() throws -> [ValueID?] { try recurrent(.lstm) }

    private func recurrent(_ kind: RecurrentKind) throws -> [ValueID?] {
        let x = try input(0)
        let w = try input(1)
        let r = try input(2)
        let xt = type(x)
        let layout = try attr.int("layout", default: 0)
        try require(layout == 0 || layout == 1, "attribute 'layout' = \(layout) must be 0 or 1")
        try require(xt.shape.rank == 3, "X must have rank 3, got \(xt.shape)")
        let (seq, batch) = layout == 0 ? (xt.shape[0], xt.shape[1]) : (xt.shape[1], xt.shape[0])
        let directionName = try attr.string("direction", default: "forward")
        guard let direction = RecurrentDirection(rawValue: directionName) else {
            throw attr.invalid("direction", "= '\(directionName)' is not supported")
        }
        let dirs = direction.count
        let gates: Int
        switch kind {
        case .rnn: gates = 1
        case .gru: gates = 3
        case .lstm: gates = 4
        }
        let wDims = type(w).shape.dims
        try require(wDims.count == 3 && wDims[0] == dirs && wDims[1] % gates == 0,
                    "W must have shape [\(dirs), \(gates)*hidden_size, input_size], got \(type(w).shape)")
        let hidden = try attr.int("hidden_size") ?? wDims[1] / gates
        try require(hidden == wDims[1] / gates && hidden >= 1,
                    "hidden_size \(hidden) does not match W \(type(w).shape) (expected \(wDims[1] / gates))")
        let dtype = xt.dtype
        let stateShape: Shape = layout == 0 ? [dirs, batch, hidden] : [batch, dirs, hidden]

        var operands = [x, w, r]
        operands.append(try optionalInput(3) ?? helperConstant("B", Tensor(zeros: TensorType(dtype, [dirs, 2 * gates * hidden]))))
        operands.append(try optionalInput(4) ?? helperConstant("sequence_lens",
            Tensor(.i32, [batch], int64s: [Int64](repeating: Int64(seq), count: batch))))
        operands.append(try optionalInput(5) ?? helperConstant("initial_h", Tensor(zeros: TensorType(dtype, stateShape))))
        if kind == .lstm {
            operands.append(try optionalInput(6) ?? helperConstant("initial_c", Tensor(zeros: TensorType(dtype, stateShape))))
            operands.append(try optionalInput(7) ?? helperConstant("P", Tensor(zeros: TensorType(dtype, [dirs, 3 * hidden]))))
        }

        let op = Recurrent(kind: kind, direction: direction, hiddenSize: hidden,
                           activations: try recurrentActivations(kind, directions: dirs),
                           clip: try attr.float("clip"),
                           linearBeforeReset: try attr.bool("linear_before_reset", default: false),
                           inputForget: try attr.bool("input_forget", default: false), layout: layout)
        return try emit(.recurrent(op), operands).map { $0 }
    }

    /// The cell activations for every direction. Defaults: RNN Tanh; GRU Sigmoid, Tanh;
    /// LSTM Sigmoid, Tanh, Tanh. `activation_alpha` / `activation_beta` are consumed in
    /// order by the functions that take them (as ONNX Runtime does); missing ones take
    /// the function's default.
    private func recurrentActivations(_ kind: RecurrentKind, directions: Int) throws -> [RecurrentActivation] {
        let perDirection: [String]
        switch kind {
        case .rnn: perDirection = ["Tanh"]
        case .gru: perDirection = ["Sigmoid", "Tanh"]
        case .lstm: perDirection = ["Sigmoid", "Tanh", "Tanh"]
        }
        var names = try attr.strings("activations") ?? []
        if names.isEmpty { names = Array([[String]](repeating: perDirection, count: directions).joined()) }
        if names.count == perDirection.count && directions == 2 { names += names }
        try require(names.count == perDirection.count * directions,
                    "attribute 'activations' must list \(perDirection.count * directions) functions, got \(names.count)")
        var alphas = (try attr.floats("activation_alpha") ?? [])[...]
        var betas = (try attr.floats("activation_beta") ?? [])[...]
        func alpha(_ d: Float) -> Float { alphas.popFirst() ?? d }
        func beta(_ d: Float) -> Float { betas.popFirst() ?? d }
        return try names.map { name -> RecurrentActivation in
            switch name.lowercased() {
            case "relu": return .relu
            case "tanh": return .tanh
            case "sigmoid": return .sigmoid
            case "softsign": return .softsign
            case "softplus": return .softplus
            case "affine": let a = alpha(1); return .affine(alpha: a, beta: beta(0))
            case "leakyrelu": return .leakyRelu(alpha: alpha(0.01))
            case "thresholdedrelu": return .thresholdedRelu(alpha: alpha(1))
            case "scaledtanh": let a = alpha(1); return .scaledTanh(alpha: a, beta: beta(1))
            case "hardsigmoid": let a = alpha(0.2); return .hardSigmoid(alpha: a, beta: beta(0.5))
            case "elu": return .elu(alpha: alpha(1))
            default: throw attr.invalid("activations", "names an unsupported function '\(name)'")
            }
        }
    }
}
