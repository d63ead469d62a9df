/* kernels.h — every kernel the registry knows, one per opcode. */
#ifndef KILN_KERNELS_H
#define KILN_KERNELS_H

#include "../internal.h"

extern const kiln_kernel kiln_k_copy, kiln_k_unary, kiln_k_binary, kiln_k_where, kiln_k_cast;
extern const kiln_kernel kiln_k_conv2d, kiln_k_depthwise_conv2d, kiln_k_conv_transpose2d, kiln_k_conv2d_packed;
extern const kiln_kernel kiln_k_conv2d_winograd;
extern const kiln_kernel kiln_k_gemm, kiln_k_matmul;
extern const kiln_kernel kiln_k_pool2d, kiln_k_batch_norm, kiln_k_instance_norm, kiln_k_layer_norm;
extern const kiln_kernel kiln_k_group_norm, kiln_k_lrn, kiln_k_softmax;
extern const kiln_kernel kiln_k_reduce, kiln_k_arg_reduce, kiln_k_cumsum, kiln_k_topk;
extern const kiln_kernel kiln_k_transpose, kiln_k_concat, kiln_k_split, kiln_k_slice, kiln_k_expand, kiln_k_tile;
extern const kiln_kernel kiln_k_pad, kiln_k_depth_to_space, kiln_k_space_to_depth;
extern const kiln_kernel kiln_k_gather, kiln_k_gather_elements, kiln_k_resize, kiln_k_recurrent;
extern const kiln_kernel kiln_k_quantize_linear, kiln_k_dequantize_linear, kiln_k_one_hot, kiln_k_trilu, kiln_k_range;
extern const kiln_kernel kiln_k_attention;
extern const kiln_kernel kiln_k_qconv2d, kiln_k_qgemm, kiln_k_qmaxpool, kiln_k_qadd, kiln_k_qconcat, kiln_k_qgap, kiln_k_qlookup;
extern const kiln_kernel kiln_k_sparse_gemm;
extern const kiln_kernel kiln_k_dyn_qgemm, kiln_k_dyn_qparams, kiln_k_dyn_qrecurrent;

#endif
