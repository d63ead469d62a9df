import KilnIR

/// One set of layers whose output channels are pruned together: the layers (group-1 Conv,
/// Gemm) whose results are joined channel for channel through chains and elementwise binary
/// ops, every value carrying those channels, and the edits that shrink them.
struct ChannelGroup {
    /// One edit of a constant operand: keep the group's kept indices along `axis`.
    struct Edit: Hashable, Comparable {
        var node: Int, operand: Int, axis: Int
        static func < (a: Edit, b: Edit) -> Bool { (a.node, a.operand, a.axis) < (b.node, b.operand, b.axis) }
    }

    /// The channel count of every value in the group (their axis 1).
    var channels: Int
    /// The producing layers, in node order.
    var members: [Int] = []
    /// Every value whose axis 1 shrinks (members' results included), in id order.
    var values: [ValueID] = []
    var edits: [Edit] = []
    /// Depthwise convs (whose `group` becomes the kept count) and reshapes (whose target's
    /// axis 1 does).
    var resized: [Int] = []
    /// Why the group is left alone (the first problem met), or nil.
    var reason: String?
}

/// Finds channel groups (the rule in `PruneChannels`'s doc comment): starting from a layer's
/// result, follows the channel axis forward through users and backward through producers.
struct ChannelGroupFinder {
    let graph: Graph
    let users: [[Int]]
    let producers: [Int?]
    let isLayer: (Node) -> Bool

    init(_ graph: Graph, isLayer: @escaping (Node) -> Bool) {
        self.graph = graph
        users = graph.users
        producers = graph.producers
        self.isLayer = isLayer
    }

    func constant(_ v: ValueID) -> Tensor? {
        guard let p = producers[v.index], case .constant(let t) = graph.nodes[p].op, t.dtype.isFloat else { return nil }
        return t
    }

    /// The group of the layer `root` (its result's channel axis is 1). Explores the whole
    /// connected set even after a problem, so that every member is reported with the group.
    func group(of root: Int) -> ChannelGroup {
        let start = graph.nodes[root].results[0]
        var g = ChannelGroup(channels: graph.type(of: start).shape[1])
        var members: Set<Int> = [], edits: Set<ChannelGroup.Edit> = [], resized: Set<Int> = []
        var seen: Set<ValueID> = [start], queue = [start]
        func reach(_ v: ValueID) { if seen.insert(v).inserted { queue.append(v) } }
        func fail(_ reason: String) { if g.reason == nil { g.reason = reason } }
        while let v = queue.popLast() {
            let name = graph[v].name
            if graph.outputs.contains(v) { fail("\(name) is a graph output") }
            let shape = graph.type(of: v).shape
            guard shape.rank >= 2, shape[1] == g.channels else {
                fail("\(name) has no channel axis 1 of size \(g.channels)")
                continue
            }
            // Backward: what produces v.
            if let p = producers[v.index] {
                let node = graph.nodes[p]
                if isLayer(node), node.results == [v] {
                    members.insert(p)
                } else {
                    switch channelwise(p) {
                    case .follows(let operands, let e, let resize):
                        operands.sorted().forEach { reach(node.operands[$0]) }
                        edits.formUnion(e)
                        if resize { resized.insert(p) }
                    case .refused(let why):
                        fail("\(name) comes from \(node.op.mnemonic) \(layerName(node, graph))" + (isDense(node.op) ? " (not a prunable layer: weights or bias not float constants, or trans_a)" : why))
                    }
                }
            } else {
                fail("\(name) is a graph input")
            }
            // Forward: every user of v.
            for u in Set(users[v.index]).sorted() {
                let node = graph.nodes[u]
                let uses = Set(node.operands.indices.filter { node.operands[$0] == v })
                if uses == [0], let e = consumerEdit(u) {
                    edits.insert(e)
                    continue
                }
                switch channelwise(u) {
                case .follows(let operands, let e, let resize) where uses.isSubset(of: operands):
                    operands.sorted().forEach { reach(node.operands[$0]) }
                    reach(node.results[0])
                    edits.formUnion(e)
                    if resize { resized.insert(u) }
                case .follows:
                    fail("feeds \(node.op.mnemonic) \(layerName(node, graph))")
                case .refused(let why):
                    fail("feeds \(node.op.mnemonic) \(layerName(node, graph))" + why)
                }
            }
        }
        g.members = members.sorted()
        g.values = seen.sorted { $0.index < $1.index }
        g.edits = edits.sorted()
        g.resized = resized.sorted()
        return g
    }

    /// A group-1 conv or a gemm: one that is not a layer has weights that are not float constants.
    func isDense(_ op: Op) -> Bool {
        if case .conv(let c) = op { return c.group == 1 }
        if case .gemm = op { return true }
        return false
    }

    /// The edit of a consumer that ends the channel axis: a group-1 Conv (weight axis 1), a
    /// Gemm with trans_a false or a MatMul on a rank-2 value (the weight's K axis), each with
    /// a constant weight and `v` as its operand 0.
    func consumerEdit(_ u: Int) -> ChannelGroup.Edit? {
        let node = graph.nodes[u]
        guard node.operands.count >= 2, node.results.count == 1, let w = constant(node.operands[1]),
              w.type.quantization == nil else { return nil }
        let rank = graph.type(of: node.operands[0]).shape.rank
        if case .conv(let c) = node.op, c.group == 1, w.shape.rank >= 3 { return .init(node: u, operand: 1, axis: 1) }
        if case .gemm(let g) = node.op, !g.transA, rank == 2, w.shape.rank == 2 {
            return .init(node: u, operand: 1, axis: g.transB ? 1 : 0)
        }
        if case .matMul = node.op, rank == 2, w.shape.rank == 2 { return .init(node: u, operand: 1, axis: 0) }
        return nil
    }
}
