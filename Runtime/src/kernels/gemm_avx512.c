/* gemm_avx512.c — the AVX-512 GEMM behind CONV2D_PACKED and the Winograd convolution when
 * the CPU has AVX-512 (isa.c): the same 6-row packed weight panels as the AVX2 6x16 kernel
 * (so plans are identical), a 6x32 tile held in 12 zmm accumulators.
 *
 * Algorithm: C[6p+r][j] (+)= sum_k A_p[k][r] * B[k][j]. Panels go in chunks of MCP; per
 * chunk, B is walked in tiles of 32 columns (the last one narrower, read and written with
 * lane masks, so no zero-padded copy of a partial strip is needed), and every panel of the
 * chunk runs the 6x32 micro-kernel on the tile while it is in L1: per k, two B vectors and
 * six broadcast A values feed 12 FMAs. On the last K block the epilogue adds the bias and
 * applies relu/clip in registers (other activations run on the stored row). Tiles of at
 * most 16 columns use a 6x16 variant. Rounding matches the portable kernel up to FMA
 * contraction (the summation order over k is the same). kiln_gemv_avx512 serves the
 * GEMM opcode's single-row case (a classifier's fully connected layer). */
#include "microkernel.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

#define MCP 32

typedef struct tile512 {
    float *c;
    size_t ldc;
    int rows, accumulate, last;
    const float *bias;
    const kiln_act *act;
} tile512;

/* The epilogue of row r of a tile: v0, v1 (nv = 1: v0 only) with column masks m0, m1. */
KILN_AVX512 static inline __attribute__((always_inline)) void store_row(const tile512 *t, int r, __m512 v0, __m512 v1,
                                                                         int nv, __mmask16 m0, __mmask16 m1,
                                                                         int cols) {
    if (r >= t->rows) return;
    int func = t->last ? t->act->func : KILN_UNARY_IDENTITY;
    float *crow = t->c + (size_t)r * t->ldc;
    if (t->accumulate) {
        v0 = _mm512_add_ps(v0, _mm512_maskz_loadu_ps(m0, crow));
        if (nv == 2) v1 = _mm512_add_ps(v1, _mm512_maskz_loadu_ps(m1, crow + 16));
    }
    if (t->last && t->bias) {
        __m512 b = _mm512_set1_ps(t->bias[r]);
        v0 = _mm512_add_ps(v0, b);
        v1 = _mm512_add_ps(v1, b);
    }
    /* max/min return their second operand on NaN: a NaN passes through, as in the scalar
     * relu and clip. */
    if (func == KILN_UNARY_RELU) {
        v0 = _mm512_max_ps(_mm512_setzero_ps(), v0);
        v1 = _mm512_max_ps(_mm512_setzero_ps(), v1);
    } else if (func == KILN_UNARY_CLIP) {
        __m512 lo = _mm512_set1_ps(t->act->alpha), hi = _mm512_set1_ps(t->act->beta);
        v0 = _mm512_min_ps(hi, _mm512_max_ps(lo, v0));
        v1 = _mm512_min_ps(hi, _mm512_max_ps(lo, v1));
    }
    _mm512_mask_storeu_ps(crow, m0, v0);
    if (nv == 2) _mm512_mask_storeu_ps(crow + 16, m1, v1);
    if (func != KILN_UNARY_IDENTITY && func != KILN_UNARY_RELU && func != KILN_UNARY_CLIP)
        kiln_apply_act(t->act, crow, (size_t)cols);
}

/* One 6 x (16 * nv) tile, nv = 1 or 2; `full` tiles load B without masks. The 12
 * accumulators are named variables so they stay in registers. */
