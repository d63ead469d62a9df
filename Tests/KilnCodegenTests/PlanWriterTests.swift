import KilnIR
import KilnRuntime
import XCTest
@testable import KilnCodegen

final class PlanWriterTests: XCTestCase {
    typealias R = RunSupport

    /// x [1,2,4,4] → conv 3x3 → relu → max pool; w and its copy pack to the same panels
    /// (stored once);
    /// a quantized input's parameters go to QPARAMS.
    func makeGraph() throws -> Graph {
        var b = GraphBuilder(name: "small")
        let x = b.input("x", TensorType(.f32, [1, 2, 4, 4]))
        let w = b.constant(R.random([2, 2, 3, 3], seed: 11), name: "w")
        let w2 = b.constant(R.random([2, 2, 3, 3], seed: 11), name: "w_copy")
        let c = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [x, w], name: "c")
        let c2 = try b.add1(.conv(Conv(strides: [1, 1], pads: [1, 1, 1, 1], dilations: [1, 1], group: 1)), [c, w2], name: "c2")
        let r = try b.add1(.unary(.relu), [c2], name: "r")
        let p = try b.add1(.pool(Pool(kind: .max, kernel: [2, 2], strides: [2, 2], pads: [0, 0, 0, 0], dilations: [1, 1],
                                      ceilMode: false, countIncludePad: false)), [r], name: "y")
        let qv = b.input("q", TensorType(.i8, [2], quantization: Quantization(scales: [0.5], zeroPoints: [1])))
        let dq = try b.add1(.dequantizeLinear(DequantizeLinear(axis: nil, blockSize: 0)),
                            [qv, b.constant(Tensor.scalar(0.5)), b.constant(Tensor(.i8, [], int64s: [1]))], name: "dq")
        let sum = try b.add1(.binary(.add), [dq, b.input("z", TensorType(.f32, [2]))], name: "sum")
        b.output(p)
        b.output(sum)
        return b.graph
    }

    func testWriterReaderRoundTrip() throws {
        let g = try makeGraph()
        for compress in [true, false] {
            let compiled = try PlanCompiler.compile(g, options: PlanOptions(compress: compress, sourceSHA256: "ab12", pipeline: "-O0"))
            let file = try PlanReader.read(compiled.bytes)
            XCTAssertEqual(file.major, 1)
            // Compressed: the table sections zstd makes smaller are frames too (format 1.2).
            XCTAssertEqual(file.minor, compress ? 2 : 0)
            XCTAssertEqual(file.flags, compress ? 1 : 0)
            XCTAssertEqual(file.sections.map(\.name), ["STRINGS", "TENSORS", "ATTRIBUTES", "PROGRAM", "METADATA", "QPARAMS", "CONSTANTS"])
            let tables = file.sections.filter { $0.name == "STRINGS" || $0.name == "TENSORS" }
            XCTAssertEqual(tables.map { $0.flags & PlanFormat.sectionZstd != 0 }, [compress, compress])
            XCTAssertEqual(tables.map { $0.storedSize < $0.uncompressedSize }, [compress, compress])
            XCTAssertEqual(file.sections.filter { $0.flags & PlanFormat.sectionZstd == 0 }.allSatisfy { $0.name == "CONSTANTS" || $0.storedSize == $0.uncompressedSize }, true)
            let constants = try XCTUnwrap(file.sections.last)
            XCTAssertEqual(constants.offset % 64, 0)
            XCTAssertEqual(constants.storedSize < constants.uncompressedSize, compress)
            XCTAssertEqual(file.arenaSize, compiled.memory.arenaSize)
            XCTAssertEqual(file.metadata.map(\.key), ["producer", "producer_version", "source_sha256", "pipeline", "arena_size", "peak_memory"])
            XCTAssertEqual(file.metadata("producer"), "kiln")
            XCTAssertEqual(file.metadata("source_sha256"), "ab12")
            XCTAssertEqual(file.metadata("arena_size"), String(compiled.memory.arenaSize))

            let p = compiled.program
            XCTAssertEqual(file.tensors.count, p.tensors.count)
            for (entry, t) in zip(file.tensors, p.tensors) {
                XCTAssertEqual(entry.name, t.name)
                XCTAssertEqual(entry.dtype, t.type.dtype)
                XCTAssertEqual(entry.dims, t.type.shape.dims)
                XCTAssertEqual(entry.storage, t.storageKind)
                XCTAssertEqual(entry.byteSize, t.type.byteCount)
                if case .constant(let value) = t.storage {
                    XCTAssertEqual(Array(file.constantBytes(entry)), value.bytes, t.name)
                    XCTAssertEqual(entry.offset % 64, 0)
                }
                XCTAssertEqual(entry.scales, t.type.quantization?.scales ?? [])
                XCTAssertEqual(entry.zeroPoints, t.type.quantization?.zeroPoints ?? [])
            }
            // The two convs' packed weights are equal: stored once.
            let w = file.tensors.filter { $0.name == "c.packed" || $0.name == "c2.packed" }
            XCTAssertEqual(w.count, 2)
            XCTAssertEqual(w[0].offset, w[1].offset)
            XCTAssertEqual(file.instructions.map(\.opcode), p.instructions.map(\.opcode))
            for (entry, ins) in zip(file.instructions, p.instructions) {
                XCTAssertEqual(entry.attributes, ins.attributes)
                XCTAssertEqual(entry.operands, ins.operands.map { $0.map(UInt32.init) ?? PlanFormat.noTensor })
                XCTAssertEqual(entry.results, ins.results.map { $0.map(UInt32.init) ?? PlanFormat.noTensor })
            }
            // The runtime loads it and agrees with the evaluator.
            let plan = try Plan(bytes: compiled.bytes)
            XCTAssertEqual(plan.metadata["pipeline"], "-O0")
            XCTAssertEqual(plan.arenaSize, compiled.memory.arenaSize)
            try R.checkAgainstEvaluator(g, inputs: [R.random([1, 2, 4, 4], seed: 1), Tensor(.i8, [2], int64s: [3, -4]), R.random([2], seed: 2)], compress: compress)
        }
    }

    func testPlansAreDeterministic() throws {
        let options = PlanOptions(compress: true, sourceSHA256: "00", pipeline: "-O2")
        let a = try PlanCompiler.compile(try makeGraph(), options: options).bytes
        let b = try PlanCompiler.compile(try makeGraph(), options: options).bytes
        XCTAssertEqual(a, b)
        let raw1 = try PlanCompiler.compile(try makeGraph(), options: PlanOptions(compress: false)).bytes
        let raw2 = try PlanCompiler.compile(try makeGraph(), options: PlanOptions(compress: false)).bytes
        XCTAssertEqual(raw1, raw2)
        XCTAssertNotEqual(a, raw1)
    }

    func testReaderReportsCorruption() throws {
        let bytes = try PlanCompiler.compile(try makeGraph()).bytes
        var flipped = bytes
        let file = try PlanReader.read(bytes)
        let program = try XCTUnwrap(file.sections.first { $0.name == "PROGRAM" })
        flipped[program.offset + 3] ^= 0x40
        XCTAssertThrowsError(try PlanReader.read(flipped)) { e in
            XCTAssertEqual(e as? KilnError, KilnError("plan: section PROGRAM checksum mismatch"))
        }
        XCTAssertThrowsError(try PlanReader.read(Array(bytes[0..<100]))) { e in
            XCTAssertEqual(e as? KilnError, KilnError("plan: truncated section table"))
        }
        XCTAssertThrowsError(try PlanReader.read(Array("not a plan at all, really".utf8))) { e in
            XCTAssertEqual(e as? KilnError, KilnError("plan: not a Kiln plan (no KILNPLAN header)"))
        }
        // Every truncation is a clean error.
        for n in stride(from: 0, to: bytes.count, by: 97) {
            XCTAssertThrowsError(try PlanReader.read(Array(bytes[0..<n])))
        }
    }

    func testInspectReportShowsTheMemoryPlan() throws {
        let compiled = try PlanCompiler.compile(try makeGraph(), options: PlanOptions(compress: false))
        let report = try PlanReader.read(compiled.bytes).report
        XCTAssertTrue(report.contains("plan format 1.0, flags 0x0, 7 sections"), report)
        XCTAssertTrue(report.contains("0: CONV2D_PACKED %x, %c.packed, - -> %c  {kernel_h=3 kernel_w=3"), report)
        XCTAssertTrue(report.contains("memory plan: arena \(compiled.memory.arenaSize) bytes"), report)
        let pool = try XCTUnwrap(compiled.program.instructions.firstIndex { $0.opcode == .pool2d })
        let yLine = try XCTUnwrap(report.split(separator: "\n").last { $0.contains(" y ") })
        XCTAssertTrue(yLine.hasSuffix("[\(pool), end]"), String(yLine))
        let xLine = try XCTUnwrap(report.split(separator: "\n").last { $0.contains(" x ") })
        XCTAssertTrue(xLine.hasSuffix("[in, end]"), String(xLine))
    }
}
