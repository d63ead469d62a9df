/* opcodes.h — the plan format's numbering: section kinds, storage kinds, opcodes and the
 * enumerations used inside attribute blocks. Runtime/PLAN_FORMAT.md is the spec; this file
 * mirrors it and the Swift codegen mirrors this file (a test checks they agree).
 *
 * Every list here is append-only: a number, once released, keeps its meaning forever.
 * One entry per line, `NAME = value,`, so tools can parse it. */
#ifndef KILN_OPCODES_H
#define KILN_OPCODES_H

/* Header flags. */
#define KILN_FLAG_CONSTANTS_ZSTD 0x1u

/* Section flags. */
#define KILN_SECTION_OPTIONAL 0x1u
/* Format 1.2: the section's stored bytes are one zstd frame (any kind; for CONSTANTS the
 * header flag KILN_FLAG_CONSTANTS_ZSTD says the same). */
#define KILN_SECTION_ZSTD 0x2u

/* Tensor entry flags (byte 11; format 1.1). */
#define KILN_TENSOR_F16_STORAGE 0x1u

enum kiln_section_kind {
    KILN_SECTION_STRINGS = 1,
    KILN_SECTION_TENSORS = 2,
    KILN_SECTION_CONSTANTS = 3,
    KILN_SECTION_ATTRIBUTES = 4,
    KILN_SECTION_PROGRAM = 5,
    KILN_SECTION_METADATA = 6,
    KILN_SECTION_QPARAMS = 7,
    KILN_SECTION_KIND_COUNT = 8
};

enum kiln_storage {
    KILN_STORAGE_ARENA = 0,
    KILN_STORAGE_CONSTANT = 1,
    KILN_STORAGE_INPUT = 2,
    KILN_STORAGE_OUTPUT = 3
};

/* Tensor id meaning "optional operand / result not present". */
#define KILN_NO_TENSOR 0xFFFFFFFFu

/* Opcodes (u16). */
enum kiln_opcode {
    KILN_OP_COPY = 1,
    KILN_OP_UNARY = 2,
    KILN_OP_BINARY = 3,
    KILN_OP_WHERE = 4,
    KILN_OP_CAST = 5,
    KILN_OP_CONV2D = 6,
    KILN_OP_DEPTHWISE_CONV2D = 7,
    KILN_OP_CONV_TRANSPOSE2D = 8,
    KILN_OP_GEMM = 9,
    KILN_OP_MATMUL = 10,
    KILN_OP_POOL2D = 11,
    KILN_OP_BATCH_NORM = 12,
    KILN_OP_INSTANCE_NORM = 13,
    KILN_OP_LAYER_NORM = 14,
    KILN_OP_GROUP_NORM = 15,
    KILN_OP_LRN = 16,
    KILN_OP_SOFTMAX = 17,
    KILN_OP_REDUCE = 18,
    KILN_OP_ARG_REDUCE = 19,
    KILN_OP_CUMSUM = 20,
    KILN_OP_TOPK = 21,
    KILN_OP_TRANSPOSE = 22,
    KILN_OP_CONCAT = 23,
    KILN_OP_SPLIT = 24,
    KILN_OP_SLICE = 25,
    KILN_OP_EXPAND = 26,
    KILN_OP_TILE = 27,
    KILN_OP_PAD = 28,
    KILN_OP_DEPTH_TO_SPACE = 29,
    KILN_OP_SPACE_TO_DEPTH = 30,
    KILN_OP_GATHER = 31,
    KILN_OP_GATHER_ELEMENTS = 32,
    KILN_OP_RESIZE = 33,
    KILN_OP_RECURRENT = 34,
    KILN_OP_QUANTIZE_LINEAR = 35,
    KILN_OP_DEQUANTIZE_LINEAR = 36,
    KILN_OP_ONE_HOT = 37,
    KILN_OP_TRILU = 38,
    KILN_OP_RANGE = 39,
    KILN_OP_ATTENTION = 40,
    KILN_OP_CONV2D_PACKED = 60,
    KILN_OP_CONV2D_WINOGRAD = 61,
    KILN_OP_QCONV2D = 80,
    KILN_OP_QGEMM = 81,
    KILN_OP_QMAXPOOL = 82,
    KILN_OP_QADD = 83,
    KILN_OP_QCONCAT = 84,
    KILN_OP_QGLOBAL_AVG_POOL = 85,
    KILN_OP_QLOOKUP = 86,
    KILN_OP_SPARSE_GEMM = 90,
    KILN_OP_DYN_QGEMM = 92,
    KILN_OP_DYN_QPARAMS = 93,
    KILN_OP_DYN_QRECURRENT = 94,
    KILN_OP_COUNT = 95
};

/* Unary functions (UNARY's `func`, and the fused `act` of conv/gemm/matmul/batch_norm,
 * where 0 means no activation). alpha/beta are the function's parameters. */
