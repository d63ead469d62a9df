import KilnIR

/// One finished pass, as instrumentation sees it.
public struct PassRun: Equatable, Sendable {
    /// 1-based position in the pipeline (row 00 of a ledger is the input graph).
    public var index: Int
    public var name: String
    /// What the pass returned: whether it rewrote anything.
    public var changed: Bool
    /// Wall time of the pass and the compaction after it (not the verifier).
    public var seconds: Double

    public init(index: Int, name: String, changed: Bool, seconds: Double) {
        self.index = index
        self.name = name
        self.changed = changed
        self.seconds = seconds
    }
}

/// Hooks the pass manager calls around a pipeline (MLIR's `PassInstrumentation`): IR
/// dumps, `--print-ir-after-all` and the `--report` ledger are instrumentations, so the
/// pipeline itself stays one loop.
public protocol PassInstrumentation: AnyObject {
    /// Called once with the input graph and the names of the passes about to run.
    func runBeforePipeline(_ graph: Graph, passes: [String]) throws
    /// Called after each pass, once the graph is compacted and (when asked) verified.
    func runAfterPass(_ run: PassRun, _ graph: Graph) throws
}

extension PassInstrumentation {
    public func runBeforePipeline(_ graph: Graph, passes: [String]) throws {}
}

extension Duration {
    /// The duration in seconds.
    public var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }
}
