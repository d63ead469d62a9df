/* quant.c — QUANTIZE_LINEAR and DEQUANTIZE_LINEAR (per tensor, per axis, blocked).
 * Attributes (8 bytes): i32 axis (-1 = per tensor), i32 block_size (0 = per axis).
 * Operands: x, scale (f32), zero_point (the quantized dtype); zero_point may be absent
 * (0). Per axis, scale has dims[axis] elements; blocked, ceil(dims[axis] / block) per
 * position of the other axes (scale shaped like x with that axis divided).
 * QUANTIZE: f32 → i8/u8/i16/u16/i32: saturate(round_half_even(x / scale) + zp).
 * DEQUANTIZE: i8/u8/i16/u16/i32 → f32: (x - zp) * scale. */
#include "qgemm.h"

#include <math.h>

typedef struct quant_params {
    int64_t outer, n, inner, block, nblocks;
    int per_tensor;
    uint8_t qtype;
    kiln_quantize_u8_fn u8; /* per-tensor f32 -> u8 fast path (qsimd.c) */
} quant_params;

KILN_SMALL_CODE static kiln_status check_q(kiln_check *c, int quantize) {
    const kiln_tdesc *x = kiln_operand(c, 0), *s = kiln_operand(c, 1), *z = kiln_operand(c, 2), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_dtype(c, s, "scale", KILN_F32)) ||
        (st = kiln_require_present(c, y, "result")))
        return st;
    const kiln_tdesc *q = quantize ? y : x, *f = quantize ? x : y;
    if (f->dtype != KILN_F32) return kiln_check_fail(c, "the float side must be f32");
    if (q->dtype != KILN_I8 && q->dtype != KILN_U8 && q->dtype != KILN_I16 && q->dtype != KILN_U16 && q->dtype != KILN_I32)
        return kiln_check_fail(c, "the quantized side must be i8, u8, i16, u16 or i32");
    if (!kiln_same_dims(x, y)) return kiln_check_fail(c, "input and result shapes differ");
    if (z && (z->dtype != q->dtype || z->count != s->count)) return kiln_check_fail(c, "zero point must match the scale and the quantized dtype");
    quant_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    int32_t axis_attr = kiln_rdi32(c->attr);
    p->block = kiln_rdi32(c->attr + 4);
    p->qtype = q->dtype;
    p->u8 = kiln_quantize_u8_select();
    if (axis_attr == -1 && p->block == 0) {
        p->per_tensor = 1;
        if (s->count != 1) return kiln_check_fail(c, "per-tensor scale must have one element");
        return KILN_OK;
    }
    int32_t axis = kiln_norm_axis(axis_attr, x->rank);
    if (axis < 0 || p->block < 0) return kiln_check_fail(c, "axis or block size is out of range");
    p->outer = kiln_dims_product(x, 0, (uint32_t)axis);
    p->n = x->dims[axis];
    p->inner = kiln_dims_product(x, (uint32_t)axis + 1, x->rank);
    if (p->block == 0) { /* per axis: one scale per position along the axis */
        if (s->count != (uint64_t)p->n) return kiln_check_fail(c, "per-axis scale needs %lld elements", (long long)p->n);
        p->nblocks = -1;
        return KILN_OK;
    }
    p->nblocks = (p->n + p->block - 1) / p->block;
    if (s->count != (uint64_t)(p->outer * p->nblocks * p->inner)) return kiln_check_fail(c, "blocked scale has the wrong size");
    return KILN_OK;
}

KILN_SMALL_CODE static kiln_status check_quantize(kiln_check *c) { return check_q(c, 1); }
KILN_SMALL_CODE static kiln_status check_dequantize(kiln_check *c) { return check_q(c, 0); }

/* Scale index of element i. */
static int64_t scale_index(const quant_params *p, int64_t i) {
    if (p->per_tensor) return 0;
    int64_t in = i % p->inner, a = (i / p->inner) % p->n, o = i / (p->inner * p->n);
    if (p->nblocks < 0) return a;
    return (o * p->nblocks + a / p->block) * p->inner + in;
}

