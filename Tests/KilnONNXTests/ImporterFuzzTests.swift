import Foundation
import KilnTestSupport
import KilnIR
import XCTest
@testable import KilnONNX

/// Mutation fuzzing of the ONNX importer: byte-level mutations of real ONNX files (the tiny
/// Graphs models in Fixtures/fuzz, written by Runtime/fuzz/seed_models.py, and now and then
/// a full Graphs model), and field-level mutations of the decoded models (+Structure). Every case must import or throw `KilnError` — a trap kills the test
/// process and leaves the input in $TMPDIR/kiln-fuzz-onnx-current. An imported graph must
/// pass the Verifier and print.
final class ImporterFuzzTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func files(_ dir: String) throws -> [[UInt8]] {
        let url = repo.appendingPathComponent(dir)
        return try FileManager.default.contentsOfDirectory(atPath: url.path).sorted().filter { $0.hasSuffix(".onnx") }
            .map { Array(try Data(contentsOf: url.appendingPathComponent($0))) }
    }

    func testMutatedModelsImportOrThrowKilnError() throws {
        let tiny = try Self.files("Tests/KilnONNXTests/Fixtures/fuzz"), full = try Self.files("Graphs")
        XCTAssertEqual(tiny.count, 11)
        XCTAssertEqual(full.count, 12)
        var mutator = FuzzMutator(seed: 0x6B69_6C6E_6F6E_6E78)
        let budget = FuzzBudget(iterations: 2400)
        let models = try tiny.map { try Onnx_ModelProto(serializedBytes: $0) }
        let opTypes = Array(Set(models.flatMap { $0.graph.node.map(\.opType) })).sorted() + ["Loop", "If", "Bogus"]
        var done = 0, imported = 0
        while budget.more(done) {
            let bytes: [UInt8]
            if done % 2 == 0 {
                let pool = mutator.below(25) == 0 ? full : tiny
                bytes = mutator.mutate(pool[mutator.below(pool.count)], other: tiny[mutator.below(tiny.count)])
            } else {
                var model = models[mutator.below(models.count)]
                for _ in 0...mutator.below(2) { model = mutator.mutateModel(model, opTypes: opTypes) }
                bytes = Array(try model.serializedData())
            }
            let recorded = fuzzRecordCurrent(bytes, target: "onnx")
            done += 1
            do {
                let graph = try ONNXImporter.load(data: bytes, baseDirectory: nil)
                imported += 1
                do { try Verifier.verify(graph) } catch {
                    XCTFail("case \(done): imported graph fails the Verifier: \(error) (input in \(recorded.path))")
                }
                _ = Printer.print(graph)
            } catch is KilnError {
            } catch {
                XCTFail("case \(done): importer threw \(type(of: error)), not KilnError: \(error) (input in \(recorded.path))")
            }
        }
        print("fuzz: onnx \(done) executions, \(imported) imported")
        XCTAssertGreaterThan(imported, 0)
    }

    /// Inputs that trapped the importer, minimized by hand where possible; each must now be a
    /// KilnError naming the problem.
    func testFuzzRegressions() throws {
        let dir = Self.repo.appendingPathComponent("Tests/KilnONNXTests/Fixtures/fuzz-regressions")
        let cases = [
            "conv-pads-int64-max.onnx": "conv: strides, pads and dilations must be at most 2147483647",
            "lstm-hidden-size-mismatch.onnx": "hidden_size ",
        ]
        for (file, expected) in cases.sorted(by: { $0.key < $1.key }) {
            let bytes = Array(try Data(contentsOf: dir.appendingPathComponent(file)))
            let msg = errorMessage { try ONNXImporter.load(data: bytes, baseDirectory: nil) }
            XCTAssertTrue(msg.contains(expected), "\(file): \(msg)")
        }
    }
}
