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
