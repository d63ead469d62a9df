import Foundation
import KilnIR
import XCTest
@testable import KilnCodegen

/// The Swift mirror of the plan numbering agrees with Runtime/src/opcodes.h (every enum,
/// name by name), with kiln.h's dtype codes, and with the attribute sizes of
/// PLAN_FORMAT.md's opcode table. (KilnRuntimeTests checks the spec's opcode names and
/// numbers against opcodes.h; this is the Swift side of the triangle.)
final class OpcodesTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    static func text(_ path: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }

    /// `enum kiln_x { A = 1, B = 2, ... };` blocks of a C header: enum name → [entry: value].
    static func cEnums(_ header: String) -> [String: [String: Int]] {
        var result: [String: [String: Int]] = [:]
        var current: String?
        for raw in header.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("enum ") || line.hasPrefix("typedef enum ") {
                current = line.split(separator: " ").first { $0.hasPrefix("kiln_") }.map(String.init)
                result[current ?? ""] = [:]
            }
            guard let name = current else { continue }
            for entry in line.split(separator: ",") {
                let parts = entry.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                if parts.count == 2, parts[0].hasPrefix("KILN_"), let v = Int(parts[1]) { result[name]?[parts[0]] = v }
            }
            if line.contains("}") { current = nil }
        }
        return result
    }

    /// Swift cases as C names with `prefix`, plus the `..._COUNT` entry when the C enum has one.
    func mirror<T: CaseIterable & RawRepresentable>(_: T.Type, _ prefix: String, count: Bool) -> [String: Int] where T.RawValue: BinaryInteger {
        var m: [String: Int] = [:]
        for c in T.allCases { m[prefix + cEnumName(c)] = Int(c.rawValue) }
        if count { m[prefix + "COUNT"] = Int((T.allCases.map(\.rawValue).max() ?? 0) + 1) }
        return m
    }

    func testEveryEnumOfOpcodesHeaderMatchesTheSwiftMirror() throws {
        let enums = Self.cEnums(try Self.text("Runtime/src/opcodes.h"))
        XCTAssertEqual(enums["kiln_section_kind"], mirror(SectionKind.self, "KILN_SECTION_", count: false)
            .merging(["KILN_SECTION_KIND_COUNT": 8]) { a, _ in a })
        XCTAssertEqual(enums["kiln_storage"], mirror(StorageKind.self, "KILN_STORAGE_", count: false))
        XCTAssertEqual(enums["kiln_opcode"], mirror(Opcode.self, "KILN_OP_", count: true))
        XCTAssertEqual(enums["kiln_unary_func"], mirror(UnaryFunc.self, "KILN_UNARY_", count: true))
        XCTAssertEqual(enums["kiln_binary_func"], mirror(BinaryFunc.self, "KILN_BINARY_", count: true))
        XCTAssertEqual(enums["kiln_pool_kind"], mirror(PoolKindCode.self, "KILN_POOL_", count: false))
        XCTAssertEqual(enums["kiln_reduce_kind"], mirror(ReduceKindCode.self, "KILN_REDUCE_", count: false))
        XCTAssertEqual(enums["kiln_pad_mode"], mirror(PadModeCode.self, "KILN_PAD_", count: false))
        XCTAssertEqual(enums["kiln_resize_mode"], mirror(ResizeModeCode.self, "KILN_RESIZE_", count: false))
        XCTAssertEqual(enums["kiln_resize_coord"], mirror(CoordinateTransformCode.self, "KILN_COORD_", count: false))
        XCTAssertEqual(enums["kiln_nearest_mode"], mirror(NearestModeCode.self, "KILN_NEAREST_", count: false))
        XCTAssertEqual(enums["kiln_recurrent_kind"], mirror(RecurrentKindCode.self, "KILN_", count: false))
        XCTAssertEqual(enums["kiln_direction"], mirror(DirectionCode.self, "KILN_", count: false))
        // Every enum of the header is mirrored (a new enum there must get a Swift twin).
        XCTAssertEqual(enums.count, 13, "enums in opcodes.h: \(enums.keys.sorted())")
    }

    func testDefinesOfOpcodesHeader() throws {
        let header = try Self.text("Runtime/src/opcodes.h")
        XCTAssertTrue(header.contains("#define KILN_FLAG_CONSTANTS_ZSTD 0x1u"))
        XCTAssertTrue(header.contains("#define KILN_SECTION_OPTIONAL 0x1u"))
        XCTAssertTrue(header.contains("#define KILN_SECTION_ZSTD 0x2u"))
        XCTAssertTrue(header.contains("#define KILN_NO_TENSOR 0xFFFFFFFFu"))
        XCTAssertEqual(PlanFormat.flagConstantsZstd, 0x1)
        XCTAssertEqual(PlanFormat.sectionOptional, 0x1)
        XCTAssertEqual(PlanFormat.sectionZstd, 0x2)
        XCTAssertEqual(PlanFormat.noTensor, 0xFFFF_FFFF)
    }

    func testDTypeCodesMatchKilnHeader() throws {
        let enums = Self.cEnums(try Self.text("Runtime/include/kiln.h"))
        var swift: [String: Int] = [:]
        for d in DType.allCases { swift["KILN_" + d.rawValue.uppercased()] = Int(d.planCode) }
        XCTAssertEqual(enums["kiln_dtype"], swift)
        for d in DType.allCases { XCTAssertEqual(DType(planCode: d.planCode), d) }
        XCTAssertNil(DType(planCode: 0))
        XCTAssertNil(DType(planCode: 14))
    }

    /// The "attrs" column of PLAN_FORMAT.md §7 equals the size of each opcode's field list.
    func testAttributeSizesMatchTheSpecTable() throws {
        let spec = try Self.text("Runtime/PLAN_FORMAT.md")
        var sizes: [String: Int] = [:]
        for line in spec.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if cells.count >= 4, Int(cells[0]) != nil, let size = Int(cells[2]), cells[1] == cells[1].uppercased() {
                sizes[cells[1]] = size
            }
        }
        XCTAssertEqual(sizes.count, Opcode.allCases.count)
        for op in Opcode.allCases {
            XCTAssertEqual(op.attributeSize, sizes[cEnumName(op)], "\(cEnumName(op))")
        }
        // And the *in place* marks of the table.
        for line in spec.split(separator: "\n") where line.hasPrefix("| ") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 4, let code = UInt16(cells[0]), let op = Opcode(rawValue: code), Int(cells[2]) != nil else { continue }
            XCTAssertEqual(op.runsInPlace, cells[3].contains("*in place*"), "\(cells[1])")
        }
    }

    func testAttributeCoderRoundTripsAndRejectsOverflow() throws {
        let values: [AttributeValue] = [.i(1), .i(0), .i(0), .b(true), .b(false), .f(-0.75), .f(0.5)]
            + (0..<8).map { .f(Float($0)) } + (0..<16).map { .f(Float($0) / 4) }
        let bytes = try AttributeCoder.encode(.resize, values)
        XCTAssertEqual(bytes.count, 124)
        let decoded = try XCTUnwrap(AttributeCoder.decode(.resize, bytes[...]))
        XCTAssertEqual(decoded.flatMap(\.1), values)
        XCTAssertEqual(decoded.map(\.0).prefix(3), ["mode", "coordinate_transform", "nearest_mode"])
        XCTAssertNil(AttributeCoder.decode(.resize, bytes.dropLast()))
        XCTAssertThrowsError(try AttributeCoder.encode(.concat, [.int(1 << 40)])) { e in
            XCTAssertEqual(e as? KilnError, KilnError("attribute axis = 1099511627776 does not fit in 32 bits"))
        }
    }
}
