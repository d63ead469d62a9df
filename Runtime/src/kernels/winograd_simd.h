/* winograd_simd.h — AVX2 parts of the F(4x4, 3x3) tile transforms (conv_winograd.c),
 * eight tiles per step, one tile per vector lane. Each returns the first tile it left to
 * the scalar code (partial last steps, tiles that would store past the row). The AVX-512
 * versions take 16 tiles per step and do whole rows: a tile's 4-float groups are gathered
 * into lanes and scattered back, the last step under lane masks. */
#ifndef KILN_WINOGRAD_SIMD_H
#define KILN_WINOGRAD_SIMD_H

#include "microkernel.h"

#ifdef KILN_MK_AVX2
/* Columns j = 0..3 of 8 consecutive 4-column groups at s (32 floats) as 4 vectors:
 * e[j] lane q = s[4q + j]. A 128-bit lane swap, then a 4x4 transpose per lane. */
static inline void wg_deinterleave4(const float *s, __m256 e[4]) {
    __m256 a0 = _mm256_loadu_ps(s), a1 = _mm256_loadu_ps(s + 8), a2 = _mm256_loadu_ps(s + 16),
           a3 = _mm256_loadu_ps(s + 24);
    __m256 p0 = _mm256_permute2f128_ps(a0, a2, 0x20), p1 = _mm256_permute2f128_ps(a0, a2, 0x31);
    __m256 p2 = _mm256_permute2f128_ps(a1, a3, 0x20), p3 = _mm256_permute2f128_ps(a1, a3, 0x31);
    __m256 t0 = _mm256_unpacklo_ps(p0, p1), t1 = _mm256_unpackhi_ps(p0, p1);
    __m256 t2 = _mm256_unpacklo_ps(p2, p3), t3 = _mm256_unpackhi_ps(p2, p3);
    e[0] = _mm256_shuffle_ps(t0, t2, 0x44);
    e[1] = _mm256_shuffle_ps(t0, t2, 0xEE);
    e[2] = _mm256_shuffle_ps(t1, t3, 0x44);
    e[3] = _mm256_shuffle_ps(t1, t3, 0xEE);
}

/* The inverse: 4 vectors (lane q of e[j] = column j of group q) → 32 floats at d. */
static inline void wg_interleave4(const __m256 e[4], float *d) {
    __m256 t0 = _mm256_unpacklo_ps(e[0], e[1]), t1 = _mm256_unpackhi_ps(e[0], e[1]);
    __m256 t2 = _mm256_unpacklo_ps(e[2], e[3]), t3 = _mm256_unpackhi_ps(e[2], e[3]);
    __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    _mm256_storeu_ps(d, _mm256_permute2f128_ps(u0, u1, 0x20));
    _mm256_storeu_ps(d + 8, _mm256_permute2f128_ps(u2, u3, 0x20));
    _mm256_storeu_ps(d + 16, _mm256_permute2f128_ps(u0, u1, 0x31));
    _mm256_storeu_ps(d + 24, _mm256_permute2f128_ps(u2, u3, 0x31));
}

#define WG_S(x) _mm256_set1_ps(x)

/* Row pass of the input transform: o[l * vstride + q] = (B^T e)[l], e = s[4q .. 4q+5].
 * Reads s up to 4 * tw + 3. */
static inline int64_t wg_input_row_avx2(const float *s, float *o, size_t vstride, int64_t tw) {
    int64_t q = 0;
    for (; q + 8 <= tw; q += 8) {
        __m256 e[4], f[4];
        wg_deinterleave4(s + 4 * q, e);
        wg_deinterleave4(s + 4 * q + 4, f);          /* f[0], f[1] = columns 4, 5 */
        __m256 e0 = e[0], e1 = e[1], e2 = e[2], e3 = e[3], e4 = f[0], e5 = f[1];
        _mm256_storeu_ps(o + q, _mm256_add_ps(_mm256_fmadd_ps(WG_S(4.0f), e0, _mm256_mul_ps(WG_S(-5.0f), e2)), e4));
        _mm256_storeu_ps(o + vstride + q,
                         _mm256_fmadd_ps(WG_S(-4.0f), _mm256_add_ps(e1, e2), _mm256_add_ps(e3, e4)));
        _mm256_storeu_ps(o + 2 * vstride + q,
                         _mm256_fmadd_ps(WG_S(4.0f), _mm256_sub_ps(e1, e2), _mm256_sub_ps(e4, e3)));
        _mm256_storeu_ps(o + 3 * vstride + q,
                         _mm256_fmadd_ps(WG_S(-2.0f), _mm256_sub_ps(e1, e3), _mm256_sub_ps(e4, e2)));
        _mm256_storeu_ps(o + 4 * vstride + q,
                         _mm256_fmadd_ps(WG_S(2.0f), _mm256_sub_ps(e1, e3), _mm256_sub_ps(e4, e2)));
        _mm256_storeu_ps(o + 5 * vstride + q,
                         _mm256_add_ps(_mm256_fmadd_ps(WG_S(4.0f), e1, _mm256_mul_ps(WG_S(-5.0f), e3)), e5));
    }
    return q;
}

