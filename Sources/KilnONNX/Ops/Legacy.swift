import KilnIR

// The forms ops took before opset 7 (models exported by PyTorch 0.3–0.4, Caffe2 and
// CNTK converters at opsets 1–6) that the current mappings do not read:
//
// - Arithmetic, comparison and logic ops broadcast only when `broadcast` = 1, and then
//   only B onto A: B's shape is a contiguous run of A's dims starting at `axis`
//   (suffix-aligned when `axis` is absent), or B holds one element.
// - PRelu's rank-1 slope of length C is per channel (axis 1), not numpy-aligned.
// - Concat's `axis` defaults to 1 (opsets 1–3); Reshape takes `shape` as an attribute
//   (1–4); Pad names its pads `paddings` (1); Split may take `split` as input 1 (1);
//   Cast names its target type as a string (1–5); Tile takes `tiles` and `axis` inputs
//   (1–5); Upsample takes `height_scale`/`width_scale` (1–6).
// - BatchNormalization and Dropout run in training mode unless `is_test` = 1 (1–6).
//
// - LpPool/GlobalLpPool's `p` is a float (1); Selu's defaults are alpha 1.6732 and
//   gamma 1.0507 (1–5).
//
// `consumed_inputs` (opsets 1–5) was an in-place hint with no effect on values.

extension NodeContext {
    /// Input 1 of a binary op laid out for numpy broadcasting against input 0, which the
    /// rest of Kiln (and opset 7 on) uses: before opset 7, a `broadcast` = 1 B with an
    /// `axis` gets trailing 1s so that its dims line up with A's from `axis`. (Without
    /// `axis` the legacy rule aligns suffixes, as numpy does. Like ONNX Runtime, Kiln also
    /// lets 1-sized dims of B broadcast, which PyTorch's exports of that era rely on.)
    func legacyBroadcastOperand() throws -> ValueID {
        let b = try input(1)
        guard opset < 7, try attr.int("broadcast", default: 0) != 0, let axisAttribute = try attr.int("axis") else { return b }
        let a = try inputType(0).shape.dims, bt = type(b).shape.dims
        if bt.reduce(1, *) == 1 { return b }
        let axis = try normalizeAxis(axisAttribute, rank: a.count)
        try require(axis + bt.count <= a.count && zip(a[axis...], bt).allSatisfy { $0 == $1 || $1 == 1 },
                    "input 1 of shape \(bt) does not match input 0 \(a) from axis \(axis)")
        let trailing = a.count - axis - bt.count
        return trailing == 0 ? b : try reshape("aligned", b, bt + Array(repeating: 1, count: trailing))
    }

    /// PRelu's slope: before opset 7 a rank-1 slope of the channel count (dim 1) applies per
    /// channel, so it becomes [C, 1, …, 1].
    func legacyPReluSlope() throws -> ValueID {
        let slope = try input(1)
        let dims = try inputType(0).shape.dims, s = type(slope).shape.dims
        guard opset < 7, dims.count > 2, s.count == 1, s[0] == dims[1], s[0] > 1 else { return slope }
        return try reshape("per_channel", slope, [s[0]] + Array(repeating: 1, count: dims.count - 2))
    }

    /// LpPool-1 and GlobalLpPool-1's `p` is a float (an int from version 2); Kiln takes
    /// whole values.
    func legacyLpPoolP() throws -> Int? {
        guard opset < 2, let p = try attr.float("p") else { return nil }
        try require(p.rounded() == p && p >= 1 && p < 1e6, "attribute 'p' = \(p) is not supported (Kiln supports whole p ≥ 1)")
        return Int(p)
    }

    /// Cast-1's `to`: the element type's name ("FLOAT", "INT64", …) instead of its code.
    func legacyCastTarget() throws -> Int32? {
        guard opset < 6, let name = try attr.string("to") else { return nil }
        for code in Int32(1)...Int32(25) where ONNXDataType.name(code) == name.uppercased() { return code }
        throw attr.invalid("to", "= '\(name)' is not an ONNX element type name")
    }

    /// Whether a BatchNormalization or Dropout before opset 7 runs in training mode
    /// (`is_test` = 0, the default).
    var legacyTrainingMode: Bool {
        get throws { opset < 7 ? try attr.int("is_test", default: 0) == 0 : false }
    }

    /// Tile-1(input, tiles, axis): `tiles` copies along one axis.
    func legacyTile() throws -> [ValueID?] {
        let x = try input(0)
        let rank = type(x).shape.rank
        let tiles = try scalarValue(requiredConstant(1, "tiles"), "tiles")
        let axisValue = try scalarValue(requiredConstant(2, "axis"), "axis")
        guard let tiles, let axisValue, tiles >= 0, tiles < 1e9 else { throw KilnError("tiles must be a non-negative scalar") }
        let axis = try normalizeAxis(Int(axisValue), rank: rank)
        var repeats = [Int](repeating: 1, count: rank)
        repeats[axis] = Int(tiles)
        return [try emit1(.tile(Tile(repeats: repeats)), [x])]
    }

    /// Upsample-1's scales: 1, 1, `height_scale`, `width_scale` over an NCHW input.
    func legacyUpsampleScales() throws -> [Float]? {
        guard opset < 7 else { return nil }
        guard let h = try attr.float("height_scale"), let w = try attr.float("width_scale") else {
            throw KilnError("attributes 'height_scale' and 'width_scale' are required before opset 7")
        }
        let rank = try inputType(0).shape.rank
        try require(rank == 4, "the input must be NCHW (rank 4) before opset 7, got rank \(rank)")
        return [1, 1, h, w]
    }

    /// ImageScaler (experimental, opsets 1–9; Tiny YOLOv2 and FER+ in the ONNX model zoo):
    /// `y = x · scale + bias[c]` over an NCHW input.
    func imageScaler() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat && t.shape.rank == 4, "the input must be a float NCHW tensor, got \(t.dtype.rawValue)\(t.shape)")
        let channels = t.shape[1]
        let scale = try attr.float("scale", default: 1)
        let bias = try attr.floats("bias") ?? [Float](repeating: 0, count: channels)
        try require(bias.count == channels, "attribute 'bias' has \(bias.count) values for \(channels) channels")
        let scaled = try helper("scaled", .binary(.mul), [x, helperConstant("scale", Tensor.scalar(Double(scale), t.dtype))])
        let column = Tensor(t.dtype, Shape([1, channels, 1, 1]), doubles: bias.map(Double.init))
        return [try emit1(.binary(.add), [scaled, helperConstant("bias", column)])]
    }
}
