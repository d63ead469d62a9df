// Dynamic int8: dynamic_quant_params (the scale and zero point of ONNX DynamicQuantizeLinear)
// and dyn_quant_mat_mul (a mat_mul whose f32 activation is quantized to u8 while running,
// against a constant symmetric i8 weight, int32 accumulation, dequantized in f32).
//
// Both follow one exactly defined f32 recipe, which the runtime (DYN_QPARAMS, DYN_QGEMM)
// computes bit for bit:
//   lo = min(0, min x), hi = max(0, max x)     over the group (the tensor, or one row)
//   scale = (hi - lo) / 255                     (f32)
//   zp = sat_u8(round_half_even(-lo / scale))   (0 when scale is not positive and finite)
//   q = sat_u8(round_half_even(x / scale) + zp) (NaN → 0; every q = 0 when zp was forced to 0)
//   acc[r, c] = Σ_k (q[r, k] - zp) * w[k, c]   (exact in int32 for K < 65536)
//   y[r, c] = act(fma(f32(acc), scale * w_scales[c], bias[c]))

/// The quantization parameters of a group of f32 values (the recipe above).
public struct DynamicRange: Sendable {
    public var scale: Float
    public var zeroPoint: Int
    /// False when the group's range is empty or not finite: every value quantizes to 0.
    public var usable: Bool

    public init<S: Sequence>(_ xs: S) where S.Element == Float {
        var lo: Float = 0, hi: Float = 0
        for v in xs {
            if v < lo { lo = v }
            if v > hi { hi = v }
        }
        scale = (hi - lo) / 255
        usable = scale > 0 && scale.isFinite
        zeroPoint = usable ? DynamicRange.saturate((-lo / scale).rounded(.toNearestOrEven)) : 0
    }

    /// `sat_u8(round_half_even(x / scale) + zp)`, NaN → 0.
    public func quantize(_ x: Float) -> Int {
        guard usable else { return 0 }
        return DynamicRange.saturate((x / scale).rounded(.toNearestOrEven) + Float(zeroPoint))
    }

    static func saturate(_ v: Float) -> Int {
        v.isNaN ? 0 : v < 0 ? 0 : v > 255 ? 255 : Int(v)
    }
}

/// dynamic_quant_params: operand `x f32` (any shape); results `scale f32 []` and
/// `zero_point u8 []` of the whole tensor (ONNX DynamicQuantizeLinear's second and third
/// outputs; its first is quantize_linear(x, scale, zero_point)).
public struct DynamicQuantParams: Hashable, Sendable {
    public init() {}
}

/// dyn_quant_mat_mul: operands `x f32 [..., K]`, `w i8 [K, N]` (symmetric, per output
/// column scales `w_scales`), optional `bias f32 [N]`; result `f32 [..., N]`. `per_row`:
/// each row of x (all leading dims flattened) gets its own range, else the whole tensor
/// shares one (DynamicQuantizeLinear's).
public struct DynQuantMatMul: Hashable, Sendable {
    public var wScales: [Float]
    public var perRow: Bool
    public var activation: FusedActivation?
    public init(wScales: [Float], perRow: Bool, activation: FusedActivation? = nil) {
        self.wScales = wScales; self.perRow = perRow; self.activation = activation
    }
}

extension DynamicQuantParams: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 1...1, "dynamic_quant_params")
        try require(operands[0].dtype == .f32, "dynamic_quant_params: input must be f32, got \(operands[0].dtype.rawValue)")
        return [TensorType(.f32, []), TensorType(.u8, [])]
    }

    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let r = DynamicRange(operands[0].floats)
        return [Tensor([], floats: [r.scale]), Tensor(.u8, [], int64s: [Int64(r.zeroPoint)])]
    }
}

extension DynQuantMatMul: OpRule {
    public func resultTypes(_ operands: [TensorType]) throws -> [TensorType] {
        try expectOperands(operands, 2...3, "dyn_quant_mat_mul")
        let (x, w) = (operands[0], operands[1])
        try require(x.dtype == .f32, "dyn_quant_mat_mul: input must be f32, got \(x.dtype.rawValue)")
        try require(w.dtype == .i8 && w.shape.rank == 2, "dyn_quant_mat_mul: weight must be i8 [K, N], got \(w.dtype.rawValue)\(w.shape)")
        try require(x.shape.rank >= 1 && x.shape.dims.last == w.shape[0],
                    "dyn_quant_mat_mul: input \(x.shape) does not end in K = \(w.shape[0])")
        try require(w.shape[0] < 65536, "dyn_quant_mat_mul: K = \(w.shape[0]) must be below 65536")
        let n = w.shape[1]
        try require(wScales.count == n, "dyn_quant_mat_mul: w_scales has \(wScales.count) values, expected \(n) (one per output column)")
        try require(wScales.allSatisfy { $0 > 0 && $0.isFinite }, "dyn_quant_mat_mul: w_scales must be positive and finite")
        if operands.count == 3 {
            try require(operands[2].dtype == .f32 && operands[2].shape == Shape([n]),
                        "dyn_quant_mat_mul: bias must be f32 [\(n)], got \(operands[2].dtype.rawValue)\(operands[2].shape)")
        }
        return [TensorType(.f32, Shape(Array(x.shape.dims.dropLast()) + [n]))]
    }

    /// The recipe of this file's header, in plain loops (Float arithmetic where the
    /// runtime uses f32, exact integers for the sums).
    public func evaluate(_ operands: [Tensor], results: [TensorType]) throws -> [Tensor] {
        let xs = operands[0].floats, ws = operands[1].int64s
        let k = operands[1].shape[0], n = operands[1].shape[1], rows = k == 0 ? 0 : xs.count / k
        let bias = operands.count == 3 ? operands[2].floats : [Float](repeating: 0, count: n)
        let whole = perRow ? nil : DynamicRange(xs)
        var out = [Float](repeating: 0, count: results[0].shape.elementCount)
        for r in 0..<rows {
            let row = xs[(r * k)..<((r + 1) * k)]
            let range = whole ?? DynamicRange(row)
            let zp = range.usable ? Int64(range.zeroPoint) : 0
            let q = row.map { Int64(range.quantize($0)) - zp }
            for c in 0..<n {
                var acc: Int64 = 0
                for i in 0..<k { acc += q[i] * ws[i * n + c] }
                let m = range.scale * wScales[c]
                out[r * n + c] = bias[c].addingProduct(Float(Int32(truncatingIfNeeded: acc)), range.usable ? m : 0)
            }
        }
        return [Tensor(results[0].shape, floats: out)]
    }
}
