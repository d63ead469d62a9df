/* dynq.c — dynamic int8: DYN_QGEMM (f32 activations quantized to u8 while running, constant
 * symmetric i8 weights, int32 accumulation, f32 result) and DYN_QPARAMS (the scale and zero
 * point of ONNX DynamicQuantizeLinear).
 *
 * The f32 recipe (shared with the reference evaluator, Sources/KilnIR/Ops/DynamicQuant.swift):
 *   lo = min(0, min x), hi = max(0, max x) over the group (tensor or row; NaN ignored)
 *   scale = (hi - lo) / 255; usable = scale > 0 and finite
 *   zp = usable ? sat_u8(round_half_even(-lo / scale)) : 0
 *   q = usable ? sat_u8(round_half_even(x / scale) + zp) : 0        (NaN -> 0)
 *   acc[r][c] = sum_k q[r][k] * w[k][c] - zp * colsum[c]             (int32, exact for K < 65536)
 *   y[r][c] = act(fmaf((float)acc, usable ? scale * w_scale[c] : 0, bias[c]))
 *
 * DYN_QGEMM operands: x f32 [..., K]; w i8 [K, N] (constant); w_scales f32 [N] (constant);
 * optional bias f32 [N]. Result y f32 [..., N]. Attributes (16 bytes): i32 per_row (0: one
 * range for the tensor, 1: one per row), then the fused activation (i32 func, f32 alpha,
 * f32 beta).
 * Algorithm: at load the weights are packed into the int8 GEMM core's B layout (qgemm.h,
 * the same packing as QGEMM) and their column sums kept. While running, per block of up to
 * 64 rows (split over threads): each row is quantized (the tensor's range computed once
 * before the blocks when per_row = 0) and packed as A pairs, the core computes the int32
 * block, and the epilogue subtracts zp * colsum and scales to f32. */
#include "dynq.h"
#include "qgemm.h"

#include <math.h>

#define DYNQ_ROWS 64

dynq_range kiln_dynq_range_of(const float *x, int64_t n) {
    float lo = 0.0f, hi = 0.0f;
    for (int64_t i = 0; i < n; i++) {
        if (x[i] < lo) lo = x[i];
        if (x[i] > hi) hi = x[i];
    }
    dynq_range r = {(hi - lo) / 255.0f, 0, 0};
    r.usable = r.scale > 0.0f && r.scale <= 3.402823466e38f;
    if (r.usable) {
        float z = nearbyintf(-lo / r.scale);
        r.zp = z != z ? 0 : z < 0 ? 0 : z > 255 ? 255 : (int32_t)z;
    }
    return r;
}

typedef struct dynq_params {
    int per_row, has_bias;
    kiln_act act;
    int64_t rows, k, kk, n;
    kiln_qgemm_fn gemm;
    kiln_quantize_u8_fn quantize;
    const float *w_scales;       /* constant data, read at run time (f32 LE on every target) */
    int32_t *colsum;             /* [N] */
    int16_t *bpack;              /* [kk][N][2] */
} dynq_params;

KILN_SMALL_CODE static kiln_status check_dyn_qgemm(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *w = kiln_operand(c, 1), *s = kiln_operand(c, 2), *b = kiln_operand(c, 3);
    const kiln_tdesc *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, w, "weight", KILN_I8)) ||
        (st = kiln_require_dtype(c, s, "w_scales", KILN_F32)) || (st = kiln_require_dtype(c, y, "result", KILN_F32)))
        return st;
    int32_t per_row = kiln_rdi32(c->attr);
    if (per_row != 0 && per_row != 1) return kiln_check_fail(c, "per_row must be 0 or 1");
    kiln_act act;
    if ((st = kiln_check_act(c, c->attr + 4, &act))) return st;
    if (x->rank < 1 || w->rank != 2 || y->rank != x->rank) return kiln_check_fail(c, "weight must be rank 2 and the result x's rank");
    int64_t k = w->dims[0], n = w->dims[1];
    if (x->dims[x->rank - 1] != k || y->dims[y->rank - 1] != n) return kiln_check_fail(c, "inner dimensions do not match");
    for (uint32_t i = 0; i + 1 < x->rank; i++)
        if (x->dims[i] != y->dims[i]) return kiln_check_fail(c, "leading dimensions of input and result differ");
    if (k >= 65536) return kiln_check_fail(c, "K must be below 65536");
    if (s->count != (uint64_t)n) return kiln_check_fail(c, "w_scales must be f32 [N]");
    if (b && (b->dtype != KILN_F32 || b->count != (uint64_t)n)) return kiln_check_fail(c, "bias must be f32 [N]");
    int64_t kk = (k + 1) / 2;
    dynq_params *p = kiln_params_alloc(c, sizeof(dynq_params) + sizeof(int32_t) * (size_t)(n + kk * n));
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    *p = (dynq_params){per_row, b != NULL, act, k ? (int64_t)(x->count / (uint64_t)k) : 0, k, kk, n, kiln_qgemm_select(),
                       kiln_quantize_u8_select(), NULL, NULL, NULL};
    p->colsum = (int32_t *)(p + 1);
    p->bpack = (int16_t *)(p->colsum + n);
    const int8_t *wd = kiln_qconstant(c, w, "weight");
    const float *sd = kiln_qconstant(c, s, "w_scales");
    if (!wd || !sd) return KILN_ERR_MALFORMED;
    for (int64_t j = 0; j < n; j++) {
        if (!(sd[j] > 0.0f && sd[j] <= 3.402823466e38f)) return kiln_check_fail(c, "w_scales must be positive and finite");
        int32_t sum = 0;
        for (int64_t i = 0; i < k; i++) sum += wd[i * n + j];
        p->colsum[j] = sum;
    }
    p->w_scales = sd;
    for (int64_t t = 0; t < kk; t++)
        for (int64_t j = 0; j < n; j++) {
            p->bpack[(t * n + j) * 2] = wd[2 * t * n + j];
            p->bpack[(t * n + j) * 2 + 1] = 2 * t + 1 < k ? wd[(2 * t + 1) * n + j] : 0;
        }
    /* Per thread: A pairs, the int32 block, one quantized row (K bytes) and the row ranges. */
    kiln_need_workspace(c, (size_t)(DYNQ_ROWS * kk + DYNQ_ROWS * n + (k + 3) / 4 + 3 * DYNQ_ROWS));
    return KILN_OK;
}

