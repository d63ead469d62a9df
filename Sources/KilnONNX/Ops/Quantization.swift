import KilnIR

// QuantizeLinear and DequantizeLinear (per-tensor, per-axis, blocked). A missing zero
// point becomes a zero constant so the IR op always has three operands.

extension NodeContext {
    /// QuantizeLinear(x, y_scale, y_zero_point?): the result type is the zero point's, else
    /// `output_dtype`, else u8.
    func quantizeLinear() throws -> [ValueID?] {
        let x = try input(0)
        var scale = try input(1)
        var zeroPoint = try optionalInput(2)
        let blockSize = try attr.int("block_size", default: 0)
        var outputType = DType.u8
        if let zp = zeroPoint {
            outputType = type(zp).dtype
        } else if let code = try attr.int("output_dtype"), code != 0 {
            outputType = try ONNXDataType.require(Int32(clamping: code), for: "attribute 'output_dtype'")
        }
        let axis = try quantAxis(x: x, scale: &scale, zeroPoint: &zeroPoint, blockSize: blockSize)
        let zp = zeroPoint ?? helperConstant("zero_point", Tensor(zeros: TensorType(outputType, type(scale).shape)))
        let op = QuantizeLinear(axis: axis, blockSize: blockSize, outputType: outputType)
        return [try emit1(.quantizeLinear(op), [x, scale, zp])]
    }

    /// DequantizeLinear(x, x_scale, x_zero_point?): the result has the scale's type, cast to
    /// `output_dtype` (opset 23) when that differs.
    func dequantizeLinear() throws -> [ValueID?] {
        let x = try input(0)
        var scale = try input(1)
        var zeroPoint = try optionalInput(2)
        let blockSize = try attr.int("block_size", default: 0)
        let axis = try quantAxis(x: x, scale: &scale, zeroPoint: &zeroPoint, blockSize: blockSize)
        let zp = zeroPoint ?? helperConstant("zero_point", Tensor(zeros: TensorType(type(x).dtype, type(scale).shape)))
        let op = Op.dequantizeLinear(DequantizeLinear(axis: axis, blockSize: blockSize))
        if let code = try attr.int("output_dtype"), code != 0 {
            let want = try ONNXDataType.require(Int32(clamping: code), for: "attribute 'output_dtype'")
            if want != type(scale).dtype {
                let y = try helper("dequantized", op, [x, scale, zp])
                return [try emit1(.cast(Cast(to: want)), [y])]
            }
        }
        return [try emit1(op, [x, scale, zp])]
    }

    /// The normalized quantization axis, nil for per-tensor parameters. A one-element 1-D
    /// scale (and zero point) is per-tensor and reshaped to a scalar.
    private func quantAxis(x: ValueID, scale: inout ValueID, zeroPoint: inout ValueID?, blockSize: Int) throws -> Int? {
        let st = type(scale)
        if blockSize == 0 && st.shape.rank == 1 && st.shape.elementCount == 1 {
            scale = try reshape("scale_scalar", scale, [])
            if let zp = zeroPoint, type(zp).shape.elementCount == 1 {
                zeroPoint = try reshape("zero_point_scalar", zp, [])
            }
            return nil
        }
        if st.shape.rank == 0 && blockSize == 0 { return nil }
        return try normalizeAxis(attr.int("axis", default: 1), rank: type(x).shape.rank)
    }
}