/* Output transform of 8 tiles per step for one tile row: x[xi * mstride + q] is M_xi of
 * tile q; rows (<= 4) output rows start at y[i] (4 floats per tile). Only steps whose 32
 * columns all lie within ow. */
static inline int64_t wg_output_row_avx2(const float *x, size_t mstride, int64_t tw, float bias, float *const *y,
                                         int64_t rows, int64_t ow) {
    int64_t q = 0;
    for (; q + 8 <= tw && 4 * q + 32 <= ow; q += 8) {
        __m256 o[4][4], vb = WG_S(bias);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) o[i][j] = vb;
        for (int k = 0; k < 6; k++) {
            const float *r = x + (size_t)(6 * k) * mstride + q;
            __m256 x0 = _mm256_loadu_ps(r), x1 = _mm256_loadu_ps(r + mstride), x2 = _mm256_loadu_ps(r + 2 * mstride),
                   x3 = _mm256_loadu_ps(r + 3 * mstride), x4 = _mm256_loadu_ps(r + 4 * mstride),
                   x5 = _mm256_loadu_ps(r + 5 * mstride);
            __m256 s12 = _mm256_add_ps(x1, x2), d12 = _mm256_sub_ps(x1, x2);
            __m256 s34 = _mm256_add_ps(x3, x4), d34 = _mm256_sub_ps(x3, x4);
            __m256 z[4] = {_mm256_add_ps(_mm256_add_ps(x0, s12), s34), _mm256_fmadd_ps(WG_S(2.0f), d34, d12),
                           _mm256_fmadd_ps(WG_S(4.0f), s34, s12),
                           _mm256_add_ps(_mm256_fmadd_ps(WG_S(8.0f), d34, d12), x5)};
            /* A^T column k: (1, 0, 0, 0), (1, 1, 1, 1), (1, -1, 1, -1), (1, 2, 4, 8), (1, -2, 4, -8), (0, 0, 0, 1). */
            static const float at[6][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {1, -1, 1, -1}, {1, 2, 4, 8}, {1, -2, 4, -8},
                                           {0, 0, 0, 1}};
            for (int i = 0; i < 4; i++) {
                if (at[k][i] == 0.0f) continue;
                __m256 c = WG_S(at[k][i]);
                for (int j = 0; j < 4; j++) o[i][j] = _mm256_fmadd_ps(c, z[j], o[i][j]);
            }
        }
        for (int64_t i = 0; i < rows; i++) wg_interleave4(o[i], y[i] + 4 * q);
    }
    return q;
}
#endif

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

