import KilnIR

// Ops imported as compositions of IR ops: LpNormalization, MeanVarianceNormalization,
// Hardmax, Shrink, EyeLike.

extension NodeContext {
    /// LpNormalization(x; axis = -1, p = 2 or 1): x / ||x||_p along the axis. A zero norm
    /// divides by 1 (ONNX Runtime leaves an all-zero vector as it is, as Eigen does).
    func lpNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat, "input must be float, got \(t.dtype.rawValue)")
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: t.shape.rank)
        let p = try attr.int("p", default: 2)
        try require(p == 1 || p == 2, "p must be 1 or 2, got \(p)")
        let norm = try helper("norm", .reduce(Reduce(kind: p == 2 ? .l2 : .l1, axes: [axis], keepDims: true)), [x])
        let zero = try helper("zero_norm", .binary(.equal), [norm, helperConstant("zero", Tensor.scalar(0, t.dtype))])
        let safe = try helper("safe_norm", .where(Where()), [zero, helperConstant("one", Tensor.scalar(1, t.dtype)), norm])
        return [try emit1(.binary(.div), [x, safe])]
    }

    /// MeanVarianceNormalization(X; axes = [0, 2, 3]) as ONNX's function body computes it:
    /// (X - E[X]) / (sqrt(E[X²] - E[X]²) + 1e-9).
    func meanVarianceNormalization() throws -> [ValueID?] {
        try require(opset >= 9, "MeanVarianceNormalization-1 (across_channels, normalize_variance) is not supported; opset 9's form is")
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat, "input must be float, got \(t.dtype.rawValue)")
        let axes = try normalizeAxes(attr.ints("axes") ?? [0, 2, 3], rank: t.shape.rank)
        let mean = Reduce(kind: .mean, axes: axes, keepDims: true)
        let ex = try helper("mean", .reduce(mean), [x])
        let ex2 = try helper("mean_of_squares", .reduce(mean), [try helper("squares", .binary(.mul), [x, x])])
        let variance = try helper("variance", .binary(.sub), [ex2, try helper("mean_squared", .binary(.mul), [ex, ex])])
        let std = try helper("std", .unary(.sqrt), [variance])
        let denominator = try helper("std_eps", .binary(.add), [std, helperConstant("eps", Tensor.scalar(1e-9, t.dtype))])
        return [try emit1(.binary(.div), [try helper("centered", .binary(.sub), [x, ex]), denominator])]
    }

    /// Hardmax(x; axis): 1 where x is the first maximum along the axis, else 0 (opset 13);
    /// before opset 13 the input is seen as 2-D [prod(dims before axis), prod(the rest)]
    /// (default axis 1) and the row's first maximum is taken.
    func hardmax() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype != .bool, "input must be numeric, got bool")
        let rank = t.shape.rank
        let axis = try normalizeAxis(attr.int("axis", default: opset >= 13 ? -1 : 1), rank: max(rank, 1))
        if opset < 13 {
            let rows = t.shape.dims[..<axis].reduce(1, *), cols = t.shape.dims[axis...].reduce(1, *)
            let flat = try reshape("rows", x, [rows, cols])
            return [try emit1(.reshape(Reshape(shape: t.shape.dims)), [try oneHotOfMax(flat, axis: 1)])]
        }
        return [try oneHotOfMax(x, axis: axis, emitResult: true)]
    }

    private func oneHotOfMax(_ x: ValueID, axis: Int, emitResult: Bool = false) throws -> ValueID {
        let t = type(x)
        let n = t.shape.dims[axis]
        let best = try helper("arg_max", .argReduce(ArgReduce(isMax: true, axis: axis, keepDims: true, selectLastIndex: false)), [x])
        var iotaShape = [Int](repeating: 1, count: t.shape.rank)
        iotaShape[axis] = n
        let iota = helperConstant("positions", Tensor(.i64, Shape(iotaShape), int64s: (0..<n).map(Int64.init)))
        let hit = try helper("is_max", .binary(.equal), [best, iota])
        let op = Op.cast(Cast(to: t.dtype))
        return emitResult ? try emit1(op, [hit]) : try helper("one_hot", op, [hit])
    }

    /// Shrink(x; lambd = 0.5, bias = 0): x + bias where x < -lambd, x - bias where
    /// x > lambd, else 0.
    func shrink() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype != .bool, "input must be numeric, got bool")
        let lambd = Double(try attr.float("lambd", default: 0.5)), bias = Double(try attr.float("bias", default: 0))
        func c(_ tag: String, _ v: Double) -> ValueID { helperConstant(tag, Tensor.scalar(v, t.dtype)) }
        let low = try helper("below", .binary(.less), [x, c("minus_lambd", -lambd)])
        let high = try helper("above", .binary(.greater), [x, c("lambd", lambd)])
        let up = try helper("plus_bias", .binary(.add), [x, c("bias", bias)])
        let down = try helper("minus_bias", .binary(.sub), [x, c("bias_again", bias)])
        let upper = try helper("upper", .where(Where()), [high, down, c("zero", 0)])
        return [try emit1(.where(Where()), [low, up, upper])]
    }

    /// EyeLike(x; dtype, k = 0): a constant of x's 2-D shape with ones on diagonal k.
    func eyeLike() throws -> [ValueID?] {
        let t = try peekType(0)
        try require(t.shape.rank == 2, "input must be 2-D, got shape \(t.shape)")
        let dtype = try attr.int("dtype").map { try ONNXDataType.require(Int32(clamping: $0), for: "attribute 'dtype'") } ?? t.dtype
        let k = try attr.int("k", default: 0)
        let (rows, cols) = (t.shape.dims[0], t.shape.dims[1])
        let values = (0..<(rows * cols)).map { Int64($0 % cols - $0 / cols == k ? 1 : 0) }
        return [emitConstant(Tensor(dtype, t.shape, int64s: values))]
    }
}
