/* gemm_small.c — GEMM with few rows (M <= KILN_SMALL_M, and N = 1 by transposing the
 * problem): batch-1 Gemm/MatMul layers, recurrent state products, 1x1-input transposed
 * convs. A BLAS sgemm packs all of B on every call, which costs more than the product
 * itself at this size; here B streams through once.
 *
 * Algorithm:
 * - op(B) = B^T (B stored [N, K], the usual Gemm/Linear layout), M <= 4 or at most 1M
 *   multiply-adds (K <= 1024) with A rows contiguous: C[i][j] = A_i . B_j. Eight
 *   B rows at a time, each dotted with every A row in an 8-lane accumulator; the eight
 *   accumulators of one A row are reduced to one vector of 8 results by a transpose-add
 *   tree (hadd, then 128-bit halves), then the k % 8 tail.
 * - op(B) = B (stored [K, N]): C[i][j0..j0+16) = sum_p A[i][p] * B[p][j0..j0+16), the 16
 *   columns of every A row held in registers across the whole K loop; tail columns masked.
 * - N = 1 is C^T = op(B)^T op(A)^T, an M = 1 problem with the roles swapped.
 * - Narrow C (N <= 64, K <= 1024, op(B) = B) at any M, or any such product of at most 1M
 *   multiply-adds (a batch-16 Linear layer), either layout of A: panels of 4 rows
 *   x 16 columns of C held in 8 registers over the K loop (per p: two B loads, four A
 *   broadcasts, eight FMAs).
 * Then C = alpha * acc (+ beta * C when beta != 0). The portable path (same loops in plain
 * C) is always built and is what the tests compare the AVX2 path with. On AVX-512 CPUs
 * (simd 2) the op(B) = B panels are 8 x 16 in zmm registers with lane-masked tails, and
 * the op(B) = B^T dot products go 16 taps per step. */
#include "common.h"

#include <string.h>

#define KILN_SMALL_M 4
#define KILN_SMALL_N 64
#define KILN_SMALL_K 1024
#define KILN_SMALL_MACS 1048576.0

/* ---- portable -------------------------------------------------------------------------- */

static void store(float *c, float acc, float alpha, float beta) { *c = alpha * acc + (beta == 0.0f ? 0.0f : beta * *c); }

static void rows_bt_portable(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b,
                             size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            const float *ar = a + i * lda, *br = b + j * ldb;
            float lane[8] = {0};
            size_t p = 0;
            for (; p + 8 <= k; p += 8)
                for (int l = 0; l < 8; l++) lane[l] += ar[p + l] * br[p + l];
            float t = ((lane[0] + lane[4]) + (lane[2] + lane[6])) + ((lane[1] + lane[5]) + (lane[3] + lane[7]));
            for (; p < k; p++) t += ar[p] * br[p];
            store(c + i * ldc + j, t, alpha, beta);
        }
}

/* A element (i, p) is a[i * ai + p * ap]: either layout of A. */
static void rows_b_portable(size_t m, size_t n, size_t k, float alpha, const float *a, size_t ai, size_t ap,
                            const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j0 = 0; j0 < n; j0 += 16) {
            size_t w = n - j0 < 16 ? n - j0 : 16;
            float acc[16] = {0};
            for (size_t p = 0; p < k; p++) {
                float av = a[i * ai + p * ap];
                const float *br = b + p * ldb + j0;
                for (size_t l = 0; l < w; l++) acc[l] += av * br[l];
            }
            for (size_t l = 0; l < w; l++) store(c + i * ldc + j0 + l, acc[l], alpha, beta);
        }
}

/* ---- AVX2 + FMA ----------------------------------------------------------------------- */

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SMALL_SIMD 1

/* The 8 lane sums of s[0..8) as one vector: element j = sum of s[j]'s lanes. */
static inline __m256 reduce8(const __m256 *s) {
    __m256 a = _mm256_hadd_ps(s[0], s[1]), b = _mm256_hadd_ps(s[2], s[3]);
    __m256 c = _mm256_hadd_ps(s[4], s[5]), d = _mm256_hadd_ps(s[6], s[7]);
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d); /* [s0 s1 s2 s3 | s0 s1 s2 s3] halves */
    __m256 lo = _mm256_permute2f128_ps(ab, cd, 0x20), hi = _mm256_permute2f128_ps(ab, cd, 0x31);
    return _mm256_add_ps(lo, hi);
}

