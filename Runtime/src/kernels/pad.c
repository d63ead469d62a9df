/* pad.c — PAD with constant / reflect / edge / wrap modes; negative pads crop. Any dtype.
 * Attributes (80 bytes): i32 mode, i32 reserved (0), f64 value (constant fill, converted
 * to the dtype), i64 pads_begin[8]; the end pads follow from the result shape.
 * Algorithm: at load time every result coordinate of every axis is mapped to its input
 * coordinate (or -1 = fill) in a table; running copies row by row through the table. */
#include "common.h"

#include <math.h>
#include <stdlib.h>

typedef struct pad_params {
    uint32_t rank, esize;
    int64_t in_dims[KILN_MAX_RANK], out_dims[KILN_MAX_RANK], in_str[KILN_MAX_RANK];
    int64_t map_off[KILN_MAX_RANK];
    uint8_t fill[8];
    int64_t map[];                   /* per axis, out_dims[d] entries starting at map_off[d] */
} pad_params;

static int64_t map_coord(int64_t o, int64_t begin, int64_t n, int32_t mode) {
    int64_t i = o - begin;
    if (i >= 0 && i < n) return i;
    if (n == 0) return -1;
    switch (mode) {
    case KILN_PAD_EDGE: return i < 0 ? 0 : n - 1;
    case KILN_PAD_WRAP: return ((i % n) + n) % n;
    case KILN_PAD_REFLECT: {
        if (n == 1) return 0;
        int64_t period = 2 * (n - 1), r = ((i % period) + period) % period;
        return r < n ? r : period - r;
    }
    default: return -1;
    }
}

static void convert_fill(double v, uint8_t dtype, uint8_t *out) {
    memset(out, 0, 8);
    switch (dtype) {
    case KILN_F32: { float f = (float)v; memcpy(out, &f, 4); break; }
    case KILN_F64: memcpy(out, &v, 8); break;
    case KILN_F16: { uint16_t h = kiln_f32_to_f16((float)v); memcpy(out, &h, 2); break; }
    case KILN_BF16: { uint16_t h = kiln_f32_to_bf16((float)v); memcpy(out, &h, 2); break; }
    default: {
        int64_t i = (v != v || v < -9.2e18 || v > 9.2e18) ? 0 : (int64_t)v;
        uint64_t u = (uint64_t)i;
        if (dtype == KILN_BOOL) u = v != 0.0;
        for (uint32_t b = 0; b < kiln_dtype_bytes(dtype); b++) out[b] = (uint8_t)(u >> (8 * b));
    }
    }
}

KILN_SMALL_CODE static kiln_status check_pad(kiln_check *c) {
    const kiln_tdesc *x = kiln_operand(c, 0), *y = kiln_result(c, 0);
    kiln_status st;
    if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_present(c, y, "result"))) return st;
    if (x->dtype != y->dtype || x->rank != y->rank) return kiln_check_fail(c, "result dtype and rank must match the input");
    int32_t mode = kiln_rdi32(c->attr);
    if (mode < KILN_PAD_CONSTANT || mode > KILN_PAD_WRAP || kiln_rdi32(c->attr + 4) != 0)
        return kiln_check_fail(c, "unknown pad mode %d", (int)mode);
    uint64_t total = 0;
    for (uint32_t d = 0; d < x->rank; d++) total += (uint64_t)y->dims[d];
    pad_params *p = kiln_params_alloc(c, sizeof *p + sizeof(int64_t) * (size_t)total);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    p->rank = x->rank;
    p->esize = kiln_dtype_bytes(x->dtype);
    convert_fill(kiln_rdf64(c->attr + 8), x->dtype, p->fill);
    kiln_dense_strides(x, p->in_str);
    int64_t off = 0;
    for (uint32_t d = 0; d < x->rank; d++) {
        int64_t begin = kiln_rdi64(c->attr + 16 + 8 * d), n = x->dims[d];
        if (begin < -n || begin > ((int64_t)1 << 40)) return kiln_check_fail(c, "axis %u: begin pad %lld is out of range", d, (long long)begin);
        if (mode != KILN_PAD_CONSTANT && n == 0 && y->dims[d] > 0) return kiln_check_fail(c, "axis %u: cannot pad an empty axis in this mode", d);
        p->in_dims[d] = n;
        p->out_dims[d] = y->dims[d];
        p->map_off[d] = off;
        for (int64_t o = 0; o < y->dims[d]; o++) p->map[off + o] = map_coord(o, begin, n, mode);
        off += y->dims[d];
    }
    for (uint32_t d = x->rank; d < KILN_MAX_RANK; d++)
        if (kiln_rdi64(c->attr + 16 + 8 * d) != 0) return kiln_check_fail(c, "pad entries past the rank must be 0");
    return KILN_OK;
}

static void run_pad(const kiln_exec *e, const kiln_instr *ins) {
    const pad_params *p = ins->params;
    const uint8_t *x = KILN_IN(e, ins, 0);
    uint8_t *y = KILN_OUT(e, ins, 0);
    const kiln_tdesc *yt = &e->plan->tensors[ins->ids[1]];
    if (yt->count == 0) return;
    uint32_t r = p->rank, es = p->esize;
    if (r == 0) { memcpy(y, x, es); return; }
    int64_t idx[KILN_MAX_RANK] = {0}, n = p->out_dims[r - 1];
    const int64_t *inner = p->map + p->map_off[r - 1];
    for (int64_t row = 0;; row++) {
        int64_t base = 0;
        int fill = 0;
        for (uint32_t d = 0; d + 1 < r; d++) {
            int64_t i = p->map[p->map_off[d] + idx[d]];
            if (i < 0) { fill = 1; break; }
            base += i * p->in_str[d];
        }
        uint8_t *out = y + row * n * es;
        for (int64_t o = 0; o < n; o++) {
            int64_t i = fill ? -1 : inner[o];
            memcpy(out + o * es, i < 0 ? p->fill : x + (base + i) * es, es);
        }
        int d = (int)r - 2;
        while (d >= 0 && ++idx[d] >= p->out_dims[d]) idx[d--] = 0;
        if (d < 0) return;
    }
}

const kiln_kernel kiln_k_pad = {KILN_OP_PAD, "pad", 80, 1, 1, 1, 1, 0, check_pad, run_pad, 0};
