// Reference evaluation of the elementwise ops. Floats compute in Double and round to the
// result type once; integers compute in Int64 with wrapping arithmetic (u64 compares and
// divides on its unsigned bit pattern); nothing traps on division by zero or overflow.

import Foundation

extension UnaryOp {
    func evaluateUnary(_ x: Tensor, _ result: TensorType) throws -> Tensor {
        if x.dtype.isFloat {
            return Tensor(result.dtype, x.shape, doubles: x.doubles.map(unaryFloatFunction(self)))
        }
        guard let f = unaryIntegerFunction(self, signed: x.dtype.isSigned) else {
            throw KilnError("\(mnemonic) is not defined for \(x.dtype.rawValue)")
        }
        return Tensor(result.dtype, x.shape, int64s: x.int64s.map(f))
    }
}

/// The op on one Double (predicates return 1 or 0).
private func unaryFloatFunction(_ op: UnaryOp) -> (Double) -> Double {
    switch op {
    case .abs: return { abs($0) }
    case .neg: return { -$0 }
    case .exp: return { exp($0) }
    case .log: return { log($0) }
    case .sqrt: return { $0.squareRoot() }
    case .reciprocal: return { 1 / $0 }
    case .floor: return { $0.rounded(.down) }
    case .ceil: return { $0.rounded(.up) }
    case .round: return { $0.rounded(.toNearestOrEven) }
    case .sign: return { $0 > 0 ? 1 : ($0 < 0 ? -1 : $0) }  // ±0 and NaN map to themselves
    case .erf: return { erf($0) }
    case .sin: return { sin($0) }
    case .cos: return { cos($0) }
    case .tan: return { tan($0) }
    case .asin: return { asin($0) }
    case .acos: return { acos($0) }
    case .atan: return { atan($0) }
    case .sinh: return { sinh($0) }
    case .cosh: return { cosh($0) }
    case .asinh: return { asinh($0) }
    case .acosh: return { acosh($0) }
    case .atanh: return { atanh($0) }
    case .not: return { $0 == 0 ? 1 : 0 }
    case .isNaN: return { $0.isNaN ? 1 : 0 }
    case .isInf: return { $0.isInfinite ? 1 : 0 }
    case .relu: return { $0 < 0 ? 0 : $0 }  // NaN stays NaN
    case .sigmoid: return sigmoid
    case .tanh: return { tanh($0) }
    case .softplus: return softplus
    case .softsign: return { $0 / (1 + abs($0)) }
    case .mish: return { $0 * tanh(softplus($0)) }
    case .hardSwish: return { $0 * max(0, min(1, $0 / 6 + 0.5)) }
    case .silu: return { $0 * sigmoid($0) }
    case .leakyRelu(let alpha):
        let a = Double(alpha)
        return { $0 < 0 ? a * $0 : $0 }
    case .elu(let alpha):
        let a = Double(alpha)
        return { $0 < 0 ? a * (exp($0) - 1) : $0 }
    case .selu(let alpha, let gamma):
        let (a, g) = (Double(alpha), Double(gamma))
        return { $0 <= 0 ? g * (a * exp($0) - a) : g * $0 }
    case .celu(let alpha):
        let a = Double(alpha)
        return { max(0, $0) + min(0, a * (exp($0 / a) - 1)) }
    case .hardSigmoid(let alpha, let beta):
        let (a, b) = (Double(alpha), Double(beta))
        return { max(0, min(1, a * $0 + b)) }
    case .thresholdedRelu(let alpha):
        let a = Double(alpha)
        return { $0 > a ? $0 : 0 }
    case .gelu(let useTanh):
        if useTanh {
            let c = (2 / Double.pi).squareRoot()
            return { 0.5 * $0 * (1 + tanh(c * ($0 + 0.044715 * $0 * $0 * $0))) }
        }
        return { 0.5 * $0 * (1 + erf($0 / 2.0.squareRoot())) }
    }
}

/// 1 / (1 + e^-x), written so that neither branch overflows.
private func sigmoid(_ x: Double) -> Double {
    if x >= 0 { return 1 / (1 + exp(-x)) }
    let e = exp(x)
    return e / (1 + e)
}

/// log(1 + e^x) without overflow for large x.
private func softplus(_ x: Double) -> Double {
    x > 0 ? x + log1p(exp(-x)) : log1p(exp(x))
}

