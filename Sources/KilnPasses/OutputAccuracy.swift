import Foundation

/// How closely a plan's outputs follow the fp32 model's, per graph output, over a set of
/// samples: the worst and mean cosine similarity, the largest absolute error, the largest
/// relative error (max|a-b| / max|b| per sample, as the ledger's drift) and how often the
/// arg-max agrees (outputs of more than one element).
public struct OutputAccuracy: Sendable {
    public var name: String
    public var minCosine = 1.0, sumCosine = 0.0
    public var maxAbs = 0.0, maxRel = 0.0
    public var agree = 0, samples = 0
    public var hasTop1 = false

    public init(name: String) { self.name = name }

    public var meanCosine: Double { samples > 0 ? sumCosine / Double(samples) : 1 }

    /// Adds one sample. Non-finite values must match exactly (same infinity, or NaN for NaN)
    /// and are left out of the sums; any other non-finite value (a NaN or an overflow the
    /// reference does not have) makes the sample cosine 0 and the errors infinite, so a
    /// broken plan can never pass a budget (Swift's min/max would skip a NaN).
    public mutating func add(_ got: [Float], _ want: [Float]) {
        var dot = 0.0, ng = 0.0, nw = 0.0, diff = 0.0, scale = 0.0
        var broken = got.count != want.count
        for i in want.indices where i < got.count {
            let a = Double(got[i]), b = Double(want[i])
            guard a.isFinite && b.isFinite else {
                if !(a == b || (a.isNaN && b.isNaN)) { broken = true }
                continue
            }
            dot += a * b; ng += a * a; nw += b * b
            diff = max(diff, abs(a - b)); scale = max(scale, abs(b))
        }
        var cosine = ng == 0 && nw == 0 ? 1 : (ng == 0 || nw == 0 ? 0 : dot / (ng.squareRoot() * nw.squareRoot()))
        if broken || !cosine.isFinite { cosine = 0; diff = .infinity }
        minCosine = min(minCosine, cosine)
        sumCosine += cosine
        maxAbs = max(maxAbs, diff)
        maxRel = max(maxRel, scale > 0 ? diff / scale : (diff > 0 ? .infinity : 0))
        samples += 1
        if want.count > 1 {
            hasTop1 = true
            if !broken && argmax(got) == argmax(want) { agree += 1 }
        }
    }

    private func argmax(_ xs: [Float]) -> Int {
        var best = 0
        for i in xs.indices where xs[i] > xs[best] { best = i }
        return best
    }

    public func ledgerRow(set: String) -> LedgerQuantization.Accuracy {
        LedgerQuantization.Accuracy(set: set, output: name, samples: samples, minCosine: minCosine, meanCosine: meanCosine,
                                    maxAbs: maxAbs, maxRel: maxRel, top1Agree: hasTop1 ? agree : nil)
    }

    /// `logits: cosine min 0.9954 mean 0.9987, max abs 0.0312, max rel 0.0101, top-1 16/16`
    public var line: String {
        func f(_ v: Double) -> String { String(format: "%.4g", v) }
        let top1 = hasTop1 ? ", top-1 \(agree)/\(samples)" : ""
        return "\(name): cosine min \(String(format: "%.4f", minCosine)) mean \(String(format: "%.4f", meanCosine)), "
            + "max abs \(f(maxAbs)), max rel \(f(maxRel))\(top1)"
    }
}
