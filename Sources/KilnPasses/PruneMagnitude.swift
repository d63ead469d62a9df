import KilnIR

/// prune-magnitude: zeroes the smallest-magnitude fraction of each layer's constant weight
/// (`kiln compile --prune magnitude=0.5 --prune-layer NAME=0.7`). The graph keeps its
/// shape; zeros make the compressed plan smaller.
///
///     %w = constant f32[2,2] dense<[0.1, -2.0, 0.5, -0.3]>
///     %y = gemm(%x, %w) {…}
///   becomes, at fraction 0.5,
///     %w.pruned = constant f32[2,2] dense<[0.0, -2.0, 0.5, 0.0]>
///     %y = gemm(%x, %w.pruned) {…}
///
/// Algorithm: per layer (Conv, ConvTranspose, Gemm, MatMul with a float constant weight
/// operand 1), sort the weight's elements by (|w|, index) and zero the first
/// ⌊fraction · count⌋ — ties break by position, so the result is deterministic. A layer
/// named in `layers` (node name, else result name) uses its own fraction; 0 leaves it
/// alone. A weight shared by several layers is copied per layer. Biases are not pruned.
/// Reported per layer: sparsity, relative error ‖W − W'‖_F / ‖W‖_F, and non-zero
/// parameters before and after (FLOPs are unchanged: the kernels are dense).
public struct PruneMagnitude: Pass {
    public var fraction: Double
    public var layers: [String: Double]

    public init(fraction: Double = 0.5, layers: [String: Double] = [:]) {
        self.fraction = fraction
        self.layers = layers
    }

    init(_ options: PassOptions) throws {
        try options.requireKeys(["fraction", "layer"])
        var layers: [String: Double] = [:]
        for spec in options.values("layer") {
            guard let eq = spec.lastIndex(of: "="), let f = Double(spec[spec.index(after: eq)...]), (0...1).contains(f) else {
                throw KilnError("pass prune-magnitude: layer option must be NAME=FRACTION with a fraction in [0, 1], got '\(spec)'")
            }
            layers[String(spec[..<eq])] = f
        }
        self.init(fraction: try options.number("fraction", in: 0...1) ?? 0.5, layers: layers)
    }

    public var name: String { "prune-magnitude" }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try prune(&graph).delivered(to: context)
    }

    public func prune(_ graph: inout Graph) throws -> CompressionReport {
        var report = CompressionReport(title: "prune-magnitude (fraction \(fraction)):")
        var nodes: [Node] = []
        var seen = Set<String>()
        for var node in graph.nodes {
            guard Self.isLayer(node.op) else {
                nodes.append(node)
                continue
            }
            let layer = layerName(node, graph)
            guard node.operands.count >= 2, let w = graph.constantValue(node.operands[1]), w.dtype.isFloat,
                  w.type.quantization == nil, w.count > 0 else {
                nodes.append(node)
                continue
            }
            seen.insert(layer)
            let f = layers[layer] ?? fraction
            let values = w.doubles
            let zerosBefore = values.filter { $0 == 0 }.count
            let count = Int((f * Double(values.count)).rounded(.down))
            let flops = graph.flops(of: node)
            guard count > 0 else {
                report.layers.append(LayerReport(layer: layer, choice: "kept", changed: false, error: 0, flopsBefore: flops,
                                                 flopsAfter: flops, paramsBefore: values.count - zerosBefore,
                                                 paramsAfter: values.count - zerosBefore))
                nodes.append(node)
                continue
            }
            let order = values.indices.sorted { (abs(values[$0]), $0) < (abs(values[$1]), $1) }
            var pruned = values
            for i in order.prefix(count) { pruned[i] = 0 }
            let tensor = Tensor(w.dtype, w.shape, doubles: pruned)
            let zerosAfter = tensor.doubles.filter { $0 == 0 }.count
            let id = graph.addValue(name: graph[node.operands[1]].name + ".pruned", type: tensor.type)
            nodes.append(Node(op: .constant(tensor), operands: [], results: [id]))
            node.operands[1] = id
            nodes.append(node)
            let sparsity = Double(zerosAfter) / Double(values.count) * 100
            report.layers.append(LayerReport(
                layer: layer, choice: "sparsity " + String(Int(sparsity.rounded())) + "%", changed: true,
                error: relativeError(values, tensor.doubles), flopsBefore: flops, flopsAfter: flops,
                paramsBefore: values.count - zerosBefore, paramsAfter: values.count - zerosAfter))
        }
        let unknown = layers.keys.filter { !seen.contains($0) }.sorted()
        try require(unknown.isEmpty, "prune-magnitude: no prunable layer named \(unknown.map { "'\($0)'" }.joined(separator: ", "))")
        graph.nodes = nodes
        if report.changed { graph.removeDeadNodes() }
        return report
    }

    /// Conv, ConvTranspose, Gemm and MatMul: the ops whose operand 1 is a layer weight.
    static func isLayer(_ op: Op) -> Bool {
        if case .conv = op { return true }
        if case .convTranspose = op { return true }
        if case .gemm = op { return true }
        if case .matMul = op { return true }
        return false
    }
}
