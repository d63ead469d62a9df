// Indexing and generators: Gather, GatherElements, Shape, Size, Range, OneHot, Trilu.

/// Gather along a normalized axis; operand 1 holds i32/i64 indices (negative wrap).
public struct Gather: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

public struct GatherElements: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

/// Shape of the operand as i64 (dims `start..<end`, normalized at import).
public struct ShapeOf: Hashable, Sendable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// Size (element count) of the operand as an i64 scalar.
public struct SizeOf: Hashable, Sendable { public init() {} }

/// Range(start, limit, delta): scalar operands; `count` is the static result length.
public struct Range: Hashable, Sendable {
    public var count: Int
    public init(count: Int) { self.count = count }
}

/// OneHot(indices, values[2]) with static depth; result has `values`' dtype.
public struct OneHot: Hashable, Sendable {
    public var axis: Int
    public var depth: Int
    public init(axis: Int, depth: Int) { self.axis = axis; self.depth = depth }
}

/// Trilu with static diagonal offset k.
public struct Trilu: Hashable, Sendable {
    public var upper: Bool
    public var k: Int
    public init(upper: Bool, k: Int) { self.upper = upper; self.k = k }
}

// MARK: - Type rules and evaluation

extension Gather: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "gather")
        let (data, indices) = (operands[0], operands[1])
        try require(data.shape.rank >= 1, "gather: data must have rank >= 1")
        try require(axis >= 0 && axis < data.shape.rank, "gather: axis \(axis) is out of range for rank \(data.shape.rank)")
        try require(indices.dtype == .i32 || indices.dtype == .i64, "gather: indices must be i32 or i64, got \(indices.dtype.rawValue)")
        let dims = Array(data.shape.dims[..<axis]) + indices.shape.dims + Array(data.shape.dims[(axis + 1)...])
        let q = try movedQuantization(data.quantization, "gather") { a in
            a < axis ? a : (a > axis ? a + indices.shape.rank - 1 : nil)
        }
        return [TensorType(data.dtype, Shape(dims), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (data, indices) = (operands[0], operands[1])
        let (outer, n, inner) = axisSplit(data.shape, axis)
        let picks = try indices.int64s.map { try wrappedIndex($0, n, "gather", axis) }
        var sources = [Int]()
        sources.reserveCapacity(results[0].shape.elementCount)
        for o in 0..<outer {
            for p in picks {
                let base = (o * n + p) * inner
                sources.append(contentsOf: base..<(base + inner))
            }
        }
        return [data.moved(sources, to: results[0])]
    }
}

/// Index `i` along an axis of size `n`, negative counting from the end; an out-of-range
/// index is an evaluation error.
private func wrappedIndex(_ i: Int64, _ n: Int, _ what: String, _ axis: Int) throws -> Int {
    let j = i < 0 ? i + Int64(n) : i
    try require(j >= 0 && j < Int64(n), "\(what): index \(i) is out of range for axis \(axis) of size \(n)")
    return Int(j)
}

extension GatherElements: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "gather_elements")
        let (data, indices) = (operands[0], operands[1])
        let rank = data.shape.rank
        try require(rank >= 1, "gather_elements: data must have rank >= 1")
        try require(indices.shape.rank == rank, "gather_elements: indices rank \(indices.shape.rank) differs from data rank \(rank)")
        try require(axis >= 0 && axis < rank, "gather_elements: axis \(axis) is out of range for rank \(rank)")
        try require(indices.dtype == .i32 || indices.dtype == .i64, "gather_elements: indices must be i32 or i64, got \(indices.dtype.rawValue)")
        for a in 0..<rank where a != axis {
            try require(indices.shape.dims[a] <= data.shape.dims[a],
                        "gather_elements: indices shape \(indices.shape) exceeds data shape \(data.shape) at axis \(a)")
        }
        return [TensorType(data.dtype, indices.shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (data, indices) = (operands[0], operands[1])
        let strides = data.shape.strides
        let n = data.shape.dims[axis]
        // Offsets along every axis but `axis`, to which each element adds its index's offset.
        let tables = (0..<indices.shape.rank).map { a in
            (0..<indices.shape.dims[a]).map { a == axis ? 0 : $0 * strides[a] }
        }
        let base = tableIndices(indices.shape, tables)
        let idx = indices.int64s
        let sources = try (0..<idx.count).map { base[$0] + (try wrappedIndex(idx[$0], n, "gather_elements", axis)) * strides[axis] }
        return [data.moved(sources, to: results[0])]
    }
}

extension ShapeOf: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "shape")
        let rank = operands[0].shape.rank
        try require(start >= 0 && start <= rank && end >= 0 && end <= rank,
                    "shape: range \(start)..<\(end) is out of range for rank \(rank)")
        return [TensorType(.i64, [max(end - start, 0)])]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let dims = end > start ? Array(operands[0].shape.dims[start..<end]) : []
        return [Tensor(.i64, results[0].shape, int64s: dims.map { Int64($0) })]
    }
}

