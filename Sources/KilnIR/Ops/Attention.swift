import Foundation

// Fused scaled dot-product attention (made by the fuse-attention pass; no ONNX op maps to
// it directly).

/// `attention(q, k, v [, mask])`: `softmax(scale · q·kᵀ + mask) · v` over the last two axes,
/// after the heads are split. q is `[..., Sq, D]`, k is `[..., Sk, D]` (`[..., D, Sk]` when
/// `kTransposed`), v is `[..., Sk, Dv]`; the leading (batch, head) dims of q, k and v are
/// equal. The optional additive mask broadcasts (numpy rules, aligned right) to the scores
/// `[..., Sq, Sk]`. The result is `[..., Sq, Dv]`.
public struct Attention: Hashable, Sendable {
    public var scale: Float
    public var kTransposed: Bool
    public init(scale: Float, kTransposed: Bool) { self.scale = scale; self.kTransposed = kTransposed }
}

extension Attention: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 3...4, "attention")
        let (q, k, v) = (operands[0], operands[1], operands[2])
        try require(q.dtype.isFloat, "attention: q must be a float tensor, got \(q.dtype.rawValue)")
        for (t, what) in [(k, "k"), (v, "v")] {
            try require(t.dtype == q.dtype, "attention: \(what) is \(t.dtype.rawValue), q is \(q.dtype.rawValue)")
        }
        let r = q.shape.rank
        try require(r >= 2, "attention: q must have rank 2 or more, got shape \(q.shape)")
        try require(k.shape.rank == r && v.shape.rank == r,
                    "attention: q, k and v must have the same rank, got \(q.shape), \(k.shape) and \(v.shape)")
        let batch = Array(q.shape.dims.prefix(r - 2))
        try require(Array(k.shape.dims.prefix(r - 2)) == batch && Array(v.shape.dims.prefix(r - 2)) == batch,
                    "attention: q, k and v must have the same leading dims, got \(q.shape), \(k.shape) and \(v.shape)")
        let (sq, d) = (q.shape[r - 2], q.shape[r - 1])
        let (kd, sk) = kTransposed ? (k.shape[r - 2], k.shape[r - 1]) : (k.shape[r - 1], k.shape[r - 2])
        try require(kd == d, "attention: k's head size \(kd) differs from q's \(d)")
        try require(v.shape[r - 2] == sk, "attention: v has \(v.shape[r - 2]) rows, k has \(sk) keys")
        if operands.count == 4 {
            let m = operands[3]
            try require(m.dtype == q.dtype, "attention: mask is \(m.dtype.rawValue), q is \(q.dtype.rawValue)")
            let scores = Shape(batch + [sq, sk])
            try require(Shape.broadcast(m.shape, scores) == scores,
                        "attention: mask \(m.shape) does not broadcast to the scores \(scores)")
        }
        return [TensorType(q.dtype, Shape(batch + [sq, v.shape[r - 1]]))]
    }

    /// Per leading index and query row i: s_j = scale · Σ_d q[i,d]·k[j,d] + mask[i,j],
    /// p = softmax(s) (max subtracted first), y[i,:] = Σ_j p_j · v[j,:]. All in double.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let (q, k, v) = (operands[0].doubles, operands[1].doubles, operands[2].doubles)
        let qs = operands[0].shape, r = qs.rank
        let (sq, d) = (qs[r - 2], qs[r - 1])
        let sk = operands[2].shape[r - 2], dv = operands[2].shape[r - 1]
        let batch = qs.dims.prefix(r - 2).reduce(1, *)
        let scoresShape = Shape(Array(qs.dims.prefix(r - 2)) + [sq, sk])
        let mask: [Double]? = operands.count == 4 ? operands[3].doubles : nil
        let maskIndex = operands.count == 4 ? broadcastIndices(from: operands[3].shape, to: scoresShape) : []
        var y = [Double](repeating: 0, count: batch * sq * dv)
        var s = [Double](repeating: 0, count: sk)
        for b in 0..<batch {
            let (qb, kb, vb) = (b * sq * d, b * sk * d, b * sk * dv)
            for i in 0..<sq {
                for j in 0..<sk {
                    var dot = 0.0
                    for t in 0..<d {
                        let kv = kTransposed ? k[kb + t * sk + j] : k[kb + j * d + t]
                        dot += q[qb + i * d + t] * kv
                    }
                    s[j] = Double(scale) * dot + (mask.map { $0[maskIndex[(b * sq + i) * sk + j]] } ?? 0)
                }
                let m = s.max() ?? 0
                var sum = 0.0
                for j in 0..<sk { s[j] = exp(s[j] - m); sum += s[j] }
                for j in 0..<sk {
                    let p = s[j] / sum
                    for c in 0..<dv { y[(b * sq + i) * dv + c] += p * v[vb + j * dv + c] }
                }
            }
        }
        return [Tensor(results[0].dtype, results[0].shape, doubles: y)]
    }
}
