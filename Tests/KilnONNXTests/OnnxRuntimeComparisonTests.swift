import Foundation
import KilnIR
import XCTest
@testable import KilnONNX

/// Imports the fixture models made by `Fixtures/make_fixtures.py` and compares the
/// reference evaluator's outputs with the values onnxruntime computed for the same inputs.
final class OnnxRuntimeComparisonTests: XCTestCase {
    private func npy(_ url: URL) throws -> Tensor {
        try Npy.decode([UInt8](Data(contentsOf: url)), what: url.lastPathComponent)
    }

    private func compare(_ got: Tensor, _ want: Tensor, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(got.dtype, want.dtype, "\(what): dtype", file: file, line: line)
        XCTAssertEqual(got.shape, want.shape, "\(what): shape", file: file, line: line)
        if got.dtype.isFloat {
            assertClose(got.doubles, want.doubles, what, file: file, line: line)
        } else {
            XCTAssertEqual(got.int64s, want.int64s, what, file: file, line: line)
        }
    }

    func testConvNetMatchesOnnxRuntime() throws {
        let dir = fixturesDirectory.appendingPathComponent("convnet")
        let graph = try ONNXImporter.load(path: dir.appendingPathComponent("model.onnx").path)
        XCTAssertEqual(graph.type(of: graph.inputs[0]), TensorType(.f32, [1, 3, 8, 8]))
        XCTAssertEqual(graph[graph.outputs[0]].name, "probs")
        XCTAssertTrue(graph.nodes.contains { $0.name == "/conv2/Conv" })
        let out = try Evaluator.run(graph, inputs: [npy(dir.appendingPathComponent("input.npy"))])
        compare(out[0], try npy(dir.appendingPathComponent("output.npy")), "convnet")
    }

    func testOpCasesMatchOnnxRuntime() throws {
        let dir = fixturesDirectory.appendingPathComponent("ops")
        let names = try FileManager.default.contentsOfDirectory(atPath: dir.path)
            .filter { $0.hasSuffix(".onnx") }.map { String($0.dropLast(5)) }.sorted()
        XCTAssertGreaterThan(names.count, 60)
        for name in names {
            func files(_ kind: String) -> [URL] {
                (0...).lazy.map { dir.appendingPathComponent("\(name).\(kind)\($0).npy") }
                    .prefix { FileManager.default.fileExists(atPath: $0.path) }.map { $0 }
            }
            do {
                let graph = try ONNXImporter.load(path: dir.appendingPathComponent(name + ".onnx").path)
                let inputs = try files("in").map(npy)
                let expected = try files("out").map(npy)
                let out = try Evaluator.run(graph, inputs: inputs)
                XCTAssertEqual(out.count, expected.count, name)
                for (k, (g, w)) in zip(out, expected).enumerated() { compare(g, w, "\(name) output \(k)") }
            } catch {
                XCTFail("\(name): \(error)")
            }
        }
    }
}
