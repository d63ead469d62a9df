import KilnIR

/// How a calibrated value's float range is chosen from what the samples showed.
public enum CalibrationMethod: String, CaseIterable, Sendable {
    /// The smallest and largest value seen.
    case minmax
    /// The given percentile of the values below zero and above zero (clips outliers).
    case percentile
}

/// Per-value float ranges observed by running the reference evaluator on calibration
/// samples.
///
/// Algorithm: the graph is copied with every value of interest added as an output, and
/// evaluated once per sample. minmax keeps a running min and max. percentile also keeps
/// an evenly strided subsample (at most 4096 elements per value and sample) and takes the
/// requested percentile of the negative and of the positive side of it at the end
/// (never wider than the true min/max).
public struct Calibration {
    public var ranges: [ValueID: (min: Float, max: Float)] = [:]

    public static func run(_ graph: Graph, values: [ValueID], samples: [[Tensor]], method: CalibrationMethod,
                           percentile: Double, progress: (Int, Int) -> Void = { _, _ in }) throws -> Calibration {
        try require(!samples.isEmpty, "calibration: no samples")
        var probe = graph
        probe.outputs = values
        var lo = [Float](repeating: .infinity, count: values.count), hi = [Float](repeating: -.infinity, count: values.count)
        var kept = [[Float]](repeating: [], count: values.count)
        for (s, inputs) in samples.enumerated() {
            progress(s + 1, samples.count)
            let outs = try Evaluator.run(probe, inputs: inputs)
            for (i, t) in outs.enumerated() {
                let xs = t.floats
                for v in xs where v.isFinite {
                    lo[i] = Swift.min(lo[i], v)
                    hi[i] = Swift.max(hi[i], v)
                }
                if method == .percentile {
                    let step = Swift.max(1, xs.count / 4096)
                    kept[i].append(contentsOf: stride(from: 0, to: xs.count, by: step).map { xs[$0] }.filter(\.isFinite))
                }
            }
        }
        var c = Calibration()
        for (i, v) in values.enumerated() {
            var (a, b) = (lo[i].isFinite ? lo[i] : 0, hi[i].isFinite ? hi[i] : 0)
            if method == .percentile && !kept[i].isEmpty {
                let neg = kept[i].filter { $0 < 0 }.map { -$0 }.sorted(), pos = kept[i].filter { $0 > 0 }.sorted()
                func pick(_ xs: [Float]) -> Float {
                    xs.isEmpty ? 0 : xs[Swift.min(xs.count - 1, Int((Double(xs.count - 1) * percentile / 100).rounded(.up)))]
                }
                a = Swift.max(a, -pick(neg))
                b = Swift.min(b, pick(pos))
            }
            c.ranges[v] = (a, b)
        }
        return c
    }
}
