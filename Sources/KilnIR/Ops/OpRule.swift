/// What every op family provides: its type rule and its reference evaluation.
///
/// Each attribute struct (and an empty struct for each attribute-less op) conforms;
/// `Op.rule` maps an op to its rule with an exhaustive switch.
public protocol OpRule {
    /// Result types of the op for these operand types; throws a `KilnError` naming the
    /// problem (wrong operand count, rank, dtype or shape) without the node name, which
    /// the verifier adds.
    func resultTypes(_ operands: [TensorType]) throws -> [TensorType]

    /// Reference evaluation: plain loops written for clarity, not speed. `results` are the
    /// result types `resultTypes` computed for these operands.
    func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor]
}
