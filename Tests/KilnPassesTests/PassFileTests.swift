import Foundation
import XCTest
import KilnIR
@testable import KilnPasses

/// Runs every `Inputs/<pass>/*.kir` file: the `// RUN: kiln opt %s --passes a,b` line names
/// the pipeline; cases are separated by `// -----`; each case's output must satisfy its
/// CHECK lines, and graphs named `@dont_…` must come out unchanged.
final class PassFileTests: XCTestCase {
    static var inputs: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Inputs")
    }

    func testAllPassFiles() throws {
        let files = FileManager.default.enumerator(at: Self.inputs, includingPropertiesForKeys: nil)!
            .compactMap { $0 as? URL }.filter { $0.pathExtension == "kir" }.sorted { $0.path < $1.path }
        XCTAssertGreaterThan(files.count, 0)
        var cases = 0
        for file in files {
            let text = try String(contentsOf: file, encoding: .utf8)
            guard let run = text.split(separator: "\n").first(where: { $0.contains("RUN:") }),
                  let passesArg = run.range(of: "--passes ") else {
                XCTFail("\(file.lastPathComponent): no `// RUN: kiln opt %s --passes …` line")
                continue
            }
            let passes = run[passesArg.upperBound...].split(separator: " ")[0].split(separator: ",").map(String.init)
            for chunk in text.components(separatedBy: "\n// -----\n") {
                guard chunk.contains("graph @") else { continue }
                cases += 1
                let name = "\(file.deletingLastPathComponent().lastPathComponent)/\(file.lastPathComponent)"
                do {
                    let input = try Parser.parse(chunk)
                    try Verifier.verify(input)
                    var graph = input
                    try PassManager.run(&graph, context: PassContext(explicitPasses: passes, verifyEach: true))
                    let output = Printer.print(graph, constants: .summary)
                    if let problem = FileCheck(source: chunk).check(output) {
                        XCTFail("\(name) @\(input.name): \(problem)")
                    }
                    if input.name.hasPrefix("dont_") {
                        var original = input
                        original.compact()
                        XCTAssertEqual(output, Printer.print(original, constants: .summary), "\(name) @\(input.name) must stay unchanged")
                    }
                } catch {
                    XCTFail("\(name): \(error)")
                }
            }
        }
        XCTAssertGreaterThan(cases, 0)
    }
}

final class FileCheckTests: XCTestCase {
    func testDirectives() {
        let out = "a = relu(x)\nb = add(a, a)\nreturn b"
        XCTAssertNil(FileCheck(source: "// CHECK: relu\n// CHECK-NEXT: add\n// CHECK-NOT: sigmoid").check(out))
        XCTAssertNotNil(FileCheck(source: "// CHECK: add\n// CHECK-NEXT: relu").check(out))
        XCTAssertNotNil(FileCheck(source: "// CHECK-NOT: add\n// CHECK: return").check(out))
        XCTAssertNil(FileCheck(source: "// CHECK: b = {{[a-z]+}}(a, a)").check(out))
        XCTAssertNotNil(FileCheck(source: "// CHECK: b = {{[0-9]+}}(a, a)").check(out))
    }
}
