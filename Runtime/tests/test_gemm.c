/* test_gemm.c — the portable GEMM and the configured GEMM against a naive triple loop
 * (odd sizes, sizes 1, both transposes, alpha/beta), and the GEMM / MATMUL opcodes (the
 * GEMM opcode's one-row case under each float-kernel path, KILN_FKERNELS). */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "../src/internal.h"
#include "../src/kernels/microkernel.h"

static void naive_gemm(int ta, int tb, size_t m, size_t n, size_t k, float alpha, const float *a, size_t lda,
                       const float *b, size_t ldb, float beta, float *c, size_t ldc) {
    for (size_t i = 0; i < m; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t p = 0; p < k; p++) s += (double)(ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
            c[i * ldc + j] = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * c[i * ldc + j]));
        }
}

static void gemm_case(size_t m, size_t n, size_t k, int ta, int tb, float alpha, float beta, uint32_t threads) {
    size_t lda = (ta ? m : k) + 1, ldb = (tb ? k : n) + 2, ldc = n + 3;
    float *a = malloc(sizeof(float) * (ta ? k : m) * lda + 4), *b = malloc(sizeof(float) * (tb ? n : k) * ldb + 4);
    float *c1 = malloc(sizeof(float) * m * ldc + 4), *c2 = malloc(sizeof(float) * m * ldc + 4);
    float *c3 = malloc(sizeof(float) * m * ldc + 4), *c4 = malloc(sizeof(float) * m * ldc + 4);
    test_fill(a, (ta ? k : m) * lda, 1);
    test_fill(b, (tb ? n : k) * ldb, 2);
    test_fill(c1, m * ldc, 3);
    memcpy(c2, c1, sizeof(float) * m * ldc);
    memcpy(c3, c1, sizeof(float) * m * ldc);
    memcpy(c4, c1, sizeof(float) * m * ldc);
    kiln_pool *pool = NULL;
    kiln_pool_create(threads, &pool);
    size_t ws = kiln_sgemm_workspace_floats();
    float *work = kiln_aligned_alloc(ws * sizeof(float) * threads);
    kiln_exec e = {NULL, pool, NULL, work, ws, threads};
    naive_gemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c1, ldc);
    kiln_sgemm_portable(&e, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c2, ldc);
    kiln_sgemm(&e, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c3, ldc);
    /* The blocked GEMM directly (kiln_sgemm sends few rows to gemm_small.c): it must run for
     * every non-portable float-kernel path this build and CPU have, and only for those. */
    kiln_isa isa = kiln_isa_detect();
    int ran = kiln_sgemm_blocked(&e, isa, threads > 1, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c4, ldc);
    char what[160];
    snprintf(what, sizeof what, "gemm %zux%zux%zu ta=%d tb=%d alpha=%g beta=%g threads=%u isa=%d", m, n, k, ta, tb, alpha,
             beta, threads, (int)isa);
#if defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
    CHECK(ran == (isa != KILN_ISA_PORTABLE && k > 0), "blocked gemm ran=%d %s", ran, what);
#endif
    if (ran) CHECK(test_compare(what, c4, c1, m * ldc, 1e-4f, 1e-4f) == 0, "blocked %s", what);
    CHECK(test_compare(what, c2, c1, m * ldc, 1e-4f, 1e-4f) == 0, "portable %s", what);
    CHECK(test_compare(what, c3, c1, m * ldc, 1e-4f, 1e-4f) == 0, "kiln_sgemm %s", what);
    kiln_aligned_free(work);
    kiln_pool_free(pool);
    free(a); free(b); free(c1); free(c2); free(c3); free(c4);
}

/* Sizes around the blocked GEMM's edges (6-row panels, 16/32-column strips, K blocks of
 * 256, tiles of 96 rows) under each float-kernel path, with padded strides. */
