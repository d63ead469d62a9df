/* depthwise_avx512.c — DEPTHWISE_CONV2D's 3x3 (undilated, stride 1 or 2 in W) planes on
 * AVX-512 CPUs (isa.c): one loop for every output row and column, borders included.
 *
 * Per output row, 16 columns at a time: for each of the three kernel rows whose input row
 * exists, the taps' input columns are loaded with lane masks that keep only columns inside
 * the input row, so the padding reads as zero without a padded copy and without scalar
 * border loops (which cost more than the vector work on MobileNet's 7- and 14-wide rows).
 * Stride 2 loads 32 (+2) consecutive inputs and splits even and odd lanes with two-source
 * permutes. Bias first, taps in the order (ki, kj) like depthwise.c's loops, relu / clip in
 * registers (the caller applies other activations to the plane). */
#include "common.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>

/* Bits [lo, hi) of a 32-bit mask, clamped to [0, 32). */
static inline uint32_t bit_range(int64_t lo, int64_t hi) {
    if (lo < 0) lo = 0;
    if (hi > 32) hi = 32;
    if (hi <= lo) return 0;
    uint64_t m = ((uint64_t)1 << hi) - ((uint64_t)1 << lo);
    return (uint32_t)m;
}

KILN_AVX512 void kiln_dw3x3_plane_avx512(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n,
                                         int64_t sh, int64_t sw, int64_t pt, int64_t pl, const float *wk, float bias,
                                         const kiln_act *act, float *out) {
    __m512 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(wk[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int relu = act->func == KILN_UNARY_RELU, clip = act->func == KILN_UNARY_CLIP;
    const __m512 lo_c = _mm512_set1_ps(clip ? act->alpha : 0.0f), hi_c = _mm512_set1_ps(clip ? act->beta : 0.0f);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        const int64_t n = ow_n - ow0 < 16 ? ow_n - ow0 : 16;
        const __mmask16 store = (__mmask16)bit_range(0, n);
        /* Masks of the input columns inside [0, w), the same for every row. */
        __mmask16 m[3], ma, mb, ma2, mb2;
        int64_t base = ow0 * sw - pl;
        if (sw == 1) {
            for (int kj = 0; kj < 3; kj++) m[kj] = (__mmask16)(bit_range(-(base + kj), w - (base + kj)) & store);
            ma = mb = ma2 = mb2 = 0;
        } else {
            uint32_t a = bit_range(-base, w - base), a2 = bit_range(-(base + 2), w - (base + 2));
            ma = (__mmask16)a; mb = (__mmask16)(a >> 16); ma2 = (__mmask16)a2; mb2 = (__mmask16)(a2 >> 16);
            m[0] = m[1] = m[2] = 0;
        }
        for (int64_t oh = 0; oh < oh_n; oh++) {
            __m512 acc = vb, acc1 = _mm512_setzero_ps();   /* kernel row 1 in a second chain */
            for (int64_t ki = 0; ki < 3; ki++) {
                int64_t ih = oh * sh - pt + ki;
                if (ih < 0 || ih >= h) continue;
                const float *r = in + ih * w + base;
                __m512 t = ki == 1 ? acc1 : acc;
                if (sw == 1) {
                    t = _mm512_fmadd_ps(wv[3 * ki], _mm512_maskz_loadu_ps(m[0], r), t);
                    t = _mm512_fmadd_ps(wv[3 * ki + 1], _mm512_maskz_loadu_ps(m[1], r + 1), t);
                    t = _mm512_fmadd_ps(wv[3 * ki + 2], _mm512_maskz_loadu_ps(m[2], r + 2), t);
                } else {
                    __m512 a = _mm512_maskz_loadu_ps(ma, r), b = _mm512_maskz_loadu_ps(mb, r + 16);
                    __m512 a2 = _mm512_maskz_loadu_ps(ma2, r + 2), b2 = _mm512_maskz_loadu_ps(mb2, r + 18);
                    t = _mm512_fmadd_ps(wv[3 * ki], _mm512_permutex2var_ps(a, even, b), t);
                    t = _mm512_fmadd_ps(wv[3 * ki + 1], _mm512_permutex2var_ps(a, odd, b), t);
                    t = _mm512_fmadd_ps(wv[3 * ki + 2], _mm512_permutex2var_ps(a2, even, b2), t);
                }
                if (ki == 1) acc1 = t;
                else acc = t;
            }
            acc = _mm512_add_ps(acc, acc1);
            /* max/min return their second operand on NaN: a NaN passes through. */
            if (relu) acc = _mm512_max_ps(_mm512_setzero_ps(), acc);
            else if (clip) acc = _mm512_min_ps(hi_c, _mm512_max_ps(lo_c, acc));
            _mm512_mask_storeu_ps(out + oh * ow_n + ow0, store, acc);
        }
    }
}
#endif
