import KilnIR
import KilnPasses

/// `--accuracy-budget`: which quantizable layers stay in float.
///
/// Algorithm:
/// 1. Quantize every candidate and measure the plan on the calibration samples (the C
///    runtime's outputs vs the reference evaluator's fp32 outputs). Met: done.
/// 2. Measure the float plan the same way; if even it misses the budget (a budget tighter
///    than float rounding), fail — or, with `--fallback-float`, return nil (fp32 plan).
/// 3. Sensitivity of each candidate: the plan with only that layer in int8, measured in
///    the budget's metric.
/// 4. Greedy: keep the most sensitive layer in float, re-measure the whole model, and
///    repeat until the budget holds.
/// 5. Prune: errors of layers interact (keeping one layer float can make the whole model
///    worse), so the greedy set is not minimal. Each kept layer, last kept first, goes
///    back to int8 if the model still meets the budget without it.
struct QuantizeBudgetSearch {
    var graph: Graph
    var candidates: [QuantizeInt8.Candidate]
    var ranges: [ValueID: (min: Float, max: Float)]
    /// Calibrated input means for bias correction (empty: none).
    var means: [ValueID: [Float]] = [:]
    var judge: AccuracyJudge
    var fallbackFloat = false
    /// Candidates kept in float whatever the budget (`--keep-float`).
    var pinned: [Int] = []
    /// Residual adds in int8 (QADD): only without a budget. They round the skip path at every
    /// add, which leaves cosine alone but flips near-tie arg-maxes (mobilenet_tiny: 64/64 →
    /// 62/64 held-out top-1), a cost the cosine budget cannot see.
    var int8Adds = true
    /// What the search did, one line each, for the compile report.
    var log: [String] = []

    struct Outcome {
        var graph: Graph
        var report: QuantizeReport
        var accuracy: [OutputAccuracy]
        var keptFloat: [Int]
    }

    mutating func run(budget: AccuracyBudget?, text: String) throws -> Outcome? {
        var keep = pinned
        var (q, report) = try QuantizeInt8.rewrite(graph, candidates, ranges: ranges, means: means, keepFloat: Set(keep), int8Adds: int8Adds)
        var accuracy = try judge.measure(q)
        guard let budget, !budget.met(accuracy) else { return Outcome(graph: q, report: report, accuracy: accuracy, keptFloat: keep) }
        log.append("--accuracy-budget \(text): every layer in int8 gives \(budget.measured(accuracy)) on the calibration samples")
        let floatAccuracy = try judge.measure(graph)
        guard budget.met(floatAccuracy) else {
            if fallbackFloat { return nil }
            throw KilnError("--accuracy-budget \(text) is not met even with every layer in float; pass --fallback-float to write the fp32 plan")
        }
        var sensitivity: [(k: Int, accuracy: [OutputAccuracy])] = []
        for k in candidates.indices where !keep.contains(k) {
            let alone = Set(candidates.indices).subtracting([k])
            sensitivity.append((k, try judge.measure(try QuantizeInt8.rewrite(graph, candidates, ranges: ranges, means: means, keepFloat: alone, int8Adds: int8Adds).0)))
        }
        sensitivity.sort { budget.badness($0.accuracy) > budget.badness($1.accuracy) }
        for (k, alone) in sensitivity {
            keep.append(k)
            (q, report) = try QuantizeInt8.rewrite(graph, candidates, ranges: ranges, means: means, keepFloat: Set(keep), int8Adds: int8Adds)
            accuracy = try judge.measure(q)
            log.append("kept in float: \(candidates[k].name) (alone in int8: \(budget.measured(alone))); "
                + "the model now gives \(budget.measured(accuracy))")
            if budget.met(accuracy) { break }
        }
        for k in keep.reversed() where !pinned.contains(k) {
            let trial = keep.filter { $0 != k }
            let (tq, treport) = try QuantizeInt8.rewrite(graph, candidates, ranges: ranges, means: means, keepFloat: Set(trial), int8Adds: int8Adds)
            let tacc = try judge.measure(tq)
            guard budget.met(tacc) else { continue }
            (keep, q, report, accuracy) = (trial, tq, treport, tacc)
            log.append("back in int8: \(candidates[k].name); the model still gives \(budget.measured(accuracy))")
        }
        return Outcome(graph: q, report: report, accuracy: accuracy, keptFloat: keep)
    }
}
