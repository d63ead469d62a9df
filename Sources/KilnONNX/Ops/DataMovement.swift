import KilnIR

// Concat, Split, Slice, Expand, Tile, Pad, Identity and inference-time Dropout.

extension NodeContext {
    func concat() throws -> [ValueID?] {
        let xs = try allInputs()
        guard let first = xs.first else { throw KilnError("needs at least one input") }
        guard let axis = try attr.int("axis") ?? (opset < 4 ? 1 : nil) else { throw KilnError("attribute 'axis' is missing") }
        let a = try normalizeAxis(axis, rank: type(first).shape.rank)
        return [try emit1(.concat(Concat(axis: a)), xs)]
    }

    /// Split: sizes from the `split` attribute (before opset 13) or input 1; otherwise
    /// equal pieces, one per output (`num_outputs` from opset 18, where the last piece may
    /// be smaller).
    func split() throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        let axis = try normalizeAxis(attr.int("axis", default: 0), rank: dims.count)
        let length = dims[axis]
        var sizes = try opset >= 13 || (opset < 2 && has(1)) ? constant(1, "split")?.ints : attr.ints("split")
        if sizes?.isEmpty ?? false { sizes = nil }
        if sizes == nil {
            let n = try attr.int("num_outputs") ?? outputCount
            try require(n >= 1, "needs at least one output")
            if length % n == 0 {
                sizes = [Int](repeating: length / n, count: n)
            } else {
                try require(opset >= 18, "axis \(axis) of size \(length) does not split into \(n) equal pieces")
                let piece = (length + n - 1) / n
                sizes = (0..<n).map { max(0, min(piece, length - $0 * piece)) }
            }
        }
        let s = sizes ?? []
        try require(s.allSatisfy { $0 >= 0 } && s.reduce(0, +) == length,
                    "split sizes \(s) do not add up to the \(length) elements of axis \(axis)")
        try require(s.count == outputCount, "split gives \(s.count) pieces but the node has \(outputCount) outputs")
        return try emit(.split(Split(axis: axis, sizes: s)), [x]).map { $0 }
    }

    /// Slice(data, starts, ends, axes?, steps?), all parameters known at compile time. Before
    /// opset 10, starts, ends and axes are attributes and there are no steps.
    func slice() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let starts: [Int], ends: [Int]
        var axes: [Int]?
        var steps: [Int]?
        if opset < 10 {
            guard let s = try attr.ints("starts") else { throw KilnError("attribute 'starts' is missing") }
            guard let e = try attr.ints("ends") else { throw KilnError("attribute 'ends' is missing") }
            (starts, ends, axes) = (s, e, try attr.ints("axes"))
        } else {
            starts = try requiredConstant(1, "starts").ints
            ends = try requiredConstant(2, "ends").ints
            if let t = try constant(3, "axes"), t.count > 0 { axes = t.ints }
            if let t = try constant(4, "steps"), t.count > 0 { steps = t.ints }
        }
        try require(starts.count == ends.count, "starts \(starts) and ends \(ends) differ in length")
        let axesList = axes ?? Array(0..<starts.count)
        let stepList = steps ?? [Int](repeating: 1, count: starts.count)
        try require(axesList.count == starts.count && stepList.count == starts.count,
                    "starts, ends, axes and steps must have the same length")
        try require(!stepList.contains(0), "steps \(stepList) contain 0")
        let normalized = try axesList.map { try normalizeAxis($0, rank: rank) }
        try require(Set(normalized).count == normalized.count, "axes \(axesList) repeat an axis")
        let op = Slice(starts: starts, ends: ends, axes: normalized, steps: stepList)
        return [try emit1(.slice(op), [x])]
    }

    /// Expand(input, shape): the result shape is the broadcast of both.
    func expand() throws -> [ValueID?] {
        let x = try input(0)
        let shape = try requiredConstant(1, "shape").ints
        guard let out = Shape.broadcast(type(x).shape, Shape(shape)) else {
            throw KilnError("cannot broadcast \(type(x).shape) to \(shape)")
        }
        return [try emit1(.expand(Expand(shape: out.dims)), [x])]
    }

    func tile() throws -> [ValueID?] {
        if opset < 6 { return try legacyTile() }
        let x = try input(0)
        let repeats = try requiredConstant(1, "repeats").ints
        try require(repeats.count == type(x).shape.rank && repeats.allSatisfy { $0 >= 0 },
                    "repeats \(repeats) must have one non-negative entry per axis of \(type(x).shape)")
        return [try emit1(.tile(Tile(repeats: repeats)), [x])]
    }

    /// Pad(data, pads, constant_value?, axes?): pads for the listed axes (all by default)
    /// are spread into begin/end pads for every axis.
    func pad() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let modeName = try attr.string("mode", default: "constant")
        guard let mode = PadMode(rawValue: modeName) else {
            throw attr.invalid("mode", "= '\(modeName)' is not supported (expected constant, reflect, edge or wrap)")
        }
        let given = try opset >= 11 ? requiredConstant(1, "pads").ints : attr.ints(opset < 2 ? "paddings" : "pads") ?? []
        var axes = Array(0..<rank)
        if let t = try constant(3, "axes") { axes = try t.ints.map { try normalizeAxis($0, rank: rank) } }
        try require(given.count == 2 * axes.count, "pads \(given) must have \(2 * axes.count) entries")
        var pads = [Int](repeating: 0, count: 2 * rank)
        for (k, a) in axes.enumerated() {
            pads[a] = given[k]
            pads[rank + a] = given[axes.count + k]
        }
        var value = Double(try attr.float("value", default: 0))
        if opset >= 11, let t = try constant(2, "constant_value"), let v = try scalarValue(t, "constant_value") {
            value = v
        }
        return [try emit1(.pad(Pad(mode: mode, pads: pads, value: value)), [x])]
    }

    func identity() throws -> [ValueID?] {
        [try emit1(.identity(Identity()), [input(0)])]
    }

    /// Dropout at inference: an identity. `training_mode` must be false (or the ratio 0);
    /// the mask output, if used, is an all-true (before opset 10: all-ones) constant.
    func dropout() throws -> [ValueID?] {
        let x = try input(0)
        if try legacyTrainingMode {
            let ratio = try attr.float("ratio", default: 0.5)
            try require(ratio == 0, "attribute 'is_test' is 0 (training mode) with ratio \(ratio), which drops elements at random; Kiln imports inference graphs (set is_test = 1)")
        }
        if let t = try constant(2, "training_mode"), let v = try scalarValue(t, "training_mode"), v != 0 {
            // Training mode drops elements at random, except with ratio 0, where it keeps
            // everything (y = x, mask all true) just as inference does.
            let ratio = try constant(1, "ratio").flatMap { try scalarValue($0, "ratio") } ?? 0.5
            try require(ratio == 0, "training_mode is true with ratio \(ratio), which drops elements at random; Kiln imports inference graphs (only ratio 0 is supported in training mode)")
        }
        let y = try emit1(.identity(Identity()), [x])
        guard outputUsed(1) else { return [y] }
        // The mask is bool from opset 10; before, it has X's element type (all ones).
        let maskType: DType = opset >= 10 ? .bool : type(x).dtype
        let mask = Tensor(maskType, type(x).shape, doubles: [Double](repeating: 1, count: type(x).shape.elementCount))
        return [y, importer.constant(mask, name: outputName(1), nodeName: "\(baseName)/mask")]
    }
}
