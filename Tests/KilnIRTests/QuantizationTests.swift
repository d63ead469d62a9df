import XCTest
@testable import KilnIR

/// Expected values come from onnx.reference (opset 21) on the same inputs.
final class QuantizationTests: XCTestCase {
    func quantize(_ x: Tensor, _ scale: Tensor, _ zp: Tensor, axis: Int? = nil, block: Int = 0) throws -> Tensor {
        try evaluateOp1(.quantizeLinear(QuantizeLinear(axis: axis, blockSize: block, outputType: zp.dtype)), [x, scale, zp])
    }

    func dequantize(_ x: Tensor, _ scale: Tensor, _ zp: Tensor, axis: Int? = nil, block: Int = 0) throws -> Tensor {
        try evaluateOp1(.dequantizeLinear(DequantizeLinear(axis: axis, blockSize: block)), [x, scale, zp])
    }

    func testPerTensorRoundsHalfToEvenAndSaturates() throws {
        let x = f32([8], [0, 0.5, 1.25, -1.25, 0.75, 300, -300, 1.75])
        let u8 = try quantize(x, f32([], [0.5]), Tensor(.u8, [], int64s: [128]))
        XCTAssertEqual(u8.type, TensorType(.u8, [8]))
        XCTAssertEqual(u8.int64s, [128, 129, 130, 126, 130, 255, 0, 132])
        let i8 = try quantize(x, f32([], [0.5]), Tensor(.i8, [], int64s: [-1]))
        XCTAssertEqual(i8.int64s, [-1, 0, 1, -3, 1, 127, -128, 3])
    }

    func testPerAxisAndBlocked() throws {
        let xa = f32([2, 3], [0.1, -0.2, 0.35, 1.0, 2.0, -3.0])
        let qa = try quantize(xa, f32([2], [0.1, 0.02]), Tensor(.i8, [2], int64s: [0, 10]), axis: 0)
        XCTAssertEqual(qa.int64s, [1, -2, 4, 60, 110, -128])
        let xb = f32([2, 5], [0.1, -0.2, 0.35, 0.9, 1.3, 1.0, 2.0, -3.0, 0.07, -0.4])
        let sb = f32([2, 2], [0.1, 0.05, 0.02, 0.2])
        let zb = Tensor(.i16, [2, 2], int64s: [1, 2, -3, 4])
        let qb = try quantize(xb, sb, zb, axis: 1, block: 3)
        XCTAssertEqual(qb.type, TensorType(.i16, [2, 5]))
        XCTAssertEqual(qb.int64s, [2, -1, 5, 20, 28, 47, 97, -153, 4, 2])
        let db = try dequantize(Tensor(.i16, [2, 5], int64s: [1, 2, 3, 4, 5, -1, -2, -3, -4, -5]), sb, zb, axis: 1, block: 3)
        assertClose(db.doubles, [0, 0.10000000149011612, 0.20000000298023224, 0.10000000149011612, 0.15000000596046448, 0.03999999910593033, 0.019999999552965164, 0, -1.600000023841858, -1.8000000715255737])
    }

    func testDequantize() throws {
        let qi = Tensor(.i8, [2, 3], int64s: [0, -128, 127, 5, -6, 100])
        let d = try dequantize(qi, f32([2], [0.5, 0.125]), Tensor(.i8, [2], int64s: [1, -2]), axis: 0)
        XCTAssertEqual(d.type, TensorType(.f32, [2, 3]))
        XCTAssertEqual(d.doubles, [-0.5, -64.5, 63, 0.875, -0.5, 12.75])
        let du = try dequantize(Tensor(.u8, [4], int64s: [0, 128, 255, 7]), f32([], [0.1]), Tensor(.u8, [], int64s: [128]))
        assertClose(du.doubles, [-12.800000190734863, 0, 12.699999809265137, -12.100000381469727])
        // f16 scale gives an f16 result
        let dh = try dequantize(Tensor(.i8, [2], int64s: [3, -3]), Tensor(.f16, [], doubles: [0.5]), Tensor(.i8, [], int64s: [1]))
        XCTAssertEqual(dh.type, TensorType(.f16, [2]))
        XCTAssertEqual(dh.doubles, [1, -2])
    }

    func testTypeErrors() {
        let x = TensorType(.f32, [2, 3])
        assertKilnError("quantize_linear: zero point has dtype u8, expected i8") {
            try inferTypes(.quantizeLinear(QuantizeLinear(axis: nil, blockSize: 0, outputType: .i8)), [x, TensorType(.f32, []), TensorType(.u8, [])])
        }
        assertKilnError("quantize_linear: per-axis scale must have shape [3], got [2]") {
            try inferTypes(.quantizeLinear(QuantizeLinear(axis: 1, blockSize: 0, outputType: .i8)), [x, TensorType(.f32, [2]), TensorType(.i8, [2])])
        }
        assertKilnError("dequantize_linear: blocked scale must have shape [2,2] for block size 2, got [2,3]") {
            try inferTypes(.dequantizeLinear(DequantizeLinear(axis: 1, blockSize: 2)), [TensorType(.i8, [2, 3]), TensorType(.f32, [2, 3]), TensorType(.i8, [2, 3])])
        }
        assertKilnError("dequantize_linear: input type f32 is not one of i8, u8, i16, u16, i32") {
            try inferTypes(.dequantizeLinear(DequantizeLinear(axis: nil, blockSize: 0)), [x, TensorType(.f32, [])])
        }
        assertKilnError("quantize_linear takes 2 to 3 operands, got 1") {
            try inferTypes(.quantizeLinear(QuantizeLinear(axis: nil, blockSize: 0, outputType: .u8)), [x])
        }
    }
}
