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
