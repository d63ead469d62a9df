import Foundation

/// Reading and writing NumPy `.npy` files (format versions 1.0, 2.0 and 3.0).
///
/// Supported: C-order arrays of every Kiln dtype numpy can spell (bf16 has no numpy
/// spelling and is not supported), little- and big-endian; written files are version 1.0
/// little-endian. Fortran order, object arrays, structured dtypes, truncated data and
/// malformed headers are rejected with one-line messages.
public enum Npy {
    /// Parses `.npy` bytes. `what` names the source in messages (a path).
    public static func decode(_ data: [UInt8], what: String = "npy") throws -> Tensor {
        let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] // \x93NUMPY
        try require(data.count >= 10 && Array(data[0..<6]) == magic, "\(what): not a .npy file (bad magic)")
        let major = data[6]
        var headerLength = 0
        var start = 0
        switch major {
        case 1:
            headerLength = Int(data[8]) | Int(data[9]) << 8
            start = 10
        case 2, 3:
            try require(data.count >= 12, "\(what): truncated .npy header")
            headerLength = Int(data[8]) | Int(data[9]) << 8 | Int(data[10]) << 16 | Int(data[11]) << 24
            start = 12
        default:
            throw KilnError("\(what): unsupported .npy format version \(major)")
        }
        try require(data.count >= start + headerLength, "\(what): truncated .npy header")
        guard let header = String(bytes: Array(data[start..<(start + headerLength)]), encoding: .utf8) else {
            throw KilnError("\(what): .npy header is not text")
        }
        let descr = try stringField(header, "descr", what)
        let fortran = try boolField(header, "fortran_order", what)
        let shape = try shapeField(header, what)
        try require(!fortran, "\(what): Fortran-order arrays are not supported; save with np.ascontiguousarray")
        let (dtype, bigEndian) = try parseDescr(descr, what)
        let type = TensorType(dtype, Shape(shape))
        let payload = start + headerLength
        let (total, overflow) = type.shape.elementCount.multipliedReportingOverflow(by: dtype.byteSize)
        try require(!overflow, "\(what): shape \(shape) is too large")
        try require(data.count - payload >= total,
                    "\(what): truncated data: shape \(Shape(shape)) of \(dtype.rawValue) needs \(total) bytes, file has \(data.count - payload)")
        var bytes = Array(data[payload..<(payload + total)])
        if bigEndian && dtype.byteSize > 1 {
            let w = dtype.byteSize
            for i in stride(from: 0, to: bytes.count, by: w) { bytes[i..<(i + w)].reverse() }
        }
        return Tensor(type: type, bytes: bytes)
    }

    /// Encodes a tensor as a version 1.0 little-endian `.npy` file.
    public static func encode(_ t: Tensor) throws -> [UInt8] {
        let descr: String
        switch t.dtype {
        case .f32: descr = "<f4"
        case .f64: descr = "<f8"
        case .f16: descr = "<f2"
        case .i8: descr = "|i1"
        case .u8: descr = "|u1"
        case .i16: descr = "<i2"
        case .u16: descr = "<u2"
        case .i32: descr = "<i4"
        case .u32: descr = "<u4"
        case .i64: descr = "<i8"
        case .u64: descr = "<u8"
        case .bool: descr = "|b1"
        case .bf16: throw KilnError("bf16 tensors cannot be written as .npy (numpy has no bfloat16); cast to f32 first")
        }
        let dims = t.shape.dims
        let shapeText = dims.isEmpty ? "()" : dims.count == 1 ? "(\(dims[0]),)" : "(" + dims.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(descr)', 'fortran_order': False, 'shape': \(shapeText), }"
        // Pad with spaces so that the data starts on a 64-byte boundary, ending in '\n'.
        let unpadded = 10 + header.utf8.count + 1
        header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
        let n = header.utf8.count
        var out: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0, UInt8(n & 0xFF), UInt8(n >> 8)]
        out += Array(header.utf8)
        out += t.bytes
        return out
    }

    /// Replaces every character other than letters, digits, '.', '_' and '-' with '_'
    /// (how output files are named after graph outputs).
    public static func fileName(for name: String) -> String {
        String(name.map { c in
            (c.isASCII && (c.isLetter || c.isNumber)) || c == "." || c == "_" || c == "-" ? c : "_"
        })
    }

    // MARK: - Header parsing

    static func parseDescr(_ descr: String, _ what: String) throws -> (DType, Bool) {
        guard let first = descr.first else { throw KilnError("\(what): empty dtype in .npy header") }
        var code = descr
        var big = false
        if "<>|=".contains(first) {
            big = first == ">"
            code = String(descr.dropFirst())
        }
        switch code {
        case "f4": return (.f32, big)
        case "f8": return (.f64, big)
        case "f2", "e": return (.f16, big)
        case "i1", "b": return (.i8, big)
        case "u1", "B": return (.u8, big)
        case "i2": return (.i16, big)
        case "u2": return (.u16, big)
        case "i4": return (.i32, big)
        case "u4": return (.u32, big)
        case "i8": return (.i64, big)
        case "u8": return (.u64, big)
        case "b1", "?": return (.bool, big)
        case "O": throw KilnError("\(what): object arrays are not supported")
        default: throw KilnError("\(what): unsupported .npy dtype '\(descr)'")
        }
    }

    /// The text after `'key':` in the header dict.
    static func field(_ header: String, _ key: String, _ what: String) throws -> Substring {
        guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else {
            throw KilnError("\(what): .npy header has no '\(key)'")
        }
        return header[r.upperBound...].drop(while: { $0 == " " })
    }

    static func stringField(_ header: String, _ key: String, _ what: String) throws -> String {
        let rest = try field(header, key, what)
        guard let q = rest.first, q == "'" || q == "\"" else {
            if rest.hasPrefix("[") { throw KilnError("\(what): structured dtypes are not supported") }
            throw KilnError("\(what): malformed '\(key)' in .npy header")
        }
        let body = rest.dropFirst()
        guard let end = body.firstIndex(of: q) else { throw KilnError("\(what): malformed '\(key)' in .npy header") }
        return String(body[..<end])
    }

    static func boolField(_ header: String, _ key: String, _ what: String) throws -> Bool {
        let rest = try field(header, key, what)
        if rest.hasPrefix("True") { return true }
        if rest.hasPrefix("False") { return false }
        throw KilnError("\(what): malformed '\(key)' in .npy header")
    }

    static func shapeField(_ header: String, _ what: String) throws -> [Int] {
        let rest = try field(header, "shape", what)
        guard rest.first == "(", let close = rest.firstIndex(of: ")") else {
            throw KilnError("\(what): malformed 'shape' in .npy header")
        }
        let inner = rest[rest.index(after: rest.startIndex)..<close]
        var dims: [Int] = []
        for part in inner.split(separator: ",") {
            let s = part.trimmingCharacters(in: CharacterSet(charactersIn: " L"))
            if s.isEmpty { continue }
            guard let d = Int(s), d >= 0 else { throw KilnError("\(what): malformed 'shape' in .npy header") }
            dims.append(d)
        }
        return dims
    }
}
