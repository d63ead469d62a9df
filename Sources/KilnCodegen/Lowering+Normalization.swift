import KilnIR

// Normalizations and softmax → BATCH_NORM (statistics folded into scale and shift),
// INSTANCE_NORM, LAYER_NORM, GROUP_NORM, LRN, SOFTMAX.

extension Lowerer {
    /// y = x·scale + shift with `scale = γ / sqrt(var + ε)`, `shift = β − mean·scale`,
    /// computed here in double when the statistics are constants (the usual case) and by
    /// five elementwise instructions otherwise.
    mutating func lowerBatchNorm(_ b: BatchNorm, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32], "batch_norm")
        for v in n.operands.dropFirst() { try requireDType(v, [.f32], "batch_norm parameters") }
        let params = n.operands[1...4].map { constant($0) }
        let scale: Int, shift: Int
        if params.allSatisfy({ $0 != nil }) {
            let (gamma, beta, mean, variance) = (params[0]!.doubles, params[1]!.doubles, params[2]!.doubles, params[3]!.doubles)
            let s = zip(gamma, variance).map { g, v in g / (v + Double(b.epsilon)).squareRoot() }
            let t = (0..<s.count).map { beta[$0] - mean[$0] * s[$0] }
            scale = constantTensor("bn_scale", Tensor(.f32, [s.count], doubles: s))
            shift = constantTensor("bn_shift", Tensor(.f32, [t.count], doubles: t))
        } else {
            let c = type(n.operands[1])
            let eps = constantTensor("bn_epsilon", Tensor(.f32, [], doubles: [Double(b.epsilon)]))
            func binary(_ f: BinaryFunc, _ a: Int, _ b: Int, _ name: String) throws -> Int {
                let out = temp(name, c)
                try emit(.binary, [.i(Int(f.rawValue))], [a, b], [out])
                return out
            }
            let padded = try binary(.add, tensor(n.operands[4]), eps, "bn_var_eps")
            let std = temp("bn_std", c)
            try emit(.unary, [.i(Int(UnaryFunc.sqrt.rawValue)), .f(0), .f(0)], [padded], [std])
            scale = try binary(.div, tensor(n.operands[1]), std, "bn_scale")
            let centered = try binary(.mul, tensor(n.operands[3]), scale, "bn_mean_scale")
            shift = try binary(.sub, tensor(n.operands[2]), centered, "bn_shift")
        }
        try emit(.batchNorm, noActivation, [tensor(x), scale, shift], [result(n.results[0])])
    }

    mutating func lowerInstanceNorm(_ a: InstanceNorm, _ n: Node) throws {
        try requireNormParameters(n, "instance_norm")
        try emit(.instanceNorm, [.f(a.epsilon)], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    mutating func lowerGroupNorm(_ a: GroupNorm, _ n: Node) throws {
        try requireNormParameters(n, "group_norm")
        try emit(.groupNorm, [.i(a.groups), .f(a.epsilon)], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    /// The runtime wants scale and bias with exactly the normalized element count; a
    /// smaller operand that broadcasts is expanded (at compile time when constant).
    mutating func lowerLayerNorm(_ a: LayerNorm, _ n: Node) throws {
        try requireNormParameters(n, "layer_norm")
        let x = type(n.operands[0])
        let normalized = Shape(Array(x.shape.dims[a.axis...]))
        var operands: [Int?] = [tensor(n.operands[0])]
        for (i, v) in n.operands.enumerated().dropFirst() {
            let t = type(v)
            if t.shape.elementCount == normalized.elementCount {
                operands.append(tensor(v))
            } else if let c = constant(v) {
                let index = c.shape.broadcastSourceIndices(to: normalized)
                let values = c.doubles
                operands.append(constantTensor(i == 1 ? "ln_scale" : "ln_bias", Tensor(.f32, normalized, doubles: index.map { values[$0] })))
            } else {
                let out = temp(i == 1 ? "ln_scale" : "ln_bias", TensorType(.f32, normalized))
                try emit(.expand, [], [tensor(v)], [out])
                operands.append(out)
            }
        }
        try emit(.layerNorm, [.i(a.axis), .f(a.epsilon)], operands, [result(n.results[0])])
    }

    mutating func lowerLRN(_ a: LRN, _ n: Node) throws {
        try requireDType(n.operands[0], [.f32], "lrn")
        try emit(.lrn, [.i(a.size), .f(a.alpha), .f(a.beta), .f(a.bias)], [tensor(n.operands[0])], [result(n.results[0])])
    }

    mutating func lowerSoftmax(_ a: Softmax, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32], a.log ? "log_softmax" : "softmax")
        let axis = a.axis < 0 ? a.axis + type(x).shape.rank : a.axis
        try emit(.softmax, [.i(axis), .b(a.log)], [tensor(x)], [result(n.results[0])])
    }

    private func requireNormParameters(_ n: Node, _ what: String) throws {
        try requireDType(n.operands[0], [.f32], what)
        for v in n.operands.dropFirst() { try requireDType(v, [.f32], "\(what) parameters") }
    }
}
