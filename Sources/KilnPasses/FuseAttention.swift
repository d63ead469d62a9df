import KilnIR

/// fuse-attention: rebuilds scaled dot-product attention from the matmul/softmax chain that
/// multi-head attention blocks export to (PyTorch nn.MultiheadAttention, HF BERT).
///
///     %kt = transpose(%k) {perm = [0, 1, 3, 2]} : f32[1,4,16,16]
///     %s = mat_mul(%q, %kt) : f32[1,4,16,16]
///     %c = div(%s, %sqrt_d) : f32[1,4,16,16]             // or mul by 1/√d; or q and k scaled
///     %m = add(%c, %mask) : f32[1,4,16,16]               // optional
///     %p = softmax(%m) {axis = 3} : f32[1,4,16,16]
///     %y = mat_mul(%p, %v) : f32[1,4,16,8]
///   becomes
///     %y = attention(%q, %k, %v, %mask) {scale = 0.25, k_transposed = false} : f32[1,4,16,8]
///
/// Algorithm: at a mat_mul whose first operand is a single-use last-axis softmax, walk back
/// through an optional additive mask and any scalar mul/div scalings (on the scores, on q,
/// on kᵀ) to the mat_mul(q, kᵀ); the scale is the product of those scalings. kᵀ is passed
/// as is (`k_transposed = true`) unless it is a single-use transpose that swaps only the
/// last two axes, whose operand is passed instead. Every absorbed value must have a
/// single use, so the old chain dies; q, k and v must have the same rank and leading dims
/// (the attention op's type rule), and the mask must broadcast into the scores.
/// Precondition: verified graph. Guarantees: the same outputs up to float rounding (the
/// scalings are folded into one scale).
public struct FuseAttention: Pass {
    public init() {}
    public var name: String { "fuse-attention" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([MatchAttention()], to: &graph)
    }
}

struct MatchAttention: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .matMul = node.op, node.operands.count == 2,
              let sm = r.absorbable(node.operands[0]), case .softmax(let s) = sm.op, !s.log else { return nil }
        let scoresType = r.type(of: sm.results[0])
        let rank = scoresType.shape.rank
        guard rank >= 2, s.axis == rank - 1 || s.axis == -1, scoresType.dtype.isFloat else { return nil }
        var scale = 1.0
        var cur = sm.operands[0]
        var mask: ValueID?
        // Optional additive mask: the operand that is not the scaled q·kᵀ chain.
        if let add = r.absorbable(cur), case .binary(.add, .none) = add.op {
            for (k, other) in [(0, 1), (1, 0)] where qkChain(add.operands[k], r) != nil {
                let m = r.type(of: add.operands[other])
                if m.dtype == scoresType.dtype, r.type(of: add.results[0]) == scoresType,
                   Shape.broadcast(m.shape, scoresType.shape) == scoresType.shape {
                    mask = add.operands[other]
                    cur = add.operands[k]
                    break
                }
            }
            guard mask != nil else { return nil }
        }
        guard let (mm, factor) = qkChain(cur, r) else { return nil }
        scale *= factor
        var (q, kt) = (mm.operands[0], mm.operands[1])
        scale *= peelScalings(&q, r)
        scale *= peelScalings(&kt, r)
        var k = kt
        var kTransposed = true
        if let t = r.absorbable(kt), case .transpose(let p) = t.op {
            var swapped = p.perm
            swapped.swapAt(rank - 1, rank - 2)
            if p.perm.count == rank, swapped == Array(0..<rank) {
                k = t.operands[0]
                kTransposed = false
            }
        }
        let op = Op.attention(Attention(scale: Float(scale), kTransposed: kTransposed))
        let operands = [q, k, node.operands[1]] + (mask.map { [$0] } ?? [])
        guard let types = try? op.resultTypes(operands.map { r.type(of: $0) }),
              types == [r.type(of: node.results[0])] else { return nil }
        return [try r.create1(op, operands, nodeName: node.name)]
    }

    /// `v` is single-use `mat_mul(q, kᵀ)`, possibly under single-use scalar muls/divs: the
    /// mat_mul node and the product of the scalings.
    private func qkChain(_ v: ValueID, _ r: Rewriter) -> (Node, Double)? {
        var cur = v
        let factor = peelScalings(&cur, r)
        guard let mm = r.absorbable(cur), case .matMul = mm.op, mm.operands.count == 2,
              r.type(of: mm.operands[0]).shape.rank == r.type(of: mm.operands[1]).shape.rank else { return nil }
        return (mm, factor)
    }

    /// Walks `v` back through single-use `mul(·, c)`/`div(·, c)` by scalar constants whose
    /// result keeps the operand's type; returns the product of the factors.
    private func peelScalings(_ v: inout ValueID, _ r: Rewriter) -> Double {
        var factor = 1.0
        while let n = r.absorbable(v) {
            if let (x, c) = r.binaryWithScalar(n, .mul), r.type(of: x) == r.type(of: v) {
                factor *= c
                v = x
            } else if let (x, c) = r.binaryWithScalar(n, .div), c != 0, r.type(of: x) == r.type(of: v) {
                factor /= c
                v = x
            } else {
                break
            }
        }
        return factor
    }
}
