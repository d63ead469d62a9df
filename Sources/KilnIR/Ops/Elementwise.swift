// Elementwise ops: unary math and activations, binary arithmetic/comparison/logic with
// numpy broadcasting, clip, where, cast.

/// Unary elementwise ops. Parameterized activations carry their ONNX attributes.
public enum UnaryOp: Hashable, Sendable {
    // math
    case abs, neg, exp, log, sqrt, reciprocal, floor, ceil, round, sign, erf
    case sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh
    case not, isNaN, isInf
    // activations
    case relu, sigmoid, tanh, softplus, softsign, mish, hardSwish
    /// SiLU (Swish with alpha 1): `x · sigmoid(x)`; only fuse-silu creates it (ONNX has no
    /// such op: exporters write Mul(x, Sigmoid(x)), opset 24 Swish imports as that).
    case silu
    case leakyRelu(alpha: Float)
    case elu(alpha: Float)
    case selu(alpha: Float, gamma: Float)
    case celu(alpha: Float)
    case hardSigmoid(alpha: Float, beta: Float)
    case thresholdedRelu(alpha: Float)
    /// GELU; `tanh` selects the tanh approximation (ONNX `approximate = "tanh"`).
    case gelu(tanh: Bool)
}

/// Binary elementwise ops with multidirectional (numpy) broadcasting.
public enum BinaryOp: String, Hashable, Sendable, CaseIterable {
    case add, sub, mul, div, pow, min, max, mod, fmod
    case equal, less, lessOrEqual, greater, greaterOrEqual
    case and, or, xor
    /// PRelu: `x < 0 ? slope * x : x`, slope broadcast to x.
    case prelu

    /// Comparison ops produce bool.
    public var isComparison: Bool {
        switch self {
        case .equal, .less, .lessOrEqual, .greater, .greaterOrEqual: return true
        case .add, .sub, .mul, .div, .pow, .min, .max, .mod, .fmod, .and, .or, .xor, .prelu: return false
        }
    }
}

/// Clip with static bounds (ONNX min/max inputs resolved at import); nil means unbounded.
public struct Clip: Hashable, Sendable {
    public var min: Float?
    public var max: Float?
    public init(min: Float?, max: Float?) { self.min = min; self.max = max }
}

/// Cast to another element type. `saturate` applies to float8 targets only in ONNX and is
/// kept for fidelity.
public struct Cast: Hashable, Sendable {
    public var to: DType
    public init(to: DType) { self.to = to }
}

/// `where(cond, x, y)` with broadcasting.
public struct Where: Hashable, Sendable { public init() {} }

// MARK: - Type rules (evaluation in Elementwise+Eval.swift)

extension UnaryOp {
    /// Which element types the op accepts (following the ONNX type constraints).
    enum Domain { case bool, float, signedOrFloat, numeric }

    var domain: Domain {
        switch self {
        case .not: return .bool
        case .abs, .sign: return .numeric
        case .neg, .relu: return .signedOrFloat
        case .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .erf,
             .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
             .isNaN, .isInf, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu,
             .leakyRelu, .elu, .selu, .celu, .hardSigmoid, .thresholdedRelu, .gelu:
            return .float
        }
    }
}

extension UnaryOp: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, mnemonic)
        let x = operands[0]
        switch domain {
        case .bool:
            try require(x.dtype == .bool, "\(mnemonic) expects a bool operand, got \(x.dtype.rawValue)")
        case .float:
            try require(x.dtype.isFloat, "\(mnemonic) expects a float operand, got \(x.dtype.rawValue)")
        case .signedOrFloat:
            try require(x.dtype.isFloat || (x.dtype.isInteger && x.dtype.isSigned),
                        "\(mnemonic) expects a float or signed integer operand, got \(x.dtype.rawValue)")
        case .numeric:
            try require(x.dtype.isNumeric, "\(mnemonic) expects a numeric operand, got bool")
        }
        let isPredicate = self == .isNaN || self == .isInf
        return [TensorType(isPredicate ? .bool : x.dtype, x.shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [try evaluateUnary(operands[0], results[0])]
    }
}

extension BinaryOp: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, mnemonic)
        let (a, b) = (operands[0], operands[1])
        func sameDType() throws {
            try require(a.dtype == b.dtype, "\(mnemonic): operand dtypes differ (\(a.dtype.rawValue) and \(b.dtype.rawValue))")
        }
        func numeric() throws {
            try require(a.dtype.isNumeric && b.dtype.isNumeric, "\(mnemonic) expects numeric operands, got bool")
        }
        guard let shape = Shape.broadcast(a.shape, b.shape) else {
            throw KilnError("\(mnemonic): shapes \(a.shape) and \(b.shape) do not broadcast")
        }
        switch self {
        case .prelu:
            try sameDType()
            try numeric()
            try require(shape == a.shape, "prelu: slope shape \(b.shape) does not broadcast to the input shape \(a.shape)")
            return [TensorType(a.dtype, a.shape)]
        case .pow:
            try numeric()
            return [TensorType(a.dtype, shape)]
        case .and, .or, .xor:
            try require(a.dtype == .bool && b.dtype == .bool,
                        "\(mnemonic) expects bool operands, got \(a.dtype.rawValue) and \(b.dtype.rawValue)")
            return [TensorType(.bool, shape)]
        case .equal:
            try sameDType()
            return [TensorType(.bool, shape)]
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            try sameDType()
            try numeric()
            return [TensorType(.bool, shape)]
        case .add, .sub, .mul, .div, .min, .max, .mod, .fmod:
            try sameDType()
            try numeric()
            return [TensorType(a.dtype, shape)]
        }
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [evaluateBinary(operands[0], operands[1], results[0])]
    }
}

extension Clip: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "clip")
        try require(operands[0].dtype.isNumeric, "clip expects a numeric operand, got bool")
        return [TensorType(operands[0].dtype, operands[0].shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [evaluateClip(operands[0])]
    }
}

extension Where: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 3...3, "where")
        let (c, x, y) = (operands[0], operands[1], operands[2])
        try require(c.dtype == .bool, "where: condition must be bool, got \(c.dtype.rawValue)")
        try require(x.dtype == y.dtype, "where: operand dtypes differ (\(x.dtype.rawValue) and \(y.dtype.rawValue))")
        guard let xy = Shape.broadcast(x.shape, y.shape), let shape = Shape.broadcast(c.shape, xy) else {
            throw KilnError("where: shapes \(c.shape), \(x.shape) and \(y.shape) do not broadcast")
        }
        return [TensorType(x.dtype, shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (c, x, y) = (operands[0], operands[1], operands[2])
        let shape = results[0].shape
        let ci = broadcastIndices(from: c.shape, to: shape)
        let xi = broadcastIndices(from: x.shape, to: shape)
        let yi = broadcastIndices(from: y.shape, to: shape)
        // Pick from x and y laid end to end: y's elements start at x.count.
        let both = Tensor(type: TensorType(x.dtype, [x.count + y.count]), bytes: x.bytes + y.bytes)
        let sources = (0..<shape.elementCount).map { c.bytes[ci[$0]] != 0 ? xi[$0] : x.count + yi[$0] }
        return [both.moved(sources, to: results[0])]
    }
}

extension Cast: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "cast")
        return [TensorType(to, operands[0].shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [evaluateCast(operands[0])]
    }
}
