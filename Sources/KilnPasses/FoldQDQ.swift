import KilnIR

/// fold-qdq: folds the DequantizeLinear → Conv/Gemm/MatMul [→ Relu/Clip] → QuantizeLinear
/// chains of a QDQ model (ONNX Runtime's `quantize_static(quant_format=QDQ)`) into one
/// qlinear_conv / qlinear_mat_mul, so they run in the int8 kernels.
///
///     %x.f = dequantize_linear(%x.q, %sx, %zx) {block_size = 0} : f32[1,3,8,8]
///     %w.f = dequantize_linear(%w.q, %sw, %zw) {axis = 0, block_size = 0} : f32[8,3,3,3]
///     %b.f = dequantize_linear(%b.q, %sb, %zb) {axis = 0, block_size = 0} : f32[8]
///     %c = conv(%x.f, %w.f, %b.f) {…} : f32[1,8,8,8]
///     %r = relu(%c) : f32[1,8,8,8]
///     %y = quantize_linear(%r, %sy, %zy) {block_size = 0, output_type = u8} : u8[1,8,8,8]
///   becomes
///     %y = qlinear_conv(%x.q, %w.q, %b.i32) {…, x_scale = sx, w_scales = sw, y_min = zy, …} : u8[1,8,8,8]
///
/// Applies when: the QuantizeLinear is per-tensor to u8 with constant parameters; its input
/// (and the relu/clip's, if any) has no other use and is not a graph output; the
/// op's input is a per-tensor DequantizeLinear of a u8 value with constant parameters; the
/// weight is a DequantizeLinear of a constant i8 tensor with zero zero points, per tensor
/// or per output channel (axis 0 of a 2-D conv weight [M, …], axis 1 of a [K, N] matrix, or
/// axis 0 of a transposed gemm weight [N, K]); the bias, if any, is a float constant or a
/// DequantizeLinear of constants; the op carries no fused activation and gemm has
/// alpha > 0 and no transA. Anything else stays in float (still correct).
/// A second pattern folds the residual adds ORT writes between two quantized ops:
///     %y = quantize_linear([relu|clip](add(dequantize_linear(%a, %sa, %za), dequantize_linear(%b, %sb, %zb))), %sy, %zy)
///   becomes
///     %y = qlinear_add(%a, %b) {a_scale = sa, …, y_min = <clamp>, …}
/// when both dequantizes are per-tensor u8 with constant parameters, a and b have the same
/// shape (no broadcasting) and the scale ratios are in the kernel's range. Likewise
///     %y = quantize_linear(concat(dequantize_linear(%x0, …), …), %sy, %zy)
///   becomes qlinear_concat(%x0, …) (each input requantized to the output's parameters), and
///     %y = quantize_linear(reduce_mean(dequantize_linear(%x, …)) {axes = [2, 3], keep_dims = true}, …)
///   (GlobalAveragePool of [N,C,H,W]) qlinear_global_average_pool(%x); a 2-D max pool between
///   a DequantizeLinear and a QuantizeLinear with the same parameters pools the u8 value
///   (QMAXPOOL; max commutes with the monotonic (de)quantization).
/// A third pattern drops a requantization with the same parameters, directly or around a
/// reshape (ORT writes DQ → Flatten → Q around a Flatten between two quantized ops):
///     %f = reshape(dequantize_linear(%a, %s, %z)) ; %q = quantize_linear(%f, %s, %z)
///   becomes
///     %q = reshape(%a)
/// (exact: the dequantized value is k·s, which quantizes back to k).
/// Run it before fold-constants, which would turn the weight's DequantizeLinear into a
/// float constant.
/// Precondition: verified graph. Guarantees: the same outputs up to one quantization step
/// of the QuantizeLinear (the bias is rounded to i32 in units of x_scale·w_scale[m], and
/// the kernel requantizes in fixed point).
public struct FoldQDQ: Pass {
    public init() {}
    public var name: String { "fold-qdq" }
    public func run(on graph: inout Graph, context: PassContext) throws -> Bool {
        try PatternDriver.apply([FoldQDQPattern(), FoldQDQAdd(), FoldQDQConcat(), FoldQDQGlobalAveragePool(), DropRequantize()], to: &graph)
    }
}

