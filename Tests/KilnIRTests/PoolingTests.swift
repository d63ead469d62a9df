import XCTest
@testable import KilnIR

/// Max, average and Lp pooling against onnxruntime 1.32 (inputs: `NumericOpTest.ramp`).
final class PoolingTests: XCTestCase {
    func testMaxPoolCeilModeWithPads() throws {
        let x = NumericOpTest.ramp([1,2,5,5], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.runGraph(.pool(Pool(kind: .max, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], dilations: [1, 1], ceilMode: true, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,2,3,3],
                                  [1.25, 1.5, 1.5, 1.25, 1.25, 1.5, 1, 1.25, 0.75, 1.5,
                                   1.25, 1.25, 1.5, 1.5, 1.25, 0.75, 1.5, 0.5])
    }

    func testMaxPoolDilations() throws {
        let x = NumericOpTest.ramp([1,2,5,5], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .max, kernel: [2, 2], strides: [1, 1], pads: [1, 0, 1, 1], dilations: [2, 2], ceilMode: false, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,2,5,4],
                                  [0.25, 1.25, 1, -0.75, 0.75, 1.5, 1.5, 1.5, 1.25, 1.25,
                                   1.25, 0.25, 1, 0.75, 1.5, 0.75, 1.25, 0.25, 1.25, 0.25,
                                   0, 1, 0.75, -1, 1.5, 1.5, 1.25, 1.25, 1, 1,
                                   1, 0, 1.5, 1.5, 1.5, 0.5, 1, 0, 1, 0])
    }

    func testAveragePoolCeilModeCountIncludePad() throws {
        let x = NumericOpTest.ramp([1,1,5,6], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .average, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], dilations: [1, 1], ceilMode: true, countIncludePad: true)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,3],
                                  [0.138888896, 0.277777791, 0.166666672, 0.166666672, 0.277777791, 0.111111112, 0.125, 0.291666657, 0.125])
    }

    func testAveragePoolCeilModeExcludePad() throws {
        let x = NumericOpTest.ramp([1,1,5,6], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .average, kernel: [3, 3], strides: [2, 2], pads: [1, 1, 0, 0], dilations: [1, 1], ceilMode: true, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,3,3],
                                  [0.3125, 0.416666657, 0.25, 0.25, 0.277777791, 0.111111112, 0.1875, 0.291666657, 0.125])
    }

    func testAveragePool1DStrides() throws {
        let x = NumericOpTest.ramp([2,2,7], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .average, kernel: [2], strides: [3], pads: [1, 0], dilations: [1], ceilMode: false, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,2,3],
                                  [-1, 0.625, 0.375, 0.25, 0.5, 0.25, 1.5, 0.375, 0.125, 0,
                                   0.25, 0])
    }

    func testLpPoolP2WithPads() throws {
        let x = NumericOpTest.ramp([1,2,4,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .lp(p: 2), kernel: [2, 2], strides: [2, 2], pads: [0, 0, 1, 1], dilations: [1, 1], ceilMode: false, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,2,2,2],
                                  [1.43614066, 1.98431349, 1.47902, 1.87082875, 1.67705095, 1.47902, 1.98431349, 1.43614066])
    }

    func testLpPoolP3() throws {
        let x = NumericOpTest.ramp([1,1,3,4], 7, 11, 4, 1)
        let inputs = [x]
        let y = try NumericOpTest.run(.pool(Pool(kind: .lp(p: 3), kernel: [2, 3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,1,2,2],
                                  [1.53836238, 1.8076067, 1.53615844, 1.59970701])
    }

    func testAveragePoolCeilWindowPastEndPadIsNotCounted() throws {
        // x = [-1, 0.75, -0.25, 1.5, 0.5]; the last window covers cells 3, 4 and one cell
        // that only ceil mode adds: divisor 2 even with count_include_pad.
        let x = NumericOpTest.ramp([1, 1, 5], 7, 11, 4, 1)
        let op = Op.pool(Pool(kind: .average, kernel: [3], strides: [2], pads: [1, 0], dilations: [1], ceilMode: true, countIncludePad: true))
        NumericOpTest.assertClose(try NumericOpTest.run(op, [x])[0], shape: [1, 1, 3], [-0.0833333358, 0.666666687, 1])
    }

    func testCeilModeLastWindowMustStartInsideInput() throws {
        // ceil((5 + 1 - 2) / 3) + 1 = 3 windows, but the third would start at 6 (past the
        // input and its left padding), so onnxruntime gives 2.
        let op = Op.pool(Pool(kind: .max, kernel: [2], strides: [3], pads: [0, 1], dilations: [1], ceilMode: true, countIncludePad: false))
        XCTAssertEqual(try op.resultTypes([TensorType(.f32, [1, 1, 5])]), [TensorType(.f32, [1, 1, 2])])
    }

    func testMaxPoolKeepsQuantizedInt8() throws {
        let q = Quantization(scales: [0.5], zeroPoints: [0])
        let x = Tensor(type: TensorType(.i8, [1, 1, 4], quantization: q), bytes: [1, 0xFE, 5, 3])
        let op = Op.pool(Pool(kind: .max, kernel: [2], strides: [2], pads: [0, 0], dilations: [1], ceilMode: false, countIncludePad: false))
        let y = try NumericOpTest.run(op, [x])[0]
        XCTAssertEqual(y.type, TensorType(.i8, [1, 1, 2], quantization: q))
        XCTAssertEqual(y.int64s, [1, 5])
    }

    func testPoolTypeRuleErrors() {
        NumericOpTest.assertRejects(
            .pool(Pool(kind: .max, kernel: [3], strides: [1, 1], pads: [0, 0, 0, 0], dilations: [1, 1], ceilMode: false, countIncludePad: false)),
            [TensorType(.f32, [1, 1, 4, 4])], "max_pool: kernel has 1 values, expected 2 (one per spatial axis)")
        NumericOpTest.assertRejects(
            .pool(Pool(kind: .average, kernel: [5], strides: [1], pads: [0, 0], dilations: [1], ceilMode: false, countIncludePad: false)),
            [TensorType(.f32, [1, 1, 4])], "average_pool: kernel extent 5 exceeds padded input size 4 on spatial axis 0")
        NumericOpTest.assertRejects(
            .pool(Pool(kind: .average, kernel: [2], strides: [1], pads: [0, 0], dilations: [1], ceilMode: false, countIncludePad: false)),
            [TensorType(.i8, [1, 1, 4])], "average_pool: input must be a float tensor, got i8")
    }
}
