// Linear algebra: Gemm, MatMul (numpy batched semantics), Einsum.

/// Gemm: `alpha * A' * B' + beta * C`, operands A [M,K] (or [K,M]), B, optional C
/// (unidirectionally broadcast to [M,N]).
public struct Gemm: Hashable, Sendable {
    public var alpha: Float
    public var beta: Float
    public var transA: Bool
    public var transB: Bool
    /// Applied to the result inside the op (set by fuse-activation); nil = none.
    public var activation: FusedActivation?
    public init(alpha: Float, beta: Float, transA: Bool, transB: Bool, activation: FusedActivation? = nil) {
        self.alpha = alpha; self.beta = beta; self.transA = transA; self.transB = transB
        self.activation = activation
    }
}

/// MatMul with numpy semantics (1-D operands promoted and the added dim removed,
/// batch dims broadcast).
public struct MatMul: Hashable, Sendable {
    /// Applied to the result inside the op (set by fuse-activation); nil = none.
    public var activation: FusedActivation?
    public init(activation: FusedActivation? = nil) { self.activation = activation }
}

/// Einsum over explicit or implicit equations (e.g. `bhqd,bhkd->bhqk`).
public struct Einsum: Hashable, Sendable {
    public var equation: String
    public init(equation: String) { self.equation = equation }
}

// MARK: - Gemm

extension Gemm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "gemm")
        let a = operands[0], b = operands[1]
        try checkLinearDType("gemm", operands)
        try require(a.shape.rank == 2 && b.shape.rank == 2, "gemm: operands must be matrices, got \(a.shape) and \(b.shape)")
        let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
        let (k2, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        try require(k == k2, "gemm: inner dimensions differ: A' is [\(m),\(k)] and B' is [\(k2),\(n)]")
        if operands.count == 3 {
            try require(broadcastsUnidirectionally(operands[2].shape, to: [m, n]),
                        "gemm: C \(operands[2].shape) does not broadcast to [\(m),\(n)]")
        }
        return [TensorType(a.dtype, [m, n])]
    }

    /// y = alpha * A' B' + beta * C: the transposes are materialized row-major, the product
    /// accumulates in Double (Int64 for integer types, then scaled in Double).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let a = operands[0], b = operands[1], out = results[0]
        let m = out.shape[0], n = out.shape[1]
        let k = transA ? a.shape[0] : a.shape[1]
        let cIndex = operands.count == 3 ? operands[2].shape.broadcastSourceIndices(to: out.shape) : []
        let product: [Double]
        let c: [Double]
        if a.dtype.isFloat {
            let am = transA ? transposed(a.doubles, rows: k, cols: m) : a.doubles
            let bm = transB ? transposed(b.doubles, rows: n, cols: k) : b.doubles
            var acc = [Double](repeating: 0, count: m * n)
            multiplyAccumulate(am, 0, bm, 0, into: &acc, 0, m: m, k: k, n: n)
            product = acc
            c = operands.count == 3 ? operands[2].doubles : []
        } else {
            let am = transA ? transposed(a.int64s, rows: k, cols: m) : a.int64s
            let bm = transB ? transposed(b.int64s, rows: n, cols: k) : b.int64s
            var acc = [Int64](repeating: 0, count: m * n)
            multiplyAccumulate(am, 0, bm, 0, into: &acc, 0, m: m, k: k, n: n)
            product = acc.map(Double.init)
            c = operands.count == 3 ? operands[2].int64s.map(Double.init) : []
        }
        let alpha = Double(self.alpha), beta = Double(self.beta)
        var y = product.map { alpha * $0 }
        if !c.isEmpty {
            for i in 0..<y.count { y[i] += beta * c[cIndex[i]] }
        }
        return [Tensor(out.dtype, out.shape, doubles: y)]
    }
}

// MARK: - MatMul

