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
