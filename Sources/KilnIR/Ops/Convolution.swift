// Convolution: N-d (1D/2D/3D) Conv and ConvTranspose, NCHW layout, weights OIHW.
// `auto_pad` and ConvTranspose's `output_shape` are resolved into explicit pads at import.

/// Conv: operands `x [N,C,*spatial]`, `w [M, C/group, *kernel]`, optional `b [M]`.
public struct Conv: Hashable, Sendable {
    public var strides: [Int]
    /// Begin pads for every spatial axis, then end pads (ONNX order).
    public var pads: [Int]
    public var dilations: [Int]
    public var group: Int

    public init(strides: [Int], pads: [Int], dilations: [Int], group: Int) {
        self.strides = strides; self.pads = pads; self.dilations = dilations; self.group = group
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
