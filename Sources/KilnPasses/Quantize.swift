import KilnIR

/// What `QuantizeInt8` did, for the compile report.
public struct QuantizeReport: Sendable {
    public var quantized = 0
    public var boundaries = 0
    /// Residual adds run as qlinear_add, concats as qlinear_concat, global average pools as
    /// qlinear_global_average_pool (step 6).
    public var adds = 0
    public var concats = 0
    public var pools = 0
    /// int8 ops whose activation runs as a qlinear_lookup table.
    public var lookups = 0
}

/// Static int8 post-training quantization of conv, gemm and mat_mul with constant weights.
///
/// Before (`%r` single-use, feeding a relu or clip, which is fused):
///     %c = conv(%x, %w, %b) {…} : f32[1,16,8,8]
///     %r = relu(%c) : f32[1,16,8,8]
/// After:
///     %x.q = quantize_linear(%x, %sx, %zx) {block_size = 0, output_type = u8} : u8[1,8,8,8]
///     %r.q = qlinear_conv(%x.q, %w.q, %b.q) {…, x_scale = …, w_scales = […], y_min = <zp>, …} : u8[1,16,8,8]
///     %r = dequantize_linear(%r.q, %sr, %zr) {block_size = 0} : f32[1,16,8,8]
/// A quantized op reading another's result reads its u8 value directly (the
/// dequantize/quantize pair between them disappears), so float ops see a clean boundary.
///
/// Algorithm:
/// 1. Candidates: conv (2-D, f32) with a constant weight and bias; gemm without transA
///    with a constant B and a constant C of N elements; mat_mul with a constant rank-2
///    weight. A single-use result feeding relu or clip takes that node along (the clamp).
///    Any other activation (fused — SiLU from fuse-silu, HardSwish, sigmoid, GELU, … — or
///    the single use of the result) is taken along as a table: the int8 op produces the u8
///    pre-activation value and `qlinear_lookup` maps it to the u8 activation
///    (`QLinearLookup.table`: the float activation on each of the 256 dequantized values):
///        %c.pre.q = qlinear_conv(%x.q, %w.q, %b.q) {…, y_min = 0, y_max = 255, …} : u8[…]
///        %c.q = qlinear_lookup(%c.pre.q, %c.table) : u8[…]
/// 2. Calibration (`calibrate`) of every candidate's input and output on the samples, and
///    of a table candidate's pre-activation value: on a copy of the graph in which each
///    fused table activation is split off (`calibrationGraph`: the op writes a new value
///    that a separate activation node reads), so both ranges are observed. The int8 op's
///    output range is the pre-activation range without the ends where the quantized
///    activation is constant (`tableRange`: SiLU below ≈ −5, HardSwish below −3), which
///    would only cost it resolution.
/// 3. Activations: per tensor, asymmetric u8 over [min(lo, 0), max(hi, 0)].
///    Weights: per output channel, symmetric i8 in [-127, 127], scale = max|w| / 127.
///    Bias: i32 in units of x_scale * w_scale[m].
/// 4. Rewrite in node order; dead float nodes are removed at the end.
/// 5. A 2-D max pool reading an int8 op's dequantized result pools the u8 value (QMAXPOOL)
///    and is dequantized after, so the next int8 op reads it without a boundary.
/// 6. An add of two same-shape values that are both int8 results by then (dequantized u8),
///    whose result (after a relu/clip taken along, as in step 1) an int8 op reads, directly
///    or through further such adds, becomes qlinear_add (QADD): ResNet's
///    `relu(conv(x) + shortcut)` and MobileNetV2's `project(x) + x` stay int8 between the
///    convs. Its output range is calibrated with the candidates'. Adds that broadcast, whose
///    scale ratio the kernel cannot take, or whose result only float ops read stay float.
///    A concat of int8 results read the same way becomes qlinear_concat (QCONCAT: each input
///    requantized to the calibrated output range; Inception's branch joins), a global average
///    pool (reduce_mean over H, W of [N,C,H,W], keep_dims) qlinear_global_average_pool, and a
///    reshape (the Flatten before the classifier) reshapes the u8 value.
public enum QuantizeInt8 {
    /// An op that can become int8: node index, float input, the result the int8 op
    /// produces (the relu/clip's when one is taken along) and that clamp.
    public struct Candidate: Sendable {
        public var node: Int
        public var x: ValueID
        public var out: ValueID
        var clamp: (min: Float?, max: Float?)?
        /// The node's name, or its result's when the node has none.
        public var name: String
        /// An activation other than relu/clip, run as a qlinear_lookup table on `pre` (the
        /// op's own result; for a fused activation a value only `calibrationGraph` has).
        var activation: FusedActivation?
        var pre: ValueID?
    }

