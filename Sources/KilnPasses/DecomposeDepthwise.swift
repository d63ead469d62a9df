import KilnIR

/// decompose-depthwise: splits a standard KxK convolution (group 1, constant weights) into a
/// depthwise KxK convolution with channel multiplier r and a 1x1 pointwise convolution that
/// carries the bias and any fused activation (`kiln compile --decompose depthwise=full|auto|N`).
///
///     %y = conv(%x, %w, %b) {strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1} : f32[1,16,8,8]
///   (x: f32[1,8,16,16], w: f32[16,8,3,3]) becomes, with r = 2,
///     %y.dw = conv(%x, %w.dw) {strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 8} : f32[1,16,8,8]
///     %y = conv(%y.dw, %w.pw, %b) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1} : f32[1,16,8,8]
///   with w.dw: f32[16,1,3,3] and w.pw: f32[16,16,1,1].
///
/// Algorithm: for each input channel c the Cout × K² slice W[:, c, :, :] = U·diag(s)·Vᵀ
/// (LAPACK SVD). Keeping the first r singular triples, depthwise output channel c·r + i
/// (group c's outputs are c·r … c·r+r−1) filters with row i of Vᵀ, and the pointwise
/// weight from that channel to output o is U[o, i]·s[i]. Then
/// Σ_c Σ_i U[o,i] s_i (Vᵀ[i] ⋆ x_c) = Σ_c W[o,c] ⋆ x_c exactly when r = min(Cout, K²).
/// Rank per layer follows `RankRule`; the error is ‖W − W_r‖_F / ‖W‖_F over the whole
/// layer, computed from the singular values and reported as measured from the factors.
/// FLOPs per output pixel: Cout·Cin·K² before, Cin·r·K² + Cout·Cin·r after.
/// `auto` also requires the modelled time to drop: Cout·Cin·K²/G before against
/// Cin·r·K²/D + Cout·Cin·r/P after, with the measured throughputs G (im2col + GEMM conv),
/// D (depthwise with multiplier) and P (1x1 conv) of `ConvCostModel` — G/D ≈ 4, so e.g. a
/// rank-1 3x3 layer with Cout ≤ 4 is left alone although its FLOPs drop.
/// Leaves alone: grouped and depthwise convs, 1x1 kernels (nothing to split), weights that
/// are not float constants.
public struct DecomposeDepthwise: Pass {
    public var rank: RankRule
    /// Largest relative weight reconstruction error for `auto`.
    public var budget: Double

    public init(rank: RankRule = .full, budget: Double = 0.01) {
        self.rank = rank
        self.budget = budget
    }

    init(_ options: PassOptions) throws {
        let (rank, budget) = try RankRule.options(options)
        self.init(rank: rank, budget: budget)
    }

