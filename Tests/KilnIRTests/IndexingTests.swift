import XCTest
@testable import KilnIR

/// Expected values come from onnx.reference (opset 22) unless marked as hand-computed.
final class IndexingTests: XCTestCase {
    let x = Tensor(.f32, [3, 4], doubles: (0..<12).map { Double($0) })

    func testGatherNegativeIndicesAndRank2Indices() throws {
        let g = try evaluateOp1(.gather(Gather(axis: 1)), [x, i64([2, 2], [-1, 0, 1, -3])])
        XCTAssertEqual(g.shape, [3, 2, 2])
        XCTAssertEqual(g.doubles, [3, 0, 1, 1, 7, 4, 5, 5, 11, 8, 9, 9])
        // embedding lookup: rows of a [3,4] table by an i32 scalar index
        let row = try evaluateOp1(.gather(Gather(axis: 0)), [x, i32([], [2])])
        XCTAssertEqual(row.shape, [4])
        XCTAssertEqual(row.doubles, [8, 9, 10, 11])
    }

    func testGatherOutOfRangeIsAnEvaluationError() throws {
        assertKilnError("evaluating gather: gather: index 3 is out of range for axis 0 of size 3") {
            try evaluateOp(.gather(Gather(axis: 0)), [x, i64([2], [0, 3])])
        }
        assertKilnError("gather: indices must be i32 or i64, got f32") {
            try inferTypes(.gather(Gather(axis: 0)), [x.type, TensorType(.f32, [1])])
        }
        assertKilnError("gather: axis 2 is out of range for rank 2") {
            try inferTypes(.gather(Gather(axis: 2)), [x.type, TensorType(.i64, [1])])
        }
    }

    func testGatherElements() throws {
        let g = try evaluateOp1(.gatherElements(GatherElements(axis: 0)), [x, i32([2, 4], [2, 0, -1, 1, 0, 2, 1, 0])])
        XCTAssertEqual(g.shape, [2, 4])
        XCTAssertEqual(g.doubles, [8, 1, 10, 7, 0, 9, 6, 3])
        // along the last axis with a narrower index tensor (hand-computed)
        let h = try evaluateOp1(.gatherElements(GatherElements(axis: 1)), [x, i64([2, 1], [3, -4])])
        XCTAssertEqual(h.doubles, [3, 4])
        assertKilnError("gather_elements: indices rank 1 differs from data rank 2") {
            try inferTypes(.gatherElements(GatherElements(axis: 0)), [x.type, TensorType(.i64, [2])])
        }
    }

    func testShapeAndSize() throws {
        let data = Tensor(zeros: TensorType(.u8, [2, 5, 7]))
        let s = try evaluateOp1(.shapeOf(ShapeOf(start: 1, end: 3)), [data])
        XCTAssertEqual(s.type, TensorType(.i64, [2]))
        XCTAssertEqual(s.int64s, [5, 7])
        XCTAssertEqual(try evaluateOp1(.shapeOf(ShapeOf(start: 0, end: 3)), [data]).int64s, [2, 5, 7])
        let n = try evaluateOp1(.sizeOf(SizeOf()), [data])
        XCTAssertEqual(n.type, TensorType(.i64, []))
        XCTAssertEqual(n.int64s, [70])
        assertKilnError("shape: range 0..<4 is out of range for rank 3") {
            try inferTypes(.shapeOf(ShapeOf(start: 0, end: 4)), [data.type])
        }
    }

    func testRange() throws {
        let f = try evaluateOp1(.range(Range(count: 4)), [f32([], [1]), f32([], [2]), f32([], [0.3])])
        assertClose(f.doubles, [1, 1.2999999523162842, 1.600000023841858, 1.9000000953674316])
        let i = try evaluateOp1(.range(Range(count: 4)), [i64([], [10]), i64([], [-3]), i64([], [-4])])
        XCTAssertEqual(i.int64s, [10, 6, 2, -2])
        XCTAssertEqual(try evaluateOp1(.range(Range(count: 0)), [i64([], [5]), i64([], [1]), i64([], [1])]).shape, [0])
        assertKilnError("evaluating range: range: the operands give 4 elements, but the static count is 3") {
            try evaluateOp(.range(Range(count: 3)), [i64([], [10]), i64([], [-3]), i64([], [-4])])
        }
        assertKilnError("range: operand dtypes differ (i64 and i32)") {
            try inferTypes(.range(Range(count: 1)), [TensorType(.i64, []), TensorType(.i32, []), TensorType(.i64, [])])
        }
        assertKilnError("range: operand #2 must be a scalar, got shape [1]") {
            try inferTypes(.range(Range(count: 1)), [TensorType(.i64, []), TensorType(.i64, []), TensorType(.i64, [1])])
        }
    }

    func testOneHot() throws {
        let h = try evaluateOp1(.oneHot(OneHot(axis: 1, depth: 3)), [i64([2, 2], [1, -1, 5, 0]), f32([2], [0, 7])])
        XCTAssertEqual(h.shape, [2, 3, 2])
        XCTAssertEqual(h.doubles, [0, 0, 7, 0, 0, 7, 0, 7, 0, 0, 0, 0])
        // Float indices cast to int64 (truncate) per the spec; hand-computed (onnx.reference
        // compares floats exactly and would give all-off for 1.7).
        let last = try evaluateOp1(.oneHot(OneHot(axis: -1, depth: 3)), [f32([2], [1.7, -2]), i32([2], [-1, 1])])
        XCTAssertEqual(last.type, TensorType(.i32, [2, 3]))
        XCTAssertEqual(last.int64s, [-1, 1, -1, -1, 1, -1])
        assertKilnError("one_hot: axis 3 is out of range for rank 2") {
            try inferTypes(.oneHot(OneHot(axis: 3, depth: 2)), [TensorType(.i64, [4]), TensorType(.f32, [2])])
        }
        assertKilnError("one_hot: values must have shape [2] (off, on), got [3]") {
            try inferTypes(.oneHot(OneHot(axis: 0, depth: 2)), [TensorType(.i64, [4]), TensorType(.f32, [3])])
        }
    }

    func testTrilu() throws {
        let t = i64([2, 3, 4], (1...24).map { Int64($0) })
        let upper = try evaluateOp1(.trilu(Trilu(upper: true, k: 1)), [t])
        XCTAssertEqual(upper.int64s, [0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12, 0, 14, 15, 16, 0, 0, 19, 20, 0, 0, 0, 24])
        let lower = try evaluateOp1(.trilu(Trilu(upper: false, k: -1)), [t])
        XCTAssertEqual(lower.int64s, [0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0, 0, 0, 0, 0, 17, 0, 0, 0, 21, 22, 0, 0])
        assertKilnError("trilu expects an operand of rank >= 2, got [3]") {
            try inferTypes(.trilu(Trilu(upper: true, k: 0)), [TensorType(.f32, [3])])
        }
    }
}
