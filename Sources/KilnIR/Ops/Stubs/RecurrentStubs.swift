// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension Recurrent: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Recurrent: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Recurrent: evaluation not implemented") }
}
