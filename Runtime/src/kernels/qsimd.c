/* qsimd.c — AVX2 row helpers of the int8 kernels, next to their portable references:
 * requantizing an int32 row to u8, one depthwise tap accumulated along an output row, and
 * per-tensor f32 -> u8 QuantizeLinear.
 * Both are integer-exact, so every path equals the reference bit for bit. Requant also has
 * a 16-lane AVX-512 path (arithmetic 64-bit shifts and min/max, a masked last step), chosen when cpuid has it.
 * Algorithm (requant, 8 lanes): add the bias (wrapping, as the reference), widen even and
 * odd lanes to i64 products with vpmuldq, add the rounding term plus 2^63 so a logical
 * right shift acts as the arithmetic one (then subtract 2^(63 - shift)), clamp in i64 to
 * [lo - zp, hi - zp] (vpcmpgtq + blend), recombine the lanes, add zp, pack to u8.
 * Algorithm (depthwise tap, 16 lanes): (x - x_zp) * w fits i16 exactly (|x - zp| <= 255,
 * |w| <= 128), so vpmullw then sign-extend to i32 and add; stride 2 reads 32 bytes and
 * keeps the even ones with a 0x00FF mask on the i16 view; then one 8-lane step, then scalar. */
#include "qgemm.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void kiln_qrequant_row_portable(const int32_t *acc, int64_t n, int32_t bias, int32_t mult, int32_t shift,
                                const kiln_qparams *q, uint8_t *out) {
    for (int64_t i = 0; i < n; i++)
        out[i] = kiln_requant((int32_t)((uint32_t)acc[i] + (uint32_t)bias), mult, shift, q->y_zp, q->y_min, q->y_max);
}

void kiln_qdw_tap_portable(int32_t *acc, const uint8_t *row, int64_t lo, int64_t hi, int64_t sw, int64_t off, int32_t wv,
                           int32_t zp) {
    if (sw == 1)
        for (int64_t o = lo; o < hi; o++) acc[o] += wv * ((int32_t)row[o + off] - zp);
    else
        for (int64_t o = lo; o < hi; o++) acc[o] += wv * ((int32_t)row[o * sw + off] - zp);
}

void kiln_quantize_u8_portable(const float *x, int64_t n, float scale, int32_t zp, uint8_t *y) {
    for (int64_t i = 0; i < n; i++) {
        float v = nearbyintf(x[i] / scale) + (float)zp; /* beyond 2^24 the rounding of + is clamped away */
        y[i] = (uint8_t)(v != v ? 0 : v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KILN_AVX2 __attribute__((target("avx2")))

KILN_AVX2 static void qrequant_row_avx2(const int32_t *acc, int64_t n, int32_t bias, int32_t mult, int32_t shift,
                                        const kiln_qparams *q, uint8_t *out) {
    const __m256i vb = _mm256_set1_epi32(bias), vm = _mm256_set1_epi32(mult);
    const __m256i radd = _mm256_set1_epi64x((int64_t)(((uint64_t)1 << (shift - 1)) + ((uint64_t)1 << 63)));
    const __m256i rsub = _mm256_set1_epi64x((int64_t)((uint64_t)1 << (63 - shift)));
    const __m256i vlo = _mm256_set1_epi64x(q->y_min - q->y_zp), vhi = _mm256_set1_epi64x(q->y_max - q->y_zp);
    const __m256i vzp = _mm256_set1_epi32(q->y_zp);
    const __m128i cnt = _mm_cvtsi32_si128(shift);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256i a = _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + i)), vb);
        __m256i pe = _mm256_mul_epi32(a, vm), po = _mm256_mul_epi32(_mm256_srli_epi64(a, 32), vm);
        pe = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(pe, radd), cnt), rsub);
        po = _mm256_sub_epi64(_mm256_srl_epi64(_mm256_add_epi64(po, radd), cnt), rsub);
        pe = _mm256_blendv_epi8(pe, vlo, _mm256_cmpgt_epi64(vlo, pe));
        pe = _mm256_blendv_epi8(pe, vhi, _mm256_cmpgt_epi64(pe, vhi));
        po = _mm256_blendv_epi8(po, vlo, _mm256_cmpgt_epi64(vlo, po));
        po = _mm256_blendv_epi8(po, vhi, _mm256_cmpgt_epi64(po, vhi));
        __m256i v = _mm256_add_epi32(_mm256_blend_epi32(pe, _mm256_slli_epi64(po, 32), 0xAA), vzp);
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(out + i), _mm_packus_epi16(w16, w16));
    }
    kiln_qrequant_row_portable(acc + i, n - i, bias, mult, shift, q, out + i);
}

