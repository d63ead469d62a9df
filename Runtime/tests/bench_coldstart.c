/* bench_coldstart.c — `build/bench-coldstart PLAN [repeats]`: the cold-start latency of a
 * plan in one process, as an application embedding the runtime sees it: map and validate
 * the plan, create a 1-thread session, bind zero-filled inputs and run once. Prints the
 * median over `repeats` (default 5) fresh loads, in milliseconds. Used by scripts/footprint.
 * Not a test. */
#define _POSIX_C_SOURCE 200809L
#include "kiln.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 2) { fprintf(stderr, "usage: bench-coldstart PLAN [repeats]\n"); return 2; }
    int repeats = argc > 2 ? atoi(argv[2]) : 5;
    if (repeats < 1 || repeats > 1000) repeats = 5;
    double t[1000];
    for (int r = 0; r < repeats; r++) {
        kiln_error err;
        kiln_plan *plan = NULL;
        kiln_session *s = NULL;
        double t0 = now_ms();
        if (kiln_plan_load_mmap(argv[1], &plan, &err) != KILN_OK || kiln_session_create(plan, 1, &s, &err) != KILN_OK) {
            fprintf(stderr, "%s\n", err.message);
            kiln_plan_free(plan);
            return 1;
        }
        for (uint32_t i = 0; i < kiln_session_input_count(s); i++) {
            kiln_tensor_info info;
            kiln_session_input_info(s, i, &info);
            void *buf = calloc(info.byte_size ? info.byte_size : 1, 1);
            kiln_session_set_input(s, i, buf, info.byte_size);
            free(buf);
        }
        kiln_status st = kiln_session_run(s);
        t[r] = now_ms() - t0;
        if (st != KILN_OK) { fprintf(stderr, "%s\n", kiln_session_error(s)); return 1; }
        kiln_session_free(s);
        kiln_plan_free(plan);
    }
    qsort(t, (size_t)repeats, sizeof *t, cmp);
    printf("%.3f\n", t[repeats / 2]);
    return 0;
}
