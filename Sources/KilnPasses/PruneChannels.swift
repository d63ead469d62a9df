import KilnIR

/// prune-channels: removes the lowest-scoring output channels of Conv (group 1) and Gemm
/// layers and shrinks everything those channels flow through (`kiln compile --prune
/// channels=0.25`).
///
/// Channel groups. A layer's output channels may be joined, channel for channel, with
/// other layers' through chains: a residual `add` of two activations, a `mul` gate, a
/// depthwise conv (filter c reads channel c only). All layers whose results meet so form
/// one group, and the same channel indices are removed from every member, from every value
/// on the way and from every consumer. Starting from a layer's result, the channel axis (1)
/// is followed forward through each value's users and backward through its producer:
///   - passes channels through (the value on the other side joins the group): unary ops,
///     clip, identity, pooling, reductions over axes ≥ 2, batch_norm with constant [C]
///     parameters, a depthwise conv (group = C, weight [C,1,…], constant; its filters and
///     bias are sliced and its group shrinks), a reshape [N,C,1,…] → [N,C] (Flatten after
///     global pooling), and a binary op: activation operands of the result's shape join
///     the group, a constant operand may broadcast (it is sliced where its axis aligned
///     with the channel axis is C, kept where 1);
///   - produces them (a member): Conv with group 1, or Gemm with trans_a false, whose
///     weight and bias are float constants;
///   - consumes them (the axis ends): Conv with group 1 and a constant weight (its input
///     axis is sliced), Gemm with trans_a false or MatMul on a rank-2 value with a constant
///     rank-2 weight (the weight's K axis).
/// If any value of the group is a graph input or output, or meets another kind of op
/// (concat, a general reshape, a grouped conv that is not depthwise, a layer with
/// non-constant weights, an operand broadcast to a larger shape, …), the whole group is
/// left alone and each member is reported with the first such reason. Concat is not
/// followed: its result's channels come from several groups at offsets.
///
/// Score: channel c's L1 norm in member m is Σ|W_m[c, …]| over the original weight; a
/// lone layer ranks by it, a group by Σ_m norm_m(c) / Σ_c' norm_m(c') (each member's
/// norms normalized to sum 1, so wide and narrow layers count alike). The ⌊fraction · C⌋
/// lowest (ties: lower index first) are removed, keeping at least one.
///
///     %s = conv(%x, %ws, %bs) {…group = 1} : f32[1,4,8,8]         (stem; ws: f32[4,3,3,3])
///     %h = conv(%s, %w1, %b1) {…group = 1, activation = relu} : f32[1,4,8,8]
///     %d = conv(%h, %w2, %b2) {…group = 1} : f32[1,4,8,8]
///     %a = add(%d, %s) {activation = relu} : f32[1,4,8,8]
///     %y = conv(%a, %w3) {…group = 1} : f32[1,6,8,8]
///   becomes, at fraction 0.5, with {stem, %d's conv} one group (joined by the add) and
///   %h's conv a lone layer (consumed by %d's conv),
///     %s = conv(%x, %ws.pruned, %bs.pruned) {…} : f32[1,2,8,8]
///     %h = conv(%s, %w1.pruned, %b1.pruned) {…} : f32[1,2,8,8]     (w1: both axes sliced)
///     %d = conv(%h, %w2.pruned, %b2.pruned) {…} : f32[1,2,8,8]     (w2: both axes sliced)
///     %a = add(%d, %s) {activation = relu} : f32[1,2,8,8]
///     %y = conv(%a, %w3.pruned) {…} : f32[1,6,8,8]
///
/// Constants are copied, never edited in place (a weight may be shared). Report per member
/// layer: channels kept, the relative error ‖W − W'‖_F / ‖W‖_F (removed channels counted as
/// zeros), the layer's own FLOPs and parameters (weight + bias) before/after — depthwise
/// convs and consumers shrink too, which `kiln inspect --format json` counts.
public struct PruneChannels: Pass {
    public var fraction: Double

    public init(fraction: Double = 0.25) { self.fraction = fraction }

    init(_ options: PassOptions) throws {
        try options.requireKeys(["fraction"])
        self.init(fraction: try options.number("fraction", in: 0...1) ?? 0.25)
    }

