import Foundation
import KilnIR

// STFT as frames gathered from the signal, windowed, times a constant DFT matrix; the
// window generators (HannWindow, HammingWindow, BlackmanWindow) as constants.

extension NodeContext {
    /// STFT(signal [B, L, 1 or 2], frame_step, window?, frame_length?; onesided = 1) →
    /// [B, frames, bins, 2] with frames = 1 + (L - frame_length) / frame_step and bins =
    /// frame_length / 2 + 1 when onesided, else frame_length. frame_step and frame_length
    /// must be known at compile time; the window may be computed at run time. Each frame
    /// is Gathered from the signal, multiplied by the window, and the DFT is one MatMul by
    /// a [channels * N, bins * 2] matrix of cos / -sin terms (computed in double).
    func stft() throws -> [ValueID?] {
        let signal = try input(0)
        let st = type(signal)
        try require(st.dtype == .f32, "signal must be float32, got \(st.dtype.rawValue)")
        try require(st.shape.rank == 3 && (st.shape[2] == 1 || st.shape[2] == 2),
                    "signal must be [batch, length, 1] or [batch, length, 2], got \(st.shape)")
        let (batch, length, channels) = (st.shape[0], st.shape[1], st.shape[2])
        guard let stepValue = try scalarValue(requiredConstant(1, "frame_step"), "frame_step") else {
            throw KilnError("frame_step is empty")
        }
        let step = Int(stepValue)
        var n: Int? = nil
        if let fl = try constant(3, "frame_length"), let v = try scalarValue(fl, "frame_length") { n = Int(v) }
        let window = try optionalInput(2)
        if let window {
            let wt = type(window)
            try require(wt.shape.rank == 1, "window must be 1-D, got \(wt.shape)")
            try require(n == nil || n == wt.shape[0], "window length \(wt.shape[0]) differs from frame_length \(n ?? 0)")
            n = wt.shape[0]
        }
        guard let n else { throw KilnError("STFT needs a window or a frame_length") }
        let onesided = try attr.int("onesided", default: 1) != 0
        try require(!(onesided && channels == 2), "onesided is only defined for a real signal ([batch, length, 1])")
        try require(step >= 1 && n >= 1 && n <= length,
                    "frame_step (\(step)) must be positive and frame_length (\(n)) in 1...\(length) (the signal length)")
        let frames = 1 + (length - n) / step
        let bins = onesided ? n / 2 + 1 : n

        // [B, L, C] → gather frames along axis 1 → [B, F, N, C].
        let positions = (0..<(frames * n)).map { Int64(($0 / n) * step + $0 % n) }
        let framed = try helper("frames", .gather(Gather(axis: 1)), [
            signal, helperConstant("frame_positions", Tensor(.i64, Shape([frames, n]), int64s: positions)),
        ])
        var x = framed
        if let window {
            let w = try reshape("window_column", window, [n, 1])
            let wf = type(window).dtype == .f32 ? w : try helper("window_f32", .cast(Cast(to: .f32)), [w])
            x = try helper("windowed", .binary(.mul), [framed, wf])
        }
        let rows = try reshape("frame_rows", x, [batch, frames, n * channels])
        let product = try helper("spectrum", .matMul(MatMul()), [rows, helperConstant("dft_matrix", dftMatrix(n, bins, channels))])
        return [try emit1(.reshape(Reshape(shape: [batch, frames, bins, 2])), [product])]
    }

    /// Row (t, c) and column (k, part): the contribution of sample t's channel c (0 real,
    /// 1 imaginary) to bin k's real (part 0) or imaginary (1) output:
    /// X[k] = sum_t (xr + i xi)(cos a - i sin a), a = 2 pi k t / n.
    private func dftMatrix(_ n: Int, _ bins: Int, _ channels: Int) -> Tensor {
        var m = [Float](repeating: 0, count: n * channels * bins * 2)
        for t in 0..<n {
            for k in 0..<bins {
                let a = 2 * Double.pi * Double((k * t) % n) / Double(n)
                let (c, s) = (cos(a), sin(a))
                let row = t * channels
                m[(row * bins + k) * 2] = Float(c)
                m[(row * bins + k) * 2 + 1] = Float(-s)
                if channels == 2 {
                    m[((row + 1) * bins + k) * 2] = Float(s)
                    m[((row + 1) * bins + k) * 2 + 1] = Float(c)
                }
            }
        }
        return Tensor(Shape([n * channels, bins * 2]), floats: m)
    }

    /// HannWindow / HammingWindow / BlackmanWindow(size; periodic = 1, output_datatype = 1):
    /// sum_j a_j cos(2 pi j i / N') over i < size, N' = size (periodic) or size - 1.
    func window(_ coefficients: [Double]) throws -> [ValueID?] {
        guard let sizeValue = try scalarValue(requiredConstant(0, "size"), "size") else { throw KilnError("size is empty") }
        let size = Int(sizeValue)
        try require(size >= 0 && size < 1 << 28, "size \(size) is out of range")
        let periodic = try attr.int("periodic", default: 1) != 0
        let dtype = try ONNXDataType.require(Int32(clamping: try attr.int("output_datatype", default: 1)),
                                             for: "attribute 'output_datatype'")
        let denominator = Double(periodic ? size : size - 1)
        let values = (0..<size).map { i -> Double in
            coefficients.enumerated().reduce(0) { acc, term in
                acc + term.element * cos(2 * Double.pi * Double(term.offset * i) / denominator)
            }
        }
        return [emitConstant(Tensor(dtype, Shape([size]), doubles: values))]
    }
}
