import XCTest
@testable import KilnIR

/// Ops with a fused activation: evaluation against onnxruntime 1.32 running the unfused
/// pair (Conv + Relu, Gemm + HardSwish, MatMul + Gelu(tanh), Add + Sigmoid) on the same
/// `ramp` inputs; type rules, text form and statistics.
final class FusedActivationTests: XCTestCase {
    func testConvRelu() throws {
        let x = NumericOpTest.ramp([1,2,4,4], 7, 11, 4, 1)
        let w = NumericOpTest.ramp([3,2,3,3], 5, 13, 8, 0.75)
        let b = NumericOpTest.ramp([3], 3, 7, 4, 0.5)
        let conv = Conv(strides: [2, 1], pads: [1, 0, 0, 1], dilations: [1, 1], group: 1, activation: .unary(.relu))
        let y = try NumericOpTest.runGraph(.conv(conv), [x, w, b])
        NumericOpTest.assertClose(y[0], shape: [1,3,2,3],
                                  [0, 1.46875, 0, 0, 0, 0, 0.65625, 2.1875, 0, 1.875, 0, 0, 3.21875, 2.90625, 0, 4.3125, 0, 0.40625])
    }

    func testGemmHardSwish() throws {
        let a = NumericOpTest.ramp([3,4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([4,2], 5, 13, 8, 0.75)
        let c = NumericOpTest.ramp([3,1], 3, 7, 4, 0.5)
        let gemm = Gemm(alpha: 1.5, beta: -1, transA: false, transB: false, activation: .unary(.hardSwish))
        let y = try NumericOpTest.runGraph(.gemm(gemm), [a, b, c])
        NumericOpTest.assertClose(y[0], shape: [3,2],
                                  [1.2041423320770264, 0.4225260317325592, -0.3407796025276184, 1.2041423320770264,
                                   0.6407877802848816, -0.299763947725296])
    }

    func testMatMulGeluTanh() throws {
        let a = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([4,2], 5, 13, 8, 0.75)
        let y = try NumericOpTest.runGraph(.matMul(MatMul(activation: .unary(.gelu(tanh: true)))), [a, b])
        NumericOpTest.assertClose(y[0], shape: [2,3,2],
                                  [0.5489587783813477, 0.06871719658374786, -0.15813353657722473, 1.0826787948608398,
                                   1.1880066394805908, -0.16986548900604248, -0.16627885401248932, 1.2232314348220825,
                                   1.0826787948608398, -0.16793419420719147, -0.15317881107330322, -0.16410842537879944])
    }

    func testBinaryBroadcastSigmoidAndClip() throws {
        let a = NumericOpTest.ramp([2,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([3], 5, 13, 8, 0.75)
        let y = try NumericOpTest.runGraph(.binary(.add, activation: .unary(.sigmoid)), [a, b])
        NumericOpTest.assertClose(y[0], shape: [2,3],
                                  [0.14804717898368835, 0.6513548493385315, 0.5621764659881592, 0.6791787147521973,
                                   0.5926666259765625, 0.5])
        // numpy: np.clip(a - b, -0.5, 1)
        let c = try NumericOpTest.runGraph(.binary(.sub, activation: .clip(Clip(min: -0.5, max: 1))), [a, b])
        NumericOpTest.assertClose(c[0], shape: [2,3], [-0.25, 0.875, -0.5, 1, 0.625, -0.5])
    }

    func testTypeRuleChecksTheActivation() {
        let f = TensorType(.f32, [2]), i = TensorType(.i32, [2])
        NumericOpTest.assertRejects(.binary(.less, activation: .unary(.relu)), [f, f],
                                    "less: fused activation: relu expects a float or signed integer operand, got bool")
        NumericOpTest.assertRejects(.binary(.add, activation: .unary(.sigmoid)), [i, i],
                                    "add: fused activation: sigmoid expects a float operand, got i32")
        XCTAssertEqual(try Op.binary(.add, activation: .unary(.relu)).resultTypes([i, i]), [i])
    }

    func testOnlyActivationsFuse() {
        XCTAssertEqual(FusedActivation(.unary(.leakyRelu(alpha: 0.1))), .unary(.leakyRelu(alpha: 0.1)))
        XCTAssertEqual(FusedActivation(.clip(Clip(min: 0, max: 6))), .clip(Clip(min: 0, max: 6)))
        XCTAssertNil(FusedActivation(.unary(.exp)))
        XCTAssertNil(FusedActivation(.unary(.isNaN)))
        XCTAssertNil(FusedActivation(.binary(.add)))
    }

    func testTextForm() throws {
        let text = """
        graph @g(%x: f32[1,2,2,2], %w: f32[2,2,1,1], %m: f32[2,2]) -> (f32[1,2,2,2], f32[2,2], f32[2,2]) {
          %c = conv(%x, %w) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, activation = clip(min = 0.0, max = 6.0)} : f32[1,2,2,2]
          %g = gemm(%m, %m) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false, activation = leaky_relu(alpha = 0.1)} : f32[2,2]
          %p = mat_mul(%m, %m) {activation = clip()} : f32[2,2]
          %s = add(%g, %p) {activation = gelu(tanh = true)} : f32[2,2]
          return %c, %g, %s
        }

        """
        let g = try Parser.parse(text)
        try Verifier.verify(g)
        XCTAssertEqual(Printer.print(g, constants: .full), text)
        XCTAssertEqual(g.nodes[0].op.fusedActivation, .clip(Clip(min: 0, max: 6)))
        XCTAssertEqual(g.nodes[2].op.fusedActivation, .clip(Clip(min: nil, max: nil)))
        XCTAssertEqual(g.nodes[3].op, .binary(.add, activation: .unary(.gelu(tanh: true))))
        // The activation adds one FLOP per output element; dot labels name it.
        XCTAssertEqual(g.flops(of: g.nodes[0]), 2 * 8 * 2 + 8)
        XCTAssertEqual(g.flops(of: g.nodes[3]), 4 + 4)
        XCTAssertTrue(g.dot().contains("label=\"conv + clip(min = 0.0, max = 6.0)\n"), g.dot())
    }

    func testTextFormErrors() {
        func assertError(_ attrs: String, _ message: String, line: UInt = #line) {
            let text = "graph @g(%x: f32[2]) -> (f32[2]) {\n  %y = add(%x, %x) {\(attrs)} : f32[2]\n  return %y\n}\n"
            XCTAssertThrowsError(try Parser.parse(text), line: line) { error in
                XCTAssertEqual((error as? KilnError)?.message, message, line: line)
            }
        }
        assertError("activation = exp", "2:34: add: 'exp' is not an activation that can be fused")
        assertError("activation = frob", "2:34: add: 'frob' is not an activation that can be fused")
        assertError("activation = 1", "2:34: add: attribute 'activation' must be an activation such as relu or clip(min = 0.0, max = 6.0)")
        assertError("activation = leaky_relu", "2:34: add activation 'leaky_relu': missing attribute 'alpha'")
        assertError("activation = relu(alpha = 1)", "2:39: add activation 'relu': unknown attribute 'alpha'")
    }
}
