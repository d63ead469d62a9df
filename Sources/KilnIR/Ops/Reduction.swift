// Reductions and ops along one axis: Reduce*, ArgMax/ArgMin, Softmax/LogSoftmax, CumSum, TopK.

public enum ReduceKind: String, Hashable, Sendable, CaseIterable {
    case sum, mean, max, min, prod, l1, l2, sumSquare, logSum, logSumExp
}

/// Reduce over `axes` (normalized, sorted, non-empty; "all axes" is spelled out at import
/// and `noop_with_empty_axes` with no axes imports as identity).
public struct Reduce: Hashable, Sendable {
    public var kind: ReduceKind
    public var axes: [Int]
    public var keepDims: Bool
    public init(kind: ReduceKind, axes: [Int], keepDims: Bool) {
        self.kind = kind; self.axes = axes; self.keepDims = keepDims
    }
}

/// ArgMax / ArgMin along one axis; result i64.
public struct ArgReduce: Hashable, Sendable {
    public var isMax: Bool
    public var axis: Int
    public var keepDims: Bool
    public var selectLastIndex: Bool
    public init(isMax: Bool, axis: Int, keepDims: Bool, selectLastIndex: Bool) {
        self.isMax = isMax; self.axis = axis; self.keepDims = keepDims; self.selectLastIndex = selectLastIndex
    }
}

/// Softmax or LogSoftmax along one axis (opset-13 semantics; older opsets' 2-D coercion is
/// rewritten with reshapes at import).
public struct Softmax: Hashable, Sendable {
    public var axis: Int
    public var log: Bool
    public init(axis: Int, log: Bool) { self.axis = axis; self.log = log }
}

/// CumSum along a static axis.
public struct CumSum: Hashable, Sendable {
    public var axis: Int
    public var exclusive: Bool
    public var reverse: Bool
    public init(axis: Int, exclusive: Bool, reverse: Bool) {
        self.axis = axis; self.exclusive = exclusive; self.reverse = reverse
    }
}

/// TopK with static k; results: values, indices (i64).
public struct TopK: Hashable, Sendable {
    public var axis: Int
    public var k: Int
    public var largest: Bool
    public var sorted: Bool
    public init(axis: Int, k: Int, largest: Bool, sorted: Bool) {
        self.axis = axis; self.k = k; self.largest = largest; self.sorted = sorted
    }
}
