import Foundation
import KilnIR

// qlinear_conv → QCONV2D, qlinear_mat_mul → QGEMM, qlinear_add → QADD, qlinear_concat → QCONCAT,
// qlinear_global_average_pool → QGLOBAL_AVG_POOL, qlinear_lookup → QLOOKUP, max pool on u8 → QMAXPOOL,
// dyn_quant_mat_mul → DYN_QGEMM and dynamic_quant_params → DYN_QPARAMS. The requantization multipliers are
// computed here, once, so the kernels do integer work only (PLAN_FORMAT.md, QCONV2D).

extension Lowerer {
    mutating func lowerQLinearConv(_ q: QLinearConv, _ n: Node) throws {
        let (x, w, y) = (n.operands[0], n.operands[1], n.results[0])
        try require(type(x).shape.rank == 4, "qlinear_conv: only 2-D convolutions run quantized (got rank \(type(x).shape.rank))")
        try require(constant(w) != nil, "qlinear_conv: the weight must be a constant")
        let bias = try quantizedBias(n)
        let win = Window2D(kernel: Array(type(w).shape.dims[2...]), strides: q.conv.strides, pads: q.conv.pads,
                           dilations: q.conv.dilations)
        let requant = constantTensor("requant", try Requantization.table(q.quant))
        try emit(.qconv2d, win.values + [.i(q.conv.group)] + noActivation + quantAttributes(q.quant),
                 [tensor(x), tensor(w), requant, bias], [result(y)])
    }

    mutating func lowerQLinearMatMul(_ q: QLinearMatMul, _ n: Node) throws {
        let (x, w, y) = (n.operands[0], n.operands[1], n.results[0])
        try require(constant(w) != nil, "qlinear_mat_mul: the weight must be a constant")
        let bias = try quantizedBias(n)
        let requant = constantTensor("requant", try Requantization.table(q.quant))
        try emit(.qgemm, quantAttributes(q.quant), [tensor(x), tensor(w), requant, bias], [result(y)])
    }

    /// qlinear_add → QADD: the zero points, the clamp and the fixed-point multipliers (the
    /// IR op computes them, so the reference evaluator and the kernel share them).
    mutating func lowerQLinearAdd(_ q: QLinearAdd, _ n: Node) throws {
        let fp = try q.fixedPoint()
        let attrs: [AttributeValue] = [.i(q.aZeroPoint), .i(q.bZeroPoint), .i(q.yZeroPoint), .i(q.yMin), .i(q.yMax),
                                       .i(Int(fp.aMult)), .i(Int(fp.bMult)), .i(fp.shift)]
        try emit(.qadd, attrs, [tensor(n.operands[0]), tensor(n.operands[1])], [result(n.results[0])])
    }

    /// qlinear_concat → QCONCAT: the per-input zero points and fixed-point multipliers as an
    /// i32 [n, 3] constant.
    mutating func lowerQLinearConcat(_ q: QLinearConcat, _ n: Node) throws {
        let table = zip(q.xZeroPoints, try q.fixedPoint()).flatMap { [Int64($0), $1.mult, Int64($1.shift)] }
        let params = constantTensor("params", Tensor(.i32, [q.xZeroPoints.count, 3], int64s: table))
        try emit(.qconcat, [.i(q.axis), .i(q.yZeroPoint)], n.operands.map { Optional(tensor($0)) } + [params], [result(n.results[0])])
    }

    /// qlinear_global_average_pool → QGLOBAL_AVG_POOL: zero points and the fixed-point multiplier.
    mutating func lowerQLinearGlobalAveragePool(_ q: QLinearGlobalAveragePool, _ n: Node) throws {
        let x = type(n.operands[0]).shape
        let fp = try q.fixedPoint(pixels: x[2] * x[3])
        try emit(.qglobalAvgPool, [.i(q.xZeroPoint), .i(q.yZeroPoint), .i(Int(fp.mult)), .i(fp.shift)], [tensor(n.operands[0])],
                 [result(n.results[0])])
    }

