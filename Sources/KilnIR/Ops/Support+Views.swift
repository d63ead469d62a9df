// Index helpers shared by data-movement and elementwise evaluation: flat source indices
// of strided, broadcast and per-axis-mapped views, computed without per-element division.

/// For each element of `shape` (row-major), the sum over axes of `tables[axis][i_axis]`.
/// With `missing`, tables hold non-negative entries or -1, and an element that uses any -1
/// entry gets -1 (a "missing" element, e.g. padding); otherwise entries may be any integers.
/// `tables[axis].count` must equal `shape.dims[axis]`.
///
/// Algorithm: expand axis by axis. Start from the single partial sum [0]; for each axis,
/// combine every partial sum with every entry of that axis's table (outer order first),
/// so the last step writes one sum per output element and no element needs a division.
func tableIndices(_ shape: Shape, _ tables: [[Int]], missing: Bool = false) -> [Int] {
    precondition(tables.count == shape.rank, "one index table per axis")
    var sums = [0]
    for (axis, table) in tables.enumerated() {
        precondition(table.count == shape.dims[axis], "index table length must equal the dim")
        var next = [Int]()
        next.reserveCapacity(sums.count * table.count)
        for s in sums {
            if !missing {
                for t in table { next.append(s + t) }
            } else if s < 0 {
                next.append(contentsOf: repeatElement(-1, count: table.count))
            } else {
                for t in table { next.append(t < 0 ? -1 : s + t) }
            }
        }
        sums = next
    }
    return sums
}

/// Flat indices of a strided view: element `i` of `shape` reads
/// `offset + Σ i[axis] * strides[axis]` (strides may be 0 or negative).
func stridedIndices(_ shape: Shape, strides: [Int], offset: Int = 0) -> [Int] {
    precondition(strides.count == shape.rank, "one stride per axis")
    if shape.rank == 0 { return [offset] }
    var tables = (0..<shape.rank).map { axis in (0..<shape.dims[axis]).map { $0 * strides[axis] } }
    tables[0] = tables[0].map { $0 + offset }
    return tableIndices(shape, tables)
}

/// For each element of `target`, the flat index of the element of `source` that numpy
/// broadcasting maps to it. `source` must broadcast to `target`.
func broadcastIndices(from source: Shape, to target: Shape) -> [Int] {
    if source == target { return Array(0..<target.elementCount) }
    let offset = target.rank - source.rank
    let srcStrides = source.strides
    let strides = (0..<target.rank).map { axis -> Int in
        let a = axis - offset
        return a < 0 || source.dims[a] == 1 ? 0 : srcStrides[a]
    }
    return stridedIndices(target, strides: strides)
}

/// Normalizes `axis` (which may be negative) against `rank`, or throws naming `what`.
func normalizeAxis(_ axis: Int, rank: Int, _ what: String) throws -> Int {
    let a = axis < 0 ? axis + rank : axis
    try require(a >= 0 && a < rank, "\(what): axis \(axis) is out of range for rank \(rank)")
    return a
}

/// Products of the dims before `axis`, at `axis` and after it: the (outer, n, inner)
/// view used by ops that work along one axis. Element (o, j, i) is at `(o * n + j) * inner + i`.
func axisSplit(_ shape: Shape, _ axis: Int) -> (outer: Int, n: Int, inner: Int) {
    let outer = shape.dims[..<axis].reduce(1, *)
    let inner = shape.dims[(axis + 1)...].reduce(1, *)
    return (outer, shape.dims[axis], inner)
}

extension Tensor {
    /// `picking(_:shape:fill:)` with the result's full type (dtype must match; quantization
    /// taken from `type`).
    func moved(_ sources: [Int], to type: TensorType, fill: Tensor? = nil) -> Tensor {
        var t = picking(sources, shape: type.shape, fill: fill)
        t.type = type
        return t
    }

    /// Elements as UInt64 bit patterns of their Int64 value (exact for u64 storage).
    var uint64s: [UInt64] { int64s.map { UInt64(bitPattern: $0) } }
}

extension DType {
    /// Numeric (not bool) element type.
    var isNumeric: Bool { self != .bool }
}
