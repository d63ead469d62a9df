import KilnIR

/// A graph-to-graph transformation.
public protocol Pass: Sendable {
    /// The name used by `--passes`, `--disable-pass` and dump file names (`fold-constants`).
    var name: String { get }
    /// Rewrites `graph`; returns whether anything changed. The graph must stay verified.
    func run(on graph: inout Graph, context: PassContext) throws -> Bool
}

/// Optimization levels of `kiln compile -O0 … -O3`.
public enum OptLevel: Int, Comparable, CaseIterable, Sendable {
    case o0 = 0, o1, o2, o3
    public static func < (a: OptLevel, b: OptLevel) -> Bool { a.rawValue < b.rawValue }
}

/// What a pipeline is built from and reports to (TVM's PassContext).
public struct PassContext {
    public var optLevel: OptLevel
    /// Explicit pass list (`--passes a,b,c`); overrides the level's pipeline.
    public var explicitPasses: [String]?
    /// Names of passes to skip.
    public var disabled: Set<String>
    /// Run the verifier after every pass (on in debug builds and tests).
    public var verifyEach: Bool
    /// Called after each pass with its index, name, the graph and whether it changed.
    public var afterPass: ((Int, String, Graph, Bool) throws -> Void)?
    /// IR dumps, printing and the ledger, called in order around the pipeline.
    public var instrumentations: [any PassInstrumentation]

    public init(optLevel: OptLevel = .o2, explicitPasses: [String]? = nil, disabled: Set<String> = [],
                verifyEach: Bool = PassContext.isDebugBuild,
                afterPass: ((Int, String, Graph, Bool) throws -> Void)? = nil,
                instrumentations: [any PassInstrumentation] = []) {
        self.optLevel = optLevel
        self.explicitPasses = explicitPasses
        self.disabled = disabled
        self.verifyEach = verifyEach
        self.afterPass = afterPass
        self.instrumentations = instrumentations
    }

    public static var isDebugBuild: Bool {
        #if DEBUG
        return true
        #else
        return false
        #endif
    }
}
