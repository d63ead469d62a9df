import KilnIR

/// Part of quantize-dynamic: an f32 RNN / GRU / LSTM whose W and R are constants keeps its
/// f32 semantics but stores W and R as symmetric i8 with one scale per row (per gate unit
/// and direction, over the input or hidden axis): scale = max|w| / 127 (1 for an all-zero
/// row), w_q = round_half_even(w / scale) in [-127, 127]. While running, each x_t and
/// h_{t-1} row is quantized to u8 with its own range and the gate pre-activations are int32
/// dot products rescaled to f32 (`Recurrent.evaluateDynQuant`, runtime DYN_QRECURRENT).
/// The biases, initial states and peepholes stay f32.
///
///     %y, %yh, %yc = lstm(%x, %w, %r, %b, …) {hidden_size = 16, …}       (%w, %r constant f32)
///   becomes
///     %y, %yh, %yc = lstm(%x, %w.q, %r.q, %b, …) {…, w_scales = […], r_scales = […]}
///
/// Not rewritten: non-f32 X, non-constant or non-finite W / R, an input or hidden size of
/// 65536 or more (int32 sums must stay exact), an op already quantized.
struct QuantizeRecurrentToDynamic: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .recurrent(var rec) = node.op, rec.dynQuant == nil, r.type(of: node.operands[0]).dtype == .f32,
              let w = r.constant(node.operands[1]), let rw = r.constant(node.operands[2]), w.dtype == .f32, rw.dtype == .f32,
              w.shape.rank == 3, rw.shape.rank == 3, w.shape[2] < 65536, rw.shape[2] < 65536,
              w.count > 0, rw.count > 0, w.floats.allSatisfy({ $0.isFinite }), rw.floats.allSatisfy({ $0.isFinite })
        else { return nil }
        let rows = w.shape[0] * w.shape[1]
        let (wq, ws) = QuantizeInt8.quantizeWeights(w, channels: rows, channelAxisFirst: true)
        let (rq, rs) = QuantizeInt8.quantizeWeights(rw, channels: rows, channelAxisFirst: true)
        rec.dynQuant = RecurrentDynQuant(wScales: ws, rScales: rs)
        var operands = node.operands
        operands[1] = try r.create1(.constant(wq), [], name: r.graph[node.operands[1]].name + ".q")
        operands[2] = try r.create1(.constant(rq), [], name: r.graph[node.operands[2]].name + ".q")
        let op = Op.recurrent(rec)
        guard (try? op.resultTypes(operands.map { r.type(of: $0) })) == node.results.map({ r.type(of: $0) }) else { return nil }
        return try r.create(op, operands, nodeName: node.name)
    }
}
