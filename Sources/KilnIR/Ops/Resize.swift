// Resize (and Upsample, which imports as Resize): nearest, linear and cubic interpolation
// over any axes, with the ONNX coordinate transformation modes.

public enum ResizeMode: String, Hashable, Sendable, CaseIterable { case nearest, linear, cubic }

public enum CoordinateTransform: String, Hashable, Sendable, CaseIterable {
    case halfPixel = "half_pixel"
    case halfPixelSymmetric = "half_pixel_symmetric"
    case pytorchHalfPixel = "pytorch_half_pixel"
    case alignCorners = "align_corners"
    case asymmetric
    case tfCropAndResize = "tf_crop_and_resize"
    /// (x + 0.5) / scale: TensorFlow's half-pixel-centers nearest (opset 11; deprecated in 13).
    case tfHalfPixelForNN = "tf_half_pixel_for_nn"
}

public enum NearestMode: String, Hashable, Sendable, CaseIterable {
    case roundPreferFloor = "round_prefer_floor"
    case roundPreferCeil = "round_prefer_ceil"
    case floor, ceil
}

/// Resize with the output shape and per-axis scales resolved at import (from the scales or
/// sizes input, `axes` and `keep_aspect_ratio_policy`). `roi` (begins then ends, per axis)
/// is used by tf_crop_and_resize only.
public struct Resize: Hashable, Sendable {
    public var mode: ResizeMode
    public var coordinateTransform: CoordinateTransform
    public var nearestMode: NearestMode
    public var cubicCoeffA: Float
    public var excludeOutside: Bool
    public var extrapolationValue: Float
    public var antialias: Bool
    /// One scale per axis of the input (1 for untouched axes).
    public var scales: [Float]
    /// The output shape.
    public var sizes: [Int]
    public var roi: [Float]

    public init(mode: ResizeMode, coordinateTransform: CoordinateTransform, nearestMode: NearestMode,
                cubicCoeffA: Float, excludeOutside: Bool, extrapolationValue: Float, antialias: Bool,
                scales: [Float], sizes: [Int], roi: [Float]) {
        self.mode = mode; self.coordinateTransform = coordinateTransform; self.nearestMode = nearestMode
        self.cubicCoeffA = cubicCoeffA; self.excludeOutside = excludeOutside
        self.extrapolationValue = extrapolationValue; self.antialias = antialias
        self.scales = scales; self.sizes = sizes; self.roi = roi
    }
}

extension Resize: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "resize")
        let x = operands[0]
        let r = x.shape.rank
        switch mode {
        case .nearest:
            break
        case .linear, .cubic:
            try require(x.dtype.isFloat || x.dtype.isInteger,
                        "resize: \(mode.rawValue) mode needs a numeric input, got \(x.dtype.rawValue)")
        }
        try require(sizes.count == r, "resize: sizes has \(sizes.count) values, expected \(r) (the input rank)")
        try require(scales.count == r, "resize: scales has \(scales.count) values, expected \(r) (the input rank)")
        try require(sizes.allSatisfy { $0 >= 0 }, "resize: sizes must be non-negative, got \(sizes)")
        try require(scales.allSatisfy { $0.isFinite && $0 > 0 }, "resize: scales must be positive, got \(scales)")
        if coordinateTransform == .tfCropAndResize {
            try require(roi.count == 2 * r,
                        "resize: tf_crop_and_resize needs roi with \(2 * r) values (begins, then ends), got \(roi.count)")
        }
        try require(roi.allSatisfy { $0.isFinite }, "resize: roi values must be finite, got \(roi)")
        for axis in 0..<r where x.shape[axis] == 0 {
            try require(sizes[axis] == 0, "resize: axis \(axis) is empty and cannot be resized to \(sizes[axis])")
        }
        if antialias && mode != .nearest {
            // The antialiasing filter spans about 4/scale taps; keep it bounded.
            try require(scales.allSatisfy { $0 >= 1e-4 }, "resize: antialias needs scales of at least 1e-4, got \(scales)")
        }
        if let q = x.quantization, let axis = q.axis, axis < r, sizes[axis] != x.shape[axis] {
            throw KilnError("resize: cannot resize axis \(axis), which carries per-axis quantization")
        }
        return [TensorType(x.dtype, Shape(sizes), quantization: x.quantization)]
    }
}
