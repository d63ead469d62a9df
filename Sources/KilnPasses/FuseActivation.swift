import KilnIR

/// fuse-activation: folds a bias Add into the Conv or 2-D MatMul before it, and an
/// activation (relu, clip — Relu6 —, leaky_relu, sigmoid, tanh, hard_swish, gelu, …) into
/// the Conv, Gemm or MatMul that feeds it, so the kernel applies it to each output block
/// while it is still in cache.
///
///     %c = mat_mul(%x, %w) : f32[1,64]
///     %b = add(%c, %bias) : f32[1,64]
///     %y = clip(%b) {min = 0.0, max = 6.0} : f32[1,64]
///   becomes
///     %y = gemm(%x, %w, %bias) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false, activation = clip(min = 0.0, max = 6.0)} : f32[1,64]
///
/// Patterns: (1) add(conv(x, w), c) with c a constant [M,1,1] / [1,M,1,1] (per output
/// channel, as many trailing 1s as spatial axes) → conv(x, w, c reshaped to [M]);
/// (2) add(mat_mul(a, b), c) with 2-D a and b and c a constant that broadcasts to the
/// [M,N] result with rank ≤ 2 → gemm(a, b, c); (3) act(p) with p a conv, gemm or mat_mul
/// without an activation and act an activation function or clip → p {activation = act}
/// (but hard_swish after a conv, which runs faster as its own pass).
/// Each applies only when the producer's result is f32 (the runtime kernels' dtype), has
/// no other use and is not a graph output, and the producer has no activation yet (a bias
/// must come before the activation).
/// Precondition: verified graph. Guarantees: the same outputs up to float rounding (a
/// fused bias is added inside the product's accumulation order).
public struct FuseActivation: Pass {
    public init() {}
    public var name: String { "fuse-activation" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FuseConvBias(), FuseMatMulBias(), FuseProducerActivation()], to: &graph)
    }
}

/// `p`'s single f32 result has no other use and is not a graph output.
func isPrivateF32Result(_ v: ValueID, _ r: Rewriter) -> Bool {
    r.useCount(v) == 1 && !r.isGraphOutput(v) && r.type(of: v).dtype == .f32
}

/// For a binary add node, its operands as (computed value, constant), in either order.
private func addOfConstant(_ node: Node, _ r: Rewriter) -> (value: ValueID, constant: Tensor)? {
    guard case .binary(.add, .none) = node.op else { return nil }
    let (a, b) = (node.operands[0], node.operands[1])
    if let c = r.constant(b), r.constant(a) == nil { return (a, c) }
    if let c = r.constant(a), r.constant(b) == nil { return (b, c) }
    return nil
}

struct FuseConvBias: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let (v, c) = addOfConstant(node, r), isPrivateF32Result(v, r),
              let conv = r.producer(of: v), case .conv(let attrs) = conv.op, attrs.activation == nil,
              conv.operands.count == 2 else { return nil }
        let out = r.type(of: v).shape
        let channels = out[1], spatial = out.rank - 2
        // [M, 1, …] or [1, M, 1, …]: one value per output channel, no other broadcast.
        let perChannel = [channels] + [Int](repeating: 1, count: spatial)
        guard c.dtype == .f32, c.shape.dims == perChannel || c.shape.dims == [1] + perChannel,
              r.type(of: node.results[0]).shape == out else { return nil }
        let bias = try r.create1(.constant(c.reshaped([channels])), [], name: r.graph[node.results[0]].name + ".bias")
        return [try r.create1(.conv(attrs), conv.operands + [bias], nodeName: conv.name)]
    }
}

struct FuseMatMulBias: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let (v, c) = addOfConstant(node, r), isPrivateF32Result(v, r),
              let mm = r.producer(of: v), case .matMul(let attrs) = mm.op, attrs.activation == nil,
              r.type(of: mm.operands[0]).shape.rank == 2, r.type(of: mm.operands[1]).shape.rank == 2,
              c.dtype == .f32, c.shape.rank <= 2, r.type(of: node.results[0]) == r.type(of: v) else { return nil }
        let gemm = Gemm(alpha: 1, beta: 1, transA: false, transB: false)
        let bias = try r.create1(.constant(c), [], name: r.graph[node.results[0]].name + ".bias")
        return [try r.create1(.gemm(gemm), mm.operands + [bias], nodeName: mm.name)]
    }
}

struct FuseProducerActivation: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let act = FusedActivation(node.op), node.operands.count == 1 else { return nil }
        let v = node.operands[0]
        guard isPrivateF32Result(v, r), let producer = r.producer(of: v), producer.results.count == 1 else { return nil }
        var fused: Op?
        // HardSwish stays a separate op after a conv: the conv epilogues apply it in short
        // calls that cost more than its own vectorized pass over the result (PicoDet's
        // layout detector: 1.03x the unfused Add/Clip/Mul/Div form's time fused, 0.86x not).
        if case .conv(var c) = producer.op, c.activation == nil, act != .unary(.hardSwish) {
            c.activation = act
            fused = .conv(c)
        } else if case .gemm(var g) = producer.op, g.activation == nil {
            g.activation = act
            fused = .gemm(g)
        } else if case .matMul(var m) = producer.op, m.activation == nil {
            m.activation = act
            fused = .matMul(m)
        }
        guard let fused else { return nil }
        return [try r.create1(fused, producer.operands, nodeName: producer.name)]
    }
}
