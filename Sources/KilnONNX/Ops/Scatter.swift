import KilnIR

// ScatterND, ScatterElements (and the opset 9–10 Scatter): with compile-time indices,
// imported as gathers with constant index maps (see `scatter`). GatherND is in GatherND.swift.

extension NodeContext {
    /// ScatterND(data, indices, updates): `indices` [..., k] picks slices of data (of
    /// shape data.shape[k...]) that updates' slices replace or combine with (`reduction`).
    func scatterND() throws -> [ValueID?] {
        let (data, updates) = (try input(0), try input(2))
        let indices = try scatterIndices()
        let dims = type(data).shape.dims, idx = indices.shape.dims
        try require(idx.count >= 1, "indices must have rank 1 or more, got \(indices.shape)")
        let k = idx[idx.count - 1]
        try require(k <= dims.count, "indices.shape[-1] = \(k) exceeds the rank \(dims.count) of data")
        let expected = Array(idx.dropLast()) + Array(dims[k...])
        try require(type(updates).shape.dims == expected,
                    "updates must have shape \(Shape(expected)) (indices.shape[:-1] + data.shape[\(k):]), got \(type(updates).shape)")
        let strides = Shape(dims).strides
        let slice = dims[k...].reduce(1, *)
        let values = indices.int64s
        var targets = [Int]()
        targets.reserveCapacity(values.count / max(k, 1) * slice)
        for t in 0..<idx.dropLast().reduce(1, *) {
            var base = 0
            for j in 0..<k {
                base += try wrapIndex(values[t * k + j], dims[j], position: t * k + j, axis: j) * strides[j]
            }
            targets.append(contentsOf: base..<(base + slice))
        }
        return [try scatter(data, updates, targets: targets, reduction: scatterReduction())]
    }

    /// ScatterElements(data, indices, updates) along `axis` (default 0); also the
    /// deprecated Scatter of opsets 9–10 (`legacy`, no reduction).
    func scatterElements(legacy: Bool = false) throws -> [ValueID?] {
        if legacy {
            try require(opset <= 10, "Scatter is not supported at opset \(opset): it was removed in opset 11 (use ScatterElements)")
        }
        let (data, updates) = (try input(0), try input(2))
        let indices = try scatterIndices()
        let dims = type(data).shape.dims, idx = indices.shape.dims
        let axis = try normalizeAxis(attr.int("axis", default: 0), rank: dims.count)
        try require(type(updates).shape.dims == idx, "updates must have the shape of indices \(indices.shape), got \(type(updates).shape)")
        try require(idx.count == dims.count && zip(idx, dims).enumerated().allSatisfy { $0.offset == axis || $0.element.0 <= $0.element.1 },
                    "indices \(indices.shape) must have the rank of data \(Shape(dims)) and no larger dims off the axis")
        let dataStrides = Shape(dims).strides, idxStrides = indices.shape.strides
        let values = indices.int64s
        var targets = [Int](repeating: 0, count: values.count)
        for p in 0..<values.count {
            var target = 0
            for d in 0..<dims.count {
                let c = d == axis ? try wrapIndex(values[p], dims[d], position: p, axis: d) : (p / idxStrides[d]) % idx[d]
                target += c * dataStrides[d]
            }
            targets[p] = target
        }
        return [try scatter(data, updates, targets: targets, reduction: legacy ? nil : scatterReduction())]
    }

    // MARK: Shared

    /// Input 1, the indices, which must be known at compile time.
    private func scatterIndices() throws -> Tensor {
        let t = try requiredConstant(1, "indices")
        try require(t.dtype == .i64 || t.dtype == .i32, "indices must be int64, got \(t.dtype.rawValue)")
        return t
    }

    /// The `reduction` attribute (opset 16+; max/min 18+) as the combining op, nil for none.
    private func scatterReduction() throws -> BinaryOp? {
        let r = try attr.string("reduction", default: "none")
        switch r {
        case "none": return nil
        case "add": return .add
        case "mul": return .mul
        case "max": return .max
        case "min": return .min
        default: throw attr.invalid("reduction", "= '\(r)' is not supported (expected none, add, mul, max or min)")
        }
    }

    /// An index along an axis of size n, negative counting from the end; out of range is an error.
    private func wrapIndex(_ v: Int64, _ n: Int, position: Int, axis: Int) throws -> Int {
        let j = v < 0 ? v + Int64(n) : v
        guard j >= 0 && j < Int64(n) else {
            throw KilnError("indices hold \(v) (element \(position)), out of range for axis \(axis) of size \(n)")
        }
        return Int(j)
    }

