/* microkernel.h — the 6x16 register-blocked GEMM micro-kernel behind CONV2D_PACKED (and
 * the Winograd convolution), with the conv epilogue applied while the tile is in registers.
 *
 * A is pre-packed: a panel of 6 rows stored column by column (kc steps of 6 consecutive
 * floats: the compiler packs conv weights this way). B is a strip of 16 columns read row
 * by row, rows ldb floats apart: a packed strip (ldb = 16) or the input itself.
 * The kernel computes the 6x16 tile sum_p A[p][r] * B[p][c] and writes its top-left
 * rows x cols corner into C (row stride ldc): stored, or added to C when accumulating (a
 * later K block). On the last K block it then adds bias[r] and applies the activation.
 * With AVX2+FMA the tile lives in 12 ymm registers; the portable loops (always compiled,
 * so KILN_FKERNELS=portable can test them anywhere) leave vectorizing to the compiler.
 * Both round identically up to FMA contraction. On AVX-512 CPUs the callers use
 * kiln_gemm_panels_avx512 (gemm_avx512.c) instead, on the same packed panels. */
#ifndef KILN_MICROKERNEL_H
#define KILN_MICROKERNEL_H

#include "common.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define KILN_MK_AVX2 1
#endif

#define KILN_MR 6
#define KILN_NR 16

typedef struct kiln_tile_out {
    float *c;                    /* top-left of the tile in C */
    size_t ldc;
    int rows, cols;              /* valid part, <= 6 x 16 */
    int accumulate;              /* add to C (not the first K block) */
    int last;                    /* last K block: bias + activation */
    const float *bias;           /* bias of the tile's first row, or NULL */
    const kiln_act *act;
} kiln_tile_out;

/* Stores a finished 6x16 tile t (row stride 16) into C with the epilogue. */
static inline void kiln_tile_store_scalar(const float *t, const kiln_tile_out *o) {
    for (int r = 0; r < o->rows; r++) {
        float *crow = o->c + (size_t)r * o->ldc;
        const float *trow = t + r * KILN_NR;
        float b = o->last && o->bias ? o->bias[r] : 0.0f;
        for (int j = 0; j < o->cols; j++) crow[j] = (o->accumulate ? crow[j] : 0.0f) + trow[j] + b;
        if (o->last) kiln_apply_act(o->act, crow, (size_t)o->cols);
    }
}

#ifdef KILN_MK_AVX2
/* Epilogue for a full 6x16 tile of vectors (relu / clip / identity in registers). */
static inline void kiln_tile_store_avx2(__m256 acc[KILN_MR][2], const kiln_tile_out *o) {
    int func = o->last ? o->act->func : KILN_UNARY_IDENTITY;
    int inline_act = func == KILN_UNARY_IDENTITY || func == KILN_UNARY_RELU || func == KILN_UNARY_CLIP;
    __m256 lo = _mm256_set1_ps(func == KILN_UNARY_CLIP ? o->act->alpha : 0.0f);
    __m256 hi = _mm256_set1_ps(func == KILN_UNARY_CLIP ? o->act->beta : 0.0f);
    for (int r = 0; r < KILN_MR; r++) {
        float *crow = o->c + (size_t)r * o->ldc;
        __m256 v0 = acc[r][0], v1 = acc[r][1];
        if (o->accumulate) {
            v0 = _mm256_add_ps(v0, _mm256_loadu_ps(crow));
            v1 = _mm256_add_ps(v1, _mm256_loadu_ps(crow + 8));
        }
        if (o->last && o->bias) {
            __m256 b = _mm256_broadcast_ss(o->bias + r);
            v0 = _mm256_add_ps(v0, b);
            v1 = _mm256_add_ps(v1, b);
        }
        if (func == KILN_UNARY_RELU) {
            v0 = _mm256_max_ps(lo, v0);
            v1 = _mm256_max_ps(lo, v1);
        } else if (func == KILN_UNARY_CLIP) {
            /* min(max(x, lo), hi); max/min return their second operand on NaN, so a NaN x
             * passes through as in the scalar clip. */
            v0 = _mm256_min_ps(hi, _mm256_max_ps(lo, v0));
            v1 = _mm256_min_ps(hi, _mm256_max_ps(lo, v1));
        }
        _mm256_storeu_ps(crow, v0);
        _mm256_storeu_ps(crow + 8, v1);
        if (!inline_act) kiln_apply_act(o->act, crow, KILN_NR);
    }
}
#endif

/* The portable tile: nv = 2 computes 16 columns, nv = 1 the first 8. */
static inline void kiln_micro_6xn_portable(size_t kc, const float *restrict a, const float *restrict b, size_t ldb,
                                           const kiln_tile_out *o, const int nv) {
    float t[KILN_MR * KILN_NR];
    int width = nv * 8;
    for (int i = 0; i < KILN_MR * KILN_NR; i++) t[i] = 0.0f;
    for (size_t p = 0; p < kc; p++, a += KILN_MR, b += ldb)
        for (int r = 0; r < KILN_MR; r++) {
            float av = a[r];
            for (int j = 0; j < width; j++) t[r * KILN_NR + j] += av * b[j];
        }
    kiln_tile_store_scalar(t, o);
}

#ifdef KILN_MK_AVX2
/* The tile of nv vectors per row (nv = 2: 6x16; nv = 1: 6x8 for narrow last strips, whose
 * other 8 columns are not computed). */
