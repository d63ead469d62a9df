import KilnIR

// MaxPool, AveragePool, LpPool and the global pools (which import as reductions over the
// spatial axes with kept dims).

extension NodeContext {
    /// MaxPool; the optional Indices output is composed when used (`maxPoolIndices`).
    func maxPool() throws -> [ValueID?] {
        let (x, op) = try poolOp(.max)
        let y = try emit1(.pool(op), [x])
        guard outputUsed(1) else { return [y] }
        let storageOrder = try attr.int("storage_order", default: 0)
        try require(storageOrder == 0 || storageOrder == 1, "attribute 'storage_order' = \(storageOrder) must be 0 or 1")
        return [y, try maxPoolIndices(x, op, output: type(y).shape, storageOrder: storageOrder)]
    }

    func averagePool() throws -> [ValueID?] { try pool(.average) }

    func lpPool() throws -> [ValueID?] {
        let p = try legacyLpPoolP() ?? attr.int("p", default: 2)
        try require(p >= 1, "attribute 'p' = \(p) must be positive")
        return try pool(.lp(p: p))
    }

    private func pool(_ kind: PoolKind) throws -> [ValueID?] {
        let (x, op) = try poolOp(kind)
        return [try emit1(.pool(op), [x])]
    }

    /// The input and the pool op with its window geometry resolved from the attributes.
    private func poolOp(_ kind: PoolKind) throws -> (ValueID, Pool) {
        let x = try input(0)
        let dims = type(x).shape.dims
        try require(dims.count >= 3, "X must have rank 3 or more (N, C, spatial…), got \(type(x).shape)")
        let n = dims.count - 2
        guard let kernel = try attr.ints("kernel_shape") else { throw KilnError("attribute 'kernel_shape' is missing") }
        try require(kernel.count == n && kernel.allSatisfy { $0 >= 1 }, "attribute 'kernel_shape' \(kernel) must have \(n) positive entries")
        let strides = try spatialList("strides", n)
        let dilations = try spatialList("dilations", n)
        let pads = try resolvePads(input: Array(dims[2...]), kernel: kernel, strides: strides, dilations: dilations)
        let op = Pool(kind: kind, kernel: kernel, strides: strides, pads: pads, dilations: dilations,
                      ceilMode: try attr.bool("ceil_mode", default: false),
                      countIncludePad: try attr.bool("count_include_pad", default: false))
        return (x, op)
    }

    func globalAveragePool() throws -> [ValueID?] { try globalPool(.mean) }
    func globalMaxPool() throws -> [ValueID?] { try globalPool(.max) }

    /// GlobalLpPool: p = 2 is an L2 reduction, p = 1 an L1 reduction.
    func globalLpPool() throws -> [ValueID?] {
        let p = try legacyLpPoolP() ?? attr.int("p", default: 2)
        switch p {
        case 1: return try globalPool(.l1)
        case 2: return try globalPool(.l2)
        default: throw attr.invalid("p", "= \(p) is not supported (Kiln supports p = 1 and p = 2)")
        }
    }

    private func globalPool(_ kind: ReduceKind) throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        try require(rank >= 3, "X must have rank 3 or more (N, C, spatial…), got \(type(x).shape)")
        return [try emit1(.reduce(Reduce(kind: kind, axes: Array(2..<rank), keepDims: true)), [x])]
    }
}