static inline void store8(float *c, __m256 acc, size_t w, float alpha, float beta) {
    __m256 v = _mm256_mul_ps(acc, _mm256_set1_ps(alpha));
    if (w == 8) {
        if (beta != 0.0f) v = _mm256_fmadd_ps(_mm256_loadu_ps(c), _mm256_set1_ps(beta), v);
        _mm256_storeu_ps(c, v);
        return;
    }
    float buf[8];
    _mm256_storeu_ps(buf, v);
    for (size_t l = 0; l < w; l++) c[l] = buf[l] + (beta == 0.0f ? 0.0f : beta * c[l]);
}

static void rows_bt(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                    float beta, float *c, size_t ldc) {
    size_t j0 = 0, kv = k & ~(size_t)7;
    for (; j0 + 8 <= n; j0 += 8) {
        const float *br = b + j0 * ldb;
        for (size_t i = 0; i < m; i++) {
            const float *ar = a + i * lda;
            __m256 s[8];
            for (int r = 0; r < 8; r++) s[r] = _mm256_setzero_ps();
            for (size_t p = 0; p < kv; p += 8) {
                __m256 av = _mm256_loadu_ps(ar + p);
                for (int r = 0; r < 8; r++) s[r] = _mm256_fmadd_ps(av, _mm256_loadu_ps(br + r * ldb + p), s[r]);
            }
            __m256 t = reduce8(s);
            if (kv < k) {
                float tail[8];
                for (int r = 0; r < 8; r++) {
                    float v = 0;
                    for (size_t p = kv; p < k; p++) v += ar[p] * br[r * ldb + p];
                    tail[r] = v;
                }
                t = _mm256_add_ps(t, _mm256_loadu_ps(tail));
            }
            store8(c + i * ldc + j0, t, 8, alpha, beta);
        }
    }
    if (j0 < n) rows_bt_portable(m, n - j0, k, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
}

/* Rows [i0, i0 + R) x columns [j0, j0 + w) with w <= 16, R = 4 or 1 (the accumulators of
 * four rows and 16 columns fill 8 of the 16 ymm registers; named, so they stay there). */
#define PANEL_LOAD                                                                          \
    __m256 b0 = w == 16 ? _mm256_loadu_ps(br) : _mm256_maskload_ps(br, m0);                 \
    __m256 b1 = w == 16 ? _mm256_loadu_ps(br + 8) : _mm256_maskload_ps(br + 8, m1);
#define PANEL_ROW(r, x0, x1)                                                                \
    {                                                                                       \
        __m256 av = _mm256_broadcast_ss(ar + (r) * ai);                                     \
        x0 = _mm256_fmadd_ps(av, b0, x0);                                                   \
        x1 = _mm256_fmadd_ps(av, b1, x1);                                                   \
    }
#define PANEL_STORE(r, x0, x1)                                                              \
    {                                                                                       \
        float *cr = c + (i0 + (r)) * ldc + j0;                                              \
        store8(cr, x0, w > 8 ? 8 : w, alpha, beta);                                         \
        if (w > 8) store8(cr + 8, x1, w - 8, alpha, beta);                                  \
    }

static void panel_b(int four, size_t i0, size_t j0, size_t w, size_t k, float alpha, const float *a, size_t ai,
                    size_t ap, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w > 8 ? 8 : w)), idx);
    __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w > 8 ? w - 8 : 0)), idx);
    __m256 s00 = _mm256_setzero_ps(), s01 = s00, s10 = s00, s11 = s00, s20 = s00, s21 = s00, s30 = s00, s31 = s00;
    const float *br = b + j0, *ar = a + i0 * ai;
    if (four) {
        for (size_t p = 0; p < k; p++, br += ldb, ar += ap) {
            PANEL_LOAD
            PANEL_ROW(0, s00, s01) PANEL_ROW(1, s10, s11) PANEL_ROW(2, s20, s21) PANEL_ROW(3, s30, s31)
        }
        PANEL_STORE(0, s00, s01) PANEL_STORE(1, s10, s11) PANEL_STORE(2, s20, s21) PANEL_STORE(3, s30, s31)
    } else {
        for (size_t p = 0; p < k; p++, br += ldb, ar += ap) {
            PANEL_LOAD
            PANEL_ROW(0, s00, s01)
        }
        PANEL_STORE(0, s00, s01)
    }
}

