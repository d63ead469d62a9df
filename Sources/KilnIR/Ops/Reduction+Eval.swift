// Reference evaluation of reductions and ops along one axis. Floats accumulate in Double;
// integers in Int64 with wrapping arithmetic.

import Foundation

extension Softmax {
    /// Along the axis: m = max, s = Σ e^(x-m); softmax = e^(x-m) / s, log-softmax = x - m - log s.
    func evaluateSoftmax(_ x: Tensor, axis: Int) -> Tensor {
        let (outer, n, inner) = axisSplit(x.shape, axis)
        var v = x.doubles
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var m = -Double.infinity
                for j in 0..<n { m = max(m, v[base + j * inner]) }
                var s = 0.0
                for j in 0..<n { s += exp(v[base + j * inner] - m) }
                for j in 0..<n {
                    let at = base + j * inner
                    v[at] = log ? v[at] - m - Foundation.log(s) : exp(v[at] - m) / s
                }
            }
        }
        return Tensor(x.dtype, x.shape, doubles: v)
    }
}

extension Reduce {
    /// Algorithm: map every input element to its output element with a strided walk
    /// (stride 0 along reduced axes), then fold each group in input order.
    func evaluateReduce(_ x: Tensor, _ result: TensorType) -> Tensor {
        let keptShape = Shape((0..<x.shape.rank).map { axes.contains($0) ? 1 : x.shape.dims[$0] })
        let keptStrides = keptShape.strides
        let strides = (0..<x.shape.rank).map { axes.contains($0) ? 0 : keptStrides[$0] }
        let group = x.count == 0 ? [] : stridedIndices(x.shape, strides: strides)
        let outCount = result.shape.elementCount
        let groupSize = outCount == 0 ? 0 : x.count / outCount
        if x.dtype.isFloat || !exactOnIntegers {
            let v = x.doubles
            var acc = [Double](repeating: initialDouble, count: outCount)
            if kind == .logSumExp {
                // Shift by the group maximum so exp cannot overflow.
                var m = [Double](repeating: -.infinity, count: outCount)
                for i in 0..<v.count { m[group[i]] = max(m[group[i]], v[i]) }
                for i in 0..<v.count { acc[group[i]] += exp(v[i] - m[group[i]]) }
                let out = (0..<outCount).map { m[$0].isFinite ? m[$0] + log(acc[$0]) : m[$0] }
                return Tensor(result.dtype, result.shape, doubles: out)
            }
            for i in 0..<v.count { acc[group[i]] = fold(acc[group[i]], v[i]) }
            return Tensor(result.dtype, result.shape, doubles: acc.map { finish($0, groupSize) })
        }
        let v = x.int64s
        let range = x.dtype.integerRange
        let start: Int64 = kind == .max ? range.min : (kind == .min ? range.max : (kind == .prod ? 1 : 0))
        var acc = [Int64](repeating: start, count: outCount)
        for i in 0..<v.count {
            let (a, e) = (acc[group[i]], v[i])
            switch kind {
            case .max: acc[group[i]] = max(a, e)
            case .min: acc[group[i]] = min(a, e)
            case .prod: acc[group[i]] = a &* e
            case .l1: acc[group[i]] = a &+ (e < 0 ? 0 &- e : e)
            case .sumSquare: acc[group[i]] = a &+ e &* e
            case .sum, .mean, .l2, .logSum, .logSumExp: acc[group[i]] = a &+ e
            }
        }
        if kind == .mean { acc = acc.map { groupSize == 0 ? 0 : $0 / Int64(groupSize) } }
        return Tensor(result.dtype, result.shape, int64s: acc)
    }

    /// Kinds computed exactly in Int64 for integer operands (the others go through Double
    /// and truncate, as a cast of the float result would).
    private var exactOnIntegers: Bool {
        switch kind {
        case .sum, .mean, .max, .min, .prod, .l1, .sumSquare: return true
        case .l2, .logSum, .logSumExp: return false
        }
    }

    /// The value of an empty reduction: 0, 1 for prod, -inf for max, +inf for min.
    private var initialDouble: Double {
        switch kind {
        case .max: return -.infinity
        case .min: return .infinity
        case .prod: return 1
        case .sum, .mean, .l1, .l2, .sumSquare, .logSum, .logSumExp: return 0
        }
    }

    private func fold(_ acc: Double, _ v: Double) -> Double {
        switch kind {
        case .sum, .mean, .logSum, .logSumExp: return acc + v
        case .max: return acc.isNaN || v.isNaN ? .nan : max(acc, v)
        case .min: return acc.isNaN || v.isNaN ? .nan : min(acc, v)
        case .prod: return acc * v
        case .l1: return acc + abs(v)
        case .l2, .sumSquare: return acc + v * v
        }
    }

