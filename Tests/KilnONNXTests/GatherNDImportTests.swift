import KilnIR
import XCTest
@testable import KilnONNX

/// GatherND's import as a Gather over flattened data: the flat indices it computes, the
/// result shapes for batch_dims, run-time indices, and its one-line errors.
final class GatherNDImportTests: XCTestCase {
    private func model(data: [Int], indices: [Int], batchDims: Int, constant: [Int64]? = nil) -> Onnx_ModelProto {
        var inputs = [ONNX.input("x", data)]
        var inits = [Onnx_TensorProto]()
        if let constant { inits.append(ONNX.int64s("i", indices, constant)) } else { inputs.append(ONNX.input("i", .int64, indices)) }
        return ONNX.model(ONNX.graph([ONNX.node("GatherND", ["x", "i"], ["y"], name: "gnd", [ONNX.attr("batch_dims", int: batchDims)])],
                                     inputs: inputs, outputs: ["y"], initializers: inits))
    }

    /// x[2,3,4] = 0..<24 with batch_dims 1 and indices [2,2,1]: batch 0 picks rows 2 and -3
    /// (= 0), batch 1 rows 1 and -1 (= 2); flat rows 0*3+2, 0, 3+1, 3+2.
    func testConstantIndicesBecomeOneFlatIndexConstant() throws {
        let graph = try ONNX.load(model(data: [2, 3, 4], indices: [2, 2, 1], batchDims: 1, constant: [2, -3, 1, -1]))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [2, 2, 4]))
        let gather = try XCTUnwrap(graph.nodes.last)
        XCTAssertEqual(gather.op, .gather(Gather(axis: 0)))
        guard case .constant(let flat) = graph.nodes.first(where: { $0.results == [gather.operands[1]] })?.op else {
            return XCTFail("the flat indices are not a constant")
        }
        XCTAssertEqual(flat.type, TensorType(.i64, [2, 2]))
        XCTAssertEqual(flat.int64s, [2, 0, 4, 5])
        XCTAssertEqual(graph.type(of: gather.operands[0]), TensorType(.f32, [6, 4]))
        let x = Tensor([2, 3, 4], floats: (0..<24).map(Float.init))
        let rows: [[Float]] = [[8, 9, 10, 11], [0, 1, 2, 3], [16, 17, 18, 19], [20, 21, 22, 23]]
        XCTAssertEqual(try Evaluator.run(graph, inputs: [x])[0].floats, rows.flatMap { $0 })
    }

    /// Run-time indices: the same picks through the elementwise flat-index chain; an index
    /// outside its own dim is an evaluation error even when its flat index would be in range.
    func testRuntimeIndicesMatchAndOutOfRangeIsAnError() throws {
        let graph = try ONNX.load(model(data: [3, 4], indices: [3, 2], batchDims: 0))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [3]))
        let x = Tensor([3, 4], floats: (0..<12).map(Float.init))
        let picks = Tensor(.i64, [3, 2], int64s: [0, 3, -1, -4, 1, 2])
        XCTAssertEqual(try Evaluator.run(graph, inputs: [x, picks])[0].floats, [3, 8, 6])
        let bad = Tensor(.i64, [3, 2], int64s: [0, 4, 0, 0, 0, 0])  // [0, 4] would be flat 4 = x[1, 0]
        XCTAssertThrowsError(try Evaluator.run(graph, inputs: [x, bad]))
    }

    func testBatchDimsTwoWithFullTuplesGivesTheBatchShape() throws {
        let graph = try ONNX.load(model(data: [2, 3, 5], indices: [2, 3, 1], batchDims: 2))
        XCTAssertEqual(graph.type(of: graph.outputs[0]), TensorType(.f32, [2, 3]))
        let x = Tensor([2, 3, 5], floats: (0..<30).map(Float.init))
        let picks = Tensor(.i64, [2, 3, 1], int64s: [0, 1, 2, 3, 4, -1])
        XCTAssertEqual(try Evaluator.run(graph, inputs: [x, picks])[0].floats, [0, 6, 12, 18, 24, 29])
    }

    func testBadShapesAreOneLine() {
        XCTAssertEqual(errorMessage { try ONNX.load(self.model(data: [2, 5], indices: [2, 3], batchDims: 0)) },
                       "model.onnx: node 'gnd' (GatherND): the last indices dim (3) must be in 1...2 (data rank 2 - batch_dims 0)")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model(data: [2, 5], indices: [3, 1], batchDims: 1)) },
                       "model.onnx: node 'gnd' (GatherND): the first 1 dims of indices [3,1] and data [2,5] must be equal")
        XCTAssertEqual(errorMessage { try ONNX.load(self.model(data: [2, 5], indices: [1, 2], batchDims: 0, constant: [1, -6])) },
                       "model.onnx: node 'gnd' (GatherND): index -6 is out of range for an indexed dim of size 5")
    }
}
