import KilnIR
import XCTest
@testable import KilnPasses

/// QuantizeInt8 on a small conv → relu → flatten → gemm net: the structure of the rewrite,
/// and the quantized graph's outputs against the float graph's (reference evaluator).
final class QuantizeTests: XCTestCase {
    func random(_ shape: Shape, seed: UInt64) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        return Tensor(.f32, shape, doubles: (0..<shape.elementCount).map { _ in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        })
    }

    func net() throws -> Graph {
        var b = GraphBuilder(name: "convnet")
        let x = b.input("x", TensorType(.f32, [1, 3, 6, 6]))
        let w = b.constant(random([4, 3, 3, 3], seed: 1), name: "w")
        let bias = b.constant(random([4], seed: 2), name: "b")
        let c = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w, bias], name: "c")
        let r = try b.add1(.unary(.relu), [c], name: "r")
        let f = try b.add1(.reshape(Reshape(shape: [1, 144])), [r], name: "f")
        let fw = b.constant(random([5, 144], seed: 3), name: "fw")
        let fb = b.constant(random([5], seed: 4), name: "fb")
        let g = try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: true)), [f, fw, fb], name: "logits")
        b.output(g)
        return b.graph
    }

    func testConvReluGemmBecomeQuantizedOps() throws {
        let float = try net()
        var g = float
        let samples = (0..<4).map { [random([1, 3, 6, 6], seed: 100 + UInt64($0))] }
        var seen: [Int] = []
        let report = try QuantizeInt8.run(&g, samples: samples) { i, _ in seen.append(i) }
        XCTAssertEqual(seen, [1, 2, 3, 4])
        XCTAssertEqual(report.quantized, 2)
        XCTAssertEqual(report.boundaries, 1)  // the input (the reshape before the gemm reshapes the u8 value, step 6)
        let ops = g.nodes.map(\.op.mnemonic).filter { $0 != "constant" }
        XCTAssertEqual(ops, ["quantize_linear", "qlinear_conv", "reshape", "qlinear_mat_mul", "dequantize_linear"])
        // The relu is the conv's clamp: y_min is the output zero point.
        guard case .qlinearConv(let qc) = g.nodes.first(where: { $0.op.mnemonic == "qlinear_conv" })!.op else { return XCTFail() }
        XCTAssertEqual(qc.quant.yMin, qc.quant.yZeroPoint)
        XCTAssertEqual(qc.quant.wScales.count, 4)
        XCTAssertEqual(g[g.outputs[0]].name, "logits")
        // Held-out input: the int8 graph stays within a few output quantization steps.
        let x = random([1, 3, 6, 6], seed: 999)
        let want = try Evaluator.run(float, inputs: [x])[0].floats
        let got = try Evaluator.run(g, inputs: [x])[0].floats
        let range = want.max()! - want.min()!
        for (a, b) in zip(got, want) { XCTAssertEqual(a, b, accuracy: 0.05 * range) }
    }

    /// A relu already fused into the conv (fuse-activation at -O2) becomes the clamp.
    func testFusedReluBecomesTheClamp() throws {
        var b = GraphBuilder(name: "fused")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let w = b.constant(random([3, 2, 3, 3], seed: 5), name: "w")
        let conv = Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1, activation: .unary(.relu))
        b.output(try b.add1(.conv(conv), [x, w], name: "y"))
        let float = b.graph
        var g = float
        _ = try QuantizeInt8.run(&g, samples: [[random([1, 2, 4, 4], seed: 6)]])
        guard case .qlinearConv(let qc) = g.nodes.first(where: { $0.op.mnemonic == "qlinear_conv" })?.op else { return XCTFail() }
        XCTAssertNil(qc.conv.activation)
        XCTAssertEqual(qc.quant.yMin, qc.quant.yZeroPoint)
        let xin = random([1, 2, 4, 4], seed: 6)
        let got = try Evaluator.run(g, inputs: [xin])[0].floats, want = try Evaluator.run(float, inputs: [xin])[0].floats
        XCTAssertEqual(got.min()!, 0)
        for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.05 * want.max()!) }
    }

    /// conv → relu → max pool → conv: the pool runs on the first conv's u8 result (same scale
    /// and zero point) and the second conv reads it with no quantize boundary between them.
    func testMaxPoolBetweenInt8OpsPoolsU8() throws {
        var b = GraphBuilder(name: "pooled")
        let x = b.input("x", TensorType(.f32, [1, 3, 8, 8]))
        let w1 = b.constant(random([4, 3, 3, 3], seed: 7), name: "w1"), w2 = b.constant(random([5, 4, 3, 3], seed: 8), name: "w2")
        let c1 = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w1], name: "c1")
        let r = try b.add1(.unary(.relu), [c1], name: "r")
        let pool = Pool(kind: .max, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], ceilMode: false,
                        countIncludePad: false)
        let p = try b.add1(.pool(pool), [r], name: "p")
        b.output(try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [p, w2], name: "y"))
        let float = b.graph
        var g = float
        let samples = (0..<3).map { [random([1, 3, 8, 8], seed: 20 + UInt64($0))] }
        let report = try QuantizeInt8.run(&g, samples: samples)
        XCTAssertEqual(report.quantized, 2)
        XCTAssertEqual(report.boundaries, 1)  // the input only
        let ops = g.nodes.map(\.op.mnemonic).filter { $0 != "constant" }
        XCTAssertEqual(ops, ["quantize_linear", "qlinear_conv", "max_pool", "qlinear_conv", "dequantize_linear"])
        let pooled = g.nodes.first { $0.op.mnemonic == "max_pool" }!
        XCTAssertEqual(g.type(of: pooled.operands[0]).dtype, .u8)
        XCTAssertEqual(g.type(of: pooled.results[0]).dtype, .u8)
        let xin = random([1, 3, 8, 8], seed: 999)
        let got = try Evaluator.run(g, inputs: [xin])[0].floats, want = try Evaluator.run(float, inputs: [xin])[0].floats
        let range = want.max()! - want.min()!
        for (a, e) in zip(got, want) { XCTAssertEqual(a, e, accuracy: 0.05 * range) }
    }

    func testPercentileNarrowsTheRange() throws {
        let g = try net()
        let samples = (0..<2).map { [random([1, 3, 6, 6], seed: 10 + UInt64($0))] }
        let x = g.inputs[0]
        let all = try Calibration.run(g, values: [x], samples: samples, method: .minmax, percentile: 100).ranges[x]!
        let clipped = try Calibration.run(g, values: [x], samples: samples, method: .percentile, percentile: 60).ranges[x]!
        let xs = samples.flatMap { $0[0].floats }
        XCTAssertEqual(all.min, xs.min()!)
        XCTAssertEqual(all.max, xs.max()!)
        XCTAssertGreaterThan(clipped.min, all.min)
        XCTAssertLessThan(clipped.max, all.max)
    }

    func testNoSamplesIsAnError() throws {
        var g = try net()
        XCTAssertThrowsError(try QuantizeInt8.run(&g, samples: [])) { e in
            XCTAssertEqual((e as? KilnError)?.message, "calibration: no samples")
        }
    }
}
