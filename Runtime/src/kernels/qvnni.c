/* qvnni.c — the quad-layout int8 GEMM core (qgemm.h) on x86 dot-product instructions:
 * AVX-512 VNNI and AVX-VNNI (the 256-bit VEX form), each used only when cpuid reports it.
 * vpdpbusd multiplies u8 (the activations, B) by i8 (the weights, A), sums each lane's
 * four products and adds them to the i32 lane without saturation: exactly the reference's
 * integer sum, no offset or compensation needed.
 * Algorithm (AVX-512): per panel of 8 rows (then 4, then 1; the panel's A stays in cache
 * while B streams from L2), tiles of 32 columns in 16 zmm accumulators; per k quad t,
 * two 64-byte loads of B (16 columns x 4 k each) and, per row, one broadcast of its A quad
 * and two vpdpbusd. Columns past n are masked off in the loads and stores. The fused
 * version (kiln_qgemm4q) requantizes each row's 32 sums in registers with the row's
 * multiplier and shift (qsimd.c's 16-lane steps) and stores u8: no int32 block.
 * Algorithm (AVX-VNNI): tiles of 4 rows x 16 columns (8 of the 16 ymm registers hold
 * accumulators), then single rows; 8 leftover columns one row at a time, then scalar. */
#include "qgemm.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

#define KILN_VNNI512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define KILN_AVXVNNI __attribute__((target("avx2,avxvnni")))

/* Tiles of R in {8, 4, 1} rows x up to 32 columns at b/c (column j0), named accumulators
 * (GCC keeps arrays of vectors in memory). */
#define V512_ZERO(r) __m512i c##r##0 = _mm512_setzero_si512(), c##r##1 = c##r##0;
#define V512_STEP(r)                                                                                       \
    {                                                                                                      \
        __m512i av = _mm512_set1_epi32(a[(r) * kq + t]);                                                   \
        c##r##0 = _mm512_dpbusd_epi32(c##r##0, b0, av);                                                    \
        c##r##1 = _mm512_dpbusd_epi32(c##r##1, b1, av);                                                    \
    }
/* An empty asm naming the accumulators as read and written: without it GCC (12) copies every
 * accumulator through another register (and the stack) on each k step when the tile ends in
 * masked stores or the requantization, halving the core's speed; costs no instruction. */
#define V512_SETTLE(r) __asm__("" : "+v"(c##r##0), "+v"(c##r##1));
#define V512_STORE(r)                                                                                      \
    V512_SETTLE(r)                                                                                         \
    _mm512_mask_storeu_epi32(c + (r) * n, k0, c##r##0);                                                    \
    _mm512_mask_storeu_epi32(c + (r) * n + 16, k1, c##r##1);
/* The fused tiles start each row at its bias. */
#define V512_BIAS(r) __m512i c##r##0 = _mm512_set1_epi32(rq->bias[r]), c##r##1 = c##r##0;
#define V512_LOADB                                                                                         \
    const uint8_t *bt = b + t * n * 4;                                                                     \
    __m512i b0 = _mm512_maskz_loadu_epi32(k0, bt), b1 = _mm512_maskz_loadu_epi32(k1, bt + 64);

KILN_VNNI512 static void tile512x8(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c, __mmask16 k0,
                                   __mmask16 k1) {
    V512_ZERO(0) V512_ZERO(1) V512_ZERO(2) V512_ZERO(3) V512_ZERO(4) V512_ZERO(5) V512_ZERO(6) V512_ZERO(7)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0) V512_STEP(1) V512_STEP(2) V512_STEP(3) V512_STEP(4) V512_STEP(5) V512_STEP(6) V512_STEP(7)
    }
    V512_STORE(0) V512_STORE(1) V512_STORE(2) V512_STORE(3) V512_STORE(4) V512_STORE(5) V512_STORE(6) V512_STORE(7)
}

KILN_VNNI512 static void tile512x4(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c, __mmask16 k0,
                                   __mmask16 k1) {
    V512_ZERO(0) V512_ZERO(1) V512_ZERO(2) V512_ZERO(3)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0) V512_STEP(1) V512_STEP(2) V512_STEP(3)
    }
    V512_STORE(0) V512_STORE(1) V512_STORE(2) V512_STORE(3)
}

