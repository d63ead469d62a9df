import KilnIR

// Fused attention → ATTENTION (q, k, v, mask? → y, scratch?).

extension Lowerer {
    /// Scores of at least this many multiply-adds per (batch, head) problem (Sq·Sk·D) go
    /// through two GEMMs with an Sq×Sk scratch; smaller ones run row by row, split over
    /// the threads, with no scratch.
    static let attentionGemmThreshold = 64 * 64 * 32

    mutating func lowerAttention(_ a: Attention, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "attention") }
        let q = type(n.operands[0]).shape, k = type(n.operands[1]).shape
        let r = q.rank
        let (sq, d) = (q[r - 2], q[r - 1])
        let sk = a.kTransposed ? k[r - 1] : k[r - 2]
        if let m = n.operands.count > 3 ? n.operands[3] : nil {
            try require(type(m).shape.rank <= r, "attention: the mask's rank exceeds the scores' rank \(r)")
        }
        var results: [Int?] = [result(n.results[0])]
        if sq * sk * d >= Self.attentionGemmThreshold {
            results.append(temp("attention_scores", TensorType(.f32, [sq, sk])))
        }
        let operands: [Int?] = n.operands.map { tensor($0) }
        try emit(.attention, [.f(a.scale), .b(a.kTransposed)], operands, results)
    }
}
