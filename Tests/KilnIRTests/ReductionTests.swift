import XCTest
@testable import KilnIR

/// Expected values come from onnx.reference (opset 18) on the same inputs.
final class ReductionTests: XCTestCase {
    let x = f32([2, 2, 3], [1.5, -2, 3, 0.25, 4, -1, 2, 2, -3, 5, -0.5, 1])

    func reduce(_ kind: ReduceKind, _ t: Tensor? = nil, axes: [Int] = [0, 2], keep: Bool = true) throws -> Tensor {
        try evaluateOp1(.reduce(Reduce(kind: kind, axes: axes, keepDims: keep)), [t ?? x])
    }

    func testReduceKinds() throws {
        let sum = try reduce(.sum)
        XCTAssertEqual(sum.shape, [1, 2, 1])
        assertClose(sum.doubles, [3.5, 8.75])
        assertClose(try reduce(.mean).doubles, [0.5833333134651184, 1.4583333730697632])
        assertClose(try reduce(.max).doubles, [3, 5])
        assertClose(try reduce(.min).doubles, [-3, -1])
        assertClose(try reduce(.prod).doubles, [108, 2.5])
        assertClose(try reduce(.l1).doubles, [13.5, 11.75])
        assertClose(try reduce(.l2).doubles, [5.678908348083496, 6.581223487854004])
        assertClose(try reduce(.sumSquare).doubles, [32.25, 43.3125])
        assertClose(try reduce(.logSumExp).doubles, [3.6770715713500977, 5.337480545043945])
        let absX = f32([2, 2, 3], x.doubles.map { abs($0) })
        let logSum = try reduce(.logSum, absX, axes: [1], keep: false)
        XCTAssertEqual(logSum.shape, [2, 3])
        assertClose(logSum.doubles, [0.5596157908439636, 1.7917594909667969, 1.3862943649291992, 1.9459102153778076, 0.9162907600402832, 1.3862943649291992])
    }

    func testIntegerAndEmptyReductions() throws {
        let xi = i32([2, 3], [7, -3, 2, 4, 4, -9])
        XCTAssertEqual(try reduce(.mean, xi, axes: [1], keep: false).int64s, [2, 0])
        XCTAssertEqual(try reduce(.sum, xi, axes: [0], keep: false).int64s, [11, 1, -7])
        XCTAssertEqual(try reduce(.max, xi, axes: [0, 1], keep: false).int64s, [7])
        let empty = Tensor(zeros: TensorType(.f32, [2, 0, 3]))
        XCTAssertEqual(try reduce(.sum, empty, axes: [1]).doubles, [0, 0, 0, 0, 0, 0])
        XCTAssertEqual(try reduce(.prod, empty, axes: [1]).doubles, [1, 1, 1, 1, 1, 1])
        XCTAssertEqual(try reduce(.max, empty, axes: [1]).doubles, [Double](repeating: -.infinity, count: 6))
        XCTAssertEqual(try reduce(.min, empty, axes: [1]).doubles, [Double](repeating: .infinity, count: 6))
        XCTAssertEqual(try reduce(.logSumExp, empty, axes: [1]).doubles, [Double](repeating: -.infinity, count: 6))
    }

    /// ReduceMax/ReduceMin on bool (opset 20) are "any" and "all"; an empty max is false,
    /// an empty min true.
    func testBoolMaxAndMin() throws {
        let b = Tensor(.bool, [2, 3], int64s: [1, 0, 1, 0, 0, 0])
        let any = try reduce(.max, b, axes: [1], keep: false)
        XCTAssertEqual(any.type, TensorType(.bool, [2]))
        XCTAssertEqual(any.int64s, [1, 0])
        XCTAssertEqual(try reduce(.min, b, axes: [0], keep: false).int64s, [0, 0, 0])
        let empty = Tensor(zeros: TensorType(.bool, [2, 0]))
        XCTAssertEqual(try reduce(.max, empty, axes: [1], keep: false).int64s, [0, 0])
        XCTAssertEqual(try reduce(.min, empty, axes: [1], keep: false).int64s, [1, 1])
    }

    func testReduceTypeErrors() {
        assertKilnError("reduce_sum: axis 3 is out of range for rank 3") {
            try inferTypes(.reduce(Reduce(kind: .sum, axes: [3], keepDims: true)), [x.type])
        }
        assertKilnError("reduce_log_sum_exp: axes [2, 0] must be sorted and distinct") {
            try inferTypes(.reduce(Reduce(kind: .logSumExp, axes: [2, 0], keepDims: true)), [x.type])
        }
        assertKilnError("reduce_mean expects a numeric operand, got bool") {
            try inferTypes(.reduce(Reduce(kind: .mean, axes: [0], keepDims: true)), [TensorType(.bool, [2])])
        }
    }

