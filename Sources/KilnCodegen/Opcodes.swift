import KilnIR

// The plan format's numbering, mirrored from Runtime/src/opcodes.h (the spec is
// Runtime/PLAN_FORMAT.md). Every list is append-only; OpcodesTests parses opcodes.h and
// checks each case's C name (`cName`) and number against it.

/// Format constants (PLAN_FORMAT.md §1, §3).
public enum PlanFormat {
    public static let magic: [UInt8] = Array("KILNPLAN".utf8)
    public static let majorVersion: UInt16 = 1
    /// The newest minor this writer knows; a plan is written with the lowest minor it needs
    /// (3 with QADD, QCONCAT, QGLOBAL_AVG_POOL or QLOOKUP, 2 when its table sections are zstd frames, 1 when it uses f16 storage), so plain
    /// `--no-compress` plans stay readable by 1.0 runtimes.
    public static let minorVersion: UInt16 = 3
    public static let headerSize = 24
    public static let sectionEntrySize = 40
    public static let tensorEntrySize = 112
    public static let programHeaderSize = 16
    public static let instructionHeaderSize = 12
    public static let maxRank = 8
    public static let maxDim = 1 << 48
    /// Alignment of constants (file offset of the section and each tensor in it) and of
    /// arena offsets chosen by the compiler.
    public static let alignment = 64
    /// `KILN_FLAG_CONSTANTS_ZSTD`: header flag bit 0.
    public static let flagConstantsZstd: UInt32 = 0x1
    /// `KILN_TENSOR_F16_STORAGE`: tensor entry flag bit 0 (format 1.1).
    public static let tensorF16Storage: UInt8 = 0x1
    /// `KILN_SECTION_OPTIONAL`: section flag bit 0.
    public static let sectionOptional: UInt32 = 0x1
    /// `KILN_SECTION_ZSTD`: section flag bit 1 (format 1.2), the stored bytes are one zstd frame.
    public static let sectionZstd: UInt32 = 0x2
    /// `KILN_NO_TENSOR`: an absent optional operand or result.
    public static let noTensor: UInt32 = 0xFFFF_FFFF
}

/// `enum kiln_section_kind`.
public enum SectionKind: UInt32, CaseIterable, Sendable {
    case strings = 1, tensors, constants, attributes, program, metadata, qparams
}

/// `enum kiln_storage`.
public enum StorageKind: UInt8, CaseIterable, Sendable {
    case arena = 0, constant, input, output
}

/// `enum kiln_opcode`.
public enum Opcode: UInt16, CaseIterable, Sendable {
    case copy = 1, unary, binary, `where`, cast
    case conv2d, depthwiseConv2d, convTranspose2d, gemm, matmul, pool2d
    case batchNorm, instanceNorm, layerNorm, groupNorm, lrn, softmax
    case reduce, argReduce, cumsum, topk
    case transpose, concat, split, slice, expand, tile, pad, depthToSpace, spaceToDepth
    case gather, gatherElements, resize, recurrent, quantizeLinear, dequantizeLinear
    case oneHot, trilu, range, attention
    case conv2dPacked = 60, conv2dWinograd
    case qconv2d = 80, qgemm, qmaxpool, qadd, qconcat, qglobalAvgPool, qlookup
    case sparseGemm = 90
    case dynQgemm = 92, dynQparams, dynQrecurrent

    /// Kernels marked *in place* in the spec: a result may occupy exactly an operand's
    /// bytes. (COPY is also allowed to alias its operand; see `MemoryPlanner`.)
    public var runsInPlace: Bool {
        switch self {
        case .copy, .unary, .binary, .where, .cast, .batchNorm, .instanceNorm, .layerNorm, .groupNorm,
             .softmax, .trilu, .qadd, .qlookup:
            return true
        case .conv2d, .depthwiseConv2d, .convTranspose2d, .gemm, .matmul, .pool2d, .lrn, .reduce,
             .argReduce, .cumsum, .topk, .transpose, .concat, .split, .slice, .expand, .tile, .pad,
             .depthToSpace, .spaceToDepth, .gather, .gatherElements, .resize, .recurrent,
             .quantizeLinear, .dequantizeLinear, .oneHot, .range, .attention,
             .conv2dPacked, .conv2dWinograd, .qconv2d, .qgemm, .qmaxpool, .qconcat, .qglobalAvgPool, .sparseGemm, .dynQgemm,
             .dynQparams, .dynQrecurrent:
            return false
        }
    }
}

