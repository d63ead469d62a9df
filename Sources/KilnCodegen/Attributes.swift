import KilnIR

/// One field of an attribute block (PLAN_FORMAT.md §7): a name, a scalar type and a count
/// (arrays such as TRANSPOSE's `perm[8]`).
public struct AttributeField: Equatable, Sendable {
    public enum Kind: Equatable, Sendable { case i32, u32, f32, i64, f64 }
    public var name: String
    public var kind: Kind
    public var count: Int

    init(_ name: String, _ kind: Kind, _ count: Int = 1) { self.name = name; self.kind = kind; self.count = count }

    public var byteSize: Int {
        switch kind {
        case .i32, .u32, .f32: return 4 * count
        case .i64, .f64: return 8 * count
        }
    }
}

/// A decoded or to-be-encoded attribute value.
public enum AttributeValue: Equatable, Sendable, CustomStringConvertible {
    case int(Int64)
    case float(Double)

    public var description: String {
        switch self {
        case .int(let v): return String(v)
        case .float(let v): return "\(Float(v))"
        }
    }
}

extension Opcode {
    /// The attribute block layout, field by field, as the spec lists it.
    public var attributeFields: [AttributeField] {
        let act = [AttributeField("act", .i32), AttributeField("act_alpha", .f32), AttributeField("act_beta", .f32)]
        let quant = ["x_zero_point", "y_zero_point", "y_min", "y_max"].map { AttributeField($0, .i32) }
        switch self {
        case .copy, .where, .cast, .expand, .tile, .range:
            return []
        case .unary:
            return [.init("func", .i32), .init("alpha", .f32), .init("beta", .f32)]
        case .binary:
            return [.init("func", .i32)]
        case .conv2d, .depthwiseConv2d, .convTranspose2d, .conv2dPacked, .conv2dWinograd:
            return ["kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom",
                    "pad_right", "dilation_h", "dilation_w", "group"].map { AttributeField($0, .i32) } + act
        case .gemm:
            return [.init("trans_a", .i32), .init("trans_b", .i32), .init("alpha", .f32), .init("beta", .f32)] + act
        case .matmul:
            return [.init("trans_a", .i32), .init("trans_b", .i32)] + act
        case .pool2d:
            return ["kind", "kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom",
                    "pad_right", "dilation_h", "dilation_w", "count_include_pad", "p"].map { AttributeField($0, .i32) }
        case .batchNorm:
            return act
        case .instanceNorm:
            return [.init("epsilon", .f32)]
        case .layerNorm:
            return [.init("axis", .i32), .init("epsilon", .f32)]
        case .groupNorm:
            return [.init("groups", .i32), .init("epsilon", .f32)]
        case .lrn:
            return [.init("size", .i32), .init("alpha", .f32), .init("beta", .f32), .init("bias", .f32)]
        case .softmax:
            return [.init("axis", .i32), .init("log", .i32)]
        case .reduce:
            return [.init("kind", .i32), .init("axes_mask", .u32)]
        case .argReduce:
            return [.init("axis", .i32), .init("is_max", .i32), .init("select_last_index", .i32)]
        case .cumsum:
            return [.init("axis", .i32), .init("exclusive", .i32), .init("reverse", .i32)]
        case .topk:
            return [.init("axis", .i32), .init("largest", .i32)]
        case .transpose:
            return [.init("perm", .i32, 8)]
        case .concat, .split, .gather, .gatherElements, .oneHot:
            return [.init("axis", .i32)]
        case .slice:
            return [.init("starts", .i64, 8), .init("steps", .i64, 8)]
        case .pad:
            return [.init("mode", .i32), .init("reserved", .i32), .init("value", .f64), .init("pads_begin", .i64, 8)]
        case .depthToSpace:
            return [.init("blocksize", .i32), .init("crd", .i32)]
        case .spaceToDepth:
            return [.init("blocksize", .i32)]
        case .resize:
            return [.init("mode", .i32), .init("coordinate_transform", .i32), .init("nearest_mode", .i32),
                    .init("exclude_outside", .i32), .init("antialias", .i32), .init("cubic_coeff_a", .f32),
                    .init("extrapolation_value", .f32), .init("scales", .f32, 8), .init("roi", .f32, 16)]
        case .recurrent, .dynQrecurrent:
            return [.init("kind", .i32), .init("direction", .i32), .init("hidden_size", .i32), .init("layout", .i32),
                    .init("linear_before_reset", .i32), .init("input_forget", .i32), .init("has_clip", .i32),
                    .init("clip", .f32), .init("act_func", .i32, 6), .init("act_alpha", .f32, 6),
                    .init("act_beta", .f32, 6)]
        case .quantizeLinear, .dequantizeLinear:
            return [.init("axis", .i32), .init("block_size", .i32)]
        case .trilu:
            return [.init("upper", .i32), .init("reserved", .i32), .init("k", .i64)]
        case .attention:
            return [.init("scale", .f32), .init("k_transposed", .i32)]
        case .qconv2d:
            return Opcode.conv2d.attributeFields + quant
        case .qgemm:
            return quant
        case .qmaxpool:
            return ["kernel_h", "kernel_w", "stride_h", "stride_w", "pad_top", "pad_left", "pad_bottom", "pad_right",
                    "dilation_h", "dilation_w"].map { AttributeField($0, .i32) }
        case .qglobalAvgPool:
            return ["x_zero_point", "y_zero_point", "mult", "shift"].map { AttributeField($0, .i32) }
        case .qlookup:
            return []
        case .qconcat:
            return [.init("axis", .i32), .init("y_zero_point", .i32)]
        case .qadd:
            return ["a_zero_point", "b_zero_point", "y_zero_point", "y_min", "y_max", "a_mult", "b_mult", "shift"]
                .map { AttributeField($0, .i32) }
        case .sparseGemm:
            return [.init("trans_b", .i32), .init("alpha", .f32), .init("beta", .f32)] + act
        case .dynQgemm:
            return [.init("per_row", .i32)] + act
        case .dynQparams:
            return []
        }
    }

