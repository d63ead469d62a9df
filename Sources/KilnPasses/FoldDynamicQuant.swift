import KilnIR

/// fold-dynamic-quant: folds the chain ONNX Runtime's `quantize_dynamic` writes for a
/// MatMul (DynamicQuantizeLinear → MatMulInteger → Cast → Mul by x_scale·w_scale), as the
/// importer maps it, into one dyn_quant_mat_mul (per tensor, DynamicQuantizeLinear's
/// range), so it runs in the int8 kernel (DYN_QGEMM). A following bias add and activation
/// are absorbed by quantize-dynamic's patterns 2 and 3.
///
///     %s, %z = dynamic_quant_params(%x) : f32[], u8[]
///     %q = quantize_linear(%x, %s, %z) {block_size = 0, output_type = u8} : u8[4,16]
///     %qf = cast(%q) {to = f32} ; %zf = cast(%z) {to = f32} ; %c = sub(%qf, %zf)
///     %m = mat_mul(%c, %wc) : f32[4,8]          (%wc: w - w_zero_point, folded to f32)
///     %i = cast(%m) {to = i32} ; %f = cast(%i) {to = f32}
///     %ws = mul(%s, %w_scale) : f32[8]          (either operand order, here and below)
///     %y = mul(%f, %ws) : f32[4,8]
///   becomes
///     %y = dyn_quant_mat_mul(%x, %w.q) {w_scales = […], per_row = false} : f32[4,8]
///
/// Applies when %wc is a constant f32 [K, N] of integers in [-128, 127], %w_scale a
/// constant of one or N positive finite values, and %q, %qf, %zf, %c, %m, %i, %f are
/// used only along the chain. The result is what ORT computes, bit for bit
/// (f32(acc) · (x_scale · w_scale[c])) — the integer sums are exact here and in ORT.
/// Run after fold-constants (which folds the weight's cast and zero point).
public struct FoldDynamicQuant: Pass {
    public init() {}
    public var name: String { "fold-dynamic-quant" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FoldDynamicMatMul(), AbsorbDynamicBias(), AbsorbDynamicActivation()], to: &graph)
    }
}

struct FoldDynamicMatMul: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(.mul, .none) = node.op, node.operands.count == 2 else { return nil }
        for (f, ws) in [(node.operands[0], node.operands[1]), (node.operands[1], node.operands[0])] {
            if let y = try fold(node, f, ws, &r) { return [y] }
        }
        return nil
    }

    private func fold(_ node: Node, _ f: ValueID, _ ws: ValueID, _ r: inout Rewriter) throws -> ValueID? {
        // %f = cast f32 (cast i32 (mat_mul(%c, %wc)))
        guard let castF = r.absorbable(f), case .cast(let c1) = castF.op, c1.to == .f32,
              let castI = r.absorbable(castF.operands[0]), case .cast(let c2) = castI.op, c2.to == .i32,
              let mm = r.absorbable(castI.operands[0]), case .matMul(let m) = mm.op, m.activation == nil,
              mm.operands.count == 2, let wc = r.constant(mm.operands[1]), wc.dtype == .f32, wc.shape.rank == 2,
              let (sub, _, _) = r.binary(mm.operands[0], .sub), r.useCount(mm.operands[0]) == 1,
              let qf = r.absorbable(sub.operands[0]), case .cast(let c3) = qf.op, c3.to == .f32,
              let zf = r.absorbable(sub.operands[1]), case .cast(let c4) = zf.op, c4.to == .f32,
              let ql = r.producer(of: qf.operands[0]), case .quantizeLinear(let qa) = ql.op, qa.axis == nil,
              qa.blockSize == 0, qa.outputType == .u8, ql.operands.count == 3,
              let params = r.producer(of: ql.operands[1]), case .dynamicQuantParams = params.op,
              params.results == [ql.operands[1], ql.operands[2]], zf.operands[0] == ql.operands[2] else { return nil }
        // %ws = mul(%s, constant w_scale)
        guard let (_, s0, s1) = r.binary(ws, .mul), s0 == ql.operands[1] || s1 == ql.operands[1],
              let wsc = r.constant(s0 == ql.operands[1] ? s1 : s0), wsc.dtype == .f32 else { return nil }
        let (k, n) = (wc.shape[0], wc.shape[1])
        let wv = wc.floats
        guard k > 0, k < 65536, wv.allSatisfy({ $0 == $0.rounded() && $0 >= -128 && $0 <= 127 }),
              wsc.count == 1 || (wsc.count == n && wsc.shape.rank == 1) else { return nil }
        let scales = wsc.count == 1 ? [Float](repeating: wsc.floats[0], count: n) : wsc.floats
        guard scales.allSatisfy({ $0 > 0 && $0.isFinite }) else { return nil }
        let x = params.operands[0]
        let wq = try r.create1(.constant(Tensor(.i8, [k, n], int64s: wv.map { Int64($0) })), [],
                               name: r.graph[mm.operands[1]].name + ".q")
        let op = Op.dynQuantMatMul(DynQuantMatMul(wScales: scales, perRow: false))
        guard (try? op.resultTypes([r.type(of: x), r.type(of: wq)]))?.first == r.type(of: node.results[0]) else { return nil }
        return try r.create1(op, [x, wq], nodeName: mm.name)
    }
}
