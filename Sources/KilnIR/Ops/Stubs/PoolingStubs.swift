// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension Pool: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Pool: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Pool: evaluation not implemented") }
}
