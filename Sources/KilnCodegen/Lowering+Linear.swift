import KilnIR

// Gemm and MatMul → GEMM and MATMUL (weights stay as given: the kernels read them through
// trans_a / trans_b, so no packing is needed), with the IR's fused activation as `act`.
// A constant weight that is mostly zeros (magnitude pruning) → SPARSE_GEMM instead: the
// plan keeps the dense weight, the runtime builds a CSR copy at load (`SparseChoice`).

/// When a Gemm / MatMul with a constant weight runs as SPARSE_GEMM.
///
/// Measured on the development machine (Emerald Rapids, AVX-512; Runtime
/// `build/bench-sparse`, 1 thread, thread CPU time, median of 9 alternating samples) over
/// FC shapes 784×128, 128×64, 64×64, 64×256, 256×64, 768×3072, 1024×1024 and M = 1, 4,
/// 16, 64, 256 rows, against GEMM as the runtime runs it here (Debian's OpenBLAS, which
/// detects this CPU as "Prescott" and uses SSE3 kernels): SPARSE_GEMM is faster at ≥ 60 %
/// zeros in every cell (worst ratio 0.81, 64×64 at M = 4); at 50 % the smallest layers
/// are break-even (64×64 at M = 1 and 4: 0.96). So the threshold is 60 %; weights without
/// zeros never qualify, so their plans are unchanged.
/// Caveat, measured too: with OpenBLAS's AVX-512 kernels (`OPENBLAS_CORETYPE=SKYLAKEX`)
/// dense GEMM is 4–8× faster on cache-resident layers and SPARSE_GEMM then only pays for
/// weights larger than L2 (768×3072, 1024×1024: from 30–60 % zeros at M ≤ 16, 60–70 % at
/// M = 64), never for the ≤ 400 KB layers at M ≤ 4. With such a GEMM the rule should gain
/// a minimum weight size (about 2 MiB). Runtime/PLAN_FORMAT.md (SPARSE_GEMM) and the README
/// record both tables.
enum SparseChoice {
    /// Minimum fraction of exact zeros in the weight.
    static let minZeroFraction = 0.6

    /// The fraction of f32 elements of `w` that are ±0.
    static func zeroFraction(_ w: Tensor) -> Double {
        guard w.dtype == .f32, w.count > 0 else { return 0 }
        var zeros = 0
        w.bytes.withUnsafeBytes { raw in
            for i in 0..<w.count where raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self) & 0x7FFF_FFFF == 0 {
                zeros += 1
            }
        }
        return Double(zeros) / Double(w.count)
    }

    static func pays(_ w: Tensor) -> Bool { w.type.quantization == nil && zeroFraction(w) >= minZeroFraction }
}

extension Lowerer {
    mutating func lowerGemm(_ g: Gemm, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "gemm") }
        let c = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let act = try actAttributes(g.activation, n.results[0])
        if !g.transA, let w = constant(n.operands[1]), w.shape.rank == 2, SparseChoice.pays(w),
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
        if let w = constant(n.operands[1]), w.shape.rank == 2, type(n.operands[0]).shape.rank >= 1, SparseChoice.pays(w) {
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
