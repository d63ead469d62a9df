import Foundation
import XCTest
@testable import KilnIR

final class NpyTests: XCTestCase {
    func fixture(_ name: String) throws -> [UInt8] {
        let dir = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/npy")
        return Array(try Data(contentsOf: dir.appendingPathComponent(name)))
    }

    func testReadsFloat32Matrix() throws {
        let t = try Npy.decode(fixture("f32_2x3.npy"))
        XCTAssertEqual(t.type, TensorType(.f32, [2, 3]))
        XCTAssertEqual(t.floats, [0, 0.25, 0.5, 0.75, 1.0, 1.25])
    }

    func testReadsBigEndianInt32() throws {
        let t = try Npy.decode(fixture("i32_big_endian.npy"))
        XCTAssertEqual(t.dtype, .i32)
        XCTAssertEqual(t.int64s, [1, -2, 300000])
    }

    func testReadsBoolScalarAndHalf() throws {
        XCTAssertEqual(try Npy.decode(fixture("bool_4.npy")).int64s, [1, 0, 0, 1])
        let s = try Npy.decode(fixture("i64_scalar.npy"))
        XCTAssertEqual(s.shape, Shape([]))
        XCTAssertEqual(s.int64s, [-7])
        XCTAssertEqual(try Npy.decode(fixture("f16_3.npy")).doubles, [0.5, -1.25, 65504])
    }

    func testRoundTripIsByteIdenticalToNumpy() throws {
        let bytes = try fixture("f32_2x3.npy")
        XCTAssertEqual(try Npy.encode(try Npy.decode(bytes)), bytes)
    }

    func testRejectsBadFiles() throws {
        XCTAssertThrowsError(try Npy.decode(fixture("fortran.npy"), what: "x.npy")) {
            XCTAssertEqual("\($0)", "x.npy: Fortran-order arrays are not supported; save with np.ascontiguousarray")
        }
        XCTAssertThrowsError(try Npy.decode(fixture("object.npy"), what: "x.npy")) {
            XCTAssertEqual("\($0)", "x.npy: object arrays are not supported")
        }
        XCTAssertThrowsError(try Npy.decode(fixture("truncated.npy"), what: "x.npy")) {
            XCTAssertEqual("\($0)", "x.npy: truncated data: shape [2,3] of f32 needs 24 bytes, file has 19")
        }
        XCTAssertThrowsError(try Npy.decode(Array("hello world".utf8), what: "x.npy")) {
            XCTAssertEqual("\($0)", "x.npy: not a .npy file (bad magic)")
        }
        // Every prefix of a valid file fails cleanly.
        let good = try fixture("f32_2x3.npy")
        for n in 0..<good.count { XCTAssertThrowsError(try Npy.decode(Array(good[0..<n]))) }
    }

    func testOutputFileNames() {
        XCTAssertEqual(Npy.fileName(for: "/layer1/Conv_output_0"), "_layer1_Conv_output_0")
        XCTAssertEqual(Npy.fileName(for: "onnx::Add 3.x-y"), "onnx__Add_3.x-y")
    }
}