/// Constant scale and zero point operands (1 and 2) of a Q/DQ node.
private func quantConstants(_ node: Node, _ r: Rewriter) -> (scales: [Float], zeroPoints: [Int64])? {
    guard node.operands.count == 3, let s = r.constant(node.operands[1]), s.dtype == .f32,
          let z = r.constant(node.operands[2]) else { return nil }
    return (s.floats, z.int64s)
}

/// `v` = dequantize_linear(u8 x, per-tensor constants): x, its scale and zero point.
private func dequantizedActivation(_ v: ValueID, _ r: Rewriter) -> (x: ValueID, scale: Float, zeroPoint: Int)? {
    guard let dq = r.producer(of: v), case .dequantizeLinear(let a) = dq.op, a.axis == nil, a.blockSize == 0,
          r.type(of: dq.operands[0]).dtype == .u8, let (s, z) = quantConstants(dq, r),
          s.count == 1, z.count == 1 else { return nil }
    return (dq.operands[0], s[0], Int(z[0]))
}

/// `v` = dequantize_linear(constant i8 w, constants with zero zero points): w, the scales
/// (one per axis entry, or one for the tensor) and the axis (nil per tensor).
private func dequantizedWeight(_ v: ValueID, _ r: Rewriter) -> (w: Tensor, scales: [Float], axis: Int?)? {
    guard let dq = r.producer(of: v), case .dequantizeLinear(let a) = dq.op, a.blockSize == 0,
          let w = r.constant(dq.operands[0]), w.dtype == .i8, let (s, z) = quantConstants(dq, r),
          z.allSatisfy({ $0 == 0 }) else { return nil }
    return (w, s, a.axis)
}

/// The float values of a bias: a float constant, or a dequantize_linear of constants
/// (evaluated).
private func biasValues(_ v: ValueID, _ r: Rewriter) throws -> [Double]? {
    if let c = r.constant(v) { return c.dtype.isFloat ? c.doubles : nil }
    guard let dq = r.producer(of: v), case .dequantizeLinear = dq.op else { return nil }
    let ops = dq.operands.compactMap { r.constant($0) }
    guard ops.count == dq.operands.count else { return nil }
    return try dq.op.evaluate(ops, results: [r.type(of: v)])[0].doubles
}

