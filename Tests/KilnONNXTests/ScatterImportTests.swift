import KilnIR
import XCTest
@testable import KilnONNX

/// ScatterND / ScatterElements with compile-time indices imported as Gathers from the data
/// and the updates side by side: the source map, last-wins repeats, reductions in index
/// order, and one-line errors.
final class ScatterImportTests: XCTestCase {
    private func model(_ op: String, data: [Int], indices: [Int], values: [Int64], updates: [Int],
                       _ attrs: [Onnx_AttributeProto] = []) -> Onnx_ModelProto {
        ONNX.model(ONNX.graph([ONNX.node(op, ["x", "i", "u"], ["y"], name: "s", attrs)],
                              inputs: [ONNX.input("x", data), ONNX.input("u", updates)], outputs: ["y"],
                              initializers: [ONNX.int64s("i", indices, values)]))
    }

    /// Rows 2, -4 (= 0) and 2 again of a [4, 2] input: row 2 takes the last update.
    func testScatterNDIsOneGatherWithTheLastWriteWinning() throws {
        let graph = try ONNX.load(model("ScatterND", data: [4, 2], indices: [3, 1], values: [2, -4, 2], updates: [3, 2]))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [4, 2]))
        let gathers = graph.nodes.filter { if case .gather = $0.op { return true } else { return false } }
        XCTAssertEqual(gathers.count, 1)
        guard case .constant(let source) = graph.nodes.first(where: { $0.results == [gathers[0].operands[1]] })?.op else {
            return XCTFail("the source map is not a constant")
        }
        // data elements 0..7, updates 8..13: row 0 <- update row 1, row 2 <- update row 2.
        XCTAssertEqual(source.int64s, [10, 11, 2, 3, 12, 13, 6, 7])
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
                       "model.onnx: node 's' (ScatterND): updates shape [2,2] must be [1,2] (indices dims but the last, then data dims after the first 1)")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model("ScatterElements", data: [2, 2], indices: [1, 1], values: [5], updates: [1, 1])) },
                       "model.onnx: node 's' (ScatterElements): index 5 is out of range for axis 0 of size 2")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model("ScatterND", data: [2], indices: [1, 1], values: [0], updates: [1],
                                                               [ONNX.attr("reduction", string: "avg")])) },
                       "model.onnx: node 's' (ScatterND): reduction 'avg' is not one of none, add, mul, max, min")
    }
}