    /// Writes updates (flattened, in order) into data at the flat positions `targets`.
    ///
    /// Algorithm: updates are split into rounds, each writing any position at most once:
    /// with no reduction one round where the last update of a position wins (the ONNX
    /// reference order); with a reduction the r-th update of each position goes to round r.
    /// A round is a map position → update; it is factored as data [O, M, I] and updates
    /// [O, Mu, I] where position (o, m, i) is untouched for every o and i, or takes update
    /// (o, g(m), i) — the smallest such M is chosen (M = all elements always works, a
    /// slice assignment gives M = the sliced axis). The round is then
    /// `picked = gather(updates, g, axis 1)`, combined with data by the reduction, and
    /// `where(mask[1, M, 1], picked, data)` when some m are untouched.
    private func scatter(_ data: ValueID, _ updates: ValueID, targets: [Int], reduction: BinaryOp?) throws -> ValueID {
        let dims = type(data).shape.dims
        let count = dims.reduce(1, *)
        try require(count < Int(Int32.max), "data is too large")
        if targets.isEmpty { return try emit1(.identity(Identity()), [data]) }
        let rounds = try scatterRounds(targets, count: count, reduce: reduction != nil)
        var out = data
        for (r, map) in rounds.enumerated() {
            let f = scatterFactor(map, dims: dims, updateCount: targets.count)
            let tag = rounds.count == 1 ? "" : "\(r)"
            let d3 = try reshape("data3d" + tag, out, [f.outer, f.middle, f.inner])
            let u3 = try reshape("updates3d" + tag, updates, [f.outer, f.updateMiddle, f.inner])
            let g = helperConstant("source" + tag, Tensor(.i32, [f.middle], int64s: f.source.map { Int64(max($0, 0)) }))
            var value = try helper("picked" + tag, .gather(Gather(axis: 1)), [u3, g])
            if let op = reduction { value = try helper("combined" + tag, .binary(op), [d3, value]) }
            if f.source.contains(-1) {
                let mask = helperConstant("mask" + tag, Tensor(.bool, [1, f.middle, 1], int64s: f.source.map { $0 < 0 ? 0 : 1 }))
                value = try helper("written" + tag, .where(Where()), [mask, value, d3])
            }
            out = value
        }
        return try emit1(.reshape(Reshape(shape: dims)), [out])
    }

    /// Splits the writes into rounds (maps position → update index, -1 untouched).
    private func scatterRounds(_ targets: [Int], count: Int, reduce: Bool) throws -> [[Int]] {
        var rounds = [[Int](repeating: -1, count: count)]
        guard reduce else {
            for (u, p) in targets.enumerated() { rounds[0][p] = u }
            return rounds
        }
        var seen = [UInt16](repeating: 0, count: count)
        for (u, p) in targets.enumerated() {
            let r = Int(seen[p])
            try require(r < 64, "position \(p) of data receives more than 64 updates (not supported)")
            if r == rounds.count { rounds.append([Int](repeating: -1, count: count)) }
            rounds[r][p] = u
            seen[p] += 1
        }
        return rounds
    }
}

/// A round of scatter writes factored as data [outer, middle, inner], updates
/// [outer, updateMiddle, inner]: `source[m]` is the update row written to middle index m
/// (-1 untouched).
struct ScatterFactor {
    var outer: Int, middle: Int, inner: Int, updateMiddle: Int
    var source: [Int]
}

/// The factoring of `map` (position → update index or -1) with the smallest middle.
func scatterFactor(_ map: [Int], dims: [Int], updateCount: Int) -> ScatterFactor {
    var candidates: [(a: Int, b: Int, middle: Int)] = []
    for a in 0...dims.count {
        for b in a...dims.count { candidates.append((a, b, dims[a..<b].reduce(1, *))) }
    }
    for c in candidates.sorted(by: { ($0.middle, $0.a, $0.b) < ($1.middle, $1.a, $1.b) }) {
        let outer = dims[..<c.a].reduce(1, *), inner = dims[c.b...].reduce(1, *)
        guard outer * inner > 0, updateCount % (outer * inner) == 0 else { continue }
        if let f = tryFactor(map, outer: outer, middle: c.middle, inner: inner, updateMiddle: updateCount / (outer * inner)) {
            return f
        }
    }
    return ScatterFactor(outer: 1, middle: map.count, inner: 1, updateMiddle: updateCount, source: map)
}

private func tryFactor(_ map: [Int], outer: Int, middle: Int, inner: Int, updateMiddle: Int) -> ScatterFactor? {
    var source = [Int](repeating: -2, count: middle)
    for o in 0..<outer {
        for m in 0..<middle {
            for i in 0..<inner {
                let s = map[(o * middle + m) * inner + i]
                var row = -1
                if s >= 0 {
                    guard s % inner == i else { return nil }
                    let q = s / inner
                    guard q / updateMiddle == o else { return nil }
                    row = q % updateMiddle
                }
                if source[m] == -2 { source[m] = row } else if source[m] != row { return nil }
            }
        }
    }
    return ScatterFactor(outer: outer, middle: middle, inner: inner, updateMiddle: updateMiddle,
                         source: source.map { $0 == -2 ? -1 : $0 })
}
