import XCTest
@testable import KilnIR

/// qlinear_add: the fixed-point multipliers, the integer reference evaluation (rounding
/// ties, saturation, the clamp), the type rules and the text form.
final class QLinearAddTests: XCTestCase {
    func add(_ op: QLinearAdd, _ a: [Int64], _ b: [Int64]) throws -> [Int64] {
        try evaluateOp1(.qlinearAdd(op), [Tensor(.u8, [a.count], int64s: a), Tensor(.u8, [b.count], int64s: b)]).int64s
    }

    func testFixedPointMultipliers() throws {
        // r = max(0.5, 0.25) = 0.5 · 2^0: shift 21, the larger multiplier 2^20.
        let fp = try QLinearAdd(aScale: 0.5, aZeroPoint: 0, bScale: 0.25, bZeroPoint: 0, yScale: 1, yZeroPoint: 0).fixedPoint()
        XCTAssertEqual(fp.aMult, 1 << 20)
        XCTAssertEqual(fp.bMult, 1 << 19)
        XCTAssertEqual(fp.shift, 21)
        // r = 3 = 0.75 · 2^2: shift 19, mult 0.75 · 2^21; b's ratio 0.1 rounds to nearest.
        let fp2 = try QLinearAdd(aScale: 0.3, aZeroPoint: 0, bScale: 0.01, bZeroPoint: 0, yScale: 0.1, yZeroPoint: 0).fixedPoint()
        XCTAssertEqual(fp2.shift, 19)
        XCTAssertEqual(fp2.aMult, ((Double(Float(0.3)) / Double(Float(0.1))) * 524288).rounded().int64)
        XCTAssertEqual(fp2.bMult, ((Double(Float(0.01)) / Double(Float(0.1))) * 524288).rounded().int64)
        XCTAssertLessThanOrEqual(fp2.aMult, QLinearAdd.maxMultiplier)
        // Tiny ratios: the shift stops at 30 (the multipliers shrink instead).
        let tiny = try QLinearAdd(aScale: 1e-6, aZeroPoint: 0, bScale: 1e-7, bZeroPoint: 0, yScale: 1, yZeroPoint: 0).fixedPoint()
        XCTAssertEqual(tiny.shift, 30)
        XCTAssertEqual(tiny.aMult, (Double(Float(1e-6)) * 1073741824).rounded().int64)
        // A ratio of 2^20 needs shift 0: refused.
        assertKilnError("qlinear_add: a_scale/y_scale or b_scale/y_scale is too large (≥ 2^20)") {
            try QLinearAdd(aScale: 1048576, aZeroPoint: 0, bScale: 1, bZeroPoint: 0, yScale: 1, yZeroPoint: 0).fixedPoint()
        }
    }

    /// (a + b) / 2 with every scale exact: halves round up (toward +∞), as the kernel's
    /// `(t + 2^(shift−1)) >> shift` does; negative halves too (−0.5 → 0, −1.5 → −1).
    func testTiesRoundUpward() throws {
        let half = QLinearAdd(aScale: 1, aZeroPoint: 10, bScale: 1, bZeroPoint: 10, yScale: 2, yZeroPoint: 100)
        // a − 10 + b − 10 = 1, 3, −1, −3, 0, 2
        XCTAssertEqual(try add(half, [11, 12, 9, 8, 10, 11], [10, 11, 10, 9, 10, 11]), [101, 102, 100, 99, 100, 101])
    }

    func testSaturationAndClamp() throws {
        let op = QLinearAdd(aScale: 0.5, aZeroPoint: 0, bScale: 0.5, bZeroPoint: 255, yScale: 0.25, yZeroPoint: 128)
        // (0.5·255 + 0.5·0) / 0.25 = 510 → 255; (0.5·0 − 0.5·255) / 0.25 = −510 → 0.
        XCTAssertEqual(try add(op, [255, 0, 1], [255, 0, 255]), [255, 0, 130])
        var relu = op
        relu.yMin = 128  // relu: y ≥ the zero point
        relu.yMax = 200
        XCTAssertEqual(try add(relu, [255, 0, 1, 30], [255, 0, 255, 255]), [200, 128, 130, 188])
    }

    func testTypeRules() {
        let ok = QLinearAdd(aScale: 0.1, aZeroPoint: 1, bScale: 0.2, bZeroPoint: 2, yScale: 0.3, yZeroPoint: 3)
        XCTAssertEqual(try inferTypes(.qlinearAdd(ok), [TensorType(.u8, [1, 4]), TensorType(.u8, [1, 4])]), [TensorType(.u8, [1, 4])])
        assertKilnError("qlinear_add: operands must have the same shape, got [1,4] and [4]") {
            try inferTypes(.qlinearAdd(ok), [TensorType(.u8, [1, 4]), TensorType(.u8, [4])])
        }
        assertKilnError("qlinear_add: operands must be u8, got i8 and u8") {
            try inferTypes(.qlinearAdd(ok), [TensorType(.i8, [4]), TensorType(.u8, [4])])
        }
        var bad = ok
        bad.yMin = 9; bad.yMax = 8
        assertKilnError("qlinear_add: y_min/y_max must satisfy 0 <= y_min <= y_max <= 255") {
            try inferTypes(.qlinearAdd(bad), [TensorType(.u8, [4]), TensorType(.u8, [4])])
        }
        bad = ok
        bad.bZeroPoint = 256
        assertKilnError("qlinear_add: zero points must lie in [0, 255]") {
            try inferTypes(.qlinearAdd(bad), [TensorType(.u8, [4]), TensorType(.u8, [4])])
        }
        bad = ok
        bad.yScale = 0
        assertKilnError("qlinear_add: scales must be positive and finite") {
            try inferTypes(.qlinearAdd(bad), [TensorType(.u8, [4]), TensorType(.u8, [4])])
        }
    }

