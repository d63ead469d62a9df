// Reference evaluation of resize.

import Foundation

extension Resize {
    /// Algorithm:
    /// 1. Each output coordinate y on an axis maps to a source coordinate x (the
    ///    coordinate transform; `sourceCoordinate`).
    /// 2. nearest: x rounds to one input index per axis (`nearestMode`), clamped to the
    ///    input; the output gathers those elements as raw values (any dtype).
    /// 3. linear / cubic are separable: the axes are resized one after another (in
    ///    order, skipping identity axes), each output value being a weighted sum of the
    ///    n input values around x (`taps`), indices clamped to the input (edge padding).
    /// With tf_crop_and_resize, an x outside [0, in-1] yields `extrapolationValue`.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0], out = results[0]
        switch mode {
        case .nearest: return [nearest(x, out)]
        case .linear, .cubic: return [interpolated(x, out)]
        }
    }

    private func nearest(_ x: Tensor, _ out: TensorType) -> Tensor {
        let r = x.shape.rank
        // Per axis and output coordinate: the source index, or -1 to extrapolate.
        let maps: [[Int]] = (0..<r).map { axis in
            let n = x.shape[axis]
            return (0..<sizes[axis]).map { y in
                let s = sourceCoordinate(y, axis: axis, inLength: n)
                if coordinateTransform == .tfCropAndResize && (s < 0 || s > Double(n - 1)) { return -1 }
                return min(max(nearestIndex(min(max(s, -2), Double(n + 1))), 0), n - 1)
            }
        }
        let inStrides = x.shape.strides
        var sources = [Int](repeating: 0, count: out.shape.elementCount)
        for flat in 0..<sources.count {
            let idx = out.shape.index(of: flat)
            var src = 0
            for axis in 0..<r {
                let i = maps[axis][idx[axis]]
                if i < 0 { src = -1; break }
                src += i * inStrides[axis]
            }
            sources[flat] = src
        }
        let fill = Tensor(x.dtype, [], doubles: [Double(extrapolationValue)])
        var t = x.picking(sources, shape: out.shape, fill: fill)
        t.type.quantization = out.quantization
        return t
    }

    private func nearestIndex(_ s: Double) -> Int {
        let f = s.rounded(.down)
        let frac = s - f
        let base = Int(f)
        if frac == 0 { return base }
        switch nearestMode {
        case .roundPreferFloor: return frac <= 0.5 ? base : base + 1
        case .roundPreferCeil: return frac < 0.5 ? base : base + 1
        case .floor: return base
        case .ceil: return base + 1
        }
    }

    private func interpolated(_ x: Tensor, _ out: TensorType) -> Tensor {
        var data = x.doubles
        var shape = x.shape
        for axis in 0..<shape.rank {
            let n = shape[axis], m = sizes[axis]
            let trivialRoi = coordinateTransform != .tfCropAndResize || (roi[axis] == 0 && roi[axis + shape.rank] == 1)
            if scales[axis] == 1 && m == n && trivialRoi { continue }
            data = resizeAxis(data, shape: shape, axis: axis)
            shape[axis] = m
        }
        if out.dtype.isFloat {
            var t = Tensor(out.dtype, out.shape, doubles: data)
            t.type.quantization = out.quantization
            return t
        }
        // Integer results round half to even and saturate (ONNX's saturate_cast).
        let (lo, hi) = out.dtype.integerRange
        let rounded = data.map { v -> Double in
            guard !v.isNaN else { return 0 }
            return min(max(v.rounded(.toNearestOrEven), Double(lo)), Double(hi))
        }
        var t = Tensor(out.dtype, out.shape, doubles: rounded)
        t.type.quantization = out.quantization
        return t
    }

    /// Resizes `data` of `shape` along `axis` to `sizes[axis]`.
    private func resizeAxis(_ data: [Double], shape: Shape, axis: Int) -> [Double] {
        let n = shape[axis], m = sizes[axis]
        let inner = shape.dims[(axis + 1)...].reduce(1, *)
        let outer = shape.dims[..<axis].reduce(1, *)
        let plan = (0..<m).map { taps(for: $0, axis: axis, inLength: n) }
        let extrapolation = Double(extrapolationValue)
        var result = [Double](repeating: 0, count: outer * m * inner)
        for o in 0..<outer {
            for y in 0..<m {
                let dst = (o * m + y) * inner
                guard let (indices, weights) = plan[y] else {
                    for i in 0..<inner { result[dst + i] = extrapolation }
                    continue
                }
                for (index, w) in zip(indices, weights) {
                    let src = (o * n + index) * inner
                    for i in 0..<inner { result[dst + i] += w * data[src + i] }
                }
            }
        }
        return result
    }

    /// Input indices (clamped) and weights for output coordinate `y`, nil to extrapolate.
    ///
    /// With x = p + ratio (ratio in (0, 1]; an integer x counts as ratio 1 from p = x-1),
    /// the n taps are p + start + j, j in 0..<n, with weight kernel(s * (start + j -
    /// ratio)). Without antialias s = 1: linear has taps p, p+1; cubic p-1 ... p+2. With
    /// antialias s = min(scale, 1) stretches the kernel over more taps and the weights
    /// are normalized to sum 1.
    private func taps(for y: Int, axis: Int, inLength n: Int) -> (indices: [Int], weights: [Double])? {
        let x0 = sourceCoordinate(y, axis: axis, inLength: n)
        if coordinateTransform == .tfCropAndResize && (x0 < 0 || x0 > Double(n - 1)) { return nil }
        let s = antialias ? min(Double(scales[axis]), 1) : 1
        let a = Double(cubicCoeffA)
        let support: Double
        switch mode {
        case .linear, .nearest: support = 1
        case .cubic: support = 2
        }
        let start = Int((-support / s).rounded(.down)) + 1
        let count = 2 - 2 * start
        // Far outside the input every tap clamps to the same edge element; bounding x keeps
        // the integer conversion safe without changing the result.
        let margin = Double(count + 2)
        let x = min(max(x0, -margin), Double(n) + margin)
        var p = Int(x.rounded(.down))
        var ratio = x - Double(p)
        if ratio == 0 { ratio = 1; p -= 1 }
        var indices: [Int] = [], weights: [Double] = []
        for j in 0..<count {
            let t = abs(s * (Double(start + j) - ratio))
            let w: Double
            switch mode {
            case .cubic:
                if t <= 1 { w = ((a + 2) * t - (a + 3)) * t * t + 1 } else if t < 2 { w = ((a * t - 5 * a) * t + 8 * a) * t - 4 * a } else { w = 0 }
            case .linear, .nearest:
                w = max(0, 1 - t)
            }
            let index = p + start + j
            indices.append(min(max(index, 0), n - 1))
            weights.append(excludeOutside && (index < 0 || index >= n) ? 0 : w)
        }
        if antialias || excludeOutside {
            let sum = weights.reduce(0, +)
            if sum != 0 { weights = weights.map { $0 / sum } }
        }
        return (indices, weights)
    }

    /// Source coordinate of output coordinate `y` on `axis` (ONNX coordinate transforms), in
    /// Float with ONNX Runtime's expressions: its CPU Resize computes them in float, and a
    /// nearest index can land on the other side of an integer than a double formula gives
    /// (half_pixel floor at scale 0.6). length_resized is the output length m, as in
    /// onnxruntime and PyTorch (the onnx.reference implementation uses the unrounded
    /// scale * n for align_corners, which only differs when a scale does not give a whole
    /// length, onnx/onnx#2462).
    private func sourceCoordinate(_ y: Int, axis: Int, inLength n: Int) -> Double {
        let scale = scales[axis]
        let m = sizes[axis]
        let yf = Float(y), lengthIn = Float(n), lengthOut = Float(m)
        // ONNX Runtime maps an axis of scale 1 one to one (tf_half_pixel_for_nn would shift it
        // by half a pixel). It also ignores tf_crop_and_resize's roi there; Kiln follows the
        // ONNX spec (and its reference) and crops.
        if scale == 1 && m == n && coordinateTransform != .tfCropAndResize { return Double(y) }
        switch coordinateTransform {
        case .halfPixel:
            return Double((yf + 0.5) / scale - 0.5)
        case .halfPixelSymmetric:
            let adjustment = lengthOut / (scale * lengthIn)
            let offset = lengthIn / 2 * (1 - adjustment)
            return Double(Float(Double(offset) + (Double(yf) + 0.5) / Double(scale) - 0.5))
        case .pytorchHalfPixel:
            return m > 1 ? Double((yf + 0.5) / scale - 0.5) : 0
        case .tfHalfPixelForNN:
            return Double((yf + 0.5) / scale)
        case .alignCorners:
            return m > 1 ? Double(yf * (lengthIn - 1) / (lengthOut - 1)) : 0
        case .asymmetric:
            return Double(yf / scale)
        case .tfCropAndResize:
            let begin = roi[axis], end = roi[axis + sizes.count]
            return m > 1 ? Double(begin * (lengthIn - 1) + yf * (end - begin) * (lengthIn - 1) / (lengthOut - 1))
                : Double(Float(0.5 * (Double(begin) + Double(end)) * Double(lengthIn - 1)))
        }
    }
}