    public static func run(_ g: inout Graph, samples: [[Tensor]], method: CalibrationMethod = .minmax,
                           percentile: Double = 99.99, progress: (Int, Int) -> Void = { _, _ in }) throws -> QuantizeReport {
        let found = candidates(g)
        guard !found.isEmpty else { return QuantizeReport() }
        let cal = try calibrate(g, found, samples: samples, method: method, percentile: percentile, progress: progress)
        let report: QuantizeReport
        (g, report) = try rewrite(g, found, ranges: cal.ranges, means: cal.means)
        return report
    }

    /// Step 1: the ops of `g` that can become int8, in node order.
    public static func candidates(_ g: Graph) -> [Candidate] {
        let producers = g.producers, users = g.users
        let outputSet = Set(g.outputs)
        func constant(_ v: ValueID) -> Tensor? {
            guard let p = producers[v.index], case .constant(let t) = g.nodes[p].op else { return nil }
            return t
        }
        var candidates: [Candidate] = []
        var split = g.values.count  // the next value calibrationGraph adds
        for (i, n) in g.nodes.enumerated() {
            guard n.results.count == 1, n.operands.count >= 2, g.type(of: n.operands[0]).dtype == .f32,
                  let w = constant(n.operands[1]), n.operands.count == 2 || constant(n.operands[2]) != nil else { continue }
            let fused: FusedActivation?
            if case .conv(let a) = n.op {
                guard w.shape.rank == 4 else { continue }
                fused = a.activation
            } else if case .gemm(let a) = n.op {
                guard !a.transA, w.shape.rank == 2, n.operands.count == 2 || constant(n.operands[2])?.shape.elementCount == (a.transB ? w.shape[0] : w.shape[1]) else { continue }
                fused = a.activation
            } else if case .matMul(let a) = n.op {
                guard w.shape.rank == 2, n.operands.count == 2 else { continue }
                fused = a.activation
            } else {
                continue  // only conv, gemm and mat_mul have int8 kernels
            }
            var c = Candidate(node: i, x: n.operands[0], out: n.results[0], clamp: nil,
                              name: n.name.isEmpty ? g[n.results[0]].name : n.name)
            if let f = fused {
                // An activation fused by fuse-activation: relu and clip become the clamp,
                // any other a table on the pre-activation value calibrationGraph splits off.
                switch f {
                case .unary(.relu): c.clamp = (0, nil)
                case .clip(let cl): c.clamp = (cl.min, cl.max)
                default:
                    c.activation = f
                    c.pre = ValueID(split)
                    split += 1
                }
            } else {
                let r = n.results[0]
                if users[r.index].count == 1, !outputSet.contains(r) {
                    let u = g.nodes[users[r.index][0]]
                    if case .unary(.relu) = u.op { c.out = u.results[0]; c.clamp = (0, nil) }
                    else if case .clip(let cl) = u.op, u.operands.count == 1 { c.out = u.results[0]; c.clamp = (cl.min, cl.max) }
                    else if u.operands.count == 1, u.results.count == 1, let f = FusedActivation(u.op) {
                        (c.out, c.activation, c.pre) = (u.results[0], f, r)
                    }
                }
            }
            candidates.append(c)
        }
        return candidates
    }

