import KilnIR
import XCTest
@testable import KilnCodegen

/// Graphs built with GraphBuilder, compiled, run on the C runtime and compared with the
/// reference evaluator (1e-4 relative / 1e-5 absolute).
final class LoweringTests: XCTestCase {
    typealias R = RunSupport

    func conv(_ pads: [Int], group: Int = 1, strides: [Int]? = nil) -> Op {
        let s = pads.count / 2
        return .conv(Conv(strides: strides ?? Array(repeating: 1, count: s), pads: pads,
                          dilations: Array(repeating: 1, count: s), group: group))
    }

    /// conv 3x3 (packed weights) + bias with a fused relu → flatten → gemm (trans_b) → softmax.
    func testConvReluGemm() throws {
        var b = GraphBuilder(name: "convnet")
        let x = b.input("x", TensorType(.f32, [1, 3, 6, 6]))
        let w = b.constant(R.random([4, 3, 3, 3], seed: 1), name: "w")
        let bias = b.constant(R.random([4], seed: 2), name: "b")
        let c = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: .unary(.relu))),
                           [x, w, bias], name: "c")
        let f = try b.add1(.reshape(Reshape(shape: [1, 144])), [c], name: "f")
        let fw = b.constant(R.random([5, 144], seed: 3), name: "fw")
        let fb = b.constant(R.random([5], seed: 4), name: "fb")
        let g = try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: true)), [f, fw, fb], name: "g")
        let s = try b.add1(.softmax(Softmax(axis: -1, log: false)), [g], name: "probs")
        b.output(s)
        b.output(g)
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([1, 3, 6, 6], seed: 5)])
        // The relu is the conv's `act`.
        XCTAssertEqual(plan.program.instructions.map(\.opcode), [.conv2dPacked, .copy, .gemm, .softmax])
        XCTAssertEqual(activation(plan.program.instructions[0]), [.int(Int64(UnaryFunc.relu.rawValue))])
        XCTAssertEqual(activation(plan.program.instructions[2]), [.int(0)])
        // Weights packed in panels of 6 output channels: [ceil(4/6), C·kh·kw, 6]; no scratch.
        XCTAssertEqual(plan.program.tensors[plan.program.instructions[0].operands[1]!].type.shape, [1, 27, 6])
        XCTAssertEqual(plan.program.instructions[0].results.count, 1)
        // The reshape is an alias: same arena offset as the conv result.
        XCTAssertEqual(plan.memory.offsets[plan.program.instructions[1].results[0]!],
                       plan.memory.offsets[plan.program.instructions[1].operands[0]!])
    }

    /// The fused activation field of an instruction (`act`).
    func activation(_ i: Instruction) -> [AttributeValue]? {
        AttributeCoder.decode(i.opcode, i.attributes[...])?.first { $0.0 == "act" }?.1
    }

    /// The lowering fuses nothing itself (a standalone relu stays a UNARY even after a conv
    /// whose only use it is); the IR's activation fields become `act` on CONV2D, BINARY
    /// (the 16-byte block) and MATMUL, and the runtime computes them like the evaluator.
    func testActivationFieldsLowerToAct() throws {
        var b = GraphBuilder(name: "fusion")
        let x = b.input("x", TensorType(.f32, [1, 2, 5, 5]))
        let w = b.constant(R.random([3, 2, 3, 3], seed: 1), name: "w")
        let c1 = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1,
                                       activation: .unary(.leakyRelu(alpha: 0.1)))), [x, w], name: "c1")
        let c2 = try b.add1(conv([1, 1, 1, 1]), [x, w], name: "c2")
        let r2 = try b.add1(.unary(.relu), [c2], name: "r2")
        let sum = try b.add1(.binary(.add, activation: .clip(Clip(min: -0.5, max: 0.25))), [c1, r2], name: "sum")
        let f = try b.add1(.reshape(Reshape(shape: [3, 25])), [sum], name: "f")
        let mw = b.constant(R.random([25, 4], seed: 2), name: "mw")
        let mm = try b.add1(.matMul(MatMul(activation: .unary(.sigmoid))), [f, mw], name: "mm")
        b.output(mm)
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([1, 2, 5, 5], seed: 3)])
        let ins = plan.program.instructions
        XCTAssertEqual(ins.map(\.opcode), [.conv2dPacked, .conv2dPacked, .unary, .binary, .copy, .matmul])
        XCTAssertEqual(activation(ins[0]), [.int(Int64(UnaryFunc.leakyRelu.rawValue))])
        XCTAssertEqual(AttributeCoder.decode(ins[0].opcode, ins[0].attributes[...])?.first { $0.0 == "act_alpha" }?.1, [.float(Double(Float(0.1)))])
        XCTAssertEqual(activation(ins[1]), [.int(0)])
        XCTAssertEqual(ins[3].attributes.count, 16)
        XCTAssertEqual(activation(ins[3]), [.int(Int64(UnaryFunc.clip.rawValue))])
        XCTAssertEqual(activation(ins[5]), [.int(Int64(UnaryFunc.sigmoid.rawValue))])
    }

    /// Kernel choice: depthwise (group = C), pointwise (packed, no scratch), grouped conv,
    /// strided conv; batch norm folded to scale/shift; clip; pooling; global mean.
    func testMobileNetStyleBlock() throws {
        var b = GraphBuilder(name: "block")
        let x = b.input("x", TensorType(.f32, [1, 4, 7, 7]))
        let dw = try b.add1(conv([1, 1, 1, 1], group: 4), [x, b.constant(R.random([8, 1, 3, 3], seed: 1))], name: "dw")
        let stats = (0..<4).map { i in b.constant(R.random([8], seed: 10 + UInt64(i)), name: "bn\(i)") }
        let variance = b.constant(Tensor(.f32, [8], doubles: (0..<8).map { 0.5 + Double($0) / 8 }), name: "var")
        let bn = try b.add1(.batchNorm(BatchNorm(epsilon: 1e-5)), [dw, stats[0], stats[1], stats[2], variance], name: "bn")
        let act = try b.add1(.clip(Clip(min: 0, max: 0.5)), [bn], name: "relu6")
        let pw = try b.add1(conv([0, 0, 0, 0]), [act, b.constant(R.random([6, 8, 1, 1], seed: 3))], name: "pw")
        let grouped = try b.add1(conv([0, 1, 0, 1], group: 2, strides: [2, 2]), [pw, b.constant(R.random([4, 3, 2, 3], seed: 4))], name: "grouped")
        let pool = try b.add1(.pool(Pool(kind: .average, kernel: [2, 2], strides: [1, 1], pads: [0, 0, 1, 1], dilations: [1, 1],
                                         ceilMode: false, countIncludePad: true)), [grouped], name: "pool")
        let gap = try b.add1(.reduce(Reduce(kind: .mean, axes: [2, 3], keepDims: true)), [pool], name: "gap")
        b.output(gap)
        b.output(pw)
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([1, 4, 7, 7], seed: 9)])
        let ops = plan.program.instructions.map(\.opcode)
        // The clip stays a UNARY: the lowering fuses nothing, and batch_norm has no IR field.
        XCTAssertEqual(ops, [.depthwiseConv2d, .batchNorm, .unary, .conv2dPacked, .conv2d, .pool2d, .reduce])
        XCTAssertEqual(activation(plan.program.instructions[1]), [.int(0)])
        XCTAssertEqual(plan.program.instructions[3].results.count, 1, "pointwise conv needs no scratch")
        XCTAssertEqual(plan.program.instructions[4].results.count, 2, "strided grouped conv has an im2col scratch")
    }

    /// 1-D conv / pooling / transposed conv run as 2-D with H = 1; batch norm with
    /// non-constant statistics is folded by instructions.
    func testOneDimensionalOpsAndDynamicBatchNorm() throws {
        var b = GraphBuilder(name: "oned")
        let x = b.input("x", TensorType(.f32, [2, 3, 9]))
        let gamma = b.input("gamma", TensorType(.f32, [4]))
        let c = try b.add1(.conv(Conv(strides: [2], pads: [1, 2], dilations: [2], group: 1)),
                           [x, b.constant(R.random([4, 3, 3], seed: 1)), b.constant(R.random([4], seed: 2))], name: "c")
        let stats = [gamma] + (0..<2).map { b.constant(R.random([4], seed: 20 + UInt64($0))) }
            + [b.constant(Tensor(.f32, [4], doubles: [1, 2, 0.5, 0.25]))]
        let bn = try b.add1(.batchNorm(BatchNorm(epsilon: 1e-3)), [c] + stats, name: "bn")
        let p = try b.add1(.pool(Pool(kind: .max, kernel: [2], strides: [1], pads: [0, 1], dilations: [1], ceilMode: true,
                                      countIncludePad: false)), [bn], name: "p")
        let t = try b.add1(.convTranspose(ConvTranspose(strides: [2], pads: [1, 0], dilations: [1], outputPadding: [1], group: 1)),
                           [p, b.constant(R.random([4, 2, 3], seed: 5))], name: "t")
        b.output(t)
        try R.checkAgainstEvaluator(b.graph, inputs: [R.random([2, 3, 9], seed: 7), R.random([4], seed: 8)])
    }

    func testEinsumEquations() throws {
        let cases: [(String, [Shape])] = [
            ("bij,bjk->bik", [[2, 3, 4], [2, 4, 5]]),
            ("bhqd,bhkd->bhqk", [[1, 2, 3, 4], [1, 2, 5, 4]]),
            ("ij,jk->ik", [[3, 4], [4, 2]]),
            ("i,i->", [[6], [6]]),
            ("ij->ji", [[3, 5]]),
            ("ij->i", [[3, 5]]),
            ("ij,jk", [[2, 3], [3, 4]]),
            ("ij,jk,kl->il", [[2, 3], [3, 4], [4, 2]]),
            ("...ij,...jk->...ik", [[2, 2, 3], [2, 3, 2]]),
            ("ik,jk->ij", [[2, 3], [4, 3]]),
            ("ki,kj->ij", [[3, 2], [3, 4]]),
            ("abc,cd->dba", [[2, 3, 4], [4, 2]]),
        ]
        for (k, (equation, shapes)) in cases.enumerated() {
            var b = GraphBuilder(name: "einsum")
            let xs = shapes.enumerated().map { i, s in b.input("x\(i)", TensorType(.f32, s)) }
            b.output(try b.add1(.einsum(Einsum(equation: equation)), xs, name: "y"))
            let inputs = shapes.enumerated().map { i, s in R.random(s, seed: UInt64(100 * k + i)) }
            let plan = try R.checkAgainstEvaluator(b.graph, inputs: inputs)
            if ["bij,bjk->bik", "bhqd,bhkd->bhqk", "ij,jk->ik", "i,i->"].contains(equation) {
                XCTAssertEqual(plan.program.instructions.filter { $0.opcode != .copy }.map(\.opcode), [.matmul], equation)
            }
        }
    }

    /// Data movement and the rest of the kernel families in one graph.
    func testLayoutIndexingAndReductions() throws {
        var b = GraphBuilder(name: "misc")
        let x = b.input("x", TensorType(.f32, [2, 3, 4]))
        let ids = b.input("ids", TensorType(.i64, [2, 2]))
        let t = try b.add1(.transpose(Transpose(perm: [2, 0, 1])), [x], name: "t")
        let s = try b.add1(.slice(Slice(starts: [3, -1], ends: [0, -100], axes: [0, 2], steps: [-2, -1])), [t], name: "s")
        let parts = try b.add(.split(Split(axis: 1, sizes: [1, 1])), [s], names: ["s0", "s1"])
        let cat = try b.add1(.concat(Concat(axis: 2)), [parts[1], parts[0], parts[1]], name: "cat")
        let g = try b.add1(.gather(Gather(axis: 0)), [x, ids], name: "g")
        let pad = try b.add1(.pad(Pad(mode: .reflect, pads: [0, 1, 1, 0, 1, 0], value: 0)), [x], name: "pad")
        let ln = try b.add1(.layerNorm(LayerNorm(axis: 2, epsilon: 1e-5)),
                            [x, b.constant(R.random([4], seed: 3)), b.constant(R.random([1], seed: 4))], name: "ln")
        let mask = try b.add1(.binary(.greater), [x, b.constant(Tensor.scalar(0))], name: "mask")
        let w = try b.add1(.where(Where()), [mask, ln, b.constant(Tensor.scalar(-1))], name: "w")
        let top = try b.add(.topK(TopK(axis: -1, k: 2, largest: true, sorted: true)), [w], names: ["tv", "ti"])
        let cs = try b.add1(.cumSum(CumSum(axis: 1, exclusive: true, reverse: true)), [x], name: "cs")
        let am = try b.add1(.argReduce(ArgReduce(isMax: true, axis: 2, keepDims: false, selectLastIndex: false)), [x], name: "am")
        let cast = try b.add1(.cast(Cast(to: .i32)), [am], name: "cast")
        let ex = try b.add1(.expand(Expand(shape: [2, 2, 3, 4])), [x], name: "ex")
        let tile = try b.add1(.tile(Tile(repeats: [1, 2, 1])), [x], name: "tile")
        let l2 = try b.add1(.reduce(Reduce(kind: .l2, axes: [0, 2], keepDims: false)), [x], name: "l2")
        let pw = try b.add1(.binary(.pow), [x, b.constant(Tensor(.i64, [], int64s: [2]))], name: "pw")
        for v in [cat, g, pad, top[0], top[1], cs, cast, ex, tile, l2, pw] { b.output(v) }
        try R.checkAgainstEvaluator(b.graph, inputs: [R.random([2, 3, 4], seed: 1), Tensor(.i64, [2, 2], int64s: [1, 0, -1, 1])])
    }

    /// Outputs that no instruction writes (an input, a constant, a value listed twice) get
    /// a COPY; shape arithmetic is folded; dead nodes emit nothing.
    func testOutputsAndFolding() throws {
        var b = GraphBuilder(name: "outs")
        let x = b.input("x", TensorType(.f32, [2, 3]))
        let shape = try b.add1(.shapeOf(ShapeOf(start: 0, end: 2)), [x], name: "shape")
        let n = try b.add1(.reduce(Reduce(kind: .prod, axes: [0], keepDims: false)), [shape], name: "n")
        _ = try b.add1(.unary(.exp), [x], name: "dead")
        let y = try b.add1(.unary(.tanh), [x], name: "y")
        b.output(x)
        b.output(y)
        b.output(y)
        b.output(n)
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([2, 3], seed: 3)])
        XCTAssertEqual(plan.program.instructions.map(\.opcode), [.unary, .copy, .copy, .copy])
        XCTAssertEqual(plan.program.outputs.map { plan.program.tensors[$0].name }, ["x", "y", "y_1", "n"])
    }

    func testRecurrentAndResize() throws {
        var b = GraphBuilder(name: "rnn")
        let x = b.input("x", TensorType(.f32, [3, 1, 2]))
        let h = 3
        let lstm = Recurrent(kind: .lstm, direction: .bidirectional, hiddenSize: h, activations: [.sigmoid, .tanh, .tanh],
                             clip: nil, linearBeforeReset: false, inputForget: false, layout: 0)
        let ops = [x, b.constant(R.random([2, 4 * h, 2], seed: 1)), b.constant(R.random([2, 4 * h, h], seed: 2)),
                   b.constant(R.random([2, 8 * h], seed: 3)), b.constant(Tensor(.i32, [1], int64s: [3])),
                   b.constant(Tensor(zeros: TensorType(.f32, [2, 1, h]))), b.constant(Tensor(zeros: TensorType(.f32, [2, 1, h]))),
                   b.constant(R.random([2, 3 * h], seed: 4))]
        let rs = try b.add(.recurrent(lstm), ops, names: ["y", "yh", "yc"])
        let img = try b.add1(.reshape(Reshape(shape: [1, 1, 2, 3])), [rs[1]], name: "img")
        let up = try b.add1(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .floor, cubicCoeffA: -0.75,
                                           excludeOutside: false, extrapolationValue: 0, antialias: false, scales: [1, 1, 2, 2],
                                           sizes: [1, 1, 4, 6], roi: [])), [img], name: "up")
        b.output(up)
        b.output(rs[2])
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([3, 1, 2], seed: 5)])
        let rec = try XCTUnwrap(plan.program.instructions.first { $0.opcode == .recurrent })
        XCTAssertNil(rec.results[0], "Y is unused and left absent")
        XCTAssertEqual(plan.program.tensors[rec.results[3]!].type.shape, [3 * 1 * 4 * h + 1 * 4 * h + 4 * 1 * h])
    }

    /// Every unsupported node is reported, in one error.
    func testUnsupportedNodesAreCollected() throws {
        var b = GraphBuilder(name: "bad")
        let v = b.input("v", TensorType(.f32, [1, 2, 3, 3, 3]))
        let d = b.input("d", TensorType(.f64, [4]))
        let img = b.input("img", TensorType(.f32, [1, 1, 4, 4]))
        let c3 = try b.add1(.conv(Conv(strides: [1, 1, 1], pads: [0, 0, 0, 0, 0, 0], dilations: [1, 1, 1], group: 1)),
                            [v, b.constant(R.random([1, 2, 1, 1, 1], seed: 1))], name: "c3", nodeName: "Conv3D")
        let add = try b.add1(.binary(.add), [d, d], name: "dd")
        let aa = try b.add1(.resize(Resize(mode: .linear, coordinateTransform: .halfPixel, nearestMode: .floor, cubicCoeffA: -0.75,
                                           excludeOutside: false, extrapolationValue: 0, antialias: true, scales: [1, 1, 0.5, 0.5],
                                           sizes: [1, 1, 2, 2], roi: [])), [img], name: "small", nodeName: "Down")
        let ok = try b.add1(.unary(.relu), [img], name: "fine")
        for o in [c3, add, aa, ok] { b.output(o) }
        XCTAssertThrowsError(try Lowering.lower(b.graph)) { e in
            XCTAssertEqual(e as? KilnError, KilnError(
                "cannot lower 3 nodes to the runtime: conv 'Conv3D': 3-D convolution is not supported by the runtime yet (1-D and 2-D only); "
                    + "add (%dd): add on f64 is not supported by the runtime (it computes f32, i32, i64); "
                    + "resize 'Down': resize with antialias is not supported by the runtime yet"))
        }
    }
}
