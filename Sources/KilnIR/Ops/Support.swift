// Shared helpers for type rules and reference evaluation.

extension Shape {
    /// Multi-index of flat index `flat` (row-major).
    public func index(of flat: Int) -> [Int] {
        var idx = [Int](repeating: 0, count: rank)
        var rest = flat
        for i in stride(from: rank - 1, through: 0, by: -1) where dims[i] > 0 {
            idx[i] = rest % dims[i]
            rest /= dims[i]
        }
        return idx
    }

    /// For each element of `target` (row-major), the flat index of the element of `self`
    /// that numpy broadcasting maps to it. `self` must broadcast to `target`.
    public func broadcastSourceIndices(to target: Shape) -> [Int] {
        let offset = target.rank - rank
        let srcStrides = strides
        var result = [Int](repeating: 0, count: target.elementCount)
        let tgtStrides = target.strides
        for flat in 0..<target.elementCount {
            var src = 0
            for axis in 0..<rank {
                let i = (flat / tgtStrides[axis + offset]) % target.dims[axis + offset]
                src += (dims[axis] == 1 ? 0 : i) * srcStrides[axis]
            }
            result[flat] = src
        }
        return result
    }
}

extension Tensor {
    /// A tensor of `shape` (same dtype) whose element `i` is element `sources[i]` of `self`,
    /// or `fill` (an element of the same dtype) where `sources[i]` is negative.
    /// Works for every dtype: elements move as raw bytes.
    public func picking(_ sources: [Int], shape: Shape, fill: Tensor? = nil) -> Tensor {
        let size = dtype.byteSize
        var out = [UInt8](repeating: 0, count: sources.count * size)
        let fillBytes = fill?.bytes ?? [UInt8](repeating: 0, count: size)
        for (i, s) in sources.enumerated() {
            if s < 0 {
                for b in 0..<size { out[i * size + b] = fillBytes[b] }
            } else {
                for b in 0..<size { out[i * size + b] = bytes[s * size + b] }
            }
        }
        var t = TensorType(dtype, shape)
        t.quantization = type.quantization
        return Tensor(type: t, bytes: out)
    }

    /// Elementwise map over Double values into `dtype`.
    public func mapDoubles(to dtype: DType? = nil, _ f: (Double) -> Double) -> Tensor {
        Tensor(dtype ?? self.dtype, shape, doubles: doubles.map(f))
    }
}

/// Checks operand count for a type rule.
func expectOperands(_ operands: [TensorType], _ range: ClosedRange<Int>, _ what: String) throws {
    if range.lowerBound == range.upperBound {
        try require(operands.count == range.lowerBound, "\(what) takes \(range.lowerBound) operands, got \(operands.count)")
    } else {
        try require(range.contains(operands.count), "\(what) takes \(range.lowerBound) to \(range.upperBound) operands, got \(operands.count)")
    }
}
