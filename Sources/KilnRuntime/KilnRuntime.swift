import CKiln

/// Swift view of the C runtime (`Runtime/include/kiln.h`): load a plan, create sessions,
/// bind inputs as raw little-endian bytes, run, read outputs. Independent of KilnIR.
public enum KilnRuntime {
    /// The runtime library's version string.
    public static var version: String { String(cString: kiln_version()) }
    /// Whether GEMMs go through OpenBLAS (false: the portable C GEMM).
    public static var hasBLAS: Bool { kiln_has_blas() != 0 }
    /// Whether zstd-compressed plans can be loaded.
    public static var hasZstd: Bool { kiln_has_zstd() != 0 }
    /// The plan format version this runtime reads.
    public static var formatVersion: (major: Int, minor: Int) { (Int(KILN_FORMAT_MAJOR), Int(KILN_FORMAT_MINOR)) }
}

/// A failed runtime call: the C status code and its one-line message.
public struct KilnRuntimeError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let message: String
    public var description: String { message }
    /// The runtime could not allocate what the plan needs (KILN_ERR_OUT_OF_MEMORY).
    public var isOutOfMemory: Bool { status == Int32(bitPattern: KILN_ERR_OUT_OF_MEMORY.rawValue) }

    init(_ status: kiln_status, _ message: String) {
        self.status = Int32(bitPattern: status.rawValue)
        self.message = message.isEmpty ? String(cString: kiln_status_message(status)) : message
    }

    init(_ error: kiln_error) {
        var e = error
        let text = withUnsafeBytes(of: &e.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        self.init(e.status, text)
    }
}

/// Element types, with the plan format's codes and KilnIR's spelling.
public enum RuntimeDType: UInt32, CaseIterable, Sendable {
    case f32 = 1, f16, bf16, f64, i8, u8, i16, u16, i32, u32, i64, u64, bool

    public var name: String { String(cString: kiln_dtype_name(kiln_dtype(rawValue))) }
    public var byteSize: Int { Int(kiln_dtype_size(kiln_dtype(rawValue))) }
}

/// An input or output of a plan.
public struct TensorInfo: Equatable, Sendable {
    public let name: String
    public let dtype: RuntimeDType
    public let shape: [Int]
    public let byteCount: Int

    public init(name: String, dtype: RuntimeDType, shape: [Int], byteCount: Int) {
        self.name = name; self.dtype = dtype; self.shape = shape; self.byteCount = byteCount
    }

    init(_ info: kiln_tensor_info) {
        name = String(cString: info.name)
        dtype = RuntimeDType(rawValue: info.dtype.rawValue) ?? .f32
        var dims = info.dims
        shape = withUnsafeBytes(of: &dims) { raw in
            Array(raw.bindMemory(to: Int64.self).prefix(Int(info.rank)).map { Int($0) })
        }
        byteCount = Int(info.byte_size)
    }
}
