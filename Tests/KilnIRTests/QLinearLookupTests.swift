import Foundation
import XCTest
@testable import KilnIR

/// qlinear_lookup: the table's rounding and saturation, the evaluator's y = table[x], type
/// errors and the text form.
final class QLinearLookupTests: XCTestCase {
    /// leaky_relu with alpha 1 is the identity: entry i is round_half_even((i − zp_x)·s_x / s_y) + zp_y.
    let identity = FusedActivation.unary(.leakyRelu(alpha: 1))

    func testTableRoundsHalfToEvenAndSaturates() throws {
        let halves = try QLinearLookup.table(for: identity, xScale: 1, xZeroPoint: 0, yScale: 2, yZeroPoint: 0).int64s
        XCTAssertEqual(Array(halves[0..<8]), [0, 0, 1, 2, 2, 2, 3, 4])  // 0.5 → 0, 1.5 → 2, 2.5 → 2, 3.5 → 4
        XCTAssertEqual(halves[255], 128)
        let doubled = try QLinearLookup.table(for: identity, xScale: 1, xZeroPoint: 100, yScale: 0.5, yZeroPoint: 10).int64s
        XCTAssertEqual(doubled[95], 0)     // (95 − 100)·2 + 10 = 0
        XCTAssertEqual(doubled[94], 0)     // −2: saturates at 0
        XCTAssertEqual(doubled[222], 254)  // 244 + 10
        XCTAssertEqual(doubled[223], 255)  // 256: saturates at 255
        XCTAssertEqual(doubled[255], 255)
    }

    /// Each entry is the quantized value of the activation's reference evaluation.
    func testSiluTableFollowsTheFloatOp() throws {
        let (xs, xz, ys, yz) = (Float(0.05), 140, Float(0.03), 9)
        let t = try QLinearLookup.table(for: .unary(.silu), xScale: xs, xZeroPoint: xz, yScale: ys, yZeroPoint: yz).int64s
        for i in 0..<256 {
            let x = Double(Float(i - xz) * xs), y = x / (1 + Foundation.exp(-x))
            XCTAssertEqual(Double(t[i]), min(max((y / Double(ys)).rounded() + Double(yz), 0), 255), accuracy: 1, "entry \(i)")
        }
        XCTAssertEqual(t[xz], Int64(yz))  // silu(0) = 0
    }

    func testEvaluatorLooksEveryByteUp() throws {
        let table = Tensor(.u8, [256], int64s: (0..<256).map { Int64((($0 * 37) + 11) % 256) })
        var b = GraphBuilder(name: "lut")
        let x = b.input("x", TensorType(.u8, [2, 128]))
        let t = b.constant(table, name: "t")
        b.output(try b.add1(.qlinearLookup(QLinearLookup()), [x, t], name: "y"))
        let all = Tensor(.u8, [2, 128], int64s: (0..<256).map { Int64(255 - $0) })
        let y = try Evaluator.run(b.graph, inputs: [all])[0]
        XCTAssertEqual(y.type, TensorType(.u8, [2, 128]))
        XCTAssertEqual(y.int64s, (0..<256).map { table.int64s[255 - $0] })
        // Text round trip.
        let text = Printer.print(b.graph, constants: .full)
        XCTAssertTrue(text.contains("%y = qlinear_lookup(%x, %t) : u8[2,128]"), text)
        XCTAssertEqual(Printer.print(try Parser.parse(text), constants: .full), text)
    }

    func testTypeErrors() {
        let op = Op.qlinearLookup(QLinearLookup())
        XCTAssertThrowsError(try op.resultTypes([TensorType(.f32, [4]), TensorType(.u8, [256])]))
        XCTAssertThrowsError(try op.resultTypes([TensorType(.u8, [4]), TensorType(.u8, [255])]))
        XCTAssertThrowsError(try op.resultTypes([TensorType(.u8, [4]), TensorType(.i8, [256])]))
        XCTAssertThrowsError(try op.resultTypes([TensorType(.u8, [4])]))
        XCTAssertEqual(try op.resultTypes([TensorType(.u8, [3, 5]), TensorType(.u8, [256])]), [TensorType(.u8, [3, 5])])
        XCTAssertThrowsError(try QLinearLookup.table(for: .unary(.silu), xScale: 0, xZeroPoint: 0, yScale: 1, yZeroPoint: 0))
    }
}