/// `enum kiln_unary_func`: UNARY's `func` and the fused `act` code (0 = none).
public enum UnaryFunc: Int32, CaseIterable, Sendable {
    case identity = 0, relu, leakyRelu, sigmoid, tanh, geluErf, geluTanh, hardSwish, hardSigmoid
    case elu, selu, celu, softplus, softsign, mish, thresholdedRelu, clip
    case exp, log, sqrt, abs, neg, reciprocal, floor, ceil, round, sign, erf
    case sin, cos, tan, asin, acos, atan, sinh, cosh, asinh, acosh, atanh
    case not, isNan, isInf, silu, affine, scaledTanh
}

/// `enum kiln_binary_func`.
public enum BinaryFunc: Int32, CaseIterable, Sendable {
    case add = 1, sub, mul, div, pow, min, max, mod, fmod
    case equal, less, lessOrEqual, greater, greaterOrEqual
    case and, or, xor, prelu
}

/// `enum kiln_pool_kind`.
public enum PoolKindCode: Int32, CaseIterable, Sendable { case max = 0, average, lp }

/// `enum kiln_reduce_kind`.
public enum ReduceKindCode: Int32, CaseIterable, Sendable {
    case sum = 1, mean, max, min, prod, l1, l2, sumSquare, logSum, logSumExp
}

/// `enum kiln_pad_mode`.
public enum PadModeCode: Int32, CaseIterable, Sendable { case constant = 0, reflect, edge, wrap }

/// `enum kiln_resize_mode`.
public enum ResizeModeCode: Int32, CaseIterable, Sendable { case nearest = 0, linear, cubic }

/// `enum kiln_resize_coord` (C prefix `KILN_COORD_`).
public enum CoordinateTransformCode: Int32, CaseIterable, Sendable {
    case halfPixel = 0, halfPixelSymmetric, pytorchHalfPixel, alignCorners, asymmetric, tfCropAndResize, tfHalfPixelForNn
}

/// `enum kiln_nearest_mode`.
public enum NearestModeCode: Int32, CaseIterable, Sendable {
    case roundPreferFloor = 0, roundPreferCeil, floor, ceil
}

/// `enum kiln_recurrent_kind` (C names `KILN_RNN`, `KILN_GRU`, `KILN_LSTM`).
public enum RecurrentKindCode: Int32, CaseIterable, Sendable { case rnn = 0, gru, lstm }

/// `enum kiln_direction` (C names `KILN_FORWARD`, ...).
public enum DirectionCode: Int32, CaseIterable, Sendable { case forward = 0, reverse, bidirectional }

/// dtype codes (PLAN_FORMAT.md §3, `enum kiln_dtype` in kiln.h).
extension DType {
    public var planCode: UInt8 {
        switch self {
        case .f32: return 1
        case .f16: return 2
        case .bf16: return 3
        case .f64: return 4
        case .i8: return 5
        case .u8: return 6
        case .i16: return 7
        case .u16: return 8
        case .i32: return 9
        case .u32: return 10
        case .i64: return 11
        case .u64: return 12
        case .bool: return 13
        }
    }

    public init?(planCode: UInt8) {
        guard let d = DType.allCases.first(where: { $0.planCode == planCode }) else { return nil }
        self = d
    }
}

/// The C spelling of a Swift case name: `depthwiseConv2d` → `DEPTHWISE_CONV2D`.
public func cEnumName<T>(_ value: T) -> String {
    var out = ""
    for c in String(describing: value) {
        if c.isUppercase { out += "_" }
        out += c.uppercased()
    }
    return out
}
