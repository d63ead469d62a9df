import KilnIR

// Elementwise ONNX ops: unary math, binary arithmetic/comparison/logic, the variadic
// Min/Max/Sum/Mean, Clip, Where, IsNaN/IsInf, Cast and CastLike.

extension NodeContext {
    /// Abs, Sqrt, Exp, …: one input, one output, no attributes.
    func unary(_ u: UnaryOp) throws -> [ValueID?] {
        [try emit1(.unary(u), [input(0)])]
    }

    /// Add, Sub, Mul, Div, comparisons, And/Or/Xor: two inputs with numpy broadcasting.
    func binary(_ b: BinaryOp) throws -> [ValueID?] {
        [try emit1(.binary(b), [input(0), legacyBroadcastOperand()])]
    }

    /// Pow: ONNX allows an exponent of another element type; Kiln's binary ops take one
    /// dtype, so such an exponent is cast to the base's type first.
    func pow() throws -> [ValueID?] {
        let x = try input(0)
        var y = try legacyBroadcastOperand()
        if type(y).dtype != type(x).dtype {
            y = try helper("exponent", .cast(Cast(to: type(x).dtype)), [y])
        }
        return [try emit1(.binary(.pow), [x, y])]
    }

    /// Mod: `fmod = 1` selects C fmod (sign of the dividend), else Python-style modulo.
    func mod() throws -> [ValueID?] {
        let op: BinaryOp = try attr.bool("fmod", default: false) ? .fmod : .mod
        return [try emit1(.binary(op), [input(0), input(1)])]
    }

    /// Min, Max, Sum: a chain of binary ops over all inputs (a single input is an identity).
    func variadic(_ b: BinaryOp) throws -> [ValueID?] {
        let xs = try allInputs()
        guard var acc = xs.first else { throw KilnError("needs at least one input") }
        if xs.count == 1 { return [try emit1(.identity(Identity()), [acc])] }
        for k in 1..<xs.count {
            acc = k == xs.count - 1
                ? try emit1(.binary(b), [acc, xs[k]])
                : try helper("\(b.mnemonic)\(k)", .binary(b), [acc, xs[k]])
        }
        return [acc]
    }

    /// Mean: the sum of all inputs divided by their count.
    func mean() throws -> [ValueID?] {
        let xs = try allInputs()
        guard var acc = xs.first else { throw KilnError("needs at least one input") }
        if xs.count == 1 { return [try emit1(.identity(Identity()), [acc])] }
        for k in 1..<xs.count { acc = try helper("sum\(k)", .binary(.add), [acc, xs[k]]) }
        let n = helperConstant("count", Tensor.scalar(Double(xs.count), type(acc).dtype))
        return [try emit1(.binary(.div), [acc, n])]
    }

    /// Not.
    func not() throws -> [ValueID?] { try unary(.not) }

    /// Where(condition, X, Y).
    func whereOp() throws -> [ValueID?] {
        [try emit1(.where(Where()), [input(0), input(1), input(2)])]
    }

    /// IsNaN.
    func isNaN() throws -> [ValueID?] { try unary(.isNaN) }

    /// IsInf. With both `detect_negative` and `detect_positive` (the default) it is the
    /// is_inf op; with one of them off, is_inf is combined with the sign test of the kept
    /// side (`x < 0` or `x > 0`); with both off the result is all false.
    func isInf() throws -> [ValueID?] {
        let negative = try attr.int("detect_negative", default: 1) != 0
        let positive = try attr.int("detect_positive", default: 1) != 0
        if negative && positive { return try unary(.isInf) }
        let x = try input(0)
        let t = type(x)
        if !negative && !positive {
            return [emitConstant(Tensor(.bool, t.shape, int64s: [Int64](repeating: 0, count: t.shape.elementCount)))]
        }
        let inf = try helper("is_inf", .unary(.isInf), [x])
        let zero = helperConstant("zero", Tensor.scalar(0, t.dtype))
        let side = try helper(negative ? "is_negative" : "is_positive",
                              .binary(negative ? .less : .greater), [x, zero])
        return [try emit1(.binary(.and), [inf, side])]
    }

    /// Clip: bounds from inputs 1 and 2 (opset 11+) or the `min`/`max` attributes (older),
    /// resolved at import; an absent bound is unbounded.
    func clip() throws -> [ValueID?] {
        let x = try input(0)
        var lo: Float? = try attr.float("min")
        var hi: Float? = try attr.float("max")
        if opset >= 11 {
            if let t = try constant(1, "min") { lo = try scalarValue(t, "min").map(Float.init) }
            if let t = try constant(2, "max") { hi = try scalarValue(t, "max").map(Float.init) }
        }
        return [try emit1(.clip(Clip(min: lo, max: hi)), [x])]
    }

    /// Cast: `to` is an ONNX element type; `saturate` only matters for float8 targets.
    func cast() throws -> [ValueID?] {
        guard let to = try legacyCastTarget() ?? attr.int("to").map(Int32.init(clamping:)) else {
            throw KilnError("attribute 'to' is missing")
        }
        let dtype = try ONNXDataType.require(to, for: "attribute 'to'")
        return [try emit1(.cast(Cast(to: dtype)), [input(0)])]
    }

    /// CastLike: cast to the element type of input 1.
    func castLike() throws -> [ValueID?] {
        let target = try peekType(1).dtype
        return [try emit1(.cast(Cast(to: target)), [input(0)])]
    }
}

/// The single element of a scalar or one-element tensor, nil for an empty tensor (which
/// some exporters use for "not given").
func scalarValue(_ t: Tensor, _ what: String) throws -> Double? {
    if t.count == 0 { return nil }
    try require(t.count == 1, "\(what) must be a scalar, got shape \(t.shape)")
    return t.doubles[0]
}
