import KilnIR
import KilnRuntime
import XCTest
@testable import KilnCodegen

/// Compiles graphs, runs plans on the C runtime and compares with the reference evaluator.
enum RunSupport {
    /// Deterministic values in [-1, 1) (a 64-bit LCG).
    static func random(_ shape: Shape, seed: UInt64, dtype: DType = .f32) -> Tensor {
        var state = seed &* 6364136223846793005 &+ 1442695040888963407
        let values = (0..<shape.elementCount).map { _ -> Double in
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Double(state >> 11) / Double(1 << 53) * 2 - 1
        }
        return Tensor(dtype, shape, doubles: values)
    }

    /// Runs plan bytes on `inputs` (in input order) and returns the outputs typed as `outputTypes`.
    static func run(_ bytes: [UInt8], inputs: [Tensor], outputTypes: [TensorType], threads: Int = 1) throws -> [Tensor] {
        let plan = try Plan(bytes: bytes)
        let session = try Session(plan: plan, threads: threads)
        for (i, t) in inputs.enumerated() { try session.setInput(i, bytes: t.bytes) }
        try session.run()
        return try outputTypes.enumerated().map { i, type in Tensor(type: type, bytes: try session.output(i)) }
    }

    /// Largest |a - b| and whether every element is within `atol + rtol·|b|` (NaNs must match).
    static func compare(_ a: Tensor, _ b: Tensor, rtol: Double = 1e-4, atol: Double = 1e-5) -> (maxError: Double, ok: Bool) {
        guard a.dtype == b.dtype, a.shape == b.shape else { return (.infinity, false) }
        var worst = 0.0
        var ok = true
        for (x, y) in zip(a.doubles, b.doubles) {
            if x.isNaN || y.isNaN { ok = ok && x.isNaN && y.isNaN; continue }
            if x == y { continue }
            let e = abs(x - y)
            worst = max(worst, e)
            if !(e <= atol + rtol * abs(y)) { ok = false }
        }
        return (worst, ok)
    }

    /// Compiles `graph` and checks every output against `Evaluator.run` on `inputs`.
    @discardableResult
    static func checkAgainstEvaluator(_ graph: Graph, inputs: [Tensor], compress: Bool = true,
                                      file: StaticString = #filePath, line: UInt = #line) throws -> CompiledPlan {
        let compiled = try PlanCompiler.compile(graph, options: PlanOptions(compress: compress))
        let expected = try Evaluator.run(graph, inputs: inputs)
        let got = try run(compiled.bytes, inputs: inputs, outputTypes: graph.outputs.map { graph.type(of: $0) })
        for (i, (g, e)) in zip(got, expected).enumerated() {
            let (err, ok) = compare(g, e)
            XCTAssertTrue(ok, "output \(i) (\(graph[graph.outputs[i]].name)): max error \(err)", file: file, line: line)
        }
        XCTAssertTrue(compiled.memory.overlaps.isEmpty, "memory plan overlaps", file: file, line: line)
        return compiled
    }
}