    /// The attribute block size in bytes (PLAN_FORMAT.md §7's "attrs" column).
    public var attributeSize: Int { attributeFields.reduce(0) { $0 + $1.byteSize } }

    /// Fields a block may append after `attributeFields` (all or none of them): BINARY's
    /// fused activation, added after version 1.0 without changing the 4-byte form.
    public var optionalAttributeFields: [AttributeField] {
        self == .binary ? [AttributeField("act", .i32), AttributeField("act_alpha", .f32), AttributeField("act_beta", .f32)] : []
    }

    /// The fields of a block of `size` bytes (the short or the extended form), or nil.
    func fields(forSize size: Int) -> [AttributeField]? {
        if size == attributeSize { return attributeFields }
        let long = attributeFields + optionalAttributeFields
        if !optionalAttributeFields.isEmpty, size == long.reduce(0, { $0 + $1.byteSize }) { return long }
        return nil
    }
}

/// Encodes and decodes attribute blocks by the opcode's field list.
public enum AttributeCoder {
    /// Encodes `values` (one per scalar, arrays flattened, in field order) little-endian.
    /// Integers must fit their field (a model-supplied value that does not is an error).
    public static func encode(_ opcode: Opcode, _ values: [AttributeValue]) throws -> [UInt8] {
        let short = opcode.attributeFields
        let fields = values.count == short.reduce(0, { $0 + $1.count }) ? short : short + opcode.optionalAttributeFields
        precondition(values.count == fields.reduce(0) { $0 + $1.count }, "\(opcode): wrong attribute count")
        var out = ByteWriter()
        var i = 0
        for f in fields {
            for _ in 0..<f.count {
                let v = values[i]
                i += 1
                switch (f.kind, v) {
                case (.i32, .int(let x)):
                    guard let n = Int32(exactly: x) else { throw KilnError("attribute \(f.name) = \(x) does not fit in 32 bits") }
                    out.i32(n)
                case (.u32, .int(let x)):
                    guard let n = UInt32(exactly: x) else { throw KilnError("attribute \(f.name) = \(x) does not fit in 32 bits") }
                    out.u32(n)
                case (.f32, .float(let x)): out.f32(Float(x))
                case (.i64, .int(let x)): out.i64(x)
                case (.f64, .float(let x)): out.f64(x)
                case (.i32, .float), (.u32, .float), (.i64, .float), (.f32, .int), (.f64, .int):
                    preconditionFailure("\(opcode): attribute \(f.name) given the wrong kind of value")
                }
            }
        }
        return out.bytes
    }

    /// Decodes a block into (field name, values) pairs; nil if the size is wrong.
    public static func decode(_ opcode: Opcode, _ bytes: ArraySlice<UInt8>) -> [(String, [AttributeValue])]? {
        guard let fields = opcode.fields(forSize: bytes.count) else { return nil }
        var r = ByteReader(Array(bytes))
        return fields.map { f in
            (f.name, (0..<f.count).map { _ -> AttributeValue in
                switch f.kind {
                case .i32: return .int(Int64(r.i32()))
                case .u32: return .int(Int64(r.u32()))
                case .f32: return .float(Double(r.f32()))
                case .i64: return .int(r.i64())
                case .f64: return .float(r.f64())
                }
            })
        }
    }
}

/// Shorthands used by the lowering.
extension AttributeValue {
    static func i(_ v: Int) -> AttributeValue { .int(Int64(v)) }
    static func b(_ v: Bool) -> AttributeValue { .int(v ? 1 : 0) }
    static func f(_ v: Float) -> AttributeValue { .float(Double(v)) }
}
