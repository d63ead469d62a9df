/* reduce.c — REDUCE over a set of axes and ARG_REDUCE (argmax/argmin) along one axis.
 *
 * REDUCE attributes (8 bytes): i32 kind (kiln_reduce_kind), u32 axes mask (bit d set =
 * input axis d reduced; never 0). keepdims is carried by the result shape (reduced axes
 * either kept as 1 or removed). f32 only.
 * Algorithm: adjacent axes of the same class (kept / reduced) are merged; each output
 * element walks its reduced positions with an odometer, accumulating in double
 * (log_sum_exp takes a max pass first). Sum and mean over one contiguous run use eight
 * partial sums instead (sum_run). Output elements are split over threads.
 *
 * ARG_REDUCE attributes (12 bytes): i32 axis, i32 is_max, i32 select_last_index. Input
 * f32 / i32 / i64, result i64 (the axis kept as 1 or removed). NaN never wins. */
#include "common.h"

#include <math.h>

typedef struct reduce_params {
    int32_t kind;
    uint32_t nk, nr;                                    /* kept / reduced axis counts */
    int64_t kdims[KILN_MAX_RANK], kstr[KILN_MAX_RANK];  /* kept axes: dims, input strides */
    int64_t rdims[KILN_MAX_RANK], rstr[KILN_MAX_RANK];
    int64_t out_count, red_count;
} reduce_params;

KILN_SMALL_CODE static kiln_status check_reduce(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    reduce_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32))) return st;
    p->kind = kiln_rdi32(c->attr);
    uint32_t mask = kiln_rd32(c->attr + 4);
    if (p->kind < KILN_REDUCE_SUM || p->kind > KILN_REDUCE_LOG_SUM_EXP) return kiln_check_fail(c, "unknown reduce kind %d", (int)p->kind);
    if (mask == 0 || (x->rank < 32 && (mask >> x->rank) != 0)) return kiln_check_fail(c, "axes mask 0x%x is invalid for rank %u", mask, x->rank);
    /* The result: either rank r with reduced dims 1, or the kept dims only. */
    uint32_t kept = 0;
    int keep_ok = y->rank == x->rank, drop_ok = 1;
    for (uint32_t d = 0; d < x->rank; d++) {
        int red = (mask >> d) & 1u;
        if (keep_ok && y->dims[d] != (red ? 1 : x->dims[d])) keep_ok = 0;
        if (!red) {
            if (kept >= y->rank || y->dims[kept] != x->dims[d]) drop_ok = 0;
            kept++;
        }
    }
    if (kept != y->rank) drop_ok = 0;
    if (!keep_ok && !drop_ok) return kiln_check_fail(c, "result shape does not match the reduction");
    int64_t xs[KILN_MAX_RANK];
    kiln_dense_strides(x, xs);
    p->out_count = 1;
    p->red_count = 1;
    for (uint32_t d = 0; d < x->rank; d++) {
        int red = (mask >> d) & 1u;
        int64_t *dims = red ? p->rdims : p->kdims, *str = red ? p->rstr : p->kstr;
        uint32_t *n = red ? &p->nr : &p->nk;
        if (red) p->red_count *= x->dims[d]; else p->out_count *= x->dims[d];
        if (x->dims[d] == 1) continue;
        if (*n > 0 && str[*n - 1] == xs[d] * x->dims[d]) { dims[*n - 1] *= x->dims[d]; str[*n - 1] = xs[d]; continue; }
        dims[*n] = x->dims[d];
        str[*n] = xs[d];
        (*n)++;
    }
    return KILN_OK;
}

typedef struct reduce_job { const reduce_params *p; const float *x; float *y; } reduce_job;

/* Visits every reduced position from `base`; op 0 sum-like, 1 max, 2 min, 3 prod. */
#define WALK(BODY)                                                                           \
    {                                                                                        \
        int64_t idx[KILN_MAX_RANK] = {0}, off = base;                                        \
        uint32_t nr = p->nr;                                                                 \
        if (nr == 0 || p->red_count == 0) {                                                  \
            if (p->red_count) { double v = x[off]; BODY; }                                   \
        } else {                                                                             \
            int64_t n = p->rdims[nr - 1], st = p->rstr[nr - 1];                              \
            for (;;) {                                                                       \
                for (int64_t i = 0; i < n; i++) { double v = x[off + i * st]; BODY; }       \
                int d = (int)nr - 2;                                                         \
                while (d >= 0) {                                                             \
                    idx[d]++; off += p->rstr[d];                                             \
                    if (idx[d] < p->rdims[d]) break;                                         \
                    off -= p->rstr[d] * p->rdims[d]; idx[d] = 0; d--;                        \
                }                                                                            \
                if (d < 0) break;                                                            \
            }                                                                                \
        }                                                                                    \
    }

/* Sum of n contiguous floats in double: eight independent partial sums (the compiler keeps
 * them in vector lanes; one serial double chain costs an add latency per element, which
 * made a GlobalAveragePool cost ten times its memory traffic). */
static double sum_run(const float *x, int64_t n) {
    double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) part[l] += (double)x[i + l];
    double acc = ((part[0] + part[4]) + (part[1] + part[5])) + ((part[2] + part[6]) + (part[3] + part[7]));
    for (; i < n; i++) acc += (double)x[i];
    return acc;
}

