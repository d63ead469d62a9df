import Foundation
import KilnIR
import KilnONNX
import KilnPasses
import XCTest
@testable import KilnCodegen

/// Every model in Graphs/: the memory plan never lets two live tensors share bytes (except
/// exact in-place/alias sharing), and the compiled plan, run by the C runtime at -O0 and
/// -O2, matches ONNX Runtime's outputs (Graphs/<name>/expected) within the manifest's
/// tolerances.
final class GraphsTests: XCTestCase {
    static let root = OpcodesTests.root.appendingPathComponent("Graphs")

    struct Model {
        var name: String
        var file: String
        var inputs: [(name: String, file: String)]
        var outputs: [(name: String, file: String)]
        var rtol: Double
        var atol: Double
    }

    static func models() throws -> [Model] {
        let data = try Data(contentsOf: root.appendingPathComponent("manifest.json"))
        let json = try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let models = try XCTUnwrap(json["models"] as? [String: [String: Any]])
        return models.keys.sorted().compactMap { name in
            guard let m = models[name], let file = m["file"] as? String else { return nil }
            func io(_ key: String) -> [(String, String)] {
                (m[key] as? [[String: Any]] ?? []).map { ($0["name"] as? String ?? "", $0["file"] as? String ?? "") }
            }
            return Model(name: name, file: file, inputs: io("inputs"), outputs: io("outputs"),
                         rtol: m["rtol"] as? Double ?? 1e-4, atol: m["atol"] as? Double ?? 1e-5)
        }
    }

    static func npy(_ path: String) throws -> Tensor {
        try Npy.decode(Array(try Data(contentsOf: root.appendingPathComponent(path))), what: path)
    }

    func compile(_ m: Model, level: OptLevel) throws -> (Graph, CompiledPlan) {
        var g = try ONNXImporter.load(path: Self.root.appendingPathComponent(m.file).path)
        try PassManager.run(&g, context: PassContext(optLevel: level))
        return (g, try PlanCompiler.compile(g))
    }

    func testMemoryPlansHaveNoOverlaps() throws {
        let models = try Self.models()
        XCTAssertGreaterThanOrEqual(models.count, 12)
        for m in models {
            for level in [OptLevel.o0, .o2] {
                let (_, plan) = try compile(m, level: level)
                XCTAssertTrue(plan.memory.overlaps.isEmpty, "\(m.name) -O\(level.rawValue): buffers overlap")
                // Independently of the planner's buffers: tensors whose lifetimes (read off the
                // written plan) intersect either occupy disjoint bytes or exactly the same bytes.
                let file = try PlanReader.read(plan.bytes)
                let life = file.lifetimes
                for i in file.tensors.indices {
                    guard let li = life[i], file.tensors[i].byteSize > 0 else { continue }
                    let a = file.tensors[i]
                    XCTAssertLessThanOrEqual(a.offset + a.byteSize, file.arenaSize, "\(m.name): \(a.name) outside the arena")
                    for j in (i + 1)..<file.tensors.count {
                        guard let lj = life[j], li.overlaps(lj), file.tensors[j].byteSize > 0 else { continue }
                        let b = file.tensors[j]
                        let overlap = a.offset < b.offset + b.byteSize && b.offset < a.offset + a.byteSize
                        let same = a.offset == b.offset && a.byteSize == b.byteSize
                        XCTAssertTrue(!overlap || same, "\(m.name) -O\(level.rawValue): \(a.name) and \(b.name) overlap")
                    }
                }
            }
        }
    }

    func testModelsMatchOnnxRuntime() throws {
        for m in try Self.models() {
            for level in [OptLevel.o0, .o2] {
                let (g, plan) = try compile(m, level: level)
                // Inputs and outputs matched by name.
                let inputs = try g.inputs.map { v in try Self.npy(try XCTUnwrap(m.inputs.first { $0.name == g[v].name }).file) }
                let outs = try RunSupport.run(plan.bytes, inputs: inputs, outputTypes: g.outputs.map { g.type(of: $0) })
                XCTAssertEqual(outs.count, m.outputs.count)
                for (v, got) in zip(g.outputs, outs) {
                    let want = try Self.npy(try XCTUnwrap(m.outputs.first { $0.name == g[v].name }).file)
                    let (err, ok) = RunSupport.compare(got, want, rtol: m.rtol, atol: m.atol)
                    XCTAssertTrue(ok, "\(m.name) -O\(level.rawValue) output \(g[v].name): max error \(err)")
                }
            }
        }
    }
}
