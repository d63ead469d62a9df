import XCTest
@testable import KilnIR

/// Every op variant prints and parses back to the same op.
final class TextFormRoundTripTests: XCTestCase {
    static let unaryOps: [UnaryOp] = [
        .abs, .neg, .exp, .log, .sqrt, .reciprocal, .floor, .ceil, .round, .sign, .erf,
        .sin, .cos, .tan, .asin, .acos, .atan, .sinh, .cosh, .asinh, .acosh, .atanh,
        .not, .isNaN, .isInf, .relu, .sigmoid, .tanh, .softplus, .softsign, .mish, .hardSwish, .silu,
        .leakyRelu(alpha: 0.01), .elu(alpha: 1), .selu(alpha: 1.6732632, gamma: 1.050701), .celu(alpha: 2.5),
        .hardSigmoid(alpha: 0.2, beta: 0.5), .thresholdedRelu(alpha: -1e-07), .gelu(tanh: true), .gelu(tanh: false),
    ]

    /// One index per `UnaryOp` case; adding a case breaks this switch until it is covered.
    static func unaryCaseIndex(_ u: UnaryOp) -> Int {
        switch u {
        case .abs: return 0
        case .neg: return 1
        case .exp: return 2
        case .log: return 3
        case .sqrt: return 4
        case .reciprocal: return 5
        case .floor: return 6
        case .ceil: return 7
        case .round: return 8
        case .sign: return 9
        case .erf: return 10
        case .sin: return 11
        case .cos: return 12
        case .tan: return 13
        case .asin: return 14
        case .acos: return 15
        case .atan: return 16
        case .sinh: return 17
        case .cosh: return 18
        case .asinh: return 19
        case .acosh: return 20
        case .atanh: return 21
        case .not: return 22
        case .isNaN: return 23
        case .isInf: return 24
        case .relu: return 25
        case .sigmoid: return 26
        case .tanh: return 27
        case .softplus: return 28
        case .softsign: return 29
        case .mish: return 30
        case .hardSwish: return 31
        case .leakyRelu: return 32
        case .elu: return 33
        case .selu: return 34
        case .celu: return 35
        case .hardSigmoid: return 36
        case .thresholdedRelu: return 37
        case .gelu: return 38
        case .silu: return 39
        }
    }
    static let unaryCaseCount = 40

    /// One index per `Op` case; adding a case breaks this switch until it is covered.
    static func opCaseIndex(_ op: Op) -> Int {
        switch op {
        case .constant: return 0
        case .unary: return 1
        case .binary: return 2
        case .clip: return 3
        case .where: return 4
        case .cast: return 5
        case .conv: return 6
        case .convTranspose: return 7
        case .pool: return 8
        case .batchNorm: return 9
        case .instanceNorm: return 10
        case .layerNorm: return 11
        case .groupNorm: return 12
        case .lrn: return 13
        case .softmax: return 14
        case .reduce: return 15
        case .argReduce: return 16
        case .cumSum: return 17
        case .topK: return 18
        case .gemm: return 19
        case .matMul: return 20
        case .einsum: return 21
        case .reshape: return 22
        case .transpose: return 23
        case .concat: return 24
        case .split: return 25
        case .slice: return 26
        case .expand: return 27
        case .tile: return 28
        case .pad: return 29
        case .depthToSpace: return 30
        case .spaceToDepth: return 31
        case .identity: return 32
        case .gather: return 33
        case .gatherElements: return 34
        case .shapeOf: return 35
        case .sizeOf: return 36
        case .range: return 37
        case .oneHot: return 38
        case .trilu: return 39
        case .resize: return 40
        case .recurrent: return 41
        case .quantizeLinear: return 42
        case .dequantizeLinear: return 43
        case .attention: return 44
        case .qlinearConv: return 45
        case .qlinearMatMul: return 46
        case .dynamicQuantParams: return 47
        case .dynQuantMatMul: return 48
        case .qlinearAdd: return 49
        case .qlinearConcat: return 50
        case .qlinearGlobalAveragePool: return 51
        case .qlinearLookup: return 52
        }
    }
    static let opCaseCount = 53

