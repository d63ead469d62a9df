import KilnIR

/// How a calibrated value's float range is chosen from what the samples showed.
public enum CalibrationMethod: String, CaseIterable, Sendable {
    /// The smallest and largest value seen.
    case minmax
    /// The given percentile of the values below zero and above zero (clips outliers).
    case percentile
    /// The |x| threshold whose clipped, quantized histogram is closest to the observed one
    /// in KL divergence (`AbsHistogram`).
    case entropy
}

/// Per-value float ranges observed by running the reference evaluator on calibration
/// samples, and the graph's float outputs on each sample (the fp32 reference).
///
/// Algorithm: the graph is copied with every value of interest added as an output, and
/// evaluated once per sample. minmax keeps a running min and max. percentile also keeps
/// an evenly strided subsample (at most 4096 elements per value and sample) and takes the
/// requested percentile of the negative and of the positive side of it at the end
/// (never wider than the true min/max). entropy keeps a histogram of |x| per value and
/// clips the min/max to ±T, T from the KL search with 255 levels for a value never
/// below zero and 128 (one side of the u8 range) otherwise. Graph outputs keep min/max
/// under every method (clipping a classifier's logits loses its arg-max).
public struct Calibration {
    public var ranges: [ValueID: (min: Float, max: Float)] = [:]
    /// Per-channel means over all samples (channel axis 1 of a rank-4 value, the last
    /// axis otherwise), for bias correction (`QuantizeBiasCorrection`).
    public var means: [ValueID: [Float]] = [:]
    /// `outputs[s]`: the graph outputs on sample s.
    public var outputs: [[Tensor]] = []

    public static func run(_ graph: Graph, values: [ValueID], samples: [[Tensor]], method: CalibrationMethod,
                           percentile: Double, progress: (Int, Int) -> Void = { _, _ in }) throws -> Calibration {
        try require(!samples.isEmpty, "calibration: no samples")
        var probe = graph
        probe.outputs = values + graph.outputs
        var lo = [Float](repeating: .infinity, count: values.count), hi = [Float](repeating: -.infinity, count: values.count)
        var kept = [[Float]](repeating: [], count: values.count)
        var sums = [[Double]](repeating: [], count: values.count)
        var histograms = [AbsHistogram](repeating: AbsHistogram(), count: method == .entropy ? values.count : 0)
        var c = Calibration()
        for (s, inputs) in samples.enumerated() {
            progress(s + 1, samples.count)
            let outs = try Evaluator.run(probe, inputs: inputs)
            c.outputs.append(Array(outs[values.count...]))
            for (i, t) in outs.prefix(values.count).enumerated() {
                let xs = t.floats
                accumulateChannelSums(xs, shape: t.shape, into: &sums[i])
                for v in xs where v.isFinite {
                    lo[i] = Swift.min(lo[i], v)
                    hi[i] = Swift.max(hi[i], v)
                }
                switch method {
                case .minmax: break
                case .percentile:
                    let step = Swift.max(1, xs.count / 4096)
                    kept[i].append(contentsOf: stride(from: 0, to: xs.count, by: step).map { xs[$0] }.filter(\.isFinite))
                case .entropy: histograms[i].add(xs)
                }
            }
        }
        let graphOutputs = Set(graph.outputs)
        for (i, v) in values.enumerated() {
            var (a, b) = (lo[i].isFinite ? lo[i] : 0, hi[i].isFinite ? hi[i] : 0)
            // A graph output is never clipped: its largest values (a classifier's top
            // logits) are the ones that matter.
            switch graphOutputs.contains(v) ? .minmax : method {
            case .minmax: break
            case .percentile:
                guard !kept[i].isEmpty else { break }
                let neg = kept[i].filter { $0 < 0 }.map { -$0 }.sorted(), pos = kept[i].filter { $0 > 0 }.sorted()
                func pick(_ xs: [Float]) -> Float {
                    xs.isEmpty ? 0 : xs[Swift.min(xs.count - 1, Int((Double(xs.count - 1) * percentile / 100).rounded(.up)))]
                }
                a = Swift.max(a, -pick(neg))
                b = Swift.min(b, pick(pos))
            case .entropy:
                let t = histograms[i].threshold(levels: a >= 0 ? 255 : 128)
                a = Swift.max(a, -t)
                b = Swift.min(b, t)
            }
            c.ranges[v] = (a, b)
            let perChannel = Double(samples.count) * Double(Swift.max(1, graph.type(of: v).shape.elementCount / Swift.max(1, sums[i].count)))
            c.means[v] = sums[i].map { Float($0 / perChannel) }
        }
        return c
    }

    /// Adds each channel's sum of `xs` to `sums` (sized on first use): channel axis 1 of
    /// a rank-4 tensor, the last axis of any other rank ≥ 1.
    static func accumulateChannelSums(_ xs: [Float], shape: Shape, into sums: inout [Double]) {
        let rank = shape.rank
        guard rank >= 1, !xs.isEmpty else { return }
        let axis = rank == 4 ? 1 : rank - 1
        let channels = shape[axis]
        var inner = 1
        for d in (axis + 1)..<rank { inner *= shape[d] }
        if sums.count != channels { sums = [Double](repeating: 0, count: channels) }
        for (i, v) in xs.enumerated() where v.isFinite { sums[(i / inner) % channels] += Double(v) }
    }
}
