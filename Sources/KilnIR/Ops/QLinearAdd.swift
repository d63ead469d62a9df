// qlinear_add: the int8 elementwise add (ONNX Runtime's com.microsoft QLinearAdd with the
// scales and zero points as attributes, without broadcasting) and an output clamp that
// carries a fused ReLU/clip, like qlinear_conv's y_min/y_max.

/// qlinear_add: operands `a u8`, `b u8` of one shape; result `u8` of that shape.
/// `y = clamp(round((a_scale·(a − a_zero_point) + b_scale·(b − b_zero_point)) / y_scale) +
/// y_zero_point, y_min, y_max)`, computed exactly in integers with the fixed-point
/// multipliers of `fixedPoint` (the kernels' arithmetic, so the reference evaluation and
/// the runtime agree bit for bit; against the real-valued formula the multipliers are
/// exact to 2^-21 relative, so only results within that of a rounding tie can differ).
public struct QLinearAdd: Hashable, Sendable {
    public var aScale: Float
    public var aZeroPoint: Int
    public var bScale: Float
    public var bZeroPoint: Int
    public var yScale: Float
    public var yZeroPoint: Int
    public var yMin: Int
    public var yMax: Int

    public init(aScale: Float, aZeroPoint: Int, bScale: Float, bZeroPoint: Int, yScale: Float, yZeroPoint: Int,
                yMin: Int = 0, yMax: Int = 255) {
        self.aScale = aScale; self.aZeroPoint = aZeroPoint; self.bScale = bScale; self.bZeroPoint = bZeroPoint
        self.yScale = yScale; self.yZeroPoint = yZeroPoint; self.yMin = yMin; self.yMax = yMax
    }

    /// The largest multiplier (2^21) keeps every product and sum of the integer formula in
    /// int32: |mult·(x − zp)| ≤ 255·2^21 < 2^29.
    public static let maxMultiplier: Int64 = 1 << 21

    /// The integer form `y = clamp(y_zp + ((a_mult·(a − a_zp) + b_mult·(b − b_zp) +
    /// 2^(shift−1)) >> shift), y_min, y_max)` (`>>` floors).
    /// Algorithm: r_a = a_scale/y_scale, r_b = b_scale/y_scale in Double; with
    /// r = max(r_a, r_b) = f·2^e, f in [0.5, 1): shift = min(21 − e, 30), mult =
    /// round(r·2^shift) (half away from zero), so the larger multiplier lies in
    /// [2^20, 2^21] (unless the shift is capped at 30). Throws when r ≥ 2^20 (shift < 1):
    /// y_scale is then so small that any difference from the zero points saturates.
    public func fixedPoint() throws -> (aMult: Int64, bMult: Int64, shift: Int) {
        let ra = Double(aScale) / Double(yScale), rb = Double(bScale) / Double(yScale)
        let (m, shift) = try Self.multipliers([ra, rb], "qlinear_add: a_scale/y_scale or b_scale/y_scale")
        return (m[0], m[1], shift)
    }

    /// Multipliers of `ratios` on one shift (the algorithm of `fixedPoint`, with r the
    /// largest ratio); `what` names the ratios in the error.
    public static func multipliers(_ ratios: [Double], _ what: String) throws -> (mults: [Int64], shift: Int) {
        let r = ratios.max() ?? 0
        try require(r.isFinite && r > 0 && ratios.allSatisfy { $0 >= 0 }, "\(what): \(ratios) are not positive and finite")
        let shift = min(20 - Int(r.exponent), 30)  // frexp's e is exponent + 1
        try require(shift >= 1, "\(what) is too large (≥ 2^20)")
        let scale = Double(sign: .plus, exponent: shift, significand: 1)
        return (ratios.map { Int64(($0 * scale).rounded()) }, shift)
    }

    /// The integer formula on one pair of elements.
    public func add(_ a: Int64, _ b: Int64, _ fp: (aMult: Int64, bMult: Int64, shift: Int)) -> Int64 {
        let t = fp.aMult * (a - Int64(aZeroPoint)) + fp.bMult * (b - Int64(bZeroPoint)) + (Int64(1) << (fp.shift - 1))
        return min(max((t >> fp.shift) + Int64(yZeroPoint), Int64(yMin)), Int64(yMax))
    }
}

extension QLinearAdd: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "qlinear_add")
        let (a, b) = (operands[0], operands[1])
        try require(a.dtype == .u8 && b.dtype == .u8, "qlinear_add: operands must be u8, got \(a.dtype.rawValue) and \(b.dtype.rawValue)")
        try require(a.shape == b.shape, "qlinear_add: operands must have the same shape, got \(a.shape) and \(b.shape)")
        try require([aScale, bScale, yScale].allSatisfy { $0 > 0 && $0.isFinite }, "qlinear_add: scales must be positive and finite")
        try require([aZeroPoint, bZeroPoint, yZeroPoint].allSatisfy { (0...255).contains($0) },
                    "qlinear_add: zero points must lie in [0, 255]")
        try require(0 <= yMin && yMin <= yMax && yMax <= 255, "qlinear_add: y_min/y_max must satisfy 0 <= y_min <= y_max <= 255")
        _ = try fixedPoint()
        return [TensorType(.u8, a.shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let fp = try fixedPoint()
        let a = operands[0].int64s, b = operands[1].int64s
        return [Tensor(.u8, results[0].shape, int64s: a.indices.map { add(a[$0], b[$0], fp) })]
    }
}
