import Foundation

// Normalization layers: BatchNormalization (inference), InstanceNormalization,
// LayerNormalization, GroupNormalization, LRN.

/// Inference BatchNormalization: operands x, scale, bias, mean, var (all per channel, axis 1).
public struct BatchNorm: Hashable, Sendable {
    public var epsilon: Float
    public init(epsilon: Float) { self.epsilon = epsilon }
}

/// InstanceNormalization: operands x, scale [C], bias [C].
public struct InstanceNorm: Hashable, Sendable {
    public var epsilon: Float
    public init(epsilon: Float) { self.epsilon = epsilon }
}

/// LayerNormalization: operands x, scale, optional bias; normalizes over axes `axis...`
/// (axis normalized non-negative at import). Only the first ONNX output (Y) is produced.
public struct LayerNorm: Hashable, Sendable {
    public var axis: Int
    public var epsilon: Float
    public init(axis: Int, epsilon: Float) { self.axis = axis; self.epsilon = epsilon }
}

/// GroupNormalization: operands x, scale [C], bias [C] (per channel; the opset-18 per-group
/// form is expanded to per-channel at import).
public struct GroupNorm: Hashable, Sendable {
    public var groups: Int
    public var epsilon: Float
    public init(groups: Int, epsilon: Float) { self.groups = groups; self.epsilon = epsilon }
}

/// Local response normalization across channels.
public struct LRN: Hashable, Sendable {
    public var size: Int
    public var alpha: Float
    public var beta: Float
    public var bias: Float
    public init(size: Int, alpha: Float, beta: Float, bias: Float) {
        self.size = size; self.alpha = alpha; self.beta = beta; self.bias = bias
    }
}

// MARK: - Type rules and evaluation

extension BatchNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 5...5, "batch_norm")
        let x = try checkNormInput("batch_norm", operands[0], minRank: 2)
        for (i, what) in ["scale", "bias", "mean", "var"].enumerated() {
            try checkPerChannel("batch_norm", what, operands[i + 1], channels: x.shape[1])
        }
        return [TensorType(x.dtype, x.shape)]
    }

    /// y = (x - mean[c]) / sqrt(var[c] + epsilon) * scale[c] + bias[c], c the axis-1 index.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let (scale, bias, mean, variance) = (operands[1].doubles, operands[2].doubles, operands[3].doubles, operands[4].doubles)
        let c = x.shape[1], inner = x.count / max(1, x.shape[0] * c)
        let invStd = variance.map { 1 / (($0 + Double(epsilon))).squareRoot() }
        var y = x.doubles
        for i in 0..<y.count {
            let ch = (i / inner) % c
            y[i] = (y[i] - mean[ch]) * invStd[ch] * scale[ch] + bias[ch]
        }
        return [Tensor(x.dtype, x.shape, doubles: y)]
    }
}

extension InstanceNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 3...3, "instance_norm")
        let x = try checkNormInput("instance_norm", operands[0], minRank: 3)
        try checkPerChannel("instance_norm", "scale", operands[1], channels: x.shape[1])
        try checkPerChannel("instance_norm", "bias", operands[2], channels: x.shape[1])
        return [TensorType(x.dtype, x.shape)]
    }

    /// Standardizes each (n, c) plane over its spatial elements, then scale[c], bias[c].
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let c = x.shape[1], inner = x.count / max(1, x.shape[0] * c)
        var y = x.doubles
        standardizeBlocks(&y, blockSize: inner, epsilon: Double(epsilon))
        applyChannelAffine(&y, scale: operands[1].doubles, bias: operands[2].doubles, channels: c, inner: inner)
        return [Tensor(x.dtype, x.shape, doubles: y)]
    }
}

extension LayerNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "layer_norm")
        let x = try checkNormInput("layer_norm", operands[0], minRank: 1)
        try require(axis >= 0 && axis < x.shape.rank, "layer_norm: axis \(axis) is out of range for rank \(x.shape.rank)")
        let normalized = Shape(Array(x.shape.dims[axis...]))
        for (i, what) in ["scale", "bias"].enumerated() where i + 1 < operands.count {
            let t = operands[i + 1]
            try require(t.dtype.isFloat, "layer_norm: \(what) must be a float tensor, got \(t.dtype.rawValue)")
            try require(broadcastsUnidirectionally(t.shape, to: normalized),
                        "layer_norm: \(what) \(t.shape) does not broadcast to the normalized shape \(normalized)")
        }
        return [TensorType(x.dtype, x.shape)]
    }

    /// Standardizes each slice over axes `axis...`, then multiplies by scale and adds
    /// bias, both broadcast to the normalized shape.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let normalized = Shape(Array(x.shape.dims[axis...]))
        let inner = normalized.elementCount
        var y = x.doubles
        standardizeBlocks(&y, blockSize: inner, epsilon: Double(epsilon))
        let scale = operands[1].doubles, scaleIndex = operands[1].shape.broadcastSourceIndices(to: normalized)
        let bias = operands.count == 3 ? operands[2].doubles : [0]
        let biasIndex = operands.count == 3 ? operands[2].shape.broadcastSourceIndices(to: normalized)
            : [Int](repeating: 0, count: inner)
        for i in 0..<y.count {
            let j = i % inner
            y[i] = y[i] * scale[scaleIndex[j]] + bias[biasIndex[j]]
        }
        return [Tensor(x.dtype, x.shape, doubles: y)]
    }
}