    /// qlinear_concat: an input at the result's parameters is copied; another is requantized
    /// with its own multiplier (x_scale/y_scale = 2: shift 19, mult 2^20), saturating.
    func testConcatRequantizesEachInput() throws {
        let op = QLinearConcat(axis: 1, xScales: [0.25, 0.5], xZeroPoints: [10, 100], yScale: 0.25, yZeroPoint: 10)
        let fp = try op.fixedPoint()
        XCTAssertEqual(fp.map(\.mult), [1 << 20, 1 << 20])
        XCTAssertEqual(fp.map(\.shift), [20, 19])
        let a = Tensor(.u8, [1, 2], int64s: [0, 255]), b = Tensor(.u8, [1, 3], int64s: [100, 101, 255])
        let y = try evaluateOp1(.qlinearConcat(op), [a, b])
        XCTAssertEqual(y.type, TensorType(.u8, [1, 5]))
        XCTAssertEqual(y.int64s, [0, 255, 10, 12, 255])
        assertKilnError("qlinear_concat: 2 operands, but 1 x_scales and 1 x_zero_points") {
            try inferTypes(.qlinearConcat(QLinearConcat(axis: 1, xScales: [1], xZeroPoints: [0], yScale: 1, yZeroPoint: 0)),
                           [TensorType(.u8, [1, 2]), TensorType(.u8, [1, 2])])
        }
        assertKilnError("qlinear_concat: operands must be u8") {
            try inferTypes(.qlinearConcat(op), [TensorType(.u8, [1, 2]), TensorType(.i8, [1, 2])])
        }
    }

    /// qlinear_global_average_pool: (Σ x − H·W·x_zp)·x_scale/(y_scale·H·W), rounded up at
    /// halves, saturating; 2x2 planes with x_scale = y_scale: the mean itself.
    func testGlobalAveragePool() throws {
        let op = QLinearGlobalAveragePool(xScale: 0.5, xZeroPoint: 10, yScale: 0.5, yZeroPoint: 20)
        XCTAssertEqual(try op.fixedPoint(pixels: 4).shift, 22)  // r = 1/4 = 0.5·2^-1
        let x = Tensor(.u8, [1, 3, 2, 2], int64s: [10, 11, 12, 13, 255, 255, 255, 255, 0, 0, 0, 1])
        let y = try evaluateOp1(.qlinearGlobalAveragePool(op), [x])
        XCTAssertEqual(y.type, TensorType(.u8, [1, 3, 1, 1]))
        // means − zp: 1.5 → 2 (+20 = 22), 245 → 255 (saturated), −9.75 → −10 (+20 = 10)
        XCTAssertEqual(y.int64s, [22, 255, 10])
        assertKilnError("qlinear_global_average_pool: input must be u8 [N,C,H,W], got u8[1,3,4]") {
            try inferTypes(.qlinearGlobalAveragePool(op), [TensorType(.u8, [1, 3, 4])])
        }
    }

    /// A quantized residual block in text form parses, verifies and prints back exactly.
    func testResidualBlockTextRoundTrip() throws {
        let text = """
        graph @residual(%x: u8[1,4,6,6]) -> (u8[1,8,6,6]) {
          %w = constant i8[4,4,1,1] dense<[1, -2, 3, -4, 5, -6, 7, -8, 9, -10, 11, -12, 13, -14, 15, -127]>
          %c = qlinear_conv(%x, %w) {strides = [1, 1], pads = [0, 0, 0, 0], dilations = [1, 1], group = 1, x_scale = 0.05, x_zero_point = 128, w_scales = [0.01, 0.01, 0.01, 0.01], y_scale = 0.1, y_zero_point = 120, y_min = 120, y_max = 255} : u8[1,4,6,6]
          %y = qlinear_add(%c, %x) {a_scale = 0.1, a_zero_point = 120, b_scale = 0.05, b_zero_point = 128, y_scale = 0.125, y_zero_point = 0, y_min = 0, y_max = 255} : u8[1,4,6,6]
          %z = qlinear_concat(%y, %c) {axis = 1, x_scales = [0.125, 0.1], x_zero_points = [0, 120], y_scale = 0.125, y_zero_point = 0} : u8[1,8,6,6]
          return %z
        }

        """
        let g = try Parser.parse(text)
        try Verifier.verify(g)
        XCTAssertEqual(Printer.print(g), text)
    }
}

private extension Double {
    var int64: Int64 { Int64(self) }
}
