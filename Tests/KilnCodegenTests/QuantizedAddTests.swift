import KilnIR
import KilnRuntime
import XCTest
@testable import KilnCodegen

/// qlinear_add → QADD: the C kernel (whichever path the CPU selects, at 1 and 2 threads)
/// equals the reference evaluator bit for bit on every pair of u8 inputs, for parameters at
/// the edges: exact rounding ties, saturation both ways, a narrow clamp, zero points 0 and
/// 255, the capped shift and the largest ratio the kernel takes.
final class QuantizedAddTests: XCTestCase {
    /// [1, 65536]: a = i / 256, b = i % 256 (every pair once; past the two-thread threshold).
    func allPairs() -> (Tensor, Tensor) {
        let n = 65536
        return (Tensor(.u8, [1, n], int64s: (0..<n).map { Int64($0 / 256) }),
                Tensor(.u8, [1, n], int64s: (0..<n).map { Int64($0 % 256) }))
    }

    func graph(_ op: QLinearAdd) throws -> Graph {
        var b = GraphBuilder(name: "qadd")
        let a = b.input("a", TensorType(.u8, [1, 65536])), x = b.input("b", TensorType(.u8, [1, 65536]))
        b.output(try b.add1(.qlinearAdd(op), [a, x], name: "y"))
        return b.graph
    }

    func testKernelEqualsEvaluatorOnEveryPair() throws {
        let cases: [QLinearAdd] = [
            QLinearAdd(aScale: 1, aZeroPoint: 10, bScale: 1, bZeroPoint: 200, yScale: 2, yZeroPoint: 100),         // halves: ties
            QLinearAdd(aScale: 0.5, aZeroPoint: 0, bScale: 0.5, bZeroPoint: 255, yScale: 0.25, yZeroPoint: 128),  // saturates
            QLinearAdd(aScale: 0.031, aZeroPoint: 255, bScale: 0.017, bZeroPoint: 0, yScale: 0.04, yZeroPoint: 0,
                       yMin: 0, yMax: 255),                                                                         // relu-like zp 0
            QLinearAdd(aScale: 0.1, aZeroPoint: 128, bScale: 0.07, bZeroPoint: 3, yScale: 0.09, yZeroPoint: 40,
                       yMin: 40, yMax: 97),                                                                         // clip
            QLinearAdd(aScale: 1e-6, aZeroPoint: 7, bScale: 3e-7, bZeroPoint: 250, yScale: 1, yZeroPoint: 5),     // shift 30
            QLinearAdd(aScale: 1000, aZeroPoint: 128, bScale: 999, bZeroPoint: 127, yScale: 0.001, yZeroPoint: 128), // r ≈ 2^20 − ε
        ]
        let (a, b) = allPairs()
        for op in cases {
            let g = try graph(op)
            let want = try Evaluator.run(g, inputs: [a, b])[0]
            let compiled = try PlanCompiler.compile(g, options: PlanOptions(compress: true))
            XCTAssertEqual(compiled.program.instructions.map(\.opcode), [.qadd])
            XCTAssertEqual(try PlanReader.read(compiled.bytes).minor, 3)  // QADD is new in 1.3
            for threads in [1, 2] {
                let got = try RunSupport.run(compiled.bytes, inputs: [a, b], outputTypes: [want.type], threads: threads)[0]
                let bad = zip(got.int64s, want.int64s).filter { $0 != $1 }.count
                XCTAssertEqual(bad, 0, "\(op), \(threads) threads: \(bad) of 65536 results differ from the evaluator")
            }
        }
    }

