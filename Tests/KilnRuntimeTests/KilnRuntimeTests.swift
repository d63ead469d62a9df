import Foundation
import XCTest
@testable import KilnRuntime

/// The Swift wrapper against plans written here byte by byte from Runtime/PLAN_FORMAT.md.
final class KilnRuntimeTests: XCTestCase {
    func testVersion() {
        XCTAssertFalse(KilnRuntime.version.isEmpty)
        XCTAssertEqual(KilnRuntime.formatVersion.major, 1)
        XCTAssertEqual(RuntimeDType.f32.byteSize, 4)
        XCTAssertEqual(RuntimeDType.i64.name, "i64")
    }

    func testGarbageIsACleanError() {
        XCTAssertThrowsError(try Plan(bytes: Array("hello, not a plan".utf8))) { error in
            let e = error as? KilnRuntimeError
            XCTAssertEqual(e?.status, 4)
            XCTAssertTrue(e?.message.contains("magic") ?? false, "\(error)")
        }
        XCTAssertThrowsError(try Plan(bytes: [])) { error in
            XCTAssertTrue("\(error)".contains("magic"), "\(error)")
        }
        XCTAssertThrowsError(try Plan(path: "/nonexistent/model.kplan")) { error in
            XCTAssertTrue("\(error)".contains("cannot open"), "\(error)")
        }
    }

    func testHandBuiltPlanRuns() throws {
        let bytes = TinyPlan.addPlan(weights: [1, 2, 3, 4, 5, 6])
        let plan = try Plan(bytes: bytes)
        XCTAssertEqual(plan.inputs, [TensorInfo(name: "x", dtype: .f32, shape: [2, 3], byteCount: 24)])
        XCTAssertEqual(plan.outputs.map(\.name), ["y"])
        XCTAssertEqual(plan.metadata["producer"], "swift-test")
        XCTAssertEqual(plan.instructionCount, 1)
        let session = try Session(plan: plan, threads: 2)
        XCTAssertThrowsError(try session.run()) { XCTAssertTrue("\($0)".contains("\"x\" is not set"), "\($0)") }
        XCTAssertThrowsError(try session.setInput(0, bytes: [0, 0, 0])) { XCTAssertTrue("\($0)".contains("needs 24 bytes"), "\($0)") }
        let x: [Float] = [0.5, -1, 2, 0, 1, 1]
        try session.setInput(named: "x", bytes: x.withUnsafeBytes { Array($0) })
        try session.run()
        let y = try session.output(named: "y").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        XCTAssertEqual(y, [1.5, 1, 5, 4, 6, 7])
    }

    func testCorruptedSectionIsReported() {
        var bytes = TinyPlan.addPlan(weights: [1, 2, 3, 4, 5, 6])
        bytes[bytes.count - 3] ^= 0xFF // inside CONSTANTS, the last section
        XCTAssertThrowsError(try Plan(bytes: bytes)) { error in
            XCTAssertTrue("\(error)".contains("(CONSTANTS) checksum mismatch"), "\(error)")
        }
    }

    /// Every opcode in Runtime/src/opcodes.h appears with the same number and name in the
    /// opcode table of Runtime/PLAN_FORMAT.md, and the other way round.
    func testSpecAndHeaderListTheSameOpcodes() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let header = try String(contentsOf: root.appendingPathComponent("Runtime/src/opcodes.h"), encoding: .utf8)
        let spec = try String(contentsOf: root.appendingPathComponent("Runtime/PLAN_FORMAT.md"), encoding: .utf8)
        var fromHeader: [Int: String] = [:]
        for line in header.split(separator: "\n") {
            let t = line.trimmingCharacters(in: .whitespaces)
            guard t.hasPrefix("KILN_OP_"), !t.hasPrefix("KILN_OP_COUNT") else { continue }
            let parts = t.dropFirst("KILN_OP_".count).split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
            if parts.count == 2, let n = Int(parts[1].trimmingCharacters(in: CharacterSet(charactersIn: ","))) {
                fromHeader[n] = parts[0]
            }
        }
        var fromSpec: [Int: String] = [:]
        for line in spec.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 4, let n = Int(cells[0]), cells[1].uppercased() == cells[1], cells[1].contains(where: \.isLetter),
               Int(cells[2]) != nil {
                fromSpec[n] = cells[1]
            }
        }
        XCTAssertGreaterThanOrEqual(fromHeader.count, 40, "opcodes.h parsed too few opcodes")
        XCTAssertEqual(fromHeader, fromSpec)
    }
}

/// A minimal plan writer following PLAN_FORMAT.md: y = x + w, x input f32 [2,3], w constant.
enum TinyPlan {
    static func crc32(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data {
            c ^= UInt32(b)
            for _ in 0..<8 { c = (c >> 1) ^ (0xEDB8_8320 & (0 &- (c & 1))) }
        }
        return ~c
    }

    static func le<T: FixedWidthInteger>(_ v: T) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static func tensor(name: (UInt32, UInt32), storage: UInt8, io: UInt32, offset: UInt64) -> [UInt8] {
        var e = le(name.0) + le(name.1) + [1, 2, storage, 0] + le(io) + le(offset) + le(UInt64(24))
        e += le(UInt64(2)) + le(UInt64(3)) + [UInt8](repeating: 0, count: 48)
        e += le(UInt32(0)) + le(Int32(-1)) + le(UInt64(0))
        return e
    }

    static func addPlan(weights: [Float]) -> [UInt8] {
        let strings = Array("xyproducerswift-test".utf8)
        var tensors = le(UInt32(3)) + le(UInt32(112))
        tensors += tensor(name: (0, 1), storage: 2, io: 0, offset: 0)    // x: input, arena 0
        tensors += tensor(name: (0, 0), storage: 1, io: 0, offset: 0)    // w: constant 0
        tensors += tensor(name: (1, 1), storage: 3, io: 0, offset: 64)   // y: output, arena 64
        let attributes = le(Int32(1))                                     // BINARY add
        var program = le(UInt32(1)) + le(UInt32(0)) + le(UInt64(128))
        program += le(UInt16(3)) + [2, 1] + le(UInt32(0)) + le(UInt32(4)) + le(UInt32(0)) + le(UInt32(1)) + le(UInt32(2))
        let metadata = le(UInt32(1)) + le(UInt32(0)) + le(UInt32(2)) + le(UInt32(8)) + le(UInt32(10)) + le(UInt32(10))
        let constants = weights.flatMap { le($0.bitPattern) }
        let sections: [(UInt32, [UInt8])] = [(1, strings), (2, tensors), (4, attributes), (5, program), (6, metadata), (3, constants)]
        var file = Array("KILNPLAN".utf8) + le(UInt16(1)) + le(UInt16(0)) + le(UInt32(0)) + le(UInt32(sections.count)) + le(UInt32(0))
        let tableStart = file.count
        file += [UInt8](repeating: 0, count: 40 * sections.count)
        for (i, (kind, body)) in sections.enumerated() {
            let align = kind == 3 ? 64 : 8
            while file.count % align != 0 { file.append(0) }
            let entry = le(kind) + le(UInt32(0)) + le(UInt64(file.count)) + le(UInt64(body.count)) + le(UInt64(body.count))
                + le(crc32(body)) + le(UInt32(0))
            file.replaceSubrange((tableStart + 40 * i)..<(tableStart + 40 * (i + 1)), with: entry)
            file += body
        }
        let headerCRC = crc32(Array(file[0..<(tableStart + 40 * sections.count)]))
        file.replaceSubrange(20..<24, with: le(headerCRC))
        return file
    }
}
