import Foundation
import XCTest
import KilnIR
@testable import KilnPasses

/// The pass ledger: drift definition, the recorder's rows on a hand-checked graph, and the
/// exact table and JSON text.
final class LedgerTests: XCTestCase {
    /// Gemm then BatchNorm1d; x = [1, 2] gives g = x·W = [9, 12, 15], s = scale / sqrt(var + 1)
    /// = [0.5, 1, 2] and y = (g − mean)·s + shift = [4.5, 11, 31], all exact in f32.
    static let gemmBN = """
        graph @gemm_bn(%x: f32[1,2]) -> (f32[1,3]) {
          %w = constant f32[2,3] dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]>
          %scale = constant f32[3] dense<[1.0, 2.0, 4.0]>
          %shift = constant f32[3] dense<[0.0, 0.0, 1.0]>
          %mean = constant f32[3] dense<[0.0, 1.0, 0.0]>
          %var = constant f32[3] dense<[3.0, 3.0, 3.0]>
          %g = gemm(%x, %w) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false} : f32[1,3]
          %y = batch_norm(%g, %scale, %shift, %mean, %var) {epsilon = 1.0} : f32[1,3]
          return %y
        }
        """
    static let x = Tensor(.f32, [1, 2], doubles: [1, 2])

    func testDriftIsMaxAbsOverLargestReferenceMagnitude() throws {
        let b = Tensor(.f32, [4], doubles: [1, 2, -4, 0])
        let a = Tensor(.f32, [4], doubles: [1, 2.5, -3, 0.25])
        // |a − b| = [0, 0.5, 1, 0.25]; max |b| = 4.
        XCTAssertEqual(try Drift.measure(a, against: b), Drift(maxAbs: 1, maxRel: 0.25))
        XCTAssertEqual(try Drift.measure(b, against: b), .zero)
        let inf = Double.infinity
        let special = Tensor(.f32, [3], doubles: [.nan, inf, 2])
        XCTAssertEqual(try Drift.measure(special, against: special), .zero)
        XCTAssertEqual(try Drift.measure(Tensor(.f32, [3], doubles: [1, inf, 2]), against: special).maxAbs, inf)
        // Non-finite reference elements do not count towards the scale: max |b| = 2.
        XCTAssertEqual(try Drift.measure(Tensor(.f32, [3], doubles: [.nan, inf, 3]), against: special),
                       Drift(maxAbs: 1, maxRel: 0.5))
        XCTAssertEqual(try Drift.measure(Tensor(.i64, [2], int64s: [3, 7]), against: Tensor(.i64, [2], int64s: [3, 5])),
                       Drift(maxAbs: 2, maxRel: 2.0 / 5.0))
        XCTAssertThrowsError(try Drift.measure(Tensor(.f32, [2], doubles: [1, 2]), against: b))
        XCTAssertEqual(Drift.worst([Drift(maxAbs: 1, maxRel: 0.1), Drift(maxAbs: 0.5, maxRel: 0.2)]),
                       Drift(maxAbs: 1, maxRel: 0.2))
        XCTAssertTrue(Drift.worst([Drift(maxAbs: 1, maxRel: .nan), Drift(maxAbs: 2, maxRel: 0.5)]).maxRel.isNaN)
    }