    /// qlinear_lookup → QLOOKUP: the table is the constant second operand.
    mutating func lowerQLinearLookup(_ n: Node) throws {
        try require(constant(n.operands[1]) != nil, "qlinear_lookup: the table must be a constant")
        try emit(.qlookup, [], [tensor(n.operands[0]), tensor(n.operands[1])], [result(n.results[0])])
    }

    /// A max pool on u8 (quantize-int8 moves it past the dequantize) → QMAXPOOL: the
    /// window without pooling kind, count_include_pad or p.
    mutating func lowerQMaxPool(_ p: Pool, _ n: Node) throws {
        let (x, y) = (n.operands[0], n.results[0])
        try require(type(x).shape.rank == 4, "max pooling on u8 runs 2-D only (got rank \(type(x).shape.rank))")
        let win = Window2D(kernel: p.kernel, strides: p.strides, pads: p.pads, dilations: p.dilations)
        try emit(.qmaxpool, win.values, [tensor(x)], [result(y)])
    }

    /// dyn_quant_mat_mul → DYN_QGEMM: the weight scales become an f32 [N] constant.
    mutating func lowerDynQuantMatMul(_ q: DynQuantMatMul, _ n: Node) throws {
        let (x, w, y) = (n.operands[0], n.operands[1], n.results[0])
        try require(constant(w) != nil, "dyn_quant_mat_mul: the weight must be a constant")
        let scales = constantTensor("w_scales", Tensor([q.wScales.count], floats: q.wScales))
        let bias = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let act = try actAttributes(q.activation, y)
        try emit(.dynQgemm, [.i(q.perRow ? 1 : 0)] + act, [tensor(x), tensor(w), scales, bias], [result(y)])
    }

    mutating func lowerDynamicQuantParams(_ n: Node) throws {
        try emit(.dynQparams, [], [tensor(n.operands[0])], [result(n.results[0]), result(n.results[1])])
    }

    private mutating func quantizedBias(_ n: Node) throws -> Int? {
        guard n.operands.count > 2 else { return nil }
        try require(constant(n.operands[2]) != nil, "\(n.op.mnemonic): the bias must be a constant")
        return tensor(n.operands[2])
    }

    private func quantAttributes(_ q: QLinearParams) -> [AttributeValue] {
        [.i(q.xZeroPoint), .i(q.yZeroPoint), .i(q.yMin), .i(q.yMax)]
    }
}

/// Fixed-point requantization multipliers.
public enum Requantization {
    /// `real ≈ mult * 2^-shift` with mult in [2^30, 2^31) and shift in [1, 62]; a multiplier
    /// too small for that range becomes (0, 1) (the output is the zero point).
    /// Algorithm: frexp gives real = f * 2^e with f in [0.5, 1); mult = round(f * 2^31)
    /// (2^31 after rounding becomes 2^30 with e + 1); shift = 31 - e.
    public static func fixedPoint(_ real: Double) throws -> (mult: Int32, shift: Int32) {
        try require(real.isFinite && real >= 0, "requantization multiplier \(real) is not a finite non-negative number")
        if real == 0 { return (0, 1) }
        var e: Int32 = 0
        let f = frexp(real, &e)
        var mult = Int64((f * 2147483648.0).rounded())
        var exp = Int(e)
        if mult == 1 << 31 { mult = 1 << 30; exp += 1 }
        let shift = 31 - exp
        if shift > 62 { return (0, 1) }
        try require(shift >= 1, "requantization multiplier \(real) is too large (x_scale * w_scale / y_scale ≥ 2^30)")
        return (Int32(mult), Int32(shift))
    }

    /// The i32 [2, M] requant operand: multipliers, then shifts.
    static func table(_ q: QLinearParams) throws -> Tensor {
        let pairs = try q.wScales.map { try fixedPoint(Double(q.xScale) * Double($0) / Double(q.yScale)) }
        return Tensor(.i32, [2, pairs.count], int64s: pairs.map { Int64($0.mult) } + pairs.map { Int64($0.shift) })
    }
}
