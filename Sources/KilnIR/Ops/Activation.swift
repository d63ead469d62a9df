// Fused activations: conv, gemm, mat_mul and the binary ops may apply an activation to
// their result inside the op (`conv(…) {…, activation = relu}` is relu(conv(…))). The
// fuse-activation and fuse-elementwise passes set the field; the lowering passes it to the
// kernels' `act` field (PLAN_FORMAT.md §7).

/// The activation an op applies to its result. Only activation functions (not math such as
/// `exp` or predicates) and clip qualify.
public enum FusedActivation: Hashable, Sendable {
    case unary(UnaryOp)
    case clip(Clip)

    /// The activation `op` computes, or nil when `op` is not one that can be fused.
    public init?(_ op: Op) {
        if case .clip(let c) = op { self = .clip(c); return }
        guard case .unary(let u) = op, u.isActivation else { return nil }
        self = .unary(u)
    }

    /// The standalone op computing this activation.
    public var op: Op {
        switch self {
        case .unary(let u): return .unary(u)
        case .clip(let c): return .clip(c)
        }
    }

    /// The activation's name in the text form (`relu`, `leaky_relu`, `clip`).
    public var mnemonic: String { op.mnemonic }

    /// Checks the activation accepts and keeps `type` (a float `relu` result stays float).
    func check(_ type: TensorType, _ context: String) throws {
        let out: [TensorType]
        do {
            out = try op.resultTypes([type])
        } catch let e as KilnError {
            throw KilnError("\(context): fused activation: \(e.message)")
        }
        try require(out == [type], "\(context): fused activation \(mnemonic) changes the result type \(type)")
    }

    /// The activation applied to `t` by the op's reference evaluation.
    func apply(_ t: Tensor) throws -> Tensor {
        try op.evaluate([t], results: [t.type])[0]
    }
}

extension UnaryOp {
    /// Activation functions (as opposed to math and predicates): the ones an op may fuse.
    public var isActivation: Bool {
        switch self {
        case .relu, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu, .leakyRelu, .elu, .selu, .celu,
             .hardSigmoid, .thresholdedRelu, .gelu:
            return true
        case .abs, .neg, .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .sign, .erf,
             .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh, .not, .isNaN, .isInf:
            return false
        }
    }
}

/// An op's rule followed by its fused activation (`Op.rule` wraps conv, gemm, mat_mul and
/// binary ops in it): the type rule also checks the activation accepts the single result,
/// the evaluation applies it to the result.
struct ActivatedRule: OpRule {
    var base: any OpRule
    var activation: FusedActivation?
    var context: String

    func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        let types = try base.resultTypes(operands)
        if let activation {
            try require(types.count == 1, "\(context): a fused activation needs a single result")
            try activation.check(types[0], context)
        }
        return types
    }

    func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let out = try base.evaluate(operands, results: results)
        guard let activation else { return out }
        return try out.map { try activation.apply($0) }
    }
}
