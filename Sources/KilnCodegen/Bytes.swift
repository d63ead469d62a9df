/// Appends little-endian fixed-width values to a byte array.
struct ByteWriter {
    var bytes: [UInt8] = []

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) { le(v) }
    mutating func u32(_ v: UInt32) { le(v) }
    mutating func u64(_ v: UInt64) { le(v) }
    mutating func i32(_ v: Int32) { le(v) }
    mutating func i64(_ v: Int64) { le(v) }
    mutating func f32(_ v: Float) { le(v.bitPattern) }
    mutating func f64(_ v: Double) { le(v.bitPattern) }
    mutating func append(_ b: [UInt8]) { bytes.append(contentsOf: b) }

    /// Zero padding up to a multiple of `alignment`.
    mutating func pad(to alignment: Int) {
        let extra = (alignment - bytes.count % alignment) % alignment
        bytes.append(contentsOf: repeatElement(0, count: extra))
    }

    private mutating func le<T: FixedWidthInteger>(_ v: T) {
        var x = v.littleEndian
        withUnsafeBytes(of: &x) { bytes.append(contentsOf: $0) }
    }
}

/// Reads little-endian values from a byte array. Reads past the end yield zeros and set
/// `overrun`, so a reader of untrusted bytes checks `overrun` instead of trapping.
struct ByteReader {
    let bytes: [UInt8]
    var position = 0
    private(set) var overrun = false

    init(_ bytes: [UInt8], at position: Int = 0) { self.bytes = bytes; self.position = position }

    var remaining: Int { max(0, bytes.count - position) }

    mutating func take(_ n: Int) -> ArraySlice<UInt8> {
        guard n >= 0, n <= remaining else {
            overrun = true
            position = bytes.count
            return []
        }
        defer { position += n }
        return bytes[position..<(position + n)]
    }

    private mutating func le<T: FixedWidthInteger>(_: T.Type) -> T {
        let s = take(MemoryLayout<T>.size)
        guard s.count == MemoryLayout<T>.size else { return 0 }
        var v: T = 0
        for (k, b) in s.enumerated() { v |= T(truncatingIfNeeded: b) << (8 * k) }
        return v
    }

    mutating func u8() -> UInt8 { le(UInt8.self) }
    mutating func u16() -> UInt16 { le(UInt16.self) }
    mutating func u32() -> UInt32 { le(UInt32.self) }
    mutating func u64() -> UInt64 { le(UInt64.self) }
    mutating func i32() -> Int32 { le(Int32.self) }
    mutating func i64() -> Int64 { le(Int64.self) }
    mutating func f32() -> Float { Float(bitPattern: le(UInt32.self)) }
    mutating func f64() -> Double { Double(bitPattern: le(UInt64.self)) }
}
