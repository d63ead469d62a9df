import KilnIR

/// fuse-silu: rebuilds SiLU / Swish (YOLOv5–v8, EfficientNet, many LLM MLPs) from the
/// elementwise form exporters emit, so fuse-activation can then fold it into the
/// producing conv / gemm / mat_mul.
///
///     %s = sigmoid(%x) : f32[1,32,80,80]
///     %y = mul(%x, %s) : f32[1,32,80,80]                  // or mul(%s, %x)
///   becomes
///     %y = silu(%x) : f32[1,32,80,80]
///
/// ONNX's Swish (opset 24) with alpha 1 imports as this pair and fuses the same way.
///
/// Algorithm: at a mul with no fused activation whose operands are x and sigmoid(x) (same
/// value x, in either order), where the sigmoid is used only by this mul and is not a
/// graph output, and x is float with the mul's own result type (no broadcasting), replace
/// the mul by silu(x); the sigmoid becomes dead.
/// Precondition: verified graph. Guarantees: the same outputs up to float rounding
/// (the runtime evaluates x·sigmoid(x) in one vector loop).
public struct FuseSilu: Pass {
    public init() {}
    public var name: String { "fuse-silu" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([MatchSilu()], to: &graph)
    }
}

struct MatchSilu: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(.mul, .none) = node.op, node.operands.count == 2 else { return nil }
        for (x, s) in [(node.operands[0], node.operands[1]), (node.operands[1], node.operands[0])] {
            guard let sig = r.absorbable(s), case .unary(.sigmoid) = sig.op, sig.operands[0] == x else { continue }
            let xt = r.type(of: x)
            guard xt.dtype.isFloat, r.type(of: node.results[0]) == xt else { return nil }
            return [try r.create1(.unary(.silu), [x], nodeName: node.name)]
        }
        return nil
    }
}
