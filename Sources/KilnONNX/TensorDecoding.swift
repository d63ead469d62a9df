import Foundation
import KilnIR

/// ONNX `TensorProto.DataType` codes and their Kiln dtypes.
enum ONNXDataType {
    /// The Kiln dtype for an ONNX element type code, nil if Kiln has none.
    static func dtype(_ code: Int32) -> DType? {
        switch Onnx_TensorProto.DataType(rawValue: Int(code)) {
        case .float: return .f32
        case .uint8: return .u8
        case .int8: return .i8
        case .uint16: return .u16
        case .int16: return .i16
        case .int32: return .i32
        case .int64: return .i64
        case .bool: return .bool
        case .float16: return .f16
        case .double: return .f64
        case .uint32: return .u32
        case .uint64: return .u64
        case .bfloat16: return .bf16
        default: return nil
        }
    }

    /// The ONNX spelling of an element type code, for messages (`STRING`, `FLOAT8E4M3FN`).
    static func name(_ code: Int32) -> String {
        guard let t = Onnx_TensorProto.DataType(rawValue: Int(code)) else { return "type \(code)" }
        switch t {
        case .undefined: return "UNDEFINED"
        case .float: return "FLOAT"
        case .uint8: return "UINT8"
        case .int8: return "INT8"
        case .uint16: return "UINT16"
        case .int16: return "INT16"
        case .int32: return "INT32"
        case .int64: return "INT64"
        case .string: return "STRING"
        case .bool: return "BOOL"
        case .float16: return "FLOAT16"
        case .double: return "DOUBLE"
        case .uint32: return "UINT32"
        case .uint64: return "UINT64"
        case .complex64: return "COMPLEX64"
        case .complex128: return "COMPLEX128"
        case .bfloat16: return "BFLOAT16"
        case .float8E4M3Fn: return "FLOAT8E4M3FN"
        case .float8E4M3Fnuz: return "FLOAT8E4M3FNUZ"
        case .float8E5M2: return "FLOAT8E5M2"
        case .float8E5M2Fnuz: return "FLOAT8E5M2FNUZ"
        case .uint4: return "UINT4"
        case .int4: return "INT4"
        case .float4E2M1: return "FLOAT4E2M1"
        case .float8E8M0: return "FLOAT8E8M0"
        case .uint2: return "UINT2"
        case .int2: return "INT2"
        case .float6E2M3: return "FLOAT6E2M3"
        case .float6E3M2: return "FLOAT6E3M2"
        }
    }

    /// The Kiln dtype for `code`, or an error naming `what` (a tensor or input).
    static func require(_ code: Int32, for what: String) throws -> DType {
        guard let d = dtype(code) else {
            throw KilnError("\(what) has unsupported element type \(name(code))")
        }
        return d
    }
}

/// Decodes ONNX tensors (initializers, attribute tensors) into Kiln tensors.
///
/// Data comes from exactly one place: an external file (`data_location = EXTERNAL`),
/// `raw_data` (little-endian bytes, as Kiln stores them), or the typed repeated field
/// the ONNX spec assigns to the element type (`int32_data` also carries f16/bf16 bit
/// patterns and every integer type of 16 bits or fewer, `uint64_data` carries u32/u64).
struct TensorDecoder {
    /// Directory external data paths are relative to; nil when the model came from memory
    /// with no base directory.
    var baseDirectory: String?

    func decode(_ proto: Onnx_TensorProto, what: String? = nil) throws -> Tensor {
        let label = what ?? "tensor '\(proto.name)'"
        let dtype = try ONNXDataType.require(proto.dataType, for: label)
        var dims: [Int] = []
        var count = 1
        for d in proto.dims {
            try KilnIR.require(d >= 0, "\(label) has a negative dimension \(d)")
            dims.append(Int(d))
            let (c, overflow) = count.multipliedReportingOverflow(by: Int(d))
            try KilnIR.require(!overflow && c <= Int(Int32.max), "\(label) is too large (dims \(proto.dims))")
            count = c
        }
        let type = TensorType(dtype, Shape(dims))
        if proto.hasDataLocation && proto.dataLocation == .external {
            let bytes = try readExternal(proto, label: label, byteCount: type.byteCount)
            return Tensor(type: type, bytes: bytes)
        }
        if proto.hasRawData {
            let bytes = [UInt8](proto.rawData)
            try KilnIR.require(bytes.count == type.byteCount,
                               "\(label): raw_data holds \(bytes.count) bytes but \(dtype.rawValue)\(type.shape) needs \(type.byteCount)")
            return Tensor(type: type, bytes: bytes)
        }
        return try decodeTyped(proto, type: type, label: label)
    }