struct FoldQDQPattern: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .quantizeLinear(let qa) = node.op, qa.outputType == .u8, qa.axis == nil, qa.blockSize == 0,
              let (ys, yz) = quantConstants(node, r), ys.count == 1, yz.count == 1 else { return nil }
        var v = node.operands[0]
        var clamp: (min: Float?, max: Float?)?
        if let act = r.absorbable(v), act.results.count == 1 {
            if case .unary(.relu) = act.op { clamp = (0, nil); v = act.operands[0] }
            if case .clip(let cl) = act.op, act.operands.count == 1 { clamp = (cl.min, cl.max); v = act.operands[0] }
        }
        guard r.type(of: v).dtype == .f32, let lin = r.absorbable(v), lin.results.count == 1, lin.operands.count >= 2,
              let x = dequantizedActivation(lin.operands[0], r),
              let (wq, wScalesIn, axis) = dequantizedWeight(lin.operands[1], r) else { return nil }

        // The i8 weight in the kernel's layout, the channel axis the scales must follow, the
        // output channel count and the op.
        var w = wq
        var alpha: Float = 1, beta: Double = 1
        let channelAxis: Int, channels: Int
        let make: (QLinearParams) -> Op
        if case .conv(let c) = lin.op {
            guard c.activation == nil, w.shape.rank == 4 else { return nil }
            channelAxis = 0; channels = w.shape[0]
            make = { .qlinearConv(QLinearConv(conv: c, quant: $0)) }
        } else if case .gemm(let g) = lin.op {
            guard g.activation == nil, !g.transA, g.alpha > 0, g.alpha.isFinite, w.shape.rank == 2 else { return nil }
            channelAxis = g.transB ? 0 : 1
            channels = w.shape[channelAxis]
            alpha = g.alpha; beta = Double(g.beta)
            make = { .qlinearMatMul(QLinearMatMul(quant: $0)) }
        } else if case .matMul(let m) = lin.op {
            guard m.activation == nil, w.shape.rank == 2, lin.operands.count == 2 else { return nil }
            channelAxis = 1; channels = w.shape[1]
            make = { .qlinearMatMul(QLinearMatMul(quant: $0)) }
        } else {
            return nil
        }
        let wScales: [Float]
        if axis == nil, wScalesIn.count == 1 {
            wScales = [Float](repeating: wScalesIn[0] * alpha, count: channels)
        } else {
            guard axis == channelAxis, wScalesIn.count == channels else { return nil }
            wScales = wScalesIn.map { $0 * alpha }
        }
        if case .gemm(let g) = lin.op, g.transB { w = transposedInt(w) }

        var q = QLinearParams(xScale: x.scale, xZeroPoint: x.zeroPoint, wScales: wScales, yScale: ys[0], yZeroPoint: Int(yz[0]))
        if let clamp {
            if let lo = clamp.min { q.yMin = quantizeU8(lo, q) }
            if let hi = clamp.max { q.yMax = quantizeU8(hi, q) }
            if q.yMin > q.yMax { q.yMax = q.yMin }
        }
        let base = r.graph[node.results[0]].name
        var operands = [x.x, try r.create1(.constant(w), [], name: r.graph[lin.operands[1]].name + ".q")]
        if lin.operands.count > 2 {
            guard let b = try biasValues(lin.operands[2], r), b.count == channels else { return nil }
            let bq = (0..<channels).map { m -> Int64 in
                let units = (beta * b[m] / (Double(q.xScale) * Double(q.wScales[m]))).rounded()
                return Int64(min(max(units, -2147483648), 2147483647))
            }
            operands.append(try r.create1(.constant(Tensor(.i32, [channels], int64s: bq)), [], name: base + ".bias"))
        }
        // Scales the kernels cannot take (zero, non-finite, a zero point outside u8) stay float.
        guard (try? make(q).resultTypes(operands.map { r.type(of: $0) })) != nil else { return nil }
        return [try r.create1(make(q), operands, nodeName: lin.name)]
    }

    /// `v` quantized with the output parameters of `q`, saturated to u8.
    private func quantizeU8(_ v: Float, _ q: QLinearParams) -> Int {
        let t = (Double(v) / Double(q.yScale)).rounded(.toNearestOrEven) + Double(q.yZeroPoint)
        return Int(min(max(t, 0), 255))
    }

    /// A [R, C] integer tensor transposed to [C, R].
    private func transposedInt(_ w: Tensor) -> Tensor {
        let (rows, cols) = (w.shape[0], w.shape[1]), xs = w.int64s
        return Tensor(w.dtype, [cols, rows], int64s: (0..<(rows * cols)).map { i in xs[(i % rows) * cols + i / rows] })
    }
}

struct FoldQDQAdd: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .quantizeLinear(let qa) = node.op, qa.outputType == .u8, qa.axis == nil, qa.blockSize == 0,
              let (ys, yz) = quantConstants(node, r), ys.count == 1, yz.count == 1 else { return nil }
        var v = node.operands[0]
        var clamp: (min: Float?, max: Float?)?
        if let act = r.absorbable(v), act.results.count == 1 {
            if case .unary(.relu) = act.op { clamp = (0, nil); v = act.operands[0] }
            if case .clip(let cl) = act.op, act.operands.count == 1 { clamp = (cl.min, cl.max); v = act.operands[0] }
        }
        guard let add = r.absorbable(v), case .binary(.add, .none) = add.op, add.operands.count == 2,
              let a = dequantizedActivation(add.operands[0], r), let b = dequantizedActivation(add.operands[1], r),
              r.type(of: a.x).shape == r.type(of: b.x).shape, r.type(of: v).shape == r.type(of: a.x).shape else { return nil }
        let y = ActivationParams(scale: ys[0], zeroPoint: Int(yz[0]))
        let (lo, hi) = y.clampBounds(clamp)
        let op = QLinearAdd(aScale: a.scale, aZeroPoint: a.zeroPoint, bScale: b.scale, bZeroPoint: b.zeroPoint,
                            yScale: ys[0], yZeroPoint: Int(yz[0]), yMin: lo, yMax: hi)
        // Scales the kernel cannot take stay float.
        guard (try? op.resultTypes([r.type(of: a.x), r.type(of: b.x)])) != nil else { return nil }
        return [try r.create1(.qlinearAdd(op), [a.x, b.x], nodeName: add.name)]
    }
}

