import KilnIR
import XCTest
@testable import KilnPasses

/// QuantizeInt8 step 6: residual adds between int8 ops become qlinear_add.
final class QuantizeAddTests: XCTestCase {
    func random(_ shape: Shape, seed: UInt64) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return Tensor(.f32, shape, doubles: (0..<shape.elementCount).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        })
    }

    func conv(_ b: inout GraphBuilder, _ x: ValueID, _ m: Int, _ c: Int, seed: UInt64, name: String) throws -> ValueID {
        let w = b.constant(random([m, c, 3, 3], seed: seed), name: name + ".w")
        return try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w], name: name)
    }

    /// ResNet's basic block: `relu(conv(relu(conv(x))) + shortcut)` read by another conv.
    func residualBlock(readByConv: Bool = true) throws -> Graph {
        var b = GraphBuilder(name: "block")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let r1 = try b.add1(.unary(.relu), [try conv(&b, x, 2, 2, seed: 1, name: "c1")], name: "r1")
        let c2 = try conv(&b, r1, 2, 2, seed: 2, name: "c2")
        let s = try b.add1(.binary(.add), [c2, r1], name: "s")
        let r2 = try b.add1(.unary(.relu), [s], name: "r2")
        b.output(readByConv ? try conv(&b, r2, 2, 2, seed: 3, name: "y") : r2)
        return b.graph
    }

    func samples() -> [[Tensor]] { (0..<3).map { [random([1, 2, 4, 4], seed: 40 + UInt64($0))] } }

    func testResidualAddBetweenInt8Convs() throws {
        let float = try residualBlock()
        var g = float
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual(report.quantized, 3)
        XCTAssertEqual(report.adds, 1)
        XCTAssertEqual(report.boundaries, 1)  // the input only
        // The add reads both convs' u8 results (no dequantize between them); r2's relu is its
        // clamp, y_min = the output zero point; the last conv reads its u8 result.
        XCTAssertEqual(Printer.print(g), """
        graph @block(%x: f32[1,2,4,4]) -> (f32[1,2,4,4]) {
          %x.scale = constant f32[] dense<[0.007578628]>
          %x.zero_point = constant u8[] dense<[129]>
          %x.q = quantize_linear(%x, %x.scale, %x.zero_point) {block_size = 0, output_type = u8} : u8[1,2,4,4]
          %c1.w.q = constant i8[2,2,3,3] elided<bytes = 36, fnv1a = "0x9f873a151103e157">
          %r1.bias.q = constant i32[2] dense<[-5, -16]>
          %r1.q = qlinear_conv(%x.q, %c1.w.q, %r1.bias.q) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.007578628, x_zero_point = 129, w_scales = [0.0068437904, 0.007553096], y_scale = 0.010023681, y_zero_point = 0, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %c2.w.q = constant i8[2,2,3,3] elided<bytes = 36, fnv1a = "0x61709da12d015473">
          %c2.bias.q = constant i32[2] dense<[-4, -16]>
          %c2.q = qlinear_conv(%r1.q, %c2.w.q, %c2.bias.q) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.010023681, x_zero_point = 0, w_scales = [0.0074210963, 0.007827534], y_scale = 0.025724486, y_zero_point = 161, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %r2.q = qlinear_add(%c2.q, %r1.q) {a_scale = 0.025724486, a_zero_point = 161, b_scale = 0.010023681, b_zero_point = 0, y_scale = 0.010145008, y_zero_point = 0, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %y.w.q = constant i8[2,2,3,3] elided<bytes = 36, fnv1a = "0x687e79d4a194ed8c">
          %y.bias.q = constant i32[2] dense<[-26, 58]>
          %y.q = qlinear_conv(%r2.q, %y.w.q, %y.bias.q) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.010145008, x_zero_point = 0, w_scales = [0.0074124737, 0.007655902], y_scale = 0.03401222, y_zero_point = 105, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %y.scale = constant f32[] dense<[0.03401222]>
          %y.zero_point = constant u8[] dense<[105]>
          %y = dequantize_linear(%y.q, %y.scale, %y.zero_point) {block_size = 0} : f32[1,2,4,4]
          return %y
        }

        """)
        // Held-out input: within a few output quantization steps of the float block.
        let x = random([1, 2, 4, 4], seed: 999)
        let want = try Evaluator.run(float, inputs: [x])[0].floats, got = try Evaluator.run(g, inputs: [x])[0].floats
        let range = want.max()! - want.min()!
        for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.06 * range) }
    }

    /// Inception's join: two int8 branches concatenated and read by an int8 conv become
    /// qlinear_concat, each branch requantized to the concat's calibrated range.
    func testConcatOfInt8BranchesBecomesQLinearConcat() throws {
        var b = GraphBuilder(name: "inception")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let r1 = try b.add1(.unary(.relu), [try conv(&b, x, 2, 2, seed: 4, name: "b1")], name: "r1")
        let c2 = try conv(&b, x, 3, 2, seed: 5, name: "b2")
        let cat = try b.add1(.concat(Concat(axis: 1)), [r1, c2], name: "cat")
        b.output(try conv(&b, cat, 2, 5, seed: 6, name: "y"))
        let float = b.graph
        var g = float
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual(report.quantized, 3)
        XCTAssertEqual(report.concats, 1)
        XCTAssertEqual(report.boundaries, 1)
        let ops = g.nodes.map(\.op.mnemonic).filter { $0 != "constant" }
        XCTAssertEqual(ops, ["quantize_linear", "qlinear_conv", "qlinear_conv", "qlinear_concat", "qlinear_conv", "dequantize_linear"])
        // On the calibration samples (inside the calibrated ranges; held-out inputs of this tiny
        // net saturate them): within 2% of the output range (measured ≤ 0.8%).
        for x in samples().map({ $0[0] }) {
            let want = try Evaluator.run(float, inputs: [x])[0].floats, got = try Evaluator.run(g, inputs: [x])[0].floats
            let range = want.max()! - want.min()!
            for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.02 * range) }
        }
    }

    /// The classifier head: residual block → global average pool → flatten → gemm runs int8
    /// end to end (the add, read by the pool, and the pool, read by the gemm through the
    /// reshape): the input's quantize is the only boundary.
    func testGlobalAveragePoolHeadRunsInt8() throws {
        var b = GraphBuilder(name: "head")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let r1 = try b.add1(.unary(.relu), [try conv(&b, x, 2, 2, seed: 1, name: "c1")], name: "r1")
        let s = try b.add1(.binary(.add), [try conv(&b, r1, 2, 2, seed: 2, name: "c2"), r1], name: "s")
        let r2 = try b.add1(.unary(.relu), [s], name: "r2")
        let gap = try b.add1(.reduce(Reduce(kind: .mean, axes: [2, 3], keepDims: true)), [r2], name: "gap")
        let f = try b.add1(.reshape(Reshape(shape: [1, 2])), [gap], name: "f")
        let fw = b.constant(random([3, 2], seed: 7), name: "fw")
        b.output(try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: true)), [f, fw], name: "logits"))
        let float = b.graph
        var g = float
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual([report.quantized, report.adds, report.pools, report.boundaries], [3, 1, 1, 1])
        let ops = g.nodes.map(\.op.mnemonic).filter { $0 != "constant" }
        XCTAssertEqual(ops, ["quantize_linear", "qlinear_conv", "qlinear_conv", "qlinear_add", "qlinear_global_average_pool",
                             "reshape", "qlinear_mat_mul", "dequantize_linear"])
        for x in samples().map({ $0[0] }) {
            let want = try Evaluator.run(float, inputs: [x])[0].floats, got = try Evaluator.run(g, inputs: [x])[0].floats
            let range = want.map(abs).max()!
            for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.05 * range) }
        }
    }

    /// An add whose result only float ops read (here: the graph output) stays float.
    func testAddReadOnlyByFloatStaysFloat() throws {
        var g = try residualBlock(readByConv: false)
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual(report.quantized, 2)
        XCTAssertEqual(report.adds, 0)
        XCTAssertTrue(g.nodes.contains { $0.op.mnemonic == "add" })
        XCTAssertFalse(g.nodes.contains { $0.op.mnemonic == "qlinear_add" })
    }

    /// An operand still float at the add (the convs kept in float) keeps the add float.
    func testAddOfFloatOperandsStaysFloat() throws {
        let float = try residualBlock()
        let found = QuantizeInt8.candidates(float)
        let cal = try Calibration.run(float, values: QuantizeInt8.observedValues(float, found), samples: samples(),
                                      method: .minmax, percentile: 100)
        let (g, report) = try QuantizeInt8.rewrite(float, found, ranges: cal.ranges, keepFloat: [1])  // c2 in float
        XCTAssertEqual(report.adds, 0)
        XCTAssertTrue(g.nodes.contains { $0.op.mnemonic == "add" })
    }
}
