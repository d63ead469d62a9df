// qlinear_global_average_pool: the int8 mean over H and W (ONNX Runtime's com.microsoft
// QLinearGlobalAveragePool, NCHW, with the scales and zero points as attributes).

/// qlinear_global_average_pool: operand `x u8 [N,C,H,W]`, result `u8 [N,C,1,1]`. With
/// `s = Σ x` over a plane, `y = clamp(y_zero_point + ((mult·(s − H·W·x_zero_point) +
/// 2^(shift−1)) >> shift), 0, 255)` and `(mult, shift) = QLinearAdd.multipliers([x_scale /
/// (y_scale·H·W)])`: the kernel's integers, so the reference evaluation agrees bit for bit.
public struct QLinearGlobalAveragePool: Hashable, Sendable {
    public var xScale: Float
    public var xZeroPoint: Int
    public var yScale: Float
    public var yZeroPoint: Int

    public init(xScale: Float, xZeroPoint: Int, yScale: Float, yZeroPoint: Int) {
        self.xScale = xScale; self.xZeroPoint = xZeroPoint; self.yScale = yScale; self.yZeroPoint = yZeroPoint
    }

    /// The multiplier and shift for planes of `pixels` values.
    public func fixedPoint(pixels: Int) throws -> (mult: Int64, shift: Int) {
        let r = Double(xScale) / (Double(yScale) * Double(pixels))
        let (m, shift) = try QLinearAdd.multipliers([r], "qlinear_global_average_pool: x_scale/(y_scale·H·W)")
        return (m[0], shift)
    }
}

extension QLinearGlobalAveragePool: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "qlinear_global_average_pool")
        let x = operands[0]
        try require(x.dtype == .u8 && x.shape.rank == 4, "qlinear_global_average_pool: input must be u8 [N,C,H,W], got \(x.dtype.rawValue)\(x.shape)")
        let pixels = x.shape[2] * x.shape[3]
        try require(pixels >= 1 && pixels <= 1 << 24, "qlinear_global_average_pool: H*W must lie in [1, 2^24], got \(pixels)")
        try require(xScale > 0 && yScale > 0 && xScale.isFinite && yScale.isFinite, "qlinear_global_average_pool: scales must be positive and finite")
        try require((0...255).contains(xZeroPoint) && (0...255).contains(yZeroPoint), "qlinear_global_average_pool: zero points must lie in [0, 255]")
        _ = try fixedPoint(pixels: pixels)
        return [TensorType(.u8, [x.shape[0], x.shape[1], 1, 1])]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0], pixels = x.shape[2] * x.shape[3]
        let (mult, shift) = try fixedPoint(pixels: pixels)
        let xs = x.int64s, planes = xs.count / pixels
        let y = (0..<planes).map { p -> Int64 in
            let s = xs[(p * pixels)..<((p + 1) * pixels)].reduce(0, +)
            let t = mult * (s - Int64(pixels) * Int64(xZeroPoint)) + (Int64(1) << (shift - 1))
            return min(max((t >> shift) + Int64(yZeroPoint), 0), 255)
        }
        return [Tensor(.u8, results[0].shape, int64s: y)]
    }
}
