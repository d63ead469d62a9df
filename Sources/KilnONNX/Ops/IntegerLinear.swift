import KilnIR

// DynamicQuantizeLinear, MatMulInteger and ConvInteger: what ONNX Runtime's
// `quantize_dynamic` writes. DynamicQuantizeLinear becomes dynamic_quant_params (the
// tensor's scale and zero point) and a quantize_linear with them. MatMulInteger and
// ConvInteger become their definition on f32 values (cast, minus the zero points, the float
// op, cast to i32): exact while the sums stay below 2^24 (e.g. K·255·255 < 2^24), otherwise
// rounded to f32 (relative error below 2^-24). fold-dynamic-quant (-O2) turns the whole
// quantize → integer mat_mul → scale chain back into one dyn_quant_mat_mul when the weight
// is a constant.

extension NodeContext {
    /// DynamicQuantizeLinear(x) → (y u8, y_scale f32 [], y_zero_point u8 []).
    func dynamicQuantizeLinear() throws -> [ValueID?] {
        let x = try input(0)
        try require(type(x).dtype == .f32, "x must be f32, got \(type(x).dtype.rawValue)")
        let params = try importer.add(.dynamicQuantParams(DynamicQuantParams()), [x],
                                      names: [outputName(1), outputName(2)], nodeName: proto.name)
        let q = QuantizeLinear(axis: nil, blockSize: 0, outputType: .u8)
        let y = try importer.add(.quantizeLinear(q), [x, params[0], params[1]], names: [outputName(0)],
                                 nodeName: "\(baseName)/quantize")[0]
        return [y, params[0], params[1]]
    }

    /// MatMulInteger(A, B, a_zero_point?, b_zero_point?) → i32: a per-tensor a_zero_point,
    /// a per-tensor or per-column b_zero_point.
    func matMulInteger() throws -> [ValueID?] {
        let a = try integerOperand("a", 0, zeroPoint: 2, axisShape: nil)
        let b = try integerOperand("b", 1, zeroPoint: 3, axisShape: nil)
        let y = try helper("float_product", .matMul(MatMul()), [a, b])
        return [try emit1(.cast(Cast(to: .i32)), [y])]
    }

    /// ConvInteger(x, w, x_zero_point?, w_zero_point?) → i32: a per-tensor x_zero_point, a
    /// per-tensor or per-output-channel w_zero_point.
    func convInteger() throws -> [ValueID?] {
        let ws = try inputType(1).shape.dims
        let x = try integerOperand("x", 0, zeroPoint: 2, axisShape: nil)
        let w = try integerOperand("w", 1, zeroPoint: 3, axisShape: ws.isEmpty ? nil : [ws[0]] + ws.dropFirst().map { _ in 1 })
        let op = try convAttributes(x: x, w: w, names: ("x", "w"))
        let y = try helper("float_result", .conv(op), [x, w])
        return [try emit1(.cast(Cast(to: .i32)), [y])]
    }

    /// Input `i` (i8 or u8) as f32 minus its zero point (input `zeroPoint`, if given): a
    /// single value, or, when `axisShape` is set, one per entry of that axis, reshaped to
    /// `axisShape` so it broadcasts (nil: per tensor only; for B the last axis broadcasts
    /// as is).
    private func integerOperand(_ tag: String, _ i: Int, zeroPoint: Int, axisShape: [Int]?) throws -> ValueID {
        let v = try input(i)
        let dtype = type(v).dtype
        try require(dtype == .u8 || dtype == .i8, "\(describeInput(i)) must be u8 or i8, got \(dtype.rawValue)")
        let f = try helper("\(tag)_float", .cast(Cast(to: .f32)), [v])
        guard let z = try optionalInput(zeroPoint) else { return f }
        let zt = type(z)
        try require(zt.dtype == dtype, "\(describeInput(zeroPoint)) must have the dtype of input \(i) (\(dtype.rawValue)), got \(zt.dtype.rawValue)")
        var zf = try helper("\(tag)_zero_point_float", .cast(Cast(to: .f32)), [z])
        if zt.shape.elementCount != 1 {
            let perColumn = i == 1 && opType == "MatMulInteger" && zt.shape.rank == 1 && type(v).shape.dims.last == zt.shape[0]
            let perChannel = axisShape.map { zt.shape.rank == 1 && zt.shape[0] == $0.first } ?? false
            let allowed = i == 0 ? "a single value" : opType == "MatMulInteger" ? "a single value or one per column" : "a single value or one per output channel"
            try require(perColumn || perChannel, "\(describeInput(zeroPoint)) of shape \(zt.shape) is not supported (\(allowed))")
            if perChannel, let shape = axisShape { zf = try reshape("\(tag)_zero_point_axis", zf, shape) }
        } else if zt.shape.rank > 0 {
            zf = try reshape("\(tag)_zero_point_scalar", zf, [])
        }
        return try helper("\(tag)_centered", .binary(.sub), [f, zf])
    }
}