KILN_VNNI512 static void tile512x1(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c, __mmask16 k0,
                                   __mmask16 k1) {
    V512_ZERO(0)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0)
    }
    V512_STORE(0)
}

KILN_VNNI512 static void qgemm4_vnni512(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    for (int64_t i = 0; i < m;) {
        int64_t rows = m - i >= 8 ? 8 : m - i >= 4 ? 4 : 1;
        for (int64_t j = 0; j < n; j += 32) {
            int64_t w = n - j < 32 ? n - j : 32;
            __mmask16 k0 = (__mmask16)(w >= 16 ? 0xFFFF : (1u << w) - 1);
            __mmask16 k1 = (__mmask16)(w <= 16 ? 0 : w == 32 ? 0xFFFF : (1u << (w - 16)) - 1);
            if (rows == 8) tile512x8(n, kq, a + i * kq, b + j * 4, c + i * n + j, k0, k1);
            else if (rows == 4) tile512x4(n, kq, a + i * kq, b + j * 4, c + i * n + j, k0, k1);
            else tile512x1(n, kq, a + i * kq, b + j * 4, c + i * n + j, k0, k1);
        }
        i += rows;
    }
}

/* The fused requantization (qsimd.c's 16-lane steps) of row r's two accumulators, stored
 * as up to 32 u8 (masked past n). The accumulators start at the row's bias (vpdpbusd wraps
 * like the reference's bias addition), so the requantization has none to add. */
KILN_VNNI512 static inline __attribute__((always_inline)) __m128i req16(__m512i a, __m512i vm, __m512i radd, __m128i cnt,
                                                                        __m512i vlo, __m512i vhi, __m512i vzp) {
    __m512i pe = _mm512_mul_epi32(a, vm), po = _mm512_mul_epi32(_mm512_srli_epi64(a, 32), vm);
    pe = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(pe, radd), cnt), vlo), vhi);
    po = _mm512_min_epi64(_mm512_max_epi64(_mm512_sra_epi64(_mm512_add_epi64(po, radd), cnt), vlo), vhi);
    return _mm512_cvtepi32_epi8(_mm512_add_epi32(_mm512_mask_blend_epi32(0xAAAA, pe, _mm512_slli_epi64(po, 32)), vzp));
}
/* req16 for 32 <= shift <= 54 (the usual case), four instructions fewer: Q = a * m + 2^(s-1)
 * + zp * 2^s (radd holds the last two) has |Q| < 2^62 + 2^53 + 255 * 2^54 < 2^63, and
 * Q >> s = requant + zp is (the high half of Q) >> (s - 32), below 2^30.6 + 255 in magnitude:
 * the high halves of the even and odd products blend into one vector and the shift and clamp
 * run on 32-bit lanes, exactly as the reference. */
