import KilnIR
import XCTest
@testable import KilnONNX

/// ScatterND / ScatterElements with compile-time indices (Scatter.swift): last-wins repeats,
/// reductions in index order, and one-line errors.
final class ScatterImportTests: XCTestCase {
    private func model(_ op: String, data: [Int], indices: [Int], values: [Int64], updates: [Int],
                       _ attrs: [Onnx_AttributeProto] = []) -> Onnx_ModelProto {
        ONNX.model(ONNX.graph([ONNX.node(op, ["x", "i", "u"], ["y"], name: "s", attrs)],
                              inputs: [ONNX.input("x", data), ONNX.input("u", updates)], outputs: ["y"],
                              initializers: [ONNX.int64s("i", indices, values)]))
    }

    /// Rows 2, -4 (= 0) and 2 again of a [4, 2] input: row 2 takes the last update.
    func testScatterNDLastWriteWins() throws {
        let graph = try ONNX.load(model("ScatterND", data: [4, 2], indices: [3, 1], values: [2, -4, 2], updates: [3, 2]))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [4, 2]))
        let x = Tensor([4, 2], floats: [0, 1, 2, 3, 4, 5, 6, 7]), u = Tensor([3, 2], floats: [10, 11, 12, 13, 14, 15])
        XCTAssertEqual(try Evaluator.run(graph, inputs: [x, u])[0].floats, [12, 13, 2, 3, 14, 15, 6, 7])
    }

    func testReductionsCombineRepeatedWritesInOrder() throws {
        let x = Tensor([3], floats: [1, 2, 3]), u = Tensor([3], floats: [10, 20, 30])
        let add = try ONNX.load(model("ScatterElements", data: [3], indices: [3], values: [2, 0, 2], updates: [3],
                                      [ONNX.attr("reduction", string: "add")]))
        XCTAssertEqual(try Evaluator.run(add, inputs: [x, u])[0].floats, [21, 2, 43])
        let max = try ONNX.load(model("ScatterND", data: [3], indices: [3, 1], values: [2, 0, -1], updates: [3],
                                      [ONNX.attr("reduction", string: "max")]))
        XCTAssertEqual(try Evaluator.run(max, inputs: [x, u])[0].floats, [20, 2, 30])
    }

    func testErrorsAreOneLine() {
        XCTAssertEqual(errorMessage { try ONNX.load(self.model("ScatterND", data: [4, 2], indices: [1, 1], values: [0], updates: [2, 2])) },
                       "model.onnx: node 's' (ScatterND): updates must have shape [1,2] (indices.shape[:-1] + data.shape[1:]), got [2,2]")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model("ScatterElements", data: [2, 2], indices: [1, 1], values: [5], updates: [1, 1])) },
                       "model.onnx: node 's' (ScatterElements): indices hold 5 (element 0), out of range for axis 0 of size 2")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model("ScatterND", data: [2], indices: [1, 1], values: [0], updates: [1],
                                                               [ONNX.attr("reduction", string: "avg")])) },
                       "model.onnx: node 's' (ScatterND): attribute 'reduction' = 'avg' is not supported (expected none, add, mul, max or min)")
    }
}
