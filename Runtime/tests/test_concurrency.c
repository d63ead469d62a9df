#define _POSIX_C_SOURCE 200809L
/* test_concurrency.c — one loaded plan shared by 8 sessions on 8 threads, 100 runs each,
 * every run with its own input: each result equals, bit for bit, what a lone session on
 * one thread computes for the same input. Done twice: sessions with 1 worker, then with
 * 2 workers each (compared with a lone 2-worker session).
 *
 * The plan: conv 3x3 (8 → 16 channels, 12x12, fused relu) → mean over H, W → gemm
 * [16 → 10] + bias → softmax, batch 2. */
#include "test.h"

#include <pthread.h>

enum { SESSIONS = 8, RUNS = 100, XN = 2 * 8 * 12 * 12, YN = 2 * 10 };

typedef struct job {
    const kiln_plan *plan;
    uint32_t threads, first;      /* input seeds first .. first + RUNS - 1 */
    const float *want;            /* [RUNS * SESSIONS][YN] reference outputs */
    int failed_run;               /* -1 = all matched */
    char error[256];
} job;

static uint8_t *build_plan(size_t *size) {
    int64_t xd[4] = {2, 8, 12, 12}, wd[4] = {16, 8, 3, 3}, hd[4] = {2, 16, 12, 12}, cd[2] = {72, 144};
    int64_t pd[2] = {2, 16}, gd[2] = {16, 10}, bd[1] = {10}, zd[2] = {2, 10}, yd[2] = {2, 10};
    float w[16 * 8 * 9], g[160], bias[10];
    test_fill(w, 16 * 8 * 9, 101);
    test_fill(g, 160, 102);
    test_fill(bias, 10, 103);
    pb *b = pb_new();
    uint32_t tx = pb_input(b, "x", KILN_F32, 4, xd), tw = pb_constant(b, KILN_F32, 4, wd, w);
    uint32_t th = pb_arena(b, KILN_F32, 4, hd), tc = pb_arena(b, KILN_F32, 2, cd), tp = pb_arena(b, KILN_F32, 2, pd);
    uint32_t tg = pb_constant(b, KILN_F32, 2, gd, g), tb = pb_constant(b, KILN_F32, 1, bd, bias);
    uint32_t tz = pb_arena(b, KILN_F32, 2, zd), ty = pb_output(b, "y", KILN_F32, 2, yd);
    attr_buf conv = {0};
    int32_t v[11] = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 11; i++) ab_i32(&conv, v[i]);
    ab_i32(&conv, KILN_UNARY_RELU); ab_f32(&conv, 0); ab_f32(&conv, 0);
    uint32_t cin[3] = {tx, tw, 0xFFFFFFFFu}, cout[2] = {th, tc};
    pb_instr(b, KILN_OP_CONV2D, conv.data, conv.size, 3, cin, 2, cout);
    attr_buf red = {0};
    ab_i32(&red, KILN_REDUCE_MEAN); ab_i32(&red, 12);
    pb_instr(b, KILN_OP_REDUCE, red.data, red.size, 1, &th, 1, &tp);
    attr_buf gemm = {0};
    ab_i32(&gemm, 0); ab_i32(&gemm, 0); ab_f32(&gemm, 1.0f); ab_f32(&gemm, 1.0f);
    ab_i32(&gemm, KILN_UNARY_IDENTITY); ab_f32(&gemm, 0); ab_f32(&gemm, 0);
    uint32_t gin[3] = {tp, tg, tb};
    pb_instr(b, KILN_OP_GEMM, gemm.data, gemm.size, 3, gin, 1, &tz);
    attr_buf soft = {0};
    ab_i32(&soft, 1); ab_i32(&soft, 0);
    pb_instr(b, KILN_OP_SOFTMAX, soft.data, soft.size, 1, &tz, 1, &ty);
    uint8_t *bytes = pb_finish(b, size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    return bytes;
}

/* Runs inputs seeded first .. first + count - 1 through one session; a result that
 * differs from want (when given) or a failing call stops it. Writes results to out (when given). */
static int run_series(const kiln_plan *plan, uint32_t threads, uint32_t first, uint32_t count, const float *want,
                      float *out, char *error, size_t error_size) {
    kiln_session *s = NULL;
    kiln_error e;
    if (kiln_session_create(plan, threads, &s, &e) != KILN_OK) {
        snprintf(error, error_size, "%s", e.message);
        return 0;
    }
    float x[XN], y[YN];
    for (uint32_t r = 0; r < count; r++) {
        test_fill(x, XN, 1000 + first + r);
        if (kiln_session_set_input(s, 0, x, sizeof x) != KILN_OK || kiln_session_run(s) != KILN_OK ||
            kiln_session_copy_output(s, 0, y, sizeof y) != KILN_OK) {
            snprintf(error, error_size, "run %u: %s", r, kiln_session_error(s));
            kiln_session_free(s);
            return 0;
        }
        if (out) memcpy(out + (size_t)r * YN, y, sizeof y);
        if (want && memcmp(y, want + (size_t)(first + r) * YN, sizeof y) != 0) {
            snprintf(error, error_size, "run %u (input %u) differs from the lone session", r, first + r);
            kiln_session_free(s);
            return 0;
        }
    }
    kiln_session_free(s);
    return 1;
}

static void *run_job(void *arg) {
    job *j = arg;
    j->failed_run = run_series(j->plan, j->threads, j->first, RUNS, j->want, NULL, j->error, sizeof j->error) ? -1 : 0;
    return NULL;
}

static void concurrent_case(const kiln_plan *plan, uint32_t threads) {
    float *want = malloc(sizeof(float) * YN * RUNS * SESSIONS);
    char err[256] = "";
    int ok = run_series(plan, threads, 0, RUNS * SESSIONS, NULL, want, err, sizeof err);
    CHECK(ok, "lone session (%u workers): %s", threads, err);
    /* The inputs really differ: a test where every run saw one input could not catch
     * sessions reading each other's arena. */
    CHECK(memcmp(want, want + YN, sizeof(float) * YN) != 0, "different inputs give different outputs");
    job jobs[SESSIONS];
    pthread_t tids[SESSIONS];
    int started[SESSIONS];
    for (uint32_t t = 0; t < SESSIONS && ok; t++) {
        jobs[t] = (job){plan, threads, t * RUNS, want, 0, ""};
        started[t] = pthread_create(&tids[t], NULL, run_job, &jobs[t]) == 0;
        CHECK(started[t], "pthread_create %u", t);
    }
    for (uint32_t t = 0; t < SESSIONS && ok; t++) {
        if (!started[t]) continue;
        pthread_join(tids[t], NULL);
        CHECK(jobs[t].failed_run == -1, "session %u (%u workers): %s", t, threads, jobs[t].error);
    }
    free(want);
}

void test_concurrency(void) {
    size_t size;
    uint8_t *bytes = build_plan(&size);
    kiln_plan *plan = NULL;
    kiln_error e;
    CHECK(kiln_plan_load_memory(bytes, size, &plan, &e) == KILN_OK, "load: %s", e.message);
    free(bytes); /* the plan keeps its own copy */
    if (plan) {
        concurrent_case(plan, 1);
        concurrent_case(plan, 2);
    }
    kiln_plan_free(plan);
}
