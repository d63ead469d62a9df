// QuantizeLinear / DequantizeLinear (per-tensor, per-axis and blocked scales).

/// QuantizeLinear(x, scale, zeroPoint) → `saturate(round_half_even(x / scale) + zp)` in
/// `outputType`. The zero point operand is always present (materialized at import).
public struct QuantizeLinear: Hashable, Sendable {
    /// Normalized axis for per-axis scales; nil for per-tensor.
    public var axis: Int?
    public var blockSize: Int
    public var outputType: DType
    public init(axis: Int?, blockSize: Int, outputType: DType) {
        self.axis = axis; self.blockSize = blockSize; self.outputType = outputType
    }
}

/// DequantizeLinear(x, scale, zeroPoint) → `(x - zp) * scale` in the scale's float type.
public struct DequantizeLinear: Hashable, Sendable {
    public var axis: Int?
    public var blockSize: Int
    public init(axis: Int?, blockSize: Int) { self.axis = axis; self.blockSize = blockSize }
}

// MARK: - Type rules and evaluation

/// Integer types QuantizeLinear produces and DequantizeLinear reads.
private let quantizedTypes: [DType] = [.i8, .u8, .i16, .u16, .i32]

/// How scale and zero point map onto the elements of x.
private enum QuantGranularity {
    case perTensor
    case perAxis(Int)
    case blocked(axis: Int, size: Int)

    /// Checks the scale shape against x and the attributes.
    init(x: Shape, scale: Shape, axis: Int?, blockSize: Int, _ what: String) throws {
        try require(blockSize >= 0, "\(what): block size \(blockSize) is negative")
        if blockSize == 0 && scale.elementCount == 1 && scale.rank <= 1 {
            self = .perTensor
            return
        }
        guard let axis else {
            throw KilnError("\(what): scale of shape \(scale) needs an axis (per-tensor scales have one element)")
        }
        try require(axis >= 0 && axis < x.rank, "\(what): axis \(axis) is out of range for rank \(x.rank)")
        if blockSize == 0 {
            try require(scale.rank == 1 && scale.dims[0] == x.dims[axis],
                        "\(what): per-axis scale must have shape [\(x.dims[axis])], got \(scale)")
            self = .perAxis(axis)
            return
        }
        var expected = x.dims
        expected[axis] = (x.dims[axis] + blockSize - 1) / blockSize
        try require(scale == Shape(expected),
                    "\(what): blocked scale must have shape \(Shape(expected)) for block size \(blockSize), got \(scale)")
        self = .blocked(axis: axis, size: blockSize)
    }

    /// For each element of x, the flat index of its scale and zero point.
    func parameterIndices(_ x: Shape, scale: Shape) -> [Int] {
        switch self {
        case .perTensor:
            return [Int](repeating: 0, count: x.elementCount)
        case .perAxis(let axis):
            return tableIndices(x, (0..<x.rank).map { a in (0..<x.dims[a]).map { a == axis ? $0 : 0 } })
        case .blocked(let axis, let size):
            let strides = scale.strides
            return tableIndices(x, (0..<x.rank).map { a in
                (0..<x.dims[a]).map { (a == axis ? $0 / size : $0) * strides[a] }
            })
        }
    }
}

/// Checks the zero point operand (if present) against the scale and the quantized type.
private func checkZeroPoint(_ operands: [TensorType], _ dtype: DType, _ what: String) throws {
    guard operands.count == 3 else { return }
    let (scale, zp) = (operands[1], operands[2])
    try require(zp.dtype == dtype, "\(what): zero point has dtype \(zp.dtype.rawValue), expected \(dtype.rawValue)")
    try require(zp.shape == scale.shape, "\(what): zero point shape \(zp.shape) differs from scale shape \(scale.shape)")
}

extension QuantizeLinear: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "quantize_linear")
        let (x, scale) = (operands[0], operands[1])
        try require(x.dtype.isFloat || x.dtype == .i32, "quantize_linear: input must be float or i32, got \(x.dtype.rawValue)")
        try require(scale.dtype.isFloat, "quantize_linear: scale must be float, got \(scale.dtype.rawValue)")
        try require(quantizedTypes.contains(outputType),
                    "quantize_linear: output type \(outputType.rawValue) is not one of i8, u8, i16, u16, i32")
        try checkZeroPoint(operands, outputType, "quantize_linear")
        _ = try QuantGranularity(x: x.shape, scale: scale.shape, axis: axis, blockSize: blockSize, "quantize_linear")
        return [TensorType(outputType, x.shape)]
    }

    /// `saturate(round_half_even(x / scale) + zp)`; the division runs in f32 unless an
    /// operand is f64 or i32 (ONNX divides in the operands' type).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (x, scale) = (operands[0], operands[1])
        let g = try QuantGranularity(x: x.shape, scale: scale.shape, axis: axis, blockSize: blockSize, "quantize_linear")
        let at = g.parameterIndices(x.shape, scale: scale.shape)
        let (xs, ss) = (x.doubles, scale.doubles)
        let zps = operands.count == 3 ? operands[2].int64s : [Int64](repeating: 0, count: ss.count)
        let inFloat = x.dtype != .f64 && x.dtype != .i32 && scale.dtype != .f64
        let range = outputType.integerRange
        let (lo, hi) = (Double(range.min), Double(range.max))
        let values = (0..<xs.count).map { i -> Int64 in
            let s = ss[at[i]]
            let q = inFloat ? Double((Float(xs[i]) / Float(s)).rounded(.toNearestOrEven)) : (xs[i] / s).rounded(.toNearestOrEven)
            let v = q.isNaN ? Double(zps[at[i]]) : q + Double(zps[at[i]])
            return Int64(min(max(v, lo), hi))
        }
        return [Tensor(outputType, x.shape, int64s: values)]
    }
}

extension DequantizeLinear: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "dequantize_linear")
        let (x, scale) = (operands[0], operands[1])
        try require(quantizedTypes.contains(x.dtype),
                    "dequantize_linear: input type \(x.dtype.rawValue) is not one of i8, u8, i16, u16, i32")
        try require(scale.dtype.isFloat, "dequantize_linear: scale must be float, got \(scale.dtype.rawValue)")
        try checkZeroPoint(operands, x.dtype, "dequantize_linear")
        _ = try QuantGranularity(x: x.shape, scale: scale.shape, axis: axis, blockSize: blockSize, "dequantize_linear")
        return [TensorType(scale.dtype, x.shape)]
    }

    /// `(x - zp) * scale`, rounded once to the scale's type.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (x, scale) = (operands[0], operands[1])
        let g = try QuantGranularity(x: x.shape, scale: scale.shape, axis: axis, blockSize: blockSize, "dequantize_linear")
        let at = g.parameterIndices(x.shape, scale: scale.shape)
        let (xs, ss) = (x.int64s, scale.doubles)
        let zps = operands.count == 3 ? operands[2].int64s : [Int64](repeating: 0, count: ss.count)
        let values = (0..<xs.count).map { Double(xs[$0] - zps[at[$0]]) * ss[at[$0]] }
        return [Tensor(results[0].dtype, x.shape, doubles: values)]
    }
}
