import KilnIR

extension PruneChannels {
    /// Follows the channel axis (1) of `v` through its users (the rule in the pass's doc
    /// comment), collecting the constant edits and the values that shrink; returns why the
    /// layer must be left alone, or nil.
    func follow(_ v: ValueID, channels: Int, _ graph: Graph, _ users: [[Int]], _ edits: inout [Slice],
                _ values: inout [ValueID]) -> String? {
        if graph.outputs.contains(v) { return "\(graph[v].name) is a graph output" }
        let shape = graph.type(of: v).shape
        guard shape.rank >= 2, shape[1] == channels else { return "\(graph[v].name) has no channel axis 1" }
        for u in Set(users[v.index]).sorted() {
            let node = graph.nodes[u]
            let reason = "feeds \(node.op.mnemonic) \(layerName(node, graph))"
            let uses = node.operands.indices.filter { node.operands[$0] == v }
            guard uses.count == 1, node.results.count == 1 else { return reason }
            let at = uses[0]
            func constant(_ i: Int) -> Tensor? {
                i < node.operands.count ? graph.constantValue(node.operands[i]).flatMap { $0.dtype.isFloat ? $0 : nil } : nil
            }
            func passOn() -> String? {
                values.append(node.results[0])
                return follow(node.results[0], channels: channels, graph, users, &edits, &values)
            }
            var through = false
            if case .unary = node.op { through = at == 0 }
            if case .clip = node.op { through = at == 0 }
            if case .pool = node.op { through = at == 0 }
            if case .batchNorm = node.op, at == 0 {
                guard (1...4).allSatisfy({ constant($0)?.shape.dims == [channels] }) else { return reason + " (non-constant parameters)" }
                edits += (1...4).map { Slice(node: u, operand: $0, axis: 0, keep: []) }
                through = true
            }
            if case .binary = node.op {
                guard let c = constant(1 - at), graph.type(of: node.results[0]).shape == shape, c.shape.rank <= shape.rank else {
                    return reason
                }
                let axis = 1 - (shape.rank - c.shape.rank)
                if axis >= 0 && c.shape[axis] == channels {
                    edits.append(Slice(node: u, operand: 1 - at, axis: axis, keep: []))
                } else if axis >= 0 && c.shape[axis] != 1 {
                    return reason
                }
                through = true
            }
            if through {
                if let r = passOn() { return r }
                continue
            }
            // Consumers: the weight's input-channel (K) axis shrinks.
            guard at == 0, let w = constant(1) else { return reason }
            if case .conv(let c) = node.op, c.group == 1, w.shape.rank >= 3 {
                edits.append(Slice(node: u, operand: 1, axis: 1, keep: []))
            } else if case .gemm(let g) = node.op, !g.transA, shape.rank == 2, w.shape.rank == 2 {
                edits.append(Slice(node: u, operand: 1, axis: g.transB ? 1 : 0, keep: []))
            } else if case .matMul = node.op, shape.rank == 2, w.shape.rank == 2 {
                edits.append(Slice(node: u, operand: 1, axis: 0, keep: []))
            } else {
                return reason
            }
        }
        return nil
    }

    /// Replaces each edited constant operand by a sliced copy (edits of one operand compose:
    /// they slice different axes).
    func apply(_ slices: [Slice], to graph: inout Graph) throws {
        var order: [[Int]] = [], byOperand: [[Int]: [Slice]] = [:]
        for s in slices {
            let key = [s.node, s.operand]
            if byOperand[key] == nil { order.append(key) }
            byOperand[key, default: []].append(s)
        }
        var added: [Node] = []
        for key in order {
            let old = graph.nodes[key[0]].operands[key[1]]
            guard var t = graph.constantValue(old) else { throw KilnError("prune-channels: internal error: operand is not a constant") }
            for s in byOperand[key]! { t = select(t, axis: s.axis, keep: s.keep) }
            let id = graph.addValue(name: graph[old].name + ".pruned", type: t.type)
            added.append(Node(op: .constant(t), operands: [], results: [id]))
            graph.nodes[key[0]].operands[key[1]] = id
        }
        graph.nodes = added + graph.nodes
    }

    /// `t` with only the indices `keep` along `axis`.
    func select(_ t: Tensor, axis: Int, keep: [Int]) -> Tensor {
        let dims = t.shape.dims, n = dims[axis]
        let inner = dims.dropFirst(axis + 1).reduce(1, *), outer = dims.prefix(axis).reduce(1, *)
        let v = t.doubles
        var out: [Double] = []
        out.reserveCapacity(outer * keep.count * inner)
        for o in 0..<outer { for k in keep { let base = (o * n + k) * inner; out += v[base..<(base + inner)] } }
        var newDims = dims
        newDims[axis] = keep.count
        return Tensor(t.dtype, Shape(newDims), doubles: out)
    }
}
