/// Constant data in the text form: literal element spellings, hex, splat and random fill.
enum ConstantData {
    /// `splat<>` and `random<>` expand in memory; refuse to build more than this.
    static let maxGeneratedBytes = 1 << 28

    /// `[1.0, -2.5]`, `[true, false]`, or nil when some element's spelling would not
    /// re-encode to the same bytes (a NaN with a payload, a bool byte other than 0/1).
    static func literalText(_ t: Tensor) -> String? {
        let size = t.dtype.byteSize
        var items: [String] = []
        for i in 0..<t.count {
            let element = Array(t.bytes[i * size..<(i + 1) * size])
            let text = elementText(element, t.dtype)
            guard encodeElement(text, t.dtype) == element else { return nil }
            items.append(text)
        }
        return "[" + items.joined(separator: ", ") + "]"
    }

    /// Little-endian bits of one element.
    private static func bits(_ element: [UInt8]) -> UInt64 {
        var v: UInt64 = 0
        for (k, b) in element.enumerated() { v |= UInt64(b) << (8 * UInt64(k)) }
        return v
    }

    private static func littleEndian(_ v: UInt64, _ size: Int) -> [UInt8] {
        (0..<size).map { UInt8(truncatingIfNeeded: v >> (8 * UInt64($0))) }
    }

    /// The spelling of one element: shortest round-trip decimal for floats (bf16 through its
    /// exact f32 value), the integer for integer types, `true`/`false` for bool.
    static func elementText(_ element: [UInt8], _ dtype: DType) -> String {
        let v = bits(element)
        switch dtype {
        case .f32: return Float(bitPattern: UInt32(truncatingIfNeeded: v)).description
        case .f64: return Double(bitPattern: v).description
        case .f16: return Float16(bitPattern: UInt16(truncatingIfNeeded: v)).description
        case .bf16: return Float(bitPattern: UInt32(truncatingIfNeeded: v) << 16).description
        case .i8: return String(Int8(truncatingIfNeeded: v))
        case .i16: return String(Int16(truncatingIfNeeded: v))
        case .i32: return String(Int32(truncatingIfNeeded: v))
        case .i64: return String(Int64(bitPattern: v))
        case .u8, .u16, .u32, .u64: return String(v)
        case .bool: return v == 0 ? "false" : "true"
        }
    }

    /// The bytes of one element spelled `text`; nil if it is not a valid `dtype` value.
    /// Floats parse straight to their type (bf16 through f32, then round to nearest even).
    static func encodeElement(_ text: String, _ dtype: DType) -> [UInt8]? {
        switch dtype {
        case .f32: return Float(text).map { littleEndian(UInt64($0.bitPattern), 4) }
        case .f64: return Double(text).map { littleEndian($0.bitPattern, 8) }
        case .f16: return Float16(text).map { littleEndian(UInt64($0.bitPattern), 2) }
        case .bf16: return Float(text).map { littleEndian(UInt64(Tensor.bfloat16Bits($0)), 2) }
        case .bool:
            switch text {
            case "true": return [1]
            case "false": return [0]
            default: return nil
            }
        case .u64:
            return UInt64(text).map { littleEndian($0, 8) }
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64:
            let range = dtype.integerRange
            guard let v = Int64(text), v >= range.min, v <= range.max else { return nil }
            return littleEndian(UInt64(bitPattern: v), dtype.byteSize)
        }
    }