KILN_VNNI512 static inline __attribute__((always_inline)) __m128i req16h(__m512i a, __m512i vm, __m512i radd, __m128i cnth,
                                                                         __m512i lo32, __m512i hi32) {
    __m512i pe = _mm512_add_epi64(_mm512_mul_epi32(a, vm), radd);
    __m512i po = _mm512_add_epi64(_mm512_mul_epi32(_mm512_srli_epi64(a, 32), vm), radd);
    __m512i v = _mm512_sra_epi32(_mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(pe, 32), po), cnth);
    return _mm512_cvtepi32_epi8(_mm512_min_epi32(_mm512_max_epi32(v, lo32), hi32));
}
#if defined(KILN_NO_AVX512)
#define V512_REQ_HIGH(lo, hi, r) if (0) {}
#else
#define V512_REQ_HIGH(lo, hi, r)                                                                           \
    if (sh >= 32 && sh <= 54) {                                                                            \
        __m512i raddz = _mm512_set1_epi64(((int64_t)1 << (sh - 1)) + ((int64_t)rq->q->y_zp << sh));       \
        __m128i cnth = _mm_cvtsi32_si128(sh - 32);                                                         \
        lo = req16h(c##r##0, vm, raddz, cnth, lo32, hi32);                                                 \
        hi = req16h(c##r##1, vm, raddz, cnth, lo32, hi32);                                                 \
    }
#endif
#define V512_REQ(r)                                                                                        \
    V512_SETTLE(r)                                                                                         \
    {                                                                                                      \
        int32_t sh = rq->shift[r];                                                                         \
        __m512i vm = _mm512_set1_epi32(rq->mult[r]);                                                       \
        __m128i lo, hi;                                                                                    \
        V512_REQ_HIGH(lo, hi, r)                                                                           \
        else {                                                                                             \
            __m512i radd = _mm512_set1_epi64((int64_t)1 << (sh - 1));                                      \
            __m128i cnt = _mm_cvtsi32_si128(sh);                                                           \
            lo = req16(c##r##0, vm, radd, cnt, vlo, vhi, vzp);                                             \
            hi = req16(c##r##1, vm, radd, cnt, vlo, vhi, vzp);                                             \
        }                                                                                                  \
        __m256i v = _mm256_inserti128_si256(_mm256_castsi128_si256(lo), hi, 1);                            \
        if (ky == 0xFFFFFFFFu) _mm256_storeu_si256((__m256i *)(y + (r) * ystride), v);                     \
        else _mm256_mask_storeu_epi8(y + (r) * ystride, ky, v);                                            \
    }
#define V512_REQ_SETUP                                                                                     \
    const __m512i vlo = _mm512_set1_epi64(rq->q->y_min - rq->q->y_zp), vhi = _mm512_set1_epi64(rq->q->y_max - rq->q->y_zp); \
    const __m512i vzp = _mm512_set1_epi32(rq->q->y_zp);                                                    \
    const __m512i lo32 = _mm512_set1_epi32(rq->q->y_min), hi32 = _mm512_set1_epi32(rq->q->y_max);          \
    (void)lo32, (void)hi32;                                                                                \
    const __mmask32 ky = (__mmask32)k0 | (__mmask32)k1 << 16;

/* rq's pointers are at the tile's first row. */
KILN_VNNI512 static void tileq8(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, const kiln_qrequant_rows *rq,
                                uint8_t *y, int64_t ystride, __mmask16 k0, __mmask16 k1) {
    V512_REQ_SETUP
    V512_BIAS(0) V512_BIAS(1) V512_BIAS(2) V512_BIAS(3) V512_BIAS(4) V512_BIAS(5) V512_BIAS(6) V512_BIAS(7)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0) V512_STEP(1) V512_STEP(2) V512_STEP(3) V512_STEP(4) V512_STEP(5) V512_STEP(6) V512_STEP(7)
    }
    V512_REQ(0) V512_REQ(1) V512_REQ(2) V512_REQ(3) V512_REQ(4) V512_REQ(5) V512_REQ(6) V512_REQ(7)
}

KILN_VNNI512 static void tileq4(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, const kiln_qrequant_rows *rq,
                                uint8_t *y, int64_t ystride, __mmask16 k0, __mmask16 k1) {
    V512_REQ_SETUP
    V512_BIAS(0) V512_BIAS(1) V512_BIAS(2) V512_BIAS(3)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0) V512_STEP(1) V512_STEP(2) V512_STEP(3)
    }
    V512_REQ(0) V512_REQ(1) V512_REQ(2) V512_REQ(3)
}

KILN_VNNI512 static void tileq1(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, const kiln_qrequant_rows *rq,
                                uint8_t *y, int64_t ystride, __mmask16 k0, __mmask16 k1) {
    V512_REQ_SETUP
    V512_BIAS(0)
    for (int64_t t = 0; t < kq; t++) {
        V512_LOADB
        V512_STEP(0)
    }
    V512_REQ(0)
}

