import KilnIR

// Reduce*, ArgMax/ArgMin, CumSum and TopK.

extension NodeContext {
    /// ReduceMean/Sum/Max/Min/Prod/L1/L2/SumSquare/LogSum/LogSumExp. The axes come from an
    /// attribute before the version that moved them to input 1 (ReduceSum 13, the others
    /// 18). No axes means all axes, or an identity with `noop_with_empty_axes = 1`. A rank-0
    /// input is reshaped to `[1]` and reduced along axis 0.
    func reduce(_ kind: ReduceKind) throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let keepDims = try attr.bool("keepdims", default: true)
        let axesAsInput = opset >= (kind == .sum ? 13 : 18)
        var axes: [Int]? = try attr.ints("axes")
        var noop = false
        if axesAsInput {
            if let t = try constant(1, "axes"), t.count > 0 { axes = t.ints }
            noop = try attr.bool("noop_with_empty_axes", default: false)
        }
        if axes?.isEmpty ?? true {
            if noop { return [try emit1(.identity(Identity()), [x])] }
            axes = Array(0..<rank)
        }
        if rank == 0 {
            let flat = try reshape("as_vector", x, [1])
            return [try emit1(.reduce(Reduce(kind: kind, axes: [0], keepDims: false)), [flat])]
        }
        let normalized = try normalizeAxes(axes ?? [], rank: rank)
        return [try emit1(.reduce(Reduce(kind: kind, axes: normalized, keepDims: keepDims)), [x])]
    }

    /// ArgMax / ArgMin.
    func argReduce(isMax: Bool) throws -> [ValueID?] {
        let x = try input(0)
        let op = ArgReduce(isMax: isMax, axis: try normalizeAxis(attr.int("axis", default: 0), rank: type(x).shape.rank),
                           keepDims: try attr.bool("keepdims", default: true),
                           selectLastIndex: try attr.bool("select_last_index", default: false))
        return [try emit1(.argReduce(op), [x])]
    }

    /// CumSum(x, axis): the axis is a compile-time scalar.
    func cumSum() throws -> [ValueID?] {
        let x = try input(0)
        guard let a = try scalarValue(requiredConstant(1, "axis"), "axis") else { throw KilnError("axis is empty") }
        let op = CumSum(axis: try normalizeAxis(Int(a), rank: type(x).shape.rank),
                        exclusive: try attr.bool("exclusive", default: false),
                        reverse: try attr.bool("reverse", default: false))
        return [try emit1(.cumSum(op), [x])]
    }

    /// TopK(X, K): K is a compile-time value (before opset 10, the attribute `k`); results
    /// are values and indices.
    func topK() throws -> [ValueID?] {
        let x = try input(0)
        let k: Int
        if opset < 10 {
            guard let a = try attr.int("k") else { throw KilnError("attribute 'k' is missing") }
            k = a
        } else {
            guard let v = try scalarValue(requiredConstant(1, "K"), "K") else { throw KilnError("K is empty") }
            guard let exact = Int(exactly: v) else { throw KilnError("K = \(v) is not an integer count") }
            k = exact
        }
        let rank = type(x).shape.rank
        let op = TopK(axis: try normalizeAxis(attr.int("axis", default: -1), rank: rank), k: k,
                      largest: try attr.bool("largest", default: true), sorted: try attr.bool("sorted", default: true))
        return try emit(.topK(op), [x]).map { $0 }
    }
}
