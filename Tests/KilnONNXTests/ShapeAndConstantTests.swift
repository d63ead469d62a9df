import Foundation
import KilnIR
import XCTest
@testable import KilnONNX

/// Input shapes, --bind, import-time constant knowledge and If inlining.
final class ShapeAndConstantTests: XCTestCase {
    private func reluOn(_ input: Onnx_ValueInfoProto) -> Onnx_ModelProto {
        ONNX.model(ONNX.graph([ONNX.node("Relu", [input.name], ["y"], name: "relu")], inputs: [input], outputs: ["y"]))
    }

    func testSymbolicBatchDefaultsToOne() throws {
        let graph = try ONNX.load(reluOn(ONNX.input("x", .float, [.param("batch"), .value(3), .value(5)])))
        XCTAssertEqual(graph.type(of: graph.inputs[0]), TensorType(.f32, [1, 3, 5]))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [1, 3, 5]))
    }

    func testInputShapeOptionPinsTheWholeShape() throws {
        let model = reluOn(ONNX.input("x", .float, [.param("N"), .value(3), .param("H"), .unknown]))
        let graph = try ONNX.load(model, options: ImportOptions(inputShapes: ["x": [2, 3, 8, 6]]))
        XCTAssertEqual(graph.type(of: graph.inputs[0]), TensorType(.f32, [2, 3, 8, 6]))
        XCTAssertEqual(errorMessage { try ONNX.load(model, options: ImportOptions(inputShapes: ["x": [2, 4, 8, 6]])) },
                       "model.onnx: --input-shape gives input 'x' dim 1 = 4 but the model fixes it to 3")
        XCTAssertEqual(errorMessage { try ONNX.load(model, options: ImportOptions(inputShapes: ["z": [1]])) }, """
            model.onnx: 3 problems:
              --input-shape names 'z', which is not a graph input (inputs: x)
              input 'x' dim 2 ('H') is unknown; pass --input-shape x=1,3,H,?
              input 'x' dim 3 is unknown; pass --input-shape x=1,3,H,?
            """)
    }

    func testUnresolvedDimMessage() {
        let model = reluOn(ONNX.input("x", .float, [.param("N"), .value(3), .param("height"), .value(224)]))
        XCTAssertEqual(errorMessage { try ONNX.load(model) },
                       "model.onnx: input 'x' dim 2 ('height') is unknown; pass --input-shape x=1,3,height,224")
    }

    func testBindFreezesAnInputIntoAConstant() throws {
        let g = ONNX.graph([ONNX.node("Mul", ["x", "scale"], ["y"], name: "mul")],
                           inputs: [ONNX.input("x", [2]), ONNX.input("scale", [1])], outputs: ["y"])
        let graph = try ONNX.load(ONNX.model(g), options: ImportOptions(bindings: ["scale": Tensor([1], floats: [3])]))
        XCTAssertEqual(graph.inputs.map { graph[$0].name }, ["x"])
        XCTAssertEqual(try Evaluator.run(graph, inputs: [Tensor([2], floats: [1, -2])])[0].floats, [3, -6])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g), options: ImportOptions(bindings: ["scale": Tensor(.i64, [1], int64s: [3])])) },
                       "model.onnx: --bind scale: the value has dtype i64 but the input is f32")
    }

    func testBoundInputMakesParametersKnown() throws {
        // A Reshape whose shape is a graph input can be imported once the input is bound.
        let g = ONNX.graph([ONNX.node("Reshape", ["x", "s"], ["y"], name: "r")],
                           inputs: [ONNX.input("x", [2, 3]), ONNX.input("s", .int64, [2])], outputs: ["y"])
        let graph = try ONNX.load(ONNX.model(g), options: ImportOptions(bindings: ["s": Tensor(.i64, [2], int64s: [3, -1])]))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [3, 2]))
    }

    /// The exporter idiom `x.view(x.size(0), -1)`: Shape → Gather → Unsqueeze → Concat →
    /// Reshape. The shape chain stays in the graph; Reshape gets the resolved shape and
    /// only the data operand.
    func testPyTorchShapeChainResolves() throws {
        let g = ONNX.graph([
            ONNX.node("Shape", ["x"], ["/Shape_output_0"], name: "/Shape"),
            ONNX.node("Constant", [], ["/Constant_output_0"], name: "/Constant",
                      [ONNX.attr("value", tensor: ONNX.int64s("", [], [0]))]),
            ONNX.node("Gather", ["/Shape_output_0", "/Constant_output_0"], ["/Gather_output_0"], name: "/Gather",
                      [ONNX.attr("axis", int: 0)]),
            ONNX.node("Unsqueeze", ["/Gather_output_0", "axes0"], ["/Unsqueeze_output_0"], name: "/Unsqueeze"),
            ONNX.node("Concat", ["/Unsqueeze_output_0", "minus1"], ["/Concat_output_0"], name: "/Concat",
                      [ONNX.attr("axis", int: 0)]),
            ONNX.node("Reshape", ["x", "/Concat_output_0"], ["y"], name: "/Reshape"),
        ], inputs: [ONNX.input("x", .float, [.param("batch"), .value(2), .value(3)])], outputs: ["y"],
           initializers: [ONNX.int64s("axes0", [1], [0]), ONNX.int64s("minus1", [1], [-1])])
        let graph = try ONNX.load(ONNX.model(g), options: ImportOptions(inputShapes: ["x": [4, 2, 3]]))
        XCTAssertEqual(graph.nodes.map(\.name), ["/Shape", "/Constant", "/Gather", "/Unsqueeze", "", "/Concat", "/Reshape"])
        let reshape = try XCTUnwrap(graph.nodes.last)
        XCTAssertEqual(reshape.op, .reshape(Reshape(shape: [4, 6])))
        XCTAssertEqual(reshape.operands, [graph.inputs[0]])
        XCTAssertEqual(graph.values.map(\.name), ["x", "/Shape_output_0", "/Constant_output_0", "/Gather_output_0",
                                                  "/Unsqueeze_output_0", "minus1", "/Concat_output_0", "y"])
        let x = Tensor([4, 2, 3], floats: (0..<24).map(Float.init))
        XCTAssertEqual(try Evaluator.run(graph, inputs: [x])[0], x.reshaped([4, 6]))
    }

    func testIfWithConstantConditionInlinesTheTakenBranch() throws {
        let thenBranch = ONNX.graph([ONNX.node("Add", ["x", "one"], ["t_out"], name: "then_add")],
                                    inputs: [], outputs: ["t_out"], initializers: [ONNX.floats("one", [], [1])], name: "then")
        let elseBranch = ONNX.graph([ONNX.node("Neg", ["x"], ["e_out"], name: "else_neg")],
                                    inputs: [], outputs: ["e_out"], name: "else")
        func model(_ flag: Bool) -> Onnx_ModelProto {
            var cond = Onnx_TensorProto()
            cond.dataType = Int32(Onnx_TensorProto.DataType.bool.rawValue)
            cond.int32Data = [flag ? 1 : 0]
            return ONNX.model(ONNX.graph([
                ONNX.node("Constant", [], ["cond"], name: "c", [ONNX.attr("value", tensor: cond)]),
                ONNX.node("If", ["cond"], ["y"], name: "if", [ONNX.attr("then_branch", graph: thenBranch),
                                                            ONNX.attr("else_branch", graph: elseBranch)]),
            ], inputs: [ONNX.input("x", [2])], outputs: ["y"]))
        }
        let x = Tensor([2], floats: [1, -3])
        let taken = try ONNX.load(model(true))
        XCTAssertEqual(try Evaluator.run(taken, inputs: [x])[0].floats, [2, -2])
        XCTAssertTrue(taken.nodes.contains { $0.name == "then_add" })
        XCTAssertFalse(taken.nodes.contains { $0.name == "else_neg" })
        XCTAssertEqual(taken[taken.outputs[0]].name, "y")
        let other = try ONNX.load(model(false))
        XCTAssertEqual(try Evaluator.run(other, inputs: [x])[0].floats, [-1, 3])

        // A condition computed from a graph input cannot be inlined.
        let dynamic = ONNX.model(ONNX.graph([
            ONNX.node("If", ["flag"], ["y"], name: "if", [ONNX.attr("then_branch", graph: thenBranch),
                                                        ONNX.attr("else_branch", graph: elseBranch)]),
        ], inputs: [ONNX.input("x", [2]), ONNX.input("flag", .bool, [])], outputs: ["y"]))
        XCTAssertEqual(errorMessage { try ONNX.load(dynamic) },
                       "model.onnx: node 'if' (If): condition (input 0 'flag') must be known at compile time, but it depends on graph inputs")
    }

    func testOutputThatIsAnInputKeepsItsName() throws {
        let g = ONNX.graph([ONNX.node("Relu", ["x"], ["y"], name: "relu")],
                           inputs: [ONNX.input("x", [2])], outputs: ["y", "x"])
        let graph = try ONNX.load(ONNX.model(g))
        XCTAssertEqual(graph.outputs.map { graph[$0].name }, ["y", "x"])
    }

    func testWrongAttributeTypeNamesNodeAndAttribute() {
        let g = ONNX.graph([ONNX.node("Conv", ["x", "w"], ["y"], name: "conv1", [ONNX.attr("group", float: 1)])],
                           inputs: [ONNX.input("x", [1, 1, 3, 3])], outputs: ["y"],
                           initializers: [ONNX.floats("w", [1, 1, 1, 1], [1])])
        XCTAssertEqual(errorMessage { try ONNX.load(ONNX.model(g)) },
                       "model.onnx: node 'conv1' (Conv): attribute 'group' must be an int, got a float")
    }
}
