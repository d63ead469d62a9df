import KilnIR

/// eliminate-dead-code: removes nodes and constants whose results reach no graph output.
///
///     %w = constant f32[4] ...          // unused
///     %s = shape(%x) : i64[2]           // unused
///     %y = relu(%x) : f32[2,4]
///     return %y
///   becomes
///     %y = relu(%x) : f32[2,4]
///     return %y
///
/// Precondition: a verified graph. Guarantees: outputs unchanged; graph inputs are kept
/// (the signature is the user's contract) even when nothing reads them.
public struct EliminateDeadCode: Pass {
    public init() {}
    public var name: String { "eliminate-dead-code" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        graph.removeDeadNodes() > 0
    }
}
