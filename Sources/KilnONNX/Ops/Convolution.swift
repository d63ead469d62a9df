import KilnIR

// Conv and ConvTranspose (1D/2D/3D). `auto_pad` and `output_shape` become explicit pads.

extension NodeContext {
    /// Conv(X, W, B?): kernel shape from `kernel_shape` or W's spatial dims.
    func conv() throws -> [ValueID?] {
        let x = try input(0)
        let w = try input(1)
        let b = try optionalInput(2)
        let op = try convAttributes(x: x, w: w, names: ("X", "W"))
        return [try emit1(.conv(op), [x, w] + (b.map { [$0] } ?? []))]
    }

    /// The Conv attributes (kernel_shape, strides, dilations, pads or auto_pad, group) for
    /// input `x` and weight `w`, shared by Conv, ConvInteger and QLinearConv; `names` are the
    /// inputs' names in that op's spec, for the messages.
    func convAttributes(x: ValueID, w: ValueID, names: (x: String, w: String)) throws -> Conv {
        let xs = type(x).shape.dims
        let ws = type(w).shape.dims
        try require(xs.count >= 3, "\(names.x) must have rank 3 or more (N, C, spatial…), got \(type(x).shape)")
        try require(ws.count == xs.count, "\(names.w) must have the rank of \(names.x), got \(type(w).shape)")
        let n = xs.count - 2
        let kernel = try attr.ints("kernel_shape") ?? Array(ws[2...])
        try require(kernel.count == n, "kernel_shape \(kernel) must have \(n) entries")
        let strides = try spatialList("strides", n)
        let dilations = try spatialList("dilations", n)
        let pads = try resolvePads(input: Array(xs[2...]), kernel: kernel, strides: strides, dilations: dilations)
        return Conv(strides: strides, pads: pads, dilations: dilations, group: try attr.int("group", default: 1))
    }

    /// ConvTranspose(X, W, B?). When `output_shape` is given (or `auto_pad` is SAME_*, which
    /// asks for `input * stride`), the pads follow from it per the spec:
    /// `total = stride*(in-1) + output_padding + (k-1)*dilation + 1 - out`, split evenly with
    /// the odd cell at the end for SAME_UPPER and at the beginning otherwise. A negative
    /// total (a larger output than the kernel reaches) becomes extra output padding.
    func convTranspose() throws -> [ValueID?] {
        let x = try input(0)
        let w = try input(1)
        let b = try optionalInput(2)
        let xs = type(x).shape.dims
        let ws = type(w).shape.dims
        try require(xs.count >= 3, "X must have rank 3 or more (N, C, spatial…), got \(type(x).shape)")
        try require(ws.count == xs.count, "W must have the rank of X, got \(type(w).shape)")
        let n = xs.count - 2
        let inSizes = Array(xs[2...])
        let kernel = try attr.ints("kernel_shape") ?? Array(ws[2...])
        try require(kernel.count == n, "kernel_shape \(kernel) must have \(n) entries")
        let strides = try spatialList("strides", n)
        let dilations = try spatialList("dilations", n)
        var outputPadding = try attr.ints("output_padding") ?? [Int](repeating: 0, count: n)
        try require(outputPadding.count == n, "output_padding \(outputPadding) must have \(n) entries")
        let autoPad = try attr.string("auto_pad", default: "NOTSET")
        var target: [Int]?
        if var shape = try attr.ints("output_shape") {
            if shape.count == n + 2 { shape = Array(shape[2...]) }
            try require(shape.count == n, "output_shape \(shape) must have \(n) entries")
            target = shape
        } else if autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER" {
            target = zip(inSizes, strides).map { $0 * $1 }
        }
        var pads: [Int]
        if let target {
            var begin = [Int](), end = [Int]()
            for i in 0..<n {
                var total = strides[i] * (inSizes[i] - 1) + outputPadding[i] + (kernel[i] - 1) * dilations[i] + 1 - target[i]
                if total < 0 {
                    outputPadding[i] -= total
                    total = 0
                }
                let small = total / 2
                if autoPad == "SAME_UPPER" { begin.append(small); end.append(total - small) }
                else { begin.append(total - small); end.append(small) }
            }
            pads = begin + end
        } else {
            switch autoPad {
            case "NOTSET", "":
                pads = try attr.ints("pads") ?? [Int](repeating: 0, count: 2 * n)
                try require(pads.count == 2 * n, "pads \(pads) must have \(2 * n) entries")
            case "VALID":
                pads = [Int](repeating: 0, count: 2 * n)
            default:
                throw attr.invalid("auto_pad", "= '\(autoPad)' is not supported")
            }
        }
        let op = ConvTranspose(strides: strides, pads: pads, dilations: dilations,
                               outputPadding: outputPadding, group: try attr.int("group", default: 1))
        return [try emit1(.convTranspose(op), [x, w] + (b.map { [$0] } ?? []))]
    }

    /// An attribute with one positive entry per spatial axis, default all 1.
    func spatialList(_ name: String, _ n: Int) throws -> [Int] {
        let v = try attr.ints(name) ?? [Int](repeating: 1, count: n)
        try require(v.count == n, "attribute '\(name)' \(v) must have \(n) entries")
        try require(v.allSatisfy { $0 >= 1 }, "attribute '\(name)' \(v) must be positive")
        return v
    }

    /// Explicit pads (begins then ends) for a sliding window from `pads` and `auto_pad`.
    /// SAME_UPPER / SAME_LOWER give an output of `ceil(in / stride)` with total padding
    /// `max(0, (out-1)*stride + (k-1)*dilation + 1 - in)`, the odd cell at the end (UPPER)
    /// or the beginning (LOWER).
    func resolvePads(input: [Int], kernel: [Int], strides: [Int], dilations: [Int]) throws -> [Int] {
        let n = input.count
        let autoPad = try attr.string("auto_pad", default: "NOTSET")
        switch autoPad {
        case "NOTSET", "":
            let pads = try attr.ints("pads") ?? [Int](repeating: 0, count: 2 * n)
            try require(pads.count == 2 * n, "attribute 'pads' \(pads) must have \(2 * n) entries")
            try require(pads.allSatisfy { $0 >= 0 }, "attribute 'pads' \(pads) must not be negative")
            return pads
        case "VALID":
            return [Int](repeating: 0, count: 2 * n)
        case "SAME_UPPER", "SAME_LOWER":
            var begin = [Int](), end = [Int]()
            for i in 0..<n {
                let out = (input[i] + strides[i] - 1) / strides[i]
                let total = max(0, (out - 1) * strides[i] + (kernel[i] - 1) * dilations[i] + 1 - input[i])
                let small = total / 2
                if autoPad == "SAME_UPPER" { begin.append(small); end.append(total - small) }
                else { begin.append(total - small); end.append(small) }
            }
            return begin + end
        default:
            throw attr.invalid("auto_pad", "= '\(autoPad)' is not supported")
        }
    }
}
