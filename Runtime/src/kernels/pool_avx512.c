/* pool_avx512.c — the row loop of POOL2D's max and constant-count average pooling (pool.c)
 * with AVX-512, for stride 1 or 2 in W on AVX-512 CPUs (isa.c).
 *
 * Same algorithm as pool.c's AVX2 rows: each output row in chunks of 16 columns held in one
 * register across all kernel taps; a tap's lanes outside its [lo, hi) load nothing (lane
 * masks) and count as -inf (max) or 0 (sum); stride 2 loads 32 inputs and keeps the even
 * ones (one two-source permute). Partial chunks are stored with a lane mask. AVX2's
 * vmaskmov stores are slow on AMD cores (the AVX2 rows measured 2.0 ms on ResNet-18's
 * 3x3/2 max pool on Zen 5; this loop, 0.6 ms, input-bound). Max keeps a NaN from either side, like the
 * scalar loop. Two max-pool shapes go faster still (kiln_pool_max_fast_avx512): 3x3 at
 * stride 1, separable over rolling row maxes, and 2x2 at stride 2, two rows then pairs. */
#include "common.h"

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>
#include <math.h>

KILN_AVX512 void kiln_pool_rows_avx512(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, int64_t kh, int64_t kw,
                                       int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw,
                                       const int64_t *lo, const int64_t *hi, const float *in, float *out, int avg) {
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m512i pairs = _mm512_setr_epi32(0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512 neutral = _mm512_set1_ps(avg ? 0.0f : -INFINITY);
    for (int64_t oh = 0; oh < oh_n; oh++) {
        /* The input rows output row oh + 1 adds, into L1 ahead of use (the hardware prefetchers
         * fall behind on these short rows: 1.4 ms -> 0.6 ms on ResNet-18's pool without them). */
        int64_t p0 = oh * sh - pt + (kh - 1) * dh + 1, p1 = (oh + 1) * sh - pt + (kh - 1) * dh;
        if (p0 < 0) p0 = 0;
        if (p1 > h - 1) p1 = h - 1; /* clamped first: a huge stride must not loop over empty rows */
        for (int64_t ih = p0; ih <= p1; ih++)
            for (int64_t i = 0; i < w; i += 16) _mm_prefetch((const char *)(in + ih * w + i), _MM_HINT_T0);
        for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
            __m512 acc = neutral;
            __m512i col = _mm512_add_epi32(_mm512_set1_epi32((int)ow0), lane);
            __m512i col_a = _mm512_add_epi32(_mm512_set1_epi32((int)ow0), pairs);
            __m512i col_b = _mm512_add_epi32(_mm512_set1_epi32((int)ow0 + 8), pairs);
            for (int64_t ki = 0; ki < kh; ki++) {
                int64_t ih = oh * sh - pt + ki * dh;
                if (ih < 0 || ih >= h) continue;
                const float *irow = in + ih * w;
                for (int64_t kj = 0; kj < kw; kj++) {
                    if (hi[kj] <= ow0 || lo[kj] >= ow0 + 16) continue;
                    __m512i l = _mm512_set1_epi32((int)lo[kj]), u = _mm512_set1_epi32((int)hi[kj]);
                    int64_t off = kj * dw - pl;
                    __m512 v;
                    if (sw == 1) {
                        __mmask16 m = _mm512_cmpge_epi32_mask(col, l) & _mm512_cmplt_epi32_mask(col, u);
                        v = _mm512_mask_loadu_ps(neutral, m, irow + ow0 + off);
                    } else { /* input 2*ow + off for output ow: the even lanes of 32 inputs */
                        __mmask16 ma = _mm512_cmpge_epi32_mask(col_a, l) & _mm512_cmplt_epi32_mask(col_a, u) & 0x5555;
                        __mmask16 mb = _mm512_cmpge_epi32_mask(col_b, l) & _mm512_cmplt_epi32_mask(col_b, u) & 0x5555;
                        const float *src = irow + 2 * ow0 + off;
                        __m512 va = _mm512_mask_loadu_ps(neutral, ma, src);
                        __m512 vb = _mm512_mask_loadu_ps(neutral, mb, src + 16);
                        v = _mm512_permutex2var_ps(va, even, vb);
                    }
                    if (avg) {
                        acc = _mm512_add_ps(acc, v);
                    } else {
                        __mmask16 nan = _mm512_cmp_ps_mask(acc, acc, _CMP_UNORD_Q);
                        acc = _mm512_mask_mov_ps(_mm512_max_ps(acc, v), nan, acc); /* max: v on NaN */
                    }
                }
            }
            int64_t left = ow_n - ow0;
            __mmask16 sm = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
            _mm512_mask_storeu_ps(out + oh * ow_n + ow0, sm, acc);
        }
    }
}

