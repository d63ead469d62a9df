/* bench_plan.c — times a whole plan without Swift: `build/bench-plan PLAN [threads] [iterations]`.
 * Float inputs get small pseudo-random values, other dtypes zeros. Prints min and median
 * latency (KILN_BENCH_CPU=1: the thread's CPU time, for busy machines at 1 thread); with KILN_PROFILE=1 the session also prints its per-kernel profile. Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "kiln.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(getenv("KILN_BENCH_CPU") ? CLOCK_THREAD_CPUTIME_ID : CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench-plan PLAN [threads] [iterations]\n"); return 2; }
    uint32_t threads = argc > 2 ? (uint32_t)atoi(argv[2]) : 1;
    int iters = argc > 3 ? atoi(argv[3]) : 20;
    if (iters < 1) iters = 1;
    kiln_error err;
    kiln_plan *plan;
    kiln_session *s;
    if (kiln_plan_load_file(argv[1], &plan, &err) != KILN_OK) { fprintf(stderr, "%s\n", err.message); return 1; }
    if (kiln_session_create(plan, threads, &s, &err) != KILN_OK) { fprintf(stderr, "%s\n", err.message); return 1; }
    for (uint32_t i = 0; i < kiln_session_input_count(s); i++) {
        kiln_tensor_info info;
        kiln_session_input_info(s, i, &info);
        unsigned char *buf = calloc(info.byte_size ? info.byte_size : 1, 1);
        if (info.dtype == KILN_F32) {
            uint32_t st = 12345;
            for (uint64_t k = 0; k < info.byte_size / 4; k++) {
                st = st * 1664525u + 1013904223u;
                float v = (float)(st >> 8) / 8388608.0f - 1.0f;
                memcpy(buf + 4 * k, &v, 4);
            }
        }
        kiln_session_set_input(s, i, buf, info.byte_size);
        free(buf);
    }
    for (int i = 0; i < 3; i++) kiln_session_run(s);
    double *t = malloc(sizeof(double) * (size_t)iters);
    for (int i = 0; i < iters; i++) {
        double t0 = now_ms();
        kiln_session_run(s);
        t[i] = now_ms() - t0;
    }
    qsort(t, (size_t)iters, sizeof *t, cmp);
    printf("min %.4f ms  median %.4f ms\n", t[0], t[iters / 2]);
    free(t);
    kiln_session_free(s);
    kiln_plan_free(plan);
    return 0;
}