static void rows_b(size_t m, size_t n, size_t k, float alpha, const float *a, size_t ai, size_t ap, const float *b,
                   size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        size_t w = n - j0 < 16 ? n - j0 : 16, i = 0;
        for (; i + 4 <= m; i += 4) panel_b(1, i, j0, w, k, alpha, a, ai, ap, b, ldb, beta, c, ldc);
        for (; i < m; i++) panel_b(0, i, j0, w, k, alpha, a, ai, ap, b, ldb, beta, c, ldc);
    }
}
#else
#define SMALL_SIMD 0
#define rows_bt rows_bt_portable
#define rows_b rows_b_portable
#endif

#ifdef KILN_HAVE_AVX512
#include <immintrin.h>
/* rows_b on AVX-512 CPUs (simd == 2): panels of 8 rows x 16 columns of C in 8 zmm
 * registers (per p: one B load, masked for the tail columns, eight A broadcasts, eight
 * FMAs); the row tail by the AVX2 panels. On Zen 5 the AVX2 panels' masked loads and the
 * buffered partial stores cost more than the FMAs at a GAN's 16..64-column products. */
KILN_AVX512 static void rows_b512(size_t m, size_t n, size_t k, float alpha, const float *a, size_t ai, size_t ap,
                                  const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (m < 8) {                                     /* no 8-row panel: all AVX2 */
        rows_b(m, n, k, alpha, a, ai, ap, b, ldb, beta, c, ldc);
        return;
    }
    const __m512 va = _mm512_set1_ps(alpha), vbeta = _mm512_set1_ps(beta);
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        size_t w = n - j0 < 16 ? n - j0 : 16;
        __mmask16 mk = (__mmask16)(w >= 16 ? 0xFFFF : (1u << w) - 1);
        size_t i = 0;
        for (; i + 8 <= m; i += 8) {
            __m512 s[8];
            for (int r = 0; r < 8; r++) s[r] = _mm512_setzero_ps();
            const float *br = b + j0, *ar = a + i * ai;
            for (size_t p = 0; p < k; p++, br += ldb, ar += ap) {
                __m512 bv = _mm512_maskz_loadu_ps(mk, br);
                for (int r = 0; r < 8; r++) s[r] = _mm512_fmadd_ps(_mm512_set1_ps(ar[r * ai]), bv, s[r]);
            }
            for (int r = 0; r < 8; r++) {
                float *cr = c + (i + r) * ldc + j0;
                __m512 v = _mm512_mul_ps(va, s[r]);
                if (beta != 0.0f) v = _mm512_fmadd_ps(vbeta, _mm512_maskz_loadu_ps(mk, cr), v);
                _mm512_mask_storeu_ps(cr, mk, v);
            }
        }
        /* The last m % 8 rows: the AVX2 panels (4 rows in 8 accumulators; one zmm
         * accumulator per row would wait on the FMA latency). */
        if (i < m) rows_b(m - i, w, k, alpha, a + i * ai, ai, ap, b + j0, ldb, beta, c + i * ldc + j0, ldc);
    }
}
#define ROWS_B(simd) ((simd) == 2 ? rows_b512 : (simd) ? rows_b : rows_b_portable)

#if SMALL_SIMD
/* rows_bt on AVX-512 CPUs: the same eight B rows per A row, 16 taps per step, the k % 16
 * tail by lane masks (zeros add nothing); each accumulator's halves are added, then the
 * AVX2 transpose-add tree. Half the FMAs of the AVX2 loop (an LSTM's state products). */
