/* norm.c — normalization layers on f32:
 * BATCH_NORM (x [N,C,...], scale [C], shift [C]; attrs: fused activation, 12 bytes):
 *   y = act(x * scale[c] + shift[c]); the compiler folds mean/var/epsilon into scale/shift.
 * INSTANCE_NORM (x [N,C,...], scale [C], bias [C]; attrs: f32 epsilon):
 *   per (n, c) plane, y = scale * (x - mean) / sqrt(var + eps) + bias.
 * LAYER_NORM (x, scale, optional bias, each of the normalized size; attrs: i32 axis,
 *   f32 epsilon): statistics over axes axis..rank-1.
 * GROUP_NORM (x [N,C,...], scale [C], bias [C]; attrs: i32 groups, f32 epsilon):
 *   statistics per (n, group), then per-channel scale and bias.
 * Statistics use two passes in double (mean, then mean squared deviation). */
#include "common.h"

#include <math.h>

typedef struct norm_params {
    int64_t outer, groups, channels, inner; /* outer rows of [channels][inner]; row % groups picks scale */
    int per_channel;                        /* scale/bias indexed by (group, channel) vs by element */
    float eps;
    kiln_act act;
} norm_params;

/* ---- batch_norm ---- */

KILN_SMALL_CODE static kiln_status check_bn(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *s = kiln_operand(c, 1), *b = kiln_operand(c, 2), *y = kiln_result(c, 0);
    norm_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st = kiln_check_act(c, c->attr, &p->act);
    if (st || (st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, s, "scale", KILN_F32)) ||
        (st = kiln_require_dtype(c, b, "shift", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    if (x->rank < 2 || !kiln_same_dims(x, y)) return kiln_check_fail(c, "input must have rank >= 2 and match the result");
    p->channels = x->dims[1];
    if (s->count != (uint64_t)p->channels || b->count != (uint64_t)p->channels)
        return kiln_check_fail(c, "scale and shift need %lld elements", (long long)p->channels);
    p->outer = x->dims[0];
    p->inner = kiln_dims_product(x, 2, x->rank);
    return KILN_OK;
}

typedef struct norm_job { const norm_params *p; const float *x, *s, *b; float *y; } norm_job;

static void bn_planes(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const norm_job *j = ctx;
    const norm_params *p = j->p;
    (void)thread;
    for (size_t plane = begin; plane < end; plane++) {
        int64_t ch = (int64_t)plane % p->channels;
        const float *in = j->x + (int64_t)plane * p->inner;
        float *out = j->y + (int64_t)plane * p->inner;
        float sc = j->s[ch], sh = j->b[ch];
        /* In place, one pointer: clang's overlap check rejects two equal pointers. */
        if (in == out) for (int64_t i = 0; i < p->inner; i++) out[i] = out[i] * sc + sh;
        else for (int64_t i = 0; i < p->inner; i++) out[i] = in[i] * sc + sh;
        kiln_apply_act(&p->act, out, (size_t)p->inner);
    }
}

static void run_bn(const kiln_exec *e, const kiln_instr *ins) {
    const norm_params *p = ins->params;
    norm_job j = {p, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1), KILN_IN(e, ins, 2), KILN_OUT(e, ins, 0)};
    size_t planes = (size_t)(p->outer * p->channels);
    if (e->threads > 1 && p->outer * p->channels * p->inner >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, planes, bn_planes, &j);
    else bn_planes(&j, 0, planes, 0);
}

/* ---- instance / layer / group norm: one shared engine ---- */

KILN_SMALL_CODE static kiln_status check_stats_norm(kiln_check *c, int64_t outer, int64_t groups, int64_t channels, int64_t inner,
                                    int per_channel, float eps) {
    const kiln_tdesc *x = kiln_operand(c, 0), *s = kiln_operand(c, 1), *b = kiln_operand(c, 2), *y = kiln_result(c, 0);
    norm_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->outer = outer; p->groups = groups; p->channels = channels; p->inner = inner;
    p->per_channel = per_channel;
    p->eps = eps;
    if (!(eps >= 0.0f)) return kiln_check_fail(c, "epsilon must be >= 0");
    uint64_t want = per_channel ? (uint64_t)(groups * channels) : (uint64_t)(channels * inner);
    if (s->dtype != KILN_F32 || s->count != want || (b && (b->dtype != KILN_F32 || b->count != want)))
        return kiln_check_fail(c, "scale and bias need %llu f32 elements", (unsigned long long)want);
    if (!kiln_same_dims(x, y) || y->dtype != KILN_F32) return kiln_check_fail(c, "result must match the input");
    return KILN_OK;
}

static void stats_rows(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const norm_job *j = ctx;
    const norm_params *p = j->p;
    int64_t size = p->channels * p->inner;
    (void)thread;
    for (size_t row = begin; row < end; row++) {
        const float *in = j->x + (int64_t)row * size;
        float *out = j->y + (int64_t)row * size;
        double mean = 0, var = 0;
        for (int64_t i = 0; i < size; i++) mean += in[i];
        mean /= (double)(size ? size : 1);
        for (int64_t i = 0; i < size; i++) { double d = in[i] - mean; var += d * d; }
        var /= (double)(size ? size : 1);
        float m = (float)mean, inv = (float)(1.0 / sqrt(var + p->eps));
        int64_t g = (int64_t)row % p->groups;
        for (int64_t ch = 0; ch < p->channels; ch++) {
            const float *xi = in + ch * p->inner;
            float *yo = out + ch * p->inner;
            if (p->per_channel) {
                int64_t k = g * p->channels + ch;
                float sc = j->s[k] * inv, sh = (j->b ? j->b[k] : 0.0f) - m * sc;
                for (int64_t i = 0; i < p->inner; i++) yo[i] = xi[i] * sc + sh;
            } else {
                const float *sc = j->s + ch * p->inner, *sh = j->b ? j->b + ch * p->inner : NULL;
                for (int64_t i = 0; i < p->inner; i++) yo[i] = (xi[i] - m) * inv * sc[i] + (sh ? sh[i] : 0.0f);
            }
        }
    }
}

static void run_stats(const kiln_exec *e, const kiln_instr *ins) {
    const norm_params *p = ins->params;
    const float *b = ins->nin < 3 || ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2);
    norm_job j = {p, KILN_IN(e, ins, 0), KILN_IN(e, ins, 1), b, KILN_OUT(e, ins, 0)};
    size_t rows = (size_t)p->outer;
    if (e->threads > 1 && p->outer * p->channels * p->inner >= 2 * KILN_PARALLEL_GRAIN)
        kiln_parallel_for(e, rows, stats_rows, &j);
    else stats_rows(&j, 0, rows, 0);
}

