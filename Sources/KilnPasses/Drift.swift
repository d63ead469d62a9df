import KilnIR

/// How far a graph output moved away from a reference output.
///
/// For an output with elements a_i (after a pass) and reference elements b_i (the
/// unoptimized graph, same sample inputs):
///
///     maxAbs = max_i |a_i − b_i|
///     maxRel = maxAbs / max(max_i |b_i|, tiny)        tiny = Float.leastNormalMagnitude
///
/// so the relative figure is taken against the largest magnitude of the reference output
/// (an ∞-norm relative error): reference elements near zero do not blow it up, and 1e-6
/// means "a millionth of the output's scale". The max over |b_i| skips non-finite
/// elements. Two equal elements differ by 0 (this includes equal infinities and NaN
/// against NaN); any other pair with a NaN or an infinity differs by +∞. Integer and bool
/// outputs compare their values the same way. Over several outputs, `worst` takes the
/// largest maxAbs and the largest maxRel (possibly of different outputs).
public struct Drift: Equatable, Sendable {
    public var maxAbs: Double
    public var maxRel: Double

    public init(maxAbs: Double, maxRel: Double) {
        self.maxAbs = maxAbs
        self.maxRel = maxRel
    }

    public static let zero = Drift(maxAbs: 0, maxRel: 0)

    /// The drift of `actual` against `reference`; their types must match.
    public static func measure(_ actual: Tensor, against reference: Tensor) throws -> Drift {
        try require(actual.dtype == reference.dtype && actual.shape == reference.shape,
                    "output type changed from \(reference.type) to \(actual.type)")
        let a = actual.doubles
        let b = reference.doubles
        var maxAbs = 0.0
        var scale = 0.0
        for (x, y) in zip(a, b) {
            if y.isFinite { scale = max(scale, abs(y)) }
            if x == y || (x.isNaN && y.isNaN) { continue }
            let d = abs(x - y)
            maxAbs = max(maxAbs, d.isNaN ? .infinity : d)
        }
        let rel = maxAbs == 0 ? 0 : maxAbs / max(scale, Double(Float.leastNormalMagnitude))
        return Drift(maxAbs: maxAbs, maxRel: rel)
    }

    /// One drift per output pair.
    public static func measure(_ actual: [Tensor], against reference: [Tensor]) throws -> [Drift] {
        try require(actual.count == reference.count, "the graph has \(actual.count) outputs, the reference \(reference.count)")
        return try zip(actual, reference).enumerated().map { k, pair in
            do { return try measure(pair.0, against: pair.1) } catch let e as KilnError {
                throw KilnError("output \(k): \(e.message)")
            }
        }
    }

    /// The largest maxAbs and the largest maxRel over `drifts` (zero when empty; a NaN wins).
    public static func worst(_ drifts: [Drift]) -> Drift {
        func top(_ xs: [Double]) -> Double {
            xs.contains(where: \.isNaN) ? .nan : xs.max() ?? 0
        }
        return Drift(maxAbs: top(drifts.map(\.maxAbs)), maxRel: top(drifts.map(\.maxRel)))
    }
}