KILN_AVX512 static inline __attribute__((always_inline)) void micro512(size_t kc, const float *restrict a,
                                                                        const float *restrict b, size_t ldb,
                                                                        const tile512 *t, int cols, const int nv,
                                                                        const int full) {
    __mmask16 m0 = full ? (__mmask16)0xFFFF : (__mmask16)(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
    __mmask16 m1 = full ? (__mmask16)0xFFFF : (__mmask16)(cols >= 32 ? 0xFFFF : cols <= 16 ? 0 : (1u << (cols - 16)) - 1);
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00;
    __m512 c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
    for (size_t p = 0; p < kc; p++, a += KILN_MR, b += ldb) {
        __m512 b0 = full ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = nv == 1 ? b0 : full ? _mm512_loadu_ps(b + 16) : _mm512_maskz_loadu_ps(m1, b + 16);
        __m512 av;
#define KILN_FMA_ROW(r, x0, x1)                      \
        av = _mm512_set1_ps(a[r]);                   \
        x0 = _mm512_fmadd_ps(av, b0, x0);            \
        if (nv == 2) x1 = _mm512_fmadd_ps(av, b1, x1);
        KILN_FMA_ROW(0, c00, c01)
        KILN_FMA_ROW(1, c10, c11)
        KILN_FMA_ROW(2, c20, c21)
        KILN_FMA_ROW(3, c30, c31)
        KILN_FMA_ROW(4, c40, c41)
        KILN_FMA_ROW(5, c50, c51)
#undef KILN_FMA_ROW
    }
    store_row(t, 0, c00, c01, nv, m0, m1, cols);
    store_row(t, 1, c10, c11, nv, m0, m1, cols);
    store_row(t, 2, c20, c21, nv, m0, m1, cols);
    store_row(t, 3, c30, c31, nv, m0, m1, cols);
    store_row(t, 4, c40, c41, nv, m0, m1, cols);
    store_row(t, 5, c50, c51, nv, m0, m1, cols);
}

KILN_AVX512 void kiln_gemm_panels_avx512(size_t kc, const float *a, size_t astride, int64_t panels, int64_t m,
                                         const float *b, size_t ldb, int64_t ncols, float *c, size_t ldc,
                                         int accumulate, int last, const float *bias, const kiln_act *act) {
    int64_t tiles = (ncols + 31) / 32;
    for (int64_t q0 = 0; q0 < panels; q0 += MCP) {
        int64_t q1 = q0 + MCP < panels ? q0 + MCP : panels;
        for (int64_t s = 0; s < tiles; s++) {
            int cols = (int)(ncols - s * 32 < 32 ? ncols - s * 32 : 32);
            const float *bs = b + (size_t)s * 32;
            /* B rows far apart (the input itself, or a wide block): fetch the next tile's
             * rows into L2 while this one computes (hundreds of strided streams are more
             * than the hardware prefetchers follow). */
            if (s + 1 < tiles && ldb > 64)
                for (size_t kk = 0; kk < kc; kk++) {
                    const float *nx = bs + 32 + kk * ldb;
                    __builtin_prefetch(nx, 0, 2);
                    __builtin_prefetch(nx + 16, 0, 2);
                    __builtin_prefetch(nx + 31, 0, 2);
                }
            for (int64_t pn = q0; pn < q1; pn++) {
                int64_t r0 = pn * KILN_MR;
                tile512 t = {c + (size_t)r0 * ldc + (size_t)s * 32, ldc, (int)(m - r0 < KILN_MR ? m - r0 : KILN_MR),
                             accumulate, last, bias ? bias + r0 : NULL, act};
                const float *ap = a + (size_t)pn * astride;
                /* First B tile: fetch the next panel's K slice (kc x 6 floats, far from this
                 * one) while this one computes; later tiles find it in L2. */
                if (s == 0 && pn + 1 < panels)
                    for (size_t off = 0; off < kc * KILN_MR; off += 16) __builtin_prefetch(ap + astride + off, 0, 2);
                if (cols == 32) micro512(kc, ap, bs, ldb, &t, cols, 2, 1);
                else if (cols > 16) micro512(kc, ap, bs, ldb, &t, cols, 2, 0);
                else if (cols == 16) micro512(kc, ap, bs, ldb, &t, cols, 1, 1);
                else micro512(kc, ap, bs, ldb, &t, cols, 1, 0);
            }
        }
    }
}
#endif

#ifdef KILN_HAVE_AVX512
/* Lanes [0, count) of a 16-lane mask (none for count <= 0). */
KILN_AVX512 static inline __mmask16 lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/* y[j] = alpha * sum_k a[k] * B(k, j) (+ beta * y[j] when beta != 0), j < n: B(k, j) is
 * b[j * ldb + k] when trans_b (four dot products at a time, 16 taps per step, masked
 * tail) and b[k * ldb + j] otherwise (64 columns at a time in four accumulators, B rows
 * streamed once). Summation order differs from a GEMM only in the grouping of k. */
KILN_AVX512 void kiln_gemv_avx512(int trans_b, int64_t n, int64_t k, float alpha, const float *a, const float *b,
                                  size_t ldb, float beta, float *y) {
    if (trans_b) {
        int64_t j = 0;
        for (; j + 4 <= n; j += 4) {
            const float *b0 = b + (size_t)j * ldb, *b1 = b0 + ldb, *b2 = b1 + ldb, *b3 = b2 + ldb;
            __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
            /* The next four rows, a line per row and step: B comes from memory once, and the
             * hardware prefetchers alone left the loads waiting (ResNet-18's classifier). */
            const float *nx = j + 8 <= n ? b0 + 4 * ldb : NULL;
            for (int64_t kk = 0; kk < k; kk += 16) {
                __mmask16 m = lanes(k - kk);
                if (nx) {
                    __builtin_prefetch(nx + kk, 0, 0);
                    __builtin_prefetch(nx + ldb + kk, 0, 0);
                    __builtin_prefetch(nx + 2 * ldb + kk, 0, 0);
                    __builtin_prefetch(nx + 3 * ldb + kk, 0, 0);
                }
                __m512 av = _mm512_maskz_loadu_ps(m, a + kk);
                s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b0 + kk), s0);
                s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b1 + kk), s1);
                s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b2 + kk), s2);
                s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m, b3 + kk), s3);
            }
            float d[4] = {_mm512_reduce_add_ps(s0), _mm512_reduce_add_ps(s1), _mm512_reduce_add_ps(s2),
                          _mm512_reduce_add_ps(s3)};
            for (int q = 0; q < 4; q++) y[j + q] = alpha * d[q] + (beta != 0.0f ? beta * y[j + q] : 0.0f);
        }
        for (; j < n; j++) {
            const float *bj = b + (size_t)j * ldb;
            __m512 s = _mm512_setzero_ps();
            for (int64_t kk = 0; kk < k; kk += 16) {
                __mmask16 m = lanes(k - kk);
                s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + kk), _mm512_maskz_loadu_ps(m, bj + kk), s);
            }
            y[j] = alpha * _mm512_reduce_add_ps(s) + (beta != 0.0f ? beta * y[j] : 0.0f);
        }
        return;
    }
    for (int64_t j = 0; j < n; j += 64) {
        __mmask16 m0 = lanes(n - j), m1 = lanes(n - j - 16), m2 = lanes(n - j - 32), m3 = lanes(n - j - 48);
        __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
        for (int64_t kk = 0; kk < k; kk++) {
            const float *row = b + (size_t)kk * ldb + j;
            __m512 av = _mm512_set1_ps(a[kk]);
            s0 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m0, row), s0);
            s1 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m1, row + 16), s1);
            s2 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m2, row + 32), s2);
            s3 = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(m3, row + 48), s3);
        }
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
        __m512 acc[4] = {s0, s1, s2, s3};
        __mmask16 ms[4] = {m0, m1, m2, m3};
        for (int v = 0; v < 4; v++) {
            __m512 r = _mm512_mul_ps(va, acc[v]);
            if (beta != 0.0f) r = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(ms[v], y + j + 16 * v), r);
            _mm512_mask_storeu_ps(y + j + 16 * v, ms[v], r);
        }
    }
}
#endif
