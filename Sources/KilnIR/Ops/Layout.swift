// Layout and data movement: Reshape (also Flatten, Squeeze, Unsqueeze), Transpose, Concat,
// Split, Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Identity. These work on any
// dtype by moving raw elements.

/// Reshape to a fully resolved shape (0 and -1 resolved at import).
public struct Reshape: Hashable, Sendable {
    public var shape: [Int]
    public init(shape: [Int]) { self.shape = shape }
}

public struct Transpose: Hashable, Sendable {
    public var perm: [Int]
    public init(perm: [Int]) { self.perm = perm }
}

/// Concat along a normalized (non-negative) axis.
public struct Concat: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

/// Split along a normalized axis into pieces of the given sizes (one result each).
public struct Split: Hashable, Sendable {
    public var axis: Int
    public var sizes: [Int]
    public init(axis: Int, sizes: [Int]) { self.axis = axis; self.sizes = sizes }
}

/// Slice with ONNX semantics: one entry per sliced axis; starts/ends may be negative or
/// out of range and are clamped per the spec; steps non-zero.
public struct Slice: Hashable, Sendable {
    public var starts: [Int]
    public var ends: [Int]
    public var axes: [Int]
    public var steps: [Int]
    public init(starts: [Int], ends: [Int], axes: [Int], steps: [Int]) {
        self.starts = starts; self.ends = ends; self.axes = axes; self.steps = steps
    }
}

/// Expand (broadcast) to `shape`, which is the broadcast of the input shape and the ONNX
/// shape input, resolved at import.
public struct Expand: Hashable, Sendable {
    public var shape: [Int]
    public init(shape: [Int]) { self.shape = shape }
}

public struct Tile: Hashable, Sendable {
    public var repeats: [Int]
    public init(repeats: [Int]) { self.repeats = repeats }
}

public enum PadMode: String, Hashable, Sendable, CaseIterable {
    case constant, reflect, edge, wrap
}

/// Pad: `pads` has begin values for every axis then end values (negative crops);
/// `value` is the constant-mode fill.
public struct Pad: Hashable, Sendable {
    public var mode: PadMode
    public var pads: [Int]
    public var value: Double
    public init(mode: PadMode, pads: [Int], value: Double) {
        self.mode = mode; self.pads = pads; self.value = value
    }
}

public struct DepthToSpace: Hashable, Sendable {
    public var blockSize: Int
    /// true for "CRD" mode, false for the default "DCR".
    public var crd: Bool
    public init(blockSize: Int, crd: Bool) { self.blockSize = blockSize; self.crd = crd }
}

public struct SpaceToDepth: Hashable, Sendable {
    public var blockSize: Int
    public init(blockSize: Int) { self.blockSize = blockSize }
}

/// Identity; inference-time Dropout also imports as this.
public struct Identity: Hashable, Sendable { public init() {} }

// MARK: - Type rules and evaluation

/// The quantization of a data-movement result: per-tensor parameters pass through; a
/// per-axis axis follows `axisMap`, which returns nil when the op resizes or mixes that axis.
func movedQuantization(_ q: Quantization?, _ what: String, _ axisMap: (Int) -> Int?) throws -> Quantization? {
    guard let q, let axis = q.axis else { return q }
    guard let moved = axisMap(axis) else {
        throw KilnError("\(what) of a tensor quantized per axis \(axis) changes that axis, which is not supported")
    }
    var result = q
    result.axis = moved
    return result
}

extension Reshape: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "reshape")
        let x = operands[0]
        let target = Shape(shape)
        try require(shape.allSatisfy { $0 >= 0 }, "reshape: target shape \(target) has a negative dim")
        try require(target.elementCount == x.shape.elementCount,
                    "reshape: cannot reshape \(x.shape) (\(x.shape.elementCount) elements) to \(target) (\(target.elementCount) elements)")
        // A per-axis quantized axis survives when the same dim starts at the same flat offset.
        let q = try movedQuantization(x.quantization, "reshape") { a in
            let before = x.shape.dims[..<a].reduce(1, *)
            return (0..<shape.count).first { shape[$0] == x.shape.dims[a] && shape[..<$0].reduce(1, *) == before }
        }
        return [TensorType(x.dtype, target, quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [Tensor(type: results[0], bytes: operands[0].bytes)]
    }
}

extension Transpose: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "transpose")
        let x = operands[0]
        try require(perm.sorted() == Array(0..<x.shape.rank),
                    "transpose: perm \(perm) is not a permutation of the \(x.shape.rank) axes")
        let q = try movedQuantization(x.quantization, "transpose") { a in perm.firstIndex(of: a) }
        return [TensorType(x.dtype, Shape(perm.map { x.shape.dims[$0] }), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let inStrides = x.shape.strides
        let sources = stridedIndices(results[0].shape, strides: perm.map { inStrides[$0] })
        return [x.moved(sources, to: results[0])]
    }
}