    private func decodeTyped(_ p: Onnx_TensorProto, type: TensorType, label: String) throws -> Tensor {
        let n = type.shape.elementCount
        func check(_ have: Int, _ field: String) throws {
            try KilnIR.require(have == n, "\(label): \(field) holds \(have) values but shape \(type.shape) needs \(n)")
        }
        switch type.dtype {
        case .f32:
            try check(p.floatData.count, "float_data")
            return Tensor(type.shape, floats: p.floatData)
        case .f64:
            try check(p.doubleData.count, "double_data")
            return Tensor(.f64, type.shape, doubles: p.doubleData)
        case .i64:
            try check(p.int64Data.count, "int64_data")
            return Tensor(.i64, type.shape, int64s: p.int64Data)
        case .u32, .u64:
            try check(p.uint64Data.count, "uint64_data")
            return Tensor(type.dtype, type.shape, int64s: p.uint64Data.map { Int64(bitPattern: $0) })
        case .f16, .bf16:
            // The 16-bit patterns sit in the low bits of each int32.
            try check(p.int32Data.count, "int32_data")
            var bytes: [UInt8] = []
            bytes.reserveCapacity(2 * n)
            for v in p.int32Data {
                let bits = UInt16(truncatingIfNeeded: v)
                bytes.append(UInt8(bits & 0xFF))
                bytes.append(UInt8(bits >> 8))
            }
            return Tensor(type: type, bytes: bytes)
        case .i8, .u8, .i16, .u16, .i32, .bool:
            try check(p.int32Data.count, "int32_data")
            return Tensor(type.dtype, type.shape, int64s: p.int32Data.map(Int64.init))
        }
    }

    /// Reads `byteCount` bytes of an external-data tensor: keys `location` (a path relative
    /// to the model's directory), optional `offset` and `length`.
    private func readExternal(_ p: Onnx_TensorProto, label: String, byteCount: Int) throws -> [UInt8] {
        var location: String?
        var offset = 0
        var length: Int?
        for e in p.externalData {
            switch e.key {
            case "location": location = e.value
            case "offset":
                guard let v = Int(e.value), v >= 0 else { throw KilnError("\(label): external data offset '\(e.value)' is not a non-negative integer") }
                offset = v
            case "length":
                guard let v = Int(e.value), v >= 0 else { throw KilnError("\(label): external data length '\(e.value)' is not a non-negative integer") }
                length = v
            default: continue  // `checksum` and future keys are informational
            }
        }
        guard let location, !location.isEmpty else { throw KilnError("\(label): external data has no 'location'") }
        try KilnIR.require(!location.hasPrefix("/") && !location.split(separator: "/").contains(".."),
                           "\(label): external data location '\(location)' must be a path inside the model's directory")
        if let length {
            try KilnIR.require(length == byteCount, "\(label): external data length \(length) does not match the \(byteCount) bytes its type needs")
        }
        guard let baseDirectory else {
            throw KilnError("\(label): external data file '\(location)' cannot be found: the model was loaded from memory without a base directory")
        }
        let path = (baseDirectory as NSString).appendingPathComponent(location)
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw KilnError("\(label): external data file '\(path)' cannot be opened")
        }
        defer { try? handle.close() }
        let data: Data
        do {
            let size = try handle.seekToEnd()
            try KilnIR.require(UInt64(offset) + UInt64(byteCount) <= size,
                               "\(label): external data file '\(path)' has \(size) bytes, too few for \(byteCount) bytes at offset \(offset)")
            try handle.seek(toOffset: UInt64(offset))
            data = try handle.read(upToCount: byteCount) ?? Data()
        } catch let e as KilnError {
            throw e
        } catch {
            throw KilnError("\(label): reading external data file '\(path)' failed: \(error.localizedDescription)")
        }
        try KilnIR.require(data.count == byteCount, "\(label): external data file '\(path)' ended early")
        return [UInt8](data)
    }
}
