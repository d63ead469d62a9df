/* cast.c — CAST between every dtype (no attributes; the tensors' dtypes say from/to).
 * Algorithm: each element is loaded as double (float sources) or int64 (integer and bool
 * sources) and stored into the target type. Float → integer truncates toward zero and
 * saturates at the target's range (NaN → 0), so no conversion is undefined; integer →
 * integer wraps like a C cast to the narrower type; anything → bool is `!= 0`. */
#include "common.h"

#include <math.h>

static int is_float_type(uint8_t t) { return kiln_is_float(t); }

static double load_f(const uint8_t *p, uint8_t t, int64_t i) {
    switch (t) {
    case KILN_F32: { float v; memcpy(&v, p + 4 * i, 4); return v; }
    case KILN_F64: { double v; memcpy(&v, p + 8 * i, 8); return v; }
    case KILN_F16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return kiln_f16_to_f32(h); }
    default: { uint16_t h; memcpy(&h, p + 2 * i, 2); return kiln_bf16_to_f32(h); }
    }
}

static int64_t load_i(const uint8_t *p, uint8_t t, int64_t i, uint64_t *u) {
    *u = 0;
    switch (t) {
    case KILN_I8: return (int8_t)p[i];
    case KILN_U8: case KILN_BOOL: return p[i];
    case KILN_I16: { int16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case KILN_U16: { uint16_t v; memcpy(&v, p + 2 * i, 2); return v; }
    case KILN_I32: { int32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case KILN_U32: { uint32_t v; memcpy(&v, p + 4 * i, 4); return v; }
    case KILN_I64: { int64_t v; memcpy(&v, p + 8 * i, 8); return v; }
    default: { uint64_t v; memcpy(&v, p + 8 * i, 8); *u = v; return (int64_t)(v & 0x7FFFFFFFFFFFFFFFull); }
    }
}

static void store_i(uint8_t *p, uint8_t t, int64_t i, int64_t v) {
    switch (t) {
    case KILN_I8: case KILN_U8: p[i] = (uint8_t)v; break;
    case KILN_BOOL: p[i] = v != 0; break;
    case KILN_I16: case KILN_U16: { uint16_t w = (uint16_t)v; memcpy(p + 2 * i, &w, 2); break; }
    case KILN_I32: case KILN_U32: { uint32_t w = (uint32_t)v; memcpy(p + 4 * i, &w, 4); break; }
    default: { uint64_t w = (uint64_t)v; memcpy(p + 8 * i, &w, 8); break; }
    }
}

static void store_f(uint8_t *p, uint8_t t, int64_t i, double v) {
    switch (t) {
    case KILN_F32: { float f = (float)v; memcpy(p + 4 * i, &f, 4); break; }
    case KILN_F64: memcpy(p + 8 * i, &v, 8); break;
    case KILN_F16: { uint16_t h = kiln_f32_to_f16((float)v); memcpy(p + 2 * i, &h, 2); break; }
    default: { uint16_t h = kiln_f32_to_bf16((float)v); memcpy(p + 2 * i, &h, 2); break; }
    }
}

/* Saturating float → integer type. */
static int64_t f_to_i(double v, uint8_t t) {
    double lo, hi;
    switch (t) {
    case KILN_I8: lo = -128; hi = 127; break;
    case KILN_U8: lo = 0; hi = 255; break;
    case KILN_I16: lo = -32768; hi = 32767; break;
    case KILN_U16: lo = 0; hi = 65535; break;
    case KILN_I32: lo = -2147483648.0; hi = 2147483647.0; break;
    case KILN_U32: lo = 0; hi = 4294967295.0; break;
    case KILN_BOOL: return v != 0.0;
    default: lo = -9223372036854775808.0; hi = 9223372036854774784.0; break;
    }
    if (v != v) return 0;
    v = trunc(v);
    return (int64_t)(v < lo ? lo : (v > hi ? hi : v));
}

typedef struct cast_params { uint8_t from, to; } cast_params;

KILN_SMALL_CODE static kiln_status check_cast(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    if (!x || !y) return kiln_check_fail(c, "operand and result are required");
    if (!kiln_same_dims(x, y)) return kiln_check_fail(c, "operand and result shapes differ");
    cast_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->from = x->dtype;
    p->to = y->dtype;
    return KILN_OK;
}

typedef struct cast_job { const cast_params *p; const uint8_t *in; uint8_t *out; } cast_job;

static void cast_range(void *ctx, size_t begin, size_t end, uint32_t thread) {
    const cast_job *j = ctx;
    uint8_t from = j->p->from, to = j->p->to;
    (void)thread;
    if (from == KILN_F32 && to == KILN_F32) {
        memmove(j->out + 4 * begin, j->in + 4 * begin, 4 * (end - begin));
        return;
    }
    for (size_t i = begin; i < end; i++) {
        if (is_float_type(from)) {
            double v = load_f(j->in, from, (int64_t)i);
            if (is_float_type(to)) store_f(j->out, to, (int64_t)i, v);
            else store_i(j->out, to, (int64_t)i, f_to_i(v, to));
        } else {
            uint64_t u;
            int64_t v = load_i(j->in, from, (int64_t)i, &u);
            if (is_float_type(to)) store_f(j->out, to, (int64_t)i, from == KILN_U64 ? (double)u : (double)v);
            else store_i(j->out, to, (int64_t)i, from == KILN_U64 ? (int64_t)u : v);
        }
    }
}

static void run_cast(const kiln_exec *e, const kiln_instr *ins) {
    const kiln_tdesc *x = &e->plan->tensors[ins->ids[0]];
    cast_job j = {ins->params, KILN_IN(e, ins, 0), KILN_OUT(e, ins, 0)};
    if (e->threads > 1 && x->count >= 2 * KILN_PARALLEL_GRAIN) kiln_parallel_for(e, (size_t)x->count, cast_range, &j);
    else cast_range(&j, 0, (size_t)x->count, 0);
}

const kiln_kernel kiln_k_cast = {KILN_OP_CAST, "cast", 0, 1, 1, 1, 1, 1, check_cast, run_cast, 0};
