// Quantized linear ops: qlinear_conv and qlinear_mat_mul (ONNX QLinearConv /
// QLinearMatMul with the scales and zero points as attributes, a per-output-channel
// weight scale, a symmetric i8 weight and an output clamp that carries a fused ReLU/clip).

/// Quantization of a quantized linear op: `x_real = x_scale * (x - x_zero_point)` (u8),
/// `w_real[m] = w_scales[m] * w` (i8, symmetric, per output channel),
/// `y = clamp(round(acc * x_scale * w_scales[m] / y_scale) + y_zero_point, y_min, y_max)`
/// with `acc = Σ (x - x_zero_point) * w + bias` (bias i32 in units of x_scale * w_scales[m]).
public struct QLinearParams: Hashable, Sendable {
    public var xScale: Float
    public var xZeroPoint: Int
    public var wScales: [Float]
    public var yScale: Float
    public var yZeroPoint: Int
    public var yMin: Int
    public var yMax: Int

    public init(xScale: Float, xZeroPoint: Int, wScales: [Float], yScale: Float, yZeroPoint: Int, yMin: Int = 0, yMax: Int = 255) {
        self.xScale = xScale; self.xZeroPoint = xZeroPoint; self.wScales = wScales
        self.yScale = yScale; self.yZeroPoint = yZeroPoint; self.yMin = yMin; self.yMax = yMax
    }

    func check(_ what: String, channels: Int) throws {
        try require(xScale > 0 && yScale > 0 && xScale.isFinite && yScale.isFinite, "\(what): scales must be positive and finite")
        try require(wScales.count == channels, "\(what): w_scales has \(wScales.count) values, expected \(channels) (one per output channel)")
        try require(wScales.allSatisfy { $0 > 0 && $0.isFinite }, "\(what): w_scales must be positive and finite")
        try require((0...255).contains(xZeroPoint) && (0...255).contains(yZeroPoint), "\(what): zero points must lie in [0, 255]")
        try require(0 <= yMin && yMin <= yMax && yMax <= 255, "\(what): y_min/y_max must satisfy 0 <= y_min <= y_max <= 255")
    }

    /// Requantizes exact accumulators `acc[i]` of output channel `channel(i)` (reference:
    /// rounding half to even in Double; the runtime's fixed-point multiply may differ by 1).
    func requantize(_ acc: [Double], channel: (Int) -> Int) -> [Int64] {
        acc.indices.map { i in
            let real = acc[i] * Double(xScale) * Double(wScales[channel(i)]) / Double(yScale)
            let q = real.rounded(.toNearestOrEven) + Double(yZeroPoint)
            return Int64(min(max(q, Double(yMin)), Double(yMax)))
        }
    }
}

/// qlinear_conv: operands `x u8 [N,C,*spatial]`, `w i8 [M, C/group, *kernel]`, optional
/// `bias i32 [M]`; result `u8 [N, M, *out]`.
public struct QLinearConv: Hashable, Sendable {
    public var conv: Conv
    public var quant: QLinearParams
    public init(conv: Conv, quant: QLinearParams) { self.conv = conv; self.quant = quant }
}

/// qlinear_mat_mul: operands `x u8 [..., K]`, `w i8 [K, N]`, optional `bias i32 [N]`;
/// result `u8 [..., N]`.
public struct QLinearMatMul: Hashable, Sendable {
    public var quant: QLinearParams
    public init(quant: QLinearParams) { self.quant = quant }
}

private func checkQuantizedOperands(_ what: String, _ operands: [TensorType], channels: Int) throws {
    try require(operands[0].dtype == .u8, "\(what): input must be u8, got \(operands[0].dtype.rawValue)")
    try require(operands[1].dtype == .i8, "\(what): weight must be i8, got \(operands[1].dtype.rawValue)")
    if operands.count == 3 {
        try require(operands[2].dtype == .i32 && operands[2].shape == Shape([channels]),
                    "\(what): bias must be i32 [\(channels)], got \(operands[2].dtype.rawValue)\(operands[2].shape)")
    }
}

/// A tensor's integer values as f64 (exact), shifted by `offset`.
private func widened(_ t: Tensor, minus offset: Int = 0) -> Tensor {
    Tensor(.f64, t.shape, doubles: t.int64s.map { Double($0 - Int64(offset)) })
}

extension QLinearConv: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "qlinear_conv")
        let m = operands[1].shape.rank >= 1 ? operands[1].shape[0] : 0
        try checkQuantizedOperands("qlinear_conv", operands, channels: m)
        try quant.check("qlinear_conv", channels: m)
        let asFloat = [operands[0], operands[1]].map { TensorType(.f32, $0.shape) }
        let out = try conv.resultTypes(asFloat)[0]
        return [TensorType(.u8, out.shape)]
    }

    /// The float conv of `x - x_zero_point` and `w` in f64 (exact integer sums), plus the
    /// bias, requantized per output channel.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = widened(operands[0], minus: quant.xZeroPoint), w = widened(operands[1])
        var ops = [x, w]
        if operands.count == 3 { ops.append(widened(operands[2])) }
        let out = results[0].shape
        let acc = try conv.evaluate(ops, results: [TensorType(.f64, out)])[0].doubles
        let plane = out.dims[2...].reduce(1, *), m = out[1]
        return [Tensor(.u8, out, int64s: quant.requantize(acc) { ($0 / plane) % m })]
    }
}

extension QLinearMatMul: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "qlinear_mat_mul")
        let (x, w) = (operands[0], operands[1])
        try require(w.shape.rank == 2, "qlinear_mat_mul: weight must be rank 2 [K, N], got \(w.shape)")
        try require(x.shape.rank >= 1 && x.shape.dims.last == w.shape[0],
                    "qlinear_mat_mul: input \(x.shape) does not end in K = \(w.shape[0])")
        try checkQuantizedOperands("qlinear_mat_mul", operands, channels: w.shape[1])
        try quant.check("qlinear_mat_mul", channels: w.shape[1])
        return [TensorType(.u8, Shape(Array(x.shape.dims.dropLast()) + [w.shape[1]]))]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let xs = operands[0].int64s, ws = operands[1].int64s
        let k = operands[1].shape[0], n = operands[1].shape[1], rows = xs.count / max(k, 1)
        let bias = operands.count == 3 ? operands[2].int64s : [Int64](repeating: 0, count: n)
        var acc = [Double](repeating: 0, count: rows * n)
        for r in 0..<rows {
            for j in 0..<n {
                var s = bias[j]
                for i in 0..<k { s += (xs[r * k + i] - Int64(quant.xZeroPoint)) * ws[i * n + j] }
                acc[r * n + j] = Double(s)
            }
        }
        return [Tensor(.u8, results[0].shape, int64s: quant.requantize(acc) { $0 % n })]
    }
}
