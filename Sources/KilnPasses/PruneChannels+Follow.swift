import KilnIR

/// How a node treats the channel axis (1) of its operands.
enum Channelwise {
    /// Channel c of the result depends only on channel c of the `operands` (all carrying the
    /// same channels as the result): the group goes through it. `edits` shrink its constant
    /// operands; `resize` marks a depthwise conv or a reshape whose attribute names the count.
    case follows(operands: Set<Int>, edits: Set<ChannelGroup.Edit>, resize: Bool)
    /// It mixes, moves or broadcasts channels (the text is appended to the reason; may be "").
    case refused(String)
}

extension ChannelGroupFinder {
    /// The rule for node `u` (see `PruneChannels`): which operands pass channels through.
    func channelwise(_ u: Int) -> Channelwise {
        let node = graph.nodes[u]
        guard node.results.count == 1, !node.operands.isEmpty else { return .refused("") }
        let out = graph.type(of: node.results[0]).shape
        guard out.rank >= 2 else { return .refused("") }
        let channels = out[1]
        let data = graph.type(of: node.operands[0]).shape
        let single: Channelwise = node.operands.count == 1 && data.rank >= 2 && data[1] == channels
            ? .follows(operands: [0], edits: [], resize: false) : .refused("")
        if case .unary = node.op { return single }
        if case .clip = node.op { return single }
        if case .identity = node.op { return single }
        if case .pool = node.op { return single }
        if case .reduce(let r) = node.op { return r.axes.contains(0) || r.axes.contains(1) ? .refused("") : single }
        if case .batchNorm = node.op {
            guard node.operands.count == 5, data[1] == channels,
                  (1...4).allSatisfy({ constant(node.operands[$0])?.shape.dims == [channels] }) else {
                return .refused(" (non-constant parameters)")
            }
            return .follows(operands: [0], edits: Set((1...4).map { .init(node: u, operand: $0, axis: 0) }), resize: false)
        }
        if case .binary = node.op { return binary(u, channels: channels) }
        if case .conv(let c) = node.op {
            // Depthwise (multiplier 1): filter c reads input channel c only.
            guard node.operands.count >= 2, c.group > 1, c.group == channels, data[1] == channels else { return .refused("") }
            guard let w = constant(node.operands[1]), w.type.quantization == nil,
                  w.shape.rank >= 3, w.shape[0] == channels, w.shape[1] == 1 else { return .refused(" (non-constant weights)") }
            var edits: Set<ChannelGroup.Edit> = [.init(node: u, operand: 1, axis: 0)]
            if node.operands.count > 2 {
                guard constant(node.operands[2])?.shape.dims == [channels] else { return .refused(" (non-constant bias)") }
                edits.insert(.init(node: u, operand: 2, axis: 0))
            }
            return .follows(operands: [0], edits: edits, resize: true)
        }
        if case .reshape = node.op {
            // Only [N, C, 1, …] → [N, C] (Flatten after global pooling): channel c stays at axis 1.
            guard out.rank == 2, data.rank > 2, data[0] == out[0], data[1] == channels,
                  data.dims.dropFirst(2).allSatisfy({ $0 == 1 }) else { return .refused("") }
            return .follows(operands: [0], edits: [], resize: true)
        }
        return .refused("")
    }

    /// A binary op: activations operands must have the result's shape (joined channel for
    /// channel); a constant operand may broadcast to it along axes it has as 1, and is sliced
    /// where its axis aligned with the channel axis has the channel count.
    func binary(_ u: Int, channels: Int) -> Channelwise {
        let node = graph.nodes[u]
        let out = graph.type(of: node.results[0]).shape
        var operands: Set<Int> = [], edits: Set<ChannelGroup.Edit> = []
        for (i, v) in node.operands.enumerated() {
            guard let c = constant(v) else {
                guard graph.type(of: v).shape == out else { return .refused(" (\(graph[v].name) is broadcast to \(out))") }
                operands.insert(i)
                continue
            }
            let axis = 1 - (out.rank - c.shape.rank)
            let broadcasts = c.shape.rank <= out.rank
                && c.shape.dims.enumerated().allSatisfy { $1 == 1 || $1 == out[out.rank - c.shape.rank + $0] }
            guard broadcasts, axis < 0 || c.shape[axis] == 1 || c.shape[axis] == channels else {
                return .refused(" (constant \(graph[v].name) does not broadcast to the value)")
            }
            if axis >= 0 && c.shape[axis] == channels && channels > 1 { edits.insert(.init(node: u, operand: i, axis: axis)) }
        }
        guard !operands.isEmpty else { return .refused("") }
        return .follows(operands: operands, edits: edits, resize: false)
    }
}
