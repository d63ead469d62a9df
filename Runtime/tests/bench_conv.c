/* bench_conv.c — conv GFLOP/s through a plan, CONV2D (im2col + sgemm + epilogue) and
 * CONV2D_PACKED (Kiln's micro-kernel), next to the bare kiln_sgemm on the same M x N x K,
 * for ResNet-18 and MobileNetV2 layers; the packed and Winograd kernels also capped at AVX2
 * (KILN_FKERNELS=avx2) to show what AVX-512 gives. Not a test: `make bench`. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"

#include "../src/internal.h"

#include <time.h>

#ifdef KILN_USE_BLAS
#include <cblas.h>
#endif

int g_failures, g_checks;

static double now(void) {
    struct timespec ts;
    clock_gettime(getenv("KILN_BENCH_CPU") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

float test_rand(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}
void test_fill(float *x, size_t n, uint32_t seed) {
    uint32_t s = seed;
    for (size_t i = 0; i < n; i++) x[i] = test_rand(&s);
}
void ab_i32(attr_buf *a, int32_t v) { memcpy(a->data + a->size, &v, 4); a->size += 4; }
void ab_f32(attr_buf *a, float v) { memcpy(a->data + a->size, &v, 4); a->size += 4; }

/* Best time (of 12 or more runs) of one conv layer as a plan with opcode op (CONV2D or CONV2D_PACKED). */
static double time_conv(uint16_t op, uint32_t threads, int64_t c, int64_t h, int64_t m, int64_t k, int64_t s,
                        const float *x, const float *w, const float *b) {
    int64_t pad = k / 2, oh = (h + 2 * pad - k) / s + 1, kdim = c * k * k, ohw = oh * oh, panels = (m + 5) / 6;
    int64_t xd[4] = {1, c, h, h}, wd[4] = {m, c, k, k}, pd[3] = {panels, kdim, 6}, bd[1] = {m}, yd[4] = {1, m, oh, oh};
    int64_t cd[2] = {kdim, ohw};
    pb *p = pb_new();
    uint32_t tx = pb_input(p, "x", KILN_F32, 4, xd), tw;
    if (op == KILN_OP_CONV2D_PACKED) {
        float *packed = calloc((size_t)(panels * kdim * 6), sizeof(float));
        for (int64_t r = 0; r < m; r++)
            for (int64_t q = 0; q < kdim; q++) packed[((r / 6) * kdim + q) * 6 + r % 6] = w[r * kdim + q];
        tw = pb_constant(p, KILN_F32, 3, pd, packed);
        free(packed);
    } else {
        tw = pb_constant(p, KILN_F32, 4, wd, w);
    }
    uint32_t tb = pb_constant(p, KILN_F32, 1, bd, b);
    uint32_t ty = pb_output(p, "y", KILN_F32, 4, yd), outs[2] = {ty, 0};
    int scratch = op == KILN_OP_CONV2D && !(k == 1 && s == 1);
    if (scratch) outs[1] = pb_arena(p, KILN_F32, 2, cd);
    attr_buf a = {0};
    int32_t v[11] = {(int32_t)k, (int32_t)k, (int32_t)s, (int32_t)s, (int32_t)pad, (int32_t)pad, (int32_t)pad, (int32_t)pad, 1, 1, 1};
    for (int i = 0; i < 11; i++) ab_i32(&a, v[i]);
    ab_i32(&a, KILN_UNARY_RELU); ab_f32(&a, 0); ab_f32(&a, 0);
    uint32_t ins[3] = {tx, tw, tb};
    pb_instr(p, op, a.data, a.size, 3, ins, scratch ? 2 : 1, outs);
    size_t size;
    uint8_t *plan = pb_finish(p, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(p);
    kiln_plan *pl; kiln_session *ss; kiln_error e;
    if (kiln_plan_load_memory(plan, size, &pl, &e) || kiln_session_create(pl, threads, &ss, &e)) { printf("%s\n", e.message); exit(1); }
    kiln_session_set_input(ss, 0, x, sizeof(float) * (size_t)(c * h * h));
    double best = 1e30;
    /* Small layers: more runs, so the best is not one lucky or unlucky timer tick. */
    int runs = 12 + (int)(4e8 / (2.0 * (double)m * (double)ohw * (double)kdim + 1.0));
    if (runs > 2000) runs = 2000;
    for (int r = 0; r < runs; r++) { double t0 = now(); kiln_session_run(ss); double t = now() - t0; if (r && t < best) best = t; }
    kiln_session_free(ss); kiln_plan_free(pl); free(plan);
    return best;
}

int main(int argc, char **argv) {
    uint32_t threads = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
    /* c, h, m, k, stride: ResNet-18 layers, then MobileNetV2 1x1 layers */
    int64_t layers[][5] = {{3, 224, 64, 7, 2}, {64, 56, 64, 3, 1}, {128, 28, 128, 3, 1}, {256, 14, 256, 3, 1},
                           {512, 7, 512, 3, 1}, {64, 56, 128, 1, 2}, {256, 14, 512, 3, 2}, {32, 112, 16, 1, 1},
                           {16, 112, 96, 1, 1}, {144, 56, 24, 1, 1}, {24, 56, 144, 1, 1}, {192, 28, 32, 1, 1},
                           {384, 14, 64, 1, 1}, {576, 14, 96, 1, 1}, {960, 7, 160, 1, 1}, {160, 7, 960, 1, 1},
                           {320, 7, 1280, 1, 1}, {16, 32, 16, 3, 1}, {32, 16, 32, 3, 1}, {64, 16, 64, 3, 1},
                           {32, 32, 32, 3, 1}, {16, 16, 16, 3, 1}, {3, 32, 32, 3, 1}, {16, 16, 24, 3, 1},
                           {8, 16, 8, 5, 1}, {8, 16, 8, 3, 1}, {1, 28, 8, 5, 1}, {8, 14, 16, 3, 1},
                           {6, 14, 16, 5, 1}, {3, 32, 16, 3, 1}, {32, 16, 16, 1, 1}, {16, 32, 32, 1, 2},
                           {64, 32, 64, 3, 1}, {128, 16, 128, 3, 1}, {32, 64, 32, 3, 1}, {64, 24, 64, 3, 1}};
    int only = argc > 2 ? atoi(argv[2]) : -1;     /* `bench-conv THREADS LAYER`: one layer */
    for (size_t l = 0; l < sizeof layers / sizeof layers[0]; l++) {
        if (only >= 0 && (size_t)only != l) continue;
        int64_t c = layers[l][0], h = layers[l][1], m = layers[l][2], k = layers[l][3], s = layers[l][4], pad = k / 2;
        int64_t oh = (h + 2 * pad - k) / s + 1, kdim = c * k * k, ohw = oh * oh;
        float *x = malloc(sizeof(float) * (size_t)(c * h * h)), *w = malloc(sizeof(float) * (size_t)(m * kdim));
        float *b = malloc(sizeof(float) * (size_t)m);
        test_fill(x, (size_t)(c * h * h), 1); test_fill(w, (size_t)(m * kdim), 2); test_fill(b, (size_t)m, 3);
        double best = time_conv(KILN_OP_CONV2D, threads, c, h, m, k, s, x, w, b);
        double pbest = time_conv(KILN_OP_CONV2D_PACKED, threads, c, h, m, k, s, x, w, b);
        double wbest = k == 3 && s == 1 ? time_conv(KILN_OP_CONV2D_WINOGRAD, threads, c, h, m, k, s, x, w, b) : 0;
        /* The same kernels capped at AVX2 (isa.c), for the AVX-512 speedup. */
        setenv("KILN_FKERNELS", "avx2", 1);
        double pbest2 = time_conv(KILN_OP_CONV2D_PACKED, threads, c, h, m, k, s, x, w, b);
        double wbest2 = k == 3 && s == 1 ? time_conv(KILN_OP_CONV2D_WINOGRAD, threads, c, h, m, k, s, x, w, b) : 0;
        unsetenv("KILN_FKERNELS");
        double gbest = 1e30;
        /* bare GEMM of the same shape */
        float *col = malloc(sizeof(float) * (size_t)(kdim * ohw)), *y = malloc(sizeof(float) * (size_t)(m * ohw));
        test_fill(col, (size_t)(kdim * ohw), 4);
        size_t ws = kiln_sgemm_workspace_floats();
        float *work = kiln_aligned_alloc(ws * sizeof(float) * threads);
        kiln_pool *pool = NULL;
        kiln_pool_create(threads, &pool);
        kiln_exec ex = {NULL, pool, NULL, work, ws, threads};
        for (int r = 0; r < 12; r++) {
            double t0 = now();
            kiln_sgemm(&ex, 0, 0, (size_t)m, (size_t)ohw, (size_t)kdim, 1.0f, w, (size_t)kdim, col, (size_t)ohw, 0.0f, y, (size_t)ohw);
            double t = now() - t0;
            if (r && t < gbest) gbest = t;
        }
        double flops = 2.0 * (double)m * (double)ohw * (double)kdim;
        printf("c%-3lld %3lldx%-3lld -> m%-4lld k%lld s%lld: conv %6.1f | packed %6.1f (avx2 %6.1f) | sgemm %6.1f GFLOP/s",
               (long long)c, (long long)h, (long long)h, (long long)m, (long long)k, (long long)s, flops / best * 1e-9,
               flops / pbest * 1e-9, flops / pbest2 * 1e-9, flops / gbest * 1e-9);
        if (wbest > 0)
            printf(" | winograd %.0f (avx2 %.0f) effective GFLOP/s", flops / wbest * 1e-9, flops / wbest2 * 1e-9);
        printf("\n");
        kiln_pool_free(pool); kiln_aligned_free(work); free(col); free(y);
        free(x); free(w); free(b);
    }
    return 0;
}
