// Convolution: N-d (1D/2D/3D) Conv and ConvTranspose, NCHW layout, weights OIHW.
// `auto_pad` and ConvTranspose's `output_shape` are resolved into explicit pads at import.

/// Conv: operands `x [N,C,*spatial]`, `w [M, C/group, *kernel]`, optional `b [M]`.
public struct Conv: Hashable, Sendable {
    public var strides: [Int]
    /// Begin pads for every spatial axis, then end pads (ONNX order).
    public var pads: [Int]
    public var dilations: [Int]
    public var group: Int
    /// Applied to the result inside the op (set by fuse-activation); nil = none.
    public var activation: FusedActivation?

    public init(strides: [Int], pads: [Int], dilations: [Int], group: Int, activation: FusedActivation? = nil) {
        self.strides = strides; self.pads = pads; self.dilations = dilations; self.group = group
        self.activation = activation
    }
}

/// ConvTranspose: operands `x [N,C,*spatial]`, `w [C, M/group, *kernel]`, optional `b [M]`.
/// Output size per axis: `stride*(in-1) + outputPadding + (k-1)*dilation + 1 - padBegin - padEnd`.
public struct ConvTranspose: Hashable, Sendable {
    public var strides: [Int]
    public var pads: [Int]
    public var dilations: [Int]
    public var outputPadding: [Int]
    public var group: Int

    public init(strides: [Int], pads: [Int], dilations: [Int], outputPadding: [Int], group: Int) {
        self.strides = strides; self.pads = pads; self.dilations = dilations
        self.outputPadding = outputPadding; self.group = group
    }
}

// MARK: - Type rules

extension Conv: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "conv")
        let x = operands[0], w = operands[1]
        let s = try checkConvOperands("conv", x: x, w: w)
        try checkWindowAttributes("conv", spatial: s, strides: strides, pads: pads, dilations: dilations)
        try require(group >= 1, "conv: group must be positive, got \(group)")
        let c = x.shape[1], m = w.shape[0]
        try require(c % group == 0, "conv: input channels \(c) are not divisible by group \(group)")
        try require(m % group == 0, "conv: output channels \(m) are not divisible by group \(group)")
        try require(w.shape[1] == c / group,
                    "conv: weight \(w.shape) has \(w.shape[1]) input channels per group, expected \(c / group) (\(c) input channels / group \(group))")
        if operands.count == 3 { try checkBias("conv", operands[2], x: x, channels: m) }
        var out = [x.shape[0], m]
        for i in 0..<s {
            let extent = dilations[i] * (w.shape[2 + i] - 1) + 1
            let padded = x.shape[2 + i] + pads[i] + pads[s + i]
            try require(padded >= extent,
                        "conv: kernel extent \(extent) exceeds padded input size \(padded) on spatial axis \(i)")
            out.append((padded - extent) / strides[i] + 1)
        }
        return [TensorType(x.dtype, Shape(out))]
    }
}

extension ConvTranspose: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "conv_transpose")
        let x = operands[0], w = operands[1]
        let s = try checkConvOperands("conv_transpose", x: x, w: w)
        try checkWindowAttributes("conv_transpose", spatial: s, strides: strides, pads: pads, dilations: dilations)
        try require(outputPadding.count == s,
                    "conv_transpose: output_padding has \(outputPadding.count) values, expected \(s) (one per spatial axis)")
        try require(outputPadding.allSatisfy { $0 >= 0 }, "conv_transpose: output_padding must be non-negative, got \(outputPadding)")
        try require(group >= 1, "conv_transpose: group must be positive, got \(group)")
        let c = x.shape[1]
        try require(c % group == 0, "conv_transpose: input channels \(c) are not divisible by group \(group)")
        try require(w.shape[0] == c,
                    "conv_transpose: weight \(w.shape) has \(w.shape[0]) input channels, expected \(c)")
        let m = w.shape[1] * group
        if operands.count == 3 { try checkBias("conv_transpose", operands[2], x: x, channels: m) }
        var out = [x.shape[0], m]
        for i in 0..<s {
            let size = strides[i] * (x.shape[2 + i] - 1) + outputPadding[i]
                + (w.shape[2 + i] - 1) * dilations[i] + 1 - pads[i] - pads[s + i]
            try require(size >= 1, "conv_transpose: output size \(size) on spatial axis \(i) is not positive")
            out.append(size)
        }
        return [TensorType(x.dtype, Shape(out))]
    }
}