/* max(a, b) that returns NaN when either is (max_ps alone only passes b's). */
static inline KILN_AVX512 __m512 nanmax(__m512 a, __m512 b) {
    return _mm512_mask_mov_ps(_mm512_max_ps(a, b), _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q), a);
}

/* 3x3 max, stride 1, undilated (Inception's branch pool): separable and rolling. Per
 * 16-column chunk each input row is loaded once (three masked loads, -inf outside [lo, hi))
 * and reduced to its row max; output row oh is the max of three consecutive row maxes,
 * kept in two registers as the rows roll by. 4 max per 16 outputs instead of 9 taps. */
static KILN_AVX512 void max3x3_s1(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, int64_t pt, int64_t pl,
                                  const int64_t *lo, const int64_t *hi, const float *in, float *out) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const __m512i lane = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    (void)w;
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        __m512i col = _mm512_add_epi32(_mm512_set1_epi32((int)ow0), lane);
        __mmask16 m[3];
        for (int kj = 0; kj < 3; kj++)
            m[kj] = _mm512_cmpge_epi32_mask(col, _mm512_set1_epi32((int)lo[kj])) &
                    _mm512_cmplt_epi32_mask(col, _mm512_set1_epi32((int)hi[kj]));
        int64_t left = ow_n - ow0;
        const __mmask16 sm = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        __m512 a = ninf, b = ninf;   /* row maxes of input rows v - 2, v - 1 */
        for (int64_t v = -pt; v <= oh_n + 1 - pt; v++) {
            __m512 r = ninf;
            if (v >= 0 && v < h) {
                const float *row = in + v * w + ow0 - pl;
                r = nanmax(nanmax(_mm512_mask_loadu_ps(ninf, m[0], row), _mm512_mask_loadu_ps(ninf, m[1], row + 1)),
                           _mm512_mask_loadu_ps(ninf, m[2], row + 2));
            }
            int64_t oh = v + pt - 2;
            if (oh >= 0) _mm512_mask_storeu_ps(out + oh * ow_n + ow0, sm, nanmax(nanmax(a, b), r));
            a = b;
            b = r;
        }
    }
}

/* 2x2 max, stride 2, undilated, no left/top padding (LeNet's, VGG's): per 16 outputs two
 * rows of 32 inputs, their max, then the max of the even and odd lanes. */
static KILN_AVX512 void max2x2_s2(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, const float *in, float *out) {
    const __m512 ninf = _mm512_set1_ps(-INFINITY);
    const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    const __m512i odd = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    for (int64_t ow0 = 0; ow0 < ow_n; ow0 += 16) {
        int64_t c0 = 2 * ow0, na = w - c0, nb = w - c0 - 16, left = ow_n - ow0;
        const __mmask16 ma = na >= 16 ? (__mmask16)0xFFFF : na <= 0 ? 0 : (__mmask16)((1u << na) - 1);
        const __mmask16 mb = nb >= 16 ? (__mmask16)0xFFFF : nb <= 0 ? 0 : (__mmask16)((1u << nb) - 1);
        const __mmask16 sm = left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1);
        for (int64_t oh = 0; oh < oh_n; oh++) {
            const float *r0 = in + 2 * oh * w + c0, *r1 = r0 + w;
            __m512 va = _mm512_mask_loadu_ps(ninf, ma, r0), vb = _mm512_mask_loadu_ps(ninf, mb, r0 + 16);
            if (2 * oh + 1 < h) {
                va = nanmax(va, _mm512_mask_loadu_ps(ninf, ma, r1));
                vb = nanmax(vb, _mm512_mask_loadu_ps(ninf, mb, r1 + 16));
            }
            __m512 e = _mm512_permutex2var_ps(va, even, vb), o = _mm512_permutex2var_ps(va, odd, vb);
            _mm512_mask_storeu_ps(out + oh * ow_n + ow0, sm, nanmax(e, o));
        }
    }
}

KILN_AVX512 int kiln_pool_max_fast_avx512(int64_t oh_n, int64_t ow_n, int64_t h, int64_t w, int64_t kh, int64_t kw,
                                          int64_t sh, int64_t sw, int64_t pt, int64_t pl, int64_t dh, int64_t dw,
                                          const int64_t *lo, const int64_t *hi, const float *in, float *out) {
    if (dh != 1 || dw != 1) return 0;
    if (kh == 3 && kw == 3 && sh == 1 && sw == 1) {
        max3x3_s1(oh_n, ow_n, h, w, pt, pl, lo, hi, in, out);
        return 1;
    }
    if (kh == 2 && kw == 2 && sh == 2 && sw == 2 && pt == 0 && pl == 0) {
        max2x2_s2(oh_n, ow_n, h, w, in, out);
        return 1;
    }
    return 0;
}
#endif
