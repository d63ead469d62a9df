import KilnIR

// Conv, ConvTranspose and pooling → CONV2D (im2col + GEMM; pointwise without scratch),
// DEPTHWISE_CONV2D, CONV_TRANSPOSE2D, POOL2D. 1-D ops run as 2-D with H = 1 (reshapes
// that the memory planner turns into aliases); 3-D ones are not supported by the runtime.

/// A 2-D sliding window in the runtime's attribute order.
struct Window2D {
    var kh, kw, sh, sw, pt, pl, pb, pr, dh, dw: Int

    /// From the IR's per-spatial-axis lists (one or two spatial axes; pads begins then ends).
    init(kernel: [Int], strides: [Int], pads: [Int], dilations: [Int]) {
        if kernel.count == 1 {
            (kh, kw, sh, sw, dh, dw) = (1, kernel[0], 1, strides[0], 1, dilations[0])
            (pt, pl, pb, pr) = (0, pads[0], 0, pads[1])
        } else {
            (kh, kw, sh, sw, dh, dw) = (kernel[0], kernel[1], strides[0], strides[1], dilations[0], dilations[1])
            (pt, pl, pb, pr) = (pads[0], pads[1], pads[2], pads[3])
        }
    }

    /// The same window with H and W swapped.
    var transposed: Window2D {
        var t = self
        (t.kh, t.kw, t.sh, t.sw, t.dh, t.dw) = (kw, kh, sw, sh, dw, dh)
        (t.pt, t.pl, t.pb, t.pr) = (pl, pt, pr, pb)
        return t
    }

    var values: [AttributeValue] { [kh, kw, sh, sw, pt, pl, pb, pr, dh, dw].map { .i($0) } }
    var isPointwise: Bool { kh == 1 && kw == 1 && sh == 1 && sw == 1 && pt == 0 && pl == 0 && pb == 0 && pr == 0 }
}

/// Output channels per weight panel of CONV2D_PACKED (the runtime's micro-kernel height).
let convPanelRows = 6

extension Lowerer {
    /// Checks the spatial rank (1-D and 2-D run; 3-D does not) and the dtype.
    private func requireWindowInput(_ x: ValueID, _ what: String) throws {
        let rank = type(x).shape.rank
        try require(rank == 3 || rank == 4,
                    "\(rank - 2)-D \(what) is not supported by the runtime yet (1-D and 2-D only)")
        try requireDType(x, [.f32], what)
    }

    /// `[N, C, W]` → `[N, C, 1, W]`; 4-D shapes unchanged.
    private func as4D(_ s: Shape) -> Shape { s.rank == 3 ? Shape([s[0], s[1], 1, s[2]]) : s }

    /// The operand as a 4-D tensor.
    private mutating func operand4D(_ v: ValueID, _ suffix: String) -> Int {
        type(v).shape.rank == 3 ? reshaped(v, as4D(type(v).shape), suffix) : tensor(v)
    }

    /// The tensor a 4-D kernel writes for result `v`: the result itself, or a 4-D
    /// temporary that `finish4D` copies back into a 3-D result.
    private mutating func result4D(_ v: ValueID) -> Int {
        let t = type(v)
        return t.shape.rank == 3 ? temp("4d", TensorType(t.dtype, as4D(t.shape))) : result(v)
    }

    private mutating func finish4D(_ tmp: Int, _ v: ValueID) {
        if type(v).shape.rank == 3 { program.emit(.copy, [], [tmp], [result(v)]) }
    }

    /// A 2-D conv over one column (`[N, C, H, 1]` input, `kh x 1` kernel, no W pads), as
    /// TensorFlow exporters write 1-D convs: the runtime's kernels tile output rows, so it
    /// runs as the same conv over one row (`[N, C, 1, H]`, `1 x kh`; reshapes the memory
    /// planner aliases). Magika's 5x1 conv: 11.7 ms as a column, 3.2 ms as a row.
    private func isColumnConv(_ c: Conv, _ x: ValueID, _ w: ValueID) -> Bool {
        let xs = type(x).shape, ws = type(w).shape
        return xs.rank == 4 && xs[3] == 1 && xs[2] > 1 && ws[3] == 1 && c.pads.count == 4 && c.pads[1] == 0 && c.pads[3] == 0
    }

    /// `[a, b, h, w]` → `[a, b, w, h]` (a reshape when h or w is 1).
    private func swappedHW(_ s: Shape) -> Shape { Shape([s[0], s[1], s[3], s[2]]) }

