import XCTest
@testable import KilnIR

/// The fused attention op against numpy (float64): softmax(scale·q·kᵀ + mask)·v on `ramp`
/// inputs.
final class AttentionTests: XCTestCase {
    func testAttentionWithMask() throws {
        let q = NumericOpTest.ramp([1,2,3,4], 7, 11, 4, 1)
        let k = NumericOpTest.ramp([1,2,5,4], 5, 13, 8, 0.5)
        let v = NumericOpTest.ramp([1,2,5,3], 3, 7, 4, 0.25)
        let mask = NumericOpTest.ramp([1,1,1,5], 1, 5, 1, 2)
        let y = try NumericOpTest.runGraph(.attention(Attention(scale: 0.5, kTransposed: false)), [q, k, v, mask])
        NumericOpTest.assertClose(y[0], shape: [1,2,3,3],
                                  [0.352351709, 0.567707312, 0.120217701, 0.352125736, 0.555478713, 0.119627625, 0.200233367,
                                   0.600043976, -0.0231896762, 0.566549738, 0.00954908021, 0.539771176, 0.563837121, 0.178518123,
                                   0.390990535, 0.489819855, 0.216917497, 0.468394703])
    }

    func testAttentionTransposedKeysRank3() throws {
        let q = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let kt = NumericOpTest.ramp([2,4,2], 5, 13, 8, 0.5)
        let v = NumericOpTest.ramp([2,2,3], 3, 7, 4, 0.25)
        let mask = NumericOpTest.ramp([3,2], 1, 3, 1, 1)
        let y = try NumericOpTest.run(.attention(Attention(scale: 1.5, kTransposed: true)), [q, kt, v, mask])
        NumericOpTest.assertClose(y[0], shape: [2,3,3],
                                  [0.0136582617, 0.763658262, 0.590854346, 0.0756774323, 0.825677432, 0.435806419, -0.197394732,
                                   0.552605268, 1.11848683, 1.0368392, 0.0368392037, 0.786839204, 0.752199707, -0.247800293,
                                   0.502199707, 1.24216818, 0.242168176, 0.992168176])
    }

    func testAttentionTypeErrors() {
        let a = Op.attention(Attention(scale: 1, kTransposed: false))
        NumericOpTest.assertRejects(a, [TensorType(.f32, [2,3,4]), TensorType(.f32, [2,5,3]), TensorType(.f32, [2,5,4])],
                                    "attention: k's head size 3 differs from q's 4")
        NumericOpTest.assertRejects(a, [TensorType(.f32, [2,3,4]), TensorType(.f32, [1,5,4]), TensorType(.f32, [2,5,4])],
                                    "attention: q, k and v must have the same leading dims, got [2,3,4], [1,5,4] and [2,5,4]")
        NumericOpTest.assertRejects(a, [TensorType(.f32, [2,3,4]), TensorType(.f32, [2,5,4]), TensorType(.f32, [2,6,4])],
                                    "attention: v has 6 rows, k has 5 keys")
        NumericOpTest.assertRejects(a, [TensorType(.f32, [2,3,4]), TensorType(.f32, [2,5,4]), TensorType(.f32, [2,5,4]),
                                        TensorType(.f32, [2,3,3])],
                                    "attention: mask [2,3,3] does not broadcast to the scores [2,3,5]")
        NumericOpTest.assertRejects(a, [TensorType(.i32, [2,3,4]), TensorType(.i32, [2,5,4]), TensorType(.i32, [2,5,4])],
                                    "attention: q must be a float tensor, got i32")
    }
}
