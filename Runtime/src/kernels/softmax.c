/* softmax.c — SOFTMAX / log-softmax along one axis of an f32 tensor.
 * Attributes (8 bytes): i32 axis (normalized), i32 log.
 * Algorithm: view the tensor as [outer, n, inner]. For each (outer, inner) line: m = max,
 * y = exp(x - m), s = sum y, then y /= s (or y = x - m - log s). When inner > 1 the lines
 * are processed inner-vectorized with per-thread workspace for m and s. */
#include "common.h"

#include <math.h>

typedef struct softmax_params { int64_t outer, n, inner; int log; } softmax_params;

KILN_SMALL_CODE static kiln_status check_softmax(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    softmax_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32))) return st;
    if (!kiln_same_dims(x, y) || x->rank < 1) return kiln_check_fail(c, "result must match the input (rank >= 1)");
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if (axis < 0) return kiln_check_fail(c, "axis is out of range");
    p->log = kiln_rdi32(c->attr + 4) != 0;
    p->outer = kiln_dims_product(x, 0, (uint32_t)axis);
    p->n = x->dims[axis];
    p->inner = kiln_dims_product(x, (uint32_t)axis + 1, x->rank);
    if (p->inner > 1) kiln_need_workspace(c, (size_t)(2 * p->inner));
    return KILN_OK;
}

typedef struct softmax_job { const softmax_params *p; const float *x; float *y; float *ws; size_t ws_floats; } softmax_job;

static void softmax_rows(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const softmax_job *j = ctx;
    const softmax_params *p = j->p;
    int64_t n = p->n, inner = p->inner;
    for (size_t o = begin; o < end; o++) {
        const float *x = j->x + (int64_t)o * n * inner;
        float *y = j->y + (int64_t)o * n * inner;
        if (inner == 1) {
            float m = -INFINITY;
            for (int64_t k = 0; k < n; k++) if (x[k] > m) m = x[k];
            double s = 0;
            for (int64_t k = 0; k < n; k++) { float v = expf(x[k] - m); s += v; if (!p->log) y[k] = v; }
            if (p->log) { float ls = (float)log(s); for (int64_t k = 0; k < n; k++) y[k] = x[k] - m - ls; }
            else { float inv = (float)(1.0 / s); for (int64_t k = 0; k < n; k++) y[k] *= inv; }
            continue;
        }
        float *m = j->ws + (size_t)thread * j->ws_floats, *s = m + inner;
        for (int64_t i = 0; i < inner; i++) { m[i] = -INFINITY; s[i] = 0.0f; }
        for (int64_t k = 0; k < n; k++)
            for (int64_t i = 0; i < inner; i++) if (x[k * inner + i] > m[i]) m[i] = x[k * inner + i];
        for (int64_t k = 0; k < n; k++)
            for (int64_t i = 0; i < inner; i++) {
                float v = expf(x[k * inner + i] - m[i]);
                s[i] += v;
                if (!p->log) y[k * inner + i] = v;
            }
        if (p->log) {
            for (int64_t i = 0; i < inner; i++) s[i] = m[i] + logf(s[i]);
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < inner; i++) y[k * inner + i] = x[k * inner + i] - s[i];
        } else {
            for (int64_t i = 0; i < inner; i++) s[i] = 1.0f / s[i];
            for (int64_t k = 0; k < n; k++)
                for (int64_t i = 0; i < inner; i++) y[k * inner + i] *= s[i];
        }
    }
}

static void run_softmax(const kiln_exec *e, const kiln_instr *ins) {
    const softmax_params *p = ins->params;
    softmax_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0), e->workspace, e->workspace_floats};
    if (e->threads > 1 && p->outer > 1 && p->outer * p->n * p->inner >= KILN_PARALLEL_GRAIN)
        kiln_parallel_for(e, (size_t)p->outer, softmax_rows, &j);
    else softmax_rows(&j, 0, (size_t)p->outer, 0);
}

const kiln_kernel kiln_k_softmax = {KILN_OP_SOFTMAX, "softmax", 8, 1, 1, 1, 1, 1, check_softmax, run_softmax, 0};