extension Concat: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try require(!operands.isEmpty, "concat takes at least 1 operand, got 0")
        let first = operands[0]
        let rank = first.shape.rank
        try require(axis >= 0 && axis < rank, "concat: axis \(axis) is out of range for rank \(rank)")
        var dims = first.shape.dims
        dims[axis] = 0
        for (k, t) in operands.enumerated() {
            try require(t.dtype == first.dtype, "concat: operand #\(k) has dtype \(t.dtype.rawValue), expected \(first.dtype.rawValue)")
            try require(t.shape.rank == rank, "concat: operand #\(k) has rank \(t.shape.rank), expected \(rank)")
            for a in 0..<rank where a != axis {
                try require(t.shape.dims[a] == first.shape.dims[a],
                            "concat: operand #\(k) has shape \(t.shape), which differs from \(first.shape) outside axis \(axis)")
            }
            try require(t.quantization == first.quantization, "concat: operand #\(k) has different quantization parameters")
            dims[axis] += t.shape.dims[axis]
        }
        let q = try movedQuantization(first.quantization, "concat") { $0 == axis ? nil : $0 }
        return [TensorType(first.dtype, Shape(dims), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (outer, _, inner) = axisSplit(results[0].shape, axis)
        let size = results[0].dtype.byteSize
        var bytes = [UInt8]()
        bytes.reserveCapacity(results[0].byteCount)
        for o in 0..<outer {
            for t in operands {
                let chunk = t.shape.dims[axis] * inner * size
                bytes.append(contentsOf: t.bytes[(o * chunk)..<((o + 1) * chunk)])
            }
        }
        return [Tensor(type: results[0], bytes: bytes)]
    }
}

extension Split: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "split")
        let x = operands[0]
        try require(axis >= 0 && axis < x.shape.rank, "split: axis \(axis) is out of range for rank \(x.shape.rank)")
        try require(!sizes.isEmpty && sizes.allSatisfy { $0 >= 0 }, "split: sizes \(sizes) must be non-empty and non-negative")
        try require(sizes.reduce(0, +) == x.shape.dims[axis],
                    "split: sizes \(sizes) sum to \(sizes.reduce(0, +)), but axis \(axis) of \(x.shape) has \(x.shape.dims[axis])")
        let q = try movedQuantization(x.quantization, "split") { $0 == axis ? nil : $0 }
        return sizes.map { s in
            var dims = x.shape.dims
            dims[axis] = s
            return TensorType(x.dtype, Shape(dims), quantization: q)
        }
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let (outer, n, inner) = axisSplit(x.shape, axis)
        let size = x.dtype.byteSize
        var start = 0
        return results.map { type in
            let piece = type.shape.dims[axis]
            var bytes = [UInt8]()
            bytes.reserveCapacity(type.byteCount)
            for o in 0..<outer {
                let from = ((o * n + start) * inner) * size
                bytes.append(contentsOf: x.bytes[from..<(from + piece * inner * size)])
            }
            start += piece
            return Tensor(type: type, bytes: bytes)
        }
    }
}

extension Slice: OpRule {
    /// Per axis of `shape`: the first index, the step and the element count, with
    /// starts/ends clamped as ONNX specifies (ends may be ±INT_MAX).
    public func geometry(_ shape: Shape) throws -> (starts: [Int], steps: [Int], counts: [Int]) {
        try require(starts.count == axes.count && ends.count == axes.count && steps.count == axes.count,
                    "slice: starts, ends, axes and steps must have the same length")
        var first = [Int](repeating: 0, count: shape.rank)
        var step = [Int](repeating: 1, count: shape.rank)
        var counts = shape.dims
        var seen = Set<Int>()
        for k in 0..<axes.count {
            let axis = try normalizeAxis(axes[k], rank: shape.rank, "slice")
            try require(seen.insert(axis).inserted, "slice: axis \(axis) is sliced twice")
            try require(steps[k] != 0, "slice: step for axis \(axis) is 0")
            let d = shape.dims[axis]
            // A step longer than the axis takes one element, like a step of exactly d.
            let st = Swift.max(Swift.min(steps[k], Swift.max(d, 1)), -Swift.max(d, 1))
            var s = starts[k] < 0 ? starts[k] + d : starts[k]
            var e = ends[k] < 0 ? ends[k] + d : ends[k]
            if st > 0 {
                s = Swift.min(Swift.max(s, 0), d)
                e = Swift.min(Swift.max(e, 0), d)
                counts[axis] = e > s ? (e - s + st - 1) / st : 0
            } else {
                // An end of INT64_MAX with a negative step means "through index 0", as
                // ONNX Runtime reads it (the spec alone would clamp it to d - 1).
                if ends[k] == Int.max { e = -1 }
                s = Swift.min(Swift.max(s, 0), d - 1)
                e = Swift.min(Swift.max(e, -1), d - 1)
                counts[axis] = s > e ? (s - e - st - 1) / -st : 0
            }
            first[axis] = counts[axis] > 0 ? s : 0
            step[axis] = st
        }
        return (first, step, counts)
    }

    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "slice")
        let x = operands[0]
        let g = try geometry(x.shape)
        let q = try movedQuantization(x.quantization, "slice") { a in
            g.counts[a] == x.shape.dims[a] && g.steps[a] == 1 ? a : nil
        }
        return [TensorType(x.dtype, Shape(g.counts), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let g = try geometry(x.shape)
        let inStrides = x.shape.strides
        let offset = (0..<x.shape.rank).reduce(0) { $0 + g.starts[$1] * inStrides[$1] }
        let strides = (0..<x.shape.rank).map { g.steps[$0] * inStrides[$0] }
        let sources = results[0].shape.elementCount == 0 ? [] : stridedIndices(results[0].shape, strides: strides, offset: offset)
        return [x.moved(sources, to: results[0])]
    }
}
