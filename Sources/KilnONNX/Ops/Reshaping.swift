import KilnIR

// Shape-changing ops that keep element order (Reshape, Flatten, Squeeze, Unsqueeze, all
// imported as `reshape` with a fully resolved shape) and Transpose, DepthToSpace,
// SpaceToDepth.

extension NodeContext {
    /// Reshape(data, shape): 0 copies the input dim (unless `allowzero = 1`), -1 is inferred.
    func reshapeOp() throws -> [ValueID?] {
        let x = try input(0)
        let shape = try opset < 5 ? attr.ints("shape") ?? [] : requiredConstant(1, "shape").ints
        let resolved = try resolveReshape(type(x).shape.dims, shape, allowZero: try attr.bool("allowzero", default: false))
        return [try emit1(.reshape(Reshape(shape: resolved)), [x])]
    }

    /// Flatten: `[prod(dims[..<axis]), prod(dims[axis...])]`.
    func flatten() throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        var axis = try attr.int("axis", default: 1)
        if axis < 0 { axis += dims.count }
        try require(axis >= 0 && axis <= dims.count, "attribute 'axis' is out of range for rank \(dims.count)")
        return [try emit1(.reshape(Reshape(shape: [dims[..<axis].reduce(1, *), dims[axis...].reduce(1, *)])), [x])]
    }

    /// Squeeze: axes from the attribute (before opset 13) or input 1; none means every
    /// dim of size 1.
    func squeeze() throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        let axes = try opset >= 13 ? constant(1, "axes")?.ints : attr.ints("axes")
        var out: [Int] = []
        if let axes, !axes.isEmpty {
            let drop = Set(try normalizeAxes(axes, rank: dims.count))
            for (i, d) in dims.enumerated() {
                if drop.contains(i) {
                    try require(d == 1, "cannot squeeze axis \(i) of size \(d)")
                } else {
                    out.append(d)
                }
            }
        } else {
            out = dims.filter { $0 != 1 }
        }
        return [try emit1(.reshape(Reshape(shape: out)), [x])]
    }

    /// Unsqueeze: axes (attribute before opset 13, else input 1) index the output.
    func unsqueeze() throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        let given = try opset >= 13 ? requiredConstant(1, "axes").ints : attr.ints("axes")
        guard let given, !given.isEmpty else { throw KilnError("axes are missing") }
        let rank = dims.count + given.count
        let axes = Set(try normalizeAxes(given, rank: rank))
        var out: [Int] = []
        var next = 0
        for i in 0..<rank {
            if axes.contains(i) { out.append(1) } else { out.append(dims[next]); next += 1 }
        }
        return [try emit1(.reshape(Reshape(shape: out)), [x])]
    }

    /// Transpose: default perm reverses the axes.
    func transpose() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let perm = try attr.ints("perm") ?? Array((0..<rank).reversed())
        try require(perm.sorted() == Array(0..<rank), "attribute 'perm' \(perm) is not a permutation of 0..<\(rank)")
        return [try emit1(.transpose(Transpose(perm: perm)), [x])]
    }

    func depthToSpace() throws -> [ValueID?] {
        guard let b = try attr.int("blocksize") else { throw KilnError("attribute 'blocksize' is missing") }
        let mode = try attr.string("mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw attr.invalid("mode", "= '\(mode)' is not supported (expected DCR or CRD)") }
        return [try emit1(.depthToSpace(DepthToSpace(blockSize: b, crd: mode == "CRD")), [input(0)])]
    }

    /// SpaceToDepth. DCR (the default) is the space_to_depth op. CRD (opset 28) orders
    /// each output channel block as (c, row, column); it imports as its definition:
    /// reshape to [N, C, H/b, b, W/b, b], transpose to [N, C, b, b, H/b, W/b], reshape to
    /// [N, C·b·b, H/b, W/b].
    func spaceToDepth() throws -> [ValueID?] {
        guard let b = try attr.int("blocksize") else { throw KilnError("attribute 'blocksize' is missing") }
        let mode = try attr.string("mode", default: "DCR")
        guard mode == "DCR" || mode == "CRD" else { throw attr.invalid("mode", "= '\(mode)' is not supported (expected DCR or CRD)") }
        let x = try input(0)
        let op = SpaceToDepth(blockSize: b)
        let checked = try op.resultTypes([type(x)])[0]  // validates rank, block size and divisibility
        guard mode == "CRD" else { return [try emit1(.spaceToDepth(op), [x])] }
        let d = type(x).shape.dims
        let blocks = try reshape("blocks", x, [d[0], d[1], d[2] / b, b, d[3] / b, b])
        let moved = try helper("crd", .transpose(Transpose(perm: [0, 1, 3, 5, 2, 4])), [blocks])
        return [try emit1(.reshape(Reshape(shape: checked.shape.dims)), [moved])]
    }
}

/// Resolves an ONNX Reshape target against the input dims: 0 copies the input's dim at the
/// same index (unless `allowZero`), one -1 takes the remaining element count.
func resolveReshape(_ input: [Int], _ shape: [Int], allowZero: Bool) throws -> [Int] {
    let total = input.reduce(1, *)
    var out = shape
    var inferred: Int?
    for (i, v) in shape.enumerated() {
        if v == 0 && !allowZero {
            try require(i < input.count, "shape \(shape) copies dim \(i) (0), which the input \(Shape(input)) does not have")
            out[i] = input[i]
        } else if v == -1 {
            try require(inferred == nil, "shape \(shape) has more than one -1")
            inferred = i
        } else {
            try require(v >= 0, "shape \(shape) has a negative dim")
        }
    }
    if let i = inferred {
        let rest = out.enumerated().filter { $0.offset != i }.reduce(1) { $0 * $1.element }
        try require(rest > 0 && total % rest == 0, "cannot reshape \(Shape(input)) to \(shape)")
        out[i] = total / rest
    }
    try require(out.reduce(1, *) == total, "cannot reshape \(Shape(input)) (\(total) elements) to \(shape)")
    return out
}
