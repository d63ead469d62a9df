import KilnIR

// Reductions and ops along one axis → REDUCE, ARG_REDUCE, CUMSUM, TOPK.

extension ReduceKind {
    var runtimeKind: ReduceKindCode {
        switch self {
        case .sum: return .sum
        case .mean: return .mean
        case .max: return .max
        case .min: return .min
        case .prod: return .prod
        case .l1: return .l1
        case .l2: return .l2
        case .sumSquare: return .sumSquare
        case .logSum: return .logSum
        case .logSumExp: return .logSumExp
        }
    }
}

extension Lowerer {
    /// `axis` (possibly negative) normalized against `v`'s rank.
    func axis(_ axis: Int, of v: ValueID) -> Int { axis < 0 ? axis + type(v).shape.rank : axis }

    mutating func lowerReduce(_ r: Reduce, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32], n.op.mnemonic)
        if r.axes.isEmpty {
            program.emit(.copy, [], [tensor(x)], [result(n.results[0])])
            return
        }
        let mask = r.axes.reduce(Int64(0)) { $0 | (Int64(1) << Int64(axis($1, of: x))) }
        try emit(.reduce, [.i(Int(r.kind.runtimeKind.rawValue)), .int(mask)], [tensor(x)], [result(n.results[0])])
    }

    mutating func lowerArgReduce(_ a: ArgReduce, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32, .i32, .i64], a.isMax ? "arg_max" : "arg_min")
        try emit(.argReduce, [.i(axis(a.axis, of: x)), .b(a.isMax), .b(a.selectLastIndex)], [tensor(x)], [result(n.results[0])])
    }

    mutating func lowerCumSum(_ c: CumSum, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32, .i32, .i64], "cum_sum")
        try emit(.cumsum, [.i(axis(c.axis, of: x)), .b(c.exclusive), .b(c.reverse)], [tensor(x)], [result(n.results[0])])
    }

    /// The runtime always sorts (equal values keep the lower index first), which is one of
    /// the orders `sorted = 0` allows.
    mutating func lowerTopK(_ t: TopK, _ n: Node) throws {
        let x = n.operands[0]
        try requireDType(x, [.f32], "top_k")
        try emit(.topk, [.i(axis(t.axis, of: x)), .b(t.largest)], [tensor(x)], n.results.map { result($0) })
    }
}