extension GroupNorm: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 3...3, "group_norm")
        let x = try checkNormInput("group_norm", operands[0], minRank: 2)
        try require(groups >= 1 && x.shape[1] % groups == 0,
                    "group_norm: groups \(groups) must be positive and divide the channel count \(x.shape[1])")
        try checkPerChannel("group_norm", "scale", operands[1], channels: x.shape[1])
        try checkPerChannel("group_norm", "bias", operands[2], channels: x.shape[1])
        return [TensorType(x.dtype, x.shape)]
    }

    /// Standardizes each (n, group) block — its C/groups channels with all their spatial
    /// elements, contiguous in memory — then scale[c], bias[c] per channel.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let c = x.shape[1], inner = x.count / max(1, x.shape[0] * c)
        var y = x.doubles
        standardizeBlocks(&y, blockSize: inner * (c / groups), epsilon: Double(epsilon))
        applyChannelAffine(&y, scale: operands[1].doubles, bias: operands[2].doubles, channels: c, inner: inner)
        return [Tensor(x.dtype, x.shape, doubles: y)]
    }
}

extension LRN: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "lrn")
        let x = try checkNormInput("lrn", operands[0], minRank: 2)
        try require(size >= 1, "lrn: size must be positive, got \(size)")
        return [TensorType(x.dtype, x.shape)]
    }

    /// y = x / (bias + alpha/size * Σ x[c']²)^beta, with c' from c - floor((size-1)/2)
    /// to c + ceil((size-1)/2), clipped to the channel range.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let c = x.shape[1], inner = x.count / max(1, x.shape[0] * c)
        let before = (size - 1) / 2, after = size - 1 - before
        let xs = x.doubles
        var y = xs
        for i in 0..<xs.count {
            let ch = (i / inner) % c
            let base = i - ch * inner
            var sum = 0.0
            for k in max(0, ch - before)...min(c - 1, ch + after) {
                let v = xs[base + k * inner]
                sum += v * v
            }
            y[i] = xs[i] / pow(Double(bias) + Double(alpha) / Double(size) * sum, Double(beta))
        }
        return [Tensor(x.dtype, x.shape, doubles: y)]
    }
}

// MARK: - Helpers

private func checkNormInput(_ op: String, _ x: TensorType, minRank: Int) throws -> TensorType {
    try require(x.dtype.isFloat, "\(op): input must be a float tensor, got \(x.dtype.rawValue)")
    try require(x.shape.rank >= minRank, "\(op): input must have rank \(minRank) or more, got shape \(x.shape)")
    return x
}

private func checkPerChannel(_ op: String, _ what: String, _ t: TensorType, channels: Int) throws {
    try require(t.dtype.isFloat, "\(op): \(what) must be a float tensor, got \(t.dtype.rawValue)")
    try require(t.shape == Shape([channels]), "\(op): \(what) must have shape [\(channels)], got \(t.shape)")
}

/// Whether `s` broadcasts to `t` without changing `t` (numpy rules, `s` aligned right).
func broadcastsUnidirectionally(_ s: Shape, to t: Shape) -> Bool {
    guard s.rank <= t.rank else { return false }
    let offset = t.rank - s.rank
    return (0..<s.rank).allSatisfy { s[$0] == 1 || s[$0] == t[$0 + offset] }
}

/// Replaces each contiguous block of `blockSize` values by `(v - mean) / sqrt(var + epsilon)`
/// (population variance, computed in two passes).
private func standardizeBlocks(_ y: inout [Double], blockSize: Int, epsilon: Double) {
    guard blockSize > 0 else { return }
    for start in stride(from: 0, to: y.count, by: blockSize) {
        let block = start..<(start + blockSize)
        var mean = 0.0
        for i in block { mean += y[i] }
        mean /= Double(blockSize)
        var variance = 0.0
        for i in block { variance += (y[i] - mean) * (y[i] - mean) }
        variance /= Double(blockSize)
        let invStd = 1 / (variance + epsilon).squareRoot()
        for i in block { y[i] = (y[i] - mean) * invStd }
    }
}

/// y = y * scale[c] + bias[c] for `[N, C, inner]` data.
private func applyChannelAffine(_ y: inout [Double], scale: [Double], bias: [Double], channels: Int, inner: Int) {
    guard inner > 0 else { return }
    for i in 0..<y.count {
        let ch = (i / inner) % channels
        y[i] = y[i] * scale[ch] + bias[ch]
    }
}
