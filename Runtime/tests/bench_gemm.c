/* bench_gemm.c — GFLOP/s of the GEMM: portable C vs the build's kiln_sgemm (OpenBLAS when
 * built with it), square sizes, one thread (or argv[1] threads). Not a test: `make bench`. */
#define _POSIX_C_SOURCE 200809L
#include "../src/internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#ifdef KILN_USE_BLAS
#include <cblas.h>
#endif

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef void (*gemm_fn)(const kiln_exec *, int, int, size_t, size_t, size_t, float, const float *, size_t,
                        const float *, size_t, float, float *, size_t);

static double bench(gemm_fn fn, const kiln_exec *e, size_t m, size_t n, size_t k, const float *a, const float *b,
                    float *c) {
    fn(e, 0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now();
        fn(e, 0, 0, m, n, k, 1.0f, a, k, b, n, 0.0f, c, n);
        double t = now() - t0;
        if (t < best) best = t;
    }
    return 2.0 * (double)m * (double)n * (double)k / best * 1e-9;
}

int main(int argc, char **argv) {
    uint32_t threads = argc > 1 ? (uint32_t)atoi(argv[1]) : 1;
    kiln_pool *pool = NULL;
    if (kiln_pool_create(threads, &pool) != KILN_OK) return 1;
#ifdef KILN_USE_BLAS
    openblas_set_num_threads((int)threads);
#endif
    size_t ws = kiln_sgemm_workspace_floats();
    float *work = kiln_aligned_alloc(ws * sizeof(float) * threads);
    kiln_exec e = {NULL, pool, NULL, work, ws, threads};
    size_t sizes[][3] = {{512, 512, 512}, {64, 3136, 576}, {256, 196, 2304}, {1000, 1, 512}};
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        size_t m = sizes[s][0], n = sizes[s][1], k = sizes[s][2];
        float *a = malloc(m * k * 4), *b = malloc(k * n * 4), *c = malloc(m * n * 4);
        for (size_t i = 0; i < m * k; i++) a[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < k * n; i++) b[i] = (float)(i % 5) * 0.1f;
        double gp = bench(kiln_sgemm_portable, &e, m, n, k, a, b, c);
        double gb = bench(kiln_sgemm, &e, m, n, k, a, b, c);
        printf("M=%zu N=%zu K=%zu threads=%u: portable %.1f GFLOP/s, kiln_sgemm (%s) %.1f GFLOP/s\n", m, n, k,
               threads, gp, kiln_has_blas() ? "OpenBLAS" : "portable", gb);
        free(a); free(b); free(c);
    }
    kiln_aligned_free(work);
    kiln_pool_free(pool);
    return 0;
}
