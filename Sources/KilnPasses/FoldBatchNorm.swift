import KilnIR

/// fold-batchnorm: folds an inference BatchNormalization into the Conv, ConvTranspose or
/// Gemm that feeds it, by rescaling the weights and bias per output channel.
///
///     %c = conv(%x, %w, %b) {…} : f32[1,16,32,32]
///     %y = batch_norm(%c, %scale, %shift, %mean, %var) {epsilon = 1e-05} : f32[1,16,32,32]
///   becomes
///     %y = conv(%x, %w', %b') {…} : f32[1,16,32,32]
///
/// Algorithm: with s = scale / sqrt(var + epsilon) per output channel o,
/// w'[o] = w[o] · s[o] and b'[o] = (b[o] − mean[o]) · s[o] + shift[o]. For ConvTranspose
/// the output channel of weight [C, M/group, …] entry (c, m) is group(c)·M/group + m; for
/// Gemm (output [N, C]) the scaled weights are B's output columns (rows when trans_b) and
/// the new bias is (beta·C − mean) · s + shift with beta = 1.
/// Precondition: verified graph; the producer's result feeds only this BatchNormalization
/// and the producer has no fused activation (the BN would have to come before it);
/// weights, bias and the four BN operands are constants. Guarantees: the same outputs up
/// to float rounding (the ledger reports the drift). A BatchNormalization that cannot be
/// folded stays and the runtime runs it as a per-channel scale and shift.
/// The pass also folds a per-channel constant Mul/Add after a conv (BatchNormalization
/// written as elementwise ops; `FoldChannelAffinePattern`).
public struct FoldBatchNorm: Pass {
    public init() {}
    public var name: String { "fold-batchnorm" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FoldBatchNormPattern(), FoldChannelAffinePattern()], to: &graph)
    }
}

struct FoldBatchNormPattern: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .batchNorm(let bn) = node.op, node.operands.count == 5,
              let producer = r.producer(of: node.operands[0]), r.useCount(node.operands[0]) == 1,
              producer.op.fusedActivation == nil,
              !r.isGraphOutput(node.operands[0]),
              let scale = r.constant(node.operands[1])?.doubles, let shift = r.constant(node.operands[2])?.doubles,
              let mean = r.constant(node.operands[3])?.doubles, let variance = r.constant(node.operands[4])?.doubles
        else { return nil }
        let s = zip(scale, variance).map { $0 / (($1 + Double(bn.epsilon))).squareRoot() }
        let channels = s.count
        let resultType = r.type(of: node.results[0])
        guard resultType.dtype.isFloat else { return nil }

        func newBias(_ old: [Double]) -> [Double] {
            (0..<channels).map { (old[$0] - mean[$0]) * s[$0] + shift[$0] }
        }
        func constant(_ values: [Double], like t: Tensor, name: String) throws -> ValueID {
            try r.create1(.constant(Tensor(t.dtype, t.shape, doubles: values)), [], name: name)
        }

        if case .conv(let c) = producer.op {
            guard let w = r.constant(producer.operands[1]), w.shape[0] == channels else { return nil }
            let perChannel = w.count / channels
            let weights = w.doubles.enumerated().map { i, v in v * s[i / perChannel] }
            let bias = producer.operands.count > 2 ? r.constant(producer.operands[2])?.doubles : [Double](repeating: 0, count: channels)
            guard let bias else { return nil }
            let wv = try constant(weights, like: w, name: r.graph[producer.operands[1]].name + ".bnfolded")
            let bv = try r.create1(.constant(Tensor(w.dtype, [channels], doubles: newBias(bias))), [],
                                   name: r.graph[node.operands[0]].name + ".bias")
            return [try r.create1(.conv(c), [producer.operands[0], wv, bv], nodeName: producer.name)]
        }
        if case .convTranspose(let c) = producer.op {
            guard let w = r.constant(producer.operands[1]), w.shape.rank >= 2,
                  w.shape[1] * c.group == channels else { return nil }
            let perGroupIn = w.shape[0] / c.group
            let outPerGroup = w.shape[1]
            let kernel = w.shape.dims.dropFirst(2).reduce(1, *)
            let weights = w.doubles.enumerated().map { i, v -> Double in
                let cin = i / (outPerGroup * kernel)
                let m = (i / kernel) % outPerGroup
                return v * s[(cin / perGroupIn) * outPerGroup + m]
            }
            let bias = producer.operands.count > 2 ? r.constant(producer.operands[2])?.doubles : [Double](repeating: 0, count: channels)
            guard let bias else { return nil }
            let wv = try constant(weights, like: w, name: r.graph[producer.operands[1]].name + ".bnfolded")
            let bv = try r.create1(.constant(Tensor(w.dtype, [channels], doubles: newBias(bias))), [],
                                   name: r.graph[node.operands[0]].name + ".bias")
            return [try r.create1(.convTranspose(c), [producer.operands[0], wv, bv], nodeName: producer.name)]
        }
        if case .gemm(var g) = producer.op {
            guard resultType.shape.rank == 2, resultType.shape[1] == channels,
                  let b = r.constant(producer.operands[1]), b.shape.rank == 2 else { return nil }
            let values = b.doubles
            let cols = b.shape[1]
            let weights = values.enumerated().map { i, v in v * s[g.transB ? i / cols : i % cols] }
            var bias = [Double](repeating: 0, count: channels)
            if producer.operands.count > 2 {
                guard let cTensor = r.constant(producer.operands[2]) else { return nil }
                let cType = cTensor.type
                // C broadcasts to [M, N]; fold only a bias constant along N.
                guard cType.shape.elementCount == channels || cType.shape.elementCount == 1 else { return nil }
                let cv = cTensor.doubles
                bias = (0..<channels).map { Double(g.beta) * cv[cv.count == 1 ? 0 : $0] }
            }
            g.beta = 1
            let wv = try constant(weights, like: b, name: r.graph[producer.operands[1]].name + ".bnfolded")
            let bv = try r.create1(.constant(Tensor(b.dtype, [channels], doubles: newBias(bias))), [],
                                   name: r.graph[node.operands[0]].name + ".bias")
            return [try r.create1(.gemm(g), [producer.operands[0], wv, bv], nodeName: producer.name)]
        }
        return nil
    }
}
