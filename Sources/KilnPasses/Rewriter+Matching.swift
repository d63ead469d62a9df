import KilnIR

// Small matching helpers shared by the fusion patterns (fuse-layernorm, fuse-gelu,
// fuse-attention).

extension Rewriter {
    /// The value of a one-element float constant.
    func scalar(_ v: ValueID) -> Double? {
        guard let t = constant(v), t.count == 1, t.dtype.isFloat else { return nil }
        return t.doubles[0]
    }

    /// The producer of `v` when the rewrite may absorb it: `v` is used exactly once and is
    /// not a graph output.
    func absorbable(_ v: ValueID) -> Node? {
        guard useCount(v) == 1, !isGraphOutput(v) else { return nil }
        return producer(of: v)
    }

    /// For a binary `kind` node with one scalar-constant operand: the other operand and the
    /// constant (either order; for `sub`/`div` only the constant second counts).
    func binaryWithScalar(_ node: Node, _ kind: BinaryOp) -> (ValueID, Double)? {
        guard case .binary(kind, .none) = node.op, node.operands.count == 2 else { return nil }
        if let c = scalar(node.operands[1]) { return (node.operands[0], c) }
        if kind == .add || kind == .mul, let c = scalar(node.operands[0]) { return (node.operands[1], c) }
        return nil
    }

    /// The producer of `v` if it is the binary op `kind`, with its two operands.
    func binary(_ v: ValueID, _ kind: BinaryOp) -> (Node, ValueID, ValueID)? {
        guard let n = producer(of: v), case .binary(kind, .none) = n.op, n.operands.count == 2 else { return nil }
        return (n, n.operands[0], n.operands[1])
    }

    /// The operand of `v`'s producer if it is the unary op `kind`.
    func unary(_ v: ValueID, _ kind: UnaryOp) -> ValueID? {
        guard let n = producer(of: v), case .unary(kind) = n.op else { return nil }
        return n.operands[0]
    }
}

/// `a` within a relative tolerance of `b` (exporters write constants to 5–8 digits).
func approximately(_ a: Double, _ b: Double, tolerance: Double = 1e-4) -> Bool {
    abs(a - b) <= tolerance * abs(b)
}

/// Whether `s` broadcasts to `t` without changing `t` (numpy rules, aligned right).
func broadcastsInto(_ s: Shape, _ t: Shape) -> Bool {
    guard s.rank <= t.rank else { return false }
    let offset = t.rank - s.rank
    return (0..<s.rank).allSatisfy { s[$0] == 1 || s[$0] == t[$0 + offset] }
}
