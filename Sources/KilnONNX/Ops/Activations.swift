import KilnIR

// Activation functions and Softmax/LogSoftmax.

extension NodeContext {
    func leakyRelu() throws -> [ValueID?] {
        try unary(.leakyRelu(alpha: attr.float("alpha", default: 0.01)))
    }

    /// PRelu: the slope broadcasts to X.
    func prelu() throws -> [ValueID?] { [try emit1(.binary(.prelu), [input(0), legacyPReluSlope()])] }

    func elu() throws -> [ValueID?] { try unary(.elu(alpha: attr.float("alpha", default: 1))) }

    func selu() throws -> [ValueID?] {
        // Selu-1's defaults were 4-digit roundings of Selu-6's.
        try unary(.selu(alpha: attr.float("alpha", default: opset < 6 ? 1.6732 : 1.67326319217681884765625),
                        gamma: attr.float("gamma", default: opset < 6 ? 1.0507 : 1.05070102214813232421875)))
    }

    func celu() throws -> [ValueID?] { try unary(.celu(alpha: attr.float("alpha", default: 1))) }

    func hardSigmoid() throws -> [ValueID?] {
        try unary(.hardSigmoid(alpha: attr.float("alpha", default: 0.2), beta: attr.float("beta", default: 0.5)))
    }

    func thresholdedRelu() throws -> [ValueID?] {
        try unary(.thresholdedRelu(alpha: attr.float("alpha", default: 1)))
    }

    /// Gelu: `approximate` is "none" (erf form) or "tanh".
    func gelu() throws -> [ValueID?] {
        let approximate = try attr.string("approximate", default: "none")
        switch approximate {
        case "none": return try unary(.gelu(tanh: false))
        case "tanh": return try unary(.gelu(tanh: true))
        default: throw attr.invalid("approximate", "= '\(approximate)' is not supported (expected 'none' or 'tanh')")
        }
    }

    /// Swish (opset 24): `x * sigmoid(alpha * x)`.
    func swish() throws -> [ValueID?] {
        let x = try input(0)
        let alpha = try attr.float("alpha", default: 1)
        var scaled = x
        if alpha != 1 {
            let a = helperConstant("alpha", Tensor.scalar(Double(alpha), type(x).dtype))
            scaled = try helper("scaled", .binary(.mul), [x, a])
        }
        let s = try helper("sigmoid", .unary(.sigmoid), [scaled])
        return [try emit1(.binary(.mul), [x, s])]
    }

    /// Softmax and LogSoftmax. From opset 13 they work along one axis (default -1). Before,
    /// the input is coerced to 2-D `[prod(dims[..<axis]), prod(dims[axis...])]` (default
    /// axis 1) and normalized along the second axis: imported as reshape → softmax along
    /// the last axis → reshape back (a plain softmax when `axis` is already the last one).
    func softmax(log: Bool) throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        let rank = dims.count
        if opset >= 13 {
            let axis = try normalizeAxis(attr.int("axis", default: -1), rank: rank)
            return [try emit1(.softmax(Softmax(axis: axis, log: log)), [x])]
        }
        let axis = try normalizeAxis(attr.int("axis", default: 1), rank: rank)
        if axis == rank - 1 {
            return [try emit1(.softmax(Softmax(axis: axis, log: log)), [x])]
        }
        let outer = dims[..<axis].reduce(1, *)
        let inner = dims[axis...].reduce(1, *)
        let flat = try reshape("coerced_2d", x, [outer, inner])
        let y = try helper(log ? "log_softmax" : "softmax", .softmax(Softmax(axis: 1, log: log)), [flat])
        return [try emit1(.reshape(Reshape(shape: dims)), [y])]
    }
}
