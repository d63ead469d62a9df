import KilnIR

/// eliminate-common-subexpressions: nodes with the same op (attributes included) and the
/// same operands compute the same values; later ones are replaced by the first. Identical
/// constants are merged the same way.
///
///     %a = relu(%x)
///     %b = relu(%x)
///     %y = add(%a, %b)
///   becomes
///     %a = relu(%x)
///     %y = add(%a, %a)
///
/// Precondition: verified graph (ops are pure). Guarantees: same outputs bit for bit.
public struct EliminateCommonSubexpressions: Pass {
    public init() {}
    public var name: String { "eliminate-common-subexpressions" }

    struct Key: Hashable {
        var op: Op
        var operands: [ValueID]
        var types: [TensorType]
    }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        var seen = [Key: [ValueID]]()
        var changed = false
        var i = 0
        while i < graph.nodes.count {
            let n = graph.nodes[i]
            let key = Key(op: n.op, operands: n.operands, types: n.results.map { graph.type(of: $0) })
            if let earlier = seen[key], PatternDriver.keepsOutputNames(n.results, earlier, graph) {
                for (old, new) in zip(n.results, earlier) {
                    let wasOutput = graph.outputs.contains(old)
                    graph.replaceAllUses(of: old, with: new)
                    if wasOutput { PatternDriver.takeOverName(from: old, to: new, in: &graph) }
                }
                graph.nodes.remove(at: i)
                changed = true
            } else {
                if seen[key] == nil { seen[key] = n.results }
                i += 1
            }
        }
        return changed
    }
}
