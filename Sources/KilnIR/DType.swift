/// Element types of tensors in the Kiln IR.
///
/// The raw value is the spelling used by the text form (`f32[1,3,224,224]`).
public enum DType: String, CaseIterable, Hashable, Sendable {
    case f32, f16, bf16, f64
    case i8, u8, i16, u16, i32, u32, i64, u64
    case bool

    /// Bytes per element in little-endian storage.
    public var byteSize: Int {
        switch self {
        case .bool, .i8, .u8: return 1
        case .f16, .bf16, .i16, .u16: return 2
        case .f32, .i32, .u32: return 4
        case .f64, .i64, .u64: return 8
        }
    }

    public var isFloat: Bool {
        switch self {
        case .f32, .f16, .bf16, .f64: return true
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64, .bool: return false
        }
    }

    public var isInteger: Bool {
        switch self {
        case .i8, .u8, .i16, .u16, .i32, .u32, .i64, .u64: return true
        case .f32, .f16, .bf16, .f64, .bool: return false
        }
    }

    public var isSigned: Bool {
        switch self {
        case .i8, .i16, .i32, .i64, .f32, .f16, .bf16, .f64: return true
        case .u8, .u16, .u32, .u64, .bool: return false
        }
    }

    /// Smallest and largest representable integer value (for saturating casts and quantization).
    public var integerRange: (min: Int64, max: Int64) {
        switch self {
        case .i8: return (-128, 127)
        case .u8: return (0, 255)
        case .i16: return (-32768, 32767)
        case .u16: return (0, 65535)
        case .i32: return (Int64(Int32.min), Int64(Int32.max))
        case .u32: return (0, Int64(UInt32.max))
        case .i64: return (Int64.min, Int64.max)
        case .u64: return (0, Int64.max)
        case .bool: return (0, 1)
        case .f32, .f16, .bf16, .f64: return (Int64.min, Int64.max)
        }
    }
}

/// A static tensor shape: every dimension is known.
public struct Shape: Hashable, Sendable, CustomStringConvertible, ExpressibleByArrayLiteral {
    public var dims: [Int]

    public init(_ dims: [Int]) { self.dims = dims }
    public init(arrayLiteral elements: Int...) { self.dims = elements }

    public var rank: Int { dims.count }
    public var elementCount: Int { dims.reduce(1, *) }
    public subscript(i: Int) -> Int {
        get { dims[i] }
        set { dims[i] = newValue }
    }

    /// Row-major strides in elements.
    public var strides: [Int] {
        var s = [Int](repeating: 1, count: dims.count)
        var acc = 1
        for i in stride(from: dims.count - 1, through: 0, by: -1) {
            s[i] = acc
            acc *= dims[i]
        }
        return s
    }

    /// `[1,3,224,224]`
    public var description: String { "[" + dims.map(String.init).joined(separator: ",") + "]" }

    /// Normalizes a possibly negative axis against this rank; nil if out of range.
    public func normalizedAxis(_ axis: Int) -> Int? {
        let a = axis < 0 ? axis + rank : axis
        return (a >= 0 && a < max(rank, 1)) || (rank == 0 && a == 0) ? a : nil
    }

    /// Numpy-style multidirectional broadcast of two shapes; nil if incompatible.
    public static func broadcast(_ a: Shape, _ b: Shape) -> Shape? {
        let r = max(a.rank, b.rank)
        var out = [Int](repeating: 1, count: r)
        for i in 0..<r {
            let da = i < r - a.rank ? 1 : a.dims[i - (r - a.rank)]
            let db = i < r - b.rank ? 1 : b.dims[i - (r - b.rank)]
            if da == db || db == 1 { out[i] = da } else if da == 1 { out[i] = db } else { return nil }
        }
        return Shape(out)
    }
}

/// Quantization parameters carried by a tensor type: `real = scale * (q - zeroPoint)`.
/// Per-tensor when `axis` is nil (one scale and zero point), per-axis otherwise.
public struct Quantization: Hashable, Sendable {
    public var scales: [Float]
    public var zeroPoints: [Int64]
    public var axis: Int?

    public init(scales: [Float], zeroPoints: [Int64], axis: Int? = nil) {
        self.scales = scales
        self.zeroPoints = zeroPoints
        self.axis = axis
    }
}

/// The type of every IR value: element type, static shape and optional quantization.
public struct TensorType: Hashable, Sendable, CustomStringConvertible {
    public var dtype: DType
    public var shape: Shape
    public var quantization: Quantization?

    public init(_ dtype: DType, _ shape: Shape, quantization: Quantization? = nil) {
        self.dtype = dtype
        self.shape = shape
        self.quantization = quantization
    }

    public var byteCount: Int { shape.elementCount * dtype.byteSize }

    /// `f32[1,3,224,224]`; quantized types add `quant<...>`, printed by the text printer.
    public var description: String { "\(dtype.rawValue)\(shape)" }
}
