/// Constant tensor data: a type plus little-endian element storage in row-major order.
///
/// Numeric code reads a tensor through `doubles` (float types) or `int64s` (integer and
/// bool types) and builds results with `Tensor(_:_:doubles:)` / `Tensor(_:_:int64s:)`,
/// which round or wrap into the element type. Data-movement code works on raw bytes.
public struct Tensor: Hashable, Sendable {
    public var type: TensorType
    /// Little-endian bytes, `type.byteCount` long.
    public var bytes: [UInt8]

    public init(type: TensorType, bytes: [UInt8]) {
        precondition(bytes.count == type.byteCount, "tensor storage does not match its type")
        self.type = type
        self.bytes = bytes
    }

    public var dtype: DType { type.dtype }
    public var shape: Shape { type.shape }
    public var count: Int { type.shape.elementCount }

    /// A tensor of zeros.
    public init(zeros type: TensorType) {
        self.init(type: type, bytes: [UInt8](repeating: 0, count: type.byteCount))
    }

    // MARK: - Typed element access

    fileprivate func load<T>(_: T.Type) -> [T] {
        bytes.withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) }
        }
    }

    fileprivate static func store<T>(_ values: [T]) -> [UInt8] {
        values.withUnsafeBytes { Array($0) }
    }

    /// Elements converted to Double (exact for every float type and for integers below 2^53).
    public var doubles: [Double] {
        switch dtype {
        case .f32: return load(Float.self).map(Double.init)
        case .f64: return load(Double.self)
        case .f16: return load(UInt16.self).map { Double(Float16(bitPattern: $0)) }
        case .bf16: return load(UInt16.self).map { Double(Float(bitPattern: UInt32($0) << 16)) }
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64, .bool: return int64s.map(Double.init)
        }
    }

    /// Elements as Float.
    public var floats: [Float] {
        dtype == .f32 ? load(Float.self) : doubles.map(Float.init)
    }

    /// Elements converted to Int64 (floats truncate toward zero; u64 above Int64.max wraps).
    public var int64s: [Int64] {
        switch dtype {
        case .i8: return load(Int8.self).map(Int64.init)
        case .u8, .bool: return bytes.map(Int64.init)
        case .i16: return load(Int16.self).map(Int64.init)
        case .u16: return load(UInt16.self).map(Int64.init)
        case .i32: return load(Int32.self).map(Int64.init)
        case .u32: return load(UInt32.self).map(Int64.init)
        case .i64: return load(Int64.self)
        case .u64: return load(UInt64.self).map { Int64(bitPattern: $0) }
        case .f32, .f16, .bf16, .f64:
            return doubles.map { $0.isFinite ? Int64(clamping: Int64(exactly: $0.rounded(.towardZero)) ?? ($0 < 0 ? Int64.min : Int64.max)) : 0 }
        }
    }

    /// Elements as Int (for shapes, axes and indices).
    public var ints: [Int] { int64s.map { Int($0) } }

    /// Builds a tensor of any dtype from Double values: floats round to nearest, integers
    /// truncate toward zero and wrap to the width (as a C cast would), bool is `value != 0`.
    public init(_ dtype: DType, _ shape: Shape, doubles values: [Double]) {
        precondition(values.count == shape.elementCount, "element count does not match shape \(shape)")
        let type = TensorType(dtype, shape)
        switch dtype {
        case .f32: self.init(type: type, bytes: Tensor.store(values.map(Float.init)))
        case .f64: self.init(type: type, bytes: Tensor.store(values))
        case .f16: self.init(type: type, bytes: Tensor.store(values.map { Float16(Float($0)).bitPattern }))
        case .bf16: self.init(type: type, bytes: Tensor.store(values.map { Tensor.bfloat16Bits(Float($0)) }))
        case .bool: self.init(type: type, bytes: values.map { $0 != 0 ? 1 : 0 })
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64:
            self.init(dtype, shape, int64s: values.map { v in
                guard v.isFinite else { return 0 }
                let t = v.rounded(.towardZero)
                if t >= 9.2233720368547758e18 { return Int64.max }
                if t <= -9.2233720368547758e18 { return Int64.min }
                return Int64(t)
            })
        }
    }

    /// Builds a tensor of any dtype from Int64 values, wrapping to the width of integer types.
    public init(_ dtype: DType, _ shape: Shape, int64s values: [Int64]) {
        precondition(values.count == shape.elementCount, "element count does not match shape \(shape)")
        let type = TensorType(dtype, shape)
        switch dtype {
        case .i8: self.init(type: type, bytes: Tensor.store(values.map { Int8(truncatingIfNeeded: $0) }))
        case .u8: self.init(type: type, bytes: values.map { UInt8(truncatingIfNeeded: $0) })
        case .i16: self.init(type: type, bytes: Tensor.store(values.map { Int16(truncatingIfNeeded: $0) }))
        case .u16: self.init(type: type, bytes: Tensor.store(values.map { UInt16(truncatingIfNeeded: $0) }))
        case .i32: self.init(type: type, bytes: Tensor.store(values.map { Int32(truncatingIfNeeded: $0) }))
        case .u32: self.init(type: type, bytes: Tensor.store(values.map { UInt32(truncatingIfNeeded: $0) }))
        case .i64: self.init(type: type, bytes: Tensor.store(values))
        case .u64: self.init(type: type, bytes: Tensor.store(values.map { UInt64(bitPattern: $0) }))
        case .bool: self.init(type: type, bytes: values.map { $0 != 0 ? 1 : 0 })
        case .f32, .f16, .bf16, .f64: self.init(dtype, shape, doubles: values.map(Double.init))
        }
    }

    /// Float32 tensor from Float values.
    public init(_ shape: Shape, floats values: [Float]) {
        self.init(type: TensorType(.f32, shape), bytes: Tensor.store(values))
    }

    /// A 0-d tensor.
    public static func scalar(_ value: Double, _ dtype: DType = .f32) -> Tensor {
        Tensor(dtype, [], doubles: [value])
    }

    /// Round-to-nearest-even conversion to bfloat16 bits (NaN stays NaN).
    public static func bfloat16Bits(_ f: Float) -> UInt16 {
        if f.isNaN { return 0x7FC0 }
        let bits = f.bitPattern
        let rounding = UInt32(0x7FFF) + ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// Copy with another shape and the same bytes (element count must match).
    public func reshaped(_ shape: Shape) -> Tensor {
        var t = self
        t.type.shape = shape
        precondition(t.type.byteCount == bytes.count)
        return t
    }

    /// FNV-1a 64-bit hash of the bytes, used by the printer's constant summaries.
    public var fnv1a: UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x100000001b3
        }
        return h
    }
}