    /// Step 2: the ranges of `observedValues` on `calibrationGraph(g, candidates)`.
    public static func calibrate(_ g: Graph, _ candidates: [Candidate], samples: [[Tensor]], method: CalibrationMethod,
                                 percentile: Double, progress: (Int, Int) -> Void = { _, _ in }) throws -> Calibration {
        try Calibration.run(try calibrationGraph(g, candidates), values: observedValues(g, candidates), samples: samples,
                            method: method, percentile: percentile, progress: progress)
    }

    /// `g` with each fused table activation of `candidates` split off: the op writes the
    /// candidate's `pre` value (added here, in candidate order, so the ids `candidates`
    /// gave match) and a separate activation node computes the original result from it.
    public static func calibrationGraph(_ g: Graph, _ candidates: [Candidate]) throws -> Graph {
        var s = g
        for c in candidates {
            guard let act = c.activation, let pre = c.pre, pre.index >= g.values.count else { continue }
            let v = s.addValue(name: "\(g[c.out].name).pre", type: g.type(of: c.out))
            try require(v == pre, "quantize: candidates do not belong to this graph")
            var n = s.nodes[c.node]
            switch n.op {
            case .conv(var a): a.activation = nil; n.op = .conv(a)
            case .gemm(var a): a.activation = nil; n.op = .gemm(a)
            case .matMul(var a): a.activation = nil; n.op = .matMul(a)
            default: throw KilnError("quantize: candidate \(c.name) has no fused activation")
            }
            n.results = [v]
            s.nodes[c.node] = n
            s.nodes.append(Node(op: act.op, operands: [v], results: [c.out]))
        }
        s.sortTopologically()
        return s
    }

    /// Step 2's values: every candidate's input, output and pre-activation value and every
    /// add candidate's output but reshapes' (step 6), once each.
    public static func observedValues(_ g: Graph, _ candidates: [Candidate]) -> [ValueID] {
        var observed: [ValueID] = [], seen = Set<ValueID>()
        for c in candidates { for v in [c.x, c.out] + (c.pre.map { [$0] } ?? []) where seen.insert(v).inserted { observed.append(v) } }
        for a in addCandidates(g) where a.kind != .reshape && seen.insert(a.out).inserted { observed.append(a.out) }
        return observed
    }

    /// Step 6's adds: f32 `add` of two operands of the result's shape, with the relu/clip
    /// (fused, or the single use of its result) as the clamp; f32 concats, global average
    /// pools and reshapes.
    struct AddCandidate {
        enum Kind { case add, concat, globalAveragePool, reshape }
        var node: Int
        var out: ValueID
        var clamp: (min: Float?, max: Float?)?
        var kind = Kind.add
    }

    static func addCandidates(_ g: Graph) -> [AddCandidate] {
        let users = g.users, outputSet = Set(g.outputs)
        var found: [AddCandidate] = []
        for (i, n) in g.nodes.enumerated() {
            if n.results.count == 1, g.type(of: n.results[0]).dtype == .f32, let kind = otherJoin(g, n) {
                found.append(AddCandidate(node: i, out: n.results[0], clamp: nil, kind: kind))
                continue
            }
            guard case .binary(.add, let act) = n.op, n.operands.count == 2, n.results.count == 1 else { continue }
            let t = g.type(of: n.results[0])
            guard t.dtype == .f32, n.operands.allSatisfy({ g.type(of: $0) == t }) else { continue }
            var c = AddCandidate(node: i, out: n.results[0], clamp: nil)
            switch act {
            case nil:
                let r = n.results[0]
                if users[r.index].count == 1, !outputSet.contains(r) {
                    let u = g.nodes[users[r.index][0]]
                    if case .unary(.relu) = u.op { c.out = u.results[0]; c.clamp = (0, nil) }
                    if case .clip(let cl) = u.op, u.operands.count == 1 { c.out = u.results[0]; c.clamp = (cl.min, cl.max) }
                }
            case .unary(.relu)?: c.clamp = (0, nil)
            case .clip(let cl)?: c.clamp = (cl.min, cl.max)
            default: continue
            }
            found.append(c)
        }
        return found
    }