KILN_VNNI512 static void qgemm4q_vnni512(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b,
                                         const kiln_qrequant_rows *r, uint8_t *y, int64_t ystride) {
    for (int64_t i = 0; i < m;) {
        int64_t rows = m - i >= 8 ? 8 : m - i >= 4 ? 4 : 1;
        kiln_qrequant_rows ri = {r->bias + i, r->mult + i, r->shift + i, r->q};
        for (int64_t j = 0; j < n; j += 32) {
            int64_t w = n - j < 32 ? n - j : 32;
            __mmask16 k0 = (__mmask16)(w >= 16 ? 0xFFFF : (1u << w) - 1);
            __mmask16 k1 = (__mmask16)(w <= 16 ? 0 : w == 32 ? 0xFFFF : (1u << (w - 16)) - 1);
            uint8_t *yt = y + i * ystride + j;
            if (rows == 8) tileq8(n, kq, a + i * kq, b + j * 4, &ri, yt, ystride, k0, k1);
            else if (rows == 4) tileq4(n, kq, a + i * kq, b + j * 4, &ri, yt, ystride, k0, k1);
            else tileq1(n, kq, a + i * kq, b + j * 4, &ri, yt, ystride, k0, k1);
        }
        i += rows;
    }
}

/* VNNI-512 kernels also use BW and VL forms (masked byte stores, 256-bit VNNI). */
static int have_vnni512(void) {
    const char *force = getenv("KILN_QGEMM"); /* avxvnni: as a CPU with AVX-VNNI but no AVX-512 (tests) */
    if (force && strcmp(force, "avxvnni") == 0) return 0;
    return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl");
}

kiln_qgemm4q_fn kiln_qgemm4q_vnni512(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0)) return NULL;
    __builtin_cpu_init();
    return have_vnni512() ? qgemm4q_vnni512 : NULL;
}

/* AVX-VNNI tiles: R in {4, 1} rows x 16 columns (two ymm per row). */
#define V256_ZERO(r) __m256i c##r##0 = _mm256_setzero_si256(), c##r##1 = c##r##0;
#define V256_STEP(r)                                                                                       \
    {                                                                                                      \
        __m256i av = _mm256_set1_epi32(a[(r) * kq + t]);                                                   \
        c##r##0 = _mm256_dpbusd_avx_epi32(c##r##0, b0, av);                                                \
        c##r##1 = _mm256_dpbusd_avx_epi32(c##r##1, b1, av);                                                \
    }
