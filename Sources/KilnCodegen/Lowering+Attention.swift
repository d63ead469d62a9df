import KilnIR

// Fused attention → ATTENTION (q, k, v, mask? → y, scratch?).

extension Lowerer {
    /// Always with the Sq×Sk scratch, so the runtime takes its two-GEMM path: measured
    /// faster than the row-by-row path at every size tried (transformer_tiny's 4 heads of
    /// 16×16 up to 12 heads of 128×64), with OpenBLAS and with the portable GEMM.
    mutating func lowerAttention(_ a: Attention, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "attention") }
        let q = type(n.operands[0]).shape, k = type(n.operands[1]).shape
        let r = q.rank
        let sq = q[r - 2]
        let sk = a.kTransposed ? k[r - 1] : k[r - 2]
        let results: [Int?] = [result(n.results[0]), temp("attention_scores", TensorType(.f32, [sq, sk]))]
        let operands: [Int?] = n.operands.map { tensor($0) }
        try emit(.attention, [.f(a.scale), .b(a.kTransposed)], operands, results)
    }
}
