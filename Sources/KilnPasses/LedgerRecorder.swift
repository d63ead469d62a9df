import KilnIR

/// The instrumentation behind `kiln compile --report`: fills a `Ledger` with the input
/// graph's figures and the figures after every pass, plus the output drift when sample
/// inputs are given.
///
/// Algorithm:
///   1. Before the pipeline, evaluate the input graph on the sample inputs with the
///      reference `Evaluator`: the reference outputs. Row 00 has drift 0.
///   2. After each pass, if the graph equals the last graph evaluated (the pass changed
///      nothing), copy that drift; else evaluate the graph and measure each output
///      against the reference (`Drift`).
/// The evaluator is plain Swift loops (about 4 s per ResNet-18 run in a release build), so
/// `progress` is told before each evaluation once the graph is big or evaluations are slow.
public final class LedgerRecorder: PassInstrumentation {
    public private(set) var ledger = Ledger(outputs: [])
    /// Inputs to measure drift on, one per graph input; nil: no drift column.
    public let sampleInputs: [Tensor]?
    /// Time to import the model, shown in row 00.
    public let inputSeconds: Double?
    /// Receives progress lines ("evaluating after fold-batchnorm (5/6)") for long work.
    public var progress: ((String) -> Void)?

    private var reference: [Tensor] = []
    private var lastEvaluated: Graph?
    private var lastDrift: [Drift]?
    private var passCount = 0
    private var slow = false

    public init(sampleInputs: [Tensor]?, inputSeconds: Double? = nil, progress: ((String) -> Void)? = nil) {
        self.sampleInputs = sampleInputs
        self.inputSeconds = inputSeconds
        self.progress = progress
    }

    public func runBeforePipeline(_ graph: Graph, passes: [String]) throws {
        passCount = passes.count
        ledger.outputs = graph.outputs.map { graph[$0].name }
        ledger.rows = []
        var row = LedgerRow(index: 0, pass: "input", seconds: inputSeconds, changed: true, graph: graph, drift: nil)
        // The reference evaluator does very roughly 1 GFLOP per second.
        slow = row.flops >= 100_000_000
        if let inputs = sampleInputs {
            reference = try evaluate(graph, inputs, what: "the input graph")
            lastEvaluated = graph
            lastDrift = reference.map { _ in .zero }
            row.drift = lastDrift
        }
        ledger.rows.append(row)
    }

    public func runAfterPass(_ run: PassRun, _ graph: Graph) throws {
        var drift: [Drift]?
        var reused = false
        if let inputs = sampleInputs {
            if let last = lastEvaluated, let d = lastDrift, last == graph {
                drift = d
                reused = true
            } else {
                let outputs = try evaluate(graph, inputs, what: "after \(run.name) (\(run.index)/\(passCount))")
                do { drift = try Drift.measure(outputs, against: reference) } catch let e as KilnError {
                    throw KilnError("after pass \(run.name): \(e.message)")
                }
                lastEvaluated = graph
                lastDrift = drift
            }
        }
        ledger.rows.append(LedgerRow(index: run.index, pass: run.name, seconds: run.seconds, changed: run.changed,
                                     graph: graph, drift: drift, driftReused: reused))
    }

    /// Sets the plan size shown under the table.
    public func setPlanBytes(_ n: Int) { ledger.planBytes = n }

    /// Adds a line under the table.
    public func addNote(_ line: String) { ledger.notes.append(line) }

    public func setQuantization(_ q: LedgerQuantization?) { ledger.quantization = q }

    private func evaluate(_ graph: Graph, _ inputs: [Tensor], what: String) throws -> [Tensor] {
        if slow { progress?("evaluating \(what) on the sample inputs…") }
        let start = ContinuousClock.now
        let outputs: [Tensor]
        do { outputs = try Evaluator.run(graph, inputs: inputs) } catch let e as KilnError {
            throw KilnError("drift: evaluating \(what): \(e.message)")
        }
        if start.duration(to: .now).seconds >= 1 { slow = true }
        return outputs
    }
}