static double reduce_one(const reduce_params *p, const float *x, int64_t base) {
    double acc;
    /* Sum and mean over one contiguous run (GlobalAveragePool, mean over the last axis). */
    if ((p->kind == KILN_REDUCE_SUM || p->kind == KILN_REDUCE_MEAN) && p->nr == 1 && p->rstr[0] == 1) {
        acc = sum_run(x + base, p->rdims[0]);
        return p->kind == KILN_REDUCE_MEAN ? acc / (double)p->red_count : acc;
    }
    switch (p->kind) {
    case KILN_REDUCE_MAX: acc = -INFINITY; WALK(if (v > acc || v != v) acc = v) return acc;
    case KILN_REDUCE_MIN: acc = INFINITY; WALK(if (v < acc || v != v) acc = v) return acc;
    case KILN_REDUCE_PROD: acc = 1; WALK(acc *= v) return acc;
    case KILN_REDUCE_L1: acc = 0; WALK(acc += fabs(v)) return acc;
    case KILN_REDUCE_L2: acc = 0; WALK(acc += v * v) return sqrt(acc);
    case KILN_REDUCE_SUM_SQUARE: acc = 0; WALK(acc += v * v) return acc;
    case KILN_REDUCE_LOG_SUM: acc = 0; WALK(acc += v) return log(acc);
    case KILN_REDUCE_LOG_SUM_EXP: {
        double m = -INFINITY;
        WALK(if (v > m) m = v)
        if (isinf(m)) return m;
        acc = 0;
        WALK(acc += exp(v - m))
        return m + log(acc);
    }
    case KILN_REDUCE_MEAN: acc = 0; WALK(acc += v) return p->red_count ? acc / (double)p->red_count : NAN;
    default: acc = 0; WALK(acc += v) return acc;
    }
}

static void reduce_range(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const reduce_job *j = ctx;
    const reduce_params *p = j->p;
    (void)thread;
    for (size_t o = begin; o < end; o++) {
        int64_t rem = (int64_t)o, base = 0;
        for (int d = (int)p->nk - 1; d >= 0; d--) { base += (rem % p->kdims[d]) * p->kstr[d]; rem /= p->kdims[d]; }
        j->y[o] = (float)reduce_one(p, j->x, base);
    }
}

static void run_reduce(const kiln_exec *e, const kiln_instr *ins) {
    const reduce_params *p = ins->params;
    reduce_job j = {p, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && p->out_count > 1 && p->out_count * p->red_count >= 2 * KILN_PARALLEL_GRAIN)
        kiln_parallel_for(e, (size_t)p->out_count, reduce_range, &j);
    else reduce_range(&j, 0, (size_t)p->out_count, 0);
}

/* ---- arg_reduce ---- */

typedef struct arg_params { int64_t outer, n, inner; int is_max, last; uint8_t dtype; } arg_params;

KILN_SMALL_CODE static kiln_status check_arg(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    arg_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_dtype(c, y, "result", KILN_I64))) return st;
    if (x->dtype != KILN_F32 && x->dtype != KILN_I32 && x->dtype != KILN_I64) return kiln_check_fail(c, "input must be f32, i32 or i64");
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if (axis < 0) return kiln_check_fail(c, "axis is out of range");
    p->is_max = kiln_rdi32(c->attr + 4) != 0;
    p->last = kiln_rdi32(c->attr + 8) != 0;
    p->dtype = x->dtype;
    p->outer = kiln_dims_product(x, 0, (uint32_t)axis);
    p->n = x->dims[axis];
    p->inner = kiln_dims_product(x, (uint32_t)axis + 1, x->rank);
    if (y->count != (uint64_t)(p->outer * p->inner) || p->n == 0) return kiln_check_fail(c, "result shape does not match");
    return KILN_OK;
}

static double load_num(const void *x, uint8_t t, int64_t i) {
    if (t == KILN_F32) return ((const float *)x)[i];
    if (t == KILN_I32) return ((const int32_t *)x)[i];
    return (double)((const int64_t *)x)[i];
}

static void run_arg(const kiln_exec *e, const kiln_instr *ins) {
    const arg_params *p = ins->params;
    const void *x = KILN_IN(e, ins, 0);
    int64_t *y = KILN_OUT(e, ins, 0);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->inner; i++) {
            int64_t best = 0;
            double bv = load_num(x, p->dtype, o * p->n * p->inner + i);
            for (int64_t k = 1; k < p->n; k++) {
                double v = load_num(x, p->dtype, (o * p->n + k) * p->inner + i);
                int better = p->is_max ? (v > bv || (p->last && v == bv)) : (v < bv || (p->last && v == bv));
                if (better || bv != bv) { best = k; bv = v; }
            }
            y[o * p->inner + i] = best;
        }
}

const kiln_kernel kiln_k_reduce = {KILN_OP_REDUCE, "reduce", 8, 1, 1, 1, 1, 0, check_reduce, run_reduce, 0};
const kiln_kernel kiln_k_arg_reduce = {KILN_OP_ARG_REDUCE, "arg_reduce", 12, 1, 1, 1, 1, 0, check_arg, run_arg, 0};
