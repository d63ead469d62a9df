import KilnIR

// Resize (opsets 10, 11, 13, 18, 19) and the deprecated Upsample, both to `resize` with the
// output shape and per-axis scales resolved at import. Resize-10 is Upsample's definition
// (scales only, asymmetric coordinates, nearest rounds down — up on a downsampled axis, as
// ONNX Runtime does) that also allows scales below 1. Output lengths are computed in float.

extension NodeContext {
    /// Resize(X, roi?, scales?, sizes?).
    ///
    /// Algorithm:
    /// 1. `axes` (opset 18) lists the resized axes, default all; scales/sizes/roi cover
    ///    those axes and are spread to every axis (scale 1, size unchanged, roi 0…1).
    /// 2. With scales: `out = floor(in * scale)` in float (tf_crop_and_resize multiplies by the roi
    ///    extent too). With sizes: `scale = out / in`; `keep_aspect_ratio_policy`
    ///    not_larger / not_smaller takes the min / max scale over the axes and rounds
    ///    `scale * in` half away from zero, in float (ONNX Runtime's arithmetic).
    func resize() throws -> [ValueID?] {
        if opset < 11 { return try upsample(downscale: true) }
        let x = try input(0)
        let dims = type(x).shape.dims
        let rank = dims.count
        let axes = try attr.ints("axes").map { try $0.map { try normalizeAxis($0, rank: rank) } } ?? Array(0..<rank)
        try require(Set(axes).count == axes.count, "attribute 'axes' repeats an axis")

        let modeName = try attr.string("mode", default: "nearest")
        guard let mode = ResizeMode(rawValue: modeName) else { throw attr.invalid("mode", "= '\(modeName)' is not supported") }
        let ctmName = try attr.string("coordinate_transformation_mode", default: "half_pixel")
        guard let ctm = CoordinateTransform(rawValue: ctmName) else {
            throw attr.invalid("coordinate_transformation_mode", "= '\(ctmName)' is not supported")
        }
        let nearestName = try attr.string("nearest_mode", default: "round_prefer_floor")
        guard let nearest = NearestMode(rawValue: nearestName) else {
            throw attr.invalid("nearest_mode", "= '\(nearestName)' is not supported")
        }

        var roi: [Float] = []
        if ctm == .tfCropAndResize, let t = try constant(1, "roi"), t.count > 0 {
            let given = t.floats
            try require(given.count == 2 * axes.count, "roi must have \(2 * axes.count) entries, got \(given.count)")
            try require(given.allSatisfy(\.isFinite), "roi \(given) must be finite")
            roi = [Float](repeating: 0, count: rank) + [Float](repeating: 1, count: rank)
            for (k, a) in axes.enumerated() {
                roi[a] = given[k]
                roi[rank + a] = given[axes.count + k]
            }
        }

        var scales = [Float](repeating: 1, count: rank)
        var sizes = dims
        if let t = try constant(2, "scales"), t.count > 0 {
            let given = t.floats
            try require(given.count == axes.count, "scales must have \(axes.count) entries, got \(given.count)")
            for (k, a) in axes.enumerated() {
                try require(given[k] > 0, "scales \(given) must be positive")
                scales[a] = given[k]
                // In float, as ONNX Runtime computes it: 10 × 0.7f is 7 there (6 in double).
                let extent: Float = roi.isEmpty ? 1 : roi[rank + a] - roi[a]
                let length = Float(dims[a]) * extent * given[k]
                try require(length.isFinite && length < 1e12, "scales \(given) give an output too large")
                sizes[a] = Int(max(length, 0).rounded(.down))
            }
        } else if let t = try constant(3, "sizes"), t.count > 0 {
            let given = t.ints
            try require(given.count == axes.count, "sizes must have \(axes.count) entries, got \(given.count)")
            try require(axes.allSatisfy { dims[$0] > 0 }, "cannot resize an empty axis to a given size")
            try require(given.allSatisfy { $0 >= 0 && $0 < 1 << 40 }, "sizes \(given) must lie in [0, 2^40)")
            for (k, a) in axes.enumerated() {
                sizes[a] = given[k]
                scales[a] = Float(Double(given[k]) / Double(dims[a]))
            }
            let policy = try attr.string("keep_aspect_ratio_policy", default: "stretch")
            if policy != "stretch" {
                let ratios = axes.enumerated().map { k, a in Float(given[k]) / Float(dims[a]) }
                let common: Float
                switch policy {
                case "not_larger": common = ratios.min() ?? 1
                case "not_smaller": common = ratios.max() ?? 1
                default: throw attr.invalid("keep_aspect_ratio_policy", "= '\(policy)' is not supported")
                }
                for a in axes {
                    scales[a] = common
                    let length = (common * Float(dims[a])).rounded(.toNearestOrAwayFromZero)
                    try require(length < 1e12, "sizes \(given) with keep_aspect_ratio_policy \(policy) give an output too large")
                    sizes[a] = Int(length)
                }
            }
        } else {
            throw KilnError("needs scales (input 2) or sizes (input 3)")
        }

        let total = sizes.reduce(1.0) { $0 * Double($1) }
        try require(total < Double(1 << 40), "the output shape \(sizes) is too large (\(total) elements)")
        let op = Resize(mode: mode, coordinateTransform: ctm, nearestMode: nearest,
                        cubicCoeffA: try attr.float("cubic_coeff_a", default: -0.75),
                        excludeOutside: try attr.bool("exclude_outside", default: false),
                        extrapolationValue: try attr.float("extrapolation_value", default: 0),
                        antialias: try attr.bool("antialias", default: false),
                        scales: scales, sizes: sizes, roi: roi)
        return [try emit1(.resize(op), [x])]
    }

