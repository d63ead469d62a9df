/* depthwise_avx512.c — DEPTHWISE_CONV2D's 3x3 (undilated, stride 1 or 2 in W) planes on
 * AVX-512 CPUs (isa.c): one loop for every output row and column, borders included.
 *
 * Per output row, 16 columns at a time: for each of the three kernel rows whose input row
 * exists, the taps' input columns are loaded with lane masks that keep only columns inside
 * the input row, so the padding reads as zero without a padded copy and without scalar
 * border loops (which cost more than the vector work on MobileNet's 7- and 14-wide rows).
 * Stride 2 loads 32 (+2) consecutive inputs and splits even and odd lanes with two-source
 * permutes. Bias first, taps in the order (ki, kj) like depthwise.c's loops, relu / clip in
 * registers (the caller applies other activations to the plane).
 * Stride 1 in both axes loads each input row once per chunk and adds it into the three
 * output rows it feeds (dw3x3_rolling); stride 2 in both shares the row between kernel row
 * 2 of one output row and kernel row 0 of the next (dw3x3_s2_shared). Other stride mixes
 * take the row-by-row loop at the end. kiln_dw_plane_avx512 (at the end) takes the other
 * kernels up to 16 taps wide. */
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

KILN_AVX512 static inline __m512 dw_act(__m512 acc, int relu, int clip, __m512 lo_c, __m512 hi_c) {
    /* max/min return their second operand on NaN: a NaN passes through. */
    if (relu) return _mm512_max_ps(_mm512_setzero_ps(), acc);
    if (clip) return _mm512_min_ps(hi_c, _mm512_max_ps(lo_c, acc));
    return acc;
}

/* Stride 1 (both axes): each input row is loaded once per 16-column chunk (three shifted
 * masked loads) and feeds the three output rows it belongs to, held in three rolling
 * accumulators: `lo` (output row v + pt - 2, which takes kernel row 2 and is then stored),
 * `mid` (kernel row 1) and `hi` (kernel row 0, started from the bias). Three loads and
 * nine FMAs per 16 outputs instead of nine loads. Rows outside the input add nothing. */
static KILN_AVX512 void dw3x3_rolling(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n, int64_t pt,
                                      int64_t pl, const __m512 *wv, __m512 vb, int relu, int clip, __m512 lo_c,
                                      __m512 hi_c, float *out) {
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        const int64_t n = ow_n - ow0 < 16 ? ow_n - ow0 : 16, base = ow0 - pl;
        const __mmask16 store = (__mmask16)bit_range(0, n);
        const __mmask16 m0 = (__mmask16)(bit_range(-base, w - base) & store);
        const __mmask16 m1 = (__mmask16)(bit_range(-(base + 1), w - (base + 1)) & store);
        const __mmask16 m2 = (__mmask16)(bit_range(-(base + 2), w - (base + 2)) & store);
        __m512 lo = vb, mid = vb, hi = vb;
        for (int64_t v = -pt; v <= oh_n + 1 - pt; v++) {
            if (v >= 0 && v < h) {
                const float *r = in + v * w + base;
                __m512 x0 = _mm512_maskz_loadu_ps(m0, r), x1 = _mm512_maskz_loadu_ps(m1, r + 1);
                __m512 x2 = _mm512_maskz_loadu_ps(m2, r + 2);
                lo = _mm512_fmadd_ps(wv[6], x0, lo);
                mid = _mm512_fmadd_ps(wv[3], x0, mid);
                hi = _mm512_fmadd_ps(wv[0], x0, hi);
                lo = _mm512_fmadd_ps(wv[7], x1, lo);
                mid = _mm512_fmadd_ps(wv[4], x1, mid);
                hi = _mm512_fmadd_ps(wv[1], x1, hi);
                lo = _mm512_fmadd_ps(wv[8], x2, lo);
                mid = _mm512_fmadd_ps(wv[5], x2, mid);
                hi = _mm512_fmadd_ps(wv[2], x2, hi);
            }
            int64_t oh = v + pt - 2;
            if (oh >= 0) _mm512_mask_storeu_ps(out + oh * ow_n + ow0, store, dw_act(lo, relu, clip, lo_c, hi_c));
            lo = mid;
            mid = hi;
            hi = vb;
        }
    }
}

