import KilnIR

// Gemm and MatMul → GEMM and MATMUL (weights stay as given: the kernels read them through
// trans_a / trans_b, so no packing is needed), with the IR's fused activation as `act`.
// A constant weight that is mostly zeros (magnitude pruning) → SPARSE_GEMM instead: the
// plan keeps the dense weight, the runtime builds a CSR copy at load (`SparseChoice`).

/// When a Gemm / MatMul with a constant weight runs as SPARSE_GEMM.
///
/// Measured on the development machine (Emerald Rapids, AVX-512; Runtime
/// `build/bench-sparse`, 1 thread, thread CPU time, median of 9 alternating samples;
/// table in README) against dense GEMM as the runtime runs it: the blocked AVX-512/AVX2
/// GEMM (`gemm_blocked.c`) for M ≥ 5 rows, GEMV / `gemm_small.c` for fewer. Break-even
/// zero fractions: M = 1: 784×128 90 %, 768×3072 and 1024×1024 70 %; M = 4: 784×128 95 %,
/// 768×3072 30 %, 1024² 60 %; M = 16: 784×128 50 %, large 30 %; M = 64: 784×128 70 %,
/// 768×3072 50 %, 1024² 60 %; weights under 64K elements 60–80 % at M ≥ 16 and never (or
/// 95 %) at M ≤ 4. Hence (`minZeroFraction`):
/// - M ≤ 4 rows: ≥ 70 % zeros for weights of ≥ 512K elements, else ≥ 95 %;
/// - M ≥ 5 rows: ≥ 70 % zeros for weights of ≥ 96K elements, else ≥ 80 %.
/// A weight pruned at exactly the threshold (`--prune magnitude=F` zeroes ⌊F·n⌋) counts.
/// Weights without zeros never qualify, so their plans are unchanged. (The first version
/// chose sparse at ≥ 60 % everywhere, measured against Debian's OpenBLAS, which runs its
/// SSE3 "Prescott" kernels on this CPU and was 3–5× slower than the blocked GEMM.)
enum SparseChoice {
    /// Minimum fraction of exact zeros in a weight of `elements` elements multiplied with
    /// `rows` rows of activations.
    static func minZeroFraction(elements: Int, rows: Int) -> Double {
        if rows <= 4 { return elements >= 512 * 1024 ? 0.7 : 0.95 }
        return elements >= 96 * 1024 ? 0.7 : 0.8
    }

    /// The number of f32 elements of `w` that are ±0.
    static func zeroCount(_ w: Tensor) -> Int {
        guard w.dtype == .f32 else { return 0 }
        var zeros = 0
        w.bytes.withUnsafeBytes { raw in
            for i in 0..<w.count where raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7FFF_FFFF == 0 {
                zeros += 1
            }
        }
        return zeros
    }

    static func pays(_ w: Tensor, rows: Int) -> Bool {
        guard w.type.quantization == nil, w.count > 0 else { return false }
        let need = minZeroFraction(elements: w.count, rows: rows)
        // ⌊F·n⌋ zeros from pruning at exactly F count as F.
        return zeroCount(w) >= Int((need * Double(w.count)).rounded(.down))
    }
}

extension Lowerer {
    mutating func lowerGemm(_ g: Gemm, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "gemm") }
        let c = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let act = try actAttributes(g.activation, n.results[0])
        if !g.transA, let w = constant(n.operands[1]), w.shape.rank == 2,
           SparseChoice.pays(w, rows: type(n.operands[0]).shape.dims.first ?? 1),
           n.operands.count < 3 || biasIsRow(n.operands[2], columns: g.transB ? w.shape[0] : w.shape[1]) {
            try emit(.sparseGemm, [.b(g.transB), .f(g.alpha), .f(g.beta)] + act,
                     [tensor(n.operands[0]), tensor(n.operands[1]), c], [result(n.results[0])])
            return
        }
        try emit(.gemm, [.b(g.transA), .b(g.transB), .f(g.alpha), .f(g.beta)] + act,
                 [tensor(n.operands[0]), tensor(n.operands[1]), c], [result(n.results[0])])
    }

    mutating func lowerMatMul(_ m: MatMul, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "mat_mul") }
        let act = try actAttributes(m.activation, n.results[0])
        if let w = constant(n.operands[1]), w.shape.rank == 2, type(n.operands[0]).shape.rank >= 1,
           SparseChoice.pays(w, rows: type(n.operands[0]).shape.dims.dropLast().reduce(1, *)) {
            try emit(.sparseGemm, [.b(false), .f(1), .f(1)] + act, [tensor(n.operands[0]), tensor(n.operands[1]), nil],
                     [result(n.results[0])])
            return
        }
        try emit(.matmul, [.b(false), .b(false)] + act, n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    /// SPARSE_GEMM's C: one value, or N values along the last axis (rank ≤ 2).
    private func biasIsRow(_ v: ValueID, columns: Int) -> Bool {
        let s = type(v).shape
        guard s.rank <= 2 else { return false }
        let count = s.dims.reduce(1, *)
        return count == 1 || (count == columns && s.dims.last == columns)
    }
}
