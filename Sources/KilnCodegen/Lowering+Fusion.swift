import KilnIR

// Fused activations: CONV2D, DEPTHWISE_CONV2D, BATCH_NORM, GEMM and MATMUL carry an
// activation field (PLAN_FORMAT.md), applied to each output block while it is still in
// cache. Choosing to use it is a kernel choice made at lowering, like picking the depthwise
// kernel: the IR is not rewritten, so -O0 still runs no IR passes.
//
// Algorithm: before lowering, count the uses of every value by the live nodes and the graph
// outputs, and remember each value's last consumer. When a producer with an activation
// field is lowered and its single result has exactly one use, by an f32 unary activation
// or clip node, the producer takes that node's function and writes that node's result;
// the activation node is then marked fused and emits nothing. The producer's own result
// never gets a tensor (nothing else reads it).

extension Lowerer {
    /// Fills `uses` and `consumer` for the live nodes.
    mutating func countUses(live: [Bool]) {
        for o in graph.outputs { uses[o.index] += 1 }
        for (i, n) in graph.nodes.enumerated() where live[i] {
            for o in n.operands {
                uses[o.index] += 1
                consumer[o.index] = i
            }
        }
    }

    /// The runtime activation a node computes on its single f32 operand, if it can be fused.
    private func activation(of n: Node) -> [AttributeValue]? {
        guard n.operands.count == 1, n.results.count == 1, type(n.results[0]).dtype == .f32 else { return nil }
        if case .clip(let c) = n.op {
            return [.i(Int(UnaryFunc.clip.rawValue)), .f(c.min ?? -.infinity), .f(c.max ?? .infinity)]
        }
        guard case .unary(let u) = n.op else { return nil }
        let (fn, alpha, beta) = u.runtimeFunc
        switch fn {
        case .not, .isNan, .isInf: return nil
        case .identity, .relu, .leakyRelu, .sigmoid, .tanh, .geluErf, .geluTanh, .hardSwish, .hardSigmoid, .elu,
             .selu, .celu, .softplus, .softsign, .mish, .thresholdedRelu, .clip, .exp, .log, .sqrt, .reciprocal,
             .floor, .ceil, .round, .abs, .neg, .sign, .erf, .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh,
             .asinh, .acosh, .atanh, .silu, .affine, .scaledTanh:
            return [.i(Int(fn.rawValue)), .f(alpha), .f(beta)]
        }
    }

    /// For a producer `n` about to be emitted: the activation attributes and the result
    /// tensor to write (the activation node's result, with the activation node marked
    /// fused), or `noActivation` and `n`'s own result.
    mutating func fusedActivation(_ n: Node) -> (act: [AttributeValue], result: Int) {
        let r = n.results[0]
        if n.results.count == 1, uses[r.index] == 1, let ci = consumer[r.index], !fused[ci],
           type(r).dtype == .f32, let act = activation(of: graph.nodes[ci]),
           type(graph.nodes[ci].results[0]).shape == type(r).shape {
            fused[ci] = true
            return (act, result(graph.nodes[ci].results[0]))
        }
        return (noActivation, result(r))
    }
}
