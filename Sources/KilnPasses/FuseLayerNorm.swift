import KilnIR

/// fuse-layernorm: rebuilds LayerNormalization from the elementwise pattern exporters emit
/// for it (opset < 17, or a hand-written LayerNorm module).
///
///     %mean = reduce_mean(%x) {axes = [2], keep_dims = true} : f32[1,16,1]
///     %d = sub(%x, %mean) : f32[1,16,64]
///     %sq = pow(%d, %two) : f32[1,16,64]                 // or mul(%d, %d)
///     %var = reduce_mean(%sq) {axes = [2], keep_dims = true} : f32[1,16,1]
///     %ve = add(%var, %eps) : f32[1,16,1]
///     %std = sqrt(%ve) : f32[1,16,1]
///     %n = div(%d, %std) : f32[1,16,64]                  // or mul(%d, reciprocal(%std))
///     %s = mul(%n, %gamma) : f32[1,16,64]                // optional
///     %y = add(%s, %beta) : f32[1,16,64]                 // optional
///   becomes
///     %y = layer_norm(%x, %gamma, %beta) {axis = 2, epsilon = 1e-05} : f32[1,16,64]
///
/// Algorithm: three patterns. (1) At the normalizing div/mul, walk the operands back
/// through sqrt, add-epsilon, reduce_mean, pow-2 (or d·d), sub and the first reduce_mean;
/// both reductions must cover the same trailing block of axes with keep_dims, which is
/// LayerNorm's `axis...` semantics. It becomes `layer_norm(x, ones)`. (2) A mul by a value
/// that broadcasts into the normalized shape, applied to a single-use layer_norm whose
/// scale is the all-ones constant and that has no bias, becomes its scale. (3) Likewise an
/// add becomes the bias of a single-use layer_norm without one.
/// Not matched: epsilon added after the sqrt (`d / (sqrt(var) + eps)` is a different
/// function), unbiased variance, reductions that are not a trailing block.
/// Precondition: verified graph (run after canonicalize and CSE so a duplicated `x - mean`
/// is one value). Guarantees: the same outputs up to float rounding.
public struct FuseLayerNorm: Pass {
    public init() {}
    public var name: String { "fuse-layernorm" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([MatchLayerNorm(), FoldScaleIntoLayerNorm(), FoldBiasIntoLayerNorm()], to: &graph)
    }
}

struct MatchLayerNorm: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(let kind, .none) = node.op, kind == .div || kind == .mul else { return nil }
        let (d, std): (ValueID, ValueID)
        if kind == .div {
            (d, std) = (node.operands[0], node.operands[1])
        } else if let s = r.unary(node.operands[1], .reciprocal) {
            (d, std) = (node.operands[0], s)
        } else if let s = r.unary(node.operands[0], .reciprocal) {
            (d, std) = (node.operands[1], s)
        } else {
            return nil
        }
        guard let ve = r.unary(std, .sqrt), let veNode = r.producer(of: ve),
              let (variance, eps) = r.binaryWithScalar(veNode, .add), eps >= 0,
              let varNode = r.producer(of: variance), case .reduce(let varReduce) = varNode.op, varReduce.kind == .mean,
              let sqNode = r.producer(of: varNode.operands[0]), squares(sqNode, of: d, r),
              let (_, x, mean) = r.binary(d, .sub),
              let meanNode = r.producer(of: mean), case .reduce(let meanReduce) = meanNode.op, meanReduce.kind == .mean,
              meanNode.operands[0] == x else { return nil }
        let xt = r.type(of: x)
        guard xt.dtype.isFloat, r.type(of: node.results[0]) == xt, r.type(of: d) == xt,
              let axis = trailingAxis(meanReduce, rank: xt.shape.rank),
              trailingAxis(varReduce, rank: xt.shape.rank) == axis else { return nil }
        let normalized = Shape(Array(xt.shape.dims[axis...]))
        let ones = try r.create1(.constant(Tensor(xt.dtype, normalized, doubles: Array(repeating: 1, count: normalized.elementCount))),
                                 [], name: r.graph[x].name + ".ln_scale")
        return [try r.create1(.layerNorm(LayerNorm(axis: axis, epsilon: Float(eps))), [x, ones], nodeName: node.name)]
    }

    /// `sq` is `pow(d, 2)` or `mul(d, d)`.
    private func squares(_ sq: Node, of d: ValueID, _ r: Rewriter) -> Bool {
        if let (base, e) = r.binaryWithScalar(sq, .pow), base == d, e == 2, sq.operands[0] == d { return true }
        if case .binary(.mul, .none) = sq.op, sq.operands == [d, d] { return true }
        return false
    }

    /// The first axis of a keep-dims reduction over the trailing block `axis..<rank`.
    private func trailingAxis(_ reduce: Reduce, rank: Int) -> Int? {
        guard reduce.keepDims, !reduce.axes.isEmpty else { return nil }
        let axes = reduce.axes.map { $0 < 0 ? $0 + rank : $0 }.sorted()
        guard let first = axes.first, first >= 0, axes == Array(first..<rank) else { return nil }
        return first
    }
}

/// Splits a binary `kind` node into (layer_norm node, other operand) when one operand is a
/// layer_norm result that the rewrite may absorb.
private func layerNormOperand(_ node: Node, _ kind: BinaryOp, _ r: Rewriter) -> (Node, LayerNorm, ValueID)? {
    guard case .binary(kind, .none) = node.op, node.operands.count == 2 else { return nil }
    for (k, other) in [(0, 1), (1, 0)] {
        if let ln = r.absorbable(node.operands[k]), case .layerNorm(let a) = ln.op,
           r.type(of: node.results[0]) == r.type(of: ln.results[0]) {
            let x = r.type(of: ln.operands[0])
            let normalized = Shape(Array(x.shape.dims[a.axis...]))
            let o = r.type(of: node.operands[other])
            if o.dtype == x.dtype, broadcastsInto(o.shape, normalized) { return (ln, a, node.operands[other]) }
        }
    }
    return nil
}

struct FoldScaleIntoLayerNorm: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let (ln, a, gamma) = layerNormOperand(node, .mul, r), ln.operands.count == 2,
              let scale = r.constant(ln.operands[1]), scale.doubles.allSatisfy({ $0 == 1 }) else { return nil }
        return [try r.create1(.layerNorm(a), [ln.operands[0], gamma], nodeName: ln.name)]
    }
}

struct FoldBiasIntoLayerNorm: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let (ln, a, beta) = layerNormOperand(node, .add, r), ln.operands.count == 2 else { return nil }
        return [try r.create1(.layerNorm(a), [ln.operands[0], ln.operands[1], beta], nodeName: ln.name)]
    }
}