static void test_gemm_edges(void) {
    static const char *const isas[] = {"portable", "avx2", NULL};
    size_t ns[] = {1, 15, 17, 32, 33, 70}, ks[] = {1, 255, 257, 600};
    for (int v = 0; v < 3; v++) {
        if (isas[v]) setenv("KILN_FKERNELS", isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        size_t t = 0;
        for (size_t m = 1; m <= 13; m++)
            for (size_t ni = 0; ni < sizeof ns / sizeof ns[0]; ni++)
                for (size_t ki = 0; ki < sizeof ks / sizeof ks[0]; ki++, t++)
                    gemm_case(m, ns[ni], ks[ki], (int)(t & 1), (int)((t >> 1) & 1), t % 3 ? 1.0f : -0.75f,
                              t % 5 == 0 ? 0.0f : t % 5 == 1 ? 1.0f : 0.5f, (uint32_t)(1 + (t / 7) % 2));
        gemm_case(130, 70, 600, 0, 1, 1.0f, 0.0f, 2);
        gemm_case(101, 513, 300, 1, 0, 0.5f, 1.0f, 2);
        gemm_case(192, 64, 512, 1, 1, 1.0f, 0.25f, 1);
    }
    unsetenv("KILN_FKERNELS");
}

static void test_gemm_op(void) {
    /* Y = relu(0.5 * A^T B + 2 * C), A [K=5, M=3] (trans_a), B [5, 4], C [4] (row broadcast). */
    int64_t ad[2] = {5, 3}, bd[2] = {5, 4}, cd[1] = {4}, yd[2] = {3, 4};
    float a[15], b[20], c[4], want[12];
    test_fill(a, 15, 11); test_fill(b, 20, 12); test_fill(c, 4, 13);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 4; j++) {
            float s = 0;
            for (int p = 0; p < 5; p++) s += a[p * 3 + i] * b[p * 4 + j];
            float v = 0.5f * s + 2.0f * c[j];
            want[i * 4 + j] = v < 0 ? 0 : v;
        }
    pb *pl = pb_new();
    uint32_t ta = pb_input(pl, "a", KILN_F32, 2, ad), tb = pb_constant(pl, KILN_F32, 2, bd, b);
    uint32_t tc = pb_constant(pl, KILN_F32, 1, cd, c), ty = pb_output(pl, "y", KILN_F32, 2, yd);
    attr_buf at = {0};
    ab_i32(&at, 1); ab_i32(&at, 0); ab_f32(&at, 0.5f); ab_f32(&at, 2.0f);
    ab_i32(&at, KILN_UNARY_RELU); ab_f32(&at, 0); ab_f32(&at, 0);
    uint32_t ins[3] = {ta, tb, tc};
    pb_instr(pl, KILN_OP_GEMM, at.data, at.size, 3, ins, 1, &ty);
    const void *inputs[1] = {a};
    float *wants[1] = {want};
    size_t counts[1] = {12};
    test_run_f32(pl, "gemm op", inputs, 1, wants, counts, 1e-5f, 1e-5f);
}

/* GEMM opcode with M = 1 (the AVX-512 matrix-vector path on such CPUs): Y = relu(0.75 *
 * A B + 1.5 * C) or without C, against a double-precision loop. */
static void gemm_row_case(int64_t n, int64_t k, int ta, int tb, int with_c, const char *isa) {
    int64_t ad[2] = {ta ? k : 1, ta ? 1 : k}, bd[2] = {tb ? n : k, tb ? k : n}, cd[1] = {n}, yd[2] = {1, n};
    float *a = malloc(sizeof(float) * (size_t)k), *b = malloc(sizeof(float) * (size_t)(n * k));
    float *c = malloc(sizeof(float) * (size_t)n), *want = malloc(sizeof(float) * (size_t)n);
    test_fill(a, (size_t)k, 21); test_fill(b, (size_t)(n * k), 22); test_fill(c, (size_t)n, 23);
    for (int64_t j = 0; j < n; j++) {
        double acc = 0;
        for (int64_t p = 0; p < k; p++) acc += (double)a[p] * b[tb ? j * k + p : p * n + j];
        double v = 0.75 * acc + (with_c ? 1.5 * c[j] : 0.0);
        want[j] = v < 0 ? 0.0f : (float)v;
    }
    pb *pl = pb_new();
    uint32_t tta = pb_input(pl, "a", KILN_F32, 2, ad), ttb = pb_constant(pl, KILN_F32, 2, bd, b);
    uint32_t ttc = with_c ? pb_constant(pl, KILN_F32, 1, cd, c) : 0xFFFFFFFFu, ty = pb_output(pl, "y", KILN_F32, 2, yd);
    attr_buf at = {0};
    ab_i32(&at, ta); ab_i32(&at, tb); ab_f32(&at, 0.75f); ab_f32(&at, with_c ? 1.5f : 0.0f);
    ab_i32(&at, KILN_UNARY_RELU); ab_f32(&at, 0); ab_f32(&at, 0);
    uint32_t ins[3] = {tta, ttb, ttc};
    pb_instr(pl, KILN_OP_GEMM, at.data, at.size, with_c ? 3 : 2, ins, 1, &ty);
    char what[96];
    snprintf(what, sizeof what, "[%s] gemm row n%lld k%lld ta=%d tb=%d c=%d", isa, (long long)n, (long long)k, ta, tb,
             with_c);
    const void *inputs[1] = {a};
    float *wants[1] = {want};
    size_t counts[1] = {(size_t)n};
    test_run_f32(pl, what, inputs, 1, wants, counts, 1e-4f, 1e-4f);
    free(a); free(b); free(c); free(want);
}

static void test_gemm_row_op(void) {
    static const char *const isas[] = {"portable", NULL};
    int64_t shapes[][2] = {{1, 1}, {1000, 1280}, {67, 33}, {5, 16}, {130, 7}, {3, 200}};
    for (int v = 0; v < 2; v++) {
        if (isas[v]) setenv("KILN_FKERNELS", isas[v], 1);
        else unsetenv("KILN_FKERNELS");
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int t = 0; t < 4; t++)
                gemm_row_case(shapes[s][0], shapes[s][1], t & 1, t >> 1, (int)((s + (size_t)t) % 2),
                              isas[v] ? isas[v] : "best");
    }
    unsetenv("KILN_FKERNELS");
}

