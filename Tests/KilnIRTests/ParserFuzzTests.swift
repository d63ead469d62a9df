import Foundation
import KilnTestSupport
import XCTest
@testable import KilnIR

/// Mutation fuzzing of the `.kir` parser: byte and token mutations of real IR text (the
/// tiny Graphs models in Fixtures/fuzz, printed by `kiln inspect --constants full`, and the
/// pass test files). Every case must parse or throw `KilnError` — a trap kills the test
/// process and leaves the input in $TMPDIR/kiln-fuzz-kir-current. A graph that parses must
/// print, and its printed form must parse back to the same text.
final class ParserFuzzTests: XCTestCase {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func seeds() throws -> [[UInt8]] {
        var texts: [String] = []
        let fixtures = repo.appendingPathComponent("Tests/KilnIRTests/Fixtures/fuzz")
        for name in try FileManager.default.contentsOfDirectory(atPath: fixtures.path).sorted() where name.hasSuffix(".kir") {
            texts.append(try String(contentsOf: fixtures.appendingPathComponent(name), encoding: .utf8))
        }
        let passes = repo.appendingPathComponent("Tests/KilnPassesTests/Inputs")
        let enumerator = FileManager.default.enumerator(atPath: passes.path)
        var passFiles: [String] = []
        while let path = enumerator?.nextObject() as? String { if path.hasSuffix(".kir") { passFiles.append(path) } }
        for path in passFiles.sorted() {
            let text = try String(contentsOf: passes.appendingPathComponent(path), encoding: .utf8)
            texts += text.components(separatedBy: "// -----").filter { $0.contains("graph") }
        }
        return texts.map { Array($0.utf8) }
    }

    /// Tokens of the grammar and boundary literals, for insertion.
    static let tokens: [[UInt8]] = [
        "%", "@", "(", ")", "[", "]", "{", "}", "<", ">", ",", ":", "=", "->", "\"", "//", "\n", " ", "graph", "return",
        "constant", "dense", "splat", "random", "quant", "loc", "f32", "i64", "bool", "i8", "u8", "f16", "bf16", "0",
        "-1", "1e309", "nan", "-inf", "9223372036854775807", "9223372036854775808", "18446744073709551616",
        "0x", "\"0xZZ\"", "\u{0}", "\u{FFFD}", "é", "seed = ", "axis = ",
    ].map { Array($0.utf8) }

    func testMutatedIRParsesOrThrowsKilnError() throws {
        let seeds = try Self.seeds()
        XCTAssertGreaterThan(seeds.count, 20)
        var mutator = FuzzMutator(seed: 0x6B69_6C6E_6B69_7221)
        let budget = FuzzBudget(iterations: 4000)
        var done = 0, parsed = 0
        while budget.more(done) {
            let seed = seeds[mutator.below(seeds.count)], other = seeds[mutator.below(seeds.count)]
            let bytes = mutator.mutate(seed, other: other, extra: Self.tokens)
            let recorded = fuzzRecordCurrent(bytes, target: "kir")
            let text = String(decoding: bytes, as: UTF8.self)
            done += 1
            do {
                let graph = try Parser.parse(text)
                parsed += 1
                let printed = Printer.print(graph, constants: .full)
                do {
                    let again = Printer.print(try Parser.parse(printed), constants: .full)
                    XCTAssertEqual(again, printed, "case \(done): printed IR does not round-trip (input in \(recorded.path))")
                } catch {
                    XCTFail("case \(done): printed IR does not parse: \(error) (input in \(recorded.path))\n\(printed)")
                }
                _ = try? Verifier.verify(graph)
            } catch is KilnError {
            } catch {
                XCTFail("case \(done): parser threw \(type(of: error)), not KilnError: \(error) (input in \(recorded.path))")
            }
        }
        print("fuzz: kir \(done) executions, \(parsed) parsed")
        XCTAssertGreaterThan(parsed, 0)
    }
}