    mutating func lowerConv(_ c: Conv, _ n: Node) throws {
        let (x, w, y) = (n.operands[0], n.operands[1], n.results[0])
        try requireWindowInput(x, "convolution")
        let column = isColumnConv(c, x, w)
        let wt = type(w), yt = as4D(type(y).shape)
        var win = Window2D(kernel: Array(wt.shape.dims[2...]), strides: c.strides, pads: c.pads, dilations: c.dilations)
        if column { win = win.transposed }
        let channels = type(x).shape[1]
        let x4 = column ? reshaped(x, swappedHW(type(x).shape), "row_input") : operand4D(x, "input4d")
        let bias = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let y4 = column ? temp("row", TensorType(type(y).dtype, swappedHW(type(y).shape))) : result4D(y)
        let attrs = win.values + [.i(c.group)] + (try actAttributes(c.activation, y))
        func weight4D(_ me: inout Lowerer) -> Int {
            column ? me.reshaped(w, me.swappedHW(wt.shape), "row_weight") : me.operand4D(w, "weight4d")
        }
        defer {
            if column { program.emit(.copy, [], [y4], [result(y)]) } else { finish4D(y4, y) }
        }
        if c.group == channels && c.group > 1 && wt.shape[1] == 1 {
            try emit(.depthwiseConv2d, attrs, [x4, weight4D(&self), bias], [y4])
        } else if c.group == 1, constant(w)?.dtype == .f32,
                  winogradPays(win, channels: channels, outputs: yt[1], pixels: yt[2] * yt[3]) {
            // The plain 3x3 weights: the runtime transforms them at load (4x smaller plan).
            try emit(.conv2dWinograd, attrs, [x4, tensor(w), bias], [y4])
        } else if c.group == 1, let weights = constant(w), weights.dtype == .f32 {
            // Constant weights only: the packed copy replaces the OIHW one in the plan.
            let packed = constantTensor("packed", packConvWeights(weights))
            try emit(.conv2dPacked, attrs, [x4, packed, bias], [y4])
        } else if win.isPointwise {
            try emit(.conv2d, attrs, [x4, weight4D(&self), bias], [y4])
        } else {
            let w4 = weight4D(&self)
            let rows = (channels / c.group) * win.kh * win.kw
            let scratch = temp("im2col", TensorType(.f32, [rows, yt[2] * yt[3]]))
            try emit(.conv2d, attrs, [x4, w4, bias], [y4, scratch])
        }
    }

    /// OIHW weights `[M, C, kh, kw]` (or `[M, C, kw]`) → CONV2D_PACKED's panels
    /// `[ceil(M/6), C·kh·kw, 6]`: panel p holds output channels 6p..6p+5 tap by tap, zeros
    /// past M, so the runtime's micro-kernel reads 6 weights per tap from one place.
    func packConvWeights(_ w: Tensor) -> Tensor {
        let m = w.shape[0], k = w.count / max(m, 1), panels = (m + convPanelRows - 1) / convPanelRows
        var out = [UInt8](repeating: 0, count: panels * k * convPanelRows * 4)
        w.bytes.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                for row in 0..<m {
                    let (p, r) = (row / convPanelRows, row % convPanelRows)
                    for tap in 0..<k {
                        let from = (row * k + tap) * 4, to = ((p * k + tap) * convPanelRows + r) * 4
                        dst.baseAddress!.advanced(by: to).copyMemory(from: src.baseAddress!.advanced(by: from), byteCount: 4)
                    }
                }
            }
        }
        return Tensor(type: TensorType(.f32, [panels, k, convPanelRows]), bytes: out)
    }

    /// Winograd F(4x4, 3x3) for 3x3 stride-1 undilated convs where it measured faster than
    /// the packed GEMM: enough channels for the transforms to amortize, and at least 14x14
    /// outputs (at 7x7 the transformed weights, 4x the size, dominate the time). The plan
    /// keeps the 3x3 weights; the runtime transforms them once at load.
    func winogradPays(_ w: Window2D, channels: Int, outputs: Int, pixels: Int) -> Bool {
        w.kh == 3 && w.kw == 3 && w.sh == 1 && w.sw == 1 && w.dh == 1 && w.dw == 1
            && channels >= 16 && outputs >= 16 && pixels >= 196
    }

    mutating func lowerConvTranspose(_ c: ConvTranspose, _ n: Node) throws {
        let (x, w, y) = (n.operands[0], n.operands[1], n.results[0])
        try requireWindowInput(x, "transposed convolution")
        let xt = as4D(type(x).shape), wt = type(w)
        let win = Window2D(kernel: Array(wt.shape.dims[2...]), strides: c.strides, pads: c.pads, dilations: c.dilations)
        for (i, op) in c.outputPadding.enumerated() {
            try require(op < max(c.strides[i], c.dilations[i]),
                        "output_padding \(op) on spatial axis \(i) must be less than the stride or the dilation")
        }
        let x4 = operand4D(x, "input4d"), w4 = operand4D(w, "weight4d")
        let bias = n.operands.count > 2 ? tensor(n.operands[2]) : nil
        let y4 = result4D(y)
        let rows = wt.shape[1] * win.kh * win.kw
        let scratch = temp("col2im", TensorType(.f32, [rows, xt[2] * xt[3]]))
        try emit(.convTranspose2d, win.values + [.i(c.group)] + noActivation, [x4, w4, bias], [y4, scratch])
        finish4D(y4, y)
    }

    mutating func lowerPool(_ p: Pool, _ n: Node) throws {
        let (x, y) = (n.operands[0], n.results[0])
        if p.kind == .max, type(x).dtype == .u8 { return try lowerQMaxPool(p, n) }
        try requireWindowInput(x, "pooling")
        let win = Window2D(kernel: p.kernel, strides: p.strides, pads: p.pads, dilations: p.dilations)
        let kind: PoolKindCode, power: Int
        switch p.kind {
        case .max: (kind, power) = (.max, 0)
        case .average: (kind, power) = (.average, 0)
        case .lp(let e): (kind, power) = (.lp, e)
        }
        let x4 = operand4D(x, "input4d")
        let y4 = result4D(y)
        try emit(.pool2d, [.i(Int(kind.rawValue))] + win.values + [.b(p.countIncludePad), .i(power)], [x4], [y4])
        finish4D(y4, y)
    }
}
