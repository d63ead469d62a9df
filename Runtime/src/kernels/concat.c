/* concat.c — concat (N operands → 1 result) and split (1 operand → N results) along one
 * axis: each is a loop over the outer index copying contiguous inner blocks. Any dtype. */
#include "common.h"

typedef struct concat_params { int64_t outer, inner_bytes[255], total_bytes; } concat_params;

/* Shared check: `parts` are the pieces, `whole` is the joined tensor. */
KILN_SMALL_CODE static kiln_status check_parts(kiln_check *c, const kiln_tdesc *whole, uint32_t nparts, int split) {
    int32_t axis = kiln_rdi32(c->attr);
    if (!whole) return kiln_check_fail(c, "the %s tensor is required", split ? "operand" : "result");
    if (axis < 0 || axis >= (int32_t)whole->rank) return kiln_check_fail(c, "axis %d is out of range", axis);
    concat_params *p = kiln_params_alloc(c, sizeof *p);
    if (!p) return kiln_fail(c->error, KILN_ERR_OUT_OF_MEMORY, "plan: out of memory");
    uint32_t es = kiln_dtype_bytes(whole->dtype);
    p->outer = kiln_dims_product(whole, 0, (uint32_t)axis);
    int64_t inner = kiln_dims_product(whole, (uint32_t)axis + 1, whole->rank), sum = 0;
    for (uint32_t k = 0; k < nparts; k++) {
        const kiln_tdesc *t = split ? kiln_result(c, k) : kiln_operand(c, k);
        if (!t) return kiln_check_fail(c, "piece %u is required", k);
        if (t->dtype != whole->dtype || t->rank != whole->rank)
            return kiln_check_fail(c, "piece %u has a different dtype or rank", k);
        for (uint32_t d = 0; d < t->rank; d++)
            if (d != (uint32_t)axis && t->dims[d] != whole->dims[d])
                return kiln_check_fail(c, "piece %u differs from the whole outside the axis", k);
        sum += t->dims[axis];
        p->inner_bytes[k] = t->dims[axis] * inner * es;
    }
    if (sum != whole->dims[axis]) return kiln_check_fail(c, "pieces sum to %lld along the axis, expected %lld",
                                                         (long long)sum, (long long)whole->dims[axis]);
    p->total_bytes = whole->dims[axis] * inner * es;
    return KILN_OK;
}

KILN_SMALL_CODE static kiln_status check_concat(kiln_check *c) { return check_parts(c, kiln_result(c, 0), c->ins->nin, 0); }
KILN_SMALL_CODE static kiln_status check_split(kiln_check *c) { return check_parts(c, kiln_operand(c, 0), c->ins->nout, 1); }

static void run_concat(const kiln_exec *e, const kiln_instr *ins) {
    const concat_params *p = ins->params;
    uint8_t *out = KILN_OUT(e, ins, 0);
    for (int64_t o = 0; o < p->outer; o++) {
        uint8_t *dst = out + o * p->total_bytes;
        for (uint32_t k = 0; k < ins->nin; k++) {
            const uint8_t *src = (const uint8_t *)KILN_IN(e, ins, k) + o * p->inner_bytes[k];
            memcpy(dst, src, (size_t)p->inner_bytes[k]);
            dst += p->inner_bytes[k];
        }
    }
}

static void run_split(const kiln_exec *e, const kiln_instr *ins) {
    const concat_params *p = ins->params;
    const uint8_t *in = KILN_IN(e, ins, 0);
    for (int64_t o = 0; o < p->outer; o++) {
        const uint8_t *src = in + o * p->total_bytes;
        for (uint32_t k = 0; k < ins->nout; k++) {
            uint8_t *dst = (uint8_t *)KILN_OUT(e, ins, k) + o * p->inner_bytes[k];
            memcpy(dst, src, (size_t)p->inner_bytes[k]);
            src += p->inner_bytes[k];
        }
    }
}

/* CONCAT attrs: i32 axis. SPLIT attrs: i32 axis. */
const kiln_kernel kiln_k_concat = {KILN_OP_CONCAT, "concat", 4, 1, 255, 1, 1, 0, check_concat, run_concat, 0};
const kiln_kernel kiln_k_split = {KILN_OP_SPLIT, "split", 4, 1, 1, 1, 255, 0, check_split, run_split, 0};
