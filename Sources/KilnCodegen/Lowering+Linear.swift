import KilnIR

// Gemm and MatMul → GEMM and MATMUL (weights stay as given: the kernels read them through
// trans_a / trans_b, so no packing is needed), with the IR's fused activation as `act`.

extension Lowerer {
    mutating func lowerGemm(_ g: Gemm, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "gemm") }
        let c = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let act = try actAttributes(g.activation, n.results[0])
        try emit(.gemm, [.b(g.transA), .b(g.transB), .f(g.alpha), .f(g.beta)] + act,
                 [tensor(n.operands[0]), tensor(n.operands[1]), c], [result(n.results[0])])
    }

    mutating func lowerMatMul(_ m: MatMul, _ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32], "mat_mul") }
        let act = try actAttributes(m.activation, n.results[0])
        try emit(.matmul, [.b(false), .b(false)] + act, n.operands.map { tensor($0) }, [result(n.results[0])])
    }
}
