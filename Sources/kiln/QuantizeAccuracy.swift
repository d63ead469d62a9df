import Foundation
import KilnCodegen
import KilnIR
import KilnPasses
import KilnRuntime

/// `--accuracy-budget`: one or more comma-separated terms, all of which must hold on the
/// calibration samples: `cosine=C` (the worst cosine of any output on any sample ≥ C),
/// `max-rel=R` (the worst relative error ≤ R), `top1=A` (each output's arg-max agrees
/// with fp32 on at least a fraction A of the samples).
struct AccuracyBudget: Equatable {
    var cosine: Double?
    var maxRel: Double?
    var top1: Double?

    init(cosine: Double? = nil, maxRel: Double? = nil, top1: Double? = nil) {
        self.cosine = cosine; self.maxRel = maxRel; self.top1 = top1
    }

    init?(_ text: String) {
        let terms = text.split(separator: ",", omittingEmptySubsequences: false)
        guard !terms.isEmpty else { return nil }
        for term in terms {
            let parts = term.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let v = Double(parts[1]), v.isFinite else { return nil }
            switch parts[0] {
            case "cosine" where v > 0 && v <= 1 && cosine == nil: cosine = v
            case "max-rel" where v > 0 && maxRel == nil: maxRel = v
            case "top1" where v > 0 && v <= 1 && top1 == nil: top1 = v
            default: return nil
            }
        }
    }

    func met(_ accuracy: [OutputAccuracy]) -> Bool {
        if let c = cosine, !accuracy.allSatisfy({ $0.minCosine >= c }) { return false }
        if let r = maxRel, !accuracy.allSatisfy({ $0.maxRel <= r }) { return false }
        if let a = top1, !accuracy.allSatisfy({ !$0.hasTop1 || Double($0.agree) >= a * Double($0.samples) - 1e-9 }) { return false }
        return true
    }

    /// How far `accuracy` is from perfect (larger is worse): the first term's measure
    /// (cosine, else max-rel, else top-1), ties broken by the worst cosine.
    func badness(_ accuracy: [OutputAccuracy]) -> Double {
        let cosineGap = 1 - (accuracy.map(\.minCosine).min() ?? 1)
        if cosine != nil { return cosineGap }
        if maxRel != nil { return accuracy.map(\.maxRel).max() ?? 0 }
        let disagree = accuracy.filter(\.hasTop1).map { Double($0.samples - $0.agree) / Double(max(1, $0.samples)) }.max() ?? 0
        return disagree + cosineGap * 1e-3
    }

    /// The budget's own measures of `accuracy`, worst output each: "cosine 0.987100, top-1 15/16".
    func measured(_ accuracy: [OutputAccuracy]) -> String {
        var parts: [String] = []
        if cosine != nil { parts.append(String(format: "cosine %.6f", accuracy.map(\.minCosine).min() ?? 1)) }
        if maxRel != nil { parts.append(String(format: "max rel %.4g", accuracy.map(\.maxRel).max() ?? 0)) }
        if top1 != nil, let worst = accuracy.filter(\.hasTop1).min(by: { $0.agree * max(1, $1.samples) < $1.agree * max(1, $0.samples) }) {
            parts.append("top-1 \(worst.agree)/\(worst.samples)")
        }
        return parts.joined(separator: ", ")
    }
}

/// Runs graphs as plans on the C runtime and compares their outputs with fp32 references.
struct AccuracyJudge {
    var samples: [[Tensor]]
    var references: [[Tensor]]
    var outputNames: [String]

    func measure(_ graph: Graph) throws -> [OutputAccuracy] {
        let compiled = try PlanCompiler.compile(graph, options: PlanOptions(compress: false))
        let plan: Plan, session: Session
        do {
            plan = try Plan(bytes: compiled.bytes)
            session = try Session(plan: plan, threads: 1)
        } catch let e as KilnRuntimeError {
            throw KilnError("internal error: the runtime rejects a quantized plan: \(e.message)")
        }
        var acc = outputNames.map { OutputAccuracy(name: $0) }
        for (s, inputs) in samples.enumerated() {
            for (i, t) in inputs.enumerated() { try runtime { try session.setInput(i, bytes: t.bytes) } }
            try runtime { try session.run() }
            for (o, want) in references[s].enumerated() {
                let got = Tensor(type: want.type, bytes: try runtime { try session.output(o) })
                acc[o].add(got.floats, want.floats)
            }
        }
        return acc
    }
}
