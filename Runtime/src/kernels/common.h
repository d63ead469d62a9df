/* common.h — helpers shared by several kernel families. */
#ifndef KILN_KERNELS_COMMON_H
#define KILN_KERNELS_COMMON_H

#include "../internal.h"

/* A strided view: out element (i0..i{r-1}) comes from src element
 * base + sum(i_k * strides[k]). Transpose, slice, expand, tile, depth_to_space and
 * space_to_depth are all views of their input (tile doubles the rank). */
#define KILN_VIEW_MAX_RANK 16
typedef struct kiln_view {
    uint32_t rank, esize;
    int64_t dims[KILN_VIEW_MAX_RANK];
    int64_t strides[KILN_VIEW_MAX_RANK];
    int64_t base;
} kiln_view;

/* Merges adjacent axes that are contiguous in the source and drops size-1 axes. */
void kiln_view_simplify(kiln_view *v);
/* Copies the view of src into the dense dst. */
void kiln_view_copy(const kiln_view *v, const void *src, void *dst);

/* Row-major element strides of a tensor. */
void kiln_dense_strides(const kiln_tdesc *t, int64_t *strides);

/* Broadcast of operands to a result of rank r: per operand, strides (0 on broadcast axes)
 * over the result's dims, after merging axes; `inner` is the size of the last axis. */
#define KILN_MAX_OPERANDS_BCAST 3
typedef struct kiln_bcast {
    uint32_t rank, nops;
    int64_t dims[KILN_MAX_RANK];
    int64_t strides[KILN_MAX_OPERANDS_BCAST][KILN_MAX_RANK];
} kiln_bcast;

/* Fails unless every operand broadcasts to `out` (numpy rules); fills b. */
kiln_status kiln_bcast_init(kiln_check *c, const kiln_tdesc *const *ops, uint32_t nops, const kiln_tdesc *out,
                            kiln_bcast *b);

/* Iterates rows [row_begin, row_end) of the broadcast (a row is one run of the innermost
 * axis): calls fn(ctx, offsets[nops], out_offset, inner_count, inner_strides) per row. */
typedef void (*kiln_bcast_fn)(void *ctx, const int64_t *offs, int64_t out_off, int64_t n, const int64_t *inner);
int64_t kiln_bcast_rows(const kiln_bcast *b);
void kiln_bcast_run(const kiln_bcast *b, int64_t row_begin, int64_t row_end, kiln_bcast_fn fn, void *ctx);
/* Runs the whole broadcast, split over the threads when it is large: by rows, or for a
 * single row by element ranges. */
void kiln_bcast_parallel(const kiln_exec *e, const kiln_bcast *b, kiln_bcast_fn fn, void *ctx);

/* Minimum elements per thread before elementwise kernels split work. */
#define KILN_PARALLEL_GRAIN 32768

/* Normalizes axis (negative counts from the back) against rank; -1 if out of range. */
int32_t kiln_norm_axis(int64_t axis, uint32_t rank);

/* Product of dims[begin..end). */
int64_t kiln_dims_product(const kiln_tdesc *t, uint32_t begin, uint32_t end);

/* Fails unless GEMM dimensions fit a BLAS int. */
kiln_status kiln_check_gemm_dims(kiln_check *c, int64_t m, int64_t n, int64_t k);

/* Attributes shared by CONV2D, DEPTHWISE_CONV2D and CONV_TRANSPOSE2D (56 bytes): i32
 * kernel_h, kernel_w, stride_h, stride_w, pad_top, pad_left, pad_bottom, pad_right,
 * dilation_h, dilation_w, group, then the fused activation (i32 func, f32 alpha, f32 beta). */
typedef struct kiln_conv_attrs {
    int64_t kh, kw, sh, sw, pt, pl, pb, pr, dh, dw, group;
    kiln_act act;
} kiln_conv_attrs;
#define KILN_CONV_ATTR_SIZE 56
kiln_status kiln_conv_attrs_read(kiln_check *c, kiln_conv_attrs *a);
/* Adds bias[ch] (if any) to each of `channels` planes of `plane` floats, then applies act. */
void kiln_conv_epilogue(const kiln_exec *e, const float *bias, float *y, int64_t channels, int64_t plane,
                        const kiln_act *act);

/* Float-kernel instruction sets, best last (isa.c). AVX-512 code is compiled on x86-64
 * GCC/clang with target attributes (KILN_AVX512 on each function), whatever -march says. */
typedef enum kiln_isa { KILN_ISA_PORTABLE = 0, KILN_ISA_AVX2 = 1, KILN_ISA_AVX512 = 2 } kiln_isa;
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(KILN_NO_AVX512)
#define KILN_HAVE_AVX512 1
#define KILN_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#endif
/* KILN_SMALL_CODE: compile a function for size whatever the build's -O level: code that is
 * rare in models and not worth vector loops (integer shape arithmetic, comparisons). */
#if defined(__clang__)
#define KILN_SMALL_CODE __attribute__((minsize))
#elif defined(__GNUC__)
#define KILN_SMALL_CODE __attribute__((optimize("Os")))
#else
#define KILN_SMALL_CODE
#endif
/* The best set this CPU and OS run, capped by KILN_FKERNELS=portable|avx2|avx512. */
kiln_isa kiln_isa_detect(void);

/* Recurrent-op sizes (S steps, D directions, Bt batch, H hidden, gh = gates*H) small enough
 * that every buffer size the checks and kernels form (S*Bt*(gh+4H), S*D*Bt*H, ...) stays far
 * below 2^63: a hostile plan with a zero-sized X could otherwise wrap them. */
static inline int kiln_rnn_sizes_ok(int64_t S, int64_t D, int64_t Bt, int64_t H, int64_t gh) {
    const uint64_t lim = (uint64_t)1 << 40;
    uint64_t sb, a, b, c;
    if (S < 0 || D < 1 || D > 2 || Bt < 0 || H < 1 || H > ((int64_t)1 << 30) || gh < H || gh > 4 * H) return 0;
    return kiln_mul_ok((uint64_t)S + 1, (uint64_t)Bt, &sb) && kiln_mul_ok(sb, (uint64_t)(gh + 4 * H), &a) &&
           kiln_mul_ok(sb, (uint64_t)(D * H), &b) && kiln_mul_ok((uint64_t)D, (uint64_t)(2 * gh), &c) && a < lim &&
           b < lim && c < lim;
}

/* Ceil of a / b for b > 0 and any a. */
static inline int64_t kiln_ceil_div(int64_t a, int64_t b) { return a >= 0 ? (a + b - 1) / b : -((-a) / b); }
static inline int64_t kiln_floor_div(int64_t a, int64_t b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

#endif