    /// Concat (up to 254 operands), global average pool of a rank-4 value, reshape.
    static func otherJoin(_ g: Graph, _ n: Node) -> AddCandidate.Kind? {
        switch n.op {
        case .concat: return (1...254).contains(n.operands.count) ? .concat : nil
        case .reduce(let r):
            let x = g.type(of: n.operands[0]).shape
            return r.kind == .mean && r.axes == [2, 3] && r.keepDims && x.rank == 4 && n.operands.count == 1 ? .globalAveragePool : nil
        case .reshape: return .reshape
        default: return nil
        }
    }

    /// The add/concat candidates whose result an int8 op (a kept candidate) reads, directly or
    /// through other such joins and max pools (step 5).
    static func addsFeedingInt8(_ g: Graph, _ adds: [AddCandidate], _ kept: [Candidate]) -> [AddCandidate] {
        var read = Set(kept.map(\.x))
        let byNode = Dictionary(uniqueKeysWithValues: adds.map { ($0.node, $0) })
        var chosen: [AddCandidate] = []
        for i in g.nodes.indices.reversed() {
            let n = g.nodes[i]
            if let a = byNode[i] {
                guard read.contains(a.out) else { continue }
                chosen.append(a)
                read.formUnion(n.operands)
            } else if isInt8MaxPool(g, n), read.contains(n.results[0]) {
                read.insert(n.operands[0])
            }
        }
        return chosen.reversed()
    }

