// Pooling: MaxPool, AveragePool, LpPool over N-d spatial axes. (GlobalAveragePool and
// GlobalMaxPool import as `reduce` over the spatial axes with keepdims.)

public enum PoolKind: Hashable, Sendable {
    case max
    case average
    /// LpPool with exponent p.
    case lp(p: Int)
}

public struct Pool: Hashable, Sendable {
    public var kind: PoolKind
    public var kernel: [Int]
    public var strides: [Int]
    /// Begin pads for every spatial axis, then end pads; `auto_pad` resolved at import.
    public var pads: [Int]
    public var dilations: [Int]
    public var ceilMode: Bool
    /// AveragePool only: count padded cells in the divisor.
    public var countIncludePad: Bool

    public init(kind: PoolKind, kernel: [Int], strides: [Int], pads: [Int], dilations: [Int],
                ceilMode: Bool, countIncludePad: Bool) {
        self.kind = kind; self.kernel = kernel; self.strides = strides; self.pads = pads
        self.dilations = dilations; self.ceilMode = ceilMode; self.countIncludePad = countIncludePad
    }
}