/// Checks `x [N,C,*spatial]` and `w [*, *, *kernel]` of a conv-like op; returns the
/// number of spatial axes.
private func checkConvOperands(_ op: String, x: TensorType, w: TensorType) throws -> Int {
    try require(x.dtype.isFloat, "\(op): input must be a float tensor, got \(x.dtype.rawValue)")
    try require(w.dtype == x.dtype, "\(op): weight dtype \(w.dtype.rawValue) differs from input dtype \(x.dtype.rawValue)")
    try require((3...5).contains(x.shape.rank),
                "\(op): input must have 1 to 3 spatial axes ([N,C,*spatial]), got shape \(x.shape)")
    try require(w.shape.rank == x.shape.rank, "\(op): weight \(w.shape) must have the input's rank \(x.shape.rank)")
    try require(w.shape.dims.allSatisfy { $0 >= 1 }, "\(op): weight \(w.shape) has an empty dimension")
    return x.shape.rank - 2
}

private func checkBias(_ op: String, _ b: TensorType, x: TensorType, channels m: Int) throws {
    try require(b.dtype == x.dtype, "\(op): bias dtype \(b.dtype.rawValue) differs from input dtype \(x.dtype.rawValue)")
    try require(b.shape == Shape([m]), "\(op): bias must have shape [\(m)], got \(b.shape)")
}

/// Length checks for the window attributes shared by conv, conv_transpose and pooling.
func checkWindowAttributes(_ op: String, spatial s: Int, strides: [Int], pads: [Int], dilations: [Int]) throws {
    try require(strides.count == s, "\(op): strides has \(strides.count) values, expected \(s) (one per spatial axis)")
    try require(pads.count == 2 * s, "\(op): pads has \(pads.count) values, expected \(2 * s) (begins, then ends)")
    try require(dilations.count == s, "\(op): dilations has \(dilations.count) values, expected \(s) (one per spatial axis)")
    try require(strides.allSatisfy { $0 >= 1 }, "\(op): strides must be positive, got \(strides)")
    try require(dilations.allSatisfy { $0 >= 1 }, "\(op): dilations must be positive, got \(dilations)")
    try require(pads.allSatisfy { $0 >= 0 }, "\(op): pads must be non-negative, got \(pads)")
}

// MARK: - Window geometry shared by the conv and pooling evaluators

/// Spatial geometry of a sliding-window op with the spatial axes left-padded to three
/// (size 1, kernel 1, stride 1, dilation 1, no padding), so every evaluator loops over
/// depth, height and width whatever the op's spatial rank (1 to 3).
struct WindowGeometry {
    var input: [Int]
    var output: [Int]
    var kernel: [Int]
    var strides: [Int]
    var padBegin: [Int]
    var padEnd: [Int]
    var dilations: [Int]

    init(input: [Int], output: [Int], kernel: [Int], strides: [Int], pads: [Int], dilations: [Int]) {
        let s = input.count
        precondition(s <= 3 && output.count == s && kernel.count == s && pads.count == 2 * s)
        let lead = [Int](repeating: 1, count: 3 - s)
        let zero = [Int](repeating: 0, count: 3 - s)
        self.input = lead + input
        self.output = lead + output
        self.kernel = lead + kernel
        self.strides = lead + strides
        self.padBegin = zero + pads[0..<s]
        self.padEnd = zero + pads[s...]
        self.dilations = lead + dilations
    }

    var inputCount: Int { input[0] * input[1] * input[2] }
    var outputCount: Int { output[0] * output[1] * output[2] }
    var kernelCount: Int { kernel[0] * kernel[1] * kernel[2] }

    /// For kernel tap `k` on `axis`: the output positions `o` whose input position
    /// `o*stride - padBegin + k*dilation` lies inside the input.
    func outputRange(axis: Int, tap k: Int) -> Swift.Range<Int> {
        alignedRange(count: output[axis], stride: strides[axis],
                     offset: k * dilations[axis] - padBegin[axis], limit: input[axis])
    }
}

/// The indices `a` in `0..<count` for which `a*stride + offset` lies in `0..<limit`
/// (stride > 0). Empty when there are none.
func alignedRange(count: Int, stride: Int, offset: Int, limit: Int) -> Swift.Range<Int> {
    let lo = max(0, ceilDiv(-offset, stride))
    let hi = min(count, floorDiv(limit - 1 - offset, stride) + 1)
    return lo < hi ? lo..<hi : 0..<0
}

/// Floor and ceiling of `a / b` for `b > 0` (Swift's `/` truncates toward zero).
func floorDiv(_ a: Int, _ b: Int) -> Int { a >= 0 ? a / b : -((-a + b - 1) / b) }
func ceilDiv(_ a: Int, _ b: Int) -> Int { -floorDiv(-a, b) }