    /// Steps 3-4: `g` with every candidate not in `keepFloat` (indices into `candidates`)
    /// rewritten to int8 with the calibrated `ranges`; with the calibrated input `means`,
    /// biases absorb the int8 weights' mean output shift (`QuantizeBiasCorrection`).
    /// `int8Adds: false` keeps every residual add in float (concats, pools and reshapes still
    /// run on u8: they requantize once, like the float path's boundary, while an int8 add
    /// rounds the skip path at every add).
    public static func rewrite(_ g: Graph, _ candidates: [Candidate], ranges: [ValueID: (min: Float, max: Float)],
                               means: [ValueID: [Float]] = [:], keepFloat: Set<Int> = [],
                               int8Adds: Bool = true) throws -> (Graph, QuantizeReport) {
        let producers = g.producers
        func constant(_ v: ValueID) throws -> Tensor {
            guard let p = producers[v.index], case .constant(let t) = g.nodes[p].op else {
                throw KilnError("quantize: operand \(g[v].name) is not a constant")
            }
            return t
        }
        func range(_ v: ValueID) throws -> (min: Float, max: Float) {
            guard let r = ranges[v] else { throw KilnError("quantize: no calibrated range for \(g[v].name)") }
            return r
        }
        var report = QuantizeReport()
        var rewriter = QuantRewriter(graph: g)
        let kept = candidates.enumerated().filter { !keepFloat.contains($0.offset) }.map(\.element)
        // Steps 5 and 6 in node order: max pools and adds (nil: a pool) before a candidate
        // are rewritten before it, when their inputs are int8 by then.
        let adds = addsFeedingInt8(g, addCandidates(g).filter { int8Adds || $0.kind != .add }, kept)
        let extras = (g.nodes.indices.filter { isInt8MaxPool(g, g.nodes[$0]) }.map { (node: $0, add: AddCandidate?.none) }
            + adds.map { (node: $0.node, add: Optional($0)) }).sorted { $0.node < $1.node }
        var nextExtra = extras.startIndex
        func rewriteExtra(_ e: (node: Int, add: AddCandidate?)) throws {
            guard let a = e.add else { return try rewriter.poolQuantized(g.nodes[e.node]) }
            if a.kind == .reshape { return try rewriter.poolQuantized(g.nodes[a.node]) }  // the u8 value, same parameters
            guard let r = ranges[a.out] else { return }
            switch a.kind {
            case .concat: if try rewriter.concatQuantized(g.nodes[a.node], range: r) { report.concats += 1 }
            case .globalAveragePool: if try rewriter.globalAveragePoolQuantized(g.nodes[a.node], range: r) { report.pools += 1 }
            case .reshape: break
            case .add: if try rewriter.addQuantized(g.nodes[a.node], out: a.out, clamp: a.clamp, range: r) { report.adds += 1 }
            }
        }
        for c in kept {
            while nextExtra < extras.endIndex, extras[nextExtra].node < c.node {
                try rewriteExtra(extras[nextExtra])
                nextExtra += 1
            }
            let n = g.nodes[c.node]
            let xq = rewriter.quantized(c.x, try range(c.x))
            // A table candidate's op produces the pre-activation value, over the part of its
            // range where the quantized activation is not constant.
            let yp = ActivationParams(try c.pre.map { try tableRange(c.activation, try range($0), post: try range(c.out)) }
                                      ?? range(c.out))
            // Weight as [M, …] (conv) or [K, N] (gemm/mat_mul), per output channel scales.
            var w = try constant(n.operands[1])
            var bias = n.operands.count > 2 ? try constant(n.operands[2]).floats : nil
            var op: (QLinearParams) -> Op
            let channels: Int
            var groups: Int?
            if case .conv(var conv) = n.op {
                conv.activation = nil  // the clamp carries it
                channels = w.shape[0]
                groups = conv.group
                op = { .qlinearConv(QLinearConv(conv: conv, quant: $0)) }
            } else if case .gemm(let a) = n.op {
                if a.transB { w = transposed(w) }
                w = Tensor(w.shape, floats: w.floats.map { $0 * a.alpha })
                bias = bias.map { $0.map { $0 * a.beta } }
                channels = w.shape[1]
                op = { .qlinearMatMul(QLinearMatMul(quant: $0)) }
            } else {  // mat_mul (candidates holds conv, gemm and mat_mul only)
                channels = w.shape[1]
                op = { .qlinearMatMul(QLinearMatMul(quant: $0)) }
            }
            let perChannelFirst = w.shape.rank == 4
            let (wq, ws) = quantizeWeights(w, channels: channels, channelAxisFirst: perChannelFirst)
            if let mu = means[c.x], let shift = QuantizeBiasCorrection.correction(
                w: w, wq: wq, scales: ws, convGroups: groups, inputMeans: mu) {
                let b = bias ?? [Float](repeating: 0, count: channels)
                bias = zip(b, shift).map { Float(Double($0) + $1) }
            }
            var q = QLinearParams(xScale: xq.scale, xZeroPoint: xq.zeroPoint, wScales: ws, yScale: yp.scale, yZeroPoint: yp.zeroPoint)
            (q.yMin, q.yMax) = yp.clampBounds(c.clamp)
            var operands = [xq.value, rewriter.constant("\(g[n.operands[1]].name).q", wq)]
            if let b = bias {
                let bq = (0..<channels).map { m -> Int64 in
                    let v = (Double(b[m]) / (Double(q.xScale) * Double(ws[m]))).rounded()
                    return Int64(min(max(v, -2147483648), 2147483647))
                }
                let name = n.operands.count > 2 ? g[n.operands[2]].name : "\(g[c.out].name).bias"
                operands.append(rewriter.constant("\(name).q", Tensor(.i32, [channels], int64s: bq)))
            }
            if let act = c.activation {
                let pre = try rewriter.emit(op(q), operands: operands, name: n.name, value: "\(g[c.out].name).pre.q")
                let post = ActivationParams(try range(c.out))
                let table = try QLinearLookup.table(for: act, xScale: yp.scale, xZeroPoint: yp.zeroPoint, yScale: post.scale,
                                                    yZeroPoint: post.zeroPoint)
                try rewriter.replace(c.out, with: .qlinearLookup(QLinearLookup()),
                                     operands: [pre, rewriter.constant("\(g[c.out].name).table", table)], params: post,
                                     name: n.name.isEmpty ? "" : n.name + ".\(act.mnemonic)")
                report.lookups += 1
            } else {
                try rewriter.replace(c.out, with: op(q), operands: operands, params: yp, name: n.name)
            }
            report.quantized += 1
        }
        for e in extras[nextExtra...] { try rewriteExtra(e) }
        var g = rewriter.graph
        report.boundaries = g.nodes.filter { if case .quantizeLinear = $0.op { return true } else { return false } }.count
        g.sortTopologically()
        g.removeDeadNodes()
        try Verifier.verify(g)
        return (g, report)
    }