#define V256_STORE(r)                                                                                      \
    _mm256_storeu_si256((__m256i *)(c + (r) * n), c##r##0);                                                \
    _mm256_storeu_si256((__m256i *)(c + (r) * n + 8), c##r##1);
#define V256_LOADB                                                                                         \
    const uint8_t *bt = b + t * n * 4;                                                                     \
    __m256i b0 = _mm256_loadu_si256((const __m256i *)bt), b1 = _mm256_loadu_si256((const __m256i *)(bt + 32));

KILN_AVXVNNI static void tile256x4(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    V256_ZERO(0) V256_ZERO(1) V256_ZERO(2) V256_ZERO(3)
    for (int64_t t = 0; t < kq; t++) {
        V256_LOADB
        V256_STEP(0) V256_STEP(1) V256_STEP(2) V256_STEP(3)
    }
    V256_STORE(0) V256_STORE(1) V256_STORE(2) V256_STORE(3)
}

KILN_AVXVNNI static void tile256x1(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    V256_ZERO(0)
    for (int64_t t = 0; t < kq; t++) {
        V256_LOADB
        V256_STEP(0)
    }
    V256_STORE(0)
}

/* One row, 8 columns. */
KILN_AVXVNNI static void tile256x1h(int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    __m256i acc = _mm256_setzero_si256();
    for (int64_t t = 0; t < kq; t++)
        acc = _mm256_dpbusd_avx_epi32(acc, _mm256_loadu_si256((const __m256i *)(b + t * n * 4)), _mm256_set1_epi32(a[t]));
    _mm256_storeu_si256((__m256i *)c, acc);
}

KILN_AVXVNNI static void qgemm4_avxvnni(int64_t m, int64_t n, int64_t kq, const int32_t *a, const uint8_t *b, int32_t *c) {
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        int64_t i = 0;
        for (; i + 4 <= m; i += 4) tile256x4(n, kq, a + i * kq, b + j * 4, c + i * n + j);
        for (; i < m; i++) tile256x1(n, kq, a + i * kq, b + j * 4, c + i * n + j);
    }
    if (j + 8 <= n) {
        for (int64_t i = 0; i < m; i++) tile256x1h(n, kq, a + i * kq, b + j * 4, c + i * n + j);
        j += 8;
    }
    for (int64_t i = 0; i < m; i++)
        for (int64_t jj = j; jj < n; jj++) {
            int32_t s = 0;
            for (int64_t t = 0; t < kq; t++) {
                const uint8_t *bq = b + (t * n + jj) * 4;
                int32_t q = a[i * kq + t];
                s += kiln_qquad_at(q, 0) * bq[0] + kiln_qquad_at(q, 1) * bq[1] + kiln_qquad_at(q, 2) * bq[2] +
                     kiln_qquad_at(q, 3) * bq[3];
            }
            c[i * n + jj] = s;
        }
}

/* QGEMM rows: per row and block of 64 columns, four zmm accumulators; per k quad, the
 * row's u8 quad broadcast against four 64-byte loads of weight quads (masked past n). */
KILN_VNNI512 static void qgemv4_vnni512(int64_t rows, int64_t n, int64_t kq, const uint8_t *x, const int32_t *b, int32_t *c) {
    for (int64_t r = 0; r < rows; r++) {
        const uint8_t *xr = x + r * kq * 4;
        for (int64_t j = 0; j < n; j += 64) {
            __mmask16 k[4];
            for (int q = 0; q < 4; q++) {
                int64_t w = n - j - 16 * q;
                k[q] = (__mmask16)(w >= 16 ? 0xFFFF : w <= 0 ? 0 : (1u << w) - 1);
            }
            __m512i c0 = _mm512_setzero_si512(), c1 = c0, c2 = c0, c3 = c0;
            for (int64_t t = 0; t < kq; t++) {
                int32_t xq;
                memcpy(&xq, xr + 4 * t, 4);
                __m512i xv = _mm512_set1_epi32(xq);
                const int32_t *bt = b + t * n + j;
                c0 = _mm512_dpbusd_epi32(c0, xv, _mm512_maskz_loadu_epi32(k[0], bt));
                c1 = _mm512_dpbusd_epi32(c1, xv, _mm512_maskz_loadu_epi32(k[1], bt + 16));
                c2 = _mm512_dpbusd_epi32(c2, xv, _mm512_maskz_loadu_epi32(k[2], bt + 32));
                c3 = _mm512_dpbusd_epi32(c3, xv, _mm512_maskz_loadu_epi32(k[3], bt + 48));
            }
            __asm__("" : "+v"(c0), "+v"(c1), "+v"(c2), "+v"(c3)); /* see V512_SETTLE */
            int32_t *cr = c + r * n + j;
            _mm512_mask_storeu_epi32(cr, k[0], c0);
            _mm512_mask_storeu_epi32(cr + 16, k[1], c1);
            _mm512_mask_storeu_epi32(cr + 32, k[2], c2);
            _mm512_mask_storeu_epi32(cr + 48, k[3], c3);
        }
    }
}

kiln_qgemv4_fn kiln_qgemv4_vnni512(void) {
    const char *force = getenv("KILN_QGEMM");
    if (force && (strcmp(force, "portable") == 0 || strcmp(force, "pairs") == 0)) return NULL;
    __builtin_cpu_init();
    return have_vnni512() ? qgemv4_vnni512 : NULL;
}

kiln_qgemm4_fn kiln_qgemm4_vnni512(void) {
    __builtin_cpu_init();
    return have_vnni512() ? qgemm4_vnni512 : NULL;
}
kiln_qgemm4_fn kiln_qgemm4_avxvnni(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avxvnni") ? qgemm4_avxvnni : NULL;
}
#else
kiln_qgemm4q_fn kiln_qgemm4q_vnni512(void) { return NULL; }
kiln_qgemv4_fn kiln_qgemv4_vnni512(void) { return NULL; }
kiln_qgemm4_fn kiln_qgemm4_vnni512(void) { return NULL; }
kiln_qgemm4_fn kiln_qgemm4_avxvnni(void) { return NULL; }
#endif
