import XCTest
@testable import KilnIR

/// Parse errors name the offending token's line and column; no input makes the parser trap.
final class TextFormErrorTests: XCTestCase {
    private func assertError(_ text: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try Parser.parse(text), file: file, line: line) { error in
            XCTAssertEqual((error as? KilnError)?.message, message, file: file, line: line)
        }
    }

    /// A graph with input `%x: f32[2]` whose second line is `statement`.
    private func graph(_ statement: String, returning: String = "%y", header: String = "f32[2]") -> String {
        "graph @g(%x: f32[2]) -> (\(header)) {\n\(statement)\n  return \(returning)\n}\n"
    }

    func testUndefinedValue() {
        assertError(graph("  %y = relu(%foo) : f32[2]"), "2:13: use of undefined value %foo")
        // Columns count characters, not bytes.
        assertError(graph("  %\"ü\" = relu(%\"ö\") : f32[2]", returning: "%\"ü\""), "2:15: use of undefined value %\"ö\"")
    }

    func testUnknownOp() {
        assertError(graph("  %y = frobnicate(%x) : f32[2]"), "2:8: unknown op 'frobnicate'")
    }

    func testMissingUnknownAndMistypedAttributes() {
        assertError(graph("  %y = reshape(%x) : f32[2]"), "2:8: reshape: missing attribute 'shape'")
        assertError(graph("  %y = reshape(%x) {shape = [2], x = 1} : f32[2]"), "2:34: reshape: unknown attribute 'x'")
        assertError(graph("  %y = concat(%x) {axis = 1.5} : f32[2]"), "2:27: concat: attribute 'axis' must be an integer")
        assertError(graph("  %y = concat(%x) {axis = 1, axis = 2} : f32[2]"), "2:30: concat: duplicate attribute 'axis'")
        assertError(graph("  %y = cast(%x) {to = f8} : f32[2]"),
                    "2:23: cast: attribute 'to' must be one of f32, f16, bf16, f64, i8, u8, i16, u16, i32, u32, i64, u64, bool")
        assertError(graph("  %y = rnn(%x) {direction = forward, hidden_size = 2, activations = [affine(alpha = 1)], linear_before_reset = false, input_forget = false, layout = 0} : f32[2]"),
                    "2:70: rnn activation 'affine': missing attribute 'beta'")
    }

    func testResultCountMismatch() {
        assertError(graph("  %a, %b = split(%x) {axis = 0, sizes = [1, 1]} : f32[1]", returning: "%a"),
                    "2:49: split has 2 result names but 1 result types")
    }

    func testExpectedTokenMessages() {
        assertError(graph("  %y = relu(%x) f32[2]"), "2:17: expected ':', found 'f32'")
        assertError("graph @g(%x: f32[2]) -> (f32[2]) {\n  return %x\n", "3:1: expected '}', found end of input")
        assertError("", "1:1: expected 'graph', found end of input")
        assertError(graph("  %y = relu(%x) : f32[2,]"), "2:25: expected dimension, found ']'")
        assertError(graph("  %y = relu(%x) : q32[2]"), "2:19: unknown element type 'q32'")
        assertError(graph("  %y = relu(%x) : f32[2] loc(\"abc"), "2:30: unterminated string")
        assertError(graph("  %y = relu(%x) ; f32[2]"), "2:17: unexpected character ';'")
        assertError("graph @g() -> () {\n  return\n}\ngraph", "4:1: expected end of input, found 'graph'")
    }

    func testDefinitionErrors() {
        assertError(graph("  %x = relu(%x) : f32[2]", returning: "%x"), "2:3: redefinition of value %x")
        assertError(graph("  %y = relu(%x) : f32[2]", returning: "%x", header: "f32[3]"),
                    "3:10: returned value %x has type f32[2], but the graph header declares f32[3]")
        assertError(graph("  %y = relu(%x) : f32[2]", returning: "%x, %y"),
                    "3:3: return has 2 values, but the graph header declares 1 result types")
    }

    func testConstantErrors() {
        assertError(graph("  %w = constant f32[20] elided<bytes = 80, fnv1a = \"0x00\">", returning: "%x"),
                    "2:25: constant %w was printed as a summary; print the IR with --constants full to get parseable text")
        assertError(graph("  %y = constant f32[3] dense<[1, 2]>"), "2:24: dense literal has 2 elements, but f32[3] has 3")
        assertError(graph("  %y = constant i8[1] dense<[300]>"), "2:30: '300' is not a valid i8 value")
        assertError(graph("  %y = constant i32[1] dense<[1.5]>"), "2:31: '1.5' is not a valid i32 value")
        assertError(graph("  %y = constant f32[2] dense<\"0x0000\">"), "2:30: hex data has 4 digits, but f32[2] needs 8 bytes")
        assertError(graph("  %y = constant i64[2] random<seed = 1>"), "2:24: random<> constants need a float type, found i64[2]")
        assertError(graph("  %y = constant f32[99999999999,99999999999] splat<0>"), "2:17: type f32[99999999999,99999999999] is too large")
        assertError(graph("  %y = constant f32[100000,100000] splat<0>"), "2:36: constant f32[100000,100000] is too large to generate")
    }

    // MARK: - Never trap

    /// Deterministic pseudo-random numbers for the fuzz cases.
    private struct Rng {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(bound))
        }
    }

    /// Parsing either succeeds or throws a positioned KilnError.
    private func assertParsesOrThrows(_ text: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try Parser.parseGraphs(text)
        } catch let error as KilnError {
            let position = error.message.prefix { $0 != " " }
            let parts = position.dropLast().split(separator: ":")
            XCTAssertTrue(position.hasSuffix(":") && parts.count == 2 && parts.allSatisfy { Int($0) != nil },
                          "unpositioned error: \(error.message)", file: file, line: line)
        } catch {
            XCTFail("unexpected error type \(error)", file: file, line: line)
        }
    }

    func testTruncatedTextNeverTraps() throws {
        var b = GraphBuilder(name: "t")
        let x = b.input("/x", TensorType(.i8, [2], quantization: Quantization(scales: [0.5, 0.25], zeroPoints: [0, 1], axis: 0)))
        let w = b.constant(Tensor(.f16, [20], doubles: (0..<20).map(Double.init)), name: "w")
        let r = b.addNode(.recurrent(Recurrent(kind: .gru, direction: .forward, hiddenSize: 2, activations: [.sigmoid, .affine(alpha: 1, beta: 2)],
                                               clip: 1, linearBeforeReset: true, inputForget: false, layout: 0)),
                          [x, w], types: [TensorType(.f32, [2]), TensorType(.f32, [1])], names: ["a", "b"], nodeName: "gru \"1\"")
        b.output(b.addNode(.einsum(Einsum(equation: "i,i->")), [r[0], r[1]], types: [TensorType(.f32, [])], names: ["e"])[0])
        let text = Printer.print(b.graph, constants: .full)
        XCTAssertEqual(try Parser.parse(text), b.graph)
        let scalars = Array(text.unicodeScalars)
        for n in 0..<scalars.count {
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[0..<n])
            assertParsesOrThrows(String(prefix))
        }
        // Every 97th prefix of the all-ops text.
        let all = Array(Printer.print(try Parser.parse(allOpsText()), constants: .full).utf8)
        for n in stride(from: 0, to: all.count, by: 97) {
            assertParsesOrThrows(String(decoding: all[0..<n], as: UTF8.self))
        }
    }

    private func allOpsText() -> String {
        var b = GraphBuilder(name: "all")
        let x = b.input("x", TensorType(.f32, [1]))
        for op in TextFormRoundTripTests.allOps {
            if case .constant(let t) = op { b.constant(t); continue }
            b.addNode(op, [x], types: [TensorType(.f32, [1])], names: [])
        }
        return Printer.print(b.graph, constants: .full)
    }

    func testGarbageNeverTraps() {
        let pieces = ["graph", "@g", "@\"", "%a", "%\"b c\"", "%", "(", ")", "{", "}", "[", "]", "<", ">", ",", "=", ":",
                      "->", "-", "1", "-2", "1.5e-3", "99999999999999999999999", "inf", "-nan", "nan", "\"s\"", "\"\\u{", "\"\\q\"",
                      "return", "constant", "dense", "splat", "random", "elided", "quant", "loc", "f32", "i8", "bool",
                      "relu", "conv", "lstm", "split", "seed", "axis", "scales", "\n", " ", "//", "\"0x00\"", "ü", "\u{0}", "/"]
        var rng = Rng(state: 42)
        for _ in 0..<3000 {
            let count = rng.next(40)
            var text = ""
            for _ in 0..<count { text += pieces[rng.next(pieces.count)] + (rng.next(3) == 0 ? " " : "") }
            assertParsesOrThrows(text)
        }
        // Random one-character edits of a valid text.
        let base = Array(graph("  %c = constant f32[2] dense<[1.0, 2.0]>\n  %y = add(%x, %c) : f32[2] loc(\"n\")").unicodeScalars)
        let replacements = Array("%@\"(){}[]<>,=:-0123456789.eaxzf \n/\\".unicodeScalars)
        for _ in 0..<3000 {
            var edited = base
            let i = rng.next(edited.count)
            switch rng.next(3) {
            case 0: edited.remove(at: i)
            case 1: edited.insert(replacements[rng.next(replacements.count)], at: i)
            default: edited[i] = replacements[rng.next(replacements.count)]
            }
            var view = String.UnicodeScalarView()
            view.append(contentsOf: edited)
            assertParsesOrThrows(String(view))
        }
    }
}
