/* test_sparse.c — SPARSE_GEMM: the CSR row kernels (portable, SIMD, batched blocks)
 * against a double-precision dense reference on random sparsity patterns (all-zero
 * rows, empty and full matrices, odd sizes), the opcode through plans (batch 1..5,
 * trans_b, alpha/beta, C of N or 1 values, activation, rank-3 A; 1 and 2 threads),
 * and the loader's rejection of malformed instructions. */
#include "test.h"

#include "../src/kernels/sparse.h"

/* w [K, N] with zeros at rate `zero_pct` percent, and every column j with j % 7 == 3
 * (an all-zero CSR row) zero. */
static void sparse_fill(float *w, int64_t k, int64_t n, int zero_pct, uint32_t seed) {
    uint32_t s = seed;
    for (int64_t i = 0; i < k * n; i++) {
        float v = test_rand(&s);
        uint32_t r = (uint32_t)((test_rand(&s) + 1.0f) * 50.0f);
        w[i] = (int)r < zero_pct || (i % n) % 7 == 3 ? 0.0f : v;
    }
}

/* CSR of Bᵀ from w [K, N] into caller arrays. */
static kiln_csr csr_of(const float *w, int64_t k, int64_t n, int64_t *rowptr, int32_t *col, float *val) {
    int64_t t = 0;
    for (int64_t j = 0; j < n; j++) {
        rowptr[j] = t;
        for (int64_t i = 0; i < k; i++)
            if (w[i * n + j] != 0.0f) { col[t] = (int32_t)i; val[t] = w[i * n + j]; t++; }
    }
    rowptr[n] = t;
    return (kiln_csr){n, k, t, rowptr, col, val};
}

static void reference(const float *x, int64_t m, const float *w, int64_t k, int64_t n, float *y) {
    for (int64_t i = 0; i < m; i++)
        for (int64_t j = 0; j < n; j++) {
            double s = 0.0;
            for (int64_t p = 0; p < k; p++) s += (double)x[i * k + p] * w[p * n + j];
            y[i * n + j] = (float)s;
        }
}

static void kernel_case(int64_t k, int64_t n, int zero_pct) {
    float *w = malloc(sizeof(float) * (size_t)(k * n + 1)), *x = malloc(sizeof(float) * (size_t)(16 * k + 1));
    float *val = malloc(sizeof(float) * (size_t)(k * n + 1)), *want = malloc(sizeof(float) * (size_t)(16 * n + 1));
    float *got = malloc(sizeof(float) * (size_t)(16 * n + 1)), *simd = malloc(sizeof(float) * (size_t)(n + 1));
    float *xt = malloc(sizeof(float) * (size_t)(16 * k + 1));
    int32_t *col = malloc(sizeof(int32_t) * (size_t)(k * n + 1));
    int64_t *rowptr = malloc(sizeof(int64_t) * (size_t)(n + 1));
    sparse_fill(w, k, n, zero_pct, (uint32_t)(k * 131 + n + zero_pct));
    test_fill(x, (size_t)(16 * k), (uint32_t)(k + 7 * n));
    kiln_csr a = csr_of(w, k, n, rowptr, col, val);
    char what[96];
    snprintf(what, sizeof what, "csr K=%lld N=%lld zeros %d%%", (long long)k, (long long)n, zero_pct);
    reference(x, 16, w, k, n, want);
    kiln_csr_rows_portable(&a, x, got, 0, n);
    CHECK(test_compare(what, got, want, (size_t)n, 1e-5f, 1e-5f) == 0, "portable %s", what);
    if (kiln_csr_rows_simd(&a, x, simd, 0, n)) {
        CHECK(test_compare(what, simd, want, (size_t)n, 1e-5f, 1e-5f) == 0, "simd %s", what);
        CHECK(test_compare(what, simd, got, (size_t)n, 1e-5f, 2e-5f) == 0, "simd vs portable %s", what);
    }
    for (int rows = 1; rows <= 16; rows += rows < 5 ? 1 : 11) {
        int lanes = rows <= 8 ? 8 : 16;
        for (int64_t p = 0; p < k; p++)
            for (int i = 0; i < lanes; i++) xt[p * lanes + i] = i < rows ? x[i * k + p] : 0.0f;
        for (int simd_path = 0; simd_path < 2; simd_path++) {
            for (int64_t i = 0; i < 16 * n; i++) got[i] = -7.0f;
            if (!simd_path) kiln_csr_rows_block_portable(&a, xt, lanes, rows, got, n, 0, n);
            else if (!kiln_csr_rows_block_simd(&a, xt, lanes, rows, got, n, 0, n)) continue;
            CHECK(test_compare(what, got, want, (size_t)(rows * n), 1e-5f, 1e-5f) == 0, "block rows=%d simd=%d %s",
                  rows, simd_path, what);
            CHECK(rows == 16 || got[rows * n] == -7.0f, "block rows=%d simd=%d wrote past its rows (%s)", rows,
                  simd_path, what);
        }
    }
    free(w); free(x); free(val); free(want); free(got); free(simd); free(xt); free(col); free(rowptr);
}

