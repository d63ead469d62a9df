#define _POSIX_C_SOURCE 200809L
/* test_threads.c — one plan shared by sessions on several threads (each also using its
 * own worker threads) gives the same results as a lone session; CRC-32 known answer. */
#include "test.h"

#include "../src/internal.h"

#include <pthread.h>

typedef struct worker { const kiln_plan *plan; const float *x; size_t xbytes; float *y; size_t ybytes; int ok; } worker;

static void *run_worker(void *arg) {
    worker *w = arg;
    kiln_session *s = NULL;
    kiln_error e;
    w->ok = kiln_session_create(w->plan, 2, &s, &e) == KILN_OK;
    for (int r = 0; r < 20 && w->ok; r++)
        w->ok = kiln_session_set_input(s, 0, w->x, w->xbytes) == KILN_OK && kiln_session_run(s) == KILN_OK &&
                kiln_session_copy_output(s, 0, w->y, w->ybytes) == KILN_OK;
    kiln_session_free(s);
    return NULL;
}

void test_threads(void) {
    CHECK(kiln_crc32((const uint8_t *)"123456789", 9) == 0xCBF43926u, "crc32 known answer");
    /* conv 3x3 (8 → 16 channels, 20x20) then global average pool */
    int64_t xd[4] = {1, 8, 20, 20}, wd[4] = {16, 8, 3, 3}, yd[4] = {1, 16, 20, 20}, cd[2] = {72, 400}, pd[4] = {1, 16, 1, 1};
    float *x = malloc(sizeof(float) * 3200), *w = malloc(sizeof(float) * 1152);
    test_fill(x, 3200, 7);
    test_fill(w, 1152, 8);
    pb *b = pb_new();
    uint32_t tx = pb_input(b, "x", KILN_F32, 4, xd), tw = pb_constant(b, KILN_F32, 4, wd, w);
    uint32_t ty = pb_arena(b, KILN_F32, 4, yd), tc = pb_arena(b, KILN_F32, 2, cd), tp = pb_output(b, "p", KILN_F32, 4, pd);
    attr_buf a = {0};
    int32_t v[11] = {3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    for (int i = 0; i < 11; i++) ab_i32(&a, v[i]);
    ab_i32(&a, KILN_UNARY_RELU); ab_f32(&a, 0); ab_f32(&a, 0);
    uint32_t ins[3] = {tx, tw, 0xFFFFFFFFu}, outs[2] = {ty, tc};
    pb_instr(b, KILN_OP_CONV2D, a.data, a.size, 3, ins, 2, outs);
    attr_buf r = {0};
    ab_i32(&r, KILN_REDUCE_MEAN); ab_i32(&r, 12);
    pb_instr(b, KILN_OP_REDUCE, r.data, r.size, 1, &ty, 1, &tp);
    size_t size;
    uint8_t *bytes = pb_finish(b, &size, 0, KILN_FORMAT_MAJOR, KILN_FORMAT_MINOR);
    pb_free(b);
    kiln_plan *plan = NULL;
    kiln_error e;
    CHECK(kiln_plan_load_memory(bytes, size, &plan, &e) == KILN_OK, "load: %s", e.message);
    float want[16], got[4][16];
    const void *in[1] = {x};
    void *out[1] = {want};
    char err[300];
    CHECK(test_run(bytes, size, 1, in, out, err, sizeof err) == KILN_OK, "reference run: %s", err);
    worker workers[4];
    pthread_t threads[4];
    for (int t = 0; t < 4; t++) {
        workers[t] = (worker){plan, x, sizeof(float) * 3200, got[t], sizeof got[t], 0};
        pthread_create(&threads[t], NULL, run_worker, &workers[t]);
    }
    for (int t = 0; t < 4; t++) {
        pthread_join(threads[t], NULL);
        CHECK(workers[t].ok, "worker %d ran", t);
        CHECK(memcmp(got[t], want, sizeof want) == 0, "worker %d matches the lone session", t);
    }
    kiln_plan_free(plan);
    free(bytes);
    free(x);
    free(w);
}
