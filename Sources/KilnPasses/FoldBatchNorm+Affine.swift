import KilnIR

/// Part of fold-batchnorm: a per-output-channel constant scale or shift right after a conv
/// (BatchNormalization as exporters sometimes write it — TF/Keras and Caffe conversions,
/// LayerScale-style affines — `Mul` by a [C,1,1] constant, then `Add` of one) is folded into
/// the conv's weights and bias.
///
///     %c = conv(%x, %w, %b) {…} : f32[1,8,16,16]
///     %m = mul(%c, %s) : f32[1,8,16,16]                 // %s constant f32[8,1,1] (or a scalar)
///     %y = add(%m, %t) : f32[1,8,16,16]                 // %t constant f32[1,8,1,1]
///   becomes
///     %y = conv(%x, %w', %b') {…} : f32[1,8,16,16]      // w'[o] = w[o]·s[o], b' = b·s + t
///
/// Algorithm: at a mul or add without a fused activation, one operand is a conv result used
/// only here (not a graph output, no fused activation, constant weights and bias) and the
/// other a float constant that broadcasts along the channel axis only (after left-padding
/// its shape to the result's rank every dim is 1 except axis 1, which is 1 or C); the result
/// keeps the conv's type. mul scales the weights and bias of each output channel, add shifts
/// the bias. Chains fold one node at a time (the driver runs to a fixed point).
/// Guarantees: the same outputs up to float rounding.
struct FoldChannelAffinePattern: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .binary(let kind, .none) = node.op, kind == .mul || kind == .add, node.operands.count == 2 else {
            return nil
        }
        for (v, k) in [(node.operands[0], node.operands[1]), (node.operands[1], node.operands[0])] {
            guard let conv = r.producer(of: v), case .conv(let c) = conv.op, conv.op.fusedActivation == nil,
                  r.useCount(v) == 1, !r.isGraphOutput(v),
                  let factors = channelConstant(k, of: r.type(of: v), r),
                  r.type(of: node.results[0]) == r.type(of: v),
                  let w = r.constant(conv.operands[1]) else { continue }
            let channels = w.shape[0]
            var bias = [Double](repeating: 0, count: channels)
            if conv.operands.count > 2 {
                guard let b = r.constant(conv.operands[2])?.doubles, b.count == channels else { return nil }
                bias = b
            }
            var weights = w.doubles
            let f = factors.count == 1 ? [Double](repeating: factors[0], count: channels) : factors
            if kind == .mul {
                let perChannel = w.count / channels
                weights = weights.enumerated().map { i, x in x * f[i / perChannel] }
                bias = (0..<channels).map { bias[$0] * f[$0] }
            } else {
                bias = (0..<channels).map { bias[$0] + f[$0] }
            }
            let wv = kind == .mul
                ? try r.create1(.constant(Tensor(w.dtype, w.shape, doubles: weights)), [],
                                name: r.graph[conv.operands[1]].name + ".scaled")
                : conv.operands[1]
            let bv = try r.create1(.constant(Tensor(w.dtype, [channels], doubles: bias)), [],
                                   name: r.graph[node.results[0]].name + ".bias")
            return [try r.create1(.conv(c), [conv.operands[0], wv, bv], nodeName: conv.name)]
        }
        return nil
    }

    /// The values of constant `k` if it is float and broadcasts against `result` (a conv
    /// output [N, C, …]) along the channel axis only: one value, or C values.
    private func channelConstant(_ k: ValueID, of result: TensorType, _ r: Rewriter) -> [Double]? {
        guard let t = r.constant(k), t.dtype.isFloat, t.dtype == result.dtype, result.shape.rank >= 2,
              t.shape.rank <= result.shape.rank else { return nil }
        let dims = [Int](repeating: 1, count: result.shape.rank - t.shape.rank) + t.shape.dims
        for (axis, d) in dims.enumerated() where d != 1 {
            guard axis == 1, d == result.shape[1] else { return nil }
        }
        return t.doubles
    }
}