/* Lanes [0, count) of a 16-lane mask (none for count <= 0). */
KILN_AVX512 static inline __mmask16 wg_lanes(int64_t count) {
    return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

/* wg_input_row_avx2 for every tile: lane t of e_j = s[4(q + t) + j]. */
KILN_AVX512 static inline void wg_input_row_avx512(const float *s, float *o, size_t vstride, int64_t tw) {
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
    const __m512 z = _mm512_setzero_ps();
    for (int64_t q = 0; q < tw; q += 16) {
        const __mmask16 m = wg_lanes(tw - q);
        const float *b = s + 4 * q;
        __m512 e0 = _mm512_mask_i32gather_ps(z, m, idx, b, 4), e1 = _mm512_mask_i32gather_ps(z, m, idx, b + 1, 4);
        __m512 e2 = _mm512_mask_i32gather_ps(z, m, idx, b + 2, 4), e3 = _mm512_mask_i32gather_ps(z, m, idx, b + 3, 4);
        __m512 e4 = _mm512_mask_i32gather_ps(z, m, idx, b + 4, 4), e5 = _mm512_mask_i32gather_ps(z, m, idx, b + 5, 4);
        const __m512 c4 = _mm512_set1_ps(4.0f), c5 = _mm512_set1_ps(-5.0f), c2 = _mm512_set1_ps(2.0f);
        _mm512_mask_storeu_ps(o + q, m, _mm512_add_ps(_mm512_fmadd_ps(c4, e0, _mm512_mul_ps(c5, e2)), e4));
        _mm512_mask_storeu_ps(o + vstride + q, m,
                              _mm512_fnmadd_ps(c4, _mm512_add_ps(e1, e2), _mm512_add_ps(e3, e4)));
        _mm512_mask_storeu_ps(o + 2 * vstride + q, m, _mm512_fmadd_ps(c4, _mm512_sub_ps(e1, e2), _mm512_sub_ps(e4, e3)));
        _mm512_mask_storeu_ps(o + 3 * vstride + q, m,
                              _mm512_fnmadd_ps(c2, _mm512_sub_ps(e1, e3), _mm512_sub_ps(e4, e2)));
        _mm512_mask_storeu_ps(o + 4 * vstride + q, m, _mm512_fmadd_ps(c2, _mm512_sub_ps(e1, e3), _mm512_sub_ps(e4, e2)));
        _mm512_mask_storeu_ps(o + 5 * vstride + q, m, _mm512_add_ps(_mm512_fmadd_ps(c4, e1, _mm512_mul_ps(c5, e3)), e5));
    }
}

/* wg_output_row_avx2 for every tile: output column j of tile q + t goes to
 * y[i][4(q + t) + j], scattered under a mask that keeps it inside ow. */
KILN_AVX512 static inline void wg_output_row_avx512(const float *x, size_t mstride, int64_t tw, float bias,
                                                    float *const *y, int64_t rows, int64_t ow) {
    const __m512i idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48, 52, 56, 60);
    static const float at[6][4] = {{1, 0, 0, 0}, {1, 1, 1, 1}, {1, -1, 1, -1}, {1, 2, 4, 8}, {1, -2, 4, -8},
                                   {0, 0, 0, 1}};
    for (int64_t q = 0; q < tw; q += 16) {
        const __mmask16 m = wg_lanes(tw - q);
        __m512 o[4][4], vb = _mm512_set1_ps(bias);
        for (int i = 0; i < 4; i++)
            for (int j = 0; j < 4; j++) o[i][j] = vb;
        for (int k = 0; k < 6; k++) {
            const float *r = x + (size_t)(6 * k) * mstride + q;
            __m512 x0 = _mm512_maskz_loadu_ps(m, r), x1 = _mm512_maskz_loadu_ps(m, r + mstride),
                   x2 = _mm512_maskz_loadu_ps(m, r + 2 * mstride), x3 = _mm512_maskz_loadu_ps(m, r + 3 * mstride),
                   x4 = _mm512_maskz_loadu_ps(m, r + 4 * mstride), x5 = _mm512_maskz_loadu_ps(m, r + 5 * mstride);
            __m512 s12 = _mm512_add_ps(x1, x2), d12 = _mm512_sub_ps(x1, x2);
            __m512 s34 = _mm512_add_ps(x3, x4), d34 = _mm512_sub_ps(x3, x4);
            __m512 z[4] = {_mm512_add_ps(_mm512_add_ps(x0, s12), s34), _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12),
                           _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12),
                           _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), x5)};
            for (int i = 0; i < 4; i++) {
                if (at[k][i] == 0.0f) continue;
                __m512 c = _mm512_set1_ps(at[k][i]);
                for (int j = 0; j < 4; j++) o[i][j] = _mm512_fmadd_ps(c, z[j], o[i][j]);
            }
        }
        for (int j = 0; j < 4; j++) {
            const __mmask16 mj = m & wg_lanes((ow - j - 4 * q + 3) / 4);
            for (int64_t i = 0; i < rows; i++) _mm512_mask_i32scatter_ps(y[i] + 4 * q + j, mj, idx, o[i][j], 4);
        }
    }
}
#endif

#endif
