/* bench_sparse.c — SPARSE_GEMM vs GEMM (kiln_sgemm: Kiln's blocked GEMM on x86 with
 * AVX2/AVX-512, else OpenBLAS or the portable GEMM; KILN_FKERNELS=portable measures the
 * fallback) through one-instruction plans, over weight sparsity 0..95% for FC shapes (MLP,
 * transformer projections / FFN, a large FC) and batch rows M. Per point: the median of 9
 * samples, each the mean of enough runs to last >= 2 ms, dense and sparse samples
 * alternating; KILN_BENCH_CPU=1 measures thread CPU time (1 thread, busy machines). Prints the sparse/dense time
 * ratio per sparsity and the break-even sparsity (the lowest measured one from which
 * sparse stays faster). Not a test: `make build/bench-sparse && build/bench-sparse
 * [threads] [M list, e.g. 1,4,16]`. The compiler's threshold (Lowering+Linear.swift,
 * `SparseChoice`) comes from this table. */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "../src/internal.h"

#include <time.h>

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

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* A session running Y[M,N] = A[M,K] · W[K,N] + bias as GEMM or SPARSE_GEMM. */
typedef struct bench_op { kiln_plan *plan; kiln_session *session; uint8_t *bytes; int reps; } bench_op;

static bench_op make_op(uint16_t op, uint32_t threads, int64_t m, int64_t k, int64_t n, const float *x, const float *w,
                        const float *bias) {
    int64_t ad[2] = {m, k}, wd[2] = {k, n}, bd[1] = {n}, yd[2] = {m, n};
    pb *p = pb_new();
    uint32_t ins[3] = {pb_input(p, "a", KILN_F32, 2, ad), pb_constant(p, KILN_F32, 2, wd, w),
                       pb_constant(p, KILN_F32, 1, bd, bias)};
    uint32_t ty = pb_output(p, "y", KILN_F32, 2, yd);
    attr_buf a = {0};
    if (op == KILN_OP_GEMM) ab_i32(&a, 0);
    ab_i32(&a, 0); ab_f32(&a, 1); ab_f32(&a, 1);
    ab_i32(&a, 0); ab_f32(&a, 0); ab_f32(&a, 0);
    pb_instr(p, op, a.data, a.size, 3, ins, 1, &ty);
    size_t size;
    bench_op b = {0};
    b.bytes = pb_finish(p, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(p);
    kiln_error e;
    if (kiln_plan_load_memory(b.bytes, size, &b.plan, &e) || kiln_session_create(b.plan, threads, &b.session, &e)) {
        printf("%s\n", e.message);
        exit(1);
    }
    kiln_session_set_input(b.session, 0, x, sizeof(float) * (size_t)(m * k));
    kiln_session_run(b.session);
    b.reps = 1;
    for (double t0 = now(); now() - t0 < 0.002; b.reps *= 2)
        for (int r = 0; r < b.reps; r++) kiln_session_run(b.session);
    return b;
}

static double sample(const bench_op *b) {
    double t0 = now();
    for (int r = 0; r < b->reps; r++) kiln_session_run(b->session);
    return (now() - t0) / b->reps;
}

static void free_op(bench_op *b) { kiln_session_free(b->session); kiln_plan_free(b->plan); free(b->bytes); }

/* Median seconds per run of each, samples alternating so load changes hit both alike. */
static void time_pair(bench_op *d, bench_op *s, double *td, double *ts) {
    double a[9], b[9];
    for (int i = 0; i < 9; i++) { a[i] = sample(d); b[i] = sample(s); }
    qsort(a, 9, sizeof(double), cmp_double);
    qsort(b, 9, sizeof(double), cmp_double);
    *td = a[4];
    *ts = b[4];
}

int main(int argc, char **argv) {
    uint32_t threads = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
    int64_t ms[8] = {1, 4, 16, 64};
    int nm = 4;
    if (argc > 2) {
        nm = 0;
        for (char *s = argv[2]; *s && nm < 8; s++) {
            ms[nm++] = strtoll(s, &s, 10);
            if (!*s) break;
        }
    }
    static const int64_t shapes[][2] = {{784, 128}, {128, 64}, {64, 64}, {64, 256}, {256, 64}, {768, 3072},
                                        {1024, 1024}};
    static const int zeros[] = {0, 30, 50, 60, 70, 80, 90, 95};
    const int nz = (int)(sizeof zeros / sizeof zeros[0]);
    printf("threads %u; cells: sparse/dense time (<1: sparse faster); dense us at 0%%\n", threads);
    printf("%-14s %4s %9s", "K x N", "M", "dense us");
    for (int z = 0; z < nz; z++) printf(" %5d%%", zeros[z]);
    printf("  break-even\n");
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int mi = 0; mi < nm; mi++) {
            int64_t k = shapes[s][0], n = shapes[s][1], m = ms[mi];
            float *w = malloc(sizeof(float) * (size_t)(k * n)), *x = malloc(sizeof(float) * (size_t)(m * k));
            float *b = malloc(sizeof(float) * (size_t)n), *wz = malloc(sizeof(float) * (size_t)(k * n));
            test_fill(w, (size_t)(k * n), 1); test_fill(x, (size_t)(m * k), 2); test_fill(b, (size_t)n, 3);
            bench_op dop = make_op(KILN_OP_GEMM, threads, m, k, n, x, w, b);
            double ratio[16], dense0 = 0;
            int even = -1;
            for (int z = 0; z < nz; z++) {
                /* zero the elements with a pseudo-random rank below the fraction (magnitude
                 * pruning of uniform weights zeroes a uniform random subset). */
                uint32_t st = 7;
                for (int64_t i = 0; i < k * n; i++) {
                    float r = (test_rand(&st) + 1.0f) * 50.0f;
                    wz[i] = r < (float)zeros[z] ? 0.0f : w[i];
                }
                bench_op sop = make_op(KILN_OP_SPARSE_GEMM, threads, m, k, n, x, wz, b);
                double td, ts;
                time_pair(&dop, &sop, &td, &ts);
                free_op(&sop);
                ratio[z] = ts / td;
                if (z == 0) {
                    dense0 = td;
                    printf("%5lld x %-6lld %4lld %9.2f", (long long)k, (long long)n, (long long)m, dense0 * 1e6);
                }
                printf(" %6.2f", ratio[z]);
                fflush(stdout);
            }
            free_op(&dop);
            for (int z = nz - 1; z >= 0 && ratio[z] < 1.0; z--) even = zeros[z];
            if (even >= 0) printf("  %d%%\n", even); else printf("  never\n");
            free(w); free(x); free(b); free(wz);
        }
    return 0;
}