KILN_AVX512 static void rows_bt512(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                                   const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    size_t j0 = 0;
    for (; j0 + 8 <= n; j0 += 8) {
        const float *br = b + j0 * ldb;
        for (size_t i = 0; i < m; i++) {
            const float *ar = a + i * lda;
            __m512 s[8];
            for (int r = 0; r < 8; r++) s[r] = _mm512_setzero_ps();
            for (size_t p = 0; p < k; p += 16) {
                __mmask16 mk = (__mmask16)(k - p >= 16 ? 0xFFFF : (1u << (k - p)) - 1);
                __m512 av = _mm512_maskz_loadu_ps(mk, ar + p);
                for (int r = 0; r < 8; r++) s[r] = _mm512_fmadd_ps(av, _mm512_maskz_loadu_ps(mk, br + r * ldb + p), s[r]);
            }
            __m256 h[8];
            for (int r = 0; r < 8; r++)
                h[r] = _mm256_add_ps(_mm512_castps512_ps256(s[r]), _mm512_extractf32x8_ps(s[r], 1));
            store8(c + i * ldc + j0, reduce8(h), 8, alpha, beta);
        }
    }
    if (j0 < n) rows_bt_portable(m, n - j0, k, alpha, a, lda, b + j0 * ldb, ldb, beta, c + j0, ldc);
}
#define ROWS_BT(simd) ((simd) == 2 ? rows_bt512 : (simd) ? rows_bt : rows_bt_portable)
#else
#define ROWS_BT(simd) ((simd) ? rows_bt : rows_bt_portable)
#endif
#else
#define ROWS_B(simd) ((simd) ? rows_b : rows_b_portable)
#define ROWS_BT(simd) ((simd) ? rows_bt : rows_bt_portable)
#endif

static void run_rows(int simd, int bt, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (bt) ROWS_BT(simd)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else ROWS_B(simd)(m, n, k, alpha, a, lda, 1, b, ldb, beta, c, ldc);
}

static inline int takes(int trans_a, int trans_b, size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc) {
    if (m == 0 || n == 0 || k == 0) return 0;
    int small = (double)m * (double)n * (double)k <= KILN_SMALL_MACS && k <= KILN_SMALL_K;
    if ((m <= KILN_SMALL_M || (small && trans_b)) && (!trans_a || (m == 1 && lda == 1))) return 1;
    /* N = 1: C^T[1, M] = op(B)^T op(A)^T; op(B)^T is a contiguous row when B is [1, K] or
     * a dense column; op(A)^T is A's storage read as B' (transposed unless trans_a). */
    if (n == 1 && ldc == 1 && (trans_b || ldb == 1)) return 2;
    /* narrow C (N <= KILN_SMALL_N) with B rows contiguous: 4 x 16 register panels, either
     * layout of A (a transposed conv's W^T x X at small images), and small products */
    if (!trans_b && k <= KILN_SMALL_K && (n <= KILN_SMALL_N || small)) return 3;
    return 0;
}

int kiln_sgemm_small_takes(int trans_a, int trans_b, size_t m, size_t n, size_t k, size_t lda, size_t ldb, size_t ldc) {
    return takes(trans_a, trans_b, m, n, k, lda, ldb, ldc);
}

int kiln_sgemm_small_path(int simd, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                          size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    simd = simd && SMALL_SIMD ? (simd == 2 ? 2 : 1) : 0;     /* 2 only on AVX-512 CPUs (the caller's check) */
    switch (takes(trans_a, trans_b, m, n, k, lda, ldb, ldc)) {
    case 1: run_rows(simd, trans_b, m, n, k, alpha, a, trans_a ? k : lda, b, ldb, beta, c, ldc); return 1;
    case 2: run_rows(simd, !trans_a, 1, m, k, alpha, b, k, a, lda, beta, c, m); return 1;
    case 3:
        ROWS_B(simd)(m, n, k, alpha, a, trans_a ? 1 : lda, trans_a ? lda : 1, b, ldb, beta, c, ldc);
        return 1;
    default: return 0;
    }
}

int kiln_sgemm_small(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    /* AVX-512 decided once (cpuid and the environment are not read per product). */
    static volatile int simd = 0;
    if (!simd) simd = kiln_isa_detect() == KILN_ISA_AVX512 ? 2 : 1;
    return kiln_sgemm_small_path(simd, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
