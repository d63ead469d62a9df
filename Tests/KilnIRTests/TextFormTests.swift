import XCTest
@testable import KilnIR

final class TextFormTests: XCTestCase {
    private func f32(_ dims: Int...) -> TensorType { TensorType(.f32, Shape(dims)) }

    /// A small graph with quoted names, a node name, multiple results, an optional attribute
    /// left out, and small, large and integer constants.
    private func tinyGraph() -> Graph {
        var b = GraphBuilder(name: "tiny")
        let x = b.input("x", f32(1, 4))
        let mask = b.input("/in/mask", TensorType(.bool, [1, 4]))
        let w = b.constant(Tensor([2, 4], floats: [1, -2, 0.5, 0, 3, 1e-5, -0.0, 100]), name: "fc.weight")
        b.constant(Tensor(zeros: f32(20)), name: "big")
        b.constant(Tensor(.i64, [2], int64s: [2, -1]), name: "axes")
        let y = b.addNode(.gemm(Gemm(alpha: 1, beta: 0.5, transA: false, transB: true)), [x, w],
                          types: [f32(1, 2)], names: ["onnx::Gemm_7"], nodeName: "/fc/Gemm")[0]
        let r = b.addNode(.unary(.leakyRelu(alpha: 0.01)), [y], types: [f32(1, 2)], names: ["y"])[0]
        let parts = b.addNode(.split(Split(axis: 1, sizes: [1, 1])), [r], types: [f32(1, 1), f32(1, 1)], names: ["a", "b"])
        let c = b.addNode(.clip(Clip(min: nil, max: 6)), [parts[0]], types: [f32(1, 1)], names: ["c"])[0]
        let s = b.addNode(.binary(.add), [c, parts[1]], types: [f32(1, 1)], names: ["sum \"q\\"])[0]
        let n = b.addNode(.sizeOf(SizeOf()), [mask], types: [TensorType(.i64, [])], names: ["n"])[0]
        b.output(s)
        b.output(n)
        return b.graph
    }

    func testPrintsExactSummaryText() {
        let expected = """
            graph @tiny(%x: f32[1,4], %"/in/mask": bool[1,4]) -> (f32[1,1], i64[]) {
              %fc.weight = constant f32[2,4] dense<[1.0, -2.0, 0.5, 0.0, 3.0, 1e-05, -0.0, 100.0]>
              %big = constant f32[20] elided<bytes = 80, fnv1a = "0xf14b84b8290b8965">
              %axes = constant i64[2] dense<[2, -1]>
              %"onnx::Gemm_7" = gemm(%x, %fc.weight) {alpha = 1.0, beta = 0.5, trans_a = false, trans_b = true} : f32[1,2] loc("/fc/Gemm")
              %y = leaky_relu(%"onnx::Gemm_7") {alpha = 0.01} : f32[1,2]
              %a, %b = split(%y) {axis = 1, sizes = [1, 1]} : f32[1,1], f32[1,1]
              %c = clip(%a) {max = 6.0} : f32[1,1]
              %"sum \\"q\\\\" = add(%c, %b) : f32[1,1]
              %n = size(%"/in/mask") : i64[]
              return %"sum \\"q\\\\", %n
            }

            """
        XCTAssertEqual(Printer.print(tinyGraph()), expected)
    }

    func testFullTextPrintsHexAndParsesBack() throws {
        let g = tinyGraph()
        let text = Printer.print(g, constants: .full)
        let zeros = String(repeating: "0", count: 160)
        XCTAssertTrue(text.contains("  %big = constant f32[20] dense<\"0x\(zeros)\">\n"), text)
        let parsed = try Parser.parse(text)
        XCTAssertEqual(parsed, g)
        XCTAssertEqual(Printer.print(parsed, constants: .full), text)
    }

    func testHexIsLittleEndianStorageOrder() throws {
        var b = GraphBuilder(name: "g")
        b.output(b.constant(Tensor([17], floats: [1] + [Float](repeating: 0, count: 16)), name: "w"))
        let text = Printer.print(b.graph, constants: .full)
        XCTAssertTrue(text.contains("dense<\"0x0000803F" + String(repeating: "0", count: 128) + "\">"), text)
        XCTAssertEqual(try Parser.parse(text), b.graph)
    }