    public var name: String { "prune-channels" }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try prune(&graph).delivered(to: context)
    }

    /// One edit of a constant operand: keep `keep` along `axis`.
    struct Slice { var node: Int, operand: Int, axis: Int, keep: [Int] }

    /// Prunes every eligible group and reports each member layer.
    public func prune(_ graph: inout Graph) throws -> CompressionReport {
        var report = CompressionReport(title: "prune-channels (fraction \(fraction)):")
        let original = graph
        let finder = ChannelGroupFinder(original) { layer($0, original) != nil }
        var slices: [Slice] = [], resize: [(node: Int, count: Int)] = []
        var retype: [(ValueID, Int)] = []   // values whose channel axis (1) shrinks to n
        var pruned: [(node: Int, row: LayerReport)] = []
        var grouped: Set<Int> = []
        for i in graph.nodes.indices where layer(graph.nodes[i], graph) != nil && !grouped.contains(i) {
            var group = finder.group(of: i)
            if !group.members.contains(i) { group.members = [i] }   // its result is an output: reported alone
            grouped.formUnion(group.members)
            let rows = group.members.map { row(for: $0, graph) }
            let channels = group.channels
            let drop = min(channels - 1, Int((fraction * Double(channels)).rounded(.down)))
            let size = group.members.count > 1 ? "group of \(group.members.count) layers" : ""
            guard drop > 0, group.reason == nil else {
                let why = [size, group.reason ?? ""].filter { !$0.isEmpty }.joined(separator: ": ")
                report.layers += rows.map { var r = $0; r.note = drop > 0 ? why : ""; return r }
                continue
            }
            let removed = Set(try rank(group.members, graph).prefix(drop))
            let keep = (0..<channels).filter { !removed.contains($0) }
            for (m, var r) in zip(group.members, rows) {
                let node = graph.nodes[m]
                guard let axis = layer(node, graph)?.axis, let w = graph.constantValue(node.operands[1]) else {
                    throw KilnError("prune-channels: internal error: \(r.layer) is not a layer")
                }
                slices.append(Slice(node: m, operand: 1, axis: axis, keep: keep))
                if node.operands.count > 2 {
                    let b = graph.type(of: node.operands[2]).shape
                    if b.rank >= 1, b[b.rank - 1] == channels { slices.append(Slice(node: m, operand: 2, axis: b.rank - 1, keep: keep)) }
                }
                let squares = l1Norms(Tensor(w.dtype, w.shape, doubles: w.doubles.map { $0 * $0 }), axis: axis)
                let total = squares.reduce(0, +), gone = removed.map { squares[$0] }.reduce(0, +)
                r.choice = "channels \(keep.count)/\(channels)"
                r.changed = true
                r.error = total == 0 ? 0 : (gone / total).squareRoot()   // ‖W − W'‖_F / ‖W‖_F, pruned rows as zeros
                r.note = size
                pruned.append((m, r))
            }
            slices += group.edits.map { Slice(node: $0.node, operand: $0.operand, axis: $0.axis, keep: keep) }
            resize += group.resized.map { ($0, keep.count) }
            retype += group.values.map { ($0, keep.count) }
        }
        let before = graph.nodes.count
        try apply(slices, to: &graph)
        let shift = graph.nodes.count - before   // apply prepends the new constants
        for (n, count) in resize { try resizeAttribute(&graph.nodes[n + shift], count) }
        for (v, n) in retype {
            var dims = graph[v].type.shape.dims
            dims[1] = n
            graph[v].type = TensorType(graph[v].type.dtype, Shape(dims), quantization: graph[v].type.quantization)
        }
        // Report rows of pruned layers, with their cost after (consumers shrink too, not counted here).
        for (i, var row) in pruned {
            let node = graph.nodes[i + shift]
            row.flopsAfter = graph.flops(of: node)
            row.paramsAfter = node.operands.dropFirst().prefix(2).map { graph.type(of: $0).shape.elementCount }.reduce(0, +)
            report.layers.append(row)
        }
        report.layers.sort { $0.layer < $1.layer }
        if report.changed {
            graph.removeDeadNodes()
            graph.sortTopologically()
        }
        return report
    }

    /// The report row of layer `i` before pruning ("kept").
    func row(for i: Int, _ graph: Graph) -> LayerReport {
        let node = graph.nodes[i]
        let params = node.operands.dropFirst().prefix(2).map { graph.type(of: $0).shape.elementCount }.reduce(0, +)
        let flops = graph.flops(of: node)
        return LayerReport(layer: layerName(node, graph), choice: "kept", changed: false, error: 0, flopsBefore: flops,
                           flopsAfter: flops, paramsBefore: params, paramsAfter: params)
    }

    /// Channel indices from lowest to highest score (the rule in the doc comment).
    func rank(_ members: [Int], _ graph: Graph) throws -> [Int] {
        var score: [Double] = []
        for m in members {
            let node = graph.nodes[m]
            guard let axis = layer(node, graph)?.axis, let w = graph.constantValue(node.operands[1]) else {
                throw KilnError("prune-channels: internal error: \(layerName(node, graph)) is not a layer")
            }
            let norms = l1Norms(w, axis: axis)
            let total = norms.reduce(0, +)
            let normalized = members.count == 1 ? norms : norms.map { total == 0 ? 0 : $0 / total }
            score = score.isEmpty ? normalized : zip(score, normalized).map { $0 + $1 }
        }
        return score.indices.sorted { (score[$0], $0) < (score[$1], $1) }
    }

    /// The weight's output-channel axis and the channel count when `node` is a prunable layer.
    func layer(_ node: Node, _ graph: Graph) -> (axis: Int, channels: Int)? {
        guard node.operands.count >= 2, node.results.count == 1, let w = graph.constantValue(node.operands[1]), w.dtype.isFloat,
              w.type.quantization == nil, graph.constantValue(node.operands[0]) == nil,
              node.operands.dropFirst(2).allSatisfy({ graph.constantValue($0) != nil }) else { return nil }
        if case .conv(let c) = node.op, c.group == 1, w.shape.rank >= 3 { return (0, w.shape[0]) }
        if case .gemm(let g) = node.op, !g.transA, w.shape.rank == 2 {
            return g.transB ? (0, w.shape[0]) : (1, w.shape[1])
        }
        return nil
    }

    /// Σ|W| per index of `axis` (0 or 1).
    func l1Norms(_ w: Tensor, axis: Int) -> [Double] {
        let dims = w.shape.dims, n = dims[axis]
        let inner = dims.dropFirst(axis + 1).reduce(1, *)
        var norms = [Double](repeating: 0, count: n)
        for (i, x) in w.doubles.enumerated() { norms[(i / inner) % n] += abs(x) }
        return norms
    }
}
