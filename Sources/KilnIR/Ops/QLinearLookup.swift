// qlinear_lookup: an elementwise function of one u8 value as a 256-entry table (the int8
// form of an activation that is not a clamp: SiLU, HardSwish, sigmoid, GELU, …).

/// qlinear_lookup: operands `x u8` (any shape) and `table u8[256]`; result `u8` of x's
/// shape, `y = table[x]`. quantize-int8 builds the table with `table(for:…)`.
public struct QLinearLookup: Hashable, Sendable {
    public init() {}

    /// The table of `activation` between the quantized domains: entry i is
    /// `quantize_y(f(dequantize_x(i)))`, with `dequantize_x(i) = (i − x_zero_point)·x_scale`
    /// and `quantize_y(v) = clamp(round_half_even(v / y_scale) + y_zero_point, 0, 255)` in f32
    /// (ONNX DequantizeLinear/QuantizeLinear), f the activation's reference evaluation (so
    /// the table's semantics are exactly the float op's). A NaN result maps to the zero point.
    public static func table(for activation: FusedActivation, xScale: Float, xZeroPoint: Int, yScale: Float,
                             yZeroPoint: Int) throws -> Tensor {
        try require(xScale > 0 && xScale.isFinite && yScale > 0 && yScale.isFinite, "qlinear_lookup: scales must be positive and finite")
        try require((0...255).contains(xZeroPoint) && (0...255).contains(yZeroPoint), "qlinear_lookup: zero points must lie in [0, 255]")
        let xs = Tensor([256], floats: (0..<256).map { Float($0 - xZeroPoint) * xScale })
        let ys = try activation.apply(xs).floats
        return Tensor(.u8, [256], int64s: ys.map { v in
            guard !v.isNaN else { return Int64(yZeroPoint) }
            let q = (v / yScale).rounded(.toNearestOrEven) + Float(yZeroPoint)
            return Int64(Swift.min(Swift.max(q, 0), 255))
        })
    }
}

extension QLinearLookup: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "qlinear_lookup")
        let (x, t) = (operands[0], operands[1])
        try require(x.dtype == .u8, "qlinear_lookup: x must be u8, got \(x.dtype.rawValue)")
        try require(t.dtype == .u8 && t.shape == [256], "qlinear_lookup: the table must be u8[256], got \(t)")
        return [TensorType(.u8, x.shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let table = operands[1].bytes
        return [Tensor(type: results[0], bytes: operands[0].bytes.map { table[Int($0)] })]
    }
}
