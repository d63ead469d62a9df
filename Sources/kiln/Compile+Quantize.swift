import ArgumentParser
import Foundation
import KilnIR
import KilnPasses

/// `kiln compile --quantize int8 --calibration DIR`: static int8 quantization after the
/// -O pipeline (see `QuantizeInt8`), with an accuracy report against the fp32 model and
/// an optional accuracy budget (`QuantizeBudgetSearch`). `--quantize dynamic-int8`:
/// gemm/mat_mul and LSTM/GRU/RNN weights int8, activations quantized while running (see `QuantizeDynamic`);
/// it takes no calibration (giving --calibration is an error, so a user never believes
/// samples were used).
///
/// Sample folders (`--calibration`, `--validation`): see `SampleFolder`.
struct QuantizeOptions: ParsableArguments {
    @Option(name: .customLong("quantize"), help: ArgumentHelp("Quantize the plan: int8 (static, needs --calibration), dynamic-int8 (Gemm/MatMul weights int8 per output column, LSTM/GRU/RNN W and R int8 per row, activations quantized while running: no calibration; for Transformers, MLPs and RNNs) or fp16 (large f32 weights stored as f16, widened at load: half-size plans).", valueName: "mode"))
    var quantize: String?

    @Option(name: .customLong("dynamic-scale"),
            help: ArgumentHelp("With --quantize dynamic-int8: one activation range per row (default; each token / batch row) or per tensor (ONNX DynamicQuantizeLinear's, as ONNX Runtime's quantize_dynamic).", valueName: "row|tensor"))
    var dynamicScale: String?

    @Option(name: .customLong("calibration"),
            help: ArgumentHelp("Calibration samples: a folder of .npy files (single-input graphs), of .npz files (an array per input) or of one subfolder per sample with <input>.npy files.", valueName: "dir"))
    var calibration: String?

    @Option(name: .customLong("calibration-method"), help: "How activation ranges are chosen: minmax (default), percentile or entropy (KL-divergence threshold).")
    var method: String = "minmax"

    @Option(name: .customLong("percentile"), help: "Percentile for --calibration-method percentile (default 99.99).")
    var percentile: Double = 99.99

    @Option(name: .customLong("validation"),
            help: ArgumentHelp("Held-out samples (same formats as --calibration) on which the int8 plan's accuracy is also reported.", valueName: "dir"))
    var validation: String?

    @Option(name: .customLong("accuracy-budget"),
            help: ArgumentHelp("Keep the most sensitive layers in float until the int8 plan meets cosine=C (worst output cosine vs fp32 >= C), max-rel=R and/or top1=A (arg-max agreement >= A), comma-separated, on the calibration samples; none: quantize every layer and run residual adds in int8 too (with a budget they stay float: int8 adds round the skip path, flipping near-tie arg-maxes the cosine budget cannot see) (default \(QuantizeOptions.defaultBudget)).", valueName: "metric=value"))
    var budgetOption: String?

    /// The budget int8 plans meet unless `--accuracy-budget` says otherwise: with it,
    /// full-size MobileNetV2 keeps its most sensitive early layers in float (cosine
    /// 0.974 → ≥ 0.995 on the calibration samples), and models int8 already serves
    /// well pay one extra measurement.
    static let defaultBudget = "cosine=0.995"

    /// The budget in force: `--accuracy-budget`, the default, or nil for `none`.
    var budget: String? { budgetOption == "none" ? nil : budgetOption ?? QuantizeOptions.defaultBudget }

    @Option(name: .customLong("keep-float"),
            help: ArgumentHelp("A layer to keep in float, by the name the report prints (repeatable).", valueName: "name"))
    var keepFloat: [String] = []

    @Flag(name: .customLong("no-bias-correction"),
          help: "Leave biases as they are (by default each int8 layer's bias absorbs the mean output shift its rounded weights cause on the calibration samples).")
    var noBiasCorrection = false

    var biasCorrection: Bool { !noBiasCorrection }

    @Flag(name: .customLong("fallback-float"), help: "When --accuracy-budget cannot be met even with every layer in float, write the fp32 plan instead of failing.")
    var fallbackFloat = false

    func validate() throws {
        if let q = quantize, q != "int8", q != "fp16", q != "dynamic-int8" {
            throw ValidationError("--quantize takes int8, dynamic-int8 or fp16 (got '\(q)')")
        }
        if quantize == "int8" && calibration == nil { throw ValidationError("--quantize int8 needs --calibration DIR") }
        if quantize == "dynamic-int8" && calibration != nil {
            throw ValidationError("--quantize dynamic-int8 takes no --calibration (activation ranges are computed while running); use --quantize int8 for calibrated static int8")
        }
        if let d = dynamicScale {
            if quantize != "dynamic-int8" { throw ValidationError("--dynamic-scale needs --quantize dynamic-int8") }
            if d != "row" && d != "tensor" { throw ValidationError("--dynamic-scale takes row or tensor (got '\(d)')") }
        }
        if quantize != "int8" {
            for (given, name) in [(calibration != nil, "--calibration"), (validation != nil, "--validation"),
                                  (budgetOption != nil, "--accuracy-budget"), (fallbackFloat, "--fallback-float"),
                                  (!keepFloat.isEmpty, "--keep-float"),
                                  (noBiasCorrection, "--no-bias-correction")] where given {
                throw ValidationError("\(name) needs --quantize int8")
            }
        }
        if CalibrationMethod(rawValue: method) == nil { throw ValidationError("--calibration-method takes minmax, percentile or entropy") }
        if !(percentile > 50 && percentile <= 100) { throw ValidationError("--percentile must be in (50, 100]") }
        if let b = budgetOption, b != "none", AccuracyBudget(b) == nil {
            throw ValidationError("--accuracy-budget takes cosine=C (0 < C <= 1), max-rel=R (R > 0) and top1=A (0 < A <= 1), comma-separated, got '\(b)'; none turns it off")
        }
        if fallbackFloat && budgetOption == nil { throw ValidationError("--fallback-float needs --accuracy-budget") }
    }