/* Taps 0, 1, 2 of 16 stride-2 outputs from input row r (at the chunk's first input
 * column): the even and odd lanes of 32 (+2) consecutive inputs. */
static inline KILN_AVX512 void dw_taps_s2(const float *r, __mmask16 ma, __mmask16 mb, __mmask16 ma2, __mmask16 mb2,
                                          __m512 *t0, __m512 *t1, __m512 *t2) {
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    __m512 a = _mm512_maskz_loadu_ps(ma, r), b = _mm512_maskz_loadu_ps(mb, r + 16);
    __m512 a2 = _mm512_maskz_loadu_ps(ma2, r + 2), b2 = _mm512_maskz_loadu_ps(mb2, r + 18);
    *t0 = _mm512_permutex2var_ps(a, even, b);
    *t1 = _mm512_permutex2var_ps(a, odd, b);
    *t2 = _mm512_permutex2var_ps(a2, even, b2);
}

/* Stride 2 (both axes): kernel row 2 of output row o is kernel row 0 of row o + 1, so
 * that input row is loaded and split once and feeds both (`cur` and `nxt`): two input
 * rows per output row instead of three. */
static KILN_AVX512 void dw3x3_s2_shared(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n, int64_t pt,
                                        int64_t pl, const __m512 *wv, __m512 vb, int relu, int clip, __m512 lo_c,
                                        __m512 hi_c, float *out) {
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        const int64_t n = ow_n - ow0 < 16 ? ow_n - ow0 : 16, base = ow0 * 2 - pl;
        const __mmask16 store = (__mmask16)bit_range(0, n);
        uint32_t a = bit_range(-base, w - base), a2 = bit_range(-(base + 2), w - (base + 2));
        const __mmask16 ma = (__mmask16)a, mb = (__mmask16)(a >> 16), ma2 = (__mmask16)a2, mb2 = (__mmask16)(a2 >> 16);
        __m512 t0, t1, t2, cur = vb;
        if (-pt >= 0 && -pt < h) {
            dw_taps_s2(in - pt * w + base, ma, mb, ma2, mb2, &t0, &t1, &t2);
            cur = _mm512_fmadd_ps(wv[0], t0, cur);
            cur = _mm512_fmadd_ps(wv[1], t1, cur);
            cur = _mm512_fmadd_ps(wv[2], t2, cur);
        }
        for (int64_t oh = 0; oh < oh_n; oh++) {
            int64_t v = 2 * oh - pt + 1;
            __m512 nxt = vb;
            if (v >= 0 && v < h) {
                dw_taps_s2(in + v * w + base, ma, mb, ma2, mb2, &t0, &t1, &t2);
                cur = _mm512_fmadd_ps(wv[3], t0, cur);
                cur = _mm512_fmadd_ps(wv[4], t1, cur);
                cur = _mm512_fmadd_ps(wv[5], t2, cur);
            }
            if (v + 1 >= 0 && v + 1 < h) {
                dw_taps_s2(in + (v + 1) * w + base, ma, mb, ma2, mb2, &t0, &t1, &t2);
                cur = _mm512_fmadd_ps(wv[6], t0, cur);
                cur = _mm512_fmadd_ps(wv[7], t1, cur);
                cur = _mm512_fmadd_ps(wv[8], t2, cur);
                nxt = _mm512_fmadd_ps(wv[0], t0, nxt);
                nxt = _mm512_fmadd_ps(wv[1], t1, nxt);
                nxt = _mm512_fmadd_ps(wv[2], t2, nxt);
            }
            _mm512_mask_storeu_ps(out + oh * ow_n + ow0, store, dw_act(cur, relu, clip, lo_c, hi_c));
            cur = nxt;
        }
    }
}

