import KilnIR

// Indexing → GATHER, GATHER_ELEMENTS, RANGE, ONE_HOT, TRILU. (`shape` and `size` are
// static and become constants in `Lowerer.staticValues`.)

extension Lowerer {
    mutating func lowerGather(_ axis: Int, _ opcode: Opcode, _ n: Node) throws {
        let data = n.operands[0]
        try emit(opcode, [.i(self.axis(axis, of: data))], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    mutating func lowerRange(_ n: Node) throws {
        for v in n.operands { try requireDType(v, [.f32, .i32, .i64], "range") }
        try emit(.range, [], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    mutating func lowerOneHot(_ o: OneHot, _ n: Node) throws {
        try requireDType(n.operands[0], [.i32, .i64, .f32], "one_hot indices")
        let rank = type(n.results[0]).shape.rank
        try emit(.oneHot, [.i(o.axis < 0 ? o.axis + rank : o.axis)], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    mutating func lowerTrilu(_ t: Trilu, _ n: Node) throws {
        try emit(.trilu, [.b(t.upper), .i(0), .i(t.k)], [tensor(n.operands[0])], [result(n.results[0])])
    }
}