KILN_AVX2 static void qdw_tap_avx2(int32_t *acc, const uint8_t *row, int64_t lo, int64_t hi, int64_t sw, int64_t off,
                                   int32_t wv, int32_t zp) {
    const __m256i vw = _mm256_set1_epi16((int16_t)wv), vz = _mm256_set1_epi16((int16_t)zp), even = _mm256_set1_epi16(0xFF);
    int64_t o = lo;
    if (sw == 1) {
        for (; o + 16 <= hi; o += 16) {
            __m256i x = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + o + off)));
            __m256i p = _mm256_mullo_epi16(_mm256_sub_epi16(x, vz), vw);
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(acc + o)), a1 = _mm256_loadu_si256((const __m256i *)(acc + o + 8));
            _mm256_storeu_si256((__m256i *)(acc + o), _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p))));
            _mm256_storeu_si256((__m256i *)(acc + o + 8), _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1))));
        }
    } else if (sw == 2) {
        /* The 32-byte read (bytes 2o + off .. 2o + off + 31) must not pass the last byte
         * the scalar loop reads, 2(hi - 1) + off: o + 17 <= hi. */
        for (; o + 17 <= hi; o += 16) {
            __m256i x = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(row + 2 * o + off)), even);
            __m256i p = _mm256_mullo_epi16(_mm256_sub_epi16(x, vz), vw);
            __m256i a0 = _mm256_loadu_si256((const __m256i *)(acc + o)), a1 = _mm256_loadu_si256((const __m256i *)(acc + o + 8));
            _mm256_storeu_si256((__m256i *)(acc + o), _mm256_add_epi32(a0, _mm256_cvtepi16_epi32(_mm256_castsi256_si128(p))));
            _mm256_storeu_si256((__m256i *)(acc + o + 8), _mm256_add_epi32(a1, _mm256_cvtepi16_epi32(_mm256_extracti128_si256(p, 1))));
        }
    }
    /* One 8-lane step for what is left (rows of 7 to 28 outputs are common). */
    const __m128i w8 = _mm256_castsi256_si128(vw), z8 = _mm256_castsi256_si128(vz);
    __m128i x8 = _mm_setzero_si128();
    int step = 0;
    if (sw == 1 && o + 8 <= hi) { x8 = _mm_cvtepu8_epi16(_mm_loadl_epi64((const __m128i *)(row + o + off))); step = 1; }
    else if (sw == 2 && o + 9 <= hi) { /* bytes 2o + off .. 2o + off + 15, within the scalar loop's reads */
        x8 = _mm_and_si128(_mm_loadu_si128((const __m128i *)(row + 2 * o + off)), _mm256_castsi256_si128(even));
        step = 1;
    }
    if (step) {
        __m128i p = _mm_mullo_epi16(_mm_sub_epi16(x8, z8), w8);
        _mm256_storeu_si256((__m256i *)(acc + o), _mm256_add_epi32(_mm256_loadu_si256((const __m256i *)(acc + o)), _mm256_cvtepi16_epi32(p)));
        o += 8;
    }
    kiln_qdw_tap_portable(acc, row, o, hi, sw, off, wv, zp);
}

/* 16 lanes: the AVX2 steps with AVX-512's arithmetic 64-bit shift and 64-bit min/max
 * (acc * mult + 2^(shift-1) < 2^63, so no bias trick is needed), then vpmovdb. */
__attribute__((target("avx512f,avx512bw,avx512vl"))) static void qrequant_row_avx512(const int32_t *acc, int64_t n, int32_t bias, int32_t mult,
                                                                   int32_t shift, const kiln_qparams *q, uint8_t *out) {
    const __m512i vb = _mm512_set1_epi32(bias), vm = _mm512_set1_epi32(mult);
    const __m512i radd = _mm512_set1_epi64((int64_t)1 << (shift - 1));
    const __m512i vlo = _mm512_set1_epi64(q->y_min - q->y_zp), vhi = _mm512_set1_epi64(q->y_max - q->y_zp);
    const __m512i vzp = _mm512_set1_epi32(q->y_zp);
    const __m128i cnt = _mm_cvtsi32_si128(shift);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 k = (__mmask16)(n - i >= 16 ? 0xFFFF : (1u << (n - i)) - 1);
        __m512i a = _mm512_add_epi32(_mm512_maskz_loadu_epi32(k, acc + i), vb);
        __m512i pe = _mm512_mul_epi32(a, vm), po = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), vm);
        pe = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(pe, radd), cnt), vlo), vhi);
        po = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(po, radd), cnt), vlo), vhi);
        __m512i v = _mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32)), vzp);
        __m128i b = _mm512_cvtepi32_epi8(v); /* vpmovdb to a register: its memory form is slow on AMD */
        if (k == 0xFFFF) _mm_storeu_si128((__m128i *)(out + i), b);
        else _mm_mask_storeu_epi8(out + i, k, b);
    }
}

/* max(v, 0) returns its second operand for a NaN v: NaN becomes 0 as in the reference. */
KILN_AVX2 static void quantize_u8_avx2(const float *x, int64_t n, float scale, int32_t zp, uint8_t *y) {
    const __m256 vs = _mm256_set1_ps(scale), vz = _mm256_set1_ps((float)zp), hi = _mm256_set1_ps(255.0f);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 q = _mm256_round_ps(_mm256_div_ps(_mm256_loadu_ps(x + i), vs), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        __m256i v = _mm256_cvttps_epi32(_mm256_min_ps(_mm256_max_ps(_mm256_add_ps(q, vz), _mm256_setzero_ps()), hi));
        __m128i w16 = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
        _mm_storel_epi64((__m128i *)(y + i), _mm_packus_epi16(w16, w16));
    }
    kiln_quantize_u8_portable(x + i, n - i, scale, zp, y + i);
}

static int have_avx2(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && strcmp(force, "portable") == 0) return 0;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2");
}
kiln_qrequant_row_fn kiln_qrequant_row_select(void) {
    if (have_avx2() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl"))
        return qrequant_row_avx512;
    return have_avx2() ? qrequant_row_avx2 : kiln_qrequant_row_portable;
}
kiln_qdw_tap_fn kiln_qdw_tap_select(void) { return have_avx2() ? qdw_tap_avx2 : kiln_qdw_tap_portable; }
kiln_quantize_u8_fn kiln_quantize_u8_select(void) { return have_avx2() ? quantize_u8_avx2 : kiln_quantize_u8_portable; }
#else
kiln_quantize_u8_fn kiln_quantize_u8_select(void) { return kiln_quantize_u8_portable; }
kiln_qrequant_row_fn kiln_qrequant_row_select(void) { return kiln_qrequant_row_portable; }
kiln_qdw_tap_fn kiln_qdw_tap_select(void) { return kiln_qdw_tap_portable; }
#endif
