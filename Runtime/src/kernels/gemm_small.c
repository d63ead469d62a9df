/* gemm_small.c — GEMM with few rows (M <= KILN_SMALL_M, and N = 1 by transposing the
 * problem): batch-1 Gemm/MatMul layers, recurrent state products, 1x1-input transposed
 * convs. A BLAS sgemm packs all of B on every call, which costs more than the product
 * itself at this size; here B streams through once.
 *
 * Algorithm:
 * - op(B) = B^T (B stored [N, K], the usual Gemm/Linear layout): C[i][j] = A_i . B_j. Eight
 *   B rows at a time, each dotted with every A row in an 8-lane accumulator; the eight
 *   accumulators of one A row are reduced to one vector of 8 results by a transpose-add
 *   tree (hadd, then 128-bit halves), then the k % 8 tail.
 * - op(B) = B (stored [K, N]): C[i][j0..j0+16) = sum_p A[i][p] * B[p][j0..j0+16), the 16
 *   columns of every A row held in registers across the whole K loop; tail columns masked.
 * - N = 1 is C^T = op(B)^T op(A)^T, an M = 1 problem with the roles swapped.
 * Then C = alpha * acc (+ beta * C when beta != 0). The portable path (same loops in plain
 * C) is always built and is what the tests compare the AVX2 path with. */
#include "../internal.h"

#include <string.h>

#define KILN_SMALL_M 4

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

static void rows_b_portable(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b,
                            size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j0 = 0; j0 < n; j0 += 16) {
            size_t w = n - j0 < 16 ? n - j0 : 16;
            float acc[16] = {0};
            for (size_t p = 0; p < k; p++) {
                float av = a[i * lda + p];
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

static void rows_b(size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda, const float *b, size_t ldb,
                   float beta, float *c, size_t ldc) {
    for (size_t j0 = 0; j0 < n; j0 += 16) {
        size_t w = n - j0 < 16 ? n - j0 : 16;
        __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        __m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w > 8 ? 8 : w)), idx);
        __m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(w > 8 ? w - 8 : 0)), idx);
        for (size_t i = 0; i < m; i++) {
            __m256 s0 = _mm256_setzero_ps(), s1 = s0;
            const float *ar = a + i * lda, *br = b + j0;
            if (w == 16) {
                for (size_t p = 0; p < k; p++, br += ldb) {
                    __m256 av = _mm256_broadcast_ss(ar + p);
                    s0 = _mm256_fmadd_ps(av, _mm256_loadu_ps(br), s0);
                    s1 = _mm256_fmadd_ps(av, _mm256_loadu_ps(br + 8), s1);
                }
            } else {
                for (size_t p = 0; p < k; p++, br += ldb) {
                    __m256 av = _mm256_broadcast_ss(ar + p);
                    s0 = _mm256_fmadd_ps(av, _mm256_maskload_ps(br, m0), s0);
                    s1 = _mm256_fmadd_ps(av, _mm256_maskload_ps(br + 8, m1), s1);
                }
            }
            float *cr = c + i * ldc + j0;
            store8(cr, s0, w > 8 ? 8 : w, alpha, beta);
            if (w > 8) store8(cr + 8, s1, w - 8, alpha, beta);
        }
    }
}
#else
#define SMALL_SIMD 0
#define rows_bt rows_bt_portable
#define rows_b rows_b_portable
#endif

static void run_rows(int simd, int bt, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    if (bt) (simd ? rows_bt : rows_bt_portable)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
    else (simd ? rows_b : rows_b_portable)(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

int kiln_sgemm_small_path(int simd, int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a,
                          size_t lda, const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    simd = simd && SMALL_SIMD;
    if (m == 0 || n == 0 || k == 0) return 0;
    if (m <= KILN_SMALL_M && (!trans_a || (m == 1 && lda == 1))) {
        run_rows(simd, trans_b, m, n, k, alpha, a, trans_a ? k : lda, b, ldb, beta, c, ldc);
        return 1;
    }
    /* N = 1: C^T[1, M] = op(B)^T op(A)^T; op(B)^T is a contiguous row when B is [1, K] or
     * a dense column; op(A)^T is A's storage read as B' (transposed unless trans_a). */
    if (n == 1 && ldc == 1 && (trans_b || ldb == 1)) {
        run_rows(simd, !trans_a, 1, m, k, alpha, b, k, a, lda, beta, c, m);
        return 1;
    }
    return 0;
}

int kiln_sgemm_small(int trans_a, int trans_b, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                     const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    return kiln_sgemm_small_path(1, trans_a, trans_b, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
