import KilnIR

/// Bias correction of int8 weights (as in Nagel et al., "Data-Free Quantization", 2019,
/// with the input means measured on the calibration samples rather than inferred).
///
/// Rounding a channel's weights to int8 changes its output's expectation by
/// ΔW · E[x], ΔW = dequantized weights − float weights: a per-output-channel shift that,
/// unlike the rounding noise, does not average out over a layer's inputs (a depthwise
/// conv's channel has 9 weights) and that later layers amplify like a signal. Folding
/// −ΔW · E[x] into the bias removes it at no runtime cost.
///
/// Algorithm: E[x] is `Calibration.means` of the op's float input (per input channel).
/// Conv weight [M, C/g, kh, kw]: shift[m] = Σ_{c,i,j} ΔW[m,c,i,j] · E[x][group(m)·C/g + c]
/// (padding, which reads zeros at the borders, is ignored). Matrix weight [K, N]:
/// shift[n] = Σ_k ΔW[k,n] · E[x][k].
enum QuantizeBiasCorrection {
    /// The per-output-channel shift −ΔW · E[x] to add to the float bias, or nil when the
    /// means do not fit the weight (then no correction is made).
    /// `w`: float weights, [M, …] (`convGroups` given) or [K, N]; `wq`/`scales`: their int8
    /// values and per-channel scales from `QuantizeInt8.quantizeWeights`.
    static func correction(w: Tensor, wq: Tensor, scales: [Float], convGroups: Int?, inputMeans: [Float]) -> [Double]? {
        let xs = w.floats, qs = wq.int64s
        if let groups = convGroups {
            let m = w.shape[0], perGroupIn = w.shape[1]
            guard groups > 0, m % groups == 0, inputMeans.count == perGroupIn * groups else { return nil }
            let inner = xs.count / m, kernel = inner / Swift.max(1, perGroupIn)
            return (0..<m).map { o in
                let base = (o / (m / groups)) * perGroupIn
                var s = 0.0
                for c in 0..<perGroupIn {
                    var dw = 0.0
                    for k in 0..<kernel {
                        let i = o * inner + c * kernel + k
                        dw += Double(qs[i]) * Double(scales[o]) - Double(xs[i])
                    }
                    s += dw * Double(inputMeans[base + c])
                }
                return -s
            }
        }
        let (k, n) = (w.shape[0], w.shape[1])
        guard inputMeans.count == k else { return nil }
        var shift = [Double](repeating: 0, count: n)
        for r in 0..<k {
            let mean = Double(inputMeans[r])
            guard mean != 0 else { continue }
            for col in 0..<n {
                let i = r * n + col
                shift[col] -= (Double(qs[i]) * Double(scales[col]) - Double(xs[i])) * mean
            }
        }
        return shift
    }
}