struct FoldQDQConcat: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .quantizeLinear(let qa) = node.op, qa.outputType == .u8, qa.axis == nil, qa.blockSize == 0,
              let (ys, yz) = quantConstants(node, r), ys.count == 1, yz.count == 1,
              let cat = r.absorbable(node.operands[0]), case .concat(let c) = cat.op, cat.results.count == 1 else { return nil }
        let xs = cat.operands.compactMap { dequantizedActivation($0, r) }
        guard xs.count == cat.operands.count else { return nil }
        let op = QLinearConcat(axis: c.axis, xScales: xs.map(\.scale), xZeroPoints: xs.map(\.zeroPoint), yScale: ys[0],
                               yZeroPoint: Int(yz[0]))
        guard (try? op.resultTypes(xs.map { r.type(of: $0.x) })) != nil else { return nil }
        return [try r.create1(.qlinearConcat(op), xs.map(\.x), nodeName: cat.name)]
    }
}

struct FoldQDQGlobalAveragePool: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .quantizeLinear(let qa) = node.op, qa.outputType == .u8, qa.axis == nil, qa.blockSize == 0,
              let (ys, yz) = quantConstants(node, r), ys.count == 1, yz.count == 1,
              let pool = r.absorbable(node.operands[0]), case .reduce(let red) = pool.op, red.kind == .mean, red.axes == [2, 3],
              red.keepDims, pool.operands.count == 1, let x = dequantizedActivation(pool.operands[0], r) else { return nil }
        let op = QLinearGlobalAveragePool(xScale: x.scale, xZeroPoint: x.zeroPoint, yScale: ys[0], yZeroPoint: Int(yz[0]))
        guard (try? op.resultTypes([r.type(of: x.x)])) != nil else { return nil }
        return [try r.create1(.qlinearGlobalAveragePool(op), [x.x], nodeName: pool.name)]
    }
}

struct DropRequantize: RewritePattern {
    func rewrite(_ node: Node, _ r: inout Rewriter) throws -> [ValueID]? {
        guard case .quantizeLinear(let qa) = node.op, qa.axis == nil, qa.blockSize == 0,
              let (ys, yz) = quantConstants(node, r), ys.count == 1, yz.count == 1 else { return nil }
        var v = node.operands[0]
        var reshape: Reshape?, pool: Pool?
        if let p = r.absorbable(v) {
            if case .reshape(let a) = p.op { reshape = a; v = p.operands[0] }
            if case .pool(let a) = p.op, a.kind == .max, a.kernel.count == 2, p.results.count == 1 { pool = a; v = p.operands[0] }
        }
        guard let dq = r.producer(of: v), case .dequantizeLinear(let da) = dq.op, da.axis == nil, da.blockSize == 0,
              r.type(of: dq.operands[0]).dtype == qa.outputType, let (s, z) = quantConstants(dq, r),
              s == ys, z == yz else { return nil }
        let name = r.producer(of: node.operands[0])?.name ?? ""
        if let pool {
            guard qa.outputType == .u8 else { return nil }
            return [try r.create1(.pool(pool), [dq.operands[0]], nodeName: name)]
        }
        guard let reshape else { return [dq.operands[0]] }
        return [try r.create1(.reshape(reshape), [dq.operands[0]], nodeName: name)]
    }
}
