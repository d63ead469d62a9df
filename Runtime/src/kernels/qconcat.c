/* qconcat.c — QCONCAT: concatenation of u8 tensors with their own scales and zero points
 * into one u8 tensor with the result's (an int8 model's Concat between quantized ops:
 * Inception's branch joins, YOLO's routes), each input requantized on the way.
 *
 * Operands: x0..x{n-1} u8 (same rank, dims equal but on the axis), then params i32
 * constant [n, 3]: per input x_zero_point, mult, shift. Result: y u8 (the axis dims summed).
 * Attributes (8 bytes): i32 axis, i32 y_zero_point. Input i's element x becomes
 * clamp(y_zp + ((mult·(x − x_zp) + 2^(shift−1)) >> shift), 0, 255) (QADD's formula with
 * b_mult = 0; the compiler derives mult/shift from x_scale/y_scale the same way, so an input
 * already at the result's scale and zero point, mult = 2^shift, is copied unchanged).
 * Algorithm: per outer index (the dims before the axis) and input, one contiguous run of
 * the input's axis × inner elements: memcpy when the input is at the result's parameters,
 * else QADD's row kernel (chosen at load; its b operand is the same row with multiplier 0). */
#include "common.h"
#include "qadd.h"

#include <string.h>

typedef struct qconcat_in {
    kiln_qadd_params p;
    int64_t run;                 /* elements per outer index (axis dim × inner) */
    int copy;                    /* at the result's scale and zero point */
} qconcat_in;

typedef struct qconcat_params {
    int64_t outer, n;
    kiln_qadd_fn fn;
    qconcat_in in[];
} qconcat_params;

KILN_SMALL_CODE static kiln_status check_qconcat(kiln_check *c) {
    const kiln_instr *ins = c->ins;
    uint32_t n = ins->nin - 1;
    const kiln_tdesc *pt = kiln_operand(c, n), *y = kiln_result(c, 0);
    int32_t axis = kiln_rdi32(c->attr), yzp = kiln_rdi32(c->attr + 4);
    kiln_status st;
    if ((st = kiln_require_present(c, pt, "params")) || (st = kiln_require_dtype(c, pt, "params", KILN_I32)) ||
        (st = kiln_require_dtype(c, y, "result", KILN_U8)))
        return st;
    if (!pt->data || pt->rank != 2 || pt->dims[0] != (int64_t)n || pt->dims[1] != 3)
        return kiln_check_fail(c, "params must be a constant i32 [%u, 3]", n);
    if (axis < 0 || axis >= (int32_t)y->rank) return kiln_check_fail(c, "axis %d is out of range for rank %u", axis, y->rank);
    if (yzp < 0 || yzp > 255) return kiln_check_fail(c, "y_zero_point must lie in [0, 255]");
    qconcat_params *p = kiln_params_alloc(c, sizeof *p + n * sizeof(qconcat_in));
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    int64_t inner = 1, outer = 1, sum = 0;
    for (uint32_t d = 0; d < y->rank; d++) {
        if ((int32_t)d < axis) outer *= y->dims[d];
        if ((int32_t)d > axis) inner *= y->dims[d];
    }
    for (uint32_t i = 0; i < n; i++) {
        const kiln_tdesc *x = kiln_operand(c, i);
        if ((st = kiln_require_present(c, x, "input")) || (st = kiln_require_dtype(c, x, "input", KILN_U8))) return st;
        if (x->rank != y->rank) return kiln_check_fail(c, "input %u has rank %u, the result %u", i, x->rank, y->rank);
        for (uint32_t d = 0; d < y->rank; d++)
            if ((int32_t)d != axis && x->dims[d] != y->dims[d])
                return kiln_check_fail(c, "input %u differs from the result on axis %u", i, d);
        sum += x->dims[axis]; /* dims <= 2^48, n < 255: no overflow */
        const uint8_t *row = pt->data + 12 * (size_t)i;
        int32_t zp = kiln_rdi32(row), mult = kiln_rdi32(row + 4), shift = kiln_rdi32(row + 8);
        if (zp < 0 || zp > 255 || mult < 0 || mult > (1 << 21) || shift < 1 || shift > 30)
            return kiln_check_fail(c, "params of input %u out of range (zero point in [0, 255], mult in [0, 2^21], shift in [1, 30])", i);
        p->in[i].p = (kiln_qadd_params){mult, 0, (1 << (shift - 1)) - mult * zp, shift, yzp, 0, 255};
        p->in[i].run = x->dims[axis] * inner;
        p->in[i].copy = mult == (1 << shift) && zp == yzp;
    }
    if (sum != y->dims[axis]) return kiln_check_fail(c, "the inputs' axis dims add up to %lld, the result has %lld", (long long)sum,
                                                     (long long)y->dims[axis]);
    p->outer = outer;
    p->n = n;
    p->fn = kiln_qadd_select();
    return KILN_OK;
}

static void run_qconcat(const kiln_exec *e, const kiln_instr *ins) {
    const qconcat_params *p = ins->params;
    uint8_t *y = KILN_OUT(e, ins, 0);
    for (int64_t o = 0; o < p->outer; o++)
        for (int64_t i = 0; i < p->n; i++) {
            const qconcat_in *in = &p->in[i];
            const uint8_t *x = (const uint8_t *)KILN_IN(e, ins, i) + o * in->run;
            if (in->copy) memcpy(y, x, (size_t)in->run);
            else p->fn(x, x, y, in->run, &in->p);
            y += in->run;
        }
}

const kiln_kernel kiln_k_qconcat = {KILN_OP_QCONCAT, "qconcat", 8, 2, 255, 1, 1, 0, check_qconcat, run_qconcat, 0};
