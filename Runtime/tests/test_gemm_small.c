/* test_gemm_small.c — the few-rows GEMM (src/kernels/gemm_small.c): SIMD and portable
 * paths against a double-precision reference over M <= 4 and N = 1 shapes with odd sizes,
 * both transposes, alpha/beta and padded leading dimensions; and that it declines the
 * shapes it does not handle. */
#include "test.h"

#include "../src/internal.h"
#include "../src/kernels/common.h"

#include <math.h>

static void reference(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                      const float *b, size_t ldb, float beta, const float *c0, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++)
                s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (double)(tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c0[i * ldc + j]));
        }
}

static void one(int simd, int ta, int tb, size_t m, size_t n, size_t k, float alpha, float beta, size_t pad) {
    size_t lda = (ta ? m : k) + pad, ldb = (tb ? k : n) + pad, ldc = n + pad;
    if (m == 1 && ta) lda = 1; /* the only transposed-A layout with one row it takes */
    if (n == 1 && pad) ldc = 1, ldb = tb ? ldb : 1;
    size_t asz = (ta ? k : m) * lda + 8, bsz = (tb ? n : k) * ldb + 8, csz = m * ldc + 8;
    float *a = malloc(asz * 4), *b = malloc(bsz * 4), *c0 = malloc(csz * 4), *got = malloc(csz * 4), *want = malloc(csz * 4);
    test_fill(a, asz, 1 + (uint32_t)(m * 131 + n * 7 + k));
    test_fill(b, bsz, 2 + (uint32_t)(k * 17 + n));
    test_fill(c0, csz, 3);
    memcpy(got, c0, csz * 4);
    memcpy(want, c0, csz * 4);
    int took = kiln_sgemm_small_path(simd, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, got, ldc);
    reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c0, want, ldc);
    int small = (double)m * n * k <= 1048576.0 && k <= 1024;
    int should = ((m <= 4 || (small && tb)) && (!ta || (m == 1 && lda == 1))) ||
                 (n == 1 && ldc == 1 && (tb || ldb == 1)) || (!tb && k <= 1024 && (n <= 64 || small));
    CHECK(took == should, "gemm_small m%zu n%zu k%zu ta%d tb%d ldc%zu: took %d, expected %d", m, n, k, ta, tb, ldc, took,
          should);
    if (took) {
        char what[128];
        snprintf(what, sizeof what, "gemm_small simd%d m%zu n%zu k%zu ta%d tb%d a%g b%g pad%zu", simd, m, n, k, ta, tb,
                 alpha, beta, pad);
        CHECK(test_compare(what, got, want, csz, 1e-5f, 1e-5f) == 0, "%s", what);
    } else {
        CHECK(memcmp(got, c0, csz * 4) == 0, "gemm_small wrote C for a shape it declined (m%zu n%zu)", m, n);
    }
    free(a); free(b); free(c0); free(got); free(want);
}

void test_gemm_small(void) {
    const size_t ms[] = {1, 2, 3, 4, 5}, ns[] = {1, 5, 8, 16, 17, 33}, ks[] = {1, 7, 8, 64, 129};
    /* simd 0: portable; 1: AVX2; 2: AVX-512 (only on CPUs that have it) */
    const int simds = kiln_isa_detect() == KILN_ISA_AVX512 ? 3 : 2;
    for (int simd = 0; simd < simds; simd++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++)
                for (size_t mi = 0; mi < 5; mi++)
                    for (size_t ni = 0; ni < 6; ni++)
                        for (size_t ki = 0; ki < 5; ki++) {
                            one(simd, ta, tb, ms[mi], ns[ni], ks[ki], 1.0f, 0.0f, 0);
                            one(simd, ta, tb, ms[mi], ns[ni], ks[ki], 0.5f, -2.0f, 3);
                        }
    /* N = 1 with many rows (a transposed conv of a 1x1 input); narrow C at many rows (row
     * tails 1..3, column tails); and shapes it declines (wide or transposed B, long K) */
    const size_t rows[] = {6, 37, 512}, cols[] = {16, 23, 64, 65};
    for (int simd = 0; simd < simds; simd++)
        for (int ta = 0; ta < 2; ta++) {
            one(simd, ta, 0, 37, 1, 32, 1.0f, 0.0f, 0);
            for (size_t r = 0; r < 3; r++)
                for (size_t q = 0; q < 4; q++) {
                    one(simd, ta, 0, rows[r], cols[q], 64, 1.0f, 0.0f, 0);
                    one(simd, ta, 1, rows[r], cols[q], 9, 0.5f, -2.0f, 3);
                }
            one(simd, ta, 0, 9, 16, 1025, 1.0f, 0.0f, 0);
            one(simd, ta, 0, 16, 256, 64, 1.0f, 0.0f, 0);  /* 262144 MACs: taken */
            one(simd, ta, 0, 64, 257, 64, 1.0f, 0.0f, 0);  /* 1052672 MACs: declined */
            one(simd, ta, 1, 32, 512, 64, 1.0f, 0.0f, 0);  /* an LSTM's input projection: taken unless ta */
            one(simd, ta, 1, 33, 512, 64, 1.0f, 0.0f, 0);  /* 1081344 MACs: declined */
        }
}