/* One SPARSE_GEMM instruction: y = act(alpha · A · op(B) + beta · C) vs the reference. */
static void op_case(int64_t m, int64_t k, int64_t n, int trans_b, float alpha, float beta, int c_kind, int relu,
                    int zero_pct, int rank3) {
    float *w = malloc(sizeof(float) * (size_t)(k * n + 1)), *bt = malloc(sizeof(float) * (size_t)(k * n + 1));
    float *x = malloc(sizeof(float) * (size_t)(m * k + 1)), *y = malloc(sizeof(float) * (size_t)(m * n + 1));
    float c[512];
    sparse_fill(w, k, n, zero_pct, (uint32_t)(m + 3 * k + 5 * n));
    test_fill(x, (size_t)(m * k), (uint32_t)(m * 17 + k));
    test_fill(c, (size_t)n, 99);
    reference(x, m, w, k, n, y);
    for (int64_t i = 0; i < m * n; i++) {
        float v = alpha * y[i] + (c_kind ? beta * c[c_kind == 1 ? i % n : 0] : 0.0f);
        y[i] = relu && v < 0 ? 0.0f : v;
    }
    for (int64_t p = 0; p < k; p++)
        for (int64_t j = 0; j < n; j++) bt[j * k + p] = w[p * n + j];
    int64_t ad[3] = {1, m, k}, bd[2] = {trans_b ? n : k, trans_b ? k : n}, cd[2] = {1, c_kind == 1 ? n : 1};
    int64_t yd[3] = {1, m, n};
    uint32_t r = rank3 ? 3 : 2;
    tspec ins[3] = {{KILN_F32, r, ad + (rank3 ? 0 : 1), x, 0, 0}, {KILN_F32, 2, bd, trans_b ? bt : w, 1, 0},
                    {KILN_F32, c_kind == 1 ? 2 : 1, cd + (c_kind == 1 ? 0 : 1), c, 1, c_kind == 0}};
    tspec outs[1] = {{KILN_F32, r, yd + (rank3 ? 0 : 1), y, 0, 0}};
    attr_buf a = {0};
    ab_i32(&a, trans_b); ab_f32(&a, alpha); ab_f32(&a, beta);
    ab_i32(&a, relu ? KILN_UNARY_RELU : 0); ab_f32(&a, 0); ab_f32(&a, 0);
    char what[128];
    snprintf(what, sizeof what, "sparse_gemm M=%lld K=%lld N=%lld tb=%d zeros %d%% c=%d", (long long)m, (long long)k,
             (long long)n, trans_b, zero_pct, c_kind);
    test_op(what, KILN_OP_SPARSE_GEMM, a.data, a.size, 3, ins, 1, outs, 1e-4f, 1e-5f);
    free(w); free(bt); free(x); free(y);
}

/* A malformed instruction is a MALFORMED load error naming the problem. */
static void load_case(int variant, const char *msg) {
    int64_t ad[2] = {2, 5}, bd[2] = {5, 3}, bad_b[2] = {4, 3}, yd[2] = {2, 3}, bad_y[2] = {2, 4}, cd[1] = {2};
    float wdata[20] = {0, 1, 0, 2, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5, 0, 0, 0, 0, 0}, cdata[2] = {1, 2};
    pb *p = pb_new();
    uint32_t ta = pb_input(p, "a", KILN_F32, 2, ad);
    uint32_t tb = variant == 1 ? pb_input(p, "b", KILN_F32, 2, bd) : pb_constant(p, KILN_F32, 2, variant == 2 ? bad_b : bd, wdata);
    uint32_t tc = variant == 4 ? pb_constant(p, KILN_F32, 1, cd, cdata) : 0xFFFFFFFFu;
    uint32_t ty = pb_output(p, "y", KILN_F32, 2, variant == 3 ? bad_y : yd);
    attr_buf a = {0};
    ab_i32(&a, 0); ab_f32(&a, 1); ab_f32(&a, 1); ab_i32(&a, variant == 5 ? 999 : 0); ab_f32(&a, 0); ab_f32(&a, 0);
    uint32_t ins[3] = {ta, tb, tc};
    pb_instr(p, KILN_OP_SPARSE_GEMM, a.data, variant == 6 ? 20 : a.size, 3, ins, 1, &ty);
    size_t size;
    uint8_t *plan = pb_finish(p, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(p);
    kiln_plan *pl = NULL;
    kiln_error e;
    kiln_status st = kiln_plan_load_memory(plan, size, &pl, &e);
    CHECK(st == KILN_ERR_MALFORMED && strstr(e.message, msg), "sparse load variant %d: status %d, '%s' (want '%s')",
          variant, (int)st, st == KILN_OK ? "" : e.message, msg);
    kiln_plan_free(pl);
    free(plan);
}

void test_sparse(void) {
    static const int64_t shapes[][2] = {{1, 1}, {5, 3}, {17, 33}, {64, 64}, {131, 70}, {784, 128}};
    static const int zeros[] = {0, 50, 80, 95, 100};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (size_t z = 0; z < sizeof zeros / sizeof zeros[0]; z++) kernel_case(shapes[s][0], shapes[s][1], zeros[z]);
    for (int64_t m = 1; m <= 5; m++) {
        op_case(m, 37, 21, 0, 1.0f, 1.0f, 1, 0, 80, 0);
        op_case(m, 37, 21, 1, 0.5f, 2.0f, 2, 1, 60, m == 3);
    }
    op_case(1, 300, 257, 0, 1.0f, 1.0f, 1, 1, 50, 0);      /* 2 threads split the columns */
    op_case(1, 300, 257, 1, 1.0f, 1.0f, 0, 0, 90, 0);
    op_case(16, 64, 64, 0, 1.0f, 1.0f, 1, 0, 80, 1);      /* one full 16-row block */
    op_case(35, 64, 256, 1, 1.0f, 0.0f, 1, 1, 80, 1);     /* 16 + 16 + 3 rows, beta 0 */
    op_case(4, 9, 6, 0, 1.0f, 1.0f, 0, 0, 100, 0);        /* all-zero B */
    load_case(1, "B must be a constant");
    load_case(2, "inner dimensions differ (5 vs 4)");
    load_case(3, "result's last dim is not N = 3");
    load_case(4, "C must hold N = 3 values or one");
    load_case(5, "unknown fused activation 999");
    load_case(6, "attribute block is 20 bytes, expected 24");
}
