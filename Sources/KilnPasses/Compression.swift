import Foundation
import KilnIR

/// How a decomposition pass picks each layer's rank (`--decompose depthwise=full|auto|N`).
public enum RankRule: Hashable, Sendable, CustomStringConvertible {
    /// The `rank` and `rel` options of the decompose passes (defaults: full rank, 1%).
    static func options(_ options: PassOptions) throws -> (RankRule, Double) {
        try options.requireKeys(["rank", "rel"])
        return (try options.value("rank").map(RankRule.init(parsing:)) ?? .full,
                try options.number("rel", in: 0...1) ?? 0.01)
    }

    /// The largest rank: the factorization is exact (up to float rounding).
    case full
    /// The smallest rank whose weight reconstruction error is within the budget, and only
    /// where the FLOPs and the modelled time (`ConvCostModel`, convs) drop; otherwise the
    /// layer is left alone.
    case auto
    /// This rank (capped at the largest one) on every eligible layer.
    case fixed(Int)

    public init(parsing s: String) throws {
        switch s {
        case "full": self = .full
        case "auto": self = .auto
        default:
            guard let n = Int(s), n >= 1 else { throw KilnError("rank must be full, auto or a positive integer, got '\(s)'") }
            self = .fixed(n)
        }
    }

    public var description: String {
        switch self {
        case .full: return "full"
        case .auto: return "auto"
        case .fixed(let n): return String(n)
        }
    }

    /// The rank to use for a layer, or nil to leave it alone, with the reason.
    /// `error(r)` is the relative reconstruction error at rank r (non-increasing in r,
    /// zero at `maxRank`), `flops(r)` the cost of the factored layer (increasing in r);
    /// `time(r)`, when given, the factored layer's modelled time (increasing in r) to
    /// compare with `timeBefore` (see `ConvCostModel`).
    /// Algorithm (auto): r* = the smallest r in 1…maxRank with error(r) ≤ budget; taken only
    /// when flops(r*) < flopsBefore and time(r*) < timeBefore — a larger rank costs more and
    /// a smaller one misses the budget, so no other rank can qualify.
    func choose(maxRank: Int, budget: Double, error: (Int) -> Double, flops: (Int) -> Int,
                flopsBefore: Int, time: ((Int) -> Double)? = nil, timeBefore: Double = 0) -> (rank: Int?, note: String) {
        switch self {
        case .full: return (maxRank, "")
        case .fixed(let n): return (min(n, maxRank), "")
        case .auto:
            guard let r = (1...maxRank).first(where: { error($0) <= budget }) else { return (nil, "") }
            guard flops(r) < flopsBefore else { return (nil, "rank \(r)/\(maxRank) meets the budget but does not reduce FLOPs") }
            if let time, time(r) >= timeBefore {
                let cut = 100 * Double(flopsBefore - flops(r)) / Double(flopsBefore)
                return (nil, "rank \(r)/\(maxRank) meets the budget and cuts FLOPs " + String(format: "%.0f%%", cut)
                        + " but modelled time \(ConvCostModel.format(time(r))) ≥ \(ConvCostModel.format(timeBefore))")
            }
            return (r, "")
        }
    }
}

/// One layer of a compression pass's report.
public struct LayerReport: Hashable, Sendable {
    /// The node's name (its result's name when the node has none).
    public var layer: String
    /// What was chosen: "rank 3/9", "sparsity 50%", "channels 12/16", or "kept" when the layer
    /// is left alone.
    public var choice: String
    public var changed: Bool
    /// Relative weight reconstruction error ‖W − W'‖_F / ‖W‖_F.
    public var error: Double
    public var flopsBefore: Int, flopsAfter: Int
    public var paramsBefore: Int, paramsAfter: Int
    /// Why a layer was left alone (empty otherwise).
    public var note: String = ""
}

/// What a compression pass did to each eligible layer, with totals.
public struct CompressionReport: Hashable, Sendable {
    /// Gives the table to the context's remarks; whether the pass changed the graph (what
    /// `Pass.run` returns).
    func delivered(to context: PassContext) -> Bool {
        context.remarks?(text)
        return changed
    }

    public var title: String
    public var layers: [LayerReport] = []

    public var changed: Bool { layers.contains(where: \.changed) }

    /// A table, one line per layer, then the totals.
    public var text: String {
        func mega(_ n: Int) -> String { String(format: "%.3f", Double(n) / 1e6) }
        var lines = [title]
        guard !layers.isEmpty else { return title + "\n  no eligible layers\n" }
        let width = min(48, layers.map(\.layer.count).max() ?? 5)
        func pad(_ s: String, _ n: Int) -> String { s.count >= n ? s : s + String(repeating: " ", count: n - s.count) }
        lines.append("  " + pad("layer", width) + "  " + pad("choice", 14) + "  rel.error   MFLOPs before→after   params before→after")
        for l in layers {
            var line = "  " + pad(l.layer, width) + "  " + pad(l.choice, 14) + "  "
            line += pad(String(format: "%.3e", l.error), 10) + "  "
            line += pad("\(mega(l.flopsBefore))→\(mega(l.flopsAfter))", 20) + "  \(l.paramsBefore)→\(l.paramsAfter)"
            if !l.note.isEmpty { line += "  (\(l.note))" }
            lines.append(line)
        }
        let fb = layers.map(\.flopsBefore).reduce(0, +), fa = layers.map(\.flopsAfter).reduce(0, +)
        let pb = layers.map(\.paramsBefore).reduce(0, +), pa = layers.map(\.paramsAfter).reduce(0, +)
        func percent(_ a: Int, _ b: Int) -> String { b == 0 ? "0%" : String(format: "%+.1f%%", 100 * Double(a - b) / Double(b)) }
        lines.append("  total: \(layers.filter(\.changed).count) of \(layers.count) layers changed; "
                     + "MFLOPs \(mega(fb))→\(mega(fa)) (\(percent(fa, fb))); params \(pb)→\(pa) (\(percent(pa, pb)))")
        return lines.joined(separator: "\n") + "\n"
    }
}

/// The report name of a node: its own name, else its first result's.
func layerName(_ node: Node, _ graph: Graph) -> String {
    node.name.isEmpty ? graph[node.results[0]].name : node.name
}

/// ‖a − b‖_F / ‖a‖_F in Double (0 when a is all zeros and b equals it).
func relativeError(_ a: [Double], _ b: [Double]) -> Double {
    var num = 0.0, den = 0.0
    for (x, y) in zip(a, b) { num += (x - y) * (x - y); den += x * x }
    return den == 0 ? (num == 0 ? 0 : .infinity) : (num / den).squareRoot()
}