    /// `0x` followed by two uppercase hex digits per byte, in storage order.
    static func hexText(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = Array("0x".utf8)
        out.reserveCapacity(2 + bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Elements uniform on [-1, 1) for a float dtype, reproducible from `seed`.
    ///
    /// Algorithm: SplitMix64 (Steele, Lea, Flood 2014). For each element in row-major order:
    ///   1. state += 0x9E3779B97F4A7C15
    ///   2. z = state; z = (z ^ z >> 30) * 0xBF58476D1CE4E5B9; z = (z ^ z >> 27) * 0x94D049BB133111EB;
    ///      z ^= z >> 31
    ///   3. k = the top b bits of z, b = the dtype's significand precision (f64 53, f32 24,
    ///      f16 11, bf16 8); the element is 2k / 2^b - 1, exactly representable in the dtype.
    static func random(seed: UInt64, type: TensorType) -> Tensor {
        let precision: Int
        switch type.dtype {
        case .f64: precision = 53
        case .f32: precision = 24
        case .f16: precision = 11
        case .bf16: precision = 8
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64, .bool: precision = 53  // callers reject these
        }
        var state = seed
        let scale = Double(UInt64(1) << UInt64(precision))
        var values: [Double] = []
        values.reserveCapacity(type.shape.elementCount)
        for _ in 0..<type.shape.elementCount {
            state = state &+ 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            z ^= z >> 31
            let k = Double(z >> UInt64(64 - precision))
            values.append(2 * k / scale - 1)
        }
        var t = Tensor(type.dtype, type.shape, doubles: values)
        t.type = type
        return t
    }
}

extension GraphParser {
    /// `dense<[…]>`, `dense<"0x…">`, `splat<v>` or `random<seed = n>` for a constant of `type`.
    /// `elided<…>` (the printer's summary) is refused with a hint.
    mutating func parseConstantData(_ type: TensorType, valueName: String) throws -> Tensor {
        guard token.kind == .identifier else { throw unexpected("constant data (dense<…>, splat<…> or random<…>)") }
        let keyword = token
        let typeText = Printer.typeText(type)
        switch keyword.text {
        case "elided":
            throw KilnError("\(keyword.position): constant \(Printer.valueName(valueName)) was printed as a summary; print the IR with --constants full to get parseable text")
        case "dense":
            try advance()
            try consume("<")
            let bytes: [UInt8]
            if token.kind == .string {
                bytes = try hexData(type)
            } else {
                try consume("[")
                var elements: [Token] = []
                if !token.isPunctuation("]") {
                    repeat {
                        guard token.kind == .number || token.kind == .identifier else { throw unexpected("constant element") }
                        elements.append(token)
                        try advance()
                    } while try consumeIf(",")
                }
                try consume("]")
                guard elements.count == type.shape.elementCount else {
                    throw KilnError("\(keyword.position): dense literal has \(elements.count) elements, but \(typeText) has \(type.shape.elementCount)")
                }
                bytes = try elements.flatMap { try element($0, type.dtype) }
            }
            try consume(">")
            return Tensor(type: type, bytes: bytes)
        case "splat":
            try advance()
            try consume("<")
            guard token.kind == .number || token.kind == .identifier else { throw unexpected("constant element") }
            let value = try element(token, type.dtype)
            try advance()
            try consume(">")
            try checkGeneratedSize(type, at: keyword.position)
            return Tensor(type: type, bytes: Array([[UInt8]](repeating: value, count: type.shape.elementCount).joined()))
        case "random":
            try advance()
            try consume("<")
            var reader = try AttributeReader(context: "random", position: keyword.position,
                                             entries: try parseAttributeEntries(closing: ">"))
            let seed = try reader.int("seed")
            try reader.finish()
            guard type.dtype.isFloat else {
                throw KilnError("\(keyword.position): random<> constants need a float type, found \(typeText)")
            }
            try checkGeneratedSize(type, at: keyword.position)
            return ConstantData.random(seed: UInt64(bitPattern: Int64(seed)), type: type)
        default:
            throw unexpected("constant data (dense<…>, splat<…> or random<…>)")
        }
    }

    private func element(_ token: Token, _ dtype: DType) throws -> [UInt8] {
        guard let bytes = ConstantData.encodeElement(token.text, dtype) else {
            throw KilnError("\(token.position): \(token.description) is not a valid \(dtype.rawValue) value")
        }
        return bytes
    }

    private func checkGeneratedSize(_ type: TensorType, at position: SourcePosition) throws {
        guard type.byteCount <= ConstantData.maxGeneratedBytes else {
            throw KilnError("\(position): constant \(Printer.typeText(type)) is too large to generate")
        }
    }

    /// `"0x…"`: two hex digits per byte, exactly the type's byte count.
    private mutating func hexData(_ type: TensorType) throws -> [UInt8] {
        let position = token.position
        let digits = Array(token.text.utf8)
        guard digits.count >= 2, digits[0] == UInt8(ascii: "0"), digits[1] == UInt8(ascii: "x") || digits[1] == UInt8(ascii: "X") else {
            throw KilnError("\(position): hex constant data must start with 0x")
        }
        let hex = digits[2...]
        guard hex.count % 2 == 0, hex.count / 2 == type.byteCount else {
            throw KilnError("\(position): hex data has \(hex.count) digits, but \(Printer.typeText(type)) needs \(type.byteCount) bytes")
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hex.count / 2)
        var i = hex.startIndex
        while i < hex.endIndex {
            guard let hi = Lexer.hexValue(hex[i]), let lo = Lexer.hexValue(hex[i + 1]) else {
                throw KilnError("\(position): invalid hex digit in constant data")
            }
            bytes.append(hi << 4 | lo)
            i += 2
        }
        try advance()
        return bytes
    }
}
