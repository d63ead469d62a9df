import KilnIR
import XCTest
@testable import KilnPasses

/// QuantizeInt8's table candidates: a conv whose activation is not relu/clip (fused SiLU, a
/// following HardSwish) becomes qlinear_conv producing the u8 pre-activation value and
/// qlinear_lookup the activation.
final class QuantizeLookupTests: XCTestCase {
    func random(_ shape: Shape, seed: UInt64) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return Tensor(.f32, shape, doubles: (0..<shape.elementCount).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        })
    }

    func conv(_ b: inout GraphBuilder, _ x: ValueID, seed: UInt64, name: String, activation: FusedActivation? = nil) throws -> ValueID {
        let w = b.constant(random([2, 2, 3, 3], seed: seed), name: name + ".w")
        return try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: activation)),
                          [x, w], name: name)
    }

    /// conv{silu} → conv (fuse-silu's form of YOLO's Conv → Sigmoid → Mul).
    func siluBlock() throws -> Graph {
        var b = GraphBuilder(name: "silu")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let c1 = try conv(&b, x, seed: 1, name: "c1", activation: .unary(.silu))
        b.output(try conv(&b, c1, seed: 2, name: "y"))
        return b.graph
    }

    func samples() -> [[Tensor]] { (0..<3).map { [random([1, 2, 4, 4], seed: 40 + UInt64($0))] } }

    func testFusedSiluBecomesConvAndLookup() throws {
        let float = try siluBlock()
        var g = float
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual(report.quantized, 2)
        XCTAssertEqual(report.lookups, 1)
        XCTAssertEqual(report.boundaries, 1)
        XCTAssertEqual(Printer.print(g), """
        graph @silu(%x: f32[1,2,4,4]) -> (f32[1,2,4,4]) {
          %x.scale = constant f32[] dense<[0.007578628]>
          %x.zero_point = constant u8[] dense<[129]>
          %x.q = quantize_linear(%x, %x.scale, %x.zero_point) {block_size = 0, output_type = u8} : u8[1,2,4,4]
          %c1.w.q = constant i8[2,2,3,3] elided<bytes = 36, fnv1a = "0x9f873a151103e157">
          %c1.bias.q = constant i32[2] dense<[-5, -16]>
          %c1.pre.q = qlinear_conv(%x.q, %c1.w.q, %c1.bias.q) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.007578628, x_zero_point = 129, w_scales = [0.0068437904, 0.007553096], y_scale = 0.020177225, y_zero_point = 128, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %c1.table = constant u8[256] elided<bytes = 256, fnv1a = "0x9680b04a9c5cc016">
          %c1.q = qlinear_lookup(%c1.pre.q, %c1.table) : u8[1,2,4,4]
          %y.w.q = constant i8[2,2,3,3] elided<bytes = 36, fnv1a = "0x61709da12d015473">
          %y.bias.q = constant i32[2] dense<[4, -9]>
          %y.q = qlinear_conv(%c1.q, %y.w.q, %y.bias.q) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.010393279, x_zero_point = 27, w_scales = [0.0074210963, 0.007827534], y_scale = 0.025278414, y_zero_point = 155, y_min = 0, y_max = 255} : u8[1,2,4,4]
          %y.scale = constant f32[] dense<[0.025278414]>
          %y.zero_point = constant u8[] dense<[155]>
          %y = dequantize_linear(%y.q, %y.scale, %y.zero_point) {block_size = 0} : f32[1,2,4,4]
          return %y
        }

        """)
        // The table maps every pre-activation byte to the quantized SiLU of its value.
        let lookup = try XCTUnwrap(g.nodes.first { $0.op.mnemonic == "qlinear_lookup" })
        let producer = try XCTUnwrap(g.producers[lookup.operands[1].index])
        guard case .constant(let table) = g.nodes[producer].op else { return XCTFail("the table is not a constant") }
        let expected = try QLinearLookup.table(for: .unary(.silu), xScale: 0.020177225, xZeroPoint: 128, yScale: 0.010393279, yZeroPoint: 27)
        XCTAssertEqual(table, expected)
        XCTAssertEqual(table.int64s[128], 27)  // silu(0) = 0: the pre zero point maps to the post zero point
        // Held-out input: within a few output steps of the float block.
        let x = random([1, 2, 4, 4], seed: 999)
        let want = try Evaluator.run(float, inputs: [x])[0].floats, got = try Evaluator.run(g, inputs: [x])[0].floats
        let range = want.max()! - want.min()!
        for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.06 * range) }
    }

    /// The calibration graph splits the fused activation off: the conv writes `pre` (the id
    /// `candidates` gave it), a silu node the original result; outputs are unchanged.
    func testCalibrationGraphSplitsFusedActivation() throws {
        let g = try siluBlock()
        let found = QuantizeInt8.candidates(g)
        XCTAssertEqual(found.count, 2)
        XCTAssertEqual(found[0].pre, ValueID(g.values.count))
        XCTAssertNil(found[1].pre)
        let s = try QuantizeInt8.calibrationGraph(g, found)
        XCTAssertEqual(s.nodes.filter { $0.op.mnemonic == "silu" }.count, 1)
        XCTAssertFalse(s.nodes.contains { $0.op.fusedActivation != nil })
        XCTAssertEqual(s[ValueID(g.values.count)].name, "c1.pre")
        let x = random([1, 2, 4, 4], seed: 7)
        XCTAssertEqual(try Evaluator.run(s, inputs: [x])[0], try Evaluator.run(g, inputs: [x])[0])
        let cal = try QuantizeInt8.calibrate(g, found, samples: samples(), method: .minmax, percentile: 100)
        let pre = try XCTUnwrap(cal.ranges[ValueID(g.values.count)]), post = try XCTUnwrap(cal.ranges[found[0].out])
        XCTAssertLessThan(pre.min, post.min)  // SiLU's minimum is −0.278
    }

    /// A conv kept in float stays exactly as it was, its activation fused.
    func testKeptFloatConvKeepsFusedActivation() throws {
        let g = try siluBlock()
        let found = QuantizeInt8.candidates(g)
        let cal = try QuantizeInt8.calibrate(g, found, samples: samples(), method: .minmax, percentile: 100)
        let (q, report) = try QuantizeInt8.rewrite(g, found, ranges: cal.ranges, keepFloat: [0])
        XCTAssertEqual(report.quantized, 1)
        XCTAssertEqual(report.lookups, 0)
        XCTAssertTrue(q.nodes.contains { $0.op == g.nodes[found[0].node].op })  // conv {activation = silu}
        XCTAssertFalse(q.nodes.contains { $0.op.mnemonic == "qlinear_lookup" })
    }

    /// A HardSwish node reading a conv's single-use result is taken along as the table.
    func testFollowingHardSwishIsTakenAlong() throws {
        var b = GraphBuilder(name: "hswish")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let h = try b.add1(.unary(.hardSwish), [try conv(&b, x, seed: 3, name: "c1")], name: "h")
        b.output(try conv(&b, h, seed: 4, name: "y"))
        let float = b.graph
        var g = float
        let report = try QuantizeInt8.run(&g, samples: samples())
        XCTAssertEqual(report.lookups, 1)
        let ops = g.nodes.map(\.op.mnemonic).filter { $0 != "constant" }
        XCTAssertEqual(ops, ["quantize_linear", "qlinear_conv", "qlinear_lookup", "qlinear_conv", "dequantize_linear"])
        for x in samples().map({ $0[0] }) {
            let want = try Evaluator.run(float, inputs: [x])[0].floats, got = try Evaluator.run(g, inputs: [x])[0].floats
            let range = want.max()! - want.min()!
            for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.03 * range) }
        }
    }

    /// The pre-activation range leaves out the ends where the quantized activation is
    /// constant (HardSwish below −3), and the table then still maps the lowest code to
    /// that constant; an activation without flat ends keeps its range.
    func testTableRangeDropsConstantEnds() throws {
        let post: (min: Float, max: Float) = (-0.375, 5)
        let r = try QuantizeInt8.tableRange(.unary(.hardSwish), (-20, 5), post: post)
        XCTAssertEqual(r.max, 5)
        XCTAssertGreaterThan(r.min, -3.2)
        XCTAssertLessThan(r.min, -2.9)
        let (pre, out) = (ActivationParams(r), ActivationParams(post))
        let table = try QLinearLookup.table(for: .unary(.hardSwish), xScale: pre.scale, xZeroPoint: pre.zeroPoint, yScale: out.scale,
                                            yZeroPoint: out.zeroPoint).int64s
        XCTAssertEqual(table[0], Int64(out.zeroPoint))  // hard_swish(x ≤ −3) = 0
        let same = try QuantizeInt8.tableRange(.unary(.leakyRelu(alpha: 1)), (-4, 4), post: (-4, 4))
        XCTAssertEqual([same.min, same.max], [-4, 4])
    }
}