    public var name: String { "decompose-depthwise" }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try decompose(&graph).delivered(to: context)
    }

    /// Decomposes every eligible conv and reports each one.
    public func decompose(_ graph: inout Graph) throws -> CompressionReport {
        var report = CompressionReport(title: "decompose-depthwise (rank \(rank), budget rel \(budget)):")
        var nodes: [Node] = []
        for node in graph.nodes {
            guard case .conv(let c) = node.op, c.group == 1, let w = graph.constantValue(node.operands[1]),
                  w.dtype.isFloat, w.type.quantization == nil, w.shape.rank >= 3,
                  w.shape.dims.dropFirst(2).reduce(1, *) > 1 else {
                nodes.append(node)
                continue
            }
            let (row, replacement) = try decompose(node, c, w, &graph)
            report.layers.append(row)
            nodes += replacement ?? [node]
        }
        graph.nodes = nodes
        if report.changed { graph.removeDeadNodes() }
        return report
    }

    private func decompose(_ node: Node, _ c: Conv, _ w: Tensor, _ graph: inout Graph) throws -> (LayerReport, [Node]?) {
        let cout = w.shape[0], cin = w.shape[1], k = w.shape.dims.dropFirst(2).reduce(1, *)
        let maxRank = min(cout, k)
        let values = w.doubles, floats = values.map(Float.init)
        var svds: [SVD] = []
        for ch in 0..<cin {
            var slice = [Float](repeating: 0, count: cout * k)
            for o in 0..<cout { for t in 0..<k { slice[o * k + t] = floats[(o * cin + ch) * k + t] } }
            svds.append(try SVD(rowMajor: slice, rows: cout, cols: k))
        }
        // tail[r] = Σ_c Σ_{i ≥ r} s_ci², the squared error at rank r.
        var tail = [Double](repeating: 0, count: maxRank + 1)
        for svd in svds { for i in 0..<maxRank { for r in 0...i { tail[r] += Double(svd.s[i]) * Double(svd.s[i]) } } }
        let total = tail[0]
        let pixels = graph.type(of: node.results[0]).shape.elementCount / cout
        let bias = node.operands.count > 2 ? cout : 0
        let flopsBefore = 2 * pixels * cout * cin * k, paramsBefore = cout * cin * k + bias
        func flops(_ r: Int) -> Int { 2 * pixels * cin * r * (k + cout) }
        func error(_ r: Int) -> Double { total == 0 ? 0 : (tail[r] / total).squareRoot() }
        func time(_ r: Int) -> Double {
            ConvCostModel.decomposedTime(depthwiseFlops: 2 * pixels * cin * r * k, pointwiseFlops: 2 * pixels * cin * r * cout)
        }
        let (chosen, note) = rank.choose(maxRank: maxRank, budget: budget, error: error, flops: flops, flopsBefore: flopsBefore,
                                         time: time, timeBefore: ConvCostModel.gemmConvTime(flops: flopsBefore))
        let layer = layerName(node, graph)
        guard let r = chosen else {
            return (LayerReport(layer: layer, choice: "kept", changed: false, error: 0, flopsBefore: flopsBefore,
                                flopsAfter: flopsBefore, paramsBefore: paramsBefore, paramsAfter: paramsBefore,
                                note: note.isEmpty ? "no rank meets rel \(budget)" : note), nil)
        }
        // Depthwise filters D[c·r+i, 0, …] = Vᵀ_c[i]; pointwise P[o, c·r+i] = U_c[o, i]·s_c[i].
        var dw = [Double](repeating: 0, count: cin * r * k), pw = [Double](repeating: 0, count: cout * cin * r)
        for (ch, svd) in svds.enumerated() {
            for i in 0..<r {
                for t in 0..<k { dw[(ch * r + i) * k + t] = Double(svd.vt[i * k + t]) }
                for o in 0..<cout { pw[o * cin * r + ch * r + i] = Double(svd.u[o * maxRank + i] * svd.s[i] + 0) }
            }
        }
        let dwTensor = Tensor(w.dtype, Shape([cin * r, 1] + Array(w.shape.dims.dropFirst(2))), doubles: dw)
        let spatial = w.shape.rank - 2
        let pwTensor = Tensor(w.dtype, Shape([cout, cin * r] + [Int](repeating: 1, count: spatial)), doubles: pw)
        // The error as measured from the rounded factors: W'[o,c,t] = Σ_i P[o,c·r+i]·D[c·r+i,t].
        let dwr = dwTensor.doubles, pwr = pwTensor.doubles
        var rebuilt = [Double](repeating: 0, count: values.count)
        for o in 0..<cout { for ch in 0..<cin { for i in 0..<r {
            let p = pwr[o * cin * r + ch * r + i]
            for t in 0..<k { rebuilt[(o * cin + ch) * k + t] += p * dwr[(ch * r + i) * k + t] }
        } } }

        let wName = graph[node.operands[1]].name, yName = graph[node.results[0]].name
        let dwValue = graph.addValue(name: wName + ".dw", type: dwTensor.type)
        let pwValue = graph.addValue(name: wName + ".pw", type: pwTensor.type)
        let depthwise = Conv(strides: c.strides, pads: c.pads, dilations: c.dilations, group: cin)
        let dwType = try depthwise.resultTypes([graph.type(of: node.operands[0]), dwTensor.type])[0]
        let mid = graph.addValue(name: yName + ".dw", type: dwType)
        let pointwise = Conv(strides: [Int](repeating: 1, count: spatial), pads: [Int](repeating: 0, count: 2 * spatial),
                             dilations: [Int](repeating: 1, count: spatial), group: 1, activation: c.activation)
        let base = node.name.isEmpty ? "" : node.name + "."
        let replacement = [
            Node(op: .constant(dwTensor), operands: [], results: [dwValue]),
            Node(op: .constant(pwTensor), operands: [], results: [pwValue]),
            Node(op: .conv(depthwise), operands: [node.operands[0], dwValue], results: [mid],
                 name: base.isEmpty ? "" : base + "depthwise"),
            Node(op: .conv(pointwise), operands: [mid, pwValue] + node.operands.dropFirst(2), results: node.results,
                 name: base.isEmpty ? "" : base + "pointwise"),
        ]
        let row = LayerReport(layer: layer, choice: "rank \(r)/\(maxRank)", changed: true,
                              error: relativeError(values, rebuilt), flopsBefore: flopsBefore, flopsAfter: flops(r),
                              paramsBefore: paramsBefore, paramsAfter: cin * r * (k + cout) + bias)
        return (row, replacement)
    }
}
