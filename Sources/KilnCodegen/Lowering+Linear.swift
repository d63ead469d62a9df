import KilnIR

// Gemm and MatMul → GEMM and MATMUL (weights stay as given: the kernels read them through
// trans_a / trans_b, so no packing is needed); both take a following activation.

extension Lowerer {
    mutating func lowerGemm(_ g: Gemm, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "gemm") }
        let c = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let (act, y) = fusedActivation(n)
        try emit(.gemm, [.b(g.transA), .b(g.transB), .f(g.alpha), .f(g.beta)] + act,
                 [tensor(n.operands[0]), tensor(n.operands[1]), c], [y])
    }

    mutating func lowerMatMul(_ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "mat_mul") }
        let (act, y) = fusedActivation(n)
        try emit(.matmul, [.b(false), .b(false)] + act, n.operands.map { tensor($0) }, [y])
    }
}
