// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension Resize: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Resize: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Resize: evaluation not implemented") }
}
