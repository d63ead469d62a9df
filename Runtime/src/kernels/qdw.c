/* qdw.c — int8 depthwise rows in the quad layout: each output's kernel row (up to 4 taps)
 * is one u8 quad of the zero-point-padded input times one i8 quad of weights, summed by
 * vpdpbusd; the padding reads x_zp, so the caller folds -x_zp * sum(w) into the bias.
 * Algorithm (AVX-512 VNNI, 16 outputs o0..o0+15 per step): for each kernel row, four
 * 16-byte loads at x + (o0 + 4q) * sw (q = 0..3) fill the four 128-bit lanes; vpshufb
 * spreads lane q's bytes so 32-bit element s holds bytes s*sw .. s*sw + 3 (output o0 + 4q +
 * s's window); one vpdpbusd with the row's weight quad broadcast accumulates it. The last
 * step masks its store. Exact integer sums: equal to the portable loop bit for bit. */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

void kiln_qdw_row_portable(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                           int32_t *acc) {
    for (int64_t o = 0; o < ow; o++) {
        int32_t s = 0;
        for (int64_t ki = 0; ki < kh; ki++) {
            const uint8_t *r = x + ki * rstride + o * sw;
            for (int u = 0; u < 4; u++) s += kiln_qquad_at(wq[ki], u) * r[u];
        }
        acc[o] = s;
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KILN_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))

KILN_VNNI512 static void qdw_row_vnni512(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow,
                                         const int32_t *wq, int32_t *acc) {
    const __m512i spread = sw == 1 ? _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 1, 2, 3, 4, 2, 3, 4, 5, 3, 4, 5, 6))
                                   : _mm512_broadcast_i32x4(_mm_setr_epi8(0, 1, 2, 3, 2, 3, 4, 5, 4, 5, 6, 7, 6, 7, 8, 9));
    __m512i w[8];
    int64_t rows = kh < 8 ? kh : 8;
    for (int64_t ki = 0; ki < rows; ki++) w[ki] = _mm512_set1_epi32(wq[ki]);
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        __m512i s = _mm512_setzero_si512();
        for (int64_t ki = 0; ki < kh; ki++) {
            const uint8_t *r = x + ki * rstride + o0 * sw;
            __m512i v = _mm512_castsi128_si512(_mm_loadu_si128((const __m128i *)r));
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 4 * sw)), 1);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 8 * sw)), 2);
            v = _mm512_inserti32x4(v, _mm_loadu_si128((const __m128i *)(r + 12 * sw)), 3);
            s = _mm512_dpbusd_epi32(s, _mm512_shuffle_epi8(v, spread), ki < 8 ? w[ki] : _mm512_set1_epi32(wq[ki]));
        }
        int64_t left = ow - o0;
        _mm512_mask_storeu_epi32(acc + o0, (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1), s);
    }
}

/* With AVX-512 VBMI: one load per kernel row (32 bytes for stride 1; for stride 2 the 34
 * bytes the 16 windows span, masked so nothing past the row's readable end is touched)
 * and one vpermb placing window s's bytes in element s, instead of four loads, three
 * inserts and a vpshufb (KILN_QGEMM=novbmi forces the vpshufb version, for its test). */
#define KILN_VBMI __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx512vbmi")))
KILN_VBMI static void qdw_row_vbmi(const uint8_t *x, int64_t rstride, int64_t kh, int64_t sw, int64_t ow, const int32_t *wq,
                                   int32_t *acc) {
    uint8_t ix[64];
    for (int s = 0; s < 16; s++)
        for (int u = 0; u < 4; u++) ix[4 * s + u] = (uint8_t)(s * sw + u);
    const __m512i idx = _mm512_loadu_si512(ix);
    const __mmask64 span = sw == 1 ? (__mmask64)0xFFFFFFFFu : ((__mmask64)1 << 34) - 1;
    for (int64_t o0 = 0; o0 < ow; o0 += 16) {
        __m512i s = _mm512_setzero_si512();
        for (int64_t ki = 0; ki < kh; ki++) {
            __m512i v = _mm512_maskz_loadu_epi8(span, x + ki * rstride + o0 * sw);
            s = _mm512_dpbusd_epi32(s, _mm512_permutexvar_epi8(idx, v), _mm512_set1_epi32(wq[ki]));
        }
        int64_t left = ow - o0;
        _mm512_mask_storeu_epi32(acc + o0, (__mmask16)(left >= 16 ? 0xFFFF : (1u << left) - 1), s);
    }
}

kiln_qdw_row_fn kiln_qdw_row_vnni512(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0)) return NULL;
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("avx512vnni") || !__builtin_cpu_supports("avx512bw")) return NULL;
    if (force && strcmp(force, "novbmi") == 0) return qdw_row_vnni512;
    return __builtin_cpu_supports("avx512vbmi") ? qdw_row_vbmi : qdw_row_vnni512;
}
#else
kiln_qdw_row_fn kiln_qdw_row_vnni512(void) { return NULL; }
#endif