    /// Upsample(X, scales): `out = floor(in * scale)` with asymmetric coordinates, nearest
    /// rounding down (the pre-Resize behaviour) or linear interpolation. Scales must be at
    /// least 1 unless `downscale` (Resize-10, which only asks them to be positive).
    func upsample(downscale: Bool = false) throws -> [ValueID?] {
        let x = try input(0)
        let dims = type(x).shape.dims
        let scales = try legacyUpsampleScales() ?? constant(1, "scales")?.floats ?? attr.floats("scales")
        guard let scales, scales.count == dims.count else {
            throw KilnError("scales must have one entry per axis of \(type(x).shape)")
        }
        if downscale {
            try require(scales.allSatisfy { $0 > 0 && $0.isFinite }, "scales \(scales) must be positive")
        } else {
            try require(scales.allSatisfy { $0 >= 1 && $0.isFinite }, "scales \(scales) must be at least 1")
        }
        let modeName = try attr.string("mode", default: "nearest")
        let mode: ResizeMode
        switch modeName {
        case "nearest": mode = .nearest
        case "linear", "bilinear": mode = .linear
        default: throw attr.invalid("mode", "= '\(modeName)' is not supported")
        }
        try require(zip(dims, scales).allSatisfy { Double($0) * Double($1) < 1e12 }, "scales \(scales) give an output too large")
        let sizes = zip(dims, scales).map { Int((Float($0) * $1).rounded(.down)) }  // in float, as ONNX Runtime
        // ONNX Runtime's nearest pixel before opset 11: floor(x) when upsampling an axis,
        // ceil(x) when downsampling it (Resize-10); an identity axis maps whole numbers.
        // Where every downsampled axis has a whole 1/scale (0.5, 0.25) both rules give the
        // same pixels, so floor serves a mix of down- and upsampled axes.
        let down = scales.contains { $0 < 1 && (1 / $0).rounded() != 1 / $0 }, up = scales.contains { $0 > 1 }
        if mode == .nearest && down && up {
            throw KilnError("nearest resize with scales \(scales) both down- and upsamples: before opset 11 the axes round differently (ceil, floor), which Kiln does not support")
        }
        let op = Resize(mode: mode, coordinateTransform: .asymmetric, nearestMode: down ? .ceil : .floor, cubicCoeffA: -0.75,
                        excludeOutside: false, extrapolationValue: 0, antialias: false,
                        scales: scales, sizes: sizes, roi: [])
        return [try emit1(.resize(op), [x])]
    }
}
