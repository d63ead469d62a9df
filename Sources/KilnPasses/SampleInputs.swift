import KilnIR

/// Deterministic stand-in inputs for a graph: what `kiln compile --report` measures drift
/// on when no `--sample-input` is given (and what `kiln bench` runs by default).
///
/// Algorithm: input k (0-based, in graph order) draws from a SplitMix64 stream whose state
/// starts at (k + 1) · 0x9E3779B97F4A7C15; each step adds 0x9E3779B97F4A7C15 and mixes
/// (z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB;
/// z ^= z >> 31). Elements are filled in row-major order:
///   - float types: (z >> 11) / 2^53 · 2 − 1, uniform on [−1, 1), rounded to the dtype;
///   - integer and bool types: z mod 2, so 0 or 1 (valid as an index or token id in
///     almost any model).
public enum SampleInputs {
    /// One tensor per graph input, in order.
    public static func random(for graph: Graph) -> [Tensor] {
        graph.inputs.enumerated().map { k, id in random(graph.type(of: id), seed: UInt64(k + 1)) }
    }

    /// A tensor of `type` from the stream numbered `seed`.
    public static func random(_ type: TensorType, seed: UInt64) -> Tensor {
        var state = seed &* 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        let n = type.shape.elementCount
        var t: Tensor
        if type.dtype.isFloat {
            t = Tensor(type.dtype, type.shape, doubles: (0..<n).map { _ in Double(next() >> 11) / 9_007_199_254_740_992 * 2 - 1 })
        } else {
            t = Tensor(type.dtype, type.shape, int64s: (0..<n).map { _ in Int64(next() % 2) })
        }
        t.type = type
        return t
    }
}