    func testQuotedNamesRoundTrip() throws {
        var b = GraphBuilder(name: "my model/v2")
        let names = ["/layer1/Conv_output_0", "onnx::Conv_12", "a b", "quote\"back\\slash", "tab\tnew\nline", "ünï", "-.$_9"]
        var last = b.input(names[0], f32(2))
        for name in names.dropFirst() {
            last = b.addNode(.unary(.relu), [last], types: [f32(2)], names: [name], nodeName: "node " + name)[0]
        }
        b.output(last)
        let text = Printer.print(b.graph)
        XCTAssertTrue(text.hasPrefix("graph @\"my model/v2\"(%\"/layer1/Conv_output_0\": f32[2])"), text)
        XCTAssertTrue(text.contains("%\"tab\\tnew\\nline\" = relu(%\"quote\\\"back\\\\slash\") : f32[2] loc(\"node tab\\tnew\\nline\")"), text)
        XCTAssertTrue(text.contains("%-.$_9 = relu(%\"ünï\")"), text)
        let parsed = try Parser.parse(text)
        XCTAssertEqual(parsed, b.graph)
        XCTAssertEqual(parsed.values.map(\.name), names)
    }

    func testQuantizedTypesRoundTrip() throws {
        let perAxis = TensorType(.i8, [2, 3], quantization: Quantization(scales: [0.1, 0.2], zeroPoints: [0, -3], axis: 0))
        let perTensor = TensorType(.u8, [3], quantization: Quantization(scales: [0.5], zeroPoints: [128]))
        XCTAssertEqual(Printer.typeText(perAxis), "i8[2,3] quant<scales = [0.1, 0.2], zero_points = [0, -3], axis = 0>")
        XCTAssertEqual(Printer.typeText(perTensor), "u8[3] quant<scales = [0.5], zero_points = [128]>")

        var b = GraphBuilder(name: "q")
        let x = b.input("x", perAxis)
        var t = Tensor(.u8, [3], int64s: [0, 128, 255])
        t.type = perTensor
        let c = b.constant(t, name: "c")
        let y = b.addNode(.dequantizeLinear(DequantizeLinear(axis: 0, blockSize: 0)), [x, c], types: [perTensor], names: ["y"])[0]
        b.output(y)
        let text = Printer.print(b.graph, constants: .full)
        XCTAssertTrue(text.contains("%c = constant u8[3] quant<scales = [0.5], zero_points = [128]> dense<[0, 128, 255]>\n"), text)
        XCTAssertTrue(text.contains("-> (u8[3] quant<scales = [0.5], zero_points = [128]>)"), text)
        XCTAssertEqual(try Parser.parse(text), b.graph)
    }

    // MARK: - Constants

    private func roundTripConstant(_ t: Tensor, expectedData: String, file: StaticString = #filePath, line: UInt = #line) throws {
        var b = GraphBuilder(name: "c")
        b.output(b.constant(t, name: "k"))
        let text = Printer.print(b.graph, constants: .full)
        XCTAssertEqual(text, "graph @c() -> (\(Printer.typeText(t.type))) {\n  %k = constant \(Printer.typeText(t.type)) \(expectedData)\n  return %k\n}\n", file: file, line: line)
        let parsed = try Parser.parse(text)
        XCTAssertEqual(parsed.constantValue(ValueID(0))?.bytes, t.bytes, file: file, line: line)
        XCTAssertEqual(parsed, b.graph, file: file, line: line)
    }