enum kiln_unary_func {
    KILN_UNARY_IDENTITY = 0,
    KILN_UNARY_RELU = 1,
    KILN_UNARY_LEAKY_RELU = 2,
    KILN_UNARY_SIGMOID = 3,
    KILN_UNARY_TANH = 4,
    KILN_UNARY_GELU_ERF = 5,
    KILN_UNARY_GELU_TANH = 6,
    KILN_UNARY_HARD_SWISH = 7,
    KILN_UNARY_HARD_SIGMOID = 8,
    KILN_UNARY_ELU = 9,
    KILN_UNARY_SELU = 10,
    KILN_UNARY_CELU = 11,
    KILN_UNARY_SOFTPLUS = 12,
    KILN_UNARY_SOFTSIGN = 13,
    KILN_UNARY_MISH = 14,
    KILN_UNARY_THRESHOLDED_RELU = 15,
    KILN_UNARY_CLIP = 16,
    KILN_UNARY_EXP = 17,
    KILN_UNARY_LOG = 18,
    KILN_UNARY_SQRT = 19,
    KILN_UNARY_ABS = 20,
    KILN_UNARY_NEG = 21,
    KILN_UNARY_RECIPROCAL = 22,
    KILN_UNARY_FLOOR = 23,
    KILN_UNARY_CEIL = 24,
    KILN_UNARY_ROUND = 25,
    KILN_UNARY_SIGN = 26,
    KILN_UNARY_ERF = 27,
    KILN_UNARY_SIN = 28,
    KILN_UNARY_COS = 29,
    KILN_UNARY_TAN = 30,
    KILN_UNARY_ASIN = 31,
    KILN_UNARY_ACOS = 32,
    KILN_UNARY_ATAN = 33,
    KILN_UNARY_SINH = 34,
    KILN_UNARY_COSH = 35,
    KILN_UNARY_ASINH = 36,
    KILN_UNARY_ACOSH = 37,
    KILN_UNARY_ATANH = 38,
    KILN_UNARY_NOT = 39,
    KILN_UNARY_IS_NAN = 40,
    KILN_UNARY_IS_INF = 41,
    KILN_UNARY_SILU = 42,
    KILN_UNARY_AFFINE = 43,
    KILN_UNARY_SCALED_TANH = 44,
    KILN_UNARY_COUNT = 45
};

enum kiln_binary_func {
    KILN_BINARY_ADD = 1,
    KILN_BINARY_SUB = 2,
    KILN_BINARY_MUL = 3,
    KILN_BINARY_DIV = 4,
    KILN_BINARY_POW = 5,
    KILN_BINARY_MIN = 6,
    KILN_BINARY_MAX = 7,
    KILN_BINARY_MOD = 8,
    KILN_BINARY_FMOD = 9,
    KILN_BINARY_EQUAL = 10,
    KILN_BINARY_LESS = 11,
    KILN_BINARY_LESS_OR_EQUAL = 12,
    KILN_BINARY_GREATER = 13,
    KILN_BINARY_GREATER_OR_EQUAL = 14,
    KILN_BINARY_AND = 15,
    KILN_BINARY_OR = 16,
    KILN_BINARY_XOR = 17,
    KILN_BINARY_PRELU = 18,
    KILN_BINARY_COUNT = 19
};

enum kiln_pool_kind {
    KILN_POOL_MAX = 0,
    KILN_POOL_AVERAGE = 1,
    KILN_POOL_LP = 2
};

enum kiln_reduce_kind {
    KILN_REDUCE_SUM = 1,
    KILN_REDUCE_MEAN = 2,
    KILN_REDUCE_MAX = 3,
    KILN_REDUCE_MIN = 4,
    KILN_REDUCE_PROD = 5,
    KILN_REDUCE_L1 = 6,
    KILN_REDUCE_L2 = 7,
    KILN_REDUCE_SUM_SQUARE = 8,
    KILN_REDUCE_LOG_SUM = 9,
    KILN_REDUCE_LOG_SUM_EXP = 10
};

enum kiln_pad_mode {
    KILN_PAD_CONSTANT = 0,
    KILN_PAD_REFLECT = 1,
    KILN_PAD_EDGE = 2,
    KILN_PAD_WRAP = 3
};

enum kiln_resize_mode {
    KILN_RESIZE_NEAREST = 0,
    KILN_RESIZE_LINEAR = 1,
    KILN_RESIZE_CUBIC = 2
};

enum kiln_resize_coord {
    KILN_COORD_HALF_PIXEL = 0,
    KILN_COORD_HALF_PIXEL_SYMMETRIC = 1,
    KILN_COORD_PYTORCH_HALF_PIXEL = 2,
    KILN_COORD_ALIGN_CORNERS = 3,
    KILN_COORD_ASYMMETRIC = 4,
    KILN_COORD_TF_CROP_AND_RESIZE = 5,
    KILN_COORD_TF_HALF_PIXEL_FOR_NN = 6
};

enum kiln_nearest_mode {
    KILN_NEAREST_ROUND_PREFER_FLOOR = 0,
    KILN_NEAREST_ROUND_PREFER_CEIL = 1,
    KILN_NEAREST_FLOOR = 2,
    KILN_NEAREST_CEIL = 3
};

enum kiln_recurrent_kind {
    KILN_RNN = 0,
    KILN_GRU = 1,
    KILN_LSTM = 2
};

enum kiln_direction {
    KILN_FORWARD = 0,
    KILN_REVERSE = 1,
    KILN_BIDIRECTIONAL = 2
};

#endif
