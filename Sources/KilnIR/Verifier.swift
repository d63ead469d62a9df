/// Checks a graph's structure and types.
///
/// Algorithm:
/// 1. Every value id in range; names unique; inputs defined once, not by nodes.
/// 2. Walk nodes in order: every operand must already be defined (topological order,
///    SSA: each value defined exactly once).
/// 3. Re-run the op's type rule on the operand types; the node's result count and types
///    must equal what the rule infers. Errors name the node and the operand.
/// 4. Every graph output is defined.
public enum Verifier {
    public static func verify(_ g: Graph) throws {
        func label(_ i: Int, _ n: Node) -> String {
            let first = n.results.first.map { "%" + g.values[$0.index].name } ?? "#\(i)"
            return n.name.isEmpty ? "node \(first) (\(n.op.mnemonic))" : "node '\(n.name)' (\(n.op.mnemonic), result \(first))"
        }
        var seenNames = Set<String>()
        for v in g.values {
            if !seenNames.insert(v.name).inserted { throw KilnError("verifier: value name '%\(v.name)' is defined twice") }
        }
        var defined = [Bool](repeating: false, count: g.values.count)
        for id in g.inputs {
            try require(id.index >= 0 && id.index < g.values.count, "verifier: graph input \(id) out of range")
            try require(!defined[id.index], "verifier: graph input %\(g[id].name) listed twice")
            defined[id.index] = true
        }
        for (i, n) in g.nodes.enumerated() {
            for (k, o) in n.operands.enumerated() {
                try require(o.index >= 0 && o.index < g.values.count, "verifier: \(label(i, n)): operand #\(k) is an unknown value id \(o.index)")
                try require(defined[o.index], "verifier: \(label(i, n)): operand #\(k) %\(g[o].name) is used before it is defined")
            }
            for r in n.results {
                try require(r.index >= 0 && r.index < g.values.count, "verifier: \(label(i, n)): result id \(r.index) out of range")
                try require(!defined[r.index], "verifier: \(label(i, n)): result %\(g[r].name) is defined more than once")
                defined[r.index] = true
            }
            let operandTypes = n.operands.map { g.type(of: $0) }
            let expected: [TensorType]
            do {
                expected = try n.op.resultTypes(operandTypes)
            } catch let e as KilnError {
                let operands = zip(n.operands, operandTypes).map { "%\(g[$0].name): \(typeText($1))" }.joined(separator: ", ")
                throw KilnError("verifier: \(label(i, n)): \(e.message) (operands: \(operands))")
            }
            try require(expected.count == n.results.count,
                        "verifier: \(label(i, n)): op defines \(expected.count) results but the node has \(n.results.count)")
            for (r, t) in zip(n.results, expected) where g.type(of: r) != t {
                throw KilnError("verifier: \(label(i, n)): result %\(g[r].name) has type \(typeText(g.type(of: r))) but the op infers \(typeText(t))")
            }
        }
        for o in g.outputs {
            try require(o.index >= 0 && o.index < g.values.count && defined[o.index], "verifier: graph output \(o) is not defined")
        }
    }

    static func typeText(_ t: TensorType) -> String {
        t.quantization == nil ? t.description : t.description + "(quantized)"
    }
}
