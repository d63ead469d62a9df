import KilnIR

// Resize, recurrent layers and quantization → RESIZE, RECURRENT, QUANTIZE_LINEAR,
// DEQUANTIZE_LINEAR.

extension RecurrentActivation {
    /// The unary function code and parameters of the runtime's activation slot.
    var runtimeFunc: (UnaryFunc, Float, Float) {
        switch self {
        case .relu: return (.relu, 0, 0)
        case .tanh: return (.tanh, 0, 0)
        case .sigmoid: return (.sigmoid, 0, 0)
        case .softsign: return (.softsign, 0, 0)
        case .softplus: return (.softplus, 0, 0)
        case .affine(let a, let b): return (.affine, a, b)
        case .leakyRelu(let a): return (.leakyRelu, a, 0)
        case .thresholdedRelu(let a): return (.thresholdedRelu, a, 0)
        case .scaledTanh(let a, let b): return (.scaledTanh, a, b)
        case .hardSigmoid(let a, let b): return (.hardSigmoid, a, b)
        case .elu(let a): return (.elu, a, 0)
        }
    }
}

extension Lowerer {
    mutating func lowerResize(_ r: Resize, _ n: Node) throws {
        let x = n.operands[0]
        try require(!r.antialias, "resize with antialias is not supported by the runtime yet")
        try requireDType(x, [.f32], "resize")
        let mode: ResizeModeCode
        switch r.mode {
        case .nearest: mode = .nearest
        case .linear: mode = .linear
        case .cubic: mode = .cubic
        }
        let coord: CoordinateTransformCode
        switch r.coordinateTransform {
        case .halfPixel: coord = .halfPixel
        case .halfPixelSymmetric: coord = .halfPixelSymmetric
        case .pytorchHalfPixel: coord = .pytorchHalfPixel
        case .alignCorners: coord = .alignCorners
        case .asymmetric: coord = .asymmetric
        case .tfCropAndResize: coord = .tfCropAndResize
        case .tfHalfPixelForNN: coord = .tfHalfPixelForNn
        }
        let nearest: NearestModeCode
        switch r.nearestMode {
        case .roundPreferFloor: nearest = .roundPreferFloor
        case .roundPreferCeil: nearest = .roundPreferCeil
        case .floor: nearest = .floor
        case .ceil: nearest = .ceil
        }
        // roi: starts for axes 0..rank-1, then ends, as the IR holds it (or zeros).
        let roi = r.roi.count == 2 * r.scales.count ? r.roi : []
        try emit(.resize, [.i(Int(mode.rawValue)), .i(Int(coord.rawValue)), .i(Int(nearest.rawValue)),
                           .b(r.excludeOutside), .b(false), .f(r.cubicCoeffA), .f(r.extrapolationValue)]
                    + padded(r.scales.map(AttributeValue.f), to: 8, with: .f(0))
                    + padded(roi.map(AttributeValue.f), to: 16, with: .f(0)),
                 [tensor(x)], [result(n.results[0])])
    }

    /// Results nobody reads (Y when only Y_h is used) are left absent; the scratch buffer
    /// holds `seq·batch·G·H + batch·G·H + 4·batch·H` floats. A dynamically quantized op
    /// becomes DYN_QRECURRENT: the same attributes, its w_scales and r_scales appended as
    /// f32 [dirs·G·H] constants.
    mutating func lowerRecurrent(_ r: Recurrent, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32], r.kind.rawValue)
        let xs = type(x).shape
        let (seq, batch) = r.layout == 0 ? (xs[0], xs[1]) : (xs[1], xs[0])
        let kind: RecurrentKindCode, gates: Int
        switch r.kind {
        case .rnn: (kind, gates) = (.rnn, 1)
        case .gru: (kind, gates) = (.gru, 3)
        case .lstm: (kind, gates) = (.lstm, 4)
        }
        let direction: DirectionCode
        switch r.direction {
        case .forward: direction = .forward
        case .reverse: direction = .reverse
        case .bidirectional: direction = .bidirectional
        }
        let perDirection = r.kind == .rnn ? 1 : (r.kind == .gru ? 2 : 3)
        let slots = r.activations.count == perDirection * r.direction.count
            ? r.activations : Array(repeating: r.activations, count: r.direction.count).flatMap { $0 }
        let funcs = slots.map(\.runtimeFunc)
        try require(funcs.count <= 6, "\(r.kind.rawValue): \(funcs.count) activations; the runtime has 6 slots")
        let h = r.hiddenSize
        var results: [Int?] = n.results.map { v in needed[v.index] ? result(v) : nil }
        let scratchCount = seq * batch * gates * h + batch * gates * h + 4 * batch * h
        results.append(temp("scratch", TensorType(.f32, [scratchCount])))
        var operands = n.operands.map { tensor($0) }
        if let q = r.dynQuant {
            try require(constant(n.operands[1]) != nil && constant(n.operands[2]) != nil,
                        "\(r.kind.rawValue): quantized W and R must be constants")
            operands += [constantTensor("w_scales", Tensor([q.wScales.count], floats: q.wScales)),
                         constantTensor("r_scales", Tensor([q.rScales.count], floats: q.rScales))]
        }
        try emit(r.dynQuant == nil ? .recurrent : .dynQrecurrent,
                 [.i(Int(kind.rawValue)), .i(Int(direction.rawValue)), .i(h), .i(r.layout), .b(r.linearBeforeReset),
                  .b(r.inputForget), .b(r.clip != nil), .f(r.clip ?? 0)]
                    + padded(funcs.map { .i(Int($0.0.rawValue)) }, to: 6, with: .i(0))
                    + padded(funcs.map { .f($0.1) }, to: 6, with: .f(0))
                    + padded(funcs.map { .f($0.2) }, to: 6, with: .f(0)),
                 operands, results)
    }

    mutating func lowerQuantize(axis: Int?, blockSize: Int, _ opcode: Opcode, _ n: Node) throws {
        let (x, scale) = (n.operands[0], n.operands[1])
        let what = opcode == .quantizeLinear ? "quantize_linear" : "dequantize_linear"
        try requireDType(scale, [.f32], "\(what) scale")
        let quantized: [DType] = [.i8, .u8, .i16, .u16, .i32]
        if opcode == .quantizeLinear {
            try requireDType(x, [.f32], what)
            try require(quantized.contains(type(n.results[0]).dtype),
                        "\(what) to \(type(n.results[0]).dtype.rawValue) is not supported by the runtime (i8, u8, i16, u16, i32)")
        } else {
            try requireDType(x, quantized, what)
            try requireDType(n.results[0], [.f32], "\(what) result")
        }
        let s = type(scale).shape
        let perTensor = blockSize == 0 && s.elementCount == 1 && s.rank <= 1
        let zeroPoint = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        try emit(opcode, [.i(perTensor ? -1 : (axis ?? -1)), .i(blockSize)], [tensor(x), tensor(scale), zeroPoint],
                 [result(n.results[0])])
    }
}