typedef struct dynq_job {
    const dynq_params *p;
    const float *x, *bias;
    float *y;
    float *ws;
    size_t ws_floats;
    dynq_range whole;
} dynq_job;

static void dynq_blocks(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const dynq_job *j = ctx;
    const dynq_params *p = j->p;
    int32_t *apack = (int32_t *)(j->ws + thread * j->ws_floats), *cblock = apack + DYNQ_ROWS * p->kk;
    dynq_range *ranges = (dynq_range *)(cblock + DYNQ_ROWS * p->n);
    uint8_t *qrow = (uint8_t *)(ranges + DYNQ_ROWS);
    for (size_t blk = begin; blk < end; blk++) {
        int64_t r0 = (int64_t)blk * DYNQ_ROWS, cnt = p->rows - r0 < DYNQ_ROWS ? p->rows - r0 : DYNQ_ROWS;
        for (int64_t r = 0; r < cnt; r++) {
            const float *xr = j->x + (r0 + r) * p->k;
            dynq_range rg = p->per_row ? kiln_dynq_range_of(xr, p->k) : j->whole;
            ranges[r] = rg;
            if (rg.usable) p->quantize(xr, p->k, rg.scale, rg.zp, qrow);
            else for (int64_t t = 0; t < p->k; t++) qrow[t] = 0;
            for (int64_t t = 0; t < p->kk; t++)
                apack[r * p->kk + t] = kiln_qpair(qrow[2 * t], 2 * t + 1 < p->k ? qrow[2 * t + 1] : 0);
        }
        p->gemm(cnt, p->n, p->kk, apack, p->bpack, cblock);
        for (int64_t r = 0; r < cnt; r++) {
            float *out = j->y + (r0 + r) * p->n;
            const int32_t *cr = cblock + r * p->n;
            dynq_range rg = ranges[r];
            for (int64_t i = 0; i < p->n; i++) {
                int32_t acc = (int32_t)((uint32_t)cr[i] - (uint32_t)rg.zp * (uint32_t)p->colsum[i]);
                float m = rg.usable ? rg.scale * p->w_scales[i] : 0.0f;
                out[i] = fmaf((float)acc, m, j->bias ? j->bias[i] : 0.0f);
            }
            kiln_apply_act(&p->act, out, (size_t)p->n);
        }
    }
}

static void run_dyn_qgemm(const kiln_exec *e, const kiln_instr *ins) {
    const dynq_params *p = ins->params;
    dynq_job j = {p, KILN_IN(e, ins, 0), p->has_bias ? KILN_IN(e, ins, 3) : NULL, KILN_OUT(e, ins, 0),
                  e->workspace, e->workspace_floats, {0.0f, 0, 0}};
    if (!p->per_row) j.whole = kiln_dynq_range_of(j.x, p->rows * p->k);
    size_t blocks = (size_t)((p->rows + DYNQ_ROWS - 1) / DYNQ_ROWS);
    if (e->threads > 1 && blocks > 1) kiln_parallel_for(e, blocks, dynq_blocks, &j);
    else dynq_blocks(&j, 0, blocks, 0);
}

/* DYN_QPARAMS: operand x f32 (any shape); results scale f32 [] and zero_point u8 [] of the
 * whole tensor (the recipe above; scale is written even when not usable). No attributes. */
KILN_SMALL_CODE static kiln_status check_dyn_qparams(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *s = kiln_result(c, 0), *z = kiln_result(c, 1);
    kiln_status st;
    if ((st = kiln_require_dtype(c, x, "input", KILN_F32)) || (st = kiln_require_dtype(c, s, "scale", KILN_F32)) ||
        (st = kiln_require_dtype(c, z, "zero_point", KILN_U8)))
        return st;
    if (s->count != 1 || z->count != 1) return kiln_check_fail(c, "scale and zero_point must have one element");
    int64_t *count = kiln_params_alloc(c, sizeof *count);
    if (!count) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    *count = (int64_t)x->count;
    return KILN_OK;
}

static void run_dyn_qparams(const kiln_exec *e, const kiln_instr *ins) {
    dynq_range r = kiln_dynq_range_of(KILN_IN(e, ins, 0), *(const int64_t *)ins->params);
    *(float *)KILN_OUT(e, ins, 0) = r.scale;
    *(uint8_t *)KILN_OUT(e, ins, 1) = (uint8_t)r.zp;
}

const kiln_kernel kiln_k_dyn_qgemm = {KILN_OP_DYN_QGEMM, "dyn_qgemm", 16, 3, 4, 1, 1, 0, check_dyn_qgemm, run_dyn_qgemm, 0};
const kiln_kernel kiln_k_dyn_qparams = {KILN_OP_DYN_QPARAMS, "dyn_qparams", 0, 1, 1, 2, 2, 0, check_dyn_qparams,
                                        run_dyn_qparams, 0};