static kiln_status need_inputs(kiln_check *c, int bias_required) {
    const kiln_tdesc *x = kiln_operand(c, 0);
    kiln_status st = kiln_require_dtype(c, x, "input", KILN_F32);
    if (st || (st = kiln_require_present(c, kiln_operand(c, 1), "scale"))) return st;
    if (bias_required) st = kiln_require_present(c, kiln_operand(c, 2), "bias");
    if (!st) st = kiln_require_present(c, kiln_result(c, 0), "result");
    return st;
}

KILN_SMALL_CODE static kiln_status check_instance(kiln_check *c) {
    kiln_status st = need_inputs(c, 1);
    if (st) return st;
    const kiln_tdesc *x = kiln_operand(c, 0);
    if (x->rank < 2) return kiln_check_fail(c, "input must have rank >= 2");
    return check_stats_norm(c, x->dims[0] * x->dims[1], x->dims[1], 1, kiln_dims_product(x, 2, x->rank), 1,
                            kiln_rdf32(c->attr));
}

KILN_SMALL_CODE static kiln_status check_layer(kiln_check *c) {
    kiln_status st = need_inputs(c, 0);
    if (st) return st;
    const kiln_tdesc *x = kiln_operand(c, 0);
    int32_t axis = kiln_norm_axis(kiln_rdi32(c->attr), x->rank);
    if (axis < 0) return kiln_check_fail(c, "axis is out of range");
    return check_stats_norm(c, kiln_dims_product(x, 0, (uint32_t)axis), 1, 1, kiln_dims_product(x, (uint32_t)axis, x->rank),
                            0, kiln_rdf32(c->attr + 4));
}

