import XCTest
@testable import KilnIR

/// Helpers for the numeric op-family tests (conv, pooling, normalization, linear, resize,
/// recurrent). Expected values in those tests come from onnxruntime (or, where stated,
/// onnx.reference / numpy) run on the same `ramp` inputs.
enum NumericOpTest {
    /// Deterministic test data: element i is `((i * a) % m) / d - offset`. With `d` a power
    /// of two the values are exact in every float type, so Python reproduces them bit for bit.
    static func ramp(_ shape: Shape, _ a: Int, _ m: Int, _ d: Double, _ offset: Double, _ dtype: DType = .f32) -> Tensor {
        Tensor(dtype, shape, doubles: (0..<shape.elementCount).map { Double(($0 * a) % m) / d - offset })
    }

    /// Runs the op's type rule on the inputs' types, then its evaluation.
    static func run(_ op: Op, _ inputs: [Tensor]) throws -> [Tensor] {
        let types = try op.resultTypes(inputs.map(\.type))
        let outs = try op.evaluate(inputs, results: types)
        XCTAssertEqual(outs.map(\.type), types, "evaluation must produce the inferred types")
        return outs
    }

    /// Builds a one-node graph (inputs as graph inputs), verifies it and runs it with the
    /// Evaluator: the path models take.
    static func runGraph(_ op: Op, _ inputs: [Tensor]) throws -> [Tensor] {
        var b = GraphBuilder(name: "t")
        let ids = inputs.enumerated().map { b.input("x\($0.offset)", $0.element.type) }
        for r in try b.add(op, ids) { b.output(r) }
        try Verifier.verify(b.graph)
        return try Evaluator.run(b.graph, inputs: inputs)
    }

    static func assertClose(_ actual: Tensor, shape: Shape, _ expected: [Double], tolerance: Double = 1e-5,
                            file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, shape, "shape", file: file, line: line)
        let got = actual.doubles
        XCTAssertEqual(got.count, expected.count, "element count", file: file, line: line)
        var failures = 0
        for (i, (g, e)) in zip(got, expected).enumerated() where !(abs(g - e) <= tolerance * max(1, abs(e))) {
            failures += 1
            if failures <= 5 { XCTFail("element \(i): got \(g), expected \(e)", file: file, line: line) }
        }
    }

    /// The type rule must reject these operand types with exactly `message`.
    static func assertRejects(_ op: Op, _ operands: [TensorType], _ message: String,
                              file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try op.resultTypes(operands), file: file, line: line) { error in
            XCTAssertEqual((error as? KilnError)?.message, message, file: file, line: line)
        }
    }
}
