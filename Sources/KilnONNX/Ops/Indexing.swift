import KilnIR

// Gather, GatherElements, Shape, Size, Range, OneHot, Trilu, Constant, ConstantOfShape.

extension NodeContext {
    func gather() throws -> [ValueID?] {
        let data = try input(0)
        let axis = try normalizeAxis(attr.int("axis", default: 0), rank: type(data).shape.rank)
        return [try emit1(.gather(Gather(axis: axis)), [data, input(1)])]
    }

    func gatherElements() throws -> [ValueID?] {
        let data = try input(0)
        let axis = try normalizeAxis(attr.int("axis", default: 0), rank: type(data).shape.rank)
        return [try emit1(.gatherElements(GatherElements(axis: axis)), [data, input(1)])]
    }

    /// Shape: dims `start..<end` (opset 15), negative values counting from the end and
    /// both clamped to `0...rank`.
    func shape() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + rank : v, 0), rank) }
        let start = clamp(try attr.int("start", default: 0))
        let end = max(start, clamp(try attr.int("end", default: rank)))
        return [try emit1(.shapeOf(ShapeOf(start: start, end: end)), [x])]
    }

    func size() throws -> [ValueID?] {
        [try emit1(.sizeOf(SizeOf()), [input(0)])]
    }

    /// Range(start, limit, delta): the operands stay, the element count
    /// `max(ceil((limit - start) / delta), 0)` is computed from their compile-time values.
    func range() throws -> [ValueID?] {
        let names = ["start", "limit", "delta"]
        let values = try (0..<3).map { i -> Tensor in
            let t = try requiredConstant(i, names[i])
            try require(t.count == 1, "\(names[i]) must be a scalar, got shape \(t.shape)")
            return t
        }
        let count: Int
        if values[0].dtype.isFloat {
            let (s, l, d) = (values[0].doubles[0], values[1].doubles[0], values[2].doubles[0])
            try require(d != 0 && d.isFinite && s.isFinite && l.isFinite, "delta must be non-zero and all values finite")
            let n = ((l - s) / d).rounded(.up)
            try require(n < Double(Int32.max), "range has too many elements")
            count = max(Int(n), 0)
        } else {
            let (s, l, d) = (values[0].int64s[0], values[1].int64s[0], values[2].int64s[0])
            try require(d != 0, "delta must be non-zero")
            let diff = l.subtractingReportingOverflow(s)
            try require(!diff.overflow, "range is too large")
            var n = diff.partialValue / d
            if diff.partialValue % d != 0 && (diff.partialValue > 0) == (d > 0) { n += 1 }
            try require(n < Int64(Int32.max), "range has too many elements")
            count = Int(max(n, 0))
        }
        // The spec asks for scalars; ONNX's own function bodies (AffineGrid) pass [1]-shaped
        // tensors, so one-element operands are reshaped to scalars.
        let operands = try (0..<3).map { i -> ValueID in
            let v = try input(i)
            return type(v).shape.rank == 0 ? v : try reshape("\(names[i])_scalar", v, [])
        }
        return [try emit1(.range(Range(count: count)), operands)]
    }

    /// OneHot(indices, depth, values): depth is a compile-time scalar.
    func oneHot() throws -> [ValueID?] {
        let indices = try input(0)
        guard let depth = try scalarValue(requiredConstant(1, "depth"), "depth") else { throw KilnError("depth is empty") }
        try require(depth >= 1 && depth < Double(Int32.max), "depth \(depth) must be positive")
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: type(indices).shape.rank + 1)
        return [try emit1(.oneHot(OneHot(axis: axis, depth: Int(depth))), [indices, input(2)])]
    }

    /// Trilu(input, k?): k is a compile-time scalar, default 0.
    func trilu() throws -> [ValueID?] {
        var k = 0
        if let t = try constant(1, "k"), let v = try scalarValue(t, "k") {
            guard let exact = Int(exactly: v) else { throw KilnError("k = \(v) is not an integer") }
            k = exact
        }
        return [try emit1(.trilu(Trilu(upper: try attr.bool("upper", default: true), k: k)), [input(0)])]
    }

    /// Constant: exactly one of `value`, `value_float(s)`, `value_int(s)`.
    func constantOp() throws -> [ValueID?] {
        let t: Tensor
        if let v = try attr.tensor("value") {
            t = v
        } else if let v = try attr.float("value_float") {
            t = Tensor([], floats: [v])
        } else if let v = try attr.floats("value_floats") {
            t = Tensor([v.count], floats: v)
        } else if let v = try attr.int("value_int") {
            t = Tensor(.i64, [], int64s: [Int64(v)])
        } else if let v = try attr.ints("value_ints") {
            t = Tensor(.i64, [v.count], int64s: v.map { Int64($0) })
        } else if attr.has("sparse_value") {
            throw attr.invalid("sparse_value", "is not supported (sparse constants)")
        } else if attr.has("value_string") || attr.has("value_strings") {
            throw KilnError("string constants are not supported")
        } else {
            throw KilnError("has no value attribute")
        }
        return [emitConstant(t)]
    }

    /// ConstantOfShape(shape): a constant filled with `value` (default float 0).
    func constantOfShape() throws -> [ValueID?] {
        let dims = try requiredConstant(0, "shape").ints
        try require(dims.allSatisfy { $0 >= 0 }, "shape \(dims) has a negative dim")
        let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
        try require(count < Int(Int32.max), "shape \(dims) is too large")
        let fill = try attr.tensor("value") ?? Tensor([1], floats: [0])
        try require(fill.count == 1, "attribute 'value' must hold one element, got shape \(fill.shape)")
        return [emitConstant(fill.picking([Int](repeating: 0, count: count), shape: Shape(dims)))]
    }
}
