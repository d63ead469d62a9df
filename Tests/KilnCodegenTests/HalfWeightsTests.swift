import KilnIR
import XCTest
@testable import KilnCodegen

final class HalfWeightsTests: XCTestCase {
    typealias R = RunSupport

    /// Bit patterns from numpy (`np.float32(v).astype(np.float16).view(np.uint16)`): ties to
    /// even (1 + 2^-11 → 1, 3·2^-25 → 2^-23), subnormals, the largest finite, signed zero.
    func testEncodeRoundsToNearestEven() {
        let cases: [(Float, UInt16)] = [
            (1.0, 0x3C00), (65504, 0x7BFF), (65519.988, 0x7BFF), (0x1p-24, 0x0001), (0x1p-25, 0x0000),
            (3 * 0x1p-25, 0x0002), (1 + 0x1p-11, 0x3C00), (1 + 3 * 0x1p-11, 0x3C02), (-0.0, 0x8000),
            (.infinity, 0x7C00), (0.1, 0x2E66), (1e-8, 0x0000), (-2.5e-5, 0x81A3), (6.1e-5, 0x03FF),
        ]
        let t = Tensor(.f32, [cases.count], doubles: cases.map { Double($0.0) })
        let bytes = HalfWeights.encode(t)
        for (i, (v, want)) in cases.enumerated() {
            XCTAssertEqual(UInt16(bytes[2 * i]) | UInt16(bytes[2 * i + 1]) << 8, want, "\(v)")
        }
        let nan = HalfWeights.encode(Tensor(.f32, [1], doubles: [.nan]))
        XCTAssertTrue(Float16(bitPattern: UInt16(nan[0]) | UInt16(nan[1]) << 8).isNaN)
    }

    func testEligibility() {
        XCTAssertTrue(HalfWeights.eligible(Tensor(.f32, [16], doubles: Array(repeating: 65519, count: 16))))
        XCTAssertFalse(HalfWeights.eligible(Tensor(.f32, [15], doubles: Array(repeating: 1, count: 15))), "below the threshold")
        XCTAssertFalse(HalfWeights.eligible(Tensor(.f32, [16], doubles: [65520] + Array(repeating: 1, count: 15))), "overflows f16")
        XCTAssertTrue(HalfWeights.eligible(Tensor(.f32, [16], doubles: [.infinity, .nan] + Array(repeating: 1, count: 14))))
        XCTAssertFalse(HalfWeights.eligible(Tensor(.f64, [16], doubles: Array(repeating: 1, count: 16))))
        XCTAssertFalse(HalfWeights.eligible(Tensor(.i32, [16], int64s: Array(repeating: 1, count: 16))))
    }

    /// y = x·w + b with w [32, 8] (stored f16) and b [8] (stays f32): the plan is format 1.1,
    /// flags the weight only, and runs like the reference evaluator with w rounded to f16.
    func testPlanStoresLargeWeightsAsF16() throws {
        func graph(_ w: Tensor) throws -> Graph {
            var b = GraphBuilder(name: "half")
            let x = b.input("x", TensorType(.f32, [2, 32]))
            let m = try b.add1(.matMul(MatMul()), [x, b.constant(w, name: "w")], name: "m")
            b.output(try b.add1(.binary(.add), [m, b.constant(R.random([8], seed: 3), name: "b")], name: "y"))
            return b.graph
        }
        let w = R.random([32, 8], seed: 2)
        let compiled = try PlanCompiler.compile(try graph(w), options: PlanOptions(compress: false, halfWeights: true))
        let file = try PlanReader.read(compiled.bytes)
        XCTAssertEqual(file.minor, 1)
        let flagged = file.tensors.filter(\.storedAsF16).map(\.name)
        XCTAssertEqual(flagged, ["w"])
        XCTAssertEqual(try XCTUnwrap(file.sections.last).storedSize, 8 * 4 + 32 * 8 * 2, "b, then w as f16 right after it (2-byte aligned)")
        let rounded = Tensor(.f32, [32, 8], doubles: w.floats.map { Double(Float(Float16($0))) })
        let entry = try XCTUnwrap(file.tensors.first { $0.name == "w" })
        XCTAssertEqual(Array(file.constantBytes(entry)), rounded.bytes)

        let x = R.random([2, 32], seed: 1)
        let got = try R.run(compiled.bytes, inputs: [x], outputTypes: [TensorType(.f32, [2, 8])])[0]
        let want = try Evaluator.run(try graph(rounded), inputs: [x])[0]
        let r = R.compare(got, want)
        XCTAssertTrue(r.ok, "max error \(r.maxError)")
        let plain = try PlanCompiler.compile(try graph(w), options: PlanOptions(compress: false))
        XCTAssertEqual(try PlanReader.read(plain.bytes).minor, 0, "plans without f16 storage stay 1.0")
    }
}
