/* scan.c — CUMSUM and TOPK along one axis.
 *
 * CUMSUM attributes (12 bytes): i32 axis, i32 exclusive, i32 reverse; f32, i32 or i64
 * (integers wrap). Algorithm: per (outer, inner) line a running sum in the requested
 * direction, written before (exclusive) or after (inclusive) adding each element.
 *
 * TOPK attributes (8 bytes): i32 axis, i32 largest; k is the results' axis dim. Input f32;
 * results: values f32 and indices i64, always sorted (largest first, or smallest first);
 * equal values keep the lower index first. Algorithm: per line, insertion into the
 * k-element result line (O(n*k)), which suits the small k models use. */
#include "common.h"

typedef struct line_params { int64_t outer, n, inner, k; int a, b; uint8_t dtype; } line_params;

static kiln_status line_setup(kiln_check *c, const kiln_tdesc *x, int32_t axis_attr, line_params **out) {
    line_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    int32_t axis = kiln_norm_axis(axis_attr, x->rank);
    if (axis < 0) return kiln_check_fail(c, "axis is out of range");
    p->outer = kiln_dims_product(x, 0, (uint32_t)axis);
    p->n = x->dims[axis];
    p->inner = kiln_dims_product(x, (uint32_t)axis + 1, x->rank);
    p->dtype = x->dtype;
    *out = p;
    return KILN_OK;
}

KILN_SMALL_CODE static kiln_status check_cumsum(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_present(c, y, "result"))) return st;
    if ((x->dtype != KILN_F32 && x->dtype != KILN_I32 && x->dtype != KILN_I64) || y->dtype != x->dtype || !kiln_same_dims(x, y))
        return kiln_check_fail(c, "needs f32, i32 or i64 and a result of the same type and shape");
    line_params *p;
    if ((st = line_setup(c, x, kiln_rdi32(c->attr), &p))) return st;
    p->a = kiln_rdi32(c->attr + 4) != 0;
    p->b = kiln_rdi32(c->attr + 8) != 0;
    return KILN_OK;
}

#define CUMSUM(T, ACC)                                                                      \
    {                                                                                       \
        const T *x = xv;                                                                    \
        T *y = yv;                                                                          \
        for (int64_t o = 0; o < p->outer; o++)                                              \
            for (int64_t i = 0; i < p->inner; i++) {                                        \
                ACC s = 0;                                                                  \
                for (int64_t t = 0; t < p->n; t++) {                                        \
                    int64_t k = p->b ? p->n - 1 - t : t, at = (o * p->n + k) * p->inner + i; \
                    T v = x[at];                                                            \
                    if (p->a) { y[at] = (T)s; s = (ACC)(s + (ACC)v); }                      \
                    else { s = (ACC)(s + (ACC)v); y[at] = (T)s; }                           \
                }                                                                           \
            }                                                                               \
    }

static void run_cumsum(const kiln_exec *e, const kiln_instr *ins) {
    const line_params *p = ins->params;
    const void *xv = KILN_IN(e, ins, 0);
    void *yv = KILN_OUT(e, ins, 0);
    if (p->dtype == KILN_F32) CUMSUM(float, double)
    else if (p->dtype == KILN_I32) CUMSUM(int32_t, uint32_t)
    else CUMSUM(int64_t, uint64_t)
}

KILN_SMALL_CODE static kiln_status check_topk(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *v = kiln_result(c, 0), *ix = kiln_result(c, 1);
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, v, "values", KILN_F32)) ||
        (st = kiln_require_dtype(c, ix, "indices", KILN_I64)))
        return st;
    line_params *p;
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if ((st = line_setup(c, x, axis, &p))) return st;
    p->a = kiln_rdi32(c->attr + 4) != 0;
    if (!kiln_same_dims(v, ix) || v->rank != x->rank) return kiln_check_fail(c, "values and indices must share a shape");
    p->k = v->dims[axis];
    for (uint32_t d = 0; d < x->rank; d++)
        if ((int32_t)d != axis && v->dims[d] != x->dims[d]) return kiln_check_fail(c, "result dims differ outside the axis");
    if (p->k > p->n) return kiln_check_fail(c, "k (%lld) exceeds the axis size (%lld)", (long long)p->k, (long long)p->n);
    return KILN_OK;
}

static void run_topk(const kiln_exec *e, const kiln_instr *ins) {
    const line_params *p = ins->params;
    const float *x = KILN_IN(e, ins, 0);
    float *vals = KILN_OUT(e, ins, 0);
    int64_t *idx = KILN_OUT(e, ins, 1);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            float *vl = vals + o * p->k * p->inner + i;
            int64_t *il = idx + o * p->k * p->inner + i, filled = 0;
            for (int64_t t = 0; t < p->n; t++) {
                float v = x[(o * p->n + t) * p->inner + i];
                /* position: after every kept element that is at least as good */
                int64_t pos = filled;
                while (pos > 0) {
                    float w = vl[(pos - 1) * p->inner];
                    int better = p->a ? (v > w || (v != v && w == w)) : (v < w || (v != v && w == w));
                    if (!better) break;
                    pos--;
                }
                if (pos >= p->k) continue;
                int64_t last = filled < p->k ? filled : p->k - 1;
                for (int64_t s = last; s > pos; s--) {
                    vl[s * p->inner] = vl[(s - 1) * p->inner];
                    il[s * p->inner] = il[(s - 1) * p->inner];
                }
                vl[pos * p->inner] = v;
                il[pos * p->inner] = t;
                if (filled < p->k) filled++;
            }
        }
}

const kiln_kernel kiln_k_cumsum = {KILN_OP_CUMSUM, "cumsum", 12, 1, 1, 1, 1, 0, check_cumsum, run_cumsum, 0};
const kiln_kernel kiln_k_topk = {KILN_OP_TOPK, "topk", 8, 1, 1, 2, 2, 0, check_topk, run_topk, 0};
