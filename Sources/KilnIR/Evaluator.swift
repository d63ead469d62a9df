import Foundation

/// Runs a graph with the reference implementation of each op: the test oracle and the
/// engine of constant folding. Plain and obviously correct, not fast.
public enum Evaluator {
    /// The most memory one node's results may ask for: half this machine's RAM, counted at
    /// 8 bytes per element (the reference works in Double). Beyond it evaluating fails with a
    /// message instead of aborting in the allocator.
    static let resultBudget = Double(ProcessInfo.processInfo.physicalMemory) / 2

    /// Evaluates `g` on `inputs` (one tensor per graph input, in order) and returns the
    /// graph outputs. Input types must match the graph's input types exactly.
    public static func run(_ g: Graph, inputs: [Tensor]) throws -> [Tensor] {
        try require(inputs.count == g.inputs.count, "graph '\(g.name)' takes \(g.inputs.count) inputs, got \(inputs.count)")
        var env = [Tensor?](repeating: nil, count: g.values.count)
        for (id, t) in zip(g.inputs, inputs) {
            let want = g.type(of: id)
            try require(t.dtype == want.dtype, "input '\(g[id].name)': expected dtype \(want.dtype.rawValue), got \(t.dtype.rawValue)")
            try require(t.shape == want.shape, "input '\(g[id].name)': expected shape \(want.shape), got \(t.shape)")
            env[id.index] = t
        }
        // Free each value after its last use to keep memory flat on big graphs.
        var lastUse = [Int](repeating: -1, count: g.values.count)
        for (i, n) in g.nodes.enumerated() { for o in n.operands { lastUse[o.index] = i } }
        let outputSet = Set(g.outputs.map(\.index))
        for (i, n) in g.nodes.enumerated() {
            let args = try n.operands.map { o -> Tensor in
                guard let t = env[o.index] else { throw KilnError("evaluator: %\(g[o].name) has no value") }
                return t
            }
            let resultTypes = n.results.map { g.type(of: $0) }
            let need = resultTypes.reduce(0.0) { $0 + 8 * $1.shape.dims.reduce(1.0) { $0 * Double($1) } }
            if need > resultBudget {
                throw KilnError("evaluating \(n.name.isEmpty ? n.op.mnemonic : "'\(n.name)'"): its results \(resultTypes.map(\.description).joined(separator: ", ")) need \(String(format: "%.3g", need / 1e9)) GB, more than half this machine's memory")
            }
            let outs: [Tensor]
            do {
                outs = try n.op.evaluate(args, results: resultTypes)
            } catch let e as KilnError {
                throw KilnError("evaluating \(n.name.isEmpty ? n.op.mnemonic : "'\(n.name)'"): \(e.message)")
            }
            try require(outs.count == n.results.count, "evaluator: \(n.op.mnemonic) returned \(outs.count) results, expected \(n.results.count)")
            for (r, t) in zip(n.results, outs) {
                try require(t.type.dtype == g.type(of: r).dtype && t.shape == g.type(of: r).shape,
                            "evaluator: \(n.op.mnemonic) produced \(t.type) for %\(g[r].name), expected \(g.type(of: r))")
                env[r.index] = t
            }
            for o in n.operands where lastUse[o.index] == i && !outputSet.contains(o.index) { env[o.index] = nil }
        }
        return try g.outputs.map { o in
            guard let t = env[o.index] else { throw KilnError("evaluator: output %\(g[o].name) was not computed") }
            return t
        }
    }
}