KILN_AVX512 void kiln_dw3x3_plane_avx512(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n,
                                         int64_t sh, int64_t sw, int64_t pt, int64_t pl, const float *wk, float bias,
                                         const kiln_act *act, float *out) {
    __m512 wv[9];
    for (int i = 0; i < 9; i++) wv[i] = _mm512_set1_ps(wk[i]);
    const __m512 vb = _mm512_set1_ps(bias);
    const int relu = act->func == KILN_UNARY_RELU, clip = act->func == KILN_UNARY_CLIP;
    const __m512 lo_c = _mm512_set1_ps(clip ? act->alpha : 0.0f), hi_c = _mm512_set1_ps(clip ? act->beta : 0.0f);
    if (sh == 1 && sw == 1) {
        dw3x3_rolling(in, h, w, oh_n, ow_n, pt, pl, wv, vb, relu, clip, lo_c, hi_c, out);
        return;
    }
    if (sh == 2 && sw == 2) {
        dw3x3_s2_shared(in, h, w, oh_n, ow_n, pt, pl, wv, vb, relu, clip, lo_c, hi_c, out);
        return;
    }
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

/* Any other kernel up to 16 taps wide (PP-OCR's 5x5, dilations), stride 1 or 2 in W: per
 * 16-column chunk, four output rows at a time, each a single accumulator chain started
 * from the bias and taking the taps in (ki, kj) order like depthwise.c's loops; per tap one
 * broadcast weight feeds the four rows (four independent FMA chains). Rows outside the
 * input or the plane are skipped (a kernel row none of the four reads, entirely); stride
 * 2 splits 32 loaded columns into even lanes. */
KILN_AVX512 void kiln_dw_plane_avx512(const float *in, int64_t h, int64_t w, int64_t oh_n, int64_t ow_n, int64_t kh,
                                      int64_t kw, int64_t sh, int64_t sw, int64_t dh, int64_t dw, int64_t pt,
                                      int64_t pl, const float *wk, float bias, const kiln_act *act, float *out) {
    const __m512 vb = _mm512_set1_ps(bias);
    const int relu = act->func == KILN_UNARY_RELU, clip = act->func == KILN_UNARY_CLIP;
    const __m512 lo_c = _mm512_set1_ps(clip ? act->alpha : 0.0f), hi_c = _mm512_set1_ps(clip ? act->beta : 0.0f);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        const int64_t n = ow_n - ow0 < 16 ? ow_n - ow0 : 16, base = ow0 * sw - pl;
        const __mmask16 store = (__mmask16)bit_range(0, n);
        uint32_t m[16];              /* per tap, the input columns inside [0, w) (32 lanes at stride 2) */
        for (int64_t kj = 0; kj < kw; kj++) {
            int64_t c0 = base + kj * dw;
            m[kj] = bit_range(-c0, w - c0) & (sw == 1 ? (uint32_t)store : bit_range(0, 2 * n - 1));
        }
        for (int64_t oh = 0; oh < oh_n; oh += 4) {
            __m512 acc[4] = {vb, vb, vb, vb};
            for (int64_t ki = 0; ki < kh; ki++) {
                const float *r[4];
                int ok[4], any = 0;
                for (int q = 0; q < 4; q++) {
                    int64_t ih = (oh + q) * sh - pt + ki * dh;
                    ok[q] = oh + q < oh_n && ih >= 0 && ih < h;
                    any |= ok[q];
                    r[q] = ok[q] ? in + ih * w + base : in;
                }
                if (!any) continue;      /* padding rows only (short planes: most of a 5x5) */
                for (int64_t kj = 0; kj < kw; kj++) {
                    const __m512 wv = _mm512_set1_ps(wk[ki * kw + kj]);
                    for (int q = 0; q < 4; q++) {
                        if (!ok[q]) continue;
                        const uint32_t mq = m[kj];
                        const float *x = r[q] + kj * dw;
                        __m512 v = _mm512_maskz_loadu_ps((__mmask16)mq, x);
                        if (sw != 1)
                            v = _mm512_permutex2var_ps(v, even, _mm512_maskz_loadu_ps((__mmask16)(mq >> 16), x + 16));
                        acc[q] = _mm512_fmadd_ps(wv, v, acc[q]);
                    }
                }
            }
            for (int q = 0; q < 4 && oh + q < oh_n; q++)
                _mm512_mask_storeu_ps(out + (oh + q) * ow_n + ow0, store, dw_act(acc[q], relu, clip, lo_c, hi_c));
        }
    }
}
#endif
