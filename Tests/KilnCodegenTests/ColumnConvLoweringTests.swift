import KilnIR
import XCTest
@testable import KilnCodegen

/// A 2-D conv over one column (input `[N, C, H, 1]`, kernel `kh x 1`, as TensorFlow
/// exporters write 1-D convs) runs as the same conv over one row: the conv instruction
/// reads `[N, C, 1, H]`, writes `[N, M, 1, OH]` and has its window attributes swapped, and
/// the plan computes what the reference evaluator does.
final class ColumnConvLoweringTests: XCTestCase {
    typealias R = RunSupport

    struct Case {
        var input: Shape, weight: Shape, group = 1, strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1]
        var constantWeight = true
        var opcode: Opcode
    }

    func check(_ c: Case, file: StaticString = #filePath, line: UInt = #line) throws {
        var b = GraphBuilder(name: "column")
        let x = b.input("x", TensorType(.f32, c.input))
        var inputs = [R.random(c.input, seed: 3)]
        let w: ValueID
        if c.constantWeight {
            w = b.constant(R.random(c.weight, seed: 1), name: "w")
        } else {
            w = b.input("w", TensorType(.f32, c.weight))
            inputs.append(R.random(c.weight, seed: 1))
        }
        let bias = b.constant(R.random([c.weight[0]], seed: 2), name: "b")
        let y = try b.add1(.conv(Conv(strides: c.strides, pads: c.pads, dilations: c.dilations, group: c.group,
                                      activation: .unary(.relu))), [x, w, bias], name: "c")
        b.output(y)
        let plan = try PlanCompiler.compile(b.graph, options: PlanOptions(compress: false))
        let conv = try XCTUnwrap(plan.program.instructions.first { $0.opcode == c.opcode }, "no \(c.opcode)", file: file, line: line)
        let xt = plan.program.tensors[conv.operands[0]!].type.shape
        let yt = plan.program.tensors[conv.results[0]!].type.shape
        let outH = b.graph.type(of: y).shape[2]
        XCTAssertEqual(xt, Shape([c.input[0], c.input[1], 1, c.input[2]]), "input as a row", file: file, line: line)
        XCTAssertEqual(yt, Shape([c.input[0], c.weight[0], 1, outH]), "result as a row", file: file, line: line)
        let got = try R.run(plan.bytes, inputs: inputs, outputTypes: [b.graph.type(of: y)])
        let (err, ok) = R.compare(got[0], try Evaluator.run(b.graph, inputs: inputs)[0])
        XCTAssertTrue(ok, "max error \(err)", file: file, line: line)
    }

    func testPackedColumnConvRunsAsARow() throws {
        // Magika's shape, smaller: 5x1, no pads.
        try check(Case(input: [1, 16, 40, 1], weight: [13, 16, 5, 1], opcode: .conv2dPacked))
        // Stride, dilation and pads along H; a W stride changes nothing on one column.
        try check(Case(input: [2, 8, 33, 1], weight: [7, 8, 3, 1], strides: [2, 3], pads: [2, 0, 1, 0],
                       dilations: [2, 1], opcode: .conv2dPacked))
    }

    func testDepthwiseGenericAndPointwiseColumnConvsRunAsRows() throws {
        try check(Case(input: [1, 6, 21, 1], weight: [6, 1, 3, 1], group: 6, pads: [1, 0, 1, 0], opcode: .depthwiseConv2d))
        try check(Case(input: [1, 6, 21, 1], weight: [4, 6, 3, 1], constantWeight: false, opcode: .conv2d))
        try check(Case(input: [1, 6, 21, 1], weight: [4, 3, 3, 1], group: 2, opcode: .conv2d))
        try check(Case(input: [1, 6, 21, 1], weight: [4, 6, 1, 1], constantWeight: false, opcode: .conv2d))
    }

    func testPaddedColumnsAndSinglePixelsStayAsTheyAre() throws {
        // W pads make the input wider than one column: not a column conv.
        var b = GraphBuilder(name: "padded")
        let x = b.input("x", TensorType(.f32, [1, 4, 9, 1]))
        let w = b.constant(R.random([3, 4, 3, 1], seed: 1), name: "w")
        let y = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w], name: "c")
        b.output(y)
        let plan = try PlanCompiler.compile(b.graph, options: PlanOptions(compress: false))
        let conv = try XCTUnwrap(plan.program.instructions.first { $0.opcode == .conv2dPacked })
        XCTAssertEqual(plan.program.tensors[conv.operands[0]!].type.shape, [1, 4, 9, 1])
    }
}
