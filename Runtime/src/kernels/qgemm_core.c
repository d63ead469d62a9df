/* qgemm_core.c — the int8 GEMM core (int32 accumulation) behind QCONV2D and QGEMM: the
 * portable reference and an AVX2 path, chosen once by CPU detection (qgemm.h).
 * Algorithm (AVX2): blocks of 4 rows x 16 columns held in 8 accumulators; per k pair t,
 * two 256-bit loads of B (8 columns x 2 k each), one broadcast of each row's A pair, and
 * vpmaddwd (i16 x i16 -> two products summed into i32, exact: no saturation, unlike
 * vpmaddubsw) then vpaddd. Leftover columns (< 16) go 8 at a time, then scalar; leftover
 * rows one at a time with the same column loops. */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

void kiln_qgemm_portable(int64_t m, int64_t n, int64_t kk, const int32_t *a, const int16_t *b, int32_t *c) {
    for (int64_t i = 0; i < m; i++) {
        int32_t *ci = c + i * n;
        for (int64_t j = 0; j < n; j++) ci[j] = 0;
        for (int64_t t = 0; t < kk; t++) {
            int32_t pair = a[i * kk + t];
            int32_t lo = (int16_t)(uint16_t)((uint32_t)pair & 0xFFFFu), hi = (int16_t)(uint16_t)((uint32_t)pair >> 16);
            const int16_t *bt = b + t * n * 2;
            for (int64_t j = 0; j < n; j++) ci[j] += lo * bt[2 * j] + hi * bt[2 * j + 1];
        }
    }
}

void kiln_qpack_portable(const uint8_t *r0, const uint8_t *r1, int64_t n, int16_t *d) {
    for (int64_t i = 0; i < n; i++) { d[2 * i] = r0[i]; d[2 * i + 1] = r1[i]; }
}

static int force_portable(void) {
    const char *force = getenv("KILN_QGEMM");
    return force && strcmp(force, "portable") == 0;
}

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KILN_AVX2 __attribute__((target("avx2")))

/* 16 columns at a time: byte-unpack the two rows (r0[i], r1[i] adjacent), zero-extend to i16. */
KILN_AVX2 static void qpack_avx2(const uint8_t *r0, const uint8_t *r1, int64_t n, int16_t *d) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        __m128i a = _mm_loadu_si128((const __m128i *)(r0 + i)), b = _mm_loadu_si128((const __m128i *)(r1 + i));
        _mm256_storeu_si256((__m256i *)(d + 2 * i), _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(a, b)));
        _mm256_storeu_si256((__m256i *)(d + 2 * i + 16), _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(a, b)));
    }
    kiln_qpack_portable(r0 + i, r1 + i, n - i, d + 2 * i);
}

/* Columns [j0, n) of rows [i0, i0 + rows) one row at a time (leftovers of the 4x16 tiles). */
KILN_AVX2 static void qgemm_rows_avx2(int64_t i0, int64_t rows, int64_t j0, int64_t n, int64_t kk, const int32_t *a,
                                      const int16_t *b, int32_t *c) {
    for (int64_t i = i0; i < i0 + rows; i++) {
        const int32_t *ai = a + i * kk;
        int64_t j = j0;
        for (; j + 8 <= n; j += 8) {
            __m256i acc = _mm256_setzero_si256();
            for (int64_t t = 0; t < kk; t++) {
                __m256i bv = _mm256_loadu_si256((const __m256i *)(b + (t * n + j) * 2));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(bv, _mm256_set1_epi32(ai[t])));
            }
            _mm256_storeu_si256((__m256i *)(c + i * n + j), acc);
        }
        for (; j < n; j++) {
            int32_t s = 0;
            for (int64_t t = 0; t < kk; t++) {
                int32_t lo = (int16_t)(uint16_t)((uint32_t)ai[t] & 0xFFFFu), hi = (int16_t)(uint16_t)((uint32_t)ai[t] >> 16);
                s += lo * b[(t * n + j) * 2] + hi * b[(t * n + j) * 2 + 1];
            }
            c[i * n + j] = s;
        }
    }
}