    private func bytes16(_ values: [UInt16]) -> [UInt8] { values.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] } }

    func testFloat16Constants() throws {
        // 0.1 → 0x2E66, -0.0, inf, max 65504, smallest subnormal 2^-24 ≈ 5.96e-08, 1.0
        let t = Tensor(type: TensorType(.f16, [6]), bytes: bytes16([0x2E66, 0x8000, 0x7C00, 0x7BFF, 0x0001, 0x3C00]))
        try roundTripConstant(t, expectedData: "dense<[0.1, -0.0, inf, 65504.0, 6e-08, 1.0]>")
    }

    func testBFloat16Constants() throws {
        // 0x3DCD = 0.10009765625 (shortest f32 spelling 0.100097656), 0xC040 = -3.0, 0x0001 = smallest subnormal (9.18e-41), 0xFF80 = -inf
        let t = Tensor(type: TensorType(.bf16, [4]), bytes: bytes16([0x3DCD, 0xC040, 0x0001, 0xFF80]))
        try roundTripConstant(t, expectedData: "dense<[0.100097656, -3.0, 9.1835e-41, -inf]>")
    }

    func testIntegerAndBoolConstants() throws {
        try roundTripConstant(Tensor(.i64, [3], int64s: [Int64.min, -1, Int64.max]),
                              expectedData: "dense<[-9223372036854775808, -1, 9223372036854775807]>")
        try roundTripConstant(Tensor(.bool, [2, 2], int64s: [1, 0, 0, 1]), expectedData: "dense<[true, false, false, true]>")
        try roundTripConstant(Tensor(.i8, [2], int64s: [-128, 127]), expectedData: "dense<[-128, 127]>")
        try roundTripConstant(Tensor(.u64, [1], int64s: [-1]), expectedData: "dense<[18446744073709551615]>")
        try roundTripConstant(Tensor(.f64, [2], doubles: [0.1, -1e300]), expectedData: "dense<[0.1, -1e+300]>")
        try roundTripConstant(Tensor(.f32, [], doubles: [2.5]), expectedData: "dense<[2.5]>")
        try roundTripConstant(Tensor(.f32, [0, 3], doubles: []), expectedData: "dense<[]>")
    }

    func testNaNWithPayloadFallsBackToHex() throws {
        // 0x7FC00001: a quiet NaN with a payload; its decimal spelling would lose the payload.
        let t = Tensor(type: TensorType(.f32, [1]), bytes: [0x01, 0x00, 0xC0, 0x7F])
        try roundTripConstant(t, expectedData: "dense<\"0x0100C07F\">")
        var b = GraphBuilder(name: "c")
        b.output(b.constant(t, name: "k"))
        XCTAssertTrue(Printer.print(b.graph, constants: .summary).contains("dense<\"0x0100C07F\">"))
    }

    func testSplatAndRandomConstants() throws {
        let g = try Parser.parse("""
            // hand-written weights
            graph @w() -> (f32[2,2], i32[3], f32[4], bf16[3], f32[1]) {
              %s = constant f32[2,2] splat<1.5>
              %i = constant i32[3] splat<-7>
              %r = constant f32[4] random<seed = 7>   // SplitMix64
              %h = constant bf16[3] random<seed = 7>
              %z = constant f32[1] random<seed = 0>
              return %s, %i, %r, %h, %z
            }
            """)
        XCTAssertEqual(g.constantValue(ValueID(0)), Tensor([2, 2], floats: [1.5, 1.5, 1.5, 1.5]))
        XCTAssertEqual(g.constantValue(ValueID(1)), Tensor(.i32, [3], int64s: [-7, -7, -7]))
        // Expected values from an independent Python SplitMix64: top 24 (f32) or 8 (bf16)
        // bits k of each output, 2k/2^bits - 1. Seed 0's first output is 0xE220A8397B1DCDAF.
        XCTAssertEqual(g.constantValue(ValueID(2))?.doubles,
                       [-0.22034060955047607, -0.966423511505127, 0.8015213012695312, 0.16586053371429443])
        XCTAssertEqual(g.constantValue(ValueID(3))?.doubles, [-0.2265625, -0.96875, 0.796875])
        XCTAssertEqual(g.constantValue(ValueID(4))?.doubles, [Double(0xE220A8) / 8388608 - 1])
        // The printer writes the data, never random<>.
        XCTAssertTrue(Printer.print(g, constants: .full).contains("%r = constant f32[4] dense<[-0.22034061, -0.9664235, 0.8015213, 0.16586053]>"))
    }

    func testCommentsAndSeveralGraphs() throws {
        let graphs = try Parser.parseGraphs("""
            graph @a(%x: f32[1]) -> (f32[1]) {
              return %x   // identity graph
            }
            // -----
            graph @b() -> () {
              return
            }
            """)
        XCTAssertEqual(graphs.map(\.name), ["a", "b"])
        XCTAssertEqual(graphs[0].outputs, [ValueID(0)])
        XCTAssertEqual(graphs[1].values.count, 0)
    }

    func testFloatAttributeSpellingsRoundTripBitExactly() throws {
        let alphas: [Float] = [0.01, 1e-5, -Float.infinity, .infinity, .leastNonzeroMagnitude, .greatestFiniteMagnitude,
                               -0.0, 1.0 / 3.0, 16777216, 1e38]
        var b = GraphBuilder(name: "f")
        let x = b.input("x", f32(1))
        for alpha in alphas {
            b.output(b.addNode(.unary(.elu(alpha: alpha)), [x], types: [f32(1)], names: [])[0])
        }
        let text = Printer.print(b.graph)
        XCTAssertTrue(text.contains("elu(%x) {alpha = 1e-05}"), text)
        XCTAssertTrue(text.contains("elu(%x) {alpha = -inf}"), text)
        let parsed = try Parser.parse(text)
        for (node, alpha) in zip(parsed.nodes, alphas) {
            guard case .unary(.elu(let parsedAlpha)) = node.op else { return XCTFail("not elu") }
            XCTAssertEqual(parsedAlpha.bitPattern, alpha.bitPattern)
        }
        // NaN never compares equal, so check it separately.
        let nan = try Parser.parse("graph @n(%x: f32[1]) -> (f32[1]) {\n %y = elu(%x) {alpha = nan} : f32[1]\n return %y\n}")
        guard case .unary(.elu(let a)) = nan.nodes[0].op else { return XCTFail("not elu") }
        XCTAssertTrue(a.isNaN)
    }
}
