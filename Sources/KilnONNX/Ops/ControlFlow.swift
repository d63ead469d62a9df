import KilnIR

// If with a condition known at import: the taken branch is inlined.

extension NodeContext {
    /// If(cond): the taken branch's nodes and initializers are imported in place (they see
    /// the enclosing scope's names); each If output is an identity of the branch output,
    /// named like the If output.
    func ifOp() throws -> [ValueID?] {
        let cond = try requiredConstant(0, "condition")
        try require(cond.count == 1, "condition must hold one element, got shape \(cond.shape)")
        let branchName = cond.int64s[0] != 0 ? "then_branch" : "else_branch"
        guard let branch = try attr.graph(branchName) else { throw KilnError("attribute '\(branchName)' is missing") }
        try require(branch.output.count == outputCount,
                    "\(branchName) has \(branch.output.count) outputs but the node has \(outputCount)")
        let results = importer.inlineBranch(branch)
        return try results.enumerated().map { i, id in
            guard let id else {
                // The branch's own problems are recorded; this names the consequence.
                if !outputUsed(i) { return nil }
                throw KilnError("output \(i) ('\(outputName(i))') is unavailable: \(branchName) output '\(branch.output[i].name)' could not be imported")
            }
            return try importer.add(.identity(Identity()), [id], names: [outputName(i)], nodeName: proto.name)[0]
        }
    }
}

extension Importer {
    /// Imports a subgraph's initializers and nodes into the current graph and returns its
    /// outputs (nil for unavailable ones). Names the branch defines go out of scope
    /// afterwards; enclosing initializers it materialized stay materialized.
    func inlineBranch(_ g: Onnx_GraphProto) -> [ValueID?] {
        let saved = env
        var local = Set(g.initializer.map(\.name))
        for n in g.node { for o in n.output { local.insert(o) } }
        bindInitializers(g.initializer)
        importNodes(g.node)
        let results = g.output.map { o -> ValueID? in
            if env[o.name] == nil {
                problems.add("branch output '\(o.name)' is not produced by any node, initializer or enclosing value")
            }
            return value(o.name)
        }
        var restored = saved
        for (name, binding) in saved where !local.contains(name) {
            if case .initializer = binding, case .value? = env[name] { restored[name] = env[name] }
        }
        env = restored
        return results
    }
}
