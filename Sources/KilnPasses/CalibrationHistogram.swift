import Foundation
/// A histogram of |x| for entropy calibration, and the KL-divergence threshold search over it.
///
/// Algorithm (after NVIDIA's "8-bit Inference with TensorRT", GTC 2017):
/// 1. Accumulate |x| of the nonzero values into `bins` equal bins over [0, bins·width). The first nonzero value
///    sets the width; a larger value later doubles the width (pairs of bins merge) until
///    it fits, so every sample counts exactly once and no second pass is needed.
/// 2. For every candidate cut i (from `levels` bins to the last nonempty bin): the
///    reference distribution P is bins[0..<i] with everything beyond the cut added to
///    bin i-1 (clipped values land on the threshold). The candidate Q merges bins[0..<i]
///    into `levels` groups and spreads each group's total evenly over the group's bins
///    that are nonempty in P (what dequantization can represent).
/// 3. The cut with the smallest KL(P‖Q) wins; the threshold is its upper edge, i·width.
/// Exact zeros (half of a ReLU's output) are left out: the zero point represents them
/// exactly, and their spike in bin 0 would make every cut that merges bin 0 with its
/// neighbours look worse than the smallest cut. Both P and Q are normalized; a bin with P > 0 but Q = 0 costs as if Q were 1e-12.
public struct AbsHistogram: Sendable {
    public static let bins = 2048
    public private(set) var counts = [Double](repeating: 0, count: AbsHistogram.bins)
    public private(set) var width: Float = 0
    public private(set) var maxAbs: Float = 0

    public init() {}

    public mutating func add(_ xs: [Float]) {
        var m: Float = 0
        for v in xs where v.isFinite { m = Swift.max(m, abs(v)) }
        guard m > 0 else { return }
        maxAbs = Swift.max(maxAbs, m)
        let n = AbsHistogram.bins
        if width == 0 { width = m / Float(n) * (1 + 1e-6) }
        while m >= width * Float(n) {
            for i in 0..<(n / 2) { counts[i] = counts[2 * i] + counts[2 * i + 1] }
            for i in (n / 2)..<n { counts[i] = 0 }
            width *= 2
        }
        for v in xs where v.isFinite && v != 0 {
            counts[Swift.min(n - 1, Int(abs(v) / width))] += 1
        }
    }

    /// The |x| threshold minimizing KL(P‖Q) for `levels` quantization levels over [0, T].
    public func threshold(levels: Int) -> Float {
        guard let last = counts.lastIndex(where: { $0 > 0 }), width > 0 else { return maxAbs }
        let used = last + 1
        guard used > levels else { return maxAbs }
        var suffix = [Double](repeating: 0, count: used + 1)
        for i in stride(from: used - 1, through: 0, by: -1) { suffix[i] = suffix[i + 1] + counts[i] }
        var best = (kl: Double.infinity, cut: used)
        var p = [Double](repeating: 0, count: used), q = [Double](repeating: 0, count: used)
        for cut in levels...used {
            for b in 0..<cut { p[b] = counts[b] }
            p[cut - 1] += suffix[cut]
            for j in 0..<levels {
                let start = j * cut / levels, end = (j + 1) * cut / levels
                var total = 0.0, nonzero = 0
                for b in start..<end { total += counts[b]; if p[b] > 0 { nonzero += 1 } }
                for b in start..<end { q[b] = p[b] > 0 && nonzero > 0 ? total / Double(nonzero) : 0 }
            }
            let ps = suffix[0], qs = q[0..<cut].reduce(0, +)
            guard qs > 0 else { continue }
            var kl = 0.0
            for b in 0..<cut where p[b] > 0 {
                let pn = p[b] / ps, qn = Swift.max(q[b] / qs, 1e-12)
                kl += pn * Foundation.log(pn / qn)
            }
            if kl < best.kl { best = (kl, cut) }
        }
        return Swift.min(maxAbs, Float(best.cut) * width)
    }
}
