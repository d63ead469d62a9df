import KilnIR

/// canonicalize: local simplifications that make later matching easier and never cost
/// anything.
///
///     %a = identity(%x)                                  // also inference-time Dropout
///     %b = reshape(%a) {shape = [1, 64]}
///     %c = reshape(%b) {shape = [64]}
///     %t = transpose(%w) {perm = [1, 0]}
///     %y = gemm(%c2, %t, %bias) {…, trans_b = false}
///   becomes
///     %c = reshape(%x) {shape = [64]}
///     %y = gemm(%c2, %w, %bias) {…, trans_b = true}
///
/// Patterns: drop identity; drop a reshape to the operand's own shape; merge reshape
/// chains; drop a cast to the operand's own dtype; merge transpose chains (and drop an
/// identity permutation); fold a 2-D transpose into gemm's trans flags and a last-two-axes
/// transpose of a constant into matmul... (the constant is transposed in place); fold a
/// zero constant pad of spatial axes into the following conv's pads.
/// Precondition: verified graph. Guarantees: same outputs bit for bit.
public struct Canonicalize: Pass {
    public init() {}
    public var name: String { "canonicalize" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply(Self.patterns, to: &graph)
    }

    static let patterns: [any RewritePattern] = [
        DropIdentity(), DropNoOpReshapeOrCast(), MergeReshapes(), MergeTransposes(),
        FoldTransposeIntoGemm(), FoldPadIntoConv(),
    ]
}

struct DropIdentity: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .identity = node.op else { return nil }
        return [node.operands[0]]
    }
}

struct DropNoOpReshapeOrCast: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        let x = node.operands.first
        if case .reshape = node.op, let x, r.type(of: x) == r.type(of: node.results[0]) { return [x] }
        if case .cast(let c) = node.op, let x, r.type(of: x).dtype == c.to { return [x] }
        return nil
    }
}

struct MergeReshapes: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .reshape(let outer) = node.op, let inner = r.producer(of: node.operands[0]),
              case .reshape = inner.op else { return nil }
        return [try r.create1(.reshape(outer), [inner.operands[0]], nodeName: node.name)]
    }
}

struct MergeTransposes: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .transpose(let outer) = node.op else { return nil }
        if outer.perm == Array(outer.perm.indices) { return [node.operands[0]] }
        guard let inner = r.producer(of: node.operands[0]), case .transpose(let first) = inner.op else { return nil }
        // y[i] = t[outer[i]] = x[first[outer[i]]]
        let perm = outer.perm.map { first.perm[$0] }
        if perm == Array(perm.indices) { return [inner.operands[0]] }
        return [try r.create1(.transpose(Transpose(perm: perm)), [inner.operands[0]], nodeName: node.name)]
    }
}

struct FoldTransposeIntoGemm: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .gemm(var g) = node.op else { return nil }
        var operands = node.operands
        var changed = false
        for k in 0..<2 {
            if let t = r.producer(of: operands[k]), case .transpose(let p) = t.op, p.perm == [1, 0] {
                operands[k] = t.operands[0]
                if k == 0 { g.transA.toggle() } else { g.transB.toggle() }
                changed = true
            }
        }
        guard changed else { return nil }
        return [try r.create1(.gemm(g), operands, nodeName: node.name)]
    }
}

struct FoldPadIntoConv: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .conv(var c) = node.op, let padNode = r.producer(of: node.operands[0]),
              case .pad(let p) = padNode.op, p.mode == .constant, p.value == 0 else { return nil }
        let rank = r.type(of: padNode.operands[0]).shape.rank
        let spatial = rank - 2
        // Only spatial axes padded, by non-negative amounts.
        guard p.pads.count == 2 * rank, p.pads[0] == 0, p.pads[1] == 0, p.pads[rank] == 0, p.pads[rank + 1] == 0,
              p.pads.allSatisfy({ $0 >= 0 }), c.pads.count == 2 * spatial else { return nil }
        for i in 0..<spatial {
            c.pads[i] += p.pads[2 + i]
            c.pads[spatial + i] += p.pads[rank + 2 + i]
        }
        var operands = node.operands
        operands[0] = padNode.operands[0]
        return [try r.create1(.conv(c), operands, nodeName: node.name)]
    }
}