/// The op on one integer or bool element; nil where the op is float-only.
private func unaryIntegerFunction(_ op: UnaryOp, signed: Bool) -> ((Int64) -> Int64)? {
    switch op {
    case .abs: return signed ? { $0 < 0 ? 0 &- $0 : $0 } : { $0 }
    case .neg: return { 0 &- $0 }
    case .sign: return signed ? { $0 > 0 ? 1 : ($0 < 0 ? -1 : 0) } : { $0 != 0 ? 1 : 0 }
    case .relu: return { $0 < 0 ? 0 : $0 }
    case .not: return { $0 == 0 ? 1 : 0 }
    case .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .erf,
         .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
         .isNaN, .isInf, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu,
         .leakyRelu, .elu, .selu, .celu, .hardSigmoid, .thresholdedRelu, .gelu:
        return nil
    }
}

extension BinaryOp {
    func evaluateBinary(_ a: Tensor, _ b: Tensor, _ result: TensorType) -> Tensor {
        let shape = result.shape
        let ia = broadcastIndices(from: a.shape, to: shape)
        let ib = broadcastIndices(from: b.shape, to: shape)
        let n = shape.elementCount
        // Float operands, or an integer base raised to a float exponent (truncated after).
        if a.dtype.isFloat || b.dtype.isFloat {
            let f = binaryFloatFunction(self)
            let (av, bv) = (a.doubles, b.doubles)
            return Tensor(result.dtype, shape, doubles: (0..<n).map { f(av[ia[$0]], bv[ib[$0]]) })
        }
        if a.dtype == .u64, let f = binaryUnsignedFunction(self) {
            let (av, bv) = (a.uint64s, b.uint64s)
            return Tensor(result.dtype, shape, int64s: (0..<n).map { Int64(bitPattern: f(av[ia[$0]], bv[ib[$0]])) })
        }
        let f = binaryIntegerFunction(self)
        let (av, bv) = (a.int64s, b.int64s)
        return Tensor(result.dtype, shape, int64s: (0..<n).map { f(av[ia[$0]], bv[ib[$0]]) })
    }
}

private func binaryFloatFunction(_ op: BinaryOp) -> (Double, Double) -> Double {
    switch op {
    case .add: return { $0 + $1 }
    case .sub: return { $0 - $1 }
    case .mul: return { $0 * $1 }
    case .div: return { $0 / $1 }
    case .pow: return { pow($0, $1) }
    case .min: return { $0.isNaN || $1.isNaN ? .nan : min($0, $1) }
    case .max: return { $0.isNaN || $1.isNaN ? .nan : max($0, $1) }
    case .mod:  // Python-style: the result takes the divisor's sign
        return { a, b in
            let r = fmod(a, b)
            return r != 0 && (r < 0) != (b < 0) ? r + b : r
        }
    case .fmod: return { fmod($0, $1) }
    case .equal: return { $0 == $1 ? 1 : 0 }
    case .less: return { $0 < $1 ? 1 : 0 }
    case .lessOrEqual: return { $0 <= $1 ? 1 : 0 }
    case .greater: return { $0 > $1 ? 1 : 0 }
    case .greaterOrEqual: return { $0 >= $1 ? 1 : 0 }
    case .and: return { $0 != 0 && $1 != 0 ? 1 : 0 }
    case .or: return { $0 != 0 || $1 != 0 ? 1 : 0 }
    case .xor: return { ($0 != 0) != ($1 != 0) ? 1 : 0 }
    case .prelu: return { $0 < 0 ? $1 * $0 : $0 }
    }
}

/// Signed (and narrower unsigned) integer semantics on Int64. Division truncates toward
/// zero as in C; division or remainder by zero gives 0 instead of trapping.
private func binaryIntegerFunction(_ op: BinaryOp) -> (Int64, Int64) -> Int64 {
    switch op {
    case .add: return { $0 &+ $1 }
    case .sub: return { $0 &- $1 }
    case .mul: return { $0 &* $1 }
    case .div: return { $1 == 0 ? 0 : $0.dividedReportingOverflow(by: $1).partialValue }
    case .pow: return integerPower
    case .min: return { min($0, $1) }
    case .max: return { max($0, $1) }
    case .mod:
        return { a, b in
            guard b != 0 else { return 0 }
            let r = a.remainderReportingOverflow(dividingBy: b).partialValue
            return r != 0 && (r < 0) != (b < 0) ? r &+ b : r
        }
    case .fmod: return { $1 == 0 ? 0 : $0.remainderReportingOverflow(dividingBy: $1).partialValue }
    case .equal: return { $0 == $1 ? 1 : 0 }
    case .less: return { $0 < $1 ? 1 : 0 }
    case .lessOrEqual: return { $0 <= $1 ? 1 : 0 }
    case .greater: return { $0 > $1 ? 1 : 0 }
    case .greaterOrEqual: return { $0 >= $1 ? 1 : 0 }
    case .and: return { $0 != 0 && $1 != 0 ? 1 : 0 }
    case .or: return { $0 != 0 || $1 != 0 ? 1 : 0 }
    case .xor: return { ($0 != 0) != ($1 != 0) ? 1 : 0 }
    case .prelu: return { $0 < 0 ? $1 &* $0 : $0 }
    }
}

