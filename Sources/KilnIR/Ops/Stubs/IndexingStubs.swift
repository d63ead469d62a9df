// Placeholder conformances, replaced by the family's real type rules and evaluation.
extension Gather: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Gather: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Gather: evaluation not implemented") }
}
extension GatherElements: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("GatherElements: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("GatherElements: evaluation not implemented") }
}
extension ShapeOf: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("ShapeOf: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("ShapeOf: evaluation not implemented") }
}
extension SizeOf: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("SizeOf: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("SizeOf: evaluation not implemented") }
}
extension Range: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Range: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Range: evaluation not implemented") }
}
extension OneHot: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("OneHot: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("OneHot: evaluation not implemented") }
}
extension Trilu: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] { throw KilnError("Trilu: type rule not implemented") }
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] { throw KilnError("Trilu: evaluation not implemented") }
}
