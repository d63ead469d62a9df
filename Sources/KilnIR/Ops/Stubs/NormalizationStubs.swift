// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension BatchNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("BatchNorm: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("BatchNorm: evaluation not implemented") }
}
extension InstanceNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("InstanceNorm: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("InstanceNorm: evaluation not implemented") }
}
extension LayerNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("LayerNorm: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("LayerNorm: evaluation not implemented") }
}
extension GroupNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("GroupNorm: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("GroupNorm: evaluation not implemented") }
}
extension LRN: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("LRN: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("LRN: evaluation not implemented") }
}
