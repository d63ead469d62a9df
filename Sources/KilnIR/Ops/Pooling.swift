import Foundation

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

extension Pool: OpRule {
    private var name: String { Op.pool(self).mnemonic }

    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, name)
        let x = operands[0]
        switch kind {
        case .max:
            try require(x.dtype.isFloat || x.dtype == .i8 || x.dtype == .u8,
                        "\(name): input must be a float, i8 or u8 tensor, got \(x.dtype.rawValue)")
        case .average:
            try require(x.dtype.isFloat, "\(name): input must be a float tensor, got \(x.dtype.rawValue)")
        case .lp(let p):
            try require(x.dtype.isFloat, "\(name): input must be a float tensor, got \(x.dtype.rawValue)")
            try require(p >= 1, "\(name): p must be at least 1, got \(p)")
        }
        try require((3...5).contains(x.shape.rank),
                    "\(name): input must have 1 to 3 spatial axes ([N,C,*spatial]), got shape \(x.shape)")
        let s = x.shape.rank - 2
        try require(kernel.count == s, "\(name): kernel has \(kernel.count) values, expected \(s) (one per spatial axis)")
        try require(kernel.allSatisfy { $0 >= 1 }, "\(name): kernel sizes must be positive, got \(kernel)")
        try checkWindowAttributes(name, spatial: s, strides: strides, pads: pads, dilations: dilations,
                                  sizes: Array(x.shape.dims[2...]) + kernel)
        var out = [x.shape[0], x.shape[1]]
        for i in 0..<s {
            let size = x.shape[2 + i], extent = dilations[i] * (kernel[i] - 1) + 1
            let room = size + pads[i] + pads[s + i] - extent
            try require(room >= 0, "\(name): kernel extent \(extent) exceeds padded input size \(room + extent) on spatial axis \(i)")
            var o = (ceilMode ? ceilDiv(room, strides[i]) : room / strides[i]) + 1
            // ceil mode: the last window must start inside the input or its left padding.
            if ceilMode && (o - 1) * strides[i] >= size + pads[i] { o -= 1 }
            out.append(o)
        }
        let quantization: Quantization?
        switch kind {
        case .max: quantization = x.quantization
        case .average, .lp: quantization = nil
        }
        return [TensorType(x.dtype, Shape(out), quantization: quantization)]
    }

    /// Algorithm: for every output cell, visit the window taps `o*stride - padBegin +
    /// k*dilation` on each axis. Taps inside the input contribute (max, sum, or sum of
    /// |x|^p); taps inside the input or the explicit padding are counted for average
    /// pooling with `countIncludePad` (taps that only ceil mode adds are never counted).
    /// Max follows ONNX Runtime's 2-D max pool: a window with a tap left or right of the input
    /// (W padding or ceil overhang) yields at least -Float.greatestFiniteMagnitude, a window
    /// with no tap inside the input (reachable with dilation) exactly that, the others their
    /// max (-inf for all -inf inputs; taps above or below the input are skipped); average
    /// then yields 0.
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let x = operands[0], out = results[0]
        let geo = WindowGeometry(input: Array(x.shape.dims[2...]), output: Array(out.shape.dims[2...]),
                                 kernel: kernel, strides: strides, pads: pads, dilations: dilations)
        let planes = x.shape[0] * x.shape[1]
        let inCount = geo.inputCount, outCount = geo.outputCount
        let (id, ih, iw) = (geo.input[0], geo.input[1], geo.input[2])
        let (oh, ow) = (geo.output[1], geo.output[2])
        let xs = x.doubles
        var y = [Double](repeating: 0, count: out.shape.elementCount)

        for plane in 0..<planes {
            let xBase = plane * inCount, yBase = plane * outCount
            for oz in 0..<geo.output[0] {
                for oy in 0..<oh {
                    for ox in 0..<ow {
                        var acc = kind == .max ? -Double.infinity : 0.0
                        var valid = 0, counted = 0, outside = false
                        for kz in 0..<geo.kernel[0] {
                            let iz = oz * geo.strides[0] - geo.padBegin[0] + kz * geo.dilations[0]
                            for ky in 0..<geo.kernel[1] {
                                let iy = oy * geo.strides[1] - geo.padBegin[1] + ky * geo.dilations[1]
                                for kx in 0..<geo.kernel[2] {
                                    let ix = ox * geo.strides[2] - geo.padBegin[2] + kx * geo.dilations[2]
                                    if iz < id + geo.padEnd[0] && iy < ih + geo.padEnd[1] && ix < iw + geo.padEnd[2] {
                                        counted += 1
                                    }
                                    guard iz >= 0 && iz < id && iy >= 0 && iy < ih && ix >= 0 && ix < iw else {
                                        if ix < 0 || ix >= iw { outside = true }
                                        continue
                                    }
                                    let v = xs[xBase + (iz * ih + iy) * iw + ix]
                                    valid += 1
                                    switch kind {
                                    case .max:
                                        // NaN propagates: once acc is NaN no comparison replaces it.
                                        if v > acc || v.isNaN { acc = v }
                                    case .average: acc += v
                                    case .lp(let p): acc += pow(abs(v), Double(p))
                                    }
                                }
                            }
                        }
                        let result: Double
                        switch kind {
                        case .max: result = (outside || valid == 0) && acc < -Double(Float.greatestFiniteMagnitude) ? -Double(Float.greatestFiniteMagnitude) : acc
                        case .average:
                            let divisor = countIncludePad ? counted : valid
                            result = divisor > 0 ? acc / Double(divisor) : 0
                        case .lp(let p): result = pow(acc, 1 / Double(p))
                        }
                        y[yBase + (oz * oh + oy) * ow + ox] = result
                    }
                }
            }
        }
        var t = Tensor(out.dtype, out.shape, doubles: y)
        t.type.quantization = out.quantization
        return [t]
    }
}