/* matmul: a [2,1,3,4] x b [3,4,5] → [2,3,3,5] (broadcast batch), and x [2,3,4] x w [4,5] (folded). */
static void test_matmul_op(void) {
    {
        int64_t ad[4] = {2, 1, 3, 4}, bd[3] = {3, 4, 5}, yd[4] = {2, 3, 3, 5};
        float a[24], b[60], want[90];
        test_fill(a, 24, 21); test_fill(b, 60, 22);
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int r = 0; r < 3; r++)
                    for (int cc = 0; cc < 5; cc++) {
                        float s = 0;
                        for (int p = 0; p < 4; p++) s += a[i * 12 + r * 4 + p] * b[j * 20 + p * 5 + cc];
                        want[((i * 3 + j) * 3 + r) * 5 + cc] = s;
                    }
        pb *pl = pb_new();
        uint32_t ta = pb_input(pl, "a", KILN_F32, 4, ad), tb = pb_input(pl, "b", KILN_F32, 3, bd);
        uint32_t ty = pb_output(pl, "y", KILN_F32, 4, yd);
        attr_buf at = {0};
        ab_i32(&at, 0); ab_i32(&at, 0); ab_i32(&at, 0); ab_f32(&at, 0); ab_f32(&at, 0);
        uint32_t ins[2] = {ta, tb};
        pb_instr(pl, KILN_OP_MATMUL, at.data, at.size, 2, ins, 1, &ty);
        const void *inputs[2] = {a, b};
        float *wants[1] = {want};
        size_t counts[1] = {90};
        test_run_f32(pl, "matmul broadcast batch", inputs, 1, wants, counts, 1e-5f, 1e-5f);
    }
    {
        int64_t xd[3] = {2, 3, 4}, wd[2] = {5, 4}, yd[3] = {2, 3, 5};
        float x[24], w[20], want[30];
        test_fill(x, 24, 31); test_fill(w, 20, 32);
        for (int r = 0; r < 6; r++)
            for (int cc = 0; cc < 5; cc++) {
                float s = 0;
                for (int p = 0; p < 4; p++) s += x[r * 4 + p] * w[cc * 4 + p];
                want[r * 5 + cc] = s;
            }
        pb *pl = pb_new();
        uint32_t tx = pb_input(pl, "x", KILN_F32, 3, xd), tw = pb_constant(pl, KILN_F32, 2, wd, w);
        uint32_t ty = pb_output(pl, "y", KILN_F32, 3, yd);
        attr_buf at = {0};
        ab_i32(&at, 0); ab_i32(&at, 1); ab_i32(&at, 0); ab_f32(&at, 0); ab_f32(&at, 0);
        uint32_t ins[2] = {tx, tw};
        pb_instr(pl, KILN_OP_MATMUL, at.data, at.size, 2, ins, 1, &ty);
        const void *inputs[1] = {x};
        float *wants[1] = {want};
        size_t counts[1] = {30};
        test_run_f32(pl, "matmul folded batch, trans_b", inputs, 1, wants, counts, 1e-5f, 1e-5f);
    }
    {   /* rank-1 operands: v [4] x m [4,3] → [3] */
        int64_t vd[1] = {4}, md[2] = {4, 3}, yd[1] = {3};
        float v[4], m[12], want[3];
        test_fill(v, 4, 41); test_fill(m, 12, 42);
        for (int cc = 0; cc < 3; cc++) { want[cc] = 0; for (int p = 0; p < 4; p++) want[cc] += v[p] * m[p * 3 + cc]; }
        pb *pl = pb_new();
        uint32_t tv = pb_input(pl, "v", KILN_F32, 1, vd), tm = pb_input(pl, "m", KILN_F32, 2, md);
        uint32_t ty = pb_output(pl, "y", KILN_F32, 1, yd);
        attr_buf at = {0};
        ab_i32(&at, 0); ab_i32(&at, 0); ab_i32(&at, 0); ab_f32(&at, 0); ab_f32(&at, 0);
        uint32_t ins[2] = {tv, tm};
        pb_instr(pl, KILN_OP_MATMUL, at.data, at.size, 2, ins, 1, &ty);
        const void *inputs[2] = {v, m};
        float *wants[1] = {want};
        size_t counts[1] = {3};
        test_run_f32(pl, "matmul rank-1", inputs, 1, wants, counts, 1e-5f, 1e-5f);
    }
}

void test_gemm(void) {
    size_t shapes[][3] = {{1, 1, 1}, {1, 17, 5}, {7, 1, 3}, {13, 29, 31}, {6, 16, 256}, {97, 300, 257},
                          {5, 7, 0}, {64, 200, 9}, {200, 3, 300}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta <= 1; ta++)
            for (int tb = 0; tb <= 1; tb++)
                gemm_case(shapes[s][0], shapes[s][1], shapes[s][2], ta, tb, s % 2 ? 0.5f : 1.0f, s % 3 ? 0.0f : 1.5f,
                          (uint32_t)(1 + s % 2));
    test_gemm_edges();
    test_gemm_op();
    test_gemm_row_op();
    test_matmul_op();
}