KILN_AVX2 static void qgemm_avx2(int64_t m, int64_t n, int64_t kk, const int32_t *a, const int16_t *b, int32_t *c) {
    int64_t i = 0, n16 = n - n % 16;
    for (; i + 4 <= m; i += 4) {
        const int32_t *a0 = a + i * kk, *a1 = a0 + kk, *a2 = a1 + kk, *a3 = a2 + kk;
        for (int64_t j = 0; j < n16; j += 16) {
            __m256i c00 = _mm256_setzero_si256(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
                    c31 = c00;
            const int16_t *bp = b + j * 2;
            for (int64_t t = 0; t < kk; t++, bp += n * 2) {
                __m256i b0 = _mm256_loadu_si256((const __m256i *)bp), b1 = _mm256_loadu_si256((const __m256i *)(bp + 16));
                __m256i v = _mm256_set1_epi32(a0[t]);
                c00 = _mm256_add_epi32(c00, _mm256_madd_epi16(b0, v));
                c01 = _mm256_add_epi32(c01, _mm256_madd_epi16(b1, v));
                v = _mm256_set1_epi32(a1[t]);
                c10 = _mm256_add_epi32(c10, _mm256_madd_epi16(b0, v));
                c11 = _mm256_add_epi32(c11, _mm256_madd_epi16(b1, v));
                v = _mm256_set1_epi32(a2[t]);
                c20 = _mm256_add_epi32(c20, _mm256_madd_epi16(b0, v));
                c21 = _mm256_add_epi32(c21, _mm256_madd_epi16(b1, v));
                v = _mm256_set1_epi32(a3[t]);
                c30 = _mm256_add_epi32(c30, _mm256_madd_epi16(b0, v));
                c31 = _mm256_add_epi32(c31, _mm256_madd_epi16(b1, v));
            }
            int32_t *cp = c + i * n + j;
            _mm256_storeu_si256((__m256i *)cp, c00);
            _mm256_storeu_si256((__m256i *)(cp + 8), c01);
            _mm256_storeu_si256((__m256i *)(cp + n), c10);
            _mm256_storeu_si256((__m256i *)(cp + n + 8), c11);
            _mm256_storeu_si256((__m256i *)(cp + 2 * n), c20);
            _mm256_storeu_si256((__m256i *)(cp + 2 * n + 8), c21);
            _mm256_storeu_si256((__m256i *)(cp + 3 * n), c30);
            _mm256_storeu_si256((__m256i *)(cp + 3 * n + 8), c31);
        }
        if (n16 < n) qgemm_rows_avx2(i, 4, n16, n, kk, a, b, c);
    }
    if (i < m) qgemm_rows_avx2(i, m - i, 0, n, kk, a, b, c);
}

kiln_qgemm_fn kiln_qgemm_avx2(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? qgemm_avx2 : NULL;
}
static kiln_qpack_fn qpack_avx2_fn(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? qpack_avx2 : NULL;
}
#else
kiln_qgemm_fn kiln_qgemm_avx2(void) { return NULL; }
static kiln_qpack_fn qpack_avx2_fn(void) { return NULL; }
#endif

kiln_qpack_fn kiln_qpack_select(void) {
    kiln_qpack_fn f = force_portable() ? NULL : qpack_avx2_fn();
    return f ? f : kiln_qpack_portable;
}

kiln_qgemm_fn kiln_qgemm_select(void) {
    if (force_portable()) return kiln_qgemm_portable;
    kiln_qgemm_fn f = kiln_qgemm_avx2();
    return f ? f : kiln_qgemm_portable;
}

kiln_status kiln_qparams_read(kiln_check *c, const uint8_t *attr, kiln_qparams *q) {
    q->x_zp = kiln_rdi32(attr);
    q->y_zp = kiln_rdi32(attr + 4);
    q->y_min = kiln_rdi32(attr + 8);
    q->y_max = kiln_rdi32(attr + 12);
    if (q->x_zp < 0 || q->x_zp > 255 || q->y_zp < 0 || q->y_zp > 255 || q->y_min < 0 || q->y_max > 255 ||
        q->y_min > q->y_max)
        return kiln_check_fail(c, "zero points and the output range must lie in [0, 255]");
    return KILN_OK;
}

const void *kiln_qconstant(kiln_check *c, const kiln_tdesc *t, const char *what) {
    if (t->storage != KILN_STORAGE_CONSTANT || !c->plan->constants) {
        kiln_check_fail(c, "%s must be a constant", what);
        return NULL;
    }
    return c->plan->constants + t->offset;
}

kiln_status kiln_qrequant_read(kiln_check *c, const kiln_tdesc *t, int64_t m, int32_t *mult, int32_t *shift) {
    if (!t || t->dtype != KILN_I32 || t->count != (uint64_t)(2 * m))
        return kiln_check_fail(c, "requant must be i32 [2, %lld]", (long long)m);
    const uint8_t *d = kiln_qconstant(c, t, "requant");
    if (!d) return KILN_ERR_MALFORMED;
    for (int64_t i = 0; i < m; i++) {
        mult[i] = kiln_rdi32(d + 4 * i);
        shift[i] = kiln_rdi32(d + 4 * (m + i));
        if (mult[i] < 0 || shift[i] < 1 || shift[i] > 62) return kiln_check_fail(c, "requant multiplier or shift out of range");
    }
    return KILN_OK;
}