    /// QCONCAT on the channel axis of three inputs with odd sizes (one at the result's
    /// parameters: the copy path) equals the evaluator at 1 and 2 threads.
    func testConcatKernelEqualsEvaluator() throws {
        let cases: [QLinearConcat] = [
            QLinearConcat(axis: 1, xScales: [0.1, 0.07, 0.3], xZeroPoints: [0, 128, 255], yScale: 0.1, yZeroPoint: 0),
            QLinearConcat(axis: 1, xScales: [2e-7, 1, 0.999], xZeroPoints: [3, 250, 0], yScale: 0.5, yZeroPoint: 255),
            QLinearConcat(axis: 3, xScales: [1, 1, 1], xZeroPoints: [5, 5, 6], yScale: 1, yZeroPoint: 5),
        ]
        for op in cases {
            var b = GraphBuilder(name: "qconcat")
            let dims = op.axis == 1 ? [[1, 3, 13, 17], [1, 5, 13, 17], [1, 2, 13, 17]] : [[2, 3, 5, 7], [2, 3, 5, 1], [2, 3, 5, 9]]
            let xs = dims.enumerated().map { b.input("x\($0.offset)", TensorType(.u8, Shape($0.element))) }
            b.output(try b.add1(.qlinearConcat(op), xs, name: "y"))
            let g = b.graph
            let inputs = dims.enumerated().map { i, d in
                Tensor(.u8, Shape(d), int64s: (0..<d.reduce(1, *)).map { Int64(($0 * 37 + i * 101) % 256) })
            }
            let want = try Evaluator.run(g, inputs: inputs)[0]
            let compiled = try PlanCompiler.compile(g, options: PlanOptions(compress: true))
            XCTAssertEqual(compiled.program.instructions.map(\.opcode), [.qconcat])
            for threads in [1, 2] {
                let got = try RunSupport.run(compiled.bytes, inputs: inputs, outputTypes: [want.type], threads: threads)[0]
                XCTAssertEqual(got.int64s, want.int64s, "\(op), \(threads) threads")
            }
        }
    }

    /// QGLOBAL_AVG_POOL equals the evaluator (7x7 planes like ResNet's head, 1x1, 17x13),
    /// saturating parameters included, at 1 and 2 threads.
    func testGlobalAveragePoolKernelEqualsEvaluator() throws {
        let cases: [(QLinearGlobalAveragePool, [Int])] = [
            (QLinearGlobalAveragePool(xScale: 0.05, xZeroPoint: 0, yScale: 0.02, yZeroPoint: 0), [1, 64, 7, 7]),
            (QLinearGlobalAveragePool(xScale: 0.3, xZeroPoint: 200, yScale: 0.01, yZeroPoint: 128), [2, 5, 1, 1]),
            (QLinearGlobalAveragePool(xScale: 1e-3, xZeroPoint: 17, yScale: 0.7, yZeroPoint: 255), [1, 300, 17, 13]),
        ]
        for (op, dims) in cases {
            var b = GraphBuilder(name: "qgap")
            let x = b.input("x", TensorType(.u8, Shape(dims)))
            b.output(try b.add1(.qlinearGlobalAveragePool(op), [x], name: "y"))
            let g = b.graph
            let count = dims.reduce(1, *)
            let values: [Int64] = (0..<count).map { (i: Int) -> Int64 in Int64((i * 53 + i / 7) % 256) }
            let input = Tensor(.u8, Shape(dims), int64s: values)
            let want = try Evaluator.run(g, inputs: [input])[0]
            let compiled = try PlanCompiler.compile(g, options: PlanOptions(compress: true))
            XCTAssertEqual(compiled.program.instructions.map(\.opcode), [.qglobalAvgPool])
            for threads in [1, 2] {
                let got = try RunSupport.run(compiled.bytes, inputs: [input], outputTypes: [want.type], threads: threads)[0]
                XCTAssertEqual(got.int64s, want.int64s, "\(op) \(dims), \(threads) threads")
            }
        }
    }

    func testAttributesAreTheFixedPointForm() throws {
        let op = QLinearAdd(aScale: 0.5, aZeroPoint: 1, bScale: 0.25, bZeroPoint: 2, yScale: 1, yZeroPoint: 3, yMin: 4, yMax: 250)
        let compiled = try PlanCompiler.compile(try graph(op), options: PlanOptions(compress: false))
        XCTAssertEqual(Opcode.qadd.rawValue, 83)
        XCTAssertEqual(Opcode.qadd.attributeSize, 32)
        let bytes = compiled.program.instructions[0].attributes
        let fields = stride(from: 0, to: bytes.count, by: 4).map { i in
            Int32(bitPattern: UInt32(bytes[i]) | UInt32(bytes[i + 1]) << 8 | UInt32(bytes[i + 2]) << 16 | UInt32(bytes[i + 3]) << 24)
        }
        XCTAssertEqual(fields, [1, 2, 3, 4, 250, 1 << 20, 1 << 19, 21])
    }
}