KILN_SMALL_CODE static kiln_status check_group(kiln_check *c) {
    kiln_status st = need_inputs(c, 1);
    if (st) return st;
    const kiln_tdesc *x = kiln_operand(c, 0);
    int64_t groups = kiln_rdi32(c->attr);
    if (x->rank < 2 || groups < 1 || x->dims[1] % groups) return kiln_check_fail(c, "channels must divide into groups");
    return check_stats_norm(c, x->dims[0] * groups, groups, x->dims[1] / groups, kiln_dims_product(x, 2, x->rank), 1,
                            kiln_rdf32(c->attr + 4));
}

/* ---- lrn ---- */

typedef struct lrn_params { int64_t n, c, inner, size; float alpha, beta, bias; } lrn_params;

KILN_SMALL_CODE static kiln_status check_lrn(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    lrn_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32))) return st;
    p->size = kiln_rdi32(c->attr);
    p->alpha = kiln_rdf32(c->attr + 4);
    p->beta = kiln_rdf32(c->attr + 8);
    p->bias = kiln_rdf32(c->attr + 12);
    if (p->size < 1 || x->rank < 2 || !kiln_same_dims(x, y)) return kiln_check_fail(c, "needs size >= 1 and rank >= 2");
    p->n = x->dims[0];
    p->c = x->dims[1];
    p->inner = kiln_dims_product(x, 2, x->rank);
    return KILN_OK;
}

static void run_lrn(const kiln_exec *e, const kiln_instr *ins) {
    const lrn_params *p = ins->params;
    const float *x = KILN_IN(e, ins, 0);
    float *y = KILN_OUT(e, ins, 0);
    int64_t lo = (p->size - 1) / 2, hi = p->size - 1 - lo;
    for (int64_t n = 0; n < p->n; n++)
        for (int64_t ch = 0; ch < p->c; ch++)
            for (int64_t i = 0; i < p->inner; i++) {
                double s = 0;
                for (int64_t k = ch - lo; k <= ch + hi; k++) {
                    if (k < 0 || k >= p->c) continue;
                    double v = x[(n * p->c + k) * p->inner + i];
                    s += v * v;
                }
                int64_t at = (n * p->c + ch) * p->inner + i;
                y[at] = (float)(x[at] / pow(p->bias + p->alpha / (double)p->size * s, p->beta));
            }
}

const kiln_kernel kiln_k_batch_norm = {KILN_OP_BATCH_NORM, "batch_norm", 12, 3, 3, 1, 1, 1, check_bn, run_bn, 0};
const kiln_kernel kiln_k_instance_norm = {KILN_OP_INSTANCE_NORM, "instance_norm", 4, 3, 3, 1, 1, 1, check_instance, run_stats, 0};
const kiln_kernel kiln_k_layer_norm = {KILN_OP_LAYER_NORM, "layer_norm", 8, 2, 3, 1, 1, 1, check_layer, run_stats, 0};
const kiln_kernel kiln_k_group_norm = {KILN_OP_GROUP_NORM, "group_norm", 8, 3, 3, 1, 1, 1, check_group, run_stats, 0};
const kiln_kernel kiln_k_lrn = {KILN_OP_LRN, "lrn", 16, 1, 1, 1, 1, 0, check_lrn, run_lrn, 0};
