// Indexing and generators: Gather, GatherElements, Shape, Size, Range, OneHot, Trilu.

/// Gather along a normalized axis; operand 1 holds i32/i64 indices (negative wrap).
public struct Gather: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

public struct GatherElements: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

/// Shape of the operand as i64 (dims `start..<end`, normalized at import).
public struct ShapeOf: Hashable, Sendable {
    public var start: Int
    public var end: Int
    public init(start: Int, end: Int) { self.start = start; self.end = end }
}

/// Size (element count) of the operand as an i64 scalar.
public struct SizeOf: Hashable, Sendable { public init() {} }

/// Range(start, limit, delta): scalar operands; `count` is the static result length.
public struct Range: Hashable, Sendable {
    public var count: Int
    public init(count: Int) { self.count = count }
}

/// OneHot(indices, values[2]) with static depth; result has `values`' dtype.
public struct OneHot: Hashable, Sendable {
    public var axis: Int
    public var depth: Int
    public init(axis: Int, depth: Int) { self.axis = axis; self.depth = depth }
}

/// Trilu with static diagonal offset k.
public struct Trilu: Hashable, Sendable {
    public var upper: Bool
    public var k: Int
    public init(upper: Bool, k: Int) { self.upper = upper; self.k = k }
}
