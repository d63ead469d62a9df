import KilnIR

/// quantize-dynamic (`kiln compile --quantize dynamic-int8`): gemm and mat_mul with a
/// constant weight become dyn_quant_mat_mul — the weight stored as symmetric i8 with one
/// scale per output column, the activation quantized to u8 while running (per row, or per
/// tensor with `per_row=false`), int32 accumulation, an f32 result. No calibration.
///
///     %w = constant f32[64,32] …
///     %m = mat_mul(%x, %w) : f32[8,32]
///     %y = add(%m, %b) {activation = relu} : f32[8,32]        (%b a constant f32[32])
///   becomes
///     %w.q = constant i8[64,32] …
///     %y = dyn_quant_mat_mul(%x, %w.q, %b) {w_scales = […], per_row = true, activation = relu} : f32[8,32]
///
/// Algorithm (three patterns, to a fixed point):
/// 1. gemm (no transA, f32, constant rank-2 B; C absent or a constant with one or N
///    elements, not [M, N]) and mat_mul (f32, constant rank-2 weight): B is transposed
///    for transB and multiplied by alpha, then quantized per column: scale = max|w| / 127,
///    w_q = round_half_even(w / scale) in [-127, 127]; beta·C becomes the f32 bias.
/// 2. add(dyn_quant_mat_mul without bias or activation, constant broadcasting as [N])
///    → the constant becomes the bias, the add's fused activation the op's.
/// 3. an activation op (relu, clip, gelu, …) of a dyn_quant_mat_mul without one → fused.
/// 4. RNN / GRU / LSTM with constant W and R: both stored i8 per row, x_t and h_{t-1}
///    quantized per row while running (`QuantizeRecurrentToDynamic`; `per_row` does not
///    apply).
/// Precondition: verified graph. Guarantees: same shapes; outputs within the int8 error
/// of the float op (the evaluator computes exactly what DYN_QGEMM computes).
public struct QuantizeDynamic: Pass {
    public var perRow: Bool
    public init(perRow: Bool = true) { self.perRow = perRow }
    public init(_ options: PassOptions) throws {
        try options.requireKeys(["per_row"])
        let v = options.value("per_row") ?? "true"
        guard v == "true" || v == "false" else {
            throw KilnError("pass quantize-dynamic: per_row must be true or false, got '\(v)'")
        }
        self.init(perRow: v == "true")
    }
    public var name: String { "quantize-dynamic" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply(patterns, to: &graph)
    }

    private var patterns: [any RewritePattern] {
        [QuantizeLinearToDynamic(perRow: perRow), AbsorbDynamicBias(), AbsorbDynamicActivation(), QuantizeRecurrentToDynamic()]
    }

    /// Runs the pass on `graph` (verified after) and returns how many dyn_quant_mat_mul
    /// ops and dynamically quantized recurrent ops the graph holds.
    public func apply(_ graph: inout Graph) throws -> (matMuls: Int, recurrent: Int) {
        _ = try PatternDriver.apply(patterns, to: &graph)
        try Verifier.verify(graph)
        var counts = (matMuls: 0, recurrent: 0)
        for node in graph.nodes {
            if case .dynQuantMatMul = node.op { counts.matMuls += 1 }
            if case .recurrent(let r) = node.op, r.dynQuant != nil { counts.recurrent += 1 }
        }
        return counts
    }
}

struct QuantizeLinearToDynamic: RewritePattern {
    var perRow: Bool

    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard node.results.count == 1, node.operands.count >= 2, r.type(of: node.operands[0]).dtype == .f32,
              var w = r.constant(node.operands[1]), w.dtype == .f32, w.shape.rank == 2 else { return nil }
        var bias: [Float]?
        let activation: FusedActivation?
        if case .gemm(let g) = node.op {
            guard !g.transA, g.alpha.isFinite, g.beta.isFinite else { return nil }
            if g.transB { w = QuantizeInt8.transposed(w) }
            w = Tensor(w.shape, floats: w.floats.map { $0 * g.alpha })
            if node.operands.count > 2 {
                let n = w.shape[1]
                guard let c = r.constant(node.operands[2]), c.dtype == .f32,
                      c.count == 1 || (c.count == n && c.shape.dims.dropLast().allSatisfy { $0 == 1 }) else { return nil }
                let values = c.count == 1 ? [Float](repeating: c.floats[0], count: n) : c.floats
                bias = values.map { $0 * g.beta }
            }
            activation = g.activation
        } else if case .matMul(let m) = node.op {
            guard node.operands.count == 2 else { return nil }
            activation = m.activation
        } else {
            return nil
        }
        let (k, n) = (w.shape[0], w.shape[1])
        guard k > 0, n > 0, k < 65536, w.floats.allSatisfy({ $0.isFinite }) else { return nil }
        let (wq, scales) = QuantizeInt8.quantizeWeights(w, channels: n, channelAxisFirst: false)
        let base = r.graph[node.results[0]].name
        var operands = [node.operands[0], try r.create1(.constant(wq), [], name: r.graph[node.operands[1]].name + ".q")]
        if let bias { operands.append(try r.create1(.constant(Tensor([n], floats: bias)), [], name: base + ".bias")) }
        let op = Op.dynQuantMatMul(DynQuantMatMul(wScales: scales, perRow: perRow, activation: activation))
        guard (try? op.resultTypes(operands.map { r.type(of: $0) }))?.first == r.type(of: node.results[0]) else { return nil }
        return [try r.create1(op, operands, nodeName: node.name)]
    }
}

/// add(dyn_quant_mat_mul(x, w), c) → dyn_quant_mat_mul(x, w, c) for a constant c of N
/// values that broadcasts as [N] (every other dim 1, the result shape unchanged).
struct AbsorbDynamicBias: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(.add, let act) = node.op, node.operands.count == 2 else { return nil }
        for (a, b) in [(node.operands[0], node.operands[1]), (node.operands[1], node.operands[0])] {
            guard let d = r.absorbable(a), case .dynQuantMatMul(var q) = d.op, q.activation == nil, d.operands.count == 2,
                  let c = r.constant(b), c.dtype == .f32 else { continue }
            let y = r.type(of: a), n = q.wScales.count
            guard c.count == n, c.shape.dims.dropLast().allSatisfy({ $0 == 1 }), broadcastsInto(c.shape, y.shape),
                  r.type(of: node.results[0]) == y else { continue }
            q.activation = act
            let bias = try r.create1(.constant(Tensor([n], floats: c.floats)), [], name: r.graph[node.results[0]].name + ".bias")
            return [try r.create1(.dynQuantMatMul(q), [d.operands[0], d.operands[1], bias], nodeName: d.name)]
        }
        return nil
    }
}

/// act(dyn_quant_mat_mul(…)) → dyn_quant_mat_mul(…) {activation = act}.
struct AbsorbDynamicActivation: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard let act = FusedActivation(node.op), node.operands.count == 1, let d = r.absorbable(node.operands[0]),
              case .dynQuantMatMul(var q) = d.op, q.activation == nil else { return nil }
        q.activation = act
        return [try r.create1(.dynQuantMatMul(q), d.operands, nodeName: d.name)]
    }
}
