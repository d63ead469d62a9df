import KilnIR
import XCTest
@testable import KilnCodegen

/// Gemm / MatMul with a mostly-zero constant weight lower to SPARSE_GEMM (`SparseChoice`: for
/// these small weights ≥ 80 % zeros at ≥ 5 rows, ≥ 95 % at ≤ 4 rows), run on the C runtime
/// and match the reference evaluator.
final class SparseLoweringTests: XCTestCase {
    typealias R = RunSupport

    /// R.random with every element whose index i has i % 10 < tenths set to zero.
    func sparse(_ shape: Shape, seed: UInt64, tenths: Int) -> Tensor {
        let d = R.random(shape, seed: seed).doubles.enumerated().map { i, v in i % 10 < tenths ? 0 : v }
        return Tensor(.f32, shape, doubles: d)
    }

    func opcodes(_ plan: CompiledPlan) -> [Opcode] { plan.program.instructions.map(\.opcode).filter { $0 != .copy } }

    func testGemmAtEightyPercentZerosWithSixteenRowsIsSparse() throws {
        var b = GraphBuilder(name: "fc")
        let x = b.input("x", TensorType(.f32, [16, 40]))
        let w = b.constant(sparse([7, 40], seed: 1, tenths: 8), name: "w")
        let bias = b.constant(R.random([7], seed: 2), name: "b")
        b.output(try b.add1(.gemm(Gemm(alpha: 0.5, beta: 2, transA: false, transB: true, activation: .unary(.relu))),
                            [x, w, bias], name: "g"))
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([16, 40], seed: 3)])
        XCTAssertEqual(opcodes(plan), [.sparseGemm])
        XCTAssertEqual(Opcode.sparseGemm.attributeSize, 24)
    }

    func testGemmBelowThresholdFewRowsOrTransposedAStaysDense() throws {
        var b = GraphBuilder(name: "fc")
        let x = b.input("x", TensorType(.f32, [16, 40]))
        let x2 = b.input("x2", TensorType(.f32, [2, 40]))
        let xt = b.input("xt", TensorType(.f32, [40, 2]))
        let w = b.constant(sparse([40, 7], seed: 1, tenths: 7), name: "w")
        let w8 = b.constant(sparse([40, 7], seed: 4, tenths: 8), name: "w8")
        let w9 = b.constant(sparse([40, 7], seed: 9, tenths: 9), name: "w9")
        b.output(try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: false)), [x, w], name: "seventy"))
        b.output(try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: false, transB: false)), [x2, w9], name: "two_rows"))
        b.output(try b.add1(.gemm(Gemm(alpha: 1, beta: 1, transA: true, transB: false)), [xt, w8], name: "ta"))
        let plan = try R.checkAgainstEvaluator(
            b.graph, inputs: [R.random([16, 40], seed: 5), R.random([2, 40], seed: 10), R.random([40, 2], seed: 6)])
        XCTAssertEqual(opcodes(plan), [.gemm, .gemm, .gemm])
    }

    func testBatchedMatMulIsSparse() throws {
        var b = GraphBuilder(name: "proj")
        let x = b.input("x", TensorType(.f32, [2, 19, 24]))
        let w = b.constant(sparse([24, 33], seed: 7, tenths: 9), name: "w")
        b.output(try b.add1(.matMul(MatMul(activation: .unary(.sigmoid))), [x, w], name: "mm"))
        let plan = try R.checkAgainstEvaluator(b.graph, inputs: [R.random([2, 19, 24], seed: 8)])
        XCTAssertEqual(opcodes(plan), [.sparseGemm])
    }
}