    func testRecorderRowsThroughThePassManager() throws {
        var graph = try Parser.parse(Self.gemmBN)
        let recorder = LedgerRecorder(sampleInputs: [Self.x], inputSeconds: 0.5)
        try PassManager.run(&graph, context: PassContext(explicitPasses: ["fold-batchnorm", "eliminate-dead-code"],
                                                         verifyEach: true, instrumentations: [recorder]))
        let rows = recorder.ledger.rows
        XCTAssertEqual(recorder.ledger.outputs, ["y"])
        XCTAssertEqual(rows.map(\.index), [0, 1, 2])
        XCTAssertEqual(rows.map(\.pass), ["input", "fold-batchnorm", "eliminate-dead-code"])
        XCTAssertEqual(rows.map(\.changed), [true, true, false])
        // gemm + batch_norm, then gemm alone (W' and the new bias: 6 + 3 elements).
        XCTAssertEqual(rows.map(\.nodes), [2, 1, 1])
        XCTAssertEqual(rows.map(\.parameters), [18, 9, 9])
        XCTAssertEqual(rows.map(\.constantBytes), [72, 36, 36])
        // gemm: 2·M·N·K = 2·1·3·2 = 12; batch_norm: 5 per element = 15.
        XCTAssertEqual(rows.map(\.flops), [27, 12, 12])
        XCTAssertEqual(rows.map(\.drift), [[.zero], [.zero], [.zero]])
        XCTAssertEqual(rows.map(\.driftReused), [false, false, true])
        XCTAssertEqual(rows[0].seconds, 0.5)
        XCTAssertNotNil(rows[1].seconds)
    }

    func testRecorderMeasuresDriftAfterAChange() throws {
        let graph = try Parser.parse(Self.gemmBN)
        let recorder = LedgerRecorder(sampleInputs: [Self.x])
        try recorder.runBeforePipeline(graph, passes: ["fold-batchnorm"])
        // The folded graph with its bias off by 0.5 in the last channel: y = [4.5, 11, 31.5].
        let nudged = try Parser.parse("""
            graph @gemm_bn(%x: f32[1,2]) -> (f32[1,3]) {
              %w = constant f32[2,3] dense<[0.5, 2.0, 6.0, 2.0, 5.0, 12.0]>
              %b = constant f32[3] dense<[0.0, -1.0, 1.5]>
              %y = gemm(%x, %w, %b) {alpha = 1.0, beta = 1.0, trans_a = false, trans_b = false} : f32[1,3]
              return %y
            }
            """)
        try recorder.runAfterPass(PassRun(index: 1, name: "fold-batchnorm", changed: true, seconds: 0), nudged)
        XCTAssertEqual(recorder.ledger.rows[1].drift, [Drift(maxAbs: 0.5, maxRel: 0.5 / 31)])
        XCTAssertFalse(recorder.ledger.rows[1].driftReused)
    }

    func testRecorderWithoutSampleInputsLeavesDriftEmpty() throws {
        var graph = try Parser.parse(Self.gemmBN)
        let recorder = LedgerRecorder(sampleInputs: nil)
        try PassManager.run(&graph, context: PassContext(explicitPasses: ["fold-batchnorm"], instrumentations: [recorder]))
        XCTAssertEqual(recorder.ledger.rows.map(\.drift), [nil, nil])
        XCTAssertNil(recorder.ledger.rows[0].seconds)
    }

    func testTableText() throws {
        var graph = try Parser.parse(Self.gemmBN)
        let recorder = LedgerRecorder(sampleInputs: [Self.x], inputSeconds: 0.0123)
        try PassManager.run(&graph, context: PassContext(explicitPasses: ["fold-batchnorm", "eliminate-dead-code"],
                                                         instrumentations: [recorder]))
        recorder.setPlanBytes(1234)
        recorder.addNote("drift: on x=x.npy")
        var ledger = recorder.ledger
        ledger.rows[1].seconds = 0.0003
        ledger.rows[2].seconds = 0.0001
        let expected = """
            #   pass                                    time   nodes        params            FLOPs   const bytes    max abs    max rel
            00  input                                12.3 ms       2            18               27            72   0.00e+00   0.00e+00
            01  fold-batchnorm                        0.3 ms       1             9               12            36   0.00e+00   0.00e+00
            02  eliminate-dead-code                   0.1 ms       1             9               12            36   0.00e+00   0.00e+00
            plan: 1,234 bytes
            drift: on x=x.npy

            """
        XCTAssertEqual(ledger.table(), expected)
    }

