// Layout and data movement: Reshape (also Flatten, Squeeze, Unsqueeze), Transpose, Concat,
// Split, Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Identity. These work on any
// dtype by moving raw elements.

/// Reshape to a fully resolved shape (0 and -1 resolved at import).
public struct Reshape: Hashable, Sendable {
    public var shape: [Int]
    public init(shape: [Int]) { self.shape = shape }
}

public struct Transpose: Hashable, Sendable {
    public var perm: [Int]
    public init(perm: [Int]) { self.perm = perm }
}

/// Concat along a normalized (non-negative) axis.
public struct Concat: Hashable, Sendable {
    public var axis: Int
    public init(axis: Int) { self.axis = axis }
}

/// Split along a normalized axis into pieces of the given sizes (one result each).
public struct Split: Hashable, Sendable {
    public var axis: Int
    public var sizes: [Int]
    public init(axis: Int, sizes: [Int]) { self.axis = axis; self.sizes = sizes }
}

/// Slice with ONNX semantics: one entry per sliced axis; starts/ends may be negative or
/// out of range and are clamped per the spec; steps non-zero.
public struct Slice: Hashable, Sendable {
    public var starts: [Int]
    public var ends: [Int]
    public var axes: [Int]
    public var steps: [Int]
    public init(starts: [Int], ends: [Int], axes: [Int], steps: [Int]) {
        self.starts = starts; self.ends = ends; self.axes = axes; self.steps = steps
    }
}

/// Expand (broadcast) to `shape`, which is the broadcast of the input shape and the ONNX
/// shape input, resolved at import.
public struct Expand: Hashable, Sendable {
    public var shape: [Int]
    public init(shape: [Int]) { self.shape = shape }
}

public struct Tile: Hashable, Sendable {
    public var repeats: [Int]
    public init(repeats: [Int]) { self.repeats = repeats }
}

public enum PadMode: String, Hashable, Sendable, CaseIterable {
    case constant, reflect, edge, wrap
}

/// Pad: `pads` has begin values for every axis then end values (negative crops);
/// `value` is the constant-mode fill.
public struct Pad: Hashable, Sendable {
    public var mode: PadMode
    public var pads: [Int]
    public var value: Double
    public init(mode: PadMode, pads: [Int], value: Double) {
        self.mode = mode; self.pads = pads; self.value = value
    }
}

public struct DepthToSpace: Hashable, Sendable {
    public var blockSize: Int
    /// true for "CRD" mode, false for the default "DCR".
    public var crd: Bool
    public init(blockSize: Int, crd: Bool) { self.blockSize = blockSize; self.crd = crd }
}

public struct SpaceToDepth: Hashable, Sendable {
    public var blockSize: Int
    public init(blockSize: Int) { self.blockSize = blockSize }
}

/// Identity; inference-time Dropout also imports as this.
public struct Identity: Hashable, Sendable { public init() {} }
