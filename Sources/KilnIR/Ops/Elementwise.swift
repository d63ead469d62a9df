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