    /// A table candidate's pre-activation range without the ends where the quantized
    /// activation is constant (SiLU and HardSwish below −5 / −3, sigmoid's tails): they map
    /// to one output value either way, and leaving them out gives the int8 op a finer step.
    /// Algorithm: the activation on 4097 evenly spaced points of `pre`, quantized with the
    /// output's parameters; the range shrinks to the last point of the leading constant run
    /// and the first of the trailing one, each moved out by two steps of the shrunk range
    /// (inside the original) so that the u8 grid's end codes, rounded, stay in the run.
    static func tableRange(_ act: FusedActivation?, _ pre: (min: Float, max: Float), post: (min: Float, max: Float)) throws
        -> (min: Float, max: Float) {
        guard let act, pre.max > pre.min else { return pre }
        let n = 4096
        let xs = (0...n).map { pre.min + (pre.max - pre.min) * Float($0) / Float(n) }
        let t = Tensor([n + 1], floats: xs)
        let p = ActivationParams(post)
        let q = try act.op.evaluate([t], results: [t.type])[0].floats.map { $0.isNaN ? p.zeroPoint : p.quantize($0) }
        guard let first = q.firstIndex(where: { $0 != q[0] }), let last = q.lastIndex(where: { $0 != q[n] }) else { return pre }
        let (lo, hi) = (xs[first - 1], xs[last + 1]), margin = 2 * (hi - lo) / 255
        return (max(pre.min, lo - margin), min(pre.max, hi + margin))
    }

    /// A 2-D f32 max pool: step 5's candidates.
    static func isInt8MaxPool(_ g: Graph, _ n: Node) -> Bool {
        guard case .pool(let p) = n.op, p.kind == .max, n.results.count == 1, p.kernel.count == 2 else { return false }
        return g.type(of: n.operands[0]).dtype == .f32
    }

    /// Symmetric per-channel i8 in [-127, 127]: channel axis 0 for conv weights [M, …],
    /// axis 1 for [K, N] matrices.
    static func quantizeWeights(_ w: Tensor, channels: Int, channelAxisFirst: Bool) -> (Tensor, [Float]) {
        let xs = w.floats
        let inner = channelAxisFirst ? xs.count / channels : 1
        func channel(_ i: Int) -> Int { channelAxisFirst ? i / inner : i % channels }
        var absmax = [Float](repeating: 0, count: channels)
        for (i, v) in xs.enumerated() { absmax[channel(i)] = max(absmax[channel(i)], abs(v)) }
        let scales = absmax.map { $0 > 0 ? $0 / 127 : 1 }
        let q = xs.indices.map { i in Int64(min(max((xs[i] / scales[channel(i)]).rounded(.toNearestOrEven), -127), 127)) }
        return (Tensor(.i8, w.shape, int64s: q), scales)
    }

    static func transposed(_ w: Tensor) -> Tensor {
        let (r, c) = (w.shape[0], w.shape[1]), xs = w.floats
        return Tensor([c, r], floats: (0..<(r * c)).map { i in xs[(i % r) * c + i / r] })
    }
}

/// Per-tensor asymmetric u8 parameters for a float range (widened to include 0).
struct ActivationParams {
    var scale: Float
    var zeroPoint: Int

