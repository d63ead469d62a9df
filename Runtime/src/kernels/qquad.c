/* qquad.c — the quad-layout int8 GEMM core (qgemm.h): the portable reference, the
 * activation packing into quads, and the choice of the dot-product path at load (AVX-512
 * VNNI, then AVX-VNNI on x86; NEON on aarch64; qvnni.c, qneon.c).
 * Algorithm (pack, SSE2, 16 columns): byte-unpack rows 0/1 and 2/3 into pairs, then
 * 16-bit-unpack the pairs into quads (column i's four bytes adjacent), four 16-byte stores;
 * with AVX2 32 columns at a time (the unpacks work per 128-bit lane: lane permutes restore
 * the column order). */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

void kiln_qgemm4_portable(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    for (int64_t i = 0; i < m; i++) {
        int32_t *ci = c + i * n;
        for (int64_t j = 0; j < n; j++) ci[j] = 0;
        for (int64_t t = 0; t < kq; t++) {
            int32_t q = a[i * kq + t];
            int32_t w0 = kiln_qquad_at(q, 0), w1 = kiln_qquad_at(q, 1), w2 = kiln_qquad_at(q, 2), w3 = kiln_qquad_at(q, 3);
            const uint8_t *bt = b + t * n * 4;
            for (int64_t j = 0; j < n; j++)
                ci[j] += w0 * bt[4 * j] + w1 * bt[4 * j + 1] + w2 * bt[4 * j + 2] + w3 * bt[4 * j + 3];
        }
    }
}

void kiln_qgemm4q_portable(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, const kiln_qrequant_rows *r,
                           uint8_t *y, int64_t ystride) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            int32_t s = 0;
            for (int64_t t = 0; t < kq; t++) {
                int32_t q = a[i * kq + t];
                const uint8_t *bq = b + (t * n + j) * 4;
                s += kiln_qquad_at(q, 0) * bq[0] + kiln_qquad_at(q, 1) * bq[1] + kiln_qquad_at(q, 2) * bq[2] + kiln_qquad_at(q, 3) * bq[3];
            }
            y[i * ystride + j] = kiln_requant((int32_t)((uint32_t)s + (uint32_t)r->bias[i]), r->mult[i], r->shift[i], r->q->y_zp,
                                              r->q->y_min, r->q->y_max);
        }
}

void kiln_qgemv4_portable(int64_t rows, int64_t n, int64_t kq, const uint8_t *x, const int32_t *b, int32_t *c) {
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *xr = x + r * kq * 4;
        int32_t *cr = c + r * n;
        for (int64_t j = 0; j < n; j++) cr[j] = 0;
        for (int64_t t = 0; t < kq; t++)
            for (int64_t j = 0; j < n; j++) {
                int32_t q = b[t * n + j];
                cr[j] += kiln_qquad_at(q, 0) * xr[4 * t] + kiln_qquad_at(q, 1) * xr[4 * t + 1] + kiln_qquad_at(q, 2) * xr[4 * t + 2] +
                         kiln_qquad_at(q, 3) * xr[4 * t + 3];
            }
    }
}

void kiln_qpack4_portable(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int64_t n, uint8_t *d) {
    for (int64_t i = 0; i < n; i++) {
        d[4 * i] = r0[i];
        d[4 * i + 1] = r1[i];
        d[4 * i + 2] = r2[i];
        d[4 * i + 3] = r3[i];
    }
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

static void qpack4_sse2(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2, const uint8_t *r3, int64_t n, uint8_t *d) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(r0 + i)), b = _mm_loadu_si128((const __m128i *)(r1 + i));
        __m128i c = _mm_loadu_si128((const __m128i *)(r2 + i)), e = _mm_loadu_si128((const __m128i *)(r3 + i));
        __m128i ab0 = _mm_unpacklo_epi8(a, b), ab1 = _mm_unpackhi_epi8(a, b);
        __m128i ce0 = _mm_unpacklo_epi8(c, e), ce1 = _mm_unpackhi_epi8(c, e);
        _mm_storeu_si128((__m128i *)(d + 4 * i), _mm_unpacklo_epi16(ab0, ce0));
        _mm_storeu_si128((__m128i *)(d + 4 * i + 16), _mm_unpackhi_epi16(ab0, ce0));
        _mm_storeu_si128((__m128i *)(d + 4 * i + 32), _mm_unpacklo_epi16(ab1, ce1));
        _mm_storeu_si128((__m128i *)(d + 4 * i + 48), _mm_unpackhi_epi16(ab1, ce1));
    }
    kiln_qpack4_portable(r0 + i, r1 + i, r2 + i, r3 + i, n - i, d + 4 * i);
}

/* AVX2, 32 columns: the same byte and 16-bit unpacks per 128-bit lane, then lane permutes
 * putting quads 0-15 before 16-31; the rest through the SSE2 version. */
__attribute__((target("avx2"))) static void qpack4_avx2(const uint8_t *r0, const uint8_t *r1, const uint8_t *r2,
                                                        const uint8_t *r3, int64_t n, uint8_t *d) {
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m256i a = _mm256_loadu_si256((const __m256i *)(r0 + i)), b = _mm256_loadu_si256((const __m256i *)(r1 + i));
        __m256i c = _mm256_loadu_si256((const __m256i *)(r2 + i)), e = _mm256_loadu_si256((const __m256i *)(r3 + i));
        __m256i ab0 = _mm256_unpacklo_epi8(a, b), ab1 = _mm256_unpackhi_epi8(a, b);
        __m256i ce0 = _mm256_unpacklo_epi8(c, e), ce1 = _mm256_unpackhi_epi8(c, e);
        __m256i q0 = _mm256_unpacklo_epi16(ab0, ce0), q1 = _mm256_unpackhi_epi16(ab0, ce0); /* quads 0-3|16-19, 4-7|20-23 */
        __m256i q2 = _mm256_unpacklo_epi16(ab1, ce1), q3 = _mm256_unpackhi_epi16(ab1, ce1); /* 8-11|24-27, 12-15|28-31 */
        _mm256_storeu_si256((__m256i *)(d + 4 * i), _mm256_permute2x128_si256(q0, q1, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 32), _mm256_permute2x128_si256(q2, q3, 0x20));
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 64), _mm256_permute2x128_si256(q0, q1, 0x31));
        _mm256_storeu_si256((__m256i *)(d + 4 * i + 96), _mm256_permute2x128_si256(q2, q3, 0x31));
    }
    qpack4_sse2(r0 + i, r1 + i, r2 + i, r3 + i, n - i, d + 4 * i);
}
#endif

static int quad_disabled(void) {
    const char *force = getenv("KILN_QGEMM");
    return force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0);
}

kiln_qgemm4_fn kiln_qgemm4_select(void) {
    if (quad_disabled()) return NULL;
    kiln_qgemm4_fn f = kiln_qgemm4_vnni512();
    if (!f) f = kiln_qgemm4_avxvnni();
    if (!f) f = kiln_qgemm4_neon();
    return f;
}

kiln_qpack4_fn kiln_qpack4_select(void) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
    if (quad_disabled()) return kiln_qpack4_portable;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? qpack4_avx2 : qpack4_sse2;
#else
    return kiln_qpack4_portable;
#endif
}
