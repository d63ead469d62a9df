import KilnIR
import XCTest
@testable import KilnCodegen

/// Which kernel a group-1 conv with constant weights lowers to (CONV2D_WINOGRAD for 3x3
/// stride-1 convs with enough channels and outputs, CONV2D_PACKED otherwise), that the
/// plan computes what the reference evaluator does, and that Winograd weights are stored
/// untransformed.
final class ConvKernelChoiceTests: XCTestCase {
    typealias R = RunSupport

    func convPlan(input: Shape, weight: Shape, strides: [Int] = [1, 1], act: Bool = true) throws
        -> (CompiledPlan, [Tensor], [Tensor]) {
        var b = GraphBuilder(name: "conv")
        let x = b.input("x", TensorType(.f32, input))
        let w = b.constant(R.random(weight, seed: 1), name: "w")
        let bias = b.constant(R.random([weight[0]], seed: 2), name: "b")
        var y = try b.add1(.conv(Conv(strides: strides, pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w, bias],
                           name: "c")
        if act { y = try b.add1(.unary(.relu), [y], name: "r") }
        b.output(y)
        let inputs = [R.random(input, seed: 3)]
        let plan = try PlanCompiler.compile(b.graph, options: PlanOptions(compress: false))
        let got = try R.run(plan.bytes, inputs: inputs, outputTypes: [b.graph.type(of: y)])
        return (plan, got, try Evaluator.run(b.graph, inputs: inputs))
    }

    /// Winograd rounds differently from a direct sum: agreement to 1e-4 of the largest
    /// output magnitude (a cancelling element may differ by more than 1e-4 of itself).
    func assertClose(_ got: Tensor, _ want: Tensor, file: StaticString = #filePath, line: UInt = #line) {
        let scale = want.doubles.map(abs).max() ?? 0
        let (err, ok) = R.compare(got, want, rtol: 1e-4, atol: 1e-4 * max(scale, 1e-3))
        XCTAssertTrue(ok, "max error \(err) at scale \(scale)", file: file, line: line)
    }

    func testWinogradFor3x3Stride1() throws {
        // M = 17: three 6-row panels, the last partial; 15x14 outputs: partial 4x4 tiles.
        let (plan, got, want) = try convPlan(input: [2, 16, 15, 14], weight: [17, 16, 3, 3])
        XCTAssertEqual(plan.program.instructions.first?.opcode, .conv2dWinograd)
        // The plan keeps the OIHW 3x3 weights (the runtime transforms them at load): its
        // constants are exactly the weight and bias bytes, not the 4x larger [36, 3, 16, 6].
        XCTAssertEqual(plan.program.tensors[plan.program.instructions[0].operands[1]!].type.shape, [17, 16, 3, 3])
        XCTAssertEqual(plan.constantBytes, (17 * 16 * 9 + 17) * 4)
        assertClose(got[0], want[0])
    }

    func testPackedWhenWinogradDoesNotPay() throws {
        let cases: [(Shape, Shape, [Int])] = [
            ([1, 16, 7, 7], [16, 16, 3, 3], [1, 1]),      // 7x7 outputs
            ([1, 8, 16, 16], [16, 8, 3, 3], [1, 1]),      // 8 input channels
            ([1, 16, 16, 16], [16, 16, 3, 3], [2, 2]),    // stride 2
        ]
        for (input, weight, strides) in cases {
            let (plan, got, want) = try convPlan(input: input, weight: weight, strides: strides, act: false)
            XCTAssertEqual(plan.program.instructions.first?.opcode, .conv2dPacked, "\(input) \(weight)")
            let (err, ok) = R.compare(got[0], want[0])
            XCTAssertTrue(ok, "max error \(err)")
        }
    }
}
