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

// MARK: - Type rules (evaluation in Reduction+Eval.swift)

/// The result shape of reducing `shape` over `axes`: reduced dims become 1 or disappear.
private func reducedShape(_ shape: Shape, _ axes: [Int], keepDims: Bool) -> Shape {
    var dims: [Int] = []
    for a in 0..<shape.rank {
        if !axes.contains(a) { dims.append(shape.dims[a]) } else if keepDims { dims.append(1) }
    }
    return Shape(dims)
}

/// Checks the single operand of an op along one axis and returns the normalized axis.
private func checkAxisOperand(_ operands: [TensorType], _ axis: Int, _ what: String, floatOnly: Bool = false) throws -> Int {
    try expectOperands(operands, 1...1, what)
    let x = operands[0]
    if floatOnly {
        try require(x.dtype.isFloat, "\(what) expects a float operand, got \(x.dtype.rawValue)")
    } else {
        try require(x.dtype.isNumeric, "\(what) expects a numeric operand, got bool")
    }
    try require(x.shape.rank >= 1, "\(what) expects an operand of rank >= 1, got a scalar")
    return try normalizeAxis(axis, rank: x.shape.rank, what)
}

extension Softmax: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        _ = try checkAxisOperand(operands, axis, log ? "log_softmax" : "softmax", floatOnly: true)
        return [TensorType(operands[0].dtype, operands[0].shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let a = try normalizeAxis(axis, rank: x.shape.rank, "softmax")
        return [evaluateSoftmax(x, axis: a)]
    }
}

extension Reduce: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        let what = "reduce_" + snakeCase(kind.rawValue)
        try expectOperands(operands, 1...1, what)
        let x = operands[0]
        // Max and min are also defined on bool (any / all); the other kinds need numbers.
        try require(x.dtype.isNumeric || kind == .max || kind == .min,
                    "\(what) expects a numeric operand, got bool")
        try require(!axes.isEmpty, "\(what): no axes to reduce")
        for (k, a) in axes.enumerated() {
            try require(a >= 0 && a < x.shape.rank, "\(what): axis \(a) is out of range for rank \(x.shape.rank)")
            try require(k == 0 || axes[k - 1] < a, "\(what): axes \(axes) must be sorted and distinct")
        }
        return [TensorType(x.dtype, reducedShape(x.shape, axes, keepDims: keepDims))]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        [evaluateReduce(operands[0], results[0])]
    }
}

extension ArgReduce: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        let what = isMax ? "arg_max" : "arg_min"
        let a = try checkAxisOperand(operands, axis, what)
        let x = operands[0]
        try require(x.shape.dims[a] > 0, "\(what): axis \(a) of \(x.shape) is empty")
        return [TensorType(.i64, reducedShape(x.shape, [a], keepDims: keepDims))]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let a = try normalizeAxis(axis, rank: x.shape.rank, "arg_reduce")
        return [Tensor(.i64, results[0].shape, int64s: evaluateArgReduce(x, axis: a))]
    }
}

extension CumSum: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        _ = try checkAxisOperand(operands, axis, "cum_sum")
        return [TensorType(operands[0].dtype, operands[0].shape)]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let a = try normalizeAxis(axis, rank: x.shape.rank, "cum_sum")
        return [evaluateCumSum(x, axis: a)]
    }
}

extension TopK: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        let a = try checkAxisOperand(operands, axis, "top_k")
        let x = operands[0]
        try require(k >= 0 && k <= x.shape.dims[a], "top_k: k = \(k) is out of range for axis \(a) of size \(x.shape.dims[a])")
        var dims = x.shape.dims
        dims[a] = k
        let q = try movedQuantization(x.quantization, "top_k") { $0 == a ? nil : $0 }
        return [TensorType(x.dtype, Shape(dims), quantization: q), TensorType(.i64, Shape(dims))]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0]
        let a = try normalizeAxis(axis, rank: x.shape.rank, "top_k")
        let picked = evaluateTopK(x, axis: a)
        return [x.moved(picked.sources, to: results[0]), Tensor(.i64, results[1].shape, int64s: picked.indices)]
    }
}
