import KilnIR

// Gemm, MatMul and Einsum.

extension NodeContext {
    /// Gemm(A, B, C?).
    func gemm() throws -> [ValueID?] {
        let op = Gemm(alpha: try attr.float("alpha", default: 1), beta: try attr.float("beta", default: 1),
                      transA: try attr.bool("transA", default: false), transB: try attr.bool("transB", default: false))
        let operands = [try input(0), try input(1)] + (try optionalInput(2).map { [$0] } ?? [])
        return [try emit1(.gemm(op), operands)]
    }

    func matMul() throws -> [ValueID?] {
        [try emit1(.matMul(MatMul()), [input(0), input(1)])]
    }

    /// Einsum with the equation as written (spaces removed).
    func einsum() throws -> [ValueID?] {
        guard let eq = try attr.string("equation") else { throw KilnError("attribute 'equation' is missing") }
        return [try emit1(.einsum(Einsum(equation: eq.filter { $0 != " " })), allInputs())]
    }
}
