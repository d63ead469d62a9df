import KilnIR

// Einsum → REDUCE / TRANSPOSE / COPY (reshape) / MATMUL sequences.
//
// Algorithm:
// 1. Parse the equation into one label list per operand and the output labels (implicit
//    output: ellipsis axes, then the labels seen exactly once, alphabetically). Ellipsis
//    axes get labels of their own, aligned on the right.
// 2. Contract the operands left to right. For the pair (A, B), the labels to keep are those
//    of the output and of the operands still to come. A label only one side has and nobody
//    needs is summed out first (REDUCE). The rest split into batch (both sides, kept),
//    contracted k (both sides, not kept), m (A only) and n (B only). A is brought to
//    [batch, m, k] (or [batch, k, m], read with trans_a) by one TRANSPOSE if needed and
//    reshaped to [B, M, K]; B likewise to [B, K, N]; one MATMUL gives [B, M, N], seen as
//    [batch…, m…, n…].
// 3. The last term sums out what the output does not name, is transposed into the output
//    order and copied into the result.
// `bij,bjk->bik`, `bhqd,bhkd->bhqk` (trans_b, no transpose), `ij,jk->ik`, `i,i->` (a
// [1,K]·[K,1] product) all become one MATMUL plus free reshapes.
// Not supported: a label repeated within one operand (a diagonal) and a label whose sizes
// differ between operands (size-1 broadcasting).

private struct EinsumTerm {
    var tensor: Int
    var labels: [Int]
    var dims: [Int]
}

extension Lowerer {
    mutating func lowerEinsum(_ e: Einsum, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "einsum") }
        let (inputs, output) = try parseEinsum(e.equation, ranks: n.operands.map { type($0).shape.rank })
        var terms = n.operands.enumerated().map { i, v in
            EinsumTerm(tensor: tensor(v), labels: inputs[i], dims: type(v).shape.dims)
        }
        var extent = [Int: Int]()
        for t in terms {
            try require(Set(t.labels).count == t.labels.count,
                        "einsum '\(e.equation)': a subscript repeated within one operand (a diagonal) is not supported by the runtime")
            for (l, d) in zip(t.labels, t.dims) {
                if let seen = extent[l] {
                    try require(seen == d, "einsum '\(e.equation)': subscript \(labelName(l)) has sizes \(seen) and \(d); broadcasting is not supported by the runtime")
                }
                extent[l] = d
            }
        }
        for l in output {
            try require(extent[l] != nil, "einsum '\(e.equation)': output subscript \(labelName(l)) appears in no operand")
        }
        try require(Set(output).count == output.count, "einsum '\(e.equation)': an output subscript is repeated")
        var acc = terms.removeFirst()
        for (j, next) in terms.enumerated() {
            var keep = Set(output)
            for later in terms[(j + 1)...] { keep.formUnion(later.labels) }
            acc = try contract(acc, next, keep: keep, step: j)
        }
        acc = try sumOut(acc, keeping: Set(output), "einsum_sum")
        acc = try permute(acc, to: output, "einsum_out")
        program.emit(.copy, [], [acc.tensor], [result(n.results[0])])
    }

    private mutating func contract(_ a0: EinsumTerm, _ b0: EinsumTerm, keep: Set<Int>, step: Int) throws -> EinsumTerm {
        let a = try sumOut(a0, keeping: keep.union(b0.labels), "einsum_a\(step)")
        let b = try sumOut(b0, keeping: keep.union(a.labels), "einsum_b\(step)")
        let batch = a.labels.filter { b.labels.contains($0) && keep.contains($0) }
        let k = a.labels.filter { b.labels.contains($0) && !keep.contains($0) }
        let m = a.labels.filter { !b.labels.contains($0) }
        let nn = b.labels.filter { !a.labels.contains($0) }
        func size(_ t: EinsumTerm, _ ls: [Int]) -> Int { ls.map { t.dims[t.labels.firstIndex(of: $0)!] }.reduce(1, *) }
        let (bt, mm, kk, nsize) = (size(a, batch), size(a, m), size(a, k), size(b, nn))

        let transA = a.labels != batch + m + k && a.labels == batch + k + m && !m.isEmpty && !k.isEmpty
        let transB = b.labels != batch + k + nn && b.labels == batch + nn + k && !nn.isEmpty && !k.isEmpty
        let pa = try permute(a, to: transA ? batch + k + m : batch + m + k, "einsum_a\(step)_t")
        let pb = try permute(b, to: transB ? batch + nn + k : batch + k + nn, "einsum_b\(step)_t")
        let lead = batch.isEmpty ? [] : [bt]
        let ma = try reshape(pa, lead + (transA ? [kk, mm] : [mm, kk]), "einsum_a\(step)_2d")
        let mb = try reshape(pb, lead + (transB ? [nsize, kk] : [kk, nsize]), "einsum_b\(step)_2d")
        let y = temp("einsum_mm\(step)", TensorType(.f32, Shape(lead + [mm, nsize])))
        try emit(.matmul, [.b(transA), .b(transB)] + noActivation, [ma.tensor, mb.tensor], [y])
        let labels = batch + m + nn
        let dims = batch.map { a.dims[a.labels.firstIndex(of: $0)!] } + m.map { a.dims[a.labels.firstIndex(of: $0)!] }
            + nn.map { b.dims[b.labels.firstIndex(of: $0)!] }
        return try reshape(EinsumTerm(tensor: y, labels: labels, dims: lead + [mm, nsize]), dims, "einsum_mm\(step)_nd")
    }

    /// Sums over the labels of `t` not in `keeping` (REDUCE sum, dropping those axes).
    private mutating func sumOut(_ t: EinsumTerm, keeping: Set<Int>, _ name: String) throws -> EinsumTerm {
        let drop = t.labels.indices.filter { !keeping.contains(t.labels[$0]) }
        if drop.isEmpty { return t }
        let kept = t.labels.indices.filter { keeping.contains(t.labels[$0]) }
        let dims = kept.map { t.dims[$0] }
        let out = temp(name, TensorType(.f32, Shape(dims)))
        let mask = drop.reduce(Int64(0)) { $0 | (Int64(1) << Int64($1)) }
        try emit(.reduce, [.i(Int(ReduceKindCode.sum.rawValue)), .int(mask)], [t.tensor], [out])
        return EinsumTerm(tensor: out, labels: kept.map { t.labels[$0] }, dims: dims)
    }

    /// `t` with its axes in `order` (a TRANSPOSE unless already so).
    private mutating func permute(_ t: EinsumTerm, to order: [Int], _ name: String) throws -> EinsumTerm {
        if order == t.labels { return t }
        let perm = order.map { t.labels.firstIndex(of: $0)! }
        let dims = perm.map { t.dims[$0] }
        let out = temp(name, TensorType(.f32, Shape(dims)))
        try emit(.transpose, padded(perm.map(AttributeValue.i), to: 8, with: .i(0)), [t.tensor], [out])
        return EinsumTerm(tensor: out, labels: order, dims: dims)
    }

    /// `t` seen with other dims (a COPY the planner aliases); labels are the caller's.
    private mutating func reshape(_ t: EinsumTerm, _ dims: [Int], _ name: String) throws -> EinsumTerm {
        if dims == program.tensors[t.tensor].type.shape.dims { return EinsumTerm(tensor: t.tensor, labels: t.labels, dims: dims) }
        let out = temp(name, TensorType(.f32, Shape(dims)))
        program.emit(.copy, [], [t.tensor], [out])
        return EinsumTerm(tensor: out, labels: t.labels, dims: dims)
    }

    private func labelName(_ l: Int) -> String {
        l >= ellipsisLabelBase ? "…\(l - ellipsisLabelBase)" : String(UnicodeScalar(UInt8(l)))
    }
}

