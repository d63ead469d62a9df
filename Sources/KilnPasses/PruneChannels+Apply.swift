import KilnIR

extension PruneChannels {
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
            for s in byOperand[key] ?? [] { t = select(t, axis: s.axis, keep: s.keep) }
            let id = graph.addValue(name: graph[old].name + ".pruned", type: t.type)
            added.append(Node(op: .constant(t), operands: [], results: [id]))
            graph.nodes[key[0]].operands[key[1]] = id
        }
        graph.nodes = added + graph.nodes
    }

    /// Sets the channel count a node's attribute names: a depthwise conv's `group`, a
    /// reshape's target axis 1.
    func resizeAttribute(_ node: inout Node, _ count: Int) throws {
        if case .conv(var c) = node.op {
            c.group = count
            node.op = .conv(c)
        } else if case .reshape(var r) = node.op, r.shape.count >= 2 {
            r.shape[1] = count
            node.op = .reshape(r)
        } else {
            throw KilnError("prune-channels: internal error: cannot resize \(node.op.mnemonic)")
        }
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
