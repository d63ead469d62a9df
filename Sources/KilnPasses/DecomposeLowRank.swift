import KilnIR

/// decompose-low-rank: factors a Gemm or MatMul whose weight is a constant matrix into two
/// thinner layers by truncated SVD (`kiln compile --decompose low-rank=full|auto|N`).
///
///     %y = gemm(%x, %w, %b) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = true} : f32[1,64]
///   (x: f32[1,128], w: f32[64,128]) becomes, with r = 8,
///     %y.lr = gemm(%x, %w.u) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false} : f32[1,8]
///     %y = gemm(%y.lr, %w.v, %b) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false} : f32[1,64]
///   with w.u: f32[128,8] and w.v: f32[8,64]; a MatMul x·W becomes (x·U)·V the same way.
///
/// Algorithm: the K × N weight as used (B' = Bᵀ when trans_b) is U·diag(s)·Vᵀ; the first
/// layer multiplies by U_r·diag(s_r) (K × r), the second by Vᵀ_r (r × N) and keeps alpha,
/// beta, C and any fused activation. Exact at r = min(K, N). Rank per layer follows `RankRule`; the error is
/// ‖B − B_r‖_F / ‖B‖_F. FLOPs per output row: 2·K·N before, 2·r·(K + N) after. Both
/// sides run on the same GEMM kernel, so `auto`'s time model (`ConvCostModel`) reduces to
/// FLOPs here (thin GEMMs run somewhat below peak; not modelled).
/// Leaves alone: weights that are not float constant matrices, a constant first operand
/// (W·x), and matrices with a dimension of 1.
public struct DecomposeLowRank: Pass {
    public var rank: RankRule
    public var budget: Double

    public init(rank: RankRule = .full, budget: Double = 0.01) {
        self.rank = rank
        self.budget = budget
    }

    init(_ options: PassOptions) throws {
        let (rank, budget) = try RankRule.options(options)
        self.init(rank: rank, budget: budget)
    }

    public var name: String { "decompose-low-rank" }

    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try decompose(&graph).delivered(to: context)
    }

    public func decompose(_ graph: inout Graph) throws -> CompressionReport {
        var report = CompressionReport(title: "decompose-low-rank (rank \(rank), budget rel \(budget)):")
        var nodes: [Node] = []
        for node in graph.nodes {
            var transB = false
            if case .gemm(let g) = node.op {
                transB = g.transB
            } else if case .matMul = node.op {
            } else {
                nodes.append(node)
                continue
            }
            guard graph.constantValue(node.operands[0]) == nil, let w = graph.constantValue(node.operands[1]),
                  w.dtype.isFloat, w.type.quantization == nil, w.shape.rank == 2, min(w.shape[0], w.shape[1]) > 1 else {
                nodes.append(node)
                continue
            }
            let (row, replacement) = try decompose(node, w, transB: transB, &graph)
            report.layers.append(row)
            nodes += replacement ?? [node]
        }
        graph.nodes = nodes
        if report.changed { graph.removeDeadNodes() }
        return report
    }

    private func decompose(_ node: Node, _ w: Tensor, transB: Bool, _ graph: inout Graph) throws -> (LayerReport, [Node]?) {
        let (k, n) = transB ? (w.shape[1], w.shape[0]) : (w.shape[0], w.shape[1])
        let raw = w.doubles
        // B' row-major K × N.
        var b = [Double](repeating: 0, count: k * n)
        for i in 0..<k { for j in 0..<n { b[i * n + j] = transB ? raw[j * k + i] : raw[i * n + j] } }
        let svd = try SVD(rowMajor: b.map(Float.init), rows: k, cols: n)
        let maxRank = svd.k
        var tail = [Double](repeating: 0, count: maxRank + 1)
        for i in stride(from: maxRank - 1, through: 0, by: -1) { tail[i] = tail[i + 1] + Double(svd.s[i]) * Double(svd.s[i]) }
        let rows = graph.type(of: node.results[0]).shape.elementCount / n
        let bias = node.operands.count > 2 ? graph.type(of: node.operands[2]).shape.elementCount : 0
        let flopsBefore = 2 * rows * k * n, paramsBefore = k * n + bias
        func flops(_ r: Int) -> Int { 2 * rows * r * (k + n) }
        func error(_ r: Int) -> Double { tail[0] == 0 ? 0 : (tail[r] / tail[0]).squareRoot() }
        let (chosen, note) = rank.choose(maxRank: maxRank, budget: budget, error: error, flops: flops, flopsBefore: flopsBefore)
        let layer = layerName(node, graph)
        guard let r = chosen else {
            return (LayerReport(layer: layer, choice: "kept", changed: false, error: 0, flopsBefore: flopsBefore,
                                flopsAfter: flopsBefore, paramsBefore: paramsBefore, paramsAfter: paramsBefore,
                                note: note.isEmpty ? "no rank meets rel \(budget)" : note), nil)
        }
        var u = [Double](repeating: 0, count: k * r), v = [Double](repeating: 0, count: r * n)
        for i in 0..<k { for j in 0..<r { u[i * r + j] = Double(svd.u[i * maxRank + j] * svd.s[j] + 0) } }
        for i in 0..<r { for j in 0..<n { v[i * n + j] = Double(svd.vt[i * n + j]) } }
        let uTensor = Tensor(w.dtype, [k, r], doubles: u), vTensor = Tensor(w.dtype, [r, n], doubles: v)
        let ur = uTensor.doubles, vr = vTensor.doubles
        var rebuilt = [Double](repeating: 0, count: k * n)
        for i in 0..<k { for j in 0..<r { let p = ur[i * r + j]; for t in 0..<n { rebuilt[i * n + t] += p * vr[j * n + t] } } }

        let wName = graph[node.operands[1]].name, yName = graph[node.results[0]].name
        let uValue = graph.addValue(name: wName + ".u", type: uTensor.type)
        let vValue = graph.addValue(name: wName + ".v", type: vTensor.type)
        let first: Op, second: Op
        if case .gemm(let g) = node.op {
            first = .gemm(Gemm(alpha: 1, beta: 1, transA: g.transA, transB: false))
            second = .gemm(Gemm(alpha: g.alpha, beta: g.beta, transA: false, transB: false, activation: g.activation))
        } else if case .matMul(let m) = node.op {
            first = .matMul(MatMul())
            second = .matMul(MatMul(activation: m.activation))
        } else {
            throw KilnError("decompose-low-rank: internal error: \(node.op.mnemonic) is not a dense layer")
        }
        let midType = try first.resultTypes([graph.type(of: node.operands[0]), uTensor.type])[0]
        let mid = graph.addValue(name: yName + ".lr", type: midType)
        let base = node.name.isEmpty ? "" : node.name + "."
        let replacement = [
            Node(op: .constant(uTensor), operands: [], results: [uValue]),
            Node(op: .constant(vTensor), operands: [], results: [vValue]),
            Node(op: first, operands: [node.operands[0], uValue], results: [mid], name: base.isEmpty ? "" : base + "u"),
            Node(op: second, operands: [mid, vValue] + node.operands.dropFirst(2), results: node.results,
                 name: base.isEmpty ? "" : base + "v"),
        ]
        let row = LayerReport(layer: layer, choice: "rank \(r)/\(maxRank)", changed: true, error: relativeError(b, rebuilt),
                              flopsBefore: flopsBefore, flopsAfter: flops(r), paramsBefore: paramsBefore,
                              paramsAfter: r * (k + n) + bias)
        return (row, replacement)
    }
}
