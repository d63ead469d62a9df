/// Size and cost figures of a graph: what `kiln inspect --format json` and the pass ledger
/// report.
public struct GraphStatistics: Equatable, Sendable {
    /// Node count per op mnemonic.
    public var opHistogram: [String: Int]
    /// Elements held by constant nodes (weights, biases, folded shapes).
    public var parameters: Int
    /// Bytes held by constant nodes.
    public var constantBytes: Int
    /// Estimated floating-point operations per op mnemonic (a multiply-add counts 2).
    public var flopsByOp: [String: Int]
    public var totalFlops: Int { flopsByOp.values.reduce(0, +) }
}

extension Graph {
    public var statistics: GraphStatistics {
        var hist = [String: Int]()
        var flops = [String: Int]()
        var params = 0
        var bytes = 0
        for n in nodes {
            hist[n.op.mnemonic, default: 0] += 1
            if case .constant(let t) = n.op {
                params += t.count
                bytes += t.bytes.count
            }
            let f = self.flops(of: n)
            if f > 0 { flops[n.op.mnemonic, default: 0] += f }
        }
        return GraphStatistics(opHistogram: hist, parameters: params, constantBytes: bytes, flopsByOp: flops)
    }

    /// Estimated FLOPs of one node. Algorithm: dense products count 2 per multiply-add
    /// (conv: 2·out·(C/group)·K; matmul/gemm: 2·M·N·K per batch); normalization and
    /// softmax a small constant per element; everything else one per output element;
    /// pure data movement and constants zero. A fused activation adds one per output element.
    public func flops(of node: Node) -> Int {
        let outs = node.results.map { type(of: $0).shape.elementCount }.reduce(0, +)
        return ownFlops(of: node, outputs: outs) + (node.op.fusedActivation == nil ? 0 : outs)
    }

    private func ownFlops(of node: Node, outputs outs: Int) -> Int {
        let ins = node.operands.map { type(of: $0) }
        switch node.op {
        case .constant, .reshape, .transpose, .concat, .split, .slice, .expand, .tile, .pad,
             .depthToSpace, .spaceToDepth, .identity, .gather, .gatherElements, .shapeOf, .sizeOf,
             .range, .oneHot, .trilu, .cast:
            return 0
        case .conv:
            guard ins.count >= 2 else { return 0 }
            let w = ins[1].shape.dims
            let kernel = w.dropFirst(2).reduce(1, *)
            return 2 * outs * (w.count > 1 ? w[1] : 1) * kernel
        case .qlinearConv:
            guard ins.count >= 2 else { return 0 }
            return 2 * outs * ins[1].shape.dims.dropFirst().reduce(1, *)
        case .qlinearMatMul, .dynQuantMatMul:
            guard ins.count >= 2 else { return 0 }
            return 2 * outs * ins[1].shape[0]
        case .convTranspose:
            guard ins.count >= 2 else { return 0 }
            let w = ins[1].shape.dims
            return 2 * ins[0].shape.elementCount * w.dropFirst(1).reduce(1, *)
        case .gemm(let g):
            guard ins.count >= 2, ins[0].shape.rank == 2 else { return 0 }
            let k = g.transA ? ins[0].shape[0] : ins[0].shape[1]
            return 2 * outs * k
        case .matMul:
            guard ins.count >= 2, let k = ins[0].shape.dims.last else { return 0 }
            return 2 * outs * k
        case .einsum:
            guard !ins.isEmpty else { return 0 }
            let inputElements = ins.map { $0.shape.elementCount }.max() ?? 0
            return 2 * max(outs, inputElements)
        case .pool(let p):
            return outs * p.kernel.reduce(1, *)
        case .reduce, .argReduce, .cumSum, .topK, .qlinearGlobalAveragePool:
            return ins.first?.shape.elementCount ?? 0
        case .batchNorm, .instanceNorm, .layerNorm, .groupNorm, .softmax:
            return 5 * outs
        case .lrn(let l):
            return (l.size + 3) * outs
        case .resize:
            return 4 * outs
        case .recurrent(let r):
            guard ins.count >= 3 else { return 0 }
            let gates = r.kind == .lstm ? 4 : r.kind == .gru ? 3 : 1
            let x = ins[0].shape.dims
            guard x.count == 3 else { return 0 }
            let steps = r.layout == 0 ? x[0] : x[1]
            let batch = r.layout == 0 ? x[1] : x[0]
            let h = r.hiddenSize
            return r.direction.count * steps * batch * 2 * gates * h * (x[2] + h)
        case .unary, .binary, .clip, .where, .quantizeLinear, .dequantizeLinear, .qlinearAdd, .qlinearConcat, .qlinearLookup:
            return outs
        case .dynamicQuantParams:
            return 2 * (ins.first?.shape.elementCount ?? 0)
        case .attention(let a):
            // q·kᵀ and p·v multiply-adds plus ~5 per score for scale, mask and softmax.
            guard ins.count >= 3, let d = ins[0].shape.dims.last, let dv = ins[2].shape.dims.last else { return 0 }
            let r = ins[0].shape.rank
            let sk = a.kTransposed ? ins[1].shape.dims[r - 1] : ins[1].shape.dims[r - 2]
            let scores = outs / max(dv, 1) * sk
            return scores * (2 * d + 2 * dv + 5)
        }
    }
}
