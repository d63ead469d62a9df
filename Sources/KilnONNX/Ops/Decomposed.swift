import KilnIR

// Hardmax, LpNormalization, MeanVarianceNormalization, Shrink, EyeLike and
// RMSNormalization, each imported as a composition of existing IR ops.

extension NodeContext {
    /// Hardmax: 1 at the first maximum along the axis, 0 elsewhere; imported as
    /// arg_max (first index on ties) → one_hot with values [0, 1] in X's type. Before
    /// opset 13 the input is coerced to 2-D `[prod(dims[..<axis]), prod(dims[axis...])]`
    /// (default axis 1), as for Softmax.
    func hardmax() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        let dims = t.shape.dims
        try require(dims.count >= 1, "X must have rank 1 or more, got \(t.shape)")
        let values = helperConstant("values", Tensor(t.dtype, [2], doubles: [0, 1]))
        func oneHotMax(_ v: ValueID, axis: Int, final: Bool) throws -> ValueID {
            let arg = ArgReduce(isMax: true, axis: axis, keepDims: false, selectLastIndex: false)
            let index = try helper("arg_max", .argReduce(arg), [v])
            let op = Op.oneHot(OneHot(axis: axis, depth: type(v).shape[axis]))
            return final ? try emit1(op, [index, values]) : try helper("one_hot", op, [index, values])
        }
        let axis = try normalizeAxis(attr.int("axis", default: opset >= 13 ? -1 : 1), rank: dims.count)
        if opset >= 13 || axis == dims.count - 1 {
            return [try oneHotMax(x, axis: axis, final: true)]
        }
        let flat = try reshape("coerced_2d", x, [dims[..<axis].reduce(1, *), dims[axis...].reduce(1, *)])
        return [try emit1(.reshape(Reshape(shape: dims)), [oneHotMax(flat, axis: 1, final: false)])]
    }

    /// LpNormalization: `X / norm` with norm = reduce_l1 (p = 1) or reduce_l2 (p = 2) along
    /// the axis (default -1); a slice whose norm is 0 gives 0 (as ONNX Runtime and the ONNX
    /// reference do), not 0/0.
    func lpNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat, "input must be a float tensor, got \(t.dtype.rawValue)")
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: t.shape.rank)
        let p = try attr.int("p", default: 2)
        guard p == 1 || p == 2 else { throw attr.invalid("p", "= \(p) is not supported (only 1 and 2 are defined)") }
        let norm = try helper("norm", .reduce(Reduce(kind: p == 1 ? .l1 : .l2, axes: [axis], keepDims: true)), [x])
        let zero = helperConstant("zero", Tensor.scalar(0, t.dtype))
        let isZero = try helper("norm_is_zero", .binary(.equal), [norm, zero])
        let q = try helper("quotient", .binary(.div), [x, norm])
        return [try emit1(.where(Where()), [isZero, zero, q])]
    }

    /// MeanVarianceNormalization, exactly its function body (opsets 9 and 13):
    /// `(X - E[X]) / (sqrt(E[X²] - E[X]²) + 1e-9)`, the means over `axes` (default [0, 2, 3])
    /// with kept dims; the epsilon is added to the standard deviation, not the variance.
    func meanVarianceNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat, "X must be a float tensor, got \(t.dtype.rawValue)")
        let axes = try normalizeAxes(attr.ints("axes", default: [0, 2, 3]), rank: t.shape.rank)
        try require(!axes.isEmpty, "attribute 'axes' is empty")
        let mean = Op.reduce(Reduce(kind: .mean, axes: axes, keepDims: true))
        let xMean = try helper("mean", mean, [x])
        let meanSquared = try helper("mean_squared", .binary(.mul), [xMean, xMean])
        let squares = try helper("squares", .binary(.mul), [x, x])
        let meanOfSquares = try helper("mean_of_squares", mean, [squares])
        let variance = try helper("variance", .binary(.sub), [meanOfSquares, meanSquared])
        let std = try helper("std", .unary(.sqrt), [variance])
        let centered = try helper("centered", .binary(.sub), [x, xMean])
        let eps = helperConstant("epsilon", Tensor.scalar(1e-9, t.dtype))
        let denominator = try helper("std_eps", .binary(.add), [std, eps])
        return [try emit1(.binary(.div), [centered, denominator])]
    }

    /// Shrink: `x < -lambd ? x + bias : (x > lambd ? x - bias : 0)` (lambd 0.5, bias 0).
    /// float and double compute in their own type; other types (integers, f16, bf16)
    /// compute in float and cast back (truncating), as ONNX Runtime does.
    func shrink() throws -> [ValueID?] {
        let x = try input(0)
        let dtype = type(x).dtype
        try require(dtype != .bool, "input must be numeric, got bool")
        let lambd = Double(try attr.float("lambd", default: 0.5))
        let bias = Double(try attr.float("bias", default: 0))
        let work: DType = dtype == .f64 ? .f64 : .f32
        let v = dtype == work ? x : try helper("as_float", .cast(Cast(to: work)), [x])
        func c(_ tag: String, _ value: Double) -> ValueID { helperConstant(tag, Tensor.scalar(value, work)) }
        let below = try helper("below", .binary(.less), [v, c("neg_lambd", -lambd)])
        let above = try helper("above", .binary(.less), [c("lambd", lambd), v])
        let b = c("bias", bias)
        let plus = try helper("plus_bias", .binary(.add), [v, b])
        let minus = try helper("minus_bias", .binary(.sub), [v, b])
        let upper = try helper("upper", .where(Where()), [above, minus, c("zero", 0)])
        if dtype == work { return [try emit1(.where(Where()), [below, plus, upper])] }
        let y = try helper("shrunk", .where(Where()), [below, plus, upper])
        return [try emit1(.cast(Cast(to: dtype)), [y])]
    }

    /// EyeLike: a constant of the input's 2-D shape with ones on diagonal k (default 0),
    /// in `dtype` (default the input's type).
    func eyeLike() throws -> [ValueID?] {
        let t = try peekType(0)
        try require(t.shape.rank == 2, "input must be 2-D, got \(t.shape)")
        var dtype = t.dtype
        if let code = try attr.int("dtype") {
            dtype = try ONNXDataType.require(Int32(clamping: code), for: "attribute 'dtype'")
        }
        let k = try attr.int("k", default: 0)
        let (rows, cols) = (t.shape[0], t.shape[1])
        var values = [Double](repeating: 0, count: rows * cols)
        for i in 0..<rows {
            let j = i + k
            if j >= 0 && j < cols { values[i * cols + j] = 1 }
        }
        return [emitConstant(Tensor(dtype, t.shape, doubles: values))]
    }

    /// RMSNormalization (opset 23), its function body: X cast to `stash_type` (default
    /// float), `X / sqrt(reduce_mean(X², axes [axis, rank)) + epsilon)`, cast back to X's
    /// type, times Scale.
    func rmsNormalization() throws -> [ValueID?] {
        let x = try input(0)
        let t = type(x)
        try require(t.dtype.isFloat, "X must be a float tensor, got \(t.dtype.rawValue)")
        let rank = t.shape.rank
        let axis = try normalizeAxis(attr.int("axis", default: -1), rank: rank)
        let epsilon = Double(try attr.float("epsilon", default: 1e-5))
        let stash = try ONNXDataType.require(Int32(clamping: attr.int("stash_type", default: 1)), for: "attribute 'stash_type'")
        try require(stash.isFloat, "attribute 'stash_type' must be a float type, got \(stash.rawValue)")
        let xs = t.dtype == stash ? x : try helper("stashed", .cast(Cast(to: stash)), [x])
        let squares = try helper("squares", .binary(.mul), [xs, xs])
        let mean = try helper("mean_square", .reduce(Reduce(kind: .mean, axes: Array(axis..<rank), keepDims: true)), [squares])
        let eps = helperConstant("epsilon", Tensor.scalar(epsilon, stash))
        let rms = try helper("rms", .unary(.sqrt), [try helper("mean_square_eps", .binary(.add), [mean, eps])])
        var normalized = try helper("normalized", .binary(.div), [xs, rms])
        if stash != t.dtype { normalized = try helper("normalized_cast", .cast(Cast(to: t.dtype)), [normalized]) }
        return [try emit1(.binary(.mul), [normalized, input(1)])]
    }
}
