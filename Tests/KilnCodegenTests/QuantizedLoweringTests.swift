import KilnIR
import XCTest
@testable import KilnCodegen

/// Fixed-point requantization multipliers, and qlinear ops lowering to QCONV2D / QGEMM.
final class QuantizedLoweringTests: XCTestCase {
    func testFixedPointMultipliers() throws {
        // 0.75 = 0.75 · 2^0 → mult = 0.75 · 2^31, shift 31.
        XCTAssertEqual(try Requantization.fixedPoint(0.75).mult, 1_610_612_736)
        XCTAssertEqual(try Requantization.fixedPoint(0.75).shift, 31)
        // 2^-10 = 0.5 · 2^-9 → mult 2^30, shift 40.
        XCTAssertEqual(try Requantization.fixedPoint(1.0 / 1024).mult, 1 << 30)
        XCTAssertEqual(try Requantization.fixedPoint(1.0 / 1024).shift, 40)
        // Too small for shift ≤ 62: the output is the zero point.
        XCTAssertEqual(try Requantization.fixedPoint(1e-25).mult, 0)
        XCTAssertThrowsError(try Requantization.fixedPoint(2e9))
    }

    func testQLinearOpsLowerToIntegerKernels() throws {
        let text = """
        graph @q(%x: u8[1,2,4,4]) -> (u8[1,3]) {
          %w = constant i8[3,2,3,3] splat<1>
          %b = constant i32[3] dense<[1, 2, 3]>
          %c = qlinear_conv(%x, %w, %b) {strides = [1, 1], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1, x_scale = 0.1, x_zero_point = 128, w_scales = [0.5, 0.25, 0.125], y_scale = 0.2, y_zero_point = 10, y_min = 10, y_max = 255} : u8[1,3,4,4]
          %f = reshape(%c) {shape = [1, 48]} : u8[1,48]
          %fw = constant i8[48,3] splat<-2>
          %y = qlinear_mat_mul(%f, %fw) {x_scale = 0.2, x_zero_point = 10, w_scales = [1.0, 1.0, 1.0], y_scale = 4.0, y_zero_point = 128, y_min = 0, y_max = 255} : u8[1,3]
          return %y
        }
        """
        let program = try Lowering.lower(try Parser.parse(text))
        XCTAssertEqual(program.instructions.map(\.opcode), [.qconv2d, .copy, .qgemm])
        XCTAssertEqual(Opcode.qconv2d.attributeSize, 72)
        XCTAssertEqual(Opcode.qgemm.attributeSize, 16)
    }
}
