// Type rules and evaluation of Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Identity.

extension Expand: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "expand")
        let x = operands[0]
        let target = Shape(shape)
        try require(shape.allSatisfy { $0 >= 0 } && Shape.broadcast(x.shape, target) == target,
                    "expand: input shape \(x.shape) does not broadcast to \(target)")
        let offset = target.rank - x.shape.rank
        let q = try movedQuantization(x.quantization, "expand") { a in
            x.shape.dims[a] == target.dims[a + offset] ? a + offset : nil
        }
        return [TensorType(x.dtype, target, quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        return [x.moved(broadcastIndices(from: x.shape, to: results[0].shape), to: results[0])]
    }
}

extension Tile: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "tile")
        let x = operands[0]
        try require(repeats.count == x.shape.rank,
                    "tile: \(repeats.count) repeats given for an operand of rank \(x.shape.rank)")
        try require(repeats.allSatisfy { $0 >= 0 }, "tile: repeats \(repeats) must be non-negative")
        let q = try movedQuantization(x.quantization, "tile") { repeats[$0] == 1 ? $0 : nil }
        let dims = zip(x.shape.dims, repeats).map { $0 * $1 }
        return [TensorType(x.dtype, Shape(dims), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let strides = x.shape.strides
        let out = results[0].shape
        let tables = (0..<out.rank).map { a in (0..<out.dims[a]).map { ($0 % x.shape.dims[a]) * strides[a] } }
        return [x.moved(tableIndices(out, tables), to: results[0])]
    }
}

extension Pad: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "pad")
        let x = operands[0]
        let rank = x.shape.rank
        try require(pads.count == 2 * rank, "pad: \(pads.count) pads given for an operand of rank \(rank), expected \(2 * rank)")
        var dims = x.shape.dims
        for a in 0..<rank {
            dims[a] += pads[a] + pads[rank + a]
            try require(dims[a] >= 0, "pad: pads \(pads) crop axis \(a) of \(x.shape) below zero")
            if mode != .constant && x.shape.dims[a] == 0 {
                try require(dims[a] == 0, "pad: \(mode.rawValue) mode cannot pad the empty axis \(a)")
            }
        }
        let q = try movedQuantization(x.quantization, "pad") { pads[$0] == 0 && pads[rank + $0] == 0 ? $0 : nil }
        return [TensorType(x.dtype, Shape(dims), quantization: q)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let out = results[0].shape
        let strides = x.shape.strides
        let tables = (0..<out.rank).map { a in
            (0..<out.dims[a]).map { j -> Int in
                let i = sourceIndex(j - pads[a], x.shape.dims[a])
                return i < 0 ? -1 : i * strides[a]
            }
        }
        let fill = Tensor(x.dtype, [], doubles: [value])
        return [x.moved(tableIndices(out, tables, missing: true), to: results[0], fill: fill)]
    }

    /// The input index that output coordinate `i` (relative to the unpadded start) reads
    /// along an axis of size `d`, or -1 for the constant fill. Reflect and wrap repeat with
    /// period 2(d-1) and d, so pads longer than the axis keep reflecting / wrapping.
    private func sourceIndex(_ i: Int, _ d: Int) -> Int {
        if i >= 0 && i < d { return i }
        switch mode {
        case .constant: return -1
        case .edge: return i < 0 ? 0 : d - 1
        case .wrap: return ((i % d) + d) % d
        case .reflect:
            if d == 1 { return 0 }
            let period = 2 * (d - 1)
            let m = ((i % period) + period) % period
            return m < d ? m : period - m
        }
    }
}

extension DepthToSpace: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "depth_to_space")
        let x = operands[0]
        let b = blockSize
        try require(x.shape.rank == 4, "depth_to_space expects a rank-4 operand, got \(x.shape)")
        try require(b >= 1, "depth_to_space: block size \(b) must be positive")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        try require(c % (b * b) == 0, "depth_to_space: channels \(c) are not divisible by block size² \(b * b)")
        let q = try movedQuantization(x.quantization, "depth_to_space") { $0 == 0 ? 0 : nil }
        return [TensorType(x.dtype, [n, c / (b * b), h * b, w * b], quantization: q)]
    }

    /// The output, viewed as [N, C', H, b, W, b], reads the input viewed as
    /// [N, b, b, C', H, W] (DCR) or [N, C', b, b, H, W] (CRD).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let b = blockSize
        let (n, c, h, w) = (x.shape[0], x.shape[1] / (b * b), x.shape[2], x.shape[3])
        let view = crd ? Shape([n, c, b, b, h, w]) : Shape([n, b, b, c, h, w])
        let s = view.strides
        let strides = crd ? [s[0], s[1], s[4], s[2], s[5], s[3]] : [s[0], s[3], s[4], s[1], s[5], s[2]]
        let sources = stridedIndices([n, c, h, b, w, b], strides: strides)
        return [x.moved(sources, to: results[0])]
    }
}

extension SpaceToDepth: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "space_to_depth")
        let x = operands[0]
        let b = blockSize
        try require(x.shape.rank == 4, "space_to_depth expects a rank-4 operand, got \(x.shape)")
        try require(b >= 1, "space_to_depth: block size \(b) must be positive")
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
        try require(h % b == 0 && w % b == 0, "space_to_depth: spatial dims \(h)x\(w) are not divisible by block size \(b)")
        let q = try movedQuantization(x.quantization, "space_to_depth") { $0 == 0 ? 0 : nil }
        return [TensorType(x.dtype, [n, c * b * b, h / b, w / b], quantization: q)]
    }

    /// The output, viewed as [N, b, b, C, H', W'], reads the input viewed as [N, C, H', b, W', b].
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let b = blockSize
        let (n, c, h, w) = (x.shape[0], x.shape[1], x.shape[2] / b, x.shape[3] / b)
        let s = Shape([n, c, h, b, w, b]).strides
        let sources = stridedIndices([n, b, b, c, h, w], strides: [s[0], s[3], s[5], s[1], s[2], s[4]])
        return [x.moved(sources, to: results[0])]
    }
}

extension Identity: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "identity")
        return [operands[0]]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [operands[0]]
    }
}
