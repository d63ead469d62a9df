import KilnIR

/// Builds and runs pass pipelines.
public enum PassManager {
    /// Every pass, in one explicit list (no registration by side effect).
    public static let allPasses: [any Pass] = [
        Canonicalize(),
        FoldConstants(),
        EliminateDeadCode(),
        EliminateCommonSubexpressions(),
        FoldBatchNorm(),
        FoldQDQ(),
        FoldDynamicQuant(),
        QuantizeDynamic(),
        FuseLayerNorm(),
        FuseGelu(),
        FuseSilu(),
        FuseHardSwish(),
        FuseAttention(),
        FuseActivation(),
        FuseElementwise(),
        DecomposeDepthwise(),
        DecomposeLowRank(),
        PruneMagnitude(),
        PruneChannels(),
    ]

    /// The pipeline of each level.
    public static func pipelineNames(for level: OptLevel) -> [String] {
        switch level {
        case .o0: return []
        case .o1:
            return ["canonicalize", "fold-constants", "eliminate-common-subexpressions", "canonicalize", "eliminate-dead-code"]
        case .o2, .o3:
            return ["canonicalize", "fold-qdq", "fold-constants", "fold-dynamic-quant", "eliminate-common-subexpressions", "canonicalize",
                    "fuse-layernorm", "fuse-gelu", "fuse-silu", "fuse-hardswish", "fuse-attention",
                    "fold-batchnorm", "fuse-activation", "fuse-elementwise", "eliminate-dead-code"]
        }
    }

    public static func pass(named name: String) throws -> any Pass {
        if let p = try configuredPass(named: name) { return p }
        guard let p = allPasses.first(where: { $0.name == name }) else {
            let known = allPasses.map(\.name).joined(separator: ", ")
            throw KilnError("unknown pass '\(name)' (passes: \(known))")
        }
        return p
    }

    /// The passes `context` asks for, in order.
    public static func pipeline(_ context: PassContext) throws -> [any Pass] {
        let names = context.explicitPasses ?? pipelineNames(for: context.optLevel)
        for d in context.disabled { _ = try pass(named: d) }
        return try names.filter { !context.disabled.contains($0) }.map(pass(named:))
    }

    /// Runs the pipeline on `graph`, verifying after each pass when asked; the graph is
    /// compacted (values renumbered in definition order) after every pass. Each of the
    /// context's instrumentations sees the input graph and the graph after every pass.
    public static func run(_ graph: inout Graph, context: PassContext) throws {
        let passes = try pipeline(context)
        for inst in context.instrumentations { try inst.runBeforePipeline(graph, passes: passes.map(\.name)) }
        for (i, p) in passes.enumerated() {
            let start = ContinuousClock.now
            let changed = try p.run(on: &graph, context: context)
            graph.compact()
            let seconds = start.duration(to: .now).seconds
            if context.verifyEach {
                do { try Verifier.verify(graph) } catch let e as KilnError {
                    throw KilnError("after pass \(p.name): \(e.message)")
                }
            }
            try context.afterPass?(i, p.name, graph, changed)
            let run = PassRun(index: i + 1, name: p.name, changed: changed, seconds: seconds)
            for inst in context.instrumentations { try inst.runAfterPass(run, graph) }
        }
    }
}
