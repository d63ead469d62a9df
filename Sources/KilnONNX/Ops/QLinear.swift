import KilnIR

// QLinearConv and QLinearMatMul, imported as their definition in QDQ form:
// dequantize_linear of the operands, the float conv / mat_mul, quantize_linear of the
// result. fold-qdq (-O2) turns that chain back into qlinear_conv / qlinear_mat_mul when the
// int8 kernels can run it; otherwise it runs in float (still correct).

extension NodeContext {
    /// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B?).
    func qlinearConv() throws -> [ValueID?] {
        let x = try dequantized("x", 0, axis: 1)
        let w = try dequantized("w", 3, axis: 0)
        let op = try convAttributes(x: x, w: w, names: ("x", "w"))
        var operands = [x, w]
        if let b = try optionalInput(8) { operands.append(try dequantizedBias(b)) }
        let y = try helper("float_result", .conv(op), operands)
        return [try quantizedResult(y)]
    }

    /// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp).
    func qlinearMatMul() throws -> [ValueID?] {
        let a = try dequantized("a", 0, axis: nil)
        let b = try dequantized("b", 3, axis: try inputType(3).shape.rank - 1)
        let y = try helper("float_result", .matMul(MatMul()), [a, b])
        return [try quantizedResult(y)]
    }

    /// dequantize_linear of input `i` with its scale (i + 1) and zero point (i + 2); a scale
    /// with more than one element is per `axis`.
    private func dequantized(_ tag: String, _ i: Int, axis: Int?) throws -> ValueID {
        let scale = try input(i + 1)
        let perTensor = type(scale).shape.elementCount == 1 && type(scale).shape.rank <= 1
        try require(perTensor || axis != nil, "\(describeInput(i + 1)) must be a scalar")
        let op = DequantizeLinear(axis: perTensor ? nil : axis, blockSize: 0)
        return try helper("\(tag)_dequantized", .dequantizeLinear(op), [try input(i), scale, try input(i + 2)])
    }

    /// The i32 bias in units of x_scale * w_scale, dequantized (its scale computed here
    /// when both scales are constants, else by a mul node).
    private func dequantizedBias(_ b: ValueID) throws -> ValueID {
        try require(type(b).dtype == .i32, "B must be int32, got \(type(b).dtype.rawValue)")
        let scale: ValueID
        if let xs = (try? constant(1, "x_scale")) ?? nil, let ws = (try? constant(4, "w_scale")) ?? nil, xs.count == 1 {
            let product = ws.doubles.map { $0 * xs.doubles[0] }
            scale = helperConstant("bias_scale", Tensor(ws.dtype, ws.shape, doubles: product))
        } else {
            scale = try helper("bias_scale", .binary(.mul), [try input(1), try input(4)])
        }
        let st = type(scale).shape
        let perTensor = st.elementCount == 1 && st.rank <= 1
        let zero = helperConstant("bias_zero_point", Tensor(zeros: TensorType(.i32, st)))
        return try helper("bias_dequantized", .dequantizeLinear(DequantizeLinear(axis: perTensor ? nil : 0, blockSize: 0)),
                          [b, scale, zero])
    }

    /// quantize_linear of the float result with y_scale (6) and y_zero_point (7).
    private func quantizedResult(_ y: ValueID) throws -> ValueID {
        let zp = try input(7)
        let op = QuantizeLinear(axis: nil, blockSize: 0, outputType: type(zp).dtype)
        return try emit1(.quantizeLinear(op), [y, try input(6), zp])
    }
}
