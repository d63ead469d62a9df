// qlinear_concat: the int8 concat (ONNX Runtime's com.microsoft QLinearConcat with the scales
// and zero points as attributes): each u8 input requantized to the result's parameters.

/// qlinear_concat: operands `x0..xn u8` (concat's shape rules), result `u8`.
/// Input i's element x becomes `clamp(y_zero_point + ((mult_i·(x − x_zero_points[i]) +
/// 2^(shift_i−1)) >> shift_i), 0, 255)` with `(mult_i, shift_i)` =
/// `QLinearAdd.multipliers([x_scales[i] / y_scale])` (qlinear_add's integers with one
/// operand; the kernel's arithmetic, so the reference evaluation agrees bit for bit). An input
/// at the result's scale and zero point is copied unchanged (mult = 2^shift).
public struct QLinearConcat: Hashable, Sendable {
    public var axis: Int
    public var xScales: [Float]
    public var xZeroPoints: [Int]
    public var yScale: Float
    public var yZeroPoint: Int

    public init(axis: Int, xScales: [Float], xZeroPoints: [Int], yScale: Float, yZeroPoint: Int) {
        self.axis = axis; self.xScales = xScales; self.xZeroPoints = xZeroPoints
        self.yScale = yScale; self.yZeroPoint = yZeroPoint
    }

    /// Per input: multiplier and shift.
    public func fixedPoint() throws -> [(mult: Int64, shift: Int)] {
        try xScales.map { s in
            let (m, shift) = try QLinearAdd.multipliers([Double(s) / Double(yScale)], "qlinear_concat: x_scale/y_scale")
            return (m[0], shift)
        }
    }
}

extension QLinearConcat: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try require(operands.count == xScales.count && operands.count == xZeroPoints.count,
                    "qlinear_concat: \(operands.count) operands, but \(xScales.count) x_scales and \(xZeroPoints.count) x_zero_points")
        try require(operands.count <= 254, "qlinear_concat takes at most 254 operands, got \(operands.count)")
        try require(operands.allSatisfy { $0.dtype == .u8 }, "qlinear_concat: operands must be u8")
        try require((xScales + [yScale]).allSatisfy { $0 > 0 && $0.isFinite }, "qlinear_concat: scales must be positive and finite")
        try require((xZeroPoints + [yZeroPoint]).allSatisfy { (0...255).contains($0) }, "qlinear_concat: zero points must lie in [0, 255]")
        _ = try fixedPoint()
        return try Concat(axis: axis).resultTypes(operands.map { TensorType(.u8, $0.shape) })
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let requantized = zip(operands, try fixedPoint()).enumerated().map { i, pair -> Tensor in
            let (x, fp) = pair
            let zp = Int64(xZeroPoints[i]), round = Int64(1) << (fp.shift - 1)
            return Tensor(.u8, x.shape, int64s: x.int64s.map { v in
                min(max(((fp.mult * (v - zp) + round) >> fp.shift) + Int64(yZeroPoint), 0), 255)
            })
        }
        return try Concat(axis: axis).evaluate(requantized, results: results)
    }
}
