/* registry.c — the one explicit list mapping opcodes to kernels. */
#include "kernels.h"

static const kiln_kernel *const kKernels[KILN_OP_COUNT] = {
    [KILN_OP_COPY] = &kiln_k_copy,
    [KILN_OP_UNARY] = &kiln_k_unary,
    [KILN_OP_BINARY] = &kiln_k_binary,
    [KILN_OP_WHERE] = &kiln_k_where,
    [KILN_OP_CAST] = &kiln_k_cast,
    [KILN_OP_CONV2D] = &kiln_k_conv2d,
    [KILN_OP_DEPTHWISE_CONV2D] = &kiln_k_depthwise_conv2d,
    [KILN_OP_CONV_TRANSPOSE2D] = &kiln_k_conv_transpose2d,
    [KILN_OP_GEMM] = &kiln_k_gemm,
    [KILN_OP_MATMUL] = &kiln_k_matmul,
    [KILN_OP_TRANSPOSE] = &kiln_k_transpose,
    [KILN_OP_CONCAT] = &kiln_k_concat,
    [KILN_OP_SPLIT] = &kiln_k_split,
    [KILN_OP_SLICE] = &kiln_k_slice,
    [KILN_OP_EXPAND] = &kiln_k_expand,
    [KILN_OP_TILE] = &kiln_k_tile,
    [KILN_OP_DEPTH_TO_SPACE] = &kiln_k_depth_to_space,
    [KILN_OP_SPACE_TO_DEPTH] = &kiln_k_space_to_depth,
    [KILN_OP_POOL2D] = &kiln_k_pool2d,
    [KILN_OP_BATCH_NORM] = &kiln_k_batch_norm,
    [KILN_OP_INSTANCE_NORM] = &kiln_k_instance_norm,
    [KILN_OP_LAYER_NORM] = &kiln_k_layer_norm,
    [KILN_OP_GROUP_NORM] = &kiln_k_group_norm,
    [KILN_OP_LRN] = &kiln_k_lrn,
    [KILN_OP_SOFTMAX] = &kiln_k_softmax,
    [KILN_OP_REDUCE] = &kiln_k_reduce,
    [KILN_OP_ARG_REDUCE] = &kiln_k_arg_reduce,
    [KILN_OP_CUMSUM] = &kiln_k_cumsum,
    [KILN_OP_TOPK] = &kiln_k_topk,
    [KILN_OP_PAD] = &kiln_k_pad,
    [KILN_OP_GATHER] = &kiln_k_gather,
    [KILN_OP_GATHER_ELEMENTS] = &kiln_k_gather_elements,
    [KILN_OP_RESIZE] = &kiln_k_resize,
    [KILN_OP_RECURRENT] = &kiln_k_recurrent,
    [KILN_OP_QUANTIZE_LINEAR] = &kiln_k_quantize_linear,
    [KILN_OP_DEQUANTIZE_LINEAR] = &kiln_k_dequantize_linear,
    [KILN_OP_ONE_HOT] = &kiln_k_one_hot,
    [KILN_OP_TRILU] = &kiln_k_trilu,
    [KILN_OP_RANGE] = &kiln_k_range,
    [KILN_OP_ATTENTION] = &kiln_k_attention,
    [KILN_OP_CONV2D_PACKED] = &kiln_k_conv2d_packed,
    [KILN_OP_CONV2D_WINOGRAD] = &kiln_k_conv2d_winograd,
    [KILN_OP_QCONV2D] = &kiln_k_qconv2d,
    [KILN_OP_QGEMM] = &kiln_k_qgemm,
};

const kiln_kernel *kiln_kernel_for(uint16_t opcode) {
    if (opcode >= KILN_OP_COUNT) return NULL;
    return kKernels[opcode];
}
