import XCTest
@testable import KilnIR

/// Builds a one-node graph (every operand a graph input) with `GraphBuilder`, verifies it
/// and runs it with the `Evaluator`: the whole path a real graph takes.
func evaluateOp(_ op: Op, _ inputs: [Tensor], file: StaticString = #filePath, line: UInt = #line) throws -> [Tensor] {
    var b = GraphBuilder(name: "test")
    let ids = inputs.enumerated().map { b.input("x\($0.offset)", $0.element.type) }
    let results = try b.add(op, ids)
    results.forEach { b.output($0) }
    try Verifier.verify(b.graph)
    return try Evaluator.run(b.graph, inputs: inputs)
}

/// `evaluateOp` for single-result ops.
func evaluateOp1(_ op: Op, _ inputs: [Tensor]) throws -> Tensor {
    try evaluateOp(op, inputs)[0]
}

/// Result types of `op` on operands of these types.
func inferTypes(_ op: Op, _ operands: [TensorType]) throws -> [TensorType] {
    try op.resultTypes(operands)
}

/// Asserts elementwise closeness: |a - e| <= abs + rel * |e|; NaN matches NaN.
func assertClose(_ actual: [Double], _ expected: [Double], rel: Double = 1e-6, abs: Double = 1e-7,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "element count", file: file, line: line)
    for (i, (a, e)) in zip(actual, expected).enumerated() {
        if e.isNaN { XCTAssertTrue(a.isNaN, "element \(i): \(a) is not NaN", file: file, line: line); continue }
        if e.isInfinite { XCTAssertEqual(a, e, "element \(i)", file: file, line: line); continue }
        XCTAssertLessThanOrEqual(Swift.abs(a - e), abs + rel * Swift.abs(e), "element \(i): got \(a), expected \(e)", file: file, line: line)
    }
}

/// Asserts that `body` throws a `KilnError`, optionally with exactly `message`.
func assertKilnError<T>(_ message: String? = nil, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) {
    do {
        _ = try body()
        XCTFail("expected a KilnError", file: file, line: line)
    } catch let e as KilnError {
        if let message { XCTAssertEqual(e.message, message, file: file, line: line) }
    } catch {
        XCTFail("expected a KilnError, got \(error)", file: file, line: line)
    }
}

func f32(_ shape: Shape, _ values: [Double]) -> Tensor { Tensor(.f32, shape, doubles: values) }
func i64(_ shape: Shape, _ values: [Int64]) -> Tensor { Tensor(.i64, shape, int64s: values) }
func i32(_ shape: Shape, _ values: [Int64]) -> Tensor { Tensor(.i32, shape, int64s: values) }
func bools(_ shape: Shape, _ values: [Bool]) -> Tensor { Tensor(.bool, shape, int64s: values.map { $0 ? 1 : 0 }) }
