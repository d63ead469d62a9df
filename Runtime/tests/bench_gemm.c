/* bench_gemm.c — GFLOP/s of kiln_sgemm under each path: OpenBLAS cblas_sgemm (when built
 * with it) or the portable C GEMM (KILN_FKERNELS=portable), and Kiln's blocked GEMM with
 * the AVX2 and the AVX-512 micro-kernels (KILN_FKERNELS=avx2 / unset), on FC / transformer
 * shapes, plain and with transposed B. One thread by default (or argv[1] threads); the
 * median of 9 samples, each the mean of enough calls to last >= 2 ms; KILN_BENCH_CPU=1
 * measures thread CPU time (busy machines, 1 thread). Not a test: `make bench`. */
#define _POSIX_C_SOURCE 200809L
#include "../src/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifdef KILN_USE_BLAS
#include <cblas.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(getenv("KILN_BENCH_CPU") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* GFLOP/s of kiln_sgemm with KILN_FKERNELS=path (NULL: unset). */
static double bench(const char *path, const kiln_exec *e, int tb, size_t m, size_t n, size_t k, const float *a,
                    const float *b, float *c) {
    if (path) setenv("KILN_FKERNELS", path, 1);
    else unsetenv("KILN_FKERNELS");
    size_t ldb = tb ? k : n;
    kiln_sgemm(e, 0, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
    int reps = 1;
    double t0 = now();
    kiln_sgemm(e, 0, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
    double one = now() - t0;
    if (one < 2e-3) reps = (int)(2e-3 / (one > 1e-7 ? one : 1e-7)) + 1;
    double samples[9];
    for (int s = 0; s < 9; s++) {
        t0 = now();
        for (int r = 0; r < reps; r++) kiln_sgemm(e, 0, tb, m, n, k, 1.0f, a, k, b, ldb, 0.0f, c, n);
        samples[s] = (now() - t0) / reps;
    }
    qsort(samples, 9, sizeof samples[0], cmp_double);
    return 2.0 * (double)m * (double)n * (double)k / samples[4] * 1e-9;
}

int main(int argc, char **argv) {
    uint32_t threads = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
    kiln_pool *pool = NULL;
    if (kiln_pool_create(threads, &pool) != KILN_OK) return 1;
#ifdef KILN_USE_BLAS
    openblas_set_num_threads(1);     /* as in a session: kiln_sgemm splits over its own pool */
#endif
    size_t ws = kiln_sgemm_workspace_floats();
    float *work = kiln_aligned_alloc(ws * sizeof(float) * threads);
    kiln_exec e = {NULL, pool, NULL, work, ws, threads};
    size_t sizes[][3] = {{64, 64, 64},   {64, 256, 128},  {256, 256, 256}, {512, 512, 512},
                         {64, 3072, 768}, {64, 768, 3072}, {64, 3136, 576}, {256, 196, 2304}};
    printf("threads=%u, GFLOP/s (median); fallback = %s\n", threads, kiln_has_blas() ? "OpenBLAS" : "portable C");
    printf("%-16s %3s %9s %9s %9s\n", "MxNxK", "tB", "fallback", "avx2", "avx512");
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int tb = 0; tb <= 1; tb++) {
            size_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
            float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *c = malloc(m * n * 4);
            for (size_t i = 0; i < m * k; i++) a[i] = (float)(i % 7) * 0.1f;
            for (size_t i = 0; i < k * n; i++) b[i] = (float)(i % 5) * 0.1f;
            double gf = bench("portable", &e, tb, m, n, k, a, b, c);
            double g2 = bench("avx2", &e, tb, m, n, k, a, b, c);
            double g5 = bench(NULL, &e, tb, m, n, k, a, b, c);
            char shape[32];
            snprintf(shape, sizeof shape, "%zux%zux%zu", m, n, k);
            printf("%-16s %3d %9.1f %9.1f %9.1f\n", shape, tb, gf, g2, g5);
            fflush(stdout);
            free(a); free(b); free(c);
        }
    unsetenv("KILN_FKERNELS");
    kiln_aligned_free(work);
    kiln_pool_free(pool);
    return 0;
}
