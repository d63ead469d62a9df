import CZstd
import KilnIR

/// One-shot zstd compression of the CONSTANTS section, through the system libzstd.
enum Zstd {
    /// Fixed level: the same input always gives the same frame (single-threaded
    /// compression is deterministic for a given library version and level).
    static let level: Int32 = 3

    static func compress(_ data: [UInt8]) throws -> [UInt8] {
        let bound = ZSTD_compressBound(data.count)
        var out = [UInt8](repeating: 0, count: bound)
        let written = data.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_compress(dst.baseAddress, bound, src.baseAddress, data.count, level)
            }
        }
        guard ZSTD_isError(written) == 0 else {
            throw KilnError("zstd compression failed: \(String(cString: ZSTD_getErrorName(written)))")
        }
        return Array(out[..<written])
    }

    /// Decompresses one frame (of the plan section named `section`, for messages) whose
    /// content size must be `expectedSize`.
    static func decompress(_ data: ArraySlice<UInt8>, expectedSize: Int, section: String = "CONSTANTS") throws -> [UInt8] {
        guard expectedSize >= 0, expectedSize <= 1 << 31 else {
            throw KilnError("plan: \(section) claims \(expectedSize) uncompressed bytes (more than 2 GiB)")
        }
        let frame = Array(data)
        let declared = frame.withUnsafeBytes { ZSTD_getFrameContentSize($0.baseAddress, frame.count) }
        guard declared == UInt64(expectedSize) else {
            throw KilnError("plan: \(section) zstd frame declares \(declared) bytes, the section table says \(expectedSize)")
        }
        var out = [UInt8](repeating: 0, count: expectedSize)
        let got = frame.withUnsafeBytes { src in
            out.withUnsafeMutableBytes { dst in
                ZSTD_decompress(dst.baseAddress, expectedSize, src.baseAddress, frame.count)
            }
        }
        guard ZSTD_isError(got) == 0, got == expectedSize else {
            throw KilnError("plan: \(section) section does not decompress")
        }
        return out
    }
}
