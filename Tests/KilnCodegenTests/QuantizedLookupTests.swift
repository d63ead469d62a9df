import KilnIR
import KilnRuntime
import XCTest
@testable import KilnCodegen

/// qlinear_lookup → QLOOKUP: the C kernel (whichever path the CPU selects, at 1 and 2
/// threads) equals the reference evaluator on every byte value, on a tensor large enough to
/// be split over two threads, with an odd length.
final class QuantizedLookupTests: XCTestCase {
    func testKernelEqualsEvaluator() throws {
        let n = 131_073
        let table = try QLinearLookup.table(for: .unary(.hardSwish), xScale: 0.04, xZeroPoint: 131, yScale: 0.02, yZeroPoint: 20)
        var b = GraphBuilder(name: "qlookup")
        let x = b.input("x", TensorType(.u8, [1, n]))
        let t = b.constant(table, name: "table")
        b.output(try b.add1(.qlinearLookup(QLinearLookup()), [x, t], name: "y"))
        let g = b.graph
        let input = Tensor(.u8, [1, n], int64s: (0..<n).map { Int64(($0 * 7 + $0 / 256) % 256) })
        let want = try Evaluator.run(g, inputs: [input])[0]
        let compiled = try PlanCompiler.compile(g, options: PlanOptions(compress: true))
        XCTAssertEqual(compiled.program.instructions.map(\.opcode), [.qlookup])
        XCTAssertEqual(try PlanReader.read(compiled.bytes).minor, 3)  // QLOOKUP is new in 1.3
        for threads in [1, 2] {
            let got = try RunSupport.run(compiled.bytes, inputs: [input], outputTypes: [want.type], threads: threads)[0]
            XCTAssertEqual(got, want, "\(threads) threads")
        }
    }
}