    /// `--quantize fp16`: the plan stores large f32 weights as f16 (`PlanOptions.halfWeights`).
    var halfWeights: Bool { quantize == "fp16" }

    /// Quantizes `graph` to int8 if asked, printing the accuracy report (and handing it to
    /// `record`, for the ledger's JSON); returns the pipeline note for the plan's metadata.
    func apply(_ graph: inout Graph, record: (LedgerQuantization) -> Void = { _ in }) throws -> String? {
        if quantize == "dynamic-int8" {
            let perRow = dynamicScale != "tensor"
            let count = try QuantizeDynamic(perRow: perRow).apply(&graph)
            let recurrent = count.recurrent > 0 ? " and \(count.recurrent) LSTM/GRU/RNN ops" : ""
            FileHandle.standardError.write(Data(("quantized \(count.matMuls) Gemm/MatMul ops\(recurrent) to dynamic int8 "
                                                 + "(activation ranges per \(perRow ? "row" : "tensor"))\n").utf8))
            return "quantize=dynamic-int8,activations=\(perRow ? "row" : "tensor")"
        }
        guard quantize == "int8", let dir = calibration else { return nil }
        let samples = try SampleFolder(option: "--calibration", graph: graph).load(dir)
        let held = try validation.map { try SampleFolder(option: "--validation", graph: graph).load($0) }
        let methodName = method + (method == "percentile" ? "@\(percentile)" : "")
        let candidates = QuantizeInt8.candidates(graph)
        let pinned = try keepFloat.map { name in
            guard let k = candidates.firstIndex(where: { $0.name == name }) else {
                throw KilnError("--keep-float \(name): no quantizable layer has that name")
            }
            return k
        }
        let cal = try QuantizeInt8.calibrate(graph, candidates, samples: samples,
                                             method: CalibrationMethod(rawValue: method) ?? .minmax, percentile: percentile) { i, n in
            progress("calibrating: sample \(i)/\(n)", i == n)
        }
        var heldReferences: [[Tensor]] = []
        for (i, s) in (held ?? []).enumerated() {
            progress("fp32 reference: validation sample \(i + 1)/\(held?.count ?? 0)", i + 1 == held?.count)
            heldReferences.append(try Evaluator.run(graph, inputs: s))
        }
        let names = graph.outputs.map { graph[$0].name }
        let judge = AccuracyJudge(samples: samples, references: cal.outputs, outputNames: names)
        var search = QuantizeBudgetSearch(graph: graph, candidates: candidates, ranges: cal.ranges,
                                          means: biasCorrection ? cal.means : [:], judge: judge,
                                          fallbackFloat: fallbackFloat, pinned: pinned)
        search.int8Adds = budget == nil
        let outcome = try search.run(budget: budget.flatMap(AccuracyBudget.init), text: budget ?? "")
        guard let chosen = outcome else {
            // Only reached with --fallback-float (otherwise `run` throws).
            let b = budget ?? ""
            FileHandle.standardError.write(Data("kiln compile: --accuracy-budget \(b) is not met even with every layer in float; --fallback-float: writing the fp32 plan\n".utf8))
            return "quantize=none(fallback-float),budget=\(b)"
        }
        graph = chosen.graph
        let joins = [(chosen.report.adds, "adds"), (chosen.report.concats, "concats"), (chosen.report.pools, "global average pools")].filter { $0.0 > 0 }.map { "\($0.0) \($0.1)" }
        let adds = joins.isEmpty ? "" : joins.joined(separator: " and ") + " in int8, "
        let lookups = chosen.report.lookups > 0 ? " (\(chosen.report.lookups) with a table activation)" : ""
        say("quantized \(chosen.report.quantized) of \(candidates.count) ops to int8\(lookups) (calibration \(methodName), \(samples.count) samples), \(adds)\(chosen.report.boundaries) float→int8 boundaries")
        for line in search.log { say(line) }
        say("accuracy vs fp32 on the \(samples.count) calibration samples:")
        for a in chosen.accuracy { say("  " + a.line) }
        var rows = chosen.accuracy.map { $0.ledgerRow(set: "calibration") }
        if let held {
            let validationJudge = AccuracyJudge(samples: held, references: heldReferences, outputNames: names)
            say("accuracy vs fp32 on the \(held.count) validation samples:")
            for a in try validationJudge.measure(chosen.graph) {
                say("  " + a.line)
                rows.append(a.ledgerRow(set: "validation"))
            }
        }
        let kept = chosen.keptFloat.isEmpty ? "" : ",float=\(chosen.keptFloat.count)"
        let note = "quantize=int8,calibration=\(methodName),samples=\(samples.count)" + (budget.map { ",budget=\($0)" } ?? "") + kept
            + (biasCorrection ? "" : ",bias-correction=off")
        let floatSet = Set(chosen.keptFloat)
        record(LedgerQuantization(settings: note, int8Layers: candidates.indices.filter { !floatSet.contains($0) }.map { candidates[$0].name },
                                  floatLayers: chosen.keptFloat.map { candidates[$0].name }, accuracy: rows))
        return note
    }

    private func say(_ line: String) { print("kiln compile: \(line)") }

    private func progress(_ text: String, _ last: Bool) {
        guard isatty(2) != 0 else { return }
        FileHandle.standardError.write(Data("\r\(text)\(last ? "\n" : "")".utf8))
    }
}
