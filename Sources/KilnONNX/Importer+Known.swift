import KilnIR

extension Importer {
    /// The compile-time value of `id`, or nil when it depends on a graph input.
    ///
    /// Algorithm (depth-first over producers, iterative so long chains cannot overflow
    /// the stack, memoized in `knownValues` / `notConstant`):
    /// 1. Constants are known; graph inputs are not.
    /// 2. `shape` and `size` results are known from their operand's static type, whatever
    ///    the operand's value.
    /// 3. Any other node is known when all its operands are: it is evaluated with the op's
    ///    reference implementation; a node with an unknown operand is not known.
    func known(_ id: ValueID) throws -> Tensor? {
        if let t = knownValues[id.index] { return t }
        if notConstant.contains(id.index) { return nil }
        var stack = [id.index]
        while let top = stack.last {
            if knownValues[top] != nil || notConstant.contains(top) {
                stack.removeLast()
                continue
            }
            guard let nodeIndex = producer[top] else {
                notConstant.insert(top)
                stack.removeLast()
                continue
            }
            let node = builder.graph.nodes[nodeIndex]
            if let t = staticShapeValue(node) {
                knownValues[top] = t
                stack.removeLast()
                continue
            }
            if node.operands.contains(where: { notConstant.contains($0.index) }) {
                for r in node.results { notConstant.insert(r.index) }
                stack.removeLast()
                continue
            }
            let pending = node.operands.filter { knownValues[$0.index] == nil }
            if !pending.isEmpty {
                stack.append(contentsOf: pending.map(\.index))
                continue
            }
            let args = node.operands.compactMap { knownValues[$0.index] }
            let types = node.results.map { builder.graph.type(of: $0) }
            let results: [Tensor]
            do {
                results = try node.op.evaluate(args, results: types)
            } catch let e as KilnError {
                let what = node.name.isEmpty ? node.op.mnemonic : "'\(node.name)' (\(node.op.mnemonic))"
                throw KilnError("computing \(what) at compile time failed: \(e.message)")
            }
            try require(results.count == node.results.count, "computing \(node.op.mnemonic) at compile time returned \(results.count) results")
            for (r, t) in zip(node.results, results) { knownValues[r.index] = t }
            stack.removeLast()
        }
        return knownValues[id.index]
    }

    /// The names of the graph inputs `id`'s value depends on, in graph input order (the
    /// operands of `shape` and `size` do not count: only their types are read).
    func graphInputs(feeding id: ValueID) -> [String] {
        var seen = Set<Int>(), stack = [id.index], found = Set<Int>()
        let inputs = Set(builder.graph.inputs.map(\.index))
        while let top = stack.popLast() {
            guard seen.insert(top).inserted else { continue }
            if inputs.contains(top) { found.insert(top) }
            guard let nodeIndex = producer[top] else { continue }
            let node = builder.graph.nodes[nodeIndex]
            if staticShapeValue(node) != nil { continue }
            stack.append(contentsOf: node.operands.map(\.index))
        }
        return builder.graph.inputs.filter { found.contains($0.index) }.map { builder.graph[$0].name }
    }

    /// "graph input 'sr' (freeze it with --bind sr=VALUE)": what `id` depends on, for
    /// messages about values that must be known at compile time.
    func inputsClause(_ id: ValueID) -> String {
        let names = graphInputs(feeding: id)
        guard let first = names.first else { return "graph inputs" }
        if names.count == 1 { return "graph input '\(first)' (freeze it with --bind \(first)=VALUE)" }
        let list = names.map { "'\($0)'" }.joined(separator: ", ")
        return "graph inputs \(list) (freeze them with --bind NAME=VALUE)"
    }

    /// The value of a `shape` or `size` node, which only depends on its operand's type.
    private func staticShapeValue(_ node: Node) -> Tensor? {
        guard let operand = node.operands.first else { return nil }
        let dims = builder.graph.type(of: operand).shape.dims
        if case .shapeOf(let s) = node.op {
            let lo = max(0, min(s.start, dims.count))
            let hi = max(lo, min(s.end, dims.count))
            return Tensor(.i64, [hi - lo], int64s: dims[lo..<hi].map { Int64($0) })
        }
        if case .sizeOf = node.op {
            return Tensor(.i64, [], int64s: [Int64(dims.reduce(1, *))])
        }
        return nil
    }
}
