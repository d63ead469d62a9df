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
            model.onnx: 2 problems:
              --input-shape names 'z', which is not a graph input (inputs: x)
              input 'x' dims 2 ('H'), 3 are dynamic; pin them with numbers: --input-shape x=1,3,<H>,<dim3>
            """)
    }

    /// paddle2onnx writes a dynamic dim as dim_value -1: it is unknown, not fixed.
    func testNegativeDimValueIsDynamic() throws {
        let model = reluOn(ONNX.input("x", .float, [.value(-1), .value(3), .value(-1), .value(8)]))
        XCTAssertEqual(errorMessage { try ONNX.load(model) },
                       "model.onnx: input 'x' dim 2 is dynamic; pin it with numbers: --input-shape x=1,3,<dim2>,8")
        let graph = try ONNX.load(model, options: ImportOptions(inputShapes: ["x": [1, 3, 48, 8]]))
        XCTAssertEqual(graph.type(of: graph.inputs[0]), TensorType(.f32, [1, 3, 48, 8]))
    }

    func testUnresolvedDimMessage() {
        let model = reluOn(ONNX.input("x", .float, [.param("N"), .value(3), .param("height"), .value(224)]))
        XCTAssertEqual(errorMessage { try ONNX.load(model) },
                       "model.onnx: input 'x' dim 2 ('height') is dynamic; pin it with numbers: --input-shape x=1,3,<height>,224")
    }

    /// paddle2onnx names dynamic dims 'p2o.DynamicDimension.N' or '?' (PP-OCR's recognizer):
    /// one line for the input, with placeholders that are not those names.
    func testExporterDimNamesAreNotPlaceholders() {
        let model = reluOn(ONNX.input("x", .float, [.param("p2o.DynamicDimension.0"), .value(3), .param("?"),
                                                    .param("p2o.DynamicDimension.1")]))
        XCTAssertEqual(errorMessage { try ONNX.load(model) }, """
            model.onnx: input 'x' dims 2 ('?'), 3 ('p2o.DynamicDimension.1') are dynamic; \
            pin them with numbers: --input-shape x=1,3,<dim2>,<dim3>
            """)
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
                       "model.onnx: node 'if' (If): condition (input 0 'flag') must be known at compile time, but it depends on graph input 'flag' (freeze it with --bind flag=VALUE)")
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

/// Opset-dependent mappings and unsupported attribute values.
final class OpMappingTests: XCTestCase {
    private func single(_ node: Onnx_NodeProto, _ inputs: [Onnx_ValueInfoProto], outputs: [String] = ["y"],
                        initializers: [Onnx_TensorProto] = [], opset: Int = 17) -> Onnx_ModelProto {
        ONNX.model(ONNX.graph([node], inputs: inputs, outputs: outputs, initializers: initializers), opset: opset)
    }

    func testUpsampleNearestRepeats() throws {
        let m = single(ONNX.node("Upsample", ["x", "s"], ["y"], name: "up"), [ONNX.input("x", [1, 1, 2, 2])],
                       initializers: [ONNX.floats("s", [4], [1, 1, 2, 3])], opset: 11)
        let graph = try ONNX.load(m)
        let y = try Evaluator.run(graph, inputs: [Tensor([1, 1, 2, 2], floats: [1, 2, 3, 4])])[0]
        XCTAssertEqual(y.shape, [1, 1, 4, 6])
        XCTAssertEqual(y.floats, [1, 1, 1, 2, 2, 2,  1, 1, 1, 2, 2, 2,  3, 3, 3, 4, 4, 4,  3, 3, 3, 4, 4, 4])
    }

    func testSoftmaxBeforeOpset13CoercesTo2D() throws {
        let m = single(ONNX.node("Softmax", ["x"], ["y"], name: "sm"), [ONNX.input("x", [1, 2, 2])], opset: 12)
        let graph = try ONNX.load(m)
        XCTAssertEqual(graph.nodes.map(\.op.mnemonic), ["reshape", "softmax", "reshape"])
        XCTAssertEqual(graph.nodes.map(\.name), ["sm/coerced_2d", "sm/softmax", "sm"])
        // softmax over all 4 elements of the batch row: e^k / (1 + e + e^2 + e^3)
        let y = try Evaluator.run(graph, inputs: [Tensor([1, 2, 2], floats: [0, 1, 2, 3])])[0]
        let z = 1 + M_E + M_E * M_E + M_E * M_E * M_E
        assertClose(y.doubles, [1 / z, M_E / z, M_E * M_E / z, M_E * M_E * M_E / z])
    }

    func testUnsupportedAttributeValuesAndOutputs() {
        let x = ONNX.input("x", [1, 2, 2, 2])
        let cases: [(Onnx_NodeProto, [String], String)] = [
            (ONNX.node("SpaceToDepth", ["x"], ["y"], name: "s2d", [ONNX.attr("blocksize", int: 2), ONNX.attr("mode", string: "DRC")]), ["y"],
             "node 's2d' (SpaceToDepth): attribute 'mode' = 'DRC' is not supported (expected DCR or CRD)"),
            (ONNX.node("GlobalLpPool", ["x"], ["y"], name: "glp", [ONNX.attr("p", int: 3)]), ["y"],
             "node 'glp' (GlobalLpPool): attribute 'p' = 3 is not supported (Kiln supports p = 1 and p = 2)"),
            (ONNX.node("MaxPool", ["x"], ["y", "i"], name: "mp", [ONNX.attr("kernel_shape", ints: [2, 2]), ONNX.attr("storage_order", int: 2)]), ["y", "i"],
             "node 'mp' (MaxPool): attribute 'storage_order' = 2 must be 0 or 1"),
            (ONNX.node("Dropout", ["x", "", "yes"], ["y"], name: "drop"), ["y"],
             "node 'drop' (Dropout): training_mode is true with ratio 0.5, which drops elements at random; Kiln imports inference graphs (only ratio 0 is supported in training mode)"),
        ]
        var yes = Onnx_TensorProto()
        yes.name = "yes"
        yes.dataType = Int32(Onnx_TensorProto.DataType.bool.rawValue)
        yes.int32Data = [1]
        for (node, outputs, message) in cases {
            let m = single(node, [x], outputs: outputs, initializers: [ONNX.floats("s", [2], [1, 1]), yes])
            XCTAssertEqual(errorMessage { try ONNX.load(m) }, "model.onnx: " + message)
        }
    }
}
