import KilnIR

/// prune-channels: removes the lowest-L1-norm output channels of Conv (group 1) and Gemm
/// layers and shrinks every consumer to match (`kiln compile --prune channels=0.25`).
///
///     %h = conv(%x, %w1, %b1) {…group = 1} : f32[1,4,8,8]        (w1: f32[4,3,3,3])
///     %r = relu(%h) : f32[1,4,8,8]
///     %y = conv(%r, %w2) {…group = 1} : f32[1,6,8,8]              (w2: f32[6,4,3,3])
///   becomes, at fraction 0.5 (channels 1 and 2 have the largest L1 norms),
///     %h = conv(%x, %w1.pruned, %b1.pruned) {…} : f32[1,2,8,8]    (w1.pruned: f32[2,3,3,3])
///     %r = relu(%h) : f32[1,2,8,8]
///     %y = conv(%r, %w2.pruned) {…} : f32[1,6,8,8]                (w2.pruned: f32[6,2,3,3])
///
/// Algorithm: for each layer (Conv with group 1, or Gemm with trans_a false, whose weight
/// and bias are float constants) the channel axis of its result is axis 1. Channel o's L1
/// norm is Σ|W[o, …]| over the layer's weight as in the original graph (before any other
/// layer was pruned); the ⌊fraction · C⌋ smallest (ties: lower index first) are removed,
/// keeping at least one. Then the channel axis is followed from the result through its
/// users, every one of which must be one of:
///   - passes channels through (value keeps the channel axis, followed further): unary ops,
///     clip, pooling, batch_norm with constant [C] parameters, a binary op whose other
///     operand is a constant that broadcasts to the value without enlarging it (its axis
///     aligned with the channel axis is sliced when it is C, kept when 1);
///   - consumes them (the channel axis ends): Conv with group 1 and a constant weight (its
///     input-channel axis is sliced), Gemm with trans_a false or MatMul on a rank-2 value
///     with a constant rank-2 weight (the weight's K rows are sliced).
/// If any value on the way is a graph output or has another kind of user (a residual Add
/// of two activations, Concat, Reshape/Flatten, a grouped conv, …) the layer is left alone
/// and reported with the reason: those channels would have to be pruned consistently
/// across several layers, which this pass does not attempt. Constants are copied, never
/// edited in place (a weight may be shared). Report per layer: channels kept, the relative
/// error ‖W − W'‖_F / ‖W‖_F (removed channels counted as zeros), and the layer's own FLOPs and parameters (weight + bias)
/// before/after — its consumers shrink too, which `kiln inspect --format json` counts.
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

    /// Prunes every eligible layer and reports each.
    public func prune(_ graph: inout Graph) throws -> CompressionReport {
        var report = CompressionReport(title: "prune-channels (fraction \(fraction)):")
        let users = graph.users
        var slices: [Slice] = []
        var retype: [(ValueID, Int)] = []   // values whose channel axis (1) shrinks to n
        var pruned: [(node: Int, row: LayerReport)] = []
        for (i, node) in graph.nodes.enumerated() {
            guard let (weightAxis, channels) = layer(node, graph) else { continue }
            let name = layerName(node, graph)
            let w = graph.constantValue(node.operands[1])!
            let params = w.count + (node.operands.count > 2 ? graph.type(of: node.operands[2]).shape.elementCount : 0)
            let flops = graph.flops(of: node)
            var row = LayerReport(layer: name, choice: "kept", changed: false, error: 0, flopsBefore: flops, flopsAfter: flops,
                                  paramsBefore: params, paramsAfter: params)
            let drop = min(channels - 1, Int((fraction * Double(channels)).rounded(.down)))
            guard drop > 0 else {
                report.layers.append(row)
                continue
            }
            var edits: [Slice] = [], values: [ValueID] = []
            if let reason = follow(node.results[0], channels: channels, graph, users, &edits, &values) {
                row.note = reason
                report.layers.append(row)
                continue
            }
            let norms = l1Norms(w, axis: weightAxis)
            let removed = Set(norms.indices.sorted { (norms[$0], $0) < (norms[$1], $1) }.prefix(drop))
            let keep = (0..<channels).filter { !removed.contains($0) }
            slices.append(Slice(node: i, operand: 1, axis: weightAxis, keep: keep))
            if node.operands.count > 2 {
                let b = graph.type(of: node.operands[2]).shape
                if b.rank >= 1, b[b.rank - 1] == channels { slices.append(Slice(node: i, operand: 2, axis: b.rank - 1, keep: keep)) }
            }
            slices += edits.map { Slice(node: $0.node, operand: $0.operand, axis: $0.axis, keep: keep) }
            retype += ([node.results[0]] + values).map { ($0, keep.count) }
            let squares = l1Norms(Tensor(w.dtype, w.shape, doubles: w.doubles.map { $0 * $0 }), axis: weightAxis)
            let total = squares.reduce(0, +), gone = removed.map { squares[$0] }.reduce(0, +)
            row.choice = "channels \(keep.count)/\(channels)"
            row.changed = true
            row.error = total == 0 ? 0 : (gone / total).squareRoot()   // ‖W − W'‖_F / ‖W‖_F, pruned rows as zeros
            pruned.append((i, row))
        }
        let before = graph.nodes.count
        try apply(slices, to: &graph)
        let shift = graph.nodes.count - before   // apply prepends the new constants
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

    /// The weight's output-channel axis and the channel count when `node` is a prunable layer.
    func layer(_ node: Node, _ graph: Graph) -> (axis: Int, channels: Int)? {
        guard node.operands.count >= 2, let w = graph.constantValue(node.operands[1]), w.dtype.isFloat,
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