extension SizeOf: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "size")
        return [TensorType(.i64, [])]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [Tensor(.i64, [], int64s: [Int64(operands[0].count)])]
    }
}

extension Range: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 3...3, "range")
        let dtype = operands[0].dtype
        for (k, t) in operands.enumerated() {
            try require(t.shape.rank == 0, "range: operand #\(k) must be a scalar, got shape \(t.shape)")
            try require(t.dtype == dtype, "range: operand dtypes differ (\(dtype.rawValue) and \(t.dtype.rawValue))")
        }
        try require(dtype.isNumeric, "range expects numeric operands, got bool")
        try require(count >= 0, "range: count \(count) is negative")
        return [TensorType(dtype, [count])]
    }

    /// `start + i * delta` for i < max(ceil((limit - start) / delta), 0), which must equal `count`.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let dtype = results[0].dtype
        if dtype.isFloat {
            let (start, limit, delta) = (operands[0].doubles[0], operands[1].doubles[0], operands[2].doubles[0])
            try require(delta != 0 && delta.isFinite && start.isFinite && limit.isFinite,
                        "range: delta must be non-zero and all operands finite")
            // f32 operands count in f32 arithmetic, as ONNX computes it in the operands' type.
            let steps = dtype == .f32 ? Double((Float(limit) - Float(start)) / Float(delta)) : (limit - start) / delta
            try checkCount(max(steps.rounded(.up), 0))
            return [Tensor(dtype, [count], doubles: (0..<count).map { start + Double($0) * delta })]
        }
        let (start, limit, delta) = (operands[0].int64s[0], operands[1].int64s[0], operands[2].int64s[0])
        try require(delta != 0, "range: delta must be non-zero")
        let span = limit.subtractingReportingOverflow(start)
        if span.overflow {
            try checkCount(max(((Double(limit) - Double(start)) / Double(delta)).rounded(.up), 0))
        } else {
            // ceil(span / delta) exactly: the quotient truncates toward zero.
            let (q, r) = span.partialValue.quotientAndRemainder(dividingBy: delta)
            try checkCount(Double(max(r != 0 && (r > 0) == (delta > 0) ? q + 1 : q, 0)))
        }
        return [Tensor(dtype, [count], int64s: (0..<count).map { start &+ Int64($0) &* delta })]
    }

    private func checkCount(_ n: Double) throws {
        try require(n == Double(count), "range: the operands give \(Int64(exactly: n).map(String.init) ?? String(n)) elements, but the static count is \(count)")
    }
}

extension OneHot: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "one_hot")
        let (indices, values) = (operands[0], operands[1])
        try require(indices.dtype.isNumeric, "one_hot: indices must be numeric, got bool")
        try require(values.shape == [2], "one_hot: values must have shape [2] (off, on), got \(values.shape)")
        try require(depth >= 1, "one_hot: depth \(depth) must be positive")
        let outRank = indices.shape.rank + 1
        let a = try normalizeAxis(axis, rank: outRank, "one_hot")
        var dims = indices.shape.dims
        dims.insert(depth, at: a)
        return [TensorType(values.dtype, Shape(dims))]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (indices, values) = (operands[0], operands[1])
        let a = try normalizeAxis(axis, rank: indices.shape.rank + 1, "one_hot")
        // Indices viewed as (outer, inner) around the inserted axis; out is (outer, depth, inner).
        let outer = indices.shape.dims[..<a].reduce(1, *)
        let inner = indices.shape.dims[a...].reduce(1, *)
        let idx = indices.int64s
        var sources = [Int](repeating: 0, count: outer * depth * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                var k = idx[o * inner + i]
                if k < 0 { k += Int64(depth) }
                if k >= 0 && k < Int64(depth) { sources[(o * depth + Int(k)) * inner + i] = 1 }
            }
        }
        return [values.moved(sources, to: results[0])]
    }
}

extension Trilu: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "trilu")
        let x = operands[0]
        try require(x.shape.rank >= 2, "trilu expects an operand of rank >= 2, got \(x.shape)")
        return [TensorType(x.dtype, x.shape)]
    }

    /// Keeps element (i, j) of each matrix where j - i >= k (upper) or j - i <= k (lower).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let rank = x.shape.rank
        let (rows, cols) = (x.shape.dims[rank - 2], x.shape.dims[rank - 1])
        let sources = (0..<x.count).map { flat -> Int in
            let j = flat % cols
            let i = (flat / cols) % rows
            let keep = upper ? j - i >= k : j - i <= k
            return keep ? flat : -1
        }
        return [x.moved(sources, to: results[0])]
    }
}