    static var allOps: [Op] {
        var ops: [Op] = [
            .constant(Tensor([3], floats: [1, 2, 3])),
            .constant(Tensor(.f32, [40], doubles: (0..<40).map { Double($0) * 0.25 })),
            .clip(Clip(min: nil, max: nil)), .clip(Clip(min: 0, max: 6)), .clip(Clip(min: -1.5, max: nil)),
            .where(Where()),
            .conv(Conv(strides: [1, 2], pads: [1, 1, 0, 0], dilations: [1, 1], group: 4)),
            .convTranspose(ConvTranspose(strides: [2, 2], pads: [0, 1, 0, 1], dilations: [1, 1], outputPadding: [1, 0], group: 1)),
            .pool(Pool(kind: .max, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], ceilMode: true, countIncludePad: false)),
            .pool(Pool(kind: .average, kernel: [2], strides: [2], pads: [0, 0], dilations: [1], ceilMode: false, countIncludePad: true)),
            .pool(Pool(kind: .lp(p: 3), kernel: [2, 2], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [2, 2], ceilMode: false, countIncludePad: false)),
            .batchNorm(BatchNorm(epsilon: 1e-5)), .instanceNorm(InstanceNorm(epsilon: 1e-6)),
            .layerNorm(LayerNorm(axis: -1, epsilon: 1e-12)), .groupNorm(GroupNorm(groups: 32, epsilon: 1e-5)),
            .lrn(LRN(size: 5, alpha: 1e-4, beta: 0.75, bias: 2)),
            .softmax(Softmax(axis: -1, log: false)), .softmax(Softmax(axis: 1, log: true)),
            .argReduce(ArgReduce(isMax: true, axis: 1, keepDims: true, selectLastIndex: false)),
            .argReduce(ArgReduce(isMax: false, axis: -1, keepDims: false, selectLastIndex: true)),
            .cumSum(CumSum(axis: 0, exclusive: true, reverse: false)),
            .topK(TopK(axis: -1, k: 5, largest: true, sorted: false)),
            .gemm(Gemm(alpha: 0.5, beta: 2, transA: true, transB: false)),
            .matMul(MatMul()), .einsum(Einsum(equation: "bij,bjk->bik")),
            .reshape(Reshape(shape: [1, -1, 0])), .reshape(Reshape(shape: [])),
            .transpose(Transpose(perm: [0, 2, 3, 1])), .concat(Concat(axis: 1)),
            .split(Split(axis: 1, sizes: [8, 8])),
            .slice(Slice(starts: [0, 1], ends: [Int.max, -1], axes: [0, 2], steps: [1, -2])),
            .expand(Expand(shape: [2, 3, 4])), .tile(Tile(repeats: [1, 2])),
            .depthToSpace(DepthToSpace(blockSize: 2, crd: true)), .spaceToDepth(SpaceToDepth(blockSize: 4)),
            .identity(Identity()), .gather(Gather(axis: 0)), .gatherElements(GatherElements(axis: -1)),
            .shapeOf(ShapeOf(start: 1, end: Int.max)), .sizeOf(SizeOf()), .range(Range(count: 7)),
            .oneHot(OneHot(axis: -1, depth: 10)), .trilu(Trilu(upper: false, k: -1)),
            .quantizeLinear(QuantizeLinear(axis: 1, blockSize: 0, outputType: .u8)),
            .quantizeLinear(QuantizeLinear(axis: nil, blockSize: 32, outputType: .i8)),
            .dequantizeLinear(DequantizeLinear(axis: nil, blockSize: 0)),
            .dequantizeLinear(DequantizeLinear(axis: 0, blockSize: 16)),
            .attention(Attention(scale: 0.125, kTransposed: false)), .attention(Attention(scale: 1, kTransposed: true)),
            .qlinearConv(QLinearConv(conv: Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1),
                                     quant: QLinearParams(xScale: 0.02, xZeroPoint: 128, wScales: [0.5, 0.25], yScale: 0.1,
                                                          yZeroPoint: 3, yMin: 3, yMax: 255))),
            .qlinearMatMul(QLinearMatMul(quant: QLinearParams(xScale: 1.5, xZeroPoint: 0, wScales: [1e-3], yScale: 0.75, yZeroPoint: 255))),
            .dynamicQuantParams(DynamicQuantParams()),
            .qlinearAdd(QLinearAdd(aScale: 0.02, aZeroPoint: 128, bScale: 0.5, bZeroPoint: 0, yScale: 0.25, yZeroPoint: 3, yMin: 3, yMax: 200)),
            .qlinearConcat(QLinearConcat(axis: 1, xScales: [0.02, 0.5], xZeroPoints: [128, 0], yScale: 0.25, yZeroPoint: 3)),
            .qlinearGlobalAveragePool(QLinearGlobalAveragePool(xScale: 0.1, xZeroPoint: 0, yScale: 0.03, yZeroPoint: 7)),
            .qlinearLookup(QLinearLookup()),
            .dynQuantMatMul(DynQuantMatMul(wScales: [0.5, 1e-3], perRow: true)),
            .dynQuantMatMul(DynQuantMatMul(wScales: [2], perRow: false, activation: .unary(.gelu(tanh: false)))),
        ]
        ops += unaryOps.map { .unary($0) }
        ops += BinaryOp.allCases.map { .binary($0) }
        // Fused activations: every activation function on add, clip variants on the others.
        ops += unaryOps.compactMap { FusedActivation(.unary($0)) }.map { .binary(.add, activation: $0) }
        ops += [
            .conv(Conv(strides: [1], pads: [0, 0], dilations: [1], group: 1, activation: .clip(Clip(min: 0, max: 6)))),
            .gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: true, activation: .clip(Clip(min: nil, max: nil)))),
            .matMul(MatMul(activation: .clip(Clip(min: nil, max: 1.5)))),
            .binary(.mul, activation: .clip(Clip(min: -1, max: nil))),
        ]
        ops += DType.allCases.map { .cast(Cast(to: $0)) }
        ops += ReduceKind.allCases.map { .reduce(Reduce(kind: $0, axes: [1, -1], keepDims: $0 == .mean)) }
        ops += PadMode.allCases.map { .pad(Pad(mode: $0, pads: [0, 1, 0, 1], value: $0 == .constant ? -0.1 : 0)) }
        for (i, mode) in ResizeMode.allCases.enumerated() {
            for (j, transform) in CoordinateTransform.allCases.enumerated() {
                let nearest = NearestMode.allCases[(i + j) % NearestMode.allCases.count]
                ops.append(.resize(Resize(mode: mode, coordinateTransform: transform, nearestMode: nearest,
                                          cubicCoeffA: -0.75, excludeOutside: j % 2 == 0, extrapolationValue: 0,
                                          antialias: i == 1, scales: j % 2 == 0 ? [1, 1, 2, 2] : [],
                                          sizes: j % 2 == 0 ? [] : [1, 3, 64, 64], roi: [0, 0.25, 1, 0.75])))
            }
        }
        let activations: [RecurrentActivation] = [
            .relu, .tanh, .sigmoid, .softsign, .softplus, .affine(alpha: 1.5, beta: 0.5), .leakyRelu(alpha: 0.1),
            .thresholdedRelu(alpha: 1), .scaledTanh(alpha: 0.5, beta: 2), .hardSigmoid(alpha: 0.2, beta: 0.5), .elu(alpha: 1),
        ]
        for (i, kind) in RecurrentKind.allCases.enumerated() {
            for direction in RecurrentDirection.allCases {
                ops.append(.recurrent(Recurrent(kind: kind, direction: direction, hiddenSize: 16,
                                                activations: i == 0 ? activations : [.sigmoid, .tanh, .tanh],
                                                clip: direction == .reverse ? 3 : nil, linearBeforeReset: kind == .gru,
                                                inputForget: direction == .bidirectional, layout: i % 2)))
            }
        }
        return ops
    }

    func testSampleCoversEveryCase() {
        let ops = Self.allOps
        XCTAssertEqual(Set(ops.map(Self.opCaseIndex)), Set(0..<Self.opCaseCount))
        XCTAssertEqual(Set(Self.unaryOps.map(Self.unaryCaseIndex)), Set(0..<Self.unaryCaseCount))
        var pools = Set<String>()
        for case .pool(let p) in ops { pools.insert(Op.pool(p).mnemonic) }
        XCTAssertEqual(pools, ["max_pool", "average_pool", "lp_pool"])
    }

    func testEveryOpRoundTrips() throws {
        var b = GraphBuilder(name: "all_ops")
        let x = b.input("x", TensorType(.f32, [2, 3]))
        let y = b.input("y", TensorType(.i64, [4]))
        var outputs: [ValueID] = []
        for (i, op) in Self.allOps.enumerated() {
            if case .constant(let t) = op {
                outputs.append(b.constant(t, name: "c\(i)"))
                continue
            }
            // Types are arbitrary: the text form does not check them.
            let resultCount = i % 4  // 0 to 3 results
            let types = (0..<resultCount).map { TensorType($0 == 1 ? .i64 : .f32, [i, $0]) }
            let operands = [x, y, x].prefix(i % 4)
            outputs += b.addNode(op, Array(operands), types: types, names: [], nodeName: i % 5 == 0 ? "n\(i)" : "")
        }
        outputs.forEach { b.output($0) }
        let g = b.graph

        let text = Printer.print(g, constants: .full)
        let parsed = try Parser.parse(text)
        XCTAssertEqual(parsed.nodes.count, g.nodes.count)
        for (p, n) in zip(parsed.nodes, g.nodes) where p != n {
            XCTFail("\(Printer.nodeText(n, in: g)) parsed back as \(Printer.nodeText(p, in: parsed))")
        }
        XCTAssertTrue(parsed == g, "the parsed graph differs (see the node failures above)")
        XCTAssertTrue(Printer.print(parsed, constants: .full) == text, "printing the parsed graph changed the text")
        // Summary text differs only in the one large constant.
        XCTAssertEqual(Printer.print(g).split(separator: "\n").filter { $0.contains("elided<") }.count, 1)
    }

    func testMnemonicsAreUnique() {
        var seen: [String: Op] = [:]
        for op in Self.allOps {
            if let other = seen[op.mnemonic], Self.opCaseIndex(other) != Self.opCaseIndex(op) {
                XCTFail("\(op.mnemonic) names two kinds of op")
            }
            seen[op.mnemonic] = op
        }
    }

    func testAttributeTextOfSomeOps() {
        func text(_ op: Op) -> String {
            var b = GraphBuilder(name: "g")
            let x = b.input("x", TensorType(.f32, [1]))
            b.addNode(op, [x], types: [TensorType(.f32, [1])], names: ["y"])
            return Printer.nodeText(b.graph.nodes[0], in: b.graph)
        }
        XCTAssertEqual(text(.pool(Pool(kind: .lp(p: 2), kernel: [2], strides: [1], pads: [0, 0], dilations: [1], ceilMode: false, countIncludePad: false))),
                       "%y = lp_pool(%x) {p = 2, kernel = [2], strides = [1], pads = [0, 0], dilations = [1], ceil_mode = false, count_include_pad = false} : f32[1]")
        XCTAssertEqual(text(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .floor, cubicCoeffA: -0.75,
                                           excludeOutside: false, extrapolationValue: 0, antialias: false, scales: [1, 2], sizes: [], roi: []))),
                       "%y = resize(%x) {mode = linear, coordinate_transform = half_pixel, nearest_mode = floor, cubic_coeff_a = -0.75, exclude_outside = false, extrapolation_value = 0.0, antialias = false, scales = [1.0, 2.0], sizes = [], roi = []} : f32[1]")
        XCTAssertEqual(text(.recurrent(Recurrent(kind: .lstm, direction: .forward, hiddenSize: 8, activations: [.sigmoid, .tanh, .affine(alpha: 1.5, beta: 0.5)],
                                                 clip: nil, linearBeforeReset: false, inputForget: false, layout: 0))),
                       "%y = lstm(%x) {direction = forward, hidden_size = 8, activations = [sigmoid, tanh, affine(alpha = 1.5, beta = 0.5)], linear_before_reset = false, input_forget = false, layout = 0} : f32[1]")
        XCTAssertEqual(text(.cast(Cast(to: .f16))), "%y = cast(%x) {to = f16} : f32[1]")
        XCTAssertEqual(text(.reduce(Reduce(kind: .logSumExp, axes: [1], keepDims: true))),
                       "%y = reduce_log_sum_exp(%x) {axes = [1], keep_dims = true} : f32[1]")
        XCTAssertEqual(text(.einsum(Einsum(equation: "ij,jk->ik"))), "%y = einsum(%x) {equation = \"ij,jk->ik\"} : f32[1]")
        XCTAssertEqual(text(.quantizeLinear(QuantizeLinear(axis: nil, blockSize: 0, outputType: .i8))),
                       "%y = quantize_linear(%x) {block_size = 0, output_type = i8} : f32[1]")
    }
}