static inline __attribute__((always_inline)) void kiln_micro_6xn(size_t kc, const float *restrict a,
                                                                 const float *restrict b, size_t ldb,
                                                                 const kiln_tile_out *o, const int nv) {
    __m256 acc[KILN_MR][2];
    for (int r = 0; r < KILN_MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    for (size_t p = 0; p < kc; p++, a += KILN_MR, b += ldb) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = nv == 2 ? _mm256_loadu_ps(b + 8) : b0;
        for (int r = 0; r < KILN_MR; r++) {
            __m256 av = _mm256_broadcast_ss(a + r);
            acc[r][0] = _mm256_fmadd_ps(av, b0, acc[r][0]);
            if (nv == 2) acc[r][1] = _mm256_fmadd_ps(av, b1, acc[r][1]);
        }
    }
    if (nv == 2 && o->rows == KILN_MR && o->cols == KILN_NR) {
        kiln_tile_store_avx2(acc, o);
        return;
    }
    float t[KILN_MR * KILN_NR];
    for (int r = 0; r < KILN_MR; r++) {
        _mm256_storeu_ps(t + r * KILN_NR, acc[r][0]);
        _mm256_storeu_ps(t + r * KILN_NR + 8, acc[r][1]);
    }
    kiln_tile_store_scalar(t, o);
}
#endif

/* One tile: the 6x8 kernel when at most 8 columns are valid; AVX2 unless isa is
 * KILN_ISA_PORTABLE (or the build has no AVX2). */
static inline void kiln_micro_tile(kiln_isa isa, size_t kc, const float *restrict a, const float *restrict b,
                                   size_t ldb, const kiln_tile_out *o) {
#ifdef KILN_MK_AVX2
    if (isa != KILN_ISA_PORTABLE) {
        if (o->cols <= 8) kiln_micro_6xn(kc, a, b, ldb, o, 1);
        else kiln_micro_6xn(kc, a, b, ldb, o, 2);
        return;
    }
#else
    (void)isa;
#endif
    kiln_micro_6xn_portable(kc, a, b, ldb, o, o->cols <= 8 ? 1 : 2);
}

/* Kiln's blocked SGEMM (gemm_blocked.c) with the isa's micro-kernel: returns 1 when it
 * computed C = alpha op(A) op(B) + beta C, 0 when it has no kernel for isa (portable) or
 * the workspace is too small, C untouched. Runs on e's threads when parallel. */
int kiln_sgemm_blocked(const kiln_exec *e, kiln_isa isa, int parallel, int trans_a, int trans_b, size_t m, size_t n,
                       size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb, float beta,
                       float *c, size_t ldc);

/* op(B) [k, n] of a GEMM whose B is a constant, packed at plan load (gemm_prepack.c) into
 * the strips kiln_sgemm_blocked packs per call: strip s < full (columns [s*w, s*w + w)) is
 * k rows of w floats at strips + s*k*w; the n % w last columns, zero-padded to w, are at
 * tail. w = 32 for the AVX-512 kernel, 16 for the AVX2 and portable 6x16 tiles. */
typedef struct kiln_packed_b {
    const float *strips, *tail;
    size_t n, k, w, full;
} kiln_packed_b;

/* Packs the constant operand `slot` of c's instruction (stored [k, n], or [n, k] when
 * trans_b) into *out: in place when the plan allows it (kiln_constant_writable), else into
 * plan-owned memory. For prepare functions. */
kiln_status kiln_prepack_b(kiln_check *c, uint32_t slot, int trans_b, size_t k, size_t n, size_t w,
                           kiln_packed_b *out);
/* Strip width the blocked GEMM uses for isa (0: none, the portable isa has no blocked path). */
static inline size_t kiln_packed_width(kiln_isa isa) {
    return isa == KILN_ISA_AVX512 ? 32 : isa == KILN_ISA_AVX2 ? 16 : 0;
}
/* C = alpha op(A) B + beta C with B packed for isa (kiln_packed_width(isa) == b->w); M = m,
 * op(A) [m, b->k]. Runs on e's threads when parallel; needs the blocked GEMM's workspace. */
void kiln_sgemm_prepacked(const kiln_exec *e, kiln_isa isa, int parallel, int trans_a, size_t m, float alpha,
                          const float *a, size_t lda, const kiln_packed_b *b, float beta, float *c, size_t ldc);
/* Workspace floats per thread both blocked paths need. */
#define KILN_BLOCKED_WORKSPACE ((size_t)96 * 256 + (size_t)256 * 256)

#ifdef KILN_HAVE_AVX512
/* C (+)= A B over `panels` packed panels (panel q at a + q*astride, kc steps of 6 floats)
 * and ncols columns of B (kc rows, row stride ldb); panel q writes C rows 6q.. (row
 * stride ldc), the first m rows valid. accumulate/last/bias/act as in kiln_tile_out, bias
 * indexed from row 0. Needs an AVX-512 CPU (kiln_isa_detect). */
void kiln_gemm_panels_avx512(size_t kc, const float *a, size_t astride, int64_t panels, int64_t m, const float *b,
                             size_t ldb, int64_t ncols, float *c, size_t ldc, int accumulate, int last,
                             const float *bias, const kiln_act *act);
/* y = alpha * a B + beta * y for one row a [k] (beta 0: y is only written); B [k, n]
 * row-major with row stride ldb, or [n, k] when trans_b. Needs an AVX-512 CPU. */
void kiln_gemv_avx512(int trans_b, int64_t n, int64_t k, float alpha, const float *a, const float *b, size_t ldb,
                      float beta, float *y);
#endif

#endif