/// Labels of ellipsis axes: `ellipsisLabelBase + j`, right-aligned across operands.
private let ellipsisLabelBase = 1000

/// Parses `equation` for operands of the given ranks into per-operand labels and output
/// labels (letters are their ASCII codes).
private func parseEinsum(_ equation: String, ranks: [Int]) throws -> ([[Int]], [Int]) {
    let text = equation.filter { !$0.isWhitespace }
    let sides = text.components(separatedBy: "->")
    try require(sides.count <= 2, "einsum: equation '\(equation)' has more than one '->'")
    let terms = sides[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
    try require(terms.count == ranks.count, "einsum: equation '\(equation)' has \(terms.count) terms for \(ranks.count) operands")
    func letters(_ term: String) throws -> (before: [Int], after: [Int], ellipsis: Bool) {
        let parts = term.components(separatedBy: "...")
        try require(parts.count <= 2, "einsum: term '\(term)' has more than one ellipsis")
        let codes = try parts.map { p in
            try p.unicodeScalars.map { c -> Int in
                try require(c.properties.isAlphabetic && c.isASCII, "einsum: '\(c)' in '\(equation)' is not a letter")
                return Int(c.value)
            }
        }
        return (codes[0], parts.count == 2 ? codes[1] : [], parts.count == 2)
    }
    let parsed = try terms.map(letters)
    var ellipsisRank = 0
    for (p, rank) in zip(parsed, ranks) {
        let named = p.before.count + p.after.count
        try require(p.ellipsis ? named <= rank : named == rank,
                    "einsum: term with \(named) subscripts for an operand of rank \(rank) in '\(equation)'")
        if p.ellipsis { ellipsisRank = max(ellipsisRank, rank - named) }
    }
    let inputs = zip(parsed, ranks).map { p, rank -> [Int] in
        let e = p.ellipsis ? rank - p.before.count - p.after.count : 0
        return p.before + (0..<e).map { ellipsisLabelBase + ellipsisRank - e + $0 } + p.after
    }
    let allEllipsis = (0..<ellipsisRank).map { ellipsisLabelBase + $0 }
    if sides.count == 2 {
        let out = try letters(sides[1])
        return (inputs, out.before + (out.ellipsis ? allEllipsis : []) + out.after)
    }
    var counts = [Int: Int]()
    for l in parsed.flatMap({ $0.before + $0.after }) { counts[l, default: 0] += 1 }
    return (inputs, allEllipsis + counts.keys.filter { counts[$0] == 1 }.sorted())
}