static int64_t load_q(const void *z, uint8_t t, int64_t i) {
    if (!z) return 0;
    switch (t) {
    case KILN_I8: return ((const int8_t *)z)[i];
    case KILN_U8: return ((const uint8_t *)z)[i];
    case KILN_I16: return ((const int16_t *)z)[i];
    case KILN_U16: return ((const uint16_t *)z)[i];
    default: return ((const int32_t *)z)[i];
    }
}

static void store_q(void *y, uint8_t t, int64_t i, double v) {
    double lo, hi;
    switch (t) {
    case KILN_I8: lo = -128; hi = 127; break;
    case KILN_U8: lo = 0; hi = 255; break;
    case KILN_I16: lo = -32768; hi = 32767; break;
    case KILN_U16: lo = 0; hi = 65535; break;
    default: lo = -2147483648.0; hi = 2147483647.0; break;
    }
    if (v != v) v = 0;
    v = v < lo ? lo : (v > hi ? hi : v);
    switch (t) {
    case KILN_I8: ((int8_t *)y)[i] = (int8_t)v; break;
    case KILN_U8: ((uint8_t *)y)[i] = (uint8_t)v; break;
    case KILN_I16: ((int16_t *)y)[i] = (int16_t)v; break;
    case KILN_U16: ((uint16_t *)y)[i] = (uint16_t)v; break;
    default: ((int32_t *)y)[i] = (int32_t)v; break;
    }
}

static void run_quantize(const kiln_exec *e, const kiln_instr *ins) {
    const quant_params *p = ins->params;
    const kiln_tdesc *xt = &e->plan->tensors[ins->ids[0]];
    const float *x = KILN_IN(e, ins, 0), *s = KILN_IN(e, ins, 1);
    const void *z = ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2);
    void *y = KILN_OUT(e, ins, 0);
    if (p->per_tensor && p->qtype == KILN_U8) {
        p->u8(x, (int64_t)xt->count, s[0], z ? *(const uint8_t *)z : 0, y);
        return;
    }
    for (uint64_t i = 0; i < xt->count; i++) {
        int64_t k = scale_index(p, (int64_t)i);
        store_q(y, p->qtype, (int64_t)i, nearbyint((double)(x[i] / s[k])) + (double)load_q(z, p->qtype, k)); /* f32 division, as ONNX Runtime and numpy */
    }
}

static void run_dequantize(const kiln_exec *e, const kiln_instr *ins) {
    const quant_params *p = ins->params;
    const kiln_tdesc *xt = &e->plan->tensors[ins->ids[0]];
    const void *x = KILN_IN(e, ins, 0), *z = ins->ids[2] == KILN_NO_TENSOR ? NULL : KILN_IN(e, ins, 2);
    const float *s = KILN_IN(e, ins, 1);
    float *y = KILN_OUT(e, ins, 0);
    if (p->per_tensor && p->qtype == KILN_U8) { /* (x - zp) * s is exact in double, so the f32 product is the same */
        const uint8_t *xq = x;
        float zf = z ? (float)*(const uint8_t *)z : 0.0f, s0 = s[0];
        for (uint64_t i = 0; i < xt->count; i++) y[i] = ((float)xq[i] - zf) * s0;
        return;
    }
    for (uint64_t i = 0; i < xt->count; i++) {
        int64_t k = scale_index(p, (int64_t)i);
        y[i] = (float)((double)(load_q(x, p->qtype, (int64_t)i) - load_q(z, p->qtype, k)) * (double)s[k]);
    }
}

const kiln_kernel kiln_k_quantize_linear = {KILN_OP_QUANTIZE_LINEAR, "quantize_linear", 8, 3, 3, 1, 1, 0, check_quantize, run_quantize, 0};
const kiln_kernel kiln_k_dequantize_linear = {KILN_OP_DEQUANTIZE_LINEAR, "dequantize_linear", 8, 3, 3, 1, 1, 0, check_dequantize, run_dequantize, 0};