    func testSoftmax() throws {
        let s = try evaluateOp1(.softmax(Softmax(axis: 1, log: false)), [x])
        assertClose(s.doubles, [0.7772998809814453, 0.0024726230185478926, 0.9820137619972229, 0.22270013391971588, 0.9975274205207825, 0.01798621006309986, 0.04742587357759476, 0.9241418242454529, 0.01798621006309986, 0.9525741338729858, 0.07585818320512772, 0.9820137619972229])
        let l = try evaluateOp1(.softmax(Softmax(axis: -1, log: true)), [x])
        assertClose(l.doubles, [-1.7069069147109985, -5.206906795501709, -0.20690691471099854, -3.7798070907592773, -0.029806997627019882, -5.029807090759277, -0.6965104937553406, -0.6965104937553406, -5.696510314941406, -0.022155186161398888, -5.522155284881592, -4.022155284881592])
        // large logits do not overflow
        let big = try evaluateOp1(.softmax(Softmax(axis: 0, log: false)), [f32([3], [1000, 1001, 1002])])
        assertClose(big.doubles, [0.09003057330846786, 0.2447284609079361, 0.6652409434318542])
        assertKilnError("softmax expects a float operand, got i64") {
            try inferTypes(.softmax(Softmax(axis: 0, log: false)), [TensorType(.i64, [3])])
        }
        assertKilnError("log_softmax: axis 3 is out of range for rank 3") {
            try inferTypes(.softmax(Softmax(axis: 3, log: true)), [x.type])
        }
    }

    func testArgReduce() throws {
        let a = f32([2, 4], [3, 1, 3, 2, 0, 5, 5, -1])
        let first = try evaluateOp1(.argReduce(ArgReduce(isMax: true, axis: 1, keepDims: true, selectLastIndex: false)), [a])
        XCTAssertEqual(first.type, TensorType(.i64, [2, 1]))
        XCTAssertEqual(first.int64s, [0, 1])
        let last = try evaluateOp1(.argReduce(ArgReduce(isMax: true, axis: 1, keepDims: false, selectLastIndex: true)), [a])
        XCTAssertEqual(last.int64s, [2, 2])
        let argmin = try evaluateOp1(.argReduce(ArgReduce(isMax: false, axis: 0, keepDims: false, selectLastIndex: false)), [a])
        XCTAssertEqual(argmin.int64s, [1, 0, 0, 1])
        assertKilnError("arg_max: axis 0 of [0,2] is empty") {
            try inferTypes(.argReduce(ArgReduce(isMax: true, axis: 0, keepDims: true, selectLastIndex: false)), [TensorType(.f32, [0, 2])])
        }
    }

    func testCumSum() throws {
        let c = f32([2, 3], [1, 2, 3, 4, 5, 6])
        XCTAssertEqual(try evaluateOp1(.cumSum(CumSum(axis: 1, exclusive: false, reverse: false)), [c]).doubles, [1, 3, 6, 4, 9, 15])
        XCTAssertEqual(try evaluateOp1(.cumSum(CumSum(axis: 1, exclusive: true, reverse: true)), [c]).doubles, [5, 3, 0, 11, 6, 0])
        XCTAssertEqual(try evaluateOp1(.cumSum(CumSum(axis: 0, exclusive: false, reverse: true)), [c]).doubles, [5, 7, 9, 4, 5, 6])
        XCTAssertEqual(try evaluateOp1(.cumSum(CumSum(axis: 0, exclusive: true, reverse: false)), [i64([3], [5, -2, 4])]).int64s, [0, 5, 3])
    }

    func testTopK() throws {
        let t = f32([2, 5], [3, 1, 3, 2, 7, 0, 5, 5, -1, 5])
        let largest = try evaluateOp(.topK(TopK(axis: 1, k: 3, largest: true, sorted: true)), [t])
        XCTAssertEqual(largest[0].shape, [2, 3])
        XCTAssertEqual(largest[0].doubles, [7, 3, 3, 5, 5, 5])
        XCTAssertEqual(largest[1].dtype, .i64)
        XCTAssertEqual(largest[1].int64s, [4, 0, 2, 1, 2, 4])
        let smallest = try evaluateOp(.topK(TopK(axis: 0, k: 2, largest: false, sorted: true)), [t])
        XCTAssertEqual(smallest[0].doubles, [0, 1, 3, -1, 5, 3, 5, 5, 2, 7])
        XCTAssertEqual(smallest[1].int64s, [1, 0, 0, 1, 1, 0, 1, 1, 0, 0])
        assertKilnError("top_k: k = 6 is out of range for axis 1 of size 5") {
            try inferTypes(.topK(TopK(axis: 1, k: 6, largest: true, sorted: true)), [t.type])
        }
    }
}