    private func finish(_ acc: Double, _ count: Int) -> Double {
        switch kind {
        case .mean: return acc / Double(count)
        case .l2: return acc.squareRoot()
        case .logSum: return log(acc)
        case .sum, .max, .min, .prod, .l1, .sumSquare, .logSumExp: return acc
        }
    }
}

/// "a ranks above b" for sorting and arg-reductions: NaN ranks above every number.
private func ranksAbove(_ a: Double, _ b: Double) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && !b.isNaN }
    return a > b
}

extension ArgReduce {
    /// The first (or last, with `selectLastIndex`) position of the extreme value along the
    /// axis; NaN counts as the extreme for both arg_max and arg_min, as in numpy.
    func evaluateArgReduce(_ x: Tensor, axis: Int) -> [Int64] {
        if x.dtype.isFloat {
            let v = x.doubles
            return argIndices(v, x.shape, axis) { a, b in
                a.isNaN || b.isNaN ? a.isNaN && !b.isNaN : (isMax ? a > b : a < b)
            }
        }
        if x.dtype == .u64 { return argIndices(x.uint64s, x.shape, axis) { isMax ? $0 > $1 : $0 < $1 } }
        return argIndices(x.int64s, x.shape, axis) { isMax ? $0 > $1 : $0 < $1 }
    }

    private func argIndices<T>(_ v: [T], _ shape: Shape, _ axis: Int, better: (T, T) -> Bool) -> [Int64] {
        let (outer, n, inner) = axisSplit(shape, axis)
        var out = [Int64]()
        out.reserveCapacity(outer * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * n * inner + i
                var best = 0
                for j in 1..<max(n, 1) {
                    let (e, b) = (v[base + j * inner], v[base + best * inner])
                    if better(e, b) || (selectLastIndex && !better(b, e)) { best = j }  // a tie moves to the last
                }
                out.append(Int64(best))
            }
        }
        return out
    }
}

extension CumSum {
    func evaluateCumSum(_ x: Tensor, axis: Int) -> Tensor {
        let (outer, n, inner) = axisSplit(x.shape, axis)
        let order = reverse ? Array((0..<n).reversed()) : Array(0..<n)
        if x.dtype.isFloat {
            var v = x.doubles
            for o in 0..<outer {
                for i in 0..<inner {
                    var acc = 0.0
                    for j in order {
                        let at = (o * n + j) * inner + i
                        let e = v[at]
                        v[at] = exclusive ? acc : acc + e
                        acc += e
                    }
                }
            }
            return Tensor(x.dtype, x.shape, doubles: v)
        }
        var v = x.int64s
        for o in 0..<outer {
            for i in 0..<inner {
                var acc: Int64 = 0
                for j in order {
                    let at = (o * n + j) * inner + i
                    let e = v[at]
                    v[at] = exclusive ? acc : acc &+ e
                    acc = acc &+ e
                }
            }
        }
        return Tensor(x.dtype, x.shape, int64s: v)
    }
}

extension TopK {
    /// For each slice along the axis: positions sorted by value (descending for largest,
    /// ascending otherwise; NaN ranks highest), ties by lower position; the first k kept.
    /// Returns flat source indices of the values and the positions as indices.
    func evaluateTopK(_ x: Tensor, axis: Int) -> (sources: [Int], indices: [Int64]) {
        if x.dtype.isFloat { return topK(x.doubles, x.shape, axis, above: ranksAbove) }
        if x.dtype == .u64 { return topK(x.uint64s, x.shape, axis, above: { $0 > $1 }) }
        return topK(x.int64s, x.shape, axis, above: { $0 > $1 })
    }

    private func topK<T>(_ v: [T], _ shape: Shape, _ axis: Int, above: (T, T) -> Bool) -> (sources: [Int], indices: [Int64]) {
        let (outer, n, inner) = axisSplit(shape, axis)
        var sources = [Int](repeating: 0, count: outer * k * inner)
        var indices = [Int64](repeating: 0, count: outer * k * inner)
        for o in 0..<outer {
            for i in 0..<inner {
                let at = { (j: Int) in (o * n + j) * inner + i }
                let order = (0..<n).sorted { p, q in
                    let (a, b) = largest ? (v[at(p)], v[at(q)]) : (v[at(q)], v[at(p)])
                    return above(a, b) || (!above(b, a) && p < q)
                }
                for r in 0..<k {
                    let out = (o * k + r) * inner + i
                    sources[out] = at(order[r])
                    indices[out] = Int64(order[r])
                }
            }
        }
        return (sources, indices)
    }
}
