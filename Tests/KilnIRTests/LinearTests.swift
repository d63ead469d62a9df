import XCTest
@testable import KilnIR

/// Gemm, MatMul and Einsum against onnxruntime 1.32 (inputs: `NumericOpTest.ramp`;
/// the einsum results also agree with numpy.einsum).
final class LinearTests: XCTestCase {
    func testGemmTransposedWithRowBroadcastC() throws {
        let a = NumericOpTest.ramp([4,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([5,4], 5, 13, 8, 0.75)
        let c = NumericOpTest.ramp([5], 3, 7, 4, 0.5)
        let inputs = [a, b, c]
        let y = try NumericOpTest.runGraph(.gemm(Gemm(alpha: 0.5, beta: 2, transA: true, transB: true)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,5],
                                  [-0.65625, 1.03125, 2.515625, -0.515625, 2.1875, -1.25, 0.703125, 1.84375, -0.109375, 1.4375,
                                   -0.8125, 0.203125, 2.03125, -0.046875, 1.375])
    }

    func testGemmColumnBroadcastC() throws {
        let a = NumericOpTest.ramp([3,4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([4,2], 5, 13, 8, 0.75)
        let c = NumericOpTest.ramp([3,1], 3, 7, 4, 0.5)
        let inputs = [a, b, c]
        let y = try NumericOpTest.run(.gemm(Gemm(alpha: 1.5, beta: -1, transA: false, transB: false)), inputs)
        NumericOpTest.assertClose(y[0], shape: [3,2],
                                  [1.578125, 0.6875, -1.046875, 1.578125, 0.96875, -2.171875])
    }

    func testMatMulBatchBroadcast() throws {
        let a = NumericOpTest.ramp([2,1,3,4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([3,4,2], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.runGraph(.matMul(MatMul()), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,3,2],
                                  [0.71875, 0.125, -0.53125, 1.21875, 1.3125, -0.78125, 0.84375, 0.65625, -0.34375, -0.625,
                                   1.21875, -0.875, 0.96875, 0.78125, -0.15625, -0.4375, 1.125, -0.96875, -0.625, 1.34375,
                                   1.21875, -0.65625, -1.0625, -0.59375, -0.3125, -0.78125, 1.25, -1.03125, -0.96875, 1.125,
                                   0, -0.46875, 1.28125, -1, -0.875, 1.21875])
    }

    func testMatMulVectorTimesBatch() throws {
        let a = NumericOpTest.ramp([4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([2,4,3], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.matMul(MatMul()), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3],
                                  [0.4375, 1.0625, -0.34375, -1, 0.4375, 1.0625])
    }

    func testMatMulBatchTimesVector() throws {
        let a = NumericOpTest.ramp([2,3,4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([4], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.matMul(MatMul()), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3],
                                  [-0.21875, 0.1875, 0.9375, -0.03125, 0.71875, -1.625])
    }

    func testMatMulVectorDot() throws {
        let a = NumericOpTest.ramp([4], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([4], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.matMul(MatMul()), inputs)
        NumericOpTest.assertClose(y[0], shape: [],
                                  [-0.21875])
    }

    func testMatMulInt32() throws {
        let a = NumericOpTest.ramp([2,3], 7, 11, 1, 5, .i32)
        let b = NumericOpTest.ramp([3,2], 5, 13, 1, 6, .i32)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.matMul(MatMul()), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,2],
                                  [36, -15, -29, -27])
    }

    func testEinsumMatrixProduct() throws {
        let a = NumericOpTest.ramp([2,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([3,4], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.runGraph(.einsum(Einsum(equation: "ij,jk->ik")), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,4],
                                  [1, 0.6875, -0.84375, 0.875, -0.75, 0.1875, 0.3125, -0.375])
    }

    func testEinsumBatchedMatrixProduct() throws {
        let a = NumericOpTest.ramp([2,2,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([2,3,2], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "bij,bjk->bik")), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,2,2],
                                  [1.09375, -0.4375, -0.9375, -0.8125, -0.9375, 0.75, -0.875, 0.75])
    }

    func testEinsumAttentionScores() throws {
        let q = NumericOpTest.ramp([1,2,3,4], 7, 11, 4, 1)
        let k = NumericOpTest.ramp([1,2,2,4], 5, 13, 8, 0.75)
        let inputs = [q, k]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "bhqd,bhkd->bhqk")), inputs)
        NumericOpTest.assertClose(y[0], shape: [1,2,3,2],
                                  [-0.21875, 1.0625, 0.1875, -0.53125, 0.9375, 0.28125, 0.28125, 0.4375, 0.75, -1.46875,
                                   -1.53125, 0.75])
    }

    func testEinsumDiagonal() throws {
        let a = NumericOpTest.ramp([3,3], 7, 11, 4, 1)
        let inputs = [a]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "ii->i")), inputs)
        NumericOpTest.assertClose(y[0], shape: [3],
                                  [-1, 0.5, -0.75])
    }

    func testEinsumImplicitOutputSortsLetters() throws {
        let a = NumericOpTest.ramp([2,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([3,4], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "kj,ji")), inputs)
        NumericOpTest.assertClose(y[0], shape: [4,2],
                                  [1, -0.75, 0.6875, 0.1875, -0.84375, 0.3125, 0.875, -0.375])
    }

    func testEinsumEllipsisTranspose() throws {
        let a = NumericOpTest.ramp([2,2,3], 7, 11, 4, 1)
        let inputs = [a]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "...ij->...ji")), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,2],
                                  [-1, 1.5, 0.75, 0.5, -0.25, -0.5, 1.25, 1, 0.25, 0,
                                   -0.75, -1])
    }

    func testEinsumEllipsisBroadcast() throws {
        let a = NumericOpTest.ramp([2,1,2,3], 7, 11, 4, 1)
        let b = NumericOpTest.ramp([1,3,3,2], 5, 13, 8, 0.75)
        let inputs = [a, b]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "...ij,...jk->...ik")), inputs)
        NumericOpTest.assertClose(y[0], shape: [2,3,2,2],
                                  [1.09375, -0.4375, -0.9375, -0.8125, -0.375, -0.28125, -1, 0.75, -0.21875, 1.09375,
                                   0.5625, -0.9375, -0.90625, -0.84375, -0.875, -0.875, -0.9375, 0.75, -0.875, 0.75,
                                   0.65625, -0.90625, 0.75, -0.875])
    }

    func testEinsumFullSum() throws {
        let a = NumericOpTest.ramp([2,3], 7, 11, 4, 1)
        let inputs = [a]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "ij->")), inputs)
        NumericOpTest.assertClose(y[0], shape: [],
                                  [1])
    }

    func testEinsumTrace() throws {
        let a = NumericOpTest.ramp([3,3], 7, 11, 4, 1)
        let inputs = [a]
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "ii")), inputs)
        NumericOpTest.assertClose(y[0], shape: [],
                                  [-1.25])
    }

    func testMatMulInt8WrapsLikeNumpy() throws {
        // 100*2 + 100*1 = 300 wraps to 44 in int8 (numpy.matmul on int8 gives the same).
        let a = Tensor(.i8, [1, 2], int64s: [100, 100])
        let b = Tensor(.i8, [2, 1], int64s: [2, 1])
        let y = try NumericOpTest.run(.matMul(MatMul()), [a, b])[0]
        XCTAssertEqual(y.type, TensorType(.i8, [1, 1]))
        XCTAssertEqual(y.int64s, [44])
    }

    func testEinsumInt64() throws {
        let a = Tensor(.i64, [2, 2], int64s: [1, 2, 3, 4])
        let b = Tensor(.i64, [2], int64s: [10, 100])
        let y = try NumericOpTest.run(.einsum(Einsum(equation: "ij,j->i")), [a, b])[0]
        XCTAssertEqual(y.type, TensorType(.i64, [2]))
        XCTAssertEqual(y.int64s, [210, 430])
    }

    func testLinearTypeRuleErrors() {
        NumericOpTest.assertRejects(.matMul(MatMul()), [TensorType(.f32, [2, 3]), TensorType(.f32, [4, 5])],
                                    "mat_mul: inner dimensions differ: [2,3] × [4,5]")
        NumericOpTest.assertRejects(.matMul(MatMul()), [TensorType(.f32, [2, 2, 3]), TensorType(.f32, [3, 3, 4])],
                                    "mat_mul: batch dimensions of [2,2,3] and [3,3,4] do not broadcast")
        NumericOpTest.assertRejects(.matMul(MatMul()), [TensorType(.f32, [2, 3]), TensorType(.f16, [3, 5])],
                                    "mat_mul: operand #1 has dtype f16, expected f32 like operand #0")
        NumericOpTest.assertRejects(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: false)),
                                    [TensorType(.f32, [2, 3]), TensorType(.f32, [3, 4]), TensorType(.f32, [3])],
                                    "gemm: C [3] does not broadcast to [2,4]")
        NumericOpTest.assertRejects(.einsum(Einsum(equation: "ij,jk->ik")), [TensorType(.f32, [2, 3]), TensorType(.f32, [4, 5])],
                                    "einsum: label 'j' has sizes 3 and 4")
        NumericOpTest.assertRejects(.einsum(Einsum(equation: "ij,jk->ik")), [TensorType(.f32, [2, 3])],
                                    "einsum: equation 'ij,jk->ik' has 2 input terms but there are 1 operands")
        NumericOpTest.assertRejects(.einsum(Einsum(equation: "ij->iz")), [TensorType(.f32, [2, 3])],
                                    "einsum: output label 'z' does not appear in the inputs")
        NumericOpTest.assertRejects(.einsum(Einsum(equation: "ijk->i")), [TensorType(.f32, [2, 3])],
                                    "einsum: a term with 3 letters does not fit operand shape [2,3]")
    }
}
