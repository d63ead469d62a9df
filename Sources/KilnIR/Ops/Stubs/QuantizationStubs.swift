// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension QuantizeLinear: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("QuantizeLinear: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("QuantizeLinear: evaluation not implemented") }
}
extension DequantizeLinear: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("DequantizeLinear: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("DequantizeLinear: evaluation not implemented") }
}