    init(_ range: (min: Float, max: Float)) {
        let lo = min(range.min, 0), hi = max(range.max, 0)
        scale = hi > lo ? (hi - lo) / 255 : 1
        zeroPoint = Int(min(max((-lo / scale).rounded(.toNearestOrEven), 0), 255))
    }

    init(scale: Float, zeroPoint: Int) {
        self.scale = scale
        self.zeroPoint = zeroPoint
    }

    func quantize(_ v: Float) -> Int { Int(min(max((v / scale).rounded(.toNearestOrEven) + Float(zeroPoint), 0), 255)) }

    /// The u8 range [y_min, y_max] of a fused relu/clip (all of u8 without one).
    func clampBounds(_ clamp: (min: Float?, max: Float?)?) -> (Int, Int) {
        let lo = clamp?.min.map(quantize) ?? 0
        return (lo, max(lo, clamp?.max.map(quantize) ?? 255))
    }
}

/// Graph edits of `QuantizeInt8`: quantize boundaries (cached per float value) and the
/// replacement of a float result by a dequantized quantized one.
private struct QuantRewriter {
    var graph: Graph
    /// Float value → its u8 version and parameters.
    var quantizedOf: [ValueID: (value: ValueID, scale: Float, zeroPoint: Int)] = [:]
    /// Float values computed as dequantize(int8 op): the max pools step 5 may move past the
    /// dequantize (a float value quantized only for an int8 consumer is not one of them).
    var int8Results = Set<ValueID>()

    init(graph: Graph) { self.graph = graph }

    mutating func constant(_ name: String, _ t: Tensor) -> ValueID {
        let v = graph.addValue(name: name, type: t.type)
        graph.nodes.append(Node(op: .constant(t), operands: [], results: [v]))
        return v
    }

    mutating func quantized(_ x: ValueID, _ range: (min: Float, max: Float)) -> (value: ValueID, scale: Float, zeroPoint: Int) {
        if let q = quantizedOf[x] { return q }
        let p = ActivationParams(range)
        let name = graph[x].name
        let s = constant("\(name).scale", Tensor([], floats: [p.scale]))
        let z = constant("\(name).zero_point", Tensor(.u8, [], int64s: [Int64(p.zeroPoint)]))
        let v = graph.addValue(name: "\(name).q", type: TensorType(.u8, graph.type(of: x).shape))
        graph.nodes.append(Node(op: .quantizeLinear(QuantizeLinear(axis: nil, blockSize: 0, outputType: .u8)), operands: [x, s, z], results: [v]))
        quantizedOf[x] = (v, p.scale, p.zeroPoint)
        return (v, p.scale, p.zeroPoint)
    }

    /// A max pool whose input is a dequantized int8 value pools the u8 value instead (max
    /// commutes with the monotonic dequantization: same values, the input's scale and zero
    /// point), so int8 consumers read it directly; other pools stay as they are.
    mutating func poolQuantized(_ n: Node) throws {
        guard int8Results.contains(n.operands[0]), let q = quantizedOf[n.operands[0]] else { return }
        try replace(n.results[0], with: n.op, operands: [q.value], params: ActivationParams(scale: q.scale, zeroPoint: q.zeroPoint),
                    name: n.name)
    }

    /// Step 6: the add `n` (its result, after the relu/clip taken along, is `out`) of two
    /// dequantized int8 results adds the u8 values instead; false (nothing changed) when an
    /// operand is not an int8 result or the scales are out of the kernel's range.
    mutating func addQuantized(_ n: Node, out: ValueID, clamp: (min: Float?, max: Float?)?, range: (min: Float, max: Float)) throws -> Bool {
        guard n.operands.allSatisfy(int8Results.contains), let a = quantizedOf[n.operands[0]],
              let b = quantizedOf[n.operands[1]] else { return false }
        let yp = ActivationParams(range)
        let (lo, hi) = yp.clampBounds(clamp)
        let op = QLinearAdd(aScale: a.scale, aZeroPoint: a.zeroPoint, bScale: b.scale, bZeroPoint: b.zeroPoint,
                            yScale: yp.scale, yZeroPoint: yp.zeroPoint, yMin: lo, yMax: hi)
        guard (try? op.resultTypes([graph.type(of: a.value), graph.type(of: b.value)])) != nil else { return false }
        try replace(out, with: .qlinearAdd(op), operands: [a.value, b.value], params: yp, name: n.name)
        return true
    }

