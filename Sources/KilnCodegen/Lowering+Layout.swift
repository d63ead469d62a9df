import KilnIR

// Data movement → COPY (reshape, identity: the memory planner makes them aliases),
// TRANSPOSE, CONCAT, SPLIT, SLICE, EXPAND, TILE, PAD, DEPTH_TO_SPACE, SPACE_TO_DEPTH.
// All of them work on every dtype.

/// Most operands CONCAT takes (its operand count is a u8).
private let maxConcatOperands = 255

extension Lowerer {
    mutating func lowerCopy(_ n: Node) throws {
        program.emit(.copy, [], [tensor(n.operands[0])], [result(n.results[0])])
    }

    mutating func lowerTranspose(_ t: Transpose, _ n: Node) throws {
        let x = n.operands[0]
        let rank = type(x).shape.rank
        let perm = t.perm.map { $0 < 0 ? $0 + rank : $0 }
        if perm == Array(0..<rank) { return try lowerCopy(n) }
        try emit(.transpose, padded(perm.map(AttributeValue.i), to: 8, with: .i(0)), [tensor(x)], [result(n.results[0])])
    }

    mutating func lowerConcat(_ c: Concat, _ n: Node) throws {
        var parts = n.operands.map { tensor($0) }
        let whole = type(n.results[0])
        // More pieces than one instruction takes: concatenate runs of them first.
        var round = 0
        while parts.count > maxConcatOperands {
            var merged: [Int] = []
            for start in stride(from: 0, to: parts.count, by: maxConcatOperands) {
                let run = Array(parts[start..<min(start + maxConcatOperands, parts.count)])
                var shape = whole.shape
                shape[c.axis] = run.map { program.tensors[$0].type.shape[c.axis] }.reduce(0, +)
                let out = temp("concat\(round)_\(start)", TensorType(whole.dtype, shape))
                try emit(.concat, [.i(c.axis)], run, [out])
                merged.append(out)
            }
            parts = merged
            round += 1
        }
        try emit(.concat, [.i(c.axis)], parts, [result(n.results[0])])
    }

    mutating func lowerSplit(_ s: Split, _ n: Node) throws {
        try require(n.results.count <= 255, "split into \(n.results.count) pieces; the runtime takes at most 255")
        try emit(.split, [.i(s.axis)], [tensor(n.operands[0])], n.results.map { result($0) })
    }

    /// Starts and steps per input axis, clamped (by the IR's own slice geometry) to the
    /// first element taken.
    mutating func lowerSlice(_ s: Slice, _ n: Node) throws {
        let x = n.operands[0]
        let g = try s.geometry(type(x).shape)
        let starts = g.starts.enumerated().map { a, v in g.counts[a] > 0 ? v : 0 }
        try emit(.slice, padded(starts.map(AttributeValue.i), to: 8, with: .i(0))
                    + padded(g.steps.map(AttributeValue.i), to: 8, with: .i(1)),
                 [tensor(x)], [result(n.results[0])])
    }

    /// EXPAND and TILE: the result shape says everything.
    mutating func lowerView(_ opcode: Opcode, _ n: Node) throws {
        try emit(opcode, [], [tensor(n.operands[0])], [result(n.results[0])])
    }

    mutating func lowerPad(_ p: Pad, _ n: Node) throws {
        let x = n.operands[0]
        let rank = type(x).shape.rank
        let mode: PadModeCode
        switch p.mode {
        case .constant: mode = .constant
        case .reflect: mode = .reflect
        case .edge: mode = .edge
        case .wrap: mode = .wrap
        }
        let begins = Array(p.pads.prefix(rank)).map(AttributeValue.i)
        try emit(.pad, [.i(Int(mode.rawValue)), .i(0), .float(p.value)] + padded(begins, to: 8, with: .i(0)),
                 [tensor(x)], [result(n.results[0])])
    }

    mutating func lowerDepthToSpace(_ d: DepthToSpace, _ n: Node) throws {
        try emit(.depthToSpace, [.i(d.blockSize), .b(d.crd)], [tensor(n.operands[0])], [result(n.results[0])])
    }

    mutating func lowerSpaceToDepth(_ s: SpaceToDepth, _ n: Node) throws {
        try emit(.spaceToDepth, [.i(s.blockSize)], [tensor(n.operands[0])], [result(n.results[0])])
    }
}

/// `values` followed by `filler` up to `count` entries.
func padded(_ values: [AttributeValue], to count: Int, with filler: AttributeValue) -> [AttributeValue] {
    values + Array(repeating: filler, count: max(0, count - values.count))
}