extension MatMul: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...2, "mat_mul")
        try checkLinearDType("mat_mul", operands)
        let (a, b) = (operands[0].shape, operands[1].shape)
        try require(a.rank >= 1 && b.rank >= 1, "mat_mul: operands must have rank 1 or more, got \(a) and \(b)")
        let p = MatMulPlan(a, b)
        try require(p.k == p.kB, "mat_mul: inner dimensions differ: \(a) × \(b)")
        guard let batch = Shape.broadcast(p.aBatch, p.bBatch) else {
            throw KilnError("mat_mul: batch dimensions of \(a) and \(b) do not broadcast")
        }
        var out = batch.dims
        if a.rank > 1 { out.append(p.m) }
        if b.rank > 1 { out.append(p.n) }
        return [TensorType(operands[0].dtype, Shape(out))]
    }

    /// Numpy matmul: 1-D operands become [1,K] / [K,1]; each broadcast batch index
    /// multiplies the corresponding matrices of A and B (Double, or wrapping Int64 for
    /// integer types).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let a = operands[0], b = operands[1], out = results[0]
        let p = MatMulPlan(a.shape, b.shape)
        let batch = Shape.broadcast(p.aBatch, p.bBatch) ?? []
        let aIndex = p.aBatch.broadcastSourceIndices(to: batch)
        let bIndex = p.bBatch.broadcastSourceIndices(to: batch)
        let (m, k, n) = (p.m, p.k, p.n)
        if a.dtype.isFloat {
            let av = a.doubles, bv = b.doubles
            var y = [Double](repeating: 0, count: out.shape.elementCount)
            for t in 0..<batch.elementCount {
                multiplyAccumulate(av, aIndex[t] * m * k, bv, bIndex[t] * k * n, into: &y, t * m * n, m: m, k: k, n: n)
            }
            return [Tensor(out.dtype, out.shape, doubles: y)]
        }
        let av = a.int64s, bv = b.int64s
        var y = [Int64](repeating: 0, count: out.shape.elementCount)
        for t in 0..<batch.elementCount {
            multiplyAccumulate(av, aIndex[t] * m * k, bv, bIndex[t] * k * n, into: &y, t * m * n, m: m, k: k, n: n)
        }
        return [Tensor(out.dtype, out.shape, int64s: y)]
    }
}

/// MatMul operand shapes with 1-D operands promoted to matrices.
private struct MatMulPlan {
    var aBatch: Shape, bBatch: Shape
    var m: Int, k: Int, kB: Int, n: Int

    init(_ a: Shape, _ b: Shape) {
        let ad = a.rank == 1 ? [1, a[0]] : a.dims
        let bd = b.rank == 1 ? [b[0], 1] : b.dims
        aBatch = Shape(Array(ad.dropLast(2)))
        bBatch = Shape(Array(bd.dropLast(2)))
        (m, k) = (ad[ad.count - 2], ad[ad.count - 1])
        (kB, n) = (bd[bd.count - 2], bd[bd.count - 1])
    }
}

// MARK: - Helpers

/// Operands of gemm / mat_mul / einsum share one numeric (non-bool) dtype.
func checkLinearDType(_ op: String, _ operands: [TensorType]) throws {
    let dtype = operands[0].dtype
    try require(dtype.isFloat || dtype.isInteger, "\(op): operands must be numeric, got \(dtype.rawValue)")
    for (i, t) in operands.enumerated() where t.dtype != dtype {
        throw KilnError("\(op): operand #\(i) has dtype \(t.dtype.rawValue), expected \(dtype.rawValue) like operand #0")
    }
}

/// Row-major transpose of a `rows × cols` matrix.
private func transposed<T>(_ v: [T], rows: Int, cols: Int) -> [T] {
    var out = v
    for r in 0..<rows {
        for c in 0..<cols { out[c * rows + r] = v[r * cols + c] }
    }
    return out
}

/// `y[yOff..] += a[aOff..] (m×k) · b[bOff..] (k×n)`, all row-major; i-k-j order so the
/// inner loop runs along contiguous rows of b and y.
private func multiplyAccumulate(_ a: [Double], _ aOff: Int, _ b: [Double], _ bOff: Int,
                                into y: inout [Double], _ yOff: Int, m: Int, k: Int, n: Int) {
    a.withUnsafeBufferPointer { ap in
    b.withUnsafeBufferPointer { bp in
    y.withUnsafeMutableBufferPointer { yp in
        for i in 0..<m {
            let yRow = yOff + i * n
            for p in 0..<k {
                let v = ap[aOff + i * k + p]
                let bRow = bOff + p * n
                for j in 0..<n { yp[yRow + j] += v * bp[bRow + j] }
            }
        }
    }
    }
    }
}

/// Integer version of `multiplyAccumulate`, wrapping on overflow like a C kernel.
private func multiplyAccumulate(_ a: [Int64], _ aOff: Int, _ b: [Int64], _ bOff: Int,
                                into y: inout [Int64], _ yOff: Int, m: Int, k: Int, n: Int) {
    for i in 0..<m {
        let yRow = yOff + i * n
        for p in 0..<k {
            let v = a[aOff + i * k + p]
            let bRow = bOff + p * n
            for j in 0..<n { y[yRow + j] = y[yRow + j] &+ v &* b[bRow + j] }
        }
    }
}
