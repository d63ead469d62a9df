// Linear algebra: Gemm, MatMul (numpy batched semantics), Einsum.

/// Gemm: `alpha * A' * B' + beta * C`, operands A [M,K] (or [K,M]), B, optional C
/// (unidirectionally broadcast to [M,N]).
public struct Gemm: Hashable, Sendable {
    public var alpha: Float
    public var beta: Float
    public var transA: Bool
    public var transB: Bool
    public init(alpha: Float, beta: Float, transA: Bool, transB: Bool) {
        self.alpha = alpha; self.beta = beta; self.transA = transA; self.transB = transB
    }
}

/// MatMul with numpy semantics (1-D operands promoted and the added dim removed,
/// batch dims broadcast).
public struct MatMul: Hashable, Sendable { public init() {} }

/// Einsum over explicit or implicit equations (e.g. `bhqd,bhkd->bhqk`).
public struct Einsum: Hashable, Sendable {
    public var equation: String
    public init(equation: String) { self.equation = equation }
}