/// u64 versions of the ops whose result depends on signedness; nil where the Int64
/// bit-pattern arithmetic is already right.
private func binaryUnsignedFunction(_ op: BinaryOp) -> ((UInt64, UInt64) -> UInt64)? {
    switch op {
    case .div: return { $1 == 0 ? 0 : $0 / $1 }
    case .mod, .fmod: return { $1 == 0 ? 0 : $0 % $1 }
    case .min: return { min($0, $1) }
    case .max: return { max($0, $1) }
    case .less: return { $0 < $1 ? 1 : 0 }
    case .lessOrEqual: return { $0 <= $1 ? 1 : 0 }
    case .greater: return { $0 > $1 ? 1 : 0 }
    case .greaterOrEqual: return { $0 >= $1 ? 1 : 0 }
    case .prelu: return { a, _ in a }
    case .add, .sub, .mul, .pow, .equal, .and, .or, .xor: return nil
    }
}

/// Exact integer power by repeated squaring (wrapping like the fixed-width result).
/// A negative exponent gives the truncated reciprocal: 1 for base 1, ±1 for base -1, else 0.
private func integerPower(_ base: Int64, _ exponent: Int64) -> Int64 {
    if exponent < 0 { return base == 1 ? 1 : base == -1 ? (exponent & 1 == 0 ? 1 : -1) : 0 }
    var (result, b, e): (Int64, Int64, Int64) = (1, base, exponent)
    while e > 0 {
        if e & 1 == 1 { result = result &* b }
        b = b &* b
        e >>= 1
    }
    return result
}

extension Clip {
    /// `min(max(x, lo), hi)`: when lo > hi every element becomes hi, as ONNX specifies.
    func evaluateClip(_ x: Tensor) -> Tensor {
        if x.dtype.isFloat {
            let (lo, hi) = (self.min.map { Double($0) }, self.max.map { Double($0) })
            return x.mapDoubles { v in
                var r = v
                if let lo, r < lo { r = lo }
                if let hi, r > hi { r = hi }
                return r
            }
        }
        // For an integer x, x < lo exactly when x < ceil(lo).
        let lo = self.min.flatMap { int64Bound(Double($0).rounded(.up)) }
        let hi = self.max.flatMap { int64Bound(Double($0).rounded(.down)) }
        return Tensor(x.dtype, x.shape, int64s: x.int64s.map { v in
            var r = v
            if let lo, r < lo { r = lo }
            if let hi, r > hi { r = hi }
            return r
        })
    }
}

/// An integral Double as Int64, saturating; nil for NaN (no bound).
private func int64Bound(_ v: Double) -> Int64? {
    if v.isNaN { return nil }
    if v >= 9.2233720368547758e18 { return .max }
    if v <= -9.2233720368547758e18 { return .min }
    return Int64(v)
}

extension Cast {
    /// Floats round to nearest even, float → integer truncates toward zero and saturates at
    /// the target's range (NaN → 0; 64-bit targets at the doubles nearest the int64 range),
    /// exactly as the runtime's CAST does — ONNX leaves out-of-range values undefined and
    /// ONNX Runtime's results there are the host's conversion artefacts; anything → bool is
    /// `!= 0`, integer → integer wraps to the width.
    func evaluateCast(_ x: Tensor) -> Tensor {
        let shape = x.shape
        if x.dtype == to { return Tensor(type: TensorType(to, shape), bytes: x.bytes) }
        if x.dtype.isFloat && to.isInteger {
            let wide = to == .i64 || to == .u64
            let lo = wide ? -9223372036854775808.0 : Double(to.integerRange.min)
            let hi = wide ? 9223372036854774784.0 : Double(to.integerRange.max)
            return Tensor(to, shape, int64s: x.doubles.map { $0.isNaN ? 0 : Int64(min(max($0.rounded(.towardZero), lo), hi)) })
        }
        if x.dtype == .f64 && to == .f16 {
            // Round once, straight from Double (via Float could round twice).
            let bits = x.doubles.map { Float16($0).bitPattern }
            return Tensor(type: TensorType(.f16, shape), bytes: bits.withUnsafeBytes { Array($0) })
        }
        if x.dtype.isFloat { return Tensor(to, shape, doubles: x.doubles) }
        if to.isFloat {
            let values = x.dtype == .u64 ? x.uint64s.map { Double($0) } : x.int64s.map { Double($0) }
            return Tensor(to, shape, doubles: values)
        }
        return Tensor(to, shape, int64s: x.int64s)
    }
}