    func testTableWithSeveralOutputsWideNumbersAndNoDrift() {
        var ledger = Ledger(outputs: ["logits", "p"])
        ledger.rows = [
            LedgerRow(index: 0, pass: "input", seconds: nil, changed: true, nodes: 1, parameters: 11_699_112,
                      flops: 3_642_000_000_000_000, constantBytes: 46_796_448, drift: nil),
            LedgerRow(index: 1, pass: "a-pass-with-a-name-longer-than-32-chars", seconds: 2.5, changed: true, nodes: 0,
                      parameters: 0, flops: 0, constantBytes: 0,
                      drift: [Drift(maxAbs: 1.5e-6, maxRel: 2e-7), Drift(maxAbs: .infinity, maxRel: .nan)]),
        ]
        let expected = """
            #   pass                                           time   nodes        params                  FLOPs   const bytes    max abs    max rel
            00  input                                             -       1    11,699,112  3,642,000,000,000,000    46,796,448          -          -
            01  a-pass-with-a-name-longer-than-32-chars   2500.0 ms       0             0                      0             0        inf        nan
            drift of the final graph per output (max abs, max rel):
              logits  1.50e-06  2.00e-07
              p            inf       nan

            """
        XCTAssertEqual(ledger.table(), expected)
    }

    func testJSON() throws {
        var ledger = Ledger(outputs: ["y\"q"], planBytes: 99, notes: ["n"])
        ledger.rows = [
            LedgerRow(index: 0, pass: "input", seconds: nil, changed: true, nodes: 2, parameters: 18, flops: 27,
                      constantBytes: 72, drift: [.zero]),
            LedgerRow(index: 1, pass: "p", seconds: 0.25, changed: false, nodes: 1, parameters: 9, flops: 12,
                      constantBytes: 36, drift: [Drift(maxAbs: .infinity, maxRel: 0.125)], driftReused: true),
        ]
        let parsed = try JSONSerialization.jsonObject(with: Data(ledger.json().utf8)) as! [String: Any]
        XCTAssertEqual(parsed["outputs"] as? [String], ["y\"q"])
        XCTAssertEqual(parsed["plan_bytes"] as? Int, 99)
        XCTAssertEqual(parsed["notes"] as? [String], ["n"])
        let rows = parsed["rows"] as! [[String: Any]]
        XCTAssertEqual(rows.count, 2)
        XCTAssertTrue(rows[0]["seconds"] is NSNull)
        XCTAssertEqual(rows[1]["seconds"] as? Double, 0.25)
        XCTAssertEqual(rows[1]["pass"] as? String, "p")
        XCTAssertEqual(rows[1]["changed"] as? Bool, false)
        XCTAssertEqual(rows[1]["drift_reused"] as? Bool, true)
        XCTAssertEqual(rows[1]["constant_bytes"] as? Int, 36)
        let drift = rows[1]["drift"] as! [String: Any]
        XCTAssertTrue(drift["max_abs"] is NSNull)
        XCTAssertEqual(drift["max_rel"] as? Double, 0.125)
        let per = drift["outputs"] as! [[String: Any]]
        XCTAssertEqual(per.first?["name"] as? String, "y\"q")
    }

    /// SampleInputs follows SplitMix64: stream 1's first three f32 values and stream 2's
    /// first four bits, computed with an independent Python implementation (whose stream 0
    /// reproduces the published SplitMix64 vector e220a8397b1dcdaf, 6e789e6aa1b965f4, …).
    func testSampleInputsAreTheDocumentedStreams() {
        let g = try! Parser.parse("""
            graph @two(%a: f32[3], %b: i64[2,2]) -> (f32[3]) {
              return %a
            }
            """)
        let inputs = SampleInputs.random(for: g)
        XCTAssertEqual(inputs[0].floats, [-0.1369440108537674, -0.9471324682235718, 0.9417639374732971])
        XCTAssertEqual(inputs[1].int64s, [1, 0, 1, 0])
        XCTAssertEqual(inputs[1].type, TensorType(.i64, [2, 2]))
    }
}
