import KilnIR

/// fuse-elementwise: folds an activation into the binary op that feeds it, so a residual
/// `add` followed by `relu` is one loop over the tensor (the BINARY kernel applies the
/// activation to each output row it has just written).
///
///     %s = add(%conv, %skip) : f32[1,32,16,16]
///     %y = relu(%s) : f32[1,32,16,16]
///   becomes
///     %y = add(%conv, %skip) {activation = relu} : f32[1,32,16,16]
///
/// Pattern: act(b) with b an arithmetic binary op (add, sub, mul, div, pow, min, max, mod,
/// fmod, prelu) without an activation, whose f32 result has no other use and is not a
/// graph output, and act an activation function or clip. Comparisons and logic (bool
/// results) and integer arithmetic do not qualify.
/// Precondition: verified graph. Guarantees: the same outputs bit for bit.
public struct FuseElementwise: Pass {
    public init() {}
    public var name: String { "fuse-elementwise" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FuseBinaryActivation()], to: &graph)
    }
}

struct FuseBinaryActivation: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let act = FusedActivation(node.op), node.operands.count == 1 else { return nil }
        let v = node.operands[0]
        guard isPrivateF32Result(v, r), let producer = r.producer(of: v),
              case .binary(let b, .none) = producer.op, !b.isComparison else { return nil }
        return [try r.create1(.binary(b, activation: act), producer.operands, nodeName: producer.name)]
    }
}