    /// Step 6 for a concat of dequantized int8 results: concatenates the u8 values, each
    /// requantized to the calibrated output range; false when an operand is not an int8 result.
    mutating func concatQuantized(_ n: Node, range: (min: Float, max: Float)) throws -> Bool {
        guard case .concat(let c) = n.op, n.operands.allSatisfy(int8Results.contains) else { return false }
        let qs = n.operands.compactMap { quantizedOf[$0] }
        guard qs.count == n.operands.count else { return false }
        let yp = ActivationParams(range)
        let op = QLinearConcat(axis: c.axis, xScales: qs.map(\.scale), xZeroPoints: qs.map(\.zeroPoint), yScale: yp.scale,
                               yZeroPoint: yp.zeroPoint)
        guard (try? op.resultTypes(qs.map { graph.type(of: $0.value) })) != nil else { return false }
        try replace(n.results[0], with: .qlinearConcat(op), operands: qs.map(\.value), params: yp, name: n.name)
        return true
    }

    /// Step 6 for a global average pool of a dequantized int8 result: averages the u8 values
    /// into the calibrated output range; false when the input is not an int8 result.
    mutating func globalAveragePoolQuantized(_ n: Node, range: (min: Float, max: Float)) throws -> Bool {
        guard int8Results.contains(n.operands[0]), let q = quantizedOf[n.operands[0]] else { return false }
        let yp = ActivationParams(range)
        let op = QLinearGlobalAveragePool(xScale: q.scale, xZeroPoint: q.zeroPoint, yScale: yp.scale, yZeroPoint: yp.zeroPoint)
        guard (try? op.resultTypes([graph.type(of: q.value)])) != nil else { return false }
        try replace(n.results[0], with: .qlinearGlobalAveragePool(op), operands: [q.value], params: yp, name: n.name)
        return true
    }

    /// Appends `op(operands)` writing a new u8 value named `value`.
    mutating func emit(_ op: Op, operands: [ValueID], name: String, value: String) throws -> ValueID {
        let types = try op.resultTypes(operands.map { graph.type(of: $0) })
        let q = graph.addValue(name: value, type: types[0])
        graph.nodes.append(Node(op: op, operands: operands, results: [q], name: name))
        return q
    }

    /// Computes `out` as dequantize(op(operands)); the new float value takes `out`'s name.
    mutating func replace(_ out: ValueID, with op: Op, operands: [ValueID], params: ActivationParams, name: String) throws {
        let original = graph[out].name
        graph.values[out.index].name = original + ".float"
        let types = try op.resultTypes(operands.map { graph.type(of: $0) })
        let q = graph.addValue(name: original + ".q", type: types[0])
        graph.nodes.append(Node(op: op, operands: operands, results: [q], name: name))
        let s = constant("\(original).scale", Tensor([], floats: [params.scale]))
        let z = constant("\(original).zero_point", Tensor(.u8, [], int64s: [Int64(params.zeroPoint)]))
        let f = graph.addValue(name: original, type: graph.type(of: out))
        graph.nodes.append(Node(op: .dequantizeLinear(DequantizeLinear(axis: nil, blockSize: 0)), operands: [q, s, z], results: [f]))
        graph.replaceAllUses(of: out, with: f)
        quantizedOf[f] = (q, params.scale, params.zeroPoint)
        quantizedOf[out] = (q, params.scale, params.zeroPoint)
        int8Results.formUnion([f, out])
    }
}
