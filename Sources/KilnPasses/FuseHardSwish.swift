import KilnIR

/// fuse-hardswish: rebuilds HardSwish (MobileNetV3, PP-OCR, PicoDet/PP-LCNet) from the
/// elementwise forms exporters emit, so fuse-activation can then fold it into the
/// producing conv / gemm / mat_mul.
///
///     %a = add(%x, %three)                               // 3.0
///     %c = clip(%a) {min = 0.0, max = 6.0}
///     %m = mul(%x, %c)                                   // or mul(%c, %x)
///     %y = div(%m, %six)                                 // or mul(%m, 1/6)
///   becomes
///     %y = hard_swish(%x)
///
/// Also `mul(%x, div(%c, %six))` (or `mul(%c, 1/6)` inside), and `mul(%x, %h)` with
/// `%h = hard_sigmoid(%x) {alpha = 1/6, beta = 0.5}` (PyTorch's export before opset 14).
/// paddle2onnx writes the first form: PicoDet's layout detector had 94 of them (282 binary
/// instructions, 15% of its time), PP-OCRv4's detector 47.
///
/// Algorithm: at a div / mul with no fused activation, match one of the forms above, every
/// intermediate used only there and not a graph output, the constants within 1e-4
/// relative, x float with the result's own type (no broadcasting); replace the root by
/// hard_swish(x), the rest becomes dead.
/// Precondition: verified graph. Guarantees: the same outputs up to float rounding
/// (hard_swish is x · clamp(x / 6 + 0.5, 0, 1)).
public struct FuseHardSwish: Pass {
    public init() {}
    public var name: String { "fuse-hardswish" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([MatchHardSwish()], to: &graph)
    }
}

struct MatchHardSwish: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let x = match(node, &r) else { return nil }
        let xt = r.type(of: x)
        guard xt.dtype.isFloat, r.type(of: node.results[0]) == xt else { return nil }
        return [try r.create1(.unary(.hardSwish), [x], nodeName: node.name)]
    }

    /// The x of a HardSwish rooted at `node`, if it is one.
    private func match(_ node: Node, _ r: inout Rewriter) -> ValueID? {
        // (x · gate) / 6 or (x · gate) · (1/6).
        if let m = sixth(node, r), let mul = r.absorbable(m), case .binary(.mul, .none) = mul.op, mul.operands.count == 2 {
            for (x, g) in [(mul.operands[0], mul.operands[1]), (mul.operands[1], mul.operands[0])] where isRelu6Gate(g, of: x, r) {
                return x
            }
        }
        guard case .binary(.mul, .none) = node.op, node.operands.count == 2 else { return nil }
        for (x, g) in [(node.operands[0], node.operands[1]), (node.operands[1], node.operands[0])] {
            guard let gate = r.absorbable(g) else { continue }
            // x · (gate / 6)
            if let c = sixth(gate, r), isRelu6Gate(c, of: x, r) { return x }
            // x · hard_sigmoid(x; 1/6, 0.5)
            if case .unary(.hardSigmoid(let alpha, let beta)) = gate.op, gate.operands[0] == x,
               approximately(Double(alpha), 1.0 / 6), approximately(Double(beta), 0.5) {
                return x
            }
        }
        return nil
    }

    /// For `v / 6` or `v · (1/6)` (either order), v.
    private func sixth(_ node: Node, _ r: Rewriter) -> ValueID? {
        if let (v, c) = r.binaryWithScalar(node, .div), approximately(c, 6) { return v }
        if let (v, c) = r.binaryWithScalar(node, .mul), approximately(c, 1.0 / 6) { return v }
        return nil
    }

    /// Whether `g` is clip(x + 3, 0, 6), each step used only once.
    private func isRelu6Gate(_ g: ValueID, of x: ValueID, _ r: Rewriter) -> Bool {
        guard let clip = r.absorbable(g), case .clip(let c) = clip.op, let lo = c.min, let hi = c.max,
              lo == 0, approximately(Double(hi), 6), let add = r.absorbable(clip.operands[0]),
              let (v, three) = r.binaryWithScalar(add, .add) else { return false }
        return v == x && approximately(three, 3)
    }
}
