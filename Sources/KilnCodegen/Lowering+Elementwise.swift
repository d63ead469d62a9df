import KilnIR

// Elementwise ops → UNARY, BINARY, WHERE, CAST.

extension UnaryOp {
    /// The runtime function code and its (alpha, beta) parameters.
    var runtimeFunc: (UnaryFunc, Float, Float) {
        switch self {
        case .abs: return (.abs, 0, 0)
        case .neg: return (.neg, 0, 0)
        case .exp: return (.exp, 0, 0)
        case .log: return (.log, 0, 0)
        case .sqrt: return (.sqrt, 0, 0)
        case .reciprocal: return (.reciprocal, 0, 0)
        case .floor: return (.floor, 0, 0)
        case .ceil: return (.ceil, 0, 0)
        case .round: return (.round, 0, 0)
        case .sign: return (.sign, 0, 0)
        case .erf: return (.erf, 0, 0)
        case .sin: return (.sin, 0, 0)
        case .cos: return (.cos, 0, 0)
        case .tan: return (.tan, 0, 0)
        case .asin: return (.asin, 0, 0)
        case .acos: return (.acos, 0, 0)
        case .atan: return (.atan, 0, 0)
        case .sinh: return (.sinh, 0, 0)
        case .cosh: return (.cosh, 0, 0)
        case .asinh: return (.asinh, 0, 0)
        case .acosh: return (.acosh, 0, 0)
        case .atanh: return (.atanh, 0, 0)
        case .not: return (.not, 0, 0)
        case .isNaN: return (.isNan, 0, 0)
        case .isInf: return (.isInf, 0, 0)
        case .relu: return (.relu, 0, 0)
        case .sigmoid: return (.sigmoid, 0, 0)
        case .tanh: return (.tanh, 0, 0)
        case .softplus: return (.softplus, 0, 0)
        case .softsign: return (.softsign, 0, 0)
        case .mish: return (.mish, 0, 0)
        case .hardSwish: return (.hardSwish, 0, 0)
        case .silu: return (.silu, 0, 0)
        case .leakyRelu(let a): return (.leakyRelu, a, 0)
        case .elu(let a): return (.elu, a, 0)
        case .selu(let a, let g): return (.selu, a, g)
        case .celu(let a): return (.celu, a, 0)
        case .hardSigmoid(let a, let b): return (.hardSigmoid, a, b)
        case .thresholdedRelu(let a): return (.thresholdedRelu, a, 0)
        case .gelu(let tanh): return (tanh ? .geluTanh : .geluErf, 0, 0)
        }
    }
}

extension BinaryOp {
    var runtimeFunc: BinaryFunc {
        switch self {
        case .add: return .add
        case .sub: return .sub
        case .mul: return .mul
        case .div: return .div
        case .pow: return .pow
        case .min: return .min
        case .max: return .max
        case .mod: return .mod
        case .fmod: return .fmod
        case .equal: return .equal
        case .less: return .less
        case .lessOrEqual: return .lessOrEqual
        case .greater: return .greater
        case .greaterOrEqual: return .greaterOrEqual
        case .and: return .and
        case .or: return .or
        case .xor: return .xor
        case .prelu: return .prelu
        }
    }
}

extension UnaryFunc {
    /// Functions the runtime also runs on i32 and i64 tensors.
    var worksOnIntegers: Bool {
        switch self {
        case .identity, .relu, .abs, .neg, .sign, .clip: return true
        case .leakyRelu, .sigmoid, .tanh, .geluErf, .geluTanh, .hardSwish, .hardSigmoid, .elu, .selu, .celu,
             .softplus, .softsign, .mish, .thresholdedRelu, .exp, .log, .sqrt, .reciprocal, .floor, .ceil,
             .round, .erf, .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
             .not, .isNan, .isInf, .silu, .affine, .scaledTanh:
            return false
        }
    }
}

extension Lowerer {
    mutating func lowerUnary(_ u: UnaryOp, _ n: Node) throws {
        let (fn, alpha, beta) = u.runtimeFunc
        if fn == .not {
            try requireDType(n.operands[0], [.bool], u.mnemonic)
        } else {
            try requireDType(n.operands[0], fn.worksOnIntegers ? [.f32, .i32, .i64] : [.f32], u.mnemonic)
        }
        try emit(.unary, [.i(Int(fn.rawValue)), .f(alpha), .f(beta)], [tensor(n.operands[0])], [result(n.results[0])])
    }

    mutating func lowerClip(_ c: Clip, _ n: Node) throws {
        try requireDType(n.operands[0], [.f32, .i32, .i64], "clip")
        try emit(.unary, [.i(Int(UnaryFunc.clip.rawValue)), .f(c.min ?? -.infinity), .f(c.max ?? .infinity)],
                 [tensor(n.operands[0])], [result(n.results[0])])
    }

    /// BINARY; a fused activation appends the `act` triple to the attribute block.
    mutating func lowerBinary(_ b: BinaryOp, _ activation: FusedActivation?, _ n: Node) throws {
        let (a, x) = (n.operands[0], n.operands[1])
        let dtype = type(a).dtype
        switch b {
        case .and, .or, .xor: try requireDType(a, [.bool], b.mnemonic)
        case .prelu: try requireDType(a, [.f32], b.mnemonic)
        case .equal, .less, .lessOrEqual, .greater, .greaterOrEqual: try requireDType(a, [.f32, .i32, .i64, .bool], b.mnemonic)
        case .add, .sub, .mul, .div, .pow, .min, .max, .mod, .fmod: try requireDType(a, [.f32, .i32, .i64], b.mnemonic)
        }
        // The runtime wants one dtype for both operands; pow may have a differently typed
        // exponent, which is converted (at compile time when it is a constant).
        var other = tensor(x)
        if type(x).dtype != dtype {
            if let c = constant(x) {
                let converted = dtype.isFloat ? Tensor(dtype, c.shape, doubles: c.doubles) : Tensor(dtype, c.shape, int64s: c.int64s)
                other = constantTensor("exponent", converted)
            } else {
                let t = temp("exponent", TensorType(dtype, type(x).shape))
                program.emit(.cast, [], [other], [t])
                other = t
            }
        }
        let act = activation == nil ? [] : try actAttributes(activation, n.results[0])
        try emit(.binary, [.i(Int(b.runtimeFunc.rawValue))] + act, [tensor(a), other], [result(n.results[0])])
    }

    mutating func lowerWhere(_ n: Node) throws {
        try emit(.where, [], n.operands.map { tensor($0) }, [result(n.results[0])])
    }

    mutating func lowerCast(_ n: Node) throws {
        try emit(.cast, [], [tensor(n.operands[0])], [result(n.results[0])])
    }
}
