import KilnIR

/// fold-constants: evaluates, with the reference evaluator, every node whose operands are
/// all constants (and `shape`/`size` of any value, which are static), replacing its
/// results by constants.
///
///     %s = shape(%x) {start = 0, end = 2} : i64[2]
///     %i = constant i64[] dense<[1]>
///     %d = gather(%s, %i) {axis = 0} : i64[]
///   becomes
///     %d = constant i64[] dense<[64]>
///
/// This collapses exporter shape arithmetic (Shape/Gather/Concat/Unsqueeze/Cast) and
/// weight preprocessing such as weight normalization (w = g·v/‖v‖).
/// Precondition: verified graph. Guarantees: same outputs bit for bit as evaluating the
/// original nodes with the reference evaluator. Results larger than `maxBytes` are not
/// folded (an Expand of a scalar to a huge tensor stays a node).
public struct FoldConstants: Pass {
    public var maxBytes: Int
    public init(maxBytes: Int = 64 << 20) { self.maxBytes = maxBytes }
    public var name: String { "fold-constants" }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FoldPattern(maxBytes: maxBytes)], to: &graph)
    }
}

struct FoldPattern: RewritePattern {
    var maxBytes: Int

    func rewrite(_ node: Node, _ rewriter: inout Rewriter) throws -> [ValueID]? {
        if case .constant = node.op { return nil }
        let resultTypes = node.results.map { rewriter.type(of: $0) }
        guard resultTypes.map(\.byteCount).reduce(0, +) <= maxBytes else { return nil }
        let outs: [Tensor]
        if let s = staticResult(node, rewriter) {
            outs = s
        } else {
            var values: [Tensor] = []
            for o in node.operands {
                guard let t = rewriter.constant(o) else { return nil }
                values.append(t)
            }
            outs = try node.op.evaluate(values, results: resultTypes)
        }
        return try outs.enumerated().map { k, t in
            try rewriter.create1(.constant(t), [], name: rewriter.graph[node.results[k]].name)
        }
    }

    /// `shape` and `size` depend only on the operand's (static) type.
    func staticResult(_ node: Node, _ rewriter: Rewriter) -> [Tensor]? {
        guard let operand = node.operands.first else { return nil }
        let shape = rewriter.type(of: operand).shape
        if case .shapeOf(let s) = node.op {
            let dims = shape.dims[s.start..<s.end].map { Int64($0) }
            return [Tensor(.i64, [dims.count], int64s: Array(dims))]
        }
        if case .sizeOf = node.op {
            return [Tensor(.i64, [], int64s: [Int64(shape.elementCount)])]
        }
        return nil
    }
}
